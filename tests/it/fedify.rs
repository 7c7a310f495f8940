//! Folio against a real ActivityPub implementation: a second instance built on Fedify (from npm,
//! `tests/peers/fedify-peer.mjs`, installed by `scripts/ensure-peers`), on 127.0.0.1 beside
//! Folio served over TCP. Its account follows the blog, gets the post, replies, likes, boosts,
//! edits and deletes its reply and unfollows; Fedify checks every signature of Folio's before
//! its inbox records an activity, so what it records is what it accepted.

use std::{
    io::BufRead,
    process::{Child, Command, Stdio},
    time::Duration,
};

use axum::body::Bytes;
use folio::{
    config::Config,
    db,
    outbound::{self, Outgoing, Reach},
};
use hyper::{HeaderMap, Method, StatusCode, header};
use serde_json::{Value, json};
use sqlx::PgPool;
use time::OffsetDateTime;

use crate::common::{self, Post, add_post, browser::serve_cached_with, get};

struct Peer {
    child: Child,
    base: String,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Peer {
    async fn start() -> Self {
        let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/target/peers/node");
        assert!(
            std::path::Path::new(folder)
                .join("node_modules/@fedify/fedify")
                .exists(),
            "run scripts/ensure-peers first (scripts/test does)"
        );
        // Beside its node_modules, where Node resolves its imports.
        let script = format!("{folder}/fedify-peer.mjs");
        std::fs::copy(
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/fedify-peer.mjs"),
            &script,
        )
        .unwrap();
        let mut child = Command::new("node")
            .arg(&script)
            .stdout(Stdio::piped())
            .spawn()
            .expect("node runs");
        let stdout = child.stdout.take().unwrap();
        let first = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            std::io::BufReader::new(stdout)
                .read_line(&mut line)
                .map(|_| line)
        });
        let first = tokio::time::timeout(Duration::from_secs(30), first)
            .await
            .expect("the peer starts")
            .unwrap()
            .expect("the peer says its port");
        let port = serde_json::from_str::<Value>(&first).unwrap()["port"]
            .as_u64()
            .unwrap();
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn request(&self, method: Method, path: &str, body: Option<Value>) -> outbound::Answer {
        let url = url::Url::parse(&format!("{}{path}", self.base)).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        outbound::send(Outgoing {
            method,
            url: &url,
            headers,
            body: body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string())),
            reach: Reach::Anywhere,
            deadline: Duration::from_secs(30),
            max_answer: 4 << 20,
        })
        .await
        .unwrap()
    }

    /// Has Ana do something to the blog.
    async fn control(&self, action: &str, mut input: Value, blog: &str) {
        input["blog"] = json!(blog);
        let answer = self
            .request(Method::POST, &format!("/control/{action}"), Some(input))
            .await;
        assert_eq!(
            answer.status,
            StatusCode::NO_CONTENT,
            "{action}: {}",
            String::from_utf8_lossy(&answer.body)
        );
    }

    /// Waits for an activity Ana's server accepted that `wanted` picks.
    async fn wait_for(&self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..100 {
            let answer = self.request(Method::GET, "/control/received", None).await;
            let received: Vec<Value> = serde_json::from_slice(&answer.body).unwrap();
            if let Some(found) = received.into_iter().find(&wanted) {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let answer = self.request(Method::GET, "/control/received", None).await;
        panic!(
            "Fedify never accepted {what}; it has {}",
            String::from_utf8_lossy(&answer.body)
        );
    }

    fn note(&self, n: u32) -> String {
        format!("{}/notes/{n}", self.base)
    }
}

async fn page_until(app: &folio::App, path: &str, seen: impl Fn(&str) -> bool) -> String {
    for _ in 0..100 {
        let text = get(app, path).await.text();
        if seen(&text) {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{path} never showed it: {}", get(app, path).await.text());
}

async fn followers(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from fediverse_followers where state = 'accepted'")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn a_fedify_instance_follows_replies_reacts_and_leaves(pool: PgPool) {
    db::settings::update_fediverse(&pool, true, "blog", false, false)
        .await
        .unwrap();
    let (addr, state, _) = serve_cached_with(&pool, |config| Config {
        fediverse_allow_local: true,
        ..config
    })
    .await;
    let app = folio::app(state);
    let blog = format!("http://{addr}/fediverse/blog");
    let peer = Peer::start().await;

    // Follow → Accept, signed by Folio and verified by Fedify.
    peer.control("follow", json!({}), &blog).await;
    let accept = peer.wait_for("the Accept", |a| a["type"] == "Accept").await;
    assert_eq!(accept["actor"], blog.as_str());
    assert_eq!(followers(&pool).await, 1);
    // Fedify 1.5 verifies draft-cavage signatures only: it refused the RFC 9421 one, took
    // the same Accept signed the old way, and Folio remembers to sign that way there.
    let old_way: i64 = sqlx::query_scalar("select count(*) from fediverse_cavage_instances")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(old_way, 1);

    // A post published now reaches her as an Article.
    let (_, path) = add_post(
        &pool,
        Post::published("Herons on the mudflats", OffsetDateTime::now_utc()).labels(&["Birds"]),
    )
    .await;
    let post_url = format!("http://{addr}{path}");
    let create = peer
        .wait_for("the post", |a| {
            a["type"] == "Create" && a["object"]["id"] == post_url.as_str()
        })
        .await;
    assert_eq!(create["object"]["type"], "Article");
    assert_eq!(create["object"]["name"], "Herons on the mudflats");

    // Her reply becomes a comment; her like and boost are counted.
    peer.control(
        "reply",
        json!({"n": 1, "inReplyTo": post_url, "content": "<p>Two of them stood there all morning.</p>"}),
        &blog,
    )
    .await;
    let text = page_until(&app, &path, |t| {
        t.contains("Two of them stood there all morning.")
    })
    .await;
    assert!(text.contains("Ana of the Fedify peer"), "{text}");
    assert!(text.contains("from the fediverse"), "{text}");
    peer.control("like", json!({"object": post_url}), &blog)
        .await;
    peer.control("boost", json!({"object": post_url}), &blog)
        .await;
    page_until(&app, &path, |t| {
        t.contains("1 like and 1 boost on the fediverse")
    })
    .await;

    // The blog answers her: the Note reaches her inbox, in reply to hers.
    let hers: i64 = sqlx::query_scalar("select id from comments where source = 'fediverse'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let editor = common::user_session(&app, &pool, "editor").await;
    let origin = format!("http://{addr}");
    let answered = common::post_form(
        &app,
        &format!("/admin/comments/{hers}/reply"),
        &[
            ("csrf", &editor.csrf),
            ("text", "They nest on the far bank every spring."),
        ],
        &[("cookie", &editor.cookie), ("origin", &origin)],
    )
    .await;
    assert_eq!(
        answered.status,
        StatusCode::SEE_OTHER,
        "{}",
        answered.text()
    );
    let note_url = peer.note(1);
    let answer = peer
        .wait_for("the blog's answer", |a| {
            a["type"] == "Create" && a["object"]["inReplyTo"] == note_url.as_str()
        })
        .await;
    assert!(
        answer["object"]["content"]
            .as_str()
            .unwrap()
            .contains("They nest on the far bank every spring.")
    );

    // She edits her reply, then deletes it.
    peer.control(
        "edit",
        json!({"n": 1, "inReplyTo": post_url, "content": "<p>Three of them, in fact.</p>"}),
        &blog,
    )
    .await;
    let text = page_until(&app, &path, |t| t.contains("Three of them, in fact.")).await;
    assert!(!text.contains("Two of them stood there"), "{text}");
    peer.control("delete", json!({"n": 1}), &blog).await;
    page_until(&app, &path, |t| !t.contains("Three of them, in fact.")).await;

    // And she leaves.
    peer.control("unfollow", json!({}), &blog).await;
    for _ in 0..100 {
        if followers(&pool).await == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the Undo(Follow) was not taken");
}

#[sqlx::test]
async fn a_fedify_account_follows_an_author_and_gets_their_posts_from_them(pool: PgPool) {
    db::settings::update_fediverse(&pool, true, "blog", false, false)
        .await
        .unwrap();
    let casey = common::author(&pool).await;
    assert!(
        db::fediverse::set_fediverse_name(&pool, casey, Some("casey"))
            .await
            .unwrap()
    );
    let (addr, _, _) = serve_cached_with(&pool, |config| Config {
        fediverse_allow_local: true,
        ..config
    })
    .await;
    let blog = format!("http://{addr}/fediverse/blog");
    let author = format!("http://{addr}/fediverse/authors/{casey}");
    let peer = Peer::start().await;

    // Fedify looks the author up, follows them and verifies the Accept with the author's key;
    // it follows the blog too.
    peer.control("follow", json!({"n": 1}), &author).await;
    let accept = peer
        .wait_for("the author's Accept", |a| {
            a["type"] == "Accept" && a["actor"] == author.as_str()
        })
        .await;
    assert_eq!(accept["object"]["object"], author.as_str());
    peer.control("follow", json!({"n": 2}), &blog).await;
    peer.wait_for("the blog's Accept", |a| {
        a["type"] == "Accept" && a["actor"] == blog.as_str()
    })
    .await;

    // The author's post comes from the author, and the blog shares it.
    let (_, path) = add_post(
        &pool,
        Post::published("Curlews at dusk", OffsetDateTime::now_utc()),
    )
    .await;
    let post_url = format!("http://{addr}{path}");
    let create = peer
        .wait_for("the author's Create", |a| {
            a["type"] == "Create" && a["object"]["id"] == post_url.as_str()
        })
        .await;
    assert_eq!(create["actor"], author.as_str());
    assert_eq!(create["object"]["attributedTo"], author.as_str());
    let announce = peer
        .wait_for("the blog's Announce", |a| a["type"] == "Announce")
        .await;
    assert_eq!(announce["actor"], blog.as_str());
    assert_eq!(announce["object"], post_url.as_str());
}
