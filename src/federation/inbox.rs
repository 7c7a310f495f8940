//! What arrives in the blog's inboxes: read in a strict shape, its HTTP Signature verified
//! against the signer's key (fetched once, fetched again if the key rotated), the signer
//! matched with the activity's actor, a replay ignored, then acted on: follows and unfollows,
//! and profile updates. Anything else is acknowledged and left (see `FEDERATION.md`).

use std::sync::Arc;

use axum::body::Bytes;
use hyper::{HeaderMap, Method};
use serde::Deserialize;
use serde_json::Value;
use sqlx::PgPool;
use time::OffsetDateTime;

use super::{
    Fediverse, actors,
    documents::{self, Blog},
    signatures::{self, Problem},
};
use crate::db::{self, fediverse::RemoteActor, settings::Settings};

/// What became of an activity that was taken in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Seen before: acknowledged, nothing done again.
    Replayed,
    /// A kind of activity the blog does not act on (yet).
    Ignored,
}

/// Why an activity was refused.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("{0}")]
    Malformed(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("this instance is blocked")]
    Blocked,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The fields every activity must have; the object is read by kind.
#[derive(Debug, Deserialize)]
struct Activity {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    actor: IdOf,
    #[serde(default)]
    object: Value,
}

/// An id, or an object with one.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum IdOf {
    Id(String),
    Object { id: String },
}

impl IdOf {
    fn id(&self) -> &str {
        match self {
            IdOf::Id(id) | IdOf::Object { id } => id,
        }
    }
}

fn object_id(object: &Value) -> Option<&str> {
    match object {
        Value::String(id) => Some(id),
        Value::Object(map) => map.get("id").and_then(Value::as_str),
        _ => None,
    }
}

fn object_type(object: &Value) -> Option<&str> {
    object.get("type").and_then(Value::as_str)
}

