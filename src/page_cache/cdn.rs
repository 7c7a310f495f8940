//! A CDN in front of Folio: what it is told it may keep (`Cache-Control: s-maxage`,
//! `stale-while-revalidate`), the tags it files each page under (`Surrogate-Key` for Fastly
//! and Varnish, `Cache-Tag` for Cloudflare and others), and the purge hook Folio calls after
//! every change so the CDN forgets exactly what changed.
//!
//! Tags follow the page cache's own rule for what a change touches: a change to one post's
//! comments touches that post's pages (`post-<id>`) and every listing (`lists`: they count
//! comments, and feeds list them); any other change may touch every page (`folio`: the sidebar's
//! archive and labels are on each one). Pages carry more tags (`home`, `label-…`, `feed`,
//! `archive-…`) for people who purge by hand.

use std::{sync::Arc, time::Duration};

use axum::http::HeaderValue;
use time::OffsetDateTime;
use tokio::sync::mpsc;

/// Every page's tag: purging it empties the CDN of the blog.
pub const ALL: &str = "folio";
/// Every page that is not one post's.
pub const LISTS: &str = "lists";

/// What is escaped in a tag list put into the hook's URL: all but RFC 3986's unreserved.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Changes heard within this time go to the CDN in one call.
const COALESCE: Duration = Duration::from_millis(200);
const ATTEMPTS: u32 = 5;
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct CdnConfig {
    /// `s-maxage`: 0 sends none (a hook alone, for a CDN set up to keep pages by itself).
    pub max_age: u64,
    pub stale: u64,
    /// The hook's URL with `{tags}` in it, checked to be an http(s) URL without credentials.
    purge_url: Option<String>,
    pub purge_auth: Option<String>,
}

impl CdnConfig {
    /// None when nothing CDN-related is asked for.
    pub fn new(
        max_age: u64,
        stale: u64,
        purge_url: Option<&str>,
        purge_auth: Option<&str>,
    ) -> Result<Option<Self>, String> {
        let template = purge_url.map(str::trim).filter(|u| !u.is_empty());
        if max_age == 0 && template.is_none() {
            return Ok(None);
        }
        if let Some(template) = template {
            let url = url::Url::parse(&template.replace("{tags}", "folio"))
                .map_err(|e| format!("FOLIO_CDN_PURGE_URL is not a URL: {e}"))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err("FOLIO_CDN_PURGE_URL must be an http or https URL".to_owned());
            }
            if !url.username().is_empty() || url.password().is_some() {
                return Err(
                    "FOLIO_CDN_PURGE_URL must not hold a user or password: put credentials in FOLIO_CDN_PURGE_AUTH"
                        .to_owned(),
                );
            }
        }
        Ok(Some(Self {
            max_age,
            stale,
            purge_url: template.map(str::to_owned),
            purge_auth: purge_auth
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_owned),
        }))
    }

    /// `Cache-Control` for a public page that any reader may be given until `until`: browsers
    /// check back each time (the ETag makes that a 304), the CDN keeps it `s-maxage` seconds,
    /// never past the instant the page changes by itself (a scheduled post appearing).
    pub fn cache_control(&self, until: Option<OffsetDateTime>) -> Option<HeaderValue> {
        if self.max_age == 0 {
            return None;
        }
        let mut max_age = self.max_age;
        let mut stale = self.stale;
        if let Some(until) = until {
            let left = (until - OffsetDateTime::now_utc()).whole_seconds().max(0) as u64;
            max_age = max_age.min(left);
            stale = stale.min(left.saturating_sub(max_age));
        }
        let value = if stale > 0 {
            format!("public, max-age=0, s-maxage={max_age}, stale-while-revalidate={stale}")
        } else {
            format!("public, max-age=0, s-maxage={max_age}")
        };
        HeaderValue::from_str(&value).ok()
    }

    fn purge_url_for(&self, tags: &[String]) -> Option<String> {
        let template = self.purge_url.as_deref()?;
        let joined = tags.join(" ");
        let encoded = percent_encoding::utf8_percent_encode(&joined, QUERY_VALUE).to_string();
        Some(template.replace("{tags}", &encoded))
    }
}

