//! What links in emails open. A GET shows what the link is about and one button (mail scanners
//! follow links, so a GET never changes anything); the button's POST does it. The signed token
//! in the path is the authority: no login, single-use where it changes something.

use axum::{
    Form, Router,
    extract::{Path, Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use serde::Deserialize;

use crate::{
    auth::links::{self, LinkClaim, LinkProblem},
    db::{self, comments::ModerationRow, users::Recipient},
    domain::comment::CommentStatus,
    error::AppError,
    http::{admin::check_text, render},
    render::comment,
    state::AppState,
    views::{
        Layout,
        public::{MailActionPage, MailComment},
    },
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/mail/comment/{token}", get(show_moderation).post(moderate))
        .route("/mail/stop/{token}", get(show_stop).post(stop))
        .route("/mail/confirm/{token}", get(show_confirm).post(confirm))
        .route(
            "/mail/unsubscribe/{token}",
            get(show_unsubscribe).post(unsubscribe),
        )
        // Each page is one person's: kept by no cache, ours or on the way.
        .layer(axum::middleware::map_response(personal))
}

async fn personal(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    response
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Approve,
    Spam,
    Trash,
    Reply,
}

impl Action {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "approve" => Action::Approve,
            "spam" => Action::Spam,
            "trash" => Action::Trash,
            "reply" => Action::Reply,
            _ => return None,
        })
    }

    fn question(self) -> &'static str {
        match self {
            Action::Approve => "Approve this comment?",
            Action::Spam => "Mark this comment as spam?",
            Action::Trash => "Move this comment to the trash?",
            Action::Reply => "Reply to this comment",
        }
    }

    fn button(self) -> &'static str {
        match self {
            Action::Approve => "Approve",
            Action::Spam => "Mark as spam",
            Action::Trash => "Move to the trash",
            Action::Reply => "Publish the reply",
        }
    }

    fn done(self) -> &'static str {
        match self {
            Action::Approve => "Approved: readers see the comment now.",
            Action::Spam => "The comment is in spam.",
            Action::Trash => "The comment is in the trash.",
            Action::Reply => "Your reply is published, and the comment with it.",
        }
    }
}

/// A moderation link, read: the comment, what to do with it, and who asked.
struct Moderation {
    claim: LinkClaim,
    comment: ModerationRow,
    action: Action,
    moderator: Recipient,
}

/// Why a link cannot be followed, as a page.
struct Refusal {
    status: StatusCode,
    heading: &'static str,
    message: &'static str,
}

const QUEUE: (&str, &str) = (
    "/admin/comments?status=pending",
    "Open the moderation queue",
);

async fn read_moderation(
    state: &AppState,
    token: &str,
) -> Result<Result<Moderation, Refusal>, AppError> {
    let now = state.clock.now().unix_timestamp();
    let claim = match links::verify(&state.secret, "moderate", token, now) {
        Ok(claim) => claim,
        Err(LinkProblem::Expired) => {
            return Ok(Err(Refusal {
                status: StatusCode::GONE,
                heading: "This link has expired",
                message: "Links in moderation emails work for 7 days. The comment waits in the moderation queue.",
            }));
        }
        Err(LinkProblem::Invalid) => return Ok(Err(not_a_link())),
    };
    let parsed = match claim.subject.as_slice() {
        [comment, action, user] => comment
            .parse::<i64>()
            .ok()
            .zip(Action::parse(action))
            .zip(user.parse::<i64>().ok()),
        _ => None,
    };
    let Some(((comment_id, action), user_id)) = parsed else {
        return Ok(Err(not_a_link()));
    };
    let Some(moderator) = db::users::moderator(&state.db, user_id).await? else {
        return Ok(Err(Refusal {
            status: StatusCode::FORBIDDEN,
            heading: "This link no longer works",
            message: "It was sent to someone who cannot moderate comments any more.",
        }));
    };
    let Some(comment) = db::comments::find_for_moderation(&state.db, comment_id).await? else {
        return Ok(Err(Refusal {
            status: StatusCode::NOT_FOUND,
            heading: "The comment is gone",
            message: "Someone deleted it for good since this email was sent.",
        }));
    };
    Ok(Ok(Moderation {
        claim,
        comment,
        action,
        moderator,
    }))
}

