//! Posts and static pages. A post is visible to readers when it is not a draft and its
//! `published_at` has come: scheduled posts appear on their own, with no job to run.

use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

use crate::domain::{
    comment::CommentPolicy,
    post::{BodyFormat, PostKind, PostState, PostStatus},
};

/// A query returning `PostRow`s: the columns every listing shows, from `posts p` and its author,
/// followed by the query's own conditions (`$rest`). The one place those columns are written.
macro_rules! query_post_rows {
    ($rest:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            PostRow,
            r#"select p.id, p.kind as "kind: PostKind", p.path, p.title, p.body_html, p.excerpt,
                      p.published_at as "published_at!",
                      u.display_name as "author_name?",
                      array(select l.name from post_labels pl join labels l on l.id = pl.label_id
                            where pl.post_id = p.id order by l.name) as "labels!",
                      (select count(*) from comments c
                       where c.post_id = p.id and c.status = 'approved') as "comment_count!",
                      p.comment_policy as "comment_policy: CommentPolicy", p.featured_image
               from posts p
               left join users u on u.id = p.author_id
               "# + $rest
            $(, $arg)*
        )
    };
}

/// A visible post (or page) with what every listing shows beside it.
#[derive(Debug, Clone)]
pub struct PostRow {
    pub id: i64,
    pub kind: PostKind,
    pub path: String,
    pub title: String,
    pub body_html: String,
    pub excerpt: String,
    pub published_at: OffsetDateTime,
    pub author_name: Option<String>,
    pub labels: Vec<String>,
    pub comment_count: i64,
    /// The post's own comment policy; none means the blog's default.
    pub comment_policy: Option<CommentPolicy>,
    /// `/media/…` or an https address; empty when none was chosen.
    pub featured_image: String,
}

/// The place of a post in the (published_at, id) order that every listing follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub at: OffsetDateTime,
    pub id: i64,
}

impl Key {
    /// Before every post: `updated-max` without an id is exclusive of that instant, as on Blogger.
    pub fn before_instant(at: OffsetDateTime) -> Self {
        Self { at, id: 0 }
    }

    /// After every post at that instant.
    pub fn after_instant(at: OffsetDateTime) -> Self {
        Self { at, id: i64::MAX }
    }
}

/// Which posts a listing covers: a time range (an archive) and optionally one label.
#[derive(Debug, Clone, Copy)]
pub struct Scope {
    pub from: OffsetDateTime,
    pub until: OffsetDateTime,
    pub label_id: Option<i64>,
}

impl Scope {
    pub const EVERYTHING: Scope = Scope {
        from: time::macros::datetime!(0001-01-01 00:00 UTC),
        until: time::macros::datetime!(9999-12-31 00:00 UTC),
        label_id: None,
    };

    pub fn label(label_id: i64) -> Self {
        Self {
            label_id: Some(label_id),
            ..Self::EVERYTHING
        }
    }

    pub fn range(from: OffsetDateTime, until: OffsetDateTime) -> Self {
        Self {
            from,
            until,
            label_id: None,
        }
    }
}

/// Which side of a key a listing page lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Older than the key: the next page.
    Older,
    /// Newer than the key: the previous page.
    Newer,
}

