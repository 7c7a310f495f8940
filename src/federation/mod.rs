//! The blog as a fediverse account (ActivityPub): its key, its documents, the signatures on
//! what goes out and comes in, remote actors, the inbox's activities, and the worker that tells
//! followers of posts and carries every activity to its inbox. Reads and writes through `db`;
//! talks to other servers only through `outbound` (public addresses only). `FEDERATION.md`
//! lists what federates.

pub mod actors;
pub mod delivery;
pub mod documents;
pub mod inbox;
pub mod inbox_limit;
pub mod inbox_threads;
pub mod interact;
pub mod keys;
pub mod knock;
pub mod signatures;

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use hyper::{HeaderMap, header};
use sqlx::PgPool;
use tokio::sync::OnceCell;

use crate::{db::settings::Settings, outbound::Reach};

/// One process's side of the fediverse: the key, once read, and whether its worker runs.
pub struct Fediverse {
    pub base_url: String,
    /// `FOLIO_FEDIVERSE_ALLOW_LOCAL`.
    pub allow_local: bool,
    keys: OnceCell<Arc<keys::Keys>>,
    /// Authors' keys, as they are first needed.
    author_keys: std::sync::Mutex<std::collections::HashMap<i64, Arc<keys::Keys>>>,
    worker_started: AtomicBool,
    /// Set when the process stops: the worker claims nothing more.
    stopping: AtomicBool,
    /// Held by the worker while a batch of deliveries is on its way.
    batch: tokio::sync::Mutex<()>,
    /// Activities each instance may still bring to the inboxes.
    pub inbox_limit: inbox_limit::InboxLimit,
}

impl Fediverse {
    pub fn new(base_url: &str, allow_local: bool) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            allow_local,
            keys: OnceCell::new(),
            author_keys: std::sync::Mutex::default(),
            worker_started: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            batch: tokio::sync::Mutex::new(()),
            inbox_limit: inbox_limit::InboxLimit::default(),
        }
    }

    /// Lets the deliveries on their way finish and be recorded (up to `wait`), and claims no
    /// more: a delivery cut off between its inbox's answer and its row would go out twice
    /// (from another process, or this one restarted, once its lease is over).
    pub async fn stop(&self, wait: std::time::Duration) {
        self.stopping.store(true, Ordering::Release);
        let _ = tokio::time::timeout(wait, self.batch.lock()).await;
    }

    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    /// The blog actor's key, read (or made) once per process.
    pub async fn keys(&self, db: &PgPool) -> Result<Arc<keys::Keys>, keys::Error> {
        self.keys
            .get_or_try_init(|| async { keys::load_or_create(db, None).await.map(Arc::new) })
            .await
            .cloned()
    }

    /// The key of the blog's actor (`author` None) or of an author's, read (or made) once per
    /// process. Two tasks asking for a new author's key at once both make one; the database
    /// keeps the first and both read that.
    pub async fn keys_of(
        &self,
        db: &PgPool,
        author: Option<i64>,
    ) -> Result<Arc<keys::Keys>, keys::Error> {
        let Some(id) = author else {
            return self.keys(db).await;
        };
        if let Some(keys) = self
            .author_keys
            .lock()
            .ok()
            .and_then(|k| k.get(&id).cloned())
        {
            return Ok(keys);
        }
        let keys = Arc::new(keys::load_or_create(db, Some(id)).await?);
        if let Ok(mut known) = self.author_keys.lock() {
            known.insert(id, keys.clone());
        }
        Ok(keys)
    }

    /// The id of the key the blog (`author` None) or an author signs with (their actor's
    /// `publicKey`).
    pub fn key_id(&self, author: Option<i64>) -> String {
        match author {
            None => format!("{}/fediverse/blog#main-key", self.base_url),
            Some(id) => format!(
                "{}#main-key",
                documents::author_actor_id(&self.base_url, id)
            ),
        }
    }

    /// Where fetches and deliveries may go.
    pub fn reach(&self) -> Reach {
        Reach::Public {
            allow_local: self.allow_local,
        }
    }

    /// Why the blog cannot federate from this base URL, if it cannot: other servers only
    /// fetch and deliver over HTTPS, at a name rather than a bare address.
    pub fn cannot_federate(&self) -> Option<&'static str> {
        if self.allow_local {
            return None;
        }
        let url = url::Url::parse(&self.base_url).ok()?;
        if url.scheme() != "https" {
            return Some(
                "The fediverse reaches blogs over HTTPS only: serve HTTPS (FOLIO_DOMAIN) or set \
                 FOLIO_BASE_URL to the https address a proxy serves.",
            );
        }
        if matches!(url.host(), Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)))
            || url.host_str().is_some_and(|h| h == "localhost")
        {
            return Some("The fediverse needs the blog at a domain name, not an address.");
        }
        None
    }

    /// Starts this process's worker, once; later calls do nothing. Called when the process
    /// starts with the fediverse or Webmention on, and when either is turned on or spoken to.
    /// `taker` makes comments of the Webmention replies it verifies.
    pub fn ensure_worker(self: &Arc<Self>, db: &PgPool, taker: crate::webmention::SharedTaker) {
        if !self.worker_started.swap(true, Ordering::AcqRel) {
            delivery::spawn(db.clone(), self.clone(), taker);
        }
    }

    pub fn blog<'a>(&'a self, settings: &'a Settings) -> documents::Blog<'a> {
        documents::Blog {
            base_url: &self.base_url,
            name: &settings.fediverse_name,
            title: &settings.title,
            description: &settings.description,
        }
    }
}

/// Whether a request asks for ActivityPub JSON rather than a page (without allocating: the
/// page cache asks it of every read): `application/activity+json`,
/// or `application/ld+json` with the ActivityStreams profile (a browser never sends either).
pub fn asks_for_activity(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let item = item.trim_start();
            let starts = |prefix: &str| {
                item.get(..prefix.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
            };
            starts("application/activity+json")
                || (starts("application/ld+json")
                    && item.contains("https://www.w3.org/ns/activitystreams"))
        })
}

/// A post's HTML as it leaves the blog: links and images absolute.
pub fn content_html(body_html: &str, base_url: &str) -> String {
    crate::render::sanitize::mail_html(body_html, base_url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_activitypub_accept_headers_ask_for_json() {
        let ask = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT, header::HeaderValue::from_static(value));
            asks_for_activity(&headers)
        };
        assert!(ask("application/activity+json"));
        assert!(ask(
            r#"application/ld+json; profile="https://www.w3.org/ns/activitystreams", text/html;q=0.1"#
        ));
        assert!(!ask(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        ));
        assert!(!ask("application/ld+json"));
        assert!(!ask("application/json"));
    }
}
