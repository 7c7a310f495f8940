//! Public reads from PostgreSQL streaming replicas (`FOLIO_DATABASE_READ_URL`).
//!
//! Every read is answered by a server that has replayed at least what it needs: the primary's
//! WAL position when this process last heard a change notice (so the page cache never keeps a
//! page older than a change it has heard of), and the reader's own last write (the signed
//! `folio_seen` cookie, so a person always sees what they just did). A replica that has
//! replayed that far, answers, and is within the lag limit serves the read; otherwise the
//! primary does. When the primary cannot be reached, replicas serve what they have (nothing
//! newer can be read anywhere) and writes wait for it to come back.
//!
//! A monitor looks at every server twice a second: the primary's position, each replica's
//! replayed position and how long ago the primary was first seen beyond it (its lag). A read
//! that needs a newer position than the monitor last saw asks the replica itself, once.

use std::{
    collections::VecDeque,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicI64, AtomicU8, AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use sqlx::PgPool;

use crate::db::replication;

/// How often the monitor looks.
pub const MONITOR_INTERVAL: Duration = Duration::from_millis(500);
/// A server that takes longer than this to say where it is counts as down.
const CHECK_TIMEOUT: Duration = Duration::from_secs(1);
/// How often a read may ask a replica inline (reads arriving together share one answer).
const INLINE_CHECK_EVERY: Duration = Duration::from_millis(5);
/// Primary positions kept to date a replica's position: ten minutes' worth.
const HISTORY: usize = 1200;
/// The default `FOLIO_REPLICA_MAX_LAG`, in seconds.
pub const DEFAULT_MAX_LAG_SECS: u64 = 10;

/// What the monitor last saw of a replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Health {
    /// Not looked at yet.
    Unknown = 0,
    /// Answering and within the lag limit.
    Current = 1,
    /// Answering, but further behind the primary than the limit.
    Lagging = 2,
    /// Not answering.
    Down = 3,
    /// Answering but not replaying WAL: a primary, or a promoted standby. Never read from,
    /// since writes to Folio's primary would not reach it.
    NotStandby = 4,
}

impl Health {
    fn from_u8(value: u8) -> Self {
        match value {
            1 => Self::Current,
            2 => Self::Lagging,
            3 => Self::Down,
            4 => Self::NotStandby,
            _ => Self::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Current => "current",
            Self::Lagging => "lagging",
            Self::Down => "down",
            Self::NotStandby => "not a standby",
        }
    }
}

pub struct Replica {
    /// host:port (or socket folder) and database, for logs and metrics; never the password.
    pub name: String,
    pool: PgPool,
    health: AtomicU8,
    replayed: AtomicI64,
    lag_ms: AtomicU64,
    /// When it was last asked its position, in ms since `Reads::started`.
    checked_ms: AtomicU64,
    reads: AtomicU64,
}

impl Replica {
    pub fn health(&self) -> Health {
        Health::from_u8(self.health.load(Ordering::Acquire))
    }

    fn set_health(&self, health: Health) {
        let old = Health::from_u8(self.health.swap(health as u8, Ordering::AcqRel));
        if old == health {
            return;
        }
        match health {
            Health::Current => {
                tracing::info!(replica = %self.name, "replica current: public reads use it");
            }
            _ => tracing::warn!(
                replica = %self.name,
                state = health.as_str(),
                "replica skipped by reads"
            ),
        }
    }

    /// May serve reads: current, or, while the primary is away, anything it has.
    /// Answered the monitor's last look, current or not.
    fn answering(&self) -> bool {
        matches!(self.health(), Health::Current | Health::Lagging)
    }

    fn usable(&self, primary_up: bool) -> bool {
        match self.health() {
            Health::Current => true,
            Health::Lagging => !primary_up,
            _ => false,
        }
    }

    pub fn lag(&self) -> Duration {
        Duration::from_millis(self.lag_ms.load(Ordering::Relaxed))
    }

    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    pub fn replayed(&self) -> i64 {
        self.replayed.load(Ordering::Acquire)
    }
}

/// Where one read goes, and the WAL position its answer is known to include.
#[derive(Clone)]
pub struct ReadFrom {
    pub pool: PgPool,
    pub seen: i64,
    /// The replica's index; None for the primary.
    pub replica: Option<usize>,
}

/// What the page layer hands a public read (a request extension): the position the reader
/// needs, and, once the handler's `ReadState` has chosen, where the read went. A route that
/// reads nothing never chooses (and is never retried or blamed on a replica).
#[derive(Clone)]
pub struct ReadSlot {
    wanted: i64,
    retry: Option<Retry>,
    chosen: Arc<Mutex<Option<ReadFrom>>>,
}

