//! Your account: your password, your mail choices, and how you sign in: passkeys, an
//! authenticator app with its recovery codes, and the sessions you can see and end.

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::json;
use webauthn_rs::prelude::{Passkey, PasskeyRegistration, RegisterPublicKeyCredential, Uuid};

use super::{
    AdminForm, CurrentUser,
    notice::Notice,
    sign_in::{Device, begin_ceremony, refused},
};
use crate::{
    auth::{passkeys, password, session, totp},
    db,
    domain::{device, role::Role, text},
    error::AppError,
    http::{
        edge::{cookies, markers::NothingPublicChanged},
        render,
    },
    render::dates,
    state::AppState,
    views::admin::{AccountPage, PasskeyView, RecoveryCodesPage, SessionView, TotpSetupPage},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/account", get(account).post(change_own_password))
        .route("/admin/account/mail", post(save_mail_choices))
        .route("/admin/account/fediverse", post(save_fediverse_name))
        .route("/admin/account/sessions/{id}/end", post(end_session))
        .route("/admin/account/sessions/end-all", post(end_all_sessions))
        .route("/admin/account/totp", get(totp_form).post(totp_confirm))
        .route("/admin/account/totp/remove", post(totp_remove))
        .route("/admin/account/recovery-codes", post(new_recovery_codes))
        .route("/admin/account/passkeys/start", post(passkey_start))
        .route("/admin/account/passkeys/finish", post(passkey_finish))
        .route("/admin/account/passkeys/{id}/remove", post(passkey_remove))
}

#[derive(Debug, Default, Deserialize)]
struct AccountQuery {
    #[serde(default, deserialize_with = "Notice::lenient")]
    done: Option<Notice>,
    second_step: Option<String>,
}

async fn account_page(
    state: &AppState,
    user: &CurrentUser,
    error: Option<String>,
    notice: Option<String>,
) -> Result<Response, AppError> {
    account_page_with(state, user, error, notice, None).await
}

