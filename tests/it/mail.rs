//! Email through a real SMTP server (aiosmtpd): the outbox, the worker, the Email page.

use std::{collections::BTreeSet, time::Duration};

use crate::common::{
    BASE_URL, app_with,
    mail::{MailSink, Received},
    user_session,
};
use axum::http::StatusCode;
use folio::App;
use folio::{
    config::Config,
    db::{self, outbox::NewMail},
};
use sqlx::PgPool;

fn mail_app(pool: &PgPool, sink: &MailSink) -> App {
    app_with(
        pool,
        Config {
            mail: Some(sink.config()),
            ..Config::with_base_url(BASE_URL)
        },
    )
}

async fn statuses(pool: &PgPool) -> Vec<(String, String, Option<String>)> {
    sqlx::query_as("select recipient, status, last_error from outbox order by id")
        .fetch_all(pool)
        .await
        .unwrap()
}

async fn queue(pool: &PgPool, recipient: &str) {
    db::outbox::enqueue(
        pool,
        &NewMail {
            kind: folio::db::outbox::MailKind::Test,
            recipient,
            subject: "A queued message",
            text: "Plain words.",
            html: "<p>Plain words.</p>",
            unsubscribe_url: None,
        },
    )
    .await
    .unwrap();
}

#[sqlx::test]
async fn a_test_email_from_the_email_page_arrives_with_both_parts_and_proper_headers(pool: PgPool) {
    let sink = MailSink::start();
    let app = mail_app(&pool, &sink);
    let admin = user_session(&app, &pool, "admin").await;
    let page = admin.get(&app, "/admin/email").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text().contains(&format!(
            "Mail goes out through 127.0.0.1:{} (no encryption) as Test Blog <blog@example.test>",
            sink.port
        )),
        "{}",
        page.text()
    );
    let sent = admin.post(&app, "/admin/email/test", &[]).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    assert_eq!(sent.header("location"), "/admin/email?done=test");

    let received = sink.wait_for(1).await;
    let message: &Received = &received[0];
    assert_eq!(message.rcpt_tos, ["admin@example.test"]);
    assert_eq!(message.mail_from, "blog@example.test");
    assert_eq!(
        message.header("from"),
        Some("Test Blog <blog@example.test>")
    );
    assert!(message.subject().starts_with("Test email from"));
    assert!(
        message
            .header("message-id")
            .is_some_and(|id| id.starts_with('<') && id.ends_with("@example.test>")),
        "{:?}",
        message.headers
    );
    assert!(message.header("date").is_some());
    assert!(message.text.contains("This is a test email from"));
    assert!(message.html.contains("This is a test email from"));
    assert!(!message.html.contains("<img"), "no remote images or pixels");

    // The queue says so.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let page = admin.get(&app, "/admin/email").await.text();
        if page.contains("0 waiting · 1 sent · 0 failed") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Only admins see the page.
    let editor = user_session(&app, &pool, "editor").await;
    assert_eq!(
        editor.get(&app, "/admin/email").await.status,
        StatusCode::FORBIDDEN
    );
}

