//! The spam filter's counts (see `crate::spam`): read to score a comment, changed when a
//! moderator's decision teaches it.

use sqlx::{PgConnection, PgExecutor};

use crate::domain::{comment::CommentStatus, spam::Counts};

fn counts(spam: i32, ham: i32) -> Counts {
    Counts {
        spam: spam.max(0).unsigned_abs(),
        ham: ham.max(0).unsigned_abs(),
    }
}

/// What changed in the model since `version`: every token row moved on since then (with its
/// counts now), and the model's totals and version, in one round trip and one snapshot.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub tokens: Vec<(i64, Counts)>,
    pub model: Counts,
    pub version: i64,
}

pub async fn changes_since(db: impl PgExecutor<'_>, version: i64) -> Result<Changes, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select key, spam as "spam!", ham as "ham!", version as "version!"
           from spam_tokens where version > $1
           union all
           select null, spam, ham, version from spam_model"#,
        version
    )
    .fetch_all(db)
    .await?;
    let mut changes = Changes::default();
    changes.tokens.reserve(rows.len().saturating_sub(1));
    for row in rows {
        match row.key {
            Some(key) => changes.tokens.push((key, counts(row.spam, row.ham))),
            None => {
                changes.model = counts(row.spam, row.ham);
                changes.version = row.version;
            }
        }
    }
    Ok(changes)
}

