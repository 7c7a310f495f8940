//! What feeds and sitemaps list.

use sqlx::PgPool;
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct FeedPost {
    pub id: i64,
    pub path: String,
    pub title: String,
    pub body_html: String,
    pub excerpt: String,
    pub published_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub author_name: Option<String>,
    pub labels: Vec<String>,
}

/// Newest visible posts (optionally with one label), `limit` of them after skipping `offset`.
pub async fn posts(
    db: &PgPool,
    label_id: Option<i64>,
    limit: i64,
    offset: i64,
) -> Result<Vec<FeedPost>, sqlx::Error> {
    sqlx::query_as!(
        FeedPost,
        r#"select p.id, p.path, p.title, p.body_html, p.excerpt,
                  p.published_at as "published_at!", p.updated_at,
                  u.display_name as "author_name?",
                  array(select l.name from post_labels pl join labels l on l.id = pl.label_id
                        where pl.post_id = p.id order by l.name) as "labels!"
           from posts p left join users u on u.id = p.author_id
           where p.kind = 'post' and post_visible(p.status, p.published_at)
             and ($1::bigint is null
                  or exists (select 1 from post_labels pl where pl.post_id = p.id and pl.label_id = $1))
           order by p.published_at desc, p.id desc
           limit $2 offset $3"#,
        label_id,
        limit,
        offset
    )
    .fetch_all(db)
    .await
}

#[derive(Debug, Clone)]
pub struct FeedComment {
    pub id: i64,
    pub post_id: i64,
    pub post_path: String,
    pub post_title: String,
    pub author_name: String,
    pub author_url: Option<String>,
    pub body_html: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// Newest approved comments on visible posts (all, or one post's).
pub async fn comments(
    db: &PgPool,
    post_id: Option<i64>,
    limit: i64,
) -> Result<Vec<FeedComment>, sqlx::Error> {
    sqlx::query_as!(
        FeedComment,
        r#"select c.id, c.post_id, p.path as post_path, p.title as post_title, c.author_name,
                  c.author_url, c.body_html, c.created_at, c.updated_at
           from comments c join posts p on p.id = c.post_id
           where c.status = 'approved'
             and post_visible(p.status, p.published_at)
             and ($1::bigint is null or c.post_id = $1)
           order by c.created_at desc, c.id desc
           limit $2"#,
        post_id,
        limit
    )
    .fetch_all(db)
    .await
}

/// Whether a visible post (not a page) has this id, and its title and path.
pub async fn visible_post(
    db: &PgPool,
    post_id: i64,
) -> Result<Option<(String, String)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select title, path from posts
           where id = $1 and kind = 'post' and post_visible(status, published_at)"#,
        post_id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| (r.title, r.path)))
}

#[derive(Debug, Clone)]
pub struct SitemapUrl {
    /// A path (posts, pages) or a label name (labels).
    pub location: String,
    pub is_label: bool,
    pub last_modified: OffsetDateTime,
}

/// How many URLs the sitemap holds: visible posts and pages, and labels in use.
pub async fn sitemap_size(db: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select (select count(*) from posts
                   where post_visible(status, published_at))
                + (select count(distinct pl.label_id) from post_labels pl join posts p on p.id = pl.post_id
                   where post_visible(p.status, p.published_at)) as "count!""#
    )
    .fetch_one(db)
    .await
}

/// One slice of the sitemap, in a stable order: posts and pages by id, then labels by name.
pub async fn sitemap_urls(
    db: &PgPool,
    limit: i64,
    offset: i64,
) -> Result<Vec<SitemapUrl>, sqlx::Error> {
    sqlx::query_as!(
        SitemapUrl,
        r#"select location as "location!", is_label as "is_label!", last_modified as "last_modified!"
           from (
               select 0 as part, p.id as ord, '' as name, p.path as location, false as is_label,
                      p.updated_at as last_modified
               from posts p where post_visible(p.status, p.published_at)
               union all
               select 1, 0, l.name, l.name, true, max(p.updated_at)
               from labels l join post_labels pl on pl.label_id = l.id join posts p on p.id = pl.post_id
               where post_visible(p.status, p.published_at)
               group by l.name
           ) urls
           order by part, ord, name
           limit $1 offset $2"#,
        limit,
        offset
    )
    .fetch_all(db)
    .await
}