/// The page, with the fediverse form as typed (name, error) when it was refused.
async fn account_page_with(
    state: &AppState,
    user: &CurrentUser,
    error: Option<String>,
    notice: Option<String>,
    fediverse_typed: Option<(String, String)>,
) -> Result<Response, AppError> {
    let mut layout = user.layout(state, "account", "Your account").await?;
    layout.notice = notice;
    let status = if error.is_some() || fediverse_typed.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let settings = state.settings().await?;
    let tz = settings.time_zone();
    let fediverse = if settings.fediverse_enabled && state.fediverse.cannot_federate().is_none() {
        let (name, error) = match fediverse_typed {
            Some((name, error)) => (name, Some(error)),
            None => (
                db::fediverse::fediverse_name_of(&state.db, user.id())
                    .await?
                    .unwrap_or_default(),
                None,
            ),
        };
        Some(crate::views::admin::AccountFediverse {
            name,
            host: state.fediverse.blog(&settings).host(),
            error,
        })
    } else {
        None
    };
    let when = |at| dates::date_and_time(&dates::zoned(at, &tz));
    let sessions = db::sessions::list_for(&state.db, user.id(), &user.session.token_hash)
        .await?
        .into_iter()
        .map(|s| SessionView {
            id: s.id,
            device: device::describe(&s.user_agent),
            address: s.client_address,
            signed_in: when(s.created_at),
            last_seen: when(s.last_seen_at),
            current: s.current,
        })
        .collect();
    let passkeys = db::sign_in::passkeys(&state.db, user.id())
        .await?
        .into_iter()
        .map(|p| PasskeyView {
            id: p.id,
            name: p.name,
            added: when(p.created_at),
            last_used: p.last_used_at.map(when),
        })
        .collect();
    let steps = db::sign_in::second_steps(&state.db, user.id()).await?;
    let mut response = render(&AccountPage {
        layout,
        error,
        mail_on: state.mailer.is_some(),
        mail: db::users::mail_choices(&state.db, user.id()).await?,
        sessions,
        passkeys,
        passkeys_unavailable: state.webauthn.is_none().then_some(passkeys::UNAVAILABLE),
        totp: steps.totp,
        recovery_codes_left: steps.recovery_codes_left,
        must_add_second_step: user.session.must_add_second_step,
        script_url: crate::render::assets::url("passkeys.js"),
        fediverse,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

async fn account(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<AccountQuery>,
) -> Result<Response, AppError> {
    let notice = query.done.map(|done| done.text().to_owned());
    let error = (query.second_step.is_some() && user.session.must_add_second_step).then(|| {
        "This blog asks admins and editors to sign in with a second step. Add a passkey or an authenticator app below to go on."
            .to_owned()
    });
    let mut response = account_page(&state, &user, error, notice).await?;
    // Not a failed form: the page itself is fine.
    *response.status_mut() = StatusCode::OK;
    Ok(response)
}

#[derive(Debug, Deserialize)]
struct MailForm {
    #[serde(default)]
    comment_mail: String,
    #[serde(default)]
    own_post_mail: Option<String>,
}

async fn save_mail_choices(
    State(state): State<AppState>,
    AdminForm { user, form, .. }: AdminForm<MailForm>,
) -> Result<Response, AppError> {
    // Only those who moderate hear about held comments.
    let comment_mail = match form.comment_mail.as_str() {
        "each" if user.role >= Role::Editor => "each",
        "digest" if user.role >= Role::Editor => "digest",
        _ => "none",
    };
    db::users::set_mail_choices(
        &state.db,
        user.id(),
        &db::users::MailChoices {
            comment_mail: comment_mail.to_owned(),
            own_post_mail: form.own_post_mail.is_some(),
        },
    )
    .await?;
    Ok(Notice::MailChoices.after("/admin/account"))
}

#[derive(Debug, Default, Deserialize)]
struct FediverseNameForm {
    #[serde(default)]
    name: String,
}

/// An author becomes a fediverse account of their own by choosing a name (and stops being one
/// by clearing it). The name is refused when it is taken, by the blog or another author.
async fn save_fediverse_name(
    State(state): State<AppState>,
    AdminForm { user, form, .. }: AdminForm<FediverseNameForm>,
) -> Result<Response, AppError> {
    let settings = state.settings().await?;
    if !settings.fediverse_enabled {
        return Err(AppError::NotFound);
    }
    let typed = form.name.trim().trim_start_matches('@');
    let name = typed
        .split('@')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let refuse = |error: &str| {
        let error = error.to_owned();
        let typed = form.name.clone();
        async { account_page_with(&state, &user, None, None, Some((typed, error))).await }
    };
    if !name.is_empty() && !crate::federation::documents::is_account_name(&name) {
        return refuse(
            "Enter a name of up to 30 letters (a–z), digits or underscores, such as ana",
        )
        .await;
    }
    if name == settings.fediverse_name {
        return refuse("That is the blog's own account name: choose another").await;
    }
    // The servers that keep those posts check their edits against this account.
    if name.is_empty() && db::fediverse::has_sent_posts(&state.db, user.id()).await? {
        return refuse(
            "Your posts went out from this account, so it stays: you can give it another name",
        )
        .await;
    }
    let name = (!name.is_empty()).then_some(name);
    if !db::fediverse::set_fediverse_name(&state.db, user.id(), name.as_deref()).await? {
        return refuse("Another author has that name: choose another").await;
    }
    Ok(Notice::FediverseName.after("/admin/account#fediverse"))
}

#[derive(Debug, Default, Deserialize)]
struct PasswordForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    current: String,
}

/// Whether `typed` is the user's current password (asked again before anything that weakens
/// the account). Each try counts against the account's login limit, as a login does: a
/// stolen session is no way to guess the password (429 once the limit is reached).
async fn current_password_is(
    state: &AppState,
    user: &CurrentUser,
    typed: String,
) -> Result<bool, AppError> {
    let email = crate::http::edge::extract::normal_email(&user.session.user.email);
    let attempt = db::users::record_login(&state.db, &email, None, false).await?;
    let blocked = db::users::login_blocked_for(
        &state.db,
        &email,
        None,
        super::LOGIN_FAILURES + 1,
        super::LOGIN_WINDOW_SECS,
    )
    .await?;
    if let Some(retry_after_secs) = blocked {
        return Err(AppError::TooManyAttempts { retry_after_secs });
    }
    let stored = db::users::credentials(&state.db, &email)
        .await?
        .and_then(|c| c.password_hash);
    let right = password::verify(typed, stored).await?;
    if right {
        db::users::login_succeeded(&state.db, attempt).await?;
    }
    Ok(right)
}

async fn change_own_password(
    State(state): State<AppState>,
    AdminForm { user, form, .. }: AdminForm<PasswordForm>,
) -> Result<Response, AppError> {
    if !current_password_is(&state, &user, form.current).await? {
        return account_page(
            &state,
            &user,
            Some("The current password is not right.".into()),
            None,
        )
        .await;
    }
    if let Some(problem) = password::problem(&form.password) {
        return account_page(
            &state,
            &user,
            Some(format!("The new password is not accepted: {problem}.")),
            None,
        )
        .await;
    }
    let hash = password::hash(form.password).await?;
    // A new password ends every other session of the account (a thief's included).
    let mut tx = state.db.begin().await?;
    db::users::set_password(&mut *tx, user.id(), &hash).await?;
    db::sessions::delete_others_for(&mut *tx, user.id(), &user.session.token_hash).await?;
    tx.commit().await?;
    Ok(Notice::PasswordChanged.after("/admin/account"))
}

#[derive(Debug, Deserialize)]
struct Empty {}

/// Signed out: back to the login page without the cookie.
fn signed_out(state: &AppState) -> Response {
    let mut response = NothingPublicChanged.mark(Redirect::to("/admin/login").into_response());
    response.headers_mut().insert(
        header::SET_COOKIE,
        cookies::clear(session::COOKIE, state.config.secure_cookies()),
    );
    response
}

async fn end_session(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    AdminForm { user, .. }: AdminForm<Empty>,
) -> Result<Response, AppError> {
    let current = id == user.session.id;
    if !db::sessions::delete_one_of(&state.db, user.id(), id).await? {
        // Ended already (elsewhere, or it expired): what was asked is done.
        return Ok(Notice::SessionEnded.after("/admin/account"));
    }
    if current {
        return Ok(signed_out(&state));
    }
    Ok(Notice::SessionEnded.after("/admin/account"))
}

async fn end_all_sessions(
    State(state): State<AppState>,
    AdminForm { user, .. }: AdminForm<Empty>,
) -> Result<Response, AppError> {
    db::sessions::delete_all_for(&state.db, user.id()).await?;
    Ok(signed_out(&state))
}

/// The authenticator app's setup: a secret kept while it is not confirmed, so a reload shows
/// the same QR code.
async fn totp_page(
    state: &AppState,
    user: &CurrentUser,
    code: String,
    error: Option<String>,
    password_error: Option<String>,
) -> Result<Response, AppError> {
    let secret = match db::sign_in::totp_secret(&state.db, user.id()).await? {
        Some(found) if found.confirmed => {
            return Ok(Redirect::to("/admin/account").into_response());
        }
        Some(found) => found.secret,
        None => {
            let secret = totp::new_secret();
            db::sign_in::start_totp(&state.db, user.id(), &secret).await?;
            secret
        }
    };
    let settings = state.settings().await?;
    let uri = totp::otpauth_uri(&secret, &settings.title, &user.session.user.email);
    let status = if error.is_some() || password_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut response = render(&TotpSetupPage {
        layout: user
            .layout(state, "account", "Set up an authenticator app")
            .await?,
        qr_svg: totp::qr_svg(&uri),
        secret: totp::grouped(&secret),
        uri,
        code,
        error,
        password_error,
    })?;
    *response.status_mut() = status;
    // The page holds the secret: no cache keeps it.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

async fn totp_form(State(state): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    totp_page(&state, &user, String::new(), None, None).await
}

#[derive(Debug, Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    current: String,
}

/// The first code proves the app holds the secret; then the recovery codes, shown once.
async fn totp_confirm(
    State(state): State<AppState>,
    AdminForm { user, form, .. }: AdminForm<CodeForm>,
) -> Result<Response, AppError> {
    let Some(pending) = db::sign_in::totp_secret(&state.db, user.id()).await? else {
        return totp_page(&state, &user, form.code, None, None).await;
    };
    if pending.confirmed {
        return Ok(Redirect::to("/admin/account").into_response());
    }
    // A second step decides who may sign in: a stolen session alone must not choose it.
    if !current_password_is(&state, &user, form.current).await? {
        let error = "Your password is not right: codes stay off.".to_owned();
        return totp_page(&state, &user, form.code, None, Some(error)).await;
    }
    let now = totp::step_at(state.clock.now().unix_timestamp());
    let Some(step) = totp::matching_step(&pending.secret, &form.code, now) else {
        let error = "That code is not right. Check that the app shows this blog, and enter the code it shows now.";
        return totp_page(&state, &user, form.code, Some(error.to_owned()), None).await;
    };
    let codes = totp::new_recovery_codes();
    let hashes: Vec<Vec<u8>> = codes
        .iter()
        .map(|code| totp::recovery_code_hash(&state.secret, code))
        .collect();
    let mut tx = state.db.begin().await?;
    if !db::sign_in::accept_totp_step(&mut *tx, user.id(), step, true).await? {
        return Ok(Redirect::to("/admin/account").into_response());
    }
    db::sign_in::replace_recovery_codes(&mut *tx, user.id(), &hashes).await?;
    tx.commit().await?;
    recovery_codes_page(&state, &user, codes, true).await
}

async fn recovery_codes_page(
    state: &AppState,
    user: &CurrentUser,
    codes: Vec<String>,
    first: bool,
) -> Result<Response, AppError> {
    let mut layout = user.layout(state, "account", "Your recovery codes").await?;
    if first {
        layout.notice = Some(
            "Authenticator codes are on: from now on you sign in with your password and a code."
                .to_owned(),
        );
    }
    let mut response = render(&RecoveryCodesPage {
        layout,
        codes,
        first,
    })?;
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

async fn new_recovery_codes(
    State(state): State<AppState>,
    AdminForm { user, form, .. }: AdminForm<CurrentPasswordForm>,
) -> Result<Response, AppError> {
    if !db::sign_in::second_steps(&state.db, user.id()).await?.totp {
        return Ok(Redirect::to("/admin/account").into_response());
    }
    if !current_password_is(&state, &user, form.current).await? {
        return account_page(
            &state,
            &user,
            Some("No new recovery codes: the password is not right.".into()),
            None,
        )
        .await;
    }
    let codes = totp::new_recovery_codes();
    let hashes: Vec<Vec<u8>> = codes
        .iter()
        .map(|code| totp::recovery_code_hash(&state.secret, code))
        .collect();
    db::sign_in::replace_recovery_codes(&state.db, user.id(), &hashes).await?;
    recovery_codes_page(&state, &user, codes, false).await
}

#[derive(Debug, Deserialize)]
struct CurrentPasswordForm {
    #[serde(default)]
    current: String,
}

async fn totp_remove(
    State(state): State<AppState>,
    AdminForm { user, form, .. }: AdminForm<CurrentPasswordForm>,
) -> Result<Response, AppError> {
    if !current_password_is(&state, &user, form.current).await? {
        return account_page(
            &state,
            &user,
            Some("Authenticator codes stay on: the password is not right.".into()),
            None,
        )
        .await;
    }
    db::sign_in::remove_totp(&state.db, user.id()).await?;
    Ok(Notice::TotpOff.after("/admin/account"))
}

async fn passkey_start(
    State(state): State<AppState>,
    AdminForm { user, form, .. }: AdminForm<CurrentPasswordForm>,
) -> Result<Response, AppError> {
    let Some(webauthn) = state.webauthn.clone() else {
        return Ok(refused(StatusCode::NOT_FOUND, passkeys::UNAVAILABLE));
    };
    // A passkey signs in alone: whoever holds this session must also know the password, or a
    // stolen session would become a way in that outlives it.
    if !current_password_is(&state, &user, form.current).await? {
        return Ok(refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Your password is not right: the passkey was not added.",
        ));
    }
    let handle = db::sign_in::webauthn_id(&state.db, user.id()).await?;
    let handle = Uuid::parse_str(&handle).map_err(|e| anyhow::anyhow!("user handle: {e}"))?;
    // The passkeys this account has already: the browser does not make a second on them.
    let exclude: Vec<_> = db::sign_in::passkey_data(&state.db, user.id())
        .await?
        .into_iter()
        .filter_map(|value| serde_json::from_value::<Passkey>(value).ok())
        .map(|passkey| passkey.cred_id().clone())
        .collect();
    let account = &user.session.user;
    let (options, ceremony) = webauthn
        .start_passkey_registration(handle, &account.email, &account.display_name, Some(exclude))
        .map_err(|e| anyhow::anyhow!("passkey registration could not start: {e}"))?;
    begin_ceremony(
        &state,
        "register",
        (Some(user.id()), None),
        &ceremony,
        options,
    )
    .await
}

#[derive(Debug, Deserialize)]
struct PasskeyFinishForm {
    #[serde(default)]
    ceremony: String,
    #[serde(default)]
    credential: String,
    #[serde(default)]
    name: String,
}

async fn passkey_finish(
    State(state): State<AppState>,
    device: Device,
    AdminForm { user, form, .. }: AdminForm<PasskeyFinishForm>,
) -> Result<Response, AppError> {
    let Some(webauthn) = state.webauthn.clone() else {
        return Ok(refused(StatusCode::NOT_FOUND, passkeys::UNAVAILABLE));
    };
    let name = text::clean(form.name.trim());
    if name.chars().count() > 100 {
        return Ok(refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Give the passkey a name of up to 100 characters.",
        ));
    }
    let taken =
        db::sign_in::take_ceremony(&state.db, &session::token_hash(&form.ceremony), "register")
            .await?;
    let ceremony: Option<PasskeyRegistration> = taken
        .filter(|(owner, _)| *owner == Some(user.id()))
        .and_then(|(_, stored)| serde_json::from_value(stored).ok());
    let Some(ceremony) = ceremony else {
        return Ok(refused(
            StatusCode::BAD_REQUEST,
            "This request has expired. Press the button again.",
        ));
    };
    let Ok(credential) = serde_json::from_str::<RegisterPublicKeyCredential>(&form.credential)
    else {
        return Ok(refused(
            StatusCode::BAD_REQUEST,
            "The browser's answer could not be read.",
        ));
    };
    let passkey = match webauthn.finish_passkey_registration(&credential, &ceremony) {
        Ok(passkey) => passkey,
        Err(error) => {
            tracing::info!(%error, "passkey registration refused");
            return Ok(refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                "The passkey could not be verified. Try again, or try another device.",
            ));
        }
    };
    // Unnamed, a passkey is named after the browser that made it.
    let name = if name.is_empty() {
        device::describe(&device.user_agent)
    } else {
        name
    };
    let stored = serde_json::to_value(&passkey)
        .map_err(|e| anyhow::anyhow!("passkey could not be stored: {e}"))?;
    let added = db::sign_in::add_passkey(
        &state.db,
        user.id(),
        passkey.cred_id().as_ref(),
        &name,
        &stored,
    )
    .await?;
    if !added {
        return Ok(refused(
            StatusCode::CONFLICT,
            "This passkey is registered already.",
        ));
    }
    Ok(Json(json!({ "location": Notice::PasskeyAdded.on("/admin/account") })).into_response())
}

async fn passkey_remove(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    AdminForm { user, form, .. }: AdminForm<CurrentPasswordForm>,
) -> Result<Response, AppError> {
    // Removing a passkey can lock its owner out: the password is asked, as for the others.
    if !current_password_is(&state, &user, form.current).await? {
        return account_page(
            &state,
            &user,
            Some("The passkey stays: the password is not right.".into()),
            None,
        )
        .await;
    }
    db::sign_in::remove_passkey(&state.db, user.id(), id).await?;
    Ok(Notice::PasskeyRemoved.after("/admin/account"))
}