/// Up to `limit` posts on `side` of `key` (the nearest ones), newest first. One statement for
/// both sides: the branch of the other side is cut by its constant condition before it reads a
/// row, and each branch walks its index from the key.
pub async fn list(
    db: &PgPool,
    scope: Scope,
    key: Key,
    side: Side,
    limit: i64,
) -> Result<Vec<PostRow>, sqlx::Error> {
    let older = side == Side::Older;
    if let Some(label_id) = scope.label_id {
        let ids = sqlx::query_scalar!(
            r#"(select pl.post_id as "post_id!" from post_labels pl join posts p on p.id = pl.post_id
                where $5 and pl.label_id = $1 and p.kind = 'post'
                  and post_visible(p.status, pl.published_at)
                  and (pl.published_at, pl.post_id) < ($2, $3)
                order by pl.published_at desc, pl.post_id desc
                limit $4)
               union all
               (select pl.post_id from post_labels pl join posts p on p.id = pl.post_id
                where not $5 and pl.label_id = $1 and p.kind = 'post'
                  and post_visible(p.status, pl.published_at)
                  and (pl.published_at, pl.post_id) > ($2, $3)
                order by pl.published_at asc, pl.post_id asc
                limit $4)"#,
            label_id,
            key.at,
            key.id,
            limit,
            older
        )
        .fetch_all(db)
        .await?;
        let mut rows = rows_by_ids(db, &ids).await?;
        rows.sort_by_key(|row| std::cmp::Reverse((row.published_at, row.id)));
        return Ok(rows);
    }
    query_post_rows!(
        r#"where p.id in (
               (select id from posts
                where $6 and kind = 'post' and post_visible(status, published_at)
                  and published_at >= $1 and published_at < $2
                  and (published_at, id) < ($3, $4)
                order by published_at desc, id desc
                limit $5)
               union all
               (select id from posts
                where not $6 and kind = 'post' and post_visible(status, published_at)
                  and published_at >= $1 and published_at < $2
                  and (published_at, id) > ($3, $4)
                order by published_at asc, id asc
                limit $5))
           order by p.published_at desc, p.id desc"#,
        scope.from,
        scope.until,
        key.at,
        key.id,
        limit,
        older
    )
    .fetch_all(db)
    .await
}

/// Visible posts by id, in no particular order: a label page finds its ids on the label's own
/// index (`post_labels_listing_idx`), so its cost does not grow with the blog.
async fn rows_by_ids(db: &PgPool, ids: &[i64]) -> Result<Vec<PostRow>, sqlx::Error> {
    query_post_rows!(r#"where p.id = any($1)"#, ids)
        .fetch_all(db)
        .await
}

/// Whether any post in scope is newer than `newest` and whether any is older than `oldest`
/// (the first and last posts a listing shows), in one round trip.
pub async fn beyond(
    db: &PgPool,
    scope: Scope,
    newest: Key,
    oldest: Key,
) -> Result<(bool, bool), sqlx::Error> {
    if let Some(label_id) = scope.label_id {
        let row = sqlx::query!(
            r#"select exists (
                   select 1 from post_labels pl join posts p on p.id = pl.post_id
                   where pl.label_id = $1 and p.kind = 'post' and post_visible(p.status, pl.published_at)
                     and (pl.published_at, pl.post_id) > ($2, $3)
               ) as "newer!",
               exists (
                   select 1 from post_labels pl join posts p on p.id = pl.post_id
                   where pl.label_id = $1 and p.kind = 'post' and post_visible(p.status, pl.published_at)
                     and (pl.published_at, pl.post_id) < ($4, $5)
               ) as "older!""#,
            label_id,
            newest.at,
            newest.id,
            oldest.at,
            oldest.id
        )
        .fetch_one(db)
        .await?;
        return Ok((row.newer, row.older));
    }
    let row = sqlx::query!(
        r#"select exists (
               select 1 from posts p
               where p.kind = 'post' and post_visible(p.status, p.published_at)
                 and p.published_at >= $1 and p.published_at < $2
                 and (p.published_at, p.id) > ($3, $4)
           ) as "newer!",
           exists (
               select 1 from posts p
               where p.kind = 'post' and post_visible(p.status, p.published_at)
                 and p.published_at >= $1 and p.published_at < $2
                 and (p.published_at, p.id) < ($5, $6)
           ) as "older!""#,
        scope.from,
        scope.until,
        newest.at,
        newest.id,
        oldest.at,
        oldest.id
    )
    .fetch_one(db)
    .await?;
    Ok((row.newer, row.older))
}

/// The visible post or page at exactly this public path.
pub async fn find_by_path(db: &PgPool, path: &str) -> Result<Option<PostRow>, sqlx::Error> {
    query_post_rows!(
        r#"where p.path = $1 and post_visible(p.status, p.published_at)"#,
        path
    )
    .fetch_optional(db)
    .await
}

