use sqlx::PgPool;

use crate::domain::role::Role;

/// Creates a user who cannot log in (no password), or renames the one with that email.
pub async fn upsert_without_login(
    db: &PgPool,
    email: &str,
    display_name: &str,
    role: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"insert into users (email, display_name, role) values ($1, $2, $3)
           on conflict (lower(email)) do update set display_name = excluded.display_name
           returning id"#,
        email,
        display_name,
        role
    )
    .fetch_one(db)
    .await
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub disabled: bool,
}

/// A user as the Users page lists them.
#[derive(Debug, Clone)]
pub struct Listed {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub disabled: bool,
    /// False for an author brought in by an import, or someone invited who has not chosen a
    /// password yet: they cannot sign in until an admin invites them.
    pub has_password: bool,
}

/// A login candidate: the user (if the email is known) and their password hash.
pub struct Credentials {
    pub user: User,
    pub password_hash: Option<String>,
}

/// An enabled user by number.
pub async fn find(db: impl sqlx::PgExecutor<'_>, id: i64) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as!(
        User,
        r#"select id, email, display_name, role as "role: Role", disabled from users
           where id = $1 and not disabled"#,
        id
    )
    .fetch_optional(db)
    .await
}

pub async fn count(db: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(r#"select count(*) as "count!" from users where password_hash is not null"#)
        .fetch_one(db)
        .await
}

pub async fn credentials(db: &PgPool, email: &str) -> Result<Option<Credentials>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select id, email, display_name, role as "role: Role", disabled, password_hash
           from users where lower(email) = lower($1)"#,
        email
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| Credentials {
        user: User {
            id: r.id,
            email: r.email,
            display_name: r.display_name,
            role: r.role,
            disabled: r.disabled,
        },
        password_hash: r.password_hash,
    }))
}

/// Creates a user who can log in. Fails with a unique violation when the email is taken.
pub async fn create(
    db: &PgPool,
    email: &str,
    display_name: &str,
    role: &str,
    password_hash: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"insert into users (email, display_name, role, password_hash) values ($1, $2, $3, $4)
           returning id"#,
        email,
        display_name,
        role,
        password_hash
    )
    .fetch_one(db)
    .await
}

/// The first admin, only while nobody can log in: two setup forms sent at once cannot both win.
pub async fn create_first_admin(
    db: &PgPool,
    email: &str,
    display_name: &str,
    password_hash: &str,
) -> Result<Option<i64>, sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query!(r#"lock table users in share row exclusive mode"#)
        .execute(&mut *tx)
        .await?;
    let existing = sqlx::query_scalar!(
        r#"select count(*) as "count!" from users where password_hash is not null"#
    )
    .fetch_one(&mut *tx)
    .await?;
    if existing > 0 {
        return Ok(None);
    }
    let id = sqlx::query_scalar!(
        r#"insert into users (email, display_name, role, password_hash) values ($1, $2, 'admin', $3)
           on conflict (lower(email)) do update
               set display_name = excluded.display_name, role = 'admin',
                   password_hash = excluded.password_hash, disabled = false
           returning id"#,
        email,
        display_name,
        password_hash
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(id))
}

pub async fn set_password(
    db: impl sqlx::PgExecutor<'_>,
    user_id: i64,
    password_hash: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"update users set password_hash = $2 where id = $1"#,
        user_id,
        password_hash
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn find_by_email(db: &PgPool, email: &str) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as!(
        User,
        r#"select id, email, display_name, role as "role: Role", disabled from users where lower(email) = lower($1)"#,
        email
    )
    .fetch_optional(db)
    .await
}

pub async fn list(db: &PgPool) -> Result<Vec<Listed>, sqlx::Error> {
    sqlx::query_as!(
        Listed,
        r#"select id, email, display_name, role as "role: Role", disabled,
                  password_hash is not null as "has_password!"
           from users order by lower(display_name), id"#
    )
    .fetch_all(db)
    .await
}

