//! Comment text: plain text with paragraphs and line breaks, plus a small, safe Markdown subset
//! (emphasis, inline code, code blocks, quotes, lists, links). Bare URLs become links; every link
//! gets `rel="nofollow ugc noopener"`; raw HTML is shown as the text that was typed.

use std::sync::LazyLock;

use pulldown_cmark::{CowStr, Event, LinkType, Parser, Tag, TagEnd, html};

/// Every tag a comment may hold.
pub const TAGS: &[&str] = &[
    "p",
    "br",
    "em",
    "strong",
    "code",
    "pre",
    "blockquote",
    "a",
    "ul",
    "ol",
    "li",
];

fn builder(tags: impl Iterator<Item = &'static str>) -> ammonia::Builder<'static> {
    let mut builder = ammonia::Builder::empty();
    builder
        .tags(tags.collect())
        .add_tag_attributes("a", ["href"])
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("nofollow ugc noopener"));
    builder
}

static COMMENT_HTML: LazyLock<ammonia::Builder<'static>> =
    LazyLock::new(|| builder(TAGS.iter().copied()));

/// Tags a comment imported from another blog may hold besides `TAGS` (Blogger allowed these).
pub const IMPORTED_EXTRA_TAGS: &[&str] = &["b", "i"];

static IMPORTED_HTML: LazyLock<ammonia::Builder<'static>> =
    LazyLock::new(|| builder(TAGS.iter().chain(IMPORTED_EXTRA_TAGS).copied()));

/// Cleans a comment imported as HTML: the comment tags only, links marked as user content.
pub fn from_html(html: &str) -> String {
    IMPORTED_HTML.clean(html).to_string()
}

pub fn to_html(source: &str) -> String {
    let mut events = Vec::new();
    // The parser splits text at characters that might have been markup (`_`, `*`, ...):
    // runs of text are joined again so that a URL is seen whole.
    let mut text = String::new();
    let mut link_depth = 0usize;
    let mut in_code_block = false;
    for event in Parser::new(source) {
        match event {
            // Typed HTML is text, shown exactly as typed.
            Event::Text(t) | Event::Html(t) | Event::InlineHtml(t) => {
                text.push_str(&t);
                continue;
            }
            _ => flush_text(&mut events, &mut text, link_depth == 0 && !in_code_block),
        }
        match event {
            Event::Start(Tag::Heading { .. }) => events.push(Event::Start(Tag::Paragraph)),
            Event::End(TagEnd::Heading(_)) => events.push(Event::End(TagEnd::Paragraph)),
            // Images are not shown in comments: they become links to the image.
            Event::Start(Tag::Image {
                dest_url,
                title,
                id,
                ..
            }) => {
                link_depth += 1;
                events.push(Event::Start(Tag::Link {
                    link_type: LinkType::Inline,
                    dest_url,
                    title,
                    id,
                }));
            }
            Event::End(TagEnd::Image) => {
                link_depth = link_depth.saturating_sub(1);
                events.push(Event::End(TagEnd::Link));
            }
            Event::Start(Tag::Link { .. }) => {
                link_depth += 1;
                events.push(event);
            }
            Event::End(TagEnd::Link) => {
                link_depth = link_depth.saturating_sub(1);
                events.push(event);
            }
            Event::Start(Tag::CodeBlock(_)) => {
                in_code_block = true;
                events.push(event);
            }
            Event::End(TagEnd::CodeBlock) => {
                in_code_block = false;
                events.push(event);
            }
            // A line break typed in plain text is a line break on the page.
            Event::SoftBreak => events.push(Event::HardBreak),
            other => events.push(other),
        }
    }
    flush_text(&mut events, &mut text, link_depth == 0 && !in_code_block);
    let mut raw = String::with_capacity(source.len() * 2);
    html::push_html(&mut raw, events.into_iter());
    COMMENT_HTML.clean(&raw).to_string()
}

fn flush_text(events: &mut Vec<Event<'_>>, text: &mut String, linkify: bool) {
    if !text.is_empty() {
        push_text(events, CowStr::from(std::mem::take(text)), linkify);
    }
}

/// How many links a rendered comment holds (typed and bare ones alike).
pub fn link_count(html: &str) -> usize {
    html.matches("<a ").count()
}

