//! "Post a Comment": the form's POST. A comment is acknowledged (303 to `#c{id}`) only after its
//! transaction commits; any error shows the post again with every typed character in the form.
//!
//! In a wave of comments, readers come first: only `comment_posts_at_once` POSTs are worked on
//! at a time (the rest of the database pool stays free for pages), a POST waits `TURN_WAIT` for
//! its turn and is then answered 503 with its text, and refusals that ask the commenter to wait
//! come on a page of their own, which costs far less than the post's. Once its turn comes, a
//! POST is carried to its end even if the commenter's connection closes.

use axum::{
    Form,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Redirect, Response},
};
use time::OffsetDateTime;

use super::{
    edge::cookies::{OWN_COOKIE, own_comment_ids},
    edge::extract::ClientIp,
    edge::markers::{CommentsChanged, NothingPublicChanged},
    post_page::{ForReader, paging, post_age_days, post_page},
};
use crate::{
    auth::{
        form_token::{self, TokenProblem},
        signed,
    },
    db::subscriptions::Scope,
    db::{
        self,
        comments::{NewComment, PageWanted, Submitted},
        posts::CommentTarget,
        settings::{Settings, Site},
    },
    domain::{
        comment::{
            CommentForm, CommentStatus, Decision, FieldErrors, FilterScore, MAX_DEPTH, Policy,
            Screening, ValidComment,
        },
        post::PostKind,
    },
    error::AppError,
    mail::notify,
    render, spam,
    state::AppState,
    views::{CommentFormView, Layout, comment_page_url, public::CommentWaitPage},
};

/// The cookie that remembers which held comments this browser wrote.
const OWN_COOKIE_DAYS: i64 = 30;
/// How long a comment POST waits for its turn before it is answered 503.
const TURN_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

pub async fn submit(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    ClientIp(client_address): ClientIp,
    Form(form): Form<CommentForm>,
) -> Result<Response, AppError> {
    let path = uri.path().to_owned();
    let turns = state.comment_turns.clone();
    let Ok(Ok(turn)) = tokio::time::timeout(TURN_WAIT, turns.acquire_owned()).await else {
        return Ok(wait_page(&state, &path, &form, Wait::Busy));
    };
    // A task of its own, so a closed connection cannot stop it between its statements.
    let work = {
        let (state, path, form) = (state.clone(), path.clone(), form.clone());
        tokio::spawn(async move {
            let answer = accept(&state, &path, &headers, client_address, &form).await;
            drop(turn);
            answer
        })
    };
    let answer = work
        .await
        .unwrap_or_else(|error| Err(anyhow::anyhow!("comment POST stopped: {error}").into()));
    let mut response = match answer {
        Err(AppError::Unavailable(error)) => {
            tracing::warn!(%error, "comment not saved: database unavailable");
            wait_page(&state, &path, &form, Wait::Unavailable)
        }
        // Whatever else went wrong on the way to the database, the text comes back to be sent
        // again: nothing typed is lost.
        Err(AppError::Database(error)) => {
            tracing::error!(%error, "comment not saved: database error");
            wait_page(&state, &path, &form, Wait::Unavailable)
        }
        other => other?,
    };
    // Only a published comment changes what readers see (see `stored`).
    if response.status() != StatusCode::SEE_OTHER {
        response.extensions_mut().insert(NothingPublicChanged);
    }
    Ok(response)
}

