//! Import / Export for people who do not use a shell: upload an export file (any size: it is
//! streamed to disk, then imported in the background with its progress on a page any Folio
//! process can show), or download the whole blog.

use std::{
    io::BufReader,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use axum::{
    Router,
    body::Body,
    extract::{DefaultBodyLimit, Multipart, Path, State},
    http::{HeaderValue, Request, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use time::OffsetDateTime;
use tokio::io::AsyncWriteExt;
use tower::ServiceBuilder;
use tower_http::{limit::RequestBodyLimitLayer, timeout::RequestBodyTimeoutLayer};

use super::{Admin, AdminMultipart, CurrentUser, UploadRefused};
use crate::{
    db::{self, import::Job},
    domain::import::JobState,
    error::AppError,
    export,
    http::render,
    import::{self, Format, Summary},
    render::dates,
    state::AppState,
    views::admin::{ImportJobPage, ImportPage, JobStanding, JobView},
};

/// A job that has not moved for this long was cut off (its process stopped): its transaction
/// was rolled back, so nothing of it was written.
const STALLED_AFTER: Duration = Duration::from_secs(120);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/import", get(page))
        .route("/admin/import/{id}", get(job_page))
        .route("/admin/export/{format}", get(download))
}

/// The upload stack: outside the admin area's 12 MB body limit and the 15 s request deadline
/// every other route has, since an export can be hundreds of megabytes on a slow line. It has
/// its own limit (`FOLIO_IMPORT_MAX_MB`), and the body must keep arriving
/// (`FOLIO_CLIENT_TIMEOUT` between chunks).
pub fn upload_router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/admin/import/upload", post(upload))
        .layer(
            ServiceBuilder::new()
                .layer(RequestBodyTimeoutLayer::new(state.config.client_timeout))
                .layer(RequestBodyLimitLayer::new(state.config.import_max_bytes))
                .map_request(|request: Request<_>| request.map(Body::new))
                // axum's own 2 MB cap on extractors gives way to the one above.
                .layer(DefaultBodyLimit::disable()),
        )
}

async fn page(State(state): State<AppState>, Admin(user): Admin) -> Result<Response, AppError> {
    import_page(&state, &user, None, StatusCode::OK).await
}

async fn import_page(
    state: &AppState,
    user: &CurrentUser,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let layout = user.layout(state, "import", "Import / Export").await?;
    let tz = state.settings().await?.time_zone();
    let jobs = db::import::recent_jobs(&state.db, 10)
        .await?
        .iter()
        .map(|job| job_view(job, &tz))
        .collect();
    let mut response = render(&ImportPage {
        layout,
        jobs,
        error,
        max_mb: state.config.import_max_bytes / 1024 / 1024,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

fn human_bytes(bytes: i64) -> String {
    let bytes = bytes.max(0) as f64;
    if bytes >= 1024.0 * 1024.0 {
        format!("{:.1} MB", bytes / 1024.0 / 1024.0)
    } else {
        format!("{:.0} KB", (bytes / 1024.0).ceil())
    }
}

fn job_view(job: &Job, tz: &dates::TimeZone) -> JobView {
    let state = match job.state {
        JobState::Done => JobStanding::Done,
        JobState::Failed => JobStanding::Failed,
        JobState::Running if OffsetDateTime::now_utc() - job.updated_at > STALLED_AFTER => {
            JobStanding::Interrupted
        }
        JobState::Running => JobStanding::Running,
    };
    let percent = if job.bytes_total > 0 {
        (job.bytes_done.saturating_mul(100) / job.bytes_total).clamp(0, 100)
    } else {
        0
    };
    let summary = job
        .summary
        .clone()
        .and_then(|value| serde_json::from_value::<Summary>(value).ok());
    JobView {
        id: job.id,
        file_name: job.file_name.clone(),
        format: Format::parse(&job.format).map_or("", Format::label),
        state,
        percent: u8::try_from(percent).unwrap_or(100),
        done: human_bytes(job.bytes_done),
        total: human_bytes(job.bytes_total),
        started: dates::date_and_time(&dates::zoned(job.started_at, tz)),
        error: job.error.clone(),
        headline: summary.as_ref().map(|s| {
            format!(
                "{} posts, {} pages, {} comments",
                s.posts.total(),
                s.pages.total(),
                s.comments.total()
            )
        }),
        summary: summary.map(|s| s.lines()).unwrap_or_default(),
    }
}

async fn job_page(
    State(state): State<AppState>,
    Admin(user): Admin,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let job = db::import::job(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let tz = state.settings().await?.time_zone();
    let job = job_view(&job, &tz);
    let layout = user.layout(&state, "import", "Import").await?;
    render(&ImportJobPage {
        layout,
        refresh: job.state == JobStanding::Running,
        script_url: crate::render::assets::url("import-progress.js"),
        job,
    })
}

/// A temporary file that is removed when dropped, whatever happened.
struct Upload(PathBuf);

impl Drop for Upload {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn upload_path() -> Result<PathBuf, AppError> {
    let mut random = [0u8; 16];
    getrandom::getrandom(&mut random).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(std::env::temp_dir().join(format!("folio-import-{}.xml", hex::encode(random))))
}

/// A short form field (the token, the format), read without holding more than a little.
async fn small_text(field: &mut axum::extract::multipart::Field<'_>) -> Result<String, AppError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|_| AppError::BadRequest("The upload could not be read."))?
    {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > 1024 {
            return Err(AppError::BadRequest("The form could not be read."));
        }
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// What the import form sent after its token: the kind of file, and the file, saved to disk.
#[derive(Default)]
struct ImportForm {
    format: String,
    file: Option<(Upload, String, u64)>,
}

enum FormError {
    /// Over `FOLIO_IMPORT_MAX_MB`: the page says so.
    TooLarge,
    Refused(AppError),
}

impl FormError {
    fn from_multipart(
        error: &axum::extract::multipart::MultipartError,
        message: &'static str,
    ) -> Self {
        if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
            FormError::TooLarge
        } else {
            FormError::Refused(AppError::BadRequest(message))
        }
    }
}

impl From<AppError> for FormError {
    fn from(error: AppError) -> Self {
        FormError::Refused(error)
    }
}

/// Reads the form (its token already checked), streaming the file to a temporary file.
async fn read_form(multipart: &mut Multipart) -> Result<ImportForm, FormError> {
    const UNREADABLE: &str = "The upload could not be read.";
    let mut form = ImportForm::default();
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| FormError::from_multipart(&e, UNREADABLE))?
    {
        match field.name() {
            Some("format") => form.format = small_text(&mut field).await?,
            Some("file") => {
                let name = field
                    .file_name()
                    .unwrap_or("export.xml")
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(200)
                    .collect::<String>();
                let upload = Upload(upload_path()?);
                // Readable by Folio only (an export holds emails and drafts); a new name, never
                // a file or link that is already there.
                let mut file = tokio::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&upload.0)
                    .await
                    .map_err(|e| {
                        AppError::from(anyhow::anyhow!("cannot create a file for an upload: {e}"))
                    })?;
                let mut size = 0u64;
                while let Some(chunk) = field.chunk().await.map_err(|e| {
                    FormError::from_multipart(
                        &e,
                        "The upload stopped before the whole file arrived. Try again.",
                    )
                })? {
                    size += chunk.len() as u64;
                    file.write_all(&chunk).await.map_err(|e| {
                        AppError::from(anyhow::anyhow!("cannot write an upload: {e}"))
                    })?;
                }
                file.flush()
                    .await
                    .map_err(|e| AppError::from(anyhow::anyhow!("cannot write an upload: {e}")))?;
                form.file = Some((upload, name, size));
            }
            _ => {}
        }
    }
    Ok(form)
}

async fn upload(
    State(state): State<AppState>,
    upload: Result<AdminMultipart<Admin>, UploadRefused>,
) -> Result<Response, AppError> {
    let (user, form) = match upload {
        Ok(AdminMultipart {
            user,
            fields: mut multipart,
            ..
        }) => {
            let form = read_form(&mut multipart).await;
            (user, form)
        }
        Err(UploadRefused::TooLarge(user)) => (user, Err(FormError::TooLarge)),
        Err(UploadRefused::Refused(error)) => return Err(error),
    };
    let ImportForm { format, file } = match form {
        Ok(form) => form,
        Err(FormError::Refused(error)) => return Err(error),
        Err(FormError::TooLarge) => {
            let message = format!(
                "The file is larger than {} MB. Import it with `folio import` on the server, or raise FOLIO_IMPORT_MAX_MB.",
                state.config.import_max_bytes / 1024 / 1024
            );
            return import_page(&state, &user, Some(message), StatusCode::PAYLOAD_TOO_LARGE).await;
        }
    };
    let Some(format) = Format::parse(&format) else {
        return import_page(
            &state,
            &user,
            Some("Choose what kind of export the file is: Blogger or WordPress.".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let Some((upload, name, size)) = file.filter(|(_, _, size)| *size > 0) else {
        return import_page(
            &state,
            &user,
            Some("Choose the export file to import.".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let size = i64::try_from(size).unwrap_or(i64::MAX);
    let job = db::import::create_job(&state.db, format.as_str(), &name, size, user.id()).await?;
    tokio::spawn(run_job(state.db.clone(), job, format, upload));
    Ok(Redirect::to(&format!("/admin/import/{job}")).into_response())
}

/// Imports the uploaded file, telling the job row how far it got.
async fn run_job(db: sqlx::PgPool, job: i64, format: Format, upload: Upload) {
    let input = match std::fs::File::open(&upload.0) {
        Ok(file) => BufReader::with_capacity(256 * 1024, file),
        Err(error) => {
            tracing::error!(%error, job, "cannot read an uploaded export");
            let _ = db::import::finish_job(
                &db,
                job,
                None,
                Some("The uploaded file could not be read."),
            )
            .await;
            return;
        }
    };
    let bytes_read = Arc::new(AtomicU64::new(0));
    let progress = {
        let (db, bytes_read) = (db.clone(), bytes_read.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let done = i64::try_from(bytes_read.load(Ordering::Relaxed)).unwrap_or(i64::MAX);
                let _ = db::import::job_progress(&db, job, done).await;
            }
        })
    };
    // The import runs in its own task, so that even a panic in it ends here as a failed job.
    let importing = {
        let db = db.clone();
        tokio::spawn(async move { import::run(&db, format, input, bytes_read).await })
    };
    let result = importing.await;
    progress.abort();
    let finished = match result {
        Err(panic) => {
            tracing::error!(job, error = %panic, "import stopped on an internal error");
            db::import::finish_job(
                &db,
                job,
                None,
                Some("The import stopped on an internal error (see the server's log)."),
            )
            .await
        }
        Ok(Ok(summary)) => {
            tracing::info!(
                job,
                posts = summary.posts.total(),
                comments = summary.comments.total(),
                "import done"
            );
            db::import::finish_job(&db, job, serde_json::to_value(&summary).ok(), None).await
        }
        Ok(Err(error)) => {
            tracing::warn!(job, %error, "import refused");
            let message = match &error {
                import::ImportError::Read(read) => read.to_string(),
                import::ImportError::Busy => error.to_string(),
                import::ImportError::Database(_) => {
                    "The database refused the import (see the server's log).".to_owned()
                }
            };
            db::import::finish_job(&db, job, None, Some(&message)).await
        }
    };
    if let Err(error) = finished {
        tracing::error!(%error, job, "could not record the end of an import");
    }
    drop(upload);
}

/// The whole blog as a file, streamed as it is written.
async fn download(
    State(state): State<AppState>,
    _: Admin,
    Path(format): Path<String>,
) -> Result<Response, AppError> {
    let format = export::Format::parse(&format).ok_or(AppError::NotFound)?;
    let settings = state.settings().await?;
    let site = export::Site {
        base_url: state.config.base_url.clone(),
        host: state.config.host().to_owned(),
        time_zone: settings.time_zone(),
        title: settings.title.clone(),
        description: settings.description.clone(),
    };
    let (sender, receiver) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    let (finished, outcome) = tokio::sync::oneshot::channel();
    let db = state.db.clone();
    tokio::spawn(async move {
        let result = export::run(&db, format, &site, sender).await;
        if let Err(error) = &result {
            tracing::warn!(%error, "export stopped");
        }
        let _ = finished.send(result.is_ok());
    });
    // An export that stops half-way ends the download with an error, so the browser reports a
    // failed download instead of saving half a backup as if it were whole.
    let stream = futures_util::stream::unfold(
        (receiver, Some(outcome)),
        |(mut receiver, outcome)| async move {
            if let Some(chunk) = receiver.recv().await {
                return Some((Ok(chunk), (receiver, outcome)));
            }
            match outcome?.await {
                Ok(true) => None,
                _ => Some((
                    Err(std::io::Error::other("the export stopped")),
                    (receiver, None),
                )),
            }
        },
    );
    let date = OffsetDateTime::now_utc().date();
    let disposition = format!("attachment; filename=\"{date}-{}\"", format.file_name());
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .map_err(|e| anyhow::anyhow!("a bad file name: {e}"))?,
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}
