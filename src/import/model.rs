//! What the readers find in an export, before it is made ready for the blog.

use time::OffsetDateTime;

pub use crate::domain::{
    comment::{CommentPolicy, CommentStatus},
    import::Author,
    post::PostKind,
};

/// Folio's own elements in its exports: the Markdown a post was written in and the text a
/// comment was typed as, so that a Folio blog moved with an export comes back exactly.
pub const FOLIO_NS: &str = "urn:x-folio:export:1";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Html(String),
    /// Written in Folio's editor (only in Folio's own exports).
    Markdown(String),
}

#[derive(Debug, Clone)]
pub struct Post {
    pub source_id: String,
    pub kind: PostKind,
    pub title: String,
    pub body: Body,
    pub draft: bool,
    pub published: Option<OffsetDateTime>,
    /// The path readers reached it at on the old blog, when the source says.
    pub path: Option<String>,
    /// A slug to build a path from when there is none (WordPress's post name).
    pub slug: Option<String>,
    /// Other old paths that should lead to it (WordPress permalinks, `/?p=12`).
    pub old_paths: Vec<String>,
    pub author: Option<Author>,
    pub labels: Vec<String>,
    /// A summary written by hand (Folio's own exports); otherwise one is made from the body.
    pub excerpt: Option<String>,
    /// `None`: the blog's default.
    pub comment_policy: Option<CommentPolicy>,
    /// The image shown for it in link previews (Folio's own exports): a `/media/…` path or an
    /// https URL, or empty.
    pub featured_image: String,
    pub line: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommentBody {
    Html(String),
    /// Typed in Folio's comment form (only in Folio's own exports).
    Text(String),
}

#[derive(Debug, Clone)]
pub struct Comment {
    pub source_id: String,
    pub post_source_id: String,
    pub parent_source_id: Option<String>,
    pub author_name: String,
    pub author_email: Option<String>,
    pub author_url: Option<String>,
    pub body: CommentBody,
    pub status: CommentStatus,
    pub created: OffsetDateTime,
    pub line: u64,
}

/// One thing read from the file.
#[derive(Debug, Clone)]
pub enum Record {
    Post(Box<Post>),
    Comment(Box<Comment>),
    /// Something the file holds that a blog does not show (settings, templates, attachments,
    /// pingbacks, trashed posts), with the reason it was left.
    Skipped(&'static str),
}

/// A problem in one entry of the file.
#[derive(Debug, Clone)]
pub struct EntryError {
    pub line: u64,
    pub message: String,
}

impl EntryError {
    pub fn new(line: u64, message: impl Into<String>) -> Self {
        Self {
            line,
            message: message.into(),
        }
    }
}

/// Folio's `<folio:commentPolicy>`, when it names a policy Folio has.
pub fn comment_policy(text: &str) -> Option<CommentPolicy> {
    CommentPolicy::parse(text.trim())
}

/// Parses a date as Atom writes it (RFC 3339), keeping its offset.
pub fn rfc3339(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339).ok()
}

/// The path of a URL (with its query), or the text itself when it is already a path.
pub fn url_path(url: &str) -> Option<String> {
    let url = url.trim();
    if url.starts_with('/') {
        return Some(url.split('#').next().unwrap_or(url).to_owned());
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let path = match rest.find('/') {
        Some(i) => &rest[i..],
        None => match rest.find('?') {
            Some(i) => return Some(format!("/{}", &rest[i..])),
            None => "/",
        },
    };
    Some(path.split('#').next().unwrap_or(path).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_of_urls() {
        assert_eq!(
            url_path("https://a.example/2024/03/x.html").as_deref(),
            Some("/2024/03/x.html")
        );
        assert_eq!(
            url_path("http://a.example/?p=12").as_deref(),
            Some("/?p=12")
        );
        assert_eq!(url_path("http://a.example?p=12").as_deref(), Some("/?p=12"));
        assert_eq!(url_path("https://a.example").as_deref(), Some("/"));
        assert_eq!(
            url_path("/p/about.html#x").as_deref(),
            Some("/p/about.html")
        );
        assert_eq!(url_path("mailto:x"), None);
    }

    #[test]
    fn dates_keep_their_offset() {
        let at = rfc3339("2024-03-17T09:15:00.000+01:00").unwrap();
        assert_eq!(at.offset().whole_seconds(), 3600);
    }
}
