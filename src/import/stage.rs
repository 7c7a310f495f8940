//! Makes what a reader found ready for the blog: a path, sanitized HTML, an excerpt.
//! This runs on the reading thread, so the database side only moves rows.

use time::OffsetDateTime;

use super::model::{Body, Comment, CommentBody, CommentPolicy, Post, PostKind};
use crate::db::import::{StagedComment, StagedPost};
use crate::{
    domain::{
        post::BodyFormat,
        slug::{post_path, slugify},
    },
    render::{self, comment},
};

/// A path made only of the characters a URL path may hold as they are (RFC 3986), so that
/// links to it and redirects from it go where they say.
fn is_servable_path(path: &str) -> bool {
    path.starts_with('/')
        && path.ends_with(".html")
        && path.len() > 6
        && path.len() <= 500
        && !path.contains("//")
        && !path.contains("/../")
        && !path.contains("/./")
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/%".contains(&b))
}

/// A slug as a URL holds it: lowercase ASCII words, or the percent-encoded form WordPress
/// keeps for titles in other scripts (`%d0%bf%d1%80…`).
fn is_slug(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 200
        && text.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'%')
        })
}

/// A slug of last resort that is still unique to the entry and the same on every run.
fn slug_from_id(source_id: &str) -> String {
    use sha2::{Digest, Sha256};
    format!(
        "post-{}",
        &hex::encode(Sha256::digest(source_id.as_bytes()))[..10]
    )
}

pub fn post(post: Post) -> StagedPost {
    let Post {
        source_id,
        kind,
        title,
        body,
        draft,
        published,
        path,
        slug,
        mut old_paths,
        author,
        labels,
        excerpt: given_excerpt,
        comment_policy,
        featured_image,
        line,
    } = post;
    let path_given = path.as_deref().is_some_and(is_servable_path);
    let title = title.trim().to_owned();
    let path = match path {
        Some(path) if is_servable_path(&path) => path,
        other => {
            // Folio serves posts at /yyyy/mm/slug.html and pages at /p/slug.html; any other
            // old path leads there.
            old_paths.extend(other.filter(|p| p.starts_with('/')));
            folio_path(kind, published, &usable_slug(slug, &title, &source_id))
        }
    };
    let slug = slug_of_path(&path);
    let body = RenderedBody::new(body);
    let excerpt = given_excerpt
        .filter(|e| !e.is_empty())
        .unwrap_or(body.excerpt);
    StagedPost {
        source_id,
        kind: kind.as_str(),
        path,
        slug,
        title,
        body_source: body.source,
        body_format: body.format,
        body_html: body.html,
        excerpt,
        draft,
        published_offset: published.map(|at| at.offset().whole_seconds()),
        published_at: published,
        author,
        comment_policy: comment_policy.map(CommentPolicy::as_str),
        featured_image: editor_accepted_image(&featured_image),
        labels: labels_for(kind, labels),
        line: i64::try_from(line).unwrap_or(i64::MAX),
        path_given,
        old_paths,
    }
}

/// The slug given if a URL can hold it, else one made from the title, else one from the id.
fn usable_slug(given: Option<String>, title: &str, source_id: &str) -> String {
    given
        .map(|s| s.to_ascii_lowercase())
        .filter(|s| is_slug(s))
        .or_else(|| Some(slugify(title)).filter(|s| !s.is_empty()))
        .unwrap_or_else(|| slug_from_id(source_id))
}

fn folio_path(kind: PostKind, published: Option<OffsetDateTime>, slug: &str) -> String {
    match kind {
        PostKind::Page => format!("/p/{slug}.html"),
        PostKind::Post => {
            let at = published.unwrap_or_else(OffsetDateTime::now_utc);
            post_path(
                i16::try_from(at.year()).unwrap_or(1970),
                i8::try_from(u8::from(at.month())).unwrap_or(1),
                slug,
            )
        }
    }
}

fn slug_of_path(path: &str) -> String {
    path.rsplit('/')
        .next()
        .unwrap_or("")
        .trim_end_matches(".html")
        .to_owned()
}

struct RenderedBody {
    source: String,
    format: &'static str,
    html: String,
    excerpt: String,
}

impl RenderedBody {
    fn new(body: Body) -> Self {
        let (source, format) = match body {
            Body::Html(html) => (html, BodyFormat::Html),
            Body::Markdown(source) => (source, BodyFormat::Markdown),
        };
        // An import brings other sites' images; the blog's own get their sizes when next saved.
        let html = render::post::body_html(&source, format, &Default::default());
        let excerpt = render::post::excerpt(&source, format, &html);
        let format = match format {
            BodyFormat::Html => "html",
            BodyFormat::Markdown => "markdown",
        };
        Self {
            source,
            format,
            html,
            excerpt,
        }
    }
}

/// What the editor would refuse (not a /media/… path or an https address) is dropped.
fn editor_accepted_image(featured_image: &str) -> String {
    Some(featured_image.trim())
        .filter(|image| crate::domain::post::featured_image_is_valid(image))
        .unwrap_or_default()
        .to_owned()
}

/// A post's labels one a line, each once; pages have none.
fn labels_for(kind: PostKind, labels: Vec<String>) -> String {
    if kind == PostKind::Page {
        return String::new();
    }
    let mut unique_labels: Vec<String> = Vec::new();
    for label in labels {
        let label = label.replace(['\n', '\r'], " ").trim().to_owned();
        if !label.is_empty() && !unique_labels.contains(&label) {
            unique_labels.push(label);
        }
    }
    unique_labels.join("\n")
}

pub fn comment(comment: Comment) -> StagedComment {
    let (body_source, body_format, body_html) = match comment.body {
        CommentBody::Html(html) => {
            let clean = comment::from_html(&html);
            (html, "html", clean)
        }
        CommentBody::Text(text) => {
            let html = comment::to_html(&text);
            (text, "text", html)
        }
    };
    StagedComment {
        source_id: comment.source_id,
        post_source_id: comment.post_source_id,
        parent_source_id: comment.parent_source_id,
        author_name: comment.author_name.trim().to_owned(),
        author_email: comment.author_email,
        author_url: comment.author_url,
        body_source,
        body_format,
        body_html,
        status: comment.status.as_str(),
        created_offset: comment.created.offset().whole_seconds(),
        created_at: comment.created,
        line: i64::try_from(comment.line).unwrap_or(i64::MAX),
    }
}
