//! What a message in the outbox is and where it stands, as stored (`outbox.kind`, `.status`).

/// Why a message is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum MailKind {
    /// A new post, to each follower of the blog.
    Post,
    /// A comment held for moderation, to a moderator.
    Moderation,
    /// The held comments of a day, to a moderator who chose a digest.
    Digest,
    /// A new comment, to those following the post or the thread.
    CommentNotice,
    /// A held comment that is now shown, to its author.
    CommentPublished,
    /// "Confirm your subscription".
    Confirm,
    PasswordReset,
    Invite,
    /// A sign-in from a new device, to the account's owner.
    SignInAlert,
    /// From the Email page, to the admin who asked.
    Test,
    /// The HTTPS certificate cannot be renewed, to every admin.
    CertificateTrouble,
}

impl MailKind {
    /// The name shown on the Email page, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Post => "post",
            Self::Moderation => "moderation",
            Self::Digest => "digest",
            Self::CommentNotice => "comment_notice",
            Self::CommentPublished => "comment_published",
            Self::Confirm => "confirm",
            Self::PasswordReset => "password_reset",
            Self::Invite => "invite",
            Self::SignInAlert => "sign_in_alert",
            Self::Test => "test",
            Self::CertificateTrouble => "certificate_trouble",
        }
    }

    /// Sent by the blog on its own (`Auto-Submitted`); personal mail, which a person asked
    /// for just now, is not.
    pub fn is_notice(self) -> bool {
        !matches!(self, Self::PasswordReset | Self::Invite | Self::Test)
    }
}

/// Where a message stands: waiting (perhaps retried), sent, or given up after its attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum MailStatus {
    Waiting,
    Sent,
    Failed,
}
