//! HTTP Signatures as the fediverse speaks them today (draft-cavage-http-signatures-12 with
//! `rsa-sha256`, which Mastodon, GoToSocial, Pleroma and WordPress all sign and verify), and
//! the `Digest` header that binds a body to its signature.

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use hyper::{HeaderMap, Method, header::HeaderValue};
use rsa::{
    RsaPrivateKey, RsaPublicKey,
    pkcs1::DecodeRsaPublicKey,
    pkcs1v15::{Signature, SigningKey, VerifyingKey},
    pkcs8::DecodePublicKey,
    signature::{SignatureEncoding, Signer, Verifier},
    traits::PublicKeyParts,
};
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

/// How far a signed request's `Date` may lie in the past (Mastodon's window) and the future
/// (clock skew).
const MAX_AGE: time::Duration = time::Duration::hours(12);
const MAX_SKEW: time::Duration = time::Duration::hours(1);

/// `SHA-256=<base64>` of a body.
pub fn digest(body: &[u8]) -> String {
    format!("SHA-256={}", BASE64.encode(Sha256::digest(body)))
}

/// Signs a request: adds `Date`, `Digest` (with a body) and `Signature` to `headers`, which
/// must already hold `Host`.
pub fn sign(
    key: &RsaPrivateKey,
    key_id: &str,
    method: &Method,
    path_and_query: &str,
    headers: &mut HeaderMap,
    body: Option<&[u8]>,
    now: OffsetDateTime,
) {
    let date = httpdate(now);
    headers.insert(
        "date",
        HeaderValue::from_str(&date).expect("a date is ASCII"),
    );
    let mut names = vec!["(request-target)", "host", "date"];
    if let Some(body) = body {
        headers.insert(
            "digest",
            HeaderValue::from_str(&digest(body)).expect("base64 is ASCII"),
        );
        names.push("digest");
    }
    let text = signing_text(method, path_and_query, headers, &names)
        .expect("the headers signed were just set");
    let signature: Signature = SigningKey::<Sha256>::new(key.clone()).sign(text.as_bytes());
    let value = format!(
        r#"keyId="{key_id}",algorithm="rsa-sha256",headers="{}",signature="{}""#,
        names.join(" "),
        BASE64.encode(signature.to_bytes())
    );
    headers.insert(
        "signature",
        HeaderValue::from_str(&value).expect("the key id is a URL"),
    );
}

/// A `Signature` header's parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub key_id: String,
    pub headers: Vec<String>,
    pub signature: Vec<u8>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Problem {
    #[error("the request is not signed")]
    Unsigned,
    #[error("the signature header is malformed: {0}")]
    Malformed(&'static str),
    #[error("the signature does not cover {0}")]
    NotCovered(&'static str),
    #[error("the Date header is missing or too far from now")]
    Stale,
    #[error("the body does not match its Digest")]
    DigestMismatch,
    #[error("the signature does not verify")]
    Invalid,
    #[error("the signer's key cannot be read")]
    BadKey,
}

/// Reads the `Signature` header.
pub fn parse(headers: &HeaderMap) -> Result<Parsed, Problem> {
    let value = headers
        .get("signature")
        .ok_or(Problem::Unsigned)?
        .to_str()
        .map_err(|_| Problem::Malformed("not text"))?;
    let mut key_id = None;
    let mut names = None;
    let mut signature = None;
    for part in split_params(value) {
        let (name, quoted) = part
            .split_once('=')
            .ok_or(Problem::Malformed("a parameter without a value"))?;
        let value = quoted.trim().trim_matches('"');
        match name.trim() {
            "keyId" => key_id = Some(value.to_owned()),
            "headers" => {
                names = Some(
                    value
                        .split_ascii_whitespace()
                        .map(str::to_ascii_lowercase)
                        .collect(),
                );
            }
            "signature" => {
                signature = Some(
                    BASE64
                        .decode(value)
                        .map_err(|_| Problem::Malformed("the signature is not base64"))?,
                );
            }
            // `algorithm` is ignored, as the draft's last version says: the key decides.
            _ => {}
        }
    }
    Ok(Parsed {
        key_id: key_id.ok_or(Problem::Malformed("no keyId"))?,
        // Without a list, the draft signs the Date header alone: too little to accept.
        headers: names.ok_or(Problem::NotCovered("(request-target)"))?,
        signature: signature.ok_or(Problem::Malformed("no signature"))?,
    })
}

/// Commas inside quoted values do not split.
fn split_params(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in value.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

/// Checks what a signature must cover and the body's digest, before any key is fetched.
pub fn check_coverage(
    parsed: &Parsed,
    headers: &HeaderMap,
    body: Option<&[u8]>,
    now: OffsetDateTime,
) -> Result<(), Problem> {
    let covers = |name: &str| parsed.headers.iter().any(|h| h == name);
    for required in ["(request-target)", "host", "date"] {
        if !covers(required) {
            return Err(Problem::NotCovered(required));
        }
    }
    let date = headers
        .get("date")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_httpdate)
        .ok_or(Problem::Stale)?;
    if date < now - MAX_AGE || date > now + MAX_SKEW {
        return Err(Problem::Stale);
    }
    if let Some(body) = body {
        if !covers("digest") {
            return Err(Problem::NotCovered("digest"));
        }
        let given = headers
            .get("digest")
            .and_then(|v| v.to_str().ok())
            .ok_or(Problem::DigestMismatch)?;
        // Several digests may be listed; the SHA-256 one must be there and right.
        let ours = digest(body);
        let matches = given.split(',').any(|d| {
            let d = d.trim();
            d.len() == ours.len() && d[..8].eq_ignore_ascii_case("sha-256=") && d[8..] == ours[8..]
        });
        if !matches {
            return Err(Problem::DigestMismatch);
        }
    }
    Ok(())
}

/// Verifies the signature over the request with the signer's public key (PEM, SPKI or PKCS#1).
pub fn verify(
    parsed: &Parsed,
    public_key_pem: &str,
    method: &Method,
    path_and_query: &str,
    headers: &HeaderMap,
) -> Result<(), Problem> {
    let key = public_key(public_key_pem)?;
    let names: Vec<&str> = parsed.headers.iter().map(String::as_str).collect();
    let text = signing_text(method, path_and_query, headers, &names)?;
    // ring's RSA is many times faster than the pure-Rust one (an inbox flood is mostly this);
    // it takes keys of 2048 bits and more, the rsa crate the rest.
    if key.size() >= 256 {
        let components = ring::signature::RsaPublicKeyComponents {
            n: key.n().to_bytes_be(),
            e: key.e().to_bytes_be(),
        };
        return components
            .verify(
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                text.as_bytes(),
                &parsed.signature,
            )
            .map_err(|_| Problem::Invalid);
    }
    let signature =
        Signature::try_from(parsed.signature.as_slice()).map_err(|_| Problem::Invalid)?;
    VerifyingKey::<Sha256>::new(key)
        .verify(text.as_bytes(), &signature)
        .map_err(|_| Problem::Invalid)
}

pub fn public_key(pem: &str) -> Result<RsaPublicKey, Problem> {
    RsaPublicKey::from_public_key_pem(pem.trim())
        .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem.trim()))
        .map_err(|_| Problem::BadKey)
}

