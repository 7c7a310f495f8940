//! "Post a Comment": what a commenter sees and what the blog keeps.

use std::time::Duration as StdDuration;

use crate::common::{
    Page, Post, Proxy, add_comment, add_post, add_reply, app, app_with, element_text, get,
    get_with, post_form, secret, selector,
};
use axum::http::StatusCode;
use folio::{auth::form_token, config::Config};
use scraper::ElementRef;
use sqlx::{
    PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};
use time::{Duration, OffsetDateTime};

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// A form token as the post page would have issued it ten seconds ago.
fn token(post_id: i64) -> String {
    form_token::issue(&secret(), post_id, now().unix_timestamp() - 10)
}

async fn a_post(pool: &PgPool) -> (i64, String) {
    add_post(
        pool,
        Post::published("Frost on the leeks", now() - Duration::days(2)),
    )
    .await
}

struct Comment<'a> {
    name: &'a str,
    email: &'a str,
    website: &'a str,
    comment: &'a str,
    parent: String,
    token: String,
    address: &'a str,
}

impl<'a> Comment<'a> {
    fn new(post_id: i64, name: &'a str, comment: &'a str) -> Self {
        Self {
            name,
            email: "",
            website: "",
            comment,
            parent: String::new(),
            token: token(post_id),
            address: "",
        }
    }

    fn fields(&self) -> Vec<(&str, &str)> {
        vec![
            ("token", self.token.as_str()),
            ("parent", self.parent.as_str()),
            ("name", self.name),
            ("email", self.email),
            ("website", self.website),
            ("comment", self.comment),
            ("address", self.address),
        ]
    }
}

async fn send(app: &folio::App, path: &str, comment: &Comment<'_>) -> Page {
    post_form(app, path, &comment.fields(), &[]).await
}

