use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

use crate::domain::comment::{CommentFormat, CommentStatus, MAX_DEPTH};

#[derive(Debug, Clone)]
pub struct CommentRow {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub author_name: String,
    pub author_url: Option<String>,
    pub body_html: String,
    pub status: CommentStatus,
    pub created_at: OffsetDateTime,
    /// The anchor an imported comment had on its old blog (`c123…` on Blogger, `comment-12` on
    /// WordPress), so that old links to it land on it.
    pub old_anchor: Option<String>,
    /// Where a comment from elsewhere came from: 'fediverse' or 'webmention'.
    pub origin: Option<String>,
}

/// A post's approved comments, plus the held ones among `own_ids` (the reader's own),
/// oldest first.
pub async fn visible_for_post(
    db: &PgPool,
    post_id: i64,
    own_ids: &[i64],
) -> Result<Vec<CommentRow>, sqlx::Error> {
    sqlx::query_as!(
        CommentRow,
        r#"select id, parent_id, author_name, author_url, body_html,
                  status as "status: CommentStatus", created_at,
                  case source
                      when 'blogger' then 'c' || substring(source_id from '\.post-(\d+)$')
                      when 'wordpress' then 'comment-' || substring(source_id from '#comment-(\d+)$')
                  end as old_anchor,
                  case when source in ('fediverse', 'webmention') then source end as origin
           from comments
           where post_id = $1
             and (status = 'approved' or (status = 'pending' and id = any($2)))
           order by created_at, id"#,
        post_id,
        own_ids
    )
    .fetch_all(db)
    .await
}

/// How a post's comments are paged: whole threads (a top-level comment with its replies), so
/// many to a page, oldest or newest thread first.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub threads_per_page: i64,
    pub newest_first: bool,
}

impl Paging {
    /// The page (from 1) that holds the thread ranked `rank` (from 1) in this order.
    pub fn page_of_rank(&self, rank: i64) -> i64 {
        (rank.max(1) - 1) / self.threads_per_page.max(1) + 1
    }

    /// How many pages `threads` threads fill (at least one, so an empty post has page 1).
    pub fn pages(&self, threads: i64) -> i64 {
        self.page_of_rank(threads.max(1))
    }
}

/// Which comment page a reader asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageWanted {
    Number(i64),
    /// The last in the blog's order: where a new thread is, found without counting first.
    Last,
}

/// One comment page of a post, as `page_for_post` reads it.
pub struct CommentPage {
    /// Its comments (approved, and the reader's own held ones), oldest first in each thread.
    pub rows: Vec<CommentRow>,
    /// The threads of the post in all.
    pub threads: i64,
    /// Its number (the last page's, for `PageWanted::Last`).
    pub number: i64,
}

/// One comment page of a post, read in two statements whatever its size.
pub async fn page_for_post(
    db: &PgPool,
    post_id: i64,
    own_ids: &[i64],
    paging: Paging,
    wanted: PageWanted,
) -> Result<CommentPage, sqlx::Error> {
    let number = match wanted {
        PageWanted::Number(number) => Some(number),
        PageWanted::Last => None,
    };
    let threads = sqlx::query!(
        r#"with threads as (
               select distinct thread_id, thread_started_at
               from comments
               where post_id = $1
                 and (status = 'approved' or (status = 'pending' and id = any($2)))
           ), ranked as (
               select thread_id,
                      row_number() over (order by thread_started_at, thread_id) as oldest_rank,
                      count(*) over () as total
               from threads
           ), placed as (
               select thread_id, total,
                      case when $3 then total - oldest_rank + 1 else oldest_rank end as rank
               from ranked
           ), chosen as (
               select coalesce($4::bigint,
                               greatest((coalesce(max(total), 0) + $5 - 1) / $5, 1)) as number
               from placed
           )
           select coalesce(array_agg(p.thread_id)
                               filter (where p.rank > (c.number - 1) * $5
                                         and p.rank <= c.number * $5),
                           '{}') as "ids!",
                  coalesce(max(p.total), 0) as "total!",
                  c.number as "number!"
           from chosen c left join placed p on true
           group by c.number"#,
        post_id,
        own_ids,
        paging.newest_first,
        number,
        paging.threads_per_page.max(1)
    )
    .fetch_one(db)
    .await?;
    let page = |rows| CommentPage {
        rows,
        threads: threads.total,
        number: threads.number,
    };
    if threads.ids.is_empty() {
        return Ok(page(Vec::new()));
    }
    let rows = sqlx::query_as!(
        CommentRow,
        r#"select id, parent_id, author_name, author_url, body_html,
                  status as "status: CommentStatus", created_at,
                  case source
                      when 'blogger' then 'c' || substring(source_id from '\.post-(\d+)$')
                      when 'wordpress' then 'comment-' || substring(source_id from '#comment-(\d+)$')
                  end as old_anchor,
                  case when source in ('fediverse', 'webmention') then source end as origin
           from comments
           where post_id = $1 and thread_id = any($3)
             and (status = 'approved' or (status = 'pending' and id = any($2)))
           order by created_at, id"#,
        post_id,
        own_ids,
        &threads.ids
    )
    .fetch_all(db)
    .await?;
    Ok(page(rows))
}

