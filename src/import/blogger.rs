//! Blogger's two export formats: the classic Atom export ("Back up content") and Google
//! Takeout's `feed.atom`. Both are one Atom feed whose entries are posts, pages and comments.

use std::io::BufRead;

use super::{
    ReadError, Reader,
    model::{
        Author, Body, Comment, CommentBody, CommentStatus, EntryError, FOLIO_NS, Post, PostKind,
        Record, comment_policy, rfc3339, url_path,
    },
    xml::{Element, XmlStream},
};

const ATOM: &str = "http://www.w3.org/2005/Atom";
const TAKEOUT: &str = "http://schemas.google.com/blogger/2018";
const THREAD: &str = "http://purl.org/syndication/thread/1.0";
const GDATA: &str = "http://schemas.google.com/g/2005";
const APP_OLD: &str = "http://purl.org/atom/app#";
const APP: &str = "http://www.w3.org/2007/app";
const KIND_SCHEME: &str = "http://schemas.google.com/g/2005#kind";
const LABEL_SCHEME: &str = "http://www.blogger.com/atom/ns#";
/// Blogger hides commenters' addresses behind this one.
const HIDDEN_EMAIL: &str = "noreply@blogger.com";

pub struct BloggerReader<R: BufRead> {
    xml: XmlStream<R>,
    started: bool,
    finished: bool,
    entries: u64,
}

impl<R: BufRead> BloggerReader<R> {
    pub fn new(xml: XmlStream<R>) -> Self {
        Self {
            xml,
            started: false,
            finished: false,
            entries: 0,
        }
    }

    fn open(&mut self) -> Result<(), ReadError> {
        let root = self
            .xml
            .next_start(true)
            .map_err(|e| ReadError::xml(e, None))?
            .ok_or_else(|| ReadError::wrong_format(1, "the file is empty".into()))?;
        if root.is(ATOM, "feed") {
            return Ok(());
        }
        let hint = if root.name == "rss" {
            "it is an RSS document (a WordPress export? use `folio import wxr`)".to_owned()
        } else {
            format!("its document is <{}>, not an Atom <feed>", root.name)
        };
        Err(ReadError::wrong_format(
            root.line,
            format!("this is not a Blogger export: {hint}"),
        ))
    }
}

impl<R: BufRead> Reader for BloggerReader<R> {
    fn next_record(&mut self) -> Result<Option<Record>, ReadError> {
        if !self.started {
            self.started = true;
            self.open()?;
        }
        while !self.finished {
            let entry_no = self.entries + 1;
            let start = self
                .xml
                .next_start(false)
                .map_err(|e| ReadError::xml(e, Some(entry_no)))?;
            let Some(start) = start else {
                self.finished = true;
                break;
            };
            if !start.is(ATOM, "entry") {
                self.xml
                    .skip(&start)
                    .map_err(|e| ReadError::xml(e, Some(entry_no)))?;
                continue;
            }
            self.entries += 1;
            let entry = self
                .xml
                .element(start)
                .map_err(|e| ReadError::xml(e, Some(entry_no)))?;
            return read_entry(&entry)
                .map(Some)
                .map_err(|e| ReadError::entry(e, entry_no, &entry));
        }
        Ok(None)
    }

    fn line(&self) -> u64 {
        self.xml.line()
    }
}

/// Which kind of entry this is, in either format.
fn entry_kind(entry: &Element) -> Option<String> {
    if let Some(kind) = entry.child(TAKEOUT, "type") {
        return Some(kind.text.trim().to_ascii_lowercase());
    }
    entry
        .children(ATOM, "category")
        .filter(|c| c.attr("scheme") == Some(KIND_SCHEME))
        .find_map(|c| c.attr("term")?.rsplit_once('#').map(|(_, k)| k.to_owned()))
}

