//! WordPress's export (WXR 1.0-1.2): an RSS document whose items are posts, pages and
//! attachments, each with its comments inside it.

use std::collections::{HashMap, VecDeque};
use std::io::BufRead;

use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset, macros::format_description};

use super::{
    ReadError, Reader,
    model::{
        Author, Body, Comment, CommentBody, CommentPolicy, CommentStatus, EntryError, FOLIO_NS,
        Post, PostKind, Record, comment_policy, rfc3339, url_path,
    },
    xml::{Element, XmlStream},
};

const CONTENT: &str = "http://purl.org/rss/1.0/modules/content/";
const DC: &str = "http://purl.org/dc/elements/1.1/";
const WP_PREFIX: &str = "http://wordpress.org/export/";

pub struct WxrReader<R: BufRead> {
    xml: XmlStream<R>,
    state: State,
    wp: String,
    /// The blog's address: WordPress's ids are only unique within one blog.
    base: String,
    authors: HashMap<String, Author>,
    pending: VecDeque<Record>,
    items: u64,
}

#[derive(PartialEq, Eq)]
enum State {
    Start,
    InChannel,
    Done,
}

impl<R: BufRead> WxrReader<R> {
    pub fn new(xml: XmlStream<R>) -> Self {
        Self {
            xml,
            state: State::Start,
            wp: format!("{WP_PREFIX}1.2/"),
            base: String::new(),
            authors: HashMap::new(),
            pending: VecDeque::new(),
            items: 0,
        }
    }

    fn open(&mut self) -> Result<(), ReadError> {
        let root = self
            .xml
            .next_start(true)
            .map_err(|e| ReadError::xml(e, None))?
            .ok_or_else(|| ReadError::wrong_format(1, "the file is empty".into()))?;
        if root.name != "rss" || !root.ns.is_empty() {
            let hint = if root.name == "feed" {
                "it is an Atom feed (a Blogger export? use `folio import blogger`)".to_owned()
            } else {
                format!("its document is <{}>, not <rss>", root.name)
            };
            return Err(ReadError::wrong_format(
                root.line,
                format!("this is not a WordPress export: {hint}"),
            ));
        }
        loop {
            let start = self
                .xml
                .next_start(false)
                .map_err(|e| ReadError::xml(e, None))?
                .ok_or_else(|| {
                    ReadError::wrong_format(
                        self.xml.line(),
                        "this RSS document has no <channel>".into(),
                    )
                })?;
            if start.name == "channel" {
                return Ok(());
            }
            self.xml.skip(&start).map_err(|e| ReadError::xml(e, None))?;
        }
    }

    fn wp<'a>(&self, element: &'a Element, name: &str) -> &'a str {
        element.text_of(&self.wp, name)
    }
}

impl<R: BufRead> Reader for WxrReader<R> {
    fn next_record(&mut self) -> Result<Option<Record>, ReadError> {
        if self.state == State::Start {
            self.open()?;
            self.state = State::InChannel;
        }
        loop {
            if let Some(record) = self.pending.pop_front() {
                return Ok(Some(record));
            }
            if self.state == State::Done {
                return Ok(None);
            }
            let item_no = self.items + 1;
            let Some(start) = self
                .xml
                .next_start(false)
                .map_err(|e| ReadError::xml(e, Some(item_no)))?
            else {
                self.state = State::Done;
                if self.items == 0 && self.base.is_empty() {
                    return Err(ReadError::wrong_format(
                        self.xml.line(),
                        "this RSS feed has no WordPress elements: is it a WordPress export (WXR)?"
                            .into(),
                    ));
                }
                continue;
            };
            if start.ns.starts_with(WP_PREFIX) {
                self.wp = start.ns.clone();
            }
            match (start.ns.as_str(), start.name.as_str()) {
                ("", "item") => {
                    self.items += 1;
                    let item = self
                        .xml
                        .element(start)
                        .map_err(|e| ReadError::xml(e, Some(item_no)))?;
                    let records = self
                        .read_item(&item)
                        .map_err(|e| ReadError::entry(e, item_no, &item))?;
                    self.pending.extend(records);
                }
                (ns, "author") if ns.starts_with(WP_PREFIX) => {
                    let author = self
                        .xml
                        .element(start)
                        .map_err(|e| ReadError::xml(e, None))?;
                    let login = self.wp(&author, "author_login").to_owned();
                    let name = match self.wp(&author, "author_display_name") {
                        "" => login.clone(),
                        name => name.to_owned(),
                    };
                    let email =
                        Some(self.wp(&author, "author_email").to_owned()).filter(|e| !e.is_empty());
                    // Logins are only unique within one WordPress blog.
                    let key = format!("{}/#author-{login}", self.base);
                    self.authors.insert(login, Author { key, name, email });
                }
                (ns, "base_blog_url") if ns.starts_with(WP_PREFIX) => {
                    let element = self
                        .xml
                        .element(start)
                        .map_err(|e| ReadError::xml(e, None))?;
                    self.base = element.text.trim().trim_end_matches('/').to_owned();
                }
                ("", "link") if self.base.is_empty() => {
                    let element = self
                        .xml
                        .element(start)
                        .map_err(|e| ReadError::xml(e, None))?;
                    self.base = element.text.trim().trim_end_matches('/').to_owned();
                }
                _ => self.xml.skip(&start).map_err(|e| ReadError::xml(e, None))?,
            }
        }
    }

