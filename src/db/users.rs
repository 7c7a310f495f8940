use sqlx::PgPool;

/// Creates a user who cannot log in (no password), or renames the one with that email.
pub async fn upsert_without_login(
    db: &PgPool,
    email: &str,
    display_name: &str,
    role: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"insert into users (email, display_name, role) values ($1, $2, $3)
           on conflict (lower(email)) do update set display_name = excluded.display_name
           returning id"#,
        email,
        display_name,
        role
    )
    .fetch_one(db)
    .await
}