/// Changes a user's role and whether they are disabled; a disabled user's sessions end.
pub async fn update_access(
    db: &PgPool,
    user_id: i64,
    role: &str,
    disabled: bool,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query!(
        r#"update users set role = $2, disabled = $3 where id = $1"#,
        user_id,
        role,
        disabled
    )
    .execute(&mut *tx)
    .await?;
    if disabled {
        sqlx::query!(r#"delete from sessions where user_id = $1"#, user_id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

/// Records a login attempt for throttling.
/// Records a login attempt; returns its id.
pub async fn record_login(
    db: &PgPool,
    email: &str,
    client_hash: Option<&str>,
    succeeded: bool,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"insert into login_attempts (email, client_hash, succeeded) values ($1, $2, $3)
           returning id"#,
        email,
        client_hash,
        succeeded
    )
    .fetch_one(db)
    .await
}

/// The attempt recorded before the password was checked turned out right.
pub async fn login_succeeded(db: &PgPool, attempt: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"update login_attempts set succeeded = true where id = $1"#,
        attempt
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Seconds until the oldest of the last `limit` failures (per account or per address) within
/// `window_secs` leaves the window; None when under the limit.
pub async fn login_blocked_for(
    db: &PgPool,
    email: &str,
    client_hash: Option<&str>,
    limit: i64,
    window_secs: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let rows = sqlx::query_scalar!(
        r#"select ceil(extract(epoch from at + make_interval(secs => $3) - now()))::bigint as "wait!"
           from login_attempts
           where not succeeded and at > now() - make_interval(secs => $3)
             and (lower(email) = lower($1) or client_hash = $2)
           order by at desc
           limit $4"#,
        email,
        client_hash,
        window_secs as f64,
        limit
    )
    .fetch_all(db)
    .await?;
    Ok((rows.len() as i64 >= limit).then(|| rows.last().copied().unwrap_or(window_secs).max(1)))
}

/// Someone who gets mail about comments.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub id: i64,
    pub email: String,
    pub display_name: String,
}

/// Editors and admins who asked for a message about each held comment.
pub async fn moderators_wanting_each(
    db: impl sqlx::PgExecutor<'_>,
) -> Result<Vec<Recipient>, sqlx::Error> {
    sqlx::query_as!(
        Recipient,
        r#"select id, email, display_name from users
           where comment_mail = 'each' and role in ('editor', 'admin') and not disabled
             and password_hash is not null
           order by id"#
    )
    .fetch_all(db)
    .await
}

/// A user who may moderate now (a link in an old email stops working when they may not).
pub async fn moderator(db: &PgPool, id: i64) -> Result<Option<Recipient>, sqlx::Error> {
    sqlx::query_as!(
        Recipient,
        r#"select id, email, display_name from users
           where id = $1 and role in ('editor', 'admin') and not disabled"#,
        id
    )
    .fetch_optional(db)
    .await
}

/// What mail about comments a user wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailChoices {
    /// `each`, `digest` or `none`
    pub comment_mail: String,
    pub own_post_mail: bool,
}

pub async fn mail_choices(db: &PgPool, id: i64) -> Result<MailChoices, sqlx::Error> {
    sqlx::query_as!(
        MailChoices,
        r#"select comment_mail, own_post_mail from users where id = $1"#,
        id
    )
    .fetch_one(db)
    .await
}

pub async fn set_mail_choices(
    db: &PgPool,
    id: i64,
    choices: &MailChoices,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"update users set comment_mail = $2, own_post_mail = $3 where id = $1"#,
        id,
        choices.comment_mail,
        choices.own_post_mail
    )
    .execute(db)
    .await?;
    Ok(())
}

/// One click in an email: no more mail about held comments.
pub async fn stop_comment_mail(db: &PgPool, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"update users set comment_mail = 'none' where id = $1"#,
        id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// One click in an email: no more mail about comments on one's posts.
pub async fn stop_own_post_mail(db: &PgPool, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"update users set own_post_mail = false where id = $1"#,
        id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A user a password link may be for: who they are and a fingerprint of their password hash
/// (a link stops working once the password changes).
#[derive(Debug, Clone)]
pub struct LinkUser {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub password_hash: Option<String>,
}

pub async fn for_password_link(
    db: impl sqlx::PgExecutor<'_>,
    id: i64,
) -> Result<Option<LinkUser>, sqlx::Error> {
    sqlx::query_as!(
        LinkUser,
        r#"select id, email, display_name, password_hash from users
           where id = $1 and not disabled"#,
        id
    )
    .fetch_optional(db)
    .await
}

/// An enabled user who has a password, by address: the only users "Forgot your password?" may
/// send a link to. An imported author (or someone invited) has none until an admin invites
/// them, so knowing their address is not a way into the blog.
pub async fn with_password_by_email(
    db: impl sqlx::PgExecutor<'_>,
    email: &str,
) -> Result<Option<LinkUser>, sqlx::Error> {
    sqlx::query_as!(
        LinkUser,
        r#"select id, email, display_name, password_hash from users
           where lower(email) = lower($1) and not disabled and password_hash is not null"#,
        email
    )
    .fetch_optional(db)
    .await
}

/// A new user who sets their own password from an invitation.
pub async fn create_invited(
    db: impl sqlx::PgExecutor<'_>,
    email: &str,
    display_name: &str,
    role: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"insert into users (email, display_name, role) values ($1, $2, $3) returning id"#,
        email,
        display_name,
        role
    )
    .fetch_one(db)
    .await
}

/// A moderator whose daily digest is due, with when the last one went.
#[derive(Debug, Clone)]
pub struct DigestDue {
    pub id: i64,
    pub email: String,
    pub since: time::OffsetDateTime,
}

/// Takes the moderators who asked for a daily digest, have had none for a day, and have held
/// comments newer than their last one; marks theirs as sent now.
pub async fn take_due_digests(
    conn: &mut sqlx::PgConnection,
) -> Result<Vec<DigestDue>, sqlx::Error> {
    sqlx::query_as!(
        DigestDue,
        r#"with due as (
               select u.id, coalesce(u.digest_sent_at, now() - interval '1 day') as since
               from users u
               where u.comment_mail = 'digest' and u.role in ('editor', 'admin')
                 and not u.disabled and u.password_hash is not null
                 and (u.digest_sent_at is null or u.digest_sent_at <= now() - interval '1 day')
                 and exists (select 1 from comments c
                             where c.status = 'pending'
                               and c.created_at > coalesce(u.digest_sent_at, now() - interval '1 day'))
               for update of u skip locked
           )
           update users u set digest_sent_at = now() from due where u.id = due.id
           returning u.id, u.email, due.since as "since!""#
    )
    .fetch_all(conn)
    .await
}

/// The admins who can sign in: told when something only they can mend goes wrong (a
/// certificate that cannot be renewed).
pub async fn admins(db: impl sqlx::PgExecutor<'_>) -> Result<Vec<Recipient>, sqlx::Error> {
    sqlx::query_as!(
        Recipient,
        r#"select id, email, display_name from users
           where role = 'admin' and not disabled and password_hash is not null
           order by id"#
    )
    .fetch_all(db)
    .await
}
