//! HTTP Signatures, both as the fediverse has long spoken them (draft-cavage-http-signatures-12
//! with `rsa-sha256` and a `Digest` header: Mastodon, GoToSocial, Pleroma, WordPress) and as
//! the IETF standardised them (RFC 9421 with `Content-Digest`, RFC 9530: Fedify, Mastodon 4.5
//! and later). Incoming requests may use either; outgoing ones use RFC 9421 unless the server
//! is known to need the draft (see `delivery`: "double knocking").

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
use sha2::{Digest as _, Sha256, Sha512};
use time::OffsetDateTime;

/// How far a signed request's `Date` (or RFC 9421 `created`) may lie in the past (Mastodon's
/// window) and the future (clock skew).
const MAX_AGE: time::Duration = time::Duration::hours(12);
const MAX_SKEW: time::Duration = time::Duration::hours(1);

/// The label of the signature Folio writes (RFC 9421 lets a request carry several).
const LABEL: &str = "sig1";

/// Which of the two specifications a signature follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Rfc9421,
    Cavage,
}

impl Style {
    pub fn other(self) -> Self {
        match self {
            Style::Rfc9421 => Style::Cavage,
            Style::Cavage => Style::Rfc9421,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Style::Rfc9421 => "rfc9421",
            Style::Cavage => "cavage",
        }
    }
}

/// `SHA-256=<base64>` of a body (the draft's `Digest`).
pub fn digest(body: &[u8]) -> String {
    format!("SHA-256={}", BASE64.encode(Sha256::digest(body)))
}

/// `sha-256=:<base64>:` of a body (RFC 9530's `Content-Digest`).
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", BASE64.encode(Sha256::digest(body)))
}

/// The host, and the port when it is not the scheme's, as `Host` and `@authority` name it.
pub fn authority(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    }
}

