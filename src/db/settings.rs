use sqlx::PgPool;

use crate::domain::comment::CommentPolicy;

/// The blog-wide settings (one row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub title: String,
    pub description: String,
    pub timezone: String,
    pub posts_per_page: i32,
    pub comment_policy: CommentPolicy,
    pub moderate_after_days: i32,
    /// One per line: words, email addresses or client addresses whose comments are spam.
    pub blocked_terms: String,
    /// PostgreSQL text-search configuration, e.g. `simple` or `english`.
    pub search_language: String,
    /// Feeds carry summaries instead of full posts.
    pub feed_summaries: bool,
    /// Followers get whole posts by email instead of summaries.
    pub follow_full_posts: bool,
    /// Admins and editors sign in with a second step (a passkey or an authenticator code).
    pub require_second_step: bool,
    /// Comment threads (a top-level comment with its replies) per comment page.
    pub comment_threads_per_page: i32,
    /// Comment pages start with the newest thread instead of the oldest.
    pub comments_newest_first: bool,
    /// The spam filter holds a comment scoring at least this (hundredths)...
    pub spam_hold_at: i32,
    /// ...and stores it as spam at least this.
    pub spam_junk_at: i32,
    /// It acts once this many comments of each kind have taught it.
    pub spam_min_training: i32,
    /// The blog is a fediverse account (`/admin/fediverse`).
    pub fediverse_enabled: bool,
    /// Its handle's name: `@{name}@{host}`.
    pub fediverse_name: String,
    /// Followers from the fediverse wait for an editor's yes.
    pub fediverse_approve_followers: bool,
    /// Other sites' Webmentions are taken, and posts send them (`/admin/fediverse`).
    pub webmention_enabled: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            title: "Folio".to_owned(),
            description: String::new(),
            timezone: "UTC".to_owned(),
            posts_per_page: 10,
            comment_policy: CommentPolicy::default(),
            moderate_after_days: 14,
            blocked_terms: String::new(),
            search_language: "simple".to_owned(),
            feed_summaries: false,
            follow_full_posts: false,
            require_second_step: false,
            comment_threads_per_page: 100,
            comments_newest_first: false,
            spam_hold_at: 30,
            spam_junk_at: 90,
            spam_min_training: 20,
            fediverse_enabled: false,
            fediverse_name: "blog".to_owned(),
            fediverse_approve_followers: false,
            webmention_enabled: false,
        }
    }
}

impl Settings {
    /// The spam filter's thresholds, as scores from 0 to 1: (hold, spam).
    pub fn spam_thresholds(&self) -> (f64, f64) {
        (
            f64::from(self.spam_hold_at) / 100.0,
            f64::from(self.spam_junk_at) / 100.0,
        )
    }

    /// The blog's time zone; an unknown name falls back to UTC rather than breaking every page.
    pub fn time_zone(&self) -> crate::domain::zones::TimeZone {
        crate::domain::zones::zone_named(&self.timezone)
            .unwrap_or(crate::domain::zones::TimeZone::UTC)
    }
}

pub async fn load(db: &PgPool) -> Result<Settings, sqlx::Error> {
    sqlx::query_as!(
        Settings,
        r#"select title, description, timezone, posts_per_page,
                  comment_policy as "comment_policy: CommentPolicy", moderate_after_days,
                  blocked_terms, search_language, feed_summaries, follow_full_posts,
                  require_second_step, comment_threads_per_page, comments_newest_first,
                  spam_hold_at, spam_junk_at, spam_min_training, fediverse_enabled,
                  fediverse_name, fediverse_approve_followers, webmention_enabled
           from settings where id = 1"#
    )
    .fetch_one(db)
    .await
}

