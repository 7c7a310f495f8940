//! Mail people asked for without an account: notices of replies (or of every comment on a
//! post) and new posts for followers. Every subscription waits for its confirmation; an address
//! is kept only while it has one.

use sqlx::{PgConnection, PgExecutor, PgPool};
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Answers to one comment.
    Replies(i64),
    /// Every new comment on one post.
    Post(i64),
    /// Every new post.
    Blog,
}

impl Scope {
    fn parts(self) -> (&'static str, Option<i64>, Option<i64>) {
        match self {
            Scope::Replies(comment) => ("replies", Some(comment), None),
            Scope::Post(post) => ("post", None, Some(post)),
            Scope::Blog => ("blog", None, None),
        }
    }
}

/// What subscribing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscribed {
    pub address_id: i64,
    pub subscription_id: i64,
    /// The subscription waits for a confirmation (new, or asked for before and not confirmed).
    pub needs_confirmation: bool,
}

/// Subscribes an address (kept as typed, matched without case); `token` is the new
/// subscription's unsubscribe secret. Subscribing twice changes nothing.
pub async fn subscribe(
    conn: &mut PgConnection,
    email: &str,
    scope: Scope,
    token: &str,
) -> Result<Subscribed, sqlx::Error> {
    // Always an id back, and the row locked: two requests for a new address at once, or an
    // unsubscribe forgetting it meanwhile, cannot make this fail.
    let address_id = sqlx::query_scalar!(
        r#"insert into mail_addresses (email) values ($1)
           on conflict ((lower(email))) do update set email = mail_addresses.email
           returning id"#,
        email
    )
    .fetch_one(&mut *conn)
    .await?;
    let (kind, comment_id, post_id) = scope.parts();
    sqlx::query!(
        r#"insert into subscriptions (address_id, scope, comment_id, post_id, token)
           values ($1, $2, $3, $4, $5)
           on conflict (address_id, scope, coalesce(comment_id, 0), coalesce(post_id, 0))
           do nothing"#,
        address_id,
        kind,
        comment_id,
        post_id,
        token
    )
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query!(
        r#"select id, confirmed_at is not null as "confirmed!" from subscriptions
           where address_id = $1 and scope = $2
             and coalesce(comment_id, 0) = coalesce($3::bigint, 0)
             and coalesce(post_id, 0) = coalesce($4::bigint, 0)"#,
        address_id,
        kind,
        comment_id,
        post_id
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(Subscribed {
        address_id,
        subscription_id: row.id,
        needs_confirmation: !row.confirmed,
    })
}

/// What a confirmation link is about.
#[derive(Debug, Clone)]
pub struct Pending {
    pub email: String,
    /// e.g. "new posts", "replies to your comment on “Frost”"
    pub what: Vec<String>,
}

/// The address and those of `ids` that still wait for a confirmation.
pub async fn pending(
    db: &PgPool,
    address_id: i64,
    ids: &[i64],
) -> Result<Option<Pending>, sqlx::Error> {
    let Some(email) = sqlx::query_scalar!(
        r#"select email from mail_addresses where id = $1"#,
        address_id
    )
    .fetch_optional(db)
    .await?
    else {
        return Ok(None);
    };
    let what = sqlx::query_scalar!(
        r#"select case s.scope
                      when 'blog' then 'new posts'
                      when 'post' then 'every new comment on “' || p.title || '”'
                      else 'replies to your comment on “' || cp.title || '”'
                  end as "what!"
           from subscriptions s
           left join posts p on p.id = s.post_id
           left join comments c on c.id = s.comment_id
           left join posts cp on cp.id = c.post_id
           where s.address_id = $1 and s.confirmed_at is null and s.id = any($2)
           order by s.id"#,
        address_id,
        ids
    )
    .fetch_all(db)
    .await?;
    Ok(Some(Pending { email, what }))
}

/// Confirms exactly the subscriptions the link was sent for (never one somebody else asked
/// for in the address's name).
pub async fn confirm(db: &PgPool, address_id: i64, ids: &[i64]) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        r#"update subscriptions set confirmed_at = now()
           where address_id = $1 and confirmed_at is null and id = any($2)"#,
        address_id,
        ids
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// The subscription behind an unsubscribe link: (email, what it is).
pub async fn by_token(db: &PgPool, token: &str) -> Result<Option<(String, String)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select a.email, s.scope, coalesce(p.title, cp.title) as title
           from subscriptions s
           join mail_addresses a on a.id = s.address_id
           left join posts p on p.id = s.post_id
           left join comments c on c.id = s.comment_id
           left join posts cp on cp.id = c.post_id
           where s.token = $1"#,
        token
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| {
        let title = r.title.unwrap_or_default();
        let what = match r.scope.as_str() {
            "blog" => "new posts".to_owned(),
            "post" => format!("every new comment on “{title}”"),
            _ => format!("replies to your comment on “{title}”"),
        };
        (r.email, what)
    }))
}

/// Ends a subscription; the address goes too once nothing is left for it.
pub async fn unsubscribe(db: &PgPool, token: &str) -> Result<bool, sqlx::Error> {
    end(db, Some(token), None).await
}

/// An admin removes a subscription (and the address, once nothing is left for it).
pub async fn remove(db: &PgPool, id: i64) -> Result<bool, sqlx::Error> {
    end(db, None, Some(id)).await
}

