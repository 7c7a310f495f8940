//! The blog's face to the fediverse: WebFinger, NodeInfo, the actor and its collections, the
//! inboxes, and a post's own URL answering as an `Article` when asked for ActivityPub JSON.
//! Everything here is 404 while the fediverse is off (`/admin/fediverse`). Never kept by the
//! page cache (it is outside the public stack, and the post URL's JSON is asked for with an
//! Accept header the cache's key leaves out).

use std::sync::Arc;

use axum::{
    Router,
    body::Bytes,
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::Value;

use crate::{
    db::{self, settings::Settings},
    error::AppError,
    federation::{
        self, Fediverse, documents,
        inbox::{Outcome, Refusal},
    },
    state::AppState,
};

/// The largest activity the inboxes read (Mastodon's own limit is about a megabyte; posts with
/// long HTML are the largest activities, replies far smaller).
pub const INBOX_BODY_BYTES: usize = 256 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/.well-known/webfinger", get(webfinger))
        .route("/.well-known/nodeinfo", get(nodeinfo_links))
        .route("/nodeinfo/2.1", get(nodeinfo))
        .route("/fediverse/blog", get(actor))
        .route("/fediverse/blog/inbox", post(inbox))
        .route("/fediverse/inbox", post(inbox))
        .route("/fediverse/blog/outbox", get(outbox))
        .route("/fediverse/blog/followers", get(followers))
        .route("/fediverse/blog/following", get(following))
        .route("/fediverse/authors/{id}", get(author_actor))
        .route("/fediverse/authors/{id}/inbox", post(inbox))
        .route("/fediverse/authors/{id}/outbox", get(author_outbox))
        .route("/fediverse/authors/{id}/followers", get(author_followers))
        .route("/fediverse/authors/{id}/following", get(author_following))
        .route("/fediverse/interact", get(interact_form).post(interact))
        .route("/fediverse/posts/{id}/replies", get(replies))
}

/// The settings, when the fediverse is on; a 404 otherwise.
async fn federating(state: &AppState) -> Result<Settings, AppError> {
    let settings = state.settings().await?;
    on_or_not_found(state, settings)
}

fn on_or_not_found(state: &AppState, settings: Settings) -> Result<Settings, AppError> {
    if !settings.fediverse_enabled || state.fediverse.cannot_federate().is_some() {
        return Err(AppError::NotFound);
    }
    super::webmention::ensure_worker(state);
    Ok(settings)
}

/// How old the settings an inbox acts on may be: a flood brings a thousand activities a
/// second, and a change of the settings may wait this long to reach the inboxes (replies are
/// screened with the settings read again).
const INBOX_SETTINGS_AGE: std::time::Duration = std::time::Duration::from_secs(1);

fn json(content_type: &'static str, value: &Value) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            // Fetched by servers and by people's browsers (remote-follow pages).
            (
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ),
            (header::VARY, HeaderValue::from_static("Accept")),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("max-age=60"),
            ),
        ],
        value.to_string(),
    )
        .into_response()
}

fn activity_json(value: &Value) -> Response {
    json("application/activity+json; charset=utf-8", value)
}

#[derive(Deserialize)]
struct WebfingerQuery {
    resource: Option<String>,
}

async fn webfinger(
    State(state): State<AppState>,
    Query(query): Query<WebfingerQuery>,
) -> Result<Response, AppError> {
    let settings = federating(&state).await?;
    let blog = state.fediverse.blog(&settings);
    let Some(resource) = query.resource.filter(|r| !r.trim().is_empty()) else {
        let mut response =
            (StatusCode::BAD_REQUEST, "Ask for ?resource=acct:name@host").into_response();
        response
            .extensions_mut()
            .insert(crate::error::PlainErrorBody);
        return Ok(response);
    };
    if documents::names_blog(&blog, &resource) {
        return Ok(json(
            "application/jrd+json; charset=utf-8",
            &documents::webfinger(&blog),
        ));
    }
    // An author who is an account: by handle or by actor.
    let author = match documents::handle_name(&blog, &resource) {
        Some(name) => db::fediverse::author_by_name(&state.db, name).await?,
        None => match documents::author_of(&blog, resource.trim()) {
            Some(id) => db::fediverse::author_actor(&state.db, id).await?,
            None => None,
        },
    };
    let author = author.ok_or(AppError::NotFound)?;
    Ok(json(
        "application/jrd+json; charset=utf-8",
        &documents::webfinger_author(&blog, &author),
    ))
}

