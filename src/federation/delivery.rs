//! The fediverse worker, one in every Folio process that federates: it writes what posts owe
//! their followers (Create, Update, Delete) as deliveries, in the transaction that records them
//! as told, then claims due deliveries (rows no other worker holds), signs each and POSTs it to
//! its inbox. A delivery that fails is tried again later, longer each time, for about two days;
//! a server that says it never will take it (a 4xx other than 401, 408 and 429) is not asked
//! again. The blog's own comments answering a reply from the fediverse go back to the one they
//! answer (`Create(Note)`, `Delete` once no longer shown). It sleeps until a delivery is
//! written, a post or comment changes or the next retry or scheduled post is due: no polling
//! loop. With Webmention on, it also verifies the Webmentions received and sends those posts
//! owe (`webmention`).

use std::{sync::Arc, time::Duration};

use axum::body::Bytes;
use futures_util::{StreamExt, stream};
use hyper::{HeaderMap, Method, StatusCode, header};
use sqlx::{PgPool, postgres::PgListener};
use time::OffsetDateTime;

use super::{
    Fediverse, content_html, documents,
    knock::{self, Signed},
};
use crate::{
    db::{
        self,
        fediverse::{Claimed, Owed},
    },
    outbound,
};

/// The channel migration 0023's trigger speaks on when a delivery is written.
const CHANNEL: &str = "folio_fediverse";
const BATCH: i64 = 64;
/// Deliveries on their way at once: each waits on another server far more than on this one.
const IN_FLIGHT: usize = 16;
const LEASE: Duration = Duration::from_secs(120);
const DEADLINE: Duration = Duration::from_secs(30);
const FIRST_RETRY: Duration = Duration::from_secs(60);
const MAX_DELAY: Duration = Duration::from_secs(6 * 3600);
/// About two days of retries at the delays above.
pub const MAX_ATTEMPTS: i32 = 16;
const IDLE_WAKE: Duration = Duration::from_secs(300);
const DATABASE_AWAY_WAIT: Duration = Duration::from_secs(3);

pub fn spawn(db: PgPool, fediverse: Arc<Fediverse>, taker: crate::webmention::SharedTaker) {
    tokio::spawn(run(db, fediverse, taker));
}