/// Ends the subscription with this unsubscribe secret or this id.
async fn end(db: &PgPool, token: Option<&str>, id: Option<i64>) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let address = sqlx::query_scalar!(
        r#"delete from subscriptions where token = $1 or id = $2 returning address_id"#,
        token,
        id
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(address) = address {
        forget_if_unused(&mut tx, address).await?;
    }
    tx.commit().await?;
    Ok(address.is_some())
}

async fn forget_if_unused(conn: &mut PgConnection, address_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"delete from mail_addresses a where a.id = $1
           and not exists (select 1 from subscriptions s where s.address_id = a.id)"#,
        address_id
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One notice owed: who, the comment it is about, and the link to stop.
#[derive(Debug, Clone)]
pub struct Notice {
    pub email: String,
    pub token: String,
    /// `replies` or `post`
    pub scope: String,
    pub comment_id: i64,
    pub commenter: String,
    pub comment_text: String,
    pub post_title: String,
    pub post_path: String,
}

/// For newly published comments: each confirmed subscriber to replies to their parent or to
/// every comment on their post, once per comment (a reply notice wins over a post one), and
/// never the commenter themselves.
pub async fn notices_for(
    db: impl PgExecutor<'_>,
    comment_ids: &[i64],
) -> Result<Vec<Notice>, sqlx::Error> {
    sqlx::query_as!(
        Notice,
        r#"select distinct on (c.id, a.id)
                  a.email as "email!", s.token as "token!", s.scope as "scope!",
                  c.id as "comment_id!", c.author_name as "commenter!",
                  c.body_source as "comment_text!", p.title as "post_title!", p.path as "post_path!"
           from comments c
           join posts p on p.id = c.post_id
           join subscriptions s
             on (s.scope = 'replies' and s.comment_id = c.parent_id)
             or (s.scope = 'post' and s.post_id = c.post_id)
           join mail_addresses a on a.id = s.address_id
           where c.id = any($1) and c.status = 'approved' and s.confirmed_at is not null
             and lower(a.email) is distinct from lower(c.author_email)
             and (s.comment_id is null or s.comment_id <> c.id)
           order by c.id, a.id, (s.scope = 'replies') desc"#,
        comment_ids
    )
    .fetch_all(db)
    .await
}

/// A follower, for the admin's list.
#[derive(Debug, Clone)]
pub struct Follower {
    pub id: i64,
    pub email: String,
    pub since: OffsetDateTime,
    pub confirmed: bool,
}

pub async fn followers(db: &PgPool) -> Result<Vec<Follower>, sqlx::Error> {
    sqlx::query_as!(
        Follower,
        r#"select s.id, a.email, s.created_at as since, s.confirmed_at is not null as "confirmed!"
           from subscriptions s join mail_addresses a on a.id = s.address_id
           where s.scope = 'blog'
           order by s.created_at desc, s.id desc"#
    )
    .fetch_all(db)
    .await
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub followers: i64,
    pub followers_waiting: i64,
    pub comment_notices: i64,
}

pub async fn counts(db: &PgPool) -> Result<Counts, sqlx::Error> {
    let row = sqlx::query!(
        r#"select count(*) filter (where scope = 'blog' and confirmed_at is not null) as "followers!",
                  count(*) filter (where scope = 'blog' and confirmed_at is null) as "waiting!",
                  count(*) filter (where scope <> 'blog' and confirmed_at is not null) as "notices!"
           from subscriptions"#
    )
    .fetch_one(db)
    .await?;
    Ok(Counts {
        followers: row.followers,
        followers_waiting: row.waiting,
        comment_notices: row.notices,
    })
}

/// A post that became visible and is to be told to followers.
#[derive(Debug, Clone)]
pub struct Announcement {
    pub id: i64,
    pub title: String,
    pub path: String,
    pub excerpt: String,
    pub body_html: String,
    pub published_at: OffsetDateTime,
}

/// Takes up to `limit` posts due to be told (visible now, not told yet), marking them told.
/// One process at a time, waited for, and locked posts waited for rather than skipped: the
/// fediverse and Webmention workers hold the same posts a moment, and a post skipped because
/// of them would wait, unheard of, for the worker's next idle wake.
pub async fn take_due_announcements(
    conn: &mut PgConnection,
    limit: i64,
) -> Result<Vec<Announcement>, sqlx::Error> {
    super::posts::serialise_workers(conn, "mail-announce").await?;
    sqlx::query_as!(
        Announcement,
        r#"with due as (
               select id from posts
               where announce = 'due' and kind = 'post' and post_visible(status, published_at)
               order by published_at, id
               limit $1
               for update
           )
           update posts p set announce = 'done' from due where p.id = due.id
           returning p.id, p.title, p.path, p.excerpt, p.body_html,
                     p.published_at as "published_at!""#,
        limit
    )
    .fetch_all(&mut *conn)
    .await
}

/// When the next post that is to be told becomes visible (a scheduled one).
pub async fn next_announcement(db: &PgPool) -> Result<Option<OffsetDateTime>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select min(published_at) from posts
           where announce = 'due' and kind = 'post' and status = 'published'"#
    )
    .fetch_one(db)
    .await
}

/// One message per confirmed follower, sharing `body_id`, each with its own unsubscribe link.
pub async fn enqueue_for_followers(
    conn: &mut PgConnection,
    body_id: i64,
    unsubscribe_base: &str,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        r#"insert into outbox (kind, recipient, body_id, unsubscribe_url)
           select 'post', a.email, $1, $2 || s.token
           from subscriptions s join mail_addresses a on a.id = s.address_id
           where s.scope = 'blog' and s.confirmed_at is not null
           order by s.id"#,
        body_id,
        unsubscribe_base
    )
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}
