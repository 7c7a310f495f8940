//! Liveness and readiness for orchestrators and load balancers.

use std::time::Duration;

use axum::{
    Extension, Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};

use crate::{error::PlainErrorBody, state::AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// The process is up and answering.
async fn healthz() -> &'static str {
    "ok\n"
}

/// The process can serve pages: its database answers, or, while the primary is away, a
/// replica does (readers are served; writes wait), so a load balancer keeps sending readers.
async fn readyz(State(state): State<AppState>) -> Response {
    // The monitor already knows the primary is away: answer at once, as probes expect.
    if state.reads.has_replicas() && !state.reads.primary_up() {
        return if state.reads.any_replica_usable() {
            "ready: read-only, the primary database is unreachable\n".into_response()
        } else {
            not_ready()
        };
    }
    match tokio::time::timeout(Duration::from_secs(3), crate::db::ping(&state.db)).await {
        Ok(Ok(())) => "ready\n".into_response(),
        _ if state.reads.any_replica_usable() => {
            "ready: read-only, the primary database is unreachable\n".into_response()
        }
        _ => not_ready(),
    }
}

fn not_ready() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Extension(PlainErrorBody),
        "database unreachable\n",
    )
        .into_response()
}
