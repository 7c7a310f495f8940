//! Imports: staging rows in batches, then merging them into the blog in one go; import jobs.

use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

use crate::domain::import::{Author, Counts, JobState, Moved, Summary};

/// A post made ready for the blog by the import's reader (path, sanitized HTML, excerpt),
/// waiting to be staged.
#[derive(Debug, Clone)]
pub struct StagedPost {
    pub source_id: String,
    pub kind: &'static str,
    pub path: String,
    pub slug: String,
    pub title: String,
    pub body_source: String,
    pub body_format: &'static str,
    pub body_html: String,
    pub excerpt: String,
    pub draft: bool,
    pub published_at: Option<OffsetDateTime>,
    pub published_offset: Option<i32>,
    pub author: Option<Author>,
    /// As stored (`CommentPolicy::as_str`), like `kind`: text at the `unnest` boundary.
    pub comment_policy: Option<&'static str>,
    pub featured_image: String,
    /// One per line.
    pub labels: String,
    pub line: i64,
    /// The path is the one the source gave (it wins over a path Folio had to make up).
    pub path_given: bool,
    pub old_paths: Vec<String>,
}

/// A comment made ready for the blog, waiting to be staged.
#[derive(Debug, Clone)]
pub struct StagedComment {
    pub source_id: String,
    pub post_source_id: String,
    pub parent_source_id: Option<String>,
    pub author_name: String,
    pub author_email: Option<String>,
    pub author_url: Option<String>,
    pub body_source: String,
    pub body_format: &'static str,
    pub body_html: String,
    pub status: &'static str,
    pub created_at: OffsetDateTime,
    pub created_offset: i32,
    pub line: i64,
}

impl StagedPost {
    pub fn size(&self) -> usize {
        self.body_source.len() + self.body_html.len() + self.title.len() + 256
    }
}

impl StagedComment {
    pub fn size(&self) -> usize {
        self.body_source.len() + self.body_html.len() + 256
    }
}

/// Posts waiting to be sent, column by column (one insert of arrays per batch).
#[derive(Debug, Default)]
pub struct PostBatch {
    source_id: Vec<String>,
    kind: Vec<&'static str>,
    path: Vec<String>,
    slug: Vec<String>,
    title: Vec<String>,
    body_source: Vec<String>,
    body_format: Vec<&'static str>,
    body_html: Vec<String>,
    excerpt: Vec<String>,
    draft: Vec<bool>,
    published_at: Vec<Option<OffsetDateTime>>,
    published_offset: Vec<Option<i32>>,
    author_key: Vec<Option<String>>,
    comment_policy: Vec<Option<&'static str>>,
    featured_image: Vec<String>,
    labels: Vec<String>,
    line: Vec<i64>,
    seq: Vec<i64>,
    path_given: Vec<bool>,
    redirect_path: Vec<String>,
    redirect_source_id: Vec<String>,
    pub bytes: usize,
}

impl PostBatch {
    pub fn push(&mut self, post: StagedPost, seq: i64) {
        self.bytes += post.size();
        self.seq.push(seq);
        self.path_given.push(post.path_given);
        for old in post.old_paths {
            self.redirect_path.push(old);
            self.redirect_source_id.push(post.source_id.clone());
        }
        self.source_id.push(post.source_id);
        self.kind.push(post.kind);
        self.path.push(post.path);
        self.slug.push(post.slug);
        self.title.push(post.title);
        self.body_source.push(post.body_source);
        self.body_format.push(post.body_format);
        self.body_html.push(post.body_html);
        self.excerpt.push(post.excerpt);
        self.draft.push(post.draft);
        self.published_at.push(post.published_at);
        self.published_offset.push(post.published_offset);
        self.author_key.push(post.author.map(|a| a.key));
        self.comment_policy.push(post.comment_policy);
        self.featured_image.push(post.featured_image);
        self.labels.push(post.labels);
        self.line.push(post.line);
    }