/// Where a read tried again goes.
#[derive(Clone, Copy)]
enum Retry {
    /// A replica failed it.
    OnPrimary,
    /// The primary failed it (or a replica did while the primary is away): the replica that
    /// has replayed furthest. An older page is better than none; one short of a change this
    /// process heard of is neither cached nor offered to a CDN.
    OnAnyReplica,
}

impl ReadSlot {
    pub fn new(wanted: Option<i64>) -> Self {
        Self {
            wanted: wanted.unwrap_or(i64::MIN),
            retry: None,
            chosen: Arc::default(),
        }
    }

    /// For a read tried again after `failed` failed it; None when there is nowhere else to go.
    pub fn retry_of(failed: &ReadFrom, reads: &Reads, wanted: Option<i64>) -> Option<Self> {
        let retry = match failed.replica {
            Some(_) if reads.primary_up() => Retry::OnPrimary,
            // The primary away too: another replica (the failed one is skipped by now).
            _ if reads.any_replica_answering() => Retry::OnAnyReplica,
            _ => return None,
        };
        Some(Self {
            retry: Some(retry),
            ..Self::new(wanted)
        })
    }

    /// Where this read goes: chosen on first use, the same afterwards.
    pub async fn choose(&self, reads: &Reads) -> ReadFrom {
        if let Some(read) = self.chosen() {
            return read;
        }
        let read = match self.retry {
            None => reads.choose(self.wanted).await,
            Some(Retry::OnPrimary) => reads.primary(),
            Some(Retry::OnAnyReplica) => reads.any_replica().unwrap_or_else(|| reads.primary()),
        };
        if let Ok(mut chosen) = self.chosen.lock() {
            *chosen = Some(read.clone());
        }
        read
    }

    /// Where the read went, if the handler read anything.
    pub fn chosen(&self) -> Option<ReadFrom> {
        self.chosen.lock().ok().and_then(|chosen| chosen.clone())
    }
}

pub struct Reads {
    primary: PgPool,
    /// The monitor's own connection to the primary: a pool busy with readers and writers must
    /// not look like a primary that is down.
    monitor: PgPool,
    /// Looks at the primary that failed in a row: two make it down.
    primary_failures: AtomicU64,
    /// The first primary position the monitor saw: a replica behind it is dated by its last
    /// replayed transaction, as the monitor has no older history.
    first_position: AtomicI64,
    replicas: Vec<Replica>,
    max_lag: Duration,
    primary_position: AtomicI64,
    primary_up: AtomicBool,
    must_see: AtomicI64,
    next: AtomicUsize,
    started: Instant,
    history: Mutex<VecDeque<(Instant, i64)>>,
    primary_reads: AtomicU64,
}

impl Reads {
    /// `replicas` are (name, pool) pairs.
    pub fn new(primary: PgPool, replicas: Vec<(String, PgPool)>, max_lag: Duration) -> Self {
        let monitor = crate::db::replica_pool_options()
            .max_connections(1)
            .connect_lazy_with((*primary.connect_options()).clone());
        Self {
            primary,
            monitor,
            primary_failures: AtomicU64::new(0),
            first_position: AtomicI64::new(i64::MIN),
            replicas: replicas
                .into_iter()
                .map(|(name, pool)| Replica {
                    name,
                    pool,
                    health: AtomicU8::new(Health::Unknown as u8),
                    replayed: AtomicI64::new(i64::MIN),
                    lag_ms: AtomicU64::new(0),
                    checked_ms: AtomicU64::new(0),
                    reads: AtomicU64::new(0),
                })
                .collect(),
            max_lag,
            primary_position: AtomicI64::new(i64::MIN),
            primary_up: AtomicBool::new(true),
            must_see: AtomicI64::new(i64::MIN),
            next: AtomicUsize::new(0),
            started: Instant::now(),
            history: Mutex::new(VecDeque::new()),
            primary_reads: AtomicU64::new(0),
        }
    }

    pub fn has_replicas(&self) -> bool {
        !self.replicas.is_empty()
    }

    pub fn replicas(&self) -> &[Replica] {
        &self.replicas
    }

    pub fn primary_reads(&self) -> u64 {
        self.primary_reads.load(Ordering::Relaxed)
    }

    /// Whether the primary answered the monitor's last look (always true without replicas:
    /// nothing looks).
    pub fn primary_up(&self) -> bool {
        self.primary_up.load(Ordering::Acquire)
    }

    /// Some replica may serve reads now.
    pub fn any_replica_usable(&self) -> bool {
        let primary_up = self.primary_up();
        self.replicas.iter().any(|r| r.usable(primary_up))
    }

    /// The position every read must include (while the primary is up).
    pub fn must_see(&self) -> i64 {
        self.must_see.load(Ordering::Acquire)
    }

