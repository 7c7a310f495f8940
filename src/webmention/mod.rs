//! Webmention (W3C Recommendation): another site tells the blog that a page of theirs links to
//! a post, and the blog tells the pages its posts link to. A Webmention received is a row; the
//! fediverse worker (`federation::delivery`, which runs while either is on) fetches its source
//! (public addresses only, each redirect checked), reads its microformats (`mf2`) and hands a
//! reply or mention to the web layer (`Taker`), which puts it through the comment form's layers;
//! likes and reposts are counted. Posts published or edited here queue a Webmention for each
//! page they link to that advertises an endpoint (`discover`).

pub mod discover;
pub mod mf2;

use std::{sync::Arc, time::Duration};

use axum::body::Bytes;
use futures_util::{StreamExt, future::BoxFuture, stream};
use hyper::{HeaderMap, Method, StatusCode, header};
use sqlx::PgPool;

use crate::{
    db::{self, webmention::Verdict},
    outbound::{self, Outgoing, Reach},
};

/// A verified reply or mention, for the web layer to make a comment of.
pub struct Mention<'a> {
    pub id: i64,
    pub post_path: &'a str,
    pub parent_comment_id: Option<i64>,
    pub entry: &'a mf2::Entry,
}

/// Puts a reply or mention through the comment form's layers: its comment's id, or `None`
/// when the post takes no comments (or it was a duplicate). `edit` puts a changed source's new
/// text (and author's name) through them again.
pub trait Taker: Send + Sync {
    fn take<'a>(&'a self, mention: Mention<'a>) -> BoxFuture<'a, anyhow::Result<Option<i64>>>;
    fn edit<'a>(
        &'a self,
        comment_id: i64,
        author_name: &'a str,
        text: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<bool>>;
}

pub type SharedTaker = Arc<dyn Taker>;

const BATCH: i64 = 16;
const IN_FLIGHT: usize = 8;
const LEASE: Duration = Duration::from_secs(120);
const DEADLINE: Duration = Duration::from_secs(20);
/// A source or endpoint page bigger than this is not read.
const MAX_PAGE: usize = 1024 * 1024;
const REDIRECTS: usize = 3;
/// Attempts before a source that cannot be read, or an endpoint that does not answer, is
/// given up (a minute, then doubling: about an hour in all).
const MAX_ATTEMPTS: i32 = 6;
/// Links of one post that are told.
pub const MAX_LINKS: usize = 100;
/// Webmentions from one site that may wait to be verified at once.
pub const MAX_WAITING_PER_SITE: i64 = 50;

fn retry_delay(attempts: i32) -> Option<f64> {
    (attempts < MAX_ATTEMPTS).then(|| 60.0 * f64::from(1u32 << attempts.clamp(0, 10)) / 2.0)
}

/// Writes the Webmentions posts owe the pages they link to.
pub async fn owe(db: &PgPool, base_url: &str) -> Result<(), sqlx::Error> {
    let links = |html: &str| discover::links_of(html, base_url, MAX_LINKS);
    loop {
        let mut tx = db.begin().await?;
        let Some((owed, post, queued)) = db::webmention::take_owed(&mut tx, &links).await? else {
            return Ok(());
        };
        tx.commit().await?;
        tracing::info!(
            post = post.id,
            ?owed,
            new_links = queued,
            "webmention: links to tell"
        );
    }
}

/// Verifies one batch of received Webmentions and sends one batch; answers how many rows were
/// taken.
pub async fn round(
    db: &PgPool,
    base_url: &str,
    reach: Reach,
    taker: &dyn Taker,
) -> Result<usize, sqlx::Error> {
    let received = db::webmention::claim_received(db, BATCH, LEASE.as_secs_f64()).await?;
    let sending = db::webmention::claim_sends(db, BATCH, LEASE.as_secs_f64()).await?;
    let count = received.len() + sending.len();
    let verified: Vec<Result<(), sqlx::Error>> = stream::iter(received)
        .map(|mention| async move { verify(db, reach, taker, &mention).await })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    verified.into_iter().collect::<Result<(), _>>()?;
    let sent: Vec<Result<(), sqlx::Error>> = stream::iter(sending)
        .map(|sending| async move { send(db, base_url, reach, &sending).await })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    sent.into_iter().collect::<Result<(), _>>()?;
    Ok(count)
}

