-- The blog as a fediverse account (ActivityPub): who follows it, what it has sent them, and
-- the deliveries on their way. The actor's key lives in `secrets` ('fediverse-key').

alter table settings
    add column fediverse_enabled boolean not null default false,
    -- The handle's name: @blog@example.org. The actor's id does not contain it, so renaming
    -- the handle keeps every follower.
    add column fediverse_name text not null default 'blog'
        check (fediverse_name ~ '^[a-z0-9_]{1,30}$'),
    -- Followers wait for an editor's yes.
    add column fediverse_approve_followers boolean not null default false;

-- Remote actors as last fetched (their key verifies what they sign).
create table fediverse_actors (
    id bigint generated always as identity primary key,
    uri text not null unique,
    key_id text unique,
    public_key_pem text not null,
    inbox text not null,
    shared_inbox text,
    username text not null default '',
    name text not null default '',
    url text,
    domain text not null,
    fetched_at timestamptz not null default now()
);
create index fediverse_actors_domain_idx on fediverse_actors (domain);

create table fediverse_followers (
    actor_id bigint primary key references fediverse_actors (id) on delete cascade,
    -- The Follow activity's id: the Accept (or Reject) names it.
    follow_id text not null,
    state text not null check (state in ('pending', 'accepted')),
    created_at timestamptz not null default now(),
    accepted_at timestamptz
);

-- Instances the blog does not talk to ('block': their activities are refused, nothing is
-- delivered to them) or whose replies always wait for a moderator ('hold').
create table fediverse_domain_blocks (
    domain text primary key,
    action text not null check (action in ('block', 'hold')),
    created_at timestamptz not null default now()
);

-- What each post has told the fediverse: 'sent' (Create, then Update when edited after
-- `sent_edit`), 'deleted' (a Delete went out when it stopped being public). Kept beside posts
-- so that this bookkeeping never reads as a change to the post's public face.
create table fediverse_posts (
    post_id bigint primary key references posts (id) on delete cascade,
    state text not null check (state in ('sent', 'deleted')),
    sent_edit timestamptz,
    changed_at timestamptz not null default now()
);

-- Activities on their way to inboxes; a worker in every process claims due rows.
create table fediverse_deliveries (
    id bigint generated always as identity primary key,
    inbox text not null,
    domain text not null,
    -- Exactly the bytes that are signed and sent.
    activity text not null,
    status text not null default 'waiting' check (status in ('waiting', 'sent', 'failed')),
    attempts integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    claimed_until timestamptz,
    last_error text,
    created_at timestamptz not null default now(),
    sent_at timestamptz
);
create index fediverse_deliveries_due_idx on fediverse_deliveries (next_attempt_at)
    where status = 'waiting';

-- Instances whose deliveries fail: after days of failing nothing more is queued for them,
-- until one of theirs reaches our inbox or a delivery gets through again.
create table fediverse_instances (
    domain text primary key,
    failing_since timestamptz,
    last_error text
);

-- Activities already taken in (a replayed one is acknowledged and ignored).
create table fediverse_inbox_seen (
    activity_id text primary key,
    received_at timestamptz not null default now()
);
create index fediverse_inbox_seen_received_idx on fediverse_inbox_seen (received_at);

-- The delivery worker sleeps until a delivery is written (or a post changes, on the content
-- channel it already hears).
create function fediverse_delivery_notify() returns trigger language plpgsql as $$
begin
    perform pg_notify('folio_fediverse', '');
    return null;
end
$$;
-- Row-level: a statement that inserted nothing says nothing (PostgreSQL folds the notices of
-- one transaction into one).
create trigger fediverse_deliveries_notify after insert on fediverse_deliveries
    for each row execute function fediverse_delivery_notify();
