//! The HTTP side: each module owns its routes; this one merges them and owns the layer stack.

mod admin;
mod app;
pub mod assets;
mod comments;
mod edge;
mod fediverse;
mod feeds;
mod follow;
mod health;
mod https;
mod mail_links;
mod media;
mod metrics;
mod outgoing_mail;
mod post_page;
pub(crate) mod public;
pub mod serve;
mod webmention;

pub use app::App;
pub(crate) use outgoing_mail::{comments_published, mail_blog};
pub use webmention::ensure_worker as ensure_federation_worker;

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use askama::Template;
use axum::{
    Router,
    body::Body,
    body::HttpBody as _,
    extract::{MatchedPath, Request, State},
    http::{HeaderName, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{Html, IntoResponse, Response},
};
use tower::ServiceBuilder;
use tower_http::{
    catch_panic::CatchPanicLayer,
    compression::CompressionLayer,
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    timeout::{RequestBodyTimeoutLayer, TimeoutLayer},
    trace::TraceLayer,
};

use crate::{
    error::{AppError, DatabaseUnavailable, ErrorPageText, PlainErrorBody},
    state::AppState,
    views::{self, Layout, public::ErrorPage},
};

/// Readers' forms (comments) are small: axum's own limit for a form, refused with 413 before
/// any handler runs.
const FORM_BODY_BYTES: usize = 2 * 1024 * 1024;
/// The admin area takes a 10 MB image upload and the form around it.
const ADMIN_BODY_BYTES: usize = 12 * 1024 * 1024;
/// Health checks, metrics, assets and media are reads: nothing to send but headers.
const READ_BODY_BYTES: usize = 64 * 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data: https:; \
     style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'self'; \
     form-action 'self'; frame-ancestors 'none'";
/// The theme page's preview, which that page frames: the same policy, framed by this origin.
pub const PREVIEW_CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data: https:; \
     style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'self'; \
     form-action 'self'; frame-ancestors 'self'";

/// The whole application: four sub-routers, each with its own stack of limits, inside one
/// stack every response passes through (from the outside in: request ids, metrics and the log
/// line, compression, security headers, error pages, panics caught).
pub fn router(state: AppState) -> App {
    // The fediverse worker runs where the fediverse or Webmention is on (and starts when either
    // is turned on). Started with the app, not the state: it makes comments with the state the
    // app serves (a test's clock included).
    if tokio::runtime::Handle::try_current().is_ok() {
        let beyond = state.clone();
        tokio::spawn(async move {
            if crate::db::settings::load(&beyond.db)
                .await
                .is_ok_and(|settings| settings.fediverse_enabled || settings.webmention_enabled)
            {
                webmention::ensure_worker(&beyond);
            }
        });
    }
    let every_response = ServiceBuilder::new()
        .layer(middleware::map_request(own_request_ids_only))
        .layer(SetRequestIdLayer::new(X_REQUEST_ID, ProcessRequestId))
        .layer(PropagateRequestIdLayer::new(X_REQUEST_ID))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::observe,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    let id = request
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    // The route's pattern, never the path: reset, invitation and mail-link
                    // tokens are in paths, and any warning in the request carries its span.
                    let route = request
                        .extensions()
                        .get::<MatchedPath>()
                        .map_or("unmatched", MatchedPath::as_str);
                    tracing::info_span!("request", method = %request.method(), route, id)
                })
                // `metrics::observe` writes the one line per request.
                .on_response(())
                .on_failure(()),
        )
        // Gzip, and what is streamed; brotli for whole pages comes from the page cache's
        // encoder (`edge::compression`).
        .layer(CompressionLayer::new().no_br())
        .layer(middleware::from_fn(edge::compression::whole_pages))
        .map_response(with_security_headers)
        .layer(middleware::from_fn_with_state(state.clone(), error_pages))
        .layer(CatchPanicLayer::custom(|_| {
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }));
    let router = Router::new()
        .merge(public_stack(&state))
        .merge(admin_stack(&state))
        .merge(admin::upload_router(&state))
        .merge(read_stack(&state))
        .merge(fediverse_stack(&state))
        .layer(every_response)
        .with_state(state.clone());
    App::new(router, state)
}

