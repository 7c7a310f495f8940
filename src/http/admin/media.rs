//! Uploading images: JPEG, PNG, GIF or WebP up to 10 MB, told apart by their bytes.

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{AdminForm, AdminMultipart, CurrentUser, UploadRefused, notice::Notice};
use crate::{
    db::{self, media::NewImage},
    domain::{
        image::{ImageKind, MAX_BYTES},
        role::Role,
    },
    error::AppError,
    http::render,
    media::processing::{self, ImagingError},
    render::dates,
    state::AppState,
    views::admin::{MediaPage, MediaView},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/media", get(page).post(upload))
        .route("/admin/media/{hash}/alt", post(set_alt))
        .route("/admin/media/{hash}/delete", post(delete))
        // Room for a 10 MB image and the form around it.
        .layer(DefaultBodyLimit::max(MAX_BYTES + 64 * 1024))
}

const LIBRARY_SIZE: i64 = 60;

#[derive(Debug, Default, Deserialize)]
struct MediaQuery {
    uploaded: Option<String>,
    q: Option<String>,
    #[serde(default, deserialize_with = "Notice::lenient")]
    done: Option<Notice>,
}

async fn page(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    Query(query): Query<MediaQuery>,
) -> Result<Response, AppError> {
    let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if wants_json(&headers) {
        return library(&state, q).await;
    }
    let notice = match query.done {
        Some(done) => Some(done.text().to_owned()),
        None if query.uploaded.is_some() => {
            Some("Uploaded. Drop it into a post, or paste its Markdown.".to_owned())
        }
        _ => None,
    };
    let shown = Shown {
        uploaded: query.uploaded,
        q: q.map(str::to_owned),
        notice,
        error: None,
    };
    media_page(&state, &user, shown, StatusCode::OK).await
}

