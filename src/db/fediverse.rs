//! The fediverse's rows: remote actors, followers, domain blocks, what each post has told its
//! followers, deliveries on their way and the inbox's memory of activities taken in.

use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

/// A remote actor as last fetched.
#[derive(Debug, Clone)]
pub struct RemoteActor {
    pub id: i64,
    pub uri: String,
    pub key_id: Option<String>,
    pub public_key_pem: String,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    pub username: String,
    pub name: String,
    pub url: Option<String>,
    pub domain: String,
}

/// What a fetch of an actor document gave.
#[derive(Debug, Clone)]
pub struct FetchedActor<'a> {
    pub uri: &'a str,
    pub key_id: &'a str,
    pub public_key_pem: &'a str,
    pub inbox: &'a str,
    pub shared_inbox: Option<&'a str>,
    pub username: &'a str,
    pub name: &'a str,
    pub url: Option<&'a str>,
    pub domain: &'a str,
}

pub async fn actor_by_key_id(
    db: &PgPool,
    key_id: &str,
) -> Result<Option<RemoteActor>, sqlx::Error> {
    sqlx::query_as!(
        RemoteActor,
        r#"select id, uri, key_id, public_key_pem, inbox, shared_inbox, username, name, url, domain
           from fediverse_actors where key_id = $1"#,
        key_id
    )
    .fetch_optional(db)
    .await
}

/// What the inbox knows of a signature's key before verifying it, read in one query (an inbox
/// flood is thousands of these a second).
#[derive(Debug)]
pub struct KnownSigner {
    /// The key's server, or the activity's actor's, is blocked.
    pub blocked: bool,
    pub actor: Option<RemoteActor>,
    /// The actor was fetched within the last minute: a signature that fails against so fresh a
    /// key is a forgery, not a rotation (no need to ask its server again).
    pub fetched_lately: bool,
}

pub async fn known_signer(
    db: &PgPool,
    key_id: &str,
    key_domain: &str,
    actor_domain: &str,
) -> Result<KnownSigner, sqlx::Error> {
    let row = sqlx::query!(
        r#"select exists (select 1 from fediverse_domain_blocks
                          where domain in ($2, $3) and action = 'block') as "blocked!",
                  a.id as "id?", a.uri as "uri?", a.key_id, a.public_key_pem as "pem?",
                  a.inbox as "inbox?", a.shared_inbox, a.username as "username?",
                  a.name as "name?", a.url, a.domain as "domain?",
                  coalesce(a.fetched_at > now() - interval '1 minute', false) as "lately!"
           from (select 1) as one left join fediverse_actors a on a.key_id = $1"#,
        key_id,
        key_domain,
        actor_domain
    )
    .fetch_one(db)
    .await?;
    let actor = match (row.id, row.uri, row.pem, row.inbox, row.domain) {
        (Some(id), Some(uri), Some(public_key_pem), Some(inbox), Some(domain)) => {
            Some(RemoteActor {
                id,
                uri,
                key_id: row.key_id,
                public_key_pem,
                inbox,
                shared_inbox: row.shared_inbox,
                username: row.username.unwrap_or_default(),
                name: row.name.unwrap_or_default(),
                url: row.url,
                domain,
            })
        }
        _ => None,
    };
    Ok(KnownSigner {
        blocked: row.blocked,
        actor,
        fetched_lately: row.lately,
    })
}

pub async fn actor_by_uri(db: &PgPool, uri: &str) -> Result<Option<RemoteActor>, sqlx::Error> {
    sqlx::query_as!(
        RemoteActor,
        r#"select id, uri, key_id, public_key_pem, inbox, shared_inbox, username, name, url, domain
           from fediverse_actors where uri = $1"#,
        uri
    )
    .fetch_optional(db)
    .await
}

/// Stores (or refreshes) an actor; a key id that moved to this actor is taken from the old one.
pub async fn save_actor(db: &PgPool, actor: &FetchedActor<'_>) -> Result<RemoteActor, sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query!(
        r#"update fediverse_actors set key_id = null where key_id = $1 and uri <> $2"#,
        actor.key_id,
        actor.uri
    )
    .execute(&mut *tx)
    .await?;
    let saved = sqlx::query_as!(
        RemoteActor,
        r#"insert into fediverse_actors (uri, key_id, public_key_pem, inbox, shared_inbox,
                                         username, name, url, domain)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           on conflict (uri) do update
               set key_id = excluded.key_id, public_key_pem = excluded.public_key_pem,
                   inbox = excluded.inbox, shared_inbox = excluded.shared_inbox,
                   username = excluded.username, name = excluded.name, url = excluded.url,
                   domain = excluded.domain, fetched_at = now()
           returning id, uri, key_id, public_key_pem, inbox, shared_inbox, username, name, url,
                     domain"#,
        actor.uri,
        actor.key_id,
        actor.public_key_pem,
        actor.inbox,
        actor.shared_inbox,
        actor.username,
        actor.name,
        actor.url,
        actor.domain
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(saved)
}

