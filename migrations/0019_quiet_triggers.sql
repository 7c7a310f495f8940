-- Notices and the content version move only for changes readers can see.
--
-- The statement-level triggers of 0005, 0006 and 0018 fired for every statement, even one that
-- changed no row: the mail worker's "take the posts due to be told" (an UPDATE that usually
-- matches nothing) sent `folio_content_changed`, the worker heard it and ran again, forever,
-- and every notice emptied every process's page cache. These row-level triggers fire only when
-- a row changes in a way a public page shows; bookkeeping columns (the announcement state, the
-- editor's version, the import's source keys, the search document, updated_at) and drafts that
-- stay drafts say nothing.

-- A row's public face: what is left when the bookkeeping is taken away.
create function post_public_face(p posts) returns jsonb language sql stable parallel safe as $$
    select case when p.status = 'draft' then null
                else to_jsonb(p) - 'announce' - 'updated_at' - 'edit_version' - 'edited_by'
                     - 'edited_at' - 'source' - 'source_id' - 'source_digest' - 'search'
           end
$$;

-- The content version moves once per transaction, however many rows it changes: a row-level
-- bump would write the counter's row once per row (an import of ten thousand posts).
create or replace function bump_content_version() returns trigger language plpgsql as $$
begin
    if current_setting('folio.content_version_moved', true) is distinct from 'yes' then
        update content_version set n = n + 1 where id = 1;
        perform set_config('folio.content_version_moved', 'yes', true);
    end if;
    return null;
end
$$;

drop trigger posts_notify on posts;
drop trigger posts_content_version on posts;
create trigger posts_notify_insert after insert on posts
    for each row when (new.status <> 'draft') execute function notify_content_changed();
create trigger posts_notify_update after update on posts
    for each row when (post_public_face(old) is distinct from post_public_face(new))
    execute function notify_content_changed();
create trigger posts_notify_delete after delete on posts
    for each row when (old.status <> 'draft') execute function notify_content_changed();
create trigger posts_notify_truncate after truncate on posts
    for each statement execute function notify_content_changed();
create trigger posts_content_version_insert after insert on posts
    for each row when (new.status <> 'draft') execute function bump_content_version();
create trigger posts_content_version_update after update on posts
    for each row when (post_public_face(old) is distinct from post_public_face(new))
    execute function bump_content_version();
create trigger posts_content_version_delete after delete on posts
    for each row when (old.status <> 'draft') execute function bump_content_version();

-- Labels, their posts and redirects: any row that really changes.
drop trigger labels_notify on labels;
drop trigger labels_content_version on labels;
create trigger labels_notify after insert or delete on labels
    for each row execute function notify_content_changed();
create trigger labels_notify_update after update on labels
    for each row when (old.* is distinct from new.*) execute function notify_content_changed();
create trigger labels_notify_truncate after truncate on labels
    for each statement execute function notify_content_changed();
create trigger labels_content_version after insert or delete on labels
    for each row execute function bump_content_version();
create trigger labels_content_version_update after update on labels
    for each row when (old.* is distinct from new.*) execute function bump_content_version();

drop trigger post_labels_notify on post_labels;
drop trigger post_labels_content_version on post_labels;
create trigger post_labels_notify after insert or delete on post_labels
    for each row execute function notify_content_changed();
create trigger post_labels_notify_update after update on post_labels
    for each row when (old.* is distinct from new.*) execute function notify_content_changed();
create trigger post_labels_notify_truncate after truncate on post_labels
    for each statement execute function notify_content_changed();
create trigger post_labels_content_version after insert or delete on post_labels
    for each row execute function bump_content_version();
create trigger post_labels_content_version_update after update on post_labels
    for each row when (old.* is distinct from new.*) execute function bump_content_version();

drop trigger redirects_notify on redirects;
create trigger redirects_notify after insert or delete on redirects
    for each row execute function notify_content_changed();
create trigger redirects_notify_update after update on redirects
    for each row when (old.* is distinct from new.*) execute function notify_content_changed();
create trigger redirects_notify_truncate after truncate on redirects
    for each statement execute function notify_content_changed();

-- The one-row tables: a save that changes nothing (updated_at aside) says nothing.
drop trigger settings_notify on settings;
drop trigger settings_content_version on settings;
create trigger settings_notify after update on settings
    for each row when ((to_jsonb(old) - 'updated_at') is distinct from (to_jsonb(new) - 'updated_at'))
    execute function notify_content_changed();
create trigger settings_content_version after update on settings
    for each row when ((to_jsonb(old) - 'updated_at') is distinct from (to_jsonb(new) - 'updated_at'))
    execute function bump_content_version();

drop trigger appearance_notify on appearance;
drop trigger appearance_content_version on appearance;
create trigger appearance_notify after update on appearance
    for each row when (old.* is distinct from new.*) execute function notify_content_changed();
create trigger appearance_content_version after update on appearance
    for each row when (old.* is distinct from new.*) execute function bump_content_version();

-- A user's name is on their posts and comments.
drop trigger users_notify on users;
create trigger users_notify_update after update of display_name on users
    for each row when (old.display_name is distinct from new.display_name)
    execute function notify_content_changed();
create trigger users_notify_delete after delete on users
    for each row execute function notify_content_changed();

-- Comments: teaching the filter, scoring and import keys are not what readers see.
drop trigger comments_notify_update on comments;
create trigger comments_notify_update after update on comments
    for each row when ((old.status = 'approved' or new.status = 'approved')
        and (to_jsonb(old) - 'spam_taught' - 'spam_score' - 'spam_clues' - 'updated_at'
             - 'source' - 'source_id' - 'source_digest')
            is distinct from (to_jsonb(new) - 'spam_taught' - 'spam_score' - 'spam_clues'
             - 'updated_at' - 'source' - 'source_id' - 'source_digest'))
    execute function notify_comments_changed();

-- The outbox wakes the workers only when a message is waiting to be sent (written, or put back
-- with a new due time), not when one was sent or failed.
drop trigger outbox_notify on outbox;
create trigger outbox_notify after insert or update of status, due_at on outbox
    for each row when (new.status = 'waiting') execute function notify_outbox();

-- A held comment should not wait unseen: admins get a message for each held comment unless they
-- turn it off (as WordPress mails the owner for every comment held for moderation). Editors and
-- authors still opt in. Admins with it off are given it now (the old default cannot be told from
-- a choice; the CHANGELOG says so, and turning it off again sticks).
create function users_default_comment_mail() returns trigger language plpgsql as $$
begin
    if new.role = 'admin' and new.comment_mail = 'none' then
        new.comment_mail := 'each';
    end if;
    return new;
end
$$;
create trigger users_default_comment_mail before insert on users
    for each row execute function users_default_comment_mail();
update users set comment_mail = 'each' where role = 'admin' and comment_mail = 'none';

-- A post's featured image goes through export and import like the rest of what a person set.
alter table import_posts add column featured_image text not null default '';
