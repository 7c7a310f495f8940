-- "Post a Comment": spam defences and the blog's own secret.

-- Words, email addresses and client addresses (one per line) whose comments are stored as spam.
alter table settings add column blocked_terms text not null default '';

-- Keys generated on first start when FOLIO_SECRET is not set, shared by every Folio process.
create table secrets (
    name text primary key,
    value bytea not null,
    created_at timestamptz not null default now()
);

-- the rate limit counts a client's recent comments; the duplicate check a post's recent ones
create index comments_client_recent_idx on comments (client_hash, created_at)
    where client_hash is not null;
create index comments_post_created_idx on comments (post_id, created_at);