async fn accept(
    state: &AppState,
    path: &str,
    headers: &HeaderMap,
    client_address: Option<String>,
    form: &CommentForm,
) -> Result<Response, AppError> {
    let row = db::posts::comment_target(&state.db, path)
        .await?
        .filter(|row| row.kind == PostKind::Post)
        .ok_or(AppError::NotFound)?;
    let site = state.site_at(row.content_version).await?;
    let settings = &site.settings;
    let own_ids = own_comment_ids(headers, &state.secret);
    let policy = Policy::resolve(
        row.comment_policy,
        settings.comment_policy,
        settings.moderate_after_days,
    );
    let show_again = |errors: FieldErrors, status: StatusCode| {
        let mut view = CommentFormView::default();
        view.fill(form);
        view.errors = errors;
        show_post(state, path, &site, &own_ids, view, status)
    };
    if policy == Policy::Closed {
        let errors = FieldErrors::form(
            "Comments on this post are closed. Your text is below if you want to keep it.",
        );
        return show_again(errors, StatusCode::FORBIDDEN).await;
    }

    let mut comment = match checked(state, form, row.id) {
        Ok(comment) => comment,
        Err(errors) => return show_again(errors, StatusCode::UNPROCESSABLE_ENTITY).await,
    };

    if let Some(parent) = comment.parent_id {
        match place_reply(state, row.id, parent).await? {
            Some(parent) => comment.parent_id = Some(parent),
            None => return parent_gone(state, path, &site, &own_ids, form).await,
        }
    }

    let parent = comment.parent_id;
    // Confirmation mail is limited per client (an IPv6 one by its /64).
    let limit_hash = ClientIp(client_address.clone()).limit_hash(&state.secret);
    let to_screen = ToScreen {
        comment,
        honeypot_filled: form.honeypot_filled(),
        client_address,
        policy,
    };
    let new = to_store(state, settings, &row, to_screen).await;
    let decided = new.status;
    let saving = Saving {
        new: &new,
        target: &row,
        blog_title: &settings.title,
        notices: form.notices(),
        limit_hash: limit_hash.as_deref(),
    };
    let submitted = save(state, saving).await?;
    match submitted {
        Submitted::Stored(id) => {
            let placed = Placed {
                id,
                parent,
                status: decided,
            };
            stored(state, &row, placed, own_ids, paging(settings)).await
        }
        Submitted::Duplicate => {
            let errors = FieldErrors::form("You have already posted this comment here.");
            show_again(errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Submitted::RateLimited { retry_after_secs } => Ok(wait_page(
            state,
            path,
            form,
            Wait::TooMany { retry_after_secs },
        )),
    }
}

/// A comment that came from elsewhere: a reply from the fediverse (verified as its author's,
/// see `federation::inbox`) or a Webmention's reply (its page fetched, see `webmention`).
pub(super) struct Remote<'a> {
    pub author_name: &'a str,
    pub profile: Option<&'a str>,
    pub text: &'a str,
    /// Its instance's replies always wait for a moderator.
    pub held: bool,
}

/// A comment from elsewhere on the post at `path`, under `parent`: the post's policy, the
/// blocked terms, the learning filter, the moderation queue and its mail, as for the form (no
/// form token, no per-client limit: a signature or a fetched page stands behind it). Answers
/// the comment's id; none when the post takes no comments or it is there already.
pub(super) async fn from_elsewhere(
    state: &AppState,
    settings: &Settings,
    path: &str,
    parent: Option<i64>,
    remote: Remote<'_>,
) -> Result<Option<i64>, AppError> {
    let Some(row) = db::posts::comment_target(&state.db, path)
        .await?
        .filter(|row| row.kind == PostKind::Post)
    else {
        return Ok(None);
    };
    let policy = Policy::resolve(
        row.comment_policy,
        settings.comment_policy,
        settings.moderate_after_days,
    );
    if policy == Policy::Closed {
        return Ok(None);
    }
    let parent_id = match parent {
        Some(parent) => place_reply(state, row.id, parent).await?,
        None => None,
    };
    let mut name = remote_name(remote.author_name);
    if name.is_empty() {
        name = "Anonymous".to_owned();
    }
    let comment = ValidComment {
        name,
        email: None,
        website: remote
            .profile
            .filter(|url| url.len() <= crate::domain::comment::MAX_URL_CHARS)
            .map(str::to_owned),
        body: truncated(remote.text, crate::domain::comment::MAX_BODY_CHARS),
        parent_id,
    };
    let to_screen = ToScreen {
        comment,
        honeypot_filled: false,
        client_address: None,
        policy,
    };
    let mut new = to_store(state, settings, &row, to_screen).await;
    if remote.held && new.status == CommentStatus::Approved {
        new.status = CommentStatus::Pending;
        new.status_reason = Some("replies from this instance wait for a moderator".into());
    }
    let saving = Saving {
        new: &new,
        target: &row,
        blog_title: &settings.title,
        notices: (false, false),
        limit_hash: None,
    };
    match save(state, saving).await? {
        Submitted::Stored(id) => Ok(Some(id)),
        Submitted::Duplicate | Submitted::RateLimited { .. } => Ok(None),
    }
}

/// At most `most` characters of `text`.
fn truncated(text: &str, most: usize) -> String {
    text.chars().take(most).collect()
}

/// A name another server or page gives a comment's author, cleaned and cut to the form's limit.
fn remote_name(name: &str) -> String {
    truncated(
        crate::domain::text::clean(name).trim(),
        crate::domain::comment::MAX_NAME_CHARS,
    )
}

/// Its author changed a comment that came from elsewhere (an `Update` from the fediverse, a
/// Webmention sent again): the new text replaces the old and goes through the same screening
/// as a new comment (the post's policy, blocked terms, the learning filter). A shown comment
/// that would now wait or be refused is taken back to the moderation queue, or to spam; one
/// already waiting stays for the moderator. `author_name`: a new name, if it came with the
/// edit. Answers whether anything changed.
pub(super) async fn edited_elsewhere(
    state: &AppState,
    settings: &Settings,
    comment_id: i64,
    author_name: Option<&str>,
    text: &str,
) -> Result<bool, AppError> {
    let Some(comment) = db::comments::from_elsewhere(&state.db, comment_id).await? else {
        return Ok(false);
    };
    let Some(row) = db::posts::comment_target(&state.db, &comment.post_path).await? else {
        return Ok(false);
    };
    let name = match author_name.map(remote_name) {
        Some(name) if !name.is_empty() => name,
        _ => comment.author_name.clone(),
    };
    let policy = Policy::resolve(
        row.comment_policy,
        settings.comment_policy,
        settings.moderate_after_days,
    );
    let to_screen = ToScreen {
        comment: ValidComment {
            name,
            email: None,
            website: comment.author_url.clone(),
            body: truncated(text, crate::domain::comment::MAX_BODY_CHARS),
            parent_id: comment.parent_id,
        },
        honeypot_filled: false,
        client_address: None,
        policy,
    };
    let screened = to_store(state, settings, &row, to_screen).await;
    let taken_back = (comment.approved && screened.status != CommentStatus::Approved).then(|| {
        (
            screened.status,
            screened
                .status_reason
                .as_deref()
                .unwrap_or("edited by its author; waits for a moderator"),
        )
    });
    let changed = db::comments::edit_from_elsewhere(
        &state.db,
        comment_id,
        &screened.author_name,
        &screened.body_source,
        &screened.body_html,
        comment.approved,
        taken_back,
    )
    .await?;
    if let Some((status, _)) = taken_back
        && changed
    {
        tracing::info!(
            comment = comment_id,
            status = status.as_str(),
            "comments: an edited comment taken back"
        );
    }
    Ok(changed)
}

/// What a path of the blog answers: a post's path, or a comment's permalink (`/comment/{id}`)
/// as its post's path and the comment; none for a comment not shown.
pub(super) async fn own_target(
    state: &AppState,
    path: &str,
) -> Result<Option<(String, Option<i64>)>, AppError> {
    match path
        .strip_prefix("/comment/")
        .and_then(|id| id.parse::<i64>().ok())
    {
        Some(comment) => Ok(db::fediverse::comment_target(&state.db, comment)
            .await?
            .map(|(path, id)| (path, Some(id)))),
        None => Ok(Some((path.to_owned(), None))),
    }
}

/// The post again, the form as sent without its "Replying to": the comment it answered has gone
/// (deleted, or moderated away) since the page was read.
async fn parent_gone(
    state: &AppState,
    path: &str,
    site: &Site,
    own_ids: &[i64],
    form: &CommentForm,
) -> Result<Response, AppError> {
    let mut view = CommentFormView::default();
    view.fill(form);
    view.parent.clear();
    view.errors = FieldErrors::form(
        "The comment you were replying to is no longer there. Send again to post yours on its own.",
    );
    show_post(
        state,
        path,
        site,
        own_ids,
        view,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// A checked comment with where it came from, before the filter and the policy judge it.
struct ToScreen {
    comment: ValidComment,
    honeypot_filled: bool,
    client_address: Option<String>,
    policy: Policy,
}

/// The comment as it is to be stored: rendered, judged (shown, held or spam, with the filter's
/// score and clues) and its client kept only as a keyed hash.
async fn to_store(
    state: &AppState,
    settings: &Settings,
    target: &CommentTarget,
    to_screen: ToScreen,
) -> NewComment {
    let ToScreen {
        comment,
        honeypot_filled,
        client_address,
        policy,
    } = to_screen;
    let body_html = render::comment::to_html(&comment.body);
    let screening = Screened {
        comment: &comment,
        body_html: &body_html,
        honeypot_filled,
        client_address: client_address.as_deref().unwrap_or(""),
        policy,
    };
    let (decision, judgement) = screen(state, settings, target, screening).await;
    NewComment {
        post_id: target.id,
        parent_id: comment.parent_id,
        author_name: comment.name,
        author_email: comment.email,
        author_url: comment.website,
        body_source: comment.body,
        body_html,
        status: decision.status,
        status_reason: decision.reason,
        client_hash: client_address.map(|a| state.secret.client_hash(&a)),
        created_at: OffsetDateTime::now_utc(),
        spam_score: judgement.as_ref().map(|j| j.verdict.score as f32),
        spam_clues: judgement
            .map(|j| j.verdict.clues.iter().map(spam::Clue::stored).collect())
            .unwrap_or_default(),
    }
}

/// A screened comment on its way to the database, with what its mail needs.
struct Saving<'a> {
    new: &'a NewComment,
    target: &'a CommentTarget,
    blog_title: &'a str,
    /// "Notify me of replies", "…and of every new comment".
    notices: (bool, bool),
    /// The client, for the limit on confirmation mail.
    limit_hash: Option<&'a str>,
}

/// Stores the comment (`write`), then gives the notices its statements left to this process
/// (migration 0021): a published comment's to the other processes, the mail's to this
/// process's worker.
async fn save(state: &AppState, saving: Saving<'_>) -> Result<Submitted, AppError> {
    let post = saving.target.id;
    let published = saving.new.status == CommentStatus::Approved;
    let submitted = write(state, saving).await?;
    if published && matches!(submitted, Submitted::Stored(_)) {
        state.comment_notices.changed(post);
    }
    Ok(submitted)
}

/// Stores the comment with the mail it causes, in one transaction. A comment that causes none
/// (spam, mail off, or nobody to tell: the database checks) is stored in one statement, as most
/// of a wave is: BEGIN, COMMIT and the mail queries would be four more round trips.
async fn write(state: &AppState, saving: Saving<'_>) -> Result<Submitted, AppError> {
    let Saving {
        new,
        target,
        blog_title,
        notices,
        limit_hash,
    } = saving;
    let limit = i64::from(state.config.comment_rate_limit);
    if new.status == CommentStatus::Spam || state.mailer.is_none() {
        return Ok(db::comments::submit(&state.db, new, limit).await?);
    }
    let confirmation_due = notices.0 && new.author_email.is_some();
    if !confirmation_due
        && let Some(submitted) = db::comments::submit_without_mail(&state.db, new, limit).await?
    {
        return Ok(submitted);
    }
    let mut tx = state.db.begin().await?;
    let submitted = db::comments::submit(&mut *tx, new, limit).await?;
    if let Submitted::Stored(id) = submitted {
        tell_of(state, &mut tx, blog_title, target, id, new).await?;
        let scopes: Vec<Scope> = match notices {
            (true, true) => vec![Scope::Replies(id), Scope::Post(target.id)],
            (true, false) => vec![Scope::Replies(id)],
            _ => Vec::new(),
        };
        if let Some(email) = new.author_email.as_deref().filter(|_| !scopes.is_empty()) {
            let blog = super::mail_blog(state, blog_title);
            notify::subscribe(&mut tx, &blog, email, &scopes, limit_hash).await?;
        }
    }
    tx.commit().await?;
    if let Submitted::Stored(_) = submitted {
        state.mail_wake.notify_one();
    }
    Ok(submitted)
}

/// The form's fields and its token, checked: every problem at once, each beside its field.
fn checked(state: &AppState, form: &CommentForm, post: i64) -> Result<ValidComment, FieldErrors> {
    let mut checked = form.validate();
    if state.mailer.is_some() && form.notices().0 && form.email.trim().is_empty() {
        let mut errors = checked.err().unwrap_or_default();
        errors.email =
            Some("Enter your email address to get notices of replies, or untick the box".into());
        checked = Err(errors);
    }
    let now = state.clock.now().unix_timestamp();
    match (
        checked,
        form_token::check(&state.secret, &form.token, post, now),
    ) {
        (Ok(comment), Ok(())) => Ok(comment),
        (checked, token) => {
            let mut errors = checked.err().unwrap_or_default();
            if let Err(problem) = token {
                errors.form = Some(token_message(problem).to_owned());
            }
            Err(errors)
        }
    }
}

/// A valid comment as the spam layers and the policy see it.
struct Screened<'a> {
    comment: &'a ValidComment,
    body_html: &'a str,
    honeypot_filled: bool,
    client_address: &'a str,
    policy: Policy,
}

/// Whether a comment is shown, held or spam, and the learning filter's judgement behind it.
async fn screen(
    state: &AppState,
    settings: &Settings,
    target: &CommentTarget,
    screened: Screened<'_>,
) -> (Decision, Option<spam::Judgement>) {
    // A robot that filled in the honeypot is spam already: no need to ask the filter.
    let judgement = if screened.honeypot_filled {
        None
    } else {
        judge(
            state,
            target.spam_version,
            screened.comment,
            settings.spam_min_training,
        )
        .await
    };
    let (hold_at, spam_at) = settings.spam_thresholds();
    let decision = Screening {
        comment: screened.comment,
        honeypot_filled: screened.honeypot_filled,
        link_count: render::comment::link_count(screened.body_html),
        client_address: screened.client_address,
        blocked_terms: &settings.blocked_terms,
        policy: screened.policy,
        post_age_days: post_age_days(target.published_at),
        filter: judgement.as_ref().map(|j| FilterScore {
            score: j.verdict.score,
            trained: j.trained,
            hold_at,
            spam_at,
            evidence: j.verdict.evidence,
        }),
    }
    .decide();
    (decision, judgement)
}

/// The mail a stored comment causes, in its transaction: a held one's message to the
/// moderators, a published one's notices to those following the post or the thread.
async fn tell_of(
    state: &AppState,
    tx: &mut sqlx::PgConnection,
    blog_title: &str,
    target: &CommentTarget,
    id: i64,
    comment: &NewComment,
) -> Result<(), AppError> {
    match comment.status {
        CommentStatus::Pending => {
            let post_title = db::posts::title_of(&mut *tx, target.id).await?;
            let blog = super::mail_blog(state, blog_title);
            notify::comment_held(tx, &blog, id, comment, &post_title, &target.path).await?;
        }
        CommentStatus::Approved => {
            super::comments_published(state, tx, &[id], blog_title).await?;
        }
        CommentStatus::Spam | CommentStatus::Trash => {}
    }
    Ok(())
}

/// The comment a reply to `parent` goes under: `parent` itself, or below the deepest level the
/// ancestor at that level (a reply joins its parent's level). None when `parent` is gone.
async fn place_reply(state: &AppState, post: i64, parent: i64) -> Result<Option<i64>, AppError> {
    Ok(db::comments::thread_of(&state.db, post, parent)
        .await?
        .map(|chain| match chain.len() {
            n if n >= MAX_DEPTH => chain[n - (MAX_DEPTH - 1)],
            _ => parent,
        }))
}

/// The learning filter's judgement of a comment. A failure is logged and the comment still
/// taken: the other layers and the policy decide alone.
async fn judge(
    state: &AppState,
    model_version: i64,
    comment: &ValidComment,
    min_training: i32,
) -> Option<spam::Judgement> {
    let message = spam::Message {
        name: &comment.name,
        email: comment.email.as_deref(),
        website: comment.website.as_deref(),
        body: &comment.body,
    };
    match state
        .spam
        .judge(&state.db, model_version, &message, min_training)
        .await
    {
        Ok(judgement) => Some(judgement),
        Err(error) => {
            tracing::warn!(%error, "comment not scored by the spam filter");
            None
        }
    }
}

/// The post page again, with the form as sent and its errors.
async fn show_post(
    state: &AppState,
    path: &str,
    site: &Site,
    own_ids: &[i64],
    form: CommentFormView,
    status: StatusCode,
) -> Result<Response, AppError> {
    let row = db::posts::find_by_path(&state.db, path)
        .await?
        .ok_or(AppError::NotFound)?;
    // The page that shows the comment being answered, so that "Replying to" stays next to it.
    let page = match form.parent.parse::<i64>() {
        Ok(parent) => {
            db::comments::page_of(&state.db, row.id, parent, own_ids, paging(&site.settings))
                .await?
        }
        Err(_) => None,
    };
    let reader = ForReader {
        own_ids,
        form,
        comment_page: PageWanted::Number(page.unwrap_or(1)),
        status,
    };
    post_page(state, &row, site, reader).await
}

/// A comment as stored: where it went and what became of it.
struct Placed {
    id: i64,
    parent: Option<i64>,
    status: CommentStatus,
}

/// 303 to the comment, on the comment page that shows it; a held comment's id joins the
/// author's signed cookie so they see it. A new thread is the newest, so its page is known
/// without counting the threads before it (a count that grows with the post).
async fn stored(
    state: &AppState,
    row: &CommentTarget,
    Placed { id, parent, status }: Placed,
    mut own_ids: Vec<i64>,
    paging: db::comments::Paging,
) -> Result<Response, AppError> {
    let target = match status {
        CommentStatus::Spam => format!("{}#post-a-comment", row.path),
        _ if parent.is_none() && paging.newest_first => format!("{}#c{id}", row.path),
        _ if parent.is_none() => format!("{}?commentPage=last#c{id}", row.path),
        _ => {
            let mut seen_by_author = own_ids.clone();
            seen_by_author.push(id);
            // The comment is stored: a failed lookup only costs the page (never the answer).
            let page = db::comments::page_of(&state.db, row.id, id, &seen_by_author, paging)
                .await
                .ok()
                .flatten()
                .unwrap_or(1);
            format!("{}#c{id}", comment_page_url(&row.path, page))
        }
    };
    let mut response = Redirect::to(&target).into_response();
    if status == CommentStatus::Approved {
        response
            .extensions_mut()
            .insert(CommentsChanged(vec![row.id]));
    } else {
        response.extensions_mut().insert(NothingPublicChanged);
    }
    if status == CommentStatus::Pending {
        own_ids.push(id);
        let value = signed::encode_ids(&state.secret, &own_ids);
        response.headers_mut().insert(
            header::SET_COOKIE,
            super::edge::cookies::set(
                OWN_COOKIE,
                &value,
                time::Duration::days(OWN_COOKIE_DAYS),
                state.config.secure_cookies(),
            ),
        );
    }
    Ok(response)
}

fn token_message(problem: TokenProblem) -> &'static str {
    match problem {
        TokenProblem::TooFast => {
            "That was sent faster than a person can type. Please check your comment and send it again."
        }
        TokenProblem::Expired => {
            "This page was opened more than a day ago. Your comment is kept below: please send it again."
        }
        TokenProblem::Invalid => {
            "This form could not be checked (it may be from an old copy of the page). Your comment is kept below: please send it again."
        }
    }
}

