//! A commenter's text, rendered with the comment Markdown subset.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|source: &str| {
    let html = folio::render::comment::to_html(source);
    folio_fuzz::assert_inert(&html, &folio_fuzz::comment_tag);
    let links = folio::render::comment::link_count(&html);
    assert_eq!(
        html.matches("rel=\"nofollow ugc noopener\"").count(),
        links,
        "every link is nofollow: {html:?}"
    );
});
