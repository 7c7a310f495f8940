//! What sign-in keeps beyond the password: authenticator secrets, recovery codes, passkeys,
//! WebAuthn ceremonies in progress and sign-ins waiting for their second step.

use sqlx::PgPool;
use time::OffsetDateTime;

/// The second steps a user has set up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SecondSteps {
    pub totp: bool,
    pub passkeys: i64,
    pub recovery_codes_left: i64,
}

impl SecondSteps {
    pub fn any(&self) -> bool {
        self.totp || self.passkeys > 0
    }
}

pub async fn second_steps(db: &PgPool, user_id: i64) -> Result<SecondSteps, sqlx::Error> {
    let row = sqlx::query!(
        r#"select exists (select 1 from totp_secrets
                          where user_id = $1 and confirmed_at is not null) as "totp!",
                  (select count(*) from passkeys where user_id = $1) as "passkeys!",
                  (select count(*) from recovery_codes
                   where user_id = $1 and used_at is null) as "recovery!""#,
        user_id
    )
    .fetch_one(db)
    .await?;
    Ok(SecondSteps {
        totp: row.totp,
        passkeys: row.passkeys,
        recovery_codes_left: row.recovery,
    })
}

/// Each user's second steps, for the admins' Users page: (user, app on, passkeys).
pub async fn second_steps_of_all(db: &PgPool) -> Result<Vec<(i64, bool, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select u.id,
                  exists (select 1 from totp_secrets t
                          where t.user_id = u.id and t.confirmed_at is not null) as "totp!",
                  (select count(*) from passkeys p where p.user_id = u.id) as "passkeys!"
           from users u"#
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.id, r.totp, r.passkeys))
        .collect())
}

/// An admin's help for someone who lost their phone and recovery codes: every second step of
/// theirs goes, and every session with them.
pub async fn remove_all_second_steps(db: &PgPool, user_id: i64) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query!(
        r#"with app as (delete from totp_secrets where user_id = $1),
                codes as (delete from recovery_codes where user_id = $1),
                keys as (delete from passkeys where user_id = $1)
           delete from pending_sign_ins where user_id = $1"#,
        user_id
    )
    .execute(&mut *tx)
    .await?;
    crate::db::sessions::delete_all_for(&mut *tx, user_id).await?;
    tx.commit().await
}

/// The same from the command line (`folio user reset-second-steps`), for a sole admin locked
/// out; false when no user has the address.
pub async fn remove_all_second_steps_of(db: &PgPool, email: &str) -> Result<bool, sqlx::Error> {
    let Some(user) = crate::db::users::find_by_email(db, email).await? else {
        return Ok(false);
    };
    remove_all_second_steps(db, user.id).await?;
    Ok(true)
}

/// A user's authenticator secret, confirmed or still being set up.
#[derive(Debug, Clone)]
pub struct TotpSecret {
    pub secret: Vec<u8>,
    pub confirmed: bool,
}

pub async fn totp_secret(db: &PgPool, user_id: i64) -> Result<Option<TotpSecret>, sqlx::Error> {
    sqlx::query_as!(
        TotpSecret,
        r#"select secret, confirmed_at is not null as "confirmed!"
           from totp_secrets where user_id = $1"#,
        user_id
    )
    .fetch_optional(db)
    .await
}

