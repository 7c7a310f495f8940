//! A comment as typed into "Post a Comment": what it must satisfy, and how the blog's policy
//! and spam layers decide whether it is shown at once, held, or stored as spam.

use serde::Deserialize;

use super::FormErrors;

pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_BODY_CHARS: usize = 4_096;
pub const MAX_EMAIL_CHARS: usize = 254;
pub const MAX_URL_CHARS: usize = 500;
/// More links than this and a comment waits for a moderator (WordPress's rule).
pub const MAX_LINKS: usize = 2;
/// Replies nest this deep; a reply to a comment at this depth becomes its sibling.
pub const MAX_DEPTH: usize = 3;

/// The form exactly as sent; every field is kept to show it back on an error.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CommentForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub website: String,
    #[serde(default)]
    pub comment: String,
    #[serde(default)]
    pub parent: String,
    #[serde(default)]
    pub token: String,
    /// The honeypot: hidden from people, so only robots fill it in.
    #[serde(default)]
    pub address: String,
    /// "Notify me of replies by email" (any value: ticked).
    #[serde(default)]
    pub notify: String,
    /// "…and of every new comment on this post".
    #[serde(default)]
    pub notify_all: String,
}

/// One message per field, shown beside the field and in the summary above the form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors {
    pub name: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    pub comment: Option<String>,
    /// About the form as a whole (a stale token, a duplicate, too many comments).
    pub form: Option<String>,
}

impl FormErrors for FieldErrors {}

impl FieldErrors {
    pub fn form(message: impl Into<String>) -> Self {
        Self {
            form: Some(message.into()),
            ..Self::default()
        }
    }
}

/// A comment whose fields passed validation, trimmed and normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidComment {
    pub name: String,
    pub email: Option<String>,
    pub website: Option<String>,
    /// Exactly as typed (but for line endings), so the page shows exactly what was written.
    pub body: String,
    pub parent_id: Option<i64>,
}

impl CommentForm {
    pub fn validate(&self) -> Result<ValidComment, FieldErrors> {
        let mut errors = FieldErrors::default();
        // Control characters (NUL among them) cannot be stored or put in a feed, and no person
        // types them.
        let (name, email, website, comment) = (
            super::text::clean(&self.name),
            super::text::clean(&self.email),
            super::text::clean(&self.website),
            super::text::clean(&self.comment),
        );
        let name = name.trim();
        if name.is_empty() {
            errors.name = Some("Enter your name".into());
        } else if name.chars().count() > MAX_NAME_CHARS {
            errors.name = Some(format!(
                "Your name must be {MAX_NAME_CHARS} characters or fewer"
            ));
        }
        let email = email.trim();
        if !email.is_empty() && !is_plausible_email(email) {
            errors.email =
                Some("Enter an email address like name@example.com, or leave it empty".into());
        }
        let website = normalise_website(website.trim());
        if let Err(message) = &website {
            errors.website = Some(message.clone());
        }
        let body = comment.replace("\r\n", "\n");
        let length = body.chars().count();
        if body.trim().is_empty() {
            errors.comment = Some("Write a comment".into());
        } else if length > MAX_BODY_CHARS {
            errors.comment = Some(format!(
                "Your comment is {} characters long; the limit is {}. Please shorten it by {}",
                thousands(length),
                thousands(MAX_BODY_CHARS),
                thousands(length - MAX_BODY_CHARS)
            ));
        }
        let parent_id = match self.parent.trim() {
            "" => None,
            id => match id.parse::<i64>() {
                Ok(id) => Some(id),
                Err(_) => {
                    errors.form = Some("The comment you were replying to could not be found. Your comment will be posted on its own.".into());
                    None
                }
            },
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ValidComment {
            name: name.to_owned(),
            email: (!email.is_empty()).then(|| email.to_owned()),
            website: website.unwrap_or_default(),
            body,
            parent_id,
        })
    }

    /// Which notices the commenter asked for: (replies, every comment on the post).
    pub fn notices(&self) -> (bool, bool) {
        let all = !self.notify_all.is_empty();
        (!self.notify.is_empty() || all, all)
    }

    pub fn honeypot_filled(&self) -> bool {
        !self.address.trim().is_empty()
    }
}