/// The comment page of this post that shows comment `comment_id` (to this reader, whose held
/// comments are `own_ids`); None when the comment is not shown on the post.
pub async fn page_of(
    db: &PgPool,
    post_id: i64,
    comment_id: i64,
    own_ids: &[i64],
    paging: Paging,
) -> Result<Option<i64>, sqlx::Error> {
    // The threads shown before this one and after it, by when they began (a thread's number
    // breaking ties), as `page_for_post` ranks them: counted by their first comments along the
    // thread-order index, with the rare thread shown only through a reply (its first comment
    // held, spam or trash).
    let around = sqlx::query!(
        r#"with target as (
               select thread_id, thread_started_at from comments
               where id = $2 and post_id = $1
                 and (status = 'approved' or (status = 'pending' and id = any($3)))
           ),
           shown as (
               select r.thread_started_at, r.thread_id from comments r
               where r.post_id = $1 and r.id = r.thread_id
                 and (r.status = 'approved'
                      or (r.status = 'pending' and r.id = any($3))
                      or exists (select 1 from comments c
                                 where c.post_id = $1 and c.thread_id = r.thread_id
                                   and (c.status = 'approved'
                                        or (c.status = 'pending' and c.id = any($3)))))
           )
           select count(*) filter (where (s.thread_started_at, s.thread_id)
                                         < (t.thread_started_at, t.thread_id)) as "earlier!",
                  count(*) filter (where (s.thread_started_at, s.thread_id)
                                         > (t.thread_started_at, t.thread_id)) as "later!"
           from target t cross join shown s
           group by t.thread_id"#,
        post_id,
        comment_id,
        own_ids
    )
    .fetch_optional(db)
    .await?;
    let ahead = around.map(|row| {
        if paging.newest_first {
            row.later
        } else {
            row.earlier
        }
    });
    // No row: the comment is not shown on the post.
    Ok(ahead.map(|ahead| paging.page_of_rank(ahead + 1)))
}

/// Where a comment permalink leads: the comment's post, if readers can see it (the comment
/// itself may have been moderated away since the link was made).
pub async fn permalink_post(
    db: &PgPool,
    comment_id: i64,
) -> Result<Option<(i64, String)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select p.id, p.path from comments c join posts p on p.id = c.post_id
           where c.id = $1 and post_visible(p.status, p.published_at)"#,
        comment_id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| (r.id, r.path)))
}

/// The approved comment of this post made at `millis` (a Blogger `showComment` link names a
/// comment by its time in milliseconds).
pub async fn at_millis(db: &PgPool, post_id: i64, millis: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select id from comments
           where post_id = $1 and status = 'approved'
             and created_at >= to_timestamp($2::float8 / 1000) - interval '1 millisecond'
             and created_at <= to_timestamp($2::float8 / 1000) + interval '1 millisecond'
           order by id limit 1"#,
        post_id,
        millis as f64
    )
    .fetch_optional(db)
    .await
}

/// A visible comment on this post that can be answered, with the ids of its ancestors,
/// parent first: `[id, parent, grandparent, ...]`. None when there is no such comment.
pub async fn thread_of(
    db: impl sqlx::PgExecutor<'_>,
    post_id: i64,
    comment_id: i64,
) -> Result<Option<Vec<i64>>, sqlx::Error> {
    let chain = sqlx::query_scalar!(
        r#"with recursive chain (id, parent_id, depth) as (
               select id, parent_id, 1 from comments
               where id = $1 and post_id = $2 and status = 'approved'
               union all
               select c.id, c.parent_id, chain.depth + 1
               from comments c join chain on c.id = chain.parent_id
               where chain.depth < 100
           )
           select id as "id!" from chain order by depth"#,
        comment_id,
        post_id
    )
    .fetch_all(db)
    .await?;
    Ok((!chain.is_empty()).then_some(chain))
}

