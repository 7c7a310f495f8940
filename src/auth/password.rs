//! Argon2id password hashes (OWASP's parameters, the crate's defaults), always computed on the
//! blocking pool so that a login never stalls the async workers.

use std::sync::LazyLock;

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};

pub const MIN_LENGTH: usize = 10;

/// A hash to check against when the email is unknown, so that both cases cost the same time.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    hash_blocking("folio-dummy-password-for-unknown-accounts").expect("argon2 hashes")
});

fn hash_blocking(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Hashes at once, at most as many as there are cores: each takes 19 MiB and a core for a
/// moment, and a burst of logins must queue here rather than take gigabytes of memory.
static HASHING: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    tokio::sync::Semaphore::new(cores.max(1))
});

pub async fn hash(password: String) -> anyhow::Result<String> {
    let _turn = HASHING.acquire().await?;
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await?
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

/// Whether `password` matches `stored`; with no stored hash the work is done all the same.
pub async fn verify(password: String, stored: Option<String>) -> anyhow::Result<bool> {
    let _turn = HASHING.acquire().await?;
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| DUMMY_HASH.clone());
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        known && matches
    })
    .await
    .map_err(Into::into)
}

/// Why a new password is not acceptable, if it is not.
pub fn problem(password: &str) -> Option<String> {
    if password.chars().count() < MIN_LENGTH {
        Some(format!("Use at least {MIN_LENGTH} characters"))
    } else if password.len() > 1_024 {
        Some("Use at most 1,024 characters".to_owned())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_unknown_accounts_never_match() {
        let stored = hash("correct horse battery".into()).await.unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(
            verify("correct horse battery".into(), Some(stored.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify("wrong horse battery".into(), Some(stored))
                .await
                .unwrap()
        );
        assert!(
            !verify("folio-dummy-password-for-unknown-accounts".into(), None)
                .await
                .unwrap()
        );
        assert_eq!(
            problem("short").as_deref(),
            Some("Use at least 10 characters")
        );
        assert_eq!(problem("long enough now"), None);
    }
}
