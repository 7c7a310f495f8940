use sqlx::PgPool;

use super::users::User;

/// A live session with its user.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub user: User,
    pub csrf_token: String,
    /// The session's own key, to tell it from the user's other sessions.
    pub token_hash: Vec<u8>,
}

pub async fn create(
    db: &PgPool,
    token_hash: &[u8],
    user_id: i64,
    csrf_token: &str,
    idle_days: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"insert into sessions (token_hash, user_id, csrf_token, expires_at)
           values ($1, $2, $3, now() + make_interval(days => $4))"#,
        token_hash,
        user_id,
        csrf_token,
        idle_days as i32
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The session's user if the session is live and the user enabled; each use moves the idle
/// expiry forward (at most once a minute, to spare writes).
pub async fn find(
    db: &PgPool,
    token_hash: &[u8],
    idle_days: i64,
) -> Result<Option<SessionUser>, sqlx::Error> {
    let row = sqlx::query!(
        r#"with live as (
               update sessions set last_seen_at = now(),
                                   expires_at = now() + make_interval(days => $2)
               where token_hash = $1 and expires_at > now()
                 and last_seen_at < now() - interval '1 minute'
               returning token_hash
           )
           select u.id, u.email, u.display_name, u.role, u.disabled, s.csrf_token
           from sessions s join users u on u.id = s.user_id
           where s.token_hash = $1 and s.expires_at > now() and not u.disabled"#,
        token_hash,
        idle_days as i32
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| SessionUser {
        user: User {
            id: r.id,
            email: r.email,
            display_name: r.display_name,
            role: r.role,
            disabled: r.disabled,
        },
        csrf_token: r.csrf_token,
        token_hash: token_hash.to_vec(),
    }))
}

pub async fn delete(db: &PgPool, token_hash: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query!(r#"delete from sessions where token_hash = $1"#, token_hash)
        .execute(db)
        .await?;
    Ok(())
}

/// Ends every session of a user (a password set from a reset link).
pub async fn delete_all_for(
    db: impl sqlx::PgExecutor<'_>,
    user_id: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(r#"delete from sessions where user_id = $1"#, user_id)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}

/// Ends every session of a user but `keep` (the one that changed the password).
pub async fn delete_others_for(
    db: impl sqlx::PgExecutor<'_>,
    user_id: i64,
    keep: &[u8],
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        r#"delete from sessions where user_id = $1 and token_hash <> $2"#,
        user_id,
        keep
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