/// The author name of a visible comment on this post, for "Replying to ...".
pub async fn author_of(
    db: &PgPool,
    post_id: i64,
    comment_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select author_name from comments where id = $1 and post_id = $2 and status = 'approved'"#,
        comment_id,
        post_id
    )
    .fetch_optional(db)
    .await
}

#[derive(Debug, Clone)]
pub struct NewComment {
    pub status_reason: Option<String>,
    pub client_hash: Option<String>,
    pub post_id: i64,
    pub parent_id: Option<i64>,
    pub author_name: String,
    pub author_email: Option<String>,
    pub author_url: Option<String>,
    pub body_source: String,
    pub body_html: String,
    pub status: CommentStatus,
    pub created_at: OffsetDateTime,
    /// The spam filter's score and strongest clues, when it scored the comment.
    pub spam_score: Option<f32>,
    pub spam_clues: Vec<String>,
}

pub async fn insert(db: &PgPool, comment: &NewComment) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"insert into comments (post_id, parent_id, author_name, author_email, author_url,
                                 body_source, body_html, status, created_at, status_reason,
                                 client_hash)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           returning id"#,
        comment.post_id,
        comment.parent_id,
        comment.author_name,
        comment.author_email,
        comment.author_url,
        comment.body_source,
        comment.body_html,
        comment.status as CommentStatus,
        comment.created_at,
        comment.status_reason,
        comment.client_hash
    )
    .fetch_one(db)
    .await
}

/// What became of a submitted comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// Stored (and committed) with this id.
    Stored(i64),
    /// The client has sent `limit` comments in the last minute; it may try again after this
    /// many seconds.
    RateLimited { retry_after_secs: i64 },
    /// The same text is already on this post from the last day.
    Duplicate,
}

/// Stores a comment unless its client is over the rate limit (`per_minute`, 0 for none) or it
/// repeats a recent comment on the same post. One statement (migration 0015's function) in the
/// caller's transaction: serialised per client while there is a limit, so two requests at once
/// cannot both slip under it, and per post and text, so a double click stores once. The caller
/// acknowledges only `Stored`, once its transaction is committed, and then hands a published
/// comment's post to `page_cache::notices` (the insert does not notify, migration 0021).
pub async fn submit(
    db: impl sqlx::PgExecutor<'_>,
    comment: &NewComment,
    per_minute: i64,
) -> Result<Submitted, sqlx::Error> {
    let submitted = call_submit(db, comment, per_minute, false).await?;
    submitted.ok_or_else(|| sqlx::Error::Protocol("submit_comment answered mail_due".into()))
}

/// `submit`, for a comment that causes no mail, in one statement of its own; None (and nothing
/// stored) when it would cause mail after all: then it goes through `submit` in a transaction
/// that writes its mail too.
pub async fn submit_without_mail(
    db: impl sqlx::PgExecutor<'_>,
    comment: &NewComment,
    per_minute: i64,
) -> Result<Option<Submitted>, sqlx::Error> {
    call_submit(db, comment, per_minute, true).await
}

async fn call_submit(
    db: impl sqlx::PgExecutor<'_>,
    comment: &NewComment,
    per_minute: i64,
    unless_mail_due: bool,
) -> Result<Option<Submitted>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select outcome as "outcome!", comment_id, retry_after_secs
           from submit_comment($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, true)"#,
        comment.post_id,
        comment.parent_id,
        comment.author_name,
        comment.author_email,
        comment.author_url,
        comment.body_source,
        comment.body_html,
        comment.status as CommentStatus,
        comment.status_reason,
        comment.client_hash,
        per_minute,
        comment.spam_score,
        &comment.spam_clues,
        unless_mail_due
    )
    .fetch_one(db)
    .await?;
    Ok(Some(match (row.outcome.as_str(), row.comment_id) {
        ("stored", Some(id)) => Submitted::Stored(id),
        ("rate_limited", _) => Submitted::RateLimited {
            retry_after_secs: row.retry_after_secs.unwrap_or(60).clamp(1, 60),
        },
        ("duplicate", _) => Submitted::Duplicate,
        ("mail_due", _) => return Ok(None),
        (outcome, _) => {
            return Err(sqlx::Error::Protocol(format!(
                "submit_comment answered {outcome:?}"
            )));
        }
    }))
}