/// How many comments of each kind taught the model: (spam, ham).
pub async fn totals(db: impl PgExecutor<'_>) -> Result<(i64, i64), sqlx::Error> {
    let row =
        sqlx::query!(r#"select spam::bigint as "spam!", ham::bigint as "ham!" from spam_model"#)
            .fetch_one(db)
            .await?;
    Ok((row.spam, row.ham))
}

/// Takes the model's lock until the caller's transaction ends. Every lesson takes it before
/// it touches a comment, so lessons run one at a time, in the order their versions say, and
/// cannot deadlock on comment rows.
pub async fn lock_model(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query!(r#"select id from spam_model for update"#)
        .fetch_one(conn)
        .await?;
    Ok(())
}

/// How much the filter has learned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ModelStats {
    pub spam: i64,
    pub ham: i64,
    pub tokens: i64,
}

pub async fn stats(db: impl PgExecutor<'_>) -> Result<ModelStats, sqlx::Error> {
    let row = sqlx::query!(
        r#"select spam::bigint as "spam!", ham::bigint as "ham!",
                  (select count(*) from spam_tokens where spam > 0 or ham > 0) as "tokens!"
           from spam_model"#
    )
    .fetch_one(db)
    .await?;
    Ok(ModelStats {
        spam: row.spam,
        ham: row.ham,
        tokens: row.tokens,
    })
}

/// A comment as the filter reads it, with what it taught so far.
#[derive(Debug, Clone)]
pub struct TrainingRow {
    pub id: i64,
    pub author_name: String,
    pub author_email: Option<String>,
    pub author_url: Option<String>,
    pub body_source: String,
    pub status: CommentStatus,
    pub by_editor: bool,
    pub spam_taught: Option<String>,
}

/// These comments, locked until the caller's transaction ends (two moderators deciding on
/// one comment at once teach once).
pub async fn training_rows(
    conn: &mut PgConnection,
    ids: &[i64],
) -> Result<Vec<TrainingRow>, sqlx::Error> {
    sqlx::query_as!(
        TrainingRow,
        r#"select id, author_name, author_email, author_url, body_source,
                  status as "status: CommentStatus", user_id is not null as "by_editor!",
                  spam_taught
           from comments where id = any($1) order by id for update"#,
        ids
    )
    .fetch_all(conn)
    .await
}

/// Taught comments after `after_id`, in id order: `rebuild` reads them in batches.
pub async fn taught_after(
    conn: &mut PgConnection,
    after_id: i64,
    limit: i64,
) -> Result<Vec<TrainingRow>, sqlx::Error> {
    sqlx::query_as!(
        TrainingRow,
        r#"select id, author_name, author_email, author_url, body_source,
                  status as "status: CommentStatus", user_id is not null as "by_editor!",
                  spam_taught
           from comments where spam_taught is not null and id > $1 order by id limit $2"#,
        after_id,
        limit
    )
    .fetch_all(conn)
    .await
}

/// Adds token deltas (by token key, sorted), the model's totals, and each comment's new label,
/// in the caller's transaction, which holds `lock_model`: versions commit in the order copies
/// read them.
pub async fn apply(
    conn: &mut PgConnection,
    keys: &[i64],
    spam: &[i32],
    ham: &[i32],
    model: (i32, i32),
    labels: &[(i64, Option<&str>)],
) -> Result<(), sqlx::Error> {
    if !keys.is_empty() || model != (0, 0) {
        let version = sqlx::query_scalar!(
            r#"update spam_model set spam = greatest(0, spam + $1), ham = greatest(0, ham + $2),
                                     version = version + 1
               returning version"#,
            model.0,
            model.1
        )
        .fetch_one(&mut *conn)
        .await?;
        sqlx::query!(
            r#"insert into spam_tokens as t (key, spam, ham, version)
               select key, spam, ham, $4
               from unnest($1::bigint[], $2::int[], $3::int[]) as d(key, spam, ham)
               order by key
               on conflict (key) do update
               set spam = greatest(0, t.spam + excluded.spam),
                   ham = greatest(0, t.ham + excluded.ham),
                   version = $4"#,
            keys,
            spam,
            ham,
            version
        )
        .execute(&mut *conn)
        .await?;
        // Unlearning what was never learned (a model counted by an older Folio) stops at zero.
        if spam.iter().chain(ham).any(|delta| *delta < 0) {
            sqlx::query!(
                r#"update spam_tokens set spam = greatest(0, spam), ham = greatest(0, ham)
                   where version = $1 and (spam < 0 or ham < 0)"#,
                version
            )
            .execute(&mut *conn)
            .await?;
        }
    }
    if !labels.is_empty() {
        let ids: Vec<i64> = labels.iter().map(|(id, _)| *id).collect();
        let names: Vec<Option<String>> = labels
            .iter()
            .map(|(_, label)| label.map(str::to_owned))
            .collect();
        sqlx::query!(
            r#"update comments c set spam_taught = l.label
               from unnest($1::bigint[], $2::text[]) as l(id, label)
               where c.id = l.id"#,
            &ids,
            &names as &[Option<String>]
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Zeroes the model (its comments keep their labels): `rebuild` counts them again. The caller
/// holds `lock_model`.
pub async fn reset(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    let version = sqlx::query_scalar!(
        r#"update spam_model set spam = 0, ham = 0, version = version + 1 returning version"#
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!(
        r#"update spam_tokens set spam = 0, ham = 0, version = $1 where spam <> 0 or ham <> 0"#,
        version
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Every approved comment teaches ham and every spam comment spam, of the comments the filter
/// never scored (from before it, or imported) but a moderator's own reply: how a blog that kept
/// its comments from before the filter starts it. What the filter and the layers decided on
/// their own since it came teaches nothing.
pub async fn label_by_status(conn: &mut PgConnection) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        r#"update comments set spam_taught = case status when 'approved' then 'ham'
                                                        when 'spam' then 'spam' end
           where user_id is null and spam_score is null
             and spam_taught is distinct from case status when 'approved' then 'ham'
                                                           when 'spam' then 'spam' end"#
    )
    .execute(conn)
    .await?
    .rows_affected())
}

/// Comments that taught the filter and that the staged import will rewrite (their digest
/// changes; see `db::import::merge_comments`): they are unlearned from their text first.
pub async fn taught_and_changed_by_import(
    conn: &mut PgConnection,
    source: &str,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select c.id from comments c
           join import_comments s on c.source = $1 and c.source_id = s.source_id
           where c.spam_taught is not null and c.source_digest is distinct from s.digest"#,
        source
    )
    .fetch_all(conn)
    .await
}

/// Comments of an import source whose label is not what their status teaches (new ones, and
/// those the file moved between approved and spam). A comment the filter scored when it came
/// and nobody decided since (re-importing the blog's own export keys those to the file) is
/// left out: what the filter or the policy chose teaches nothing.
pub async fn imported_to_relabel(
    conn: &mut PgConnection,
    source: &str,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select id from comments
           where source = $1 and user_id is null
             and (spam_score is null or spam_taught is not null)
             and spam_taught is distinct from case status when 'approved' then 'ham'
                                                           when 'spam' then 'spam' end"#,
        source
    )
    .fetch_all(conn)
    .await
}
