//! What an import reports and the people it brings: shared by the readers (`import`), the
//! merge (`db::import`), the admin pages and the command line.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// An import started from the admin page, as stored (`import_jobs.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum JobState {
    Running,
    Done,
    Failed,
}

/// A person who wrote posts in the old blog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    /// The source's id for the person (profile URL, login), or their name.
    pub key: String,
    pub name: String,
    pub email: Option<String>,
}

/// Added, updated and unchanged rows of one kind.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub added: u64,
    pub updated: u64,
    pub unchanged: u64,
}

impl Counts {
    pub fn total(&self) -> u64 {
        self.added + self.updated + self.unchanged
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({} new, {} updated, {} unchanged)",
            self.total(),
            self.added,
            self.updated,
            self.unchanged
        )
    }
}

/// A post that could not keep its old path because another post has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moved {
    pub title: String,
    pub wanted: String,
    pub got: String,
}

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub posts: Counts,
    pub pages: Counts,
    pub drafts: u64,
    pub comments: Counts,
    pub labels_added: u64,
    pub authors_added: u64,
    pub redirects_added: u64,
    /// Reason → how many.
    pub skipped: BTreeMap<String, u64>,
    /// Paths that were taken (at most 20 listed).
    pub moved: Vec<Moved>,
    pub moved_count: u64,
    /// Replies whose parent was not in the file: shown as comments on the post.
    pub replies_without_parent: u64,
}

impl Summary {
    pub fn skip(&mut self, reason: &str, n: u64) {
        *self.skipped.entry(reason.to_owned()).or_default() += n;
    }

    /// The summary as lines of text, for the terminal.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![
            format!("posts:     {} — {} of them drafts", self.posts, self.drafts),
            format!("pages:     {}", self.pages),
            format!("comments:  {}", self.comments),
            format!("labels:    {} new", self.labels_added),
            format!("authors:   {} new", self.authors_added),
            format!(
                "redirects: {} new (old links that now lead to their post)",
                self.redirects_added
            ),
        ];
        for (reason, n) in &self.skipped {
            lines.push(format!("skipped:   {n} {reason}"));
        }
        if self.replies_without_parent > 0 {
            lines.push(format!(
                "note:      {} replies answer a comment that is not in the file; they are shown under the post",
                self.replies_without_parent
            ));
        }
        if self.moved_count > 0 {
            lines.push(format!(
                "note:      {} posts got a new path because another post already had theirs:",
                self.moved_count
            ));
            for moved in &self.moved {
                lines.push(format!(
                    "           {} — {} → {}",
                    moved.title, moved.wanted, moved.got
                ));
            }
        }
        lines
    }
}
