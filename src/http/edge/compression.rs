//! Brotli for the whole pages the page cache did not answer (an editor's pages, a reader's own
//! view, a page not yet kept), made by the cache's own encoder with a window fitted to the
//! page. The compression layer's brotli has a fixed 4 MB window, and its encoder sets up an
//! 8 MB ring buffer for any body over 64 KB; the freed buffers stayed in the allocator's
//! arenas, which grew Folio's memory by 16 MB within minutes of the soak (`bench/soak-all`).
//! What is streamed (exports) and what a client takes only as gzip is left to that layer, in
//! gzip, whose window is 32 KB.

use axum::{
    body::{Body, HttpBody, to_bytes},
    extract::Request,
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::page_cache::{Encoding, accepted_encoding};
use crate::page_cache::{brotli_of, compressible};

/// A whole body larger than this is sent as it comes (no page is near it; a file is streamed).
const LARGEST: u64 = 8 * 1024 * 1024;

pub async fn whole_pages(request: Request, next: Next) -> Response {
    let wants_br = accepted_encoding(request.headers()) == Some(Encoding::Br);
    let response = next.run(request).await;
    // Only text is read in whole: an image or a file passes as it comes.
    let whole = response.body().size_hint().exact();
    if !wants_br
        || response.headers().contains_key(header::CONTENT_ENCODING)
        || response.headers().contains_key(header::CONTENT_RANGE)
        || whole.is_none_or(|len| len > LARGEST || !compressible(response.headers(), len as usize))
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(body) = to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let Some(br) = brotli_of(&body) else {
        return Response::from_parts(parts, Body::from(body));
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::ACCEPT_RANGES);
    parts
        .headers
        .insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
    super::vary_on(&mut parts.headers, "accept-encoding");
    Response::from_parts(parts, Body::from(br))
}
