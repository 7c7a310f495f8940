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
    let text = decode_entities(&TEXT_ONLY.clean(&spaced).to_string());
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text of HTML from elsewhere (a fediverse reply), its paragraphs and line breaks kept:
/// what is left is plain text, rendered again as a comment typed on the blog would be.
pub fn html_to_text(html: &str) -> String {
    let marked = html
        .replace(['\r', '\n'], " ")
        .replace("</p>", "</p>\n\n")
        .replace("<br />", "\n")
        .replace("<br/>", "\n")
        .replace("<br>", "\n")
        .replace("</li>", "</li>\n")
        .replace("</blockquote>", "</blockquote>\n\n");
    let text = decode_entities(&TEXT_ONLY.clean(&marked).to_string());
    let mut out = String::with_capacity(text.len());
    let mut blank_lines = 0;
    for line in text.lines() {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.is_empty() {
            blank_lines += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_lines > 0 { "\n\n" } else { "\n" });
        }
        blank_lines = 0;
        out.push_str(&line);
    }
    out
}

/// Reads the character references in text that Folio's own HTML holds (what ammonia, askama
/// and pulldown-cmark write: `&amp;` `&lt;` `&gt;` `&quot;` `&nbsp;` and numeric ones). The one
/// decoder: search snippets and plain-text excerpts both use it. Anything else stays as written.
pub fn decode_entities(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let decoded = rest[1..]
            .find(';')
            .filter(|&end| end <= 10)
            .and_then(|end| Some((entity(&rest[1..=end])?, end + 2)));
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some('\u{a0}'),
        _ => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code).filter(|c| *c != '\0')
        }
    }
}

/// A post's HTML for an email: no images (a mail must not load anything from afar, not even the
/// blog's own pictures), and links made absolute so they work from an inbox.
pub fn mail_html(html: &str, base_url: &str) -> String {
    let base = ammonia::Url::parse(&format!("{}/", base_url.trim_end_matches('/')))
        .unwrap_or_else(|_| ammonia::Url::parse("http://localhost/").expect("a URL"));
    let mut tags = post_tags();
    for gone in ["img", "picture", "source", "video", "audio", "iframe"] {
        tags.remove(gone);
    }
    ammonia::Builder::default()
        .tags(tags)
        .url_relative(ammonia::UrlRelative::RewriteWithBase(base))
        .clean(html)
        .to_string()
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
    fn remote_html_becomes_text_with_its_paragraphs() {
        let toot = r#"<p><span class="h-card"><a href="https://b.example/@garden" class="u-url mention">@<span>garden</span></a></span> Lovely beans!</p><p>Mine came up<br />in &lt;a week&gt;.<script>alert(1)</script></p>"#;
        assert_eq!(
            html_to_text(toot),
            "@garden Lovely beans!\n\nMine came up\nin <a week>."
        );
    }

    #[test]
    fn entities_are_read_once_and_unknown_ones_kept() {
        assert_eq!(
            decode_entities("a &amp;lt; b &lt;i&gt; &quot;q&quot; &#39;s&#x27; x&nbsp;y &#8212;"),
            "a &lt; b <i> \"q\" 's' x\u{a0}y \u{2014}"
        );
        assert_eq!(decode_entities("AT&T &copy; &#0; &"), "AT&T &copy; &#0; &");
    }

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
