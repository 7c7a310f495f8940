//! The outbox worker, one in every Folio process: it claims due messages (rows no other worker
//! holds), sends them at `FOLIO_MAIL_RATE`, marks them sent, and puts a message whose server
//! is away back in the queue with a longer wait each time, for about a day. It sleeps until a
//! NOTIFY says a message was written (or this process says so, for a comment POST's mail), or
//! the next retry is due: no polling loop.

use std::{sync::Arc, time::Duration};

use futures_util::{StreamExt, stream};
use sqlx::{PgPool, postgres::PgListener};
use time::OffsetDateTime;
use tokio::sync::Notify;

use super::{Mailer, Outgoing, notify};
use crate::{
    auth::Secret,
    db::{self, outbox::Claimed},
};

/// The channel `outbox_notify` (migration 0012) speaks on.
const CHANNEL: &str = "folio_outbox";
const BATCH: i64 = 20;
/// Messages on their way at once (each on its own pooled SMTP connection).
const IN_FLIGHT: usize = 4;
/// A claimed message is this worker's for this long; if the process dies, another takes over.
const LEASE: Duration = Duration::from_secs(300);
/// Retries double from `retry_base` up to this wait; after `MAX_ATTEMPTS` (about a day at the
/// default base of a minute) the message is marked failed.
const MAX_DELAY: Duration = Duration::from_secs(4 * 3600);
pub const MAX_ATTEMPTS: i32 = 14;
/// Woken at least this often, in case a notice was missed while reconnecting.
const IDLE_WAKE: Duration = Duration::from_secs(300);
const DATABASE_AWAY_WAIT: Duration = Duration::from_secs(3);

/// What the worker needs to write messages of its own (new posts for followers).
#[derive(Debug, Clone)]
pub struct Site {
    pub base_url: String,
    pub secret: Arc<Secret>,
}

/// Starts the worker on the current runtime; it stops when the pool closes.
pub fn spawn(db: PgPool, mailer: Arc<Mailer>, site: Site, wake: Arc<Notify>) {
    tokio::spawn(run(db, mailer, site, wake));
}

async fn run(db: PgPool, mailer: Arc<Mailer>, site: Site, wake: Arc<Notify>) {
    let spacing = Duration::from_secs_f64(60.0 / f64::from(mailer.config().per_minute));
    let mut listener: Option<PgListener> = None;
    let mut next_start = tokio::time::Instant::now();
    while !db.is_closed() {
        if listener.is_none() {
            listener = match listen(&db).await {
                Ok(listener) => Some(listener),
                Err(error) => {
                    tracing::warn!(%error, "mail: cannot listen for changes; looking every few seconds");
                    None
                }
            };
        }
        // Read once a round: the title names the sender, the rest shapes followers' mail.
        let settings = match db::settings::load(&db).await {
            Ok(settings) => settings,
            Err(sqlx::Error::PoolClosed) => return,
            Err(error) => {
                tracing::warn!(%error, "mail: cannot read the settings; trying again shortly");
                tokio::time::sleep(DATABASE_AWAY_WAIT).await;
                continue;
            }
        };
        if let Err(error) = announce(&db, &site, &settings).await {
            tracing::warn!(%error, "mail: cannot tell followers of new posts yet");
        }
        match send_due(&db, &mailer, spacing, &mut next_start, &settings.title).await {
            Ok(0) => {}
            Ok(_) => continue,
            Err(sqlx::Error::PoolClosed) => return,
            Err(error) => {
                tracing::warn!(%error, "mail: cannot read the outbox; trying again shortly");
                tokio::time::sleep(DATABASE_AWAY_WAIT).await;
                continue;
            }
        }
        let next = tokio::try_join!(
            db::outbox::next_due(&db),
            db::subscriptions::next_announcement(&db)
        );
        let wait = match next {
            Ok((due, post)) => [due, post]
                .into_iter()
                .flatten()
                .map(until)
                .min()
                .unwrap_or(IDLE_WAKE)
                .min(IDLE_WAKE),
            Err(_) => DATABASE_AWAY_WAIT,
        };
        // Deaf to notices (no listener), it looks again every few seconds rather than sleep
        // through a post published meanwhile.
        let wait = if listener.is_none() {
            wait.min(DATABASE_AWAY_WAIT)
        } else {
            wait
        };
        if wait.is_zero() {
            continue;
        }
        if !wait_for_work(&mut listener, &wake, wait).await {
            listener = None;
        }
    }
}

/// Sleeps until a notice that can mean work arrives, this process wakes it (`wake`: mail that
/// a comment POST wrote without a notice, see migration 0021), or `wait` passes; false when the
/// listening connection broke. A burst of notices (a thousand comments published) is one wake:
/// the worker goes round once for all that is buffered, not once per notice. Notices about
/// comments or images alone mean nothing for it (the mail they cause is an outbox row, which
/// notifies on its own channel) and leave it asleep.
async fn wait_for_work(listener: &mut Option<PgListener>, wake: &Notify, wait: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let heard = async {
            match listener.as_mut() {
                Some(l) => l.try_recv().await,
                None => std::future::pending().await,
            }
        };
        let notice = tokio::select! {
            heard = heard => heard,
            () = wake.notified() => return true,
            () = tokio::time::sleep_until(deadline) => return true,
        };
        let Ok(Some(first)) = notice else {
            return false;
        };
        let mut work = means_work(first.channel(), first.payload());
        if let Some(l) = listener.as_mut() {
            while let Some(more) = l.next_buffered() {
                work |= means_work(more.channel(), more.payload());
            }
        }
        if work {
            return true;
        }
    }
}

/// Whether a notice can mean mail to send or a post to tell followers of.
fn means_work(channel: &str, payload: &str) -> bool {
    channel == CHANNEL || !(payload.starts_with("comments:") || payload.starts_with("media:"))
}