/// Readers' pages, feeds and the comment form: answered from the page cache when possible,
/// 404s checked against old links of imported blogs, small bodies, bounded time. The 404 for
/// an unknown address is answered here, so that old links reach it too.
fn public_stack(state: &AppState) -> Router<AppState> {
    Router::new()
        .merge(public::router())
        .merge(feeds::router())
        .merge(mail_links::router())
        .merge(follow::router())
        .fallback(not_found)
        .layer(
            ServiceBuilder::new()
                .layer(request_timeout())
                .map_response(axum_response)
                // A body trickled in slower than this is refused, so it cannot hold a connection.
                .layer(RequestBodyTimeoutLayer::new(state.config.client_timeout))
                .layer(RequestBodyLimitLayer::new(FORM_BODY_BYTES))
                .map_request(axum_request)
                .layer(middleware::from_fn_with_state(
                    state.clone(),
                    edge::page_cache::pages,
                ))
                .layer(middleware::from_fn_with_state(
                    state.clone(),
                    public::old_links,
                )),
        )
}

/// The admin area: never cached; a write that succeeds empties this process's page cache at
/// once (other processes hear of it by NOTIFY). Room for an image upload; bounded time.
fn admin_stack(state: &AppState) -> Router<AppState> {
    admin::router().layer(
        ServiceBuilder::new()
            .layer(request_timeout())
            .map_response(axum_response)
            .layer(RequestBodyTimeoutLayer::new(state.config.client_timeout))
            .layer(RequestBodyLimitLayer::new(ADMIN_BODY_BYTES))
            .map_request(axum_request)
            .layer(middleware::from_fn_with_state(
                state.clone(),
                admin_unavailable,
            ))
            .layer(middleware::from_fn_with_state(
                state.clone(),
                edge::page_cache::empty_after_writes,
            )),
    )
}

/// The fields shown back when a form could not be saved: what a person writes (posts, pages,
/// replies, settings' texts). Never a password, a code or what only the form itself needs.
const TYPED_FIELDS: [&str; 16] = [
    "title",
    "custom_css",
    "navigation",
    "links",
    "text_body",
    "profile_bio",
    "body",
    "excerpt",
    "labels",
    "slug",
    "publish_at",
    "description",
    "text",
    "blocked_terms",
    "robots",
    "name",
];

/// The admin area while the database cannot be reached: a page that says so (read-only while
/// replicas serve readers) and shows what a form sent then held, so nothing typed is lost.
async fn admin_unavailable(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    // Only a form of a known, ordinary size is read ahead (an upload is left to its handler).
    let is_form = request.method() == axum::http::Method::POST
        && request
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| {
                v.as_bytes()
                    .starts_with(b"application/x-www-form-urlencoded")
            })
        && request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .or(request.body().size_hint().upper())
            .is_some_and(|length| length <= FORM_BODY_BYTES as u64);
    let (request, sent) = if is_form {
        let (parts, body) = request.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, FORM_BODY_BYTES).await else {
            return StatusCode::REQUEST_TIMEOUT.into_response();
        };
        (
            Request::from_parts(parts, Body::from(bytes.clone())),
            Some(bytes),
        )
    } else {
        (request, None)
    };
    let response = next.run(request).await;
    if response.extensions().get::<DatabaseUnavailable>().is_none() {
        return response;
    }
    let typed = sent
        .map(|bytes| {
            serde_html_form::from_bytes::<Vec<(String, String)>>(&bytes).unwrap_or_default()
        })
        .unwrap_or_default()
        .into_iter()
        .filter(|(name, value)| !value.trim().is_empty() && TYPED_FIELDS.contains(&name.as_str()))
        .collect();
    let settings = state.last_settings();
    let mut layout = Layout::new(&settings, &state.config, Some("Read-only for now"), None);
    layout.dress(&state.last_look(), "");
    layout.noindex = true;
    let page = views::public::AdminUnavailablePage {
        layout,
        read_only: state.reads.any_replica_usable(),
        typed,
    };
    match page.render() {
        Ok(html) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [
                (header::CACHE_CONTROL, "no-store"),
                (header::RETRY_AFTER, "10"),
            ],
            Html(html),
        )
            .into_response(),
        Err(_) => response,
    }
}

/// Health checks, metrics, fingerprinted assets and uploaded images: reads that need no page
/// cache (they carry their own caching headers).
fn read_stack(state: &AppState) -> Router<AppState> {
    Router::new()
        .merge(health::router())
        .merge(https::router())
        .merge(metrics::router())
        .merge(assets::router())
        .merge(media::router().layer(middleware::from_fn_with_state(
            state.clone(),
            edge::page_cache::replica_reads,
        )))
        .layer(
            ServiceBuilder::new()
                .layer(request_timeout())
                .map_response(axum_response)
                .layer(RequestBodyTimeoutLayer::new(state.config.client_timeout))
                .layer(RequestBodyLimitLayer::new(READ_BODY_BYTES))
                .map_request(axum_request),
        )
}

