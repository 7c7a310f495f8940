-- Replies from the fediverse become comments: `source` 'fediverse' with the Note's id as
-- `source_id` (unique, so a Note is one comment however often it arrives), and the actor who
-- wrote it, who alone may edit or delete it. Likes and boosts of posts are counted.

alter table comments
    add column fediverse_actor_id bigint references fediverse_actors (id) on delete set null;
create index comments_fediverse_actor_idx on comments (fediverse_actor_id)
    where fediverse_actor_id is not null;

-- Who wrote a reply is bookkeeping, not what readers see (0019's rule).
drop trigger comments_notify_update on comments;
create trigger comments_notify_update after update on comments
    for each row when ((old.status = 'approved' or new.status = 'approved')
        and (to_jsonb(old) - 'spam_taught' - 'spam_score' - 'spam_clues' - 'updated_at'
             - 'source' - 'source_id' - 'source_digest' - 'fediverse_actor_id')
            is distinct from (to_jsonb(new) - 'spam_taught' - 'spam_score' - 'spam_clues'
             - 'updated_at' - 'source' - 'source_id' - 'source_digest' - 'fediverse_actor_id'))
    execute function notify_comments_changed();

create table fediverse_reactions (
    post_id bigint not null references posts (id) on delete cascade,
    actor_id bigint not null references fediverse_actors (id) on delete cascade,
    kind text not null check (kind in ('like', 'announce')),
    activity_id text not null unique,
    created_at timestamptz not null default now(),
    primary key (post_id, actor_id, kind)
);
-- The post's page shows the counts: its cached copies go, as for a comment.
create trigger fediverse_reactions_notify after insert or delete on fediverse_reactions
    for each row execute function notify_comments_changed();
