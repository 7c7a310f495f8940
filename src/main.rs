use std::process::ExitCode;

use clap::Parser;
use folio::{
    AppState,
    config::{Cli, Command, Config, LogFormat, PostgresCommand, ServeArgs},
    db,
    http::serve::{Door, DoorKind},
    store::own_cluster::LocalPostgres,
};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve(_)) {
        stop_quietly_on_a_closed_pipe();
    }
    let logs = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&cli.log).unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Json => logs.json().flatten_event(true).init(),
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("folio: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// A command piped into `head` stops quietly once the reader has had enough, as other command-line
/// tools do: Rust ignores SIGPIPE, so the next print panicked instead. The server keeps ignoring
/// it, where a client gone away is an error on that one connection.
fn stop_quietly_on_a_closed_pipe() {
    // SAFETY: restoring a signal's default disposition touches no Rust state.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let database_url = cli.database_url.filter(|url| !url.trim().is_empty());
    if let Command::Postgres(command) = cli.command {
        if database_url.is_some() {
            anyhow::bail!(
                "DATABASE_URL is set: Folio uses that server, not a PostgreSQL of its own"
            );
        }
        return postgres(&cli.data_dir, command).await;
    }
    let (pool, own_postgres) = match database_url {
        Some(url) => (db::connect(&url).await?, None),
        None => {
            let (own, options) = LocalPostgres::open(&cli.data_dir).await?;
            match db::connect_with(options).await {
                Ok(pool) => (pool, Some(own)),
                Err(error) => {
                    own.close().await?;
                    return Err(error.into());
                }
            }
        }
    };
    let serving = matches!(cli.command, Command::Serve(_));
    let work = async {
        db::migrate(&pool).await?;
        match cli.command {
            Command::Migrate => {
                println!("folio: the database is up to date");
                Ok(())
            }
            Command::Demo(args) => folio::cli::demo::run(&pool, &args).await,
            Command::Serve(args) => serve(pool.clone(), args).await,
            Command::User(command) => folio::cli::user(&pool, command).await,
            Command::Import(args) => folio::cli::import(&pool, &args).await,
            Command::Export(args) => folio::cli::export(&pool, &args).await,
            Command::Spam(command) => folio::cli::spam(&pool, command).await,
            Command::Postgres(_) => unreachable!("handled above"),
        }
    };
    // `serve` stops gracefully on its own; any other command stops where it is (an import
    // rolls back), so that Folio's own PostgreSQL is still stopped below.
    let result = if serving {
        work.await
    } else {
        tokio::select! {
            result = work => result,
            () = stop_requested() => Err(anyhow::anyhow!("interrupted")),
        }
    };
    // Connections end before Folio's own PostgreSQL is stopped (when this was its last user);
    // one a background task still holds (the page cache's LISTEN) the fast shutdown ends.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), pool.close()).await;
    if let Some(own) = own_postgres
        && let Err(error) = own.close().await
    {
        eprintln!("folio: could not stop its own PostgreSQL: {error:#}");
    }
    result
}

/// `folio postgres start|stop`.
async fn postgres(data_dir: &std::path::Path, command: PostgresCommand) -> anyhow::Result<()> {
    match command {
        PostgresCommand::Start => {
            let (own, options) = LocalPostgres::open(data_dir).await?;
            let migrated = async {
                let pool = db::connect_with(options).await?;
                db::migrate(&pool).await?;
                pool.close().await;
                own.keep_running()
            }
            .await;
            if let Err(error) = migrated {
                own.close().await?;
                return Err(error);
            }
            println!("DATABASE_URL={}", own.url("folio"));
            Ok(())
        }
        PostgresCommand::Stop => {
            if folio::store::own_cluster::stop_unused(data_dir).await? {
                println!("folio: stopped the PostgreSQL in {}", data_dir.display());
            } else {
                println!(
                    "folio: the PostgreSQL in {} was not running",
                    data_dir.display()
                );
            }
            Ok(())
        }
    }
}

async fn serve(pool: sqlx::PgPool, args: ServeArgs) -> anyhow::Result<()> {
    let listener = bind(args.http_addr()).await?;
    let local = listener.local_addr()?;
    let https_listener = match args.serves_https() {
        true => Some(bind(args.https_addr).await?),
        false => None,
    };
    let https_local = https_listener
        .as_ref()
        .map(tokio::net::TcpListener::local_addr)
        .transpose()?;
    let config =
        Config::from_serve_args(&args, local, https_local).map_err(|e| anyhow::anyhow!(e))?;
    let state = AppState::load(pool, config, args.secret.as_deref()).await?;
    db::maintenance::spawn(state.db.clone());
    folio::media::backfill::spawn(state.db.clone());
    let mut doors = Vec::new();
    match (&state.https, https_listener) {
        (Some(https), Some(secure)) => {
            match &https.config.source {
                folio::tls::Source::Files { cert, key } => {
                    folio::tls::files::load(https, cert, key).map_err(|e| anyhow::anyhow!(e))?;
                }
                folio::tls::Source::Acme(_) => {
                    folio::tls::acme::serve_stored_now(&state.db, https).await?;
                }
            }
            tracing::info!(
                base_url = %state.config.base_url,
                "Folio is listening on https://{} and http://{local}",
                secure.local_addr()?
            );
            doors.push(Door {
                listener: secure,
                kind: DoorKind::https(https)?,
            });
            doors.push(Door {
                listener,
                kind: DoorKind::BesideHttps(https.clone()),
            });
        }
        _ => {
            tracing::info!(base_url = %state.config.base_url, "Folio is listening on http://{local}");
            doors.push(Door {
                listener,
                kind: DoorKind::Plain,
            });
        }
    }
    let limits = folio::http::serve::Limits {
        client_timeout: state.config.client_timeout,
        per_address: (!state.config.trust_proxy)
            .then_some(folio::http::serve::CONNECTIONS_PER_ADDRESS),
    };
    let views = state.views.clone();
    let comment_notices = state.comment_notices.clone();
    let fediverse = state.fediverse.clone();
    let db = state.db.clone();
    folio::http::serve::serve(doors, folio::app(state), limits, shutdown_signal()).await;
    // Deliveries on their way to other servers are answered and recorded, not cut off.
    fediverse.stop(std::time::Duration::from_secs(15)).await;
    // The other processes hear of the last comments before this one goes.
    if let Err(error) = comment_notices.flush(&db).await {
        tracing::warn!(%error, "the last comments' change notices could not be sent");
    }
    // The views counted since the last batch.
    if let Err(error) = views.flush(&db).await {
        tracing::warn!(%error, "the last page views could not be written");
    }
    tracing::info!("Folio stopped");
    Ok(())
}

/// Listens on `address`; all IPv6 addresses (`[::]`, the default with HTTPS) on a machine
/// without IPv6 become all IPv4 ones.
async fn bind(address: std::net::SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    let bound = match tokio::net::TcpListener::bind(address).await {
        Err(error)
            if address.ip() == std::net::Ipv6Addr::UNSPECIFIED
                && (matches!(
                    error.kind(),
                    std::io::ErrorKind::AddrNotAvailable | std::io::ErrorKind::Unsupported
                ) || error.raw_os_error() == Some(libc::EAFNOSUPPORT)) =>
        {
            let v4 = std::net::SocketAddr::from(([0, 0, 0, 0], address.port()));
            tokio::net::TcpListener::bind(v4).await
        }
        bound => bound,
    };
    bound.map_err(|e| match e.kind() {
        std::io::ErrorKind::PermissionDenied if address.port() < 1024 => anyhow::anyhow!(
            "cannot listen on {address}: {e} (ports below 1024 need root or the \
             CAP_NET_BIND_SERVICE capability: see README, \"Serving HTTPS\")"
        ),
        _ => anyhow::anyhow!("cannot listen on {address}: {e}"),
    })
}

/// Resolves on Ctrl-C or SIGTERM; requests in flight then finish before the process exits.
async fn shutdown_signal() {
    stop_requested().await;
    tracing::info!("shutting down: finishing requests in flight");
}

/// Resolves on Ctrl-C or SIGTERM.
async fn stop_requested() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