/// The text a signature is over: one `name: value` line per covered header.
fn signing_text(
    method: &Method,
    path_and_query: &str,
    headers: &HeaderMap,
    names: &[&str],
) -> Result<String, Problem> {
    let mut lines = Vec::with_capacity(names.len());
    for &name in names {
        if name == "(request-target)" {
            lines.push(format!(
                "(request-target): {} {path_and_query}",
                method.as_str().to_ascii_lowercase()
            ));
            continue;
        }
        let values: Vec<&str> = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::trim)
            .collect();
        if values.is_empty() {
            return Err(Problem::NotCovered(match name {
                "host" => "host",
                "date" => "date",
                "digest" => "digest",
                _ => "a header it names",
            }));
        }
        lines.push(format!("{name}: {}", values.join(", ")));
    }
    Ok(lines.join("\n"))
}

/// An IMF-fixdate, as HTTP's `Date` header has it.
pub fn httpdate(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .expect("the format has only these fields")
}

fn parse_httpdate(text: &str) -> Option<OffsetDateTime> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::PrimitiveDateTime::parse(text.trim(), &format)
        .ok()
        .map(time::PrimitiveDateTime::assume_utc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs8::{EncodePublicKey, LineEnding};

    fn key() -> RsaPrivateKey {
        super::super::keys::generate().expect("a key")
    }

    fn request(host: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_str(host).unwrap());
        headers
    }

    #[test]
    fn a_signed_post_verifies_and_a_changed_one_does_not() {
        let key = key();
        let pem = key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        let now = OffsetDateTime::now_utc();
        let body = br#"{"type":"Follow"}"#;
        let mut headers = request("blog.example");
        sign(
            &key,
            "https://social.example/users/ana#main-key",
            &Method::POST,
            "/fediverse/inbox",
            &mut headers,
            Some(body),
            now,
        );
        let parsed = parse(&headers).unwrap();
        assert_eq!(parsed.key_id, "https://social.example/users/ana#main-key");
        check_coverage(&parsed, &headers, Some(body), now).unwrap();
        verify(&parsed, &pem, &Method::POST, "/fediverse/inbox", &headers).unwrap();

        assert_eq!(
            check_coverage(&parsed, &headers, Some(br#"{"type":"Undo"}"#), now),
            Err(Problem::DigestMismatch)
        );
        assert_eq!(
            verify(&parsed, &pem, &Method::POST, "/elsewhere", &headers),
            Err(Problem::Invalid)
        );
        let mut moved = headers.clone();
        moved.insert("host", HeaderValue::from_static("other.example"));
        assert_eq!(
            verify(&parsed, &pem, &Method::POST, "/fediverse/inbox", &moved),
            Err(Problem::Invalid)
        );
        assert_eq!(
            check_coverage(
                &parsed,
                &headers,
                Some(body),
                now + time::Duration::hours(13)
            ),
            Err(Problem::Stale)
        );
    }

    #[test]
    fn a_signature_must_cover_the_request_target_host_and_date() {
        let mut headers = request("blog.example");
        headers.insert(
            "date",
            HeaderValue::from_str(&httpdate(OffsetDateTime::now_utc())).unwrap(),
        );
        headers.insert(
            "signature",
            HeaderValue::from_static(
                r#"keyId="https://a.example/k",headers="date",signature="AAAA""#,
            ),
        );
        let parsed = parse(&headers).unwrap();
        assert_eq!(
            check_coverage(&parsed, &headers, None, OffsetDateTime::now_utc()),
            Err(Problem::NotCovered("(request-target)"))
        );
        assert_eq!(parse(&HeaderMap::new()), Err(Problem::Unsigned));
    }

    #[test]
    fn dates_read_back_as_written() {
        let at = time::macros::datetime!(2026-12-07 09:05:03 UTC);
        assert_eq!(httpdate(at), "Mon, 07 Dec 2026 09:05:03 GMT");
        assert_eq!(parse_httpdate(&httpdate(at)), Some(at));
    }
}