async fn nodeinfo_links(State(state): State<AppState>) -> Result<Response, AppError> {
    federating(&state).await?;
    Ok(json(
        "application/json; charset=utf-8",
        &documents::nodeinfo_links(&state.fediverse.base_url),
    ))
}

async fn nodeinfo(State(state): State<AppState>) -> Result<Response, AppError> {
    let settings = federating(&state).await?;
    let posts = db::fediverse::public_post_count(&state.db, None).await?;
    Ok(json(
        r#"application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"; charset=utf-8"#,
        &documents::nodeinfo(&settings.title, posts),
    ))
}

/// The actor; a browser that follows its id is sent to the blog.
async fn actor(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    let settings = federating(&state).await?;
    if !federation::asks_for_activity(&headers) && !asks_for_json(&headers) {
        return Ok(Redirect::to("/").into_response());
    }
    let keys = state
        .fediverse
        .keys(&state.db)
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let blog = state.fediverse.blog(&settings);
    Ok(activity_json(&documents::actor(
        &blog,
        &keys.public_pem,
        settings.fediverse_approve_followers,
    )))
}

/// Plain `application/json` (some tools ask for that) also gets the document.
fn asks_for_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"))
}

async fn outbox(State(state): State<AppState>) -> Result<Response, AppError> {
    let settings = federating(&state).await?;
    let blog = state.fediverse.blog(&settings);
    let items = outbox_items(&state, &blog, None).await?;
    let total = db::fediverse::public_post_count(&state.db, None).await?;
    Ok(activity_json(&documents::collection(
        &blog.outbox(),
        total,
        Some(items),
    )))
}

/// The newest posts (all, or an author's) as the `Create`s their actor sent.
async fn outbox_items(
    state: &AppState,
    blog: &documents::Blog<'_>,
    by: Option<i64>,
) -> Result<Vec<Value>, AppError> {
    let posts = db::fediverse::newest_posts(&state.db, by, 20).await?;
    Ok(posts
        .iter()
        .map(|post| {
            let content = federation::content_html(&post.body_html, &state.fediverse.base_url);
            let mut create =
                documents::post_activity(blog, "Create", post, &content, post.published_at);
            // The same id every time it is listed.
            create["id"] = Value::String(format!("{}{}#create", blog.base_url, post.path));
            if let Value::Object(map) = &mut create {
                map.remove("@context");
            }
            create
        })
        .collect())
}