    pub fn len(&self) -> usize {
        self.source_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.source_id.is_empty()
    }

    pub fn clear(&mut self) {
        *self = Self::default();
    }
}

#[derive(Debug, Default)]
pub struct CommentBatch {
    source_id: Vec<String>,
    post_source_id: Vec<String>,
    parent_source_id: Vec<Option<String>>,
    author_name: Vec<String>,
    author_email: Vec<Option<String>>,
    author_url: Vec<Option<String>>,
    body_source: Vec<String>,
    body_format: Vec<&'static str>,
    body_html: Vec<String>,
    status: Vec<&'static str>,
    created_at: Vec<OffsetDateTime>,
    created_offset: Vec<i32>,
    line: Vec<i64>,
    seq: Vec<i64>,
    pub bytes: usize,
}

impl CommentBatch {
    pub fn push(&mut self, comment: StagedComment, seq: i64) {
        self.bytes += comment.size();
        self.seq.push(seq);
        self.source_id.push(comment.source_id);
        self.post_source_id.push(comment.post_source_id);
        self.parent_source_id.push(comment.parent_source_id);
        self.author_name.push(comment.author_name);
        self.author_email.push(comment.author_email);
        self.author_url.push(comment.author_url);
        self.body_source.push(comment.body_source);
        self.body_format.push(comment.body_format);
        self.body_html.push(comment.body_html);
        self.status.push(comment.status);
        self.created_at.push(comment.created_at);
        self.created_offset.push(comment.created_offset);
        self.line.push(comment.line);
    }

    pub fn len(&self) -> usize {
        self.source_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.source_id.is_empty()
    }

    pub fn clear(&mut self) {
        *self = Self::default();
    }
}

/// One import at a time (false: another is running); staging starts empty.
pub async fn begin(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    let locked: bool = sqlx::query_scalar("select pg_try_advisory_xact_lock(7305524)")
        .fetch_one(&mut *conn)
        .await?;
    if !locked {
        return Ok(false);
    }
    sqlx::query("truncate import_posts, import_authors, import_redirects, import_comments")
        .execute(&mut *conn)
        .await?;
    Ok(true)
}

pub async fn stage_author(conn: &mut PgConnection, author: &Author) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"insert into import_authors (key, name, email) values ($1, $2, $3)
           on conflict (key) do nothing"#,
        author.key,
        author.name,
        author.email
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn stage_posts(conn: &mut PgConnection, batch: &PostBatch) -> Result<(), sqlx::Error> {
    if batch.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        r#"insert into import_posts (source_id, kind, path, slug, title, body_source, body_format,
                                     body_html, excerpt, draft, published_at, published_offset,
                                     author_key, comment_policy, labels, line, seq, path_given,
                                     featured_image)
           select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                $6::text[], $7::text[], $8::text[], $9::text[], $10::bool[],
                                $11::timestamptz[], $12::int4[], $13::text[], $14::text[],
                                $15::text[], $16::int8[], $17::int8[], $18::bool[], $19::text[])"#,
        &batch.source_id,
        &batch.kind as &[&str],
        &batch.path,
        &batch.slug,
        &batch.title,
        &batch.body_source,
        &batch.body_format as &[&str],
        &batch.body_html,
        &batch.excerpt,
        &batch.draft,
        &batch.published_at as &[Option<OffsetDateTime>],
        &batch.published_offset as &[Option<i32>],
        &batch.author_key as &[Option<String>],
        &batch.comment_policy as &[Option<&str>],
        &batch.labels,
        &batch.line,
        &batch.seq,
        &batch.path_given,
        &batch.featured_image
    )
    .execute(&mut *conn)
    .await?;
    if !batch.redirect_path.is_empty() {
        sqlx::query!(
            r#"insert into import_redirects (old_path, source_id)
               select * from unnest($1::text[], $2::text[])"#,
            &batch.redirect_path,
            &batch.redirect_source_id
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub async fn stage_comments(
    conn: &mut PgConnection,
    batch: &CommentBatch,
) -> Result<(), sqlx::Error> {
    if batch.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        r#"insert into import_comments (source_id, post_source_id, parent_source_id, author_name,
                                        author_email, author_url, body_source, body_format,
                                        body_html, status, created_at, created_offset, line, seq)
           select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
                                $11::timestamptz[], $12::int4[], $13::int8[], $14::int8[])"#,
        &batch.source_id,
        &batch.post_source_id,
        &batch.parent_source_id as &[Option<String>],
        &batch.author_name,
        &batch.author_email as &[Option<String>],
        &batch.author_url as &[Option<String>],
        &batch.body_source,
        &batch.body_format as &[&str],
        &batch.body_html,
        &batch.status as &[&str],
        &batch.created_at,
        &batch.created_offset,
        &batch.line,
        &batch.seq
    )
    .execute(conn)
    .await?;
    Ok(())
}

