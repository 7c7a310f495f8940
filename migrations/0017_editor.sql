-- The editor: saves that cannot silently overwrite each other, autosaved work, and images that
-- are stored without their metadata, with smaller copies, sizes and alt text.
--
-- `edit_version` moves on with every save from the editor (and nothing else: a comment or a
-- mail job touching the row is not an edit). A save carries the version it started from; a save
-- started from an older one is shown both texts instead of overwriting. `edited_by` and
-- `edited_at` name who made the last save and when, for that screen.
alter table posts
    add column edit_version bigint not null default 1,
    add column edited_by bigint references users (id) on delete set null,
    add column edited_at timestamptz,
    -- a /media/… image shown for the post in link previews (og:image) and structured data
    add column featured_image text not null default '';

-- What an editor typed and has not saved: one slot per post and user (post_id null: the post or
-- page they are starting), written every few seconds while they type. Never published, never a
-- revision; emptied when they save or discard it.
create table post_autosaves (
    id bigint generated always as identity primary key,
    post_id bigint references posts (id) on delete cascade,
    user_id bigint not null references users (id) on delete cascade,
    kind text not null default 'post' check (kind in ('post', 'page')),
    -- the post's edit_version when the editor was opened (null for a new post)
    base_version bigint,
    title text not null,
    body_source text not null,
    labels text not null default '',
    slug text not null default '',
    excerpt text not null default '',
    saved_at timestamptz not null default now()
);
-- (An expression rather than UNIQUE NULLS NOT DISTINCT, which needs PostgreSQL 15.)
create unique index post_autosaves_slot_idx
    on post_autosaves ((coalesce(post_id, 0)), user_id, kind);
create index post_autosaves_user_idx on post_autosaves (user_id);

-- Uploaded images: their size once upright, the name they were uploaded with (to find them
-- again), and alt text kept with the image for every post that uses it.
alter table media
    add column width integer,
    add column height integer,
    add column name text not null default '',
    add column alt text not null default '',
    -- images stored before uploads were processed are processed after the upgrade, by whichever
    -- process claims them first; a claim lapses (a process that died) and is tried three times
    add column process_attempts smallint not null default 0,
    add column processing_until timestamptz;

-- Smaller copies of an image (480, 960 and 1600 px wide, narrower than the original only), in
-- its own format and, where smaller, WebP: served at /media/{hash}-{width}.{ext}.
create table media_variants (
    media_id bigint not null references media (id) on delete cascade,
    width integer not null,
    height integer not null,
    content_type text not null,
    bytes bytea not null,
    primary key (media_id, width, content_type)
);