/// An author who is an account, with the blog's settings; a 404 otherwise.
async fn federating_author(
    state: &AppState,
    id: i64,
) -> Result<(Settings, db::fediverse::AuthorActor), AppError> {
    let settings = federating(state).await?;
    let author = db::fediverse::author_actor(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((settings, author))
}

/// An author's actor; a browser that follows its id is sent to the blog.
async fn author_actor(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<i64>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let (settings, author) = federating_author(&state, id).await?;
    if !federation::asks_for_activity(&headers) && !asks_for_json(&headers) {
        return Ok(Redirect::to("/").into_response());
    }
    let keys = state
        .fediverse
        .keys_of(&state.db, Some(author.id))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let blog = state.fediverse.blog(&settings);
    Ok(activity_json(&documents::author_actor(
        &blog,
        &author,
        &keys.public_pem,
        settings.fediverse_approve_followers,
    )))
}

async fn author_outbox(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<i64>,
) -> Result<Response, AppError> {
    let (settings, author) = federating_author(&state, id).await?;
    let blog = state.fediverse.blog(&settings);
    let items = outbox_items(&state, &blog, Some(author.id)).await?;
    let total = db::fediverse::public_post_count(&state.db, Some(author.id)).await?;
    Ok(activity_json(&documents::collection(
        &blog.outbox_of(Some(author.id)),
        total,
        Some(items),
    )))
}

async fn author_followers(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<i64>,
) -> Result<Response, AppError> {
    let (settings, author) = federating_author(&state, id).await?;
    let blog = state.fediverse.blog(&settings);
    let total = db::fediverse::follower_count(&state.db, Some(author.id)).await?;
    Ok(activity_json(&documents::collection(
        &blog.followers_of(Some(author.id)),
        total,
        None,
    )))
}

async fn author_following(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<i64>,
) -> Result<Response, AppError> {
    let (settings, author) = federating_author(&state, id).await?;
    let blog = state.fediverse.blog(&settings);
    Ok(activity_json(&documents::collection(
        &blog.following_of(Some(author.id)),
        0,
        Some(Vec::new()),
    )))
}

/// The followers' number; who they are is the blog's to know.
async fn followers(State(state): State<AppState>) -> Result<Response, AppError> {
    let settings = federating(&state).await?;
    let blog = state.fediverse.blog(&settings);
    let total = db::fediverse::follower_count(&state.db, None).await?;
    Ok(activity_json(&documents::collection(
        &blog.followers(),
        total,
        None,
    )))
}

async fn following(State(state): State<AppState>) -> Result<Response, AppError> {
    let settings = federating(&state).await?;
    let blog = state.fediverse.blog(&settings);
    Ok(activity_json(&documents::collection(
        &blog.following(),
        0,
        Some(Vec::new()),
    )))
}

/// Takes an activity on the inbox's own threads, which yield the processor to readers (see
/// `federation::inbox_threads`).
async fn inbox(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    federation::inbox_threads::spawn(take_activity(state, uri, headers, body))
        .await
        .map_err(|error| AppError::Internal(anyhow::anyhow!("the inbox's task: {error}")))?
}

async fn take_activity(
    state: AppState,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let settings = state.settings_within(INBOX_SETTINGS_AGE).await?;
    let settings = on_or_not_found(&state, settings)?;
    let path = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned());
    let fediverse: &Arc<Fediverse> = &state.fediverse;
    match federation::inbox::receive(fediverse, &state.db, &settings, &path, &headers, &body).await
    {
        // A reply goes through the comment layers with the settings as they are now (blocked
        // terms, policy): replies are few beside likes.
        Ok(Outcome::Reply(reply)) => {
            let taken = async {
                let settings = state.settings().await?;
                take_reply(&state, &settings, &reply).await
            };
            if let Err(error) = taken.await {
                federation::inbox::unsee(&state.db, &reply.activity_id).await;
                return Err(error);
            }
            Ok(StatusCode::ACCEPTED.into_response())
        }
        Ok(Outcome::Counted(posts)) => {
            // After the commit, as a comment's (`page_cache::notices`): this process's pages
            // at once, the other processes' with one notice for many likes.
            state.pages.invalidate_comments_of(&posts);
            for post in posts {
                state.comment_notices.changed(post);
            }
            Ok(StatusCode::ACCEPTED.into_response())
        }
        Ok(Outcome::Edit {
            activity_id,
            comment_id,
            text,
        }) => {
            let taken = async {
                let settings = state.settings().await?;
                super::comments::edited_elsewhere(&state, &settings, comment_id, None, &text).await
            };
            if let Err(error) = taken.await {
                federation::inbox::unsee(&state.db, &activity_id).await;
                return Err(error);
            }
            Ok(StatusCode::ACCEPTED.into_response())
        }
        Ok(outcome) => {
            if outcome == Outcome::Ignored {
                tracing::debug!("fediverse: an activity acknowledged and left");
            }
            Ok(StatusCode::ACCEPTED.into_response())
        }
        Err(Refusal::Database(error)) => Err(error.into()),
        Err(Refusal::TooMany(wait)) => {
            tracing::info!("fediverse: an instance's activities held back");
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                Refusal::TooMany(wait).to_string(),
            )
                .into_response();
            let seconds = wait.as_secs().max(1).to_string();
            if let Ok(value) = HeaderValue::from_str(&seconds) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
                .extensions_mut()
                .insert(crate::error::PlainErrorBody);
            Ok(response)
        }
        Err(refusal) => {
            let status = match refusal {
                Refusal::Malformed(_) => StatusCode::BAD_REQUEST,
                Refusal::Blocked => StatusCode::FORBIDDEN,
                _ => StatusCode::UNAUTHORIZED,
            };
            tracing::info!(%refusal, %status, "fediverse: an activity refused");
            // Servers read the reason in their logs: plain text, not the blog's error page.
            let mut response = (status, refusal.to_string()).into_response();
            response
                .extensions_mut()
                .insert(crate::error::PlainErrorBody);
            Ok(response)
        }
    }
}