/// What the blog does with an instance: `block`, `hold` or nothing.
pub async fn domain_action(db: &PgPool, domain: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select action from fediverse_domain_blocks where domain = $1"#,
        domain
    )
    .fetch_optional(db)
    .await
}

/// Remembers an activity from `domain`, and that this instance, if it was failing, is back;
/// false when the activity was taken in before (a replay). One statement: the inbox's every
/// activity passes here.
pub async fn first_sight(
    db: &PgPool,
    activity_id: &str,
    domain: &str,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query!(
        r#"with heard as (delete from fediverse_instances where domain = $2)
           insert into fediverse_inbox_seen (activity_id) values ($1) on conflict do nothing"#,
        activity_id,
        domain
    )
    .execute(db)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Forgets one activity: what it asked for could not be stored, and its retry is to be taken.
pub async fn forget_activity(db: &PgPool, activity_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"delete from fediverse_inbox_seen where activity_id = $1"#,
        activity_id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Forgets activities older than the signatures' window: a replay of one is refused as stale.
pub async fn forget_seen(db: &PgPool) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        r#"delete from fediverse_inbox_seen where received_at < now() - interval '2 days'"#
    )
    .execute(db)
    .await?
    .rows_affected())
}

/// Records a Follow of the blog (`followed` None) or of an author; answers the state it is in
/// now. A follower already accepted stays so.
pub async fn add_follower(
    conn: &mut PgConnection,
    actor_id: i64,
    followed: Option<i64>,
    follow_id: &str,
    accept_now: bool,
) -> Result<String, sqlx::Error> {
    sqlx::query_scalar!(
        r#"insert into fediverse_followers (actor_id, user_id, follow_id, state, accepted_at)
           values ($1, $4, $2, case when $3 then 'accepted' else 'pending' end,
                   case when $3 then now() end)
           on conflict (actor_id, coalesce(user_id, 0)) do update
               set follow_id = excluded.follow_id,
                   state = case when fediverse_followers.state = 'accepted' then 'accepted'
                                else excluded.state end,
                   accepted_at = coalesce(fediverse_followers.accepted_at, excluded.accepted_at)
           returning state"#,
        actor_id,
        follow_id,
        accept_now,
        followed
    )
    .fetch_one(conn)
    .await
}

/// Ends a follow of the blog (`followed` None) or of an author; answers its Follow's id when
/// there was one.
pub async fn remove_follower(
    conn: &mut PgConnection,
    actor_id: i64,
    followed: Option<i64>,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"delete from fediverse_followers
           where actor_id = $1 and coalesce(user_id, 0) = coalesce($2::bigint, 0)
           returning follow_id"#,
        actor_id,
        followed
    )
    .fetch_optional(conn)
    .await
}

/// Ends the follow a `Follow` id names (an `Undo` that names only that); true when there was one.
pub async fn remove_follow_by_id(
    conn: &mut PgConnection,
    actor_id: i64,
    follow_id: &str,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query!(
        r#"delete from fediverse_followers where actor_id = $1 and follow_id = $2"#,
        actor_id,
        follow_id
    )
    .execute(conn)
    .await?
    .rows_affected()
        > 0)
}

