//! A CDN in front: the headers that let it keep public pages and purge them by tag, the purge
//! hook Folio calls after each change, and the comment form's own token behind it.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::http::StatusCode;
use folio::{auth::form_token, config::Config, domain::clock::Clock, page_cache::cdn::CdnConfig};
use sqlx::PgPool;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{
    BASE_URL, Post, add_post, app, app_with, cached_app_with_config, get, get_with, secret,
    send_comment,
};

fn cdn_config(purge_url: Option<&str>) -> Config {
    Config {
        cdn: CdnConfig::new(300, 60, purge_url, Some("Bearer purge-key")).unwrap(),
        ..Config::with_base_url(BASE_URL)
    }
}

async fn a_post(pool: &PgPool) -> (i64, String) {
    add_post(
        pool,
        Post::published(
            "Sowing broad beans in November",
            OffsetDateTime::now_utc() - time::Duration::days(1),
        )
        .labels(&["Broad beans"]),
    )
    .await
}

#[sqlx::test]
async fn public_pages_tell_a_cdn_how_long_to_keep_them_and_how_they_are_tagged(pool: PgPool) {
    let (post_id, path) = a_post(&pool).await;
    let app = app_with(&pool, cdn_config(None));
    let post = get(&app, &path).await;
    assert_eq!(post.status, StatusCode::OK);
    assert_eq!(
        post.header("cache-control"),
        "public, max-age=0, s-maxage=300, stale-while-revalidate=60"
    );
    assert_eq!(
        post.header("surrogate-key"),
        format!("folio post-{post_id} label-Broad%20beans")
    );
    assert_eq!(
        post.header("cache-tag"),
        format!("folio,post-{post_id},label-Broad%20beans")
    );
    // A CDN revalidating (the page not in Folio's memory) gets the same headers on its 304.
    let etag = post.header("etag").to_owned();
    let revalidated = get_with(&app, &path, &[("if-none-match", &etag)]).await;
    assert_eq!(revalidated.status, StatusCode::NOT_MODIFIED);
    assert_eq!(
        revalidated.header("cache-control"),
        "public, max-age=0, s-maxage=300, stale-while-revalidate=60"
    );
    assert_eq!(
        revalidated.header("surrogate-key"),
        format!("folio post-{post_id} label-Broad%20beans")
    );
    let home = get(&app, "/").await;
    assert_eq!(home.header("surrogate-key"), "folio lists home");
    let feed = get(&app, "/feeds/posts/default").await;
    assert_eq!(feed.header("surrogate-key"), "folio lists feed");

    // The shared page's form asks for a token of the reader's own, which nobody stores.
    let form = post.document();
    let fresh = form
        .select(&crate::common::selector("form[data-fresh-token]"))
        .next()
        .expect("the comment form names its token address")
        .value()
        .attr("data-fresh-token")
        .unwrap()
        .to_owned();
    assert_eq!(fresh, format!("/comment-token/{post_id}"));
    assert!(post.body.contains("comment-token."), "the form's script");
    let token = get(&app, &fresh).await;
    assert_eq!(token.status, StatusCode::OK);
    assert_eq!(token.header("cache-control"), "private, no-store");
    let now = OffsetDateTime::now_utc().unix_timestamp();
    assert_eq!(
        form_token::check(&secret(), token.text().trim(), post_id, now + 5),
        Ok(())
    );
    assert_eq!(
        form_token::check(&secret(), token.text().trim(), post_id, now),
        Err(form_token::TokenProblem::TooFast),
        "issued now: the timing check measures this reader"
    );

    // Pages for one reader, errors and the admin area are never offered to a CDN.
    let missing = get(&app, "/2001/01/nothing-here.html").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(!missing.headers.contains_key("surrogate-key"));
    assert!(
        !get(&app, "/admin/login")
            .await
            .headers
            .contains_key("surrogate-key")
    );
}

#[sqlx::test]
async fn without_a_cdn_pages_say_nothing_of_one(pool: PgPool) {
    let (_, path) = a_post(&pool).await;
    let app = app(&pool);
    let post = get(&app, &path).await;
    assert_eq!(post.header("cache-control"), "no-cache");
    assert!(!post.headers.contains_key("surrogate-key"));
    assert!(!post.body.contains("data-fresh-token"));
}

/// A purge endpoint: records each call's request line, authorization and body; answers 500
/// to the first `failures` calls.
struct Hook {
    port: u16,
    calls: Arc<Mutex<Vec<(String, String, String)>>>,
}

