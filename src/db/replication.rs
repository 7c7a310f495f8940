//! What Folio asks PostgreSQL about streaming replication: WAL positions as byte offsets
//! (`pg_lsn - '0/0'`), so they compare as plain integers.

use sqlx::PgExecutor;

/// The primary's WAL insert position: at or after the end of every transaction committed
/// before it is read. (`pg_current_wal_lsn` may trail a commit made with
/// `synchronous_commit = off`; the insert position never does.)
pub async fn primary_position(db: impl PgExecutor<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint")
        .fetch_one(db)
        .await
}

/// The primary's WAL flushed to disk: what standbys can have (the insert position runs ahead of
/// it by a page header after a segment switch, which no standby ever reports), so the monitor
/// dates replicas by it.
pub async fn primary_flushed(db: impl PgExecutor<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select (pg_current_wal_flush_lsn() - '0/0'::pg_lsn)::bigint")
        .fetch_one(db)
        .await
}

/// A standby's state; None for a server that is not replaying WAL (a primary, or a standby
/// that has been promoted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StandbyState {
    /// WAL received and flushed from the primary.
    pub received: i64,
    /// WAL replayed: what its queries see.
    pub replayed: i64,
    /// How long ago the last transaction it replayed committed on the primary.
    pub last_replayed_age: std::time::Duration,
}

pub async fn standby_state(db: impl PgExecutor<'_>) -> Result<Option<StandbyState>, sqlx::Error> {
    // A promoted standby still answers its last replay position: recovery is what counts.
    let row: (bool, Option<i64>, Option<i64>, Option<f64>) = sqlx::query_as(
        "select pg_is_in_recovery(), \
                (pg_last_wal_receive_lsn() - '0/0'::pg_lsn)::bigint, \
                (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint, \
                extract(epoch from now() - pg_last_xact_replay_timestamp())::float8",
    )
    .fetch_one(db)
    .await?;
    Ok(match row {
        (true, received, Some(replayed), age) => Some(StandbyState {
            // A standby restored from an archive alone receives nothing by streaming.
            received: received.unwrap_or(replayed).max(replayed),
            replayed,
            last_replayed_age: std::time::Duration::from_secs_f64(age.unwrap_or(0.0).max(0.0)),
        }),
        _ => None,
    })
}

/// A standby's replay position alone (the cheapest question, asked inline by a read that
/// needs a newer position than the monitor last saw).
pub async fn replayed(db: impl PgExecutor<'_>) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "select case when pg_is_in_recovery() \
                then (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint end",
    )
    .fetch_one(db)
    .await
}
