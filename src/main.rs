use std::process::ExitCode;

use clap::Parser;
use folio::{
    AppState,
    config::{Cli, Command, Config, LogFormat, ServeArgs},
    db,
};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
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

async fn run(cli: Cli) -> anyhow::Result<()> {
    let pool = db::connect(cli.database_url.as_deref()).await?;
    db::migrate(&pool).await?;
    match cli.command {
        Command::Migrate => {
            println!("folio: the database is up to date");
            Ok(())
        }
        Command::Demo(args) => folio::demo::run(&pool, &args).await,
        Command::Serve(args) => serve(pool, args).await,
        Command::User(command) => folio::cli::user(&pool, command).await,
        Command::Import(args) => folio::cli::import(&pool, &args).await,
        Command::Export(args) => folio::cli::export(&pool, &args).await,
    }
}

async fn serve(pool: sqlx::PgPool, args: ServeArgs) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.addr))?;
    let local = listener.local_addr()?;
    let config = Config::from_serve_args(&args, local).map_err(|e| anyhow::anyhow!(e))?;
    let state = AppState::load(pool, config, args.secret.as_deref()).await?;
    db::maintenance::spawn(state.db.clone());
    tracing::info!(base_url = %state.config.base_url, "Folio is listening on http://{local}");
    let limits = folio::http::serve::Limits {
        client_timeout: state.config.client_timeout,
        per_address: (!state.config.trust_proxy)
            .then_some(folio::http::serve::CONNECTIONS_PER_ADDRESS),
    };
    folio::http::serve::serve(listener, folio::app(state), limits, shutdown_signal()).await;
    tracing::info!("Folio stopped");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM; requests in flight then finish before the process exits.
async fn shutdown_signal() {
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
    tracing::info!("shutting down: finishing requests in flight");
}
