//! Uploaded images at `/media/{hash}.{ext}`: the name is the content's hash, so they are
//! cached for a year.

use axum::{
    Router,
    extract::{Path, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};

use crate::{db, domain::image::ImageKind, error::AppError, state::AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/media/{file}", get(serve))
}

async fn serve(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, AppError> {
    let (hash, ext) = file.split_once('.').ok_or(AppError::NotFound)?;
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::NotFound);
    }
    let media = db::media::find(&state.db, hash)
        .await?
        .ok_or(AppError::NotFound)?;
    let kind = ImageKind::from_content_type(&media.content_type).ok_or(AppError::NotFound)?;
    if kind.extension() != ext {
        return Err(AppError::NotFound);
    }
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(kind.content_type()),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        media.bytes,
    )
        .into_response())
}