    /// Some replica answered the monitor's last look (current or not).
    pub fn any_replica_answering(&self) -> bool {
        self.replicas.iter().any(Replica::answering)
    }

    /// The answering replica that has replayed furthest, whatever that is: for a read the
    /// server it went to failed.
    pub fn any_replica(&self) -> Option<ReadFrom> {
        (0..self.replicas.len())
            .filter(|&index| self.replicas[index].answering())
            .max_by_key(|&index| self.replicas[index].replayed())
            .map(|index| self.replica_read(index))
    }

    /// A change notice was heard, or this process wrote: the primary was at `position` after
    /// it. Reads from now on must include it.
    pub fn heard_change(&self, position: i64) {
        self.primary_position.fetch_max(position, Ordering::AcqRel);
        self.must_see.fetch_max(position, Ordering::AcqRel);
    }

    /// Where a read that must include `wanted` (the reader's own last write, or `i64::MIN`)
    /// goes.
    pub async fn choose(&self, wanted: i64) -> ReadFrom {
        if self.replicas.is_empty() {
            return self.primary();
        }
        let primary_up = self.primary_up();
        // Without the primary nothing newer than the replicas' data can be read anywhere.
        let needed = if primary_up {
            wanted.max(self.must_see.load(Ordering::Acquire))
        } else {
            i64::MIN
        };
        let count = self.replicas.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let order = (0..count).map(|i| (start + i) % count);
        for index in order.clone() {
            let replica = &self.replicas[index];
            if replica.usable(primary_up) && replica.replayed() >= needed {
                return self.replica_read(index);
            }
        }
        // Behind as last seen; a change notice usually comes before the monitor's next look,
        // and the replica has most often replayed it by now: ask.
        let now = self.elapsed_ms();
        for index in order {
            let replica = &self.replicas[index];
            let last = replica.checked_ms.load(Ordering::Relaxed);
            if !replica.usable(primary_up)
                || now.saturating_sub(last) < INLINE_CHECK_EVERY.as_millis() as u64
                || replica
                    .checked_ms
                    .compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed)
                    .is_err()
            {
                continue;
            }
            let asked = tokio::time::timeout(CHECK_TIMEOUT, replication::replayed(&replica.pool));
            match asked.await {
                Ok(Ok(Some(replayed))) => {
                    replica.replayed.fetch_max(replayed, Ordering::AcqRel);
                    if replayed >= needed {
                        return self.replica_read(index);
                    }
                }
                Ok(Ok(None)) => replica.set_health(Health::NotStandby),
                _ => replica.set_health(Health::Down),
            }
        }
        self.primary()
    }

    /// A read that failed on replica `index` because it could not be reached: skip it until the
    /// monitor sees it answer again.
    pub fn failed(&self, index: usize) {
        if let Some(replica) = self.replicas.get(index) {
            replica.set_health(Health::Down);
        }
    }

    /// A read that must go to the primary.
    pub fn primary(&self) -> ReadFrom {
        self.primary_reads.fetch_add(1, Ordering::Relaxed);
        ReadFrom {
            pool: self.primary.clone(),
            seen: self.primary_position.load(Ordering::Acquire),
            replica: None,
        }
    }

    fn replica_read(&self, index: usize) -> ReadFrom {
        let replica = &self.replicas[index];
        replica.reads.fetch_add(1, Ordering::Relaxed);
        ReadFrom {
            pool: replica.pool.clone(),
            seen: replica.replayed(),
            replica: Some(index),
        }
    }

    fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Looks at every server every `MONITOR_INTERVAL` while the primary's pool is open. Does
    /// nothing without replicas.
    pub fn spawn_monitor(self: &Arc<Self>) {
        if self.replicas.is_empty() {
            return;
        }
        let reads = Arc::clone(self);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(MONITOR_INTERVAL);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while !reads.primary.is_closed() {
                ticks.tick().await;
                reads.look().await;
            }
        });
    }

    /// One look at the primary and every replica, side by side.
    pub async fn look(&self) {
        let primary =
            tokio::time::timeout(CHECK_TIMEOUT, replication::primary_flushed(&self.monitor));
        let standbys = futures_util::future::join_all(self.replicas.iter().map(|replica| {
            tokio::time::timeout(CHECK_TIMEOUT, replication::standby_state(&replica.pool))
        }));
        let (primary, standbys) = tokio::join!(primary, standbys);
        let now = Instant::now();
        match primary {
            Ok(Ok(position)) => {
                self.primary_failures.store(0, Ordering::Relaxed);
                self.primary_position.fetch_max(position, Ordering::AcqRel);
                let _ = self.first_position.compare_exchange(
                    i64::MIN,
                    position,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                );
                if !self.primary_up.swap(true, Ordering::AcqRel) {
                    tracing::info!("primary database answering again");
                }
                if let Ok(mut history) = self.history.lock() {
                    if history.back().is_none_or(|&(_, last)| last < position) {
                        history.push_back((now, position));
                    }
                    while history.len() > HISTORY {
                        history.pop_front();
                    }
                }
            }
            // One slow answer is not an outage.
            _ if self.primary_failures.fetch_add(1, Ordering::Relaxed) == 0 => {}
            _ => {
                if self.primary_up.swap(false, Ordering::AcqRel) {
                    tracing::warn!(
                        "primary database not answering: public pages are read from replicas"
                    );
                }
            }
        }
        let checked = self.elapsed_ms();
        for (replica, state) in self.replicas.iter().zip(standbys) {
            replica.checked_ms.store(checked, Ordering::Relaxed);
            let state = match state {
                Ok(Ok(Some(state))) => state,
                Ok(Ok(None)) => {
                    replica.set_health(Health::NotStandby);
                    continue;
                }
                _ => {
                    replica.set_health(Health::Down);
                    continue;
                }
            };
            replica.replayed.fetch_max(state.replayed, Ordering::AcqRel);
            let mut lag = self.lag_of(state.replayed, now);
            if state.replayed < self.first_position.load(Ordering::Acquire) {
                lag = lag.max(state.last_replayed_age);
            }
            replica
                .lag_ms
                .store(lag.as_millis() as u64, Ordering::Relaxed);
            replica.set_health(if lag <= self.max_lag {
                Health::Current
            } else {
                Health::Lagging
            });
        }
    }

    /// How long ago the primary first stood beyond `replayed`, as far as the monitor saw: zero
    /// when the replica has everything seen.
    fn lag_of(&self, replayed: i64, now: Instant) -> Duration {
        let Ok(history) = self.history.lock() else {
            return Duration::ZERO;
        };
        history
            .iter()
            .find(|&&(_, position)| position > replayed)
            .map_or(Duration::ZERO, |&(at, _)| now.saturating_duration_since(at))
    }
}

