//! A real browser posts a comment: headless Chromium driven over WebDriver (chromedriver).
//! `scripts/test` installs Debian's chromium and chromium-driver when they are missing.

use std::time::{Duration, Instant};

use crate::common::{
    Post, TestClock, add_post,
    browser::{serve, serve_with_mail, start_browser, wait_for_text},
};
use fantoccini::{Client, Locator};
use folio::db;
use sqlx::PgPool;
use time::OffsetDateTime;

/// Types a comment into the open post page and sends it, as a person would.
async fn post_comment(browser: &Client, clock: &TestClock, name: &str, text: &str) {
    browser
        .find(Locator::Id("comment-name"))
        .await
        .unwrap()
        .send_keys(name)
        .await
        .unwrap();
    browser
        .find(Locator::Id("comment-body"))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
    // The form refuses anything sent within 3 s of the page being served (robots are quicker):
    // the server's clock moves on instead of the test waiting.
    clock.advance(4);
    browser
        .find(Locator::Css("#post-a-comment button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let url = browser.current_url().await.unwrap();
        if url.fragment().is_some_and(|f| f.starts_with('c')) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the browser did not land on the new comment: {url}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[sqlx::test]
async fn a_reader_posts_a_comment_from_a_real_browser(pool: PgPool) {
    let (_, path) = add_post(
        &pool,
        Post::published(
            "Seen through a browser",
            OffsetDateTime::now_utc() - time::Duration::days(1),
        ),
    )
    .await;
    let (addr, clock) = serve(&pool).await;
    let (_driver, browser) = start_browser().await;
    let url = format!("http://{addr}{path}");

    browser.goto(&url).await.unwrap();
    assert_eq!(
        browser.title().await.unwrap(),
        "Seen through a browser - Folio"
    );
    post_comment(
        &browser,
        &clock,
        "Bea Browser",
        "Typed with a real keyboard, more or less.",
    )
    .await;
    let comments = browser
        .find(Locator::Id("comments"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(comments.contains("1 comment:"), "{comments}");
    assert!(
        comments.contains("Bea Browser")
            && comments.contains("Typed with a real keyboard, more or less."),
        "{comments}"
    );

    // On a moderated blog the author sees their comment waiting, thanks to the signed cookie.
    crate::common::set_comment_settings(&pool, "moderated", 14, "").await;
    browser.goto(&url).await.unwrap();
    post_comment(
        &browser,
        &clock,
        "Bea Browser",
        "A second thought, held for the editors.",
    )
    .await;
    let comments = browser
        .find(Locator::Id("comments"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        comments.contains("Your comment is awaiting moderation."),
        "{comments}"
    );
    assert!(
        comments.contains("A second thought, held for the editors."),
        "{comments}"
    );
    assert!(
        comments.contains("1 comment, and 1 of yours awaiting moderation:"),
        "held comments are not counted, and the heading says why one more is shown: {comments}"
    );

    browser.close().await.unwrap();
}

#[sqlx::test]
async fn an_editor_logs_in_writes_and_publishes_from_a_real_browser(pool: PgPool) {
    let hash = folio::auth::password::hash("browser test password".into())
        .await
        .unwrap();
    db::users::create(&pool, "ed@example.test", "Ed Itor", "editor", &hash)
        .await
        .unwrap();
    let (addr, _) = serve(&pool).await;
    let (_driver, browser) = start_browser().await;
    let base = format!("http://{addr}");

    browser
        .goto(&format!("{base}/admin/posts/new"))
        .await
        .unwrap();
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/admin/login"),
        "sent to log in first"
    );
    browser
        .find(Locator::Id("login-email"))
        .await
        .unwrap()
        .send_keys("ed@example.test")
        .await
        .unwrap();
    browser
        .find(Locator::Id("login-password"))
        .await
        .unwrap()
        .send_keys("browser test password")
        .await
        .unwrap();
    browser
        .find(Locator::Css("main form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .for_element(Locator::Id("post-title"))
        .await
        .expect("back to the editor after logging in");

    browser
        .find(Locator::Id("post-title"))
        .await
        .unwrap()
        .send_keys("Written in Chromium")
        .await
        .unwrap();
    browser
        .find(Locator::Id("post-body"))
        .await
        .unwrap()
        .send_keys("A post typed into the *real* editor.")
        .await
        .unwrap();
    browser
        .find(Locator::Id("post-labels"))
        .await
        .unwrap()
        .send_keys("Browsers")
        .await
        .unwrap();
    browser
        .find(Locator::Css("button[value=publish]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let notice = browser
        .wait()
        .for_element(Locator::Css(".notice"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(notice, "Published.");

    browser.goto(&format!("{base}/")).await.unwrap();
    let main = browser
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(main.contains("Written in Chromium"), "{main}");
    assert!(
        main.contains("A post typed into the real editor."),
        "{main}"
    );
    assert!(main.contains("Posted by Ed Itor"), "{main}");
    browser
        .find(Locator::LinkText("Written in Chromium"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let title = browser
        .find(Locator::Css("h1.post-title"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(title, "Written in Chromium");
    browser.close().await.unwrap();
}

/// Clicks the page's one form button (the pages links in emails open).
async fn press(browser: &Client, label: &str) {
    let button = browser
        .find(Locator::XPath(&format!(
            "//button[normalize-space()='{label}']"
        )))
        .await
        .unwrap_or_else(|_| panic!("no {label} button"));
    button.click().await.unwrap();
}

#[sqlx::test]
async fn a_commenter_asks_for_notices_confirms_gets_a_reply_and_unsubscribes_in_a_browser(
    pool: PgPool,
) {
    let sink = crate::common::mail::MailSink::start();
    let (_, path) = add_post(
        &pool,
        Post::published(
            "Notes on sorrel",
            OffsetDateTime::now_utc() - time::Duration::days(1),
        ),
    )
    .await;
    let (addr, clock) = serve_with_mail(&pool, Some(sink.config())).await;
    let (_driver, browser) = start_browser().await;
    let url = format!("http://{addr}{path}");
    browser.goto(&url).await.unwrap();
    for (id, text) in [
        ("comment-name", "Dee"),
        ("comment-email", "dee@example.test"),
        ("comment-body", "Does it come back every year?"),
    ] {
        browser
            .find(Locator::Id(id))
            .await
            .unwrap()
            .send_keys(text)
            .await
            .unwrap();
    }
    browser
        .find(Locator::Css("input[name=notify]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    clock.advance(4);
    browser
        .find(Locator::Css("#post-a-comment button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&browser, "Does it come back every year?").await;
    let dee: i64 = sqlx::query_scalar("select id from comments where author_name = 'Dee'")
        .fetch_one(&pool)
        .await
        .unwrap();

    // The confirmation, followed from the inbox.
    let confirm = sink.wait_for(1).await.remove(0);
    assert_eq!(confirm.rcpt_tos, ["dee@example.test"]);
    let link = confirm
        .link(&format!("http://{addr}/mail/confirm/"))
        .unwrap();
    browser.goto(&link).await.unwrap();
    wait_for_text(&browser, "Send replies to your comment").await;
    press(&browser, "Confirm").await;
    wait_for_text(&browser, "the messages you asked for will come").await;

    // Someone replies; the notice arrives.
    browser
        .goto(&format!("{url}?reply={dee}#post-a-comment"))
        .await
        .unwrap();
    for (id, text) in [
        ("comment-name", "Eli"),
        ("comment-body", "It does, and it spreads."),
    ] {
        browser
            .find(Locator::Id(id))
            .await
            .unwrap()
            .send_keys(text)
            .await
            .unwrap();
    }
    clock.advance(4);
    browser
        .find(Locator::Css("#post-a-comment button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&browser, "It does, and it spreads.").await;
    let notice = sink.wait_for(2).await.remove(1);
    assert_eq!(notice.rcpt_tos, ["dee@example.test"]);
    assert!(notice.text.contains("It does, and it spreads."));

    // Unsubscribing: the link in the message, one button.
    let unsubscribe = notice
        .header("list-unsubscribe")
        .unwrap()
        .trim_matches(['<', '>'])
        .to_owned();
    browser.goto(&unsubscribe).await.unwrap();
    wait_for_text(&browser, "dee@example.test will get no more replies").await;
    press(&browser, "Unsubscribe").await;
    wait_for_text(&browser, "Unsubscribed").await;
    let left: i64 = sqlx::query_scalar("select count(*) from subscriptions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    browser.close().await.unwrap();
}
