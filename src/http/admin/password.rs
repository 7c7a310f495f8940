//! "Forgot your password?": an emailed link, single-use, valid for an hour; the answer is the
//! same whether or not an account uses the address, and requests are limited per address and
//! per client. Invitations (a link to choose one's own password) use the same page.

use axum::{
    Form, Router,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::Response,
    routing::get,
};
use serde::Deserialize;

use super::{Device, SameSite, password_accepted};
use crate::{
    auth::{
        links::{self, LinkProblem},
        password,
    },
    db::{
        self,
        mail_requests::{self, Limit},
        users::LinkUser,
    },
    error::AppError,
    http::{edge::extract::ClientIp, mail_blog, render},
    mail::notify::{self, password_fingerprint},
    state::AppState,
    views::admin::{AdminLayout, ForgotPage, PasswordPage},
};

/// Reset links one address may be sent, and requests one client may make, per hour.
const PER_ADDRESS: Limit = Limit {
    count: 3,
    window_secs: 3600.0,
};
const PER_CLIENT: Limit = Limit {
    count: 10,
    window_secs: 3600.0,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/forgot", get(forgot_form).post(forgot))
        .route(
            "/admin/password/{token}",
            get(password_form).post(set_password),
        )
}

async fn forgot_page(
    state: &AppState,
    email: String,
    error: Option<String>,
    sent: Option<String>,
) -> Result<Response, AppError> {
    let settings = state.settings().await?;
    render(&ForgotPage {
        layout: AdminLayout::anonymous(&settings.title, "Forgot your password?"),
        mail_on: state.mailer.is_some(),
        email,
        error,
        sent,
    })
}

async fn forgot_form(State(state): State<AppState>) -> Result<Response, AppError> {
    forgot_page(&state, String::new(), None, None).await
}

#[derive(Debug, Deserialize)]
struct ForgotForm {
    #[serde(default)]
    email: String,
}

async fn forgot(
    State(state): State<AppState>,
    _: SameSite,
    client_ip: ClientIp,
    Form(form): Form<ForgotForm>,
) -> Result<Response, AppError> {
    if state.mailer.is_none() {
        return forgot_page(&state, form.email, None, None).await;
    }
    // One form of the address for the limit, the lookup and the message.
    let email = crate::http::edge::extract::normal_email(&form.email);
    if !email.contains('@') || email.len() > 254 {
        let error = Some("Enter the email address you log in with.".to_owned());
        let mut response = forgot_page(&state, form.email, error, None).await?;
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(response);
    }
    let client = client_ip.limit_hash(&state.secret);
    let address_key = format!("reset-address:{email}");
    let client_key = format!("reset-client:{}", client.as_deref().unwrap_or("-"));
    // Read before the transaction holds a connection.
    let title = state.settings().await?.title;
    let mut tx = state.db.begin().await?;
    let allowed = mail_requests::allow(
        &mut tx,
        &[(&address_key, PER_ADDRESS), (&client_key, PER_CLIENT)],
    )
    .await?;
    if !allowed {
        tx.commit().await?;
        let error = Some(
            "Several links were asked for in the last hour. Please wait an hour, or use the newest link you received."
                .to_owned(),
        );
        let mut response = forgot_page(&state, form.email, error, None).await?;
        *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("3600"));
        return Ok(response);
    }
    match db::users::with_password_by_email(&mut *tx, &email).await? {
        Some(user) => {
            notify::password_link(&mut tx, &mail_blog(&state, &title), &user, None).await?;
        }
        // The same work for an unknown address, so the answer takes as long.
        None => {
            let link = format!("{}/admin/password/-", state.config.base_url);
            crate::mail::messages::password_link(&title, &state.config.base_url, &link, None)?;
        }
    }
    tx.commit().await?;
    let sent = format!(
        "If an account uses {email}, a link to set a new password is on its way. It works once, for an hour."
    );
    forgot_page(&state, String::new(), None, Some(sent)).await
}

