//! The spam filter's counts (see `crate::spam`): read to score a comment, changed when a
//! moderator's decision teaches it.

use sqlx::{PgConnection, PgExecutor};

use crate::{domain::comment::CommentStatus, spam::score::Counts};

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
    pub tokens: Vec<(String, Counts)>,
    pub model: Counts,
    pub version: i64,
}

pub async fn changes_since(db: impl PgExecutor<'_>, version: i64) -> Result<Changes, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select token, spam as "spam!", ham as "ham!", version as "version!"
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
        match row.token {
            Some(token) => changes.tokens.push((token, counts(row.spam, row.ham))),
            None => {
                changes.model = counts(row.spam, row.ham);
                changes.version = row.version;
            }
        }
    }
    Ok(changes)
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

/// Adds token deltas (sorted by token), the model's totals, and each comment's new label, in
/// the caller's transaction. The model row is changed first: its lock orders concurrent lessons,
/// so versions commit in the order copies read them.
pub async fn apply(
    conn: &mut PgConnection,
    tokens: &[String],
    spam: &[i32],
    ham: &[i32],
    model: (i32, i32),
    labels: &[(i64, Option<&str>)],
) -> Result<(), sqlx::Error> {
    if !tokens.is_empty() || model != (0, 0) {
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
            r#"insert into spam_tokens as t (token, spam, ham, version)
               select token, spam, ham, $4
               from unnest($1::text[], $2::int[], $3::int[]) as d(token, spam, ham)
               order by token
               on conflict (token) do update
               set spam = greatest(0, t.spam + excluded.spam),
                   ham = greatest(0, t.ham + excluded.ham),
                   version = $4"#,
            tokens,
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

/// Zeroes the model (its comments keep their labels): `rebuild` counts them again. Teaching
/// elsewhere waits for the caller's transaction to end.
pub async fn reset(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query!("lock table spam_model, spam_tokens in exclusive mode")
        .execute(&mut *conn)
        .await?;
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

/// Every approved comment teaches ham and every spam comment spam (but a moderator's own
/// reply): how a blog that kept its comments from before the filter starts it.
pub async fn label_by_status(conn: &mut PgConnection) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        r#"update comments set spam_taught = case status when 'approved' then 'ham'
                                                        when 'spam' then 'spam' end
           where user_id is null
             and spam_taught is distinct from case status when 'approved' then 'ham'
                                                           when 'spam' then 'spam' end"#
    )
    .execute(conn)
    .await?
    .rows_affected())
}

/// Comments of an import source that taught the filter and whose text, name, email or
/// website the staged file changes: they are unlearned before the merge rewrites them.
pub async fn taught_and_changed_by_import(
    conn: &mut PgConnection,
    source: &str,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select c.id from comments c
           join import_comments s on c.source = $1 and c.source_id = s.source_id
           where c.spam_taught is not null
             and (c.body_source is distinct from s.body_source
                  or c.author_name is distinct from s.author_name
                  or c.author_email is distinct from s.author_email
                  or c.author_url is distinct from s.author_url)"#,
        source
    )
    .fetch_all(conn)
    .await
}

/// Comments of an import source whose label is not what their status teaches (new ones, and
/// those the file moved between approved and spam).
pub async fn imported_to_relabel(
    conn: &mut PgConnection,
    source: &str,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select id from comments
           where source = $1 and user_id is null
             and spam_taught is distinct from case status when 'approved' then 'ham'
                                                           when 'spam' then 'spam' end"#,
        source
    )
    .fetch_all(conn)
    .await
}