/// Changes the blog's name and time zone (used by tests and, later, the admin settings page).
pub async fn update_basics(
    db: &PgPool,
    title: &str,
    description: &str,
    timezone: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"update settings set title = $1, description = $2, timezone = $3 where id = 1"#,
        title,
        description,
        timezone
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Every setting the admin settings page edits. A new search language re-indexes every post,
/// in the same transaction.
pub async fn update_all(db: &PgPool, settings: &Settings) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    let before =
        sqlx::query_scalar!(r#"select search_language from settings where id = 1 for update"#)
            .fetch_one(&mut *tx)
            .await?;
    sqlx::query!(
        r#"update settings set title = $1, description = $2, timezone = $3, posts_per_page = $4,
                               comment_policy = $5, moderate_after_days = $6, blocked_terms = $7,
                               search_language = $8, feed_summaries = $9,
                               follow_full_posts = $10, require_second_step = $11,
                               comment_threads_per_page = $12, comments_newest_first = $13,
                               spam_hold_at = $14, spam_junk_at = $15, spam_min_training = $16
           where id = 1"#,
        settings.title,
        settings.description,
        settings.timezone,
        settings.posts_per_page,
        settings.comment_policy as CommentPolicy,
        settings.moderate_after_days,
        settings.blocked_terms,
        settings.search_language,
        settings.feed_summaries,
        settings.follow_full_posts,
        settings.require_second_step,
        settings.comment_threads_per_page,
        settings.comments_newest_first,
        settings.spam_hold_at,
        settings.spam_junk_at,
        settings.spam_min_training
    )
    .execute(&mut *tx)
    .await?;
    if before != settings.search_language {
        sqlx::query!(
            r#"update posts set search = post_search_document(
                   title, post_search_labels(id), post_search_body(body_source, body_format),
                   search_language())"#
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// The fediverse and Webmention settings (`/admin/fediverse`).
pub async fn update_fediverse(
    db: &PgPool,
    enabled: bool,
    name: &str,
    approve_followers: bool,
    webmention: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"update settings set fediverse_enabled = $1, fediverse_name = $2,
                               fediverse_approve_followers = $3, webmention_enabled = $4
           where id = 1"#,
        enabled,
        name,
        approve_followers,
        webmention
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The text-search configurations PostgreSQL offers, for the settings page.
pub async fn search_languages(db: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(r#"select cfgname::text as "name!" from pg_ts_config order by cfgname"#)
        .fetch_all(db)
        .await
}

/// Whether PostgreSQL knows this time zone name too (the archive counts use it).
pub async fn database_knows_zone(db: &PgPool, name: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from pg_timezone_names where name = $1) as "known!""#,
        name
    )
    .fetch_one(db)
    .await
}

/// The settings, with what tells whether cached counts are still current: the content version
/// and the next moment a scheduled post becomes visible. One query, read on every page anyway.
#[derive(Debug, Clone)]
pub struct Site {
    pub settings: Settings,
    pub content_version: i64,
    pub next_publication: Option<time::OffsetDateTime>,
}

pub async fn load_site(db: &PgPool) -> Result<Site, sqlx::Error> {
    let row = sqlx::query!(
        r#"select s.title, s.description, s.timezone, s.posts_per_page,
                  s.comment_policy as "comment_policy: CommentPolicy",
                  s.moderate_after_days, s.blocked_terms, s.search_language, s.feed_summaries,
                  s.follow_full_posts, s.require_second_step, s.comment_threads_per_page,
                  s.comments_newest_first, s.spam_hold_at, s.spam_junk_at, s.spam_min_training,
                  s.fediverse_enabled, s.fediverse_name, s.fediverse_approve_followers,
                  s.webmention_enabled, v.n as content_version,
                  (select min(p.published_at) from posts p
                   where p.kind = 'post' and p.status = 'published' and p.published_at > now())
                      as next_publication
           from settings s cross join content_version v
           where s.id = 1"#
    )
    .fetch_one(db)
    .await?;
    Ok(Site {
        settings: Settings {
            title: row.title,
            description: row.description,
            timezone: row.timezone,
            posts_per_page: row.posts_per_page,
            comment_policy: row.comment_policy,
            moderate_after_days: row.moderate_after_days,
            blocked_terms: row.blocked_terms,
            search_language: row.search_language,
            feed_summaries: row.feed_summaries,
            follow_full_posts: row.follow_full_posts,
            require_second_step: row.require_second_step,
            comment_threads_per_page: row.comment_threads_per_page,
            comments_newest_first: row.comments_newest_first,
            spam_hold_at: row.spam_hold_at,
            spam_junk_at: row.spam_junk_at,
            spam_min_training: row.spam_min_training,
            fediverse_enabled: row.fediverse_enabled,
            fediverse_name: row.fediverse_name,
            fediverse_approve_followers: row.fediverse_approve_followers,
            webmention_enabled: row.webmention_enabled,
        },
        content_version: row.content_version,
        next_publication: row.next_publication,
    })
}