/// A post's title (for the mail a comment on it causes).
pub async fn title_of(db: impl sqlx::PgExecutor<'_>, id: i64) -> Result<String, sqlx::Error> {
    sqlx::query_scalar!(r#"select title from posts where id = $1"#, id)
        .fetch_one(db)
        .await
}

/// What taking a comment needs to know about a post: no body, no counts (a post with many
/// comments must not make each new one slower).
#[derive(Debug, Clone)]
pub struct CommentTarget {
    pub id: i64,
    pub kind: PostKind,
    pub path: String,
    pub published_at: OffsetDateTime,
    pub comment_policy: Option<CommentPolicy>,
    /// The spam filter's model version, read along so that a process whose copy is current
    /// scores without another round trip.
    pub spam_version: i64,
    /// The content version (see `db::settings::Site`), so that settings read before can serve.
    pub content_version: i64,
}

/// The visible post or page at exactly this path, for the comment form's POST.
pub async fn comment_target(db: &PgPool, path: &str) -> Result<Option<CommentTarget>, sqlx::Error> {
    sqlx::query_as!(
        CommentTarget,
        r#"select id, kind as "kind: PostKind", path, published_at as "published_at!",
                  comment_policy as "comment_policy: CommentPolicy",
                  (select version from spam_model) as "spam_version!",
                  (select n from content_version) as "content_version!"
           from posts
           where path = $1 and post_visible(status, published_at)"#,
        path
    )
    .fetch_optional(db)
    .await
}

/// A neighbouring post, for "Newer Post" / "Older Post" links.
#[derive(Debug, Clone)]
pub struct Neighbour {
    pub path: String,
    pub title: String,
}

/// The posts either side of `key`, for "Newer Post" / "Older Post": (newer, older), in one
/// round trip.
pub async fn neighbours(
    db: &PgPool,
    key: Key,
) -> Result<(Option<Neighbour>, Option<Neighbour>), sqlx::Error> {
    let row = sqlx::query!(
        r#"select newer.path as "newer_path?", newer.title as "newer_title?",
                  older.path as "older_path?", older.title as "older_title?"
           from (select) as here
           left join lateral (
               select p.path, p.title from posts p
               where p.kind = 'post' and post_visible(p.status, p.published_at)
                 and (p.published_at, p.id) > ($1, $2)
               order by p.published_at asc, p.id asc
               limit 1
           ) newer on true
           left join lateral (
               select p.path, p.title from posts p
               where p.kind = 'post' and post_visible(p.status, p.published_at)
                 and (p.published_at, p.id) < ($1, $2)
               order by p.published_at desc, p.id desc
               limit 1
           ) older on true"#,
        key.at,
        key.id
    )
    .fetch_one(db)
    .await?;
    let neighbour = |path: Option<String>, title: Option<String>| {
        Some(Neighbour {
            path: path?,
            title: title?,
        })
    };
    Ok((
        neighbour(row.newer_path, row.newer_title),
        neighbour(row.older_path, row.older_title),
    ))
}

/// Where an old path now points, if the post it leads to is visible.
pub async fn redirect_target(db: &PgPool, old_path: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select p.path from redirects r join posts p on p.id = r.post_id
           where r.old_path = $1 and post_visible(p.status, p.published_at)"#,
        old_path
    )
    .fetch_optional(db)
    .await
}

/// Where the first of these old paths that has a redirect now points (one round trip).
pub async fn first_redirect_target(
    db: &PgPool,
    old_paths: &[&str],
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select p.path from redirects r join posts p on p.id = r.post_id
           where r.old_path = any($1::text[]) and post_visible(p.status, p.published_at)
           order by array_position($1::text[], r.old_path)
           limit 1"#,
        old_paths as &[&str]
    )
    .fetch_optional(db)
    .await
}

/// Year and month (in the blog's time zone) with how many visible posts each holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthCount {
    pub year: i32,
    pub month: i32,
    pub count: i64,
}

pub async fn month_counts(db: &PgPool, timezone: &str) -> Result<Vec<MonthCount>, sqlx::Error> {
    sqlx::query_as!(
        MonthCount,
        r#"select extract(year from local)::int as "year!",
                  extract(month from local)::int as "month!",
                  count(*) as "count!"
           from (select p.published_at at time zone $1 as local from posts p
                 where p.kind = 'post' and post_visible(p.status, p.published_at)) visible
           group by 1, 2
           order by 1 desc, 2 desc"#,
        timezone
    )
    .fetch_all(db)
    .await
}

