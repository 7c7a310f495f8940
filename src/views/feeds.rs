//! Atom, RSS and sitemap documents (askama escapes them as XML).

use askama::Template;

#[derive(Debug, Clone)]
pub struct InReplyTo {
    pub id: String,
    pub url: String,
}

#[derive(Debug, Clone)]
pub struct FeedEntry {
    pub id: String,
    pub title: String,
    pub url: String,
    /// RFC 3339
    pub published: String,
    pub updated: String,
    /// RFC 2822, for RSS
    pub published_rss: String,
    pub author: String,
    pub categories: Vec<String>,
    /// Sanitized HTML, shown escaped inside the XML.
    pub content_html: String,
    pub summary: String,
    pub in_reply_to: Option<InReplyTo>,
}

#[derive(Debug, Clone)]
pub struct FeedMeta {
    pub id: String,
    pub title: String,
    pub subtitle: String,
    pub updated: String,
    pub self_url: String,
    pub html_url: String,
    pub summaries: bool,
}

#[derive(Template)]
#[template(path = "feeds/atom.xml")]
pub struct AtomFeed {
    pub feed: FeedMeta,
    pub entries: Vec<FeedEntry>,
}

#[derive(Template)]
#[template(path = "feeds/rss.xml")]
pub struct RssFeed {
    pub feed: FeedMeta,
    pub entries: Vec<FeedEntry>,
}

#[derive(Debug, Clone)]
pub struct SitemapEntry {
    pub url: String,
    pub last_modified: String,
}

#[derive(Template)]
#[template(path = "feeds/sitemap.xml")]
pub struct Sitemap {
    pub urls: Vec<SitemapEntry>,
}

#[derive(Template)]
#[template(path = "feeds/sitemap_index.xml")]
pub struct SitemapIndex {
    pub sitemaps: Vec<String>,
}
