//! An editor's Markdown, rendered and sanitized for readers; and its excerpt.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|source: &str| {
    let html = folio::render::markdown::to_html(source);
    folio_fuzz::assert_inert(&html, &folio_fuzz::post_tag);
    let excerpt = folio::render::markdown::excerpt(source, 160);
    assert!(excerpt.chars().count() <= 161, "{excerpt:?}");
});
