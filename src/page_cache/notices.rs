//! Change notices sent after the commit, many changes to one notice.
//!
//! A NOTIFY inside a transaction makes its commit wait for one lock per database, held through
//! the commit's WAL flush, so every notifying commit goes one at a time. A comment POST stores
//! its comment without one (migration 0021) and hands the post here. A change is sent at once
//! when no notice is on its way; the changes that come while one is gather into the next, in
//! one statement. So a single comment is heard by the other processes as soon as it was with
//! the trigger, and a wave of comments costs one notifying commit at a time rather than one per
//! comment. This process's own cache was told before the POST was answered
//! (`http::edge::page_cache`). A server that stops sends what is waiting (`flush`); should a
//! process die first, the other processes' pages of that post end within `MAX_AGE` or at its
//! next change.

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use sqlx::PgPool;
use tokio::sync::Notify;

/// After a failed notice, the next try.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Posts whose published comments changed, waiting for their notice.
#[derive(Default)]
pub struct CommentNotices {
    posts: Mutex<BTreeSet<i64>>,
    waiting: Notify,
}

impl CommentNotices {
    /// `post`'s published comments changed in a transaction that has committed.
    pub fn changed(&self, post: i64) {
        self.posts.lock().expect("notices lock").insert(post);
        self.waiting.notify_one();
    }

    /// Sends what is waiting now, in one statement; on failure it waits again. A server that
    /// stops calls this before closing its pool.
    pub async fn flush(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let posts: Vec<i64> = std::mem::take(&mut *self.posts.lock().expect("notices lock"))
            .into_iter()
            .collect();
        if posts.is_empty() {
            return Ok(());
        }
        let sent = crate::db::comments::notify_changed(pool, &posts).await;
        if sent.is_err() {
            self.posts.lock().expect("notices lock").extend(posts);
        }
        sent
    }

    /// Sends the notices for as long as `pool` is open.
    pub fn spawn_sender(self: &Arc<Self>, pool: PgPool) {
        let notices = Arc::clone(self);
        tokio::spawn(async move {
            while !pool.is_closed() {
                notices.waiting.notified().await;
                match notices.flush(&pool).await {
                    Ok(()) => {}
                    Err(sqlx::Error::PoolClosed) => return,
                    Err(error) => {
                        tracing::warn!(%error, "comment notices: will try again");
                        notices.waiting.notify_one();
                        tokio::time::sleep(RETRY_AFTER).await;
                    }
                }
            }
        });
    }
}