fn push_text<'a>(events: &mut Vec<Event<'a>>, text: CowStr<'a>, linkify: bool) {
    if !linkify {
        events.push(Event::Text(text));
        return;
    }
    let mut rest: &str = &text;
    let mut pieces: Vec<Event<'a>> = Vec::new();
    while let Some((start, end)) = find_url(rest) {
        if start > 0 {
            pieces.push(Event::Text(CowStr::from(rest[..start].to_owned())));
        }
        let url = rest[start..end].to_owned();
        pieces.push(Event::Start(Tag::Link {
            link_type: LinkType::Autolink,
            dest_url: CowStr::from(url.clone()),
            title: CowStr::Borrowed(""),
            id: CowStr::Borrowed(""),
        }));
        pieces.push(Event::Text(CowStr::from(url)));
        pieces.push(Event::End(TagEnd::Link));
        rest = &rest[end..];
    }
    if pieces.is_empty() {
        events.push(Event::Text(text));
    } else {
        if !rest.is_empty() {
            pieces.push(Event::Text(CowStr::from(rest.to_owned())));
        }
        events.extend(pieces);
    }
}

/// The byte range of the first bare http(s) URL in `text`, without trailing punctuation.
fn find_url(text: &str) -> Option<(usize, usize)> {
    let start = ["https://", "http://"]
        .iter()
        .filter_map(|scheme| text.find(scheme))
        .min()?;
    let tail = &text[start..];
    let mut end = tail
        .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"'))
        .unwrap_or(tail.len());
    // Sentence punctuation after a URL is not part of it; a ')' is, when it closes a '('.
    while let Some(last) = tail[..end].chars().last() {
        let unbalanced_paren =
            last == ')' && tail[..end].matches('(').count() < tail[..end].matches(')').count();
        if matches!(last, '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '*' | '_') || unbalanced_paren
        {
            end -= last.len_utf8();
        } else {
            break;
        }
    }
    let scheme_len = if tail.starts_with("https://") { 8 } else { 7 };
    (end > scheme_len).then_some((start, start + end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_keeps_paragraphs_and_line_breaks() {
        assert_eq!(
            to_html("one\ntwo\n\nthree"),
            "<p>one<br>\ntwo</p>\n<p>three</p>\n"
        );
    }

    #[test]
    fn typed_html_is_shown_as_text() {
        let html = to_html("I <b>love</b> <script>alert(1)</script> & you");
        assert!(html.contains("&lt;b&gt;love&lt;/b&gt;"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script") && !html.contains("<b>"), "{html}");
    }

    #[test]
    fn the_markdown_subset_survives() {
        let html = to_html("*em* **strong** `code`\n\n> quoted\n\n```\nlet x = 1;\n```");
        for part in [
            "<em>em</em>",
            "<strong>strong</strong>",
            "<code>code</code>",
            "<blockquote>",
            "<pre><code>let x = 1;\n</code></pre>",
        ] {
            assert!(html.contains(part), "{part} in {html}");
        }
        assert!(
            !to_html("# Big").contains("<h1"),
            "headings are plain paragraphs"
        );
        assert!(
            !to_html("![x](https://e.test/a.png)").contains("<img"),
            "no images"
        );
    }

    #[test]
    fn links_are_nofollow_and_bare_urls_become_links() {
        let html = to_html("see https://example.org/a_(b). and [this](http://e.test/x)");
        assert!(html.contains(r#"<a href="https://example.org/a_(b)" rel="nofollow ugc noopener">https://example.org/a_(b)</a>."#), "{html}");
        assert!(
            html.contains(r#"<a href="http://e.test/x" rel="nofollow ugc noopener">this</a>"#),
            "{html}"
        );
        assert_eq!(link_count(&html), 2);
    }

    #[test]
    fn dangerous_links_lose_their_target() {
        for source in [
            "[x](javascript:alert(1))",
            "[x](data:text/html,hi)",
            "[x](/relative)",
            "[x](vbscript:x)",
        ] {
            let html = to_html(source);
            assert!(!html.contains("href"), "{source}: {html}");
        }
    }

    #[test]
    fn urls_inside_code_stay_text() {
        let html = to_html("`https://example.org`");
        assert_eq!(link_count(&html), 0, "{html}");
    }
}