/// A search hit: the post and a snippet of its text around the matches. In the snippet,
/// `\u{1}` and `\u{2}` mark where each match starts and ends; the text is not yet escaped.
#[derive(Debug, Clone)]
pub struct SearchHit {
    pub id: i64,
    pub path: String,
    pub title: String,
    pub published_at: OffsetDateTime,
    pub labels: Vec<String>,
    pub snippet: String,
    /// How many posts match, counted up to `SEARCH_CANDIDATES`.
    pub total: i64,
}

/// Search ranks at most this many matching posts: a word found in tens of thousands of posts
/// must not make every search read them all. Past it, more words narrow the search.
const SEARCH_CANDIDATES: i64 = 500;

/// Visible posts matching a web-search style query (quotes, OR, -word), best first; title
/// matches outrank label matches, which outrank body matches.
pub async fn search(
    db: &PgPool,
    query: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<SearchHit>, sqlx::Error> {
    sqlx::query_as!(
        SearchHit,
        r#"select p.id, p.path, p.title, p.published_at as "published_at!",
                  array(select l.name from post_labels pl join labels l on l.id = pl.label_id
                        where pl.post_id = p.id order by l.name) as "labels!",
                  ts_headline(search_language(),
                              regexp_replace(p.body_html, '<[^>]*>', ' ', 'g'), q,
                              'StartSel=' || chr(1) || ', StopSel=' || chr(2)
                              || ', MaxWords=40, MinWords=20, ShortWord=2, MaxFragments=2, FragmentDelimiter=" … "')
                      as "snippet!",
                  count(*) over () as "total!"
           from (select p.id, ts_rank(p.search, q) as rank
                 from posts p, websearch_to_tsquery(search_language(), $1) q
                 where p.kind = 'post' and post_visible(p.status, p.published_at)
                   and p.search @@ q
                 limit $4) candidates
           join posts p using (id), websearch_to_tsquery(search_language(), $1) q
           order by candidates.rank desc, p.published_at desc, p.id desc
           limit $2 offset $3"#,
        query,
        limit,
        offset,
        SEARCH_CANDIDATES
    )
    .fetch_all(db)
    .await
}

/// How many visible posts match (for "12 posts match"), counting no further than `up_to`.
pub async fn search_count(db: &PgPool, query: &str, up_to: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select count(*) as "count!" from (
               select 1 from posts p, websearch_to_tsquery(search_language(), $1) q
               where p.kind = 'post' and post_visible(p.status, p.published_at)
                 and p.search @@ q
               limit $2) matches"#,
        query,
        up_to
    )
    .fetch_one(db)
    .await
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PostCounts {
    pub drafts: i64,
    pub scheduled: i64,
    pub published: i64,
}

/// Posts and pages by state; a scheduled post whose time has come counts as published.
pub async fn counts(db: &PgPool, author_id: Option<i64>) -> Result<PostCounts, sqlx::Error> {
    let row = sqlx::query!(
        r#"select count(*) filter (where post_state(status, published_at) = 'draft') as "drafts!",
                  count(*) filter (where post_state(status, published_at) = 'scheduled') as "scheduled!",
                  count(*) filter (where post_state(status, published_at) = 'published') as "published!"
           from posts
           where $1::bigint is null or author_id = $1"#,
        author_id
    )
    .fetch_one(db)
    .await?;
    Ok(PostCounts {
        drafts: row.drafts,
        scheduled: row.scheduled,
        published: row.published,
    })
}

/// A row of the admin posts list.
#[derive(Debug, Clone)]
pub struct AdminPostRow {
    pub id: i64,
    pub kind: PostKind,
    pub title: String,
    pub path: String,
    pub state: PostState,
    pub published_at: Option<OffsetDateTime>,
    pub updated_at: OffsetDateTime,
    pub author_name: Option<String>,
    pub approved: i64,
    pub pending: i64,
}

/// Posts and pages for the admin list, most recently changed first, by keyset on
/// (updated_at, id), optionally only those in one state.
pub async fn list_admin(
    db: &PgPool,
    state: Option<PostState>,
    title_query: Option<&str>,
    author_id: Option<i64>,
    before: Option<(OffsetDateTime, i64)>,
    limit: i64,
) -> Result<Vec<AdminPostRow>, sqlx::Error> {
    let (before_at, before_id) =
        before.unwrap_or((time::macros::datetime!(9999-12-31 00:00 UTC), i64::MAX));
    sqlx::query_as!(
        AdminPostRow,
        r#"select p.id, p.kind as "kind: PostKind", p.title, p.path,
                  post_state(p.status, p.published_at) as "state!: PostState",
                  p.published_at, p.updated_at,
                  u.display_name as "author_name?",
                  (select count(*) from comments c where c.post_id = p.id and c.status = 'approved') as "approved!",
                  (select count(*) from comments c where c.post_id = p.id and c.status = 'pending') as "pending!"
           from posts p left join users u on u.id = p.author_id
           where ($1::text is null or post_state(p.status, p.published_at) = $1)
             and ($2::text is null or p.title ilike '%' || $2 || '%')
             and ($3::bigint is null or p.author_id = $3)
             and (p.updated_at, p.id) < ($4, $5)
           order by p.updated_at desc, p.id desc
           limit $6"#,
        state.map(PostState::as_str),
        title_query,
        author_id,
        before_at,
        before_id,
        limit
    )
    .fetch_all(db)
    .await
}

/// A post as the editor loads it.
#[derive(Debug, Clone)]
pub struct EditablePost {
    pub id: i64,
    pub kind: PostKind,
    pub path: String,
    pub slug: String,
    pub title: String,
    pub body_source: String,
    pub body_format: BodyFormat,
    pub excerpt: String,
    pub status: PostStatus,
    pub published_at: Option<OffsetDateTime>,
    pub author_id: Option<i64>,
    pub comment_policy: Option<CommentPolicy>,
    pub labels: Vec<String>,
    /// Moves on with every save from the editor.
    pub edit_version: i64,
    pub edited_by: Option<String>,
    /// When the last save from the editor was made (before this column: the last change).
    pub edited_at: OffsetDateTime,
    pub featured_image: String,
}

impl EditablePost {
    /// Where it stands for readers at `now`.
    pub fn state(&self, now: OffsetDateTime) -> PostState {
        PostState::of(self.status, self.published_at, now)
    }
}

pub async fn find_editable(db: &PgPool, id: i64) -> Result<Option<EditablePost>, sqlx::Error> {
    sqlx::query_as!(
        EditablePost,
        r#"select p.id, p.kind as "kind: PostKind", p.path, p.slug, p.title, p.body_source,
                  p.body_format as "body_format: BodyFormat", p.excerpt,
                  p.status as "status: PostStatus", p.published_at, p.author_id,
                  p.comment_policy as "comment_policy: CommentPolicy",
                  array(select l.name from post_labels pl join labels l on l.id = pl.label_id
                        where pl.post_id = p.id order by l.name) as "labels!",
                  p.edit_version, u.display_name as "edited_by?",
                  coalesce(p.edited_at, p.updated_at) as "edited_at!", p.featured_image
           from posts p left join users u on u.id = p.edited_by
           where p.id = $1"#,
        id
    )
    .fetch_optional(db)
    .await
}

pub use crate::domain::post::PostChanges;

/// Another post already lives at that path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathTaken;

/// Why a save wrote nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveRefused {
    PathTaken,
    /// Someone saved the post after the editor was opened from `started_from`.
    Changed,
}

