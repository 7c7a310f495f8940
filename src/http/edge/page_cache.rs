//! The page cache at the HTTP edge: answers a read from memory when it can, stores every public
//! page that is not one person's, empties the cache after every write through this process, and gives
//! each post page its own fresh comment-form token (cached or not).

use std::sync::Arc;

use axum::{
    body::{Body, Bytes, HttpBody, to_bytes},
    extract::{MatchedPath, Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use time::OffsetDateTime;

use super::{
    cookies::{self, SEEN_COOKIE, own_comment_ids, own_write_position},
    etag,
    markers::{
        Cacheable, CommentsChanged, FormTokenFor, LabelTags, NothingPublicChanged,
        TOKEN_PLACEHOLDER, ViewOf,
    },
};
use crate::{
    auth::form_token,
    page_cache::cdn::CdnConfig,
    page_cache::{CachedPage, TokenSlot},
    state::AppState,
    store::replicas::{ReadFrom, ReadSlot},
};

/// The admin stack's layer: empties the page cache after a write that succeeded.
pub async fn empty_after_writes(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let is_read = matches!(*request.method(), Method::GET | Method::HEAD);
    let response = next.run(request).await;
    if is_read {
        return response;
    }
    after_write(&state, response).await
}

/// A write that succeeded answers with a redirect (post/redirect/get), committed by now: the
/// next reader through this process sees it without waiting for the notice. Refused writes
/// (4xx) never empty the cache, so junk POSTs cannot flush it. With replicas, the writer is
/// given the primary's position after the write, and this process's reads need it from now on.
async fn after_write(state: &AppState, mut response: Response) -> Response {
    if !response.status().is_redirection() {
        return response;
    }
    if state.reads.has_replicas() {
        // Should the primary not say, the reader's next pages come from the primary itself.
        let position = crate::db::replication::primary_position(&state.db)
            .await
            .inspect_err(|error| tracing::warn!(%error, "no WAL position for read-your-writes"))
            .unwrap_or(i64::MAX);
        if position != i64::MAX {
            state.reads.heard_change(position);
        }
        // Past the lag limit every replica reads use has the write anyway.
        let lifetime = state.config.replica_max_lag.as_secs() as i64 + 60;
        let expires = state.clock.now().unix_timestamp() + lifetime;
        response.headers_mut().append(
            header::SET_COOKIE,
            super::cookies::set(
                SEEN_COOKIE,
                &crate::auth::signed::encode_position(&state.secret, position, expires),
                time::Duration::seconds(lifetime),
                state.config.secure_cookies(),
            ),
        );
    }
    if response
        .extensions()
        .get::<NothingPublicChanged>()
        .is_some()
    {
        return response;
    }
    match response.extensions().get::<CommentsChanged>() {
        Some(CommentsChanged(posts)) => {
            state.pages.invalidate_comments_of(posts);
            // The pages that show them are stale now, and this writer is not given them.
            if state.config.page_cache_bytes > 0 {
                response
                    .headers_mut()
                    .append(header::SET_COOKIE, cookies::wrote(state));
            }
        }
        None => state.pages.invalidate(),
    }
    response
}

/// The public stack's layer: answers a read from memory when it can, keeps what readers may
/// share, empties the cache after a write that succeeded, and fills in the comment form's
/// token on every post page it sends.
///
/// Every public page is kept unless it says otherwise: a handler's `Cacheable` marker says how
/// long (and which post's comments it shows), and without one the page is kept until the next
/// scheduled post. Never kept: a response with `Cache-Control: no-store` or `private` (a
/// personal page, such as a mail link's) and one that sets a cookie.
pub async fn pages(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let is_read = method == Method::GET || method == Method::HEAD;
    let key = is_read
        .then(|| shared_key(&state, request.uri(), request.headers()))
        .flatten();
    let wanted = own_write_position(&state, request.headers());
    let path = state
        .config
        .cdn
        .is_some()
        .then(|| request.uri().path().to_owned());
    if let Some((response, _)) = key.as_deref().and_then(|key| {
        let accepted = accepted_encoding(request.headers());
        hit(&state, key, wanted, &method, request.headers(), accepted)
    }) {
        return response;
    }
    // Read now: the request is gone once routed (a miss costs far more than this look).
    let agent_is_reader = from_reader(&method, request.headers());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|route| route.as_str().into());
    // A page stored on its way out is sent as a hit would be: the bytes just compressed for
    // the cache, not compressed a second time by the compression layer.
    let conditions = key.as_ref().map(|_| conditions_of(request.headers()));
    // Taken before the read is routed: a change heard after this point moves the generation
    // (and the position reads need before it), so a page read too early is not kept.
    let generation = state.pages.generation();
    let (mut response, read) = if is_read {
        read_with_retry(&state, request, next, wanted).await
    } else {
        (next.run(request).await, None)
    };
    if !is_read {
        response = after_write(&state, response).await;
    }
    // Read while the primary was away, from a replica short of a change heard: served, but
    // neither kept nor offered to a CDN.
    let current = read
        .as_ref()
        .is_none_or(|read| read.seen >= state.reads.must_see());
    let view_of = response
        .extensions()
        .get::<ViewOf>()
        .map(|ViewOf(post)| *post)
        .filter(|_| {
            response.status() == StatusCode::OK || response.status() == StatusCode::NOT_MODIFIED
        });
    if let Some(post) = view_of.filter(|_| agent_is_reader) {
        state.views.count(post);
    }
    let current_read = method == Method::GET && key.is_some() && current;
    let shareable = match sharing(&response, current_read) {
        Sharing::No => None,
        Sharing::Marked(marked) => Some(marked),
        // (A page that did not say is rare: the site is read again for its next publication.)
        Sharing::Unmarked => state
            .site()
            .await
            .ok()
            .map(|site| Cacheable::for_site(&site)),
    };
    if let (Some(shareable), Some(cdn)) = (shareable, state.config.cdn.as_ref()) {
        let labels = response
            .extensions()
            .get::<LabelTags>()
            .cloned()
            .unwrap_or_default();
        tell_the_cdn(
            cdn,
            &mut response,
            path.as_deref().unwrap_or("/"),
            shareable,
            &labels.0,
        );
    }
    let cacheable = shareable
        .filter(|_| response.status() != StatusCode::NOT_MODIFIED && state.pages.is_active());
    // Rendered pages are whole in memory already (an exact size); anything streamed is let by.
    let size = response.body().size_hint().exact();
    let key = key.filter(|key| cacheable.is_some() && size.is_some() && state.pages.admit(key));
    let keeping = key.zip(cacheable).map(|(key, cacheable)| Keeping {
        key,
        cacheable,
        generation,
        conditions: conditions.unwrap_or_default(),
        view_of,
        route,
        seen: read.map_or(i64::MIN, |read| read.seen),
    });
    keep_and_send(&state, response, keeping).await
}

/// The request headers a page sent from the cache is answered by.
fn conditions_of(headers: &HeaderMap) -> HeaderMap {
    let mut kept = HeaderMap::new();
    for name in [
        header::ACCEPT_ENCODING,
        header::IF_NONE_MATCH,
        header::IF_MODIFIED_SINCE,
    ] {
        for value in headers.get_all(&name) {
            kept.append(name.clone(), value.clone());
        }
    }
    kept
}

/// Whether readers may share a response (this process's cache and a CDN).
enum Sharing {
    No,
    /// For as long as its handler said.
    Marked(Cacheable),
    /// Its handler did not say: until the blog's next scheduled post.
    Unmarked,
}

/// A current GET read that answered with its page or a redirect, sets no cookie and is not
/// personal may be shared.
fn sharing(response: &Response, current_read: bool) -> Sharing {
    let shareable = current_read
        && matches!(
            response.status().as_u16(),
            200 | 301 | 302 | 303 | 304 | 307 | 308
        )
        && !response.headers().contains_key(header::SET_COOKIE)
        && !is_personal(response.headers());
    match response.extensions().get::<Cacheable>().copied() {
        _ if !shareable => Sharing::No,
        Some(marked) => Sharing::Marked(marked),
        None => Sharing::Unmarked,
    }
}

/// A page on its way into the cache, with what it is kept by.
struct Keeping {
    key: String,
    cacheable: Cacheable,
    generation: u64,
    conditions: HeaderMap,
    view_of: Option<i64>,
    route: Option<Arc<str>>,
    seen: i64,
}

/// Stores the page when it is `keeping`, and sends it with a fresh comment-form token in its
/// slot; a response that is neither kept nor holds a token goes as it is.
async fn keep_and_send(state: &AppState, response: Response, keeping: Option<Keeping>) -> Response {
    let token_for = response.extensions().get::<FormTokenFor>().copied();
    if token_for.is_none() && keeping.is_none() {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(body) = to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    let token_slot = token_for.and_then(|FormTokenFor(post_id)| {
        find(&body, TOKEN_PLACEHOLDER.as_bytes()).map(|offset| TokenSlot {
            post_id,
            offset,
            length: TOKEN_PLACEHOLDER.len(),
        })
    });
    let Some(keeping) = keeping else {
        return Response::from_parts(parts, with_token(state, body, token_slot));
    };
    let page = Arc::new(
        CachedPage::new(
            parts.status,
            parts.headers.clone(),
            body,
            token_slot,
            keeping.cacheable.until,
        )
        .about_comments_of(keeping.cacheable.comments_of)
        .viewing(keeping.view_of)
        .answering(keeping.route)
        .seen_at(keeping.seen),
    );
    state
        .pages
        .insert(keeping.key, page.clone(), keeping.generation);
    let accepted = accepted_encoding(&keeping.conditions);
    from_cache(state, &keeping.conditions, accepted, &page)
}

/// A read's key in the page cache, when the page may be shared: a reader with held comments of
/// their own sees a page made for them alone (a cookie whose signature fails names no comment,
/// so it cannot be a way around the cache).
fn shared_key(state: &AppState, uri: &Uri, headers: &HeaderMap) -> Option<String> {
    // A post's ActivityPub JSON shares the page's URL and is never kept.
    (own_comment_ids(headers, &state.secret).is_empty()
        && !crate::federation::asks_for_activity(headers))
    .then(|| cache_key(uri))
}

/// The page in memory for `key`, sent as it stands, and counted as a view when a reader's
/// browser asked for a post; None when it is not there (or too old for this reader's write).
fn hit(
    state: &AppState,
    key: &str,
    wanted: Option<i64>,
    method: &Method,
    headers: &HeaderMap,
    accepted: Option<Encoding>,
) -> Option<(Response, Arc<CachedPage>)> {
    let page = state
        .pages
        .get(key, wanted, || cookies::has_written(state, headers))?;
    if let Some(post) = page
        .view_of
        .filter(|_| page.status == StatusCode::OK && from_reader(method, headers))
    {
        state.views.count(post);
    }
    Some((from_cache(state, headers, accepted, &page), page))
}

/// A read answered before routing, when the page cache has it: the same answer the layers would
/// give, for the cost of a lookup (see `crate::http::App`). Only a GET from a client that takes
/// brotli or gzip: anything else goes the long way, through every layer.
pub fn answer_before_routing(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Option<(Response, Option<Arc<str>>)> {
    let accepted = accepted_encoding(headers);
    if method != Method::GET || accepted.is_none() {
        return None;
    }
    let key = shared_key(state, uri, headers)?;
    let wanted = own_write_position(state, headers);
    let (response, page) = hit(state, &key, wanted, method, headers, accepted)?;
    Some((response, page.route.clone()))
}

/// Whether a request counts as a reader's view: a GET (not HEAD) whose User-Agent is not a
/// robot's.
fn from_reader(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::GET
        && !crate::stats::page_views::is_robot(
            headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok()),
        )
}

/// A CDN's `s-maxage` for a copy sent from memory: counted from now, so it never reaches past
/// the instant the page changes by itself.
fn cdn_lifetime_now(state: &AppState, headers: &mut HeaderMap, page: &CachedPage) {
    if let Some(cdn) = &state.config.cdn
        && headers.contains_key("surrogate-key")
        && let Some(value) = cdn.cache_control(page.valid_until())
    {
        headers.insert(header::CACHE_CONTROL, value);
    }
}

/// Runs a public read, its server chosen by `ReadSlot` when its handler reads, and runs it once
/// more elsewhere when that server failed it: a replica's failure on the primary (the replica
/// is skipped until the monitor sees it well), the primary's on the replica that has replayed
/// furthest (an older page beats an error while the primary is away). Answers where the read
/// went, if anywhere.
async fn read_with_retry(
    state: &AppState,
    mut request: Request,
    next: Next,
    wanted: Option<i64>,
) -> (Response, Option<ReadFrom>) {
    let slot = ReadSlot::new(wanted);
    request.extensions_mut().insert(slot.clone());
    let mut again = None;
    if state.reads.has_replicas() {
        let (parts, body) = request.into_parts();
        again = Some(Request::from_parts(parts.clone(), Body::empty()));
        request = Request::from_parts(parts, body);
    }
    let mut response = next.clone().run(request).await;
    let mut read = slot.chosen();
    let status = response.status();
    if let Some(failed) = read.clone()
        && status.is_server_error()
    {
        if let Some(index) = failed.replica
            && status == StatusCode::SERVICE_UNAVAILABLE
        {
            state.reads.failed(index);
        }
        if let Some(mut again) = again
            && (failed.replica.is_some() || status == StatusCode::SERVICE_UNAVAILABLE)
            && let Some(retry) = ReadSlot::retry_of(&failed, &state.reads, wanted)
        {
            again.extensions_mut().insert(retry.clone());
            response = next.run(again).await;
            read = retry.chosen();
        }
    }
    (response, read)
}

/// The read stack's layer for images: read from a replica like pages, with the same retry.
pub async fn replica_reads(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let wanted = own_write_position(&state, request.headers());
    read_with_retry(&state, request, next, wanted).await.0
}

/// What a CDN in front is told of a page any reader may be given: how long it may keep it, and
/// the tags that purge it (see `page_cache::cdn`).
fn tell_the_cdn(
    cdn: &CdnConfig,
    response: &mut Response,
    path: &str,
    page: Cacheable,
    labels: &[String],
) {
    let headers = response.headers_mut();
    if let Some(value) = cdn.cache_control(page.until) {
        headers.insert(header::CACHE_CONTROL, value);
    }
    let tags = crate::page_cache::cdn::tags_for_page(path, page.comments_of, labels);
    if let Ok(value) = HeaderValue::from_str(&tags) {
        headers.insert(HeaderName::from_static("surrogate-key"), value.clone());
        // Cloudflare's list is comma-separated.
        if let Ok(value) = HeaderValue::from_str(&tags.replace(' ', ",")) {
            headers.insert(HeaderName::from_static("cache-tag"), value);
        }
    }
}

/// The query parameters some public page reads (Blogger's paging and feed parameters, search,
/// WordPress's `?p=` links, "Reply", a form's "done", comment pages and Blogger's comment links,
/// which are answered with a redirect and so must not be served the post from the cache). No
/// other parameter changes a page, so none other makes a
/// cache entry of its own: junk parameters cannot crowd real pages out of the cache.
const PAGE_PARAMETERS: [&str; 15] = [
    "updated-max",
    "updated-min",
    "reverse-paginate",
    "max-results",
    "cursor-id",
    "q",
    "page",
    "p",
    "page_id",
    "reply",
    "alt",
    "start-index",
    "done",
    "commentPage",
    "showComment",
];

/// A response its handler made for one person: never kept, and never told to a CDN.
fn is_personal(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|directive| {
            let directive = directive.trim();
            directive.eq_ignore_ascii_case("no-store") || directive.eq_ignore_ascii_case("private")
        })
}

/// A read's cache key: its path and the page parameters it sent, in the order sent.
fn cache_key(uri: &axum::http::Uri) -> String {
    let path = uri.path();
    let Some(query) = uri.query() else {
        return path.to_owned();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let name = pair.split_once('=').map_or(*pair, |(name, _)| name);
            PAGE_PARAMETERS.contains(&name)
        })
        .collect();
    if kept.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", kept.join("&"))
    }
}

