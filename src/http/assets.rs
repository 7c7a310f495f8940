//! Static files, embedded in the binary and served under fingerprinted names
//! (`/assets/folio.3f2a9c1b.css`) so browsers may cache them for a year.

use std::sync::LazyLock;

use axum::{
    Router,
    extract::Path,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};
use sha2::{Digest, Sha256};

use crate::{error::AppError, state::AppState};

struct Asset {
    /// e.g. "folio.css"
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
    /// e.g. "/assets/folio.3f2a9c1b.css"
    url: String,
    /// e.g. "folio.3f2a9c1b.css"
    file: String,
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    [
        (
            "folio.css",
            "text/css; charset=utf-8",
            include_bytes!("../../assets/css/folio.css").as_slice(),
        ),
        (
            "admin.css",
            "text/css; charset=utf-8",
            include_bytes!("../../assets/css/admin.css").as_slice(),
        ),
        (
            "import-progress.js",
            "text/javascript; charset=utf-8",
            include_bytes!("../../assets/js/import-progress.js").as_slice(),
        ),
        (
            "favicon.svg",
            "image/svg+xml",
            include_bytes!("../../assets/img/favicon.svg").as_slice(),
        ),
    ]
    .into_iter()
    .map(|(name, content_type, bytes)| {
        let hash = hex::encode(&Sha256::digest(bytes)[..5]);
        let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
        let file = format!("{stem}.{hash}.{ext}");
        Asset {
            name,
            content_type,
            bytes,
            url: format!("/assets/{file}"),
            file,
        }
    })
    .collect()
});

/// The fingerprinted URL of an embedded asset.
pub fn url(name: &str) -> &'static str {
    ASSETS
        .iter()
        .find(|a| a.name == name)
        .map(|a| a.url.as_str())
        .unwrap_or("/assets/missing")
}

pub fn router() -> Router<AppState> {
    Router::new().route("/assets/{file}", get(serve))
}

async fn serve(Path(file): Path<String>) -> Result<Response, AppError> {
    if let Some(asset) = ASSETS.iter().find(|a| a.file == file) {
        return Ok(response(asset, "public, max-age=31536000, immutable"));
    }
    // An older fingerprint (a page cached before an upgrade): serve today's file, briefly cached.
    let stale = file.split_once('.').and_then(|(stem, rest)| {
        rest.rsplit_once('.')
            .map(|(_, ext)| format!("{stem}.{ext}"))
    });
    match stale.and_then(|name| ASSETS.iter().find(|a| a.name == name)) {
        Some(asset) => Ok(response(asset, "public, max-age=300")),
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
