//! Export files from Blogger and WordPress, read and made ready for the blog: no input makes a
//! reader panic or loop, and whatever HTML it yields is inert once staged.
#![no_main]

use std::{
    io::Cursor,
    sync::{Arc, atomic::AtomicU64},
};

use folio::import::{Format, model::Record, reader, stage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for format in [Format::Blogger, Format::Wxr] {
        let mut records = reader(
            format,
            Cursor::new(data.to_vec()),
            Arc::new(AtomicU64::new(0)),
        );
        // Every record consumes input, so a reader that does not end within this many
        // records on a 64 KB input is stuck.
        for _ in 0..100_000 {
            match records.next_record() {
                Ok(Some(Record::Post(post))) => {
                    let staged = stage::post(*post);
                    folio_fuzz::assert_inert(&staged.body_html, &folio_fuzz::post_tag);
                    assert!(staged.path.starts_with('/') && staged.path.ends_with(".html"));
                }
                Ok(Some(Record::Comment(comment))) => {
                    let staged = stage::comment(*comment);
                    folio_fuzz::assert_inert(&staged.body_html, &folio_fuzz::imported_comment_tag);
                }
                Ok(Some(Record::Skipped(_))) => {}
                Ok(None) | Err(_) => break,
            }
        }
    }
});
