//! The Email page (admins only): how mail goes out, the queue with each message's state and the
//! server's last answer, *Retry* for failed messages, and *Send a test email*.

use axum::{
    Router,
    extract::{Path, Query, State},
    http::header,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;

use super::{
    Admin, AdminForm,
    notice::{DoneQuery, Notice},
};
use crate::{
    db::{self, outbox::MailKind},
    error::AppError,
    http::render,
    mail::{Security, messages, notify},
    render::dates,
    state::AppState,
    views::admin::{EmailPage, FollowerView, MailRowView, SubscribersPage},
};

const SHOWN: i64 = 100;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/email", get(page))
        .route("/admin/email/test", post(send_test))
        .route("/admin/email/{id}/retry", post(retry))
        .route("/admin/subscribers", get(subscribers))
        .route("/admin/subscribers.csv", get(subscribers_csv))
        .route("/admin/subscribers/{id}/remove", post(remove_subscriber))
}

async fn subscribers(
    State(state): State<AppState>,
    Admin(user): Admin,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AppError> {
    let mut layout = user.layout(&state, "email", "Followers").await?;
    layout.notice = query.done.map(|done| done.text().to_owned());
    let tz = state.settings().await?.time_zone();
    let followers = db::subscriptions::followers(&state.db)
        .await?
        .into_iter()
        .map(|f| FollowerView {
            id: f.id,
            email: f.email,
            since: dates::date_and_time(&dates::zoned(f.since, &tz)),
            confirmed: f.confirmed,
        })
        .collect();
    render(&SubscribersPage {
        layout,
        counts: db::subscriptions::counts(&state.db).await?,
        followers,
    })
}

/// The followers as CSV (email, since, confirmed), for moving to another service.
async fn subscribers_csv(State(state): State<AppState>, _: Admin) -> Result<Response, AppError> {
    let mut csv = String::from("email,since,confirmed\r\n");
    for follower in db::subscriptions::followers(&state.db).await? {
        let since = follower
            .since
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        csv.push_str(&format!(
            "{},{since},{}\r\n",
            csv_field(&follower.email),
            if follower.confirmed { "yes" } else { "no" }
        ));
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"followers.csv\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        csv,
    )
        .into_response())
}

/// A CSV field: quoted when it needs to be, and never read as a formula by a spreadsheet.
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

async fn remove_subscriber(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    AdminForm { .. }: AdminForm<Empty, Admin>,
) -> Result<Response, AppError> {
    if !db::subscriptions::remove(&state.db, id).await? {
        return Err(AppError::NotFound);
    }
    Ok(Notice::FollowerRemoved.after("/admin/subscribers"))
}

async fn page(
    State(state): State<AppState>,
    Admin(user): Admin,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AppError> {
    let mut layout = user.layout(&state, "email", "Email").await?;
    layout.notice = query.done.map(|done| match done {
        Notice::TestQueued => format!(
            "A test email to {} is in the queue; it goes out within seconds.",
            user.session.user.email
        ),
        done => done.text().to_owned(),
    });
    let settings = state.settings().await?;
    let tz = settings.time_zone();
    let (server, sender) = match &state.mailer {
        Some(mailer) => {
            let config = mailer.config();
            let security = match config.smtp.security {
                Security::Tls => "TLS",
                Security::StartTls => "STARTTLS",
                Security::None => "no encryption",
            };
            (
                format!("{}:{} ({security})", config.smtp.host, config.smtp.port),
                format!(
                    "{} <{}>",
                    config.from_name.as_deref().unwrap_or(&settings.title),
                    config.from_address
                ),
            )
        }
        None => (String::new(), String::new()),
    };
    let rows = db::outbox::recent(&state.db, SHOWN)
        .await?
        .into_iter()
        .map(|row| MailRowView {
            when: dates::date_and_time(&dates::zoned(row.sent_at.unwrap_or(row.created_at), &tz)),
            id: row.id,
            kind: row.kind,
            recipient: row.recipient,
            subject: row.subject,
            status: row.status,
            attempts: row.attempts,
            last_error: row.last_error,
        })
        .collect();
    render(&EmailPage {
        layout,
        enabled: state.mailer.is_some(),
        server,
        sender,
        my_email: user.session.user.email.clone(),
        counts: db::outbox::counts(&state.db).await?,
        rows,
    })
}

#[derive(Debug, Deserialize)]
struct Empty {}

async fn send_test(
    State(state): State<AppState>,
    AdminForm { user, .. }: AdminForm<Empty, Admin>,
) -> Result<Response, AppError> {
    if state.mailer.is_none() {
        return Err(AppError::BadRequest(
            "Email is off: set FOLIO_SMTP_URL first (see the Email page).",
        ));
    }
    let settings = state.settings().await?;
    let message = messages::test(&settings.title, &state.config.base_url)?;
    notify::queue(
        &state.db,
        MailKind::Test,
        &user.session.user.email,
        &message,
        None,
    )
    .await?;
    Ok(Notice::TestQueued.after("/admin/email"))
}

async fn retry(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    AdminForm { .. }: AdminForm<Empty, Admin>,
) -> Result<Response, AppError> {
    if !db::outbox::retry(&state.db, id).await? {
        return Err(AppError::NotFound);
    }
    Ok(Notice::Retried.after("/admin/email"))
}
