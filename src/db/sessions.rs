use sqlx::PgPool;

use super::users::User;

/// A live session with its user.
#[derive(Debug, Clone)]
pub struct SessionUser {
    /// The session's public number (the account page's list names it).
    pub id: i64,
    pub user: User,
    pub csrf_token: String,
    /// The session's own key, to tell it from the user's other sessions.
    pub token_hash: Vec<u8>,
    /// The blog requires a second step of this user's role and they have none yet: the
    /// session reaches the account page (to add one) and nothing else. Decided on every
    /// request, so a rule turned on, a promotion or a removed passkey applies at once.
    pub must_add_second_step: bool,
}

/// A session about to start, with what its owner will recognise it by.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub token_hash: &'a [u8],
    pub user_id: i64,
    pub csrf_token: &'a str,
    pub idle_days: i64,
    pub user_agent: &'a str,
    pub client_address: &'a str,
}

pub async fn create(db: &PgPool, session: &NewSession<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"insert into sessions (token_hash, user_id, csrf_token, expires_at, user_agent,
                                 client_address)
           values ($1, $2, $3, now() + make_interval(days => $4), $5, $6)"#,
        session.token_hash,
        session.user_id,
        session.csrf_token,
        session.idle_days as i32,
        session.user_agent,
        session.client_address
    )
    .execute(db)
    .await?;
    Ok(())
}

/// One of a user's live sessions, as the account page lists it.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: i64,
    pub user_agent: String,
    pub client_address: String,
    pub created_at: time::OffsetDateTime,
    pub last_seen_at: time::OffsetDateTime,
    pub current: bool,
}

/// The user's live sessions, the one asking first, then the most recently seen.
pub async fn list_for(
    db: &PgPool,
    user_id: i64,
    current: &[u8],
) -> Result<Vec<SessionRow>, sqlx::Error> {
    sqlx::query_as!(
        SessionRow,
        r#"select id as "id!", user_agent, client_address, created_at, last_seen_at,
                  token_hash = $2 as "current!"
           from sessions where user_id = $1 and expires_at > now()
           order by token_hash = $2 desc, last_seen_at desc"#,
        user_id,
        current
    )
    .fetch_all(db)
    .await
}

/// Ends one session of the user's own; false when it is not theirs or already over.
pub async fn delete_one_of(db: &PgPool, user_id: i64, id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"delete from sessions where user_id = $1 and id = $2"#,
        user_id,
        id
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
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
           select s.id as "session_id!", u.id, u.email, u.display_name,
                  u.role as "role: crate::domain::role::Role", u.disabled,
                  s.csrf_token,
                  (select require_second_step from settings where id = 1)
                  and u.role in ('editor', 'admin')
                  and not exists (select 1 from totp_secrets t
                                  where t.user_id = u.id and t.confirmed_at is not null)
                  and not exists (select 1 from passkeys p where p.user_id = u.id)
                      as "must_add_second_step!"
           from sessions s join users u on u.id = s.user_id
           where s.token_hash = $1 and s.expires_at > now() and not u.disabled"#,
        token_hash,
        idle_days as i32
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| SessionUser {
        id: r.session_id,
        user: User {
            id: r.id,
            email: r.email,
            display_name: r.display_name,
            role: r.role,
            disabled: r.disabled,
        },
        csrf_token: r.csrf_token,
        token_hash: token_hash.to_vec(),
        must_add_second_step: r.must_add_second_step,
    }))
}

pub async fn delete(db: &PgPool, token_hash: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query!(r#"delete from sessions where token_hash = $1"#, token_hash)
        .execute(db)
        .await?;
    Ok(())
}

/// Ends every session of a user (a password set from a reset link, sign out everywhere), and
/// any sign-in of theirs waiting for its second step.
pub async fn delete_all_for(
    db: impl sqlx::PgExecutor<'_>,
    user_id: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        r#"with pending as (delete from pending_sign_ins where user_id = $1)
           delete from sessions where user_id = $1"#,
        user_id
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Ends every session of a user but `keep` (the one that changed the password), and any
/// sign-in of theirs waiting for its second step (it was started with the old password).
pub async fn delete_others_for(
    db: impl sqlx::PgExecutor<'_>,
    user_id: i64,
    keep: &[u8],
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        r#"with pending as (delete from pending_sign_ins where user_id = $1)
           delete from sessions where user_id = $1 and token_hash <> $2"#,
        user_id,
        keep
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
