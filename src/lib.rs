//! Folio: a self-hosted blog server on PostgreSQL.
//!
//! The root holds the entry and the wiring (`cli`, `config`, `error`, `state`); every other
//! module is a folder named for its layer or its service. ARCHITECTURE.md is the map, and
//! `tests/it/architecture.rs` keeps the dependencies pointing one way.

// Layers, from the outside in.
pub mod db;
pub mod domain;
pub mod http;
pub mod render;
pub mod store;
pub mod views;

// Services, each reading and writing through `db`, never through `http`.
pub mod auth;
pub mod export;
pub mod federation;
pub mod import;
pub mod mail;
pub mod media;
pub mod outbound;
pub mod page_cache;
pub mod spam;
pub mod stats;
pub mod tls;
pub mod webmention;

// The wiring.
pub mod cli;
pub mod config;
pub mod error;
pub mod state;

pub use http::App;
pub use state::AppState;

/// The whole web application, used by `folio serve` and by the tests.
pub fn app(state: AppState) -> App {
    http::router(state)
}
