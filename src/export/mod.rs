//! The whole blog as a file another blog engine (or another Folio) can import: WordPress's WXR
//! or Blogger's Atom (the Takeout shape, which has room for drafts, pages, threads and every
//! comment status). Written a page of posts at a time from one snapshot, in chunks, so memory
//! stays flat however large the blog.

use std::fmt::Write as _;

use sqlx::PgPool;
use time::{
    OffsetDateTime, UtcOffset,
    format_description::well_known::{Rfc2822, Rfc3339},
    macros::format_description,
};
use tokio::sync::mpsc::Sender;

use crate::{
    db::export::{self, ExportComment, ExportPost},
    domain::{
        comment::{CommentFormat, CommentPolicy, CommentStatus},
        post::{BodyFormat, PostKind, PostState},
        slug::slugify,
    },
    import::{model::FOLIO_NS, xml::is_xml_char},
    render::dates,
};

const PAGE: i64 = 200;
const CHUNK: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// WordPress eXtended RSS 1.2
    Wxr,
    /// Blogger's Atom export (the Takeout shape)
    Atom,
}

impl Format {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "wxr" | "wordpress" => Some(Format::Wxr),
            "atom" | "blogger" => Some(Format::Atom),
            _ => None,
        }
    }

    pub fn file_name(self) -> &'static str {
        match self {
            Format::Wxr => "folio-export.wxr.xml",
            Format::Atom => "folio-export.atom",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Wxr => "application/rss+xml; charset=utf-8",
            Format::Atom => "application/atom+xml; charset=utf-8",
        }
    }
}

/// What the export needs to know about the blog besides its rows.
#[derive(Debug, Clone)]
pub struct Site {
    pub base_url: String,
    pub host: String,
    pub title: String,
    pub description: String,
    pub time_zone: dates::TimeZone,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("reading the blog failed: {0}")]
    Database(#[from] sqlx::Error),
    /// Whoever was reading the export went away.
    #[error("the reader of the export went away")]
    Closed,
}

struct Out {
    buf: String,
    sink: Sender<Vec<u8>>,
}

impl Out {
    async fn flush_if_full(&mut self) -> Result<(), ExportError> {
        if self.buf.len() >= CHUNK {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), ExportError> {
        if !self.buf.is_empty() {
            let chunk = std::mem::take(&mut self.buf).into_bytes();
            self.sink
                .send(chunk)
                .await
                .map_err(|_| ExportError::Closed)?;
        }
        Ok(())
    }
}

/// Writes the export into `sink` chunk by chunk.
pub async fn run(
    db: &PgPool,
    format: Format,
    site: &Site,
    sink: Sender<Vec<u8>>,
) -> Result<(), ExportError> {
    let mut tx = db.begin().await?;
    export::snapshot(&mut tx).await?;
    let mut out = Out {
        buf: String::with_capacity(CHUNK * 2),
        sink,
    };
    match format {
        Format::Atom => atom_head(&mut out.buf, site),
        Format::Wxr => {
            let authors = export::authors(&mut tx).await?;
            let labels = export::labels(&mut tx).await?;
            wxr_head(&mut out.buf, site, &authors, &labels);
        }
    }
    let mut after = 0;
    loop {
        let posts = export::posts_after(&mut tx, after, PAGE).await?;
        let Some(last) = posts.last() else { break };
        after = last.id;
        let ids: Vec<i64> = posts.iter().map(|p| p.id).collect();
        let comments = export::comments_of(&mut tx, &ids).await?;
        match format {
            Format::Atom => {
                for post in &posts {
                    atom_post(&mut out.buf, site, post);
                    out.flush_if_full().await?;
                }
                for comment in &comments {
                    let post = posts
                        .iter()
                        .find(|p| p.id == comment.post_id)
                        .expect("comments are of this page's posts");
                    atom_comment(&mut out.buf, site, post, comment);
                    out.flush_if_full().await?;
                }
            }
            Format::Wxr => {
                let mut rest = comments.as_slice();
                for post in &posts {
                    let n = rest.iter().take_while(|c| c.post_id == post.id).count();
                    let (own, others) = rest.split_at(n);
                    rest = others;
                    wxr_item(&mut out.buf, site, post, own);
                    out.flush_if_full().await?;
                }
            }
        }
    }
    out.buf.push_str(match format {
        Format::Atom => "</feed>\n",
        Format::Wxr => "</channel>\n</rss>\n",
    });
    out.flush().await?;
    tx.commit().await?;
    Ok(())
}

/// Text for XML: escaped, without the control characters XML 1.0 cannot hold.
fn text(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if is_xml_char(c) => out.push(c),
            _ => {}
        }
    }
}

