//! The admin area: editors log in, write and publish; moderators moderate.
//! Every route checks the session and the role; every state change checks the CSRF token
//! and the Origin header.

mod account;
mod auth;
mod comments;
mod dashboard;
mod email;
mod fediverse;
mod https;
mod import;
mod media;
mod notice;
mod password;
mod posts;
mod settings;
mod sign_in;
mod theme;
mod users;

use std::marker::PhantomData;

use axum::{
    Router,
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Multipart, Request},
    http::{HeaderMap, Method, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, de::DeserializeOwned};
use subtle::ConstantTimeEq;

use crate::{
    auth::session,
    config::Config,
    db::{self, sessions::SessionUser},
    domain::role::Role,
    error::AppError,
    state::AppState,
    views::admin::AdminLayout,
};

pub(crate) use comments::check_text;
use sign_in::{Device, password_accepted};

/// Failed password checks allowed per account or per address in the window before a wait is
/// imposed: logins, second steps and the current password asked again all count.
const LOGIN_FAILURES: i64 = 5;
const LOGIN_WINDOW_SECS: i64 = 15 * 60;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(auth::router())
        .merge(account::router())
        .merge(sign_in::router())
        .merge(dashboard::router())
        .merge(email::router())
        .merge(https::router())
        .merge(fediverse::router())
        .merge(posts::router())
        .merge(comments::router())
        .merge(media::router())
        .merge(password::router())
        .merge(users::router())
        .merge(settings::router())
        .merge(theme::router())
        .merge(import::router())
}

/// Routes that take large bodies slowly (the import upload): outside the usual limits.
pub fn upload_router(state: &AppState) -> Router<AppState> {
    import::upload_router(state)
}

/// The logged-in user of an admin request. Anonymous readers are sent to the login page (with
/// a way back); a POST without a session is refused.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub session: SessionUser,
    pub role: Role,
}

impl CurrentUser {
    pub fn id(&self) -> i64 {
        self.session.user.id
    }

    /// Refuses users below `role` with a 403 page.
    pub fn require(&self, role: Role) -> Result<(), AppError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "Your role does not allow this page or action.",
            ))
        }
    }

    pub async fn layout(
        &self,
        state: &AppState,
        active: &'static str,
        title: &str,
    ) -> Result<AdminLayout, AppError> {
        let settings = state.settings().await?;
        let pending = if self.role >= Role::Editor {
            db::comments::count_by_status(&state.db).await?.pending
        } else {
            0
        };
        Ok(AdminLayout {
            user_name: Some(self.session.user.display_name.clone()),
            csrf: self.session.csrf_token.clone(),
            active,
            can_moderate: self.role >= Role::Editor,
            is_admin: self.role >= Role::Admin,
            pending,
            ..AdminLayout::anonymous(&settings.title, title)
        })
    }
}

fn session_token(headers: &HeaderMap) -> Option<String> {
    crate::http::edge::cookies::get(headers, session::COOKIE)
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let found = match session_token(&parts.headers) {
            Some(token) => {
                db::sessions::find(&state.db, &session::token_hash(&token), session::IDLE_DAYS)
                    .await?
            }
            None => None,
        };
        let Some(session) = found else {
            if parts.method == Method::GET || parts.method == Method::HEAD {
                let next = parts
                    .uri
                    .path_and_query()
                    .map_or("/admin".to_owned(), |p| p.as_str().to_owned());
                return Err(AppError::LoginRequired { next });
            }
            return Err(AppError::Forbidden(
                "Your session has ended. Log in again in a new tab, then send this form again.",
            ));
        };
        // Held to the account page until a second step is set up (the blog requires one).
        let path = parts.uri.path();
        if session.must_add_second_step
            && !(path == "/admin/account" || path.starts_with("/admin/account/"))
            && path != "/admin/logout"
        {
            if parts.method == Method::GET || parts.method == Method::HEAD {
                return Err(AppError::SecondStepRequired);
            }
            return Err(AppError::Forbidden(
                "This blog asks you to add a passkey or an authenticator app first: see Your account.",
            ));
        }
        let role = session.user.role;
        Ok(Self { session, role })
    }
}

/// A request from this site, checked before the body is read: as the first extractor of a
/// handler, a cross-site form is refused before a byte of it is taken in.
pub struct SameSite;

