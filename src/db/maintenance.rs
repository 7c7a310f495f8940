//! Keeping the tables to what is needed: old login attempts (they hold what was typed into the
//! email field), expired sessions and sign-in ceremonies, spent mail links and request counts, subscriptions nobody
//! confirmed, and mail sent long ago.
//! Every Folio process runs it now and then; two at once only find less to delete.

use sqlx::PgPool;

/// How many rows each purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub login_attempts: u64,
    pub sessions: u64,
    pub mail: u64,
}

/// Login attempts past a day (the limits look back 15 minutes), sessions past their expiry,
/// used links and request counts past theirs, and sent mail past 30 days (failed mail stays
/// until someone retries or it is a year old: the Email page shows it).
pub async fn purge(db: &PgPool) -> Result<Purged, sqlx::Error> {
    let login_attempts =
        sqlx::query!(r#"delete from login_attempts where at < now() - interval '1 day'"#)
            .execute(db)
            .await?
            .rows_affected();
    let sessions = sqlx::query!(r#"delete from sessions where expires_at < now()"#)
        .execute(db)
        .await?
        .rows_affected();
    sqlx::query!(r#"delete from webauthn_ceremonies where expires_at < now()"#)
        .execute(db)
        .await?;
    sqlx::query!(r#"delete from pending_sign_ins where expires_at < now()"#)
        .execute(db)
        .await?;
    // An authenticator app set up but never confirmed with a code.
    sqlx::query!(
        r#"delete from totp_secrets
           where confirmed_at is null and created_at < now() - interval '1 day'"#
    )
    .execute(db)
    .await?;
    sqlx::query!(r#"delete from used_mail_links where expires_at < now()"#)
        .execute(db)
        .await?;
    sqlx::query!(r#"delete from mail_requests where at < now() - interval '1 day'"#)
        .execute(db)
        .await?;
    // Requests nobody confirmed within the link's week, and addresses left with nothing.
    sqlx::query!(
        r#"delete from subscriptions
           where confirmed_at is null and created_at < now() - interval '8 days'"#
    )
    .execute(db)
    .await?;
    sqlx::query!(
        r#"delete from mail_addresses a
           where not exists (select 1 from subscriptions s where s.address_id = a.id)"#
    )
    .execute(db)
    .await?;
    let mail = sqlx::query!(
        r#"delete from outbox
           where (status = 'sent' and sent_at < now() - interval '30 days')
              or (status = 'failed' and created_at < now() - interval '1 year')"#
    )
    .execute(db)
    .await?
    .rows_affected();
    sqlx::query!(
        r#"delete from mail_bodies b
           where b.created_at < now() - interval '1 day'
             and not exists (select 1 from outbox o where o.body_id = b.id)"#
    )
    .execute(db)
    .await?;
    Ok(Purged {
        login_attempts,
        sessions,
        mail,
    })
}

/// Purges once an hour, starting a minute after the process does, until the pool closes.
pub fn spawn(db: PgPool) {
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        while !db.is_closed() {
            match purge(&db).await {
                Ok(purged) => tracing::debug!(?purged, "maintenance: purged"),
                Err(sqlx::Error::PoolClosed) => return,
                Err(error) => tracing::warn!(%error, "maintenance: cannot purge now"),
            }
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        }
    });
}
