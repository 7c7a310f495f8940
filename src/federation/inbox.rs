//! What arrives in the blog's inboxes: read in a strict shape, its HTTP Signature verified
//! against the signer's key (fetched once, fetched again if the key rotated), the signer
//! matched with the activity's actor, a replay ignored, then acted on: follows and unfollows,
//! profile updates, replies (handed back as `Outcome::Reply`: the web layer puts them through
//! the comment form's layers), their edits and deletions, likes and boosts. Anything else is
//! acknowledged and left (see `FEDERATION.md`).

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Seen before: acknowledged, nothing done again.
    Replayed,
    /// A kind of activity the blog does not act on (yet).
    Ignored,
    /// A public reply to a post or a comment, to become a comment.
    Reply(Box<RemoteReply>),
    /// Its author edited a reply that is a comment here: the new text, to be screened again.
    Edit {
        activity_id: String,
        comment_id: i64,
        text: String,
    },
    /// Likes or boosts of these posts were counted or taken back: their pages change.
    Counted(Vec<i64>),
}

/// A reply from the fediverse, checked: public, written by the one who sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteReply {
    /// The `Create`'s id: forgotten again should the reply not be stored (`unsee`).
    pub activity_id: String,
    pub note_id: String,
    /// What it answers: a post's or a comment's URL here, or another reply's Note.
    pub in_reply_to: String,
    /// Its text, paragraphs kept (see `render::sanitize::html_to_text`).
    pub text: String,
    pub author_name: String,
    pub profile: String,
    pub actor_id: i64,
    /// Its instance's replies wait for a moderator (Admin → Fediverse).
    pub held: bool,
}

const PUBLIC_NAMES: [&str; 3] = [documents::PUBLIC, "as:Public", "Public"];

