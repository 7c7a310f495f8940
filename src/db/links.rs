//! Single-use email links: a used link's digest is kept until the link would have expired.

use sqlx::PgExecutor;
use time::OffsetDateTime;

/// Marks the link used; false when it already was. Call it in the transaction that does what
/// the link asks, so a link whose action failed stays usable.
pub async fn use_once(
    db: impl PgExecutor<'_>,
    digest: &[u8],
    expires_at: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query!(
        r#"with swept as (delete from used_mail_links where expires_at < now())
           insert into used_mail_links (digest, expires_at) values ($1, $2)
           on conflict (digest) do nothing"#,
        digest,
        expires_at
    )
    .execute(db)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Whether the link was used already (a page showing what it would do says so).
pub async fn was_used(db: impl PgExecutor<'_>, digest: &[u8]) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from used_mail_links where digest = $1) as "used!""#,
        digest
    )
    .fetch_one(db)
    .await
}