fn not_a_link() -> Refusal {
    Refusal {
        status: StatusCode::NOT_FOUND,
        heading: "This link does not work",
        message: "It may have been cut when it was copied. Open the email again and use its button, or the moderation queue.",
    }
}

fn page(state: &AppState, heading: &str) -> MailActionPage {
    let settings = state.last_settings();
    let mut layout = Layout::new(&settings, &state.config, Some(heading), None);
    layout.dress(&state.last_look(), "");
    layout.noindex = true;
    MailActionPage {
        layout,
        heading: heading.to_owned(),
        message: None,
        done: false,
        comment: None,
        button: None,
        action_url: String::new(),
        reply: false,
        reply_text: String::new(),
        error: None,
        next: None,
    }
}

fn refusal_page(state: &AppState, refusal: &Refusal) -> Result<Response, AppError> {
    let mut view = page(state, refusal.heading);
    view.message = Some(refusal.message.to_owned());
    view.next = Some((QUEUE.0.to_owned(), QUEUE.1.to_owned()));
    with_status(render(&view)?, refusal.status)
}

/// A refusal that keeps what the moderator typed (a reply), for them to copy.
fn refusal_keeping(
    state: &AppState,
    refusal: &Refusal,
    typed: String,
) -> Result<Response, AppError> {
    let mut view = page(state, refusal.heading);
    view.message = Some(refusal.message.to_owned());
    view.next = Some((QUEUE.0.to_owned(), QUEUE.1.to_owned()));
    view.reply_text = typed;
    with_status(render(&view)?, refusal.status)
}

fn with_status(mut response: Response, status: StatusCode) -> Result<Response, AppError> {
    *response.status_mut() = status;
    Ok(response)
}

fn comment_view(state: &AppState, row: &ModerationRow) -> MailComment {
    MailComment {
        author_name: row.author_name.clone(),
        author_email: row.author_email.clone(),
        post_title: row.post_title.clone(),
        // A published comment by its lasting address (it finds the right comment page).
        post_url: if row.status == crate::domain::comment::CommentStatus::Approved {
            format!("/comment/{}", row.id)
        } else {
            row.post_path.clone()
        },
        status: row.status.to_string(),
        body_html: row.body_html.clone(),
    }
    .with_base(&state.config.base_url)
}

impl MailComment {
    fn with_base(mut self, base_url: &str) -> Self {
        self.post_url = format!("{base_url}{}", self.post_url);
        self
    }
}

#[derive(Debug, Default, Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn show_moderation(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AppError> {
    let moderation = match read_moderation(&state, &token).await? {
        Ok(moderation) => moderation,
        Err(refusal) => return refusal_page(&state, &refusal),
    };
    let used = db::links::was_used(&state.db, &links::digest(&token)).await?;
    if !used && let Some(decided) = decided_since(&moderation) {
        return decided_page(&state, &moderation, decided);
    }
    let mut view = page(&state, moderation.action.question());
    view.comment = Some(comment_view(&state, &moderation.comment));
    if used {
        if query.done.is_some() {
            view.heading = "Done".to_owned();
            view.message = Some(moderation.action.done().to_owned());
            view.done = true;
        } else {
            view.heading = "This link was used already".to_owned();
            view.message = Some("Each link in a moderation email works once.".to_owned());
        }
        view.next = Some((QUEUE.0.to_owned(), QUEUE.1.to_owned()));
        return render(&view);
    }
    view.message = Some(format!(
        "You are {} ({}); this works without logging in.",
        moderation.moderator.display_name, moderation.moderator.email
    ));
    view.button = Some(moderation.action.button().to_owned());
    view.action_url = format!("/mail/comment/{token}");
    view.reply = moderation.action == Action::Reply;
    render(&view)
}

#[derive(Debug, Default, Deserialize)]
struct ActionForm {
    #[serde(default)]
    text: String,
}

