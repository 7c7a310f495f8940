//! What Folio's messages say: each is a plain-text part and an HTML alternative, rendered from
//! `templates/mail/`. No tracking pixels, no remote images: the HTML is styled inline.

use askama::Template;

/// A message's subject and both its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

fn render(
    subject: String,
    text: &impl Template,
    html: &impl Template,
) -> Result<Rendered, askama::Error> {
    Ok(Rendered {
        subject,
        text: text.render()?,
        html: html.render()?,
    })
}

#[derive(Template)]
#[template(path = "mail/test.txt")]
struct TestText<'a> {
    blog_title: &'a str,
    base_url: &'a str,
}

#[derive(Template)]
#[template(path = "mail/test.html")]
struct TestHtml<'a> {
    subject: &'a str,
    blog_title: &'a str,
    base_url: &'a str,
}

/// "Send a test email" on the Email page.
pub fn test(blog_title: &str, base_url: &str) -> Result<Rendered, askama::Error> {
    let subject = format!("Test email from {blog_title}");
    render(
        subject.clone(),
        &TestText {
            blog_title,
            base_url,
        },
        &TestHtml {
            subject: &subject,
            blog_title,
            base_url,
        },
    )
}

/// What a moderator is told about a held comment.
pub struct HeldComment<'a> {
    pub blog_title: &'a str,
    pub base_url: &'a str,
    pub post_title: &'a str,
    pub post_url: &'a str,
    pub author_name: &'a str,
    pub author_email: Option<&'a str>,
    pub author_website: Option<&'a str>,
    pub reason: &'a str,
    pub comment_text: &'a str,
    pub approve_url: &'a str,
    pub spam_url: &'a str,
    pub trash_url: &'a str,
    pub reply_url: &'a str,
    pub stop_url: &'a str,
}

#[derive(Template)]
#[template(path = "mail/comment_held.txt")]
struct HeldText<'a> {
    c: &'a HeldComment<'a>,
}

#[derive(Template)]
#[template(path = "mail/comment_held.html")]
struct HeldHtml<'a> {
    subject: &'a str,
    blog_title: &'a str,
    base_url: &'a str,
    c: &'a HeldComment<'a>,
}

pub fn comment_held(c: &HeldComment<'_>) -> Result<Rendered, askama::Error> {
    let subject = format!("[{}] A comment waits on \"{}\"", c.blog_title, c.post_title);
    render(
        subject.clone(),
        &HeldText { c },
        &HeldHtml {
            subject: &subject,
            blog_title: c.blog_title,
            base_url: c.base_url,
            c,
        },
    )
}

/// What a post's author is told about a comment published on it.
pub struct PublishedComment<'a> {
    pub blog_title: &'a str,
    pub base_url: &'a str,
    pub post_title: &'a str,
    pub comment_url: &'a str,
    pub commenter: &'a str,
    pub comment_text: &'a str,
    pub stop_url: &'a str,
}

#[derive(Template)]
#[template(path = "mail/comment_published.txt")]
struct PublishedText<'a> {
    c: &'a PublishedComment<'a>,
}

#[derive(Template)]
#[template(path = "mail/comment_published.html")]
struct PublishedHtml<'a> {
    subject: &'a str,
    blog_title: &'a str,
    base_url: &'a str,
    c: &'a PublishedComment<'a>,
}

pub fn comment_published(c: &PublishedComment<'_>) -> Result<Rendered, askama::Error> {
    let subject = format!(
        "[{}] {} commented on \"{}\"",
        c.blog_title, c.commenter, c.post_title
    );
    render(
        subject.clone(),
        &PublishedText { c },
        &PublishedHtml {
            subject: &subject,
            blog_title: c.blog_title,
            base_url: c.base_url,
            c,
        },
    )
}

#[derive(Template)]
#[template(path = "mail/password.txt")]
struct PasswordText<'a> {
    blog_title: &'a str,
    base_url: &'a str,
    link: &'a str,
    invite: bool,
    inviter: &'a str,
}

#[derive(Template)]
#[template(path = "mail/password.html")]
struct PasswordHtml<'a> {
    subject: &'a str,
    blog_title: &'a str,
    base_url: &'a str,
    link: &'a str,
    invite: bool,
    inviter: &'a str,
}

