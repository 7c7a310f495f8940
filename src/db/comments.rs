use sqlx::PgPool;
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct CommentRow {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub author_name: String,
    pub author_url: Option<String>,
    pub body_html: String,
    pub created_at: OffsetDateTime,
}

/// A post's approved comments, oldest first.
pub async fn approved_for_post(db: &PgPool, post_id: i64) -> Result<Vec<CommentRow>, sqlx::Error> {
    sqlx::query_as!(
        CommentRow,
        r#"select id, parent_id, author_name, author_url, body_html, created_at
           from comments
           where post_id = $1 and status = 'approved'
           order by created_at, id"#,
        post_id
    )
    .fetch_all(db)
    .await
}

#[derive(Debug, Clone)]
pub struct NewComment {
    pub post_id: i64,
    pub parent_id: Option<i64>,
    pub author_name: String,
    pub author_email: Option<String>,
    pub author_url: Option<String>,
    pub body_source: String,
    pub body_html: String,
    pub status: String,
    pub created_at: OffsetDateTime,
}

pub async fn insert(db: &PgPool, comment: &NewComment) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"insert into comments (post_id, parent_id, author_name, author_email, author_url,
                                 body_source, body_html, status, created_at)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           returning id"#,
        comment.post_id,
        comment.parent_id,
        comment.author_name,
        comment.author_email,
        comment.author_url,
        comment.body_source,
        comment.body_html,
        comment.status,
        comment.created_at
    )
    .fetch_one(db)
    .await
}