fn read_entry(entry: &Element) -> Result<Record, EntryError> {
    let takeout = entry.child(TAKEOUT, "type").is_some();
    let Some(kind) = entry_kind(entry) else {
        return Err(EntryError::new(
            entry.line,
            "this entry has no Blogger kind (a <category> of the kind scheme, or <blogger:type>): \
             is the file a Blogger export?",
        ));
    };
    match kind.as_str() {
        "post" => read_post(entry, PostKind::Post, takeout),
        "page" => read_post(entry, PostKind::Page, takeout),
        "comment" => read_comment(entry, takeout),
        "settings" => Ok(Record::Skipped(
            "blog settings (set them on the Settings page)",
        )),
        "template" => Ok(Record::Skipped(
            "the Blogger template (Folio has its own design)",
        )),
        _ => Ok(Record::Skipped("entries of a kind Folio does not import")),
    }
}

fn id_of(entry: &Element) -> Result<String, EntryError> {
    match entry.text_of(ATOM, "id") {
        "" => Err(EntryError::new(entry.line, "this entry has no <id>")),
        id => Ok(id.to_owned()),
    }
}

fn date(entry: &Element, ns: &str, name: &str) -> Result<Option<time::OffsetDateTime>, EntryError> {
    let Some(element) = entry.child(ns, name) else {
        return Ok(None);
    };
    match element.text.trim() {
        "" => Ok(None),
        text => rfc3339(text).map(Some).ok_or_else(|| {
            EntryError::new(
                element.line,
                format!(
                    "<{name}> holds \"{text}\", which is not a date like 2024-03-17T09:15:00+01:00"
                ),
            )
        }),
    }
}

fn trashed(entry: &Element) -> bool {
    !entry.text_of(TAKEOUT, "trashed").is_empty()
}

fn read_post(entry: &Element, kind: PostKind, takeout: bool) -> Result<Record, EntryError> {
    let source_id = id_of(entry)?;
    if takeout && trashed(entry) {
        return Ok(Record::Skipped("posts in Blogger's trash"));
    }
    let draft = if takeout {
        entry
            .text_of(TAKEOUT, "status")
            .eq_ignore_ascii_case("draft")
    } else {
        [APP_OLD, APP].iter().any(|ns| {
            entry
                .child(ns, "control")
                .is_some_and(|c| c.text_of(ns, "draft").eq_ignore_ascii_case("yes"))
        })
    };
    // Folio marks a draft that never had a date (Atom needs one anyway).
    let undated = draft && entry.child(FOLIO_NS, "undated").is_some();
    let published = match date(entry, ATOM, "published")? {
        _ if undated => None,
        Some(at) => Some(at),
        None => match date(entry, TAKEOUT, "created")? {
            Some(at) => Some(at),
            None => date(entry, ATOM, "updated")?,
        },
    };
    if published.is_none() && !draft {
        return Err(EntryError::new(
            entry.line,
            "this published post has no <published> date",
        ));
    }
    let path = if takeout {
        Some(entry.text_of(TAKEOUT, "filename").to_owned()).filter(|p| !p.is_empty())
    } else {
        entry
            .children(ATOM, "link")
            .find(|l| l.attr("rel") == Some("alternate"))
            .and_then(|l| url_path(l.attr("href")?))
    };
    let labels = entry
        .children(ATOM, "category")
        .filter(|c| {
            let scheme = c.attr("scheme").unwrap_or("");
            if takeout {
                scheme != KIND_SCHEME
            } else {
                scheme == LABEL_SCHEME
            }
        })
        .filter_map(|c| c.attr("term"))
        .flat_map(|term| term.split('\n'))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let body = match folio_source(entry, "markdown") {
        Some(markdown) => Body::Markdown(markdown),
        None => Body::Html(entry.text_of(ATOM, "content").to_owned()),
    };
    Ok(Record::Post(Box::new(Post {
        source_id,
        kind,
        title: entry.text_of(ATOM, "title").to_owned(),
        body,
        draft,
        published,
        path,
        slug: None,
        old_paths: Vec::new(),
        author: author(entry).map(|(name, uri, email)| Author {
            key: if uri.is_empty() { name.clone() } else { uri },
            name,
            email,
        }),
        labels,
        excerpt: entry
            .child(FOLIO_NS, "excerpt")
            .map(|e| e.text.trim().to_owned()),
        comment_policy: comment_policy(entry.text_of(FOLIO_NS, "commentPolicy")),
        featured_image: entry.text_of(FOLIO_NS, "featuredImage").to_owned(),
        line: entry.line,
    })))
}

