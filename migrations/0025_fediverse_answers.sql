-- The blog's own comments that answer a reply from the fediverse go back there as Notes, so
-- that the conversation reads whole under the toot too: what each has told ('sent', then
-- 'deleted' once it is no longer shown).
create table fediverse_comments (
    comment_id bigint primary key references comments (id) on delete cascade,
    state text not null check (state in ('sent', 'deleted')),
    changed_at timestamptz not null default now()
);
