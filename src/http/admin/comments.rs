//! Moderation: the queue by status, single and bulk actions, editing, replying.

use axum::{
    Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;

use super::{AdminForm, CurrentUser, Editor, notice::Notice};
use crate::{
    db,
    domain::comment::{CommentFormat, CommentStatus, MAX_BODY_CHARS, thousands},
    error::AppError,
    http::render,
    render::comment,
    state::AppState,
    views::admin::{AdminComment, CommentEditPage, CommentsPage},
};

const PAGE_SIZE: i64 = 50;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/comments", get(queue))
        .route("/admin/comments/moderate", post(moderate))
        .route("/admin/comments/{id}/edit", get(edit_form).post(edit))
        .route("/admin/comments/{id}/reply", post(reply))
}

#[derive(Debug, Default, Deserialize)]
struct QueueQuery {
    status: Option<String>,
    before: Option<i64>,
    #[serde(default, deserialize_with = "Notice::lenient")]
    done: Option<Notice>,
    /// How many comments a moderation changed.
    updated: Option<u64>,
    /// `score`: highest spam score first; `likely`: only likely spam, highest first.
    view: Option<String>,
    /// With a score view: how many are skipped.
    skip: Option<i64>,
}

async fn queue(
    State(state): State<AppState>,
    Editor(user): Editor,
    Query(query): Query<QueueQuery>,
) -> Result<Response, AppError> {
    let tab = query
        .status
        .as_deref()
        .and_then(CommentStatus::parse)
        .unwrap_or(CommentStatus::Pending);
    let mut layout = user.layout(&state, "comments", "Comments").await?;
    layout.notice = match (query.done, query.updated) {
        (Some(done), _) => Some(done.text().to_owned()),
        (None, Some(n)) => Some(format!(
            "{n} comment{} updated.",
            if n == 1 { "" } else { "s" }
        )),
        (None, None) => None,
    };
    let settings = state.settings().await?;
    let tz = settings.time_zone();
    let hold_at = settings.spam_thresholds().0;
    let learned = db::spam::totals(&state.db).await?;
    let needed = i64::from(settings.spam_min_training);
    // Until it has learned, every score is a guess near 0.50: none is "likely spam" yet.
    let trained = learned.0 >= needed && learned.1 >= needed;
    let view = match query.view.as_deref() {
        Some("score") => "score",
        Some("likely") if trained => "likely",
        Some("likely") => "score",
        _ => "newest",
    };
    let skip = query.skip.unwrap_or(0).max(0);
    let listing = db::comments::Listing {
        before_id: query
            .before
            .filter(|_| view == "newest")
            .unwrap_or(i64::MAX),
        by_score: (view != "newest").then_some(skip),
        min_score: (view == "likely").then_some(hold_at as f32),
        limit: PAGE_SIZE + 1,
    };
    let mut rows = db::comments::list_by_status(&state.db, tab, listing).await?;
    let more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    let next_url = match view {
        "newest" => rows
            .last()
            .filter(|_| more)
            .map(|r| format!("/admin/comments?status={tab}&before={}", r.id)),
        _ => more.then(|| {
            format!(
                "/admin/comments?status={tab}&view={view}&skip={}",
                skip + PAGE_SIZE
            )
        }),
    };
    let likely_count = if trained {
        db::comments::count_scored_at_least(&state.db, tab, hold_at as f32).await?
    } else {
        0
    };
    render(&CommentsPage {
        layout,
        tab: tab.as_str().to_owned(),
        counts: db::comments::count_by_status(&state.db).await?,
        comments: rows.iter().map(|r| AdminComment::new(r, &tz)).collect(),
        next_url,
        view: view.to_owned(),
        likely_count,
        trained,
        hold_at: format!("{hold_at:.2}"),
        filter_status: filter_status(learned, settings.spam_min_training),
    })
}

/// What the spam filter knows, for the moderator.
fn filter_status((spam, ham): (i64, i64), min_training: i32) -> String {
    let learned = format!(
        "The spam filter has learned from {} spam and {} good comment{}",
        thousands(spam.max(0) as usize),
        thousands(ham.max(0) as usize),
        if ham == 1 { "" } else { "s" }
    );
    let needed = i64::from(min_training);
    if spam >= needed && ham >= needed {
        format!("{learned}; it holds or marks comments by their score.")
    } else {
        format!(
            "{learned}; it shows scores only until {needed} of each kind have taught it. Approve good comments and mark spam as spam to teach it."
        )
    }
}

#[derive(Debug, Default, Deserialize)]
struct ModerateForm {
    #[serde(default)]
    tab: String,
    /// Bulk: the action for every selected id.
    #[serde(default)]
    action: String,
    #[serde(default)]
    ids: Vec<i64>,
    /// A single comment's button: `action:id`.
    #[serde(default)]
    one: String,
}

