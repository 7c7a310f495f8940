//! Text that pages and feeds can hold: what arrives from forms and imports is cleaned once, at
//! the boundary, so one stray control character cannot make a feed malformed XML for everyone.

/// Whether XML 1.0 can hold the character at all, even escaped.
pub fn is_xml_char(c: char) -> bool {
    (c >= ' ' || matches!(c, '\t' | '\n' | '\r')) && c != '\u{fffe}' && c != '\u{ffff}'
}

/// The text as typed, without the characters no page or feed can hold (controls other than tab
/// and line ends, NUL among them; XML's two non-characters).
pub fn clean(text: &str) -> String {
    if text.chars().all(is_xml_char) {
        text.to_owned()
    } else {
        text.chars().filter(|&c| is_xml_char(c)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_go_and_tabs_and_line_ends_stay() {
        assert_eq!(
            clean("a\u{0}b\u{1}c\u{1b}[31m\td\r\ne\u{fffe}"),
            "abc[31m\td\r\ne"
        );
        assert_eq!(clean("plain"), "plain");
    }
}