pub fn is_plausible_email(email: &str) -> bool {
    if email.len() > MAX_EMAIL_CHARS
        || email
            .chars()
            .any(|c| c.is_whitespace() || c == '<' || c == '>')
    {
        return false;
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !local.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
}

/// `example.org` becomes `https://example.org`; only http and https addresses are accepted.
fn normalise_website(website: &str) -> Result<Option<String>, String> {
    const MESSAGE: &str =
        "Enter a website address starting with http:// or https://, or leave it empty";
    if website.is_empty() {
        return Ok(None);
    }
    let url = if website.contains("://") {
        website.to_owned()
    } else if website.contains(':') {
        return Err(MESSAGE.into());
    } else {
        format!("https://{website}")
    };
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .ok_or_else(|| MESSAGE.to_owned())?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let valid_host = !host.is_empty()
        && host.contains('.')
        && host
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if !valid_host
        || url.len() > MAX_URL_CHARS
        || url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"'))
    {
        return Err(MESSAGE.into());
    }
    Ok(Some(url))
}

pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Where a comment is: waiting for a moderator, shown to readers, or put aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum CommentStatus {
    Pending,
    Approved,
    Spam,
    Trash,
}

impl CommentStatus {
    pub const ALL: [CommentStatus; 4] = [
        CommentStatus::Pending,
        CommentStatus::Approved,
        CommentStatus::Spam,
        CommentStatus::Trash,
    ];

    /// The status named in a query (`?status=spam`), if it is one.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CommentStatus::Pending => "pending",
            CommentStatus::Approved => "approved",
            CommentStatus::Spam => "spam",
            CommentStatus::Trash => "trash",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CommentStatus::Pending => "Pending",
            CommentStatus::Approved => "Approved",
            CommentStatus::Spam => "Spam",
            CommentStatus::Trash => "Trash",
        }
    }
}

impl std::fmt::Display for CommentStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a comment's text is kept: as typed into Folio's form, or as HTML from an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum CommentFormat {
    Text,
    Html,
}

impl std::fmt::Display for CommentFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CommentFormat::Text => "text",
            CommentFormat::Html => "html",
        })
    }
}

/// Where a new comment goes, and why (recorded on the comment for the moderator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub status: CommentStatus,
    pub reason: Option<String>,
}

impl Decision {
    fn approved() -> Self {
        Self {
            status: CommentStatus::Approved,
            reason: None,
        }
    }

    fn pending(reason: String) -> Self {
        Self {
            status: CommentStatus::Pending,
            reason: Some(reason),
        }
    }

    fn spam(reason: String) -> Self {
        Self {
            status: CommentStatus::Spam,
            reason: Some(reason),
        }
    }
}

/// A comment policy as chosen and stored: the blog's (`settings.comment_policy`), or a post's
/// own (`posts.comment_policy`, none for the blog's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum CommentPolicy {
    #[default]
    Open,
    Moderated,
    /// Held once the post is older than the blog's `moderate_after_days`.
    ModerateAfter,
    Closed,
}

impl CommentPolicy {
    pub const ALL: [Self; 4] = [
        Self::Open,
        Self::Moderated,
        Self::ModerateAfter,
        Self::Closed,
    ];

    /// The stored name, also the form's value and the export's text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Moderated => "moderated",
            Self::ModerateAfter => "moderate_after",
            Self::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == text)
    }
}

/// The policy a comment meets: `open`, `moderated`, `moderate_after` (N days) or `closed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    Open,
    Moderated,
    ModerateAfter(i32),
    Closed,
}

impl Policy {
    /// The post's own policy wins over the blog's default.
    pub fn resolve(
        post_policy: Option<CommentPolicy>,
        blog_policy: CommentPolicy,
        moderate_after_days: i32,
    ) -> Self {
        match post_policy.unwrap_or(blog_policy) {
            CommentPolicy::Open => Policy::Open,
            CommentPolicy::Moderated => Policy::Moderated,
            CommentPolicy::ModerateAfter => Policy::ModerateAfter(moderate_after_days),
            CommentPolicy::Closed => Policy::Closed,
        }
    }

    /// Whether a comment on a post of this age waits for a moderator.
    pub fn holds(self, post_age_days: i64) -> bool {
        match self {
            Policy::Moderated => true,
            Policy::ModerateAfter(days) => post_age_days >= i64::from(days),
            Policy::Open | Policy::Closed => false,
        }
    }
}

