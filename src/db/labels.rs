use sqlx::PgPool;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelCount {
    pub name: String,
    pub count: i64,
}

/// Labels that have at least one visible post, by name, with their post counts.
pub async fn counts(db: &PgPool) -> Result<Vec<LabelCount>, sqlx::Error> {
    sqlx::query_as!(
        LabelCount,
        r#"select l.name, count(*) as "count!"
           from labels l
           join post_labels pl on pl.label_id = l.id
           join posts p on p.id = pl.post_id
           where p.kind = 'post' and post_visible(p.status, p.published_at)
           group by l.name
           order by l.name"#
    )
    .fetch_all(db)
    .await
}

/// The label of this name, if a post readers can see carries it (a label only drafts carry
/// is unknown to readers).
pub async fn find_id(db: &PgPool, name: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select l.id from labels l
           where l.name = $1
             and exists (select 1 from post_labels pl join posts p on p.id = pl.post_id
                         where pl.label_id = l.id and p.kind = 'post'
                           and post_visible(p.status, p.published_at))"#,
        name
    )
    .fetch_optional(db)
    .await
}

/// Makes sure every name exists as a label and returns (id, name) for each.
pub async fn ensure(db: &PgPool, names: &[String]) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query!(
        r#"insert into labels (name) select unnest($1::text[]) on conflict (name) do nothing"#,
        names
    )
    .execute(db)
    .await?;
    let rows = sqlx::query!(r#"select id, name from labels where name = any($1)"#, names)
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.name)).collect())
}