/// A secret being set up; a confirmed one is never replaced (it is removed first).
pub async fn start_totp(db: &PgPool, user_id: i64, secret: &[u8]) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"insert into totp_secrets (user_id, secret) values ($1, $2)
           on conflict (user_id) do update set secret = excluded.secret, created_at = now()
           where totp_secrets.confirmed_at is null"#,
        user_id,
        secret
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Accepts the code of `step` for the user: once, and never a step before one accepted
/// already (a code seen over a shoulder cannot be used again). `confirm` also finishes a
/// setup in progress.
pub async fn accept_totp_step(
    db: impl sqlx::PgExecutor<'_>,
    user_id: i64,
    step: i64,
    confirm: bool,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"update totp_secrets
           set last_step = $2, confirmed_at = coalesce(confirmed_at, now())
           where user_id = $1 and last_step < $2
             and (confirmed_at is not null or $3)"#,
        user_id,
        step,
        confirm
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Turns authenticator codes off, with the recovery codes that went with them.
pub async fn remove_totp(db: &PgPool, user_id: i64) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query!(r#"delete from totp_secrets where user_id = $1"#, user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query!(r#"delete from recovery_codes where user_id = $1"#, user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// A new set of recovery codes: the old ones stop working.
pub async fn replace_recovery_codes(
    db: impl sqlx::PgExecutor<'_>,
    user_id: i64,
    hashes: &[Vec<u8>],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"with gone as (delete from recovery_codes where user_id = $1)
           insert into recovery_codes (user_id, code_hash)
           select $1, hash from unnest($2::bytea[]) as hash"#,
        user_id,
        hashes
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Spends a recovery code; false when it is not one of the user's unused codes.
pub async fn use_recovery_code(
    db: &PgPool,
    user_id: i64,
    hash: &[u8],
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"update recovery_codes set used_at = now()
           where user_id = $1 and code_hash = $2 and used_at is null"#,
        user_id,
        hash
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A passkey as the account page lists it.
#[derive(Debug, Clone)]
pub struct PasskeyRow {
    pub id: i64,
    pub name: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
}

pub async fn passkeys(db: &PgPool, user_id: i64) -> Result<Vec<PasskeyRow>, sqlx::Error> {
    sqlx::query_as!(
        PasskeyRow,
        r#"select id, name, created_at, last_used_at from passkeys
           where user_id = $1 order by created_at"#,
        user_id
    )
    .fetch_all(db)
    .await
}

/// The user's stored passkeys (webauthn-rs JSON), to list as allowed or excluded credentials.
pub async fn passkey_data(
    db: &PgPool,
    user_id: i64,
) -> Result<Vec<serde_json::Value>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select passkey from passkeys where user_id = $1 order by created_at"#,
        user_id
    )
    .fetch_all(db)
    .await
}

/// Stores a new passkey; false when that credential is registered already (to anyone).
pub async fn add_passkey(
    db: &PgPool,
    user_id: i64,
    credential_id: &[u8],
    name: &str,
    passkey: &serde_json::Value,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let done = sqlx::query!(
        r#"insert into passkeys (user_id, credential_id, name, passkey) values ($1, $2, $3, $4)
           on conflict (credential_id) do nothing"#,
        user_id,
        credential_id,
        name,
        passkey
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}

/// A passkey found by the credential a browser answered with.
#[derive(Debug, Clone)]
pub struct FoundPasskey {
    pub id: i64,
    pub user_id: i64,
    /// The owner's WebAuthn user handle, which the answer must carry too.
    pub webauthn_id: String,
    pub passkey: serde_json::Value,
}

pub async fn passkey_by_credential(
    db: &PgPool,
    credential_id: &[u8],
) -> Result<Option<FoundPasskey>, sqlx::Error> {
    sqlx::query_as!(
        FoundPasskey,
        r#"select p.id, p.user_id, u.webauthn_id::text as "webauthn_id!", p.passkey
           from passkeys p join users u on u.id = p.user_id
           where p.credential_id = $1 and not u.disabled"#,
        credential_id
    )
    .fetch_optional(db)
    .await
}

/// A sign-in with the passkey: its counter and backup state as updated by webauthn-rs.
pub async fn passkey_used(
    db: &PgPool,
    id: i64,
    passkey: &serde_json::Value,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"update passkeys set passkey = $2, last_used_at = now() where id = $1"#,
        id,
        passkey
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn remove_passkey(db: &PgPool, user_id: i64, id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"delete from passkeys where user_id = $1 and id = $2"#,
        user_id,
        id
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn webauthn_id(db: &PgPool, user_id: i64) -> Result<String, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select webauthn_id::text as "id!" from users where id = $1"#,
        user_id
    )
    .fetch_one(db)
    .await
}

/// Passkey sign-ins that name nobody yet (anyone may start one) in progress at once, per
/// client and blog-wide: a flood of starts must neither fill the table nor crowd out the
/// others. Ceremonies for a known user (a registration, a second step) are not counted here:
/// they need a session or a right password already.
const ANONYMOUS_PER_CLIENT: i64 = 20;
const ANONYMOUS_IN_ALL: i64 = 10_000;

/// Keeps a ceremony's state until its finish; false when too many are in progress.
pub async fn start_ceremony(
    db: &PgPool,
    token_hash: &[u8],
    purpose: &str,
    user_id: Option<i64>,
    client_hash: Option<&str>,
    state: &serde_json::Value,
    seconds: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"insert into webauthn_ceremonies
               (token_hash, purpose, user_id, client_hash, state, expires_at)
           select $1, $2, $3, $4, $5, now() + make_interval(secs => $6)
           where $3::bigint is not null
              or ((select count(*) from webauthn_ceremonies
                   where user_id is null and client_hash is not distinct from $4
                     and expires_at > now()) < $7
                  and (select count(*) from webauthn_ceremonies
                       where user_id is null and expires_at > now()) < $8)"#,
        token_hash,
        purpose,
        user_id,
        client_hash,
        state,
        seconds as f64,
        ANONYMOUS_PER_CLIENT,
        ANONYMOUS_IN_ALL
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A ceremony's state, taken (it cannot finish twice), if it is live and for `purpose`.
pub async fn take_ceremony(
    db: &PgPool,
    token_hash: &[u8],
    purpose: &str,
) -> Result<Option<(Option<i64>, serde_json::Value)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"delete from webauthn_ceremonies where token_hash = $1
           returning purpose, user_id, state, expires_at > now() as "live!""#,
        token_hash
    )
    .fetch_optional(db)
    .await?;
    Ok(row
        .filter(|r| r.live && r.purpose == purpose)
        .map(|r| (r.user_id, r.state)))
}

/// A sign-in whose password was right, waiting for its second step.
#[derive(Debug, Clone)]
pub struct PendingSignIn {
    pub user_id: i64,
    pub next: String,
}

/// How long the second step may take, and how many wrong codes end it.
pub const PENDING_MINUTES: i64 = 10;
pub const PENDING_FAILURES: i32 = 5;

pub async fn start_pending(
    db: &PgPool,
    token_hash: &[u8],
    user_id: i64,
    next: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"insert into pending_sign_ins (token_hash, user_id, next, expires_at)
           values ($1, $2, $3, now() + make_interval(mins => $4))"#,
        token_hash,
        user_id,
        next,
        PENDING_MINUTES as i32
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn pending(db: &PgPool, token_hash: &[u8]) -> Result<Option<PendingSignIn>, sqlx::Error> {
    sqlx::query_as!(
        PendingSignIn,
        r#"select p.user_id, p.next from pending_sign_ins p join users u on u.id = p.user_id
           where p.token_hash = $1 and p.expires_at > now() and p.failures < $2
             and not u.disabled"#,
        token_hash,
        PENDING_FAILURES
    )
    .fetch_optional(db)
    .await
}

/// Counts a wrong code; returns how many tries are left (0: the sign-in is over).
pub async fn pending_failed(db: &PgPool, token_hash: &[u8]) -> Result<i32, sqlx::Error> {
    let failures = sqlx::query_scalar!(
        r#"update pending_sign_ins set failures = failures + 1 where token_hash = $1
           returning failures"#,
        token_hash
    )
    .fetch_optional(db)
    .await?
    .unwrap_or(PENDING_FAILURES);
    Ok((PENDING_FAILURES - failures).max(0))
}

/// The second step is done (or abandoned): the pending sign-in cannot be used again.
pub async fn end_pending(db: &PgPool, token_hash: &[u8]) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"delete from pending_sign_ins where token_hash = $1"#,
        token_hash
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}
