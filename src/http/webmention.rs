//! The Webmention endpoint (`POST /webmention`, advertised by every page's `<link>` and a post
//! page's `Link` header while Webmention is on): the request is checked at once (two http(s)
//! URLs, the target a post of this blog or one of its comments, not too many from one site
//! waiting) and kept for the worker, which fetches the source later (`webmention`). A verified
//! reply or mention comes back here (`Take`) to go through the comment form's layers.

use std::sync::Arc;

use axum::{
    Form, Router,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use futures_util::future::BoxFuture;
use serde::Deserialize;

use crate::{
    db,
    error::{AppError, PlainErrorBody},
    state::AppState,
    webmention::{self, Mention, Taker},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/webmention", post(receive))
}

/// Starts the worker that federates and verifies Webmentions (see `federation::delivery`).
pub fn ensure_worker(state: &AppState) {
    state
        .fediverse
        .ensure_worker(&state.db, Arc::new(Take(state.clone())));
}

/// Hands verified replies to the comment pipeline.
struct Take(AppState);

impl Taker for Take {
    fn take<'a>(&'a self, mention: Mention<'a>) -> BoxFuture<'a, anyhow::Result<Option<i64>>> {
        Box::pin(async move {
            let state = &self.0;
            let settings = state.settings().await?;
            let remote = super::comments::Remote {
                author_name: &mention.entry.author_name,
                profile: mention.entry.author_url.as_deref(),
                text: &mention.entry.text,
                held: false,
            };
            let taken = super::comments::from_elsewhere(
                state,
                &settings,
                mention.post_path,
                mention.parent_comment_id,
                remote,
            )
            .await;
            taken.map_err(for_worker)
        })
    }

    fn edit<'a>(
        &'a self,
        comment_id: i64,
        author_name: &'a str,
        text: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<bool>> {
        Box::pin(async move {
            let state = &self.0;
            let settings = state.settings().await?;
            let edited = super::comments::edited_elsewhere(
                state,
                &settings,
                comment_id,
                Some(author_name),
                text,
            )
            .await;
            edited.map_err(for_worker)
        })
    }
}

/// The worker tells a database error (tried again later) from any other (the mention left).
fn for_worker(error: AppError) -> anyhow::Error {
    match error {
        AppError::Database(error) => error.into(),
        error => anyhow::anyhow!("{error}"),
    }
}

#[derive(Debug, Deserialize)]
struct Fields {
    #[serde(default)]
    source: String,
    #[serde(default)]
    target: String,
}

/// A refusal a sender reads in its log (or a person in their browser): plain text.
fn refuse(status: StatusCode, reason: &str) -> Response {
    let mut response = (status, format!("{reason}\n")).into_response();
    response.extensions_mut().insert(PlainErrorBody);
    response
}

async fn receive(
    State(state): State<AppState>,
    Form(fields): Form<Fields>,
) -> Result<Response, AppError> {
    let settings = state.settings().await?;
    if !settings.webmention_enabled || state.fediverse.cannot_federate().is_some() {
        return Err(AppError::NotFound);
    }
    let parse = |text: &str| {
        url::Url::parse(text.trim())
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.host_str().is_some())
    };
    let Some(source) = parse(&fields.source) else {
        return Ok(refuse(
            StatusCode::BAD_REQUEST,
            "source must be an http or https URL.",
        ));
    };
    let Some(mut target) = parse(&fields.target) else {
        return Ok(refuse(
            StatusCode::BAD_REQUEST,
            "target must be an http or https URL.",
        ));
    };
    target.set_fragment(None);
    if source == target {
        return Ok(refuse(
            StatusCode::BAD_REQUEST,
            "source and target are the same page.",
        ));
    }
    let base =
        url::Url::parse(&state.fediverse.base_url).map_err(|e| AppError::Internal(e.into()))?;
    if target.origin() != base.origin() {
        return Ok(refuse(
            StatusCode::BAD_REQUEST,
            "target is not a page of this blog.",
        ));
    }
    let found = super::comments::own_target(&state, target.path()).await?;
    let post = match &found {
        Some((path, _)) => db::posts::comment_target(&state.db, path)
            .await?
            .filter(|row| row.kind == crate::domain::post::PostKind::Post),
        None => None,
    };
    let (Some(post), Some((_, parent))) = (post, found) else {
        return Ok(refuse(
            StatusCode::BAD_REQUEST,
            "target is not a post of this blog that takes Webmentions.",
        ));
    };
    let host = source.host_str().unwrap_or_default().to_ascii_lowercase();
    if db::webmention::waiting_from(&state.db, &host).await? >= webmention::MAX_WAITING_PER_SITE {
        let mut response = refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many Webmentions from this site are waiting to be checked; send again later.",
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("600"));
        return Ok(response);
    }
    db::webmention::receive(
        &state.db,
        source.as_str(),
        &host,
        target.as_str(),
        post.id,
        parent,
    )
    .await?;
    ensure_worker(&state);
    tracing::info!(%source, %target, "webmention: received");
    Ok((
        StatusCode::ACCEPTED,
        "Thank you: the Webmention will be checked shortly.\n",
    )
        .into_response())
}
