//! The "Post a Comment" form body as it arrives, decoded and validated.
#![no_main]

use folio::domain::comment::CommentForm;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let Ok(form) = serde_html_form::from_bytes::<CommentForm>(body) else {
        return;
    };
    if let Ok(comment) = form.validate() {
        assert!(!comment.name.trim().is_empty() && comment.name.chars().count() <= 100);
        assert!(!comment.body.trim().is_empty() && comment.body.chars().count() <= 4096);
        assert!(!comment.body.contains('\0') && !comment.name.contains('\0'));
        if let Some(website) = &comment.website {
            assert!(website.starts_with("http://") || website.starts_with("https://"));
        }
    }
});
