//! Authenticator codes (TOTP, RFC 6238: HMAC-SHA1, 30-second steps, six digits, which is what
//! every authenticator app reads from an `otpauth://` link) and single-use recovery codes.

use hmac::{Hmac, Mac};
use sha1::Sha1;

use super::Secret;

/// Seconds per step.
pub const STEP_SECS: i64 = 30;
/// Steps either side of now that still count: a phone's clock may be half a minute off.
const DRIFT_STEPS: i64 = 1;
/// Recovery codes made at once.
pub const RECOVERY_CODES: usize = 10;

/// A new shared secret: 160 bits, the size RFC 4226 recommends.
pub fn new_secret() -> Vec<u8> {
    Secret::generate()[..20].to_vec()
}

/// The step a Unix time falls in.
pub fn step_at(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(STEP_SECS)
}

/// The six-digit code of `step` (RFC 4226's dynamic truncation).
pub fn code_at(secret: &[u8], step: i64) -> u32 {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(&step.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = usize::from(hash[19] & 0x0f);
    let binary = u32::from_be_bytes([
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]);
    binary % 1_000_000
}

/// The step whose code `typed` is, among those near `now_step`, if it is one. Spaces and dashes
/// that people copy along are ignored. The caller refuses a step it has already accepted.
pub fn matching_step(secret: &[u8], typed: &str, now_step: i64) -> Option<i64> {
    let digits: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let wanted: u32 = digits.parse().ok()?;
    // Every candidate is computed and compared, so the time taken says nothing.
    let mut found = None;
    for step in now_step - DRIFT_STEPS..=now_step + DRIFT_STEPS {
        let same = subtle::ConstantTimeEq::ct_eq(&code_at(secret, step), &wanted);
        if bool::from(same) && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// RFC 4648 base32 without padding: how authenticator apps take a secret typed by hand.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The secret in groups of four, as the setup page shows it for typing.
pub fn grouped(secret: &[u8]) -> String {
    base32(secret)
        .as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `otpauth://` link an authenticator app reads from the QR code (Key Uri Format).
pub fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let issuer = utf8_percent_encode(issuer, NON_ALPHANUMERIC).to_string();
    let account = utf8_percent_encode(account, NON_ALPHANUMERIC).to_string();
    format!(
        "otpauth://totp/{issuer}:{account}?secret={}&issuer={issuer}&algorithm=SHA1&digits=6&period={STEP_SECS}",
        base32(secret)
    )
}

/// The link as a QR code, an `<svg>` element to put straight into an HTML page (without the
/// XML declaration, which HTML does not take), named for screen readers.
pub fn qr_svg(uri: &str) -> String {
    let Ok(code) = qrcode::QrCode::new(uri.as_bytes()) else {
        // A link too long for a QR code: the page still shows the secret to type.
        return String::new();
    };
    let document = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    let Some(start) = document.find("<svg") else {
        return String::new();
    };
    format!(
        r#"<svg role="img" aria-label="QR code for your authenticator app"{}"#,
        &document[start + 4..]
    )
}

/// Ten new recovery codes, `xxxxx-xxxxx` from an alphabet without look-alikes (50 bits each).
pub fn new_recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8; 32] = b"abcdefghjkmnpqrstuvwxyz023456789";
    (0..RECOVERY_CODES)
        .map(|_| {
            let random = Secret::generate();
            let chars: String = random[..10]
                .iter()
                .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
                .collect();
            format!("{}-{}", &chars[..5], &chars[5..])
        })
        .collect()
}

/// A recovery code as typed: lowercase, without spaces or dashes.
pub fn normal_recovery_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .take(32)
        .collect()
}

/// What is stored of a recovery code: a keyed hash, so a copy of the table is not a code.
pub fn recovery_code_hash(secret: &Secret, code: &str) -> Vec<u8> {
    secret
        .sign("recovery-code", normal_recovery_code(code).as_bytes())
        .to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B (SHA-1 rows), cut to six digits.
    #[test]
    fn matches_the_rfc_test_vectors() {
        let secret = b"12345678901234567890";
        for (time, code) in [
            (59, 94287082u32),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            assert_eq!(code_at(secret, step_at(time)), code % 1_000_000, "{time}");
        }
    }

    #[test]
    fn accepts_the_step_either_side_and_nothing_else() {
        let secret = b"12345678901234567890";
        let now = step_at(1111111109);
        for offset in -1..=1 {
            let code = format!("{:06}", code_at(secret, now + offset));
            assert_eq!(matching_step(secret, &code, now), Some(now + offset));
        }
        let old = format!("{:06}", code_at(secret, now - 2));
        assert_eq!(matching_step(secret, &old, now), None);
        let spaced = format!("{:06}", code_at(secret, now));
        let spaced = format!("{} {}", &spaced[..3], &spaced[3..]);
        assert_eq!(matching_step(secret, &spaced, now), Some(now));
        for junk in ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦"] {
            assert_eq!(matching_step(secret, junk, now), None, "{junk}");
        }
    }

    #[test]
    fn base32_is_rfc_4648() {
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(
            base32(b"12345678901234567890"),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
    }

    #[test]
    fn the_link_names_the_blog_and_the_account() {
        let uri = otpauth_uri(b"12345678901234567890", "My Blog", "ann@example.org");
        assert_eq!(
            uri,
            "otpauth://totp/My%20Blog:ann%40example%2Eorg?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=My%20Blog&algorithm=SHA1&digits=6&period=30"
        );
        let svg = qr_svg(&uri);
        assert!(svg.starts_with("<svg role=\"img\""), "{svg}");
        assert!(!svg.contains("<?xml"));
    }

    #[test]
    fn recovery_codes_are_distinct_and_read_back_as_typed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), 10);
        let secret = Secret::from_passphrase("test");
        let code = &codes[0];
        assert_eq!(code.len(), 11);
        assert_eq!(
            recovery_code_hash(&secret, code),
            recovery_code_hash(
                &secret,
                &format!(" {} ", code.to_uppercase().replace('-', " "))
            )
        );
    }
}