async fn moderate(
    State(state): State<AppState>,
    AdminForm { form, .. }: AdminForm<ModerateForm, Editor>,
) -> Result<Response, AppError> {
    let (action, ids) = match form.one.split_once(':') {
        Some((action, id)) => (
            action.to_owned(),
            vec![
                id.parse::<i64>()
                    .map_err(|_| AppError::BadRequest("Unknown comment."))?,
            ],
        ),
        None => (form.action.clone(), form.ids.clone()),
    };
    if ids.is_empty() {
        return Err(AppError::BadRequest("Select at least one comment first."));
    }
    let status = match action.as_str() {
        "approve" => Some(CommentStatus::Approved),
        "unapprove" | "restore" => Some(CommentStatus::Pending),
        "spam" => Some(CommentStatus::Spam),
        "trash" => Some(CommentStatus::Trash),
        "delete" => None,
        _ => return Err(AppError::BadRequest("Unknown action.")),
    };
    // Read before the transaction holds a connection (the mail it may write names the blog).
    let title = state.settings().await?.title;
    let mut tx = state.db.begin().await?;
    // A decision is a lesson for the spam filter, whose lock comes before any comment's.
    crate::spam::train::lock(&mut tx).await?;
    let posts = db::comments::posts_of(&mut *tx, &ids).await?;
    let changed = match status {
        Some(status) => {
            let changed = db::comments::set_status(&mut *tx, &ids, status).await?;
            // Every decision teaches the spam filter, even one that confirms what it chose.
            crate::spam::train::learn_decisions(&mut tx, &ids).await?;
            if status == CommentStatus::Approved {
                crate::http::comments_published(&state, &mut tx, &changed, &title).await?;
            }
            changed.len() as u64
        }
        None => db::comments::delete_forever(&mut tx, &ids).await?,
    };
    tx.commit().await?;
    let tab = CommentStatus::parse(&form.tab).unwrap_or(CommentStatus::Pending);
    let mut response =
        Redirect::to(&format!("/admin/comments?status={tab}&updated={changed}")).into_response();
    // Only those posts' pages (and the listings and feeds) are forgotten.
    response
        .extensions_mut()
        .insert(crate::http::edge::markers::CommentsChanged(posts));
    Ok(response)
}

async fn edit_page(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    text: Option<String>,
    error: Option<String>,
) -> Result<Response, AppError> {
    edit_or_reply_page(state, user, id, text, error, None).await
}

/// The comment's page, with the edit form and the reply form; `reply` is a reply sent back
/// with its error, kept as typed.
async fn edit_or_reply_page(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    text: Option<String>,
    error: Option<String>,
    reply: Option<(String, String)>,
) -> Result<Response, AppError> {
    let row = db::comments::find_for_moderation(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let tz = state.settings().await?.time_zone();
    let status = if error.is_some() || reply.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let (reply_text, reply_error) = match reply {
        Some((text, error)) => (text, Some(error)),
        None => (String::new(), None),
    };
    let mut response = render(&CommentEditPage {
        layout: user.layout(state, "comments", "Edit comment").await?,
        text: text.unwrap_or_else(|| row.body_source.clone()),
        comment: AdminComment::new(&row, &tz),
        error,
        reply_text,
        reply_error,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

async fn edit_form(
    State(state): State<AppState>,
    Editor(user): Editor,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    edit_page(&state, &user, id, None, None).await
}

#[derive(Debug, Default, Deserialize)]
struct TextForm {
    #[serde(default)]
    text: String,
}

/// The one check of a moderator's text (an edit or a reply, in the admin or from an email).
pub fn check_text(text: &str) -> Result<String, String> {
    let text = crate::domain::text::clean(text).replace("\r\n", "\n");
    if text.trim().is_empty() {
        Err("Write some text".into())
    } else if text.chars().count() > MAX_BODY_CHARS {
        Err(format!(
            "Use at most {} characters",
            thousands(MAX_BODY_CHARS)
        ))
    } else {
        Ok(text)
    }
}

async fn edit(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    AdminForm { user, form, .. }: AdminForm<TextForm, Editor>,
) -> Result<Response, AppError> {
    match check_text(&form.text) {
        Ok(text) => {
            // An imported comment is HTML and stays HTML.
            let html = match db::comments::body_format(&state.db, id).await? {
                Some(CommentFormat::Html) => comment::from_html(&text),
                _ => comment::to_html(&text),
            };
            // What the comment taught is taken back from the old text and given again from
            // the new one.
            let mut tx = state.db.begin().await?;
            crate::spam::train::lock(&mut tx).await?;
            let taught = crate::spam::train::forget(&mut tx, &[id]).await?;
            db::comments::update_body(&mut *tx, id, &text, &html).await?;
            crate::spam::train::teach(&mut tx, &taught).await?;
            tx.commit().await?;
            let row = db::comments::find_for_moderation(&state.db, id)
                .await?
                .ok_or(AppError::NotFound)?;
            Ok(Notice::CommentEdited.after(&format!("/admin/comments?status={}", row.status)))
        }
        Err(error) => edit_page(&state, &user, id, Some(form.text), Some(error)).await,
    }
}

async fn reply(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    AdminForm { user, form, .. }: AdminForm<TextForm, Editor>,
) -> Result<Response, AppError> {
    let text = match check_text(&form.text) {
        Ok(text) => text,
        Err(error) => {
            return edit_or_reply_page(&state, &user, id, None, None, Some((form.text, error)))
                .await;
        }
    };
    let title = state.settings().await?.title;
    let mut tx = state.db.begin().await?;
    crate::spam::train::lock(&mut tx).await?;
    let published = db::comments::reply_as_moderator(
        &mut tx,
        id,
        user.id(),
        &user.session.user.display_name,
        &text,
        &comment::to_html(&text),
    )
    .await?
    .ok_or(AppError::NotFound)?;
    // Answering a comment approves it: a decision like any other.
    crate::spam::train::learn_decisions(&mut tx, &[id]).await?;
    crate::http::comments_published(&state, &mut tx, &published, &title).await?;
    tx.commit().await?;
    Ok(Notice::Replied.after("/admin/comments?status=pending"))
}
