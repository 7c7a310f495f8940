//! Certificates from an ACME CA (RFC 8555; Let's Encrypt unless `FOLIO_ACME_DIRECTORY` names
//! another), by instant-acme over the rustls and ring Folio already has.
//!
//! Every process on the database runs this loop, and they share one certificate: the account,
//! the certificate and the HTTP-01 answers are rows, so whichever process the CA reaches answers
//! the challenge; one process at a time asks (a transaction's advisory lock), and one that waited
//! reads what the other got before asking again (as certmagic does). A restart asks nothing
//! while the stored certificate is good. The loop sleeps until the certificate is due (30 days
//! ahead, or a third of a short life), and backs off after a failure (1 minute, doubling, to 6
//! hours) while the old certificate keeps serving; admins are mailed once a day while it fails.

use std::{sync::Arc, time::Duration};

use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount,
    NewOrder, Order, OrderStatus, RetryPolicy,
};
use sqlx::PgPool;
use time::OffsetDateTime;

use super::{AcmeConfig, Https, Trouble, certificate};
use crate::db;

/// The longest the loop sleeps before reading the database again (a clock moved, a row
/// changed by hand).
const LONGEST_SLEEP: Duration = Duration::from_secs(12 * 3600);
/// The first wait after a failure; it doubles with each failure in a row, up to `MOST_BACKOFF`.
const FIRST_BACKOFF: time::Duration = time::Duration::minutes(1);
const MOST_BACKOFF: time::Duration = time::Duration::hours(6);
/// Failures in a row before the admins are told (a blip at the CA is retried in silence).
const WARN_AFTER: i32 = 3;
/// How long one whole order may take (a CA that accepts connections and never answers must not
/// hold the renewal lock for ever).
const ORDER_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// How long the CA may take to check the challenges, and to issue.
const PATIENCE: RetryPolicy = RetryPolicy::new()
    .initial_delay(Duration::from_millis(250))
    .backoff(1.5)
    .timeout(Duration::from_secs(120));

pub use crate::mail::notify::CertificateTrouble as Warning;

/// Where the admins' mail links to (the blog's URL), when mail is on.
pub type Warn = String;

/// Serves the stored certificate, and gets or renews it when due, for as long as the process runs.
pub fn spawn(db: PgPool, https: Arc<Https>, acme: AcmeConfig, warn: Option<Warn>) {
    tokio::spawn(async move {
        let names = https.config.names_key();
        loop {
            let wait = match step(&db, &https, &acme, &names, warn.as_ref()).await {
                Ok(wait) => wait,
                Err(error) => {
                    tracing::warn!(%error, "cannot read the certificate's state; trying again in a minute");
                    Duration::from_secs(60)
                }
            };
            if !wait.is_zero() {
                tokio::time::sleep(wait.min(LONGEST_SLEEP)).await;
            }
        }
    });
}

/// One look: serves what the database holds, asks the CA when that is due; says how long
/// until the next look.
async fn step(
    db: &PgPool,
    https: &Https,
    acme: &AcmeConfig,
    names: &str,
    warn: Option<&Warn>,
) -> Result<Duration, sqlx::Error> {
    let row = db::tls::certificate(db, names).await?.unwrap_or_default();
    let stored = serve_stored(https, &row);
    let due = due_at(stored.as_ref(), &row);
    let now = OffsetDateTime::now_utc();
    if due > now {
        return Ok((due - now).try_into().unwrap_or(LONGEST_SLEEP));
    }
    renew(db, https, acme, names, warn).await?;
    Ok(Duration::ZERO)
}

/// Serves the stored certificate, if there is one, before the first connection is accepted: a
/// restart is served from its first handshake.
pub async fn serve_stored_now(db: &PgPool, https: &Https) -> Result<(), sqlx::Error> {
    if let Some(row) = db::tls::certificate(db, &https.config.names_key()).await? {
        serve_stored(https, &row);
    }
    Ok(())
}

/// The row's certificate, ready to serve; none when it has none or it cannot be served.
fn stored(row: &db::tls::Certificate) -> Option<certificate::Loaded> {
    let (chain, key) = row.chain_pem.as_deref().zip(row.key_pem.as_deref())?;
    certificate::load(chain.as_bytes(), key.as_bytes())
        .inspect_err(|error| {
            tracing::error!(%error, "the stored certificate cannot be served; asking for a new one");
        })
        .ok()
}

