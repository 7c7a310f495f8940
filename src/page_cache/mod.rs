//! Rendered public pages kept in memory, so a page read again costs no query and no rendering.
//!
//! Coherence across every process on one database comes from PostgreSQL: triggers notify
//! `folio_content_changed` whenever anything a public page shows changes (migration 0006), and
//! each process listens and empties its cache. While a process is not listening (starting, or
//! its listening connection lost) it caches nothing, because it could miss a notice. A write made
//! through this process also empties the cache before it is acknowledged, so the writer never
//! sees its own change missing. Time changes pages too: an entry ends when the next scheduled post
//! appears (or any other instant its handler names), and after `MAX_AGE` whatever happens.
//!
//! A change to a post's comments does not drop the pages that show them: it marks them stale.
//! The next reader renders a stale page again while the others are sent it as it is, so no
//! reader waits for a render. A page that was itself such a new rendering is rendered again at
//! most every `REFRESH_EVERY`: a wave of comments on one post costs a render a second instead of
//! one per comment, while a single comment shows to the next reader. Whoever made the change is
//! never given a stale page (the `folio_wrote` cookie, see `http::edge::page_cache`).

pub mod cdn;
pub mod notices;

use std::{
    collections::HashMap,
    hash::{BuildHasher, RandomState},
    sync::{
        Arc, Mutex, OnceLock, RwLock,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{body::Bytes, http::HeaderMap};
use sqlx::{PgPool, postgres::PgListener};
use time::OffsetDateTime;

use crate::{
    db::replication, media::cache::MediaCache, page_cache::cdn::Purger, store::replicas::Reads,
};

/// The channel that migration 0006's triggers notify.
pub const CHANNEL: &str = "folio_content_changed";
/// A safety net: no entry outlives this, even if some change were never notified.
const MAX_AGE: Duration = Duration::from_secs(300);
/// A stale page is rendered again at most this often.
const REFRESH_EVERY: Duration = Duration::from_secs(1);
/// A reader who set out to render a stale page again and has not stored it by then (an error,
/// a closed connection) leaves the task to the next reader.
const REFRESH_CLAIM: Duration = Duration::from_secs(5);
/// Comment changes remembered, so a page rendered while some came in is stored as stale rather
/// than dropped (at 1,000 comments a second, a second of them).
const CHANGES_KEPT: usize = 1024;
const RECONNECT_DELAY: Duration = Duration::from_secs(1);
/// What an entry costs besides its body and key (headers, bookkeeping).
const ENTRY_OVERHEAD: usize = 256;

/// One rendered page as it left its handler.
#[derive(Debug)]
pub struct CachedPage {
    /// 200, or a redirect a handler chose to keep (a comment permalink's page).
    pub status: axum::http::StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The post whose comment form needs a fresh token in this body, at `offset`.
    pub token_slot: Option<TokenSlot>,
    /// The one post whose comments this page shows (a post's page, a comment permalink):
    /// a change to another post's comments leaves it be.
    pub comments_of: Option<i64>,
    /// The post a reader is reading on this page: each copy sent counts as a view of it.
    pub view_of: Option<i64>,
    /// The route pattern that answered the request the page was made for (for the metrics).
    pub route: Option<Arc<str>>,
    /// The body compressed once, when it is the same for every reader (no form token in it):
    /// a browser that asks for brotli or gzip gets these bytes as they are.
    pub encoded: Encoded,
    /// The primary's WAL position the page is known to include (see `store::replicas`): a reader
    /// whose own write is newer is not given it.
    pub seen: i64,
    valid_until: Option<OffsetDateTime>,
    stored_at: Instant,
    last_used: AtomicU64,
    /// Comments it shows have changed since it was rendered (see the module's notes).
    stale: AtomicBool,
    /// When a reader set out to render it again (milliseconds on the cache's clock; 0: none).
    refresh_claimed: AtomicU64,
    /// It replaced a stale page: comments are coming in, and it is rendered again at most
    /// every `REFRESH_EVERY`.
    replaced_stale: AtomicBool,
    /// A post page's compressed answers for the current second (see `stitched`).
    stitched: Mutex<Stitched>,
}

/// A post page as sent in one second, per encoding.
#[derive(Debug, Default)]
struct Stitched {
    second: i64,
    br: Option<Bytes>,
    gzip: Option<Bytes>,
}

/// Where a post page's per-request form token goes.
#[derive(Debug, Clone, Copy)]
pub struct TokenSlot {
    pub post_id: i64,
    pub offset: usize,
    /// The length of the mark the token replaces.
    pub length: usize,
}

impl CachedPage {
    pub fn new(
        status: axum::http::StatusCode,
        headers: HeaderMap,
        body: Bytes,
        token_slot: Option<TokenSlot>,
        valid_until: Option<OffsetDateTime>,
    ) -> Self {
        let encoded = match token_slot {
            _ if !compressible(&headers, body.len()) => Encoded::default(),
            None => Encoded::of(&body),
            Some(slot) => {
                Encoded::around_token(&body[..slot.offset], &body[slot.offset + slot.length..])
            }
        };
        Self {
            status,
            headers,
            // An exact copy: a rendered body's buffer can be up to twice its length, and the
            // cache counts length.
            body: Bytes::copy_from_slice(&body),
            comments_of: None,
            view_of: None,
            route: None,
            seen: i64::MIN,
            encoded,
            token_slot,
            valid_until,
            stored_at: Instant::now(),
            last_used: AtomicU64::new(0),
            stale: AtomicBool::new(false),
            refresh_claimed: AtomicU64::new(0),
            replaced_stale: AtomicBool::new(false),
            stitched: Mutex::default(),
        }
    }

    /// A post page's compressed answer in this `second`: its form token depends on the post
    /// and the second alone, so every reader in one second gets the same bytes, stitched
    /// around the token once (by `stitch`) instead of once per request.
    pub fn stitched(
        &self,
        second: i64,
        gzip: bool,
        stitch: impl FnOnce() -> Option<Bytes>,
    ) -> Option<Bytes> {
        let mut memo = self
            .stitched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if memo.second != second {
            *memo = Stitched {
                second,
                ..Stitched::default()
            };
        }
        let slot = if gzip { &mut memo.gzip } else { &mut memo.br };
        if slot.is_none() {
            *slot = stitch();
        }
        slot.clone()
    }

    /// When the page changes by itself (a scheduled post appearing), if it does.
    pub fn valid_until(&self) -> Option<OffsetDateTime> {
        self.valid_until
    }

    /// The page was read from data that includes the primary's WAL position `seen`.
    pub fn seen_at(mut self, seen: i64) -> Self {
        self.seen = seen;
        self
    }

    /// The route pattern that made the page: a copy sent before routing is counted under it.
    pub fn answering(mut self, route: Option<Arc<str>>) -> Self {
        self.route = route;
        self
    }

    /// Sending the page counts a view of this post.
    pub fn viewing(mut self, post: Option<i64>) -> Self {
        self.view_of = post;
        self
    }

    /// The page shows the comments of this one post only.
    pub fn about_comments_of(mut self, post: Option<i64>) -> Self {
        self.comments_of = post;
        self
    }

    fn is_fresh(&self) -> bool {
        self.stored_at.elapsed() < MAX_AGE
            && self
                .valid_until
                .is_none_or(|until| OffsetDateTime::now_utc() < until)
    }

    /// Whether a change to the comments of `posts` changes this page: it shows them, or it is
    /// not about one post (listings count comments, feeds list them).
    fn shows_comments_of(&self, posts: &[i64]) -> bool {
        self.comments_of.is_none_or(|post| posts.contains(&post))
    }

    fn cost(&self, key: &str) -> usize {
        self.body.len() + self.encoded.reserved + key.len() + ENTRY_OVERHEAD
    }

    /// The body in gzip, made on the first request that takes gzip and not brotli (a miss pays
    /// for brotli only, which every current browser takes). None for a page with a token.
    pub fn gzip(&self) -> Option<Bytes> {
        if !self.encoded.compressible || self.token_slot.is_some() {
            return None;
        }
        self.encoded
            .gzip
            .get_or_init(|| gzip_of(&self.body))
            .clone()
    }

    /// A post page's gzip pieces around its token, made on first use like `gzip`.
    pub fn gzip_around_token(&self) -> Option<&GzipAroundToken> {
        let slot = self.token_slot.filter(|_| self.encoded.compressible)?;
        self.encoded
            .gzip_around_token
            .get_or_init(|| {
                GzipAroundToken::new(
                    &self.body[..slot.offset],
                    &self.body[slot.offset + slot.length..],
                )
            })
            .as_ref()
    }
}

/// Bodies smaller than this are sent as they are (compression would save a packet at most).
const MIN_COMPRESSED: usize = 1024;

/// Text worth compressing: pages, feeds, sitemaps.
pub fn compressible(headers: &HeaderMap, len: usize) -> bool {
    let kind = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    len >= MIN_COMPRESSED
        && (kind.starts_with("text/")
            || kind.starts_with("application/atom+xml")
            || kind.starts_with("application/rss+xml")
            || kind.starts_with("application/xml")
            || kind.starts_with("application/json"))
}

/// A body's compressed variants: brotli made when the page is stored, gzip when first asked
/// for (see `CachedPage::gzip`).
#[derive(Debug, Default)]
pub struct Encoded {
    /// Whether the page is sent compressed at all (text, not tiny).
    pub compressible: bool,
    pub br: Option<Bytes>,
    gzip: OnceLock<Option<Bytes>>,
    /// For a body with a per-request token in it: brotli stitched per request from pieces
    /// compressed once.
    pub br_around_token: Option<BrotliAroundToken>,
    /// The same in gzip.
    gzip_around_token: OnceLock<Option<GzipAroundToken>>,
    /// Bytes counted for the variants from the start, so the cache's count never changes
    /// under it: brotli, and room for gzip, which comes to 1.1 to 1.3 times as much.
    reserved: usize,
}

/// A page with a per-request token in it, kept as two raw deflate streams, the text before the
/// token (ended by a sync flush: byte-aligned, not final) and the text after it (final), with
/// their CRC-32s. Each answer is a gzip member stitched from them: the header, the first
/// piece, the token as a stored block, the second piece, and a trailer whose CRC is combined
/// from the three parts. No byte of the page is compressed per request, and the timing token
/// stays fresh for every reader.
#[derive(Debug)]
pub struct GzipAroundToken {
    before: Bytes,
    after: Bytes,
    before_crc: crc32fast::Hasher,
    after_crc: crc32fast::Hasher,
    length: u64,
}

/// A gzip member's fixed header: deflate, no name, no time, unknown system.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

impl GzipAroundToken {
    pub fn new(before: &[u8], after: &[u8]) -> Option<Self> {
        use std::io::Write;
        let level = flate2::Compression::new(GZIP_LEVEL);
        let mut first = flate2::write::DeflateEncoder::new(Vec::new(), level);
        first.write_all(before).ok()?;
        // A sync flush: everything so far out, ending on a byte boundary, the stream still open.
        first.flush().ok()?;
        let first = first.get_ref().clone();
        let mut second = flate2::write::DeflateEncoder::new(Vec::new(), level);
        second.write_all(after).ok()?;
        let second = second.finish().ok()?;
        let mut before_crc = crc32fast::Hasher::new();
        before_crc.update(before);
        let mut after_crc = crc32fast::Hasher::new();
        after_crc.update(after);
        Some(Self {
            before: exact(first),
            after: exact(second),
            before_crc,
            after_crc,
            length: (before.len() + after.len()) as u64,
        })
    }

    /// The gzip member of the page with `token` in its place (a stored block holds at most
    /// 65,535 bytes: a longer token is refused).
    pub fn with_token(&self, token: &[u8]) -> Option<Vec<u8>> {
        let length = u16::try_from(token.len()).ok()?;
        let mut out =
            Vec::with_capacity(GZIP_HEADER.len() + self.before.len() + self.after.len() + 64);
        out.extend_from_slice(&GZIP_HEADER);
        out.extend_from_slice(&self.before);
        // A stored block, not final: three header bits (all zero) padded to the byte boundary,
        // then LEN and its complement, little-endian.
        out.push(0);
        out.extend_from_slice(&length.to_le_bytes());
        out.extend_from_slice(&(!length).to_le_bytes());
        out.extend_from_slice(token);
        out.extend_from_slice(&self.after);
        let mut crc = self.before_crc.clone();
        let mut token_crc = crc32fast::Hasher::new();
        token_crc.update(token);
        crc.combine(&token_crc);
        crc.combine(&self.after_crc);
        out.extend_from_slice(&crc.finalize().to_le_bytes());
        let total = self.length + token.len() as u64;
        out.extend_from_slice(&((total & 0xffff_ffff) as u32).to_le_bytes());
        Some(out)
    }
}

/// A post page for brotli readers, the same way: two brotli pieces around the token, and the
/// token between them as an uncompressed meta-block. The first piece is a stream left open on
/// a byte boundary (appendable); the second is a bare, catable stream: no header, no dictionary,
/// no distance that reaches before its own start (its distance cache is poisoned), its first
/// two bytes sent raw so literal contexts come from its own bytes. It decodes the same after
/// any token. (Literal context modelling is off too, so that holds whatever a later crate
/// version does with those first bytes.)
#[derive(Debug)]
pub struct BrotliAroundToken {
    before: Bytes,
    after: Bytes,
}

/// The meta-block that ends a brotli stream: ISLAST and ISLASTEMPTY, on a byte of its own.
const BROTLI_LAST_EMPTY: u8 = 0b11;

impl BrotliAroundToken {
    pub fn new(before: &[u8], after: &[u8]) -> Option<Self> {
        use std::io::Write;
        let compress = |piece: &[u8], params: &brotli::enc::BrotliEncoderParams| {
            let mut writer = brotli::CompressorWriter::with_params(Vec::new(), 4096, params);
            writer.write_all(piece).ok()?;
            Some(writer.into_inner())
        };
        let mut params = brotli::enc::BrotliEncoderParams {
            quality: BROTLI_QUALITY as i32,
            // One window for both pieces: the first stream's header declares it.
            lgwin: brotli_window(before.len() + after.len()) as i32,
            appendable: true,
            byte_align: true,
            ..Default::default()
        };
        let mut first = compress(before, &params)?;
        // The open stream ends with the empty last meta-block: dropped here, sent after `after`.
        if first.pop() != Some(BROTLI_LAST_EMPTY) {
            return None;
        }
        params.catable = true;
        params.bare_stream = true;
        params.use_dictionary = false;
        params.disable_literal_context_modeling = 1;
        let second = compress(after, &params)?;
        Some(Self {
            before: exact(first),
            after: exact(second),
        })
    }

    /// The brotli stream of the page with `token` in its place (an uncompressed meta-block
    /// holds at most 65,536 bytes: a longer or empty token is refused).
    pub fn with_token(&self, token: &[u8]) -> Option<Vec<u8>> {
        let length = u32::try_from(token.len())
            .ok()
            .filter(|&n| (1..=1 << 16).contains(&n))?;
        let mut out = Vec::with_capacity(self.before.len() + self.after.len() + token.len() + 4);
        out.extend_from_slice(&self.before);
        // ISLAST 0, MNIBBLES 0 (four nibbles), MLEN - 1 in 16 bits, ISUNCOMPRESSED 1, then
        // zero bits to the byte boundary: 20 bits in three bytes, least significant first.
        let header = ((length - 1) << 3) | (1 << 19);
        out.extend_from_slice(&header.to_le_bytes()[..3]);
        out.extend_from_slice(token);
        out.extend_from_slice(&self.after);
        out.push(BROTLI_LAST_EMPTY);
        Some(out)
    }

    fn len(&self) -> usize {
        self.before.len() + self.after.len()
    }
}

/// Brotli quality 4 and gzip level 6: a miss compresses once and must cost no more than a page
/// rendered and compressed per request (the compression layer's brotli is quality 4 too).
/// Quality 5 is 4 to 7% smaller on pages but took 300 to 400 µs more per miss in `bench/run`;
/// gzip levels above 6 add nothing (`bench/COMPRESSION.md`).
const BROTLI_QUALITY: u32 = 4;
const BROTLI_WINDOW: u32 = 22;
const GZIP_LEVEL: u32 = 6;

/// The smallest brotli window, from 16 bits up to `BROTLI_WINDOW`, that holds `len` bytes. The
/// encoder's ring buffer is twice its window: with the largest window a page longer than one
/// input block made an 8 MB buffer. A page needs no window longer than itself, so the bytes
/// made are the same.
fn brotli_window(len: usize) -> u32 {
    (16..BROTLI_WINDOW)
        .find(|bits| (1usize << bits) - 16 >= len)
        .unwrap_or(BROTLI_WINDOW)
}

/// The levels above, (brotli, gzip), for `bench/compression-levels` to mark its choice.
pub const COMPRESSION_LEVELS: (u32, u32) = (BROTLI_QUALITY, GZIP_LEVEL);

/// Room for gzip's own header, trailer and block headers, beyond its compressed bytes.
const GZIP_FRAME: usize = 64;

/// A whole body in brotli, with the window fitted to it: what the page cache keeps, and what
/// every other whole page is sent as (`http::edge::compression`).
pub fn brotli_of(body: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write;
    let mut writer = brotli::CompressorWriter::new(
        Vec::with_capacity(body.len() / 4),
        4096,
        BROTLI_QUALITY,
        brotli_window(body.len()),
    );
    writer.write_all(body).ok().map(|()| writer.into_inner())
}

impl Encoded {
    pub fn of(body: &[u8]) -> Self {
        let br = brotli_of(body);
        let made = br.as_ref().map_or(body.len(), Vec::len);
        Self {
            compressible: true,
            br: br.map(exact),
            reserved: made * 5 / 2 + GZIP_FRAME,
            ..Self::default()
        }
    }

    pub fn around_token(before: &[u8], after: &[u8]) -> Self {
        let br_around_token = BrotliAroundToken::new(before, after);
        let made = br_around_token
            .as_ref()
            .map_or(before.len() + after.len(), BrotliAroundToken::len);
        Self {
            compressible: true,
            br_around_token,
            // The pieces and the gzip ones made later, and this second's stitched answers.
            reserved: made * 5 + 2 * GZIP_FRAME,
            ..Self::default()
        }
    }
}

fn gzip_of(body: &[u8]) -> Option<Bytes> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 3),
        flate2::Compression::new(GZIP_LEVEL),
    );
    encoder.write_all(body).ok()?;
    encoder.finish().ok().map(exact)
}