impl FromRequestParts<AppState> for SameSite {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        check_origin(&parts.headers, &state.config)?;
        Ok(SameSite)
    }
}

/// A state-changing request from the same site: Origin (when the browser sends one) must be
/// this blog. Cross-site forms are refused before anything is read.
pub fn check_origin(headers: &HeaderMap, config: &Config) -> Result<(), AppError> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    if origin == config.base_url || is_blog_address(origin, config) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "This form was sent from another site, so it was refused.",
        ))
    }
}

/// The first-run setup page answers only at the blog's own address: a page elsewhere that
/// points its name at this machine (DNS rebinding) cannot make the first admin.
pub fn check_host(headers: &HeaderMap, config: &Config) -> Result<(), AppError> {
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let scheme = config.base_url.split("://").next().unwrap_or("http");
    if is_blog_address(&format!("{scheme}://{host}"), config) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "The first-run setup answers only at the blog's own address (FOLIO_BASE_URL): open it there, or start Folio with FOLIO_BASE_URL set to the address you use.",
        ))
    }
}

/// Whether `address` (an origin, `scheme://host[:port]`) is the blog: the host and port of
/// `FOLIO_BASE_URL`, whatever Host a request names. A blog on this machine's own address
/// (localhost, 127.0.0.1, [::1], or all addresses) is the same blog under each of those names,
/// none of which another site can take by pointing its name here.
fn is_blog_address(address: &str, config: &Config) -> bool {
    let (Ok(asked), Ok(blog)) = (url::Url::parse(address), url::Url::parse(&config.base_url))
    else {
        return false;
    };
    if asked.scheme() != blog.scheme()
        || asked.port_or_known_default() != blog.port_or_known_default()
    {
        return false;
    }
    match (asked.host(), blog.host()) {
        (Some(asked), Some(blog)) if asked == blog => true,
        (Some(asked), Some(blog)) => is_this_machine(&asked) && is_this_machine(&blog),
        _ => false,
    }
}

fn is_this_machine(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback() || ip.is_unspecified(),
        url::Host::Ipv6(ip) => ip.is_loopback() || ip.is_unspecified(),
    }
}

/// The least role a handler needs, as a type in its signature: `CurrentUser` (anyone signed
/// in), `Editor` or `Admin`. A route cannot forget its check, and an author is refused (403)
/// before the handler runs or the body is read.
pub trait RoleGate {
    const ROLE: Role;
}

impl RoleGate for CurrentUser {
    const ROLE: Role = Role::Author;
}

/// A signed-in editor or admin.
pub struct Editor(pub CurrentUser);

/// A signed-in admin.
pub struct Admin(pub CurrentUser);

impl RoleGate for Editor {
    const ROLE: Role = Role::Editor;
}

impl RoleGate for Admin {
    const ROLE: Role = Role::Admin;
}

/// The signed-in user, refused unless of at least `R`'s role.
async fn user_of_role<R: RoleGate>(
    parts: &mut Parts,
    state: &AppState,
) -> Result<CurrentUser, AppError> {
    let user = CurrentUser::from_request_parts(parts, state).await?;
    user.require(R::ROLE)?;
    Ok(user)
}

impl FromRequestParts<AppState> for Editor {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        user_of_role::<Self>(parts, state).await.map(Self)
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        user_of_role::<Self>(parts, state).await.map(Self)
    }
}

/// An admin form: the current user (of at least the role `R`), a same-site Origin, a matching
/// CSRF token, then the fields. Repeated fields (bulk actions) become a `Vec`.
pub struct AdminForm<T, R: RoleGate = CurrentUser> {
    pub user: CurrentUser,
    pub form: T,
    pub role: PhantomData<R>,
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

impl<T: DeserializeOwned, R: RoleGate> FromRequest<AppState> for AdminForm<T, R> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (user, request) = same_site_user(request, state).await?;
        user.require(R::ROLE)?;
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|_| AppError::BadRequest("The form could not be read."))?;
        let csrf: CsrfField = serde_html_form::from_bytes(&bytes)
            .map_err(|_| AppError::BadRequest("The form could not be read."))?;
        check_csrf(&csrf.csrf, &user)?;
        let form = serde_html_form::from_bytes(&bytes)
            .map_err(|_| AppError::BadRequest("The form could not be read."))?;
        Ok(Self {
            user,
            form,
            role: PhantomData,
        })
    }
}