fn path_and_query(url: &url::Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

/// Signs a request to `url`: adds `Host`, `Date`, the body's digest and the signature to
/// `headers`, in `style`.
#[allow(clippy::too_many_arguments)]
pub fn sign(
    key: &RsaPrivateKey,
    key_id: &str,
    style: Style,
    method: &Method,
    url: &url::Url,
    headers: &mut HeaderMap,
    body: Option<&[u8]>,
    now: OffsetDateTime,
) {
    let ascii = |text: &str| HeaderValue::from_str(text).expect("ASCII: URLs, base64, a date");
    headers.insert("host", ascii(&authority(url)));
    headers.insert("date", ascii(&httpdate(now)));
    let rsa_sign = |text: &str| -> Vec<u8> {
        let signature: Signature = SigningKey::<Sha256>::new(key.clone()).sign(text.as_bytes());
        signature.to_vec()
    };
    match style {
        Style::Cavage => {
            let mut names = vec!["(request-target)", "host", "date"];
            if let Some(body) = body {
                headers.insert("digest", ascii(&digest(body)));
                names.push("digest");
            }
            let text = cavage_text(method, &path_and_query(url), headers, &names)
                .expect("the headers signed were just set");
            let value = format!(
                r#"keyId="{key_id}",algorithm="rsa-sha256",headers="{}",signature="{}""#,
                names.join(" "),
                BASE64.encode(rsa_sign(&text))
            );
            headers.insert("signature", ascii(&value));
        }
        Style::Rfc9421 => {
            let mut covered = vec!["@method".to_owned(), "@target-uri".to_owned()];
            if let Some(body) = body {
                headers.insert("content-digest", ascii(&content_digest(body)));
                covered.push("content-digest".to_owned());
            }
            let params = format!(
                r#";created={};keyid={};alg="rsa-v1_5-sha256""#,
                now.unix_timestamp(),
                sf_string(key_id)
            );
            let input = inner_list(&covered, &params);
            let text = rfc9421_base(method, url, headers, &covered, &input)
                .expect("the fields signed were just set");
            headers.insert("signature-input", ascii(&format!("{LABEL}={input}")));
            headers.insert(
                "signature",
                ascii(&format!("{LABEL}=:{}:", BASE64.encode(rsa_sign(&text)))),
            );
        }
    }
}

/// A signature read from a request's headers, not yet checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub key_id: String,
    pub style: Style,
    /// The draft's header names, or RFC 9421's component names.
    pub covered: Vec<String>,
    pub signature: Vec<u8>,
    /// RFC 9421: the `@signature-params` line, and its times.
    params_line: String,
    created: Option<i64>,
    expires: Option<i64>,
    alg: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Problem {
    #[error("the request is not signed")]
    Unsigned,
    #[error("the signature header is malformed: {0}")]
    Malformed(&'static str),
    #[error("the signature does not cover {0}")]
    NotCovered(&'static str),
    #[error("the Date header (or the signature's creation time) is missing or too far from now")]
    Stale,
    #[error("the body does not match its digest")]
    DigestMismatch,
    #[error("the signature does not verify")]
    Invalid,
    #[error("the signer's key cannot be read")]
    BadKey,
    #[error("the signature's algorithm is not one Folio verifies")]
    Algorithm,
}

/// Reads the signature: RFC 9421's when there is a `Signature-Input`, the draft's otherwise.
pub fn parse(headers: &HeaderMap) -> Result<Parsed, Problem> {
    // A dictionary may come in several lines (a proxy adding a signature of its own).
    let text = |name: &str| -> Result<Option<String>, Problem> {
        let lines = headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().map_err(|_| Problem::Malformed("not text")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((!lines.is_empty()).then(|| lines.join(", ")))
    };
    let signature = text("signature")?.ok_or(Problem::Unsigned)?;
    match text("signature-input")? {
        Some(input) => parse_rfc9421(&input, &signature),
        None => parse_cavage(&signature),
    }
}

fn parse_cavage(value: &str) -> Result<Parsed, Problem> {
    let mut key_id = None;
    let mut names = None;
    let mut signature = None;
    for part in split_top_level(value) {
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
        style: Style::Cavage,
        // Without a list, the draft signs the Date header alone: too little to accept.
        covered: names.ok_or(Problem::NotCovered("(request-target)"))?,
        signature: signature.ok_or(Problem::Malformed("no signature"))?,
        params_line: String::new(),
        created: None,
        expires: None,
        alg: None,
    })
}

/// The first signature of `Signature-Input` that `Signature` carries (a request may hold
/// several, added by the servers it passed through).
fn parse_rfc9421(input: &str, signature: &str) -> Result<Parsed, Problem> {
    let signatures: Vec<(&str, &str)> = split_top_level(signature)
        .into_iter()
        .filter_map(|member| member.split_once('='))
        .map(|(label, value)| (label.trim(), value.trim()))
        .collect();
    for member in split_top_level(input) {
        let Some((label, value)) = member.split_once('=') else {
            continue;
        };
        let Some((_, bytes)) = signatures.iter().find(|(l, _)| *l == label.trim()) else {
            continue;
        };
        let bytes = bytes
            .strip_prefix(':')
            .and_then(|b| b.strip_suffix(':'))
            .ok_or(Problem::Malformed("the signature is not a byte sequence"))?;
        let signature = BASE64
            .decode(bytes)
            .map_err(|_| Problem::Malformed("the signature is not base64"))?;
        return read_signature_input(value.trim(), signature);
    }
    Err(Problem::Malformed("no signature matches Signature-Input"))
}

/// `("@method" "@target-uri");created=1;keyid="…";alg="…"`: the components (without
/// parameters of their own) and the signature's parameters, written back canonically as the
/// `@signature-params` line.
fn read_signature_input(value: &str, signature: Vec<u8>) -> Result<Parsed, Problem> {
    let rest = value
        .strip_prefix('(')
        .ok_or(Problem::Malformed("Signature-Input is not an inner list"))?;
    let close = rest
        .find(')')
        .ok_or(Problem::Malformed("Signature-Input's list is not closed"))?;
    let (list, params) = (&rest[..close], &rest[close + 1..]);
    let mut covered = Vec::new();
    for item in list.split_ascii_whitespace() {
        let name = item
            .strip_prefix('"')
            .and_then(|i| i.strip_suffix('"'))
            .ok_or(Problem::Malformed(
                "a component with parameters Folio does not read",
            ))?;
        if name.is_empty() || name.contains(['"', '\\']) || covered.iter().any(|c| c == name) {
            return Err(Problem::Malformed("a component name"));
        }
        covered.push(name.to_owned());
    }
    let mut parsed = Parsed {
        key_id: String::new(),
        style: Style::Rfc9421,
        covered,
        signature,
        params_line: String::new(),
        created: None,
        expires: None,
        alg: None,
    };
    let mut line = String::new();
    for param in params.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, raw) = param.split_once('=').unwrap_or((param, "?1"));
        let name = name.trim();
        let raw = raw.trim();
        let integer = || raw.parse::<i64>().map_err(|_| Problem::Malformed("a time"));
        let string = || {
            raw.strip_prefix('"')
                .and_then(|r| r.strip_suffix('"'))
                .map(|s| s.replace("\\\"", "\"").replace("\\\\", "\\"))
                .ok_or(Problem::Malformed("a parameter's string"))
        };
        match name {
            "created" => {
                let at = integer()?;
                parsed.created = Some(at);
                line.push_str(&format!(";created={at}"));
            }
            "expires" => {
                let at = integer()?;
                parsed.expires = Some(at);
                line.push_str(&format!(";expires={at}"));
            }
            "keyid" | "alg" | "nonce" | "tag" => {
                let text = string()?;
                line.push_str(&format!(";{name}={}", sf_string(&text)));
                match name {
                    "keyid" => parsed.key_id = text,
                    "alg" => parsed.alg = Some(text),
                    _ => {}
                }
            }
            _ => return Err(Problem::Malformed("an unknown signature parameter")),
        }
    }
    if parsed.key_id.is_empty() {
        return Err(Problem::Malformed("no keyid"));
    }
    parsed.params_line = inner_list(&parsed.covered, &line);
    Ok(parsed)
}

/// Splits at commas outside quotes and parentheses.
fn split_top_level(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    let mut depth = 0u32;
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.saturating_sub(1),
            ',' if !quoted && depth == 0 => {
                parts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

fn sf_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn inner_list(covered: &[String], params: &str) -> String {
    let names: Vec<String> = covered.iter().map(|c| sf_string(c)).collect();
    format!("({}){params}", names.join(" "))
}

/// Checks what a signature must cover, its time and the body's digest, before any key is
/// fetched: the method and the whole target (the draft's `(request-target)` and `host`), a
/// date, and a body's digest.
pub fn check_coverage(
    parsed: &Parsed,
    headers: &HeaderMap,
    body: Option<&[u8]>,
    now: OffsetDateTime,
) -> Result<(), Problem> {
    let covers = |name: &str| parsed.covered.iter().any(|h| h == name);
    let fresh = |at: OffsetDateTime| at >= now - MAX_AGE && at <= now + MAX_SKEW;
    match parsed.style {
        Style::Cavage => {
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
            if !fresh(date) {
                return Err(Problem::Stale);
            }
        }
        Style::Rfc9421 => {
            if !covers("@method") {
                return Err(Problem::NotCovered("@method"));
            }
            let target = covers("@target-uri")
                || ((covers("@authority") || covers("host"))
                    && (covers("@path") || covers("@request-target")));
            if !target {
                return Err(Problem::NotCovered("@target-uri"));
            }
            let created = parsed
                .created
                .and_then(|at| OffsetDateTime::from_unix_timestamp(at).ok())
                .ok_or(Problem::Stale)?;
            if !fresh(created) || parsed.expires.is_some_and(|at| at < now.unix_timestamp()) {
                return Err(Problem::Stale);
            }
        }
    }
    if let Some(body) = body {
        match parsed.style {
            Style::Cavage => {
                if !covers("digest") {
                    return Err(Problem::NotCovered("digest"));
                }
                digest_matches(headers, body)?;
            }
            Style::Rfc9421 => {
                if !covers("content-digest") {
                    return Err(Problem::NotCovered("content-digest"));
                }
                content_digest_matches(headers, body)?;
            }
        }
    }
    Ok(())
}

/// The draft's `Digest`: several may be listed; the SHA-256 one must be there and right.
fn digest_matches(headers: &HeaderMap, body: &[u8]) -> Result<(), Problem> {
    let given = headers
        .get("digest")
        .and_then(|v| v.to_str().ok())
        .ok_or(Problem::DigestMismatch)?;
    let ours = digest(body);
    let matches = given.split(',').any(|d| {
        let d = d.trim();
        d.len() == ours.len() && d[..8].eq_ignore_ascii_case("sha-256=") && d[8..] == ours[8..]
    });
    if matches {
        Ok(())
    } else {
        Err(Problem::DigestMismatch)
    }
}

/// RFC 9530's `Content-Digest`: every SHA-256 or SHA-512 digest listed must match, and there
/// must be one of them.
fn content_digest_matches(headers: &HeaderMap, body: &[u8]) -> Result<(), Problem> {
    let given = headers
        .get("content-digest")
        .and_then(|v| v.to_str().ok())
        .ok_or(Problem::DigestMismatch)?;
    let mut checked = false;
    for member in split_top_level(given) {
        let Some((algorithm, value)) = member.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches(':');
        let ours = match algorithm.trim() {
            "sha-256" => BASE64.encode(Sha256::digest(body)),
            "sha-512" => BASE64.encode(Sha512::digest(body)),
            _ => continue,
        };
        if value != ours {
            return Err(Problem::DigestMismatch);
        }
        checked = true;
    }
    if checked {
        Ok(())
    } else {
        Err(Problem::DigestMismatch)
    }
}

/// Verifies the signature over the request (to `url`, as its signer addressed it) with the
/// signer's public key (PEM, SPKI or PKCS#1).
pub fn verify(
    parsed: &Parsed,
    public_key_pem: &str,
    method: &Method,
    url: &url::Url,
    headers: &HeaderMap,
) -> Result<(), Problem> {
    let key = public_key(public_key_pem)?;
    // A signed Host must be this blog's: a request signed for another server's inbox at the
    // same path is not replayed here.
    if parsed.covered.iter().any(|c| c == "host")
        && headers
            .get("host")
            .and_then(|v| v.to_str().ok())
            .is_none_or(|host| !host.trim().eq_ignore_ascii_case(&authority(url)))
    {
        return Err(Problem::Invalid);
    }
    let (text, pss) = match parsed.style {
        Style::Cavage => {
            let names: Vec<&str> = parsed.covered.iter().map(String::as_str).collect();
            (
                cavage_text(method, &path_and_query(url), headers, &names)?,
                false,
            )
        }
        Style::Rfc9421 => {
            let pss = match parsed.alg.as_deref() {
                None | Some("rsa-v1_5-sha256") => false,
                Some("rsa-pss-sha512") => true,
                Some(_) => return Err(Problem::Algorithm),
            };
            (
                rfc9421_base(method, url, headers, &parsed.covered, &parsed.params_line)?,
                pss,
            )
        }
    };
    // ring's RSA is many times faster than the pure-Rust one (an inbox flood is mostly this);
    // it takes keys of 2048 bits and more, the rsa crate the rest.
    if key.size() >= 256 || pss {
        let components = ring::signature::RsaPublicKeyComponents {
            n: key.n().to_bytes_be(),
            e: key.e().to_bytes_be(),
        };
        let algorithm = if pss {
            &ring::signature::RSA_PSS_2048_8192_SHA512
        } else {
            &ring::signature::RSA_PKCS1_2048_8192_SHA256
        };
        return components
            .verify(algorithm, text.as_bytes(), &parsed.signature)
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

fn header_values(headers: &HeaderMap, name: &str) -> Result<String, Problem> {
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
            "content-digest" => "content-digest",
            _ => "a header it names",
        }));
    }
    Ok(values.join(", "))
}

/// The draft's signing text: one `name: value` line per covered header.
fn cavage_text(
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
        lines.push(format!("{name}: {}", header_values(headers, name)?));
    }
    Ok(lines.join("\n"))
}