fn from_cache(
    state: &AppState,
    request_headers: &HeaderMap,
    accepted: Option<Encoding>,
    page: &CachedPage,
) -> Response {
    let varies = page.encoded.compressible;
    let not_modified = |mut response: Response| {
        if varies {
            super::vary_on(response.headers_mut(), "accept-encoding");
        }
        cdn_lifetime_now(state, response.headers_mut(), page);
        response
    };
    if let Some(tag) = page.headers.get(header::ETAG)
        && let Some(if_none_match) = request_headers.get(header::IF_NONE_MATCH)
        && etag::matches(if_none_match, tag)
    {
        return not_modified(etag::not_modified(&page.headers, None));
    }
    if request_headers.get(header::IF_NONE_MATCH).is_none()
        && let (Some(modified), Some(since)) = (
            page.headers.get(header::LAST_MODIFIED).and_then(http_date),
            request_headers
                .get(header::IF_MODIFIED_SINCE)
                .and_then(http_date),
        )
        && modified <= since
    {
        return not_modified(etag::not_modified(&page.headers, None));
    }
    let encoded = &page.encoded;
    let (body, encoding) = match (accepted, page.token_slot) {
        (Some(Encoding::Br), None) if encoded.br.is_some() => (encoded.br.clone(), "br"),
        (Some(Encoding::Gzip), None) => match page.gzip() {
            Some(gzip) => (Some(gzip), "gzip"),
            None => (None, ""),
        },
        // A post page: stitched around this reader's fresh token, in brotli or gzip.
        (Some(accepted), Some(slot)) => {
            let second = state.clock.now().unix_timestamp();
            let token = || form_token::issue(&state.secret, slot.post_id, second);
            // (Should a piece be missing, the page goes out plain: a client that named only
            // one encoding never gets the other.)
            let (stitched, encoding) = match accepted {
                Encoding::Br => (
                    page.stitched(second, false, || {
                        encoded
                            .br_around_token
                            .as_ref()
                            .and_then(|pieces| pieces.with_token(token().as_bytes()))
                            .map(Bytes::from)
                    }),
                    "br",
                ),
                Encoding::Gzip => (
                    page.stitched(second, true, || {
                        page.gzip_around_token()
                            .and_then(|pieces| pieces.with_token(token().as_bytes()))
                            .map(Bytes::from)
                    }),
                    "gzip",
                ),
            };
            match stitched {
                Some(bytes) => (Some(bytes), encoding),
                None => (None, ""),
            }
        }
        _ => (None, ""),
    };
    let mut response = match body {
        Some(compressed) => Response::new(Body::from(compressed)),
        None => Response::new(with_token(state, page.body.clone(), page.token_slot)),
    };
    *response.status_mut() = page.status;
    *response.headers_mut() = page.headers.clone();
    cdn_lifetime_now(state, response.headers_mut(), page);
    if varies {
        // Every answer for this address depends on the header, the plain one too.
        super::vary_on(response.headers_mut(), "accept-encoding");
    }
    if !encoding.is_empty() {
        // Compressed once already: the compression layer leaves a response with an encoding.
        response
            .headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    response
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Encoding {
    Br,
    Gzip,
}

/// What the client takes, of what the cache keeps: brotli before gzip unless gzip is
/// preferred by its weight; None for identity (nothing named, `q=0`, or a header unreadable).
pub(super) fn accepted_encoding(headers: &HeaderMap) -> Option<Encoding> {
    let (mut br, mut gzip, mut any) = (None::<f32>, None::<f32>, None::<f32>);
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(text) = value.to_str() else {
            return None;
        };
        for item in text.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim();
            let mut weight = 1.0_f32;
            for parameter in parts {
                if let Some(q) = parameter.trim().strip_prefix("q=") {
                    weight = q.trim().parse().unwrap_or(0.0);
                }
            }
            // (Names are case-insensitive.)
            if name.eq_ignore_ascii_case("br") {
                br = Some(weight);
            } else if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
                gzip = Some(weight);
            } else if name == "*" {
                any = Some(weight);
            }
        }
    }
    let br = br.or(any).unwrap_or(0.0);
    let gzip = gzip.or(any).unwrap_or(0.0);
    match (br > 0.0, gzip > 0.0) {
        (true, true) if gzip > br => Some(Encoding::Gzip),
        (true, _) => Some(Encoding::Br),
        (false, true) => Some(Encoding::Gzip),
        (false, false) => None,
    }
}

