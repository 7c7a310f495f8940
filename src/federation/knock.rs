//! Signed requests to other servers, "double knocking" as Fedify does: signed with RFC 9421
//! first; a server that refuses it (400, 401 or 403) is asked once more with the same request
//! signed the draft-cavage way, and one that took the draft is remembered for a month
//! (`fediverse_cavage_instances`) so that its next requests are signed that way at once.

use std::time::Duration;

use axum::body::Bytes;
use hyper::{HeaderMap, Method, StatusCode};
use sqlx::PgPool;
use time::OffsetDateTime;

use super::{
    Fediverse,
    signatures::{self, Style},
};
use crate::{
    db,
    outbound::{self, Answer, Outgoing},
};

/// One signed request: where, what, and how long it may take.
pub struct Signed<'a> {
    pub method: Method,
    pub url: &'a url::Url,
    /// Headers besides `Host`, `Date`, the digest and the signature.
    pub headers: HeaderMap,
    pub body: Option<Bytes>,
    pub deadline: Duration,
    pub max_answer: usize,
}

/// Whether an answer says "I could not verify that signature".
fn refused_signature(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
    )
}

/// Sends `request` signed with `key` (published as `key_id`), in the style its server takes.
pub async fn send(
    fediverse: &Fediverse,
    db: &PgPool,
    (key, key_id): (&rsa::RsaPrivateKey, &str),
    request: Signed<'_>,
) -> Result<Answer, outbound::Error> {
    let domain = signatures::authority(request.url);
    let first = match db::fediverse::needs_cavage(db, &domain).await {
        Ok(true) => Style::Cavage,
        Ok(false) => Style::Rfc9421,
        Err(error) => {
            tracing::warn!(%error, "fediverse: cannot read how {domain} takes signatures");
            Style::Rfc9421
        }
    };
    let answer = attempt(fediverse, (key, key_id), &request, first).await?;
    if !refused_signature(answer.status) {
        return Ok(answer);
    }
    let second = attempt(fediverse, (key, key_id), &request, first.other()).await?;
    if !refused_signature(second.status) {
        tracing::info!(%domain, style = first.other().as_str(), "fediverse: signing the other way");
        if let Err(error) =
            db::fediverse::learned_signature_style(db, &domain, first.other() == Style::Cavage)
                .await
        {
            tracing::warn!(%error, "fediverse: cannot remember how {domain} takes signatures");
        }
        return Ok(second);
    }
    // Refused both ways: the first answer is the one to report (and the style not learned).
    Ok(answer)
}

async fn attempt(
    fediverse: &Fediverse,
    (key, key_id): (&rsa::RsaPrivateKey, &str),
    request: &Signed<'_>,
    style: Style,
) -> Result<Answer, outbound::Error> {
    let mut headers = request.headers.clone();
    signatures::sign(
        key,
        key_id,
        style,
        &request.method,
        request.url,
        &mut headers,
        request.body.as_deref(),
        OffsetDateTime::now_utc(),
    );
    outbound::send(Outgoing {
        method: request.method.clone(),
        url: request.url,
        headers,
        body: request.body.clone().unwrap_or_default(),
        reach: fediverse.reach(),
        deadline: request.deadline,
        max_answer: request.max_answer,
    })
    .await
}
