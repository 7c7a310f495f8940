//! One log line and one metrics sample per request, and `/metrics` for Prometheus behind a token.

use std::time::Instant;

use axum::{
    Extension, Router,
    extract::{MatchedPath, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
};
use sha2::{Digest, Sha256};

use crate::{db, error::PlainErrorBody, state::AppState, stats::metrics::Gauge};

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// Logs `method route status latency id` (the route pattern, never the query string, so no
/// search words or tokens reach the logs) and counts the request.
pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let id = request.headers().get("x-request-id").cloned();
    let response = next.run(request).await;
    let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
    answered(
        &state,
        route,
        &method,
        response.status(),
        started,
        id.as_ref(),
    );
    response
}

/// Counts an answered request and writes its log line.
pub fn answered(
    state: &AppState,
    route: &str,
    method: &Method,
    status: StatusCode,
    started: Instant,
    id: Option<&HeaderValue>,
) {
    let latency = started.elapsed();
    let status = status.as_u16();
    let id = id.and_then(|v| v.to_str().ok()).unwrap_or("-");
    state.metrics.record(route, method, status, latency);
    tracing::info!(
        target: "folio::request",
        method = %method,
        route,
        status,
        latency_ms = latency.as_secs_f64() * 1000.0,
        request_id = id,
        "request"
    );
}

/// Prometheus text format. Without `FOLIO_METRICS_TOKEN` there is no such page; with it, the
/// scraper sends `Authorization: Bearer <token>`.
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(expected) = state.config.metrics_token.as_deref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let offered = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    // Compared as digests, so the time taken says nothing about the token.
    if Sha256::digest(offered.as_bytes()) != Sha256::digest(expected.as_bytes()) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            Extension(PlainErrorBody),
            "a metrics token is needed\n",
        )
            .into_response();
    }
    let mut gauges = pool_and_cache_gauges(&state);
    if state.reads.has_replicas() {
        gauges.extend(replica_gauges(&state));
    }
    if let Some(about) = state.https.as_ref().and_then(|https| https.serving()) {
        gauges.push(Gauge::new(
            "folio_tls_certificate_expiry_timestamp_seconds",
            "When the HTTPS certificate served expires (Unix time): alert well before it.",
            about.not_after.unix_timestamp() as f64,
        ));
    }
    gauges.extend(database_gauges(&state.db).await);
    (
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Extension(PlainErrorBody),
        state.metrics.render(&gauges),
    )
        .into_response()
}

/// The pool's connections and the page cache.
fn pool_and_cache_gauges(state: &AppState) -> Vec<Gauge> {
    let pool = &state.db;
    vec![
        Gauge::new(
            "folio_db_pool_connections",
            "Connections the pool holds.",
            f64::from(pool.size()),
        ),
        Gauge::new(
            "folio_db_pool_idle_connections",
            "Connections in the pool not in use.",
            pool.num_idle() as f64,
        ),
        Gauge::new(
            "folio_db_pool_max_connections",
            "The most connections the pool opens.",
            f64::from(pool.options().get_max_connections()),
        ),
        Gauge::new(
            "folio_page_cache_bytes",
            "Bytes of rendered pages held in memory.",
            state.pages.len_bytes() as f64,
        ),
        Gauge::new(
            "folio_page_cache_hits",
            "Requests answered from the page cache since start.",
            state.pages.hits() as f64,
        ),
        Gauge::new(
            "folio_page_cache_stale_hits",
            "Of the hits, pages whose comments had changed, sent while a reader rendered them again.",
            state.pages.stale_hits() as f64,
        ),
        Gauge::new(
            "folio_page_cache_active",
            "1 while the page cache is on and hears change notices.",
            f64::from(u8::from(state.pages.is_active())),
        ),
    ]
}

/// The primary and each replica, as public reads see them.
fn replica_gauges(state: &AppState) -> Vec<Gauge> {
    let mut gauges = vec![
        Gauge::new(
            "folio_primary_up",
            "1 while the primary answered the replica monitor's last look.",
            f64::from(u8::from(state.reads.primary_up())),
        ),
        Gauge::new(
            "folio_public_reads_primary",
            "Public reads sent to the primary since start.",
            state.reads.primary_reads() as f64,
        ),
    ];
    // Each metric's series together, as the exposition format wants.
    let replicas = state.reads.replicas();
    for replica in replicas {
        gauges.push(
            Gauge::new(
                "folio_public_reads_replica",
                "Public reads sent to each replica since start.",
                replica.reads() as f64,
            )
            .labelled("replica", replica.name.clone()),
        );
    }
    for replica in replicas {
        gauges.push(
            Gauge::new(
                "folio_replica_lag_seconds",
                "How long the primary has stood beyond what each replica replayed.",
                replica.lag().as_secs_f64(),
            )
            .labelled("replica", replica.name.clone()),
        );
    }
    for replica in replicas {
        gauges.push(
            Gauge::new(
                "folio_replica_current",
                "1 while a replica answers within the lag limit (reads may use it).",
                f64::from(u8::from(
                    replica.health() == crate::store::replicas::Health::Current,
                )),
            )
            .labelled("replica", replica.name.clone()),
        );
    }
    gauges
}

/// Comments by status, and whether the database answered for them.
async fn database_gauges(pool: &sqlx::PgPool) -> Vec<Gauge> {
    let mut gauges = Vec::new();
    match db::comments::count_by_status(pool).await {
        Ok(counts) => {
            for (status, count) in [
                ("pending", counts.pending),
                ("approved", counts.approved),
                ("spam", counts.spam),
                ("trash", counts.trash),
            ] {
                gauges.push(
                    Gauge::new("folio_comments", "Comments by status.", count as f64)
                        .labelled("status", status),
                );
            }
            gauges.push(Gauge::new(
                "folio_db_up",
                "1 when the database answered this scrape.",
                1.0,
            ));
        }
        Err(_) => gauges.push(Gauge::new(
            "folio_db_up",
            "1 when the database answered this scrape.",
            0.0,
        )),
    }
    gauges
}
