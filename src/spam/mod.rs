//! The learning spam filter: every moderator's Approve teaches it ham and every Spam teaches it
//! spam; reversing a decision takes the lesson back. New comments are scored after the cheap
//! layers (`domain::comment::Screening`). Counts live in PostgreSQL (`db::spam`); each process
//! scores from a copy it brings up to date in the same round trip (`model`), so every Folio
//! process scores with the same model and nothing is lost at a restart.

pub mod model;
pub mod score;
pub mod tokens;
pub mod train;

use crate::domain::comment::CommentStatus;
pub use model::Model;
pub use score::{Clue, Verdict};
pub use tokens::Message;

/// What a taught comment taught.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    Ham,
    Spam,
}

impl Label {
    /// What a moderator's choice of status teaches: Approve ham, Spam spam, anything else
    /// (pending, trash) nothing.
    pub fn of_status(status: CommentStatus) -> Option<Self> {
        match status {
            CommentStatus::Approved => Some(Label::Ham),
            CommentStatus::Spam => Some(Label::Spam),
            CommentStatus::Pending | CommentStatus::Trash => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Label::Ham => "ham",
            Label::Spam => "spam",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "ham" => Some(Label::Ham),
            "spam" => Some(Label::Spam),
            _ => None,
        }
    }
}

/// A new comment's score, and whether the filter acts on it: it has learned enough, and the
/// comment holds tokens it knows.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    pub verdict: Verdict,
    pub trained: bool,
}