    fn line(&self) -> u64 {
        self.xml.line()
    }
}

impl<R: BufRead> WxrReader<R> {
    fn read_item(&self, item: &Element) -> Result<Vec<Record>, EntryError> {
        let post_id = self.wp(item, "post_id");
        if post_id.is_empty() {
            return Err(EntryError::new(item.line, "this item has no <wp:post_id>"));
        }
        let kind = match self.kind(item) {
            Ok(kind) => kind,
            Err(skipped) => return Ok(vec![Record::Skipped(skipped)]),
        };
        let draft = match self.is_draft(item) {
            Ok(draft) => draft,
            Err(skipped) => return Ok(vec![Record::Skipped(skipped)]),
        };
        let published = self.published(item, draft)?;
        let source_id = format!("{}/?p={post_id}", self.base);
        let link = url_path(item.text_of("", "link"));
        let is_folio_path = link.as_deref().is_some_and(looks_like_folio_path);
        let old_paths = if draft || is_folio_path {
            Vec::new()
        } else {
            wordpress_paths(link.as_deref(), kind, post_id)
        };
        let mut records = vec![Record::Post(Box::new(Post {
            source_id: source_id.clone(),
            kind,
            title: item.text_of("", "title").to_owned(),
            body: body(item),
            draft,
            published,
            path: if is_folio_path { link } else { None },
            slug: Some(self.wp(item, "post_name").to_owned()).filter(|s| !s.is_empty()),
            old_paths,
            author: self.author(item),
            labels: labels(item),
            excerpt: item
                .child(FOLIO_NS, "excerpt")
                .map(|e| e.text.trim().to_owned()),
            comment_policy: self.policy(item),
            featured_image: item.text_of(FOLIO_NS, "featuredImage").to_owned(),
            line: item.line,
        }))];
        for comment in item.children(&self.wp, "comment") {
            records.push(self.read_comment(comment, &source_id)?);
        }
        Ok(records)
    }

    /// A post or a page, or why the item is passed over.
    fn kind(&self, item: &Element) -> Result<PostKind, SkipReason> {
        match self.wp(item, "post_type") {
            "post" | "" => Ok(PostKind::Post),
            "page" => Ok(PostKind::Page),
            "attachment" => {
                Err("attachments (the files stay where they are; posts keep linking to them)")
            }
            "nav_menu_item" => Err("menu items"),
            _ => Err("WordPress items of other types (revisions, blocks, custom types)"),
        }
    }

    /// Whether the item is a draft, or why it is passed over.
    fn is_draft(&self, item: &Element) -> Result<bool, SkipReason> {
        match self.wp(item, "status") {
            "publish" | "future" => Ok(false),
            "draft" | "pending" | "private" | "" => Ok(true),
            "trash" => Err("posts in WordPress's trash"),
            "auto-draft" => Err("WordPress auto-drafts"),
            _ => Err("revisions"),
        }
    }

    fn published(&self, item: &Element, draft: bool) -> Result<Option<OffsetDateTime>, EntryError> {
        // Folio's own exports carry the exact instant (WXR's dates stop at the second).
        let published =
            match item.child(FOLIO_NS, "published") {
                _ if draft && item.child(FOLIO_NS, "undated").is_some() => None,
                Some(exact) => Some(rfc3339(&exact.text).ok_or_else(|| {
                    EntryError::new(exact.line, "<folio:published> is not a date")
                })?),
                None => wp_date(item, &self.wp, "post_date", "post_date_gmt")?,
            };
        if published.is_none() && !draft {
            return Err(EntryError::new(
                item.line,
                "this published post has no <wp:post_date>",
            ));
        }
        Ok(published)
    }

