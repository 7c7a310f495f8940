//! One error type for every handler. The client sees a page in the blog's layout with a plain
//! message; internal details go to the log only.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// Too many wrong passwords for the account lately: try again in this many seconds.
    #[error("too many attempts")]
    TooManyAttempts { retry_after_secs: i64 },
    /// Not logged in: go to the login page, and come back to `next` afterwards.
    #[error("login required")]
    LoginRequired { next: String },
    /// The blog requires a second step this user has not set up: to the account page first.
    #[error("second step required")]
    SecondStepRequired,
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("template error: {0}")]
    Render(#[from] askama::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<crate::mail::notify::Error> for AppError {
    fn from(error: crate::mail::notify::Error) -> Self {
        match error {
            crate::mail::notify::Error::Database(error) => error.into(),
            crate::mail::notify::Error::Render(error) => AppError::Render(error),
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        if crate::db::is_unavailable(&error) {
            AppError::Unavailable(error)
        } else if crate::db::is_unstorable_text(&error) {
            AppError::BadRequest("The request contains characters that this blog cannot store.")
        } else {
            AppError::Database(error)
        }
    }
}

/// Response marker, set by `AppError`'s responses, read by `http::error_pages` (the stack every
/// response passes through): what the error page says, rendered there in the blog's layout,
/// which needs the settings a bare `IntoResponse` cannot reach.
#[derive(Debug, Clone)]
pub struct ErrorPageText {
    pub heading: &'static str,
    pub message: &'static str,
}

impl ErrorPageText {
    pub fn for_status(status: StatusCode) -> Self {
        let (heading, message) = match status.as_u16() {
            400 => (
                "Bad request",
                "The address or form could not be understood.",
            ),
            404 => (
                "Page not found",
                "Sorry, the page you were looking for in this blog does not exist.",
            ),
            405 => (
                "Method not allowed",
                "This address does not accept that kind of request.",
            ),
            408 => (
                "Request timeout",
                "The request took too long to arrive. Please try again.",
            ),
            413 => (
                "Too large",
                "What you sent is larger than this blog accepts.",
            ),
            503 => (
                "Temporarily unavailable",
                "The blog cannot reach its database right now. Please try again in a moment.",
            ),
            s if s >= 500 => (
                "Something went wrong",
                "The blog hit an unexpected error. It has been logged; please try again later.",
            ),
            _ => ("Request refused", "The blog could not handle this request."),
        };
        Self { heading, message }
    }
}

/// Response marker, set on the 503 of a database that cannot be reached (read by the admin
/// area's read-only page).
#[derive(Debug, Clone, Copy)]
pub struct DatabaseUnavailable;

/// Response marker, set by handlers answering machines (metrics, feeds), read by
/// `http::error_pages`: this 4xx/5xx body is meant for machines and is left as it is.
#[derive(Debug, Clone, Copy)]
pub struct PlainErrorBody;

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = match &self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::TooManyAttempts { retry_after_secs } => {
                let mut response = (
                    StatusCode::TOO_MANY_REQUESTS,
                    axum::Extension(ErrorPageText {
                        heading: "Too many attempts",
                        message: "The password was wrong too many times lately. Please wait a few minutes before trying again.",
                    }),
                )
                    .into_response();
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
                return response;
            }
            AppError::LoginRequired { next } => {
                let target = format!("/admin/login?next={}", crate::views::query_value(next));
                return axum::response::Redirect::to(&target).into_response();
            }
            AppError::SecondStepRequired => {
                return axum::response::Redirect::to("/admin/account?second_step=required")
                    .into_response();
            }
            AppError::Unavailable(error) => {
                tracing::warn!(%error, "database unavailable");
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::Database(error) => {
                tracing::error!(%error, "database error");
                StatusCode::INTERNAL_SERVER_ERROR
            }
            AppError::Render(error) => {
                tracing::error!(%error, "template error");
                StatusCode::INTERNAL_SERVER_ERROR
            }
            AppError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "internal error");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let mut text = ErrorPageText::for_status(status);
        if let AppError::BadRequest(message) | AppError::Forbidden(message) = self {
            text.message = message;
        }
        let mut response = (status, axum::Extension(text)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            response.extensions_mut().insert(DatabaseUnavailable);
        }
        response
    }
}