/// Installs the row's certificate unless it is the one served; returns what it is.
fn serve_stored(https: &Https, row: &db::tls::Certificate) -> Option<certificate::About> {
    let loaded = stored(row)?;
    let about = loaded.about.clone();
    if https.serving().as_ref() != Some(&about) {
        https.install(loaded);
    }
    Some(about)
}

/// When to ask the CA: at the certificate's renewal time (now when there is none), and not
/// before the backoff after a failure has passed.
fn due_at(stored: Option<&certificate::About>, row: &db::tls::Certificate) -> OffsetDateTime {
    let renew_at = stored.map_or(OffsetDateTime::UNIX_EPOCH, certificate::About::renew_at);
    match row.next_attempt_at {
        Some(backoff) if row.failures > 0 => renew_at.max(backoff),
        _ => renew_at,
    }
}

fn backoff(failures: i32) -> time::Duration {
    let doublings = failures.clamp(1, 20) - 1;
    (FIRST_BACKOFF * 2_i32.pow(doublings as u32)).min(MOST_BACKOFF)
}

/// Takes the lock, reads again, and asks the CA if it is still due; keeps what comes of it.
async fn renew(
    db: &PgPool,
    https: &Https,
    acme: &AcmeConfig,
    names: &str,
    warn: Option<&Warn>,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    db::tls::lock_renewal(&mut *tx, names).await?;
    // Another process may have got it, or failed, while this one waited for the lock.
    let row = db::tls::certificate(&mut *tx, names)
        .await?
        .unwrap_or_default();
    let stored = stored(&row).map(|loaded| loaded.about);
    if due_at(stored.as_ref(), &row) > OffsetDateTime::now_utc() {
        return Ok(());
    }
    tracing::info!(%names, directory = %acme.directory, "asking the CA for a certificate");
    let obtained = tokio::time::timeout(ORDER_TIMEOUT, obtain(db, acme, &https.config.names))
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "the CA at {} did not finish within {} minutes",
                acme.directory,
                ORDER_TIMEOUT.as_secs() / 60
            ))
        })
        .and_then(|(chain, key)| {
            let loaded = certificate::load(chain.as_bytes(), key.as_bytes())
                .map_err(|e| format!("the CA's certificate cannot be served: {e}"))?;
            Ok((chain, key, loaded))
        });
    match obtained {
        Ok((chain, key, loaded)) => {
            let about = &loaded.about;
            // Through the pool, not the lock's transaction: a certificate the CA issued is kept
            // even when a server's idle-transaction timeout ended that transaction meanwhile.
            db::tls::store_certificate(
                db,
                names,
                &db::tls::Obtained {
                    chain_pem: &chain,
                    key_pem: &key,
                    issuer: &about.issuer,
                    not_before: about.not_before,
                    not_after: about.not_after,
                },
            )
            .await?;
            let _ = tx.commit().await;
            https.install(loaded);
        }
        Err(error) => {
            let next_attempt_at = OffsetDateTime::now_utc() + backoff(row.failures + 1);
            tracing::error!(%names, %error, %next_attempt_at, "could not get a certificate");
            let failures = db::tls::record_failure(db, names, &error, next_attempt_at).await?;
            let tell = failures >= WARN_AFTER
                && row
                    .warned_at
                    .is_none_or(|at| OffsetDateTime::now_utc() - at > time::Duration::days(1));
            if tell {
                db::tls::mark_warned(db, names).await?;
            }
            let _ = tx.commit().await;
            https.set_trouble(Some(Trouble {
                error: error.clone(),
                at: OffsetDateTime::now_utc(),
            }));
            if let (true, Some(warn)) = (tell, warn) {
                let warning = Warning {
                    names: names.to_owned(),
                    error,
                    failures,
                    next_attempt_at,
                    expires: stored.map(|about| about.not_after),
                };
                if let Err(error) =
                    crate::mail::notify::certificate_trouble(db, warn, &warning).await
                {
                    tracing::warn!(%error, "could not tell the admins about the certificate");
                }
            }
        }
    }
    Ok(())
}

