//! Counting requests over a sliding window, per key: those that make Folio mail an address
//! someone typed (per address and per client, so no form can flood an inbox), and uploads per
//! person (so no one keeps the image processing busy).

/// A limit: at most `count` requests for a key in `window_secs`.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub count: i64,
    pub window_secs: f64,
}

/// Records a request for each key unless one of them is over its limit; returns whether the
/// request may go ahead. Each key is locked (until the caller's transaction ends) before it is
/// counted, so requests at once are counted one after another: a burst cannot slip under a
/// limit. Rows older than a day go as new ones come.
pub async fn allow(
    conn: &mut sqlx::PgConnection,
    keys: &[(&str, Limit)],
) -> Result<bool, sqlx::Error> {
    let mut sorted: Vec<&str> = keys.iter().map(|(k, _)| *k).collect();
    sorted.sort_unstable();
    for key in sorted {
        sqlx::query!(
            r#"select pg_advisory_xact_lock(hashtextextended('mail-request:' || $1, 0))"#,
            key
        )
        .execute(&mut *conn)
        .await?;
    }
    let db = &mut *conn;
    let names: Vec<&str> = keys.iter().map(|(k, _)| *k).collect();
    let counts: Vec<i64> = keys.iter().map(|(_, l)| l.count).collect();
    let windows: Vec<f64> = keys.iter().map(|(_, l)| l.window_secs).collect();
    sqlx::query_scalar!(
        r#"with limits as (
               select * from unnest($1::text[], $2::bigint[], $3::float8[]) as l(key, most, secs)
           ),
           swept as (delete from mail_requests where at < now() - interval '1 day'),
           over as (
               select 1 from limits l
               where (select count(*) from mail_requests r
                      where r.key = l.key and r.at > now() - make_interval(secs => l.secs))
                     >= l.most
           ),
           recorded as (
               insert into mail_requests (key)
               select key from limits where not exists (select 1 from over)
               returning 1
           )
           select not exists (select 1 from over) as "allowed!""#,
        &names as &[&str],
        &counts,
        &windows
    )
    .fetch_one(db)
    .await
}
