-- Every Folio process may keep rendered public pages in memory. A change to anything a public
-- page shows notifies them all on one channel (in the writing transaction, so the notice is sent
-- exactly when the change commits, whoever made it: Folio, an import, or psql). PostgreSQL folds
-- the notices of one transaction into one.
create function notify_content_changed() returns trigger language plpgsql as $$
begin
    perform pg_notify('folio_content_changed', '');
    return null;
end
$$;

create trigger posts_notify after insert or update or delete or truncate on posts
    for each statement execute function notify_content_changed();
create trigger labels_notify after insert or update or delete or truncate on labels
    for each statement execute function notify_content_changed();
create trigger post_labels_notify after insert or update or delete or truncate on post_labels
    for each statement execute function notify_content_changed();
create trigger comments_notify after insert or update or delete or truncate on comments
    for each statement execute function notify_content_changed();
create trigger settings_notify after insert or update or delete on settings
    for each statement execute function notify_content_changed();
create trigger redirects_notify after insert or update or delete or truncate on redirects
    for each statement execute function notify_content_changed();
create trigger users_notify after insert or update of display_name or delete on users
    for each statement execute function notify_content_changed();
