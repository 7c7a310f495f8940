//! Email: where it goes out (`FOLIO_SMTP_URL`), how a message is put together, and the worker
//! that sends what the outbox holds (`worker`). Nothing is sent from a request: a request writes
//! a row (`db::outbox`) in the same transaction as the change that causes it.

pub mod messages;
pub mod notify;
pub mod worker;

use std::time::Duration;

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart},
    transport::smtp::authentication::Credentials,
};

/// How Folio reaches its SMTP server, from `FOLIO_SMTP_URL`.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub credentials: Option<(String, String)>,
}

impl std::fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password, in logs or panics.
        write!(f, "{:?} {}:{}", self.security, self.host, self.port)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtps://`: TLS from the first byte (port 465).
    Tls,
    /// `smtp://`: STARTTLS, required (port 587).
    StartTls,
    /// `smtp://…?tls=none`: plain text, for a relay on this machine.
    None,
}

impl SmtpUrl {
    pub fn parse(text: &str) -> Result<Self, String> {
        let url = url::Url::parse(text.trim()).map_err(|e| {
            format!("FOLIO_SMTP_URL is not a URL ({e}); write it like smtp://user:pass@mail.example.org:587")
        })?;
        let tls = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let (security, default_port) = match (url.scheme(), tls.as_deref()) {
            ("smtps", None | Some("implicit")) => (Security::Tls, 465),
            ("smtp", None | Some("required" | "starttls")) => (Security::StartTls, 587),
            ("smtp", Some("none")) => (Security::None, 25),
            ("smtp" | "smtps", Some(other)) => {
                return Err(format!(
                    "FOLIO_SMTP_URL: tls={other} is not known; leave it out (STARTTLS for smtp://, TLS for smtps://) or write tls=none for a local relay"
                ));
            }
            (scheme, _) => {
                return Err(format!(
                    "FOLIO_SMTP_URL must start with smtp:// or smtps://, not {scheme}://"
                ));
            }
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("FOLIO_SMTP_URL has no host name")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let credentials = (!url.username().is_empty())
            .then(|| (decode(url.username()), decode(url.password().unwrap_or(""))));
        Ok(Self {
            host,
            port: url.port().unwrap_or(default_port),
            security,
            credentials,
        })
    }
}

/// Everything the mail side needs to know; `None` in `Config` means mail is off.
#[derive(Debug, Clone)]
pub struct MailConfig {
    pub smtp: SmtpUrl,
    /// The sender's address, and the name given with it in `FOLIO_MAIL_FROM` (without one, the
    /// blog's title is the sender's name).
    pub from_address: String,
    pub from_name: Option<String>,
    /// Messages a minute each process sends at most (`FOLIO_MAIL_RATE`).
    pub per_minute: u32,
    /// The first retry waits this long; each next one twice as long (capped at `MAX_DELAY`).
    pub retry_base: Duration,
}

impl MailConfig {
    /// From the command line's values. `base_host` names the default sender's domain.
    pub fn new(
        smtp_url: &str,
        from: Option<&str>,
        per_minute: u32,
        base_host: &str,
    ) -> Result<Self, String> {
        let smtp = SmtpUrl::parse(smtp_url)?;
        let (from_name, from_address) = match from.map(str::trim).filter(|f| !f.is_empty()) {
            Some(from) => {
                let mailbox: Mailbox = from.parse().map_err(|_| {
                    format!("FOLIO_MAIL_FROM is not an address: write it like `Blog name <blog@example.org>` (got {from:?})")
                })?;
                (mailbox.name, mailbox.email.to_string())
            }
            None => (None, format!("folio@{base_host}")),
        };
        Ok(Self {
            smtp,
            from_address,
            from_name,
            per_minute: per_minute.max(1),
            retry_base: Duration::from_secs(60),
        })
    }
}

/// A message ready to go: what the outbox row and its body say.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub recipient: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub unsubscribe_url: Option<String>,
    /// Becomes the `Message-ID`, the same on every attempt.
    pub key: String,
    /// Personal mail (a password reset) is not `Auto-Submitted`; notices are.
    pub notice: bool,
}

/// Why a message did not go out.
#[derive(Debug, Clone)]
pub struct SendError {
    /// The server refused it for good (a 5xx answer): retrying will not help.
    pub permanent: bool,
    /// What the server said, or why it could not be reached.
    pub answer: String,
}

/// The SMTP connection (pooled) and the sender.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    config: MailConfig,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("smtp", &self.config.smtp)
            .finish()
    }
}

/// Where the per-person unsubscribe link goes in a shared body.
pub const UNSUBSCRIBE_PLACEHOLDER: &str = "[[unsubscribe]]";

