//! Signing in beyond the password: the second step (an authenticator code, a recovery code or
//! a passkey) after a right password, and signing in with a passkey alone.
//!
//! A right password for an account with a second step starts a *pending* sign-in: a random
//! token in a short-lived cookie, its hash in `pending_sign_ins`. Only the second step turns it
//! into a session. Passkey ceremonies keep their state in the database between start and
//! finish, so any Folio process can take the finish.

use axum::{
    Form, Json, Router,
    extract::{FromRequestParts, State},
    http::{HeaderMap, StatusCode, header, request::Parts},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::json;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyAuthentication,
    PublicKeyCredential,
};

use super::{SameSite, safe_next};
use crate::{
    auth::{session, totp},
    db::{self, sessions::NewSession, users::User},
    domain::{device, role::Role, text},
    error::{AppError, PlainErrorBody},
    http::{
        edge::{cookies, extract::ClientIp, markers::NothingPublicChanged},
        render,
    },
    render::dates,
    state::AppState,
    views::admin::{AdminLayout, SecondStepPage},
};

/// The cookie that carries a pending sign-in between the password and the second step.
const PENDING_COOKIE: &str = "folio_pending";
/// How long a passkey ceremony may take (the browser's own timeout is 5 minutes).
const CEREMONY_SECS: i64 = 300;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/login/verify",
            get(second_step_form).post(second_step),
        )
        .route(
            "/admin/login/verify/passkey/start",
            post(second_step_passkey_start),
        )
        .route(
            "/admin/login/verify/passkey/finish",
            post(second_step_passkey_finish),
        )
        .route("/admin/login/passkey/start", post(passkey_start))
        .route("/admin/login/passkey/finish", post(passkey_finish))
}

/// Where a sign-in comes from, as the session list will show it.
#[derive(Debug, Clone)]
pub struct Device {
    pub user_agent: String,
    pub address: String,
    /// The keyed hash sign-in limits count on.
    pub client_hash: Option<String>,
}

impl FromRequestParts<AppState> for Device {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Ok(client) = ClientIp::from_request_parts(parts, state).await;
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        let user_agent: String = text::clean(&user_agent)
            .chars()
            .take(device::MAX_USER_AGENT)
            .collect();
        Ok(Self {
            user_agent,
            address: client.0.clone().unwrap_or_default(),
            client_hash: client.limit_hash(&state.secret),
        })
    }
}

/// Starts a session for `user_id` and sends the browser on to `next` with its cookie.
pub(super) async fn start_session(
    state: &AppState,
    device: &Device,
    user_id: i64,
    next: &str,
    must_add_second_step: bool,
) -> Result<Response, AppError> {
    let (token, hash) = session::new_token();
    db::sessions::create(
        &state.db,
        &NewSession {
            token_hash: &hash,
            user_id,
            csrf_token: &session::new_csrf_token(),
            idle_days: session::IDLE_DAYS,
            user_agent: &device.user_agent,
            client_address: &device.address,
        },
    )
    .await?;
    let next = if must_add_second_step {
        "/admin/account?second_step=required"
    } else {
        next
    };
    // Signing in changes no public page: the page cache stays.
    let mut response = NothingPublicChanged.mark(Redirect::to(next).into_response());
    response.headers_mut().append(
        header::SET_COOKIE,
        cookies::set(
            session::COOKIE,
            &token,
            time::Duration::days(session::IDLE_DAYS),
            state.config.secure_cookies(),
        ),
    );
    Ok(response)
}

/// The password (or a password link) proved who this is: a session, or the second step first.
/// Whoever has an authenticator app always gives a code (or uses a passkey); when the blog
/// requires a second step of admins and editors, a passkey also does, and whoever has neither
/// is signed in only to set one up.
pub(super) async fn password_accepted(
    state: &AppState,
    device: &Device,
    user: &User,
    next: &str,
) -> Result<Response, AppError> {
    let mut steps = db::sign_in::second_steps(&state.db, user.id).await?;
    if state.webauthn.is_none() {
        // Passkeys that cannot be used here (the base URL changed) are no way in.
        steps.passkeys = 0;
    }
    let required = state.settings().await?.require_second_step && user.role >= Role::Editor;
    if steps.totp || (required && steps.passkeys > 0) {
        let (token, hash) = session::new_token();
        db::sign_in::start_pending(&state.db, &hash, user.id, next).await?;
        let mut response =
            NothingPublicChanged.mark(Redirect::to("/admin/login/verify").into_response());
        response.headers_mut().append(
            header::SET_COOKIE,
            cookies::set(
                PENDING_COOKIE,
                &token,
                time::Duration::minutes(db::sign_in::PENDING_MINUTES),
                state.config.secure_cookies(),
            ),
        );
        return Ok(response);
    }
    start_session(state, device, user.id, next, required && !steps.any()).await
}

