//! What every request passes at the HTTP edge, around the handlers: the page cache's layer
//! (`page_cache`), brotli for whole pages it did not answer (`compression`), ETags and 304s (`etag`), cookies (`cookies`), the extractors for the client's
//! address and the read server (`extract`), and the markers handlers put on their answers for
//! these layers to read (`markers`). Handlers name these; these never name a handler.

pub mod compression;
pub mod cookies;
pub mod etag;
pub mod extract;
pub mod markers;
pub mod page_cache;

/// Adds `name` to the answer's `Vary`, unless a value there names it already.
pub fn vary_on(headers: &mut hyper::HeaderMap, name: &'static str) {
    let named = headers
        .get_all(hyper::header::VARY)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| item.trim().eq_ignore_ascii_case(name));
    if !named {
        headers.append(
            hyper::header::VARY,
            hyper::header::HeaderValue::from_static(name),
        );
    }
}
