use sqlx::PgPool;

/// The named secret, created from `generate` on first use. Safe when several processes start
/// at once: the first insert wins and everyone reads that one.
pub async fn load_or_create(
    db: &PgPool,
    name: &str,
    generate: impl FnOnce() -> Vec<u8>,
) -> Result<Vec<u8>, sqlx::Error> {
    sqlx::query!(
        r#"insert into secrets (name, value) values ($1, $2) on conflict (name) do nothing"#,
        name,
        generate()
    )
    .execute(db)
    .await?;
    sqlx::query_scalar!(r#"select value from secrets where name = $1"#, name)
        .fetch_one(db)
        .await
}