fn is_path_conflict(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.constraint() == Some("posts_path_key"))
}

/// Creates a post with its labels, in one transaction.
pub async fn create(
    db: &PgPool,
    post: &PostChanges,
    author_id: i64,
) -> Result<Result<i64, PathTaken>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let inserted = sqlx::query_scalar!(
        r#"insert into posts (kind, path, slug, title, body_source, body_html, excerpt, status,
                              published_at, author_id, comment_policy, body_format, edited_by,
                              edited_at, featured_image, announce)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $10, now(), $13,
                   -- followers hear of a post written here once it is out
                   case when $1 = 'post' then 'due' else 'no' end)
           returning id"#,
        post.kind as PostKind,
        post.path,
        post.slug,
        post.title,
        post.body_source,
        post.body_html,
        post.excerpt,
        post.status as PostStatus,
        post.published_at,
        author_id,
        post.comment_policy as Option<CommentPolicy>,
        post.body_format as BodyFormat,
        post.featured_image
    )
    .fetch_one(&mut *tx)
    .await;
    let id = match inserted {
        Ok(id) => id,
        Err(error) if is_path_conflict(&error) => return Ok(Err(PathTaken)),
        Err(error) => return Err(error),
    };
    write_labels(&mut tx, id, &post.labels).await?;
    // What the author autosaved while starting it is this post now.
    let slot = super::autosaves::Slot {
        post_id: None,
        kind: post.kind,
        user_id: author_id,
    };
    super::autosaves::discard(&mut *tx, slot).await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// Saves a post: the version it replaces becomes a revision, a published post that moves
