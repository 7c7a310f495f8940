//! Markdown (CommonMark with tables and strikethrough) to sanitized HTML.
//!
//! An image that stands alone in its paragraph and has a title, `![alt](url "caption")`,
//! becomes `<figure><img><figcaption>caption</figcaption></figure>`, like a photo caption on Blogger.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd, html};

use super::sanitize::{escape_html, post_html};

pub fn to_html(source: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let events: Vec<Event<'_>> = Parser::new_ext(source, options).collect();
    let mut raw = String::with_capacity(source.len() + source.len() / 2);
    html::push_html(&mut raw, with_figures(events).into_iter());
    post_html(&raw)
}

/// The first paragraph's text, cut at a word boundary: for listings and meta descriptions.
pub fn excerpt(source: &str, max_chars: usize) -> String {
    let mut text = String::new();
    let mut in_paragraph = false;
    for event in Parser::new(source) {
        match event {
            Event::Start(Tag::Paragraph) => in_paragraph = true,
            Event::End(TagEnd::Paragraph) if !text.trim().is_empty() => break,
            Event::End(TagEnd::Paragraph) => in_paragraph = false,
            Event::Text(t) | Event::Code(t) if in_paragraph => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak if in_paragraph => text.push(' '),
            _ => {}
        }
    }
    cut_at_word(text.trim(), max_chars)
}

/// Text cut to at most `max_chars` characters at a word boundary, with an ellipsis when cut.
pub fn cut_at_word(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max_chars).collect();
    let cut = match cut.rfind(' ') {
        Some(space) if space > max_chars / 2 => &cut[..space],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end_matches([',', '.', ';', ':', ' ']))
}

fn with_figures(events: Vec<Event<'_>>) -> Vec<Event<'_>> {
    let mut out = Vec::with_capacity(events.len());
    let mut i = 0;
    while i < events.len() {
        if let Some((figure, consumed)) = figure_at(&events[i..]) {
            out.push(Event::Html(CowStr::from(figure)));
            i += consumed;
        } else {
            out.push(events[i].clone());
            i += 1;
        }
    }
    out
}

/// Recognises `Paragraph > Image(title)` with nothing else in the paragraph.
fn figure_at(events: &[Event<'_>]) -> Option<(String, usize)> {
    let [
        Event::Start(Tag::Paragraph),
        Event::Start(Tag::Image {
            dest_url, title, ..
        }),
        rest @ ..,
    ] = events
    else {
        return None;
    };
    if title.trim().is_empty() {
        return None;
    }
    let mut alt = String::new();
    let mut j = 0;
    loop {
        match rest.get(j)? {
            Event::End(TagEnd::Image) => break,
            Event::Text(t) | Event::Code(t) => alt.push_str(t),
            Event::SoftBreak | Event::HardBreak => alt.push(' '),
            _ => {}
        }
        j += 1;
    }
    if !matches!(rest.get(j + 1)?, Event::End(TagEnd::Paragraph)) {
        return None;
    }
    let figure = format!(
        "<figure><img src=\"{}\" alt=\"{}\"><figcaption>{}</figcaption></figure>\n",
        escape_html(dest_url),
        escape_html(&alt),
        escape_html(title)
    );
    Some((figure, 2 + j + 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captioned_image_becomes_a_figure() {
        let html =
            to_html("Before.\n\n![A red kite](/media/kite.jpg \"Photo by Sam Reed\")\n\nAfter.");
        assert!(html.contains(
            r#"<figure><img src="/media/kite.jpg" alt="A red kite"><figcaption>Photo by Sam Reed</figcaption></figure>"#
        ), "{html}");
        assert!(html.contains("<p>Before.</p>") && html.contains("<p>After.</p>"));
    }

    #[test]
    fn image_without_caption_or_inline_stays_an_image() {
        assert_eq!(
            to_html("![x](/a.png)"),
            "<p><img src=\"/a.png\" alt=\"x\"></p>\n"
        );
        let inline = to_html("see ![x](/a.png \"t\") here");
        assert!(!inline.contains("<figure>"), "{inline}");
    }

    #[test]
    fn caption_text_is_escaped() {
        let html = to_html("![a<b](/a.png \"<script>alert(1)</script>\")");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn raw_html_in_markdown_is_sanitized() {
        let html = to_html("Hello <img src=x onerror=alert(1)> **there**");
        assert!(!html.contains("onerror"), "{html}");
        assert!(html.contains("<strong>there</strong>"), "{html}");
    }

    #[test]
    fn excerpt_takes_the_first_paragraph_and_cuts_at_a_word() {
        assert_eq!(
            excerpt("# Title\n\nOne *two* three.\n\nNext.", 100),
            "One two three."
        );
        assert_eq!(excerpt("alpha beta gamma delta", 12), "alpha beta…");
    }
}
