//! "Follow by email": `/subscribe` (and the sidebar's box) takes an address; a confirmation
//! goes to it, and only then do new posts. The answer never says whether the address follows
//! already.

use axum::{
    Form, Router,
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use serde::Deserialize;

use super::{edge::extract::ClientIp, mail_blog, render};
use crate::{
    db::subscriptions::Scope,
    domain::comment::is_plausible_email,
    error::AppError,
    mail::notify,
    state::AppState,
    views::{Layout, public::SubscribePage},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/subscribe", get(form).post(subscribe))
}

#[derive(Debug, Default, Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn page(
    state: &AppState,
    email: String,
    error: Option<String>,
    done: bool,
) -> Result<Response, AppError> {
    let site = state.site().await?;
    let settings = &site.settings;
    let mut layout = Layout::new(
        settings,
        &state.config,
        Some("Follow by email"),
        Some("/subscribe"),
    );
    layout.dress(&*state.look(&site).await?, "/subscribe");
    layout.noindex = done;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut response = render(&SubscribePage {
        layout,
        email,
        error,
        done,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

async fn form(
    State(state): State<AppState>,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AppError> {
    if state.mailer.is_none() {
        return Err(AppError::NotFound);
    }
    page(&state, String::new(), None, query.done.is_some()).await
}

#[derive(Debug, Deserialize)]
struct SubscribeForm {
    #[serde(default)]
    email: String,
}

async fn subscribe(
    State(state): State<AppState>,
    client_ip: ClientIp,
    Form(form): Form<SubscribeForm>,
) -> Result<Response, AppError> {
    if state.mailer.is_none() {
        return Err(AppError::NotFound);
    }
    let email = form.email.trim();
    if !is_plausible_email(email) {
        let error = Some("Enter an email address like name@example.com".to_owned());
        return page(&state, form.email, error, false).await;
    }
    let client = client_ip.limit_hash(&state.secret);
    let title = state.settings().await?.title;
    let mut tx = state.db.begin().await?;
    notify::subscribe(
        &mut tx,
        &mail_blog(&state, &title),
        email,
        &[Scope::Blog],
        client.as_deref(),
    )
    .await?;
    tx.commit().await?;
    // Nothing readers see has changed: the page cache stays.
    let mut response = Redirect::to("/subscribe?done=1").into_response();
    response
        .extensions_mut()
        .insert(super::edge::markers::NothingPublicChanged);
    Ok(response)
}