/// leaves a redirect at its old path, and the labels are replaced. All or nothing. A save that
/// started from an older `edit_version` than the post's writes nothing (no silent overwrite);
/// `started_from: None` saves whatever is there (restoring a revision).
pub async fn update(
    db: &PgPool,
    id: i64,
    post: &PostChanges,
    saved_by: i64,
    started_from: Option<i64>,
) -> Result<Result<(), SaveRefused>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let before = sqlx::query!(
        r#"select path, status as "status: PostStatus", published_at, edit_version
           from posts where id = $1 for update"#,
        id
    )
    .fetch_one(&mut *tx)
    .await?;
    if started_from.is_some_and(|version| version != before.edit_version) {
        return Ok(Err(SaveRefused::Changed));
    }
    sqlx::query!(
        r#"insert into post_revisions (post_id, title, slug, body_source, excerpt, labels, saved_by)
           select p.id, p.title, p.slug, p.body_source, p.excerpt,
                  coalesce((select string_agg(l.name, ', ' order by l.name)
                            from post_labels pl join labels l on l.id = pl.label_id
                            where pl.post_id = p.id), ''),
                  $2
           from posts p where p.id = $1"#,
        id,
        saved_by
    )
    .execute(&mut *tx)
    .await?;
    let updated = sqlx::query!(
        r#"update posts set kind = $2, path = $3, slug = $4, title = $5, body_source = $6,
                            body_html = $7, excerpt = $8, status = $9, published_at = $10,
                            comment_policy = $11, body_format = $12,
                            edit_version = edit_version + 1, edited_by = $13,
                            edited_at = now(), featured_image = $14
           where id = $1"#,
        id,
        post.kind as PostKind,
        post.path,
        post.slug,
        post.title,
        post.body_source,
        post.body_html,
        post.excerpt,
        post.status as PostStatus,
        post.published_at,
        post.comment_policy as Option<CommentPolicy>,
        post.body_format as BodyFormat,
        saved_by,
        post.featured_image
    )
    .execute(&mut *tx)
    .await;
    match updated {
        Ok(_) => {}
        Err(error) if is_path_conflict(&error) => return Ok(Err(SaveRefused::PathTaken)),
        Err(error) => return Err(error),
    }
    let was_public = PostState::of(
        before.status,
        before.published_at,
        OffsetDateTime::now_utc(),
    )
    .is_visible();
    // The new path is the post's own now; an old redirect from it would shadow nothing.
    sqlx::query!(r#"delete from redirects where old_path = $1"#, post.path)
        .execute(&mut *tx)
        .await?;
    if was_public && before.path != post.path {
        sqlx::query!(
            r#"insert into redirects (old_path, post_id) values ($1, $2)
               on conflict (old_path) do update set post_id = excluded.post_id"#,
            before.path,
            id
        )
        .execute(&mut *tx)
        .await?;
    }
    write_labels(&mut tx, id, &post.labels).await?;
    // A save from the editor is what its autosaved text was waiting for (a revision restored
    // is not: the editor's unsaved text stays on offer).
    if started_from.is_some() {
        let slot = super::autosaves::Slot {
            post_id: Some(id),
            kind: post.kind,
            user_id: saved_by,
        };
        super::autosaves::discard(&mut *tx, slot).await?;
    }
    tx.commit().await?;
    Ok(Ok(()))
}

