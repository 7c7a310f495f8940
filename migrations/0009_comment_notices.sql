-- Readers see approved comments only (a held comment's author sees it on a page made for them),
-- so only changes to approved comments notify the page caches: a flood of spam or of comments
-- held for moderation no longer empties every cache on every submission.
drop trigger comments_notify on comments;
create trigger comments_notify_insert after insert on comments
    for each row when (new.status = 'approved') execute function notify_content_changed();
create trigger comments_notify_update after update on comments
    for each row when (old.status = 'approved' or new.status = 'approved')
    execute function notify_content_changed();
create trigger comments_notify_delete after delete on comments
    for each row when (old.status = 'approved') execute function notify_content_changed();
create trigger comments_notify_truncate after truncate on comments
    for each statement execute function notify_content_changed();
