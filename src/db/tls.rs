//! HTTPS's rows (migration 0022): the ACME account per directory, the certificate per set of
//! names with its renewal's state, and the HTTP-01 challenges in flight.

use sqlx::{PgExecutor, PgPool};
use time::OffsetDateTime;

/// A set of names' row: its certificate once there is one, and how renewing it goes.
#[derive(Debug, Clone, Default)]
pub struct Certificate {
    pub chain_pem: Option<String>,
    pub key_pem: Option<String>,
    pub issuer: Option<String>,
    pub not_before: Option<OffsetDateTime>,
    pub not_after: Option<OffsetDateTime>,
    pub obtained_at: Option<OffsetDateTime>,
    pub failures: i32,
    pub last_error: Option<String>,
    pub last_error_at: Option<OffsetDateTime>,
    pub next_attempt_at: Option<OffsetDateTime>,
    pub warned_at: Option<OffsetDateTime>,
}

/// A certificate just obtained, with what is read from it.
#[derive(Debug)]
pub struct Obtained<'a> {
    pub chain_pem: &'a str,
    pub key_pem: &'a str,
    pub issuer: &'a str,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

pub async fn certificate(
    db: impl PgExecutor<'_>,
    names: &str,
) -> Result<Option<Certificate>, sqlx::Error> {
    sqlx::query_as!(
        Certificate,
        "select chain_pem, key_pem, issuer, not_before, not_after, obtained_at, failures,
                last_error, last_error_at, next_attempt_at, warned_at
         from tls_certificates where names = $1",
        names
    )
    .fetch_optional(db)
    .await
}

/// Keeps a new certificate and clears the failures before it.
pub async fn store_certificate(
    db: impl PgExecutor<'_>,
    names: &str,
    certificate: &Obtained<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into tls_certificates
             (names, chain_pem, key_pem, issuer, not_before, not_after, obtained_at)
         values ($1, $2, $3, $4, $5, $6, now())
         on conflict (names) do update set
             chain_pem = excluded.chain_pem, key_pem = excluded.key_pem,
             issuer = excluded.issuer, not_before = excluded.not_before,
             not_after = excluded.not_after, obtained_at = excluded.obtained_at,
             failures = 0, last_error = null, last_error_at = null, next_attempt_at = null,
             warned_at = null",
        names,
        certificate.chain_pem,
        certificate.key_pem,
        certificate.issuer,
        certificate.not_before,
        certificate.not_after,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Counts a failed attempt; returns the failures in a row, this one included.
pub async fn record_failure(
    db: impl PgExecutor<'_>,
    names: &str,
    error: &str,
    next_attempt_at: OffsetDateTime,
) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into tls_certificates (names, failures, last_error, last_error_at, next_attempt_at)
         values ($1, 1, $2, now(), $3)
         on conflict (names) do update set
             failures = tls_certificates.failures + 1, last_error = excluded.last_error,
             last_error_at = excluded.last_error_at,
             next_attempt_at = excluded.next_attempt_at
         returning failures",
        names,
        error,
        next_attempt_at,
    )
    .fetch_one(db)
    .await
}

pub async fn mark_warned(db: impl PgExecutor<'_>, names: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update tls_certificates set warned_at = now() where names = $1",
        names
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The account's credentials (instant-acme's JSON) for `directory`.
pub async fn account(
    db: impl PgExecutor<'_>,
    directory: &str,
) -> Result<Option<serde_json::Value>, sqlx::Error> {
    sqlx::query_scalar!(
        "select credentials from acme_accounts where directory = $1",
        directory
    )
    .fetch_optional(db)
    .await
}

pub async fn store_account(
    db: impl PgExecutor<'_>,
    directory: &str,
    credentials: &serde_json::Value,
    email: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into acme_accounts (directory, credentials, email) values ($1, $2, $3)
         on conflict (directory) do update set
             credentials = excluded.credentials, email = excluded.email",
        directory,
        credentials,
        email
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn put_challenge(
    db: impl PgExecutor<'_>,
    token: &str,
    key_authorization: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into acme_challenges (token, key_authorization) values ($1, $2)
         on conflict (token) do update set key_authorization = excluded.key_authorization",
        token,
        key_authorization
    )
    .execute(db)
    .await?;
    Ok(())
}

/// What the CA expects at `/.well-known/acme-challenge/{token}`.
pub async fn challenge(db: &PgPool, token: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "select key_authorization from acme_challenges where token = $1",
        token
    )
    .fetch_optional(db)
    .await
}

/// Forgets the given challenges, and any left from an attempt that stopped half-way.
pub async fn drop_challenges(
    db: impl PgExecutor<'_>,
    tokens: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "delete from acme_challenges
         where token = any($1) or created_at < now() - interval '1 day'",
        tokens
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Holds the names' renewal lock for the transaction: one process at a time asks the CA.
pub async fn lock_renewal(db: impl PgExecutor<'_>, names: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "select pg_advisory_xact_lock(hashtextextended('folio-tls:' || $1, 0))",
        names
    )
    .fetch_one(db)
    .await?;
    Ok(())
}
