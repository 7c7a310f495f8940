//! What Folio's own HTTPS (`tls`) asks of the HTTP side: the CA's HTTP-01 challenges answered
//! at `/.well-known/acme-challenge/{token}`, plain HTTP sent to HTTPS (308) once a certificate
//! is served, and `Strict-Transport-Security` on HTTPS answers when the operator asks for it.

use axum::{
    Router,
    extract::{Path, State},
    http::{HeaderValue, Request, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

use crate::{error::PlainErrorBody, state::AppState, tls::Https};

const CHALLENGES: &str = "/.well-known/acme-challenge/";

pub fn router() -> Router<AppState> {
    Router::new().route("/.well-known/acme-challenge/{token}", get(challenge))
}

/// The key authorization the CA expects for `token`, whichever process asked for it.
async fn challenge(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    if state.https.is_none() {
        return not_found();
    }
    match crate::db::tls::challenge(&state.db, &token).await {
        Ok(Some(answer)) => (
            [
                (header::CONTENT_TYPE, "application/octet-stream"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            answer,
        )
            .into_response(),
        Ok(None) => not_found(),
        Err(error) => {
            tracing::error!(%error, "cannot read an ACME challenge");
            let mut response = (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CACHE_CONTROL, "no-store")],
                "the database is unavailable\n",
            )
                .into_response();
            response.extensions_mut().insert(PlainErrorBody);
            response
        }
    }
}

/// A plain "not found" for the CA (no blog page around it), never kept by a cache.
fn not_found() -> Response {
    let mut response = (
        StatusCode::NOT_FOUND,
        [(header::CACHE_CONTROL, "no-store")],
        "no such challenge\n",
    )
        .into_response();
    response.extensions_mut().insert(PlainErrorBody);
    response
}

/// For a request on plain HTTP beside Folio's HTTPS: the 308 to the same address over HTTPS,
/// once a certificate is served (before that the blog answers on plain HTTP, rather than
/// sending readers to a handshake that fails). The CA's challenges are never redirected.
pub fn to_https<B>(request: &Request<B>, https: &Https) -> Option<Response> {
    if request.uri().path().starts_with(CHALLENGES) || !https.is_ready() {
        return None;
    }
    let names = &https.config.names;
    let asked = request
        .headers()
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .or_else(|| request.uri().host())
        .map(|host| host.rsplit_once(':').map_or(host, |(name, _)| name))
        .map(|host| host.trim_end_matches('.').to_ascii_lowercase());
    // Only to the blog's own names: a Host header cannot send readers elsewhere.
    let host = asked
        .filter(|host| names.contains(host))
        .unwrap_or_else(|| names[0].clone());
    let port = match https.config.https_port {
        443 => String::new(),
        port => format!(":{port}"),
    };
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |path| path.as_str());
    let location = HeaderValue::try_from(format!("https://{host}{port}{path}")).ok()?;
    Some(
        (
            StatusCode::PERMANENT_REDIRECT,
            [(header::LOCATION, location)],
        )
            .into_response(),
    )
}

/// The `Strict-Transport-Security` value HTTPS answers carry; none unless asked for.
pub fn hsts(https: &Https) -> Option<HeaderValue> {
    (https.config.hsts_max_age > 0)
        .then(|| HeaderValue::try_from(format!("max-age={}", https.config.hsts_max_age)).ok())
        .flatten()
}