async fn run(db: PgPool, fediverse: Arc<Fediverse>, taker: crate::webmention::SharedTaker) {
    let mut listener: Option<PgListener> = None;
    let mut last_forget = tokio::time::Instant::now();
    while !db.is_closed() && !fediverse.is_stopping() {
        if listener.is_none() {
            listener = match listen(&db).await {
                Ok(listener) => Some(listener),
                Err(error) => {
                    tracing::warn!(%error, "fediverse: cannot listen for changes; looking every few seconds");
                    None
                }
            };
        }
        let settings = match db::settings::load(&db).await {
            Ok(settings) => settings,
            Err(sqlx::Error::PoolClosed) => return,
            Err(error) => {
                tracing::warn!(%error, "fediverse: cannot read the settings; trying again shortly");
                tokio::time::sleep(DATABASE_AWAY_WAIT).await;
                continue;
            }
        };
        let (federating, mentioning) = (settings.fediverse_enabled, settings.webmention_enabled);
        if federating {
            if let Err(error) = tell_followers(&db, &fediverse, &settings).await {
                tracing::warn!(%error, "fediverse: cannot tell followers of posts yet");
            }
            if let Err(error) = answer_back(&db, &fediverse, &settings).await {
                tracing::warn!(%error, "fediverse: cannot send answers back yet");
            }
        }
        if mentioning && let Err(error) = crate::webmention::owe(&db, &fediverse.base_url).await {
            tracing::warn!(%error, "webmention: cannot queue what posts owe yet");
        }
        if federating || mentioning {
            let batch = fediverse.batch.lock().await;
            if fediverse.is_stopping() {
                return;
            }
            let mut sent = if federating {
                send_due(&db, &fediverse).await
            } else {
                Ok(0)
            };
            if mentioning && let Ok(count) = sent {
                let reach = fediverse.reach();
                sent = crate::webmention::round(&db, &fediverse.base_url, reach, taker.as_ref())
                    .await
                    .map(|more| count + more);
            }
            drop(batch);
            match sent {
                Ok(0) => {}
                Ok(_) => continue,
                Err(sqlx::Error::PoolClosed) => return,
                Err(error) => {
                    tracing::warn!(%error, "fediverse: cannot read the deliveries; trying again shortly");
                    tokio::time::sleep(DATABASE_AWAY_WAIT).await;
                    continue;
                }
            }
        }
        if last_forget.elapsed() > Duration::from_secs(3600) {
            last_forget = tokio::time::Instant::now();
            let _ = db::fediverse::forget_seen(&db).await;
        }
        let next = tokio::try_join!(
            db::fediverse::next_delivery_due(&db),
            db::fediverse::next_post_due(&db),
            db::webmention::next_due(&db)
        );
        let wait = match next {
            Ok((delivery, post, mention)) => [
                delivery.filter(|_| federating),
                post.filter(|_| federating),
                mention.filter(|_| mentioning),
            ]
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
        if !wait_for_work(&mut listener, wait).await {
            listener = None;
        }
    }
}

fn until(at: OffsetDateTime) -> Duration {
    Duration::try_from(at - OffsetDateTime::now_utc()).unwrap_or(Duration::ZERO)
}

async fn listen(db: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(db).await?;
    listener
        .listen_all([CHANNEL, crate::page_cache::CHANNEL])
        .await?;
    Ok(listener)
}

/// Sleeps until a notice that can mean work, or `wait`; false when the listener broke. A burst
/// of notices is one wake. Comment notices (an answer to a fediverse reply may be among them)
/// wake it a second later, with all that came meanwhile: a comment wave costs it one round a
/// second, not one per comment. Image notices mean nothing here.
async fn wait_for_work(listener: &mut Option<PgListener>, wait: Duration) -> bool {
    let mut deadline = tokio::time::Instant::now() + wait;
    loop {
        let heard = async {
            match listener.as_mut() {
                Some(l) => l.try_recv().await,
                None => std::future::pending().await,
            }
        };
        let notice = tokio::select! {
            heard = heard => heard,
            () = tokio::time::sleep_until(deadline) => return true,
        };
        let Ok(Some(first)) = notice else {
            return false;
        };
        let mut work = urgency(first.channel(), first.payload());
        if let Some(l) = listener.as_mut() {
            while let Some(more) = l.next_buffered() {
                work = work.max(urgency(more.channel(), more.payload()));
            }
        }
        match work {
            Urgency::Now => return true,
            Urgency::Soon => {
                deadline = deadline.min(tokio::time::Instant::now() + COMMENTS_GATHERED);
            }
            Urgency::None => {}
        }
    }
}

/// How long comment notices are gathered before the worker looks for answers to send back.
const COMMENTS_GATHERED: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Urgency {
    None,
    Soon,
    Now,
}

fn urgency(channel: &str, payload: &str) -> Urgency {
    if channel == CHANNEL {
        Urgency::Now
    } else if payload.starts_with("media:") {
        Urgency::None
    } else if payload.starts_with("comments:") {
        Urgency::Soon
    } else {
        Urgency::Now
    }
}

/// Writes the deliveries every post owes, one post per transaction. A post by an author who is
/// an account of their own is created by them, for their followers, and announced by the
/// blog to its own; its edits and deletion go to both from the actor that created it.
async fn tell_followers(
    db: &PgPool,
    fediverse: &Fediverse,
    settings: &db::settings::Settings,
) -> Result<(), sqlx::Error> {
    let blog = fediverse.blog(settings);
    loop {
        let mut tx = db.begin().await?;
        let Some((owed, post)) = db::fediverse::take_owed(&mut tx).await? else {
            return Ok(());
        };
        let kind = match owed {
            Owed::Create => "Create",
            Owed::Update => "Update",
            Owed::Delete => "Delete",
        };
        let content = content_html(&post.body_html, &fediverse.base_url);
        let now = OffsetDateTime::now_utc();
        let activity = documents::post_activity(&blog, kind, &post, &content, now);
        // 0 stands for the blog's followers.
        let told = match (post.by, owed) {
            (None, _) => vec![0],
            (Some(author), Owed::Create) => vec![author],
            (Some(author), _) => vec![0, author],
        };
        let mut queued =
            db::fediverse::queue_to_followers(&mut tx, &activity.to_string(), &told, post.by)
                .await?;
        if owed == Owed::Create && post.by.is_some() {
            let announce = documents::announce(&blog, &post, now);
            queued += db::fediverse::queue_to_followers(&mut tx, &announce.to_string(), &[0], None)
                .await?;
        }
        tx.commit().await?;
        tracing::info!(
            post = post.id,
            activity = kind,
            inboxes = queued,
            "fediverse: post told"
        );
    }
}

/// Writes the deliveries the blog's answers to fediverse replies owe: each goes to the inbox
/// of the one it answers, one comment per transaction.
async fn answer_back(
    db: &PgPool,
    fediverse: &Fediverse,
    settings: &db::settings::Settings,
) -> Result<(), sqlx::Error> {
    let blog = fediverse.blog(settings);
    loop {
        let mut tx = db.begin().await?;
        let Some((owed, answer)) = db::fediverse::take_owed_answer(&mut tx).await? else {
            return Ok(());
        };
        let kind = if owed == Owed::Delete {
            "Delete"
        } else {
            "Create"
        };
        let activity = documents::answer_activity(&blog, kind, &answer, OffsetDateTime::now_utc());
        db::fediverse::queue(
            &mut tx,
            &answer.inbox,
            &answer.parent_domain,
            &activity.to_string(),
            None,
        )
        .await?;
        tx.commit().await?;
        tracing::info!(
            comment = answer.comment_id,
            activity = kind,
            "fediverse: an answer sent back"
        );
    }
}

/// Sends one batch of due deliveries; answers how many were claimed.
async fn send_due(db: &PgPool, fediverse: &Fediverse) -> Result<usize, sqlx::Error> {
    let claimed = db::fediverse::claim(db, BATCH, LEASE.as_secs_f64()).await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    let count = claimed.len();
    let results: Vec<Result<(), sqlx::Error>> = stream::iter(claimed)
        .map(|delivery| async move {
            let keys = match fediverse.keys_of(db, delivery.signer).await {
                Ok(keys) => keys,
                Err(error) => {
                    // Its lease runs out and it is tried again.
                    tracing::error!(%error, "fediverse: no key to sign with");
                    return Ok(());
                }
            };
            let key_id = fediverse.key_id(delivery.signer);
            let result = deliver(fediverse, db, (&keys.private, &key_id), &delivery).await;
            settle(db, &delivery, result).await
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    results.into_iter().collect::<Result<(), _>>()?;
    Ok(count)
}

/// Why a delivery did not get through, and whether it is worth another try.
struct Failure {
    reason: String,
    retry: bool,
}

async fn deliver(
    fediverse: &Fediverse,
    db: &PgPool,
    key: (&rsa::RsaPrivateKey, &str),
    delivery: &Claimed,
) -> Result<(), Failure> {
    let url = url::Url::parse(&delivery.inbox).map_err(|e| Failure {
        reason: format!("not a URL: {e}"),
        retry: false,
    })?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(documents::ACTIVITY_JSON),
    );
    let answer = knock::send(
        fediverse,
        db,
        key,
        Signed {
            method: Method::POST,
            url: &url,
            headers,
            body: Some(Bytes::from(delivery.activity.clone())),
            deadline: DEADLINE,
            max_answer: 64 * 1024,
        },
    )
    .await
    .map_err(|error| Failure {
        retry: !matches!(error, outbound::Error::Refused(_)),
        reason: error.to_string(),
    })?;
    let status = answer.status;
    if status.is_success() {
        return Ok(());
    }
    Err(Failure {
        reason: format!("the inbox answered {status}"),
        retry: !status.is_client_error()
            || matches!(
                status,
                StatusCode::UNAUTHORIZED
                    | StatusCode::REQUEST_TIMEOUT
                    | StatusCode::TOO_MANY_REQUESTS
            ),
    })
}

async fn settle(
    db: &PgPool,
    delivery: &Claimed,
    result: Result<(), Failure>,
) -> Result<(), sqlx::Error> {
    match result {
        Ok(()) => {
            tracing::info!(id = delivery.id, inbox = %delivery.inbox, "fediverse: delivered");
            db::fediverse::delivered(db, delivery.id, &delivery.domain).await
        }
        Err(failure) => {
            let delay = (failure.retry && delivery.attempts < MAX_ATTEMPTS)
                .then(|| retry_delay(delivery.attempts).as_secs_f64());
            tracing::warn!(
                id = delivery.id,
                inbox = %delivery.inbox,
                reason = %failure.reason,
                again = delay.is_some(),
                "fediverse: not delivered"
            );
            db::fediverse::not_delivered(db, delivery.id, &delivery.domain, &failure.reason, delay)
                .await
        }
    }
}

/// A minute, then twice as long after each attempt, up to six hours.
pub fn retry_delay(attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    FIRST_RETRY.saturating_mul(1 << doublings).min(MAX_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_go_on_for_about_two_days() {
        assert_eq!(retry_delay(1), Duration::from_secs(60));
        assert_eq!(retry_delay(2), Duration::from_secs(120));
        let total: Duration = (1..MAX_ATTEMPTS).map(retry_delay).sum();
        assert!(
            (Duration::from_secs(36 * 3600)..Duration::from_secs(60 * 3600)).contains(&total),
            "{total:?}"
        );
    }

    #[test]
    fn comment_notices_wake_the_worker_a_second_later_and_image_notices_never() {
        assert_eq!(urgency("folio_fediverse", ""), Urgency::Now);
        assert_eq!(urgency("folio_content_changed", ""), Urgency::Now);
        assert_eq!(
            urgency("folio_content_changed", "comments:3"),
            Urgency::Soon
        );
        assert_eq!(urgency("folio_content_changed", "media:ab"), Urgency::None);
    }
}
