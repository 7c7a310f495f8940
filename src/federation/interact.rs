//! "Follow" and "Reply" from a reader's own fediverse account, without JavaScript: the reader
//! gives their handle, the blog asks their server's WebFinger for its interaction page (the
//! FEP-3b86 intents where the server names them, else OStatus's `subscribe` template, which
//! Mastodon, GoToSocial, Pleroma and Misskey serve), and sends the reader there with the
//! blog's actor or the post filled in.

use std::time::Duration;

use axum::body::Bytes;
use hyper::{HeaderMap, Method, header};
use serde_json::Value;

use crate::outbound::{self, Outgoing, Reach};

const SUBSCRIBE: &str = "http://ostatus.org/schema/1.0/subscribe";
const FEP_3B86_FOLLOW: &str = "https://w3id.org/fep/3b86/Follow";
const FEP_3B86_OBJECT: &str = "https://w3id.org/fep/3b86/Object";

/// What the reader wants to do with `uri` (the blog's actor, or a post).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Follow,
    /// See (and so reply to, like, boost) a post on their own server.
    Reply,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error(
        "Enter your fediverse address, such as @you@mastodon.social (your name, an @ and your server)"
    )]
    NotAHandle,
    #[error("Your server ({0}) did not answer: {1}")]
    Unreachable(String, String),
    #[error("Your server ({0}) does not say where its follow and reply pages are")]
    NoTemplate(String),
}

/// `(user, server)` from what a reader types: `@you@server`, `you@server`, or their profile's
/// address (`https://server/@you`).
pub fn parse_handle(text: &str) -> Result<(String, String), Error> {
    let text = text.trim();
    if let Ok(url) = url::Url::parse(text)
        && matches!(url.scheme(), "http" | "https")
    {
        let server = super::actors::domain_of(text).ok_or(Error::NotAHandle)?;
        let user = url
            .path_segments()
            .and_then(|mut segments| segments.next_back().map(str::to_owned))
            .map(|last| last.trim_start_matches('@').to_owned())
            .filter(|user| !user.is_empty())
            .ok_or(Error::NotAHandle)?;
        return Ok((user, server));
    }
    let handle = text.strip_prefix("acct:").unwrap_or(text);
    let handle = handle.strip_prefix('@').unwrap_or(handle);
    let (user, server) = handle.split_once('@').ok_or(Error::NotAHandle)?;
    let plausible_server = !server.is_empty()
        && (server.contains('.') || server.starts_with("localhost") || server.contains(':'));
    if user.is_empty()
        || !plausible_server
        || !user
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-'))
        || !server
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | ':'))
    {
        return Err(Error::NotAHandle);
    }
    Ok((user.to_owned(), server.to_ascii_lowercase()))
}

/// Where to send the reader: their server's page for `intent` on `uri`.
pub async fn destination(
    handle: &str,
    intent: Intent,
    uri: &str,
    reach: Reach,
    https_only: bool,
) -> Result<String, Error> {
    let (user, server) = parse_handle(handle)?;
    let scheme = if https_only { "https" } else { "http" };
    let mut lookup = url::Url::parse(&format!("{scheme}://{server}/.well-known/webfinger"))
        .map_err(|_| Error::NotAHandle)?;
    lookup
        .query_pairs_mut()
        .append_pair("resource", &format!("acct:{user}@{server}"));
    let mut headers = HeaderMap::new();
    headers.insert(
        header::ACCEPT,
        header::HeaderValue::from_static("application/jrd+json, application/json"),
    );
    let answer = outbound::send(Outgoing {
        method: Method::GET,
        url: &lookup,
        headers,
        body: Bytes::new(),
        reach,
        deadline: Duration::from_secs(10),
        max_answer: 64 * 1024,
    })
    .await
    .map_err(|e| Error::Unreachable(server.clone(), e.to_string()))?;
    if !answer.status.is_success() {
        return Err(Error::Unreachable(
            server,
            format!("it answered {}", answer.status),
        ));
    }
    let document: Value = serde_json::from_slice(&answer.body)
        .map_err(|_| Error::Unreachable(server.clone(), "its answer is not JSON".into()))?;
    template_for(&document, intent)
        .map(|template| fill(&template, uri))
        .ok_or(Error::NoTemplate(server))
}

/// The template a WebFinger document gives for `intent`: FEP-3b86's own rel first.
fn template_for(document: &Value, intent: Intent) -> Option<String> {
    let links = document.get("links")?.as_array()?;
    let find = |rel: &str| {
        links
            .iter()
            .find(|link| link.get("rel").and_then(Value::as_str) == Some(rel))
            .and_then(|link| link.get("template").and_then(Value::as_str))
            .filter(|t| t.starts_with("https://") || t.starts_with("http://"))
            .map(str::to_owned)
    };
    let own = match intent {
        Intent::Follow => find(FEP_3B86_FOLLOW),
        Intent::Reply => find(FEP_3B86_OBJECT),
    };
    own.or_else(|| find(SUBSCRIBE))
}

/// The template with `uri` put in (each of `{uri}`, `{object}`, `{inReplyTo}`), encoded.
fn fill(template: &str, uri: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(uri.as_bytes()).collect();
    ["{uri}", "{object}", "{inReplyTo}"]
        .iter()
        .fold(template.to_owned(), |t, placeholder| {
            t.replace(placeholder, &encoded)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn handles_as_readers_type_them() {
        let ok = |text: &str| parse_handle(text).unwrap();
        assert_eq!(
            ok("@ana@social.example"),
            ("ana".into(), "social.example".into())
        );
        assert_eq!(
            ok(" ana@Social.Example "),
            ("ana".into(), "social.example".into())
        );
        assert_eq!(
            ok("acct:ana@social.example"),
            ("ana".into(), "social.example".into())
        );
        assert_eq!(
            ok("https://social.example/@ana"),
            ("ana".into(), "social.example".into())
        );
        assert_eq!(
            ok("@ana@127.0.0.1:8080"),
            ("ana".into(), "127.0.0.1:8080".into())
        );
        for bad in [
            "",
            "ana",
            "@ana",
            "ana@",
            "ana@nodot",
            "a na@x.example",
            "<b>@x.example",
        ] {
            assert_eq!(parse_handle(bad), Err(Error::NotAHandle), "{bad}");
        }
    }

    #[test]
    fn fep_3b86_intents_come_before_ostatus_subscribe() {
        let document = json!({"links": [
            {"rel": "self", "href": "https://social.example/users/ana"},
            {"rel": SUBSCRIBE, "template": "https://social.example/authorize_interaction?uri={uri}"},
            {"rel": FEP_3B86_FOLLOW, "template": "https://social.example/follow?object={object}"},
        ]});
        assert_eq!(
            template_for(&document, Intent::Follow).unwrap(),
            "https://social.example/follow?object={object}"
        );
        let reply = template_for(&document, Intent::Reply).unwrap();
        assert_eq!(
            fill(&reply, "https://blog.example/2026/12/a.html?x=1"),
            "https://social.example/authorize_interaction?uri=https%3A%2F%2Fblog.example%2F2026%2F12%2Fa.html%3Fx%3D1"
        );
        assert_eq!(template_for(&json!({"links": []}), Intent::Follow), None);
        let script =
            json!({"links": [{"rel": SUBSCRIBE, "template": "javascript:alert(1)//{uri}"}]});
        assert_eq!(template_for(&script, Intent::Follow), None);
    }
}