/// Compressed bytes as kept: without the room their buffer grew (the cache counts length).
fn exact(mut bytes: Vec<u8>) -> Bytes {
    bytes.shrink_to_fit();
    Bytes::from(bytes)
}

#[derive(Default)]
struct Store {
    pages: HashMap<String, Arc<CachedPage>>,
    bytes: usize,
    /// The generation of the last change that emptied the cache.
    emptied_at: u64,
    /// The comment changes since then (the latest `CHANGES_KEPT`), oldest first.
    comment_changes: std::collections::VecDeque<CommentChange>,
}

struct CommentChange {
    generation: u64,
    posts: Vec<i64>,
}

/// What changed since a page began to be rendered.
enum Since {
    Nothing,
    /// Only comments it shows: it is stored, as stale.
    ItsComments,
    /// Anything else, or changes no longer remembered: it is not stored.
    More,
}

impl Store {
    fn changes_since(&self, generation: u64, page: &CachedPage) -> Since {
        if self.emptied_at > generation {
            return Since::More;
        }
        match self.comment_changes.front() {
            Some(oldest) if oldest.generation <= generation + 1 => {}
            _ => return Since::More,
        }
        let changed = self
            .comment_changes
            .iter()
            .skip_while(|change| change.generation <= generation)
            .any(|change| page.shows_comments_of(&change.posts));
        if changed {
            Since::ItsComments
        } else {
            Since::Nothing
        }
    }
}

