//! Values a browser sends back signed: the held-comments cookie and the comment form token.
#![no_main]

use folio::auth::{Secret, form_token, signed};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|value: &str| {
    let secret = Secret::from_passphrase("fuzz");
    // Nothing the fuzzer makes up carries a valid signature.
    assert!(signed::decode_ids(&secret, value).is_empty(), "{value:?}");
    assert!(
        form_token::check(&secret, value, 1, 1_800_000_000).is_err(),
        "{value:?}"
    );
    // What was signed reads back.
    let ids: Vec<i64> = value.bytes().map(i64::from).take(20).collect();
    assert_eq!(
        signed::decode_ids(&secret, &signed::encode_ids(&secret, &ids)),
        ids
    );
});