/// The account for the directory: the stored one, or a new one (kept for next time).
async fn account(db: &PgPool, acme: &AcmeConfig) -> Result<Account, String> {
    let builder = || match &acme.ca_root {
        Some(root) => Account::builder_with_root(root)
            .map_err(|e| format!("cannot use FOLIO_ACME_CA_ROOT {}: {e}", root.display())),
        None => Account::builder().map_err(|e| e.to_string()),
    };
    let stored = db::tls::account(db, &acme.directory)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(json) = stored {
        let credentials: AccountCredentials =
            serde_json::from_value(json).map_err(|e| format!("the stored ACME account: {e}"))?;
        return builder()?
            .from_credentials(credentials)
            .await
            .map_err(|e| format!("the CA at {}: {e}", acme.directory));
    }
    let contact = acme.email.as_ref().map(|email| format!("mailto:{email}"));
    let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
    let (account, credentials) = builder()?
        .create(
            &NewAccount {
                contact: &contacts,
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            acme.directory.clone(),
            None,
        )
        .await
        .map_err(|e| format!("cannot make an account at the CA {}: {e}", acme.directory))?;
    let json = serde_json::to_value(&credentials).map_err(|e| e.to_string())?;
    db::tls::store_account(db, &acme.directory, &json, acme.email.as_deref())
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(directory = %acme.directory, "made an ACME account");
    Ok(account)
}

/// One order: HTTP-01 for every name, answered from `acme_challenges`; returns the PEM chain
/// and the PEM private key made for it.
async fn obtain(
    db: &PgPool,
    acme: &AcmeConfig,
    names: &[String],
) -> Result<(String, String), String> {
    let account = account(db, acme).await?;
    let identifiers: Vec<Identifier> = names.iter().cloned().map(Identifier::Dns).collect();
    let mut order = account
        .new_order(&NewOrder::new(&identifiers))
        .await
        .map_err(|e| format!("the CA refused the order: {e}"))?;
    let mut tokens = Vec::new();
    let result = fulfil(db, &mut order, &mut tokens).await;
    if let Err(error) = db::tls::drop_challenges(db, &tokens).await {
        tracing::warn!(%error, "could not forget the answered challenges");
    }
    result
}

async fn fulfil(
    db: &PgPool,
    order: &mut Order,
    tokens: &mut Vec<String>,
) -> Result<(String, String), String> {
    let mut authorizations = order.authorizations();
    while let Some(authorization) = authorizations.next().await {
        let mut authorization = authorization.map_err(|e| e.to_string())?;
        match authorization.status {
            AuthorizationStatus::Pending => {}
            AuthorizationStatus::Valid => continue,
            status => {
                return Err(format!(
                    "the CA holds {} as {status:?}",
                    authorization.identifier()
                ));
            }
        }
        let mut challenge = authorization
            .challenge(ChallengeType::Http01)
            .ok_or("the CA offers no HTTP-01 challenge")?;
        db::tls::put_challenge(db, &challenge.token, challenge.key_authorization().as_str())
            .await
            .map_err(|e| e.to_string())?;
        tokens.push(challenge.token.clone());
        challenge.set_ready().await.map_err(|e| e.to_string())?;
    }
    let status = order
        .poll_ready(&PATIENCE)
        .await
        .map_err(|e| e.to_string())?;
    if status != OrderStatus::Ready {
        return Err(why_not_ready(order, status).await);
    }
    let key_pem = order
        .finalize()
        .await
        .map_err(|e| format!("the CA refused to finalize: {e}"))?;
    let chain_pem = order
        .poll_certificate(&PATIENCE)
        .await
        .map_err(|e| format!("the CA did not issue: {e}"))?;
    Ok((chain_pem, key_pem))
}

/// The CA's own words on a failed challenge ("connection refused", "wrong key
/// authorization"), which tell the operator what to mend.
async fn why_not_ready(order: &mut Order, status: OrderStatus) -> String {
    let mut reasons = Vec::new();
    let mut authorizations = order.authorizations();
    while let Some(Ok(authorization)) = authorizations.next().await {
        let name = authorization.identifier().to_string();
        for challenge in &authorization.challenges {
            if let Some(problem) = &challenge.error {
                let detail = problem.detail.as_deref().unwrap_or("failed");
                reasons.push(format!("{name}: {detail}"));
            }
        }
    }
    if reasons.is_empty() {
        format!("the order is {status:?}")
    } else {
        format!(
            "the CA could not check the challenge: {}",
            reasons.join("; ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_wait_longer_each_time_up_to_six_hours() {
        assert_eq!(backoff(1), time::Duration::minutes(1));
        assert_eq!(backoff(2), time::Duration::minutes(2));
        assert_eq!(backoff(4), time::Duration::minutes(8));
        assert_eq!(backoff(12), time::Duration::hours(6));
        assert_eq!(backoff(1000), time::Duration::hours(6));
    }
}
