//! What every fuzz target checks about HTML that Folio will show to readers.
//!
//! The sanitizer serializes its output itself, so every literal `<` in it starts a tag (text
//! `<` is escaped) and attribute values are double-quoted. That makes a small scanner enough
//! to check each tag and attribute.

/// Panics if `html` holds a tag outside `allowed_tags`, an event handler attribute, or a link
/// or source whose scheme could run script.
pub fn assert_inert(html: &str, allowed_tags: &dyn Fn(&str) -> bool) {
    let mut at = 0;
    while let Some(open) = html[at..].find('<') {
        let start = at + open + 1;
        let end = start
            + html[start..]
                .find('>')
                .unwrap_or_else(|| panic!("an unclosed tag in {html:?}"));
        let tag = &html[start..end];
        at = end + 1;
        let tag = tag.trim_start_matches('/').trim_end_matches('/');
        let (name, mut rest) = tag.split_once(' ').unwrap_or((tag, ""));
        let name = name.to_ascii_lowercase();
        assert!(allowed_tags(&name), "tag <{name}> in {html:?}");
        while !rest.trim().is_empty() {
            rest = rest.trim_start();
            let (attribute, after) = rest.split_once('=').unwrap_or((rest, ""));
            let attribute = attribute.trim().to_ascii_lowercase();
            assert!(
                !attribute.starts_with("on") && attribute != "style" && attribute != "srcdoc",
                "attribute {attribute} on <{name}> in {html:?}"
            );
            let Some(value) = after.strip_prefix('"') else {
                break;
            };
            let close = value.find('"').unwrap_or(value.len());
            let value_text = decode(&value[..close]).to_ascii_lowercase();
            if matches!(attribute.as_str(), "href" | "src" | "action" | "formaction") {
                // As a browser's URL parser reads it: C0 controls and spaces trimmed at both
                // ends, tabs and newlines removed anywhere (other controls end the scheme).
                let compact: String = value_text
                    .trim_matches(|c: char| c <= ' ')
                    .chars()
                    .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
                    .collect();
                for scheme in ["javascript:", "vbscript:", "data:text"] {
                    assert!(
                        !compact.starts_with(scheme),
                        "{attribute}={value_text:?} in {html:?}"
                    );
                }
            }
            rest = value.get(close + 1..).unwrap_or("");
        }
    }
}

/// The entities the serializer writes, so a disguised scheme is seen as the browser sees it.
fn decode(value: &str) -> String {
    value
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A tag the post sanitizer keeps.
pub fn post_tag(name: &str) -> bool {
    static TAGS: std::sync::LazyLock<std::collections::HashSet<&'static str>> =
        std::sync::LazyLock::new(folio::render::sanitize::post_tags);
    TAGS.contains(name)
}

/// A tag a comment may hold.
pub fn comment_tag(name: &str) -> bool {
    folio::render::comment::TAGS.contains(&name)
}

/// A tag a comment imported as HTML may keep.
pub fn imported_comment_tag(name: &str) -> bool {
    comment_tag(name) || folio::render::comment::IMPORTED_EXTRA_TAGS.contains(&name)
}