/// Ends every follow of an actor (their account is gone).
pub async fn remove_all_follows(conn: &mut PgConnection, actor_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"delete from fediverse_followers where actor_id = $1"#,
        actor_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A waiting follower is accepted; answers the Follow's id and where to say so.
pub async fn approve_follower(
    conn: &mut PgConnection,
    actor_id: i64,
    followed: Option<i64>,
) -> Result<Option<(String, RemoteActor)>, sqlx::Error> {
    let follow_id = sqlx::query_scalar!(
        r#"update fediverse_followers set state = 'accepted', accepted_at = now()
           where actor_id = $1 and coalesce(user_id, 0) = coalesce($2::bigint, 0) and state = 'pending'
           returning follow_id"#,
        actor_id,
        followed
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(follow_id) = follow_id else {
        return Ok(None);
    };
    let actor = actor_with_id(conn, actor_id).await?;
    Ok(Some((follow_id, actor)))
}

pub async fn actor_with_id(
    conn: &mut PgConnection,
    actor_id: i64,
) -> Result<RemoteActor, sqlx::Error> {
    sqlx::query_as!(
        RemoteActor,
        r#"select id, uri, key_id, public_key_pem, inbox, shared_inbox, username, name, url, domain
           from fediverse_actors where id = $1"#,
        actor_id
    )
    .fetch_one(conn)
    .await
}

/// How many follow the blog (`followed` None) or an author.
pub async fn follower_count(db: &PgPool, followed: Option<i64>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select count(*) as "n!" from fediverse_followers
           where state = 'accepted' and coalesce(user_id, 0) = coalesce($1::bigint, 0)"#,
        followed
    )
    .fetch_one(db)
    .await
}

/// A follower as the admin lists them.
#[derive(Debug, Clone)]
pub struct Follower {
    pub actor_id: i64,
    pub username: String,
    pub name: String,
    pub domain: String,
    pub profile: String,
    pub state: String,
    pub since: OffsetDateTime,
    /// The author they follow (None: the blog), and that author's fediverse name.
    pub followed: Option<i64>,
    pub followed_name: Option<String>,
}

pub async fn followers(db: &PgPool, limit: i64) -> Result<Vec<Follower>, sqlx::Error> {
    sqlx::query_as!(
        Follower,
        r#"select a.id as actor_id, a.username, a.name, a.domain,
                  coalesce(a.url, a.uri) as "profile!", f.state, f.created_at as since,
                  f.user_id as followed, u.fediverse_name as followed_name
           from fediverse_followers f join fediverse_actors a on a.id = f.actor_id
                left join users u on u.id = f.user_id
           order by f.state = 'pending' desc, f.created_at desc
           limit $1"#,
        limit
    )
    .fetch_all(db)
    .await
}

/// Queues an activity for one inbox, to be signed by `signer` (an author; None: the blog).
pub async fn queue(
    conn: &mut PgConnection,
    inbox: &str,
    domain: &str,
    activity: &str,
    signer: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"insert into fediverse_deliveries (inbox, domain, activity, signer)
           values ($1, $2, $3, $4)"#,
        inbox,
        domain,
        activity,
        signer
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Queues an activity, signed by `signer` (an author; None: the blog), once for every inbox
/// the accepted followers of the actors in `followed` share (0 stands for the blog; an
/// instance's shared inbox stands for all its followers there); blocked instances and
/// instances given up on are left out. Answers the number of deliveries.
pub async fn queue_to_followers(
    conn: &mut PgConnection,
    activity: &str,
    followed: &[i64],
    signer: Option<i64>,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        r#"insert into fediverse_deliveries (inbox, domain, activity, signer)
           select distinct coalesce(a.shared_inbox, a.inbox), a.domain, $1, $3::bigint
           from fediverse_followers f join fediverse_actors a on a.id = f.actor_id
           where f.state = 'accepted' and coalesce(f.user_id, 0) = any($2)
             and not exists (select 1 from fediverse_domain_blocks b
                             where b.domain = a.domain and b.action = 'block')
             and not exists (select 1 from fediverse_instances i
                             where i.domain = a.domain
                               and i.failing_since < now() - interval '7 days')"#,
        activity,
        followed,
        signer
    )
    .execute(conn)
    .await?
    .rows_affected())
}

/// A delivery a worker holds.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub inbox: String,
    pub domain: String,
    pub activity: String,
    pub attempts: i32,
    /// The author whose key signs it (None: the blog's).
    pub signer: Option<i64>,
}

/// Takes up to `limit` due deliveries for `lease_seconds`.
pub async fn claim(
    db: &PgPool,
    limit: i64,
    lease_seconds: f64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    sqlx::query_as!(
        Claimed,
        r#"with due as (
               select id from fediverse_deliveries
               where status = 'waiting' and next_attempt_at <= now()
                 and (claimed_until is null or claimed_until < now())
               order by next_attempt_at, id
               limit $1
               for update skip locked
           )
           update fediverse_deliveries d
              set claimed_until = now() + make_interval(secs => $2),
                  attempts = d.attempts + 1,
                  -- Taken again by another worker only once the lease is over.
                  next_attempt_at = now() + make_interval(secs => $2)
           from due where d.id = due.id
           returning d.id, d.inbox, d.domain, d.activity, d.attempts, d.signer"#,
        limit,
        lease_seconds
    )
    .fetch_all(db)
    .await
}

