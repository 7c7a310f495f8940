//! All SQL lives below this module. Nothing here knows about HTTP.

pub mod appearance;
pub mod autosaves;
pub mod comments;
pub mod demo;
pub mod export;
pub mod fediverse;
pub mod feeds;
pub mod import;
pub mod labels;
pub mod links;
pub mod mail_requests;
pub mod maintenance;
pub mod media;
pub mod outbox;
pub mod posts;
pub mod replication;
pub mod secrets;
pub mod sessions;
pub mod settings;
pub mod sign_in;
pub mod spam;
pub mod subscriptions;
pub mod tls;
pub mod users;
pub mod webmention;

use std::{str::FromStr, time::Duration};

use sqlx::{
    ConnectOptions, Connection, PgConnection, PgPool, Postgres,
    migrate::MigrateDatabase,
    postgres::{PgConnectOptions, PgPoolOptions, PgSslMode},
};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// Why Folio could not start on its database, worded for the person at the terminal.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("DATABASE_URL is not a valid PostgreSQL URL: {0}")]
    BadUrl(String),
    #[error(
        "cannot reach PostgreSQL at {host}:{port}: {reason}; start it with `docker compose up -d db` or set DATABASE_URL"
    )]
    Unreachable {
        host: String,
        port: u16,
        reason: String,
    },
    #[error("PostgreSQL at {host}:{port} refused Folio: {reason}")]
    Refused {
        host: String,
        port: u16,
        reason: String,
    },
    #[error("could not migrate the database: {0}")]
    Migrate(String),
}

/// For the rest of the transaction, prepared statements run on their generic plans: the mail
/// queries of a published comment (`comments::published_notices`, `subscriptions::notices_for`)
/// are otherwise planned afresh on every run (their `= any($1)` of one id looks cheaper to a
/// custom plan), at 1.5 ms a comment for 0.06 ms of work (`bench/wave`).
pub async fn use_generic_plans(tx: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query!("set local plan_cache_mode = force_generic_plan")
        .execute(tx)
        .await?;
    Ok(())
}

/// The pool every process uses. Acquiring waits a bounded time, so an outage becomes a quick
/// 503 rather than a pile of hung requests; connections are re-made as soon as the database is back.
///
/// A connection is checked (a round trip) before it is handed out only when it has been idle
/// a while, as one that may have been cut by a restart: sqlx checks every time by default, which
/// doubled the round trips of a busy blog's one-statement requests (`bench/wave`).
pub fn pool_options() -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(16)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(3))
        .idle_timeout(Duration::from_secs(600))
        .test_before_acquire(false)
        .before_acquire(|connection, meta| {
            Box::pin(async move {
                if meta.idle_for >= CHECK_AFTER_IDLE {
                    connection.ping().await?;
                }
                Ok(true)
            })
        })
}

/// How long a pooled connection may sit unused before it is checked again.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(1);

/// The server's host, or its socket folder, as a person reads it in a message.
pub fn host_of(options: &PgConnectOptions) -> String {
    match options.get_socket() {
        Some(socket) => socket.display().to_string(),
        None => options.get_host().to_owned(),
    }
}

/// A replica's pool: a replica that stops answering is skipped by the next read, so waiting
/// long for one of its connections helps nobody.
pub fn replica_pool_options() -> PgPoolOptions {
    pool_options().acquire_timeout(Duration::from_secs(1))
}

pub async fn connect(url: &str) -> Result<PgPool, ConnectError> {
    let options =
        PgConnectOptions::from_str(url).map_err(|e| ConnectError::BadUrl(e.to_string()))?;
    if !on_this_machine(&options) || asks_for_ssl_mode(url) {
        return open_pool(options, url).await;
    }
    match open_pool(options.clone().ssl_mode(PgSslMode::Disable), url).await {
        // A server that takes this machine's connections over TLS only (`hostssl` lines).
        Err(ConnectError::Refused { reason, .. }) if wants_tls(&reason) => {
            open_pool(options, url).await
        }
        opened => opened,
    }
}

/// Whether PostgreSQL refused a connection for being in the clear ("no encryption" since 14,
/// "SSL off" before).
fn wants_tls(reason: &str) -> bool {
    reason.contains("no pg_hba.conf entry")
        && (reason.contains("no encryption") || reason.contains("SSL off"))
}

