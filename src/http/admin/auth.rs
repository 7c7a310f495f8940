//! First-run setup, login and logout.

use axum::{
    Form, Router,
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;

use super::{
    AdminForm, SameSite, safe_next, session_token,
    sign_in::{Device, password_accepted, start_session},
};
use crate::http::edge::cookies;
use crate::{
    auth::{password, session},
    db,
    domain::FormErrors,
    error::AppError,
    http::{edge::extract::normal_email, render},
    state::AppState,
    views::admin::{AdminLayout, LoginPage, SetupErrors, SetupPage},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/setup", get(setup_form).post(setup))
        .route("/admin/login", get(login_form).post(login))
        .route("/admin/logout", post(logout))
}

async fn setup_form(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    super::check_host(&headers, &state.config)?;
    if db::users::count(&state.db).await? > 0 {
        return Err(AppError::NotFound);
    }
    let settings = state.settings().await?;
    render(&SetupPage {
        layout: AdminLayout::anonymous(&settings.title, "Set up"),
        name: String::new(),
        email: String::new(),
        errors: SetupErrors::default(),
    })
}

#[derive(Debug, Deserialize)]
struct SetupForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

async fn setup(
    State(state): State<AppState>,
    _: SameSite,
    headers: HeaderMap,
    device: Device,
    Form(form): Form<SetupForm>,
) -> Result<Response, AppError> {
    super::check_host(&headers, &state.config)?;
    if db::users::count(&state.db).await? > 0 {
        return Err(AppError::NotFound);
    }
    let name = form.name.trim();
    let email = form.email.trim();
    let mut errors = SetupErrors::default();
    if name.is_empty() || name.chars().count() > 100 {
        errors.name = Some("Enter your name (up to 100 characters)".into());
    }
    if !email.contains('@') || email.contains(char::is_whitespace) || email.len() > 254 {
        errors.email = Some("Enter an email address like name@example.com".into());
    }
    errors.password = password::problem(&form.password);
    if !errors.is_empty() {
        let settings = state.settings().await?;
        let page = SetupPage {
            layout: AdminLayout::anonymous(&settings.title, "Set up"),
            name: form.name.clone(),
            email: form.email.clone(),
            errors,
        };
        let mut response = render(&page)?;
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(response);
    }
    let hash = password::hash(form.password).await?;
    let Some(user_id) = db::users::create_first_admin(&state.db, email, name, &hash).await? else {
        return Err(AppError::NotFound);
    };
    start_session(&state, &device, user_id, "/admin", false).await
}

#[derive(Debug, Default, Deserialize)]
struct LoginQuery {
    next: Option<String>,
    /// Back from a second step that took too long or failed too often.
    expired: Option<String>,
}

async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Result<Response, AppError> {
    if db::users::count(&state.db).await? == 0 {
        return Ok(Redirect::to("/admin/setup").into_response());
    }
    let next = safe_next(query.next.as_deref());
    if let Some(token) = session_token(&headers)
        && db::sessions::find(&state.db, &session::token_hash(&token), session::IDLE_DAYS)
            .await?
            .is_some()
    {
        return Ok(Redirect::to(&next).into_response());
    }
    let settings = state.settings().await?;
    render(&LoginPage {
        layout: AdminLayout::anonymous(&settings.title, "Log in"),
        email: String::new(),
        next,
        error: query
            .expired
            .map(|_| "That sign-in has ended. Enter your password again.".to_owned()),
        passkeys: state.webauthn.is_some(),
        script_url: crate::render::assets::url("passkeys.js"),
    })
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

async fn login(
    State(state): State<AppState>,
    _: SameSite,
    headers: HeaderMap,
    device: Device,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    // One form of the address for the limit, the lookup and the record.
    let email = normal_email(&form.email);
    let client = device.client_hash.clone();
    let next = safe_next(Some(&form.next));
    // The form comes back with the address as it was typed.
    let typed = form.email.clone();
    let (state, email, next, typed) = (&state, &email, &next, &typed);
    let refuse = |status: StatusCode, error: String| async move {
        let settings = state.settings().await?;
        let mut response = render(&LoginPage {
            layout: AdminLayout::anonymous(&settings.title, "Log in"),
            email: typed.clone(),
            next: next.clone(),
            error: Some(error),
            passkeys: state.webauthn.is_some(),
            script_url: crate::render::assets::url("passkeys.js"),
        })?;
        *response.status_mut() = status;
        Ok::<_, AppError>(response)
    };

    // The attempt is recorded (as a failure) before anything is checked or hashed, so that a
    // burst of logins at once counts in full against the limit: each sees the others.
    let attempt = db::users::record_login(&state.db, email, client.as_deref(), false).await?;
    let blocked = db::users::login_blocked_for(
        &state.db,
        email,
        client.as_deref(),
        super::LOGIN_FAILURES + 1,
        super::LOGIN_WINDOW_SECS,
    )
    .await?;
    if let Some(wait) = blocked {
        let minutes = (wait + 59) / 60;
        let message = format!(
            "Too many failed attempts. Please wait {minutes} minute{} before trying again.",
            if minutes == 1 { "" } else { "s" }
        );
        let mut response = refuse(StatusCode::TOO_MANY_REQUESTS, message).await?;
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return Ok(response);
    }

    let credentials = db::users::credentials(&state.db, email).await?;
    let (user, stored) = match credentials {
        Some(c) if !c.user.disabled => (Some(c.user), c.password_hash),
        _ => (None, None),
    };
    let valid = password::verify(form.password, stored).await?;
    if valid {
        db::users::login_succeeded(&state.db, attempt).await?;
    }
    match user.filter(|_| valid) {
        Some(user) => {
            // A session cookie brought to the login page is never reused: no fixation.
            if let Some(old) = session_token(&headers) {
                db::sessions::delete(&state.db, &session::token_hash(&old)).await?;
            }
            password_accepted(state, &device, &user, next).await
        }
        None => refuse(StatusCode::UNAUTHORIZED, "Wrong email or password.".into()).await,
    }
}

#[derive(Debug, Deserialize)]
struct Empty {}

/// Ends the session (the form's CSRF token proves that its user asks).
async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    AdminForm { .. }: AdminForm<Empty>,
) -> Result<Response, AppError> {
    if let Some(token) = session_token(&headers) {
        db::sessions::delete(&state.db, &session::token_hash(&token)).await?;
    }
    let mut response = Redirect::to("/admin/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        cookies::clear(session::COOKIE, state.config.secure_cookies()),
    );
    Ok(response)
}
