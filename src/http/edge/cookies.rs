//! Cookies, read and written in one way (the `cookie` crate): every cookie Folio sets is
//! site-wide, `HttpOnly`, `SameSite=Lax`, and `Secure` when the blog is served over https.

use axum::http::{HeaderMap, HeaderValue, header};
use cookie::{Cookie, SameSite};

use crate::{
    auth::{Secret, signed},
    state::AppState,
};

/// The value of the request's cookie `name`, if it sent a non-empty one.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name && !c.value().is_empty())
        .map(|c| c.value().to_owned())
}

/// A `Set-Cookie` value that keeps `value` for `max_age`.
pub fn set(name: &str, value: &str, max_age: time::Duration, secure: bool) -> HeaderValue {
    let cookie = Cookie::build((name, value))
        .path("/")
        .max_age(max_age)
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .build();
    // Names are ours and values are base64 or digits: always a valid header value.
    HeaderValue::from_str(&cookie.to_string()).expect("a cookie of header-safe characters")
}

/// A `Set-Cookie` value that removes the cookie `name`.
pub fn clear(name: &str, secure: bool) -> HeaderValue {
    set(name, "", time::Duration::ZERO, secure)
}

/// The cookie with the ids of a browser's own held comments (signed), so that their author sees
/// them waiting.
pub const OWN_COOKIE: &str = "folio_own";

/// The ids in this browser's signed cookie of its own held comments.
pub fn own_comment_ids(headers: &HeaderMap, secret: &Secret) -> Vec<i64> {
    get(headers, OWN_COOKIE)
        .map(|value| signed::decode_ids(secret, &value))
        .unwrap_or_default()
}

/// The cookie that carries a reader's last write's WAL position (signed), so that their next
/// pages are read from a server that has it (see `store::replicas`). Set only when there are replicas.
pub const SEEN_COOKIE: &str = "folio_seen";

/// The WAL position this reader's own last write needs, from their signed cookie.
pub fn own_write_position(state: &AppState, headers: &HeaderMap) -> Option<i64> {
    if !state.reads.has_replicas() {
        return None;
    }
    let now = state.clock.now().unix_timestamp();
    get(headers, SEEN_COOKIE)
        .and_then(|value| crate::auth::signed::decode_position(&state.secret, &value, now))
}

/// The cookie of a reader who just changed comments (posted one that is shown, or moderated),
/// for a few seconds: they are never given a stale copy of a page (see `page_cache`).
pub const WROTE_COOKIE: &str = "folio_wrote";
/// Longer than a stale page is ever served (a refresh every second, a claim that lapses in 5).
pub const WROTE_SECONDS: i64 = 10;

/// A `Set-Cookie` for `WROTE_COOKIE`, good for `WROTE_SECONDS` from now.
pub fn wrote(state: &AppState) -> HeaderValue {
    let now = state.clock.now().unix_timestamp();
    let value = signed::encode_position(&state.secret, 0, now + WROTE_SECONDS);
    set(
        WROTE_COOKIE,
        &value,
        time::Duration::seconds(WROTE_SECONDS),
        state.config.secure_cookies(),
    )
}

/// Whether this reader changed comments in the last `WROTE_SECONDS` (a signed, unexpired cookie).
pub fn has_written(state: &AppState, headers: &HeaderMap) -> bool {
    let now = state.clock.now().unix_timestamp();
    get(headers, WROTE_COOKIE)
        .and_then(|value| signed::decode_position(&state.secret, &value, now))
        .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_named_cookie_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; folio_own=3-4.sig"),
        );
        headers.append(header::COOKIE, HeaderValue::from_static("empty=; b=2"));
        assert_eq!(get(&headers, "folio_own").as_deref(), Some("3-4.sig"));
        assert_eq!(get(&headers, "b").as_deref(), Some("2"));
        assert_eq!(get(&headers, "empty"), None);
        assert_eq!(get(&headers, "missing"), None);
    }

    #[test]
    fn cookies_are_http_only_lax_and_secure_on_https() {
        let value = set("s", "tok", time::Duration::days(14), true);
        let text = value.to_str().unwrap();
        for part in [
            "s=tok",
            "Path=/",
            "Max-Age=1209600",
            "HttpOnly",
            "SameSite=Lax",
            "Secure",
        ] {
            assert!(text.contains(part), "{text} lacks {part}");
        }
        let cleared = clear("s", false);
        assert!(cleared.to_str().unwrap().contains("Max-Age=0"));
        assert!(!cleared.to_str().unwrap().contains("Secure"));
    }
}
