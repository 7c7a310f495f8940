//! People (admins only): who may sign in, with what role; passwords set for others.

use axum::{
    Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::Response,
    routing::{get, post},
};
use serde::Deserialize;

use super::{
    Admin, AdminForm, CurrentUser,
    notice::{DoneQuery, Notice},
};
use crate::{
    auth::password,
    db,
    domain::{FormErrors, role::Role},
    error::AppError,
    http::render,
    state::AppState,
    views::admin::{NewUserForm, SetupErrors, UserView, UsersPage},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(list).post(add))
        .route("/admin/users/{id}", post(update))
        .route("/admin/users/{id}/password", post(reset_password))
        .route("/admin/users/{id}/invite", post(invite))
        .route(
            "/admin/users/{id}/second-steps/remove",
            post(remove_second_steps),
        )
}

async fn users_page(
    state: &AppState,
    user: &CurrentUser,
    new_user: NewUserForm,
    error: Option<String>,
    notice: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let mut layout = user.layout(state, "users", "Users").await?;
    layout.notice = notice;
    let steps = db::sign_in::second_steps_of_all(&state.db).await?;
    let users = db::users::list(&state.db)
        .await?
        .into_iter()
        .map(|u| UserView {
            second_steps: steps
                .iter()
                .find(|(id, _, _)| *id == u.id)
                .map(|&(_, totp, passkeys)| describe_second_steps(totp, passkeys))
                .unwrap_or_default(),
            is_me: u.id == user.id(),
            id: u.id,
            email: u.email,
            name: u.display_name,
            role: u.role,
            disabled: u.disabled,
            has_password: u.has_password,
        })
        .collect();
    let mut response = render(&UsersPage {
        layout,
        users,
        new_user,
        error,
        mail_on: state.mailer.is_some(),
    })?;
    *response.status_mut() = status;
    Ok(response)
}