async fn moderate(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Form(form): Form<ActionForm>,
) -> Result<Response, AppError> {
    let moderation = match read_moderation(&state, &token).await? {
        Ok(moderation) => moderation,
        // A reply written meanwhile stays on the page, to be copied.
        Err(refusal) => return refusal_keeping(&state, &refusal, form.text),
    };
    if let Some(decided) = decided_since(&moderation) {
        return decided_page(&state, &moderation, decided);
    }
    let reply = match moderation.action {
        Action::Reply => match check_text(&form.text) {
            Ok(text) => Some(text),
            Err(error) => return reply_refused(&state, &moderation, &token, form.text, error),
        },
        _ => None,
    };
    let expires = time::OffsetDateTime::from_unix_timestamp(moderation.claim.expires_at)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    // Read before the transaction holds a connection (the mail it may write names the blog).
    let title = state.settings().await?.title;
    let mut tx = state.db.begin().await?;
    // Every action here is a lesson for the spam filter: its lock comes first.
    crate::spam::train::lock(&mut tx).await?;
    if !db::links::use_once(&mut *tx, &links::digest(&token), expires).await? {
        drop(tx);
        if moderation.action == Action::Reply {
            let used = Refusal {
                status: StatusCode::GONE,
                heading: "This link was used already",
                message: "Each link in a moderation email works once. Your reply is below; the moderation queue takes it.",
            };
            return refusal_keeping(&state, &used, form.text);
        }
        return Ok(Redirect::to(&format!("/mail/comment/{token}")).into_response());
    }
    let done = match (moderation.action, reply) {
        (Action::Reply, Some(text)) => reply_in(&mut tx, &moderation, &text).await?,
        (action, _) => decide_in(&mut tx, &moderation, action).await?,
    };
    let published = match done {
        Done::Published(published) => published,
        Done::ReplyTargetGone => {
            // The comment went meanwhile: nothing is done, the link stays unused.
            drop(tx);
            let gone = Refusal {
                status: StatusCode::NOT_FOUND,
                heading: "The comment is gone",
                message: "Someone deleted it for good while you wrote. Your reply is below.",
            };
            return refusal_keeping(&state, &gone, form.text);
        }
        Done::DecidedMeanwhile => {
            drop(tx);
            let comment_id = moderation.comment.id;
            let now = db::comments::find_for_moderation(&state.db, comment_id).await?;
            let decided = now.as_ref().map_or(CommentStatus::Trash, |c| c.status);
            let moderation = Moderation {
                comment: now.unwrap_or(moderation.comment),
                ..moderation
            };
            return decided_page(&state, &moderation, decided);
        }
    };
    crate::http::comments_published(&state, &mut tx, &published, &title).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/mail/comment/{token}?done=1")).into_response())
}

/// The reply form again, with the reply as typed and the reason beside it.
fn reply_refused(
    state: &AppState,
    moderation: &Moderation,
    token: &str,
    text: String,
    error: String,
) -> Result<Response, AppError> {
    let mut view = page(state, moderation.action.question());
    view.comment = Some(comment_view(state, &moderation.comment));
    view.button = Some(moderation.action.button().to_owned());
    view.action_url = format!("/mail/comment/{token}");
    view.reply = true;
    view.reply_text = text;
    view.error = Some(error);
    with_status(render(&view)?, StatusCode::UNPROCESSABLE_ENTITY)
}

/// What a button did in its transaction.
enum Done {
    /// These comments were published (none for Spam and Trash).
    Published(Vec<i64>),
    /// The comment being answered was deleted for good meanwhile.
    ReplyTargetGone,
    /// The comment is no longer held: a decision made meanwhile (in the queue, or by another
    /// button) wins over an old button.
    DecidedMeanwhile,
}

/// The moderator's reply, published; the comment answered is approved with it.
async fn reply_in(
    tx: &mut sqlx::PgConnection,
    moderation: &Moderation,
    text: &str,
) -> Result<Done, AppError> {
    let comment_id = moderation.comment.id;
    let replied = db::comments::reply_as_moderator(
        tx,
        comment_id,
        moderation.moderator.id,
        &moderation.moderator.display_name,
        text,
        &comment::to_html(text),
    )
    .await?;
    let Some(published) = replied else {
        return Ok(Done::ReplyTargetGone);
    };
    crate::spam::train::learn_decisions(tx, &[comment_id]).await?;
    Ok(Done::Published(published))
}