/// A replica's name for logs: its host (or socket folder), port and database.
pub fn describe(options: &sqlx::postgres::PgConnectOptions) -> String {
    format!(
        "{}:{}/{}",
        crate::db::host_of(options),
        options.get_port(),
        options.get_database().unwrap_or("")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads() -> Reads {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .connect_lazy("postgres://127.0.0.1:1/none")
            .unwrap();
        Reads::new(
            pool.clone(),
            vec![("a".into(), pool.clone()), ("b".into(), pool)],
            Duration::from_secs(10),
        )
    }

    #[tokio::test]
    async fn lag_is_how_long_the_primary_has_stood_beyond_the_replica() {
        let reads = reads();
        let start = Instant::now();
        {
            let mut history = reads.history.lock().unwrap();
            history.push_back((start, 100));
            history.push_back((start + Duration::from_secs(1), 200));
            history.push_back((start + Duration::from_secs(2), 300));
        }
        let now = start + Duration::from_secs(5);
        assert_eq!(reads.lag_of(300, now), Duration::ZERO, "has all");
        assert_eq!(reads.lag_of(250, now), Duration::from_secs(3));
        assert_eq!(reads.lag_of(150, now), Duration::from_secs(4));
        assert_eq!(reads.lag_of(i64::MIN, now), Duration::from_secs(5));
    }

    #[tokio::test]
    async fn reads_go_to_a_replica_that_has_what_they_need_else_to_the_primary() {
        let reads = reads();
        for replica in &reads.replicas {
            replica.set_health(Health::Current);
            // Just asked: no inline question (the pools lead nowhere).
            replica
                .checked_ms
                .store(reads.elapsed_ms() + 60_000, Ordering::Relaxed);
        }
        reads.replicas[0].replayed.store(500, Ordering::Release);
        reads.replicas[1].replayed.store(900, Ordering::Release);
        reads.primary_position.store(1000, Ordering::Release);
        assert!(reads.choose(i64::MIN).await.replica.is_some());
        let read = reads.choose(800).await;
        assert_eq!((read.replica, read.seen), (Some(1), 900));
        assert_eq!(reads.choose(950).await.replica, None, "nobody has it");
        reads.heard_change(600);
        for _ in 0..4 {
            assert_eq!(reads.choose(i64::MIN).await.replica, Some(1));
        }
        reads.replicas[1].set_health(Health::Lagging);
        assert_eq!(reads.choose(i64::MIN).await.replica, None);
        // The primary away: whatever the replicas have, lagging or not.
        reads.primary_up.store(false, Ordering::Release);
        assert!(reads.choose(5000).await.replica.is_some());
        reads.replicas[0].set_health(Health::Down);
        reads.replicas[1].set_health(Health::Down);
        assert_eq!(reads.choose(i64::MIN).await.replica, None);
    }
}
