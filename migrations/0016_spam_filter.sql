-- The learning spam filter (src/spam): token counts taught by moderators' decisions.
--
-- `spam_tokens` counts, per token, the taught comments that held it (a comment counts a token
-- once). A token is kept by its 64-bit FNV-1a key (`spam::tokens::key`): the model holds no
-- commenter's words, names or domains, and a comment deleted for good leaves nothing readable. `spam_model` holds how many comments taught each side, and a version that every
-- lesson moves on (under the model row's lock, so versions commit in order). Each Folio process
-- keeps a copy in memory and, before it scores, reads the rows whose version is newer than its
-- copy's, in the same query as the model row: two processes always score with the same counts,
-- and nothing is lost at a restart. A token no comment teaches any more keeps a row of zeros
-- (for copies to hear of it); zeros score as an unknown token.
create table spam_tokens (
    key bigint primary key,
    spam integer not null default 0,
    ham integer not null default 0,
    version bigint not null
);
create index spam_tokens_version_idx on spam_tokens (version);

create table spam_model (
    id boolean primary key default true check (id),
    spam integer not null default 0 check (spam >= 0),
    ham integer not null default 0 check (ham >= 0),
    version bigint not null default 0
);
insert into spam_model default values;

-- What a comment taught (so reversing a decision takes back exactly that), and what the filter
-- thought of it when it came: the score and the tokens that weighed most ("0.99 casino").
alter table comments
    add column spam_taught text check (spam_taught in ('ham', 'spam')),
    add column spam_score real,
    add column spam_clues text[];

create index comments_pending_score_idx on comments (spam_score desc nulls last, id desc)
    where status = 'pending';

-- Scores at or above `spam_hold_at` are held, at or above `spam_junk_at` stored as spam
-- (hundredths: 30 is 0.30; the defaults are bench/spam's measured best), once
-- `spam_min_training` comments of each kind have taught it.
alter table settings
    add column spam_hold_at integer not null default 30 check (spam_hold_at between 1 and 100),
    add column spam_junk_at integer not null default 90 check (spam_junk_at between 1 and 100),
    add column spam_min_training integer not null default 20 check (spam_min_training >= 0);

-- submit_comment (0015) with the filter's score and clues stored along.
drop function submit_comment(bigint, bigint, text, text, text, text, text, text, text, text, bigint);

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
    p_spam_clues text[]
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
                              body_source, body_html, status, status_reason, client_hash,
                              spam_score, spam_clues)
        values (p_post_id, p_parent_id, p_author_name, p_author_email, p_author_url,
                p_body_source, p_body_html, p_status, p_status_reason, p_client_hash,
                p_spam_score, p_spam_clues)
        returning 'stored'::text, id, null::bigint;
end
$$;

-- Processes still running the previous Folio during an upgrade keep taking comments.
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
language sql as $$
    select * from submit_comment(p_post_id, p_parent_id, p_author_name, p_author_email,
                                 p_author_url, p_body_source, p_body_html, p_status,
                                 p_status_reason, p_client_hash, p_per_minute,
                                 null::real, null::text[])
$$;

-- What a comment taught is bookkeeping, not an edit: like filing it in a thread (0014), it
-- leaves `updated_at` (which feeds and exports show) alone.
create or replace function set_comment_updated_at() returns trigger language plpgsql as $$
begin
    if (to_jsonb(new) - 'thread_id' - 'thread_started_at' - 'spam_taught' - 'updated_at')
       is distinct from
       (to_jsonb(old) - 'thread_id' - 'thread_started_at' - 'spam_taught' - 'updated_at') then
        new.updated_at := now();
    end if;
    return new;
end
$$;
