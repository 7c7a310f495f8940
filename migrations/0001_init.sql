-- Folio's whole data model. Never edit this file once it has landed: add a new migration.

create function set_updated_at() returns trigger language plpgsql as $$
begin
    new.updated_at = now();
    return new;
end
$$;

create table users (
    id bigint generated always as identity primary key,
    email text not null,
    display_name text not null,
    -- argon2id PHC string; null means the account cannot log in (e.g. the demo author)
    password_hash text,
    role text not null default 'author' check (role in ('admin', 'editor', 'author')),
    disabled boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create unique index users_email_key on users (lower(email));
create trigger users_updated_at before update on users
    for each row execute function set_updated_at();

-- Server-side sessions, so any number of Folio processes can share one database.
create table sessions (
    token_hash bytea primary key,
    user_id bigint not null references users (id) on delete cascade,
    csrf_token text not null,
    created_at timestamptz not null default now(),
    last_seen_at timestamptz not null default now(),
    expires_at timestamptz not null
);
create index sessions_user_id_idx on sessions (user_id);
create index sessions_expires_at_idx on sessions (expires_at);

create table posts (
    id bigint generated always as identity primary key,
    kind text not null default 'post' check (kind in ('post', 'page')),
    -- the public path, stored so that an imported post keeps its exact URL
    path text not null unique,
    slug text not null,
    title text not null,
    body_source text not null default '',
    body_format text not null default 'markdown' check (body_format in ('markdown', 'html')),
    -- rendered and sanitized at write time
    body_html text not null default '',
    excerpt text not null default '',
    status text not null default 'draft' check (status in ('draft', 'scheduled', 'published')),
    published_at timestamptz,
    author_id bigint references users (id) on delete set null,
    -- null: the blog's default policy applies
    comment_policy text check (comment_policy in ('open', 'moderated', 'moderate_after', 'closed')),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    search tsvector generated always as (
        setweight(to_tsvector('simple', title), 'A') ||
        setweight(to_tsvector('simple', body_source), 'C')
    ) stored,
    check (status = 'draft' or published_at is not null)
);
-- every public listing pages by keyset over (published_at, id)
create index posts_listing_idx on posts (published_at desc, id desc)
    where kind = 'post' and status <> 'draft';
create index posts_author_idx on posts (author_id);
create index posts_search_idx on posts using gin (search);
create trigger posts_updated_at before update on posts
    for each row execute function set_updated_at();

create table labels (
    id bigint generated always as identity primary key,
    name text not null unique check (name <> '')
);

create table post_labels (
    post_id bigint not null references posts (id) on delete cascade,
    label_id bigint not null references labels (id) on delete cascade,
    primary key (post_id, label_id)
);
create index post_labels_label_idx on post_labels (label_id, post_id);

create table comments (
    id bigint generated always as identity primary key,
    post_id bigint not null references posts (id) on delete cascade,
    parent_id bigint references comments (id) on delete set null,
    author_name text not null,
    -- never shown to readers
    author_email text,
    author_url text,
    body_source text not null,
    body_html text not null,
    status text not null default 'pending' check (status in ('pending', 'approved', 'spam', 'trash')),
    -- which spam layer held or marked it, for the moderator
    status_reason text,
    client_hash text,
    user_id bigint references users (id) on delete set null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index comments_post_approved_idx on comments (post_id, created_at, id)
    where status = 'approved';
create index comments_status_idx on comments (status, created_at desc);
create trigger comments_updated_at before update on comments
    for each row execute function set_updated_at();

-- uploaded images live in the database, so app servers stay stateless
create table media (
    id bigint generated always as identity primary key,
    hash text not null unique,
    content_type text not null,
    size_bytes integer not null check (size_bytes >= 0),
    bytes bytea not null,
    uploaded_by bigint references users (id) on delete set null,
    created_at timestamptz not null default now()
);

-- exactly one row
create table settings (
    id smallint primary key default 1 check (id = 1),
    title text not null default 'Folio',
    description text not null default '',
    timezone text not null default 'UTC',
    posts_per_page integer not null default 10 check (posts_per_page between 1 and 100),
    comment_policy text not null default 'open'
        check (comment_policy in ('open', 'moderated', 'moderate_after', 'closed')),
    moderate_after_days integer not null default 14 check (moderate_after_days >= 0),
    updated_at timestamptz not null default now()
);
insert into settings default values;
create trigger settings_updated_at before update on settings
    for each row execute function set_updated_at();

-- a path that once served a post and now moves to it with a 301
create table redirects (
    old_path text primary key,
    post_id bigint not null references posts (id) on delete cascade,
    created_at timestamptz not null default now()
);