/// Takes one POST to an inbox.
pub async fn receive(
    fediverse: &Arc<Fediverse>,
    db: &PgPool,
    settings: &Settings,
    path_and_query: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Outcome, Refusal> {
    let activity: Activity = serde_json::from_slice(body)
        .map_err(|e| Refusal::Malformed(format!("not an activity: {e}")))?;
    let actor_id = activity.actor.id().to_owned();
    let domain = actors::domain_of(&actor_id)
        .ok_or_else(|| Refusal::Malformed("the actor is not a URL".into()))?;
    if actors::domain_of(&activity.id).as_deref() != Some(domain.as_str()) {
        return Err(Refusal::Malformed(
            "the activity's id is not on its actor's server".into(),
        ));
    }
    let parsed = signatures::parse(headers).map_err(unauthorized)?;
    signatures::check_coverage(&parsed, headers, Some(body), OffsetDateTime::now_utc())
        .map_err(unauthorized)?;
    let key_domain = actors::domain_of(&parsed.key_id)
        .ok_or_else(|| Refusal::Unauthorized("the keyId is not a URL".into()))?;
    if db::fediverse::domain_action(db, &key_domain)
        .await?
        .as_deref()
        == Some("block")
        || db::fediverse::domain_action(db, &domain).await?.as_deref() == Some("block")
    {
        return Err(Refusal::Blocked);
    }
    let cached = db::fediverse::actor_by_key_id(db, &parsed.key_id).await?;
    // An account deleted over there can no longer show its key: a Delete from an actor never
    // seen here is acknowledged without a fetch (there is nothing of theirs to remove).
    if cached.is_none()
        && activity.kind == "Delete"
        && object_id(&activity.object) == Some(&actor_id)
    {
        return Ok(Outcome::Ignored);
    }
    let verify = |actor: &RemoteActor| {
        signatures::verify(
            &parsed,
            &actor.public_key_pem,
            &Method::POST,
            path_and_query,
            headers,
        )
    };
    let signer = match cached {
        Some(actor) if verify(&actor).is_ok() => actor,
        // Not known, or its key changed: fetched (again) from its server.
        _ => {
            let actor = actors::refresh(fediverse, db, &parsed.key_id)
                .await
                .map_err(|e| Refusal::Unauthorized(format!("the signer's key: {e}")))?;
            verify(&actor).map_err(unauthorized)?;
            actor
        }
    };
    if signer.uri != actor_id {
        return Err(Refusal::Unauthorized(
            "the activity's actor is not the one who signed it".into(),
        ));
    }
    db::fediverse::instance_heard(db, &signer.domain).await?;
    if !db::fediverse::first_sight(db, &activity.id).await? {
        return Ok(Outcome::Replayed);
    }
    let blog = fediverse.blog(settings);
    match activity.kind.as_str() {
        "Follow" => follow(db, &blog, settings, &signer, &activity).await,
        "Undo"
            if object_type(&activity.object) == Some("Follow") || activity.object.is_string() =>
        {
            unfollow(db, &signer, &activity).await
        }
        "Delete" if object_id(&activity.object) == Some(&signer.uri) => {
            let mut conn = db.acquire().await?;
            db::fediverse::remove_follower(&mut conn, signer.id).await?;
            Ok(Outcome::Done)
        }
        "Update" if object_id(&activity.object) == Some(&signer.uri) => {
            // Their profile (or key) changed: read it again. A failure leaves the old copy.
            if let Err(error) = actors::refresh(fediverse, db, &signer.uri).await {
                tracing::info!(%error, actor = %signer.uri, "fediverse: a profile update could not be read");
            }
            Ok(Outcome::Done)
        }
        _ => Ok(Outcome::Ignored),
    }
}

fn unauthorized(problem: Problem) -> Refusal {
    Refusal::Unauthorized(problem.to_string())
}

async fn follow(
    db: &PgPool,
    blog: &Blog<'_>,
    settings: &Settings,
    signer: &RemoteActor,
    activity: &Activity,
) -> Result<Outcome, Refusal> {
    if object_id(&activity.object) != Some(blog.actor().as_str()) {
        // Following someone else: not ours to answer.
        return Ok(Outcome::Ignored);
    }
    let mut tx = db.begin().await?;
    let state = db::fediverse::add_follower(
        &mut tx,
        signer.id,
        &activity.id,
        !settings.fediverse_approve_followers,
    )
    .await?;
    if state == "accepted" {
        let accept = documents::answer_follow(
            blog,
            "Accept",
            &activity.id,
            &signer.uri,
            OffsetDateTime::now_utc(),
        );
        db::fediverse::queue(&mut tx, &signer.inbox, &signer.domain, &accept.to_string()).await?;
    }
    tx.commit().await?;
    Ok(Outcome::Done)
}

async fn unfollow(
    db: &PgPool,
    signer: &RemoteActor,
    activity: &Activity,
) -> Result<Outcome, Refusal> {
    let mut conn = db.acquire().await?;
    let removed = db::fediverse::remove_follower(&mut conn, signer.id).await?;
    Ok(
        if removed.is_some() || object_id(&activity.object).is_some() {
            Outcome::Done
        } else {
            Outcome::Ignored
        },
    )
}

/// An editor let a waiting follower in: they are told with an `Accept`.
pub async fn approve(db: &PgPool, blog: &Blog<'_>, actor_id: i64) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let Some((follow_id, actor)) = db::fediverse::approve_follower(&mut tx, actor_id).await? else {
        return Ok(false);
    };
    let accept = documents::answer_follow(
        blog,
        "Accept",
        &follow_id,
        &actor.uri,
        OffsetDateTime::now_utc(),
    );
    db::fediverse::queue(&mut tx, &actor.inbox, &actor.domain, &accept.to_string()).await?;
    tx.commit().await?;
    Ok(true)
}

/// An editor turned a follower (or a waiting one) away: they are told with a `Reject`, which
/// ends the follow on their side too.
pub async fn reject(db: &PgPool, blog: &Blog<'_>, actor_id: i64) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let Some(follow_id) = db::fediverse::remove_follower(&mut tx, actor_id).await? else {
        return Ok(false);
    };
    let actor = db::fediverse::actor_with_id(&mut tx, actor_id).await?;
    let answer = documents::answer_follow(
        blog,
        "Reject",
        &follow_id,
        &actor.uri,
        OffsetDateTime::now_utc(),
    );
    db::fediverse::queue(&mut tx, &actor.inbox, &actor.domain, &answer.to_string()).await?;
    tx.commit().await?;
    Ok(true)
}
