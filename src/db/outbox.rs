//! The outbox: messages owed to people, written with the change that causes them, claimed and
//! sent by a worker in every process (`mail::worker`).

use sqlx::{PgExecutor, PgPool};
use time::OffsetDateTime;

pub use crate::domain::mail::{MailKind, MailStatus};

/// A message to write into the outbox.
#[derive(Debug, Clone)]
pub struct NewMail<'a> {
    pub kind: MailKind,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
    pub unsubscribe_url: Option<&'a str>,
}

/// Writes one message (in the caller's transaction when given one); returns its id.
pub async fn enqueue(db: impl PgExecutor<'_>, mail: &NewMail<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"with body as (
               insert into mail_bodies (subject, body_text, body_html) values ($3, $4, $5)
               returning id
           )
           insert into outbox (kind, recipient, body_id, unsubscribe_url)
           select $1, $2, body.id, $6 from body
           returning id"#,
        mail.kind as MailKind,
        mail.recipient,
        mail.subject,
        mail.text,
        mail.html,
        mail.unsubscribe_url
    )
    .fetch_one(db)
    .await
}

/// A message a worker has claimed: it holds the lease until it marks it.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub kind: MailKind,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub unsubscribe_url: Option<String>,
    pub message_key: String,
    /// Including this one.
    pub attempts: i32,
}

/// Claims up to `limit` due messages for `lease_secs`: rows another worker holds are skipped,
/// so no two processes send one message.
pub async fn claim(db: &PgPool, limit: i64, lease_secs: f64) -> Result<Vec<Claimed>, sqlx::Error> {
    sqlx::query_as!(
        Claimed,
        r#"with due as (
               select id from outbox
               where status = 'waiting' and due_at <= now()
                 and (lease_until is null or lease_until < now())
               order by due_at, id
               limit $1
               for update skip locked
           )
           update outbox o
           set lease_until = now() + make_interval(secs => $2), attempts = o.attempts + 1
           from due, mail_bodies b
           where o.id = due.id and b.id = o.body_id
           returning o.id, o.kind as "kind: MailKind", o.recipient, b.subject, b.body_text, b.body_html,
                     o.unsubscribe_url, o.message_key::text as "message_key!", o.attempts"#,
        limit,
        lease_secs
    )
    .fetch_all(db)
    .await
}

/// When the next waiting message is due, if any is.
pub async fn next_due(db: &PgPool) -> Result<Option<OffsetDateTime>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select min(greatest(due_at, coalesce(lease_until, due_at))) from outbox
           where status = 'waiting'"#
    )
    .fetch_one(db)
    .await
}

/// Marks a message sent. The commit does not wait for the disk: a message is marked right
/// after its server took it, and waiting for a flush each time would bound a big send to the
/// disk's flush rate. Should PostgreSQL itself crash within a fraction of a second after, the
/// message would go once more after its lease: the one duplicate a crash can make.
///
/// Every mark names the attempt it is for: a worker whose lease ran out (and whose message
/// another worker took over) changes nothing.
pub async fn mark_sent(db: &PgPool, id: i64, attempt: i32) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query!(r#"set local synchronous_commit to off"#)
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        r#"update outbox set status = 'sent', sent_at = now(), lease_until = null,
                             last_error = null
           where id = $1 and attempts = $2"#,
        id,
        attempt
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Tries again after `delay_secs`, keeping the server's answer.
pub async fn mark_retry(
    db: &PgPool,
    id: i64,
    attempt: i32,
    delay_secs: f64,
    answer: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"update outbox set due_at = now() + make_interval(secs => $2), lease_until = null,
                             last_error = $3
           where id = $1 and attempts = $4"#,
        id,
        delay_secs,
        answer,
        attempt
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Gives up: shown on the Email page with the server's answer, until someone retries it.
pub async fn mark_failed(
    db: &PgPool,
    id: i64,
    attempt: i32,
    answer: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"update outbox set status = 'failed', lease_until = null, last_error = $2
           where id = $1 and attempts = $3"#,
        id,
        answer,
        attempt
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Puts a failed message back in the queue, due now, with a fresh set of attempts.
pub async fn retry(db: &PgPool, id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"update outbox set status = 'waiting', due_at = now(), attempts = 0, lease_until = null
           where id = $1 and status = 'failed'"#,
        id
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    pub waiting: i64,
    pub sent: i64,
    pub failed: i64,
}

pub async fn counts(db: &PgPool) -> Result<OutboxCounts, sqlx::Error> {
    let row = sqlx::query!(
        r#"select count(*) filter (where status = 'waiting') as "waiting!",
                  count(*) filter (where status = 'sent') as "sent!",
                  count(*) filter (where status = 'failed') as "failed!"
           from outbox"#
    )
    .fetch_one(db)
    .await?;
    Ok(OutboxCounts {
        waiting: row.waiting,
        sent: row.sent,
        failed: row.failed,
    })
}

/// A row of the Email page's queue.
#[derive(Debug, Clone)]
pub struct QueueRow {
    pub id: i64,
    pub kind: MailKind,
    pub recipient: String,
    pub subject: String,
    pub status: MailStatus,
    pub attempts: i32,
    pub due_at: OffsetDateTime,
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
    pub sent_at: Option<OffsetDateTime>,
}

/// The newest messages, failed ones first (they need someone).
pub async fn recent(db: &PgPool, limit: i64) -> Result<Vec<QueueRow>, sqlx::Error> {
    sqlx::query_as!(
        QueueRow,
        r#"select o.id, o.kind as "kind: MailKind", o.recipient, b.subject,
                  o.status as "status: MailStatus", o.attempts, o.due_at,
                  o.last_error, o.created_at, o.sent_at
           from outbox o join mail_bodies b on b.id = o.body_id
           order by (o.status = 'failed') desc, o.created_at desc, o.id desc
           limit $1"#,
        limit
    )
    .fetch_all(db)
    .await
}

/// A body many messages share (a new post to every follower).
pub async fn insert_body(
    db: impl PgExecutor<'_>,
    subject: &str,
    text: &str,
    html: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"insert into mail_bodies (subject, body_text, body_html) values ($1, $2, $3)
           returning id"#,
        subject,
        text,
        html
    )
    .fetch_one(db)
    .await
}