    /// The author listed in the channel, or one made from the login alone.
    fn author(&self, item: &Element) -> Option<Author> {
        let login = item.text_of(DC, "creator");
        self.authors.get(login).cloned().or_else(|| {
            (!login.is_empty()).then(|| Author {
                key: format!("{}/#author-{login}", self.base),
                name: login.to_owned(),
                email: None,
            })
        })
    }

    fn policy(&self, item: &Element) -> Option<CommentPolicy> {
        comment_policy(item.text_of(FOLIO_NS, "commentPolicy")).or_else(|| {
            (self.wp(item, "comment_status") == "closed").then_some(CommentPolicy::Closed)
        })
    }

    fn read_comment(&self, comment: &Element, post_source_id: &str) -> Result<Record, EntryError> {
        if matches!(self.wp(comment, "comment_type"), "pingback" | "trackback") {
            return Ok(Record::Skipped("pingbacks and trackbacks"));
        }
        let id = self.wp(comment, "comment_id");
        if id.is_empty() {
            return Err(EntryError::new(
                comment.line,
                "this comment has no <wp:comment_id>",
            ));
        }
        let status = match self.wp(comment, "comment_approved") {
            "1" | "approve" => CommentStatus::Approved,
            "spam" => CommentStatus::Spam,
            "trash" | "post-trashed" => CommentStatus::Trash,
            _ => CommentStatus::Pending,
        };
        let created = match comment.child(FOLIO_NS, "created") {
            Some(exact) => rfc3339(&exact.text)
                .ok_or_else(|| EntryError::new(exact.line, "<folio:created> is not a date"))?,
            None => wp_date(comment, &self.wp, "comment_date", "comment_date_gmt")?.ok_or_else(
                || EntryError::new(comment.line, "this comment has no <wp:comment_date>"),
            )?,
        };
        let parent = match self.wp(comment, "comment_parent") {
            "" | "0" => None,
            p => Some(format!("{}/#comment-{p}", self.base)),
        };
        let text = |name: &str| Some(self.wp(comment, name).to_owned()).filter(|t| !t.is_empty());
        let body = match comment.child(FOLIO_NS, "source") {
            Some(source) if source.attr("format") == Some("text") => {
                CommentBody::Text(source.text.clone())
            }
            Some(source) if source.attr("format") == Some("html") => {
                CommentBody::Html(source.text.clone())
            }
            _ => CommentBody::Html(autop(self.wp(comment, "comment_content"))),
        };
        Ok(Record::Comment(Box::new(Comment {
            source_id: format!("{}/#comment-{id}", self.base),
            post_source_id: post_source_id.to_owned(),
            parent_source_id: parent,
            author_name: text("comment_author").unwrap_or_else(|| "Anonymous".to_owned()),
            author_email: text("comment_author_email"),
            author_url: text("comment_author_url")
                .filter(|u| u.starts_with("http://") || u.starts_with("https://")),
            body,
            status,
            created,
            line: comment.line,
        })))
    }
}

/// Why an item is passed over rather than imported, as the import's summary counts it.
type SkipReason = &'static str;

/// The addresses a published WordPress post answered at, so they keep leading to it.
fn wordpress_paths(link: Option<&str>, kind: PostKind, post_id: &str) -> Vec<String> {
    let mut old_paths = Vec::new();
    if let Some(link) = link {
        old_paths.push(link.to_owned());
    }
    old_paths.push(match kind {
        PostKind::Post => format!("/?p={post_id}"),
        PostKind::Page => format!("/?page_id={post_id}"),
    });
    old_paths
}