/// Tells every process that these posts' published comments changed (the trigger does not for
/// a comment stored through `submit`: see `page_cache::notices`).
pub async fn notify_changed(db: &PgPool, posts: &[i64]) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"select pg_notify('folio_content_changed', 'comments:' || post) as "sent"
           from unnest($1::bigint[]) post"#,
        posts
    )
    .fetch_all(db)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts {
    pub pending: i64,
    pub approved: i64,
    pub spam: i64,
    pub trash: i64,
}

impl StatusCounts {
    pub fn get(&self, status: CommentStatus) -> i64 {
        match status {
            CommentStatus::Pending => self.pending,
            CommentStatus::Approved => self.approved,
            CommentStatus::Spam => self.spam,
            CommentStatus::Trash => self.trash,
        }
    }
}

pub async fn count_by_status(db: &PgPool) -> Result<StatusCounts, sqlx::Error> {
    let row = sqlx::query!(
        r#"select count(*) filter (where status = 'pending') as "pending!",
                  count(*) filter (where status = 'approved') as "approved!",
                  count(*) filter (where status = 'spam') as "spam!",
                  count(*) filter (where status = 'trash') as "trash!"
           from comments"#
    )
    .fetch_one(db)
    .await?;
    Ok(StatusCounts {
        pending: row.pending,
        approved: row.approved,
        spam: row.spam,
        trash: row.trash,
    })
}

/// A comment with what a moderator needs to judge it.
#[derive(Debug, Clone)]
pub struct ModerationRow {
    pub id: i64,
    pub post_title: String,
    pub post_path: String,
    pub author_name: String,
    pub author_email: Option<String>,
    pub author_url: Option<String>,
    pub client_hash: Option<String>,
    pub body_source: String,
    pub body_html: String,
    pub status: CommentStatus,
    pub status_reason: Option<String>,
    pub user_id: Option<i64>,
    pub created_at: OffsetDateTime,
    pub spam_score: Option<f32>,
    pub spam_clues: Option<Vec<String>>,
}

/// Which comments of a status the queue shows, and in what order.
#[derive(Debug, Clone, Copy)]
pub struct Listing {
    /// Newest first below this id (keyset), or...
    pub before_id: i64,
    /// ...highest spam score first, skipping this many.
    pub by_score: Option<i64>,
    /// Only comments the spam filter scored at least this.
    pub min_score: Option<f32>,
    pub limit: i64,
}

impl Listing {
    pub fn newest(limit: i64) -> Self {
        Self {
            before_id: i64::MAX,
            by_score: None,
            min_score: None,
            limit,
        }
    }
}

/// Comments with this status, as `listing` asks.
pub async fn list_by_status(
    db: &PgPool,
    status: CommentStatus,
    listing: Listing,
) -> Result<Vec<ModerationRow>, sqlx::Error> {
    sqlx::query_as!(
        ModerationRow,
        r#"select c.id, p.title as post_title, p.path as post_path, c.author_name, c.author_email,
                  c.author_url, c.client_hash, c.body_source, c.body_html,
                  c.status as "status: CommentStatus",
                  c.status_reason, c.user_id, c.created_at, c.spam_score, c.spam_clues
           from comments c join posts p on p.id = c.post_id
           where c.status = $1 and c.id < $2 and ($5::real is null or c.spam_score >= $5)
           order by case when $4::bigint is not null then c.spam_score end desc nulls last,
                    c.id desc
           limit $3 offset coalesce($4, 0)"#,
        status as CommentStatus,
        listing.before_id,
        listing.limit,
        listing.by_score,
        listing.min_score
    )
    .fetch_all(db)
    .await
}

/// How many comments of this status the spam filter scored at least `min_score`.
pub async fn count_scored_at_least(
    db: &PgPool,
    status: CommentStatus,
    min_score: f32,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select count(*) as "n!" from comments where status = $1 and spam_score >= $2"#,
        status as CommentStatus,
        min_score
    )
    .fetch_one(db)
    .await
}

