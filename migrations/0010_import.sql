-- Import from Blogger and WordPress, export back out.

-- Where an imported row came from, so that running the same import again finds it instead of
-- adding it twice: the source ("blogger", "wordpress") and the source's own id for it. The digest
-- is of what the source said, so a newer export updates what changed in it and nothing else
-- (an edit made in Folio survives re-running the same file).
alter table posts
    add column source text,
    add column source_id text,
    add column source_digest text,
    -- seconds east of UTC that the source wrote the publication time with (exported again)
    add column published_offset integer;
create unique index posts_source_key on posts (source, source_id);

alter table comments
    add column source text,
    add column source_id text,
    add column source_digest text,
    add column created_offset integer,
    -- 'text': typed in Folio's form (plain text and a little Markdown); 'html': imported
    add column body_format text not null default 'text' check (body_format in ('text', 'html'));
create unique index comments_source_key on comments (source, source_id);

alter table users
    add column source text,
    add column source_id text;
create unique index users_source_key on users (source, source_id);

-- Staging for one import: rows are streamed in here in batches, then merged into the blog with
-- a few set-based statements, all in the import's transaction. Other sessions never see these
-- rows (they are uncommitted, and emptied before the commit); imports take a lock, one at a time.
create unlogged table import_posts (
    source_id text not null,
    kind text not null,
    path text not null,
    slug text not null,
    title text not null,
    body_source text not null,
    body_format text not null,
    body_html text not null,
    excerpt text not null,
    draft boolean not null,
    published_at timestamptz,
    published_offset integer,
    author_key text,
    comment_policy text,
    -- label names, one per line
    labels text not null,
    line bigint not null,
    -- the entry's place in the file (lines repeat: Blogger writes whole entries on one line)
    seq bigint not null,
    -- the source gave this path (it wins over a path Folio had to make up)
    path_given boolean not null,
    -- set by the merge
    digest text,
    moved_from text,
    changed boolean not null default false,
    inserted boolean not null default false
);

create unlogged table import_authors (
    key text primary key,
    name text not null,
    email text,
    user_id bigint
);

create unlogged table import_redirects (
    old_path text not null,
    source_id text not null
);

create unlogged table import_comments (
    source_id text not null,
    post_source_id text not null,
    parent_source_id text,
    author_name text not null,
    author_email text,
    author_url text,
    body_source text not null,
    body_format text not null,
    body_html text not null,
    status text not null,
    created_at timestamptz not null,
    created_offset integer,
    line bigint not null,
    seq bigint not null,
    digest text,
    changed boolean not null default false,
    inserted boolean not null default false
);

-- Imports started from the admin page run in the background; any Folio process can show their
-- progress and summary.
create table import_jobs (
    id bigint generated always as identity primary key,
    format text not null,
    file_name text not null,
    bytes_total bigint not null,
    bytes_done bigint not null default 0,
    state text not null default 'running' check (state in ('running', 'done', 'failed')),
    summary jsonb,
    error text,
    started_by bigint references users (id) on delete set null,
    started_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    finished_at timestamptz
);