/// An admin upload (`multipart/form-data`): the current user, a same-site Origin and a matching
/// CSRF token, which the form sends as its first field, so it is checked before a byte of any
/// file is read. The fields after it are left in `fields`. A user below the role `R` is refused
/// before any of it is read.
pub struct AdminMultipart<R: RoleGate = CurrentUser> {
    pub user: CurrentUser,
    pub fields: Multipart,
    pub role: PhantomData<R>,
}

/// Why an upload was refused before its handler ran. A handler that explains its own size
/// limit takes `Result<AdminMultipart, UploadRefused>` and answers `TooLarge` itself.
pub enum UploadRefused {
    /// The body went over the route's limit before the token was read.
    TooLarge(CurrentUser),
    Refused(AppError),
}

impl From<AppError> for UploadRefused {
    fn from(error: AppError) -> Self {
        UploadRefused::Refused(error)
    }
}

impl IntoResponse for UploadRefused {
    fn into_response(self) -> Response {
        match self {
            UploadRefused::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE.into_response(),
            UploadRefused::Refused(error) => error.into_response(),
        }
    }
}

impl<R: RoleGate> FromRequest<AppState> for AdminMultipart<R> {
    type Rejection = UploadRefused;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        const UNREADABLE: AppError = AppError::BadRequest("The upload could not be read.");
        let (user, request) = same_site_user(request, state).await?;
        user.require(R::ROLE)?;
        let mut fields = Multipart::from_request(request, state)
            .await
            .map_err(|_| UNREADABLE)?;
        let mut token = Vec::new();
        let first = match fields.next_field().await {
            Ok(first) => first,
            Err(error) if error.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(UploadRefused::TooLarge(user));
            }
            Err(_) => return Err(UNREADABLE.into()),
        };
        if let Some(mut field) = first
            && field.name() == Some("csrf")
        {
            while let Some(chunk) = field.chunk().await.map_err(|_| UNREADABLE)? {
                token.extend_from_slice(&chunk);
                if token.len() > 1024 {
                    return Err(UNREADABLE.into());
                }
            }
        }
        check_csrf(&String::from_utf8_lossy(&token), &user)?;
        Ok(Self {
            user,
            fields,
            role: PhantomData,
        })
    }
}

/// The first checks of every admin write: the request comes from this site, from a session.
async fn same_site_user(
    request: Request,
    state: &AppState,
) -> Result<(CurrentUser, Request), AppError> {
    let (mut parts, body) = request.into_parts();
    check_origin(&parts.headers, &state.config)?;
    let user = CurrentUser::from_request_parts(&mut parts, state).await?;
    Ok((user, Request::from_parts(parts, body)))
}

/// The one CSRF check: the token a form sent back is its session's (compared in constant time).
fn check_csrf(sent: &str, user: &CurrentUser) -> Result<(), AppError> {
    if bool::from(sent.as_bytes().ct_eq(user.session.csrf_token.as_bytes())) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "This form has expired or did not come from this blog. Go back, reload the page and send it again.",
        ))
    }
}

/// `next` after login: only a page of the admin area. A browser drops tabs and line ends from a
/// `Location` (`/\t/evil.example` becomes `//evil.example`, another site), so a path with any
/// control character, white space or backslash is refused outright.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if (path == "/admin" || path.starts_with("/admin/") || path.starts_with("/admin?"))
                && !path
                    .chars()
                    .any(|c| c.is_control() || c.is_whitespace() || c == '\\') =>
        {
            path.to_owned()
        }
        _ => "/admin".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(
            safe_next(Some("/admin/posts?status=draft")),
            "/admin/posts?status=draft"
        );
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "admin",
            "/\t/evil.example",
            "/%09/evil.example",
            "/\n/evil.example",
            "/admin/\t/x",
            "/admin\\..\\x",
            "/2021/09/a-post.html",
            "/administrator",
        ] {
            assert_eq!(safe_next(Some(bad)), "/admin", "{bad}");
        }
        assert_eq!(safe_next(None), "/admin");
    }
}