/// The pending sign-in this browser holds, with the hash of its token.
async fn pending(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(Vec<u8>, db::sign_in::PendingSignIn)>, AppError> {
    let Some(token) = cookies::get(headers, PENDING_COOKIE) else {
        return Ok(None);
    };
    let hash = session::token_hash(&token);
    Ok(db::sign_in::pending(&state.db, &hash)
        .await?
        .map(|found| (hash, found)))
}

fn back_to_login(state: &AppState) -> Response {
    let mut response =
        NothingPublicChanged.mark(Redirect::to("/admin/login?expired=1").into_response());
    response.headers_mut().append(
        header::SET_COOKIE,
        cookies::clear(PENDING_COOKIE, state.config.secure_cookies()),
    );
    response
}

async fn second_step_page(
    state: &AppState,
    user_id: i64,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let steps = db::sign_in::second_steps(&state.db, user_id).await?;
    let settings = state.settings().await?;
    let mut response = render(&SecondStepPage {
        layout: AdminLayout::anonymous(&settings.title, "Second step"),
        totp: steps.totp,
        recovery: steps.recovery_codes_left > 0,
        passkeys: steps.passkeys > 0 && state.webauthn.is_some(),
        script_url: crate::render::assets::url("passkeys.js"),
        error,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

async fn second_step_form(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    match pending(&state, &headers).await? {
        Some((_, found)) => second_step_page(&state, found.user_id, None, StatusCode::OK).await,
        None => Ok(back_to_login(&state)),
    }
}

#[derive(Debug, Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

/// An authenticator code, or failing that a recovery code; wrong ones count against the
/// account's sign-in limit as wrong passwords do, and a few end the pending sign-in.
async fn second_step(
    State(state): State<AppState>,
    _: SameSite,
    headers: HeaderMap,
    device: Device,
    Form(form): Form<CodeForm>,
) -> Result<Response, AppError> {
    let Some((hash, found)) = pending(&state, &headers).await? else {
        return Ok(back_to_login(&state));
    };
    let Some(user) = db::users::find(&state.db, found.user_id).await? else {
        return Ok(back_to_login(&state));
    };
    let attempt =
        db::users::record_login(&state.db, &user.email, device.client_hash.as_deref(), false)
            .await?;
    let blocked = db::users::login_blocked_for(
        &state.db,
        &user.email,
        device.client_hash.as_deref(),
        super::LOGIN_FAILURES + 1,
        super::LOGIN_WINDOW_SECS,
    )
    .await?;
    if blocked.is_some() {
        db::sign_in::end_pending(&state.db, &hash).await?;
        return Ok(back_to_login(&state));
    }
    let accepted = match code_accepted(&state, &user, &form.code).await? {
        Ok(()) => true,
        Err(reused) => {
            let left = db::sign_in::pending_failed(&state.db, &hash).await?;
            if left == db::sign_in::PENDING_FAILURES - 1 {
                alert(&state, &user, &device, "a wrong code").await?;
            }
            if left == 0 {
                return Ok(back_to_login(&state));
            }
            let error = if reused {
                "That code was used already. Wait for the next one and enter it.".to_owned()
            } else {
                format!(
                    "That code is not right. {left} more tr{} before you start again with your password.",
                    if left == 1 { "y" } else { "ies" }
                )
            };
            return second_step_page(&state, user.id, Some(error), StatusCode::UNAUTHORIZED).await;
        }
    };
    // Two browsers racing with the same cookie: only the first gets the session.
    if accepted && db::sign_in::end_pending(&state.db, &hash).await? {
        db::users::login_succeeded(&state.db, attempt).await?;
        let mut response = start_session(&state, &device, user.id, &found.next, false).await?;
        response.headers_mut().append(
            header::SET_COOKIE,
            cookies::clear(PENDING_COOKIE, state.config.secure_cookies()),
        );
        return Ok(response);
    }
    Ok(back_to_login(&state))
}

/// Tells the account's owner, by mail, that their password was right but the second step then
/// failed: whoever it was knows the password. Once per pending sign-in (at its first failure).
async fn alert(state: &AppState, user: &User, device: &Device, what: &str) -> Result<(), AppError> {
    if state.mailer.is_none() {
        return Ok(());
    }
    let settings = state.settings().await?;
    let tz = settings.time_zone();
    let when = dates::date_and_time(&dates::zoned(state.clock.now(), &tz));
    let message = crate::mail::messages::sign_in_alert(&crate::mail::messages::SignInAlert {
        blog_title: &settings.title,
        base_url: &state.config.base_url,
        what,
        when: &when,
        device: &device::describe(&device.user_agent),
        address: if device.address.is_empty() {
            "unknown"
        } else {
            &device.address
        },
    })?;
    crate::mail::notify::queue(
        &state.db,
        crate::domain::mail::MailKind::SignInAlert,
        &user.email,
        &message,
        None,
    )
    .await?;
    Ok(())
}

/// Checks a typed code: six digits are an authenticator code (accepted once), anything else a
/// recovery code (spent). `Err(true)` for an authenticator code that was right but used.
async fn code_accepted(
    state: &AppState,
    user: &User,
    typed: &str,
) -> Result<Result<(), bool>, AppError> {
    let digits: String = typed.chars().filter(char::is_ascii_digit).collect();
    let looks_like_totp = digits.len() == 6 && typed.trim().len() <= 8;
    if looks_like_totp {
        let Some(secret) = db::sign_in::totp_secret(&state.db, user.id)
            .await?
            .filter(|s| s.confirmed)
        else {
            return Ok(Err(false));
        };
        let now = totp::step_at(state.clock.now().unix_timestamp());
        let Some(step) = totp::matching_step(&secret.secret, typed, now) else {
            return Ok(Err(false));
        };
        let fresh = db::sign_in::accept_totp_step(&state.db, user.id, step, false).await?;
        return Ok(if fresh { Ok(()) } else { Err(true) });
    }
    let hash = totp::recovery_code_hash(&state.secret, typed);
    let spent = db::sign_in::use_recovery_code(&state.db, user.id, &hash).await?;
    Ok(if spent { Ok(()) } else { Err(false) })
}

/// A refusal for the passkey script: JSON with the message to show (never the HTML error
/// page the other 4xx answers get).
pub(super) fn refused(status: StatusCode, message: &str) -> Response {
    let mut response = (status, Json(json!({ "error": message }))).into_response();
    response.extensions_mut().insert(PlainErrorBody);
    response
}

fn no_passkeys() -> Response {
    refused(StatusCode::NOT_FOUND, crate::auth::passkeys::UNAVAILABLE)
}

async fn second_step_passkey_start(
    State(state): State<AppState>,
    _: SameSite,
    headers: HeaderMap,
    device: Device,
) -> Result<Response, AppError> {
    let Some(webauthn) = state.webauthn.clone() else {
        return Ok(no_passkeys());
    };
    let Some((_, found)) = pending(&state, &headers).await? else {
        return Ok(refused(
            StatusCode::FORBIDDEN,
            "This sign-in took too long. Enter your password again.",
        ));
    };
    let passkeys: Vec<Passkey> = db::sign_in::passkey_data(&state.db, found.user_id)
        .await?
        .into_iter()
        .filter_map(|value| serde_json::from_value(value).ok())
        .collect();
    if passkeys.is_empty() {
        return Ok(refused(
            StatusCode::NOT_FOUND,
            "This account has no passkey.",
        ));
    }
    let (options, ceremony) = webauthn
        .start_passkey_authentication(&passkeys)
        .map_err(|e| anyhow::anyhow!("passkey sign-in could not start: {e}"))?;
    let owner = (Some(found.user_id), device.client_hash.as_deref());
    begin_ceremony(&state, "second_step", owner, &ceremony, options).await
}

/// Keeps the ceremony's state and answers with the browser's options and the ceremony's token
/// (a random token, like a session's: only its hash is stored).
pub(super) async fn begin_ceremony(
    state: &AppState,
    purpose: &str,
    (user_id, client_hash): (Option<i64>, Option<&str>),
    ceremony: &impl serde::Serialize,
    options: impl serde::Serialize,
) -> Result<Response, AppError> {
    let (token, hash) = session::new_token();
    let stored = serde_json::to_value(ceremony)
        .map_err(|e| anyhow::anyhow!("passkey state could not be kept: {e}"))?;
    let started = db::sign_in::start_ceremony(
        &state.db,
        &hash,
        purpose,
        user_id,
        client_hash,
        &stored,
        CEREMONY_SECS,
    )
    .await?;
    if !started {
        return Ok(refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "Too many passkey requests were started from here. Try again in a few minutes.",
        ));
    }
    Ok(Json(json!({ "ceremony": token, "options": options })).into_response())
}

#[derive(Debug, Deserialize)]
struct FinishForm {
    #[serde(default)]
    ceremony: String,
    #[serde(default)]
    credential: String,
    #[serde(default)]
    next: String,
}

/// The passkey as stored, and its owner's handle, for the credential a browser answered with.
async fn answering_passkey(
    state: &AppState,
    credential: &PublicKeyCredential,
) -> Result<Option<(db::sign_in::FoundPasskey, Passkey)>, AppError> {
    let Some(found) = db::sign_in::passkey_by_credential(&state.db, &credential.raw_id).await?
    else {
        return Ok(None);
    };
    let passkey: Option<Passkey> = serde_json::from_value(found.passkey.clone()).ok();
    Ok(passkey.map(|passkey| (found, passkey)))
}

async fn second_step_passkey_finish(
    State(state): State<AppState>,
    _: SameSite,
    headers: HeaderMap,
    device: Device,
    Form(form): Form<FinishForm>,
) -> Result<Response, AppError> {
    let Some(webauthn) = state.webauthn.clone() else {
        return Ok(no_passkeys());
    };
    let Some((hash, found)) = pending(&state, &headers).await? else {
        return Ok(refused(
            StatusCode::FORBIDDEN,
            "This sign-in took too long. Enter your password again.",
        ));
    };
    let taken = db::sign_in::take_ceremony(
        &state.db,
        &session::token_hash(&form.ceremony),
        "second_step",
    )
    .await?;
    let Some((Some(ceremony_user), stored)) = taken else {
        return Ok(refused(
            StatusCode::BAD_REQUEST,
            "This passkey request has expired. Try again.",
        ));
    };
    let ceremony: Option<PasskeyAuthentication> = serde_json::from_value(stored).ok();
    let credential: Option<PublicKeyCredential> = serde_json::from_str(&form.credential).ok();
    let (Some(ceremony), Some(credential)) = (ceremony, credential) else {
        return Ok(refused(
            StatusCode::BAD_REQUEST,
            "The browser's answer could not be read.",
        ));
    };
    let verified = match answering_passkey(&state, &credential).await? {
        Some((stored, mut passkey))
            if stored.user_id == found.user_id && ceremony_user == found.user_id =>
        {
            match webauthn.finish_passkey_authentication(&credential, &ceremony) {
                Ok(result) => {
                    passkey.update_credential(&result);
                    save_passkey_use(&state, stored.id, &passkey).await?;
                    true
                }
                Err(_) => false,
            }
        }
        _ => false,
    };
    if !verified {
        let left = db::sign_in::pending_failed(&state.db, &hash).await?;
        if left == db::sign_in::PENDING_FAILURES - 1
            && let Some(user) = db::users::find(&state.db, found.user_id).await?
        {
            alert(&state, &user, &device, "a passkey that was not accepted").await?;
        }
        return Ok(refused(
            StatusCode::UNAUTHORIZED,
            if left == 0 {
                "That passkey was not accepted. Enter your password again."
            } else {
                "That passkey was not accepted. Try another, or enter a code."
            },
        ));
    }
    if !db::sign_in::end_pending(&state.db, &hash).await? {
        return Ok(refused(
            StatusCode::FORBIDDEN,
            "This sign-in was finished elsewhere. Enter your password again.",
        ));
    }
    let response = start_session(&state, &device, found.user_id, &found.next, false).await?;
    Ok(json_redirect(response, &found.next, Some(&state)))
}

async fn save_passkey_use(state: &AppState, id: i64, passkey: &Passkey) -> Result<(), AppError> {
    let value = serde_json::to_value(passkey)
        .map_err(|e| anyhow::anyhow!("passkey could not be stored: {e}"))?;
    db::sign_in::passkey_used(&state.db, id, &value).await?;
    Ok(())
}

/// A session's redirect turned into what the script follows: its cookies, and the location in
/// JSON (a script's fetch would follow a redirect itself and lose the page).
fn json_redirect(redirect: Response, location: &str, clear_pending: Option<&AppState>) -> Response {
    let mut response = Json(json!({ "location": location })).into_response();
    for cookie in redirect.headers().get_all(header::SET_COOKIE) {
        response
            .headers_mut()
            .append(header::SET_COOKIE, cookie.clone());
    }
    if let Some(state) = clear_pending {
        response.headers_mut().append(
            header::SET_COOKIE,
            cookies::clear(PENDING_COOKIE, state.config.secure_cookies()),
        );
    }
    response
}

/// Signing in with a passkey alone: the browser offers the passkeys it holds for this blog.
async fn passkey_start(
    State(state): State<AppState>,
    _: SameSite,
    device: Device,
) -> Result<Response, AppError> {
    let Some(webauthn) = state.webauthn.clone() else {
        return Ok(no_passkeys());
    };
    let (mut options, ceremony) = webauthn
        .start_discoverable_authentication()
        .map_err(|e| anyhow::anyhow!("passkey sign-in could not start: {e}"))?;
    // A button asks for a passkey now (a modal prompt), not as autofill.
    options.mediation = None;
    let owner = (None, device.client_hash.as_deref());
    begin_ceremony(&state, "sign_in", owner, &ceremony, options).await
}

async fn passkey_finish(
    State(state): State<AppState>,
    _: SameSite,
    device: Device,
    Form(form): Form<FinishForm>,
) -> Result<Response, AppError> {
    let Some(webauthn) = state.webauthn.clone() else {
        return Ok(no_passkeys());
    };
    // Failed passkey answers name no account: they count per client only.
    let anonymous = format!("(passkey) {}", device.client_hash.as_deref().unwrap_or(""));
    let blocked = db::users::login_blocked_for(
        &state.db,
        &anonymous,
        device.client_hash.as_deref(),
        super::LOGIN_FAILURES,
        super::LOGIN_WINDOW_SECS,
    )
    .await?;
    if blocked.is_some() {
        return Ok(refused(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed attempts. Please wait a few minutes before trying again.",
        ));
    }
    let taken =
        db::sign_in::take_ceremony(&state.db, &session::token_hash(&form.ceremony), "sign_in")
            .await?;
    let ceremony: Option<DiscoverableAuthentication> =
        taken.and_then(|(_, stored)| serde_json::from_value(stored).ok());
    let credential: Option<PublicKeyCredential> = serde_json::from_str(&form.credential).ok();
    let (Some(ceremony), Some(credential)) = (ceremony, credential) else {
        return Ok(refused(
            StatusCode::BAD_REQUEST,
            "This passkey request has expired. Try again.",
        ));
    };
    let user = match verify_discoverable(&state, &webauthn, ceremony, &credential).await? {
        Some(user) => user,
        None => {
            db::users::record_login(&state.db, &anonymous, device.client_hash.as_deref(), false)
                .await?;
            return Ok(refused(
                StatusCode::UNAUTHORIZED,
                "That passkey is not one of this blog's. Sign in with your password, then add it on Your account.",
            ));
        }
    };
    db::users::record_login(&state.db, &user.email, device.client_hash.as_deref(), true).await?;
    // A session cookie brought here is never reused: no fixation.
    let next = safe_next(Some(&form.next));
    let response = start_session(&state, &device, user.id, &next, false).await?;
    Ok(json_redirect(response, &next, None))
}

/// The user whose passkey signed the answer, if one did: the credential is found by its id,
/// and the user handle the authenticator returned must be its owner's.
async fn verify_discoverable(
    state: &AppState,
    webauthn: &webauthn_rs::Webauthn,
    ceremony: DiscoverableAuthentication,
    credential: &PublicKeyCredential,
) -> Result<Option<User>, AppError> {
    let Ok((handle, _)) = webauthn.identify_discoverable_authentication(credential) else {
        return Ok(None);
    };
    let Some((stored, mut passkey)) = answering_passkey(state, credential).await? else {
        return Ok(None);
    };
    if handle.to_string() != stored.webauthn_id {
        return Ok(None);
    }
    // The single-credential finish needs a type webauthn-rs keeps private; this one takes the
    // same check through `DiscoverableKey`.
    #[allow(deprecated)]
    let result = webauthn.finish_discoverable_authentication(
        credential,
        ceremony,
        &[DiscoverableKey::from(&passkey)],
    );
    let Ok(result) = result else {
        return Ok(None);
    };
    passkey.update_credential(&result);
    save_passkey_use(state, stored.id, &passkey).await?;
    Ok(db::users::find(&state.db, stored.user_id).await?)
}