/// The cache of one process. `capacity` is in bytes; 0 turns caching off.
pub struct PageCache {
    capacity: usize,
    store: RwLock<Store>,
    /// Moves on every invalidation: a page rendered before a change is not stored after it.
    generation: AtomicU64,
    listening: AtomicBool,
    clock: AtomicU64,
    hits: AtomicU64,
    /// Of the hits, stale pages sent while they were rendered again.
    stale_hits: AtomicU64,
    /// The cache's own clock for refresh claims.
    started: Instant,
    /// Requests a page needs before it is kept, and the count so far of pages asked for but
    /// not yet kept (by their key's hash; forgotten all at once when it reaches `SEEN_MAX`).
    min_uses: u32,
    seen: Mutex<HashMap<u64, u32>>,
    hasher: RandomState,
}

/// Pages asked for and not yet kept that the cache remembers: about 200 KB at most.
const SEEN_MAX: usize = 8192;

impl PageCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            store: RwLock::new(Store::default()),
            generation: AtomicU64::new(0),
            listening: AtomicBool::new(false),
            clock: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            stale_hits: AtomicU64::new(0),
            started: Instant::now(),
            min_uses: 1,
            seen: Mutex::new(HashMap::new()),
            hasher: RandomState::new(),
        }
    }

    /// Keeps a page only from its `min_uses`-th request (as nginx's `proxy_cache_min_uses`):
    /// a page asked for once, a crawler's walk through old posts, costs what rendering costs
    /// and takes no room from the pages readers come back to.
    pub fn keeping_after(mut self, min_uses: u32) -> Self {
        self.min_uses = min_uses.max(1);
        self
    }

    /// Counts a request for the page at `key`, which was not in the cache: true when it has had
    /// enough requests to be kept.
    pub fn admit(&self, key: &str) -> bool {
        if self.min_uses <= 1 || self.store.read().is_ok_and(|s| s.pages.contains_key(key)) {
            // (A page kept already is being rendered again: it stays.)
            return true;
        }
        let hash = self.hasher.hash_one(key);
        let Ok(mut seen) = self.seen.lock() else {
            return true;
        };
        let uses = seen.get(&hash).copied().unwrap_or(0) + 1;
        if uses >= self.min_uses {
            seen.remove(&hash);
            return true;
        }
        if seen.len() >= SEEN_MAX {
            seen.clear();
        }
        seen.insert(hash, uses);
        false
    }

    /// True while pages may be stored and served: caching is on and changes are being heard.
    pub fn is_active(&self) -> bool {
        self.capacity > 0 && self.listening.load(Ordering::Acquire)
    }

    /// The page at `key`, if it is fresh and includes the WAL position `after` (exclusive: a
    /// page read from the primary is dated by a position seen before the read began, and only a
    /// later one proves that a write at `after` was visible by then). A stale page is given
    /// unless the reader `wrote` a change or it is this reader's turn to render it again.
    pub fn get(
        &self,
        key: &str,
        after: Option<i64>,
        wrote: impl FnOnce() -> bool,
    ) -> Option<Arc<CachedPage>> {
        if !self.is_active() {
            return None;
        }
        let page = self.store.read().ok()?.pages.get(key).cloned()?;
        if !page.is_fresh() || after.is_some_and(|after| page.seen <= after) {
            return None;
        }
        if page.stale.load(Ordering::Acquire) {
            if wrote() || self.claim_refresh(&page) {
                return None;
            }
            self.stale_hits.fetch_add(1, Ordering::Relaxed);
        }
        page.last_used.store(
            self.clock.fetch_add(1, Ordering::Relaxed),
            Ordering::Relaxed,
        );
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(page)
    }

    /// True when this reader is to render the stale `page` again: no other reader is rendering
    /// it, and it is not itself a new rendering of a stale page made less than `REFRESH_EVERY`
    /// ago.
    fn claim_refresh(&self, page: &CachedPage) -> bool {
        if page.replaced_stale.load(Ordering::Acquire) && page.stored_at.elapsed() < REFRESH_EVERY {
            return false;
        }
        // Never 0, which means unclaimed.
        let now = self.started.elapsed().as_millis() as u64 + 1;
        let claimed = page.refresh_claimed.load(Ordering::Acquire);
        if claimed != 0 && now.saturating_sub(claimed) < REFRESH_CLAIM.as_millis() as u64 {
            return false;
        }
        page.refresh_claimed
            .compare_exchange(claimed, now, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Pages served from memory since start.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Of the hits, stale pages sent while a reader rendered them again.
    pub fn stale_hits(&self) -> u64 {
        self.stale_hits.load(Ordering::Relaxed)
    }

    /// The generation to hand back to `insert` for a page about to be rendered.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Stores a page rendered during `generation`, unless something changed since; a change to
    /// only the comments it shows stores it as stale.
    pub fn insert(&self, key: String, page: impl Into<Arc<CachedPage>>, generation: u64) {
        let page = page.into();
        let cost = page.cost(&key);
        if !self.is_active() || cost > self.capacity / 8 {
            return;
        }
        page.last_used.store(
            self.clock.fetch_add(1, Ordering::Relaxed),
            Ordering::Relaxed,
        );
        let Ok(mut store) = self.store.write() else {
            return;
        };
        if self.generation.load(Ordering::Acquire) != generation {
            match store.changes_since(generation, &page) {
                Since::Nothing => {}
                Since::ItsComments => page.stale.store(true, Ordering::Release),
                Since::More => return,
            }
        }
        if store
            .pages
            .get(&key)
            .is_some_and(|old| old.stale.load(Ordering::Acquire))
        {
            page.replaced_stale.store(true, Ordering::Release);
        }
        if let Some(old) = store.pages.insert(key.clone(), page) {
            store.bytes -= old.cost(&key);
        }
        store.bytes += cost;
        if store.bytes > self.capacity {
            Self::evict(&mut store, self.capacity * 3 / 4);
        }
    }

    /// Drops the least recently used pages until the store holds at most `target` bytes.
    fn evict(store: &mut Store, target: usize) {
        let mut by_age: Vec<(u64, String)> = store
            .pages
            .iter()
            .map(|(key, page)| (page.last_used.load(Ordering::Relaxed), key.clone()))
            .collect();
        by_age.sort_unstable();
        for (_, key) in by_age {
            if store.bytes <= target {
                break;
            }
            if let Some(page) = store.pages.remove(&key) {
                store.bytes -= page.cost(&key);
            }
        }
    }

    /// Forgets every page: something they show may have changed.
    pub fn invalidate(&self) {
        if self.capacity == 0 {
            return;
        }
        if let Ok(mut store) = self.store.write() {
            let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
            *store = Store {
                emptied_at: generation,
                ..Store::default()
            };
        }
    }

    /// Marks stale what a change to the comments of `posts` may have changed: those posts'
    /// pages, and every page not about one post; other posts' pages stay as they are.
    pub fn invalidate_comments_of(&self, posts: &[i64]) {
        if self.capacity == 0 {
            return;
        }
        if let Ok(mut store) = self.store.write() {
            let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
            for page in store.pages.values() {
                if page.shows_comments_of(posts) {
                    page.stale.store(true, Ordering::Release);
                }
            }
            if store.comment_changes.len() == CHANGES_KEPT {
                store.comment_changes.pop_front();
            }
            store.comment_changes.push_back(CommentChange {
                generation,
                posts: posts.to_vec(),
            });
        }
    }

    /// Reads a change notice: `comments:{post id}` for a change to that post's published
    /// comments, anything else for a change that may touch any page.
    pub fn hear(&self, payload: &str) {
        match payload
            .strip_prefix("comments:")
            .and_then(|id| id.parse::<i64>().ok())
        {
            Some(post) => self.invalidate_comments_of(&[post]),
            None => self.invalidate(),
        }
    }

    /// Either way the pages held so far are forgotten: while not listening, changes went unheard.
    fn set_listening(&self, listening: bool) {
        self.listening.store(listening, Ordering::Release);
        self.invalidate();
    }

    /// Bytes held, for tests and metrics.
    pub fn len_bytes(&self) -> usize {
        self.store.read().map(|s| s.bytes).unwrap_or_default()
    }

    /// Listens for change notices on its own connection for as long as `pool` is open,
    /// reconnecting when the connection is lost. With replicas, each notice also tells `reads`
    /// the primary's position after the change, before any page is forgotten, so no page read
    /// from a replica that lacks the change is kept. Each notice is passed on to a CDN's purge
    /// hook. A deleted image (`media:{hash}`) is forgotten by `media`. Does nothing when no cache,
    /// CDN hook or replica needs to hear.
    pub fn spawn_listener(
        self: &Arc<Self>,
        pool: PgPool,
        reads: Arc<Reads>,
        purger: Option<Arc<Purger>>,
        media: Arc<MediaCache>,
    ) {
        if self.capacity == 0 && purger.is_none() && !reads.has_replicas() && !media.is_on() {
            return;
        }
        let cache = Arc::clone(self);
        tokio::spawn(async move {
            let mut first = true;
            while !pool.is_closed() {
                match listen(&pool, &reads).await {
                    Ok(mut listener) => {
                        cache.set_listening(true);
                        tracing::debug!("page cache: listening for changes");
                        // Changes made while nobody listened were never passed on.
                        if let Some(purger) = purger.as_ref().filter(|_| !first) {
                            purger.purge(vec![crate::page_cache::cdn::ALL.to_owned()]);
                        }
                        first = false;
                        let ended = loop {
                            match listener.try_recv().await {
                                Ok(Some(notice)) => {
                                    if let Some(hash) = notice.payload().strip_prefix("media:") {
                                        // An image's pages and address do not change: only its
                                        // bytes are forgotten.
                                        media.remove(hash);
                                        continue;
                                    }
                                    let position = if reads.has_replicas() {
                                        Some(replication::primary_position(&mut listener).await)
                                    } else {
                                        None
                                    };
                                    if let Some(Ok(position)) = position {
                                        reads.heard_change(position);
                                    }
                                    cache.hear(notice.payload());
                                    if let Some(purger) = &purger {
                                        purger.purge(Purger::tags_for_notice(notice.payload()));
                                    }
                                    if let Some(Err(error)) = position {
                                        break Some(error);
                                    }
                                }
                                Ok(None) => break None,
                                Err(error) => break Some(error),
                            }
                        };
                        cache.set_listening(false);
                        if let Some(sqlx::Error::PoolClosed) = ended {
                            return;
                        }
                        tracing::warn!(
                            error = ended.map(|e| e.to_string()),
                            "page cache: lost the change notices; caching paused until reconnected"
                        );
                    }
                    Err(sqlx::Error::PoolClosed) => return,
                    Err(error) => {
                        tracing::debug!(%error, "page cache: cannot listen yet");
                    }
                }
                tokio::time::sleep(RECONNECT_DELAY).await;
            }
        });
    }
}

async fn listen(pool: &PgPool, reads: &Reads) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    // Changes made while nobody listened are before this position.
    if reads.has_replicas() {
        reads.heard_change(replication::primary_position(&mut listener).await?);
    }
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(bytes: usize) -> CachedPage {
        CachedPage::new(
            axum::http::StatusCode::OK,
            HeaderMap::new(),
            Bytes::from(vec![b'x'; bytes]),
            None,
            None,
        )
    }

    fn active(capacity: usize) -> PageCache {
        let cache = PageCache::new(capacity);
        cache.listening.store(true, Ordering::Release);
        cache
    }

    #[test]
    fn a_page_is_kept_from_its_second_request_and_the_memory_of_first_ones_is_bounded() {
        let cache = active(1 << 20).keeping_after(2);
        assert!(!cache.admit("/2024/05/once.html"), "a first request");
        assert!(!cache.admit("/2024/05/twice.html"));
        assert!(cache.admit("/2024/05/twice.html"), "its second request");
        assert!(
            !cache.admit("/2024/05/twice.html"),
            "counted afresh once kept"
        );
        for n in 0..SEEN_MAX * 2 {
            cache.admit(&format!("/search?q={n}"));
        }
        assert!(cache.seen.lock().unwrap().len() <= SEEN_MAX);
        let always = active(1 << 20).keeping_after(1);
        assert!(always.admit("/"));
    }

    #[test]
    fn nothing_is_cached_while_not_listening() {
        let cache = PageCache::new(1 << 20);
        cache.insert("/".into(), page(10), cache.generation());
        assert!(cache.get("/", None, || false).is_none());
    }

    #[test]
    fn a_page_rendered_before_a_change_is_not_stored_after_it() {
        let cache = active(1 << 20);
        let generation = cache.generation();
        cache.invalidate();
        cache.insert("/".into(), page(10), generation);
        assert!(cache.get("/", None, || false).is_none());
        cache.insert("/".into(), page(10), cache.generation());
        assert!(cache.get("/", None, || false).is_some());
        cache.invalidate();
        assert!(cache.get("/", None, || false).is_none());
    }

    #[test]
    fn a_reader_with_a_newer_write_is_not_given_an_older_page() {
        let cache = active(1 << 20);
        cache.insert("/".into(), page(10).seen_at(100), cache.generation());
        assert!(cache.get("/", Some(99), || false).is_some());
        assert!(
            cache.get("/", Some(100), || false).is_none(),
            "strictly newer only"
        );
        assert!(cache.get("/", None, || false).is_some());
        assert_eq!(cache.hits(), 2, "a page not given is not a hit");
    }

    #[test]
    fn pages_end_at_their_instant() {
        let cache = active(1 << 20);
        let past = OffsetDateTime::now_utc() - time::Duration::seconds(1);
        let page = CachedPage::new(
            axum::http::StatusCode::OK,
            HeaderMap::new(),
            Bytes::new(),
            None,
            Some(past),
        );
        cache.insert("/".into(), page, cache.generation());
        assert!(cache.get("/", None, || false).is_none());
    }

    #[test]
    fn gzip_stitched_around_a_token_decodes_to_the_page_with_that_token() {
        use std::io::Read;
        let page = "<p>before</p>".repeat(500);
        for (before, after) in [
            (page.as_str(), page.as_str()),
            ("", page.as_str()),
            (page.as_str(), ""),
            ("", ""),
        ] {
            let pieces = GzipAroundToken::new(before.as_bytes(), after.as_bytes()).unwrap();
            for token in [
                "",
                "x",
                "1234567890-abcdefghij.signature",
                &"t".repeat(70_000),
            ] {
                let Some(member) = pieces.with_token(token.as_bytes()) else {
                    assert!(token.len() > 65_535, "only an over-long token is refused");
                    continue;
                };
                let mut decoded = String::new();
                flate2::read::GzDecoder::new(&member[..])
                    .read_to_string(&mut decoded)
                    .expect("a valid gzip member, CRC and length checked");
                assert_eq!(decoded, format!("{before}{token}{after}"));
            }
        }
    }

    #[test]
    fn a_change_to_one_posts_comments_marks_its_pages_stale_and_keeps_the_others() {
        let cache = active(1 << 20);
        let generation = cache.generation();
        cache.insert(
            "/a.html".into(),
            page(10).about_comments_of(Some(1)),
            generation,
        );
        cache.insert(
            "/b.html".into(),
            page(10).about_comments_of(Some(2)),
            generation,
        );
        cache.insert("/".into(), page(10), generation);
        let bytes = cache.len_bytes();
        cache.hear("comments:1");
        assert!(
            cache.get("/a.html", None, || true).is_none(),
            "whoever made the change is not given the page that lacks it"
        );
        assert!(
            cache.get("/", None, || true).is_none(),
            "nor the home page, which counts comments"
        );
        assert!(
            cache.get("/a.html", None, || false).is_none(),
            "the next reader renders it again"
        );
        assert!(
            cache.get("/a.html", None, || false).is_some(),
            "and the others are given it meanwhile"
        );
        assert!(
            cache.get("/b.html", None, || true).is_some(),
            "another post's page is fresh"
        );
        assert_eq!(cache.stale_hits(), 1);
        assert_eq!(cache.len_bytes(), bytes, "nothing was dropped");
        cache.hear("");
        assert!(
            cache.get("/b.html", None, || false).is_none(),
            "any other change empties it all"
        );
        assert_eq!(cache.len_bytes(), 0);
    }

    #[test]
    fn a_stale_page_is_rendered_again_by_one_reader_at_a_time_and_at_most_once_a_second() {
        let cache = active(1 << 20);
        let rendered_long_ago = |cache: &PageCache| {
            let mut page = page(10).about_comments_of(Some(1));
            page.stored_at = Instant::now() - REFRESH_EVERY;
            cache.insert("/a.html".into(), page, cache.generation());
        };
        // Rendered just now, but not in a wave: the change shows to the next reader.
        cache.insert(
            "/a.html".into(),
            page(10).about_comments_of(Some(1)),
            cache.generation(),
        );
        cache.hear("comments:1");
        assert!(
            cache.get("/a.html", None, || false).is_none(),
            "the first reader after the change renders it"
        );
        assert!(
            cache.get("/a.html", None, || false).is_some(),
            "the next ones are given the stale page meanwhile"
        );
        // A render that began before the change and ends after it is stored, as stale: it is
        // newer than what readers had.
        let generation = cache.generation();
        cache.hear("comments:1");
        cache.insert(
            "/a.html".into(),
            page(20).about_comments_of(Some(1)),
            generation,
        );
        let stored = cache.get("/a.html", None, || false).unwrap();
        assert_eq!(stored.body.len(), 20);
        assert!(
            cache.get("/a.html", None, || false).is_some(),
            "a new rendering of a stale page, less than a second old: readers keep it for now"
        );
        assert!(cache.get("/a.html", None, || true).is_none());
        // Rendered more than a second ago and stale: the next reader renders it again.
        rendered_long_ago(&cache);
        cache.hear("comments:1");
        assert!(cache.get("/a.html", None, || false).is_none());
        // A fresh render replaces it for everyone.
        cache.insert(
            "/a.html".into(),
            page(30).about_comments_of(Some(1)),
            cache.generation(),
        );
        let fresh = cache.get("/a.html", None, || true).unwrap();
        assert_eq!(fresh.body.len(), 30);
        // Changes no longer remembered: a render from before them is not stored.
        let generation = cache.generation();
        for _ in 0..=CHANGES_KEPT {
            cache.hear("comments:2");
        }
        cache.insert(
            "/c.html".into(),
            page(10).about_comments_of(Some(3)),
            generation,
        );
        assert!(cache.get("/c.html", None, || false).is_none());
        cache.insert(
            "/c.html".into(),
            page(10).about_comments_of(Some(3)),
            cache.generation(),
        );
        assert!(cache.get("/c.html", None, || false).is_some());
    }

    #[test]
    fn the_least_recently_used_pages_leave_first_and_the_size_stays_bounded() {
        let cache = active(80 * 1024);
        for n in 0..12 {
            cache.insert(format!("/{n}"), page(9 * 1024), cache.generation());
            assert!(
                cache.get("/0", None, || false).is_some(),
                "the page in use stays"
            );
        }
        assert!(cache.len_bytes() <= 80 * 1024);
        assert!(
            cache.get("/1", None, || false).is_none(),
            "the oldest unused page left"
        );
        assert!(cache.get("/11", None, || false).is_some());
    }

    #[test]
    fn a_miss_makes_brotli_and_gzip_waits_for_a_reader_who_asks() {
        use std::io::Read;
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("text/html; charset=utf-8"),
        );
        let body = Bytes::from("<p>Leeks and beans.</p>".repeat(100));
        let page = CachedPage::new(
            axum::http::StatusCode::OK,
            headers,
            body.clone(),
            None,
            None,
        );
        let cost = page.cost("/");
        assert!(page.encoded.br.is_some());
        assert!(page.encoded.gzip.get().is_none(), "not made on the miss");
        let gzip = page.gzip().expect("made when asked for");
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(&gzip[..])
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, body);
        assert!(gzip.len() <= page.encoded.reserved - page.encoded.br.as_ref().unwrap().len());
        assert_eq!(page.cost("/"), cost, "counted from the start");
    }

    fn brotli_decoded(bytes: &[u8]) -> Vec<u8> {
        use std::io::Read;
        let mut out = Vec::new();
        brotli::Decompressor::new(bytes, 4096)
            .read_to_end(&mut out)
            .expect("a valid brotli stream");
        out
    }

    #[test]
    fn brotli_pieces_decode_to_the_page_with_any_token() {
        let mut page =
            String::from("<!doctype html><html><body><h1>Swifts over the allotment</h1>");
        for n in 0..300 {
            page.push_str(&format!(
                "<li class=\"comment\" id=\"c{n}\"><p>Comment {n}: the beans are up, ñ, 雨.</p></li>"
            ));
        }
        page.push_str("<form><input name=\"token\" value=\"");
        let before = page.clone().into_bytes();
        let after = "\"><textarea name=\"comment\"></textarea></form>"
            .repeat(40)
            .into_bytes();
        let pieces = BrotliAroundToken::new(&before, &after).expect("compressed");
        assert!(pieces.len() < (before.len() + after.len()) / 4);
        for token in [
            "a".to_owned(),
            "1764621000.3f9a0c.0b5e2d7c91aa".to_owned(),
            "\"<>&".repeat(100),
            "x".repeat(65_536),
        ] {
            let stitched = pieces.with_token(token.as_bytes()).unwrap();
            let expected = [&before[..], token.as_bytes(), &after[..]].concat();
            assert_eq!(
                brotli_decoded(&stitched),
                expected,
                "token of {} bytes",
                token.len()
            );
        }
        assert!(pieces.with_token(b"").is_none());
        // Pieces of many meta-blocks each (over 128 KiB on both sides).
        let many = |text: &[u8]| -> Vec<u8> {
            (0..400)
                .flat_map(|n| [format!("<p>{n}</p>").as_bytes(), text].concat())
                .collect()
        };
        let (before, after) = (many(&before), many(&after));
        assert!(before.len() > 128 * 1024 && after.len() > 128 * 1024);
        let pieces = BrotliAroundToken::new(&before, &after).expect("compressed");
        let stitched = pieces.with_token(b"1764621000.ab").unwrap();
        let expected = [&before[..], b"1764621000.ab", &after[..]].concat();
        assert_eq!(brotli_decoded(&stitched), expected);
        assert!(pieces.with_token(&vec![b'x'; 65_537]).is_none());
    }
}