/// A password link: a reset someone asked for, or an invitation from `inviter`.
pub fn password_link(
    blog_title: &str,
    base_url: &str,
    link: &str,
    inviter: Option<&str>,
) -> Result<Rendered, askama::Error> {
    let (invite, inviter) = (inviter.is_some(), inviter.unwrap_or(""));
    let subject = if invite {
        format!("You are invited to {blog_title}")
    } else {
        format!("Set a new password for {blog_title}")
    };
    render(
        subject.clone(),
        &PasswordText {
            blog_title,
            base_url,
            link,
            invite,
            inviter,
        },
        &PasswordHtml {
            subject: &subject,
            blog_title,
            base_url,
            link,
            invite,
            inviter,
        },
    )
}

#[derive(Template)]
#[template(path = "mail/confirm.txt")]
struct ConfirmText<'a> {
    blog_title: &'a str,
    base_url: &'a str,
    what: &'a [String],
    link: &'a str,
}

#[derive(Template)]
#[template(path = "mail/confirm.html")]
struct ConfirmHtml<'a> {
    subject: &'a str,
    blog_title: &'a str,
    base_url: &'a str,
    what: &'a [String],
    link: &'a str,
}

/// The first message to an address: nothing more is sent until it is confirmed.
pub fn confirm(
    blog_title: &str,
    base_url: &str,
    what: &[String],
    link: &str,
) -> Result<Rendered, askama::Error> {
    let subject = format!("Confirm your email for {blog_title}");
    render(
        subject.clone(),
        &ConfirmText {
            blog_title,
            base_url,
            what,
            link,
        },
        &ConfirmHtml {
            subject: &subject,
            blog_title,
            base_url,
            what,
            link,
        },
    )
}

/// A comment a subscriber asked to hear of (its unsubscribe link goes in at sending time).
pub struct Notice<'a> {
    pub blog_title: &'a str,
    pub base_url: &'a str,
    /// A reply to their comment (else: a new comment on a post they follow).
    pub reply: bool,
    pub commenter: &'a str,
    pub comment_text: &'a str,
    pub post_title: &'a str,
    pub comment_url: &'a str,
}

#[derive(Template)]
#[template(path = "mail/notice.txt")]
struct NoticeText<'a> {
    n: &'a Notice<'a>,
}

#[derive(Template)]
#[template(path = "mail/notice.html")]
struct NoticeHtml<'a> {
    subject: &'a str,
    blog_title: &'a str,
    base_url: &'a str,
    n: &'a Notice<'a>,
}

pub fn notice(n: &Notice<'_>) -> Result<Rendered, askama::Error> {
    let subject = if n.reply {
        format!("{} replied to you on \"{}\"", n.commenter, n.post_title)
    } else {
        format!("New comment on \"{}\"", n.post_title)
    };
    render(
        subject.clone(),
        &NoticeText { n },
        &NoticeHtml {
            subject: &subject,
            blog_title: n.blog_title,
            base_url: n.base_url,
            n,
        },
    )
}

/// A new post for followers: its summary, or the whole post (images left out: no remote
/// images in mail).
pub struct NewPost<'a> {
    pub blog_title: &'a str,
    pub base_url: &'a str,
    pub title: &'a str,
    pub date: &'a str,
    pub url: &'a str,
    /// The summary, or the whole post as text.
    pub content: &'a str,
    /// The whole post as mail-safe HTML, when followers get whole posts.
    pub body_html: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "mail/new_post.txt")]
struct NewPostText<'a> {
    p: &'a NewPost<'a>,
}

#[derive(Template)]
#[template(path = "mail/new_post.html")]
struct NewPostHtml<'a> {
    subject: &'a str,
    blog_title: &'a str,
    base_url: &'a str,
    p: &'a NewPost<'a>,
}

pub fn new_post(p: &NewPost<'_>) -> Result<Rendered, askama::Error> {
    let subject = format!("{}: {}", p.blog_title, p.title);
    render(
        subject.clone(),
        &NewPostText { p },
        &NewPostHtml {
            subject: &subject,
            blog_title: p.blog_title,
            base_url: p.base_url,
            p,
        },
    )
}

/// One held comment in a digest.
#[derive(Debug, Clone)]
pub struct DigestItem {
    pub post_title: String,
    pub author_name: String,
    pub excerpt: String,
    pub approve_url: String,
    pub spam_url: String,
    pub trash_url: String,
}