fn count(n: Option<i64>) -> u64 {
    u64::try_from(n.unwrap_or(0)).unwrap_or(0)
}

/// Moves the staged posts into the blog, keys the staged comments and counts what it did into
/// `merged`; `merge_comments` moves the comments. Rows are keyed on (source, the source's id):
/// what is there already is updated only when the source's version of it changed.
pub async fn merge(
    conn: &mut PgConnection,
    source: &str,
    merged: &mut Summary,
) -> Result<(), sqlx::Error> {
    keep_last_copies(conn).await?;
    merged.authors_added = match_authors(conn, source).await?;
    claim_posts_already_here(conn, source).await?;
    free_taken_paths(conn, source).await?;
    write_posts(conn, source).await?;
    merged.labels_added = write_labels(conn, source).await?;
    merged.redirects_added = write_redirects(conn, source).await?;
    count_posts(conn, merged).await?;
    prepare_comments(conn, source, merged).await
}

/// The last copy of an entry wins, should a file hold one twice.
async fn keep_last_copies(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"delete from import_posts a using import_posts b
           where a.source_id = b.source_id and a.seq < b.seq"#
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        r#"delete from import_comments a using import_comments b
           where a.source_id = b.source_id and a.seq < b.seq"#
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Each staged author's user: the user imported before from this source, else the user with
/// that email, else a new user who cannot log in (an admin can invite them later). A user's
/// name is theirs to change: a re-run does not put the old one back. Returns the users added.
async fn match_authors(conn: &mut PgConnection, source: &str) -> Result<u64, sqlx::Error> {
    sqlx::query!(
        r#"update import_authors a set user_id = u.id
           from users u where u.source = $1 and u.source_id = a.key"#,
        source
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        r#"update import_authors a
           set user_id = (select u.id from users u where lower(u.email) = lower(a.email)
                          order by u.id limit 1)
           where a.user_id is null and a.email is not null"#
    )
    .execute(&mut *conn)
    .await?;
    let added = sqlx::query!(
        r#"with added as (
               insert into users (email, display_name, role, source, source_id)
               select coalesce(a.email,
                               'imported-' || left(md5($1 || ':' || a.key), 16) || '@' || $1 || '.invalid'),
                      coalesce(nullif(a.name, ''), 'Unknown author'), 'author', $1, a.key
               from import_authors a where a.user_id is null
               on conflict do nothing
               returning id, source_id)
           update import_authors a set user_id = added.id from added where a.key = added.source_id"#,
        source
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(added)
}

/// A post already in this blog at the same path, of the same kind and published at the same
/// instant is the same post (a Folio export brought back into the blog it came from): it is
/// keyed on this file's id from now on.
async fn claim_posts_already_here(
    conn: &mut PgConnection,
    source: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"update posts p set source = $1, source_id = s.source_id
           from import_posts s
           where p.path = s.path and p.kind = s.kind
             and p.published_at is not distinct from s.published_at
             and not exists (select 1 from posts x where x.source = $1 and x.source_id = s.source_id)
             and (p.source is distinct from $1
                  or p.source_id not in (select source_id from import_posts))"#,
        source
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A path another post has (or an earlier entry of the file) gets a suffix.
async fn free_taken_paths(conn: &mut PgConnection, source: &str) -> Result<(), sqlx::Error> {
    for suffix in 2..=50_i32 {
        let moved = sqlx::query!(
            r#"with ranked as (
                   -- who keeps a path several entries want: the one whose source gave it,
                   -- then a published one, then the first in the file
                   select source_id,
                          row_number() over (partition by path
                                             order by path_given desc, draft, seq) as n
                   from import_posts)
               update import_posts s
               set moved_from = coalesce(s.moved_from, s.path),
                   path = regexp_replace(coalesce(s.moved_from, s.path), '\.html$', '')
                          || '-' || $2::int4 || '.html',
                   slug = regexp_replace(coalesce(s.moved_from, s.path), '^.*/|\.html$', '', 'g')
                          || '-' || $2::int4
               from ranked r
               where r.source_id = s.source_id
                 and (r.n > 1
                      or exists (select 1 from posts p
                                 where p.path = s.path
                                   and (p.source is distinct from $1 or p.source_id <> s.source_id)))"#,
            source,
            suffix
        )
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if moved == 0 {
            break;
        }
    }
    Ok(())
}

/// Writes the staged posts that are new or changed (keeping the version each replaces).
async fn write_posts(conn: &mut PgConnection, source: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"update import_posts s set digest = md5(concat_ws(E'\x1f', s.kind, s.path, s.title,
               s.body_source, s.body_format, s.draft::text, s.published_at::text,
               s.published_offset::text, coalesce(s.author_key, ''),
               coalesce(s.comment_policy, ''), s.labels,
               -- only when set, so that posts without one keep the digests of earlier imports
               nullif(s.featured_image, '')))"#
    )
    .execute(&mut *conn)
    .await?;

    // The version an update replaces is kept as a revision, as an editor's save would keep it.
    sqlx::query!(
        r#"insert into post_revisions (post_id, title, slug, body_source, excerpt, labels)
           select p.id, p.title, p.slug, p.body_source, p.excerpt,
                  coalesce((select string_agg(l.name, ', ' order by l.name)
                            from post_labels pl join labels l on l.id = pl.label_id
                            where pl.post_id = p.id), '')
           from posts p join import_posts s on p.source = $1 and p.source_id = s.source_id
           where p.source_digest is distinct from s.digest
             and (p.title, p.slug, p.body_source) is distinct from (s.title, s.slug, s.body_source)"#,
        source
    )
    .execute(&mut *conn)
    .await?;

    sqlx::query!(
        r#"with upserted as (
               insert into posts (kind, path, slug, title, body_source, body_format, body_html,
                                  excerpt, status, published_at, published_offset, author_id,
                                  comment_policy, source, source_id, source_digest, featured_image)
               select s.kind, s.path, s.slug, s.title, s.body_source, s.body_format, s.body_html,
                      s.excerpt,
                      case when s.draft then 'draft' else 'published' end,
                      s.published_at, s.published_offset, a.user_id, s.comment_policy, $1,
                      s.source_id, s.digest, s.featured_image
               from import_posts s left join import_authors a on a.key = s.author_key
               on conflict (source, source_id) do update
               set kind = excluded.kind, path = excluded.path, slug = excluded.slug,
                   title = excluded.title, body_source = excluded.body_source,
                   body_format = excluded.body_format, body_html = excluded.body_html,
                   excerpt = excluded.excerpt, status = excluded.status,
                   published_at = excluded.published_at,
                   published_offset = excluded.published_offset, author_id = excluded.author_id,
                   comment_policy = excluded.comment_policy,
                   featured_image = excluded.featured_image,
                   source_digest = excluded.source_digest
               where posts.source_digest is distinct from excluded.source_digest
               returning source_id, (xmax = 0) as inserted)
           update import_posts s set changed = true, inserted = u.inserted
           from upserted u where s.source_id = u.source_id"#,
        source
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Labels of the posts this import wrote (an unchanged post keeps the labels it has); returns
/// the labels added.
async fn write_labels(conn: &mut PgConnection, source: &str) -> Result<u64, sqlx::Error> {
    let added = sqlx::query!(
        r#"insert into labels (name)
           select distinct n from import_posts s, unnest(string_to_array(s.labels, E'\n')) n
           where s.changed and s.labels <> ''
           on conflict (name) do nothing"#
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    sqlx::query!(
        r#"delete from post_labels pl
           using posts p, import_posts s
           where p.source = $1 and p.source_id = s.source_id and s.changed and pl.post_id = p.id
             and not exists (select 1 from labels l
                             where l.id = pl.label_id
                               and l.name = any(string_to_array(s.labels, E'\n')))"#,
        source
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        r#"insert into post_labels (post_id, label_id)
           select p.id, l.id
           from import_posts s
           join posts p on p.source = $1 and p.source_id = s.source_id
           join labels l on l.name = any(string_to_array(s.labels, E'\n'))
           where s.changed and s.labels <> ''
           on conflict do nothing"#,
        source
    )
    .execute(&mut *conn)
    .await?;
    Ok(added)
}

/// Old paths that lead to the posts; returns how many it added.
async fn write_redirects(conn: &mut PgConnection, source: &str) -> Result<u64, sqlx::Error> {
    let added = sqlx::query!(
        r#"insert into redirects (old_path, post_id)
           select distinct on (r.old_path) r.old_path, p.id
           from import_redirects r
           join posts p on p.source = $1 and p.source_id = r.source_id
           where r.old_path <> p.path
             and not exists (select 1 from posts x where x.path = r.old_path)
           order by r.old_path
           on conflict (old_path) do update set post_id = excluded.post_id
           where redirects.post_id <> excluded.post_id"#,
        source
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(added)
}

/// What the merge did with posts and pages, into `merged`.
async fn count_posts(conn: &mut PgConnection, merged: &mut Summary) -> Result<(), sqlx::Error> {
    for row in sqlx::query!(
        r#"select kind,
                  count(*) filter (where inserted) as added,
                  count(*) filter (where changed and not inserted) as updated,
                  count(*) filter (where not changed) as unchanged,
                  count(*) filter (where draft) as drafts
           from import_posts group by kind"#
    )
    .fetch_all(&mut *conn)
    .await?
    {
        let counts = Counts {
            added: count(row.added),
            updated: count(row.updated),
            unchanged: count(row.unchanged),
        };
        merged.drafts += count(row.drafts);
        if row.kind == "page" {
            merged.pages = counts;
        } else {
            merged.posts = counts;
        }
    }
    merged.moved_count = count(
        sqlx::query_scalar!(
            r#"select count(*) from import_posts where moved_from is not null and changed"#
        )
        .fetch_one(&mut *conn)
        .await?,
    );
    merged.moved = sqlx::query!(
        r#"select title, moved_from as "moved_from!", path from import_posts
           where moved_from is not null and changed order by seq limit 20"#
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| Moved {
        title: r.title,
        wanted: r.moved_from,
        got: r.path,
    })
    .collect();
    Ok(())
}

/// The comments' half of `merge`, once the caller has done what must precede their rewrite
/// (the spam filter unlearns the comments whose digest changes).
pub async fn merge_comments(
    conn: &mut PgConnection,
    source: &str,
    merged: &mut Summary,
) -> Result<(), sqlx::Error> {
    upsert_comments(conn, source, merged).await?;
    sqlx::query("truncate import_posts, import_authors, import_redirects, import_comments")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Staged comments keyed to comments already in the blog, and each one's digest.
async fn prepare_comments(
    conn: &mut PgConnection,
    source: &str,
    merged: &mut Summary,
) -> Result<(), sqlx::Error> {
    let without_post = count(
        sqlx::query_scalar!(
            r#"select count(*) from import_comments c
               where not exists (select 1 from posts p
                                 where p.source = $1 and p.source_id = c.post_source_id)"#,
            source
        )
        .fetch_one(&mut *conn)
        .await?,
    );
    if without_post > 0 {
        merged.skip(
            "comments on posts that are not in the file (or were skipped)",
            without_post,
        );
    }
    // Comments already on a post this import found in the blog (see the posts above): the
    // same post, instant, name and text, when that match is one to one. Set-based, so that a
    // re-run (where every comment is already keyed) costs one index probe per comment.
    sqlx::query!(
        r#"with staged as (
               select s.source_id, p.id as post_id, s.created_at, s.author_name, s.body_source,
                      count(*) over (partition by s.post_source_id, s.created_at, s.author_name) as n
               from import_comments s
               join posts p on p.source = $1 and p.source_id = s.post_source_id
               where not exists (select 1 from comments x
                                 where x.source = $1 and x.source_id = s.source_id)),
           existing as (
               select c.id, c.post_id, c.created_at, c.author_name, c.body_source,
                      count(*) over (partition by c.post_id, c.created_at, c.author_name) as n
               from comments c
               where c.post_id in (select post_id from staged))
           update comments c set source = $1, source_id = st.source_id
           from staged st
           join existing e on e.post_id = st.post_id and e.created_at = st.created_at
                          and e.author_name = st.author_name and e.body_source = st.body_source
           where c.id = e.id and st.n = 1 and e.n = 1
             and (c.source is distinct from $1
                  or c.source_id not in (select source_id from import_comments))"#,
        source
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        r#"update import_comments s set digest = md5(concat_ws(E'\x1f', s.post_source_id,
               coalesce(s.parent_source_id, ''), s.author_name, coalesce(s.author_email, ''),
               coalesce(s.author_url, ''), s.body_source, s.body_format, s.status,
               s.created_at::text, s.created_offset::text))"#
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn upsert_comments(
    conn: &mut PgConnection,
    source: &str,
    merged: &mut Summary,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"with upserted as (
               insert into comments (post_id, author_name, author_email, author_url, body_source,
                                     body_format, body_html, status, created_at, created_offset,
                                     source, source_id, source_digest)
               select p.id, s.author_name, s.author_email, s.author_url, s.body_source,
                      s.body_format, s.body_html, s.status, s.created_at, s.created_offset,
                      $1, s.source_id, s.digest
               from import_comments s
               join posts p on p.source = $1 and p.source_id = s.post_source_id
               on conflict (source, source_id) do update
               set post_id = excluded.post_id, author_name = excluded.author_name,
                   author_email = excluded.author_email, author_url = excluded.author_url,
                   body_source = excluded.body_source, body_format = excluded.body_format,
                   body_html = excluded.body_html, status = excluded.status,
                   created_at = excluded.created_at, created_offset = excluded.created_offset,
                   source_digest = excluded.source_digest
               where comments.source_digest is distinct from excluded.source_digest
               returning source_id, (xmax = 0) as inserted)
           update import_comments s set changed = true, inserted = u.inserted
           from upserted u where s.source_id = u.source_id"#,
        source
    )
    .execute(&mut *conn)
    .await?;
    // A comment the source moved (to another post, or out of a thread) starts over...
    sqlx::query!(
        r#"update comments c set parent_id = null
           from import_comments s
           where s.changed and c.source = $1 and c.source_id = s.source_id
             and c.parent_id is not null"#,
        source
    )
    .execute(&mut *conn)
    .await?;
    // ...and a reply points at a comment on the same post made no later than itself...
    sqlx::query!(
        r#"update comments c set parent_id = p.id
           from import_comments s
           join comments p on p.source = $1 and p.source_id = s.parent_source_id
           where c.source = $1 and c.source_id = s.source_id and p.post_id = c.post_id
             and p.created_at <= c.created_at and p.id <> c.id
             and c.parent_id is distinct from p.id"#,
        source
    )
    .execute(&mut *conn)
    .await?;
    // ...so a loop of replies can only be made of comments of the same instant: a file that
    // makes one gets those comments shown as answers to the post instead.
    sqlx::query!(
        r#"with recursive walk (start, current, depth) as (
               select c.id, c.parent_id, 1
               from comments c join comments p on p.id = c.parent_id
               where c.source = $1 and p.created_at = c.created_at
               union all
               select w.start, p.parent_id, w.depth + 1
               from walk w join comments p on p.id = w.current
               where p.parent_id is not null and w.current <> w.start and w.depth < 1000)
           update comments c set parent_id = null
           where c.id in (select start from walk where current = start)"#,
        source
    )
    .execute(&mut *conn)
    .await?;
    // Parents were set many at once: every comment's thread follows its final chain.
    sqlx::query!(r#"select renumber_comment_threads(null) as "done""#)
        .fetch_one(&mut *conn)
        .await?;
    merged.replies_without_parent = count(
        sqlx::query_scalar!(
            r#"select count(*) from import_comments s
               join comments c on c.source = $1 and c.source_id = s.source_id
               where s.parent_source_id is not null and c.parent_id is null"#,
            source
        )
        .fetch_one(&mut *conn)
        .await?,
    );
    let row = sqlx::query!(
        r#"select count(*) filter (where s.inserted) as added,
                  count(*) filter (where s.changed and not s.inserted) as updated,
                  count(*) filter (where not s.changed) as unchanged
           from import_comments s
           where exists (select 1 from posts p where p.source = $1 and p.source_id = s.post_source_id)"#,
        source
    )
    .fetch_one(&mut *conn)
    .await?;
    merged.comments = Counts {
        added: count(row.added),
        updated: count(row.updated),
        unchanged: count(row.unchanged),
    };
    Ok(())
}