pub async fn delivered(db: &PgPool, id: i64, domain: &str) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query!(
        r#"update fediverse_deliveries
           set status = 'sent', sent_at = now(), claimed_until = null, last_error = null
           where id = $1"#,
        id
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        r#"delete from fediverse_instances where domain = $1"#,
        domain
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// A failed attempt: tried again after `delay_seconds`, or given up (`delay_seconds` None).
pub async fn not_delivered(
    db: &PgPool,
    id: i64,
    domain: &str,
    error: &str,
    delay_seconds: Option<f64>,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query!(
        r#"update fediverse_deliveries
           set status = case when $3::float8 is null then 'failed' else 'waiting' end,
               next_attempt_at = now() + make_interval(secs => coalesce($3, 0)),
               claimed_until = null, last_error = $2
           where id = $1"#,
        id,
        error,
        delay_seconds
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        r#"insert into fediverse_instances (domain, failing_since, last_error)
           values ($1, now(), $2)
           on conflict (domain) do update set last_error = excluded.last_error"#,
        domain,
        error
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

pub async fn next_delivery_due(db: &PgPool) -> Result<Option<OffsetDateTime>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select min(next_attempt_at) from fediverse_deliveries where status = 'waiting'"#
    )
    .fetch_one(db)
    .await
}

/// A post as the fediverse is told of it.
#[derive(Debug, Clone)]
pub struct FederatedPost {
    pub id: i64,
    pub path: String,
    pub title: String,
    pub excerpt: String,
    pub body_html: String,
    pub featured_image: String,
    pub labels: Vec<String>,
    pub published_at: OffsetDateTime,
    pub edited_at: Option<OffsetDateTime>,
    /// The author whose actor it comes from (None: the blog's): the one that created it, or
    /// for a post not yet sent, its author if they are a fediverse account.
    pub by: Option<i64>,
}

/// What a post owes the fediverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owed {
    Create,
    Update,
    Delete,
}

/// Takes the next post that owes followers an activity and records it as told, in `conn`'s
/// transaction (with the deliveries the caller queues). New posts written here (not imported)
/// published within the last two days are created; edits of sent posts are updated; sent
/// posts no longer public are deleted, and created again if they come back.
///
/// One process at a time tells (a transaction's advisory lock, waited for), rather than each
/// skipping locked posts: the mail and Webmention workers lock the same posts, and a post
/// skipped because of them would wait, unheard of, for the worker's next idle wake.
pub async fn take_owed(
    conn: &mut PgConnection,
) -> Result<Option<(Owed, FederatedPost)>, sqlx::Error> {
    super::posts::serialise_workers(conn, "fediverse-tell").await?;
    let row = sqlx::query!(
        r#"select p.id, p.path, p.title, p.excerpt, p.body_html, p.featured_image,
                  p.published_at as "published_at!", p.edited_at,
                  array(select l.name from post_labels pl join labels l on l.id = pl.label_id
                        where pl.post_id = p.id order by l.name) as "labels!",
                  f.state as "state?", f.sent_by as "sent_by?",
                  case when u.fediverse_name is not null and not u.disabled then u.id end
                      as author_actor,
                  post_visible(p.status, p.published_at) as "visible!"
           from posts p left join fediverse_posts f on f.post_id = p.id
                left join users u on u.id = p.author_id
           where p.kind = 'post' and p.published_at is not null
             and (
               (f.post_id is null and p.announce <> 'no'
                and post_visible(p.status, p.published_at)
                and p.published_at > now() - interval '2 days')
               or (f.state = 'sent' and not post_visible(p.status, p.published_at))
               or (f.state = 'sent' and post_visible(p.status, p.published_at)
                   and p.edited_at > f.sent_edit)
               or (f.state = 'deleted' and post_visible(p.status, p.published_at))
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
    let state = if owed == Owed::Delete {
        "deleted"
    } else {
        "sent"
    };
    // Created by its author's actor when they have one; told of later by the one that created it.
    let by = if owed == Owed::Create {
        row.author_actor
    } else {
        row.sent_by
    };
    sqlx::query!(
        r#"insert into fediverse_posts (post_id, state, sent_edit, sent_by) values ($1, $2, $3, $4)
           on conflict (post_id) do update
               set state = excluded.state, sent_edit = excluded.sent_edit,
                   sent_by = excluded.sent_by, changed_at = now()"#,
        row.id,
        state,
        row.edited_at,
        by
    )
    .execute(&mut *conn)
    .await?;
    Ok(Some((
        owed,
        FederatedPost {
            id: row.id,
            path: row.path,
            title: row.title,
            excerpt: row.excerpt,
            body_html: row.body_html,
            featured_image: row.featured_image,
            labels: row.labels,
            published_at: row.published_at,
            edited_at: row.edited_at,
            by,
        },
    )))
}

/// When a scheduled post that will be created comes out.
pub async fn next_post_due(db: &PgPool) -> Result<Option<OffsetDateTime>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select min(p.published_at) from posts p
           where p.kind = 'post' and p.status = 'published' and p.published_at > now()
             and p.announce <> 'no'
             and not exists (select 1 from fediverse_posts f where f.post_id = p.id)"#
    )
    .fetch_one(db)
    .await
}

