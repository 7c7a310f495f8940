-- Search over titles (weight A), labels (B) and bodies (C) in the blog's text-search language,
-- and the feed setting.

-- a name from pg_ts_config (checked by the settings page)
alter table settings add column search_language text not null default 'simple';
alter table settings add column feed_summaries boolean not null default false;

-- A post's searchable text: bodies imported as HTML are searched without their tags.
create function post_search_document(title text, labels text, body text, language regconfig)
returns tsvector language sql immutable as $$
    select setweight(to_tsvector(language, coalesce(title, '')), 'A')
        || setweight(to_tsvector(language, coalesce(labels, '')), 'B')
        || setweight(to_tsvector(language, coalesce(body, '')), 'C')
$$;

create function post_search_labels(post bigint) returns text language sql stable as $$
    select coalesce(string_agg(l.name, ' '), '')
    from post_labels pl join labels l on l.id = pl.label_id
    where pl.post_id = post
$$;

create function post_search_body(body_source text, body_format text) returns text
language sql immutable as $$
    select case when body_format = 'html'
                then regexp_replace(body_source, '<[^>]*>', ' ', 'g')
                else body_source end
$$;

create function search_language() returns regconfig language sql stable as $$
    select search_language::regconfig from settings where id = 1
$$;

alter table posts drop column search;
alter table posts add column search tsvector not null default ''::tsvector;

create function posts_search_refresh() returns trigger language plpgsql as $$
begin
    new.search := post_search_document(
        new.title, post_search_labels(new.id),
        post_search_body(new.body_source, new.body_format), search_language());
    return new;
end
$$;
create trigger posts_search before insert or update of title, body_source, body_format on posts
    for each row execute function posts_search_refresh();

-- Labels change a post's document too: one update per statement, however many rows it touched.
create function post_labels_search_refresh() returns trigger language plpgsql as $$
begin
    update posts p
    set search = post_search_document(
        p.title, post_search_labels(p.id), post_search_body(p.body_source, p.body_format),
        search_language())
    where p.id in (select post_id from changed);
    return null;
end
$$;
create trigger post_labels_search_insert after insert on post_labels
    referencing new table as changed for each statement
    execute function post_labels_search_refresh();
create trigger post_labels_search_delete after delete on post_labels
    referencing old table as changed for each statement
    execute function post_labels_search_refresh();

update posts set search = post_search_document(
    title, post_search_labels(id), post_search_body(body_source, body_format), search_language());

create index posts_search_idx on posts using gin (search);