async fn list(
    State(state): State<AppState>,
    Admin(user): Admin,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AppError> {
    let notice = query.done.map(|done| done.text().to_owned());
    let new_user = NewUserForm {
        role: "author".into(),
        ..NewUserForm::default()
    };
    users_page(&state, &user, new_user, None, notice, StatusCode::OK).await
}

#[derive(Debug, Default, Deserialize)]
struct AddForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

async fn add(
    State(state): State<AppState>,
    AdminForm { user, form, .. }: AdminForm<AddForm, Admin>,
) -> Result<Response, AppError> {
    let mut errors = SetupErrors::default();
    let (email, name) = (form.email.trim(), form.name.trim());
    if name.is_empty() || name.chars().count() > 100 {
        errors.name = Some("Enter a name (up to 100 characters)".into());
    }
    if !email.contains('@') || email.contains(char::is_whitespace) || email.len() > 254 {
        errors.email = Some("Enter an email address like name@example.com".into());
    }
    // With mail on, an empty password means: invite them to choose their own.
    let invite = form.password.is_empty() && state.mailer.is_some();
    if !invite {
        errors.password = password::problem(&form.password);
    }
    let role = Role::parse(&form.role).unwrap_or(Role::Author);
    if invite && errors.is_empty() {
        let title = state.settings().await?.title;
        let mut tx = state.db.begin().await?;
        match db::users::create_invited(&mut *tx, email, name, role.as_str()).await {
            Ok(id) => {
                let invited = db::users::LinkUser {
                    id,
                    email: email.to_owned(),
                    display_name: name.to_owned(),
                    password_hash: None,
                };
                send_invitation(&state, &mut tx, &user, &invited, &title).await?;
                tx.commit().await?;
                return Ok(Notice::Invited.after("/admin/users"));
            }
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                errors.email = Some("Someone already uses this email address".into());
            }
            Err(e) => return Err(e.into()),
        }
    } else if errors.is_empty() {
        let hash = password::hash(form.password.clone()).await?;
        match db::users::create(&state.db, email, name, role.as_str(), &hash).await {
            Ok(_) => return Ok(Notice::UserAdded.after("/admin/users")),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                errors.email = Some("Someone already uses this email address".into());
            }
            Err(e) => return Err(e.into()),
        }
    }
    let new_user = NewUserForm {
        email: form.email,
        name: form.name,
        role: role.as_str().into(),
        errors,
    };
    users_page(
        &state,
        &user,
        new_user,
        None,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
struct AccessForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    disabled: Option<String>,
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    AdminForm { user, form, .. }: AdminForm<AccessForm, Admin>,
) -> Result<Response, AppError> {
    let role = Role::parse(&form.role).ok_or(AppError::BadRequest("Unknown role."))?;
    let disabled = form.disabled.is_some();
    if id == user.id() && (disabled || role != Role::Admin) {
        let new_user = NewUserForm {
            role: "author".into(),
            ..NewUserForm::default()
        };
        let error =
            "You cannot disable yourself or give up your own admin role: ask another admin."
                .to_owned();
        return users_page(
            &state,
            &user,
            new_user,
            Some(error),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    db::users::update_access(&state.db, id, role.as_str(), disabled).await?;
    Ok(Notice::UserSaved.after("/admin/users"))
}

#[derive(Debug, Default, Deserialize)]
struct PasswordForm {
    #[serde(default)]
    password: String,
}

async fn reset_password(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    AdminForm { user, form, .. }: AdminForm<PasswordForm, Admin>,
) -> Result<Response, AppError> {
    if let Some(problem) = password::problem(&form.password) {
        let new_user = NewUserForm {
            role: "author".into(),
            ..NewUserForm::default()
        };
        return users_page(
            &state,
            &user,
            new_user,
            Some(format!("The password was not set: {problem}.")),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let hash = password::hash(form.password).await?;
    let mut tx = state.db.begin().await?;
    if !db::users::set_password(&mut *tx, id, &hash).await? {
        return Err(AppError::NotFound);
    }
    // Whoever used the old password is logged out (but for this very session, when an admin
    // sets their own).
    db::sessions::delete_others_for(&mut *tx, id, &user.session.token_hash).await?;
    tx.commit().await?;
    Ok(Notice::PasswordSet.after("/admin/users"))
}

fn describe_second_steps(totp: bool, passkeys: i64) -> String {
    let mut parts = Vec::new();
    if totp {
        parts.push("authenticator app".to_owned());
    }
    match passkeys {
        0 => {}
        1 => parts.push("1 passkey".to_owned()),
        n => parts.push(format!("{n} passkeys")),
    }
    parts.join(", ")
}

#[derive(Debug, Deserialize)]
struct Empty {}

/// For someone who lost their phone and their recovery codes: their password alone signs them
/// in again (the blog's rule, if set, then asks them to add a new second step).
async fn remove_second_steps(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    AdminForm { user, .. }: AdminForm<Empty, Admin>,
) -> Result<Response, AppError> {
    if id == user.id() {
        return Err(AppError::Forbidden(
            "Your own passkeys and authenticator app are managed on Your account.",
        ));
    }
    db::sign_in::remove_all_second_steps(&state.db, id).await?;
    Ok(Notice::SecondStepsRemoved.after("/admin/users"))
}

/// Sends someone without a password (an author an import brought in, or an invitation that
/// expired) a link to choose one: the only way such an account is opened.
async fn invite(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    AdminForm { user, .. }: AdminForm<Empty, Admin>,
) -> Result<Response, AppError> {
    if state.mailer.is_none() {
        return Err(AppError::BadRequest(
            "Invitations go by email, and mail is off: set a password for them instead.",
        ));
    }
    let title = state.settings().await?.title;
    let mut tx = state.db.begin().await?;
    let Some(invited) = db::users::for_password_link(&mut *tx, id).await? else {
        return Err(AppError::NotFound);
    };
    if invited.password_hash.is_some() {
        return Err(AppError::BadRequest(
            "They have a password already: they can use \"Forgot your password?\".",
        ));
    }
    send_invitation(&state, &mut tx, &user, &invited, &title).await?;
    tx.commit().await?;
    Ok(Notice::Reinvited.after("/admin/users"))
}

/// Queues `invited` a link to choose their password, from `inviter`, in the caller's transaction
/// (`title`, the blog's, read before it began).
async fn send_invitation(
    state: &AppState,
    tx: &mut sqlx::PgConnection,
    inviter: &CurrentUser,
    invited: &db::users::LinkUser,
    title: &str,
) -> Result<(), AppError> {
    crate::mail::notify::password_link(
        tx,
        &crate::http::mail_blog(state, title),
        invited,
        Some(&inviter.session.user.display_name),
    )
    .await?;
    Ok(())
}
