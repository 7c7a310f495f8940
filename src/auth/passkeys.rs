//! Passkeys (WebAuthn) through webauthn-rs: the relying party is the blog itself, its id the
//! host of `FOLIO_BASE_URL` (browsers refuse passkeys for a bare IP address).

use url::Url;
use webauthn_rs::{Webauthn, WebauthnBuilder};

/// Why this blog cannot offer passkeys, worded for the account page.
pub const UNAVAILABLE: &str = "Passkeys need the blog to be served under a domain name \
    (set FOLIO_BASE_URL, e.g. https://blog.example.org, or http://localhost for a trial).";

/// The relying party for the blog at `base_url`; None when a browser would refuse it.
pub fn relying_party(base_url: &str) -> Option<Webauthn> {
    let origin = Url::parse(base_url).ok()?;
    let host = origin.domain()?.to_owned();
    // A secure context is required: https, or plain http on localhost only.
    if origin.scheme() != "https" && !(host == "localhost" || host.ends_with(".localhost")) {
        return None;
    }
    WebauthnBuilder::new(&host, &origin)
        .ok()?
        .rp_name(&host)
        .build()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_domain_in_a_secure_context_is_a_relying_party() {
        assert!(relying_party("https://blog.example.org").is_some());
        assert!(relying_party("http://localhost:8080").is_some());
        assert!(relying_party("http://127.0.0.1:8080").is_none());
        assert!(relying_party("http://blog.example.org").is_none());
        assert!(relying_party("https://[::1]:8443").is_none());
        assert!(relying_party("not a url").is_none());
    }
}
