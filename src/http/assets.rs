//! Serves the embedded static files (`crate::render::assets`) under their fingerprinted names, cached
//! for a year; an older fingerprint gets today's file, cached briefly.

use axum::{
    Router,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

use crate::{
    error::AppError,
    render::assets::{self, Asset, Freshness},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/assets/{file}", get(serve))
        .route("/assets/site/{file}", get(site_stylesheet))
}

/// The blog's generated stylesheet (`render::theme`), or one being previewed. A fingerprint
/// that is not current (a page kept elsewhere from before a change) is sent on to today's: a
/// file's bytes always match its name, so the year-long caching can never keep the wrong ones.
async fn site_stylesheet(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, AppError> {
    let css = match state.stylesheet(&file) {
        Some(css) => css,
        None => {
            let site = state.site().await?;
            let look = state.look(&site).await?;
            if look.stylesheet.file == file {
                look.stylesheet.css.clone()
            } else if file.ends_with(".css") {
                return Ok((
                    StatusCode::TEMPORARY_REDIRECT,
                    [
                        (header::LOCATION, look.stylesheet.url.clone()),
                        (header::CACHE_CONTROL, "no-store".to_owned()),
                    ],
                )
                    .into_response());
            } else {
                return Err(AppError::NotFound);
            }
        }
    };
    let cache = "public, max-age=31536000, immutable";
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        css,
    )
        .into_response())
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