/// The tags of a page at `path`: `comments_of` is the one post whose page it is, `labels` the
/// addresses of the labels it is filed under.
pub fn tags_for_page(path: &str, comments_of: Option<i64>, labels: &[String]) -> String {
    let mut tags = vec![ALL.to_owned()];
    match comments_of {
        Some(post) => {
            tags.push(format!("post-{post}"));
            tags.extend(
                labels
                    .iter()
                    .filter_map(|url| url.strip_prefix("/search/label/"))
                    .map(|label| format!("label-{}", tag_safe(label))),
            );
        }
        None => {
            tags.push(LISTS.to_owned());
            if path == "/" {
                tags.push("home".to_owned());
            } else if let Some(label) = path.strip_prefix("/search/label/") {
                tags.push(format!("label-{}", tag_safe(label)));
            } else if path.starts_with("/feeds/") || path.starts_with("/atom") {
                tags.push("feed".to_owned());
            } else if path.starts_with("/search") {
                tags.push("search".to_owned());
            } else if path.starts_with("/sitemap") {
                tags.push("sitemap".to_owned());
            } else if let Some(archive) = archive_of(path) {
                tags.push(format!("archive-{archive}"));
            }
        }
    }
    tags.join(" ")
}

/// `2024` or `2024-05` for `/2024/` or `/2024/05/`.
fn archive_of(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    match parts.as_slice() {
        [year] if digits(year, 4) => Some((*year).to_owned()),
        [year, month] if digits(year, 4) && digits(month, 2) => Some(format!("{year}-{month}")),
        _ => None,
    }
}

/// Tag text: letters, digits and `-._~%` (a label's path segment is percent-encoded already).
fn tag_safe(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '%'))
        .take(100)
        .collect()
}

/// Calls the purge hook from one task: changes heard together go in one call, and a call that
/// fails is tried again (five times, backing off), so a CDN that blinks still hears of them.
pub struct Purger {
    sender: mpsc::UnboundedSender<Vec<String>>,
}

/// The task that sends the purges a `Purger` queues, once spawned.
pub struct PurgeTask {
    config: Arc<CdnConfig>,
    receiver: mpsc::UnboundedReceiver<Vec<String>>,
}

impl PurgeTask {
    /// Needs a runtime.
    pub fn spawn(self) {
        tokio::spawn(run(self.config, self.receiver));
    }
}

impl Purger {
    /// None without a purge URL: nothing to tell a CDN.
    pub fn new(config: &CdnConfig) -> Option<(Self, PurgeTask)> {
        config.purge_url.as_ref()?;
        let (sender, receiver) = mpsc::unbounded_channel();
        let task = PurgeTask {
            config: Arc::new(config.clone()),
            receiver,
        };
        Some((Self { sender }, task))
    }

    pub fn purge(&self, tags: Vec<String>) {
        let _ = self.sender.send(tags);
    }

    /// What a change notice (`page_cache::CHANNEL`) means for the CDN.
    pub fn tags_for_notice(payload: &str) -> Vec<String> {
        match payload
            .strip_prefix("comments:")
            .and_then(|id| id.parse::<i64>().ok())
        {
            Some(post) => vec![format!("post-{post}"), LISTS.to_owned()],
            None => vec![ALL.to_owned()],
        }
    }
}

