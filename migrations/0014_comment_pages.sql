-- Comment pages: a post's comments are shown a number of threads at a time (a top-level
-- comment with all its replies is never split), oldest or newest thread first.

-- Each comment knows its thread: the top-level comment it answers, through any depth of
-- replies (its own id for a top-level comment). Kept by a trigger as comments are written and
-- re-parented; an import, which sets many parents in one statement, renumbers afterwards.
alter table comments add column thread_id bigint;
-- When the thread began (its top-level comment's time): threads are ranked by it, then by their
-- number, so a comment's page is a count along an index rather than a sort of every thread.
alter table comments add column thread_started_at timestamptz;

-- A comment's `updated_at` says when it was edited (feeds and exports show it): filing it in a
-- thread is no edit.
create function set_comment_updated_at() returns trigger language plpgsql as $$
begin
    if (to_jsonb(new) - 'thread_id' - 'thread_started_at' - 'updated_at')
       is distinct from (to_jsonb(old) - 'thread_id' - 'thread_started_at' - 'updated_at') then
        new.updated_at := now();
    end if;
    return new;
end
$$;
drop trigger comments_updated_at on comments;
create trigger comments_updated_at before update on comments
    for each row execute function set_comment_updated_at();

create function comment_thread_of_parent() returns trigger language plpgsql as $$
begin
    -- `for share` waits for a renumbering of the parent's thread in progress (a first comment
    -- deleted for good), so a reply is never filed under the thread its parent just left.
    select p.thread_id, p.thread_started_at into new.thread_id, new.thread_started_at
    from comments p where p.id = new.parent_id for share;
    if new.thread_id is null then
        new.thread_id := new.id;
        new.thread_started_at := new.created_at;
    end if;
    return new;
end
$$;

create trigger comments_thread before insert or update of parent_id, created_at on comments
    for each row execute function comment_thread_of_parent();

-- The threads of a post's comments (all posts' when null) from their chains of parents: after
-- an import (loops were cut by then), and after a top-level comment is deleted for good (its
-- replies become threads of their own).
create function renumber_comment_threads(p_post_id bigint) returns void language sql as $$
    with recursive tree (id, root, started, depth) as (
        select id, id, created_at, 1 from comments
        where parent_id is null and (p_post_id is null or post_id = p_post_id)
        union all
        select c.id, t.root, t.started, t.depth + 1
        from comments c join tree t on c.parent_id = t.id
        where t.depth < 10000
    )
    update comments c set thread_id = tree.root, thread_started_at = tree.started
    from tree
    where tree.id = c.id
      and (c.thread_id is distinct from tree.root
           or c.thread_started_at is distinct from tree.started)
$$;

select renumber_comment_threads(null);
-- A reply whose chain never reaches a top-level comment (none should exist) is its own thread.
update comments set thread_id = id, thread_started_at = created_at where thread_id is null;
alter table comments alter column thread_id set not null;
alter table comments alter column thread_started_at set not null;
create index comments_post_thread_idx on comments (post_id, thread_id);
-- Threads in their order, by their first comments (a comment's page is a count along it).
create index comments_post_thread_order_idx on comments (post_id, thread_started_at, thread_id)
    include (id) where status = 'approved';
create index comments_parent_idx on comments (parent_id) where parent_id is not null;

-- How many threads a comment page holds, and which come first.
alter table settings
    add column comment_threads_per_page int not null default 100
        check (comment_threads_per_page between 1 and 1000),
    add column comments_newest_first boolean not null default false;

-- A change to published comments tells the page caches which post's comments changed
-- (`comments:{post id}`), so that other posts' pages stay cached; anything else still says
-- nothing more than "something changed".
create function notify_comments_changed() returns trigger language plpgsql as $$
begin
    if tg_op in ('UPDATE', 'DELETE') then
        perform pg_notify('folio_content_changed', 'comments:' || old.post_id);
    end if;
    if tg_op in ('INSERT', 'UPDATE') then
        perform pg_notify('folio_content_changed', 'comments:' || new.post_id);
    end if;
    return null;
end
$$;

drop trigger comments_notify_insert on comments;
drop trigger comments_notify_update on comments;
drop trigger comments_notify_delete on comments;
create trigger comments_notify_insert after insert on comments
    for each row when (new.status = 'approved') execute function notify_comments_changed();
create trigger comments_notify_update after update on comments
    for each row when (old.status = 'approved' or new.status = 'approved')
    execute function notify_comments_changed();
create trigger comments_notify_delete after delete on comments
    for each row when (old.status = 'approved') execute function notify_comments_changed();