/// A reply from the fediverse, placed under what it answers (a post, one of its comments, or
/// another reply from the fediverse) and put through the comment form's layers. A reply to
/// something the blog does not have is left.
async fn take_reply(
    state: &AppState,
    settings: &Settings,
    reply: &federation::inbox::RemoteReply,
) -> Result<(), AppError> {
    let base = &state.fediverse.base_url;
    let own = reply
        .in_reply_to
        .strip_prefix(base.as_str())
        .filter(|path| path.starts_with('/'))
        .map(|path| path.split(['#', '?']).next().unwrap_or(path));
    let target = match own {
        Some(path) => super::comments::own_target(state, path).await?,
        None => db::fediverse::note_target(&state.db, &reply.in_reply_to)
            .await?
            .map(|(path, id)| (path, Some(id))),
    };
    let Some((path, parent)) = target else {
        tracing::debug!(note = %reply.note_id, "fediverse: a reply to something not here");
        return Ok(());
    };
    let remote = super::comments::Remote {
        author_name: &reply.author_name,
        profile: Some(&reply.profile),
        text: &reply.text,
        held: reply.held,
    };
    if let Some(id) =
        super::comments::from_elsewhere(state, settings, &path, parent, remote).await?
    {
        db::fediverse::mark_reply(&state.db, id, &reply.note_id, reply.actor_id).await?;
        tracing::info!(comment = id, note = %reply.note_id, "fediverse: a reply taken in");
    }
    Ok(())
}