fn labels(item: &Element) -> Vec<String> {
    item.children("", "category")
        .filter(|c| matches!(c.attr("domain"), Some("category" | "post_tag")))
        .map(|c| c.text.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Folio's own exports carry the source as written; WordPress's carry HTML without paragraphs.
fn body(item: &Element) -> Body {
    match item.child(FOLIO_NS, "source") {
        Some(source) if source.attr("format") == Some("markdown") => {
            Body::Markdown(source.text.clone())
        }
        Some(source) if source.attr("format") == Some("html") => Body::Html(source.text.clone()),
        _ => Body::Html(autop(item.text_of(CONTENT, "encoded"))),
    }
}

/// `/2024/03/slug.html` or `/p/slug.html`: a path Folio (or Blogger) made, kept as it is.
fn looks_like_folio_path(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["", "p", file] => file.ends_with(".html") && file.len() > 5,
        ["", year, month, file] => {
            year.len() == 4
                && year.bytes().all(|b| b.is_ascii_digit())
                && month.len() == 2
                && month.bytes().all(|b| b.is_ascii_digit())
                && file.ends_with(".html")
                && file.len() > 5
        }
        _ => false,
    }
}

/// WordPress writes local time and UTC side by side: together they give the offset.
fn wp_date(
    element: &Element,
    wp: &str,
    local_name: &str,
    gmt_name: &str,
) -> Result<Option<OffsetDateTime>, EntryError> {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let parse = |name: &str| -> Result<Option<PrimitiveDateTime>, EntryError> {
        let Some(child) = element.child(wp, name) else {
            return Ok(None);
        };
        let text = child.text.trim();
        if text.is_empty() || text.starts_with("0000-00-00") {
            return Ok(None);
        }
        PrimitiveDateTime::parse(text, &format)
            .map(Some)
            .map_err(|_| {
                EntryError::new(
                    child.line,
                    format!(
                        "<wp:{name}> holds \"{text}\", which is not a date like 2024-03-17 09:15:00"
                    ),
                )
            })
    };
    let local = parse(local_name)?;
    let gmt = parse(gmt_name)?;
    Ok(match (local, gmt) {
        (Some(local), Some(gmt)) => {
            let seconds = (local - gmt).whole_seconds();
            // Offsets are whole minutes; anything else is a broken pair: read it as UTC.
            let offset = i32::try_from(seconds)
                .ok()
                .filter(|s| s % 60 == 0)
                .and_then(|s| UtcOffset::from_whole_seconds(s).ok())
                .unwrap_or(UtcOffset::UTC);
            Some(gmt.assume_utc().to_offset(offset))
        }
        (Some(local), None) => Some(local.assume_utc()),
        (None, Some(gmt)) => Some(gmt.assume_utc()),
        (None, None) => None,
    })
}

/// WordPress stores paragraphs as blank lines and adds the tags when it shows a post
/// (`wpautop`); Folio shows the HTML it stores, so the paragraphs are made here.
pub fn autop(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for chunk in text.split("\n\n").map(str::trim).filter(|c| !c.is_empty()) {
        if !out.is_empty() {
            out.push('\n');
        }
        if starts_with_block(chunk) {
            out.push_str(chunk);
        } else {
            out.push_str("<p>");
            out.push_str(&chunk.replace('\n', "<br />\n"));
            out.push_str("</p>");
        }
    }
    out
}

fn starts_with_block(chunk: &str) -> bool {
    const BLOCKS: &[&str] = &[
        "<!--",
        "<p",
        "<div",
        "<table",
        "<ul",
        "<ol",
        "<h1",
        "<h2",
        "<h3",
        "<h4",
        "<h5",
        "<h6",
        "<blockquote",
        "<pre",
        "<figure",
        "<hr",
        "<dl",
        "<section",
        "<iframe",
        "<form",
    ];
    let lower = chunk
        .get(..12.min(chunk.len()))
        .unwrap_or(chunk)
        .to_ascii_lowercase();
    BLOCKS.iter().any(|b| {
        lower.starts_with(b)
            && lower[b.len()..]
                .chars()
                .next()
                .is_none_or(|c| c == '>' || c == ' ' || c == '/' || c == '-' || b == &"<!--")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_are_made_like_wordpress() {
        assert_eq!(
            autop("One line\nand more.\n\n<table><tr><td>x</td></tr></table>\n\nLast."),
            "<p>One line<br />\nand more.</p>\n<table><tr><td>x</td></tr></table>\n<p>Last.</p>"
        );
        assert_eq!(autop("<p>Already</p>"), "<p>Already</p>");
        assert_eq!(autop("  "), "");
    }

    #[test]
    fn folio_paths_are_recognised() {
        assert!(looks_like_folio_path("/2024/03/x.html"));
        assert!(looks_like_folio_path("/p/about.html"));
        assert!(!looks_like_folio_path("/2024/03/17/x/"));
        assert!(!looks_like_folio_path("/?p=3"));
    }
}
