//! What each event owes people by email, written into the outbox in the caller's transaction
//! (so a message exists exactly when its event does).

use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};

use super::messages::{self, HeldComment};
use crate::{
    auth::{Secret, links},
    db::{self, comments::NewComment, outbox::NewMail},
};

/// How long a moderator's buttons in an email work.
pub const MODERATION_LINK_DAYS: i64 = 7;
/// An unsubscribe link works as long as the messages that carry it are read.
const STOP_LINK_DAYS: i64 = 3650;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Render(#[from] askama::Error),
}

/// What every message needs to know about the blog.
pub struct Blog<'a> {
    pub secret: &'a Secret,
    pub base_url: &'a str,
    pub title: &'a str,
    pub now: OffsetDateTime,
}

impl Blog<'_> {
    fn link(&self, path: &str, purpose: &str, subject: &[&str], days: i64) -> String {
        let expires = (self.now + Duration::days(days)).unix_timestamp();
        let token = links::sign(self.secret, purpose, subject, expires);
        format!("{}{path}{token}", self.base_url)
    }

    /// A moderator's button for one comment and one action.
    pub fn moderation_link(&self, comment_id: i64, action: &str, user_id: i64) -> String {
        self.link(
            "/mail/comment/",
            "moderate",
            &[&comment_id.to_string(), action, &user_id.to_string()],
            MODERATION_LINK_DAYS,
        )
    }

    /// One click ends a kind of mail for a user: `held` (held comments) or `published`
    /// (comments published on their posts).
    pub fn stop_link(&self, user_id: i64, what: &str) -> String {
        self.link(
            "/mail/stop/",
            "stop-mail",
            &[&user_id.to_string(), what],
            STOP_LINK_DAYS,
        )
    }
}

/// A comment was held: each editor or admin who asked for it gets a message with buttons.
pub async fn comment_held(
    tx: &mut PgConnection,
    blog: &Blog<'_>,
    comment_id: i64,
    comment: &NewComment,
    post_title: &str,
    post_path: &str,
) -> Result<usize, Error> {
    let moderators = db::users::moderators_wanting_each(&mut *tx).await?;
    let post_url = format!("{}{post_path}", blog.base_url);
    for moderator in &moderators {
        let link = |action| blog.moderation_link(comment_id, action, moderator.id);
        let (approve, spam, trash, reply) =
            (link("approve"), link("spam"), link("trash"), link("reply"));
        let stop = blog.stop_link(moderator.id, "held");
        let message = messages::comment_held(&HeldComment {
            blog_title: blog.title,
            base_url: blog.base_url,
            post_title,
            post_url: &post_url,
            author_name: &comment.author_name,
            author_email: comment.author_email.as_deref(),
            author_website: comment.author_url.as_deref(),
            reason: comment
                .status_reason
                .as_deref()
                .unwrap_or("the blog holds comments for moderation"),
            comment_text: &comment.body_source,
            approve_url: &approve,
            spam_url: &spam,
            trash_url: &trash,
            reply_url: &reply,
            stop_url: &stop,
        })?;
        db::outbox::enqueue(
            &mut *tx,
            &NewMail {
                kind: "moderation",
                recipient: &moderator.email,
                subject: &message.subject,
                text: &message.text,
                html: &message.html,
                unsubscribe_url: Some(&stop),
            },
        )
        .await?;
    }
    Ok(moderators.len())
}

/// Comments were published: each post author who asked hears of those on their posts (not of
/// their own). Call it in the transaction that approved them, with the ids that changed.
pub async fn comments_published(
    tx: &mut PgConnection,
    blog: &Blog<'_>,
    comment_ids: &[i64],
) -> Result<usize, Error> {
    if comment_ids.is_empty() {
        return Ok(0);
    }
    let notices = db::comments::published_notices(&mut *tx, comment_ids).await?;
    for notice in &notices {
        let stop = blog.stop_link(notice.author_id, "published");
        let post_url = format!(
            "{}{}#c{}",
            blog.base_url, notice.post_path, notice.comment_id
        );
        let message = messages::comment_published(&messages::PublishedComment {
            blog_title: blog.title,
            base_url: blog.base_url,
            post_title: &notice.post_title,
            comment_url: &post_url,
            commenter: &notice.commenter,
            comment_text: &notice.comment_text,
            stop_url: &stop,
        })?;
        db::outbox::enqueue(
            &mut *tx,
            &NewMail {
                kind: "comment_published",
                recipient: &notice.author_email,
                subject: &message.subject,
                text: &message.text,
                html: &message.html,
                unsubscribe_url: Some(&stop),
            },
        )
        .await?;
    }
    Ok(notices.len())
}

/// How long a password link works: an hour for a reset, a week for an invitation.
pub const RESET_LINK_SECS: i64 = 3600;
pub const INVITE_LINK_DAYS: i64 = 7;

/// What a password link is bound to besides the user: their password as it is now, so the
/// link stops working once the password changes.
pub fn password_fingerprint(password_hash: Option<&str>) -> String {
    hex::encode(&links::digest(password_hash.unwrap_or(""))[..8])
}

/// A link to set a password: a reset the user asked for, or an invitation from `inviter`.
pub async fn password_link(
    tx: &mut PgConnection,
    blog: &Blog<'_>,
    user: &db::users::LinkUser,
    inviter: Option<&str>,
) -> Result<(), Error> {
    let (kind, expires) = match inviter {
        Some(_) => ("invite", blog.now + Duration::days(INVITE_LINK_DAYS)),
        None => ("reset", blog.now + Duration::seconds(RESET_LINK_SECS)),
    };
    let token = links::sign(
        blog.secret,
        "password",
        &[
            &user.id.to_string(),
            &password_fingerprint(user.password_hash.as_deref()),
            kind,
        ],
        expires.unix_timestamp(),
    );
    let link = format!("{}/admin/password/{token}", blog.base_url);
    let message = messages::password_link(blog.title, blog.base_url, &link, inviter)?;
    db::outbox::enqueue(
        &mut *tx,
        &NewMail {
            kind: if inviter.is_some() {
                "invite"
            } else {
                "password_reset"
            },
            recipient: &user.email,
            subject: &message.subject,
            text: &message.text,
            html: &message.html,
            unsubscribe_url: None,
        },
    )
    .await?;
    Ok(())
}