fn escaped(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    text(&mut out, value);
    out
}

fn cdata(out: &mut String, value: &str) {
    let clean: String = value.chars().filter(|&c| is_xml_char(c)).collect();
    out.push_str("<![CDATA[");
    out.push_str(&clean.replace("]]>", "]]]]><![CDATA[>"));
    out.push_str("]]>");
}

/// The offset a time was written with, or the blog's at that instant.
fn offset_of(at: OffsetDateTime, stored: Option<i32>, site: &Site) -> UtcOffset {
    stored
        .and_then(|s| UtcOffset::from_whole_seconds(s).ok())
        .or_else(|| {
            // Whole minutes: RFC 3339 cannot write the seconds of a local mean time.
            let seconds = dates::zoned(at, &site.time_zone).offset().seconds();
            UtcOffset::from_whole_seconds(seconds - seconds % 60).ok()
        })
        .unwrap_or(UtcOffset::UTC)
}

fn rfc3339(at: OffsetDateTime, offset: UtcOffset) -> String {
    at.to_offset(offset)
        .format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

fn post_entry_id(site: &Site, post: &ExportPost) -> String {
    post.source_id
        .clone()
        .unwrap_or_else(|| format!("tag:{},folio:post-{}", site.host, post.id))
}

fn comment_entry_id(site: &Site, id: i64, source_id: Option<&str>) -> String {
    source_id.map_or_else(
        || format!("tag:{},folio:comment-{id}", site.host),
        str::to_owned,
    )
}

/// An address Folio made up for an imported author is not theirs to export.
fn real_email(email: Option<&str>) -> Option<&str> {
    email.filter(|e| !e.ends_with(".invalid") && e.contains('@'))
}

fn atom_head(out: &mut String, site: &Site) {
    let _ = write!(
        out,
        "<?xml version='1.0' encoding='utf-8'?>\n\
         <feed xmlns='http://www.w3.org/2005/Atom' \
         xmlns:blogger='http://schemas.google.com/blogger/2018' xmlns:folio='{FOLIO_NS}'>\n\
         <id>tag:{},folio:blog</id>\n<title>{}</title>\n<subtitle>{}</subtitle>\n\
         <updated>{}</updated>\n<link rel='alternate' type='text/html' href='{}/'/>\n\
         <generator uri='https://github.com/folio-blog/folio'>Folio</generator>\n",
        escaped(&site.host),
        escaped(&site.title),
        escaped(&site.description),
        rfc3339(OffsetDateTime::now_utc(), UtcOffset::UTC),
        escaped(&site.base_url),
    );
}

fn atom_post(out: &mut String, site: &Site, post: &ExportPost) {
    let published = post.published_at.unwrap_or(post.created_at);
    let offset = offset_of(published, post.published_offset, site);
    let status = match post.state {
        PostState::Draft => "DRAFT",
        PostState::Scheduled => "SCHEDULED",
        PostState::Published => "LIVE",
    };
    out.push_str("<entry>\n<id>");
    text(out, &post_entry_id(site, post));
    let _ = write!(
        out,
        "</id>\n<blogger:type>{}</blogger:type>\n<blogger:status>{status}</blogger:status>\n",
        if post.kind == PostKind::Page {
            "PAGE"
        } else {
            "POST"
        }
    );
    if let Some(name) = &post.author_name {
        out.push_str("<author><name>");
        text(out, name);
        out.push_str("</name>");
        if let Some(email) = real_email(post.author_email.as_deref()) {
            out.push_str("<email>");
            text(out, email);
            out.push_str("</email>");
        }
        out.push_str("<blogger:type>BLOGGER</blogger:type></author>\n");
    }
    out.push_str("<title>");
    text(out, &post.title);
    out.push_str("</title>\n<content type='html'>");
    if post.body_format == BodyFormat::Html {
        text(out, &post.body_source);
    } else {
        text(out, &post.body_html);
    }
    out.push_str("</content>\n");
    if post.body_format == BodyFormat::Markdown {
        out.push_str("<folio:source format='markdown'>");
        text(out, &post.body_source);
        out.push_str("</folio:source>\n");
    }
    folio_post_extras(out, post);
    let _ = write!(
        out,
        "<blogger:created>{}</blogger:created>\n<published>{}</published>\n<updated>{}</updated>\n",
        rfc3339(post.created_at, offset),
        rfc3339(published, offset),
        rfc3339(post.updated_at, offset),
    );
    for label in &post.labels {
        out.push_str("<category scheme='tag:blogger.com,1999:labels' term='");
        text(out, label);
        out.push_str("'/>\n");
    }
    out.push_str("<blogger:filename>");
    text(out, &post.path);
    out.push_str("</blogger:filename>\n");
    if post.state != PostState::Draft {
        out.push_str("<link rel='alternate' type='text/html' href='");
        text(out, &format!("{}{}", site.base_url, post.path));
        out.push_str("'/>\n");
    }
    out.push_str("</entry>\n");
}

/// What only Folio reads back: the summary, the comment policy, the featured image, a draft
/// without a date.
fn folio_post_extras(out: &mut String, post: &ExportPost) {
    out.push_str("<folio:excerpt>");
    text(out, &post.excerpt);
    out.push_str("</folio:excerpt>\n");
    if let Some(policy) = post.comment_policy {
        let policy = policy.as_str();
        let _ = writeln!(out, "<folio:commentPolicy>{policy}</folio:commentPolicy>");
    }
    if !post.featured_image.is_empty() {
        out.push_str("<folio:featuredImage>");
        text(out, &post.featured_image);
        out.push_str("</folio:featuredImage>\n");
    }
    if post.published_at.is_none() {
        out.push_str("<folio:undated/>\n");
    }
}

fn atom_comment(out: &mut String, site: &Site, post: &ExportPost, comment: &ExportComment) {
    let offset = offset_of(comment.created_at, comment.created_offset, site);
    let status = match comment.status {
        CommentStatus::Pending => "PENDING",
        CommentStatus::Spam => "SPAM",
        CommentStatus::Approved | CommentStatus::Trash => "LIVE",
    };
    out.push_str("<entry>\n<id>");
    text(
        out,
        &comment_entry_id(site, comment.id, comment.source_id.as_deref()),
    );
    let _ = write!(
        out,
        "</id>\n<blogger:type>COMMENT</blogger:type>\n<blogger:status>{status}</blogger:status>\n<author><name>"
    );
    text(out, &comment.author_name);
    out.push_str("</name>");
    if let Some(url) = &comment.author_url {
        out.push_str("<uri>");
        text(out, url);
        out.push_str("</uri>");
    }
    if let Some(email) = real_email(comment.author_email.as_deref()) {
        out.push_str("<email>");
        text(out, email);
        out.push_str("</email>");
    }
    out.push_str("</author>\n<content type='html'>");
    if comment.body_format == CommentFormat::Html {
        text(out, &comment.body_source);
    } else {
        text(out, &comment.body_html);
    }
    out.push_str("</content>\n");
    if comment.body_format == CommentFormat::Text {
        out.push_str("<folio:source format='text'>");
        text(out, &comment.body_source);
        out.push_str("</folio:source>\n");
    }
    let _ = write!(
        out,
        "<published>{}</published>\n<updated>{}</updated>\n<blogger:parent>",
        rfc3339(comment.created_at, offset),
        rfc3339(comment.updated_at, offset),
    );
    text(out, &post_entry_id(site, post));
    out.push_str("</blogger:parent>\n");
    match comment.parent_id {
        Some(parent) => {
            out.push_str("<blogger:inReplyTo>");
            text(
                out,
                &comment_entry_id(site, parent, comment.parent_source_id.as_deref()),
            );
            out.push_str("</blogger:inReplyTo>\n");
        }
        None => out.push_str("<blogger:inReplyTo/>\n"),
    }
    if comment.status == CommentStatus::Trash {
        let _ = writeln!(
            out,
            "<blogger:trashed>{}</blogger:trashed>",
            rfc3339(comment.updated_at, UtcOffset::UTC)
        );
    }
    out.push_str("</entry>\n");
}

fn wxr_head(out: &mut String, site: &Site, authors: &[export::ExportAuthor], labels: &[String]) {
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!-- A WordPress eXtended RSS (WXR 1.2) export written by Folio. -->\n\
         <rss version=\"2.0\" xmlns:excerpt=\"http://wordpress.org/export/1.2/excerpt/\" \
         xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" \
         xmlns:wfw=\"http://wellformedweb.org/CommentAPI/\" \
         xmlns:dc=\"http://purl.org/dc/elements/1.1/\" \
         xmlns:wp=\"http://wordpress.org/export/1.2/\" xmlns:folio=\"{FOLIO_NS}\">\n<channel>\n\
         <title>{}</title>\n<link>{}</link>\n<description>{}</description>\n\
         <pubDate>{}</pubDate>\n<wp:wxr_version>1.2</wp:wxr_version>\n\
         <wp:base_site_url>{}</wp:base_site_url>\n<wp:base_blog_url>{}</wp:base_blog_url>\n",
        escaped(&site.title),
        escaped(&site.base_url),
        escaped(&site.description),
        OffsetDateTime::now_utc()
            .format(&Rfc2822)
            .unwrap_or_default(),
        escaped(&site.base_url),
        escaped(&site.base_url),
    );
    for author in authors {
        let _ = write!(
            out,
            "<wp:author><wp:author_id>{id}</wp:author_id><wp:author_login>user-{id}</wp:author_login>\
             <wp:author_email>{}</wp:author_email><wp:author_display_name>",
            escaped(real_email(Some(&author.email)).unwrap_or("")),
            id = author.id,
        );
        cdata(out, &author.display_name);
        out.push_str("</wp:author_display_name></wp:author>\n");
    }
    for (i, label) in labels.iter().enumerate() {
        let _ = write!(
            out,
            "<wp:category><wp:term_id>{}</wp:term_id><wp:category_nicename>{}</wp:category_nicename>\
             <wp:category_parent></wp:category_parent><wp:cat_name>",
            i + 1,
            escaped(&nicename(label)),
        );
        cdata(out, label);
        out.push_str("</wp:cat_name></wp:category>\n");
    }
    out.push_str("<generator>Folio</generator>\n");
}

