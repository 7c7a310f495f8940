//! Every piece of HTML that reaches a reader passes through here first.

use std::sync::LazyLock;

static POST_HTML: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder
        .add_tags(["figure", "figcaption"])
        .add_tag_attributes("img", ["loading", "width", "height"])
        .link_rel(Some("noopener noreferrer"));
    builder
});

/// Cleans HTML written by an editor or imported from another blog engine.
pub fn post_html(html: &str) -> String {
    POST_HTML.clean(html).to_string()
}

/// Every tag `post_html` keeps.
pub fn post_tags() -> std::collections::HashSet<&'static str> {
    POST_HTML.clone_tags()
}

static TEXT_ONLY: LazyLock<ammonia::Builder<'static>> = LazyLock::new(ammonia::Builder::empty);

/// The text a reader sees in a piece of HTML, with its tags gone and its entities read.
pub fn html_text(html: &str) -> String {
    // Block ends become spaces, so that paragraphs do not run together.
    let spaced = html
        .replace("</p>", " </p>")
        .replace("<br", " <br")
        .replace("</div>", " </div>")
        .replace("</li>", " </li>")
        .replace("</td>", " </td>");
    let text = TEXT_ONLY.clean(&spaced).to_string();
    let text = text
        .replace("&nbsp;", "\u{a0}")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Escapes text for an HTML attribute or element body.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_and_handlers_are_removed() {
        let clean = post_html(
            r#"<p onclick="x()">hi<script>alert(1)</script></p><a href="javascript:alert(1)">x</a>"#,
        );
        assert_eq!(clean, r#"<p>hi</p><a rel="noopener noreferrer">x</a>"#);
    }

    #[test]
    fn text_of_html() {
        assert_eq!(
            html_text("<p>One &amp; <b>two</b></p><p>3 &lt; 4<script>x()</script></p>"),
            "One & two 3 < 4"
        );
    }

    #[test]
    fn figures_survive() {
        let html = r#"<figure><img src="/a.png" alt="A"><figcaption>Cap</figcaption></figure>"#;
        assert_eq!(post_html(html), html);
    }
}