/// A GET that follows a few redirects, each checked as the first.
async fn get(
    url: &url::Url,
    reach: Reach,
) -> Result<(url::Url, outbound::Answer), outbound::Error> {
    let mut url = url.clone();
    for _ in 0..=REDIRECTS {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT,
            header::HeaderValue::from_static("text/html, application/xhtml+xml;q=0.9, */*;q=0.5"),
        );
        let answer = outbound::send(Outgoing {
            method: Method::GET,
            url: &url,
            headers,
            body: Bytes::new(),
            reach,
            deadline: DEADLINE,
            max_answer: MAX_PAGE,
        })
        .await?;
        if !answer.status.is_redirection() {
            return Ok((url, answer));
        }
        let location = answer
            .headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                outbound::Error::Refused(format!("{url}: a redirect without a place"))
            })?;
        url = url
            .join(location)
            .map_err(|e| outbound::Error::Refused(format!("{url}: a bad redirect: {e}")))?;
    }
    Err(outbound::Error::Refused(format!(
        "{url}: too many redirects"
    )))
}

fn is_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.contains("html"))
}

async fn verify(
    db: &PgPool,
    reach: Reach,
    taker: &dyn Taker,
    mention: &db::webmention::Received,
) -> Result<(), sqlx::Error> {
    let (Ok(source), Ok(target)) = (
        url::Url::parse(&mention.source),
        url::Url::parse(&mention.target),
    ) else {
        return db::webmention::not_verified(db, mention.id, "not URLs", None).await;
    };
    let (page, answer) = match get(&source, reach).await {
        Ok(found) => found,
        Err(error) => {
            let delay = match error {
                outbound::Error::Refused(_) | outbound::Error::TooLarge(_) => None,
                _ => retry_delay(mention.attempts),
            };
            tracing::info!(source = %source, %error, "webmention: the source cannot be read");
            return db::webmention::not_verified(db, mention.id, &error.to_string(), delay).await;
        }
    };
    let gone = matches!(answer.status, StatusCode::GONE | StatusCode::NOT_FOUND);
    if !answer.status.is_success() && !gone {
        let delay =
            if answer.status.is_server_error() || answer.status == StatusCode::TOO_MANY_REQUESTS {
                retry_delay(mention.attempts)
            } else {
                None
            };
        let reason = format!("the source answered {}", answer.status);
        return db::webmention::not_verified(db, mention.id, &reason, delay).await;
    }
    let body = String::from_utf8_lossy(&answer.body);
    let entry = if gone {
        None
    } else if is_html(&answer.headers) {
        mf2::read(&body, &page, &target)
    } else if body.contains(target.as_str()) {
        // A page that is not HTML (plain text, JSON) mentions the target in its text.
        Some(mf2::Entry {
            kind: mf2::Kind::Mention,
            author_name: page.host_str().unwrap_or_default().to_owned(),
            author_url: Some(format!(
                "{}://{}",
                page.scheme(),
                page.host_str().unwrap_or_default()
            )),
            text: String::new(),
        })
    } else {
        None
    };
    let Some(entry) = entry else {
        let (status, reason) = if gone {
            ("gone", "its page is gone")
        } else {
            ("unlinked", "its page no longer links here")
        };
        if let Some(comment) = mention.comment_id {
            db::webmention::trash_comment(db, comment, reason).await?;
        }
        tracing::info!(source = %source, status, "webmention: no link to the post");
        let verdict = Verdict {
            status,
            kind: None,
            author_name: "",
            author_url: None,
            comment_id: mention.comment_id,
        };
        return db::webmention::verified(db, mention.id, &verdict).await;
    };
    let comment_id = match entry.kind {
        mf2::Kind::Like | mf2::Kind::Repost => {
            if let Some(comment) = mention.comment_id {
                db::webmention::trash_comment(db, comment, "it became a like or repost").await?;
            }
            None
        }
        mf2::Kind::Reply | mf2::Kind::Mention => as_comment(db, taker, mention, &entry).await?,
    };
    tracing::info!(source = %source, kind = entry.kind.as_str(), comment = ?comment_id, "webmention: verified");
    let verdict = Verdict {
        status: "verified",
        kind: Some(entry.kind.as_str()),
        author_name: &entry.author_name,
        author_url: entry.author_url.as_deref(),
        comment_id,
    };
    db::webmention::verified(db, mention.id, &verdict).await
}

