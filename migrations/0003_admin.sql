-- The admin area: login throttling and post revisions.

-- Every login attempt, so that failures can be counted per account and per address (and any
-- number of Folio processes agree on the count).
create table login_attempts (
    id bigint generated always as identity primary key,
    email text not null,
    client_hash text,
    succeeded boolean not null,
    at timestamptz not null default now()
);
create index login_attempts_email_idx on login_attempts (lower(email), at);
create index login_attempts_client_idx on login_attempts (client_hash, at);

-- The version of a post before each save.
create table post_revisions (
    id bigint generated always as identity primary key,
    post_id bigint not null references posts (id) on delete cascade,
    title text not null,
    slug text not null,
    body_source text not null,
    excerpt text not null,
    labels text not null default '',
    -- who made the save that replaced this version
    saved_by bigint references users (id) on delete set null,
    created_at timestamptz not null default now()
);
create index post_revisions_post_idx on post_revisions (post_id, created_at desc);
