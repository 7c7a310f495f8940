-- Comment waves, continued (bench/wave).
--
-- A NOTIFY serialises commits: PostgreSQL takes one lock per database for the notifying
-- transaction's commit and holds it through the commit's WAL flush, so that notices arrive in
-- commit order. With the notice in the trigger of every published comment, comment POSTs
-- committed one at a time (pg_stat_activity during a wave: most backends waiting on
-- Lock:object). Folio now stores a comment with p_notice_after_commit, which turns the triggers'
-- notices off for the rest of that transaction, and gives them itself after the commit: one
-- notice for many comments to the other processes (page_cache::notices), and a wake to its own
-- mail worker for the mail written with the comment. Every other way a comment or a message
-- is written (moderation, import, psql, an earlier Folio's processes) still notifies from the
-- triggers.
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
    p_unless_mail_due boolean,
    p_notice_after_commit boolean
) returns table (outcome text, comment_id bigint, retry_after_secs bigint)
language plpgsql as $$
declare
    recent bigint;
    oldest timestamptz;
begin
    if p_notice_after_commit then
        -- For this transaction only.
        perform set_config('folio.notices', 'after_commit', true);
    end if;
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
alter function submit_comment(bigint, bigint, text, text, text, text, text, text, text, text,
                              bigint, real, text[], boolean, boolean)
    set plan_cache_mode = force_generic_plan;

-- The previous Folio's processes, during an upgrade: the trigger notifies for them.
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
    p_spam_clues text[],
    p_unless_mail_due boolean
) returns table (outcome text, comment_id bigint, retry_after_secs bigint)
language sql as $$
    select * from submit_comment(p_post_id, p_parent_id, p_author_name, p_author_email,
                                 p_author_url, p_body_source, p_body_html, p_status,
                                 p_status_reason, p_client_hash, p_per_minute, p_spam_score,
                                 p_spam_clues, p_unless_mail_due, false)
$$;
alter function submit_comment(bigint, bigint, text, text, text, text, text, text, text, text,
                              bigint, real, text[], boolean)
    reset plan_cache_mode;

-- A top-level comment, most of a wave, starts its own thread without a lookup.
create or replace function comment_thread_of_parent() returns trigger language plpgsql as $$
begin
    if new.parent_id is null then
        new.thread_id := new.id;
        new.thread_started_at := new.created_at;
        return new;
    end if;
    -- `for share` waits for a renumbering of the parent's thread in progress (a first comment
    -- deleted for good), so a reply is never filed under the thread its parent just left.
    select p.thread_id, p.thread_started_at into new.thread_id, new.thread_started_at
    from comments p where p.id = new.parent_id for share;
    if new.thread_id is null then
        new.thread_id := new.id;
        new.thread_started_at := new.created_at;
    end if;
    return new;
end
$$;

drop trigger comments_notify_insert on comments;
create trigger comments_notify_insert after insert on comments
    for each row when (new.status = 'approved'
        and current_setting('folio.notices', true) is distinct from 'after_commit')
    execute function notify_comments_changed();

-- The mail a comment POST writes (a held comment's message to moderators, subscribers' notices,
-- a confirmation) is in the same transaction: its notice is this process's to give as well.
drop trigger outbox_notify on outbox;
create trigger outbox_notify after insert or update of status, due_at on outbox
    for each row when (new.status = 'waiting'
        and current_setting('folio.notices', true) is distinct from 'after_commit')
    execute function notify_outbox();

-- Comment bodies past TOAST's threshold (2 kB, as a pasted letter or most spam) are compressed
-- with LZ4 rather than pglz: several times cheaper to write and to read. A PostgreSQL built
-- without LZ4 keeps pglz.
do $$
begin
    alter table comments alter column body_source set compression lz4,
                         alter column body_html set compression lz4;
exception when feature_not_supported then
    raise notice 'comments keep pglz compression: %', sqlerrm;
end
$$;
