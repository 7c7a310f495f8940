//! Webmentions received (waiting to be verified, then replies, likes, reposts or mentions of a
//! post) and sent (one per post and linked page).

use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

use super::fediverse::Owed;

/// Takes a Webmention in (again): it waits for the worker to fetch its source.
pub async fn receive(
    db: &PgPool,
    source: &str,
    source_host: &str,
    target: &str,
    post_id: i64,
    parent_comment_id: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"insert into webmentions_received (source, source_host, target, post_id, parent_comment_id)
           values ($1, $2, $3, $4, $5)
           on conflict (source, target) do update
               set status = 'waiting', attempts = 0, next_attempt_at = now(),
                   claimed_until = null, last_error = null, received_at = now()"#,
        source,
        source_host,
        target,
        post_id,
        parent_comment_id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// How many Webmentions from one site wait to be verified.
pub async fn waiting_from(db: &PgPool, source_host: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select count(*) as "n!" from webmentions_received
           where status = 'waiting' and source_host = $1"#,
        source_host
    )
    .fetch_one(db)
    .await
}

#[derive(Debug, Clone)]
pub struct Received {
    pub id: i64,
    pub source: String,
    pub target: String,
    pub post_id: i64,
    pub post_path: String,
    pub parent_comment_id: Option<i64>,
    pub comment_id: Option<i64>,
    pub attempts: i32,
}

/// Takes up to `limit` Webmentions due to be verified, for `lease_seconds`.
pub async fn claim_received(
    db: &PgPool,
    limit: i64,
    lease_seconds: f64,
) -> Result<Vec<Received>, sqlx::Error> {
    sqlx::query_as!(
        Received,
        r#"with due as (
               select id from webmentions_received
               where status = 'waiting' and next_attempt_at <= now()
                 and (claimed_until is null or claimed_until < now())
               order by next_attempt_at, id
               limit $1
               for update skip locked
           )
           update webmentions_received w
              set claimed_until = now() + make_interval(secs => $2),
                  attempts = w.attempts + 1,
                  next_attempt_at = now() + make_interval(secs => $2)
           from due, posts p
           where w.id = due.id and p.id = w.post_id
           returning w.id, w.source, w.target, w.post_id, p.path as post_path,
                     w.parent_comment_id, w.comment_id, w.attempts"#,
        limit,
        lease_seconds
    )
    .fetch_all(db)
    .await
}

/// What verifying a Webmention found.
pub struct Verdict<'a> {
    /// 'verified', 'unlinked' (the source does not link here) or 'gone' (404 or 410).
    pub status: &'a str,
    pub kind: Option<&'a str>,
    pub author_name: &'a str,
    pub author_url: Option<&'a str>,
    pub comment_id: Option<i64>,
}