/// Moves comments to a status; returns the ids that changed.
pub async fn set_status(
    db: impl sqlx::PgExecutor<'_>,
    ids: &[i64],
    status: CommentStatus,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"update comments set status = $2 where id = any($1) and status <> $2 returning id"#,
        ids,
        status as CommentStatus
    )
    .fetch_all(db)
    .await
}

/// Decides a held comment; None when it is not held any more (decided meanwhile, or gone).
pub async fn decide_held(
    db: impl sqlx::PgExecutor<'_>,
    id: i64,
    status: CommentStatus,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"update comments set status = $2 where id = $1 and status = 'pending' returning id"#,
        id,
        status as CommentStatus
    )
    .fetch_optional(db)
    .await
}

/// The posts these comments are on.
pub async fn posts_of(db: impl sqlx::PgExecutor<'_>, ids: &[i64]) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select distinct post_id from comments where id = any($1)"#,
        ids
    )
    .fetch_all(db)
    .await
}

/// Deletes comments for good, but only those already in spam or trash.
pub async fn delete_forever(db: &mut PgConnection, ids: &[i64]) -> Result<u64, sqlx::Error> {
    let posts = sqlx::query_scalar!(
        r#"delete from comments where id = any($1) and status in ('spam', 'trash')
           returning post_id"#,
        ids
    )
    .fetch_all(&mut *db)
    .await?;
    // Replies to a comment deleted for good become threads of their own.
    let mut touched = posts.clone();
    touched.sort_unstable();
    touched.dedup();
    sqlx::query!(
        r#"select renumber_comment_threads(id) as "done" from unnest($1::bigint[]) as id"#,
        &touched
    )
    .fetch_all(&mut *db)
    .await?;
    Ok(posts.len() as u64)
}

/// One comment for the moderator's editor.
pub async fn find_for_moderation(
    db: &PgPool,
    id: i64,
) -> Result<Option<ModerationRow>, sqlx::Error> {
    sqlx::query_as!(
        ModerationRow,
        r#"select c.id, p.title as post_title, p.path as post_path, c.author_name, c.author_email,
                  c.author_url, c.client_hash, c.body_source, c.body_html,
                  c.status as "status: CommentStatus",
                  c.status_reason, c.user_id, c.created_at, c.spam_score, c.spam_clues
           from comments c join posts p on p.id = c.post_id
           where c.id = $1"#,
        id
    )
    .fetch_optional(db)
    .await
}

/// How the comment's text is kept, if the comment exists.
pub async fn body_format(db: &PgPool, id: i64) -> Result<Option<CommentFormat>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select body_format as "body_format: CommentFormat" from comments where id = $1"#,
        id
    )
    .fetch_optional(db)
    .await
}

