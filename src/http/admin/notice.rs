//! The line an admin page shows after a change. A change redirects with `?done=<word>`, and
//! the page it lands on reads the word back as a `Notice`: one table of words and texts, so
//! no redirect can name a notice that no page knows, and an unknown word shows nothing.

use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Deserializer};

macro_rules! notices {
    ($($variant:ident = $word:literal => $text:literal,)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Notice {
            $($variant,)*
        }

        impl Notice {
            const ALL: &[Notice] = &[$(Notice::$variant,)*];

            /// The word in the address.
            pub fn word(self) -> &'static str {
                match self {
                    $(Notice::$variant => $word,)*
                }
            }

            /// What the page says.
            pub fn text(self) -> &'static str {
                match self {
                    $(Notice::$variant => $text,)*
                }
            }
        }
    };
}

notices! {
    // The editor and the posts list
    Created = "created" => "Saved as a draft.",
    Saved = "saved" => "Saved.",
    Published = "published" => "Published.",
    Scheduled = "scheduled" => "Scheduled.",
    Unpublished = "unpublished" => "Unpublished: readers no longer see it.",
    Restored = "restored" => "The revision was restored.",
    // Comments (a moderation of many says how many: `?updated=N`)
    CommentEdited = "edited" => "The comment's text was saved.",
    Replied = "replied" => "Your reply is published.",
    // Media
    AltSaved = "alt" => "The alt text was saved.",
    ImageDeleted = "deleted" => "The image was deleted.",
    // Theme and settings
    ThemeSaved = "theme-saved" => "The theme is saved: readers see it now.",
    ThemeImage = "image" => "The image is uploaded and in use.",
    SettingsSaved = "settings-saved" => "The settings are saved.",
    // One's own account
    MailChoices = "mail" => "Your mail choices are saved.",
    FediverseName = "fediverse-name" => "Saved: your fediverse account is as you see it below.",
    PasswordChanged = "password-changed" => "Your password is changed.",
    SessionEnded = "session" => "That session is signed out.",
    PasskeyAdded = "passkey" => "Your passkey is added: you can sign in with it now.",
    PasskeyRemoved = "passkey-removed" => "The passkey is removed.",
    TotpOff = "totp-off" => "Authenticator codes are off, and your recovery codes with them.",
    // Users
    UserAdded = "added" => "The user was added.",
    Invited = "invited" => "The user was added and invited by email to choose a password.",
    Reinvited = "reinvited" => "An invitation to choose a password is on its way to them.",
    UserSaved = "user-saved" => "Saved.",
    PasswordSet = "password-set" => "The password was set.",
    SecondStepsRemoved = "second-steps" => "Their passkeys and authenticator app are removed, and they are signed out everywhere: they sign in with their password now.",
    // Email and followers
    TestQueued = "test" => "A test email is in the queue; it goes out within seconds.",
    Retried = "retry" => "The message is back in the queue.",
    FollowerRemoved = "removed" => "Removed: the address gets nothing more from the blog for this.",
    // The fediverse
    FediverseApproved = "follower-approved" => "Approved: they follow the blog now.",
    FediverseRemoved = "follower-removed" => "Removed: they are told, and get nothing more from the blog.",
    FediverseBlocked = "instance-blocked" => "Saved: the instance's list is updated.",
    FediverseUnblocked = "instance-unblocked" => "The instance is no longer blocked or held.",
}

impl Notice {
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|notice| notice.word() == word)
    }

    /// `page` (which may have a query already) saying this.
    pub fn on(self, page: &str) -> String {
        let joint = if page.contains('?') { '&' } else { '?' };
        format!("{page}{joint}done={}", self.word())
    }

    /// A 303 to `page` saying this.
    pub fn after(self, page: &str) -> Response {
        Redirect::to(&self.on(page)).into_response()
    }

    /// For a query's `done`: a word no notice has is no notice (not a refused request).
    pub fn lenient<'de, D: Deserializer<'de>>(from: D) -> Result<Option<Self>, D::Error> {
        Ok(Option::<String>::deserialize(from)?
            .as_deref()
            .and_then(Self::parse))
    }
}

/// The query of a page whose only parameter is its notice.
#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    #[serde(default, deserialize_with = "Notice::lenient")]
    pub done: Option<Notice>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_notice_has_a_word_of_its_own() {
        for notice in Notice::ALL {
            assert_eq!(Notice::parse(notice.word()), Some(*notice), "{notice:?}");
        }
        assert_eq!(Notice::parse("1"), None);
        assert_eq!(
            Notice::Saved.on("/admin/posts/7"),
            "/admin/posts/7?done=saved"
        );
        assert_eq!(
            Notice::CommentEdited.on("/admin/comments?status=spam"),
            "/admin/comments?status=spam&done=edited"
        );
    }
}
