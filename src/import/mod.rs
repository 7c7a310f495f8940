//! Bringing a blog in from Blogger or WordPress.
//!
//! A reader thread parses the file one entry at a time and makes each ready for the blog; the
//! database side streams those rows into staging tables in batches and, at the end of the file,
//! merges them into the blog with a few set-based statements — all in one transaction, so a bad
//! file leaves the blog exactly as it was. Memory stays flat whatever the file's size.

pub mod blogger;
pub mod model;
pub mod stage;
pub mod wxr;
pub mod xml;

use std::{
    io::BufRead,
    sync::{Arc, atomic::AtomicU64},
};

use sqlx::PgPool;

use crate::db::import::{CommentBatch, PostBatch, StagedComment, StagedPost};
pub use crate::domain::import::{Counts, Moved, Summary};
use model::Record;
use xml::{Element, XmlError, XmlStream};

/// Rows per insert, and bytes of text before a batch is sent anyway.
const BATCH_ROWS: usize = 500;
const BATCH_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Blogger's classic export or Google Takeout's feed.atom
    Blogger,
    /// WordPress eXtended RSS (Tools → Export in WordPress)
    Wxr,
}

impl Format {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "blogger" => Some(Format::Blogger),
            "wxr" | "wordpress" => Some(Format::Wxr),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Blogger => "blogger",
            Format::Wxr => "wxr",
        }
    }

    /// What imported rows are keyed by, with the source's own ids.
    pub fn source(self) -> &'static str {
        match self {
            Format::Blogger => "blogger",
            Format::Wxr => "wordpress",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Format::Blogger => "Blogger",
            Format::Wxr => "WordPress",
        }
    }
}

/// A reader of one export format: the records of the file, in order.
pub trait Reader {
    fn next_record(&mut self) -> Result<Option<Record>, ReadError>;
    /// The line reached, for messages.
    fn line(&self) -> u64;
}

pub fn reader<R: BufRead + Send + 'static>(
    format: Format,
    input: R,
    bytes_read: Arc<AtomicU64>,
) -> Box<dyn Reader + Send> {
    let xml = XmlStream::new(input, bytes_read);
    match format {
        Format::Blogger => Box::new(blogger::BloggerReader::new(xml)),
        Format::Wxr => Box::new(wxr::WxrReader::new(xml)),
    }
}

/// Why a file cannot be imported, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    pub line: u64,
    /// "entry 12 (tag:blogger.com,...)", when the problem is inside one.
    pub entry: Option<String>,
    pub message: String,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.entry {
            Some(entry) => write!(f, "line {}, {entry}: {}", self.line, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

impl std::error::Error for ReadError {}

impl ReadError {
    fn xml(error: XmlError, entry_no: Option<u64>) -> Self {
        let entry = entry_no.map(|n| format!("entry {n}"));
        let message = if error.truncated {
            "the file ends in the middle of the document: it looks cut short \
             (was the download or upload complete?)"
                .to_owned()
        } else {
            error.message
        };
        Self {
            line: error.line,
            entry,
            message,
        }
    }

    fn wrong_format(line: u64, message: String) -> Self {
        Self {
            line,
            entry: None,
            message,
        }
    }

    fn entry(error: model::EntryError, entry_no: u64, element: &Element) -> Self {
        let id = ["id", "post_id", "title"]
            .iter()
            .find_map(|name| {
                element
                    .children
                    .iter()
                    .find(|c| c.name == *name && !c.text.trim().is_empty())
            })
            .map(|c| c.text.trim().chars().take(80).collect::<String>());
        Self {
            line: error.line,
            entry: Some(match id {
                Some(id) => format!("entry {entry_no} ({id})"),
                None => format!("entry {entry_no}"),
            }),
            message: error.message,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Read(#[from] ReadError),
    #[error("another import is running; try again when it has finished")]
    Busy,
    #[error("the database refused the import: {0}")]
    Database(#[from] sqlx::Error),
}

enum Staged {
    Post(Box<StagedPost>),
    Comment(Box<StagedComment>),
    Skipped(&'static str),
}

/// Imports a whole file, all or nothing. `bytes_read` moves as the file is read (for progress).
pub async fn run<R: BufRead + Send + 'static>(
    db: &PgPool,
    format: Format,
    input: R,
    bytes_read: Arc<AtomicU64>,
) -> Result<Summary, ImportError> {
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Result<Staged, ReadError>>(64);
    let reading = tokio::task::spawn_blocking(move || {
        let mut reader = reader(format, input, bytes_read);
        loop {
            let staged = match reader.next_record() {
                Ok(Some(Record::Post(post))) => Ok(Staged::Post(Box::new(stage::post(*post)))),
                Ok(Some(Record::Comment(comment))) => {
                    Ok(Staged::Comment(Box::new(stage::comment(*comment))))
                }
                Ok(Some(Record::Skipped(reason))) => Ok(Staged::Skipped(reason)),
                Ok(None) => return,
                Err(error) => Err(error),
            };
            let failed = staged.is_err();
            if sender.blocking_send(staged).is_err() || failed {
                return;
            }
        }
    });

    let source = format.source();
    let mut tx = db.begin().await?;
    if !crate::db::import::begin(&mut tx).await? {
        return Err(ImportError::Busy);
    }
    // Every way out of the block below ends the transaction before returning: a refused file
    // releases the import lock at once, for the next import to take.
    let outcome = async {
        let mut summary = Summary::default();
        let mut posts = PostBatch::default();
        let mut comments = CommentBatch::default();
        let mut authors_seen = std::collections::HashSet::new();
        let mut seq = 0i64;
        while let Some(staged) = receiver.recv().await {
            seq += 1;
            match staged? {
                Staged::Post(post) => {
                    if let Some(author) = &post.author
                        && authors_seen.insert(author.key.clone())
                    {
                        crate::db::import::stage_author(&mut tx, author).await?;
                    }
                    posts.push(*post, seq);
                    if posts.len() >= BATCH_ROWS || posts.bytes >= BATCH_BYTES {
                        crate::db::import::stage_posts(&mut tx, &posts).await?;
                        posts.clear();
                    }
                }
                Staged::Comment(comment) => {
                    comments.push(*comment, seq);
                    if comments.len() >= BATCH_ROWS || comments.bytes >= BATCH_BYTES {
                        crate::db::import::stage_comments(&mut tx, &comments).await?;
                        comments.clear();
                    }
                }
                Staged::Skipped(reason) => summary.skip(reason, 1),
            }
        }
        // The reader stops sending only at the end of the file or after an error it sent.
        if let Err(panic) = reading.await {
            std::panic::resume_unwind(panic.into_panic());
        }
        crate::db::import::stage_posts(&mut tx, &posts).await?;
        crate::db::import::stage_comments(&mut tx, &comments).await?;
        // The blog's own approved and spam comments teach the spam filter, as its
        // moderators' decisions would. Lessons wait for the import (the model's lock first,
        // as every lesson takes it, so nothing deadlocks); comments the file rewrites are
        // unlearned from their old text first.
        crate::spam::train::lock(&mut tx).await?;
        crate::db::import::merge(&mut tx, source, &mut summary).await?;
        let forgotten = crate::spam::train::before_import(&mut tx, source).await?;
        crate::db::import::merge_comments(&mut tx, source, &mut summary).await?;
        crate::spam::train::after_import(&mut tx, source, &forgotten).await?;
        Ok::<_, ImportError>(summary)
    }
    .await;
    match outcome {
        Ok(summary) => {
            tx.commit().await?;
            Ok(summary)
        }
        Err(error) => {
            let _ = tx.rollback().await;
            Err(error)
        }
    }
}
