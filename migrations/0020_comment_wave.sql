-- Comment waves (bench/wave).
--
-- A comment that causes no mail (no moderator wants a message for each held comment, nobody
-- follows the post or the thread, the post's author wants no notice) is stored by one statement:
-- submit_comment with p_unless_mail_due answers 'mail_due' and stores nothing when mail would
-- be due, and the caller then stores it in a transaction with its mail.
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
    p_per_minute bigint,
    p_spam_score real,
    p_spam_clues text[],
    p_unless_mail_due boolean
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
    -- A comment that causes no mail is stored by this one statement, with no transaction
    -- around it; one that does is left to the caller's transaction, which writes the mail too.
    if p_unless_mail_due and (
        (p_status = 'pending' and exists (
            select 1 from users
            where comment_mail = 'each' and role in ('editor', 'admin') and not disabled
              and password_hash is not null))
        or (p_status = 'approved' and (
            exists (
                select 1 from posts p join users u on u.id = p.author_id
                where p.id = p_post_id and u.own_post_mail and not u.disabled
                  and u.password_hash is not null)
            or exists (
                select 1 from subscriptions s
                where s.confirmed_at is not null
                  and ((s.scope = 'post' and s.post_id = p_post_id)
                       or (s.scope = 'replies' and s.comment_id = p_parent_id)))))
    ) then
        return query select 'mail_due'::text, null::bigint, null::bigint;
        return;
    end if;
    return query
        insert into comments (post_id, parent_id, author_name, author_email, author_url,
                              body_source, body_html, status, status_reason, client_hash,
                              spam_score, spam_clues)
        values (p_post_id, p_parent_id, p_author_name, p_author_email, p_author_url,
                p_body_source, p_body_html, p_status, p_status_reason, p_client_hash,
                p_spam_score, p_spam_clues)
        returning 'stored'::text, id, null::bigint;
end
$$;

-- Processes still running the previous Folio during an upgrade keep taking comments.
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
    p_per_minute bigint,
    p_spam_score real,
    p_spam_clues text[]
) returns table (outcome text, comment_id bigint, retry_after_secs bigint)
language sql as $$
    select * from submit_comment(p_post_id, p_parent_id, p_author_name, p_author_email,
                                 p_author_url, p_body_source, p_body_html, p_status,
                                 p_status_reason, p_client_hash, p_per_minute, p_spam_score,
                                 p_spam_clues, false)
$$;

-- A comment's statements are planned once per connection, not once per comment. PostgreSQL plans
-- a prepared statement afresh for its first five runs and then keeps a generic plan only if it
-- looks no costlier; for the statements of submit_comment (and the triggers its insert fires)
-- it never did, so every comment paid for planning them again. Their generic plans are the ones
-- the custom plans chose: every lookup is by post, client, parent or subscription along its own
-- index.
alter function submit_comment(bigint, bigint, text, text, text, text, text, text, text, text,
                              bigint, real, text[], boolean)
    set plan_cache_mode = force_generic_plan;
