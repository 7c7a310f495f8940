-- The editor: saves that cannot silently overwrite each other, and autosaved work.
--
-- `edit_version` moves on with every save from the editor (and nothing else: a comment or a
-- mail job touching the row is not an edit). A save carries the version it started from; a save
-- started from an older one is shown both texts instead of overwriting. `edited_by` names who
-- made the last save, for that screen.
alter table posts
    add column edit_version bigint not null default 1,
    add column edited_by bigint references users (id) on delete set null;

-- What an editor typed and has not saved: one slot per post and user (post_id null: the post
-- they are starting), written every few seconds while they type. Never published, never a
-- revision; emptied when they save or discard it.
create table post_autosaves (
    id bigint generated always as identity primary key,
    post_id bigint references posts (id) on delete cascade,
    user_id bigint not null references users (id) on delete cascade,
    -- the post's edit_version when the editor was opened (null for a new post)
    base_version bigint,
    title text not null,
    body_source text not null,
    labels text not null default '',
    slug text not null default '',
    excerpt text not null default '',
    saved_at timestamptz not null default now(),
    unique nulls not distinct (post_id, user_id)
);
create index post_autosaves_user_idx on post_autosaves (user_id);