/// A public post by its path, for its ActivityPub face; with whether a Delete went out for it.
pub async fn post_by_path(
    db: &PgPool,
    path: &str,
) -> Result<Option<(FederatedPost, bool, bool)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select p.id, p.path, p.title, p.excerpt, p.body_html, p.featured_image,
                  p.published_at, p.edited_at,
                  array(select l.name from post_labels pl join labels l on l.id = pl.label_id
                        where pl.post_id = p.id order by l.name) as "labels!",
                  post_visible(p.status, p.published_at) as "visible!",
                  coalesce(f.state = 'deleted', false) as "deleted!",
                  case when f.state = 'sent' then f.sent_by
                       when u.fediverse_name is not null and not u.disabled then u.id end as by
           from posts p left join fediverse_posts f on f.post_id = p.id
                left join users u on u.id = p.author_id
           where p.path = $1 and p.kind = 'post'"#,
        path
    )
    .fetch_optional(db)
    .await?;
    Ok(row.and_then(|row| {
        Some((
            FederatedPost {
                id: row.id,
                path: row.path,
                title: row.title,
                excerpt: row.excerpt,
                body_html: row.body_html,
                featured_image: row.featured_image,
                labels: row.labels,
                published_at: row.published_at?,
                edited_at: row.edited_at,
                by: row.by,
            },
            row.visible,
            row.deleted,
        ))
    }))
}

/// The newest public posts, for an outbox: the blog's (`by` None: every post) or an author's.
pub async fn newest_posts(
    db: &PgPool,
    by: Option<i64>,
    limit: i64,
) -> Result<Vec<FederatedPost>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select p.id, p.path, p.title, p.excerpt, p.body_html, p.featured_image,
                  p.published_at as "published_at!", p.edited_at,
                  array(select l.name from post_labels pl join labels l on l.id = pl.label_id
                        where pl.post_id = p.id order by l.name) as "labels!",
                  case when f.state = 'sent' then f.sent_by
                       when u.fediverse_name is not null and not u.disabled then u.id end as by
           from posts p left join fediverse_posts f on f.post_id = p.id
                left join users u on u.id = p.author_id
           where p.kind = 'post' and post_visible(p.status, p.published_at)
             and ($2::bigint is null or p.author_id = $2)
           order by p.published_at desc, p.id desc
           limit $1"#,
        limit,
        by
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| FederatedPost {
            id: row.id,
            path: row.path,
            title: row.title,
            excerpt: row.excerpt,
            body_html: row.body_html,
            featured_image: row.featured_image,
            labels: row.labels,
            published_at: row.published_at,
            edited_at: row.edited_at,
            by: row.by,
        })
        .collect())
}

/// Public posts: all of them (`by` None) or an author's.
pub async fn public_post_count(db: &PgPool, by: Option<i64>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select count(*) as "n!" from posts
           where kind = 'post' and post_visible(status, published_at)
             and ($1::bigint is null or author_id = $1)"#,
        by
    )
    .fetch_one(db)
    .await
}

/// An author who is a fediverse account of their own.
#[derive(Debug, Clone)]
pub struct AuthorActor {
    pub id: i64,
    /// Their handle's name: @name@host.
    pub name: String,
    pub display_name: String,
}

/// The author with that fediverse name (any case), if they are an account.
pub async fn author_by_name(db: &PgPool, name: &str) -> Result<Option<AuthorActor>, sqlx::Error> {
    sqlx::query_as!(
        AuthorActor,
        r#"select id, fediverse_name as "name!", display_name from users
           where fediverse_name = lower($1) and not disabled"#,
        name
    )
    .fetch_optional(db)
    .await
}

/// The author with that number, if they are an account.
pub async fn author_actor(db: &PgPool, id: i64) -> Result<Option<AuthorActor>, sqlx::Error> {
    sqlx::query_as!(
        AuthorActor,
        r#"select id, fediverse_name as "name!", display_name from users
           where id = $1 and fediverse_name is not null and not disabled"#,
        id
    )
    .fetch_optional(db)
    .await
}

/// A user's fediverse name (None: not an account).
pub async fn fediverse_name_of(db: &PgPool, user_id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(r#"select fediverse_name from users where id = $1"#, user_id)
        .fetch_one(db)
        .await
}

/// Whether posts went out from an author's own account (their actor must then stay).
pub async fn has_sent_posts(db: &PgPool, user_id: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from fediverse_posts where sent_by = $1) as "sent!""#,
        user_id
    )
    .fetch_one(db)
    .await
}