pub async fn update_body(
    db: impl sqlx::PgExecutor<'_>,
    id: i64,
    source: &str,
    html: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"update comments set body_source = $2, body_html = $3 where id = $1"#,
        id,
        source,
        html
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The post a comment belongs to.
pub async fn post_of(db: &PgPool, id: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(r#"select post_id from comments where id = $1"#, id)
        .fetch_optional(db)
        .await
}

/// A moderator's reply (from the queue or an email): published at once and marked as theirs;
/// the comment it answers is approved with it, and a reply below the deepest level joins its
/// parent's level. In the caller's transaction; none when the comment is gone. Returns the
/// ids that became visible (the reply, and the comment when it was not yet).
pub async fn reply_as_moderator(
    conn: &mut PgConnection,
    comment_id: i64,
    user_id: i64,
    author_name: &str,
    source: &str,
    html: &str,
) -> Result<Option<Vec<i64>>, sqlx::Error> {
    let Some(answered) = sqlx::query!(
        r#"select post_id, status as "status: CommentStatus" from comments where id = $1
           for update"#,
        comment_id
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let post_id = answered.post_id;
    let mut published = Vec::new();
    if answered.status != CommentStatus::Approved {
        set_status(&mut *conn, &[comment_id], CommentStatus::Approved).await?;
        published.push(comment_id);
    }
    let parent = match thread_of(&mut *conn, post_id, comment_id).await? {
        Some(chain) if chain.len() >= MAX_DEPTH => chain[chain.len() - (MAX_DEPTH - 1)],
        _ => comment_id,
    };
    let id = sqlx::query_scalar!(
        r#"insert into comments (post_id, parent_id, author_name, body_source, body_html, status,
                                 status_reason, user_id)
           values ($1, $2, $3, $4, $5, 'approved', 'reply from a moderator', $6)
           returning id"#,
        post_id,
        parent,
        author_name,
        source,
        html,
        user_id
    )
    .fetch_one(&mut *conn)
    .await?;
    published.push(id);
    Ok(Some(published))
}

/// A published comment whose post's author asked to hear of it.
#[derive(Debug, Clone)]
pub struct PublishedNotice {
    pub comment_id: i64,
    pub commenter: String,
    pub comment_text: String,
    pub post_title: String,
    pub post_path: String,
    pub author_id: i64,
    pub author_email: String,
}

pub async fn published_notices(
    db: impl sqlx::PgExecutor<'_>,
    comment_ids: &[i64],
) -> Result<Vec<PublishedNotice>, sqlx::Error> {
    sqlx::query_as!(
        PublishedNotice,
        r#"select c.id as comment_id, c.author_name as commenter, c.body_source as comment_text,
                  p.title as post_title, p.path as post_path, u.id as author_id,
                  u.email as author_email
           from comments c
           join posts p on p.id = c.post_id
           join users u on u.id = p.author_id
           where c.id = any($1) and c.status = 'approved'
             and u.own_post_mail and not u.disabled and u.password_hash is not null
             and c.user_id is distinct from u.id
           order by c.id"#,
        comment_ids
    )
    .fetch_all(db)
    .await
}

/// A held comment in a moderator's digest.
#[derive(Debug, Clone)]
pub struct HeldForDigest {
    pub id: i64,
    pub author_name: String,
    pub body_source: String,
    pub post_title: String,
}

/// Comments held since `since`, oldest first, at most `limit`.
pub async fn held_since(
    db: impl sqlx::PgExecutor<'_>,
    since: OffsetDateTime,
    limit: i64,
) -> Result<Vec<HeldForDigest>, sqlx::Error> {
    sqlx::query_as!(
        HeldForDigest,
        r#"select c.id, c.author_name, c.body_source, p.title as post_title
           from comments c join posts p on p.id = c.post_id
           where c.status = 'pending' and c.created_at > $1
           order by c.created_at, c.id
           limit $2"#,
        since,
        limit
    )
    .fetch_all(db)
    .await
}

/// A comment that came from elsewhere (the fediverse or a Webmention), as its author's edit
/// needs it: where it is and what it says of its author. None once trashed or marked spam.
#[derive(Debug, Clone)]
pub struct FromElsewhere {
    pub id: i64,
    pub post_path: String,
    pub author_name: String,
    pub author_url: Option<String>,
    pub parent_id: Option<i64>,
    pub approved: bool,
}

pub async fn from_elsewhere(db: &PgPool, id: i64) -> Result<Option<FromElsewhere>, sqlx::Error> {
    sqlx::query_as!(
        FromElsewhere,
        r#"select c.id, p.path as post_path, c.author_name, c.author_url, c.parent_id,
                  c.status = 'approved' as "approved!"
           from comments c join posts p on p.id = c.post_id
           where c.id = $1 and c.source in ('fediverse', 'webmention')
             and c.status not in ('trash', 'spam')"#,
        id
    )
    .fetch_optional(db)
    .await
}

/// An edit from a comment's author elsewhere: its new text (and name), and, when screening
/// the new text would not let it show, the status that screening gave (a moderator decides).
/// Only while the comment is as it was read (`was_approved`, not trashed or marked spam since):
/// a moderator's decision meanwhile wins. False when nothing changed.
pub async fn edit_from_elsewhere(
    db: &PgPool,
    id: i64,
    author_name: &str,
    body_source: &str,
    body_html: &str,
    was_approved: bool,
    taken_back: Option<(CommentStatus, &str)>,
) -> Result<bool, sqlx::Error> {
    let (status, reason) = taken_back.unzip();
    Ok(sqlx::query!(
        r#"update comments
           set author_name = $2, body_source = $3, body_html = $4,
               status = coalesce($5, status), status_reason = coalesce($6, status_reason)
           where id = $1
             and status not in ('trash', 'spam') and (status = 'approved') = $7
             and (author_name, body_source, body_html, status)
                 is distinct from ($2, $3, $4, coalesce($5, status))"#,
        id,
        author_name,
        body_source,
        body_html,
        status as Option<CommentStatus>,
        reason,
        was_approved
    )
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}