/// The user a password link is for, or why it cannot be used.
async fn read_link(
    state: &AppState,
    token: &str,
) -> Result<Result<(LinkUser, bool, i64), &'static str>, AppError> {
    let now = state.clock.now().unix_timestamp();
    let claim = match links::verify(&state.secret, "password", token, now) {
        Ok(claim) => claim,
        Err(LinkProblem::Expired) => {
            return Ok(Err(
                "This link has expired: reset links work for an hour, invitations for 7 days.",
            ));
        }
        Err(LinkProblem::Invalid) => {
            return Ok(Err(
                "This link does not work; it may have been cut when it was copied.",
            ));
        }
    };
    let [id, fingerprint, kind] = claim.subject.as_slice() else {
        return Ok(Err("This link does not work."));
    };
    let Some(user) = db::users::for_password_link(&state.db, id.parse().unwrap_or(0)).await? else {
        return Ok(Err(
            "This link is for an account that no longer exists or is disabled.",
        ));
    };
    // A reset is for someone who has a password; an account without one (an imported author,
    // someone invited) is opened only by an admin's invitation.
    let invitation = kind == "invite";
    if !invitation && user.password_hash.is_none() {
        return Ok(Err(
            "This link does not work: ask an administrator of the blog to invite you.",
        ));
    }
    if *fingerprint != password_fingerprint(user.password_hash.as_deref())
        || db::links::was_used(&state.db, &links::digest(token)).await?
    {
        return Ok(Err(
            "This link was used already, or the password was changed since it was sent.",
        ));
    }
    Ok(Ok((user, invitation, claim.expires_at)))
}

async fn password_page(
    state: &AppState,
    token: &str,
    link: Result<(LinkUser, bool, i64), &'static str>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let settings = state.settings().await?;
    let (heading, problem, name, email) = match &link {
        Ok((user, true, _)) => (
            "Choose your password",
            None,
            user.display_name.clone(),
            user.email.clone(),
        ),
        Ok((user, false, _)) => (
            "Set a new password",
            None,
            user.display_name.clone(),
            user.email.clone(),
        ),
        Err(problem) => (
            "This link cannot be used",
            Some((*problem).to_owned()),
            String::new(),
            String::new(),
        ),
    };
    let status = match (&link, &error) {
        (Err(_), _) => StatusCode::GONE,
        (Ok(_), Some(_)) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::OK,
    };
    let mut response = render(&PasswordPage {
        layout: AdminLayout::anonymous(&settings.title, heading),
        heading: heading.to_owned(),
        problem,
        name,
        email,
        action_url: format!("/admin/password/{token}"),
        error,
    })?;
    *response.status_mut() = status;
    // The token is in the address: no Referer carries it to another site.
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}

async fn password_form(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let link = read_link(&state, &token).await?;
    password_page(&state, &token, link, None).await
}

#[derive(Debug, Deserialize)]
struct PasswordForm {
    #[serde(default)]
    password: String,
}

async fn set_password(
    State(state): State<AppState>,
    _: SameSite,
    device: Device,
    Path(token): Path<String>,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AppError> {
    let (user, _, expires_at) = match read_link(&state, &token).await? {
        Ok(link) => link,
        Err(problem) => return password_page(&state, &token, Err(problem), None).await,
    };
    if let Some(problem) = password::problem(&form.password) {
        let link = Ok((user, false, expires_at));
        return password_page(&state, &token, link, Some(problem)).await;
    }
    let hash = password::hash(form.password).await?;
    let expires = time::OffsetDateTime::from_unix_timestamp(expires_at)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let mut tx = state.db.begin().await?;
    if !db::links::use_once(&mut *tx, &links::digest(&token), expires).await? {
        drop(tx);
        let problem = "This link was used already, or the password was changed since it was sent.";
        return password_page(&state, &token, Err(problem), None).await;
    }
    db::users::set_password(&mut *tx, user.id, &hash).await?;
    // A new password ends every session the old one opened.
    db::sessions::delete_all_for(&mut *tx, user.id).await?;
    tx.commit().await?;
    // The link proves the mailbox, not the second step: whoever has one still gives it.
    let Some(user) = db::users::find(&state.db, user.id).await? else {
        return Err(AppError::NotFound);
    };
    password_accepted(&state, &device, &user, "/admin").await
}