/// Everything the spam layers and the policy look at, for one comment.
pub struct Screening<'a> {
    pub comment: &'a ValidComment,
    pub honeypot_filled: bool,
    pub link_count: usize,
    pub client_address: &'a str,
    /// One term per line: words, email addresses or client addresses.
    pub blocked_terms: &'a str,
    pub policy: Policy,
    pub post_age_days: i64,
    /// The learning filter's opinion, when it gave one.
    pub filter: Option<FilterScore>,
}

/// The learning filter's score of a comment and the blog's thresholds for it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FilterScore {
    pub score: f64,
    /// Enough comments of each kind have taught it; before that it only shows its scores.
    pub trained: bool,
    pub hold_at: f64,
    pub spam_at: f64,
    /// How many tokens it knew weighed in.
    pub evidence: usize,
}

/// A trained filter stands in for the fixed link rule only on a comment it knows this well: a
/// page of links to unknown sites with one familiar word is still held for its links.
const LINK_RULE_EVIDENCE: usize = 10;

impl FilterScore {
    /// "likely spam (0.93)": rounded down, so 0.999 never reads as a certain 1.00.
    fn reason(&self) -> String {
        format!("likely spam ({:.2})", (self.score * 100.0).floor() / 100.0)
    }
}

impl Screening<'_> {
    pub fn decide(&self) -> Decision {
        if self.honeypot_filled {
            return Decision::spam("honeypot field was filled in".into());
        }
        if let Some(term) = self.blocked_term() {
            return Decision::spam(format!("blocked term: {term}"));
        }
        let trained = self.filter.filter(|f| f.trained);
        if let Some(filter) = trained {
            if filter.score >= filter.spam_at {
                return Decision::spam(filter.reason());
            }
            if filter.score >= filter.hold_at {
                return Decision::pending(filter.reason());
            }
        }
        // A trained filter weighs the links itself (their number and domains are among its
        // tokens), so the fixed rule, which holds many good comments, stands aside when the
        // filter knows the comment well.
        let links_judged = trained.is_some_and(|f| f.evidence >= LINK_RULE_EVIDENCE);
        if self.link_count > MAX_LINKS && !links_judged {
            return Decision::pending(format!("{} links (more than {MAX_LINKS})", self.link_count));
        }
        if self.policy.holds(self.post_age_days) {
            return Decision::pending(match self.policy {
                Policy::ModerateAfter(days) => format!("post is older than {days} days"),
                _ => "the blog holds every comment for moderation".into(),
            });
        }
        Decision::approved()
    }

    fn blocked_term(&self) -> Option<String> {
        let c = self.comment;
        let haystack = format!(
            "{}\n{}\n{}\n{}",
            c.name,
            c.email.as_deref().unwrap_or(""),
            c.website.as_deref().unwrap_or(""),
            c.body
        )
        .to_lowercase();
        self.blocked_terms
            .lines()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .find(|term| {
                let term = term.to_lowercase();
                term == self.client_address || haystack.contains(&term)
            })
            .map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_holds_or_junks_only_once_trained_and_after_the_cheap_layers() {
        let comment = form("Ada", "", "", "hello").validate().unwrap();
        let filter = |score: f64, trained: bool| FilterScore {
            score,
            trained,
            hold_at: 0.5,
            spam_at: 0.9,
            evidence: 12,
        };
        let screening = |filter: Option<FilterScore>| Screening {
            comment: &comment,
            honeypot_filled: false,
            link_count: 0,
            client_address: "192.0.2.1",
            blocked_terms: "",
            policy: Policy::Open,
            post_age_days: 1,
            filter,
        };
        assert_eq!(
            screening(Some(filter(0.999, true))).decide(),
            Decision::spam("likely spam (0.99)".into())
        );
        assert_eq!(
            screening(Some(filter(0.87, true))).decide(),
            Decision::pending("likely spam (0.87)".into())
        );
        assert_eq!(
            screening(Some(filter(0.2, true))).decide(),
            Decision::approved()
        );
        assert_eq!(
            screening(Some(filter(0.999, false))).decide(),
            Decision::approved(),
            "untrained: scores only"
        );
        let honeypot = Screening {
            honeypot_filled: true,
            ..screening(Some(filter(0.1, true)))
        };
        assert_eq!(
            honeypot.decide().reason.as_deref(),
            Some("honeypot field was filled in")
        );
        let links = |filter| Screening {
            link_count: 5,
            ..screening(filter)
        };
        assert_eq!(
            links(Some(filter(0.1, false))).decide().status,
            CommentStatus::Pending
        );
        assert_eq!(
            links(Some(filter(0.1, true))).decide(),
            Decision::approved(),
            "a trained filter judges links itself"
        );
        let barely_known = FilterScore {
            evidence: 2,
            ..filter(0.1, true)
        };
        assert_eq!(
            links(Some(barely_known)).decide().status,
            CommentStatus::Pending,
            "unless it hardly knows the comment"
        );
        let moderated = Screening {
            policy: Policy::Moderated,
            ..screening(Some(filter(0.6, true)))
        };
        assert_eq!(
            moderated.decide().reason.as_deref(),
            Some("likely spam (0.60)"),
            "the filter's reason beats the policy's"
        );
    }

    fn form(name: &str, email: &str, website: &str, comment: &str) -> CommentForm {
        CommentForm {
            name: name.into(),
            email: email.into(),
            website: website.into(),
            comment: comment.into(),
            ..CommentForm::default()
        }
    }

    #[test]
    fn a_good_comment_is_normalised() {
        let valid = form("  Ada ", "ada@example.org", "example.org/me", "Hi\r\nthere")
            .validate()
            .unwrap();
        assert_eq!(valid.name, "Ada");
        assert_eq!(valid.website.as_deref(), Some("https://example.org/me"));
        assert_eq!(valid.body, "Hi\nthere");
    }

    #[test]
    fn each_field_has_its_message() {
        let errors = form("", "not-an-email", "javascript:alert(1)", "  ")
            .validate()
            .unwrap_err();
        assert_eq!(errors.name.as_deref(), Some("Enter your name"));
        assert!(errors.email.unwrap().starts_with("Enter an email address"));
        assert!(
            errors
                .website
                .unwrap()
                .starts_with("Enter a website address")
        );
        assert_eq!(errors.comment.as_deref(), Some("Write a comment"));
        let long = form("A", "", "", &"x".repeat(5_000))
            .validate()
            .unwrap_err();
        assert_eq!(
            long.comment.as_deref(),
            Some(
                "Your comment is 5,000 characters long; the limit is 4,096. Please shorten it by 904"
            )
        );
        assert!(
            form("A", "", "", &"é".repeat(4_096)).validate().is_ok(),
            "characters, not bytes"
        );
        for bad in [
            "ftp://x.org",
            "http://",
            "https://no-dot",
            "http://a b.org",
            "data:text/html,x",
        ] {
            assert!(form("A", "", bad, "x").validate().is_err(), "{bad}");
        }
    }

    #[test]
    fn layers_decide_in_order() {
        let comment = form("Ada", "", "", "hello").validate().unwrap();
        let base = Screening {
            comment: &comment,
            honeypot_filled: false,
            link_count: 0,
            client_address: "192.0.2.1",
            blocked_terms: "",
            policy: Policy::Open,
            post_age_days: 1,
            filter: None,
        };
        assert_eq!(base.decide(), Decision::approved());
        assert_eq!(
            Screening {
                honeypot_filled: true,
                ..base
            }
            .decide()
            .status,
            CommentStatus::Spam
        );
        assert_eq!(
            Screening {
                blocked_terms: "casino\nHELLO",
                ..base
            }
            .decide()
            .status,
            CommentStatus::Spam
        );
        assert_eq!(
            Screening {
                blocked_terms: "192.0.2.1",
                ..base
            }
            .decide()
            .status,
            CommentStatus::Spam
        );
        assert_eq!(
            Screening {
                link_count: 3,
                ..base
            }
            .decide()
            .status,
            CommentStatus::Pending
        );
        assert_eq!(
            Screening {
                link_count: 2,
                ..base
            }
            .decide()
            .status,
            CommentStatus::Approved
        );
        assert_eq!(
            Screening {
                policy: Policy::Moderated,
                ..base
            }
            .decide()
            .status,
            CommentStatus::Pending
        );
        assert_eq!(
            Screening {
                policy: Policy::ModerateAfter(14),
                post_age_days: 13,
                ..base
            }
            .decide()
            .status,
            CommentStatus::Approved
        );
        assert_eq!(
            Screening {
                policy: Policy::ModerateAfter(14),
                post_age_days: 14,
                ..base
            }
            .decide()
            .reason
            .as_deref(),
            Some("post is older than 14 days")
        );
    }
}