async fn run(config: Arc<CdnConfig>, mut receiver: mpsc::UnboundedReceiver<Vec<String>>) {
    while let Some(first) = receiver.recv().await {
        let mut tags = first;
        tokio::time::sleep(COALESCE).await;
        while let Ok(more) = receiver.try_recv() {
            tags.extend(more);
        }
        tags.sort();
        tags.dedup();
        if tags.iter().any(|t| t == ALL) {
            tags = vec![ALL.to_owned()];
        }
        let mut delay = Duration::from_millis(500);
        for attempt in 1..=ATTEMPTS {
            match call(&config, &tags).await {
                Ok(()) => {
                    tracing::debug!(tags = tags.join(" "), "CDN purged");
                    break;
                }
                Err(error) if attempt < ATTEMPTS => {
                    tracing::warn!(%error, attempt, "CDN purge failed; trying again");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                Err(error) => {
                    tracing::error!(%error, tags = tags.join(" "), "CDN purge failed; gave up");
                }
            }
        }
    }
}

/// One POST to the hook: the tags in its URL (when the template asks) and as JSON,
/// `{"tags": [...]}`, which Cloudflare's and Fastly's purge APIs take, given the right URL.
async fn call(config: &CdnConfig, tags: &[String]) -> Result<(), String> {
    let url = config
        .purge_url_for(tags)
        .ok_or("no purge URL")?
        .parse::<url::Url>()
        .map_err(|e| e.to_string())?;
    let body = serde_json::json!({ "tags": tags }).to_string();
    let status = tokio::time::timeout(
        CALL_TIMEOUT,
        crate::outbound::post_json(&url, config.purge_auth.as_deref(), body),
    )
    .await
    .map_err(|_| "timed out".to_owned())??;
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(format!("the hook answered {status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_tagged_by_what_changes_them() {
        assert_eq!(
            tags_for_page("/2024/05/a.html", Some(7), &[]),
            "folio post-7"
        );
        assert_eq!(
            tags_for_page(
                "/2024/05/a.html",
                Some(7),
                &["/search/label/Night%20walks".into()]
            ),
            "folio post-7 label-Night%20walks",
            "a post names its labels, as the label's own page does"
        );
        assert_eq!(tags_for_page("/", None, &[]), "folio lists home");
        assert_eq!(
            tags_for_page("/search/label/Night%20walks", None, &[]),
            "folio lists label-Night%20walks"
        );
        assert_eq!(
            tags_for_page("/2024/05/", None, &[]),
            "folio lists archive-2024-05"
        );
        assert_eq!(
            tags_for_page("/2024/", None, &[]),
            "folio lists archive-2024"
        );
        assert_eq!(
            tags_for_page("/feeds/posts/default", None, &[]),
            "folio lists feed"
        );
        assert_eq!(
            Purger::tags_for_notice("comments:7"),
            vec!["post-7".to_owned(), "lists".to_owned()]
        );
        assert_eq!(Purger::tags_for_notice(""), vec!["folio".to_owned()]);
    }

    #[test]
    fn a_cdn_keeps_pages_no_longer_than_they_last() {
        let config = CdnConfig::new(300, 60, None, None).unwrap().unwrap();
        assert_eq!(
            config.cache_control(None).unwrap(),
            "public, max-age=0, s-maxage=300, stale-while-revalidate=60"
        );
        let soon = OffsetDateTime::now_utc() + time::Duration::seconds(100);
        let value = config.cache_control(Some(soon)).unwrap();
        let value = value.to_str().unwrap();
        assert!(
            value.starts_with("public, max-age=0, s-maxage=9") && !value.contains("stale"),
            "{value}"
        );
        assert!(CdnConfig::new(0, 60, None, None).unwrap().is_none());
        assert!(CdnConfig::new(0, 60, Some("ftp://x/{tags}"), None).is_err());
        assert!(CdnConfig::new(0, 60, Some("https://me:pw@x/{tags}"), None).is_err());
        let hook = CdnConfig::new(0, 0, Some("https://cdn.test/purge?t={tags}"), None)
            .unwrap()
            .unwrap();
        assert!(hook.cache_control(None).is_none());
        assert_eq!(
            hook.purge_url_for(&["post-7".into(), "lists".into()])
                .unwrap(),
            "https://cdn.test/purge?t=post-7%20lists"
        );
    }
}
