//! This process's copy of the filter's counts. The comment POST's first query reads the model's
//! version; when the copy is at another, one query brings the rows changed since the copy's
//! version with the model row. So every process scores with the counts as committed when the
//! comment came, with no window in which a lesson is unheard, and the scoring itself touches
//! only memory. Tokens are kept by their 64-bit keys (`tokens::key`), as in the table.

use std::{collections::HashMap, sync::RwLock, time::Instant};

use sqlx::PgPool;

use super::{
    Judgement, Message,
    score::{self, Counts},
    tokens::{key, tokens},
};
use crate::db::spam::Changes;

#[derive(Default)]
struct Copy {
    version: i64,
    totals: Counts,
    tokens: HashMap<i64, Counts>,
}

#[derive(Default)]
pub struct Model {
    copy: RwLock<Copy>,
    /// One refresh at a time: the first comments after a start (or a lesson) all find the copy
    /// behind, and one query brings it up for all of them (a whole model is 200,000 rows).
    refreshing: tokio::sync::Mutex<()>,
}

impl Model {
    fn version(&self) -> i64 {
        self.copy.read().map(|c| c.version).unwrap_or(0)
    }

    /// Takes in what changed; `whole` replaces the copy (a first load, or a model that went
    /// back in time, as after a restore from backup).
    fn absorb(&self, changes: Changes, whole: bool) {
        let Ok(mut copy) = self.copy.write() else {
            return;
        };
        if whole {
            copy.tokens.clear();
        } else if changes.version <= copy.version {
            // Nothing new, or another request already brought something newer.
            return;
        }
        copy.tokens.reserve(changes.tokens.len());
        for (key, counts) in changes.tokens {
            if counts == Counts::default() {
                copy.tokens.remove(&key);
            } else {
                copy.tokens.insert(key, counts);
            }
        }
        copy.totals = changes.model;
        copy.version = changes.version;
        if whole {
            copy.tokens.shrink_to_fit();
        }
    }

    /// Brings the copy up to the committed model.
    pub async fn refresh(&self, db: &PgPool) -> Result<(), sqlx::Error> {
        let since = self.version();
        let changes = crate::db::spam::changes_since(db, since).await?;
        if changes.version < since {
            let all = crate::db::spam::changes_since(db, 0).await?;
            self.absorb(all, true);
        } else {
            self.absorb(changes, false);
        }
        Ok(())
    }

    /// Scores a comment with the committed model as of `version` (the model's version, read
    /// with the request's first query), and records how long it took. A copy at that version
    /// scores from memory alone; any other is brought up to date first.
    pub async fn judge(
        &self,
        db: &PgPool,
        version: i64,
        message: &Message<'_>,
        min_training: i32,
    ) -> Result<Judgement, sqlx::Error> {
        let started = Instant::now();
        let tokens = tokens(message);
        if self.version() != version {
            let _one_at_a_time = self.refreshing.lock().await;
            // Another request may have brought it up while this one waited.
            if self.version() != version {
                self.refresh(db).await?;
            }
        }
        let (verdict, totals) = {
            let copy = self
                .copy
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let verdict = score::score(
                tokens
                    .iter()
                    .map(|t| (t.as_str(), copy.tokens.get(&key(t)).copied())),
                copy.totals,
            );
            (verdict, copy.totals)
        };
        let minimum = min_training.max(0).unsigned_abs();
        crate::stats::metrics::spam_scored(started.elapsed());
        Ok(Judgement {
            // With no token it knows either way, it has no opinion to act on.
            trained: totals.spam >= minimum && totals.ham >= minimum && verdict.evidence > 0,
            verdict,
        })
    }
}