/// Approve, Spam or Trash, only while the comment is still held, as the email showed it.
async fn decide_in(
    tx: &mut sqlx::PgConnection,
    moderation: &Moderation,
    action: Action,
) -> Result<Done, AppError> {
    let comment_id = moderation.comment.id;
    let status = match action {
        Action::Approve | Action::Reply => CommentStatus::Approved,
        Action::Spam => CommentStatus::Spam,
        Action::Trash => CommentStatus::Trash,
    };
    let Some(changed) = db::comments::decide_held(&mut *tx, comment_id, status).await? else {
        return Ok(Done::DecidedMeanwhile);
    };
    crate::spam::train::learn_decisions(tx, &[comment_id]).await?;
    Ok(Done::Published(if status == CommentStatus::Approved {
        vec![changed]
    } else {
        Vec::new()
    }))
}

/// The decision made since the email was sent, when the comment is no longer held: an email's
/// buttons act on the comment as it showed it. A reply is still welcome under a comment that
/// was approved meanwhile (it changes no decision).
fn decided_since(moderation: &Moderation) -> Option<CommentStatus> {
    match (moderation.comment.status, moderation.action) {
        (CommentStatus::Pending, _) | (CommentStatus::Approved, Action::Reply) => None,
        (status, _) => Some(status),
    }
}

/// Says what became of the comment; nothing is changed and the link stays unused.
fn decided_page(
    state: &AppState,
    moderation: &Moderation,
    decided: CommentStatus,
) -> Result<Response, AppError> {
    let mut view = page(state, "Already decided");
    let now = match decided {
        CommentStatus::Approved => "published",
        CommentStatus::Spam => "marked as spam",
        CommentStatus::Trash => "in the bin",
        CommentStatus::Pending => "held",
    };
    view.message = Some(format!(
        "This comment was {now} after this email was sent, so this button changed nothing: the later decision stands. The moderation queue can still change it."
    ));
    view.comment = Some(comment_view(state, &moderation.comment));
    view.next = Some((QUEUE.0.to_owned(), QUEUE.1.to_owned()));
    with_status(render(&view)?, StatusCode::CONFLICT)
}

/// A moderator's "stop these messages" link.
async fn read_stop(state: &AppState, token: &str) -> Option<(i64, Stop)> {
    let now = state.clock.now().unix_timestamp();
    let claim = links::verify(&state.secret, "stop-mail", token, now).ok()?;
    match claim.subject.as_slice() {
        [user, what] => Some((
            user.parse().ok()?,
            match what.as_str() {
                "held" => Stop::Held,
                "published" => Stop::Published,
                _ => return None,
            },
        )),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// Mail about held comments (moderators).
    Held,
    /// Mail about comments published on one's posts.
    Published,
}

impl Stop {
    fn what(self) -> &'static str {
        match self {
            Stop::Held => "mail about comments waiting for moderation",
            Stop::Published => "mail about comments published on your posts",
        }
    }
}

async fn show_stop(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let Some((_, stop)) = read_stop(&state, &token).await else {
        return refusal_page(&state, &not_a_link());
    };
    let mut view = page(&state, "Stop these messages?");
    view.message = Some(format!(
        "You will get no more {}. You can ask for it again on your Account page.",
        stop.what()
    ));
    view.button = Some("Stop these messages".to_owned());
    view.action_url = format!("/mail/stop/{token}");
    render(&view)
}

/// One click (RFC 8058: mail programs POST `List-Unsubscribe=One-Click` here) or the button.
async fn stop(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let Some((user_id, stop)) = read_stop(&state, &token).await else {
        return refusal_page(&state, &not_a_link());
    };
    match stop {
        Stop::Held => db::users::stop_comment_mail(&state.db, user_id).await?,
        Stop::Published => db::users::stop_own_post_mail(&state.db, user_id).await?,
    }
    let mut view = page(&state, "Done");
    view.message = Some(format!(
        "You will get no more {}. Your Account page lets you choose again.",
        stop.what()
    ));
    view.done = true;
    view.next = Some(("/admin/account".to_owned(), "Your account".to_owned()));
    render(&view)
}

