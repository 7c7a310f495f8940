//! Response markers: what a handler tells the HTTP edge about its answer (keep it, whose
//! comments it shows, that nothing public changed), set by handlers and read by the page cache
//! and ETag layers. Plain types, so that handlers and layers need not know each other.

use axum::response::Response;
use time::OffsetDateTime;

use crate::db::settings::Site;

/// Where the comment form's token goes in a rendered post page. The page (and its ETag) stay
/// the same for every reader; the token, which carries the time, is put in as it is sent. The
/// mark is random per process and never leaves it (every copy sent has a token in its place), so
/// no author or commenter can write it into a page and move the form's token.
pub static TOKEN_PLACEHOLDER: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "folio-token-{}",
        hex::encode(&crate::auth::Secret::generate()[..16])
    )
});

/// Response marker, set by public handlers, read by `pages` (public stack): any reader may be
/// given this page again, until `until` at the latest. An unmarked public page is kept as
/// `for_site` would mark it; a personal one opts out with `Cache-Control: private, no-store`.
#[derive(Debug, Clone, Copy)]
pub struct Cacheable {
    pub until: Option<OffsetDateTime>,
    /// The one post whose comments the page shows (see `PageCache::invalidate_comments_of`).
    pub comments_of: Option<i64>,
}

impl Cacheable {
    /// A page that changes with the content only (and when the next scheduled post appears).
    pub fn for_site(site: &Site) -> Self {
        Self {
            until: site.next_publication,
            comments_of: None,
        }
    }

    /// The page shows the comments of `post` and no other's.
    pub fn about_comments_of(self, post: i64) -> Self {
        Self {
            comments_of: Some(post),
            ..self
        }
    }

    /// Ends no later than `instant`, when there is one.
    pub fn until_opt(self, instant: Option<OffsetDateTime>) -> Self {
        match instant {
            Some(instant) => self.until(instant),
            None => self,
        }
    }

    /// Ends no later than `instant` as well.
    pub fn until(self, instant: OffsetDateTime) -> Self {
        Self {
            until: Some(self.until.map_or(instant, |until| until.min(instant))),
            ..self
        }
    }

    pub fn mark(self, mut response: Response) -> Response {
        response.extensions_mut().insert(self);
        response
    }
}

/// Response marker, set by handlers whose write changed only comments (a comment published,
/// moderated): `empty_after_writes` and `pages` forget only what shows those posts' comments.
#[derive(Debug, Clone)]
pub struct CommentsChanged(pub Vec<i64>);

/// Response marker, set by the comment handler, read by `pages` and `empty_after_writes`: this
/// write changed nothing readers see (a comment held for moderation or stored as spam), so the
/// page cache is kept.
#[derive(Debug, Clone, Copy)]
pub struct NothingPublicChanged;

impl NothingPublicChanged {
    pub fn mark(self, mut response: Response) -> Response {
        response.extensions_mut().insert(self);
        response
    }
}

/// Response marker, set by the post page handler, read by `pages`: the addresses of the post's
/// labels, so that a CDN files the page under them too.
#[derive(Debug, Clone, Default)]
pub struct LabelTags(pub Vec<String>);

/// Response marker, set by the post page handler, read by `pages`: the body holds
/// `TOKEN_PLACEHOLDER` for this post's comment form, to be filled in as each copy is sent.
#[derive(Debug, Clone, Copy)]
pub struct FormTokenFor(pub i64);

/// Response marker, set by the post page handler, read by `pages`: a reader reading this page
/// is a view of this post (see `stats::page_views`), whether the page is rendered or sent from memory.
#[derive(Debug, Clone, Copy)]
pub struct ViewOf(pub i64);
