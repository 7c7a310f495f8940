-- A counter that moves whenever what the sidebar shows may change (posts, labels, settings), so
-- every Folio process can keep its archive and label counts cached and know, with the settings
-- it reads anyway, whether they are still current.
create table content_version (
    id smallint primary key default 1 check (id = 1),
    n bigint not null default 0
);
insert into content_version default values;

create function bump_content_version() returns trigger language plpgsql as $$
begin
    update content_version set n = n + 1 where id = 1;
    return null;
end
$$;

create trigger posts_content_version after insert or update or delete on posts
    for each statement execute function bump_content_version();
create trigger post_labels_content_version after insert or update or delete on post_labels
    for each statement execute function bump_content_version();
create trigger labels_content_version after insert or update or delete on labels
    for each statement execute function bump_content_version();
create trigger settings_content_version after update on settings
    for each statement execute function bump_content_version();