/// Sets (or, with None, clears) a user's fediverse name; false when another user has it.
pub async fn set_fediverse_name(
    db: &PgPool,
    user_id: i64,
    name: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query!(
        r#"update users set fediverse_name = $2 where id = $1"#,
        user_id,
        name
    )
    .execute(db)
    .await;
    match result {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e),
    }
}

/// A domain block as the admin lists it.
#[derive(Debug, Clone)]
pub struct DomainBlock {
    pub domain: String,
    pub action: String,
    pub created_at: OffsetDateTime,
}

pub async fn domain_blocks(db: &PgPool) -> Result<Vec<DomainBlock>, sqlx::Error> {
    sqlx::query_as!(
        DomainBlock,
        r#"select domain, action, created_at from fediverse_domain_blocks order by domain"#
    )
    .fetch_all(db)
    .await
}

/// Blocks (or holds) an instance; a block also ends its follows. Answers the followers lost.
pub async fn set_domain_block(db: &PgPool, domain: &str, action: &str) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query!(
        r#"insert into fediverse_domain_blocks (domain, action) values ($1, $2)
           on conflict (domain) do update set action = excluded.action"#,
        domain,
        action
    )
    .execute(&mut *tx)
    .await?;
    let mut removed = 0;
    if action == "block" {
        removed = sqlx::query!(
            r#"delete from fediverse_followers f using fediverse_actors a
               where a.id = f.actor_id and a.domain = $1"#,
            domain
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query!(
            r#"update fediverse_deliveries set status = 'failed', last_error = 'blocked'
               where domain = $1 and status = 'waiting'"#,
            domain
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(removed)
}

pub async fn remove_domain_block(db: &PgPool, domain: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"delete from fediverse_domain_blocks where domain = $1"#,
        domain
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Where a reply to one of the blog's comments goes: the comment's post (its path) and the
/// comment.
pub async fn comment_target(
    db: &PgPool,
    comment_id: i64,
) -> Result<Option<(String, i64)>, sqlx::Error> {
    Ok(sqlx::query!(
        r#"select p.path, c.id from comments c join posts p on p.id = c.post_id
           where c.id = $1 and c.status = 'approved'"#,
        comment_id
    )
    .fetch_optional(db)
    .await?
    .map(|row| (row.path, row.id)))
}

/// Where a reply to a reply that came from the fediverse goes.
pub async fn note_target(db: &PgPool, note_id: &str) -> Result<Option<(String, i64)>, sqlx::Error> {
    Ok(sqlx::query!(
        r#"select p.path, c.id from comments c join posts p on p.id = c.post_id
           where c.source = 'fediverse' and c.source_id = $1 and c.status = 'approved'"#,
        note_id
    )
    .fetch_optional(db)
    .await?
    .map(|row| (row.path, row.id)))
}

/// Whether a Note is a comment here already (in any state).
pub async fn has_reply(db: &PgPool, note_id: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from comments where source = 'fediverse' and source_id = $1)
               as "found!""#,
        note_id
    )
    .fetch_one(db)
    .await
}

/// Marks a stored comment as the Note `note_id` of `actor_id`.
pub async fn mark_reply(
    db: &PgPool,
    comment_id: i64,
    note_id: &str,
    actor_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"update comments set source = 'fediverse', source_id = $2, fediverse_actor_id = $3
           where id = $1"#,
        comment_id,
        note_id,
        actor_id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The comment a reply from the fediverse became, if its sender wrote it.
pub async fn reply_comment(
    db: &PgPool,
    note_id: &str,
    actor_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select id from comments
           where source = 'fediverse' and source_id = $1 and fediverse_actor_id = $2"#,
        note_id,
        actor_id
    )
    .fetch_optional(db)
    .await
}

/// Its author deleted a reply: it goes to the trash (a moderator can still see it).
pub async fn delete_reply(db: &PgPool, note_id: &str, actor_id: i64) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query!(
        r#"update comments set status = 'trash', status_reason = 'deleted by its author'
           where source = 'fediverse' and source_id = $1 and fediverse_actor_id = $2
             and status <> 'trash'"#,
        note_id,
        actor_id
    )
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// A like or boost of a post, in one statement with what every activity does first (see
/// `first_sight`): the activity remembered, its instance marked up; a replay counts nothing
/// again. Likes and boosts are most of what an inbox receives.
pub async fn react(
    db: &PgPool,
    path: &str,
    actor_id: i64,
    kind: &str,
    activity_id: &str,
    domain: &str,
) -> Result<Reacted, sqlx::Error> {
    sqlx::query!(
        r#"with seen as (
               insert into fediverse_inbox_seen (activity_id) values ($4)
               on conflict do nothing returning 1
           ), heard as (
               delete from fediverse_instances where domain = $5
           ), reacted as (
               insert into fediverse_reactions (post_id, actor_id, kind, activity_id)
               select id, $2, $3, $4 from posts
               where path = $1 and kind = 'post' and post_visible(status, published_at)
                 and exists (select 1 from seen)
               on conflict do nothing
               returning post_id
           )
           select exists (select 1 from seen) as "first!",
                  (select post_id from reacted) as counted"#,
        path,
        actor_id,
        kind,
        activity_id,
        domain
    )
    .fetch_one(db)
    .await
    .map(|row| Reacted {
        first: row.first,
        counted: row.counted,
    })
}

