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