/// Whether the server is on this machine: a socket, or a loopback address.
fn on_this_machine(options: &PgConnectOptions) -> bool {
    let host = options.get_host();
    options.get_socket().is_some()
        || host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether the URL or `PGSSLMODE` says how to use TLS. Without either, sqlx (as libpq) takes
/// TLS whenever the server offers it (Debian's PostgreSQL does), and on loopback that protects
/// nothing while costing both sides CPU on every query: a server on this machine is then spoken
/// to in the clear.
fn asks_for_ssl_mode(url: &str) -> bool {
    std::env::var_os("PGSSLMODE").is_some()
        || url.split_once('?').is_some_and(|(_, query)| {
            query.split('&').any(|pair| {
                let key = pair.split('=').next().unwrap_or_default();
                key.eq_ignore_ascii_case("sslmode") || key.eq_ignore_ascii_case("ssl-mode")
            })
        })
}

/// The pool for a server given by its options (Folio's own PostgreSQL is reached this way).
pub async fn connect_with(options: PgConnectOptions) -> Result<PgPool, ConnectError> {
    let url = options.to_url_lossy();
    open_pool(options, url.as_str()).await
}

/// The pool, after one direct attempt; the database is made (from `url`) if the server does not
/// have it yet.
async fn open_pool(options: PgConnectOptions, url: &str) -> Result<PgPool, ConnectError> {
    let host = host_of(&options);
    let port = options.get_port();
    // One direct attempt first: a pool would retry until its timeout and hide the reason.
    let probe = tokio::time::timeout(
        Duration::from_secs(10),
        PgConnection::connect_with(&options),
    );
    match probe.await {
        Ok(Ok(connection)) => {
            let _ = connection.close().await;
        }
        // A server without the blog's database yet: make it, as a newcomer would expect.
        Ok(Err(sqlx::Error::Database(db))) if db.code().as_deref() == Some("3D000") => {
            Postgres::create_database(url)
                .await
                .map_err(|error| describe_connect_error(host.clone(), port, error))?;
            tracing::info!(database = options.get_database(), "created the database");
        }
        Ok(Err(error)) => return Err(describe_connect_error(host, port, error)),
        Err(_) => {
            return Err(describe_connect_error(
                host,
                port,
                sqlx::Error::PoolTimedOut,
            ));
        }
    }
    Ok(pool_options().connect_lazy_with(options))
}

fn describe_connect_error(host: String, port: u16, error: sqlx::Error) -> ConnectError {
    match error {
        sqlx::Error::Io(io) => {
            let reason = match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
                std::io::ErrorKind::TimedOut => "timed out".to_owned(),
                std::io::ErrorKind::NotFound => "no such host or socket".to_owned(),
                _ => io.to_string(),
            };
            ConnectError::Unreachable { host, port, reason }
        }
        sqlx::Error::PoolTimedOut => ConnectError::Unreachable {
            host,
            port,
            reason: "timed out".to_owned(),
        },
        sqlx::Error::Database(db) => ConnectError::Refused {
            host,
            port,
            reason: db.message().to_owned(),
        },
        other => ConnectError::Unreachable {
            host,
            port,
            reason: other.to_string(),
        },
    }
}

/// Makes the database `name` (a plain identifier) on the server `connection` is on, unless it
/// exists. For Folio's own PostgreSQL, under its setup lock, so two first starts cannot race.
pub async fn create_database_if_missing(
    connection: &mut PgConnection,
    name: &str,
) -> Result<(), sqlx::Error> {
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
            .bind(name)
            .fetch_one(&mut *connection)
            .await?;
    if !exists {
        sqlx::query(&format!("create database {name}"))
            .execute(&mut *connection)
            .await?;
    }
    Ok(())
}

pub async fn migrate(pool: &PgPool) -> Result<(), ConnectError> {
    MIGRATOR
        .run(pool)
        .await
        .map_err(|e| ConnectError::Migrate(e.to_string()))
}

/// Whether a connection can be had and answers.
pub async fn ping(pool: &PgPool) -> Result<(), sqlx::Error> {
    pool.acquire().await?.ping().await
}

/// True when the error means the database cannot be reached now (as opposed to a bug).
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        // class 08: connection exception; 57P01..57P03: admin shutdown, crash shutdown, cannot connect now
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => false,
    }
}

/// True when PostgreSQL refused text it cannot store (a NUL character): the client's input,
/// not a bug.
pub fn is_unstorable_text(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.code().as_deref() == Some("22021"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(url: &str) -> PgConnectOptions {
        PgConnectOptions::from_str(url).unwrap()
    }

    #[test]
    fn a_server_that_refuses_the_clear_is_asked_again_over_tls() {
        assert!(wants_tls(
            r#"no pg_hba.conf entry for host "127.0.0.1", user "folio", database "folio", no encryption"#
        ));
        assert!(wants_tls(
            r#"no pg_hba.conf entry for host "127.0.0.1", user "folio", database "folio", SSL off"#
        ));
        assert!(!wants_tls(
            r#"password authentication failed for user "folio""#
        ));
    }

    #[test]
    fn a_server_on_this_machine_is_spoken_to_in_the_clear_unless_the_url_asks() {
        for local in [
            "postgres://folio@127.0.0.1:5432/folio",
            "postgres://folio@localhost/folio",
            "postgres://folio@[::1]:5432/folio",
            "postgres:///folio?host=/run/postgresql",
        ] {
            assert!(on_this_machine(&options(local)), "{local}");
        }
        for remote in [
            "postgres://folio@db:5432/folio",
            "postgres://folio@10.0.0.5/folio",
        ] {
            assert!(!on_this_machine(&options(remote)), "{remote}");
        }
        if std::env::var_os("PGSSLMODE").is_none() {
            assert!(!asks_for_ssl_mode("postgres://folio@127.0.0.1/folio"));
            assert!(!asks_for_ssl_mode(
                "postgres://folio@127.0.0.1/folio?application_name=x"
            ));
        }
        assert!(asks_for_ssl_mode(
            "postgres://folio@127.0.0.1/folio?sslmode=require"
        ));
        assert!(asks_for_ssl_mode(
            "postgres://folio@127.0.0.1/folio?application_name=x&SSLMODE=verify-full"
        ));
    }
}