/// Why a comment was not saved for now, when the commenter only has to send it again later.
enum Wait {
    /// The database cannot take it.
    Unavailable,
    /// This address sent its comments for the minute.
    TooMany { retry_after_secs: i64 },
    /// Every turn was taken for `TURN_WAIT` (a wave of comments).
    Busy,
}

/// The form as sent, on a page of its own that needs no query (the database may be away, or
/// busy with a wave), with why and when to send it again.
fn wait_page(state: &AppState, path: &str, form: &CommentForm, wait: Wait) -> Response {
    let (status, retry_after, when, reason, summary) = match wait {
        Wait::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            5,
            "in a moment".to_owned(),
            "The blog cannot reach its database right now, so your comment was not posted.",
            "The blog could not save your comment just now. Please send it again in a moment."
                .to_owned(),
        ),
        Wait::TooMany { retry_after_secs } => (
            StatusCode::TOO_MANY_REQUESTS,
            retry_after_secs,
            format!("in {retry_after_secs} seconds"),
            "You have sent several comments in the last minute.",
            format!(
                "You have sent several comments in the last minute. Please wait {retry_after_secs} seconds and send this one again."
            ),
        ),
        Wait::Busy => (
            StatusCode::SERVICE_UNAVAILABLE,
            2,
            "in a few seconds".to_owned(),
            "Many comments are arriving at once, so yours was not posted yet.",
            "The blog is taking many comments at once. Please send yours again in a few seconds."
                .to_owned(),
        ),
    };
    let settings: Settings = state.last_settings();
    let mut layout = Layout::new(&settings, &state.config, Some("Comment not saved"), None);
    layout.dress(&state.last_look(), "");
    layout.noindex = true;
    let mut view = CommentFormView {
        action: path.to_owned(),
        token: form.token.clone(),
        mail_on: state.mailer.is_some(),
        ..CommentFormView::default()
    };
    view.fill(form);
    view.errors = FieldErrors::form(summary);
    let page = CommentWaitPage {
        layout,
        reason: reason.to_owned(),
        when,
        form: view,
    };
    let mut response = match super::render(&page) {
        Ok(response) => response,
        Err(error) => return error.into_response(),
    };
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A comment-form token of the reader's own, for a post page a CDN shares among readers (see
/// `assets/js/comment-token.js`). Never stored by anyone: each answer is issued now.
pub async fn fresh_token(State(state): State<AppState>, Path(post_id): Path<i64>) -> Response {
    let token = form_token::issue(&state.secret, post_id, state.clock.now().unix_timestamp());
    (
        [
            (header::CACHE_CONTROL, "private, no-store"),
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
        ],
        token,
    )
        .into_response()
}
