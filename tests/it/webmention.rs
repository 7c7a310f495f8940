//! Webmention both ways, against sites this test serves on 127.0.0.1 (their pages marked up
//! as IndieWeb blogs mark theirs) and against other people's code: ronkyuu sending to Folio
//! and mf2py reading Folio's pages (`tests/peers`, installed by `scripts/ensure-peers`).

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Form, Router,
    extract::State,
    http::{HeaderMap, StatusCode, Uri, header},
    response::{IntoResponse, Response},
    routing::{get as route_get, post},
};
use folio::{App, AppState, config::Config, db};
use serde_json::Value;
use sqlx::PgPool;
use time::OffsetDateTime;

use crate::common::{self, Post, add_post, browser::serve_cached_with, get, post_form};

/// A page of the test's site: its status, its extra headers and its body.
#[derive(Clone)]
struct SitePage {
    status: StatusCode,
    link: Option<String>,
    body: String,
}

#[derive(Clone, Default)]
struct SiteState {
    pages: Arc<Mutex<HashMap<String, SitePage>>>,
    fetched: Arc<Mutex<Vec<String>>>,
    mentions: Arc<Mutex<Vec<HashMap<String, String>>>>,
}

/// Another blog: pages it serves, the fetches it saw, and the Webmentions its endpoint got.
struct Site {
    base: String,
    state: SiteState,
}

impl Site {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = SiteState::default();
        let router = Router::new()
            .route("/endpoint", post(endpoint))
            .fallback(route_get(page))
            .with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { base, state }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn serve(&self, path: &str, status: StatusCode, body: &str) {
        self.serve_with_link(path, status, None, body);
    }

    fn serve_with_link(&self, path: &str, status: StatusCode, link: Option<&str>, body: &str) {
        self.state.pages.lock().unwrap().insert(
            path.to_owned(),
            SitePage {
                status,
                link: link.map(str::to_owned),
                body: body.to_owned(),
            },
        );
    }

    fn fetched(&self) -> Vec<String> {
        self.state.fetched.lock().unwrap().clone()
    }

