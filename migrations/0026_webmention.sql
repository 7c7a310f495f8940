-- Webmention (W3C): other blogs tell this one that a page of theirs links to a post (a reply,
-- a like, a repost or a mention), and this blog tells the pages its posts link to. Both ways
-- are rows a worker takes up, as deliveries are; the fediverse worker does it.

alter table settings add column webmention_enabled boolean not null default false;

-- Webmentions received: one row per source and target, verified by fetching the source. A
-- repeated Webmention (the source changed, or went) puts its row back to 'waiting'.
create table webmentions_received (
    id bigint generated always as identity primary key,
    source text not null,
    -- The source's host: how many of one site's wait at once is limited.
    source_host text not null,
    target text not null,
    post_id bigint not null references posts (id) on delete cascade,
    -- The target was a comment's permalink: a reply goes under that comment.
    parent_comment_id bigint references comments (id) on delete set null,
    status text not null default 'waiting'
        check (status in ('waiting', 'verified', 'unlinked', 'gone', 'failed')),
    kind text check (kind in ('reply', 'like', 'repost', 'mention')),
    author_name text not null default '',
    author_url text,
    -- A reply or mention is a comment, with `source` 'webmention' and this row's id as
    -- `source_id`.
    comment_id bigint references comments (id) on delete set null,
    attempts integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    claimed_until timestamptz,
    last_error text,
    received_at timestamptz not null default now(),
    verified_at timestamptz,
    unique (source, target)
);
create index webmentions_received_due_idx on webmentions_received (next_attempt_at)
    where status = 'waiting';
create index webmentions_received_post_idx on webmentions_received (post_id)
    where status = 'verified';

-- What each post has told the pages it links to: like `fediverse_posts`.
create table webmention_posts (
    post_id bigint primary key references posts (id) on delete cascade,
    state text not null check (state in ('sent', 'deleted')),
    sent_edit timestamptz,
    changed_at timestamptz not null default now()
);

-- Webmentions to send: one row per post and linked page, sent again when the post changes
-- (a page it no longer links to is told too, and finds the link gone).
create table webmentions_sent (
    id bigint generated always as identity primary key,
    post_id bigint not null references posts (id) on delete cascade,
    target text not null,
    status text not null default 'waiting'
        check (status in ('waiting', 'sent', 'no-endpoint', 'failed')),
    endpoint text,
    attempts integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    claimed_until timestamptz,
    last_error text,
    sent_at timestamptz,
    unique (post_id, target)
);
create index webmentions_sent_due_idx on webmentions_sent (next_attempt_at)
    where status = 'waiting';

-- The worker wakes when there is work now: a row written or put back to wait. Not when it
-- claims a row or puts one off (both move `next_attempt_at` into the future): a worker that
-- woke itself would never sleep.
create trigger webmentions_received_notify after insert or update of status, next_attempt_at
    on webmentions_received
    for each row when (new.status = 'waiting' and new.next_attempt_at <= now())
    execute function fediverse_delivery_notify();
create trigger webmentions_sent_notify after insert or update of status, next_attempt_at
    on webmentions_sent
    for each row when (new.status = 'waiting' and new.next_attempt_at <= now())
    execute function fediverse_delivery_notify();
create index webmentions_received_host_idx on webmentions_received (source_host)
    where status = 'waiting';

-- Likes and reposts are counts on the post's page: its cached copies go when one comes or goes.
create function notify_webmention_reaction() returns trigger language plpgsql as $$
begin
    perform pg_notify('folio_content_changed', 'comments:' || coalesce(new.post_id, old.post_id));
    return null;
end
$$;
create trigger webmentions_received_reaction after update of status, kind on webmentions_received
    for each row when ((old.status = 'verified' and old.kind in ('like', 'repost'))
                       or (new.status = 'verified' and new.kind in ('like', 'repost')))
    execute function notify_webmention_reaction();
