-- Authors as fediverse accounts of their own (@name@host), beside the blog's. Each author opts
-- in by choosing a name on their Account page (none: the default, and their posts go out from
-- the blog as before). The actor's id holds the user's number, not the name, so a renamed
-- author keeps their followers. Their key lives in `secrets` ('fediverse-key-author-{id}').
alter table users
    add column fediverse_name text unique check (fediverse_name ~ '^[a-z0-9_]{1,30}$');

-- Whom a follower follows: the blog (null) or an author.
alter table fediverse_followers
    add column user_id bigint references users (id) on delete cascade,
    drop constraint fediverse_followers_pkey;
create unique index fediverse_followers_key on fediverse_followers (actor_id, coalesce(user_id, 0));

-- The actor a post was created by (null: the blog): its Update and Delete come from the same
-- one, whatever the author chose since, as the servers that keep it check.
alter table fediverse_posts
    add column sent_by bigint references users (id) on delete set null;

-- Whose key signs a delivery (null: the blog's). An author's deliveries go with them.
alter table fediverse_deliveries
    add column signer bigint references users (id) on delete cascade;