fn nicename(label: &str) -> String {
    match slugify(label) {
        s if s.is_empty() => "label".to_owned(),
        s => s,
    }
}

fn wp_local(at: OffsetDateTime, offset: UtcOffset) -> String {
    at.to_offset(offset)
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .unwrap_or_default()
}

fn wxr_item(out: &mut String, site: &Site, post: &ExportPost, comments: &[ExportComment]) {
    let published = post.published_at.unwrap_or(post.created_at);
    let offset = offset_of(published, post.published_offset, site);
    out.push_str("<item>\n<title>");
    text(out, &post.title);
    out.push_str("</title>\n<link>");
    text(out, &format!("{}{}", site.base_url, post.path));
    let _ = write!(
        out,
        "</link>\n<pubDate>{}</pubDate>\n<dc:creator>",
        published.format(&Rfc2822).unwrap_or_default()
    );
    if let Some(author) = post.author_id {
        let _ = write!(out, "user-{author}");
    }
    let _ = write!(
        out,
        "</dc:creator>\n<guid isPermaLink=\"false\">{}/?p={}</guid>\n<description></description>\n<content:encoded>",
        escaped(&site.base_url),
        post.id
    );
    cdata(
        out,
        if post.body_format == BodyFormat::Html {
            &post.body_source
        } else {
            &post.body_html
        },
    );
    out.push_str("</content:encoded>\n<excerpt:encoded>");
    cdata(out, &post.excerpt);
    let _ = write!(
        out,
        "</excerpt:encoded>\n<wp:post_id>{}</wp:post_id>\n<wp:post_date>{}</wp:post_date>\n\
         <wp:post_date_gmt>{}</wp:post_date_gmt>\n<wp:post_modified>{}</wp:post_modified>\n\
         <wp:post_modified_gmt>{}</wp:post_modified_gmt>\n\
         <wp:comment_status>{}</wp:comment_status>\n<wp:ping_status>closed</wp:ping_status>\n\
         <wp:post_name>{}</wp:post_name>\n<wp:status>{}</wp:status>\n<wp:post_parent>0</wp:post_parent>\n\
         <wp:menu_order>0</wp:menu_order>\n<wp:post_type>{}</wp:post_type>\n\
         <wp:post_password></wp:post_password>\n<wp:is_sticky>0</wp:is_sticky>\n",
        post.id,
        wp_local(published, offset),
        wp_local(published, UtcOffset::UTC),
        wp_local(post.updated_at, offset),
        wp_local(post.updated_at, UtcOffset::UTC),
        if post.comment_policy == Some(CommentPolicy::Closed) {
            "closed"
        } else {
            "open"
        },
        escaped(&post.slug),
        match post.state {
            PostState::Draft => "draft",
            PostState::Scheduled => "future",
            PostState::Published => "publish",
        },
        post.kind,
    );
    for label in &post.labels {
        let _ = write!(
            out,
            "<category domain=\"category\" nicename=\"{}\">",
            escaped(&nicename(label))
        );
        cdata(out, label);
        out.push_str("</category>\n");
    }
    // WordPress content gets paragraphs added on import; Folio's own copy comes back as it is.
    let _ = write!(out, "<folio:source format=\"{}\">", post.body_format);
    text(out, &post.body_source);
    out.push_str("</folio:source>\n");
    folio_post_extras(out, post);
    // WXR's dates stop at the second; the exact instant comes back from here.
    let _ = writeln!(
        out,
        "<folio:published>{}</folio:published>",
        rfc3339(published, offset)
    );
    for comment in comments {
        wxr_comment(out, site, comment);
    }
    out.push_str("</item>\n");
}