/// RFC 9421's signature base (section 2.5): a line per component, then `@signature-params`.
fn rfc9421_base(
    method: &Method,
    url: &url::Url,
    headers: &HeaderMap,
    covered: &[String],
    params_line: &str,
) -> Result<String, Problem> {
    let mut lines = Vec::with_capacity(covered.len() + 1);
    for name in covered {
        let value = match name.as_str() {
            "@method" => method.as_str().to_owned(),
            "@target-uri" => {
                let mut url = url.clone();
                url.set_fragment(None);
                url.to_string()
            }
            "@authority" => authority(url),
            "@scheme" => url.scheme().to_owned(),
            "@request-target" => path_and_query(url),
            "@path" => url.path().to_owned(),
            "@query" => format!("?{}", url.query().unwrap_or_default()),
            derived if derived.starts_with('@') => {
                return Err(Problem::Malformed(
                    "a derived component Folio does not read",
                ));
            }
            field => header_values(headers, field)?,
        };
        lines.push(format!("\"{name}\": {value}"));
    }
    lines.push(format!("\"@signature-params\": {params_line}"));
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

    fn inbox() -> url::Url {
        url::Url::parse("https://blog.example/fediverse/inbox").unwrap()
    }

    #[test]
    fn signed_posts_verify_in_both_styles_and_changed_ones_do_not() {
        let key = key();
        let pem = key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        let now = OffsetDateTime::now_utc();
        let body = br#"{"type":"Follow"}"#;
        for style in [Style::Cavage, Style::Rfc9421] {
            let mut headers = HeaderMap::new();
            let key_id = "https://social.example/users/ana#main-key";
            sign(
                &key,
                key_id,
                style,
                &Method::POST,
                &inbox(),
                &mut headers,
                Some(body),
                now,
            );
            let parsed = parse(&headers).unwrap();
            assert_eq!((parsed.key_id.as_str(), parsed.style), (key_id, style));
            check_coverage(&parsed, &headers, Some(body), now).unwrap();
            verify(&parsed, &pem, &Method::POST, &inbox(), &headers).unwrap();

            assert_eq!(
                check_coverage(&parsed, &headers, Some(br#"{"type":"Undo"}"#), now),
                Err(Problem::DigestMismatch),
                "{style:?}"
            );
            let elsewhere = url::Url::parse("https://blog.example/elsewhere").unwrap();
            assert_eq!(
                verify(&parsed, &pem, &Method::POST, &elsewhere, &headers),
                Err(Problem::Invalid)
            );
            let other_host = url::Url::parse("https://other.example/fediverse/inbox").unwrap();
            // Signed for another server's inbox at the same path: not taken here.
            assert_eq!(
                verify(&parsed, &pem, &Method::POST, &other_host, &headers),
                Err(Problem::Invalid),
                "{style:?}"
            );
            let mut moved = headers.clone();
            moved.insert("host", HeaderValue::from_static("other.example"));
            assert_eq!(
                verify(&parsed, &pem, &Method::POST, &other_host, &moved),
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
    }

    #[test]
    fn an_rfc_9421_signature_is_read_as_other_implementations_write_it() {
        // Fedify's shape: two labels would be possible; fields and derived components mixed.
        let mut headers = HeaderMap::new();
        headers.insert(
            "signature-input",
            HeaderValue::from_static(
                r#"sig1=("@method" "@target-uri" "@authority" "host" "date" "content-digest");alg="rsa-v1_5-sha256";keyid="https://fedify.example/users/a#main-key";created=1765000000"#,
            ),
        );
        headers.insert("signature", HeaderValue::from_static("sig1=:AAAA:"));
        let parsed = parse(&headers).unwrap();
        assert_eq!(parsed.key_id, "https://fedify.example/users/a#main-key");
        assert_eq!(parsed.covered.len(), 6);
        assert_eq!(
            parsed.params_line,
            r#"("@method" "@target-uri" "@authority" "host" "date" "content-digest");alg="rsa-v1_5-sha256";keyid="https://fedify.example/users/a#main-key";created=1765000000"#
        );
        assert_eq!(parsed.signature, vec![0, 0, 0]);

        headers.insert("signature", HeaderValue::from_static("other=:AAAA:"));
        assert!(matches!(parse(&headers), Err(Problem::Malformed(_))));
        headers.insert(
            "signature-input",
            HeaderValue::from_static(r#"sig1=("@method" "content-digest");keyid="k";created=1"#),
        );
        headers.insert("signature", HeaderValue::from_static("sig1=:AAAA:"));
        let parsed = parse(&headers).unwrap();
        assert_eq!(
            check_coverage(&parsed, &headers, None, OffsetDateTime::now_utc()),
            Err(Problem::NotCovered("@target-uri"))
        );
    }

    #[test]
    fn a_signature_must_cover_the_request_target_host_and_date() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("blog.example"));
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
    fn content_digests_are_checked_whatever_their_algorithm() {
        let body = b"{}";
        let mut headers = HeaderMap::new();
        let sha512 = format!("sha-512=:{}:", BASE64.encode(Sha512::digest(body)));
        headers.insert("content-digest", HeaderValue::from_str(&sha512).unwrap());
        assert_eq!(content_digest_matches(&headers, body), Ok(()));
        assert_eq!(
            content_digest_matches(&headers, b"[]"),
            Err(Problem::DigestMismatch)
        );
        headers.insert("content-digest", HeaderValue::from_static("md5=:AAAA:"));
        assert_eq!(
            content_digest_matches(&headers, body),
            Err(Problem::DigestMismatch)
        );
    }

    #[test]
    fn dates_read_back_as_written() {
        let at = time::macros::datetime!(2026-12-07 09:05:03 UTC);
        assert_eq!(httpdate(at), "Mon, 07 Dec 2026 09:05:03 GMT");
        assert_eq!(parse_httpdate(&httpdate(at)), Some(at));
    }
}
