//! `ETag` on public pages, and `304 Not Modified` when the reader already has the page.

use super::markers::{Cacheable, LabelTags};
use axum::{
    body::{Body, HttpBody, to_bytes},
    extract::Request,
    http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};

/// Pages are small; anything larger is passed through untagged.
const MAX_TAGGED_BYTES: usize = 4 * 1024 * 1024;

pub async fn etag(request: Request, next: Next) -> Response {
    let is_read = matches!(*request.method(), Method::GET | Method::HEAD);
    let if_none_match = request.headers().get(header::IF_NONE_MATCH).cloned();
    let response = next.run(request).await;
    if !is_read || response.status() != StatusCode::OK {
        return response;
    }
    // A handler that tagged its own page (because part of it varies) is only compared.
    // A 304 may be shared as the page would be (a CDN revalidating keeps its headers).
    let shareable = response.extensions().get::<Cacheable>().copied();
    let labels = response.extensions().get::<LabelTags>().cloned();
    let keep_shareable = |mut answer: Response| {
        if let Some(shareable) = shareable {
            answer.extensions_mut().insert(shareable);
        }
        if let Some(labels) = &labels {
            answer.extensions_mut().insert(labels.clone());
        }
        answer
    };
    if let Some(tag) = response.headers().get(header::ETAG).cloned() {
        if if_none_match.is_some_and(|v| matches(&v, &tag)) {
            return keep_shareable(not_modified(response.headers(), None));
        }
        return response;
    }
    if response
        .body()
        .size_hint()
        .exact()
        .is_none_or(|size| size > MAX_TAGGED_BYTES as u64)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_TAGGED_BYTES).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "").into_response();
    };
    let tag = tag_for(&bytes);
    parts
        .headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-cache"));
    if if_none_match.is_some_and(|v| matches(&v, &tag)) {
        return keep_shareable(not_modified(&parts.headers, Some(tag)));
    }
    parts.headers.insert(header::ETAG, tag);
    Response::from_parts(parts, Body::from(bytes))
}

/// A weak tag for a body: the compression layer may re-encode it, which keeps its meaning.
pub fn tag_for(bytes: &[u8]) -> HeaderValue {
    let tag = format!("W/\"{}\"", hex::encode(&Sha256::digest(bytes)[..12]));
    HeaderValue::from_str(&tag).expect("hex is a valid header value")
}

/// A 304 carrying what the full answer's headers say of the page (RFC 9110, 15.4.5), with
/// `tag` as its ETag when the original's headers do not hold it yet.
pub(crate) fn not_modified(original: &HeaderMap, tag: Option<HeaderValue>) -> Response {
    let mut headers = HeaderMap::new();
    for name in [
        header::CACHE_CONTROL,
        header::VARY,
        header::CONTENT_LOCATION,
        header::ETAG,
        header::LAST_MODIFIED,
        // A CDN revalidating keeps what the 304 says of the page (see `page_cache::cdn`).
        HeaderName::from_static("surrogate-key"),
        HeaderName::from_static("cache-tag"),
    ] {
        // Every value: `Vary` may come in several lines.
        for value in original.get_all(&name) {
            headers.append(name.clone(), value.clone());
        }
    }
    if let Some(tag) = tag {
        headers.insert(header::ETAG, tag);
    }
    (StatusCode::NOT_MODIFIED, headers).into_response()
}

/// `If-None-Match` compares weakly: `*`, or any listed tag equal to ours with or without `W/`.
pub(crate) fn matches(if_none_match: &HeaderValue, tag: &HeaderValue) -> bool {
    let Ok(list) = if_none_match.to_str() else {
        return false;
    };
    let ours = tag.to_str().unwrap_or_default().trim_start_matches("W/");
    list.split(',')
        .map(|t| t.trim())
        .any(|t| t == "*" || t.trim_start_matches("W/") == ours)
}
