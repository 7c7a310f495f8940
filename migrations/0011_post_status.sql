-- A post's status holds one thing: the editor's decision, 'draft' or 'published' (released to
-- readers from published_at on; a time still to come is a schedule). The third value,
-- 'scheduled', was read everywhere as 'published' and stayed 'scheduled' after its time came.
update posts set status = 'published' where status = 'scheduled';
alter table posts drop constraint posts_status_check;
alter table posts add constraint posts_status_check check (status in ('draft', 'published'));

-- The one SQL definition of "readers can see it". A plain SQL expression, so the planner inlines
-- it and the listing indexes below still serve every query that uses it.
create function post_visible(status text, published_at timestamptz) returns boolean
    language sql stable parallel safe
    as $$ select status = 'published' and published_at <= now() $$;

drop index posts_listing_idx;
create index posts_listing_idx on posts (published_at desc, id desc)
    where kind = 'post' and status = 'published';

-- Where a post stands for readers now, for the admin's lists and counts.
create function post_state(status text, published_at timestamptz) returns text
    language sql stable parallel safe
    as $$ select case when post_visible(status, published_at) then 'published'
                      when status = 'published' then 'scheduled'
                      else 'draft' end $$;
