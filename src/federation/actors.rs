//! Remote actors: fetched (signed, as servers with authorized fetch require) through the
//! outbound client, read in a strict shape, and kept in `fediverse_actors` so that their key
//! verifies what they send without a fetch each time.

use std::time::Duration;

use axum::body::Bytes;
use hyper::{HeaderMap, Method, StatusCode, header};
use serde::Deserialize;
use sqlx::PgPool;

use super::{
    Fediverse,
    knock::{self, Signed},
    signatures,
};
use crate::{
    db::{
        self,
        fediverse::{FetchedActor, RemoteActor},
    },
    outbound,
};

const ACCEPT: &str = r#"application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams""#;
const MAX_DOCUMENT: usize = 1024 * 1024;
const DEADLINE: Duration = Duration::from_secs(15);
const MAX_REDIRECTS: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Outbound(#[from] outbound::Error),
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Key(#[from] super::keys::Error),
}

/// An id or an object with one (`"url"` and friends come in both shapes).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Link {
    Id(String),
    Object {
        href: Option<String>,
        id: Option<String>,
    },
    Many(Vec<serde_json::Value>),
}

impl Link {
    fn url(&self) -> Option<String> {
        match self {
            Link::Id(id) => Some(id.clone()),
            Link::Object { href, id } => href.clone().or_else(|| id.clone()),
            Link::Many(items) => items.iter().find_map(|item| match item {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Object(o) => {
                    o.get("href").and_then(|h| h.as_str()).map(str::to_owned)
                }
                _ => None,
            }),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PublicKey {
    id: String,
    owner: String,
    public_key_pem: String,
}

#[derive(Debug, Deserialize)]
struct Endpoints {
    #[serde(rename = "sharedInbox")]
    shared_inbox: Option<String>,
}

/// An actor document, or a key document that names its owner.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    id: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    inbox: Option<String>,
    endpoints: Option<Endpoints>,
    preferred_username: Option<String>,
    name: Option<String>,
    url: Option<Link>,
    public_key: Option<PublicKey>,
    // A key document's own fields.
    owner: Option<String>,
    public_key_pem: Option<String>,
}

/// The host (and port, when not the scheme's) of a URL: an instance.
pub fn domain_of(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    url.host_str()?;
    Some(signatures::authority(&url))
}

/// GETs an ActivityPub document, signed by the blog, following a few redirects (each checked
/// again by the outbound client). Answers the final URL and the body.
pub async fn fetch(
    fediverse: &Fediverse,
    db: &PgPool,
    url: &str,
) -> Result<(url::Url, Bytes), Error> {
    let keys = fediverse.keys(db).await?;
    let mut url = url::Url::parse(url).map_err(|e| Error::Refused(format!("{url}: {e}")))?;
    url.set_fragment(None);
    for _ in 0..=MAX_REDIRECTS {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, header::HeaderValue::from_static(ACCEPT));
        let answer = knock::send(
            fediverse,
            db,
            (&keys.private, &fediverse.key_id(None)),
            Signed {
                method: Method::GET,
                url: &url,
                headers,
                body: None,
                deadline: DEADLINE,
                max_answer: MAX_DOCUMENT,
            },
        )
        .await?;
        if answer.status.is_redirection() {
            let next = answer
                .headers
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|location| url.join(location).ok())
                .ok_or_else(|| Error::Refused(format!("{url}: a redirect without a place")))?;
            url = next;
            continue;
        }
        if answer.status != StatusCode::OK {
            return Err(Error::Refused(format!("{url} answered {}", answer.status)));
        }
        return Ok((url, answer.body));
    }
    Err(Error::Refused(format!("{url}: too many redirects")))
}

/// Fetches the actor that owns `key_or_actor` (a key id or an actor id) and keeps it.
pub async fn refresh(
    fediverse: &Fediverse,
    db: &PgPool,
    key_or_actor: &str,
) -> Result<RemoteActor, Error> {
    let (url, body) = fetch(fediverse, db, key_or_actor).await?;
    let mut document: Document = serde_json::from_slice(&body)
        .map_err(|e| Error::Refused(format!("{url}: not an actor ({e})")))?;
    // A key published on its own (GoToSocial's `/main-key`): its owner is the actor.
    if document.public_key.is_none()
        && let (Some(owner), Some(pem)) = (document.owner.take(), document.public_key_pem.take())
    {
        let key_id = document.id.clone();
        if domain_of(&owner) != domain_of(&key_id) {
            return Err(Error::Refused(format!("{key_id}: owned on another server")));
        }
        let (owner_url, owner_body) = fetch(fediverse, db, &owner).await?;
        let mut actor: Document = serde_json::from_slice(&owner_body)
            .map_err(|e| Error::Refused(format!("{owner_url}: not an actor ({e})")))?;
        actor.public_key = Some(PublicKey {
            id: key_id,
            owner: owner.clone(),
            public_key_pem: pem,
        });
        return keep(db, &owner_url, actor).await;
    }
    keep(db, &url, document).await
}

/// Checks a fetched actor against where it came from and stores it.
async fn keep(db: &PgPool, fetched_from: &url::Url, actor: Document) -> Result<RemoteActor, Error> {
    let domain =
        domain_of(&actor.id).ok_or_else(|| Error::Refused(format!("{}: not a URL", actor.id)))?;
    // A server speaks for its own actors only.
    if domain_of(fetched_from.as_str()).as_deref() != Some(domain.as_str()) {
        return Err(Error::Refused(format!(
            "{fetched_from} gave an actor of another server"
        )));
    }
    if !matches!(
        actor.kind.as_deref(),
        Some("Person" | "Service" | "Application" | "Group" | "Organization")
    ) {
        return Err(Error::Refused(format!("{}: not an actor", actor.id)));
    }
    let key = actor
        .public_key
        .ok_or_else(|| Error::Refused(format!("{}: no public key", actor.id)))?;
    if key.owner != actor.id || domain_of(&key.id).as_deref() != Some(domain.as_str()) {
        return Err(Error::Refused(format!(
            "{}: the key is not its own",
            actor.id
        )));
    }
    signatures::public_key(&key.public_key_pem)
        .map_err(|_| Error::Refused(format!("{}: an unreadable key", actor.id)))?;
    let inbox = actor
        .inbox
        .ok_or_else(|| Error::Refused(format!("{}: no inbox", actor.id)))?;
    let same_server = |url: &str| domain_of(url).as_deref() == Some(domain.as_str());
    if !same_server(&inbox) {
        return Err(Error::Refused(format!("{}: an inbox elsewhere", actor.id)));
    }
    let shared_inbox = actor
        .endpoints
        .and_then(|e| e.shared_inbox)
        .filter(|s| same_server(s));
    let url = actor.url.and_then(|u| u.url());
    let username = actor.preferred_username.unwrap_or_default();
    let name = actor.name.unwrap_or_default();
    Ok(db::fediverse::save_actor(
        db,
        &FetchedActor {
            uri: &actor.id,
            key_id: &key.id,
            public_key_pem: &key.public_key_pem,
            inbox: &inbox,
            shared_inbox: shared_inbox.as_deref(),
            username: &crate::domain::text::clean(&username),
            name: &crate::domain::text::clean(&name),
            url: url.as_deref(),
            domain: &domain,
        },
    )
    .await?)
}