/// Folio's own copy of what was typed, in its exports.
fn folio_source(entry: &Element, format: &str) -> Option<String> {
    entry
        .children(FOLIO_NS, "source")
        .find(|s| s.attr("format") == Some(format))
        .map(|s| s.text.clone())
}

/// Name, profile URL and email (when Blogger did not hide it).
fn author(entry: &Element) -> Option<(String, String, Option<String>)> {
    let author = entry.child(ATOM, "author")?;
    let email = author.text_of(ATOM, "email");
    Some((
        author.text_of(ATOM, "name").to_owned(),
        author.text_of(ATOM, "uri").to_owned(),
        Some(email.to_owned()).filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case(HIDDEN_EMAIL)),
    ))
}

/// A comment id from a bare number, given any other id of the same blog.
fn sibling_id(any_id: &str, number: &str) -> String {
    match any_id.rfind(".post-") {
        Some(i) => format!("{}.post-{number}", &any_id[..i]),
        None => number.to_owned(),
    }
}

fn read_comment(entry: &Element, takeout: bool) -> Result<Record, EntryError> {
    let source_id = id_of(entry)?;
    let (post_source_id, parent) = if takeout {
        let parent = entry.text_of(TAKEOUT, "inReplyTo");
        let parent = match parent {
            "" => None,
            p if p.bytes().all(|b| b.is_ascii_digit()) => Some(sibling_id(&source_id, p)),
            p => Some(p.to_owned()),
        };
        (entry.text_of(TAKEOUT, "parent").to_owned(), parent)
    } else {
        let post = entry
            .child(THREAD, "in-reply-to")
            .and_then(|r| r.attr("ref"))
            .unwrap_or("")
            .to_owned();
        // A reply links to the comment it answers: .../comments/default/{comment id}
        let parent = entry
            .children(ATOM, "link")
            .find(|l| l.attr("rel") == Some("related"))
            .and_then(|l| l.attr("href"))
            .and_then(|href| href.trim_end_matches('/').rsplit('/').next())
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .map(|n| sibling_id(&source_id, n));
        (post, parent)
    };
    if post_source_id.is_empty() {
        return Err(EntryError::new(
            entry.line,
            "this comment does not say which post it belongs to",
        ));
    }
    let status = if takeout {
        if trashed(entry) {
            CommentStatus::Trash
        } else {
            match entry
                .text_of(TAKEOUT, "status")
                .to_ascii_uppercase()
                .as_str()
            {
                "DRAFT" | "PENDING" => CommentStatus::Pending,
                s if s.starts_with("SPAM") => CommentStatus::Spam,
                "DELETED" | "TRASH" => CommentStatus::Trash,
                _ => CommentStatus::Approved,
            }
        }
    } else if entry.children(GDATA, "extendedProperty").any(|p| {
        p.attr("name") == Some("blogger.contentRemoved") && p.attr("value") == Some("true")
    }) {
        CommentStatus::Trash
    } else {
        CommentStatus::Approved
    };
    let created = match date(entry, ATOM, "published")? {
        Some(at) => at,
        None => date(entry, ATOM, "updated")?
            .ok_or_else(|| EntryError::new(entry.line, "this comment has no <published> date"))?,
    };
    let (name, uri, email) = author(entry).unwrap_or_default();
    let body = match folio_source(entry, "text") {
        Some(text) => CommentBody::Text(text),
        None => CommentBody::Html(entry.text_of(ATOM, "content").to_owned()),
    };
    Ok(Record::Comment(Box::new(Comment {
        source_id,
        post_source_id,
        parent_source_id: parent,
        author_name: if name.is_empty() {
            "Anonymous".to_owned()
        } else {
            name
        },
        author_email: email,
        author_url: Some(uri).filter(|u| u.starts_with("http://") || u.starts_with("https://")),
        body,
        status,
        created,
        line: entry.line,
    })))
}
