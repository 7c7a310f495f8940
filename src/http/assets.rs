//! Serves the embedded static files (`crate::assets`) under their fingerprinted names, cached
//! for a year; an older fingerprint gets today's file, cached briefly.

use axum::{
    Router,
    extract::Path,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};

use crate::{
    assets::{self, Asset, Freshness},
    error::AppError,
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/assets/{file}", get(serve))
}

async fn serve(Path(file): Path<String>) -> Result<Response, AppError> {
    match assets::by_file(&file) {
        Some((asset, Freshness::Current)) => {
            Ok(response(asset, "public, max-age=31536000, immutable"))
        }
        Some((asset, Freshness::Stale)) => Ok(response(asset, "public, max-age=300")),
        None => Err(AppError::NotFound),
    }
}

fn response(asset: &Asset, cache: &'static str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        asset.bytes,
    )
        .into_response()
}
