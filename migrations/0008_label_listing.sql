-- A label page walks its label's posts newest first. With the publication time copied into
-- post_labels, that walk is an index range of exactly the posts it shows, however large the blog
-- and however rare or common the label (before, it scanned the whole date index with a filter,
-- or hashed every post of the label).
alter table post_labels add column published_at timestamptz;
update post_labels pl set published_at = p.published_at from posts p where p.id = pl.post_id;
create index post_labels_listing_idx on post_labels (label_id, published_at desc, post_id desc);

create function post_labels_copy_published_at() returns trigger language plpgsql as $$
begin
    select published_at into new.published_at from posts where id = new.post_id;
    return new;
end
$$;
create trigger post_labels_published_at before insert or update of post_id on post_labels
    for each row execute function post_labels_copy_published_at();

create function posts_copy_published_at() returns trigger language plpgsql as $$
begin
    update post_labels set published_at = new.published_at where post_id = new.id;
    return null;
end
$$;
create trigger posts_published_at_to_labels after update of published_at on posts
    for each row when (old.published_at is distinct from new.published_at)
    execute function posts_copy_published_at();
