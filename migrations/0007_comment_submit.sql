-- A comment is stored in one round trip: the per-client rate limit (serialised by an advisory
-- lock, so two requests at once cannot both slip under it), the duplicate check and the insert
-- run in one function, in the statement's own transaction.

-- The duplicate check looks a post's comments up by their text's digest, so its cost does not
-- grow with the number of comments on the post.
drop index comments_post_created_idx;
create index comments_post_body_idx on comments (post_id, md5(body_source));

create function submit_comment(
    p_post_id bigint,
    p_parent_id bigint,
    p_author_name text,
    p_author_email text,
    p_author_url text,
    p_body_source text,
    p_body_html text,
    p_status text,
    p_status_reason text,
    p_client_hash text,
    p_per_minute bigint
) returns table (outcome text, comment_id bigint, retry_after_secs bigint)
language plpgsql as $$
declare
    recent bigint;
    oldest timestamptz;
begin
    if p_client_hash is not null then
        perform pg_advisory_xact_lock(hashtextextended(p_client_hash, 7));
        if p_per_minute > 0 then
            select count(*), min(c.created_at) into recent, oldest
            from comments c
            where c.client_hash = p_client_hash and c.created_at > now() - interval '1 minute';
            if recent >= p_per_minute then
                return query select 'rate_limited'::text, null::bigint,
                    ceil(extract(epoch from oldest + interval '1 minute' - now()))::bigint;
                return;
            end if;
        end if;
    end if;
    if exists (
        select 1 from comments c
        where c.post_id = p_post_id
          and md5(c.body_source) = md5(p_body_source)
          and c.body_source = p_body_source
          and c.created_at > now() - interval '1 day'
          and c.status <> 'trash'
    ) then
        return query select 'duplicate'::text, null::bigint, null::bigint;
        return;
    end if;
    return query
        insert into comments (post_id, parent_id, author_name, author_email, author_url,
                              body_source, body_html, status, status_reason, client_hash)
        values (p_post_id, p_parent_id, p_author_name, p_author_email, p_author_url,
                p_body_source, p_body_html, p_status, p_status_reason, p_client_hash)
        returning 'stored'::text, id, null::bigint;
end
$$;