/// Whether an object is addressed to everyone (in `to` or `cc`): a direct message is never
/// made a public comment.
fn is_public(object: &Value) -> bool {
    ["to", "cc"].iter().any(|field| match object.get(field) {
        Some(Value::String(s)) => PUBLIC_NAMES.contains(&s.as_str()),
        Some(Value::Array(items)) => items
            .iter()
            .any(|i| i.as_str().is_some_and(|s| PUBLIC_NAMES.contains(&s))),
        _ => false,
    })
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
    #[error("too many activities from this instance; try again later")]
    TooMany(std::time::Duration),
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
    fediverse
        .inbox_limit
        .take(&key_domain)
        .map_err(Refusal::TooMany)?;
    let known = db::fediverse::known_signer(db, &parsed.key_id, &key_domain, &domain).await?;
    if known.blocked {
        return Err(Refusal::Blocked);
    }
    let cached = known.actor;
    // An account deleted over there can no longer show its key: a Delete from an actor never
    // seen here is acknowledged without a fetch (there is nothing of theirs to remove).
    if cached.is_none()
        && activity.kind == "Delete"
        && object_id(&activity.object) == Some(&actor_id)
    {
        return Ok(Outcome::Ignored);
    }
    // The URL the signer addressed: the blog's published one (a proxy in front may have
    // changed the Host the request arrived with).
    let target = url::Url::parse(&fediverse.base_url)
        .and_then(|base| base.join(path_and_query))
        .map_err(|_| Refusal::Malformed("the request's path".into()))?;
    let verify = |actor: &RemoteActor| {
        signatures::verify(
            &parsed,
            &actor.public_key_pem,
            &Method::POST,
            &target,
            headers,
        )
    };
    let signer = match cached {
        Some(actor) if verify(&actor).is_ok() => actor,
        Some(_) if known.fetched_lately => {
            return Err(Refusal::Unauthorized(
                "the signature does not verify with the signer's key".into(),
            ));
        }
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
    let blog = fediverse.blog(settings);
    if let "Like" | "Announce" = activity.kind.as_str() {
        let Some(path) = object_id(&activity.object).and_then(|o| own_path(&blog, o)) else {
            return Ok(Outcome::Ignored);
        };
        let kind = if activity.kind == "Like" {
            "like"
        } else {
            "announce"
        };
        let reacted =
            db::fediverse::react(db, &path, signer.id, kind, &activity.id, &signer.domain).await?;
        return Ok(match (reacted.first, reacted.counted) {
            (false, _) => Outcome::Replayed,
            (true, Some(post)) => Outcome::Counted(vec![post]),
            (true, None) => Outcome::Done,
        });
    }
    if !db::fediverse::first_sight(db, &activity.id, &signer.domain).await? {
        return Ok(Outcome::Replayed);
    }
    let outcome = act(fediverse, db, settings, &blog, &signer, &activity).await;
    if let Err(Refusal::Database(_)) = &outcome {
        // Not taken: the server's retry must not be mistaken for a replay.
        unsee(db, &activity.id).await;
    }
    outcome
}

/// Forgets that an activity was seen, when what it asked for could not be stored: its server
/// sends it again (it was answered with an error) and it is taken then. A failure here is
/// logged; that activity then reads as a replay.
pub async fn unsee(db: &PgPool, activity_id: &str) {
    if let Err(error) = db::fediverse::forget_activity(db, activity_id).await {
        tracing::warn!(%error, activity = activity_id, "fediverse: an activity not taken stays marked as seen");
    }
}

/// Does what an activity seen for the first time asks.
async fn act(
    fediverse: &Arc<Fediverse>,
    db: &PgPool,
    settings: &Settings,
    blog: &Blog<'_>,
    signer: &RemoteActor,
    activity: &Activity,
) -> Result<Outcome, Refusal> {
    match activity.kind.as_str() {
        "Create" => reply(db, signer, &activity.id, &activity.object).await,
        "Update" if object_type(&activity.object) == Some("Note") => {
            edit(db, signer, &activity.id, &activity.object).await
        }
        "Delete" if object_id(&activity.object) != Some(&signer.uri) => {
            let Some(note) = object_id(&activity.object) else {
                return Ok(Outcome::Ignored);
            };
            db::fediverse::delete_reply(db, note, signer.id).await?;
            Ok(Outcome::Done)
        }
        "Undo" if matches!(object_type(&activity.object), Some("Like" | "Announce")) => {
            let kind = if object_type(&activity.object) == Some("Like") {
                "like"
            } else {
                "announce"
            };
            let path = activity
                .object
                .get("object")
                .and_then(object_id)
                .and_then(|o| own_path(blog, o));
            let posts = db::fediverse::unreact(
                db,
                signer.id,
                kind,
                object_id(&activity.object),
                path.as_deref(),
            )
            .await?;
            Ok(Outcome::Counted(posts))
        }
        "Follow" => follow(db, blog, settings, signer, activity).await,
        "Undo"
            if object_type(&activity.object) == Some("Follow") || activity.object.is_string() =>
        {
            unfollow(db, blog, signer, activity).await
        }
        "Delete" if object_id(&activity.object) == Some(&signer.uri) => {
            let mut conn = db.acquire().await?;
            db::fediverse::remove_all_follows(&mut conn, signer.id).await?;
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

/// The path of one of the blog's own URLs.
fn own_path(blog: &Blog<'_>, url: &str) -> Option<String> {
    url.strip_prefix(blog.base_url)
        .filter(|path| path.starts_with('/'))
        .map(|path| path.split(['#', '?']).next().unwrap_or(path).to_owned())
}

/// A `Create`: a public `Note` by the sender answering something, or nothing for the blog.
async fn reply(
    db: &PgPool,
    signer: &RemoteActor,
    activity_id: &str,
    note: &Value,
) -> Result<Outcome, Refusal> {
    let (Some(note_id), Some("Note" | "Article" | "Page")) = (object_id(note), object_type(note))
    else {
        return Ok(Outcome::Ignored);
    };
    let Some(in_reply_to) = note.get("inReplyTo").and_then(object_id) else {
        return Ok(Outcome::Ignored);
    };
    if note.get("attributedTo").and_then(object_id) != Some(signer.uri.as_str())
        || actors::domain_of(note_id).as_deref() != Some(signer.domain.as_str())
    {
        return Err(Refusal::Unauthorized(
            "the reply is not the sender's own".into(),
        ));
    }
    if !is_public(note) || db::fediverse::has_reply(db, note_id).await? {
        return Ok(Outcome::Ignored);
    }
    let html = note.get("content").and_then(Value::as_str).unwrap_or("");
    let text = crate::render::sanitize::html_to_text(html);
    if text.trim().is_empty() {
        return Ok(Outcome::Ignored);
    }
    let held = db::fediverse::domain_action(db, &signer.domain)
        .await?
        .as_deref()
        == Some("hold");
    let author_name = if signer.name.trim().is_empty() {
        format!("@{}@{}", signer.username, signer.domain)
    } else {
        signer.name.clone()
    };
    let profile = signer.url.clone().unwrap_or_else(|| signer.uri.clone());
    Ok(Outcome::Reply(Box::new(RemoteReply {
        activity_id: activity_id.to_owned(),
        note_id: note_id.to_owned(),
        in_reply_to: in_reply_to.to_owned(),
        text,
        author_name,
        profile,
        actor_id: signer.id,
        held,
    })))
}

/// An `Update` of a reply: its new text, rendered as a comment's.
async fn edit(
    db: &PgPool,
    signer: &RemoteActor,
    activity_id: &str,
    note: &Value,
) -> Result<Outcome, Refusal> {
    let Some(note_id) = object_id(note) else {
        return Ok(Outcome::Ignored);
    };
    let html = note.get("content").and_then(Value::as_str).unwrap_or("");
    let text = crate::render::sanitize::html_to_text(html);
    if text.trim().is_empty() {
        return Ok(Outcome::Ignored);
    }
    let text: String = text
        .chars()
        .take(crate::domain::comment::MAX_BODY_CHARS)
        .collect();
    Ok(
        match db::fediverse::reply_comment(db, note_id, signer.id).await? {
            Some(comment_id) => Outcome::Edit {
                activity_id: activity_id.to_owned(),
                comment_id,
                text,
            },
            None => Outcome::Ignored,
        },
    )
}

fn unauthorized(problem: Problem) -> Refusal {
    Refusal::Unauthorized(problem.to_string())
}

/// Whom a Follow's object names: the blog (`Some(None)`), one of its authors who is an
/// account (`Some(Some(id))`), or nobody here (None).
async fn followed(
    db: &PgPool,
    blog: &Blog<'_>,
    object: Option<&str>,
) -> Result<Option<Option<i64>>, sqlx::Error> {
    match object.and_then(|object| documents::followed_actor(blog, object)) {
        Some(Some(author)) => Ok(db::fediverse::author_actor(db, author)
            .await?
            .map(|author| Some(author.id))),
        who => Ok(who),
    }
}

async fn follow(
    db: &PgPool,
    blog: &Blog<'_>,
    settings: &Settings,
    signer: &RemoteActor,
    activity: &Activity,
) -> Result<Outcome, Refusal> {
    let Some(who) = followed(db, blog, object_id(&activity.object)).await? else {
        // Following someone else: not ours to answer.
        return Ok(Outcome::Ignored);
    };
    let mut tx = db.begin().await?;
    let state = db::fediverse::add_follower(
        &mut tx,
        signer.id,
        who,
        &activity.id,
        !settings.fediverse_approve_followers,
    )
    .await?;
    if state == "accepted" {
        let accept = documents::answer_follow(
            &blog.speaker(who),
            "Accept",
            &activity.id,
            &signer.uri,
            OffsetDateTime::now_utc(),
        );
        let accept = accept.to_string();
        db::fediverse::queue(&mut tx, &signer.inbox, &signer.domain, &accept, who).await?;
    }
    tx.commit().await?;
    Ok(Outcome::Done)
}

/// An `Undo(Follow)`: the follow it names ends (by whom it followed, or by the Follow's id when
/// only that is given).
async fn unfollow(
    db: &PgPool,
    blog: &Blog<'_>,
    signer: &RemoteActor,
    activity: &Activity,
) -> Result<Outcome, Refusal> {
    let mut conn = db.acquire().await?;
    let inner = activity.object.get("object").and_then(object_id);
    let removed = match (inner, object_id(&activity.object)) {
        // An author who is no longer an account may still be unfollowed.
        (Some(inner), _) => match documents::followed_actor(blog, inner) {
            Some(who) => db::fediverse::remove_follower(&mut conn, signer.id, who)
                .await?
                .is_some(),
            None => false,
        },
        (None, Some(follow_id)) => {
            db::fediverse::remove_follow_by_id(&mut conn, signer.id, follow_id).await?
        }
        (None, None) => false,
    };
    Ok(if removed || object_id(&activity.object).is_some() {
        Outcome::Done
    } else {
        Outcome::Ignored
    })
}

/// An editor let a waiting follower of the blog (`followed` None) or of an author in: they are
/// told with an `Accept` from the one they follow.
pub async fn approve(
    db: &PgPool,
    blog: &Blog<'_>,
    actor_id: i64,
    followed: Option<i64>,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let Some((follow_id, actor)) =
        db::fediverse::approve_follower(&mut tx, actor_id, followed).await?
    else {
        return Ok(false);
    };
    let accept = documents::answer_follow(
        &blog.speaker(followed),
        "Accept",
        &follow_id,
        &actor.uri,
        OffsetDateTime::now_utc(),
    );
    let accept = accept.to_string();
    db::fediverse::queue(&mut tx, &actor.inbox, &actor.domain, &accept, followed).await?;
    tx.commit().await?;
    Ok(true)
}

/// An editor turned a follower (or a waiting one) away: they are told with a `Reject`, which
/// ends the follow on their side too.
pub async fn reject(
    db: &PgPool,
    blog: &Blog<'_>,
    actor_id: i64,
    followed: Option<i64>,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let Some(follow_id) = db::fediverse::remove_follower(&mut tx, actor_id, followed).await? else {
        return Ok(false);
    };
    let actor = db::fediverse::actor_with_id(&mut tx, actor_id).await?;
    let answer = documents::answer_follow(
        &blog.speaker(followed),
        "Reject",
        &follow_id,
        &actor.uri,
        OffsetDateTime::now_utc(),
    );
    let answer = answer.to_string();
    db::fediverse::queue(&mut tx, &actor.inbox, &actor.domain, &answer, followed).await?;
    tx.commit().await?;
    Ok(true)
}