#[derive(Template)]
#[template(path = "mail/digest.txt")]
struct DigestText<'a> {
    blog_title: &'a str,
    base_url: &'a str,
    items: &'a [DigestItem],
    stop_url: &'a str,
}

#[derive(Template)]
#[template(path = "mail/digest.html")]
struct DigestHtml<'a> {
    subject: &'a str,
    blog_title: &'a str,
    base_url: &'a str,
    items: &'a [DigestItem],
    stop_url: &'a str,
}

/// A moderator's daily digest of held comments.
pub fn digest(
    blog_title: &str,
    base_url: &str,
    items: &[DigestItem],
    stop_url: &str,
) -> Result<Rendered, askama::Error> {
    let subject = format!(
        "[{blog_title}] {} comment{} waiting",
        items.len(),
        if items.len() == 1 { "" } else { "s" }
    );
    render(
        subject.clone(),
        &DigestText {
            blog_title,
            base_url,
            items,
            stop_url,
        },
        &DigestHtml {
            subject: &subject,
            blog_title,
            base_url,
            items,
            stop_url,
        },
    )
}

/// What a user is told when their password was right but the second step then failed.
pub struct SignInAlert<'a> {
    pub blog_title: &'a str,
    pub base_url: &'a str,
    /// "a wrong authenticator code", ...
    pub what: &'a str,
    pub when: &'a str,
    pub device: &'a str,
    pub address: &'a str,
}

#[derive(Template)]
#[template(path = "mail/sign_in_alert.txt")]
struct SignInAlertText<'a> {
    blog_title: &'a str,
    base_url: &'a str,
    what: &'a str,
    when: &'a str,
    device: &'a str,
    address: &'a str,
    account_url: &'a str,
}

#[derive(Template)]
#[template(path = "mail/sign_in_alert.html")]
struct SignInAlertHtml<'a> {
    subject: &'a str,
    blog_title: &'a str,
    base_url: &'a str,
    what: &'a str,
    when: &'a str,
    device: &'a str,
    address: &'a str,
    account_url: &'a str,
}

/// "Your password was used, then a wrong code": the password is known to whoever it was.
pub fn sign_in_alert(a: &SignInAlert<'_>) -> Result<Rendered, askama::Error> {
    let subject = format!("A sign-in to {} stopped at the second step", a.blog_title);
    let account_url = format!("{}/admin/account", a.base_url);
    render(
        subject.clone(),
        &SignInAlertText {
            blog_title: a.blog_title,
            base_url: a.base_url,
            what: a.what,
            when: a.when,
            device: a.device,
            address: a.address,
            account_url: &account_url,
        },
        &SignInAlertHtml {
            subject: &subject,
            blog_title: a.blog_title,
            base_url: a.base_url,
            what: a.what,
            when: a.when,
            device: a.device,
            address: a.address,
            account_url: &account_url,
        },
    )
}

/// Renewing the HTTPS certificate keeps failing: what the admins read.
pub struct CertificateTrouble<'a> {
    pub blog_title: &'a str,
    pub base_url: &'a str,
    pub names: &'a str,
    pub error: &'a str,
    pub failures: i32,
    pub next_attempt: &'a str,
    /// When the certificate served meanwhile expires; none before the first one.
    pub expires: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "mail/certificate_trouble.txt")]
struct CertificateTroubleText<'a> {
    c: &'a CertificateTrouble<'a>,
    https_url: &'a str,
}

#[derive(Template)]
#[template(path = "mail/certificate_trouble.html")]
struct CertificateTroubleHtml<'a> {
    subject: &'a str,
    blog_title: &'a str,
    base_url: &'a str,
    c: &'a CertificateTrouble<'a>,
    https_url: &'a str,
}

pub fn certificate_trouble(c: &CertificateTrouble<'_>) -> Result<Rendered, askama::Error> {
    let subject = match c.expires {
        Some(_) => format!("{}: the HTTPS certificate cannot be renewed", c.blog_title),
        None => format!("{}: no HTTPS certificate yet", c.blog_title),
    };
    let https_url = format!("{}/admin/https", c.base_url);
    render(
        subject.clone(),
        &CertificateTroubleText {
            c,
            https_url: &https_url,
        },
        &CertificateTroubleHtml {
            subject: &subject,
            blog_title: c.blog_title,
            base_url: c.base_url,
            c,
            https_url: &https_url,
        },
    )
}