/// The reply or mention as a comment: the one it already is, edited, or a new one.
async fn as_comment(
    db: &PgPool,
    taker: &dyn Taker,
    mention: &db::webmention::Received,
    entry: &mf2::Entry,
) -> Result<Option<i64>, sqlx::Error> {
    if let Some(comment) = mention.comment_id {
        if let Err(error) = taker.edit(comment, &entry.author_name, &entry.text).await {
            return match error.downcast::<sqlx::Error>() {
                Ok(error) => Err(error),
                Err(error) => {
                    tracing::warn!(%error, "webmention: an edit not taken");
                    Ok(Some(comment))
                }
            };
        }
        return Ok(Some(comment));
    }
    let taken = taker
        .take(Mention {
            id: mention.id,
            post_path: &mention.post_path,
            parent_comment_id: mention.parent_comment_id,
            entry,
        })
        .await;
    match taken {
        Ok(Some(comment)) => {
            db::webmention::mark_comment(db, comment, mention.id).await?;
            Ok(Some(comment))
        }
        Ok(None) => Ok(None),
        Err(error) => match error.downcast::<sqlx::Error>() {
            Ok(error) => Err(error),
            Err(error) => {
                tracing::warn!(%error, "webmention: a reply not taken");
                Ok(None)
            }
        },
    }
}

/// Tells one page that a post links to it, if it takes Webmentions.
async fn send(
    db: &PgPool,
    base_url: &str,
    reach: Reach,
    sending: &db::webmention::Sending,
) -> Result<(), sqlx::Error> {
    let Ok(target) = url::Url::parse(&sending.target) else {
        return db::webmention::not_sent(db, sending.id, "not a URL", None).await;
    };
    let retry = |error: &outbound::Error| match error {
        outbound::Error::Refused(_) | outbound::Error::TooLarge(_) => None,
        _ => retry_delay(sending.attempts),
    };
    let endpoint = match get(&target, reach).await {
        Ok((page, answer)) if answer.status.is_success() => {
            let body = String::from_utf8_lossy(&answer.body);
            discover::endpoint(&page, &answer.headers, &body, is_html(&answer.headers))
        }
        Ok((_, answer)) => {
            let reason = format!("the page answered {}", answer.status);
            let delay = answer
                .status
                .is_server_error()
                .then(|| retry_delay(sending.attempts))
                .flatten();
            return db::webmention::not_sent(db, sending.id, &reason, delay).await;
        }
        Err(error) => {
            return db::webmention::not_sent(db, sending.id, &error.to_string(), retry(&error))
                .await;
        }
    };
    let Some(endpoint) = endpoint else {
        return db::webmention::sent(db, sending.id, "no-endpoint", None).await;
    };
    let source = format!("{}{}", base_url.trim_end_matches('/'), sending.post_path);
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("source", &source)
        .append_pair("target", &sending.target)
        .finish();
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    let answer = outbound::send(Outgoing {
        method: Method::POST,
        url: &endpoint,
        headers,
        body: Bytes::from(body),
        reach,
        deadline: DEADLINE,
        max_answer: 64 * 1024,
    })
    .await;
    match answer {
        Ok(answer) if answer.status.is_success() => {
            tracing::info!(target = %target, endpoint = %endpoint, "webmention: sent");
            db::webmention::sent(db, sending.id, "sent", Some(endpoint.as_str())).await
        }
        Ok(answer) => {
            let reason = format!("the endpoint answered {}", answer.status);
            let delay = (answer.status.is_server_error()
                || answer.status == StatusCode::TOO_MANY_REQUESTS)
                .then(|| retry_delay(sending.attempts))
                .flatten();
            db::webmention::not_sent(db, sending.id, &reason, delay).await
        }
        Err(error) => {
            db::webmention::not_sent(db, sending.id, &error.to_string(), retry(&error)).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_stop_after_about_an_hour() {
        assert_eq!(retry_delay(1), Some(60.0));
        assert_eq!(retry_delay(2), Some(120.0));
        let total: f64 = (1..MAX_ATTEMPTS).filter_map(retry_delay).sum();
        assert!((1800.0..4000.0).contains(&total), "{total}");
        assert_eq!(retry_delay(MAX_ATTEMPTS), None);
    }
}
