//! Page views for the Popular Posts gadget, counted privately: a number per post per day, no
//! cookie, no address, nothing about the reader. A view costs a hash-map increment under a
//! mutex (cached pages stay fast); a background task adds the counts to PostgreSQL in one
//! statement every `FLUSH_EVERY`, and once more when the server stops.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use sqlx::PgPool;
use time::{Date, OffsetDateTime};

const FLUSH_EVERY: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
pub struct ViewCounter {
    counts: Mutex<HashMap<(i64, Date), i64>>,
    /// One batch at a time (the timer's and the last one at shutdown).
    flushing: tokio::sync::Mutex<()>,
}

impl ViewCounter {
    /// One view of `post` now (days are UTC: the gadget counts whole days back from today).
    pub fn count(&self, post: i64) {
        let day = OffsetDateTime::now_utc().date();
        if let Ok(mut counts) = self.counts.lock() {
            *counts.entry((post, day)).or_insert(0) += 1;
        }
    }

    /// Views counted and not yet written.
    pub fn pending(&self) -> i64 {
        self.counts
            .lock()
            .map(|counts| counts.values().sum())
            .unwrap_or(0)
    }

    /// Writes what was counted. On failure the counts go back, to be tried with the next batch.
    pub async fn flush(&self, db: &PgPool) -> Result<(), sqlx::Error> {
        let _turn = self.flushing.lock().await;
        let taken = match self.counts.lock() {
            Ok(mut counts) if !counts.is_empty() => std::mem::take(&mut *counts),
            _ => return Ok(()),
        };
        let mut posts = Vec::with_capacity(taken.len());
        let mut days = Vec::with_capacity(taken.len());
        let mut views = Vec::with_capacity(taken.len());
        // In key order, so that processes adding to the same rows lock them in the same order.
        let mut rows: Vec<_> = taken.iter().collect();
        rows.sort_unstable_by_key(|(key, _)| **key);
        for (&(post, day), &n) in rows {
            posts.push(post);
            days.push(day);
            views.push(n);
        }
        let written = crate::db::appearance::add_views(db, &posts, &days, &views).await;
        if written.is_err()
            && let Ok(mut counts) = self.counts.lock()
        {
            for (key, n) in taken {
                *counts.entry(key).or_insert(0) += n;
            }
        }
        written
    }

    /// Flushes every `FLUSH_EVERY` while the process runs.
    pub fn spawn_flusher(self: &std::sync::Arc<Self>, db: PgPool) {
        let counter = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(FLUSH_EVERY);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if let Err(error) = counter.flush(&db).await {
                    tracing::warn!(%error, "page views not written yet; kept for the next try");
                }
            }
        });
    }
}

/// Robots and link previewers are not readers.
pub fn is_robot(user_agent: Option<&str>) -> bool {
    let Some(agent) = user_agent else {
        return true;
    };
    let agent = agent.to_ascii_lowercase();
    agent.is_empty()
        || [
            "bot", "crawl", "spider", "slurp", "preview", "fetch", "curl", "wget", "python",
            "go-http", "headless", "monitor", "feed",
        ]
        .iter()
        .any(|word| agent.contains(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_count_and_robots_do_not() {
        assert!(!is_robot(Some(
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
        )));
        assert!(!is_robot(Some(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1"
        )));
        for robot in [
            None,
            Some(""),
            Some("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
            Some("curl/8.5.0"),
            Some("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/131.0"),
        ] {
            assert!(is_robot(robot), "{robot:?}");
        }
    }

    #[test]
    fn views_add_up_per_post_and_day() {
        let counter = ViewCounter::default();
        counter.count(1);
        counter.count(1);
        counter.count(2);
        assert_eq!(counter.pending(), 3);
    }
}
