//! Uploading images: JPEG, PNG, GIF or WebP up to 10 MB, told apart by their bytes.

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{AdminMultipart, CurrentUser, UploadRefused};
use crate::{
    db,
    domain::image::{ImageKind, MAX_BYTES},
    error::AppError,
    http::render,
    render::dates,
    state::AppState,
    views::admin::{MediaPage, MediaView},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/media", get(page).post(upload))
        // Room for a 10 MB image and the form around it.
        .layer(DefaultBodyLimit::max(MAX_BYTES + 64 * 1024))
}

#[derive(Debug, Default, Deserialize)]
struct MediaQuery {
    uploaded: Option<String>,
}

async fn page(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    Query(query): Query<MediaQuery>,
) -> Result<Response, AppError> {
    if wants_json(&headers) {
        return library(&state).await;
    }
    media_page(&state, &user, query.uploaded, None, StatusCode::OK).await
}

/// The recent uploads for the editor's picker, newest first.
async fn library(state: &AppState) -> Result<Response, AppError> {
    let tz = state.settings().await?.time_zone();
    let files: Vec<_> = db::media::recent(&state.db, 60)
        .await?
        .into_iter()
        .filter_map(|row| {
            let kind = ImageKind::from_content_type(&row.content_type)?;
            Some(serde_json::json!({
                "url": format!("/media/{}.{}", row.hash, kind.extension()),
                "uploaded": dates::date_and_time(&dates::zoned(row.created_at, &tz)),
            }))
        })
        .collect();
    Ok((
        [
            (header::VARY, "Accept"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Json(files),
    )
        .into_response())
}

async fn media_page(
    state: &AppState,
    user: &CurrentUser,
    uploaded: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let mut layout = user.layout(state, "media", "Media").await?;
    if uploaded.is_some() {
        layout.notice = Some("Uploaded. Paste its Markdown into a post.".into());
    }
    let tz = state.settings().await?.time_zone();
    let files = db::media::recent(&state.db, 60)
        .await?
        .into_iter()
        .filter_map(|row| {
            let kind = ImageKind::from_content_type(&row.content_type)?;
            Some(MediaView {
                url: format!("/media/{}.{}", row.hash, kind.extension()),
                size: format!("{:.1} KB", f64::from(row.size_bytes) / 1024.0),
                uploaded_by: row.uploaded_by.unwrap_or_default(),
                when: dates::date_and_time(&dates::zoned(row.created_at, &tz)),
                highlighted: uploaded.as_deref() == Some(row.hash.as_str()),
            })
        })
        .collect();
    let mut response = render(&MediaPage {
        layout,
        files,
        error,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

/// The editor's script asks for JSON (`Accept: application/json`); a form gets the page.
fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("application/json"))
}

async fn upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    upload: Result<AdminMultipart, UploadRefused>,
) -> Result<Response, AppError> {
    let json = wants_json(&headers);
    let (user, stored) = match upload {
        Ok(AdminMultipart { user, fields }) => {
            let stored = store_upload(&state, &user, fields).await?;
            (user, stored)
        }
        Err(UploadRefused::TooLarge(user)) => (user, Err(Refusal::TooLarge)),
        Err(UploadRefused::Refused(error)) => return Err(error),
    };
    match (stored, json) {
        (Ok((hash, kind)), true) => {
            let url = format!("/media/{hash}.{}", kind.extension());
            Ok(Json(serde_json::json!({ "url": url })).into_response())
        }
        (Ok((hash, _)), false) => {
            Ok(Redirect::to(&format!("/admin/media?uploaded={hash}")).into_response())
        }
        (Err(refusal), true) => Ok((
            refusal.status(),
            Json(serde_json::json!({ "error": refusal.message() })),
        )
            .into_response()),
        (Err(refusal), false) => {
            media_page(
                &state,
                &user,
                None,
                Some(refusal.message().to_owned()),
                refusal.status(),
            )
            .await
        }
    }
}

/// Why an upload was not kept, said the same way to a form and to the editor's script.
enum Refusal {
    Empty,
    TooLarge,
    NotAnImage,
    Unreadable,
}

impl Refusal {
    fn status(&self) -> StatusCode {
        match self {
            Refusal::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::Unreadable => StatusCode::BAD_REQUEST,
            Refusal::Empty | Refusal::NotAnImage => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    fn message(&self) -> &'static str {
        match self {
            Refusal::Empty => "Choose an image to upload.",
            Refusal::TooLarge => "That image is larger than 10 MB.",
            Refusal::NotAnImage => "That file is not a JPEG, PNG, GIF or WebP image.",
            Refusal::Unreadable => "The upload could not be read.",
        }
    }
}

/// Reads the `file` field and keeps the image under its hash.
async fn store_upload(
    state: &AppState,
    user: &CurrentUser,
    mut multipart: axum::extract::Multipart,
) -> Result<Result<(String, ImageKind), Refusal>, AppError> {
    let too_large = |status: StatusCode| {
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            Refusal::TooLarge
        } else {
            Refusal::Unreadable
        }
    };
    let mut file = None::<Vec<u8>>;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) => return Ok(Err(too_large(error.status()))),
        };
        if field.name() == Some("file") {
            match field.bytes().await {
                Ok(bytes) => file = Some(bytes.to_vec()),
                Err(error) => return Ok(Err(too_large(error.status()))),
            }
        }
    }
    let Some(bytes) = file.filter(|b| !b.is_empty()) else {
        return Ok(Err(Refusal::Empty));
    };
    if bytes.len() > MAX_BYTES {
        return Ok(Err(Refusal::TooLarge));
    }
    let Some(kind) = ImageKind::sniff(&bytes) else {
        return Ok(Err(Refusal::NotAnImage));
    };
    let hash = hex::encode(Sha256::digest(&bytes));
    db::media::store(&state.db, &hash, kind.content_type(), &bytes, user.id()).await?;
    Ok(Ok((hash, kind)))
}
