//! HTML from an editor or an imported blog, sanitized for readers.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|html: &str| {
    let clean = folio::render::sanitize::post_html(html);
    folio_fuzz::assert_inert(&clean, &folio_fuzz::post_tag);
    // Cleaning what is clean changes nothing that matters: still inert.
    folio_fuzz::assert_inert(
        &folio::render::sanitize::post_html(&clean),
        &folio_fuzz::post_tag,
    );
});
