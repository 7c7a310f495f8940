//! What each event owes people by email, written into the outbox in the caller's transaction
//! (so a message exists exactly when its event does).

use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};

use super::messages::{self, HeldComment};
use crate::{
    auth::{Secret, links},
    db::{
        self,
        comments::NewComment,
        outbox::{MailKind, NewMail},
    },
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

/// Writes a rendered message into the outbox (in the caller's transaction when given one).
pub async fn queue(
    db: impl sqlx::PgExecutor<'_>,
    kind: MailKind,
    recipient: &str,
    message: &messages::Rendered,
    unsubscribe_url: Option<&str>,
) -> Result<(), Error> {
    db::outbox::enqueue(
        db,
        &NewMail {
            kind,
            recipient,
            subject: &message.subject,
            text: &message.text,
            html: &message.html,
            unsubscribe_url,
        },
    )
    .await?;
    Ok(())
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
        queue(
            &mut *tx,
            MailKind::Moderation,
            &moderator.email,
            &message,
            Some(&stop),
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
        let post_url = format!("{}/comment/{}", blog.base_url, notice.comment_id);
        let message = messages::comment_published(&messages::PublishedComment {
            blog_title: blog.title,
            base_url: blog.base_url,
            post_title: &notice.post_title,
            comment_url: &post_url,
            commenter: &notice.commenter,
            comment_text: &notice.comment_text,
            stop_url: &stop,
        })?;
        queue(
            &mut *tx,
            MailKind::CommentPublished,
            &notice.author_email,
            &message,
            Some(&stop),
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
    let outbox_kind = if inviter.is_some() {
        MailKind::Invite
    } else {
        MailKind::PasswordReset
    };
    queue(&mut *tx, outbox_kind, &user.email, &message, None).await?;
    Ok(())
}

/// How long a confirmation link works.
pub const CONFIRM_LINK_DAYS: i64 = 7;
/// Confirmation messages one address may be sent, and one client may cause: the forms that
/// take an address must not be a way to flood a stranger's inbox.
const CONFIRM_PER_ADDRESS: db::mail_requests::Limit = db::mail_requests::Limit {
    count: 3,
    window_secs: 86_400.0,
};
const CONFIRM_PER_CLIENT: db::mail_requests::Limit = db::mail_requests::Limit {
    count: 10,
    window_secs: 3_600.0,
};

/// What subscribing led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subscription {
    /// Confirmed before: it works at once.
    Active,
    /// A confirmation message is on its way.
    ConfirmationSent,
    /// It waits for a confirmation, but too many were sent lately to send another now.
    ConfirmationHeld,
}

/// Subscribes `email` to each of `scopes`; new (or still unconfirmed) subscriptions send one
/// confirmation, within the limits per address and per client. In the caller's transaction.
pub async fn subscribe(
    tx: &mut PgConnection,
    blog: &Blog<'_>,
    email: &str,
    scopes: &[db::subscriptions::Scope],
    client_hash: Option<&str>,
) -> Result<Subscription, Error> {
    // Counted before anything is written: a request over the limits leaves no trace.
    let address_key = format!("confirm-address:{}", email.to_lowercase());
    let client_key = format!("confirm-client:{}", client_hash.unwrap_or("-"));
    let allowed = db::mail_requests::allow(
        &mut *tx,
        &[
            (&address_key, CONFIRM_PER_ADDRESS),
            (&client_key, CONFIRM_PER_CLIENT),
        ],
    )
    .await?;
    if !allowed {
        return Ok(Subscription::ConfirmationHeld);
    }
    let mut address_id = None;
    let mut ids = Vec::new();
    let mut what = Vec::new();
    for scope in scopes {
        let token = crate::auth::random_token();
        let subscribed = db::subscriptions::subscribe(tx, email, *scope, &token).await?;
        if subscribed.needs_confirmation {
            address_id = Some(subscribed.address_id);
            ids.push(subscribed.subscription_id.to_string());
            what.push(
                match scope {
                    db::subscriptions::Scope::Blog => "new posts",
                    db::subscriptions::Scope::Post(_) => "every new comment on the post",
                    db::subscriptions::Scope::Replies(_) => "replies to your comment",
                }
                .to_owned(),
            );
        }
    }
    let Some(address_id) = address_id else {
        return Ok(Subscription::Active);
    };
    // The link confirms exactly what this message lists.
    let expires = (blog.now + Duration::days(CONFIRM_LINK_DAYS)).unix_timestamp();
    let link_token = links::sign(
        blog.secret,
        "confirm",
        &[&address_id.to_string(), &ids.join(".")],
        expires,
    );
    let link = format!("{}/mail/confirm/{link_token}", blog.base_url);
    let message = messages::confirm(blog.title, blog.base_url, &what, &link)?;
    queue(&mut *tx, MailKind::Confirm, email, &message, None).await?;
    Ok(Subscription::ConfirmationSent)
}

/// Newly published comments: notices to the confirmed subscribers of each (replies to their
/// comment, or every comment on a post), each with a one-click unsubscribe link.
pub async fn subscriber_notices(
    tx: &mut PgConnection,
    blog: &Blog<'_>,
    comment_ids: &[i64],
) -> Result<usize, Error> {
    let notices = db::subscriptions::notices_for(&mut *tx, comment_ids).await?;
    for notice in &notices {
        let comment_url = format!("{}/comment/{}", blog.base_url, notice.comment_id);
        let message = messages::notice(&messages::Notice {
            blog_title: blog.title,
            base_url: blog.base_url,
            reply: notice.scope == "replies",
            commenter: &notice.commenter,
            comment_text: &notice.comment_text,
            post_title: &notice.post_title,
            comment_url: &comment_url,
        })?;
        let unsubscribe = format!("{}/mail/unsubscribe/{}", blog.base_url, notice.token);
        queue(
            &mut *tx,
            MailKind::CommentNotice,
            &notice.email,
            &message,
            Some(&unsubscribe),
        )
        .await?;
    }
    Ok(notices.len())
}

/// Posts that became visible and are to be told to followers: one shared message body each,
/// one outbox row per confirmed follower. A post published long ago (a schedule that came due
/// while mail was off for days) is marked told without mail.
pub async fn announce_due_posts(
    db: &sqlx::PgPool,
    blog: &Blog<'_>,
    whole_posts: bool,
    tz: &crate::render::dates::TimeZone,
) -> Result<u64, Error> {
    let mut tx = db.begin().await?;
    let due = db::subscriptions::take_due_announcements(&mut tx, 5).await?;
    let mut queued = 0;
    for post in &due {
        if post.published_at < blog.now - Duration::days(2) {
            continue;
        }
        let url = format!("{}{}", blog.base_url, post.path);
        let date =
            crate::render::dates::date_header(&crate::render::dates::zoned(post.published_at, tz));
        let (content, body_html) = if whole_posts {
            (
                crate::render::sanitize::html_text(&post.body_html),
                Some(crate::render::sanitize::mail_html(
                    &post.body_html,
                    blog.base_url,
                )),
            )
        } else {
            (post.excerpt.clone(), None)
        };
        let message = messages::new_post(&messages::NewPost {
            blog_title: blog.title,
            base_url: blog.base_url,
            title: &post.title,
            date: &date,
            url: &url,
            content: &content,
            body_html: body_html.as_deref(),
        })?;
        let body =
            db::outbox::insert_body(&mut *tx, &message.subject, &message.text, &message.html)
                .await?;
        let unsubscribe_base = format!("{}/mail/unsubscribe/", blog.base_url);
        queued +=
            db::subscriptions::enqueue_for_followers(&mut tx, body, &unsubscribe_base).await?;
    }
    tx.commit().await?;
    Ok(queued)
}

/// Held comments listed in one digest at most (the queue has the rest).
const DIGEST_ITEMS: i64 = 50;

/// Daily digests for the moderators who asked for one and have new held comments.
pub async fn send_digests(db: &sqlx::PgPool, blog: &Blog<'_>) -> Result<usize, Error> {
    let mut tx = db.begin().await?;
    let due = db::users::take_due_digests(&mut tx).await?;
    for moderator in &due {
        let held = db::comments::held_since(&mut *tx, moderator.since, DIGEST_ITEMS).await?;
        let items: Vec<messages::DigestItem> = held
            .iter()
            .map(|c| {
                let link = |action| blog.moderation_link(c.id, action, moderator.id);
                messages::DigestItem {
                    post_title: c.post_title.clone(),
                    author_name: c.author_name.clone(),
                    excerpt: crate::render::markdown::cut_at_word(&c.body_source, 300),
                    approve_url: link("approve"),
                    spam_url: link("spam"),
                    trash_url: link("trash"),
                }
            })
            .collect();
        let stop = blog.stop_link(moderator.id, "held");
        let message = messages::digest(blog.title, blog.base_url, &items, &stop)?;
        queue(
            &mut *tx,
            MailKind::Digest,
            &moderator.email,
            &message,
            Some(&stop),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(due.len())
}

/// Renewing a certificate keeps failing (`tls::acme`): what the admins are told.
#[derive(Debug, Clone)]
pub struct CertificateTrouble {
    /// The names, comma-separated.
    pub names: String,
    /// The last attempt's reason, in the CA's words where it gave some.
    pub error: String,
    pub failures: i32,
    pub next_attempt_at: OffsetDateTime,
    /// When the certificate served meanwhile expires; none when there is none yet.
    pub expires: Option<OffsetDateTime>,
}

/// Mails every admin about `trouble`, linking to the HTTPS page at `base_url`.
pub async fn certificate_trouble(
    db: &sqlx::PgPool,
    base_url: &str,
    trouble: &CertificateTrouble,
) -> Result<(), Error> {
    let settings = db::settings::load(db).await?;
    let when = |at: OffsetDateTime| {
        at.format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
        .unwrap_or_default()
    };
    let message = messages::certificate_trouble(&messages::CertificateTrouble {
        blog_title: &settings.title,
        base_url,
        names: &trouble.names,
        error: &trouble.error,
        failures: trouble.failures,
        next_attempt: &when(trouble.next_attempt_at),
        expires: trouble.expires.map(when).as_deref(),
    })?;
    for admin in db::users::admins(db).await? {
        queue(
            db,
            MailKind::CertificateTrouble,
            &admin.email,
            &message,
            None,
        )
        .await?;
    }
    Ok(())
}
