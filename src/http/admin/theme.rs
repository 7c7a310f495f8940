//! The theme page (admins only): the theme, the designer (colours checked for contrast, fonts,
//! width, sidebar), the header, the navigation bar, the gadgets and custom CSS, with a preview
//! of the real home page before anything is saved.

use std::sync::Arc;

use axum::{
    Router,
    extract::{DefaultBodyLimit, Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;

use super::{
    Admin, AdminForm, AdminMultipart, UploadRefused, media,
    notice::{DoneQuery, Notice},
};
use crate::{
    db,
    domain::theme::{self, Appearance, AppearanceErrors, FormFields},
    error::AppError,
    http::render,
    state::{AppState, Look},
    views::admin::{AdminLayout, ThemePage},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/theme", get(page).post(save))
        .route(
            "/admin/theme/image",
            post(upload_image).layer(DefaultBodyLimit::max(
                crate::domain::image::MAX_BYTES + 64 * 1024,
            )),
        )
}

async fn page(
    State(state): State<AppState>,
    Admin(user): Admin,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AppError> {
    let mut layout = user.layout(&state, "theme", "Theme").await?;
    layout.notice = query.done.map(|done| done.text().to_owned());
    let appearance = db::appearance::load(&state.db).await?;
    let fields = theme::form_fields(&appearance);
    show(
        &state,
        layout,
        fields,
        AppearanceErrors::default(),
        None,
        StatusCode::OK,
    )
    .await
}

/// The theme page with `fields` (as stored or as typed), answered with `status`.
async fn show(
    state: &AppState,
    layout: AdminLayout,
    fields: FormFields,
    errors: AppearanceErrors,
    image_error: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let view = ThemePage::new(
        layout,
        fields,
        errors,
        db::appearance::pages(&state.db).await?,
        state.config.mail.is_some(),
        image_error,
    );
    let mut response = render(&view)?;
    *response.status_mut() = status;
    Ok(response)
}

/// The form's fields as sent, in order (the gadgets' switches are only sent when on).
async fn save(
    State(state): State<AppState>,
    AdminForm { user, form, .. }: AdminForm<Vec<(String, String)>, Admin>,
) -> Result<Response, AppError> {
    let preview = form.iter().any(|(k, v)| k == "action" && v == "preview");
    // What no page can hold goes at the boundary; custom CSS keeps its characters as typed.
    let fields: FormFields = form
        .into_iter()
        .filter(|(k, _)| k != "csrf" && k != "action")
        .map(|(k, v)| {
            let v = if k == "custom_css" {
                v
            } else {
                crate::domain::text::clean(&v)
            };
            (k, v)
        })
        .collect();
    match theme::parse_form(&fields) {
        Ok(appearance) if preview => preview_page(&state, appearance).await,
        Err(errors) if preview => Ok(preview_refused(&state, &errors)),
        Ok(appearance) => {
            db::appearance::save(&state.db, &appearance).await?;
            Ok(Notice::ThemeSaved.after("/admin/theme"))
        }
        Err(errors) => {
            let mut layout = user.layout(&state, "theme", "Theme").await?;
            layout.page_title = format!("Error: {}", layout.page_title);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            show(&state, layout, fields, *errors, None, status).await
        }
    }
}

/// The real home page in the look typed, which the theme page shows in a frame (with its
/// script) or a new tab (without).
async fn preview_page(state: &AppState, appearance: Appearance) -> Result<Response, AppError> {
    let look = Arc::new(Look::new(appearance, i64::MIN));
    state.keep_preview(look.stylesheet.clone());
    let response = crate::http::public::preview_home(state, look).await?;
    Ok(frameable(response))
}

/// What the preview shows while the form has a mistake: the reasons, in the frame or tab the
/// preview goes to (the form itself, with everything typed, stays where it was).
fn preview_refused(state: &AppState, errors: &AppearanceErrors) -> Response {
    let settings = state.last_settings();
    let mut layout = crate::views::Layout::new(&settings, &state.config, Some("Preview"), None);
    layout.noindex = true;
    let page = crate::views::public::ErrorPage {
        layout,
        status: 422,
        heading: "This look cannot be previewed yet".to_owned(),
        message: errors.messages().join(" "),
    };
    match render(&page) {
        Ok(mut response) => {
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            frameable(response)
        }
        Err(error) => error.into_response(),
    }
}

/// A preview may be shown in the theme page's frame, and is never kept.
fn frameable(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Framed by the theme page itself, and by nothing else.
    headers.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(crate::http::PREVIEW_CONTENT_SECURITY_POLICY),
    );
    response
}

/// Where an uploaded image goes.
#[derive(Debug, Deserialize)]
struct ImageQuery {
    #[serde(default)]
    slot: String,
}

/// An image for the header, the logo, the favicon or the profile, uploaded like any media and
/// put in its place at once.
async fn upload_image(
    State(state): State<AppState>,
    Query(query): Query<ImageQuery>,
    upload: Result<AdminMultipart<Admin>, UploadRefused>,
) -> Result<Response, AppError> {
    // Who may: before anything else is looked at.
    let (user, fields) = match upload {
        Ok(AdminMultipart { user, fields, .. }) => (user, Some(fields)),
        Err(UploadRefused::TooLarge(user)) => (user, None),
        Err(UploadRefused::Refused(error)) => return Err(error),
    };
    let slot = db::appearance::ImageSlot::parse(&query.slot)
        .ok_or(AppError::BadRequest("No such place for an image."))?;
    let stored = match fields {
        Some(fields) => media::store_upload(&state, &user, fields).await?,
        None => Err(media::Refusal::TooLarge),
    };
    let (hash, kind) = match stored {
        Ok(stored) => stored,
        Err(refusal) => {
            let layout = user.layout(&state, "theme", "Error: Theme").await?;
            let appearance = db::appearance::load(&state.db).await?;
            return show(
                &state,
                layout,
                theme::form_fields(&appearance),
                AppearanceErrors::default(),
                Some(refusal.message().to_owned()),
                refusal.status(),
            )
            .await;
        }
    };
    let url = format!("/media/{hash}.{}", kind.extension());
    db::appearance::set_image(&state.db, slot, &url).await?;
    Ok(Notice::ThemeImage.after("/admin/theme"))
}
