//! A post's body as readers get it, from its source. Preview, save, import and the demo all call
//! these, so what an editor previews is byte for byte what is published.

use super::{images::MediaSizes, markdown, sanitize};
use crate::domain::post::{BodyFormat, BodyRenderer};

/// The rules' view of the renderer: for a body whose images are `self`.
impl BodyRenderer for MediaSizes {
    fn body_html(&self, source: &str, format: BodyFormat) -> String {
        body_html(source, format, self)
    }

    fn excerpt(&self, source: &str, format: BodyFormat, body_html: &str) -> String {
        excerpt(source, format, body_html)
    }
}

/// The characters of an excerpt made from the body.
pub const EXCERPT_CHARS: usize = 200;

/// The body's safe HTML: Markdown rendered, or imported HTML kept and sanitised by the same rules;
/// then the blog's own images (those in `media`, found with `images::media_hashes`) get their
/// sizes and smaller copies.
pub fn body_html(source: &str, format: BodyFormat, media: &MediaSizes) -> String {
    let html = match format {
        BodyFormat::Markdown => markdown::to_html(source),
        BodyFormat::Html => sanitize::post_html(source),
    };
    super::images::with_sizes(&html, media)
}

/// The summary for listings and meta descriptions when none was typed: the first paragraph of a
/// Markdown post, the start of an HTML post's text.
pub fn excerpt(source: &str, format: BodyFormat, body_html: &str) -> String {
    match format {
        BodyFormat::Markdown => markdown::excerpt(source, EXCERPT_CHARS),
        BodyFormat::Html => markdown::cut_at_word(&sanitize::html_text(body_html), EXCERPT_CHARS),
    }
}

/// Words in a body's text (HTML tags and Markdown marks are not words).
pub fn word_count(body_html: &str) -> usize {
    sanitize::html_text(body_html).split_whitespace().count()
}

/// Minutes to read at 230 words a minute, at least one.
pub fn reading_minutes(words: usize) -> usize {
    words.div_ceil(230).max(1)
}

/// Characters kept as they are in a path segment.
pub const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A label's page: `/search/label/{name}`.
pub fn label_path(name: &str) -> String {
    format!(
        "/search/label/{}",
        percent_encoding::utf8_percent_encode(name, PATH_SEGMENT)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_bodies_are_kept_as_html_and_markdown_is_rendered() {
        let html = "<p>A *starred* word &amp; <b>bold</b></p>";
        assert_eq!(body_html(html, BodyFormat::Html, &MediaSizes::new()), html);
        assert_eq!(
            body_html("A *starred* word", BodyFormat::Markdown, &MediaSizes::new()),
            "<p>A <em>starred</em> word</p>\n"
        );
        assert_eq!(
            body_html(
                "<script>x()</script><p>ok</p>",
                BodyFormat::Html,
                &MediaSizes::new()
            ),
            "<p>ok</p>"
        );
    }

    #[test]
    fn words_and_minutes() {
        let html = body_html(
            "Two words\n\n## And *three* more",
            BodyFormat::Markdown,
            &MediaSizes::new(),
        );
        assert_eq!(word_count(&html), 5);
        assert_eq!(reading_minutes(0), 1);
        assert_eq!(reading_minutes(230), 1);
        assert_eq!(reading_minutes(231), 2);
    }
}
