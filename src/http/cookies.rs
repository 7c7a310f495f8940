//! Cookies, read and written in one way (the `cookie` crate): every cookie Folio sets is
//! site-wide, `HttpOnly`, `SameSite=Lax`, and `Secure` when the blog is served over https.

use axum::http::{HeaderMap, HeaderValue, header};
use cookie::{Cookie, SameSite};

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
