//! Reading the whole blog out, a page of posts at a time, from one snapshot.

use sqlx::PgConnection;
use time::OffsetDateTime;

use crate::domain::{
    comment::{CommentFormat, CommentPolicy, CommentStatus},
    post::{BodyFormat, PostKind, PostState},
};

#[derive(Debug, Clone)]
pub struct ExportPost {
    pub id: i64,
    pub kind: PostKind,
    pub path: String,
    pub slug: String,
    pub title: String,
    pub body_source: String,
    pub body_format: BodyFormat,
    pub body_html: String,
    pub excerpt: String,
    /// As of the snapshot: a post scheduled then leaves as scheduled.
    pub state: PostState,
    pub published_at: Option<OffsetDateTime>,
    pub published_offset: Option<i32>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub comment_policy: Option<CommentPolicy>,
    pub featured_image: String,
    pub source_id: Option<String>,
    pub author_id: Option<i64>,
    pub author_name: Option<String>,
    pub author_email: Option<String>,
    pub labels: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ExportComment {
    pub id: i64,
    pub post_id: i64,
    pub parent_id: Option<i64>,
    pub author_name: String,
    pub author_email: Option<String>,
    pub author_url: Option<String>,
    pub body_source: String,
    pub body_format: CommentFormat,
    pub body_html: String,
    pub status: CommentStatus,
    pub created_at: OffsetDateTime,
    pub created_offset: Option<i32>,
    pub updated_at: OffsetDateTime,
    pub source_id: Option<String>,
    pub parent_source_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ExportAuthor {
    pub id: i64,
    pub display_name: String,
    pub email: String,
}

/// A snapshot: every page read after this sees the blog as it was at this moment.
pub async fn snapshot(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("set transaction isolation level repeatable read, read only")
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn posts_after(
    conn: &mut PgConnection,
    after_id: i64,
    limit: i64,
) -> Result<Vec<ExportPost>, sqlx::Error> {
    sqlx::query_as!(
        ExportPost,
        r#"select p.id, p.kind as "kind: PostKind", p.path, p.slug, p.title, p.body_source,
                  p.body_format as "body_format: BodyFormat", p.body_html, p.excerpt,
                  post_state(p.status, p.published_at) as "state!: PostState", p.published_at, p.published_offset, p.created_at,
                  p.updated_at, p.comment_policy as "comment_policy: CommentPolicy",
                  p.featured_image, p.source_id, p.author_id,
                  u.display_name as "author_name?", u.email as "author_email?",
                  array(select l.name from post_labels pl join labels l on l.id = pl.label_id
                        where pl.post_id = p.id order by l.name) as "labels!"
           from posts p left join users u on u.id = p.author_id
           where p.id > $1
           order by p.id
           limit $2"#,
        after_id,
        limit
    )
    .fetch_all(conn)
    .await
}

/// Every comment on these posts (any status), oldest first.
pub async fn comments_of(
    conn: &mut PgConnection,
    post_ids: &[i64],
) -> Result<Vec<ExportComment>, sqlx::Error> {
    sqlx::query_as!(
        ExportComment,
        r#"select c.id, c.post_id, c.parent_id, c.author_name, c.author_email, c.author_url,
                  c.body_source, c.body_format as "body_format: CommentFormat", c.body_html,
                  c.status as "status: CommentStatus", c.created_at,
                  c.created_offset, c.updated_at, c.source_id,
                  p.source_id as "parent_source_id?"
           from comments c left join comments p on p.id = c.parent_id
           where c.post_id = any($1)
           order by c.post_id, c.created_at, c.id"#,
        post_ids
    )
    .fetch_all(conn)
    .await
}

/// The people who wrote posts.
pub async fn authors(conn: &mut PgConnection) -> Result<Vec<ExportAuthor>, sqlx::Error> {
    sqlx::query_as!(
        ExportAuthor,
        r#"select u.id, u.display_name, u.email from users u
           where exists (select 1 from posts p where p.author_id = u.id)
           order by u.id"#
    )
    .fetch_all(conn)
    .await
}

pub async fn labels(conn: &mut PgConnection) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(r#"select name from labels order by name"#)
        .fetch_all(conn)
        .await
}