/// The fediverse's documents and inboxes, and the Webmention endpoint: never cached, what is
/// sent capped.
fn fediverse_stack(state: &AppState) -> Router<AppState> {
    fediverse::router().merge(webmention::router()).layer(
        ServiceBuilder::new()
            .layer(request_timeout())
            .map_response(axum_response)
            .layer(RequestBodyTimeoutLayer::new(state.config.client_timeout))
            .layer(RequestBodyLimitLayer::new(fediverse::INBOX_BODY_BYTES))
            .map_request(axum_request),
    )
}

/// The limit layers wrap bodies in their own types; inside a `ServiceBuilder` stack these turn
/// them back into axum's, which the middleware below and the timeout's own answer expect.
fn axum_request<B>(request: axum::http::Request<B>) -> Request
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    request.map(Body::new)
}

fn axum_response<B>(response: axum::http::Response<B>) -> Response
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    response.map(Body::new)
}

fn request_timeout() -> TimeoutLayer {
    TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, REQUEST_TIMEOUT)
}

/// What every response carries, unless a handler chose its own (the theme preview's policy).
const SECURITY_HEADERS: [(HeaderName, &str); 4] = [
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "strict-origin-when-cross-origin"),
    (header::X_FRAME_OPTIONS, "DENY"),
];

fn with_security_headers<B>(mut response: axum::http::Response<B>) -> axum::http::Response<B> {
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}

async fn not_found() -> AppError {
    AppError::NotFound
}

/// Gives every 4xx/5xx response that is not already a page (or a JSON answer to a script) a page
/// in the blog's layout.
async fn error_pages(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || response.extensions().get::<PlainErrorBody>().is_some()
        || response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| {
                v.as_bytes().starts_with(b"text/html")
                    || v.as_bytes().starts_with(b"application/json")
                    || v.as_bytes().starts_with(b"application/activity+json")
            })
    {
        return response;
    }
    let text = response
        .extensions()
        .get::<ErrorPageText>()
        .cloned()
        .unwrap_or_else(|| ErrorPageText::for_status(status));
    let settings = state.last_settings();
    let mut layout = Layout::new(&settings, &state.config, Some(text.heading), None);
    layout.dress(&state.last_look(), "");
    layout.noindex = true;
    let page = ErrorPage {
        layout,
        status: status.as_u16(),
        heading: text.heading.to_owned(),
        message: text.message.to_owned(),
    };
    let (mut parts, _) = response.into_parts();
    let body = match page.render() {
        Ok(html) => Body::from(html),
        Err(error) => {
            tracing::error!(%error, "error page failed to render");
            Body::from(text.message)
        }
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    parts
        .headers
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Response::from_parts(parts, body)
}

/// Renders a page template to a response.
pub(crate) fn render(page: &impl Template) -> Result<Response, AppError> {
    Ok(Html(page.render()?).into_response())
}

/// A request id a client sends is kept (a proxy in front may set one) only when it looks like
/// one: otherwise Folio makes its own, so nothing a client invents is echoed or logged.
async fn own_request_ids_only(mut request: Request) -> Request {
    if request
        .headers()
        .get(X_REQUEST_ID)
        .is_some_and(|v| !sane_request_id(v))
    {
        request.headers_mut().remove(X_REQUEST_ID);
    }
    request
}

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A request id a proxy in front may pass on: short, and only characters safe in a log line.
fn sane_request_id(v: &HeaderValue) -> bool {
    (1..=64).contains(&v.len())
        && v.as_bytes()
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Request ids unique within this process and distinct across restarts.
#[derive(Clone)]
struct ProcessRequestId;

static NEXT_REQUEST: AtomicU64 = AtomicU64::new(0);
static PROCESS_TAG: std::sync::LazyLock<u32> = std::sync::LazyLock::new(|| {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32))
        .unwrap_or_default();
    nanos ^ std::process::id().rotate_left(16)
});

fn new_request_id() -> Option<HeaderValue> {
    let n = NEXT_REQUEST.fetch_add(1, Ordering::Relaxed);
    let mut id = HeaderValue::try_from(format!("{:08x}-{n:x}", *PROCESS_TAG)).ok()?;
    // Never indexed by HTTP/2's header compression: a value that is new on every response
    // would push the reusable headers (the CSP, the content type) out of the connection's
    // table, and each would be sent again in full.
    id.set_sensitive(true);
    Some(id)
}

impl MakeRequestId for ProcessRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        new_request_id().map(RequestId::new)
    }
}
