-- Comment submission without needless waits.
--
-- The per-client advisory lock only guards the rate limit's count: with the limit off
-- (FOLIO_COMMENT_RATE_LIMIT=0) it serialised every comment from one address (a school or an
-- office behind one NAT, or a load test) for nothing, each holding it through its commit.
-- The duplicate check keeps its own lock, on the post and the text, so only the same text sent
-- twice at once waits.

create or replace function submit_comment(
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
    if p_client_hash is not null and p_per_minute > 0 then
        perform pg_advisory_xact_lock(hashtextextended(p_client_hash, 7));
        select count(*), min(c.created_at) into recent, oldest
        from comments c
        where c.client_hash = p_client_hash and c.created_at > now() - interval '1 minute';
        if recent >= p_per_minute then
            return query select 'rate_limited'::text, null::bigint,
                ceil(extract(epoch from oldest + interval '1 minute' - now()))::bigint;
            return;
        end if;
    end if;
    -- The same text sent twice at once (a double click) is stored once.
    perform pg_advisory_xact_lock(hashtextextended(p_post_id::text || ':' || md5(p_body_source), 8));
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

-- A comment's page counts the threads ahead of it; the rare thread whose first comment is not
-- shown (held, spam or trash) is found through this small index instead of a walk over every
-- comment of the post.
create index comments_post_hidden_thread_heads_idx
    on comments (post_id, thread_started_at, thread_id)
    where status <> 'approved' and id = thread_id;

-- Those counts read the index alone where the visibility map says a page is all-visible;
-- comments are mostly inserted, so vacuum them after 2% new rows rather than 20%, or a busy
-- post's newest comments are each checked in the table.
alter table comments set (autovacuum_vacuum_insert_scale_factor = 0.02);