/// An import started from the admin page.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub format: String,
    pub file_name: String,
    pub bytes_total: i64,
    pub bytes_done: i64,
    pub state: JobState,
    pub summary: Option<serde_json::Value>,
    pub error: Option<String>,
    pub started_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
}

pub async fn create_job(
    db: &PgPool,
    format: &str,
    file_name: &str,
    bytes_total: i64,
    started_by: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"insert into import_jobs (format, file_name, bytes_total, started_by)
           values ($1, $2, $3, $4) returning id"#,
        format,
        file_name,
        bytes_total,
        started_by
    )
    .fetch_one(db)
    .await
}

pub async fn job_progress(db: &PgPool, id: i64, bytes_done: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"update import_jobs set bytes_done = $2, updated_at = now() where id = $1"#,
        id,
        bytes_done
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn finish_job(
    db: &PgPool,
    id: i64,
    summary: Option<serde_json::Value>,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"update import_jobs
           set state = case when $3::text is null then 'done' else 'failed' end,
               summary = $2, error = $3, bytes_done = case when $3::text is null then bytes_total else bytes_done end,
               updated_at = now(), finished_at = now()
           where id = $1"#,
        id,
        summary,
        error
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn job(db: &PgPool, id: i64) -> Result<Option<Job>, sqlx::Error> {
    sqlx::query_as!(
        Job,
        r#"select id, format, file_name, bytes_total, bytes_done, state as "state: JobState",
                  summary, error,
                  started_at, updated_at, finished_at
           from import_jobs where id = $1"#,
        id
    )
    .fetch_optional(db)
    .await
}

pub async fn recent_jobs(db: &PgPool, limit: i64) -> Result<Vec<Job>, sqlx::Error> {
    sqlx::query_as!(
        Job,
        r#"select id, format, file_name, bytes_total, bytes_done, state as "state: JobState",
                  summary, error,
                  started_at, updated_at, finished_at
           from import_jobs order by id desc limit $1"#,
        limit
    )
    .fetch_all(db)
    .await
}
