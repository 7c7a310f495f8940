//! Uploading images: JPEG, PNG, GIF or WebP up to 10 MB, told apart by their bytes.

use axum::{
    Router,
    extract::{DefaultBodyLimit, Query, State},
    http::StatusCode,
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
    Query(query): Query<MediaQuery>,
) -> Result<Response, AppError> {
    media_page(&state, &user, query.uploaded, None, StatusCode::OK).await
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

async fn upload(
    State(state): State<AppState>,
    upload: Result<AdminMultipart, UploadRefused>,
) -> Result<Response, AppError> {
    let AdminMultipart {
        user,
        fields: mut multipart,
    } = match upload {
        Ok(upload) => upload,
        Err(UploadRefused::TooLarge(user)) => return too_large(&state, &user).await,
        Err(UploadRefused::Refused(error)) => return Err(error),
    };
    let mut file = None::<Vec<u8>>;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) if error.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return too_large(&state, &user).await;
            }
            Err(_) => return Err(AppError::BadRequest("The upload could not be read.")),
        };
        if field.name() == Some("file") {
            match field.bytes().await {
                Ok(bytes) => file = Some(bytes.to_vec()),
                Err(error) if error.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    return too_large(&state, &user).await;
                }
                Err(_) => return Err(AppError::BadRequest("The upload could not be read.")),
            }
        }
    }
    let refuse = |message: &str| {
        media_page(
            &state,
            &user,
            None,
            Some(message.to_owned()),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    let Some(bytes) = file.filter(|b| !b.is_empty()) else {
        return refuse("Choose an image to upload.").await;
    };
    if bytes.len() > MAX_BYTES {
        return too_large(&state, &user).await;
    }
    let Some(kind) = ImageKind::sniff(&bytes) else {
        return refuse("That file is not a JPEG, PNG, GIF or WebP image.").await;
    };
    let hash = hex::encode(Sha256::digest(&bytes));
    db::media::store(&state.db, &hash, kind.content_type(), &bytes, user.id()).await?;
    Ok(Redirect::to(&format!("/admin/media?uploaded={hash}")).into_response())
}

async fn too_large(state: &AppState, user: &CurrentUser) -> Result<Response, AppError> {
    media_page(
        state,
        user,
        None,
        Some("That image is larger than 10 MB.".into()),
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await
}