fn with_token(state: &AppState, body: Bytes, slot: Option<TokenSlot>) -> Body {
    let Some(TokenSlot {
        post_id,
        offset,
        length,
    }) = slot
    else {
        return Body::from(body);
    };
    let token = form_token::issue(&state.secret, post_id, state.clock.now().unix_timestamp());
    let rest = offset + length;
    let mut filled = Vec::with_capacity(body.len() + token.len());
    filled.extend_from_slice(&body[..offset]);
    filled.extend_from_slice(token.as_bytes());
    filled.extend_from_slice(&body[rest..]);
    Body::from(filled)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .rposition(|window| window == needle)
}

fn http_date(value: &HeaderValue) -> Option<OffsetDateTime> {
    let text = value.to_str().ok()?;
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc2822).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_parameters_a_page_reads_make_a_key() {
        let key = |uri: &str| cache_key(&uri.parse().unwrap());
        assert_eq!(key("/"), "/");
        assert_eq!(key("/?utm_source=x&junk=1"), "/");
        assert_eq!(key("/search?q=frost&fbclid=9"), "/search?q=frost");
        assert_eq!(
            key("/search?updated-max=2021-01-01T00:00:00Z&x=1&max-results=5"),
            "/search?updated-max=2021-01-01T00:00:00Z&max-results=5"
        );
        assert_eq!(key("/2021/09/a.html?reply=3"), "/2021/09/a.html?reply=3");
    }
}

#[cfg(test)]
mod encoding_tests {
    use super::*;

    fn accept(value: &str) -> Option<Encoding> {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).unwrap(),
        );
        accepted_encoding(&headers)
    }

    #[test]
    fn reads_what_browsers_and_odd_clients_send() {
        assert_eq!(accept("gzip, deflate, br, zstd"), Some(Encoding::Br));
        assert_eq!(accept("gzip, deflate"), Some(Encoding::Gzip));
        assert_eq!(accept("GZip, BR"), Some(Encoding::Br));
        assert_eq!(accept("br;q=0, gzip"), Some(Encoding::Gzip));
        assert_eq!(accept("gzip;q=1.0, br;q=0.5"), Some(Encoding::Gzip));
        assert_eq!(accept("identity;q=1, *;q=0"), None);
        assert_eq!(accept("*"), Some(Encoding::Br));
        assert_eq!(accept("deflate, zstd"), None);
        assert_eq!(accept("br;q=nonsense"), None);
        assert_eq!(accept(",,;;=="), None);
        assert_eq!(accept(""), None);
        assert_eq!(accepted_encoding(&HeaderMap::new()), None);
    }
}