/// A comment's URL asked for ActivityPub JSON: the `Note` of an answer the blog sent to the
/// fediverse, or of another comment written here (as its post's `replies` lists it).
pub async fn answer(state: &AppState, comment_id: i64) -> Result<Response, AppError> {
    let settings = federating(state).await?;
    let blog = state.fediverse.blog(&settings);
    if let Some(answer) = db::fediverse::sent_answer(&state.db, comment_id).await? {
        return Ok(activity_json(&documents::answer_document(&blog, &answer)));
    }
    let comment = db::fediverse::thread_comment(&state.db, comment_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut note = documents::comment_note(&blog, &comment);
    note["@context"] = Value::String("https://www.w3.org/ns/activitystreams".into());
    Ok(activity_json(&note))
}

/// A post's comments for the fediverse (`replies` of its `Article`): the first 200.
async fn replies(
    State(state): State<AppState>,
    axum::extract::Path(post_id): axum::extract::Path<i64>,
) -> Result<Response, AppError> {
    let settings = federating(&state).await?;
    let blog = state.fediverse.blog(&settings);
    let (total, comments) = db::fediverse::replies_of(&state.db, post_id, 200)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(activity_json(&documents::replies(
        &blog, post_id, total, &comments,
    )))
}

/// A post's URL asked for ActivityPub JSON: the `Article`, or a `Tombstone` (410) for one that
/// was federated and is no longer public.
pub async fn article(state: &AppState, path: &str) -> Result<Response, AppError> {
    let settings = federating(state).await?;
    let blog = state.fediverse.blog(&settings);
    let Some((post, visible, deleted)) = db::fediverse::post_by_path(&state.db, path).await? else {
        return Err(AppError::NotFound);
    };
    if !visible {
        if deleted {
            let mut response = activity_json(&documents::tombstone(&blog, path));
            *response.status_mut() = StatusCode::GONE;
            return Ok(response);
        }
        return Err(AppError::NotFound);
    }
    let content = federation::content_html(&post.body_html, &state.fediverse.base_url);
    Ok(activity_json(&documents::article_document(
        &blog, &post, &content,
    )))
}

#[derive(Debug, Default, Deserialize)]
struct InteractFields {
    #[serde(default)]
    uri: String,
    #[serde(default)]
    handle: String,
}

/// What a reader may follow or reply to from their server: the blog's actor, or one of its
/// public posts (as its title). Anything else is not this blog's to send people to.
async fn interaction_target(
    state: &AppState,
    settings: &Settings,
    uri: &str,
) -> Result<Option<String>, AppError> {
    let blog = state.fediverse.blog(settings);
    if uri.is_empty() || uri == blog.actor() {
        return Ok(None);
    }
    let path = uri
        .strip_prefix(state.fediverse.base_url.as_str())
        .filter(|path| path.starts_with('/'))
        .ok_or(AppError::NotFound)?;
    match db::fediverse::post_by_path(&state.db, path).await? {
        Some((post, true, _)) => Ok(Some(post.title)),
        _ => Err(AppError::NotFound),
    }
}

async fn interact_page(
    state: &AppState,
    settings: &Settings,
    fields: InteractFields,
    post_title: Option<String>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let site = state.site().await?;
    let blog = state.fediverse.blog(settings);
    let following = post_title.is_none();
    let page_title = if following {
        "Follow on the fediverse"
    } else {
        "Reply from the fediverse"
    };
    let mut layout = crate::views::Layout::new(
        settings,
        &state.config,
        Some(page_title),
        Some("/fediverse/interact"),
    );
    layout.dress(&*state.look(&site).await?, "/fediverse/interact");
    layout.noindex = true;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut response = super::render(&crate::views::public::InteractPage {
        layout,
        following,
        handle: blog.handle(),
        post_title: post_title.unwrap_or_default(),
        uri: if following { blog.actor() } else { fields.uri },
        typed: fields.handle,
        error,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

async fn interact_form(
    State(state): State<AppState>,
    Query(fields): Query<InteractFields>,
) -> Result<Response, AppError> {
    let settings = federating(&state).await?;
    let post_title = interaction_target(&state, &settings, &fields.uri).await?;
    interact_page(&state, &settings, fields, post_title, None).await
}

/// Sends the reader to their own server's page for following the blog or seeing the post;
/// the form again, with what they typed and why it did not work, when that cannot be found.
async fn interact(
    State(state): State<AppState>,
    axum::Form(fields): axum::Form<InteractFields>,
) -> Result<Response, AppError> {
    let settings = federating(&state).await?;
    let post_title = interaction_target(&state, &settings, &fields.uri).await?;
    let (intent, uri) = match &post_title {
        None => (
            federation::interact::Intent::Follow,
            state.fediverse.blog(&settings).actor(),
        ),
        Some(_) => (federation::interact::Intent::Reply, fields.uri.clone()),
    };
    let fediverse = &state.fediverse;
    match federation::interact::destination(
        &fields.handle,
        intent,
        &uri,
        fediverse.reach(),
        !fediverse.allow_local,
    )
    .await
    {
        Ok(destination) => Ok(Redirect::to(&destination).into_response()),
        Err(error) => {
            interact_page(
                &state,
                &settings,
                fields,
                post_title,
                Some(error.to_string()),
            )
            .await
        }
    }
}