impl Hook {
    async fn start(failures: usize) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let recorded = calls.clone();
        tokio::spawn(async move {
            let mut answered = 0;
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let mut bytes = Vec::new();
                let mut buffer = [0u8; 4096];
                let (head, body) = loop {
                    let n = stream.read(&mut buffer).await.unwrap_or(0);
                    if n == 0 {
                        break (String::new(), String::new());
                    }
                    bytes.extend_from_slice(&buffer[..n]);
                    let text = String::from_utf8_lossy(&bytes).to_string();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let length = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if body.len() >= length {
                            break (head.to_owned(), body.to_owned());
                        }
                    }
                };
                let line = head.lines().next().unwrap_or("").to_owned();
                let authorization = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .starts_with("authorization:")
                            .then(|| l["authorization:".len()..].trim().to_owned())
                    })
                    .unwrap_or_default();
                answered += 1;
                let status = if answered <= failures {
                    "500 Internal Server Error"
                } else {
                    "200 OK"
                };
                if answered > failures {
                    recorded.lock().unwrap().push((line, authorization, body));
                }
                let _ = stream
                    .write_all(
                        format!(
                            "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                        )
                        .as_bytes(),
                    )
                    .await;
            }
        });
        Self { port, calls }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/purge?tags={{tags}}", self.port)
    }

    /// Waits for the `n`th successful call and answers it.
    async fn call(&self, n: usize) -> (String, String, String) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(call) = self.calls.lock().unwrap().get(n - 1) {
                return call.clone();
            }
            assert!(Instant::now() < deadline, "the purge hook was never called");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[sqlx::test]
async fn every_change_purges_what_it_touched_through_the_hook(pool: PgPool) {
    let (post_id, path) = a_post(&pool).await;
    // The first call fails: it is tried again.
    let hook = Hook::start(1).await;
    let (_, app, _) = cached_app_with_config(&pool, cdn_config(Some(&hook.url()))).await;
    let sent = send_comment(
        &app,
        &(post_id, path),
        "Ada Fenwick",
        "Mine went in late October and did well.",
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.text());
    let (line, authorization, body) = hook.call(1).await;
    assert_eq!(
        line,
        format!("POST /purge?tags=lists%20post-{post_id} HTTP/1.1")
    );
    assert_eq!(authorization, "Bearer purge-key");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        json["tags"],
        serde_json::json!(["lists", format!("post-{post_id}")])
    );

    // A change to a post may touch every page (the sidebar is on each): everything goes.
    // Made outside Folio (psql, say): heard all the same.
    sqlx::query("update posts set title = 'Sowing broad beans in late autumn' where id = $1")
        .bind(post_id)
        .execute(&pool)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let calls = hook.calls.lock().unwrap().clone();
        if calls
            .iter()
            .skip(1)
            .any(|(line, _, _)| line == "POST /purge?tags=folio HTTP/1.1")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no purge of everything: {calls:?}"
        );
        drop(calls);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[sqlx::test]
async fn chromium_fetches_a_token_of_its_own_when_writing_starts_behind_a_cdn(pool: PgPool) {
    use fantoccini::Locator;
    let (post_id, path) = a_post(&pool).await;
    let (addr, _, clock) = crate::common::browser::serve_cached_with(&pool, |config| Config {
        cdn: CdnConfig::new(300, 60, None, None).unwrap(),
        ..config
    })
    .await;
    let (_driver, browser) = crate::common::browser::start_browser().await;
    browser.goto(&format!("http://{addr}{path}")).await.unwrap();
    let token = || async {
        browser
            .execute(
                "return document.querySelector('input[name=token]').value",
                vec![],
            )
            .await
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    };
    let shared = token().await;
    // Tokens carry whole seconds: the reader's own is issued a second later on the blog's clock.
    clock.advance(1);
    browser
        .find(Locator::Id("comment-name"))
        .await
        .unwrap()
        .send_keys("Ada")
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let own = loop {
        let now = token().await;
        if now != shared {
            break now;
        }
        assert!(
            Instant::now() < deadline,
            "the form never fetched its own token"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let now = clock.now().unix_timestamp();
    assert_eq!(form_token::check(&secret(), &own, post_id, now + 4), Ok(()));
    assert_eq!(
        form_token::check(&secret(), &own, post_id, now),
        Err(form_token::TokenProblem::TooFast)
    );
    // Sent with it, after a person's pause, the comment is published.
    clock.advance(4);
    browser
        .find(Locator::Id("comment-body"))
        .await
        .unwrap()
        .send_keys("Mine are up already.")
        .await
        .unwrap();
    browser
        .find(Locator::Css("#post-a-comment form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let shown = crate::common::browser::wait_for_text(&browser, "Mine are up already.").await;
    assert!(!shown.contains("Your comment was not posted"), "{shown}");
}