async fn stored(pool: &PgPool) -> Vec<(i64, String, String, Option<String>, Option<i64>)> {
    sqlx::query_as(
        "select id, author_name, status, status_reason, parent_id from comments order by id",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// The id in a `Location: /path#c{id}`.
fn comment_id(page: &Page) -> i64 {
    page.header("location")
        .rsplit("#c")
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[sqlx::test]
async fn a_comment_is_published_and_the_reader_lands_on_it(pool: PgPool) {
    let (post_id, path) = a_post(&pool).await;
    let app = app(&pool);
    let form = get(&app, &path).await;
    assert!(
        form.text().contains(
            "Post a Comment Name Email (optional, never shown) Website (optional) Comment"
        )
    );
    assert!(form.field("token").is_some_and(|t| t.len() > 20));

    let mut comment = Comment::new(post_id, "Maren", "Mine came up *sweet* after the frost.");
    comment.email = "maren@example.org";
    comment.website = "maren.example.org";
    let sent = send(&app, &path, &comment).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let id = comment_id(&sent);
    // A new thread is the newest: on the last comment page, found without counting.
    assert_eq!(
        sent.header("location"),
        format!("{path}?commentPage=last#c{id}")
    );
    assert!(
        sent.header("set-cookie").is_empty(),
        "no cookie for a published comment"
    );
    let landed = get(&app, &format!("{path}?commentPage=last")).await;
    assert!(landed.body.contains(&format!(r#"id="c{id}""#)));
    assert!(
        landed.body.contains(&format!(
            r#"<link rel="canonical" href="{}{path}">"#,
            crate::common::BASE_URL
        )),
        "one page of comments: the post is the canonical address"
    );

    let page = get(&app, &path).await;
    let text = page.text();
    assert!(text.contains("1 comment: Maren"), "{text}");
    assert!(
        text.contains("Mine came up sweet after the frost. Reply"),
        "{text}"
    );
    assert!(page.body.contains(&format!("id=\"c{id}\"")));
    assert!(
        page.body.contains(
            "<a href=\"https://maren.example.org\" rel=\"nofollow ugc noopener\">Maren</a>"
        )
    );
    assert!(
        !page.body.contains("maren@example.org"),
        "emails are never shown"
    );
    assert!(get(&app, "/").await.text().contains("1 comment:"));
    let email: Option<String> = sqlx::query_scalar("select author_email from comments")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(email.as_deref(), Some("maren@example.org"));
}

#[sqlx::test]
async fn every_validation_error_shows_its_message_and_keeps_every_character(pool: PgPool) {
    let (post_id, path) = a_post(&pool).await;
    let app = app(&pool);
    let typed = "Ünïcödé, \"quotes\", <b>tags</b> & ampersands\n\n  indented line\t with a tab 😀";
    let too_long = "x".repeat(4_097);
    let cases: [(&str, &str, &str, &str, &str, &str); 6] = [
        ("", "", "", typed, "#comment-name", "Enter your name"),
        ("Ola", "", "", "   \n ", "#comment-body", "Write a comment"),
        (
            "Ola",
            "",
            "",
            &too_long,
            "#comment-body",
            "Your comment is 4,097 characters long; the limit is 4,096. Please shorten it by 1",
        ),
        (
            "Ola",
            "not an email",
            "",
            typed,
            "#comment-email",
            "Enter an email address like name@example.com, or leave it empty",
        ),
        (
            "Ola",
            "",
            "javascript:alert(1)",
            typed,
            "#comment-website",
            "Enter a website address starting with http:// or https://, or leave it empty",
        ),
        (
            &"N".repeat(101),
            "",
            "",
            typed,
            "#comment-name",
            "Your name must be 100 characters or fewer",
        ),
    ];
    for (name, email, website, body, anchor, message) in cases {
        let mut comment = Comment::new(post_id, name, body);
        comment.email = email;
        comment.website = website;
        let page = send(&app, &path, &comment).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{message}");
        let text = page.text();
        assert!(
            text.contains(&format!("Your comment was not posted {message}")),
            "summary: {text}"
        );
        assert!(
            page.body.contains(&format!("<a href=\"{anchor}\">")),
            "{anchor}"
        );
        assert_eq!(
            text.matches(message).count(),
            2,
            "in the summary and beside the field: {message}"
        );
        assert!(page.body.contains("aria-invalid=\"true\""));
        assert!(
            page.body
                .contains("<title>Error: Frost on the leeks - Folio</title>")
        );
        assert_eq!(page.field("name").as_deref(), Some(name));
        assert_eq!(page.field("email").as_deref(), Some(email));
        assert_eq!(page.field("website").as_deref(), Some(website));
        assert_eq!(
            page.field("comment").as_deref(),
            Some(body),
            "the comment comes back exactly"
        );
    }
    assert!(stored(&pool).await.is_empty());
}

#[sqlx::test]
async fn stale_fast_and_forged_forms_are_refused_with_the_text_kept(pool: PgPool) {
    let (post_id, path) = a_post(&pool).await;
    let (other_post, _) =
        add_post(&pool, Post::published("Another", now() - Duration::days(1))).await;
    let app = app(&pool);
    let now = now().unix_timestamp();
    let cases = [
        (
            form_token::issue(&secret(), post_id, now),
            "faster than a person can type",
        ),
        (
            form_token::issue(&secret(), post_id, now - 25 * 3600),
            "opened more than a day ago",
        ),
        (
            form_token::issue(&secret(), other_post, now - 10),
            "could not be checked",
        ),
        (
            form_token::issue(
                &folio::auth::Secret::from_passphrase("x"),
                post_id,
                now - 10,
            ),
            "could not be checked",
        ),
        ("garbage".to_owned(), "could not be checked"),
        (String::new(), "could not be checked"),
    ];
    for (token, message) in cases {
        let mut comment = Comment::new(post_id, "Ilse", "Keep this text, please.");
        comment.token = token;
        let page = send(&app, &path, &comment).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{message}");
        assert!(page.text().contains(message), "{message}: {}", page.text());
        assert_eq!(
            page.field("comment").as_deref(),
            Some("Keep this text, please.")
        );
        assert_eq!(page.field("name").as_deref(), Some("Ilse"));
        let fresh = page.field("token").unwrap();
        assert_eq!(
            form_token::check(&secret(), &fresh, post_id, now + 5),
            Ok(()),
            "a new token to send again"
        );
    }
    assert!(stored(&pool).await.is_empty());
}

#[sqlx::test]
async fn the_honeypot_stores_robots_as_spam_that_nobody_sees(pool: PgPool) {
    let (post_id, path) = a_post(&pool).await;
    let app = app(&pool);
    let mut comment = Comment::new(post_id, "Cheap Pills", "Great post, visit my shop");
    comment.address = "12 Robot Street";
    let sent = send(&app, &path, &comment).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    assert_eq!(sent.header("location"), format!("{path}#post-a-comment"));
    let rows = stored(&pool).await;
    assert_eq!(rows[0].2, "spam");
    assert_eq!(rows[0].3.as_deref(), Some("honeypot field was filled in"));
    let page = get(&app, &path).await;
    assert!(!page.text().contains("Cheap Pills") && page.text().contains("No comments:"));
    assert!(page.body.contains("class=\"hp\" aria-hidden=\"true\""));
    assert!(
        !page.body.contains("style="),
        "hidden by the stylesheet, not inline style"
    );
}

#[sqlx::test]
async fn a_client_may_post_five_comments_a_minute(pool: PgPool) {
    let (post_id, path) = a_post(&pool).await;
    let config = Config {
        trust_proxy: true,
        ..Config::with_base_url(crate::common::BASE_URL)
    };
    let app = app_with(&pool, config);
    let from = |ip: &'static str| [("x-forwarded-for", ip)];
    for n in 0..5 {
        let body = format!("Comment number {n}");
        let comment = Comment::new(post_id, "Quick Quentin", &body);
        let sent = post_form(&app, &path, &comment.fields(), &from("203.0.113.9")).await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER, "comment {n}");
    }
    let sixth = Comment::new(post_id, "Quick Quentin", "One more thought");
    let refused = post_form(&app, &path, &sixth.fields(), &from("203.0.113.9")).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    let wait: i64 = refused.header("retry-after").parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(
        refused
            .text()
            .contains("You have sent several comments in the last minute")
    );
    assert_eq!(
        refused.field("comment").as_deref(),
        Some("One more thought")
    );
    // The proxy's own address is not the client: the last X-Forwarded-For entry is.
    let other = post_form(
        &app,
        &path,
        &sixth.fields(),
        &from("203.0.113.9, 198.51.100.4"),
    )
    .await;
    assert_eq!(other.status, StatusCode::SEE_OTHER);
    assert_eq!(stored(&pool).await.len(), 6);
    let hashes: Vec<Option<String>> =
        sqlx::query_scalar("select distinct client_hash from comments")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(hashes.len(), 2);
    assert!(
        hashes
            .iter()
            .all(|h| h.as_deref().is_some_and(|h| !h.contains("203.0"))),
        "addresses are not stored"
    );
}

#[sqlx::test]
async fn more_than_two_links_wait_for_a_moderator(pool: PgPool) {
    let (post_id, path) = a_post(&pool).await;
    let app = app(&pool);
    let two = "See https://a.example and [this](https://b.example).";
    let three = "See https://a.example, https://b.example and https://c.example.";
    send(&app, &path, &Comment::new(post_id, "Two Links", two)).await;
    send(&app, &path, &Comment::new(post_id, "Three Links", three)).await;
    let rows = stored(&pool).await;
    assert_eq!(
        (rows[0].2.as_str(), rows[0].3.as_deref()),
        ("approved", None)
    );
    assert_eq!(
        (rows[1].2.as_str(), rows[1].3.as_deref()),
        ("pending", Some("3 links (more than 2)"))
    );
    let text = get(&app, &path).await.text();
    assert!(text.contains("Two Links") && !text.contains("Three Links"));
}

#[sqlx::test]
async fn the_same_text_twice_on_a_post_is_refused_as_a_duplicate(pool: PgPool) {
    let (post_id, path) = a_post(&pool).await;
    let app = app(&pool);
    let first = send(
        &app,
        &path,
        &Comment::new(post_id, "Echo", "I said this once."),
    )
    .await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let again = send(
        &app,
        &path,
        &Comment::new(post_id, "Echo", "I said this once."),
    )
    .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        again
            .text()
            .contains("You have already posted this comment here.")
    );
    assert_eq!(again.field("comment").as_deref(), Some("I said this once."));
    assert_eq!(stored(&pool).await.len(), 1);
}

#[sqlx::test]
async fn comments_sent_at_once_keep_the_duplicate_check_and_the_rate_limit(pool: PgPool) {
    let (post_id, path) = a_post(&pool).await;
    let from = [("x-forwarded-for", "203.0.113.20")];
    // With the rate limit off, one address is not serialised, but a double click still stores
    // the text once.
    let unlimited = app_with(
        &pool,
        Config {
            trust_proxy: true,
            comment_rate_limit: 0,
            ..Config::with_base_url(crate::common::BASE_URL)
        },
    );
    // The limit's own lock, held elsewhere, does not hold up a comment when there is no limit.
    let mut elsewhere = pool.acquire().await.unwrap();
    let client = crate::common::secret().client_hash("203.0.113.20");
    sqlx::query("select pg_advisory_lock(hashtextextended($1, 7))")
        .bind(&client)
        .execute(&mut *elsewhere)
        .await
        .unwrap();
    let alone = Comment::new(post_id, "Not Waiting", "Through while the lock is held.");
    let sent = tokio::time::timeout(
        StdDuration::from_secs(5),
        post_form(&unlimited, &path, &alone.fields(), &from),
    )
    .await
    .expect("not held up by the rate limit's lock");
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    drop(elsewhere);
    let same = Comment::new(post_id, "Double Click", "Sent twice by accident.");
    let fields = same.fields();
    let sent = futures_util::future::join_all(
        (0..6).map(|_| post_form(&unlimited, &path, &fields, &from)),
    )
    .await;
    let statuses: Vec<u16> = sent.iter().map(|page| page.status.as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 303).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 422).count(),
        5,
        "{statuses:?}"
    );
    assert!(
        sent.iter()
            .filter(|page| page.status.as_u16() == 422)
            .all(|page| page
                .text()
                .contains("You have already posted this comment here."))
    );
    assert_eq!(stored(&pool).await.len(), 2);

    // With the limit on, a burst from one address cannot slip past it.
    let limited = app_with(
        &pool,
        Config {
            trust_proxy: true,
            ..Config::with_base_url(crate::common::BASE_URL)
        },
    );
    let bodies: Vec<String> = (0..10).map(|n| format!("Burst comment {n}")).collect();
    let burst: Vec<Comment> = bodies
        .iter()
        .map(|body| Comment::new(post_id, "Burst", body))
        .collect();
    let burst_fields: Vec<_> = burst.iter().map(Comment::fields).collect();
    let from = [("x-forwarded-for", "203.0.113.21")];
    let sent = futures_util::future::join_all(
        burst_fields
            .iter()
            .map(|fields| post_form(&limited, &path, fields, &from)),
    )
    .await;
    let accepted = sent
        .iter()
        .filter(|page| page.status == StatusCode::SEE_OTHER)
        .count();
    let refused = sent
        .iter()
        .filter(|page| page.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((accepted, refused), (5, 5));
    assert_eq!(stored(&pool).await.len(), 7);
}

#[sqlx::test]
async fn blocked_words_and_addresses_are_stored_as_spam_and_never_shown(pool: PgPool) {
    let (post_id, path) = a_post(&pool).await;
    crate::common::set_comment_settings(
        &pool,
        "open",
        14,
        "casino\n  \n192.0.2.66\nspam@example.net",
    )
    .await;
    let config = Config {
        trust_proxy: true,
        ..Config::with_base_url(crate::common::BASE_URL)
    };
    let app = app_with(&pool, config);
    let ok = Comment::new(post_id, "Fine", "A normal remark.");
    let word = Comment::new(post_id, "Lucky", "Best CASINO in town");
    let mut email = Comment::new(post_id, "Mailer", "Nothing odd here");
    email.email = "spam@example.net";
    let address = Comment::new(post_id, "From a bad place", "Innocent words");
    for (comment, ip) in [
        (&ok, "192.0.2.1"),
        (&word, "192.0.2.2"),
        (&email, "192.0.2.3"),
        (&address, "192.0.2.66"),
    ] {
        let sent = post_form(&app, &path, &comment.fields(), &[("x-forwarded-for", ip)]).await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER);
    }
    let rows = stored(&pool).await;
    let reasons: Vec<(&str, Option<&str>)> = rows
        .iter()
        .map(|r| (r.2.as_str(), r.3.as_deref()))
        .collect();
    assert_eq!(
        reasons,
        [
            ("approved", None),
            ("spam", Some("blocked term: casino")),
            ("spam", Some("blocked term: spam@example.net")),
            ("spam", Some("blocked term: 192.0.2.66")),
        ]
    );
    let text = get(&app, &path).await.text();
    assert!(text.contains("1 comment: Fine"), "{text}");
    assert!(!text.contains("Lucky") && !text.contains("Mailer") && !text.contains("bad place"));
}

#[sqlx::test]
async fn policies_open_moderated_moderate_after_and_closed(pool: PgPool) {
    let (fresh_id, fresh) = add_post(
        &pool,
        Post::published("Fresh post", now() - Duration::days(3)),
    )
    .await;
    let (old_id, old) = add_post(
        &pool,
        Post::published("Old post", now() - Duration::days(20)),
    )
    .await;
    let app = app(&pool);

    // Moderate posts older than 14 days (Blogger's "Sometimes").
    crate::common::set_comment_settings(&pool, "moderate_after", 14, "").await;
    assert!(
        !get(&app, &fresh)
            .await
            .text()
            .contains("checked by the blog's editors")
    );
    assert!(
        get(&app, &old)
            .await
            .text()
            .contains("Comments are checked by the blog's editors before they appear.")
    );
    send(
        &app,
        &fresh,
        &Comment::new(fresh_id, "A", "On the fresh one"),
    )
    .await;
    send(&app, &old, &Comment::new(old_id, "B", "On the old one")).await;
    // Everything held.
    crate::common::set_comment_settings(&pool, "moderated", 14, "").await;
    send(&app, &fresh, &Comment::new(fresh_id, "C", "Held for sure")).await;
    let rows = stored(&pool).await;
    let states: Vec<(&str, Option<&str>)> = rows
        .iter()
        .map(|r| (r.2.as_str(), r.3.as_deref()))
        .collect();
    assert_eq!(
        states,
        [
            ("approved", None),
            ("pending", Some("post is older than 14 days")),
            (
                "pending",
                Some("the blog holds every comment for moderation")
            ),
        ]
    );

    // A post's own policy beats the blog's: open here although the blog moderates.
    crate::common::set_comment_policy(&pool, fresh_id, Some("open")).await;
    send(
        &app,
        &fresh,
        &Comment::new(fresh_id, "D", "Straight through"),
    )
    .await;
    assert_eq!(stored(&pool).await[3].2, "approved");

    // Closed: no form, and a form sent anyway is refused with its text kept.
    crate::common::set_comment_policy(&pool, old_id, Some("closed")).await;
    let page = get(&app, &old).await;
    assert!(page.text().contains("Post a Comment Comments are closed."));
    assert!(page.field("comment").is_none());
    let refused = send(&app, &old, &Comment::new(old_id, "E", "Too late?")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.text().contains("Comments on this post are closed."));
    assert_eq!(refused.field("comment").as_deref(), Some("Too late?"));
    assert_eq!(stored(&pool).await.len(), 4);
}

#[sqlx::test]
async fn drafts_future_posts_and_pages_take_no_comments(pool: PgPool) {
    let (draft_id, draft) = add_post(
        &pool,
        Post::published("Draft", now() - Duration::days(1)).draft(),
    )
    .await;
    let (future_id, future) =
        add_post(&pool, Post::published("Soon", now() + Duration::days(1))).await;
    let (page_id, page) = add_post(
        &pool,
        Post::published("About", now() - Duration::days(1)).page(),
    )
    .await;
    let app = app(&pool);
    for (id, path) in [(draft_id, &draft), (future_id, &future)] {
        let sent = send(&app, path, &Comment::new(id, "Nosy", "Hello?")).await;
        assert_eq!(sent.status, StatusCode::NOT_FOUND, "{path}");
    }
    // Static pages have no comment form at all.
    assert_eq!(
        send(&app, &page, &Comment::new(page_id, "Nosy", "Hello?"))
            .await
            .status,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert!(stored(&pool).await.is_empty());
}

/// Security review, finding 5: only a cookie Folio signed takes a reader past the page cache;
/// any other `folio_own` counts for nothing (it used to make every request a render).
#[sqlx::test]
async fn an_unsigned_own_comments_cookie_is_served_from_the_page_cache(pool: PgPool) {
    let (_, path) = a_post(&pool).await;
    let (state, app) = crate::common::cached_app(&pool).await;
    for _ in 0..3 {
        assert_eq!(get(&app, &path).await.status, StatusCode::OK);
    }
    for cookie in ["folio_own=1", "folio_own=1-2.forged", "folio_own="] {
        let hits = state.pages.hits();
        let page = get_with(&app, &path, &[("cookie", cookie)]).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(
            state.pages.hits(),
            hits + 1,
            "{cookie} answered from the cache"
        );
    }
}

#[sqlx::test]
async fn a_held_comment_is_shown_to_its_author_only(pool: PgPool) {
    let (post_id, path) = a_post(&pool).await;
    crate::common::set_comment_settings(&pool, "moderated", 14, "").await;
    let app = app(&pool);
    let sent = send(
        &app,
        &path,
        &Comment::new(post_id, "Patient Pia", "Waiting my turn."),
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let id = comment_id(&sent);
    let set_cookie = sent.header("set-cookie").to_owned();
    assert!(
        set_cookie.starts_with("folio_own=")
            && set_cookie.contains("HttpOnly")
            && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_owned();

    let mine = get_with(&app, &path, &[("cookie", &cookie)]).await;
    let text = mine.text();
    assert!(text.contains("Patient Pia"), "{text}");
    assert!(
        text.contains("Your comment is awaiting moderation. Waiting my turn."),
        "{text}"
    );
    assert!(mine.body.contains(&format!("id=\"c{id}\"")));
    assert!(
        text.contains("No comments, and 1 of yours awaiting moderation:"),
        "held comments are not counted, and the heading says why one is shown: {text}"
    );
    assert_eq!(mine.header("cache-control"), "private, no-cache");

    let theirs = get(&app, &path).await;
    assert!(!theirs.text().contains("Patient Pia"));
    let forged = cookie.replace(&id.to_string(), &(id + 1).to_string());
    assert!(
        !get_with(&app, &path, &[("cookie", &forged)])
            .await
            .text()
            .contains("Patient Pia")
    );
    assert!(
        !get_with(&app, &path, &[("cookie", &format!("folio_own={id}"))])
            .await
            .text()
            .contains("Patient Pia")
    );

    // A second held comment joins the first in the cookie; once approved it is shown to all.
    let second = post_form(
        &app,
        &path,
        &Comment::new(post_id, "Patient Pia", "And again.").fields(),
        &[("cookie", &cookie)],
    )
    .await;
    let cookie = second
        .header("set-cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let both = get_with(&app, &path, &[("cookie", &cookie)]).await.text();
    assert_eq!(
        both.matches("Your comment is awaiting moderation.").count(),
        2,
        "{both}"
    );
    sqlx::query("update comments set status = 'approved' where id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    let everyone = get(&app, &path).await.text();
    assert!(
        everyone.contains("1 comment: Patient Pia") && !everyone.contains("awaiting"),
        "{everyone}"
    );
}

#[sqlx::test]
async fn cached_post_pages_carry_fresh_tokens_and_show_new_comments_at_once(pool: PgPool) {
    let (post_id, path) = a_post(&pool).await;
    let (state, app, clock) = crate::common::cached_app_with_clock(&pool).await;
    let first = get(&app, &path).await;
    assert!(state.pages.len_bytes() > 0, "the post page was kept");
    clock.advance(4);

    // From memory (same page, same tag), yet its token was issued just now.
    let again = get(&app, &path).await;
    assert_eq!(again.header("etag"), first.header("etag"));
    let mut comment = Comment::new(post_id, "Quick Quin", "Straight from memory.");
    comment.token = again.field("token").unwrap();
    let refused = send(&app, &path, &comment).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().contains("faster than a person can type"));

    // The first page's token is old enough by now; the comment shows at once.
    comment.token = first.field("token").unwrap();
    let sent = send(&app, &path, &comment).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let text = get(&app, &path).await.text();
    assert!(text.contains("1 comment: Quick Quin"), "{text}");
    assert!(get(&app, "/").await.text().contains("1 comment:"));

    // A held comment shows to its author on a page made for them; others get the shared page,
    // which the held comment does not take out of the cache.
    // (A comment's own notice may still come: it marks pages stale, a settings change empties
    // the cache.)
    assert!(state.pages.len_bytes() > 0);
    crate::common::set_comment_settings(&pool, "moderated", 14, "").await;
    let deadline = std::time::Instant::now() + StdDuration::from_secs(2);
    while state.pages.len_bytes() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the settings change was never heard"
        );
        tokio::time::sleep(StdDuration::from_millis(5)).await;
    }
    get(&app, &path).await;
    let cached = state.pages.len_bytes();
    assert!(cached > 0);
    let held = send(
        &app,
        &path,
        &Comment::new(post_id, "Patient Pia", "Held while others read."),
    )
    .await;
    assert_eq!(held.status, StatusCode::SEE_OTHER);
    let cookie = held
        .header("set-cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(
        state.pages.len_bytes(),
        cached,
        "the held comment kept the cache"
    );
    let mine = get_with(&app, &path, &[("cookie", &cookie)]).await;
    assert!(
        mine.text()
            .contains("Your comment is awaiting moderation. Held while others read.")
    );
    assert_eq!(mine.header("cache-control"), "private, no-cache");
    let theirs = get(&app, &path).await.text();
    assert!(
        theirs.contains("Quick Quin") && !theirs.contains("Patient Pia"),
        "{theirs}"
    );
}

#[sqlx::test]
async fn replies_nest_three_deep_and_deeper_ones_stay_at_the_third_level(pool: PgPool) {
    let (post_id, path) = a_post(&pool).await;
    let app = app(&pool);
    let t = now() - Duration::hours(5);
    let root = add_comment(&pool, post_id, "Root", "Top level", "approved", t).await;
    let child = add_reply(
        &pool,
        post_id,
        Some(root),
        "Child",
        "Second level",
        "approved",
        t + Duration::minutes(1),
    )
    .await;
    let grandchild = add_reply(
        &pool,
        post_id,
        Some(child),
        "Grandchild",
        "Third level",
        "approved",
        t + Duration::minutes(2),
    )
    .await;
    let spam = add_comment(&pool, post_id, "Hidden", "Spam", "spam", t).await;

    // "Reply" opens the form answering that comment.
    let page = get(&app, &path).await;
    assert!(
        page.links_containing("?reply=")
            .contains(&format!("{path}?reply={grandchild}#post-a-comment"))
    );
    let replying = get(&app, &format!("{path}?reply={grandchild}")).await;
    assert!(
        replying
            .text()
            .contains("Replying to Grandchild. Cancel reply")
    );
    assert_eq!(replying.field("parent"), Some(grandchild.to_string()));

    let mut deeper = Comment::new(post_id, "Fourth", "Answering the third level");
    deeper.parent = grandchild.to_string();
    let sent = send(&app, &path, &deeper).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let fourth = comment_id(&sent);
    let parent: Option<i64> = sqlx::query_scalar("select parent_id from comments where id = $1")
        .bind(fourth)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        parent,
        Some(child),
        "attached beside the third level, not below it"
    );

    let mut second = Comment::new(post_id, "Second reply", "Answering the root");
    second.parent = root.to_string();
    let sent = send(&app, &path, &second).await;
    let direct = comment_id(&sent);
    let parent: Option<i64> = sqlx::query_scalar("select parent_id from comments where id = $1")
        .bind(direct)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(parent, Some(root));

    let page = get(&app, &path).await;
    let body = &page.body;
    let nesting = |id: i64| {
        let at = body.find(&format!("<li id=\"c{id}\">")).unwrap();
        body[..at].matches("<ol class=\"comment-replies\">").count()
            - body[..at].matches("</ol>").count()
    };
    assert_eq!(
        (
            nesting(root),
            nesting(child),
            nesting(grandchild),
            nesting(fourth),
            nesting(direct)
        ),
        (0, 1, 2, 2, 1)
    );
    assert!(page.text().contains("5 comments:"));

    // A reply to a comment that is not shown is refused with the text kept.
    let mut orphan = Comment::new(post_id, "Lost", "To nobody");
    orphan.parent = spam.to_string();
    let refused = send(&app, &path, &orphan).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .contains("The comment you were replying to is no longer there.")
    );
    assert_eq!(refused.field("comment").as_deref(), Some("To nobody"));
    assert_eq!(refused.field("parent").as_deref(), Some(""));
}

#[sqlx::test]
async fn a_comment_reads_back_exactly_as_it_was_typed(pool: PgPool) {
    let (post_id, path) = a_post(&pool).await;
    let app = app(&pool);
    let nul = send(
        &app,
        &path,
        &Comment::new(post_id, "Nul\0l", "A NUL\0 character sneaks in"),
    )
    .await;
    assert_eq!(
        nul.status,
        StatusCode::SEE_OTHER,
        "NUL characters are dropped, the comment is kept"
    );
    sqlx::query("delete from comments")
        .execute(&pool)
        .await
        .unwrap();
    let typed = "I <b>love</b> this & that. \"Quoted\" 'single' <3\nA new line with ∑ and 😀";
    let sent = send(
        &app,
        &path,
        &Comment::new(post_id, "<i>Not italic</i>", typed),
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let source: String = sqlx::query_scalar("select body_source from comments")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(source, typed);
    let page = get(&app, &path).await;
    let document = page.document();
    let body = document
        .select(&selector(".comment-body"))
        .next()
        .expect("the comment is on the page");
    assert_eq!(element_text(body), typed.replace('\n', " "));
    assert!(
        body.select(&selector("br")).next().is_some(),
        "the line break is kept"
    );
    assert!(page.text().contains("<i>Not italic</i>"));
}

/// Hostile input in every field a commenter controls.
const XSS: [&str; 44] = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<img src=\"javascript:alert(1)\">",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<iframe src=\"javascript:alert(1)\"></iframe>",
    "<body onload=alert(1)>",
    "<a href=\"javascript:alert(1)\">click</a>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](javascript&#58;alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](vbscript:msgbox(1))",
    "![x](javascript:alert(1))",
    "<a href=\"&#106;avascript:alert(1)\">x</a>",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "<style>body{display:none}</style>",
    "<object data=\"javascript:alert(1)\"></object>",
    "<embed src=\"javascript:alert(1)\">",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<form action=\"javascript:alert(1)\"><input type=submit>",
    "<input onfocus=alert(1) autofocus>",
    "<details open ontoggle=alert(1)>",
    "<video><source onerror=alert(1)>",
    "<marquee onstart=alert(1)>",
    "\"><script>alert(1)</script>",
    "'><img src=x onerror=alert(1)>",
    "</textarea><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    "<!--<script>alert(1)</script>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<a href=\"http://ok.example\" onclick=\"alert(1)\">x</a>",
    "[x](http://ok.example\"onmouseover=\"alert(1))",
    "<base href=\"javascript:alert(1)//\">",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "<link rel=stylesheet href=javascript:alert(1)>",
    "<isindex action=javascript:alert(1) type=image>",
    "<a href=\"\\x01javascript:alert(1)\">x</a>",
    "`<script>alert(1)</script>`",
    "```\n<script>alert(1)</script>\n```",
    "https://ok.example/\"onmouseover=\"alert(1)",
];

#[sqlx::test]
async fn forty_hostile_payloads_are_stored_and_rendered_inert(pool: PgPool) {
    let (post_id, path) = a_post(&pool).await;
    let app = app(&pool);
    for (n, payload) in XSS.iter().enumerate() {
        let name: String = payload.chars().take(100).collect();
        let body = format!("{payload} #{n}");
        let sent = send(&app, &path, &Comment::new(post_id, &name, &body)).await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER, "{payload}");
        // As a website, each is refused or becomes a plain http(s) address.
        let mut website = Comment::new(post_id, "Site", "site test");
        website.website = payload;
        let page = send(&app, &path, &website).await;
        assert!(
            page.status == StatusCode::UNPROCESSABLE_ENTITY || page.status == StatusCode::SEE_OTHER,
            "{payload}: {}",
            page.status
        );
        if page.status == StatusCode::SEE_OTHER {
            // Accepted: what is kept, and what readers get as the commenter's link, is a plain
            // http(s) address.
            let url: Option<String> = sqlx::query_scalar(
                "select author_url from comments where body_source = 'site test'",
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            let url = url.unwrap_or_else(|| panic!("{payload}: accepted, but no website kept"));
            assert!(
                (url.starts_with("https://") || url.starts_with("http://"))
                    && !url
                        .chars()
                        .any(|c| c.is_whitespace() || c.is_control() || "<>\"".contains(c)),
                "{payload} was kept as {url}"
            );
            let shown = get(&app, &path).await;
            assert!(
                shown.links_containing(&url).contains(&url),
                "{payload}: the page does not link to {url}"
            );
        } else {
            // Refused: the form comes back with the text as typed, and the reason beside it.
            assert_eq!(page.field("website").as_deref(), Some(*payload));
            assert!(
                page.text()
                    .contains("Enter a website address starting with http:// or https://"),
                "{payload}: {}",
                page.text()
            );
        }
        sqlx::query("delete from comments where body_source = 'site test'")
            .execute(&pool)
            .await
            .unwrap();
    }
    let page = get(&app, &path).await;
    assert_eq!(page.status, StatusCode::OK);
    let document = page.document();
    let comments = document
        .select(&selector("section.comments"))
        .next()
        .expect("the comments section");
    let allowed = [
        "a",
        "p",
        "br",
        "em",
        "strong",
        "code",
        "pre",
        "blockquote",
        "ol",
        "ul",
        "li",
        "article",
        "time",
        "div",
        "section",
        "h2",
        "h3",
        "form",
        "input",
        "label",
        "textarea",
        "button",
        "span",
        "nav",
        "main",
        "aside",
        "details",
        "summary",
    ];
    // Every element inside the comments, as a browser parsed it: name and attributes.
    let found: Vec<(String, Vec<(String, String)>)> = comments
        .descendants()
        .filter_map(ElementRef::wrap)
        .map(|e| {
            let attributes = e
                .value()
                .attrs()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect();
            (e.value().name().to_owned(), attributes)
        })
        .collect();
    assert!(
        found.len() > 100,
        "the parser sees the comments' tags: {}",
        found.len()
    );
    for (name, attributes) in found {
        assert!(
            allowed.contains(&name.as_str()) || name.is_empty(),
            "unexpected <{name} {attributes:?}>"
        );
        for (attribute, value) in &attributes {
            assert!(
                !attribute.starts_with("on") && attribute != "style",
                "<{name} {attribute}={value}>"
            );
            if matches!(attribute.as_str(), "href" | "src" | "action") {
                assert!(
                    ["http://", "https://", "#", "/"]
                        .iter()
                        .any(|ok| value.starts_with(ok)),
                    "<{name} {attribute}={value}>"
                );
            }
        }
    }
    let text = page.text();
    assert!(
        text.contains("<script>alert(1)</script> #0"),
        "shown as text"
    );
    assert!(text.contains(&format!("{} comments:", XSS.len())));
}

#[sqlx::test]
async fn a_database_outage_while_posting_gives_back_the_typed_comment(
    pool_options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let direct = pool_options.connect_with(connect.clone()).await.unwrap();
    let (post_id, path) = a_post(&direct).await;
    let mut proxy = Proxy::in_front_of(&connect).await;
    let pool = proxy.pool(&connect).await;
    let app = app(&pool);
    assert_eq!(get(&app, &path).await.status, StatusCode::OK);
    proxy.cut().await;

    let mut comment = Comment::new(
        post_id,
        "Unlucky Una",
        "A long, careful comment\nthat must not be lost.",
    );
    comment.email = "una@example.org";
    let page = send(&app, &path, &comment).await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(page.header("retry-after"), "5");
    assert!(page.text().contains("Your comment was not saved yet"));
    assert_eq!(
        page.field("comment").as_deref(),
        Some("A long, careful comment\nthat must not be lost.")
    );
    assert_eq!(page.field("name").as_deref(), Some("Unlucky Una"));
    assert_eq!(page.field("email").as_deref(), Some("una@example.org"));
    assert_eq!(
        page.field("token"),
        Some(comment.token.clone()),
        "the same form can be sent again"
    );
    assert!(
        page.body
            .contains(&format!("action=\"{path}#post-a-comment\""))
    );
    let stored: i64 = sqlx::query_scalar("select count(*) from comments")
        .fetch_one(&direct)
        .await
        .unwrap();
    assert_eq!(stored, 0);
}

/// Issue 16, fix 6: text on the page that looks like the old token mark (a label, a title)
/// cannot move the comment form's token.
#[sqlx::test]
async fn a_label_or_title_cannot_take_the_comment_forms_token(pool: PgPool) {
    let (post_id, path) = add_post(
        &pool,
        Post::published("folio-form-token-placeholder", now() - Duration::days(1))
            .labels(&["folio-form-token-placeholder"]),
    )
    .await;
    let (_, app, clock) = crate::common::cached_app_with_clock(&pool).await;
    for round in ["Still works.", "Still works, from memory."] {
        let page = get(&app, &path).await;
        let token = page.field("token").unwrap();
        assert!(!token.starts_with("folio-"), "{token}");
        assert!(
            page.text().contains("folio-form-token-placeholder"),
            "the label stays as written"
        );
        clock.advance(4);
        let mut comment = Comment::new(post_id, "Ned", round);
        comment.token = token;
        let sent = send(&app, &path, &comment).await;
        assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.text());
    }
}

#[sqlx::test]
async fn a_comment_that_finds_every_turn_taken_comes_back_with_its_text(pool: PgPool) {
    let (post_id, path) = a_post(&pool).await;
    let (state, app) = crate::common::cached_app(&pool).await;
    // A wave has every turn: the comment waits a second for one, then is given back.
    let taken: Vec<_> = (0..state.config.comment_posts_at_once)
        .map(|_| state.comment_turns.clone().try_acquire_owned().unwrap())
        .collect();
    let comment = Comment::new(post_id, "Wave Walter", "Sent in the middle of a wave.");
    let busy = send(&app, &path, &comment).await;
    assert_eq!(busy.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(busy.header("retry-after"), "2");
    assert_eq!(busy.header("cache-control"), "no-store");
    let text = busy.text();
    assert!(
        text.contains("Many comments are arriving at once, so yours was not posted yet."),
        "{text}"
    );
    assert_eq!(busy.field("name").as_deref(), Some("Wave Walter"));
    assert_eq!(
        busy.field("comment").as_deref(),
        Some("Sent in the middle of a wave.")
    );
    assert!(stored(&pool).await.is_empty());
    drop(taken);
    let sent = send(&app, &path, &comment).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    assert_eq!(stored(&pool).await.len(), 1);
}

#[sqlx::test]
async fn in_a_wave_readers_are_given_the_page_while_it_is_rendered_again_and_writers_their_own(
    pool: PgPool,
) {
    let (post_id, path) = a_post(&pool).await;
    let (state, app) = crate::common::cached_app(&pool).await;
    get(&app, &path).await;
    let first = send(
        &app,
        &path,
        &Comment::new(post_id, "Ada", "First of the wave."),
    )
    .await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    // One comment: the next reader renders the page again, and sees it.
    let text = get(&app, &path).await.text();
    assert!(text.contains("1 comment: Ada"), "{text}");

    // A second one within the second: readers are given the page as it was a moment ago...
    let second = send(
        &app,
        &path,
        &Comment::new(post_id, "Bo", "Second of the wave."),
    )
    .await;
    assert_eq!(second.status, StatusCode::SEE_OTHER);
    let stale_hits = state.pages.stale_hits();
    let reader = get(&app, &path).await.text();
    assert!(reader.contains("1 comment: Ada"), "{reader}");
    assert_eq!(state.pages.stale_hits(), stale_hits + 1);
    // ...but whoever sent it sees it at once (a signed cookie; a forged one counts for nothing).
    let cookie = second.header("set-cookie").split(';').next().unwrap();
    assert!(cookie.starts_with("folio_wrote="), "{cookie}");
    let forged = get_with(&app, &path, &[("cookie", "folio_wrote=0-9999999999.AAAA")]).await;
    assert!(forged.text().contains("1 comment: Ada"));
    let writer = get_with(&app, &path, &[("cookie", cookie)]).await.text();
    assert!(writer.contains("2 comments:"), "{writer}");
    // And every reader within a second.
    crate::common::eventually(&app, &path, |page| page.text().contains("2 comments:")).await;
}

#[sqlx::test]
async fn comments_posted_through_one_process_show_on_another(pool: PgPool) {
    // Two Folio processes on one database, each with its page cache.
    let (post_id, path) = a_post(&pool).await;
    let (_, first) = crate::common::cached_app(&pool).await;
    let (_, second) = crate::common::cached_app(&pool).await;
    for app in [&first, &second] {
        assert!(get(app, &path).await.text().contains("No comments"));
    }
    let mut listener = sqlx::postgres::PgListener::connect_with(&pool)
        .await
        .unwrap();
    listener.listen("folio_content_changed").await.unwrap();

    // Five at once: their inserts notify nobody; the process that stored them tells the others
    // after the commits, gathering what comes within a few milliseconds into one notice.
    let texts: Vec<String> = (1..=5).map(|n| format!("Comment {n} of five.")).collect();
    let comments: Vec<Comment> = texts
        .iter()
        .map(|text| Comment::new(post_id, "Wren", text))
        .collect();
    let sent =
        futures_util::future::join_all(comments.iter().map(|comment| send(&first, &path, comment)))
            .await;
    assert!(sent.iter().all(|page| page.status == StatusCode::SEE_OTHER));
    crate::common::eventually(&second, &path, |page| {
        page.text().contains("5 comments: Wren")
    })
    .await;
    let mut notices = Vec::new();
    while let Ok(Ok(notice)) =
        tokio::time::timeout(StdDuration::from_millis(300), listener.recv()).await
    {
        notices.push(notice.payload().to_owned());
    }
    assert!(
        !notices.is_empty() && notices.len() <= texts.len(),
        "at most one notice a comment: {notices:?}"
    );
    assert!(notices.iter().all(|n| *n == format!("comments:{post_id}")));
}

#[sqlx::test]
async fn processes_of_earlier_folios_keep_storing_comments_during_an_upgrade(pool: PgPool) {
    let (post_id, _) = a_post(&pool).await;
    // The call of the previous release (13 arguments) and of the one before (11).
    let previous: (String, Option<i64>) = sqlx::query_as(
        "select outcome, comment_id from submit_comment($1, null, 'Olga', null, null,
             'From the version before.', '<p>From the version before.</p>', 'approved', null,
             'client-a', 5, 0.1::real, '{}'::text[])",
    )
    .bind(post_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(previous.0, "stored");
    let older: (String, Option<i64>) = sqlx::query_as(
        "select outcome, comment_id from submit_comment($1, null, 'Otto', null, null,
             'From two versions before.', '<p>From two versions before.</p>', 'pending', null,
             'client-b', 5)",
    )
    .bind(post_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(older.0, "stored");
    let names: Vec<String> = stored(&pool).await.into_iter().map(|c| c.1).collect();
    assert_eq!(names, ["Olga", "Otto"]);
}