/// Wakes on new messages, and on content changes (a post published now is told at once).
async fn listen(db: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(db).await?;
    listener
        .listen_all([CHANNEL, crate::page_cache::CHANNEL])
        .await?;
    Ok(listener)
}

/// New posts for followers and moderators' daily digests, written into the outbox.
async fn announce(
    db: &PgPool,
    site: &Site,
    settings: &db::settings::Settings,
) -> Result<(), notify::Error> {
    let blog = notify::Blog {
        secret: &site.secret,
        base_url: &site.base_url,
        title: &settings.title,
        now: OffsetDateTime::now_utc(),
    };
    notify::send_digests(db, &blog).await?;
    let queued =
        notify::announce_due_posts(db, &blog, settings.follow_full_posts, &settings.time_zone())
            .await?;
    if queued > 0 {
        tracing::info!(messages = queued, "mail: a new post for followers");
    }
    Ok(())
}

fn until(at: OffsetDateTime) -> Duration {
    let left = at - OffsetDateTime::now_utc();
    Duration::try_from(left).unwrap_or(Duration::ZERO)
}

/// Sends one batch of due messages; returns how many were claimed. Messages start no closer
/// together than `spacing` (the rate) and up to `IN_FLIGHT` are on their way at once over the
/// pooled connections: one SMTP exchange waits on the network far more than on either side.
async fn send_due(
    db: &PgPool,
    mailer: &Mailer,
    spacing: Duration,
    next_start: &mut tokio::time::Instant,
    title: &str,
) -> Result<usize, sqlx::Error> {
    // No more than the lease has time for at this rate (with room for slow answers): a claimed
    // message must start well before another worker may take it over.
    let fits = (LEASE.as_secs_f64() / 2.0 / spacing.as_secs_f64().max(f64::EPSILON)).floor();
    let limit = BATCH.min((fits as i64).max(1));
    let claimed = db::outbox::claim(db, limit, LEASE.as_secs_f64()).await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    let count = claimed.len();
    // The rate holds across batches: the next start is never sooner than a spacing after the
    // last one.
    *next_start = (*next_start).max(tokio::time::Instant::now());
    let results: Vec<Result<(), sqlx::Error>> = stream::iter(claimed)
        .then(|message| {
            let start = *next_start;
            *next_start += spacing;
            async move {
                tokio::time::sleep_until(start).await;
                message
            }
        })
        .map(|message| {
            async move {
                let result = mailer.send(&outgoing(&message), title).await;
                // Marked as soon as the server has answered, so a crash resends as little as can be.
                settle(db, mailer, &message, result).await
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    results.into_iter().collect::<Result<(), _>>()?;
    Ok(count)
}

/// Records what the server answered for one message.
async fn settle(
    db: &PgPool,
    mailer: &Mailer,
    message: &Claimed,
    result: Result<(), super::SendError>,
) -> Result<(), sqlx::Error> {
    match result {
        Ok(()) => {
            db::outbox::mark_sent(db, message.id, message.attempts).await?;
            tracing::info!(id = message.id, kind = message.kind.as_str(), "mail: sent");
        }
        Err(error) if error.permanent => {
            tracing::warn!(id = message.id, answer = %error.answer, "mail: refused for good");
            db::outbox::mark_failed(db, message.id, message.attempts, &error.answer).await?;
        }
        Err(error) => {
            // The server is away or busy: the message waits, longer each time.
            tracing::warn!(id = message.id, answer = %error.answer, "mail: server unavailable; will retry");
            give_back(db, mailer, message, &error.answer).await?;
        }
    }
    Ok(())
}

/// Back to the queue with a longer wait, or failed once the attempts are spent.
async fn give_back(
    db: &PgPool,
    mailer: &Mailer,
    message: &Claimed,
    answer: &str,
) -> Result<(), sqlx::Error> {
    if message.attempts >= MAX_ATTEMPTS {
        return db::outbox::mark_failed(db, message.id, message.attempts, answer).await;
    }
    let delay = retry_delay(mailer.config().retry_base, message.attempts);
    db::outbox::mark_retry(
        db,
        message.id,
        message.attempts,
        delay.as_secs_f64(),
        answer,
    )
    .await
}

/// `base`, then twice as long after each attempt, capped at `MAX_DELAY`.
pub fn retry_delay(base: Duration, attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    base.saturating_mul(1 << doublings).min(MAX_DELAY)
}

fn outgoing(message: &Claimed) -> Outgoing {
    Outgoing {
        recipient: message.recipient.clone(),
        subject: message.subject.clone(),
        text: message.body_text.clone(),
        html: message.body_html.clone(),
        unsubscribe_url: message.unsubscribe_url.clone(),
        key: message.message_key.clone(),
        notice: message.kind.is_notice(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_notices_that_can_mean_mail_wake_the_worker() {
        assert!(means_work("folio_outbox", ""));
        assert!(
            means_work("folio_content_changed", ""),
            "a post may have gone out"
        );
        assert!(!means_work("folio_content_changed", "comments:12"));
        assert!(!means_work("folio_content_changed", "media:ab12"));
    }

    #[test]
    fn retries_double_for_about_a_day() {
        let base = Duration::from_secs(60);
        assert_eq!(retry_delay(base, 1), Duration::from_secs(60));
        assert_eq!(retry_delay(base, 2), Duration::from_secs(120));
        assert_eq!(retry_delay(base, 9), MAX_DELAY);
        let total: Duration = (1..MAX_ATTEMPTS).map(|n| retry_delay(base, n)).sum();
        assert!(
            (Duration::from_secs(20 * 3600)..Duration::from_secs(30 * 3600)).contains(&total),
            "{total:?}"
        );
    }
}
