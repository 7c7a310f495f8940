//! Folio: a self-hosted blog server on PostgreSQL.

pub mod assets;
pub mod auth;
pub mod cache;
pub mod cdn;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod export;
pub mod http;
pub mod http_client;
pub mod imaging;
pub mod import;
pub mod local_postgres;
pub mod mail;
pub mod media_backfill;
pub mod media_cache;
pub mod metrics;
pub mod page_views;
pub mod render;
pub mod replicas;
pub mod spam;
pub mod state;
pub mod views;

pub use state::AppState;

/// The whole web application, used by `folio serve` and by the tests.
pub fn app(state: AppState) -> axum::Router {
    http::router(state)
}