/// What came of a like or boost.
#[derive(Debug, Clone, Copy)]
pub struct Reacted {
    /// Not a replay.
    pub first: bool,
    /// The post whose count it changed (its pages show the counts); the caller gives the
    /// change notice (migration 0029).
    pub counted: Option<i64>,
}

/// A like or boost taken back (named by its activity's id, or by the post it was of); answers
/// the posts whose counts changed, for the caller's change notice.
pub async fn unreact(
    db: &PgPool,
    actor_id: i64,
    kind: &str,
    activity_id: Option<&str>,
    path: Option<&str>,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"delete from fediverse_reactions r
           where r.actor_id = $1 and r.kind = $2
             and (r.activity_id = $3
                  or r.post_id = (select id from posts where path = $4))
           returning r.post_id"#,
        actor_id,
        kind,
        activity_id,
        path
    )
    .fetch_all(db)
    .await
}

/// Likes and boosts of a post from the fediverse.
pub async fn reaction_counts(db: &PgPool, post_id: i64) -> Result<(i64, i64), sqlx::Error> {
    let row = sqlx::query!(
        r#"select count(*) filter (where kind = 'like') as "likes!",
                  count(*) filter (where kind = 'announce') as "boosts!"
           from fediverse_reactions where post_id = $1"#,
        post_id
    )
    .fetch_one(db)
    .await?;
    Ok((row.likes, row.boosts))
}

/// One of the blog's comments that answers a reply from the fediverse.
#[derive(Debug, Clone)]
pub struct Answer {
    pub comment_id: i64,
    pub body_html: String,
    pub created_at: OffsetDateTime,
    pub post_path: String,
    /// The reply it answers, and who wrote it.
    pub parent_note: String,
    pub parent_actor: String,
    pub parent_username: String,
    pub parent_domain: String,
    pub inbox: String,
}

/// Takes the next answer owed to the fediverse and records it as told, in `conn`'s transaction:
/// an approved comment here (not imported, not from the fediverse, written in the last two
/// days) under a reply from the fediverse is created; one sent and no longer shown is deleted.
pub async fn take_owed_answer(
    conn: &mut PgConnection,
) -> Result<Option<(Owed, Answer)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select c.id, c.body_html, c.created_at, po.path,
                  p.source_id as "parent_note!", a.uri as parent_actor,
                  a.username as parent_username, a.domain as parent_domain, a.inbox,
                  f.state as "state?"
           from comments c
           join comments p on p.id = c.parent_id and p.source = 'fediverse'
           join fediverse_actors a on a.id = p.fediverse_actor_id
           join posts po on po.id = c.post_id
           left join fediverse_comments f on f.comment_id = c.id
           where c.source is null
             and ((f.comment_id is null and c.status = 'approved'
                   and c.created_at > now() - interval '2 days')
                  or (f.state = 'sent' and c.status <> 'approved'))
           order by c.id
           limit 1
           for update of c skip locked"#
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let owed = if row.state.is_some() {
        Owed::Delete
    } else {
        Owed::Create
    };
    sqlx::query!(
        r#"insert into fediverse_comments (comment_id, state) values ($1, $2)
           on conflict (comment_id) do update set state = excluded.state, changed_at = now()"#,
        row.id,
        if owed == Owed::Delete {
            "deleted"
        } else {
            "sent"
        }
    )
    .execute(&mut *conn)
    .await?;
    Ok(Some((
        owed,
        Answer {
            comment_id: row.id,
            body_html: row.body_html,
            created_at: row.created_at,
            post_path: row.path,
            parent_note: row.parent_note,
            parent_actor: row.parent_actor,
            parent_username: row.parent_username,
            parent_domain: row.parent_domain,
            inbox: row.inbox,
        },
    )))
}