    async fn wait_for_mentions(&self, count: usize) -> Vec<HashMap<String, String>> {
        for _ in 0..100 {
            let got = self.state.mentions.lock().unwrap().clone();
            if got.len() >= count {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "{count} Webmentions never came; got {:?}",
            self.state.mentions.lock().unwrap()
        );
    }
}

async fn page(State(state): State<SiteState>, uri: Uri) -> Response {
    state.fetched.lock().unwrap().push(uri.path().to_owned());
    let found = state.pages.lock().unwrap().get(uri.path()).cloned();
    match found {
        Some(page) => {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::CONTENT_TYPE,
                "text/html; charset=utf-8".parse().unwrap(),
            );
            if let Some(link) = page.link {
                headers.insert(header::LINK, link.parse().unwrap());
            }
            (page.status, headers, page.body).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn endpoint(
    State(state): State<SiteState>,
    Form(fields): Form<HashMap<String, String>>,
) -> StatusCode {
    state.mentions.lock().unwrap().push(fields);
    StatusCode::ACCEPTED
}

/// A reply as an IndieWeb blog marks one up.
fn reply_page(target: &str, author: &str, text: &str) -> String {
    format!(
        r#"<!doctype html><html><head><title>A reply</title></head><body>
        <header class="h-card"><a class="u-url p-name" href="/">The site's owner</a></header>
        <article class="h-entry">
          <p>In reply to <a class="u-in-reply-to" href="{target}">a post</a></p>
          <div class="p-author h-card"><a class="p-name u-url" href="/about">{author}</a></div>
          <div class="e-content"><p>{text}</p></div>
          <time class="dt-published" datetime="2026-12-01T09:00:00Z">1 Dec</time>
        </article></body></html>"#
    )
}

/// Folio over real TCP with Webmention on (sources on 127.0.0.1 allowed), and a post.
async fn mentioning_blog(pool: &PgPool) -> (SocketAddr, AppState, App, (i64, String)) {
    db::settings::update_fediverse(pool, false, "blog", false, true)
        .await
        .unwrap();
    let post = add_post(
        pool,
        Post::published("Low tide at the harbour", OffsetDateTime::now_utc()),
    )
    .await;
    let (addr, state, _) = serve_cached_with(pool, |config| Config {
        fediverse_allow_local: true,
        ..config
    })
    .await;
    let app = folio::app(state.clone());
    (addr, state, app, post)
}

/// Waits (the worker verifies in the background) until the post's page shows what `seen`
/// wants.
async fn page_until(app: &App, path: &str, seen: impl Fn(&str) -> bool) -> String {
    for _ in 0..100 {
        let text = get(app, path).await.text();
        if seen(&text) {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{path} never showed it: {}", get(app, path).await.text());
}

async fn send_mention(app: &App, source: &str, target: &str) -> common::Page {
    post_form(
        app,
        "/webmention",
        &[("source", source), ("target", target)],
        &[],
    )
    .await
}

#[sqlx::test]
async fn a_reply_from_another_blog_becomes_a_comment_and_follows_its_edits_and_deletion(
    pool: PgPool,
) {
    let (addr, _state, app, (_, path)) = mentioning_blog(&pool).await;
    let target = format!("http://{addr}{path}");
    let site = Site::start().await;
    site.serve(
        "/notes/7",
        StatusCode::OK,
        &reply_page(
            &target,
            "Rosa Lind",
            "The mudflats looked <em>silver</em> that morning.",
        ),
    );

    let page = get(&app, &path).await;
    assert!(
        page.body.contains(&format!(
            r#"<link rel="webmention" href="http://{addr}/webmention">"#
        )),
        "the page advertises its endpoint"
    );
    assert_eq!(
        page.header("link"),
        format!(r#"<http://{addr}/webmention>; rel="webmention""#)
    );

    let answer = send_mention(&app, &site.url("/notes/7"), &target).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.body);
    let text = page_until(&app, &path, |t| t.contains("Rosa Lind")).await;
    assert!(text.contains("via Webmention"), "{text}");
    assert!(
        text.contains("The mudflats looked silver that morning."),
        "{text}"
    );
    let document = get(&app, &path).await.document();
    let author_link = document
        .select(&common::selector(".comment-author a"))
        .next()
        .expect("the author links to their page");
    assert_eq!(
        author_link.value().attr("href"),
        Some(site.url("/about").as_str())
    );

    // The reply is edited on its blog, which tells Folio again.
    site.serve(
        "/notes/7",
        StatusCode::OK,
        &reply_page(
            &target,
            "Rosa Lind",
            "Edited: the mudflats were gold, not silver.",
        ),
    );
    send_mention(&app, &site.url("/notes/7"), &target).await;
    let text = page_until(&app, &path, |t| t.contains("the mudflats were gold")).await;
    assert!(!text.contains("looked silver"), "{text}");
    assert_eq!(text.matches("Rosa Lind").count(), 1, "edited, not added");

    // Deleted there: 410, and told again.
    site.serve("/notes/7", StatusCode::GONE, "gone");
    send_mention(&app, &site.url("/notes/7"), &target).await;
    page_until(&app, &path, |t| !t.contains("Rosa Lind")).await;
}

#[sqlx::test]
async fn likes_and_reposts_are_counted_and_a_page_without_the_link_is_nothing(pool: PgPool) {
    let (addr, _state, app, (_, path)) = mentioning_blog(&pool).await;
    let target = format!("http://{addr}{path}");
    let site = Site::start().await;
    site.serve(
        "/likes/1",
        StatusCode::OK,
        &format!(
            r#"<div class="h-entry"><a class="p-author h-card" href="/">Ade</a> liked
               <a class="u-like-of" href="{target}">this</a></div>"#
        ),
    );
    site.serve(
        "/reposts/1",
        StatusCode::OK,
        &format!(
            r#"<div class="h-entry"><span class="p-author">Bo</span> reposted
               <div class="u-repost-of h-cite"><a class="u-url" href="{target}">the post</a></div></div>"#
        ),
    );
    site.serve(
        "/unrelated",
        StatusCode::OK,
        r#"<div class="h-entry"><p class="e-content">Nothing about that post.</p></div>"#,
    );
    for source in ["/likes/1", "/reposts/1", "/unrelated"] {
        let answer = send_mention(&app, &site.url(source), &target).await;
        assert_eq!(answer.status, StatusCode::ACCEPTED);
    }
    let text = page_until(&app, &path, |t| {
        t.contains("1 like and 1 repost from other sites")
    })
    .await;
    assert!(
        !text.contains("Ade"),
        "a like is counted, not a comment: {text}"
    );
    assert!(!text.contains("Nothing about that post"), "{text}");
    let states: Vec<(String, String)> =
        sqlx::query_as("select source, status from webmentions_received order by source")
            .fetch_all(&pool)
            .await
            .unwrap();
    let unrelated = states
        .iter()
        .find(|(s, _)| s.ends_with("/unrelated"))
        .unwrap();
    for _ in 0..50 {
        let status: String =
            sqlx::query_scalar("select status from webmentions_received where source = $1")
                .bind(&unrelated.0)
                .fetch_one(&pool)
                .await
                .unwrap();
        if status != "waiting" {
            assert_eq!(status, "unlinked");
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the page without the link was never checked");
}

#[sqlx::test]
async fn bad_webmentions_are_refused_with_the_reason(pool: PgPool) {
    let (addr, _state, app, (_, path)) = mentioning_blog(&pool).await;
    let target = format!("http://{addr}{path}");
    let cases = [
        (
            "not a url",
            target.as_str(),
            "source must be an http or https URL",
        ),
        (
            "ftp://files.example/a",
            target.as_str(),
            "source must be an http or https URL",
        ),
        (
            "https://other.example/a",
            "",
            "target must be an http or https URL",
        ),
        (
            "https://other.example/a",
            "https://elsewhere.example/post",
            "target is not a page of this blog",
        ),
        (
            target.as_str(),
            target.as_str(),
            "source and target are the same page",
        ),
    ];
    for (source, target, reason) in cases {
        let answer = send_mention(&app, source, target).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{source} → {target}"
        );
        assert!(answer.body.contains(reason), "{source}: {}", answer.body);
    }
    let missing = format!("http://{addr}/2026/01/no-such-post.html");
    let answer = send_mention(&app, "https://other.example/a", &missing).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        answer.body.contains("not a post of this blog"),
        "{}",
        answer.body
    );

    // Off: no endpoint at all.
    db::settings::update_fediverse(&pool, false, "blog", false, false)
        .await
        .unwrap();
    let off = common::app_with(
        &pool,
        Config {
            fediverse_allow_local: true,
            ..Config::with_base_url(&format!("http://{addr}"))
        },
    );
    let answer = send_mention(&off, "https://other.example/a", &target).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert!(!get(&off, &path).await.body.contains("rel=\"webmention\""));
}

#[sqlx::test]
async fn a_source_on_a_private_address_is_never_fetched(pool: PgPool) {
    // A blog on the public web: nothing local may be fetched.
    db::settings::update_fediverse(&pool, false, "blog", false, true)
        .await
        .unwrap();
    let (_, path) = add_post(
        &pool,
        Post::published("Harbour lights", OffsetDateTime::now_utc()),
    )
    .await;
    let state = AppState::start(
        pool.clone(),
        Config::with_base_url("https://blog.example"),
        common::secret(),
    );
    let app = folio::app(state);
    let site = Site::start().await;
    let target = format!("https://blog.example{path}");
    site.serve(
        "/reply",
        StatusCode::OK,
        &reply_page(&target, "Mallory", "Hi"),
    );
    let port = site.base.rsplit(':').next().unwrap().to_owned();
    for source in [site.url("/reply"), format!("http://localhost:{port}/reply")] {
        let answer = send_mention(&app, &source, &target).await;
        assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.body);
    }
    for _ in 0..50 {
        let rows: Vec<(String, Option<String>)> = sqlx::query_as(
            "select status, last_error from webmentions_received where status <> 'waiting'",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        if rows.len() == 2 {
            for (status, error) in rows {
                assert_eq!(status, "failed");
                assert!(error.unwrap_or_default().contains("no public address"));
            }
            assert!(site.fetched().is_empty(), "{:?}", site.fetched());
            assert!(!get(&app, &path).await.body.contains("Mallory"));
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the sources were never looked at");
}

#[sqlx::test]
async fn a_published_post_tells_the_pages_it_links_to(pool: PgPool) {
    let site = Site::start().await;
    site.serve_with_link(
        "/article",
        StatusCode::OK,
        Some(r#"</endpoint>; rel="webmention""#),
        "<p>An article.</p>",
    );
    site.serve(
        "/html-endpoint",
        StatusCode::OK,
        r#"<html><head><link rel="webmention" href="/endpoint"></head><body>Hi</body></html>"#,
    );
    site.serve("/no-endpoint", StatusCode::OK, "<p>No Webmention here.</p>");
    let body = format!(
        "See [the article]({}), [another]({}) and [a third]({}); [home](/).",
        site.url("/article"),
        site.url("/html-endpoint"),
        site.url("/no-endpoint")
    );
    db::settings::update_fediverse(&pool, false, "blog", false, true)
        .await
        .unwrap();
    let (post_id, path) = add_post(
        &pool,
        Post::published("Linking out", OffsetDateTime::now_utc()).body(&body),
    )
    .await;
    let (addr, _state, _) = serve_cached_with(&pool, |config| Config {
        fediverse_allow_local: true,
        ..config
    })
    .await;
    let source = format!("http://{addr}{path}");

    let mentions = site.wait_for_mentions(2).await;
    let mut targets: Vec<&str> = mentions.iter().map(|m| m["target"].as_str()).collect();
    targets.sort_unstable();
    assert_eq!(targets, [site.url("/article"), site.url("/html-endpoint")]);
    assert!(mentions.iter().all(|m| m["source"] == source));
    assert!(site.fetched().contains(&"/no-endpoint".to_owned()));

    // An edit that drops a link tells that page too (it will find the link gone).
    sqlx::query(
        "update posts set body_html = '<p>Nothing now.</p>', edited_at = now() where id = $1",
    )
    .bind(post_id)
    .execute(&pool)
    .await
    .unwrap();
    let mentions = site.wait_for_mentions(4).await;
    assert_eq!(mentions.len(), 4, "{mentions:?}");
}

fn peer(args: &[&str]) -> std::process::Output {
    common::python_peer("webmention.py", args, "")
}

#[sqlx::test]
async fn real_clients_find_the_endpoint_and_read_the_posts_microformats(pool: PgPool) {
    let (addr, _state, app, (_, path)) = mentioning_blog(&pool).await;
    let target = format!("http://{addr}{path}");
    let site = Site::start().await;
    site.serve(
        "/notes/9",
        StatusCode::OK,
        &reply_page(&target, "Tomasz Wren", "Sent by someone else's library."),
    );

    // ronkyuu finds the endpoint on the post's page and sends.
    let source = site.url("/notes/9");
    let (s, t) = (source.clone(), target.clone());
    let sent = tokio::task::spawn_blocking(move || peer(&["send", &s, &t]))
        .await
        .unwrap();
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&sent.stdout).trim(), "202");
    page_until(&app, &path, |t| {
        t.contains("Sent by someone else's library.")
    })
    .await;

    // mf2py reads the post as an h-entry.
    let url = target.clone();
    let parsed = tokio::task::spawn_blocking(move || peer(&["parse", &url]))
        .await
        .unwrap();
    assert!(
        parsed.status.success(),
        "{}",
        String::from_utf8_lossy(&parsed.stderr)
    );
    let document: Value = serde_json::from_slice(&parsed.stdout).unwrap();
    let entry = document["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["type"][0] == "h-entry")
        .expect("the post is an h-entry");
    let properties = &entry["properties"];
    assert_eq!(properties["name"][0], "Low tide at the harbour");
    assert_eq!(properties["url"][0], target.as_str());
    assert!(
        properties["published"][0]
            .as_str()
            .unwrap()
            .starts_with(&OffsetDateTime::now_utc().year().to_string())
    );
    assert_eq!(
        properties["author"][0]["properties"]["name"][0],
        "Casey Writer"
    );
    assert!(
        properties["content"][0]["value"]
            .as_str()
            .unwrap()
            .contains("The body of Low tide at the harbour."),
        "{properties}"
    );
    assert_eq!(
        document["rels"]["webmention"][0],
        format!("http://{addr}/webmention")
    );
}
