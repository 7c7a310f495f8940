//! Uploaded images, kept in the database so that app servers stay stateless.

use sqlx::PgPool;
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct MediaFile {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct MediaRow {
    pub hash: String,
    pub content_type: String,
    pub size_bytes: i32,
    pub uploaded_by: Option<String>,
    pub created_at: OffsetDateTime,
}

/// Stores an image under its hash; the same bytes uploaded twice are kept once.
pub async fn store(
    db: &PgPool,
    hash: &str,
    content_type: &str,
    bytes: &[u8],
    uploaded_by: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"insert into media (hash, content_type, size_bytes, bytes, uploaded_by)
           values ($1, $2, $3, $4, $5)
           on conflict (hash) do nothing"#,
        hash,
        content_type,
        bytes.len() as i32,
        bytes,
        uploaded_by
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn find(db: &PgPool, hash: &str) -> Result<Option<MediaFile>, sqlx::Error> {
    sqlx::query_as!(
        MediaFile,
        r#"select content_type, bytes from media where hash = $1"#,
        hash
    )
    .fetch_optional(db)
    .await
}

/// An image's type without its bytes: enough to answer a browser that has it already.
pub async fn content_type_of(db: &PgPool, hash: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(r#"select content_type from media where hash = $1"#, hash)
        .fetch_optional(db)
        .await
}

pub async fn recent(db: &PgPool, limit: i64) -> Result<Vec<MediaRow>, sqlx::Error> {
    sqlx::query_as!(
        MediaRow,
        r#"select m.hash, m.content_type, m.size_bytes, u.display_name as "uploaded_by?", m.created_at
           from media m left join users u on u.id = m.uploaded_by
           order by m.created_at desc, m.id desc
           limit $1"#,
        limit
    )
    .fetch_all(db)
    .await
}