impl Mailer {
    pub fn new(config: MailConfig) -> Result<Self, String> {
        let smtp = &config.smtp;
        let builder = match smtp.security {
            Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host),
            Security::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host),
            Security::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                &smtp.host,
            )),
        }
        .map_err(|e| format!("FOLIO_SMTP_URL: {e}"))?
        .port(smtp.port)
        .timeout(Some(Duration::from_secs(30)));
        let builder = match &smtp.credentials {
            Some((user, pass)) => builder.credentials(Credentials::new(user.clone(), pass.clone())),
            None => builder,
        };
        Ok(Self {
            transport: builder.build(),
            config,
        })
    }

    pub fn config(&self) -> &MailConfig {
        &self.config
    }

    /// Sends one message; `blog_title` names the sender when `FOLIO_MAIL_FROM` gave no name.
    pub async fn send(&self, message: &Outgoing, blog_title: &str) -> Result<(), SendError> {
        let email = self
            .build(message, blog_title)
            .map_err(|answer| SendError {
                permanent: true,
                answer,
            })?;
        match self.transport.send(email).await {
            Ok(_) => Ok(()),
            Err(error) => Err(SendError {
                permanent: refuses_this_message(&error),
                answer: describe(&error),
            }),
        }
    }

    fn build(&self, message: &Outgoing, blog_title: &str) -> Result<Message, String> {
        let name = self
            .config
            .from_name
            .clone()
            .unwrap_or_else(|| blog_title.to_owned());
        let from = Mailbox::new(
            Some(name),
            self.config
                .from_address
                .parse()
                .map_err(|e| format!("the sender's address: {e}"))?,
        );
        let to: Mailbox = message
            .recipient
            .parse()
            .map_err(|e| format!("the recipient's address {:?}: {e}", message.recipient))?;
        let domain = self
            .config
            .from_address
            .rsplit_once('@')
            .map_or("folio.invalid", |(_, d)| d);
        let mut builder = Message::builder()
            .from(from)
            .to(to)
            .subject(&message.subject)
            .message_id(Some(format!("<{}@{domain}>", message.key)))
            .date_now();
        if message.notice {
            builder = builder.raw_header(raw_header("Auto-Submitted", "auto-generated"));
        }
        let (text, html) = match &message.unsubscribe_url {
            Some(url) => {
                builder = builder
                    .raw_header(raw_header("List-Unsubscribe", &format!("<{url}>")))
                    .raw_header(raw_header(
                        "List-Unsubscribe-Post",
                        "List-Unsubscribe=One-Click",
                    ));
                (
                    message.text.replace(UNSUBSCRIBE_PLACEHOLDER, url),
                    message.html.replace(
                        UNSUBSCRIBE_PLACEHOLDER,
                        &crate::render::sanitize::escape_html(url),
                    ),
                )
            }
            None => (message.text.clone(), message.html.clone()),
        };
        builder
            .multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(|e| format!("the message could not be put together: {e}"))
    }
}

fn raw_header(name: &'static str, value: &str) -> lettre::message::header::HeaderValue {
    lettre::message::header::HeaderValue::new(
        lettre::message::header::HeaderName::new_from_ascii_str(name),
        value.to_owned(),
    )
}

/// Whether the server refused this message for good (no such mailbox, a policy refusal), as
/// opposed to refusing everything for now: a 5xx at login (535: a wrong password), 530 (STARTTLS
/// needed) and the like are the operator's to fix, and the messages must wait for it.
fn refuses_this_message(error: &lettre::transport::smtp::Error) -> bool {
    error
        .status()
        .and_then(|code| code.to_string().parse::<u16>().ok())
        .is_some_and(|code| (550..=554).contains(&code))
}

/// The server's answer as a moderator can read it on the Email page.
fn describe(error: &lettre::transport::smtp::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.chars().take(1000).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_say_how_to_reach_the_server() {
        let starttls = SmtpUrl::parse("smtp://me%40x.org:p%3Ass@mail.example.org:587").unwrap();
        assert_eq!(starttls.security, Security::StartTls);
        assert_eq!(starttls.port, 587);
        assert_eq!(
            starttls.credentials,
            Some(("me@x.org".to_owned(), "p:ss".to_owned()))
        );
        let tls = SmtpUrl::parse("smtps://u:p@mail.example.org").unwrap();
        assert_eq!((tls.security, tls.port), (Security::Tls, 465));
        let relay = SmtpUrl::parse("smtp://127.0.0.1:2525?tls=none").unwrap();
        assert_eq!((relay.security, relay.port), (Security::None, 2525));
        assert_eq!(relay.credentials, None);
        assert!(SmtpUrl::parse("http://mail.example.org").is_err());
        assert!(SmtpUrl::parse("smtp://mail.example.org?tls=maybe").is_err());
        assert!(!format!("{starttls:?}").contains("p:ss"));
    }

    #[test]
    fn the_sender_comes_from_folio_mail_from_or_the_blog() {
        let named = MailConfig::new(
            "smtp://127.0.0.1:25?tls=none",
            Some("Garden Notes <notes@example.org>"),
            60,
            "blog.test",
        )
        .unwrap();
        assert_eq!(named.from_name.as_deref(), Some("Garden Notes"));
        assert_eq!(named.from_address, "notes@example.org");
        let plain = MailConfig::new("smtp://127.0.0.1:25?tls=none", None, 0, "blog.test").unwrap();
        assert_eq!(plain.from_address, "folio@blog.test");
        assert_eq!(plain.per_minute, 1);
        assert!(MailConfig::new("smtp://h", Some("not an address"), 60, "b").is_err());
    }
}