#[sqlx::test]
async fn without_smtp_the_email_page_says_how_to_turn_it_on_and_nothing_is_queued(pool: PgPool) {
    let app = app_with(&pool, Config::with_base_url(BASE_URL));
    let admin = user_session(&app, &pool, "admin").await;
    let page = admin.get(&app, "/admin/email").await;
    assert_eq!(page.status, StatusCode::OK);
    let text = page.text();
    assert!(text.contains("Email is off"), "{text}");
    assert!(text.contains("FOLIO_SMTP_URL=smtp://user:password@smtp.example.org:587"));
    assert!(!text.contains("Send a test email"));
    let refused = admin.post(&app, "/admin/email/test", &[]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(statuses(&pool).await.is_empty());
}

/// The SMTP server goes away while two Folio processes share one database: every message
/// waits, and once the server is back each one arrives exactly once.
#[sqlx::test]
async fn with_smtp_away_nothing_is_lost_and_two_processes_send_each_message_once(pool: PgPool) {
    let sink = MailSink::start();
    let config = sink.config();
    let port = sink.stop();
    let _first = app_with(
        &pool,
        Config {
            mail: Some(config.clone()),
            ..Config::with_base_url(BASE_URL)
        },
    );
    let _second = app_with(
        &pool,
        Config {
            mail: Some(config),
            ..Config::with_base_url(BASE_URL)
        },
    );
    let recipients: Vec<String> = (0..30).map(|n| format!("reader{n}@example.test")).collect();
    for recipient in &recipients {
        queue(&pool, recipient).await;
    }
    // The workers try, are refused a connection, and keep every message with the reason.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let rows = statuses(&pool).await;
        if rows
            .iter()
            .all(|(_, status, error)| status == "waiting" && error.is_some())
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{rows:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let sink = MailSink::start_on(port);
    let received = sink.wait_for(recipients.len()).await;
    // Nothing else arrives.
    sink.settled(&pool).await;
    let received_now = sink.received();
    assert_eq!(received_now.len(), recipients.len(), "each message once");
    let delivered: BTreeSet<String> = received
        .iter()
        .flat_map(|m| m.rcpt_tos.iter().cloned())
        .collect();
    assert_eq!(delivered, recipients.iter().cloned().collect());
    let rows = statuses(&pool).await;
    assert!(
        rows.iter().all(|(_, status, _)| status == "sent"),
        "{rows:?}"
    );
}

#[sqlx::test]
async fn a_refused_recipient_fails_at_once_with_the_answer_and_can_be_retried(pool: PgPool) {
    let sink = MailSink::start();
    let app = mail_app(&pool, &sink);
    let admin = user_session(&app, &pool, "admin").await;
    queue(&pool, "reject-me@example.test").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let page = loop {
        let page = admin.get(&app, "/admin/email").await;
        if page.text().contains("Failed after 1 attempt") {
            break page;
        }
        assert!(std::time::Instant::now() < deadline, "{}", page.text());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(page.text().contains("550"), "{}", page.text());
    let id: i64 = sqlx::query_scalar("select id from outbox")
        .fetch_one(&pool)
        .await
        .unwrap();
    let retried = admin
        .post(&app, &format!("/admin/email/{id}/retry"), &[])
        .await;
    assert_eq!(retried.status, StatusCode::SEE_OTHER);
    // Refused again, for the same reason: still nothing delivered, and the page says why.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let rows = statuses(&pool).await;
        if rows[0].1 == "failed" {
            assert!(rows[0].2.as_deref().is_some_and(|e| e.contains("550")));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{rows:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(sink.received().is_empty());
}

/// Posts a comment as a reader's browser would (its form token issued ten seconds ago).
async fn comment(
    app: &App,
    path: &str,
    post_id: i64,
    fields: &[(&str, &str)],
) -> crate::common::Page {
    let token = folio::auth::form_token::issue(
        &crate::common::secret(),
        post_id,
        time::OffsetDateTime::now_utc().unix_timestamp() - 10,
    );
    let mut all = vec![("token", token.as_str())];
    all.extend_from_slice(fields);
    crate::common::post_form(app, path, &all, &[]).await
}

/// (spam, ham) comments the spam filter has learned from.
async fn spam_model(pool: &PgPool) -> (i32, i32) {
    sqlx::query_as("select spam, ham from spam_model")
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn status_of(pool: &PgPool, id: i64) -> String {
    sqlx::query_scalar("select status from comments where id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn a_held_comment_brings_moderators_buttons_that_work_once_without_a_login(pool: PgPool) {
    let sink = MailSink::start();
    let app = mail_app(&pool, &sink);
    crate::common::set_comment_settings(&pool, "moderated", 14, "").await;
    let (post_id, path) = crate::common::add_post(
        &pool,
        crate::common::Post::published(
            "Winter beans",
            time::OffsetDateTime::now_utc() - time::Duration::days(1),
        ),
    )
    .await;
    // The editor asks for mail; the admin, who gets it by default, turns it off.
    let editor = user_session(&app, &pool, "editor").await;
    let admin = user_session(&app, &pool, "admin").await;
    let saved = editor
        .post(&app, "/admin/account/mail", &[("comment_mail", "each")])
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let off = admin
        .post(&app, "/admin/account/mail", &[("comment_mail", "none")])
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER);

    let sent = comment(
        &app,
        &path,
        post_id,
        &[
            ("name", "Hopeful Hal"),
            ("email", "hal@example.test"),
            ("comment", "Do broad beans survive a frost?"),
        ],
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let comment_id: i64 = sent
        .header("location")
        .rsplit("#c")
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let received = sink.wait_for(1).await;
    assert_eq!(received.len(), 1, "only the editor asked");
    let mail = &received[0];
    assert_eq!(mail.rcpt_tos, ["editor@example.test"]);
    assert!(
        mail.subject()
            .contains("A comment waits on \"Winter beans\""),
        "{}",
        mail.subject()
    );
    assert!(mail.text.contains("Do broad beans survive a frost?"));
    assert!(mail.text.contains("Hopeful Hal <hal@example.test>"));
    assert_eq!(mail.header("auto-submitted"), Some("auto-generated"));
    let stop = mail.link(&format!("{BASE_URL}/mail/stop/")).unwrap();
    assert_eq!(
        mail.header("list-unsubscribe"),
        Some(format!("<{stop}>").as_str())
    );
    assert_eq!(
        mail.header("list-unsubscribe-post"),
        Some("List-Unsubscribe=One-Click")
    );
    let (approve, reply) = (button(mail, "Approve:"), button(mail, "Reply:"));

    // Opening the link (as a mail scanner would) changes nothing.
    let page = crate::common::get(&app, &approve).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text().contains("Approve this comment?"),
        "{}",
        page.text()
    );
    assert!(page.text().contains("Do broad beans survive a frost?"));
    assert_eq!(status_of(&pool, comment_id).await, "pending");
    // The button does it, without a session.
    let done = crate::common::post_form(&app, &approve, &[], &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let done = crate::common::get(&app, done.header("location")).await;
    assert!(
        done.text()
            .contains("Approved: readers see the comment now."),
        "{}",
        done.text()
    );
    assert_eq!(status_of(&pool, comment_id).await, "approved");
    assert!(
        crate::common::get(&app, &path)
            .await
            .text()
            .contains("Do broad beans survive a frost?")
    );
    // The emailed Approve teaches the spam filter as the queue's does.
    assert_eq!(spam_model(&pool).await, (0, 1));
    // Once only.
    sqlx::query("update comments set status = 'pending' where id = $1")
        .bind(comment_id)
        .execute(&pool)
        .await
        .unwrap();
    let again = crate::common::post_form(&app, &approve, &[], &[]).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert!(
        crate::common::get(&app, again.header("location"))
            .await
            .text()
            .contains("This link was used already")
    );
    assert_eq!(status_of(&pool, comment_id).await, "pending");

    // Reply: an empty reply comes back with the reason; a reply is published as the editor's.
    let empty = crate::common::post_form(&app, &reply, &[("text", "  ")], &[]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.text().contains("Write some text"));
    let long = "b".repeat(5000);
    let too_long = crate::common::post_form(&app, &reply, &[("text", &long)], &[]).await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        too_long.field("text").as_deref(),
        Some(long.as_str()),
        "the text is kept"
    );
    let replied = crate::common::post_form(
        &app,
        &reply,
        &[("text", "They do, down to about minus ten.")],
        &[],
    )
    .await;
    assert_eq!(replied.status, StatusCode::SEE_OTHER);
    let post = crate::common::get(&app, &path).await.text();
    assert!(post.contains("They do, down to about minus ten."), "{post}");
    assert!(post.contains("The editor"), "{post}");
    assert_eq!(status_of(&pool, comment_id).await, "approved");
    assert_eq!(
        spam_model(&pool).await,
        (0, 1),
        "a moderator's own reply teaches nothing"
    );

    // A forged or cut link does nothing.
    let forged = format!("{}x", &approve[..approve.len() - 3]);
    assert_eq!(
        crate::common::post_form(&app, &forged, &[], &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // One click on "stop" (as a mail program sends it, RFC 8058) ends the messages.
    let stop_path = stop.trim_start_matches(BASE_URL);
    let stopped =
        crate::common::post_form(&app, stop_path, &[("List-Unsubscribe", "One-Click")], &[]).await;
    assert_eq!(stopped.status, StatusCode::OK);
    let choice: String =
        sqlx::query_scalar("select comment_mail from users where email = 'editor@example.test'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(choice, "none");
}

#[sqlx::test]
async fn moderation_links_expire_after_seven_days_and_follow_the_moderators_role(pool: PgPool) {
    let sink = MailSink::start();
    let app = mail_app(&pool, &sink);
    crate::common::set_comment_settings(&pool, "moderated", 14, "").await;
    let (post_id, path) = crate::common::add_post(
        &pool,
        crate::common::Post::published(
            "Leeks",
            time::OffsetDateTime::now_utc() - time::Duration::days(1),
        ),
    )
    .await;
    let editor = user_session(&app, &pool, "editor").await;
    editor
        .post(&app, "/admin/account/mail", &[("comment_mail", "each")])
        .await;
    comment(
        &app,
        &path,
        post_id,
        &[("name", "Spammy"), ("comment", "Buy things")],
    )
    .await;
    let mail = sink.wait_for(1).await.remove(0);
    let spam = button(&mail, "Spam:");
    // Eight days on (the server's clock), the link is refused.
    let (state, later) = {
        let clock = std::sync::Arc::new(crate::common::TestClock::default());
        clock.advance(8 * 24 * 3600);
        let mut state = folio::AppState::start(
            pool.clone(),
            Config::with_base_url(BASE_URL),
            crate::common::secret(),
        );
        state.set_clock(clock);
        (state.clone(), folio::app(state))
    };
    drop(state);
    let expired = crate::common::get(&later, &spam).await;
    assert_eq!(expired.status, StatusCode::GONE);
    assert!(expired.text().contains("This link has expired"));
    // A moderator who lost the role cannot use their links.
    sqlx::query("update users set role = 'author' where email = 'editor@example.test'")
        .execute(&pool)
        .await
        .unwrap();
    let refused = crate::common::post_form(&app, &spam, &[], &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // A reply written meanwhile stays on the refusal page, to be copied.
    let reply = button(&mail, "Reply:");
    let kept = crate::common::post_form(
        &app,
        &reply,
        &[("text", "A careful answer, typed slowly.")],
        &[],
    )
    .await;
    assert_eq!(kept.status, StatusCode::FORBIDDEN);
    assert!(kept.body.contains("A careful answer, typed slowly."));
    let id: i64 = sqlx::query_scalar("select id from comments")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(status_of(&pool, id).await, "pending");
}

#[sqlx::test]
async fn post_authors_who_asked_hear_of_each_comment_published_on_their_posts(pool: PgPool) {
    let sink = MailSink::start();
    let app = mail_app(&pool, &sink);
    let author = user_session(&app, &pool, "author").await;
    let saved = author
        .post(&app, "/admin/account/mail", &[("own_post_mail", "on")])
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let author_id: i64 =
        sqlx::query_scalar("select id from users where email = 'author@example.test'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let (post_id, path) = crate::common::add_post(
        &pool,
        crate::common::Post::published(
            "Onions",
            time::OffsetDateTime::now_utc() - time::Duration::days(1),
        ),
    )
    .await;
    sqlx::query("update posts set author_id = $1 where id = $2")
        .bind(author_id)
        .bind(post_id)
        .execute(&pool)
        .await
        .unwrap();
    comment(
        &app,
        &path,
        post_id,
        &[("name", "Olive"), ("comment", "Red or white?")],
    )
    .await;
    let mail = sink.wait_for(1).await.remove(0);
    assert_eq!(mail.rcpt_tos, ["author@example.test"]);
    assert!(
        mail.subject().contains("Olive commented on \"Onions\""),
        "{}",
        mail.subject()
    );
    assert!(mail.text.contains("Red or white?"));
    assert!(mail.header("list-unsubscribe").is_some());
}

#[sqlx::test]
async fn a_forgotten_password_is_reset_by_a_single_use_link_that_ends_every_session(pool: PgPool) {
    let sink = MailSink::start();
    let app = mail_app(&pool, &sink);
    let admin = user_session(&app, &pool, "admin").await;
    let login = crate::common::get(&app, "/admin/login").await;
    assert!(
        login
            .links_containing("/admin/forgot")
            .contains(&"/admin/forgot".to_owned())
    );

    // The answer is the same for an address nobody uses and for one somebody does.
    let unknown = crate::common::post_form(
        &app,
        "/admin/forgot",
        &[("email", "nobody@example.test")],
        &[],
    )
    .await;
    assert_eq!(unknown.status, StatusCode::OK);
    assert!(
        unknown
            .text()
            .contains("If an account uses nobody@example.test, a link")
    );
    let known = crate::common::post_form(
        &app,
        "/admin/forgot",
        &[("email", " Admin@Example.TEST ")],
        &[],
    )
    .await;
    assert_eq!(known.status, StatusCode::OK);
    assert!(
        known
            .text()
            .contains("If an account uses admin@example.test, a link")
    );
    let mail = sink.wait_for(1).await.remove(0);
    sink.settled(&pool).await;
    assert_eq!(sink.received().len(), 1, "nothing for an unknown address");
    assert_eq!(mail.rcpt_tos, ["admin@example.test"]);
    assert!(mail.subject().starts_with("Set a new password for"));
    assert_eq!(mail.header("auto-submitted"), None, "personal mail");
    let link = mail
        .link(&format!("{BASE_URL}/admin/password/"))
        .unwrap()
        .trim_start_matches(BASE_URL)
        .to_owned();

    let form = crate::common::get(&app, &link).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.text().contains("Set a new password"));
    assert_eq!(form.header("referrer-policy"), "no-referrer");
    let short = crate::common::post_form(&app, &link, &[("password", "short")], &[]).await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.text().contains("Use at least 10 characters"));
    let set =
        crate::common::post_form(&app, &link, &[("password", "a brand new password")], &[]).await;
    assert_eq!(set.status, StatusCode::SEE_OTHER);
    assert_eq!(set.header("location"), "/admin");
    // The session from before the reset has ended; the new one works.
    assert_eq!(
        admin.get(&app, "/admin").await.status,
        StatusCode::SEE_OTHER
    );
    let cookie = set
        .header("set-cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let dashboard = crate::common::get_with(&app, "/admin", &[("cookie", &cookie)]).await;
    assert_eq!(dashboard.status, StatusCode::OK);
    // Once only.
    let again =
        crate::common::post_form(&app, &link, &[("password", "another new password")], &[]).await;
    assert_eq!(again.status, StatusCode::GONE);
    assert!(again.text().contains("used already"));

    // Three links an hour for an address; then a wait (for any address, known or not).
    for _ in 0..2 {
        crate::common::post_form(
            &app,
            "/admin/forgot",
            &[("email", "admin@example.test")],
            &[],
        )
        .await;
    }
    let flood = crate::common::post_form(
        &app,
        "/admin/forgot",
        &[("email", "admin@example.test")],
        &[],
    )
    .await;
    assert_eq!(flood.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(flood.field("email").as_deref(), Some("admin@example.test"));
}

#[sqlx::test]
async fn an_invited_user_chooses_their_own_password(pool: PgPool) {
    let sink = MailSink::start();
    let app = mail_app(&pool, &sink);
    let admin = user_session(&app, &pool, "admin").await;
    let added = admin
        .post(
            &app,
            "/admin/users",
            &[
                ("name", "Nia New"),
                ("email", "nia@example.test"),
                ("role", "editor"),
                ("password", ""),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    assert_eq!(added.header("location"), "/admin/users?done=invited");
    let mail = sink.wait_for(1).await.remove(0);
    assert_eq!(mail.rcpt_tos, ["nia@example.test"]);
    assert!(mail.subject().starts_with("You are invited to"));
    assert!(mail.text.contains("The admin invites you"), "{}", mail.text);
    let link = mail
        .link(&format!("{BASE_URL}/admin/password/"))
        .unwrap()
        .trim_start_matches(BASE_URL)
        .to_owned();
    let form = crate::common::get(&app, &link).await;
    assert!(
        form.text().contains("Choose your password"),
        "{}",
        form.text()
    );
    let set =
        crate::common::post_form(&app, &link, &[("password", "nia's own password")], &[]).await;
    assert_eq!(set.status, StatusCode::SEE_OTHER);
    let session = crate::common::log_in_with(&app, "nia@example.test", "nia's own password").await;
    assert_eq!(
        session.get(&app, "/admin/posts").await.status,
        StatusCode::OK
    );
}

/// The link on the text part's line labelled `label` ("Approve:"), as a path on the test app.
fn button(mail: &Received, label: &str) -> String {
    mail.text
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no {label} line in {}", mail.text))
        .split_whitespace()
        .last()
        .unwrap()
        .trim_start_matches(BASE_URL)
        .to_owned()
}

/// The text part's link that starts with `prefix`, as a path on the test app.
fn path_of(mail: &Received, prefix: &str) -> String {
    mail.link(&format!("{BASE_URL}{prefix}"))
        .unwrap_or_else(|| panic!("no {prefix} link in {}", mail.text))
        .trim_start_matches(BASE_URL)
        .to_owned()
}

async fn wait_for_subject(sink: &MailSink, count: usize, part: &str) -> Vec<Received> {
    let received = sink.wait_for(count).await;
    let matching: Vec<Received> = received
        .into_iter()
        .filter(|m| m.subject().contains(part))
        .collect();
    assert!(!matching.is_empty(), "no message about {part}");
    matching
}

#[sqlx::test]
async fn a_commenter_confirms_once_gets_reply_notices_and_stops_them_with_one_click(pool: PgPool) {
    let sink = MailSink::start();
    let app = mail_app(&pool, &sink);
    let (post_id, path) = crate::common::add_post(
        &pool,
        crate::common::Post::published(
            "Rhubarb",
            time::OffsetDateTime::now_utc() - time::Duration::days(1),
        ),
    )
    .await;
    let page = crate::common::get(&app, &path).await;
    assert!(page.text().contains("Notify me of replies by email"));

    // Ticked without an email: the form comes back with the reason and every word kept.
    let refused = comment(
        &app,
        &path,
        post_id,
        &[
            ("name", "Rue"),
            ("comment", "Forced or not?"),
            ("notify", "replies"),
        ],
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .contains("Enter your email address to get notices of replies")
    );
    assert_eq!(refused.field("comment").as_deref(), Some("Forced or not?"));

    let sent = comment(
        &app,
        &path,
        post_id,
        &[
            ("name", "Rue"),
            ("email", "rue@example.test"),
            ("comment", "Forced or not?"),
            ("notify", "replies"),
        ],
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let rue: i64 = sent
        .header("location")
        .rsplit("#c")
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let confirm = sink.wait_for(1).await.remove(0);
    assert_eq!(confirm.rcpt_tos, ["rue@example.test"]);
    assert!(confirm.subject().starts_with("Confirm your email"));
    assert!(confirm.text.contains("replies to your comment"));

    // Before the confirmation, a reply tells nobody.
    let reply = |name: &'static str, text: &'static str| {
        let app = app.clone();
        let path = path.clone();
        async move {
            let parent = rue.to_string();
            comment(
                &app,
                &path,
                post_id,
                &[("name", name), ("comment", text), ("parent", &parent)],
            )
            .await
        }
    };
    reply("Basil", "Forced, in the dark.").await;
    sink.settled(&pool).await;
    assert_eq!(sink.received().len(), 1);

    let link = path_of(&confirm, "/mail/confirm/");
    let ask = crate::common::get(&app, &link).await;
    assert!(
        ask.text()
            .contains("Send replies to your comment on “Rhubarb” to rue@example.test?"),
        "{}",
        ask.text()
    );
    let confirmed = crate::common::post_form(&app, &link, &[], &[]).await;
    assert_eq!(confirmed.status, StatusCode::OK);
    assert!(confirmed.text().contains("Confirmed"));

    reply("Sage", "Not forced: sweeter.").await;
    let notices = wait_for_subject(&sink, 2, "replied to you").await;
    let notice = &notices[0];
    assert_eq!(notice.rcpt_tos, ["rue@example.test"]);
    assert!(
        notice
            .subject()
            .contains("Sage replied to you on \"Rhubarb\"")
    );
    assert!(notice.text.contains("Not forced: sweeter."));
    assert_eq!(notice.header("auto-submitted"), Some("auto-generated"));
    let unsubscribe = notice
        .header("list-unsubscribe")
        .unwrap()
        .trim_matches(['<', '>'])
        .to_owned();
    assert!(
        notice.text.contains(&unsubscribe),
        "the link is in the text too"
    );
    assert_eq!(
        notice.header("list-unsubscribe-post"),
        Some("List-Unsubscribe=One-Click")
    );

    // One click, as a mail program sends it; then nothing more, and the address is gone.
    let stopped = crate::common::post_form(
        &app,
        unsubscribe.trim_start_matches(BASE_URL),
        &[("List-Unsubscribe", "One-Click")],
        &[],
    )
    .await;
    assert_eq!(stopped.status, StatusCode::OK);
    assert!(
        stopped
            .text()
            .contains("rue@example.test will get no more replies")
    );
    let kept: i64 = sqlx::query_scalar("select count(*) from mail_addresses")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        kept, 0,
        "the address is not kept once nothing is asked of it"
    );
    reply("Thyme", "Late to this.").await;
    sink.settled(&pool).await;
    assert_eq!(sink.received().len(), 2);
}

#[sqlx::test]
async fn followers_confirm_and_get_each_new_post_once(pool: PgPool) {
    let sink = MailSink::start();
    let app = mail_app(&pool, &sink);
    let home = crate::common::get(&app, "/").await;
    assert!(home.text().contains("Follow by email"));
    let page = crate::common::get(&app, "/subscribe").await;
    assert_eq!(page.status, StatusCode::OK);
    let bad =
        crate::common::post_form(&app, "/subscribe", &[("email", "not-an-address")], &[]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.field("email").as_deref(), Some("not-an-address"));
    let done =
        crate::common::post_form(&app, "/subscribe", &[("email", "fern@example.test")], &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(done.header("location"), "/subscribe?done=1");
    let confirm = sink.wait_for(1).await.remove(0);
    assert!(confirm.text.contains("new posts"));
    let link = path_of(&confirm, "/mail/confirm/");
    crate::common::post_form(&app, &link, &[], &[]).await;

    // A post written in the editor goes out once it is out; imported ones never do.
    let admin = user_session(&app, &pool, "admin").await;
    let published = admin
        .post(
            &app,
            "/admin/posts",
            &[
                ("title", "Seed potatoes"),
                ("body", "Chitting starts now, on a cool windowsill."),
                ("action", "publish"),
            ],
        )
        .await;
    assert_eq!(published.status, StatusCode::SEE_OTHER);
    let post = wait_for_subject(&sink, 2, "Seed potatoes").await.remove(0);
    assert_eq!(post.rcpt_tos, ["fern@example.test"]);
    assert!(post.text.contains("Chitting starts now"), "{}", post.text);
    assert!(
        post.text.contains(&format!("{BASE_URL}/")),
        "a link to the post"
    );
    assert!(post.header("list-unsubscribe").is_some());
    // Saving it again tells nobody again.
    let id: i64 = sqlx::query_scalar("select id from posts where title = 'Seed potatoes'")
        .fetch_one(&pool)
        .await
        .unwrap();
    admin
        .post(
            &app,
            &format!("/admin/posts/{id}"),
            &[
                ("title", "Seed potatoes"),
                ("body", "Chitting starts now, on a cool, light windowsill."),
                ("action", "save"),
            ],
        )
        .await;
    // A scheduled post goes out when its time comes, by itself.
    sqlx::query(
        "insert into posts (kind, path, slug, title, body_source, body_html, excerpt, status,
                            published_at, announce)
         values ('post', '/2030/01/later.html', 'later', 'Later', 'Soon.', '<p>Soon.</p>', 'Soon.',
                 'published', now() + interval '1500 milliseconds', 'due')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let later = wait_for_subject(&sink, 3, "Later").await;
    assert_eq!(later.len(), 1);
    sink.settled(&pool).await;
    assert_eq!(sink.received().len(), 3, "each post once");

    // The admin sees the follower, exports them, and can remove them.
    let list = admin.get(&app, "/admin/subscribers").await;
    assert!(
        list.text().contains("1 follow the blog by email"),
        "{}",
        list.text()
    );
    assert!(list.text().contains("fern@example.test"));
    let csv = admin.get(&app, "/admin/subscribers.csv").await;
    assert_eq!(csv.header("content-type"), "text/csv; charset=utf-8");
    assert!(
        csv.body
            .starts_with("email,since,confirmed\r\nfern@example.test,"),
        "{}",
        csv.body
    );
    let sub: i64 = sqlx::query_scalar("select id from subscriptions")
        .fetch_one(&pool)
        .await
        .unwrap();
    let removed = admin
        .post(&app, &format!("/admin/subscribers/{sub}/remove"), &[])
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    let left: i64 = sqlx::query_scalar("select count(*) from mail_addresses")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[sqlx::test]
async fn the_forms_cannot_flood_a_strangers_inbox(pool: PgPool) {
    let sink = MailSink::start();
    let app = mail_app(&pool, &sink);
    for _ in 0..6 {
        let done =
            crate::common::post_form(&app, "/subscribe", &[("email", "victim@example.test")], &[])
                .await;
        // The same answer every time: it says nothing about the address.
        assert_eq!(done.status, StatusCode::SEE_OTHER);
    }
    sink.wait_for(3).await;
    // A burst at once is counted one by one too.
    let burst = (0..10).map(|_| {
        let app = app.clone();
        async move {
            crate::common::post_form(&app, "/subscribe", &[("email", "other@example.test")], &[])
                .await
                .status
        }
    });
    let answers = futures_util::future::join_all(burst).await;
    assert!(answers.iter().all(|s| *s == StatusCode::SEE_OTHER));
    sink.wait_for(6).await;
    sink.settled(&pool).await;
    assert_eq!(
        sink.received().len(),
        6,
        "three confirmations a day for each address"
    );
    // Requests over the limit leave nothing behind.
    let kept: i64 = sqlx::query_scalar("select count(*) from subscriptions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(kept, 2);
}

/// Wakes the mail workers, as any new message would.
async fn wake_workers(pool: &PgPool) {
    sqlx::query("select pg_notify('folio_outbox', '')")
        .execute(pool)
        .await
        .unwrap();
}

#[sqlx::test]
async fn a_moderator_who_asked_for_a_digest_gets_one_a_day_with_working_buttons(pool: PgPool) {
    let sink = MailSink::start();
    let app = mail_app(&pool, &sink);
    crate::common::set_comment_settings(&pool, "moderated", 14, "").await;
    let (post_id, path) = crate::common::add_post(
        &pool,
        crate::common::Post::published(
            "Garlic",
            time::OffsetDateTime::now_utc() - time::Duration::days(1),
        ),
    )
    .await;
    // The comments are held first, so that whenever the worker looks, it sees both.
    for (name, text) in [
        ("Gus", "Softneck or hardneck?"),
        ("Ida", "Plant before the frost."),
    ] {
        comment(&app, &path, post_id, &[("name", name), ("comment", text)]).await;
    }
    let editor = user_session(&app, &pool, "editor").await;
    editor
        .post(&app, "/admin/account/mail", &[("comment_mail", "digest")])
        .await;
    let account = editor.get(&app, "/admin/account").await;
    assert!(account.body.contains("value=\"digest\" checked"));
    wake_workers(&pool).await;
    let digest = sink.wait_for(1).await.remove(0);
    assert_eq!(digest.rcpt_tos, ["editor@example.test"]);
    assert!(
        digest.subject().contains("2 comments waiting"),
        "{}",
        digest.subject()
    );
    assert!(
        digest.text.contains("Softneck or hardneck?")
            && digest.text.contains("Plant before the frost.")
    );
    let approve = button(&digest, "Approve:");
    let done = crate::common::post_form(&app, &approve, &[], &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert!(
        crate::common::get(&app, &path)
            .await
            .text()
            .contains("Softneck or hardneck?")
    );

    // More held comments the same day wait for tomorrow's digest.
    comment(
        &app,
        &path,
        post_id,
        &[("name", "Jo"), ("comment", "Mine rotted.")],
    )
    .await;
    // Asked directly (no waiting on the worker): no digest is due before a day has passed.
    let secret = crate::common::secret();
    let blog = folio::mail::notify::Blog {
        secret: &secret,
        base_url: crate::common::BASE_URL,
        title: "Folio",
        now: time::OffsetDateTime::now_utc(),
    };
    assert_eq!(
        folio::mail::notify::send_digests(&pool, &blog)
            .await
            .unwrap(),
        0
    );
    sqlx::query("update users set digest_sent_at = now() - interval '25 hours' where comment_mail = 'digest'")
        .execute(&pool)
        .await
        .unwrap();
    wake_workers(&pool).await;
    let next = sink.wait_for(2).await.remove(1);
    assert!(next.subject().contains("comment"), "{}", next.subject());
    assert!(next.text.contains("Mine rotted."));
}

/// The notices a listener has heard before a probe sent after them (notices arrive in commit
/// order, so the probe proves nothing else is on its way).
async fn heard_before_probe(
    pool: &PgPool,
    listener: &mut sqlx::postgres::PgListener,
) -> Vec<String> {
    sqlx::query("select pg_notify('folio_probe', '')")
        .execute(pool)
        .await
        .unwrap();
    let mut heard = Vec::new();
    loop {
        let notice = tokio::time::timeout(Duration::from_secs(10), listener.recv())
            .await
            .expect("the probe arrives")
            .unwrap();
        if notice.channel() == "folio_probe" {
            return heard;
        }
        heard.push(format!("{} {}", notice.channel(), notice.payload()));
    }
}

async fn content_version(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select n from content_version")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The mail worker's round with nothing to do must wake no one: before migration 0019 the empty
/// `update posts … announce = 'done'` fired statement-level triggers, the worker heard its own
/// notice and went round again forever, emptying every page cache each time.
#[sqlx::test]
async fn a_mail_round_with_nothing_to_do_and_bookkeeping_writes_wake_no_one(pool: PgPool) {
    use crate::common::{Post, add_post, secret};
    use folio::mail::notify;
    use time::OffsetDateTime;

    let (published, _) = add_post(
        &pool,
        Post::published("Told already", OffsetDateTime::now_utc()),
    )
    .await;
    let (draft, _) = add_post(
        &pool,
        Post::published("Still a draft", OffsetDateTime::now_utc()).draft(),
    )
    .await;
    let settings = db::settings::load(&pool).await.unwrap();
    let blog_secret = secret();
    let blog = notify::Blog {
        secret: &blog_secret,
        base_url: BASE_URL,
        title: &settings.title,
        now: OffsetDateTime::now_utc(),
    };
    // The first round tells followers of the new post (there are none) and marks it told.
    notify::announce_due_posts(&pool, &blog, false, &settings.time_zone())
        .await
        .unwrap();

    let mut listener = sqlx::postgres::PgListener::connect_with(&pool)
        .await
        .unwrap();
    listener
        .listen_all(["folio_content_changed", "folio_outbox", "folio_probe"])
        .await
        .unwrap();
    let version = content_version(&pool).await;

    // A worker's round with nothing due, then bookkeeping no reader sees.
    notify::announce_due_posts(&pool, &blog, false, &settings.time_zone())
        .await
        .unwrap();
    notify::send_digests(&pool, &blog).await.unwrap();
    assert!(
        db::outbox::claim(&pool, 20, 300.0)
            .await
            .unwrap()
            .is_empty()
    );
    for statement in [
        "update posts set announce = 'done' where id = $1",
        "update posts set edit_version = edit_version + 1, edited_at = now() where id = $1",
        "update posts set title = 'Still a draft, retitled' where id = $2",
        "update settings set title = title",
        "update appearance set theme = theme",
        "update labels set name = name where false",
    ] {
        sqlx::query(statement)
            .bind(published)
            .bind(draft)
            .execute(&pool)
            .await
            .unwrap();
    }
    assert_eq!(
        heard_before_probe(&pool, &mut listener).await,
        Vec::<String>::new()
    );
    assert_eq!(
        content_version(&pool).await,
        version,
        "nothing readers see changed"
    );

    // What readers see still tells every process, once per transaction for the version.
    sqlx::query("update posts set title = 'Told already, retitled' where id = $1")
        .bind(published)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("update settings set title = 'A new name'")
        .execute(&pool)
        .await
        .unwrap();
    queue(&pool, "reader@example.test").await;
    assert_eq!(
        heard_before_probe(&pool, &mut listener).await,
        [
            "folio_content_changed ",
            "folio_content_changed ",
            "folio_outbox "
        ]
    );
    assert_eq!(content_version(&pool).await, version + 2);
}

/// Security review, finding 1: an import makes its authors users without a password; knowing
/// one's address must not make an account of it ("Forgot your password?" used to send them a
/// reset link). Only an admin's invitation opens such an account.
#[sqlx::test]
async fn imported_authors_cannot_be_reset_into_accounts_until_an_admin_invites_them(pool: PgPool) {
    use folio::auth::links;
    use std::sync::{Arc, atomic::AtomicU64};

    let sink = MailSink::start();
    let app = mail_app(&pool, &sink);
    let admin = user_session(&app, &pool, "admin").await;
    folio::import::run(
        &pool,
        folio::import::Format::Wxr,
        std::io::Cursor::new(include_bytes!("fixtures/import/wordpress.xml").to_vec()),
        Arc::new(AtomicU64::new(0)),
    )
    .await
    .unwrap();
    let maren: i64 =
        sqlx::query_scalar("select id from users where email = 'maren@harbour.example'")
            .fetch_one(&pool)
            .await
            .unwrap();

    let asked = crate::common::post_form(
        &app,
        "/admin/forgot",
        &[("email", "maren@harbour.example")],
        &[],
    )
    .await;
    assert_eq!(asked.status, StatusCode::OK);
    assert!(
        asked
            .text()
            .contains("If an account uses maren@harbour.example, a link")
    );
    let resets: i64 = sqlx::query_scalar("select count(*) from outbox")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(resets, 0, "no reset link for an account without a password");

    // Even a correctly signed reset link (as one sent before this fix) opens nothing.
    let secret = crate::common::secret();
    let token = links::sign(
        &secret,
        "password",
        &[
            &maren.to_string(),
            &folio::mail::notify::password_fingerprint(None),
            "reset",
        ],
        time::OffsetDateTime::now_utc().unix_timestamp() + 3600,
    );
    let link = format!("/admin/password/{token}");
    let refused = crate::common::get(&app, &link).await;
    assert_eq!(refused.status, StatusCode::GONE);
    assert!(
        refused
            .text()
            .contains("ask an administrator of the blog to invite you")
    );
    let set =
        crate::common::post_form(&app, &link, &[("password", "a password of mine")], &[]).await;
    assert_eq!(set.status, StatusCode::GONE);

    // The Users page lists them, and Invite sends the link that opens the account.
    let users = admin.get(&app, "/admin/users").await;
    assert!(users.text().contains("Maren Holt"), "{}", users.text());
    assert!(users.text().contains("Cannot sign in yet"));
    let invited = admin
        .post(&app, &format!("/admin/users/{maren}/invite"), &[])
        .await;
    assert_eq!(invited.status, StatusCode::SEE_OTHER);
    assert_eq!(invited.header("location"), "/admin/users?done=reinvited");
    let mail = sink.wait_for(1).await.remove(0);
    assert_eq!(mail.rcpt_tos, ["maren@harbour.example"]);
    assert!(mail.subject().starts_with("You are invited to"));
    let link = path_of(&mail, "/admin/password/");
    let chosen =
        crate::common::post_form(&app, &link, &[("password", "maren's own password")], &[]).await;
    assert_eq!(chosen.status, StatusCode::SEE_OTHER);
    crate::common::log_in_with(&app, "maren@harbour.example", "maren's own password").await;
}

/// An admin hears of each held comment without choosing it (a held comment should not wait
/// unseen); editors still opt in. Security review, finding 8: a moderation email's buttons act
/// only on the comment as the email showed it, held: an old Approve does not undo a later Spam.
#[sqlx::test]
async fn admins_hear_of_held_comments_by_default_and_old_buttons_do_not_undo_later_decisions(
    pool: PgPool,
) {
    let sink = MailSink::start();
    let app = mail_app(&pool, &sink);
    crate::common::set_comment_settings(&pool, "moderated", 14, "").await;
    let (post_id, path) = crate::common::add_post(
        &pool,
        crate::common::Post::published(
            "Pruning plums",
            time::OffsetDateTime::now_utc() - time::Duration::days(1),
        ),
    )
    .await;
    let _admin = user_session(&app, &pool, "admin").await;
    let _editor = user_session(&app, &pool, "editor").await;
    let account = _admin.get(&app, "/admin/account").await;
    let chosen: Vec<String> = account
        .document()
        .select(&crate::common::selector(
            "input[name=\"comment_mail\"][checked]",
        ))
        .filter_map(|input| input.value().attr("value").map(str::to_owned))
        .collect();
    assert_eq!(chosen, ["each"], "the default an admin sees");

    let sent = comment(
        &app,
        &path,
        post_id,
        &[
            ("name", "Quiet Quin"),
            ("email", "quin@example.test"),
            ("comment", "When is the right month?"),
        ],
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let comment_id: i64 = sent
        .header("location")
        .rsplit("#c")
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let received = sink.wait_for(1).await;
    assert_eq!(received.len(), 1, "the admin, not the editor");
    let mail = &received[0];
    assert_eq!(mail.rcpt_tos, ["admin@example.test"]);
    let (approve, spam) = (button(mail, "Approve:"), button(mail, "Spam:"));

    let marked = crate::common::post_form(&app, &spam, &[], &[]).await;
    assert_eq!(marked.status, StatusCode::SEE_OTHER);
    assert_eq!(status_of(&pool, comment_id).await, "spam");

    // The old Approve: shown as decided, and it changes nothing.
    let shown = crate::common::get(&app, &approve).await;
    assert_eq!(shown.status, StatusCode::CONFLICT);
    assert!(shown.text().contains("Already decided"), "{}", shown.text());
    assert!(
        shown
            .text()
            .contains("marked as spam after this email was sent")
    );
    let pressed = crate::common::post_form(&app, &approve, &[], &[]).await;
    assert_eq!(pressed.status, StatusCode::CONFLICT);
    assert!(pressed.text().contains("the later decision stands"));
    assert_eq!(status_of(&pool, comment_id).await, "spam");
    assert!(
        !crate::common::get(&app, &path)
            .await
            .text()
            .contains("When is the right month?")
    );
}

/// With mail on, each published comment writes its notices in the comment's own transaction. It
/// used to read the settings through the pool meanwhile: every request held one connection and
/// waited for another, so a burst as large as the pool stalled until the pool's timeout and
/// answered 503 (found by `bench/run` at 32 connections). Now a burst twice the pool's size is
/// all stored.
#[sqlx::test]
async fn a_burst_of_comments_with_mail_on_never_waits_on_its_own_pool(pool: PgPool) {
    use futures_util::future::join_all;
    use tower::ServiceExt;
    let sink = MailSink::start();
    let (post_id, path) = crate::common::add_post(
        &pool,
        crate::common::Post::published(
            "Open for talk",
            time::OffsetDateTime::now_utc() - time::Duration::days(1),
        ),
    )
    .await;
    let small = sqlx::postgres::PgPoolOptions::new()
        .max_connections(3)
        .acquire_timeout(Duration::from_secs(2))
        .connect_with((*pool.connect_options()).clone())
        .await
        .unwrap();
    let app = app_with(
        &small,
        Config {
            mail: Some(sink.config()),
            comment_rate_limit: 0,
            ..Config::with_base_url(BASE_URL)
        },
    );
    let requests = (0..6).map(|n| {
        let token = folio::auth::form_token::issue(
            &crate::common::secret(),
            post_id,
            time::OffsetDateTime::now_utc().unix_timestamp() - 10,
        );
        let body = crate::common::form_body(&[
            ("token", &token),
            ("parent", ""),
            ("name", &format!("Reader {n}")),
            ("email", ""),
            ("website", ""),
            ("comment", &format!("Comment number {n} in the burst.")),
            ("address", ""),
        ]);
        let request = axum::http::Request::post(path.as_str())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(axum::body::Body::from(body))
            .unwrap();
        app.clone().oneshot(request)
    });
    let statuses: Vec<StatusCode> = join_all(requests)
        .await
        .into_iter()
        .map(|response| response.unwrap().status())
        .collect();
    assert_eq!(statuses, vec![StatusCode::SEE_OTHER; 6]);
    let stored: i64 = sqlx::query_scalar("select count(*) from comments where status = 'approved'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 6);
}