fn wxr_comment(out: &mut String, site: &Site, comment: &ExportComment) {
    let offset = offset_of(comment.created_at, comment.created_offset, site);
    let _ = write!(
        out,
        "<wp:comment>\n<wp:comment_id>{}</wp:comment_id>\n<wp:comment_author>",
        comment.id
    );
    cdata(out, &comment.author_name);
    out.push_str("</wp:comment_author>\n<wp:comment_author_email>");
    text(
        out,
        real_email(comment.author_email.as_deref()).unwrap_or(""),
    );
    out.push_str("</wp:comment_author_email>\n<wp:comment_author_url>");
    text(out, comment.author_url.as_deref().unwrap_or(""));
    let _ = write!(
        out,
        "</wp:comment_author_url>\n<wp:comment_author_IP></wp:comment_author_IP>\n\
         <wp:comment_date>{}</wp:comment_date>\n<wp:comment_date_gmt>{}</wp:comment_date_gmt>\n\
         <wp:comment_content>",
        wp_local(comment.created_at, offset),
        wp_local(comment.created_at, UtcOffset::UTC),
    );
    cdata(
        out,
        if comment.body_format == CommentFormat::Html {
            &comment.body_source
        } else {
            &comment.body_html
        },
    );
    let _ = write!(
        out,
        "</wp:comment_content>\n<wp:comment_approved>{}</wp:comment_approved>\n\
         <wp:comment_type>comment</wp:comment_type>\n<wp:comment_parent>{}</wp:comment_parent>\n\
         <wp:comment_user_id>0</wp:comment_user_id>\n",
        match comment.status {
            CommentStatus::Approved => "1",
            CommentStatus::Spam => "spam",
            CommentStatus::Trash => "trash",
            CommentStatus::Pending => "0",
        },
        comment.parent_id.unwrap_or(0),
    );
    let _ = writeln!(
        out,
        "<folio:created>{}</folio:created>",
        rfc3339(comment.created_at, offset)
    );
    let _ = write!(out, "<folio:source format=\"{}\">", comment.body_format);
    text(out, &comment.body_source);
    out.push_str("</folio:source>\n");
    out.push_str("</wp:comment>\n");
}
