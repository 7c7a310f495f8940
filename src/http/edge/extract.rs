//! Extractors shared by handlers.

use std::{convert::Infallible, net::SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::request::Parts,
};

use crate::{state::AppState, store::replicas::ReadSlot};

/// The client's address: the socket's, or the last `X-Forwarded-For` entry (the one the
/// operator's own proxy added) when `FOLIO_TRUST_PROXY` says a proxy is in front. None only
/// when neither is known (a request made in-process, as in tests).
#[derive(Debug, Clone)]
pub struct ClientIp(pub Option<String>);

impl ClientIp {
    /// What limits per client count on: the address, or for IPv6 its /64 (one household or
    /// server is given a whole /64, so single addresses in it cost an attacker nothing).
    pub fn limit_key(&self) -> Option<String> {
        let address = self.0.as_deref()?;
        Some(match address.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
            Ok(std::net::IpAddr::V6(v6)) => v6
                .to_ipv4_mapped()
                .map_or_else(String::new, |v4| v4.to_string()),
            _ => address.to_owned(),
        })
    }

    /// The keyed hash of `limit_key`: what limits per client are counted on (no address is
    /// stored).
    pub fn limit_hash(&self, secret: &crate::auth::Secret) -> Option<String> {
        self.limit_key().map(|key| secret.client_hash(&key))
    }
}

/// A login or lookup address in the one form Folio compares and stores: trimmed, lowercase,
/// and no longer than an address can be.
pub fn normal_email(typed: &str) -> String {
    typed.trim().to_lowercase().chars().take(254).collect()
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if state.config.trust_proxy {
            let forwarded = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .rfind(|v| !v.is_empty());
            if let Some(address) = forwarded {
                return Ok(Self(Some(address.to_owned())));
            }
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string());
        Ok(Self(peer))
    }
}

/// The state a public read handler uses: its `db` is where this read goes, the primary or a
/// replica that has what the reader needs (chosen by `edge::page_cache::pages`, see `store::replicas`).
pub struct ReadState(pub AppState);

impl FromRequestParts<AppState> for ReadState {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let slot = match parts.extensions.get::<ReadSlot>() {
            Some(slot) => slot.clone(),
            None => ReadSlot::new(super::cookies::own_write_position(state, &parts.headers)),
        };
        let read = slot.choose(&state.reads).await;
        let mut state = state.clone();
        state.db = read.pool;
        Ok(Self(state))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_ipv6_clients_by_their_64() {
        let key = |a: &str| ClientIp(Some(a.to_owned())).limit_key();
        assert_eq!(key("203.0.113.7").as_deref(), Some("203.0.113.7"));
        assert_eq!(
            key("2001:db8:1:2:aaaa::1"),
            key("2001:db8:1:2:ffff:ffff:ffff:ffff")
        );
        assert_eq!(key("2001:db8:1:2::9").as_deref(), Some("2001:db8:1:2::/64"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:203.0.113.7").as_deref(), Some("203.0.113.7"));
        assert_eq!(ClientIp(None).limit_key(), None);
        assert_eq!(normal_email("  Kim@Example.TEST\t"), "kim@example.test");
    }
}
