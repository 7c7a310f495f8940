//! Uploaded images at `/media/{hash}.{ext}`: the name is the content's hash, so they are
//! cached for a year, tagged with that hash (a browser that asks again gets a 304) and kept
//! in memory for the next reader (`media::cache`).

use axum::{
    Router,
    body::Bytes,
    extract::Path,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

use super::edge::extract::ReadState;
use crate::{db, domain::image::ImageKind, error::AppError, state::AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/media/{file}", get(serve))
}

const CACHE_CONTROL: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");

async fn serve(
    ReadState(state): ReadState,
    Path(file): Path<String>,
    request_headers: HeaderMap,
) -> Result<Response, AppError> {
    let (stem, ext) = file.split_once('.').ok_or(AppError::NotFound)?;
    let (hash, width) = match stem.split_once('-') {
        Some((hash, width)) => (hash, Some(width)),
        None => (stem, None),
    };
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::NotFound);
    }
    if let Some(width) = width {
        return serve_variant(&state, &file, hash, width, ext, &request_headers).await;
    }
    let tag = HeaderValue::from_str(&format!("\"{hash}\"")).map_err(|_| AppError::NotFound)?;
    let headers = [
        (header::ETAG, tag.clone()),
        (header::CACHE_CONTROL, CACHE_CONTROL),
    ];
    // A browser asking again already has these bytes: only the name is checked, not read.
    if request_headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|asked| super::edge::etag::matches(asked, &tag))
    {
        let content_type = match state.media.get(hash) {
            Some((content_type, _)) => Some(content_type),
            None => db::media::content_type_of(&state.db, hash).await?,
        };
        return match content_type
            .as_deref()
            .and_then(ImageKind::from_content_type)
        {
            Some(kind) if kind.extension() == ext => {
                Ok((StatusCode::NOT_MODIFIED, headers).into_response())
            }
            _ => Err(AppError::NotFound),
        };
    }
    let (content_type, bytes) = match state.media.get(hash) {
        Some(image) => image,
        None => {
            let media = db::media::find(&state.db, hash)
                .await?
                .ok_or(AppError::NotFound)?;
            let bytes = Bytes::from(media.bytes);
            state.media.insert(hash, &media.content_type, bytes.clone());
            (media.content_type, bytes)
        }
    };
    let kind = ImageKind::from_content_type(&content_type).ok_or(AppError::NotFound)?;
    if kind.extension() != ext {
        return Err(AppError::NotFound);
    }
    Ok((
        headers,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(kind.content_type()),
        )],
        bytes,
    )
        .into_response())
}

/// A smaller copy, `/media/{hash}-{width}.{ext}`: named by its image's hash, so it never changes
/// either.
async fn serve_variant(
    state: &AppState,
    file: &str,
    hash: &str,
    width: &str,
    ext: &str,
    request_headers: &HeaderMap,
) -> Result<Response, AppError> {
    let width_text = width;
    let width: i32 = width_text.parse().map_err(|_| AppError::NotFound)?;
    // One spelling per copy (not `0480` or `+480`): names are cache keys.
    if width.to_string() != width_text {
        return Err(AppError::NotFound);
    }
    let kind = ImageKind::from_extension(ext).ok_or(AppError::NotFound)?;
    let tag = HeaderValue::from_str(&format!("\"{hash}-{width}-{ext}\""))
        .map_err(|_| AppError::NotFound)?;
    let headers = [
        (header::ETAG, tag.clone()),
        (header::CACHE_CONTROL, CACHE_CONTROL),
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static(kind.content_type()),
        ),
    ];
    let cached = state.media.get(file);
    // A browser asking again already has these bytes: only whether the copy exists is checked.
    if request_headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|asked| super::edge::etag::matches(asked, &tag))
    {
        let exists = cached.is_some()
            || db::media::has_variant(&state.db, hash, width, kind.content_type()).await?;
        return if exists {
            Ok((StatusCode::NOT_MODIFIED, headers).into_response())
        } else {
            Err(AppError::NotFound)
        };
    }
    let bytes = match cached {
        Some((_, bytes)) => bytes,
        None => {
            let bytes = db::media::find_variant(&state.db, hash, width, kind.content_type())
                .await?
                .ok_or(AppError::NotFound)?;
            let bytes = Bytes::from(bytes);
            state.media.insert(file, kind.content_type(), bytes.clone());
            bytes
        }
    };
    Ok((headers, bytes).into_response())
}
