//! Batched inserts for `folio demo`: one statement per batch, whatever its size.

use sqlx::PgPool;
use time::OffsetDateTime;

/// Column-wise batch of published posts.
#[derive(Debug, Default)]
pub struct PostBatch {
    pub paths: Vec<String>,
    pub slugs: Vec<String>,
    pub titles: Vec<String>,
    pub sources: Vec<String>,
    pub htmls: Vec<String>,
    pub excerpts: Vec<String>,
    pub published: Vec<OffsetDateTime>,
}

/// Inserts the batch; paths that already exist are skipped. Returns (id, path) of the new posts.
pub async fn insert_posts(
    db: &PgPool,
    batch: &PostBatch,
    author_id: i64,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"insert into posts (kind, path, slug, title, body_source, body_html, excerpt, status,
                              published_at, author_id)
           select 'post', path, slug, title, source, html, excerpt, 'published', published, $8
           from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                       $7::timestamptz[])
                as t(path, slug, title, source, html, excerpt, published)
           on conflict (path) do nothing
           returning id, path"#,
        &batch.paths,
        &batch.slugs,
        &batch.titles,
        &batch.sources,
        &batch.htmls,
        &batch.excerpts,
        &batch.published,
        author_id
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.path)).collect())
}

pub async fn insert_post_labels(
    db: &PgPool,
    post_ids: &[i64],
    label_ids: &[i64],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"insert into post_labels (post_id, label_id)
           select * from unnest($1::bigint[], $2::bigint[])
           on conflict do nothing"#,
        post_ids,
        label_ids
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Column-wise batch of approved comments.
#[derive(Debug, Default)]
pub struct CommentBatch {
    pub post_ids: Vec<i64>,
    pub names: Vec<String>,
    /// empty for none
    pub urls: Vec<String>,
    pub sources: Vec<String>,
    pub htmls: Vec<String>,
    pub created: Vec<OffsetDateTime>,
}

impl CommentBatch {
    pub fn len(&self) -> usize {
        self.post_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.post_ids.is_empty()
    }
}

pub async fn insert_comments(db: &PgPool, batch: &CommentBatch) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        r#"insert into comments (post_id, author_name, author_url, body_source, body_html, status,
                                 created_at)
           select post_id, name, nullif(url, ''), source, html, 'approved', created
           from unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],
                       $6::timestamptz[])
                as t(post_id, name, url, source, html, created)"#,
        &batch.post_ids,
        &batch.names,
        &batch.urls,
        &batch.sources,
        &batch.htmls,
        &batch.created
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Refreshes planner statistics and the visibility map after a bulk load, so the listing and
/// archive queries get index-only scans at once instead of after autovacuum's next round.
pub async fn vacuum_analyze(db: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::raw_sql("vacuum (analyze) posts, post_labels, labels, comments")
        .execute(db)
        .await?;
    Ok(())
}
