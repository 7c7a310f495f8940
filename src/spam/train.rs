//! Teaching: a comment's label follows the moderator's decision, and the counts follow the
//! labels. Every change happens in the caller's transaction, with the decision itself; that
//! transaction takes `lock` before it changes any comment.

use std::collections::HashMap;

use sqlx::PgConnection;

use super::{
    Label, Message,
    tokens::{key, tokens},
};
use crate::db::{self, spam::TrainingRow};

/// Token deltas and label changes gathered before one write.
#[derive(Default)]
struct Lesson {
    tokens: HashMap<i64, (i32, i32)>,
    model: (i32, i32),
    labels: Vec<(i64, Option<&'static str>)>,
}

impl Lesson {
    fn count(&mut self, row: &TrainingRow, label: Label, sign: i32) {
        let message = Message {
            name: &row.author_name,
            email: row.author_email.as_deref(),
            website: row.author_url.as_deref(),
            body: &row.body_source,
        };
        for token in tokens(&message) {
            let entry = self.tokens.entry(key(&token)).or_default();
            match label {
                Label::Spam => entry.0 += sign,
                Label::Ham => entry.1 += sign,
            }
        }
        match label {
            Label::Spam => self.model.0 += sign,
            Label::Ham => self.model.1 += sign,
        }
    }

    /// Moves a comment from what it taught to `want`.
    fn relabel(&mut self, row: &TrainingRow, want: Option<Label>) {
        let had = row.spam_taught.as_deref().and_then(Label::parse);
        if had == want {
            return;
        }
        if let Some(old) = had {
            self.count(row, old, -1);
        }
        if let Some(new) = want {
            self.count(row, new, 1);
        }
        self.labels.push((row.id, want.map(Label::as_str)));
    }

    async fn write(self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        let mut deltas: Vec<(i64, (i32, i32))> = self
            .tokens
            .into_iter()
            .filter(|(_, d)| *d != (0, 0))
            .collect();
        deltas.sort_unstable_by_key(|(key, _)| *key);
        let (keys, (spam, ham)): (Vec<i64>, (Vec<i32>, Vec<i32>)) = deltas.into_iter().unzip();
        db::spam::apply(conn, &keys, &spam, &ham, self.model, &self.labels).await
    }
}

/// Starts a lesson: the model's lock, taken before the transaction changes any comment.
pub async fn lock(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    db::spam::lock_model(conn).await
}

/// After a moderator's decision on these comments: each one teaches what its status says
/// (Approve ham, Spam spam, pending and trash nothing), and stops teaching what it taught
/// before. A moderator's own reply never teaches.
pub async fn learn_decisions(conn: &mut PgConnection, ids: &[i64]) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut lesson = Lesson::default();
    for row in db::spam::training_rows(conn, ids).await? {
        let want = if row.by_editor {
            None
        } else {
            Label::of_status(row.status)
        };
        lesson.relabel(&row, want);
    }
    lesson.write(conn).await
}

/// Takes back what these comments taught, before their text changes; returns what each one
/// taught, for `teach` to give back once the new text is stored.
pub async fn forget(
    conn: &mut PgConnection,
    ids: &[i64],
) -> Result<Vec<(i64, Label)>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut lesson = Lesson::default();
    let mut taught = Vec::new();
    for row in db::spam::training_rows(conn, ids).await? {
        if let Some(label) = row.spam_taught.as_deref().and_then(Label::parse) {
            taught.push((row.id, label));
        }
        lesson.relabel(&row, None);
    }
    lesson.write(conn).await?;
    Ok(taught)
}

/// Teaches these comments these labels (from their current text).
pub async fn teach(conn: &mut PgConnection, labels: &[(i64, Label)]) -> Result<(), sqlx::Error> {
    if labels.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = labels.iter().map(|(id, _)| *id).collect();
    let want: HashMap<i64, Label> = labels.iter().copied().collect();
    let mut lesson = Lesson::default();
    for row in db::spam::training_rows(conn, &ids).await? {
        lesson.relabel(&row, want.get(&row.id).copied());
    }
    lesson.write(conn).await
}

/// Before an import merges: what the file will rewrite stops teaching. Returns those comments,
/// for `after_import` to teach again from their new text.
pub async fn before_import(conn: &mut PgConnection, source: &str) -> Result<Vec<i64>, sqlx::Error> {
    let ids = db::spam::taught_and_changed_by_import(conn, source).await?;
    forget(conn, &ids).await?;
    Ok(ids)
}

/// After an import merged: its approved comments teach ham and its spam teaches spam, like a
/// moderator's decisions (the blog's owner made them, elsewhere); so do the comments that
/// taught before the merge rewrote them (`forgotten`).
pub async fn after_import(
    conn: &mut PgConnection,
    source: &str,
    forgotten: &[i64],
) -> Result<(), sqlx::Error> {
    let mut ids = db::spam::imported_to_relabel(conn, source).await?;
    ids.extend_from_slice(forgotten);
    ids.sort_unstable();
    ids.dedup();
    for batch in ids.chunks(2_000) {
        learn_decisions(conn, batch).await?;
    }
    Ok(())
}

/// What `rebuild` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rebuilt {
    pub labelled_from_status: u64,
    pub stats: db::spam::ModelStats,
}

/// Counts the model again from every comment that taught it (`folio spam retrain`); with
/// `from_status`, every approved and spam comment teaches first (a blog that had comments
/// before it had the filter).
pub async fn rebuild(conn: &mut PgConnection, from_status: bool) -> Result<Rebuilt, sqlx::Error> {
    lock(conn).await?;
    let labelled_from_status = if from_status {
        db::spam::label_by_status(conn).await?
    } else {
        0
    };
    db::spam::reset(conn).await?;
    let mut after = 0;
    loop {
        let rows = db::spam::taught_after(conn, after, 2_000).await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        let mut lesson = Lesson::default();
        for row in &rows {
            if let Some(label) = row.spam_taught.as_deref().and_then(Label::parse) {
                lesson.count(row, label, 1);
            }
        }
        lesson.write(conn).await?;
    }
    Ok(Rebuilt {
        labelled_from_status,
        stats: db::spam::stats(&mut *conn).await?,
    })
}