async fn write_labels(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    post_id: i64,
    names: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"insert into labels (name) select unnest($1::text[]) on conflict (name) do nothing"#,
        names
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(r#"delete from post_labels where post_id = $1"#, post_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query!(
        r#"insert into post_labels (post_id, label_id) select $1, id from labels where name = any($2)"#,
        post_id,
        names
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Every label name, for the editor's suggestions.
pub async fn all_label_names(db: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(r#"select name from labels order by lower(name)"#)
        .fetch_all(db)
        .await
}

#[derive(Debug, Clone)]
pub struct Revision {
    pub id: i64,
    pub post_id: i64,
    pub title: String,
    pub slug: String,
    pub body_source: String,
    pub excerpt: String,
    pub labels: String,
    pub saved_by: Option<String>,
    pub created_at: OffsetDateTime,
}

pub async fn revisions(db: &PgPool, post_id: i64) -> Result<Vec<Revision>, sqlx::Error> {
    sqlx::query_as!(
        Revision,
        r#"select r.id, r.post_id, r.title, r.slug, r.body_source, r.excerpt, r.labels,
                  u.display_name as "saved_by?", r.created_at
           from post_revisions r left join users u on u.id = r.saved_by
           where r.post_id = $1
           order by r.created_at desc, r.id desc"#,
        post_id
    )
    .fetch_all(db)
    .await
}

/// How many earlier versions a post has (the editor shows the number, not the versions).
pub async fn revision_count(db: &PgPool, post_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select count(*) as "count!" from post_revisions where post_id = $1"#,
        post_id
    )
    .fetch_one(db)
    .await
}

pub async fn revision(
    db: &PgPool,
    post_id: i64,
    revision_id: i64,
) -> Result<Option<Revision>, sqlx::Error> {
    sqlx::query_as!(
        Revision,
        r#"select r.id, r.post_id, r.title, r.slug, r.body_source, r.excerpt, r.labels,
                  u.display_name as "saved_by?", r.created_at
           from post_revisions r left join users u on u.id = r.saved_by
           where r.post_id = $1 and r.id = $2"#,
        post_id,
        revision_id
    )
    .fetch_optional(db)
    .await
}

/// A post body that shows the blog's images.
pub struct BodyWithMedia {
    pub id: i64,
    pub body_source: String,
    pub body_format: BodyFormat,
    pub body_html: String,
}

/// The posts and pages whose text shows one of the blog's images.
pub async fn bodies_with_media(db: &PgPool) -> Result<Vec<BodyWithMedia>, sqlx::Error> {
    sqlx::query_as!(
        BodyWithMedia,
        r#"select id, body_source, body_format as "body_format: BodyFormat", body_html
           from posts where strpos(body_source, '/media/') > 0 order by id"#
    )
    .fetch_all(db)
    .await
}

/// Replaces a body's HTML, rendered again from `body_source`; nothing is written if the source
/// has changed since (a save in between wins). Not an edit: the editor's version stays.
pub async fn set_body_html(
    db: &PgPool,
    id: i64,
    body_source: &str,
    body_html: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"update posts set body_html = $3
           where id = $1 and body_source = $2 and body_html <> $3"#,
        id,
        body_source,
        body_html
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Holds, until `conn`'s transaction ends, the lock that lets one process at a time do the
/// work named `what` over posts (telling followers, sending Webmentions, announcing by mail).
/// Waited for, not skipped: the holder is done in moments.
pub async fn serialise_workers(conn: &mut PgConnection, what: &str) -> Result<(), sqlx::Error> {
    sqlx::query("select pg_advisory_xact_lock(hashtextextended('folio-posts-worker:' || $1, 0))")
        .bind(what)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