/// A comment of the blog's own that was sent to the fediverse, for its Note's URL.
pub async fn sent_answer(db: &PgPool, comment_id: i64) -> Result<Option<Answer>, sqlx::Error> {
    sqlx::query_as!(
        Answer,
        r#"select c.id as comment_id, c.body_html, c.created_at, po.path as post_path,
                  p.source_id as "parent_note!", a.uri as parent_actor,
                  a.username as parent_username, a.domain as parent_domain, a.inbox
           from fediverse_comments f
           join comments c on c.id = f.comment_id
           join comments p on p.id = c.parent_id
           join fediverse_actors a on a.id = p.fediverse_actor_id
           join posts po on po.id = c.post_id
           where f.comment_id = $1 and f.state = 'sent' and c.status = 'approved'"#,
        comment_id
    )
    .fetch_optional(db)
    .await
}

/// An approved comment of a federated post, as its `replies` collection shows it.
#[derive(Debug, Clone)]
pub struct ThreadComment {
    pub id: i64,
    pub parent_id: Option<i64>,
    /// The parent's Note, when the parent came from the fediverse.
    pub parent_note: Option<String>,
    pub author_name: String,
    pub body_html: String,
    pub created_at: OffsetDateTime,
    /// Its own Note, when it came from the fediverse.
    pub note: Option<String>,
    /// The blog sent it to the fediverse as an answer (its URL answers as that `Note`).
    pub answered: bool,
    pub post_path: String,
}

/// A public post's approved comments, oldest first (at most `limit`), with how many there are.
pub async fn replies_of(
    db: &PgPool,
    post_id: i64,
    limit: i64,
) -> Result<Option<(i64, Vec<ThreadComment>)>, sqlx::Error> {
    let public = sqlx::query_scalar!(
        r#"select post_visible(status, published_at) as "visible!" from posts
           where id = $1 and kind = 'post'"#,
        post_id
    )
    .fetch_optional(db)
    .await?;
    if public != Some(true) {
        return Ok(None);
    }
    let total = sqlx::query_scalar!(
        r#"select count(*) as "n!" from comments where post_id = $1 and status = 'approved'"#,
        post_id
    )
    .fetch_one(db)
    .await?;
    let comments = sqlx::query_as!(
        ThreadComment,
        r#"select c.id, c.parent_id,
                  case when p.source = 'fediverse' then p.source_id end as parent_note,
                  c.author_name, c.body_html, c.created_at,
                  case when c.source = 'fediverse' then c.source_id end as note,
                  exists (select 1 from fediverse_comments f
                          where f.comment_id = c.id and f.state = 'sent') as "answered!",
                  po.path as post_path
           from comments c
           join posts po on po.id = c.post_id
           left join comments p on p.id = c.parent_id
           where c.post_id = $1 and c.status = 'approved'
           order by c.created_at, c.id
           limit $2"#,
        post_id,
        limit
    )
    .fetch_all(db)
    .await?;
    Ok(Some((total, comments)))
}

/// One approved comment written here on a public post, for its URL's ActivityPub face.
pub async fn thread_comment(
    db: &PgPool,
    comment_id: i64,
) -> Result<Option<ThreadComment>, sqlx::Error> {
    sqlx::query_as!(
        ThreadComment,
        r#"select c.id, c.parent_id,
                  case when p.source = 'fediverse' then p.source_id end as parent_note,
                  c.author_name, c.body_html, c.created_at,
                  null::text as note, false as "answered!",
                  po.path as post_path
           from comments c
           join posts po on po.id = c.post_id
           left join comments p on p.id = c.parent_id
           where c.id = $1 and c.status = 'approved'
             and c.source is distinct from 'fediverse'
             and po.kind = 'post' and post_visible(po.status, po.published_at)"#,
        comment_id
    )
    .fetch_optional(db)
    .await
}

/// Whether `domain` wants requests signed the draft-cavage way: it refused an RFC 9421
/// signature this month.
pub async fn needs_cavage(db: &PgPool, domain: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from fediverse_cavage_instances
                          where domain = $1 and learned_at > now() - interval '30 days')
           as "cavage!""#,
        domain
    )
    .fetch_one(db)
    .await
}

/// `domain` took a request signed the draft's way (`cavage`) or RFC 9421's after refusing
/// the other.
pub async fn learned_signature_style(
    db: &PgPool,
    domain: &str,
    cavage: bool,
) -> Result<(), sqlx::Error> {
    if cavage {
        sqlx::query!(
            r#"insert into fediverse_cavage_instances (domain) values ($1)
               on conflict (domain) do update set learned_at = now()"#,
            domain
        )
        .execute(db)
        .await?;
    } else {
        sqlx::query!(
            r#"delete from fediverse_cavage_instances where domain = $1"#,
            domain
        )
        .execute(db)
        .await?;
    }
    Ok(())
}