pub async fn verified(db: &PgPool, id: i64, verdict: &Verdict<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"update webmentions_received
           set status = $2, kind = $3, author_name = $4, author_url = $5, comment_id = $6,
               claimed_until = null, last_error = null, verified_at = now()
           where id = $1"#,
        id,
        verdict.status,
        verdict.kind,
        verdict.author_name,
        verdict.author_url,
        verdict.comment_id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The source could not be read: tried again after `delay_seconds`, or given up.
pub async fn not_verified(
    db: &PgPool,
    id: i64,
    error: &str,
    delay_seconds: Option<f64>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"update webmentions_received
           set status = case when $3::float8 is null then 'failed' else 'waiting' end,
               next_attempt_at = now() + make_interval(secs => coalesce($3, 0)),
               claimed_until = null, last_error = $2
           where id = $1"#,
        id,
        error,
        delay_seconds
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A Webmention's comment, for the source no longer answering the post: to the trash (a
/// moderator still sees it).
pub async fn trash_comment(db: &PgPool, comment_id: i64, reason: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"update comments set status = 'trash', status_reason = $2
           where id = $1 and source = 'webmention' and status <> 'trash'"#,
        comment_id,
        reason
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Marks a comment as a Webmention's.
pub async fn mark_comment(
    db: &PgPool,
    comment_id: i64,
    mention_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"update comments set source = 'webmention', source_id = $2 where id = $1"#,
        comment_id,
        mention_id.to_string()
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Likes and reposts of a post, from other sites.
pub async fn reaction_counts(db: &PgPool, post_id: i64) -> Result<(i64, i64), sqlx::Error> {
    let row = sqlx::query!(
        r#"select count(*) filter (where kind = 'like') as "likes!",
                  count(*) filter (where kind = 'repost') as "reposts!"
           from webmentions_received where post_id = $1 and status = 'verified'"#,
        post_id
    )
    .fetch_one(db)
    .await?;
    Ok((row.likes, row.reposts))
}

/// A post whose links are owed a Webmention.
#[derive(Debug, Clone)]
pub struct OwingPost {
    pub id: i64,
    pub path: String,
    pub body_html: String,
}

/// Takes the next post that owes the pages it links to a Webmention, records it as told and
/// queues them, in `conn`'s transaction: `links` reads a post's links. The same rule as the
/// fediverse's (new posts written here, published in the last two days; edits; posts that stop
/// being public, whose pages are told again and find them gone). Every page the post linked
/// to before is told again too: a link taken out is news to its page.
pub async fn take_owed(
    conn: &mut PgConnection,
    links: &(dyn Fn(&str) -> Vec<String> + Sync),
) -> Result<Option<(Owed, OwingPost, u64)>, sqlx::Error> {
    // One process at a time, waited for: see `db::fediverse::take_owed`.
    super::posts::serialise_workers(conn, "webmention-owe").await?;
    let row = sqlx::query!(
        r#"select p.id, p.path, p.body_html, p.edited_at, w.state as "state?",
                  post_visible(p.status, p.published_at) as "visible!"
           from posts p left join webmention_posts w on w.post_id = p.id
           where p.kind = 'post' and p.published_at is not null
             and (
               (w.post_id is null and p.announce <> 'no'
                and post_visible(p.status, p.published_at)
                and p.published_at > now() - interval '2 days')
               or (w.state = 'sent' and not post_visible(p.status, p.published_at))
               or (w.state = 'sent' and post_visible(p.status, p.published_at)
                   and p.edited_at > w.sent_edit)
               or (w.state = 'deleted' and post_visible(p.status, p.published_at))
             )
           order by p.published_at, p.id
           limit 1"#
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let owed = match (row.state.as_deref(), row.visible) {
        (Some("sent"), false) => Owed::Delete,
        (Some("sent"), true) => Owed::Update,
        _ => Owed::Create,
    };
    sqlx::query!(
        r#"insert into webmention_posts (post_id, state, sent_edit) values ($1, $2, $3)
           on conflict (post_id) do update
               set state = excluded.state, sent_edit = excluded.sent_edit, changed_at = now()"#,
        row.id,
        if owed == Owed::Delete {
            "deleted"
        } else {
            "sent"
        },
        row.edited_at
    )
    .execute(&mut *conn)
    .await?;
    let targets = if owed == Owed::Delete {
        Vec::new()
    } else {
        links(&row.body_html)
    };
    sqlx::query!(
        r#"update webmentions_sent
           set status = 'waiting', attempts = 0, next_attempt_at = now(), claimed_until = null,
               last_error = null
           where post_id = $1"#,
        row.id
    )
    .execute(&mut *conn)
    .await?;
    let queued = sqlx::query!(
        r#"insert into webmentions_sent (post_id, target)
           select $1, t from unnest($2::text[]) as t
           on conflict (post_id, target) do nothing"#,
        row.id,
        &targets
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(Some((
        owed,
        OwingPost {
            id: row.id,
            path: row.path,
            body_html: row.body_html,
        },
        queued,
    )))
}

#[derive(Debug, Clone)]
pub struct Sending {
    pub id: i64,
    pub post_path: String,
    pub target: String,
    pub attempts: i32,
}

/// Takes up to `limit` Webmentions due to be sent, for `lease_seconds`.
pub async fn claim_sends(
    db: &PgPool,
    limit: i64,
    lease_seconds: f64,
) -> Result<Vec<Sending>, sqlx::Error> {
    sqlx::query_as!(
        Sending,
        r#"with due as (
               select id from webmentions_sent
               where status = 'waiting' and next_attempt_at <= now()
                 and (claimed_until is null or claimed_until < now())
               order by next_attempt_at, id
               limit $1
               for update skip locked
           )
           update webmentions_sent w
              set claimed_until = now() + make_interval(secs => $2),
                  attempts = w.attempts + 1,
                  next_attempt_at = now() + make_interval(secs => $2)
           from due, posts p
           where w.id = due.id and p.id = w.post_id
           returning w.id, p.path as post_path, w.target, w.attempts"#,
        limit,
        lease_seconds
    )
    .fetch_all(db)
    .await
}

/// A Webmention sent ('sent'), or one that has nowhere to go ('no-endpoint').
pub async fn sent(
    db: &PgPool,
    id: i64,
    status: &str,
    endpoint: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"update webmentions_sent
           set status = $2, endpoint = $3, sent_at = now(), claimed_until = null, last_error = null
           where id = $1"#,
        id,
        status,
        endpoint
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A failed attempt: tried again after `delay_seconds`, or given up.
pub async fn not_sent(
    db: &PgPool,
    id: i64,
    error: &str,
    delay_seconds: Option<f64>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"update webmentions_sent
           set status = case when $3::float8 is null then 'failed' else 'waiting' end,
               next_attempt_at = now() + make_interval(secs => coalesce($3, 0)),
               claimed_until = null, last_error = $2
           where id = $1"#,
        id,
        error,
        delay_seconds
    )
    .execute(db)
    .await?;
    Ok(())
}

/// When the next Webmention is due either way, or a scheduled post comes out that will owe
/// some.
pub async fn next_due(db: &PgPool) -> Result<Option<OffsetDateTime>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select least(
               (select min(next_attempt_at) from webmentions_received where status = 'waiting'),
               (select min(next_attempt_at) from webmentions_sent where status = 'waiting'),
               (select min(p.published_at) from posts p
                where p.kind = 'post' and p.status = 'published' and p.published_at > now()
                  and p.announce <> 'no'
                  and not exists (select 1 from webmention_posts w where w.post_id = p.id)))"#
    )
    .fetch_one(db)
    .await
}

/// Webmentions received, newest first, for the admin.
#[derive(Debug, Clone)]
pub struct ReceivedRow {
    pub source: String,
    pub post_title: String,
    pub post_path: String,
    pub status: String,
    pub kind: Option<String>,
    pub author_name: String,
    pub received_at: OffsetDateTime,
    pub last_error: Option<String>,
}

pub async fn recent(db: &PgPool, limit: i64) -> Result<Vec<ReceivedRow>, sqlx::Error> {
    sqlx::query_as!(
        ReceivedRow,
        r#"select w.source, p.title as post_title, p.path as post_path, w.status, w.kind,
                  w.author_name, w.received_at, w.last_error
           from webmentions_received w join posts p on p.id = w.post_id
           order by w.received_at desc, w.id desc
           limit $1"#,
        limit
    )
    .fetch_all(db)
    .await
}
