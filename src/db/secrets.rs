use sqlx::PgPool;

/// The named secret, created from `generate` on first use. Safe when several processes start
/// at once: the first insert wins and everyone reads that one.
pub async fn load_or_create(
    db: &PgPool,
    name: &str,
    generate: impl FnOnce() -> Vec<u8>,
) -> Result<Vec<u8>, sqlx::Error> {
    keep_first(db, name, &generate()).await
}

/// The named secret, if there is one yet.
pub async fn get(db: &PgPool, name: &str) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar!(r#"select value from secrets where name = $1"#, name)
        .fetch_optional(db)
        .await
}

/// Stores `value` unless the secret exists, and answers the one stored (the first writer's,
/// when several processes make it at once).
pub async fn keep_first(db: &PgPool, name: &str, value: &[u8]) -> Result<Vec<u8>, sqlx::Error> {
    sqlx::query!(
        r#"insert into secrets (name, value) values ($1, $2) on conflict (name) do nothing"#,
        name,
        value
    )
    .execute(db)
    .await?;
    sqlx::query_scalar!(r#"select value from secrets where name = $1"#, name)
        .fetch_one(db)
        .await
}
