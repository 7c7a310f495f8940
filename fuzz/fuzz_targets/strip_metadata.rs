//! Upload metadata stripping: hand-written JPEG, PNG and WebP parsing of untrusted bytes.
#![no_main]

use folio::{domain::image::ImageKind, media::processing::strip_metadata};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    for kind in [ImageKind::Jpeg, ImageKind::Png, ImageKind::Webp] {
        if let Some(stripped) = strip_metadata(bytes, kind) {
            // Never grows the file, and what it gives back is stripped already.
            assert!(stripped.len() <= bytes.len());
            if let Some(again) = strip_metadata(&stripped, kind) {
                assert_eq!(again, stripped);
            }
        }
    }
});