/// A confirmation link: the address and the subscriptions it confirms.
fn read_confirm(state: &AppState, token: &str) -> Result<(i64, Vec<i64>), LinkProblem> {
    let now = state.clock.now().unix_timestamp();
    let claim = links::verify(&state.secret, "confirm", token, now)?;
    match claim.subject.as_slice() {
        [address, ids] => {
            let address = address.parse().map_err(|_| LinkProblem::Invalid)?;
            let ids = ids
                .split('.')
                .map(str::parse)
                .collect::<Result<Vec<i64>, _>>()
                .map_err(|_| LinkProblem::Invalid)?;
            Ok((address, ids))
        }
        _ => Err(LinkProblem::Invalid),
    }
}

fn confirm_refusal(state: &AppState, problem: LinkProblem) -> Result<Response, AppError> {
    let mut view = page(
        state,
        match problem {
            LinkProblem::Expired => "This link has expired",
            LinkProblem::Invalid => "This link does not work",
        },
    );
    view.message = Some(match problem {
        LinkProblem::Expired => {
            "Confirmation links work for 7 days. Ask again, and use the link in the new message."
                .to_owned()
        }
        LinkProblem::Invalid => {
            "It may have been cut when it was copied. Open the message again and use its link."
                .to_owned()
        }
    });
    view.next = Some(("/".to_owned(), "Go to the blog".to_owned()));
    let status = match problem {
        LinkProblem::Expired => StatusCode::GONE,
        LinkProblem::Invalid => StatusCode::NOT_FOUND,
    };
    with_status(render(&view)?, status)
}

async fn show_confirm(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let (address, ids) = match read_confirm(&state, &token) {
        Ok(claim) => claim,
        Err(problem) => return confirm_refusal(&state, problem),
    };
    let pending = db::subscriptions::pending(&state.db, address, &ids).await?;
    let Some(pending) = pending.filter(|p| !p.what.is_empty()) else {
        return nothing_to_confirm(&state);
    };
    let mut view = page(&state, "Confirm your email");
    view.message = Some(format!(
        "Send {} to {}?",
        pending.what.join(" and "),
        pending.email
    ));
    view.button = Some("Confirm".to_owned());
    view.action_url = format!("/mail/confirm/{token}");
    render(&view)
}

async fn confirm(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let (address, ids) = match read_confirm(&state, &token) {
        Ok(claim) => claim,
        Err(problem) => return confirm_refusal(&state, problem),
    };
    if db::subscriptions::confirm(&state.db, address, &ids).await? == 0 {
        return nothing_to_confirm(&state);
    }
    told(
        &state,
        "Confirmed",
        "Thank you: the messages you asked for will come. Each has a link to stop them.",
        true,
    )
}

async fn show_unsubscribe(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let Some((email, what)) = db::subscriptions::by_token(&state.db, &token).await? else {
        return ended(&state);
    };
    let mut view = page(&state, "Stop these messages?");
    view.message = Some(format!("{email} will get no more {what}."));
    view.button = Some("Unsubscribe".to_owned());
    view.action_url = format!("/mail/unsubscribe/{token}");
    render(&view)
}

/// One click: mail programs POST `List-Unsubscribe=One-Click` here (RFC 8058), or the button.
async fn unsubscribe(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let Some((email, what)) = db::subscriptions::by_token(&state.db, &token).await? else {
        return ended(&state);
    };
    db::subscriptions::unsubscribe(&state.db, &token).await?;
    told(
        &state,
        "Unsubscribed",
        &format!("{email} will get no more {what}. The blog no longer keeps the address for this."),
        true,
    )
}

fn ended(state: &AppState) -> Result<Response, AppError> {
    told(
        state,
        "Unsubscribed",
        "These messages have stopped already.",
        true,
    )
}

fn nothing_to_confirm(state: &AppState) -> Result<Response, AppError> {
    told(
        state,
        "Nothing waits for a confirmation",
        "This was confirmed already, or ended since the message was sent.",
        false,
    )
}

/// A page that tells a reader where things stand, with the way back to the blog.
fn told(state: &AppState, heading: &str, message: &str, done: bool) -> Result<Response, AppError> {
    let mut view = page(state, heading);
    view.message = Some(message.to_owned());
    view.done = done;
    view.next = Some(("/".to_owned(), "Go to the blog".to_owned()));
    render(&view)
}