/// The library for the editor's picker, newest first.
async fn library(state: &AppState, q: Option<&str>) -> Result<Response, AppError> {
    let tz = state.settings().await?.time_zone();
    let files: Vec<_> = db::media::library(&state.db, q, LIBRARY_SIZE)
        .await?
        .into_iter()
        .filter_map(|row| {
            let kind = ImageKind::from_content_type(&row.content_type)?;
            Some(serde_json::json!({
                "url": format!("/media/{}.{}", row.hash, kind.extension()),
                "name": row.name,
                "alt": row.alt,
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

/// What the library page shows around its list.
#[derive(Default)]
struct Shown {
    /// The hash just uploaded, to highlight.
    uploaded: Option<String>,
    q: Option<String>,
    notice: Option<String>,
    error: Option<String>,
}

async fn media_page(
    state: &AppState,
    user: &CurrentUser,
    shown: Shown,
    status: StatusCode,
) -> Result<Response, AppError> {
    let mut layout = user.layout(state, "media", "Media").await?;
    layout.notice = shown.notice;
    if shown.error.is_some() {
        layout.page_title = "Error: Media".into();
    }
    let tz = state.settings().await?.time_zone();
    let files = db::media::library(&state.db, shown.q.as_deref(), LIBRARY_SIZE)
        .await?
        .into_iter()
        .filter_map(|row| {
            let kind = ImageKind::from_content_type(&row.content_type)?;
            Some(MediaView {
                url: format!("/media/{}.{}", row.hash, kind.extension()),
                may_change: may_change(user, &row),
                may_delete: may_change(user, &row)
                    && (row.used_in_ids.is_empty() || user.role >= Role::Editor),
                size: format!("{:.1} KB", f64::from(row.size_bytes) / 1024.0),
                dimensions: match (row.width, row.height) {
                    (Some(w), Some(h)) if w > 0 && h > 0 => format!("{w} × {h}"),
                    _ => String::new(),
                },
                uploaded_by: row.uploaded_by.unwrap_or_default(),
                when: dates::date_and_time(&dates::zoned(row.created_at, &tz)),
                highlighted: shown.uploaded.as_deref() == Some(row.hash.as_str()),
                used_in: row
                    .used_in_ids
                    .into_iter()
                    .zip(row.used_in_titles)
                    .map(|(id, title)| (format!("/admin/posts/{id}"), title))
                    .collect(),
                name: row.name,
                alt: row.alt,
                hash: row.hash,
            })
        })
        .collect();
    let mut response = render(&MediaPage {
        layout,
        files,
        q: shown.q.unwrap_or_default(),
        error: shown.error,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

/// Editors change any image; an author the ones they uploaded.
fn may_change(user: &CurrentUser, row: &db::media::MediaRow) -> bool {
    user.role >= Role::Editor || row.uploaded_by_id == Some(user.id())
}

/// The image if it exists and this user may change it.
async fn changeable(
    state: &AppState,
    user: &CurrentUser,
    hash: &str,
) -> Result<db::media::MediaRow, AppError> {
    let row = db::media::find_row(&state.db, hash)
        .await?
        .ok_or(AppError::NotFound)?;
    if !may_change(user, &row) {
        return Err(AppError::Forbidden(
            "Only editors, or the person who uploaded it, may change this image.",
        ));
    }
    Ok(row)
}

#[derive(Debug, Default, Deserialize)]
struct AltForm {
    #[serde(default)]
    alt: String,
}

/// Keeps an image's alt text (the editor's picker offers it when the image is inserted again).
async fn set_alt(
    State(state): State<AppState>,
    Path(hash): Path<String>,
    headers: HeaderMap,
    AdminForm { user, form, .. }: AdminForm<AltForm>,
) -> Result<Response, AppError> {
    changeable(&state, &user, &hash).await?;
    let alt = crate::domain::text::clean(form.alt.trim());
    if alt.chars().count() > MAX_ALT_CHARS {
        return Err(AppError::BadRequest(
            "Alt text can have at most 1,000 characters.",
        ));
    }
    db::media::set_alt(&state.db, &hash, &alt).await?;
    if wants_json(&headers) {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(Notice::AltSaved.after("/admin/media"))
}

const MAX_ALT_CHARS: usize = 1_000;

#[derive(Debug, Default, Deserialize)]
struct DeleteForm {
    /// Ticked: delete it even though posts show it.
    #[serde(default)]
    even_if_used: String,
}

/// Deletes an image and its copies; refused while a post shows it, unless that was confirmed.
async fn delete(
    State(state): State<AppState>,
    Path(hash): Path<String>,
    AdminForm { user, form, .. }: AdminForm<DeleteForm>,
) -> Result<Response, AppError> {
    let row = changeable(&state, &user, &hash).await?;
    // An author may not pull an image out of posts they may not edit.
    if !row.used_in_ids.is_empty() && user.role < Role::Editor {
        return Err(AppError::Forbidden(
            "That image is used in a post: only an editor can delete it now.",
        ));
    }
    if !row.used_in_ids.is_empty() && form.even_if_used.is_empty() {
        let titles = row
            .used_in_titles
            .iter()
            .map(|title| format!("“{title}”"))
            .collect::<Vec<_>>()
            .join(", ");
        let shown = Shown {
            uploaded: Some(row.hash.clone()),
            error: Some(format!(
                "That image is shown by {titles}: deleting it would leave a hole there. Tick “Delete even though it is used” to delete it anyway."
            )),
            ..Shown::default()
        };
        return media_page(&state, &user, shown, StatusCode::CONFLICT).await;
    }
    db::media::delete(&state.db, &hash).await?;
    // This process forgets it at once; every other one when it hears the deletion's notice.
    state.media.remove(&hash);
    Ok(Notice::ImageDeleted.after("/admin/media"))
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
        Ok(AdminMultipart { user, fields, .. }) => {
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
            let shown = Shown {
                error: Some(refusal.message().to_owned()),
                ..Shown::default()
            };
            media_page(&state, &user, shown, refusal.status()).await
        }
    }
}

/// Images one person may upload in an hour (a gallery's worth, well beyond a post's).
const UPLOADS_PER_HOUR: db::mail_requests::Limit = db::mail_requests::Limit {
    count: 100,
    window_secs: 3600.0,
};

/// Why an upload was not kept, said the same way to a form and to the editor's script.
pub(super) enum Refusal {
    Empty,
    TooLarge,
    NotAnImage,
    Unreadable,
    TooManyPixels,
    Damaged,
    /// Over the uploads one person may make in an hour.
    TooMany,
}

impl Refusal {
    pub(super) fn status(&self) -> StatusCode {
        match self {
            Refusal::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::TooMany => StatusCode::TOO_MANY_REQUESTS,
            Refusal::Unreadable => StatusCode::BAD_REQUEST,
            Refusal::Empty | Refusal::NotAnImage | Refusal::TooManyPixels | Refusal::Damaged => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
        }
    }

    pub(super) fn message(&self) -> &'static str {
        match self {
            Refusal::Empty => "Choose an image to upload.",
            Refusal::TooLarge => "That image is larger than 10 MB.",
            Refusal::NotAnImage => "That file is not a JPEG, PNG, GIF or WebP image.",
            Refusal::Unreadable => "The upload could not be read.",
            Refusal::TooManyPixels => {
                "That image is too big to process: more than 12,000 pixels wide or high, 50 megapixels, or 200 MB of pixels (16-bit colour counts double)."
            }
            Refusal::TooMany => {
                "You have uploaded 100 images in the last hour: please wait a little before the next."
            }
            Refusal::Damaged => "That image could not be read: the file may be damaged.",
        }
    }
}

/// Reads the `file` field and keeps the image under its hash.
pub(super) async fn store_upload(
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
    let mut name = String::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) => return Ok(Err(too_large(error.status()))),
        };
        if field.name() == Some("file") {
            name = field.file_name().unwrap_or("").to_owned();
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
    // Processing takes a core for a second or two: one person cannot keep it busy.
    let mut tx = state.db.begin().await?;
    let key = format!("upload-user:{}", user.id());
    let allowed = db::mail_requests::allow(&mut tx, &[(&key, UPLOADS_PER_HOUR)]).await?;
    tx.commit().await?;
    if !allowed {
        return Ok(Err(Refusal::TooMany));
    }
    // Upright, without its metadata (a phone's photo says where it was taken), with smaller
    // copies: made on the blocking pool, one image at a time.
    let processed = match processing::process_in_background(bytes, kind).await {
        Ok(processed) => processed,
        Err(ImagingError::TooManyPixels) => return Ok(Err(Refusal::TooManyPixels)),
        Err(error) => {
            tracing::info!(%error, "an uploaded image could not be processed");
            return Ok(Err(Refusal::Damaged));
        }
    };
    let hash = hex::encode(Sha256::digest(&processed.bytes));
    let name = crate::domain::text::clean(&name);
    let image = NewImage {
        hash: &hash,
        processed: &processed,
        name: name.trim(),
        uploaded_by: user.id(),
    };
    db::media::store(&state.db, &image).await?;
    Ok(Ok((hash, kind)))
}
