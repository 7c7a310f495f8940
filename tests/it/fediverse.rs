//! The blog as a fediverse account, against a remote instance this test runs on 127.0.0.1: it
//! serves its actors (with their key) and records what arrives in its inboxes. Activities are
//! signed as Mastodon signs them; Folio's deliveries are verified with the key Folio publishes.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Json, Router,
    body::{Body, Bytes},
    extract::{Path, State},
    http::{HeaderMap, Method, Request, StatusCode},
    routing::{get, post},
};
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use folio::{App, config::Config, db, federation::signatures};
use rsa::{
    RsaPrivateKey,
    pkcs1v15::SigningKey,
    pkcs8::{EncodePublicKey, LineEnding},
    signature::{SignatureEncoding, Signer},
};
use serde_json::{Value, json};
use sha2::Sha256;
use sqlx::PgPool;
use time::OffsetDateTime;

use crate::common::{self, BASE_URL, Post, add_post, get_with, send};

const ACTOR: &str = "http://blog.test/fediverse/blog";

/// What reached one of the remote instance's inboxes.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Clone)]
struct RemoteState {
    base: String,
    public_pem: String,
    received: Arc<Mutex<Vec<Received>>>,
    actor_fetches: Arc<std::sync::atomic::AtomicUsize>,
    /// Plays a server that knows only draft-cavage signatures: RFC 9421 ones get a 401.
    refuses_rfc9421: Arc<std::sync::atomic::AtomicBool>,
    refused: Arc<std::sync::atomic::AtomicUsize>,
}

/// A fediverse instance of the test's own, every actor of it signing with one key.
struct Remote {
    base: String,
    key: RsaPrivateKey,
    received: Arc<Mutex<Vec<Received>>>,
    actor_fetches: Arc<std::sync::atomic::AtomicUsize>,
    refuses_rfc9421: Arc<std::sync::atomic::AtomicBool>,
    refused: Arc<std::sync::atomic::AtomicUsize>,
}

impl Remote {
    async fn start() -> Self {
        let key = folio::federation::keys::generate().unwrap();
        let public_pem = key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let actor_fetches = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let refuses_rfc9421 = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let refused = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let state = RemoteState {
            base: base.clone(),
            public_pem,
            received: received.clone(),
            actor_fetches: actor_fetches.clone(),
            refuses_rfc9421: refuses_rfc9421.clone(),
            refused: refused.clone(),
        };
        let router = Router::new()
            .route("/users/{name}", get(remote_actor))
            .route("/users/{name}/inbox", post(remote_inbox))
            .route("/inbox", post(remote_inbox))
            .route("/.well-known/webfinger", get(remote_webfinger))
            .with_state(state);
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self {
            base,
            key,
            received,
            actor_fetches,
            refuses_rfc9421,
            refused,
        }
    }

    fn actor(&self, name: &str) -> String {
        format!("{}/users/{name}", self.base)
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until an activity of `kind` has arrived; answers it.
    async fn wait_for(&self, kind: &str, count: usize) -> Vec<Received> {
        for _ in 0..200 {
            let found: Vec<Received> = self
                .received()
                .into_iter()
                .filter(|r| r.json()["type"] == kind)
                .collect();
            if found.len() >= count {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no {kind} arrived; got {:?}", self.received());
    }

    /// POSTs `activity` to Folio's inbox at `path`, signed by `signer` as Mastodon signs:
    /// `(request-target) host date digest content-type`, rsa-sha256.
    async fn deliver(&self, app: &App, path: &str, signer: &str, activity: &Value) -> common::Page {
        self.deliver_signed_with(app, path, signer, activity, &self.key)
            .await
    }

    async fn deliver_signed_with(
        &self,
        app: &App,
        path: &str,
        signer: &str,
        activity: &Value,
        key: &RsaPrivateKey,
    ) -> common::Page {
        send(app, self.signed_request(path, signer, activity, key)).await
    }

    fn signed_request(
        &self,
        path: &str,
        signer: &str,
        activity: &Value,
        key: &RsaPrivateKey,
    ) -> Request<Body> {
        let body = activity.to_string();
        let date = signatures::httpdate(OffsetDateTime::now_utc());
        let digest = signatures::digest(body.as_bytes());
        let content_type = "application/activity+json";
        let text = format!(
            "(request-target): post {path}\nhost: blog.test\ndate: {date}\ndigest: {digest}\ncontent-type: {content_type}"
        );
        let signature = SigningKey::<Sha256>::new(key.clone()).sign(text.as_bytes());
        let header = format!(
            r#"keyId="{signer}#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest content-type",signature="{}""#,
            BASE64.encode(signature.to_bytes())
        );
        Request::post(path)
            .header("host", "blog.test")
            .header("date", date)
            .header("digest", digest)
            .header("content-type", content_type)
            .header("signature", header)
            .body(Body::from(body))
            .unwrap()
    }
}

async fn remote_actor(
    State(state): State<RemoteState>,
    Path(name): Path<String>,
) -> ([(&'static str, &'static str); 1], Json<Value>) {
    state
        .actor_fetches
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let id = format!("{}/users/{name}", state.base);
    (
        [("content-type", "application/activity+json")],
        Json(json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": id,
            "type": "Person",
            "preferredUsername": name,
            "name": format!("{name} of the test instance"),
            "url": format!("{}/@{name}", state.base),
            "inbox": format!("{id}/inbox"),
            "endpoints": { "sharedInbox": format!("{}/inbox", state.base) },
            "publicKey": {
                "id": format!("{id}#main-key"),
                "owner": id,
                "publicKeyPem": state.public_pem,
            },
        })),
    )
}

/// Mastodon's answer for its own accounts, with the interaction page's template.
async fn remote_webfinger(
    State(state): State<RemoteState>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Json<Value>, StatusCode> {
    let resource = query.get("resource").ok_or(StatusCode::BAD_REQUEST)?;
    let user = resource
        .strip_prefix("acct:")
        .and_then(|acct| acct.split_once('@'))
        .map(|(user, _)| user.to_owned())
        .ok_or(StatusCode::BAD_REQUEST)?;
    if user == "nobody" {
        return Err(StatusCode::NOT_FOUND);
    }
    Ok(Json(json!({
        "subject": resource,
        "links": [
            { "rel": "self", "type": "application/activity+json", "href": format!("{}/users/{user}", state.base) },
            { "rel": "http://ostatus.org/schema/1.0/subscribe", "template": format!("{}/authorize_interaction?uri={{uri}}", state.base) },
        ],
    })))
}

async fn remote_inbox(
    State(state): State<RemoteState>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    if state
        .refuses_rfc9421
        .load(std::sync::atomic::Ordering::Relaxed)
        && headers.contains_key("signature-input")
    {
        state
            .refused
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return StatusCode::UNAUTHORIZED;
    }
    state.received.lock().unwrap().push(Received {
        path: uri.path().to_owned(),
        headers,
        body,
    });
    StatusCode::ACCEPTED
}

async fn federating_blog(pool: &PgPool, approve: bool) -> App {
    db::settings::update_fediverse(pool, true, "garden", approve, false)
        .await
        .unwrap();
    common::app_with(
        pool,
        Config {
            fediverse_allow_local: true,
            ..Config::with_base_url(BASE_URL)
        },
    )
}

async fn activity_json(app: &App, uri: &str) -> (StatusCode, Value) {
    let page = get_with(app, uri, &[("accept", "application/activity+json")]).await;
    let value = serde_json::from_str(&page.body).unwrap_or(Value::Null);
    (page.status, value)
}

fn follow(remote: &Remote, who: &str, n: u32) -> Value {
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/follows/{who}-{n}", remote.base),
        "type": "Follow",
        "actor": remote.actor(who),
        "object": ACTOR,
    })
}

/// Checks that Folio signed a delivery with the key its blog actor publishes.
async fn assert_signed_by_folio(app: &App, received: &Received) {
    assert_signed_by(app, ACTOR, received).await;
}

/// Checks that a delivery was signed by `actor`'s key, as `actor` publishes it, over what must
/// be covered.
async fn assert_signed_by(app: &App, actor: &str, received: &Received) {
    let path = actor.trim_start_matches("http://blog.test");
    let (_, document) = activity_json(app, path).await;
    let pem = document["publicKey"]["publicKeyPem"].as_str().unwrap();
    let parsed = signatures::parse(&received.headers).unwrap();
    assert_eq!(parsed.key_id, format!("{actor}#main-key"));
    signatures::check_coverage(
        &parsed,
        &received.headers,
        Some(&received.body),
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let host = received.headers["host"].to_str().unwrap();
    let url = url::Url::parse(&format!("http://{host}{}", received.path)).unwrap();
    signatures::verify(&parsed, pem, &Method::POST, &url, &received.headers)
        .unwrap_or_else(|e| panic!("signed by {actor}'s published key: {e}"));
}

#[sqlx::test]
async fn the_blog_is_found_by_its_handle_and_answers_as_an_actor(pool: PgPool) {
    let off = common::app(&pool);
    let page = get_with(
        &off,
        "/.well-known/webfinger?resource=acct:blog@blog.test",
        &[],
    )
    .await;
    assert_eq!(
        page.status,
        StatusCode::NOT_FOUND,
        "off until an admin turns it on"
    );

    let app = federating_blog(&pool, false).await;
    let page = get_with(
        &app,
        "/.well-known/webfinger?resource=acct:garden@blog.test",
        &[],
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.header("content-type")
            .starts_with("application/jrd+json")
    );
    let jrd: Value = serde_json::from_str(&page.body).unwrap();
    assert_eq!(jrd["subject"], "acct:garden@blog.test");
    assert_eq!(jrd["links"][0]["href"], ACTOR);
    let other = get_with(
        &app,
        "/.well-known/webfinger?resource=acct:someone@blog.test",
        &[],
    )
    .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);

    let (status, actor) = activity_json(&app, "/fediverse/blog").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(actor["type"], "Person");
    assert_eq!(actor["preferredUsername"], "garden");
    assert_eq!(actor["inbox"], format!("{ACTOR}/inbox"));
    assert_eq!(
        actor["endpoints"]["sharedInbox"],
        "http://blog.test/fediverse/inbox"
    );
    let pem = actor["publicKey"]["publicKeyPem"].as_str().unwrap();
    signatures::public_key(pem).expect("an RSA key peers can read");
    // A browser following the actor's id reaches the blog.
    let browser = get_with(&app, "/fediverse/blog", &[("accept", "text/html")]).await;
    assert_eq!(browser.status, StatusCode::SEE_OTHER);

    let page = get_with(&app, "/.well-known/nodeinfo", &[]).await;
    let links: Value = serde_json::from_str(&page.body).unwrap();
    assert_eq!(links["links"][0]["href"], "http://blog.test/nodeinfo/2.1");
    let page = get_with(&app, "/nodeinfo/2.1", &[]).await;
    let info: Value = serde_json::from_str(&page.body).unwrap();
    assert_eq!(info["software"]["name"], "folio");
    assert_eq!(info["protocols"][0], "activitypub");
}

#[sqlx::test]
async fn a_post_answers_as_an_article_and_its_page_links_it(pool: PgPool) {
    let app = federating_blog(&pool, false).await;
    let (_, path) = add_post(
        &pool,
        Post::published(
            "Pricking out the leeks",
            OffsetDateTime::now_utc() - time::Duration::hours(3),
        )
        .body("Thin them to a finger's width. [More](/p/about.html)")
        .labels(&["Leeks", "Spring sowing"]),
    )
    .await;
    let (status, article) = activity_json(&app, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(article["type"], "Article");
    assert_eq!(article["id"], format!("http://blog.test{path}"));
    assert_eq!(article["name"], "Pricking out the leeks");
    assert_eq!(article["attributedTo"], ACTOR);
    let content = article["content"].as_str().unwrap();
    assert!(content.contains("finger"), "{content}");
    assert!(
        content.contains("href=\"http://blog.test/p/about.html\""),
        "links made absolute: {content}"
    );
    let tags: Vec<&str> = article["tag"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["#Leeks", "#Springsowing"]);

    // The page itself is still the page, and says where its ActivityPub face is.
    let page = get_with(&app, &path, &[("accept", "text/html")]).await;
    assert!(page.header("content-type").starts_with("text/html"));
    assert!(page.body.contains(&format!(
        r#"<link rel="alternate" type="application/activity+json" title="Pricking out the leeks" href="http://blog.test{path}">"#
    )));
    // One URL, two answers chosen by Accept: a shared cache must keep them apart, whether the
    // page was rendered, came from Folio's cache, compressed or not, or is a 304.
    let browser = [
        ("accept", "text/html"),
        ("accept-encoding", "gzip, deflate, br, zstd"),
    ];
    let first = get_with(&app, &path, &browser).await;
    let again = get_with(&app, &path, &browser).await;
    let etag = again.header("etag").to_owned();
    let revalidated = get_with(
        &app,
        &path,
        &[("accept", "text/html"), ("if-none-match", etag.as_str())],
    )
    .await;
    assert_eq!(revalidated.status, StatusCode::NOT_MODIFIED);
    for page in [&first, &again] {
        assert_eq!(common::vary(&page.headers), ["accept", "accept-encoding"]);
    }
    for page in [&page, &revalidated] {
        assert!(common::vary(&page.headers).contains(&"accept".to_owned()));
    }
}

#[sqlx::test]
async fn a_follower_is_accepted_told_of_new_posts_and_can_leave(pool: PgPool) {
    let remote = Remote::start().await;
    let app = federating_blog(&pool, false).await;

    let page = remote
        .deliver(
            &app,
            "/fediverse/blog/inbox",
            &remote.actor("ana"),
            &follow(&remote, "ana", 1),
        )
        .await;
    assert_eq!(page.status, StatusCode::ACCEPTED, "{}", page.body);
    let accepts = remote.wait_for("Accept", 1).await;
    assert_eq!(accepts[0].path, "/users/ana/inbox");
    let accept = accepts[0].json();
    assert_eq!(accept["actor"], ACTOR);
    assert_eq!(accept["object"]["id"], follow(&remote, "ana", 1)["id"]);
    assert_signed_by_folio(&app, &accepts[0]).await;

    // A second follower on the same instance: one delivery to its shared inbox covers both.
    let page = remote
        .deliver(
            &app,
            "/fediverse/inbox",
            &remote.actor("ben"),
            &follow(&remote, "ben", 1),
        )
        .await;
    assert_eq!(page.status, StatusCode::ACCEPTED, "{}", page.body);
    remote.wait_for("Accept", 2).await;
    let (_, followers) = activity_json(&app, "/fediverse/blog/followers").await;
    assert_eq!(followers["totalItems"], 2);

    // A replayed Follow is acknowledged and not answered twice.
    let again = remote
        .deliver(
            &app,
            "/fediverse/blog/inbox",
            &remote.actor("ana"),
            &follow(&remote, "ana", 1),
        )
        .await;
    assert_eq!(again.status, StatusCode::ACCEPTED);

    let (_, path) = add_post(
        &pool,
        Post::published(
            "First broad beans",
            OffsetDateTime::now_utc() - time::Duration::minutes(1),
        ),
    )
    .await;
    let creates = remote.wait_for("Create", 1).await;
    assert_eq!(creates[0].path, "/inbox", "the shared inbox");
    let create = creates[0].json();
    assert_eq!(create["object"]["type"], "Article");
    assert_eq!(create["object"]["id"], format!("http://blog.test{path}"));
    assert_eq!(create["cc"][0], format!("{ACTOR}/followers"));
    assert_signed_by_folio(&app, &creates[0]).await;
    // An old post (published a week ago) is never pushed.
    add_post(
        &pool,
        Post::published(
            "An old note",
            OffsetDateTime::now_utc() - time::Duration::days(7),
        ),
    )
    .await;

    // Unpublished: followers are told, and the URL answers 410 with a Tombstone.
    sqlx::query("update posts set status = 'draft' where path = $1")
        .bind(&path)
        .execute(&pool)
        .await
        .unwrap();
    let deletes = remote.wait_for("Delete", 1).await;
    assert_eq!(
        deletes[0].json()["object"]["id"],
        format!("http://blog.test{path}")
    );
    let (status, gone) = activity_json(&app, &path).await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(gone["type"], "Tombstone");
    assert_eq!(
        remote
            .received()
            .iter()
            .filter(|r| r.json()["type"] == "Accept")
            .count(),
        2,
        "the replay was not answered"
    );
    assert_eq!(
        remote
            .received()
            .iter()
            .filter(|r| r.json()["type"] == "Create")
            .count(),
        1,
        "one Create for two followers on one instance, none for the old post"
    );

    // Ana leaves.
    let undo = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/undo/ana-1", remote.base),
        "type": "Undo",
        "actor": remote.actor("ana"),
        "object": follow(&remote, "ana", 1),
    });
    let page = remote
        .deliver(&app, "/fediverse/inbox", &remote.actor("ana"), &undo)
        .await;
    assert_eq!(page.status, StatusCode::ACCEPTED);
    let (_, followers) = activity_json(&app, "/fediverse/blog/followers").await;
    assert_eq!(followers["totalItems"], 1);
}

/// What another implementation (tests/peers/http_signatures.py) says of a request.
fn rfc9421_peer(
    command: &str,
    url: &str,
    headers: &HeaderMap,
    body: &[u8],
    key_id: &str,
    pem: &str,
) -> Value {
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(name, value)| (name.to_string(), json!(value.to_str().unwrap())))
        .collect();
    let request = json!({
        "method": "POST",
        "url": url,
        "headers": headers,
        "body": String::from_utf8_lossy(body),
        "key": pem,
        "key_id": key_id,
    });
    let output = common::python_peer("http_signatures.py", &[command], &request.to_string());
    assert!(
        output.status.success(),
        "http-message-signatures {command}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[sqlx::test]
async fn rfc_9421_signatures_are_read_and_written_as_another_implementation_does(pool: PgPool) {
    let remote = Remote::start().await;
    let app = federating_blog(&pool, false).await;
    let private_pem = rsa::pkcs8::EncodePrivateKey::to_pkcs8_pem(&remote.key, LineEnding::LF)
        .unwrap()
        .to_string();
    let key_id = format!("{}#main-key", remote.actor("ana"));
    let signed_follow = |n: u32, sent: Option<Value>| {
        let body = follow(&remote, "ana", n).to_string();
        let mut headers = HeaderMap::new();
        headers.insert("host", "blog.test".parse().unwrap());
        headers.insert("content-type", "application/activity+json".parse().unwrap());
        let signed = rfc9421_peer(
            "sign",
            "http://blog.test/fediverse/inbox",
            &headers,
            body.as_bytes(),
            &key_id,
            &private_pem,
        );
        let mut request = Request::post("/fediverse/inbox");
        for (name, value) in signed.as_object().unwrap() {
            request = request.header(name.as_str(), value.as_str().unwrap());
        }
        let sent = sent.map_or(body, |other| other.to_string());
        request.body(Body::from(sent)).unwrap()
    };

    // pyauth's http-message-signatures signs a Follow (Content-Digest, @method @authority
    // @target-uri): Folio takes it.
    let page = send(&app, signed_follow(1, None)).await;
    assert_eq!(page.status, StatusCode::ACCEPTED, "{}", page.body);
    // A body changed on the way no longer matches the signed digest.
    let page = send(&app, signed_follow(2, Some(follow(&remote, "ana", 3)))).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{}", page.body);
    assert!(page.body.contains("digest"), "{}", page.body);

    // Folio's Accept is signed the RFC 9421 way, and the library verifies it with the key
    // Folio publishes.
    let accepts = remote.wait_for("Accept", 1).await;
    let accept = &accepts[0];
    assert!(accept.headers.contains_key("signature-input"));
    assert!(accept.headers.contains_key("content-digest"));
    let (_, actor) = activity_json(&app, "/fediverse/blog").await;
    let folio_pem = actor["publicKey"]["publicKeyPem"].as_str().unwrap();
    let host = accept.headers["host"].to_str().unwrap();
    let covered = rfc9421_peer(
        "verify",
        &format!("http://{host}{}", accept.path),
        &accept.headers,
        &accept.body,
        &format!("{ACTOR}#main-key"),
        folio_pem,
    );
    let covered: Vec<&str> = covered
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(covered.contains(&r#""@target-uri""#), "{covered:?}");
    assert!(covered.contains(&r#""content-digest""#), "{covered:?}");
    assert_signed_by_folio(&app, accept).await;
}

#[sqlx::test]
async fn a_server_that_refuses_rfc_9421_is_asked_again_the_old_way_and_remembered(pool: PgPool) {
    let remote = Remote::start().await;
    remote
        .refuses_rfc9421
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let app = federating_blog(&pool, false).await;

    let page = remote
        .deliver(
            &app,
            "/fediverse/inbox",
            &remote.actor("ana"),
            &follow(&remote, "ana", 1),
        )
        .await;
    assert_eq!(page.status, StatusCode::ACCEPTED, "{}", page.body);
    let accepts = remote.wait_for("Accept", 1).await;
    assert!(!accepts[0].headers.contains_key("signature-input"));
    assert_signed_by_folio(&app, &accepts[0]).await;
    let refused = || remote.refused.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(refused(), 1);
    let remembered: Vec<String> =
        sqlx::query_scalar("select domain from fediverse_cavage_instances")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        remembered,
        vec![folio::federation::actors::domain_of(&remote.base).unwrap()]
    );

    // The next delivery there is signed the old way at once.
    let page = remote
        .deliver(
            &app,
            "/fediverse/inbox",
            &remote.actor("ben"),
            &follow(&remote, "ben", 1),
        )
        .await;
    assert_eq!(page.status, StatusCode::ACCEPTED, "{}", page.body);
    remote.wait_for("Accept", 2).await;
    assert_eq!(refused(), 1);
}

#[sqlx::test]
async fn a_post_another_worker_holds_a_moment_is_still_told_at_once(pool: PgPool) {
    let remote = Remote::start().await;
    let app = federating_blog(&pool, false).await;
    remote
        .deliver(
            &app,
            "/fediverse/inbox",
            &remote.actor("ana"),
            &follow(&remote, "ana", 1),
        )
        .await;
    remote.wait_for("Accept", 1).await;

    // A post that appears in two seconds, held by another transaction when it does (as the
    // mail worker holds a post it announces): the worker waits for it, not for its next idle
    // wake five minutes on.
    let (id, _) = add_post(
        &pool,
        Post::published(
            "Chitting the seed potatoes",
            OffsetDateTime::now_utc() + time::Duration::seconds(2),
        ),
    )
    .await;
    let mut other = pool.begin().await.unwrap();
    sqlx::query("select 1 from posts where id = $1 for update")
        .bind(id)
        .execute(&mut *other)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    other.commit().await.unwrap();
    let creates = remote.wait_for("Create", 1).await;
    assert!(creates[0].json()["object"]["name"] == "Chitting the seed potatoes");
}

#[sqlx::test]
async fn forged_mismatched_and_oversized_activities_are_refused(pool: PgPool) {
    let remote = Remote::start().await;
    let app = federating_blog(&pool, false).await;

    // Signed with another key than the one Ana's actor shows.
    let stranger = folio::federation::keys::generate().unwrap();
    let forged = remote
        .deliver_signed_with(
            &app,
            "/fediverse/inbox",
            &remote.actor("ana"),
            &follow(&remote, "ana", 1),
            &stranger,
        )
        .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED, "{}", forged.body);

    // Ana signs, but the activity says Ben.
    let page = remote
        .deliver(
            &app,
            "/fediverse/inbox",
            &remote.actor("ana"),
            &follow(&remote, "ben", 1),
        )
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{}", page.body);
    assert!(
        page.body.contains("not the one who signed"),
        "{}",
        page.body
    );

    // Unsigned.
    let request = Request::post("/fediverse/inbox")
        .header("host", "blog.test")
        .header("content-type", "application/activity+json")
        .body(Body::from(follow(&remote, "ana", 2).to_string()))
        .unwrap();
    assert_eq!(send(&app, request).await.status, StatusCode::UNAUTHORIZED);

    // Ten megabytes.
    let mut huge = follow(&remote, "ana", 3);
    huge["padding"] = Value::String("x".repeat(10 * 1024 * 1024));
    let page = remote
        .deliver(&app, "/fediverse/inbox", &remote.actor("ana"), &huge)
        .await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);

    // Nested past any sense.
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let request = Request::post("/fediverse/inbox")
        .header("host", "blog.test")
        .body(Body::from(deep))
        .unwrap();
    assert_eq!(send(&app, request).await.status, StatusCode::BAD_REQUEST);

    // A blocked instance is refused before anything of it is fetched.
    let domain = remote.base.trim_start_matches("http://").to_owned();
    db::fediverse::set_domain_block(&pool, &domain, "block")
        .await
        .unwrap();
    let page = remote
        .deliver(
            &app,
            "/fediverse/inbox",
            &remote.actor("ana"),
            &follow(&remote, "ana", 4),
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);

    assert!(
        remote.received().is_empty(),
        "nothing was answered: {:?}",
        remote.received()
    );
    let (_, followers) = activity_json(&app, "/fediverse/blog/followers").await;
    assert_eq!(followers["totalItems"], 0);
}

#[sqlx::test]
async fn followers_can_wait_for_an_admin_who_sees_where_they_come_from(pool: PgPool) {
    let remote = Remote::start().await;
    let app = federating_blog(&pool, true).await;
    let admin = common::user_session(&app, &pool, "admin").await;

    let page = remote
        .deliver(
            &app,
            "/fediverse/inbox",
            &remote.actor("ana"),
            &follow(&remote, "ana", 1),
        )
        .await;
    assert_eq!(page.status, StatusCode::ACCEPTED);
    let domain = remote.base.trim_start_matches("http://").to_owned();
    let page = admin.get(&app, "/admin/fediverse").await;
    let text = page.text();
    assert!(text.contains(&format!("@ana@{domain}")), "{text}");
    assert!(text.contains("Waiting for approval"), "{text}");
    assert!(text.contains("@garden@blog.test"), "{text}");

    let actor_id: i64 = sqlx::query_scalar("select id from fediverse_actors where uri = $1")
        .bind(remote.actor("ana"))
        .fetch_one(&pool)
        .await
        .unwrap();
    let page = admin
        .post(
            &app,
            &format!("/admin/fediverse/followers/{actor_id}/approve"),
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let accept = remote.wait_for("Accept", 1).await;
    assert_eq!(
        accept[0].json()["object"]["id"],
        follow(&remote, "ana", 1)["id"]
    );
    assert!(
        admin
            .get(&app, "/admin/fediverse")
            .await
            .text()
            .contains("Following")
    );

    let page = admin
        .post(
            &app,
            &format!("/admin/fediverse/followers/{actor_id}/remove"),
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    remote.wait_for("Reject", 1).await;

    // A bad name comes back with the message and what was typed.
    let page = admin
        .post(
            &app,
            "/admin/fediverse",
            &[("enabled", "true"), ("name", "Garden Notes!")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text().contains("Enter a name of up to 30 letters"));
    assert!(page.body.contains(r#"value="Garden Notes!""#));
}

#[tokio::test]
async fn fetches_refuse_this_machines_addresses_unless_allowed() {
    for address in [
        "http://127.0.0.1:9/actor",
        "http://[::1]:9/actor",
        "http://169.254.169.254/latest",
    ] {
        let url = url::Url::parse(address).unwrap();
        let answer = folio::outbound::send(folio::outbound::Outgoing {
            method: Method::GET,
            url: &url,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            reach: folio::outbound::Reach::Public { allow_local: false },
            deadline: Duration::from_secs(5),
            max_answer: 1024,
        })
        .await;
        assert!(
            matches!(answer, Err(folio::outbound::Error::Refused(_))),
            "{address}: {answer:?}"
        );
    }
}

fn note(remote: &Remote, who: &str, n: u32, in_reply_to: &str, html: &str, public: bool) -> Value {
    let id = format!("{}/users/{who}/statuses/{n}", remote.base);
    let to = if public {
        json!(["https://www.w3.org/ns/activitystreams#Public"])
    } else {
        json!([ACTOR])
    };
    json!({
        "id": id,
        "type": "Note",
        "attributedTo": remote.actor(who),
        "inReplyTo": in_reply_to,
        "content": html,
        "to": to,
        "cc": [format!("{}/users/{who}/followers", remote.base)],
        "published": "2026-12-07T10:00:00Z",
    })
}

fn wrap(remote: &Remote, who: &str, kind: &str, n: &str, object: Value) -> Value {
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/activities/{who}-{kind}-{n}", remote.base),
        "type": kind,
        "actor": remote.actor(who),
        "object": object,
    })
}

#[sqlx::test]
async fn replies_from_the_fediverse_become_comments_in_their_threads(pool: PgPool) {
    let remote = Remote::start().await;
    let app = federating_blog(&pool, false).await;
    let (_, path) = add_post(
        &pool,
        Post::published(
            "Mulching the asparagus bed",
            OffsetDateTime::now_utc() - time::Duration::hours(2),
        ),
    )
    .await;
    let post_url = format!("http://blog.test{path}");
    let (post_id,): (i64,) = sqlx::query_as("select id from posts where path = $1")
        .bind(&path)
        .fetch_one(&pool)
        .await
        .unwrap();
    common::add_comment(
        &pool,
        post_id,
        "Ivy",
        "Leaf mould works too.",
        "approved",
        OffsetDateTime::now_utc() - time::Duration::hours(1),
    )
    .await;

    // A Mastodon reply to the post: a mention of the blog, two paragraphs.
    let first = note(
        &remote,
        "ana",
        1,
        &post_url,
        r#"<p><span class="h-card"><a href="http://blog.test/fediverse/blog" class="u-url mention">@<span>garden</span></a></span> Straw or compost?</p><p>Mine is straw<br />since March.<script>alert(1)</script></p>"#,
        true,
    );
    let page = remote
        .deliver(
            &app,
            "/fediverse/inbox",
            &remote.actor("ana"),
            &wrap(&remote, "ana", "Create", "1", first.clone()),
        )
        .await;
    assert_eq!(page.status, StatusCode::ACCEPTED, "{}", page.body);
    let page = common::get(&app, &path).await;
    let text = page.text();
    assert!(
        text.contains("ana of the test instance from the fediverse"),
        "{text}"
    );
    assert!(text.contains("Straw or compost?"), "{text}");
    assert!(text.contains("Ivy "), "{text}");
    assert!(
        !text.contains("Ivy from the fediverse"),
        "only replies from there are marked"
    );
    assert!(
        page.body.contains("Mine is straw<br"),
        "line breaks kept: {}",
        page.body
    );
    assert!(!page.body.contains("alert(1)"));
    assert!(
        page.body
            .contains(&format!(r#"href="{}/@ana""#, remote.base)),
        "the profile is linked"
    );

    // Ben answers Ana's reply: it goes under hers.
    let second = note(
        &remote,
        "ben",
        1,
        first["id"].as_str().unwrap(),
        "<p>Compost, always.</p>",
        true,
    );
    remote
        .deliver(
            &app,
            "/fediverse/inbox",
            &remote.actor("ben"),
            &wrap(&remote, "ben", "Create", "1", second.clone()),
        )
        .await;
    let (ana_id, ben_parent): (i64, Option<i64>) = (
        sqlx::query_scalar("select id from comments where source_id = $1")
            .bind(first["id"].as_str().unwrap())
            .fetch_one(&pool)
            .await
            .unwrap(),
        sqlx::query_scalar("select parent_id from comments where source_id = $1")
            .bind(second["id"].as_str().unwrap())
            .fetch_one(&pool)
            .await
            .unwrap(),
    );
    assert_eq!(ben_parent, Some(ana_id));

    // The same Note again (a new activity id) is still one comment.
    remote
        .deliver(
            &app,
            "/fediverse/inbox",
            &remote.actor("ben"),
            &wrap(&remote, "ben", "Create", "1b", second.clone()),
        )
        .await;
    let count: i64 = sqlx::query_scalar("select count(*) from comments where source = 'fediverse'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 2);

    // A direct message is never a public comment.
    let private = note(
        &remote,
        "ana",
        2,
        &post_url,
        "<p>Just between us.</p>",
        false,
    );
    remote
        .deliver(
            &app,
            "/fediverse/inbox",
            &remote.actor("ana"),
            &wrap(&remote, "ana", "Create", "2", private),
        )
        .await;
    assert!(
        !common::get(&app, &path)
            .await
            .text()
            .contains("Just between us")
    );

    // Ben cannot edit Ana's reply; Ana can.
    let mut edited = first.clone();
    edited["content"] = json!("<p>Straw, I meant to say.</p>");
    remote
        .deliver(
            &app,
            "/fediverse/inbox",
            &remote.actor("ben"),
            &wrap(&remote, "ben", "Update", "x", edited.clone()),
        )
        .await;
    assert!(
        common::get(&app, &path)
            .await
            .text()
            .contains("Straw or compost?")
    );
    remote
        .deliver(
            &app,
            "/fediverse/inbox",
            &remote.actor("ana"),
            &wrap(&remote, "ana", "Update", "1", edited),
        )
        .await;
    let text = common::get(&app, &path).await.text();
    assert!(text.contains("Straw, I meant to say."), "{text}");

    // Ben deletes his reply.
    let tombstone = json!({ "id": second["id"], "type": "Tombstone" });
    remote
        .deliver(
            &app,
            "/fediverse/inbox",
            &remote.actor("ben"),
            &wrap(&remote, "ben", "Delete", "1", tombstone),
        )
        .await;
    assert!(
        !common::get(&app, &path)
            .await
            .text()
            .contains("Compost, always.")
    );

    // Likes and boosts are counted, and taken back.
    let like = wrap(&remote, "ana", "Like", "1", json!(post_url));
    remote
        .deliver(&app, "/fediverse/inbox", &remote.actor("ana"), &like)
        .await;
    let boost = wrap(&remote, "ben", "Announce", "1", json!(post_url));
    remote
        .deliver(&app, "/fediverse/inbox", &remote.actor("ben"), &boost)
        .await;
    let counts = |pool: PgPool| async move {
        sqlx::query_as::<_, (String, i64)>(
            "select kind, count(*) from fediverse_reactions group by kind order by kind",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
    };
    assert_eq!(
        counts(pool.clone()).await,
        [("announce".to_owned(), 1), ("like".to_owned(), 1)]
    );
    let text = common::get(&app, &path).await.text();
    assert!(
        text.contains("1 like and 1 boost on the fediverse"),
        "{text}"
    );
    let undo = wrap(&remote, "ana", "Undo", "like-1", like.clone());
    remote
        .deliver(&app, "/fediverse/inbox", &remote.actor("ana"), &undo)
        .await;
    assert_eq!(counts(pool.clone()).await, [("announce".to_owned(), 1)]);
    // The same Like sent again is a replay: acknowledged, not counted again.
    let again = remote
        .deliver(&app, "/fediverse/inbox", &remote.actor("ana"), &like)
        .await;
    assert_eq!(again.status, StatusCode::ACCEPTED);
    assert_eq!(counts(pool.clone()).await, [("announce".to_owned(), 1)]);

    // An approved reply edited into what the blog refuses is screened again, as a new comment
    // would be: it leaves the page for the spam folder.
    sqlx::query("update settings set blocked_terms = 'cheap pills'")
        .execute(&pool)
        .await
        .unwrap();
    let mut spammy = first.clone();
    spammy["content"] = json!("<p>Straw, and cheap pills at my shop.</p>");
    let page = remote
        .deliver(
            &app,
            "/fediverse/inbox",
            &remote.actor("ana"),
            &wrap(&remote, "ana", "Update", "2", spammy),
        )
        .await;
    assert_eq!(page.status, StatusCode::ACCEPTED, "{}", page.body);
    let text = common::get(&app, &path).await.text();
    assert!(!text.contains("cheap pills"), "{text}");
    assert!(!text.contains("Straw, I meant to say."), "{text}");
    let (status, reason): (String, Option<String>) = sqlx::query_as(
        "select status, status_reason from comments where body_source like '%cheap pills%'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(status, "spam");
    assert!(reason.unwrap_or_default().contains("cheap pills"));
}

#[sqlx::test]
async fn a_held_instances_replies_wait_for_a_moderator(pool: PgPool) {
    let remote = Remote::start().await;
    let app = federating_blog(&pool, false).await;
    let (_, path) = add_post(
        &pool,
        Post::published(
            "Frost on the kale",
            OffsetDateTime::now_utc() - time::Duration::hours(1),
        ),
    )
    .await;
    let domain = remote.base.trim_start_matches("http://").to_owned();
    db::fediverse::set_domain_block(&pool, &domain, "hold")
        .await
        .unwrap();
    let reply = note(
        &remote,
        "ana",
        1,
        &format!("http://blog.test{path}"),
        "<p>Sweeter after frost!</p>",
        true,
    );
    let page = remote
        .deliver(
            &app,
            "/fediverse/inbox",
            &remote.actor("ana"),
            &wrap(&remote, "ana", "Create", "1", reply),
        )
        .await;
    assert_eq!(page.status, StatusCode::ACCEPTED);
    assert!(
        !common::get(&app, &path)
            .await
            .text()
            .contains("Sweeter after frost")
    );
    let (status, reason): (String, Option<String>) =
        sqlx::query_as("select status, status_reason from comments where source = 'fediverse'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(status, "pending");
    assert_eq!(
        reason.as_deref(),
        Some("replies from this instance wait for a moderator")
    );
}

#[sqlx::test]
async fn the_blogs_answer_to_a_fediverse_reply_goes_back_to_its_author(pool: PgPool) {
    let remote = Remote::start().await;
    let app = federating_blog(&pool, false).await;
    let editor = common::user_session(&app, &pool, "editor").await;
    let (_, path) = add_post(
        &pool,
        Post::published(
            "Saving tomato seed",
            OffsetDateTime::now_utc() - time::Duration::hours(1),
        ),
    )
    .await;
    let question = note(
        &remote,
        "ana",
        7,
        &format!("http://blog.test{path}"),
        "<p>Do you ferment them first?</p>",
        true,
    );
    remote
        .deliver(
            &app,
            "/fediverse/inbox",
            &remote.actor("ana"),
            &wrap(&remote, "ana", "Create", "7", question.clone()),
        )
        .await;
    let asked: i64 = sqlx::query_scalar("select id from comments where source = 'fediverse'")
        .fetch_one(&pool)
        .await
        .unwrap();

    let page = editor
        .post(
            &app,
            &format!("/admin/comments/{asked}/reply"),
            &[("text", "Three days in a jar, then rinse.")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text());
    let creates = remote.wait_for("Create", 1).await;
    assert_eq!(creates[0].path, "/users/ana/inbox", "to the one it answers");
    assert_signed_by_folio(&app, &creates[0]).await;
    let answer = creates[0].json()["object"].clone();
    assert_eq!(answer["type"], "Note");
    assert_eq!(answer["inReplyTo"], question["id"]);
    assert_eq!(answer["attributedTo"], ACTOR);
    assert_eq!(answer["tag"][0]["href"], remote.actor("ana"));
    assert!(
        answer["content"]
            .as_str()
            .unwrap()
            .contains("Three days in a jar")
    );
    assert_eq!(
        answer["to"][0],
        "https://www.w3.org/ns/activitystreams#Public"
    );

    // Its URL answers with the same Note.
    let id = answer["id"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://blog.test")
        .to_owned();
    let (status, fetched) = activity_json(&app, &id).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched["id"], answer["id"]);

    // Taken away by a moderator: the fediverse is told.
    let answer_id = id.trim_start_matches("/comment/").to_owned();
    let page = editor
        .post(
            &app,
            "/admin/comments/moderate",
            &[("one", &format!("trash:{answer_id}")), ("tab", "approved")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let deletes = remote.wait_for("Delete", 1).await;
    assert_eq!(deletes[0].json()["object"]["id"], answer["id"]);
    let (status, _) = activity_json(&app, &id).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn readers_follow_and_reply_from_their_own_server_without_javascript(pool: PgPool) {
    let remote = Remote::start().await;
    let app = federating_blog(&pool, false).await;
    let (_, path) = add_post(
        &pool,
        Post::published("Lanterns on the quay", OffsetDateTime::now_utc()),
    )
    .await;
    let server = remote.base.trim_start_matches("http://").to_owned();

    let page = common::get(&app, &path).await;
    let text = page.text();
    assert!(text.contains("Follow on the fediverse"), "{text}");
    assert!(text.contains("@garden@blog.test"), "{text}");
    let reply_link = page
        .links_containing("/fediverse/interact?uri=")
        .into_iter()
        .next()
        .expect("the comment area offers replying from the fediverse");
    assert!(
        reply_link.contains("http%3A%2F%2Fblog.test%2F"),
        "{reply_link}"
    );

    // Follow: from the sidebar's form straight to the reader's server.
    let answer = common::post_form(
        &app,
        "/fediverse/interact",
        &[("handle", &format!("@ana@{server}"))],
        &[],
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
    assert_eq!(
        answer.header("location"),
        format!(
            "{}/authorize_interaction?uri=http%3A%2F%2Fblog.test%2Ffediverse%2Fblog",
            remote.base
        )
    );

    // Reply: the page names the post, and the reader lands on it on their server.
    let page = common::get(&app, &reply_link).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text()
            .contains("Reply to “Lanterns on the quay” from the fediverse")
    );
    let uri = format!("http://blog.test{path}");
    let answer = common::post_form(
        &app,
        "/fediverse/interact",
        &[("uri", &uri), ("handle", &format!("{}/@ana", remote.base))],
        &[],
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
    let location = answer.header("location").to_owned();
    assert!(location.starts_with(&format!("{}/authorize_interaction?uri=", remote.base)));
    let encoded: String = url::form_urlencoded::byte_serialize(uri.as_bytes()).collect();
    assert!(location.ends_with(&encoded), "{location}");

    // What cannot work comes back with the reason, and what was typed.
    let answer = common::post_form(
        &app,
        "/fediverse/interact",
        &[("uri", &uri), ("handle", "ana")],
        &[],
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.text().contains("Enter your fediverse address"));
    assert_eq!(answer.field("handle").as_deref(), Some("ana"));
    assert!(
        answer.text().contains("Reply to “Lanterns on the quay”"),
        "still the reply page"
    );
    let answer = common::post_form(
        &app,
        "/fediverse/interact",
        &[("handle", &format!("@nobody@{server}"))],
        &[],
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        answer
            .text()
            .contains(&format!("Your server ({server}) did not answer")),
        "{}",
        answer.text()
    );

    // Only the blog and its posts: not a way to send people anywhere.
    let answer = common::post_form(
        &app,
        "/fediverse/interact",
        &[
            ("uri", "https://elsewhere.example/x"),
            ("handle", &format!("@ana@{server}")),
        ],
        &[],
    )
    .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn a_flood_of_forged_activities_is_held_back_without_asking_its_server_each_time(
    pool: PgPool,
) {
    let remote = Remote::start().await;
    let app = federating_blog(&pool, false).await;
    let ana = remote.actor("ana");
    let page = remote
        .deliver(&app, "/fediverse/inbox", &ana, &follow(&remote, "ana", 1))
        .await;
    assert_eq!(page.status, StatusCode::ACCEPTED);

    // Signed with a key that is not ana's: refused, and her server is not asked for her key
    // again and again (it was fetched a moment ago).
    let forger = folio::federation::keys::generate().unwrap();
    let like = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/likes/1", remote.base),
        "type": "Like",
        "actor": ana,
        "object": "http://blog.test/2026/01/x.html",
    });
    let forged = remote.signed_request("/fediverse/inbox", &ana, &like, &forger);
    let (parts, _) = forged.into_parts();
    let body = like.to_string();
    let started = std::time::Instant::now();
    let mut refused = 0;
    let mut held_back = 0;
    let mut retry_after = String::new();
    for _ in 0..700 {
        let mut request = Request::post("/fediverse/inbox")
            .body(Body::from(body.clone()))
            .unwrap();
        *request.headers_mut() = parts.headers.clone();
        let page = send(&app, request).await;
        match page.status {
            StatusCode::UNAUTHORIZED => refused += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                held_back += 1;
                retry_after = page.header("retry-after").to_owned();
            }
            other => panic!("{other}: {}", page.body),
        }
    }
    // 600 at once (the follow took one), then 20 a second.
    let refilled = (started.elapsed().as_secs_f64() * 20.0).ceil() as usize;
    assert!(
        (599..=599 + refilled).contains(&refused),
        "{refused} refused, {held_back} held back in {:?}",
        started.elapsed()
    );
    assert!(held_back >= 100 - refilled, "{held_back}");
    assert_eq!(retry_after, "1");
    assert_eq!(
        remote
            .actor_fetches
            .load(std::sync::atomic::Ordering::Relaxed),
        1,
        "her key was fetched once, for the follow"
    );
}

#[sqlx::test]
async fn a_posts_replies_collection_holds_the_whole_conversation(pool: PgPool) {
    let remote = Remote::start().await;
    let app = federating_blog(&pool, false).await;
    let post = add_post(
        &pool,
        Post::published(
            "Pressing apples",
            OffsetDateTime::now_utc() - time::Duration::hours(1),
        ),
    )
    .await;
    let question = note(
        &remote,
        "ana",
        3,
        &format!("http://blog.test{}", post.1),
        "<p>Which press do you use?</p>",
        true,
    );
    remote
        .deliver(
            &app,
            "/fediverse/inbox",
            &remote.actor("ana"),
            &wrap(&remote, "ana", "Create", "3", question.clone()),
        )
        .await;
    common::send_comment(
        &app,
        &post,
        "Rui",
        "An old screw press & a lot of patience.",
    )
    .await;

    let (_, article) = activity_json(&app, &post.1).await;
    let replies_url = article["replies"].as_str().unwrap().to_owned();
    assert_eq!(
        replies_url,
        format!("http://blog.test/fediverse/posts/{}/replies", post.0)
    );
    let (status, replies) =
        activity_json(&app, replies_url.trim_start_matches("http://blog.test")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(replies["type"], "OrderedCollection");
    assert_eq!(replies["totalItems"], 2);
    let items = replies["orderedItems"].as_array().unwrap();
    assert_eq!(items[0], question["id"], "hers, by its id");
    let ours = &items[1];
    assert_eq!(ours["type"], "Note");
    assert_eq!(ours["attributedTo"], ACTOR);
    assert_eq!(ours["inReplyTo"], format!("http://blog.test{}", post.1));
    let content = ours["content"].as_str().unwrap();
    assert!(content.contains("<strong>Rui</strong>"), "{content}");
    assert!(
        content.contains("An old screw press &amp; a lot of patience."),
        "{content}"
    );

    // The Note's id answers with it.
    let id = ours["id"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://blog.test");
    let (status, again) = activity_json(&app, id).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["content"], ours["content"]);
    assert_eq!(again["@context"], "https://www.w3.org/ns/activitystreams");
    // Not a reply from elsewhere, and nothing of a post that is not public.
    let hers: i64 = sqlx::query_scalar("select id from comments where source = 'fediverse'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let (status, _) = activity_json(&app, &format!("/comment/{hers}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    sqlx::query("update posts set status = 'draft' where id = $1")
        .bind(post.0)
        .execute(&pool)
        .await
        .unwrap();
    let (status, _) = activity_json(&app, replies_url.trim_start_matches("http://blog.test")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = activity_json(&app, id).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn an_author_may_be_a_fediverse_account_of_their_own(pool: PgPool) {
    let remote = Remote::start().await;
    let app = federating_blog(&pool, false).await;
    let casey = common::add_user(&pool, "casey@example.test", "Casey Writer", "author").await;
    let session = common::log_in(&app, "casey@example.test").await;
    let author = format!("http://blog.test/fediverse/authors/{casey}");

    // Off by default: no handle, no actor.
    let page = get_with(
        &app,
        "/.well-known/webfinger?resource=acct:casey@blog.test",
        &[],
    )
    .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let (status, _) = activity_json(&app, &format!("/fediverse/authors/{casey}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The Account page offers it; a taken or malformed name comes back with what was typed.
    let page = session.get(&app, "/admin/account").await;
    assert!(
        page.text().contains("Your fediverse account"),
        "{}",
        page.text()
    );
    let page = session
        .post(&app, "/admin/account/fediverse", &[("name", "Garden")])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.text().contains("the blog's own account name"),
        "{}",
        page.text()
    );
    assert!(page.body.contains(r#"value="Garden""#));
    let page = session
        .post(&app, "/admin/account/fediverse", &[("name", "Casey W.")])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text().contains("Enter a name of up to 30 letters"));
    assert!(page.body.contains(r#"value="Casey W.""#));
    let page = session
        .post(&app, "/admin/account/fediverse", &[("name", "@casey")])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(
        session
            .get(&app, "/admin/account")
            .await
            .body
            .contains(r#"value="casey""#)
    );

    // Found by handle and by actor; an actor with a key of its own.
    let page = get_with(
        &app,
        "/.well-known/webfinger?resource=acct:casey@blog.test",
        &[],
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    let finger: Value = serde_json::from_str(&page.body).unwrap();
    assert_eq!(finger["subject"], "acct:casey@blog.test");
    assert_eq!(finger["links"][0]["href"], author.as_str());
    let page = get_with(
        &app,
        &format!("/.well-known/webfinger?resource={author}"),
        &[],
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    let (status, actor) = activity_json(&app, &format!("/fediverse/authors/{casey}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(actor["preferredUsername"], "casey");
    assert_eq!(actor["name"], "Casey Writer");
    assert_eq!(actor["publicKey"]["id"], format!("{author}#main-key"));
    assert_eq!(
        actor["endpoints"]["sharedInbox"],
        "http://blog.test/fediverse/inbox"
    );
    let (_, blog) = activity_json(&app, "/fediverse/blog").await;
    assert_ne!(
        actor["publicKey"]["publicKeyPem"], blog["publicKey"]["publicKeyPem"],
        "the author signs with a key of their own"
    );

    // Ana follows Casey; Ben follows the blog. Each is accepted by the one they follow.
    let follow_casey = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/follows/ana-casey", remote.base),
        "type": "Follow",
        "actor": remote.actor("ana"),
        "object": author,
    });
    let page = remote
        .deliver(
            &app,
            &format!("/fediverse/authors/{casey}/inbox"),
            &remote.actor("ana"),
            &follow_casey,
        )
        .await;
    assert_eq!(page.status, StatusCode::ACCEPTED, "{}", page.body);
    let accepts = remote.wait_for("Accept", 1).await;
    assert_eq!(accepts[0].json()["actor"], author.as_str());
    assert_eq!(accepts[0].json()["object"]["object"], author.as_str());
    assert_signed_by(&app, &author, &accepts[0]).await;
    let page = remote
        .deliver(
            &app,
            "/fediverse/inbox",
            &remote.actor("ben"),
            &follow(&remote, "ben", 1),
        )
        .await;
    assert_eq!(page.status, StatusCode::ACCEPTED);
    remote.wait_for("Accept", 2).await;
    let (_, followers) =
        activity_json(&app, &format!("/fediverse/authors/{casey}/followers")).await;
    assert_eq!(followers["totalItems"], 1);
    let (_, followers) = activity_json(&app, "/fediverse/blog/followers").await;
    assert_eq!(followers["totalItems"], 1);

    // The admin sees whom each follows.
    let admin = common::user_session(&app, &pool, "admin").await;
    let text = admin.get(&app, "/admin/fediverse").await.text();
    assert!(text.contains("@casey@blog.test"), "{text}");
    assert!(text.contains("The blog"), "{text}");

    // Casey's post: created by Casey for Casey's followers, announced by the blog to its own.
    let (post_id, path) = add_post(
        &pool,
        Post::published(
            "Sowing by the moon",
            OffsetDateTime::now_utc() - time::Duration::minutes(1),
        ),
    )
    .await;
    let post_url = format!("http://blog.test{path}");
    let creates = remote.wait_for("Create", 1).await;
    let create = creates[0].json();
    assert_eq!(create["actor"], author.as_str());
    assert_eq!(create["object"]["attributedTo"], author.as_str());
    assert_eq!(create["cc"][0], format!("{author}/followers"));
    assert_signed_by(&app, &author, &creates[0]).await;
    let announces = remote.wait_for("Announce", 1).await;
    let announce = announces[0].json();
    assert_eq!(announce["actor"], ACTOR);
    assert_eq!(announce["object"], post_url.as_str());
    assert_signed_by_folio(&app, &announces[0]).await;
    let (_, article) = activity_json(&app, &path).await;
    assert_eq!(article["attributedTo"], author.as_str());
    let (_, outbox) = activity_json(&app, &format!("/fediverse/authors/{casey}/outbox")).await;
    assert_eq!(outbox["totalItems"], 1);
    assert_eq!(outbox["orderedItems"][0]["object"]["id"], post_url.as_str());

    // Its posts went out from Casey: the account stays (renaming is fine).
    let page = session
        .post(&app, "/admin/account/fediverse", &[("name", "")])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text().contains("so it stays"), "{}", page.text());

    // An edit comes from Casey, to Casey's followers and the blog's (one shared inbox here).
    sqlx::query(
        "update posts set body_html = '<p>Sown at last.</p>', edited_at = now() where id = $1",
    )
    .bind(post_id)
    .execute(&pool)
    .await
    .unwrap();
    let updates = remote.wait_for("Update", 1).await;
    assert_eq!(updates[0].json()["actor"], author.as_str());
    assert_signed_by(&app, &author, &updates[0]).await;

    // Ana leaves Casey; Ben still follows the blog.
    let undo = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/undo/ana-casey", remote.base),
        "type": "Undo",
        "actor": remote.actor("ana"),
        "object": follow_casey,
    });
    let page = remote
        .deliver(&app, "/fediverse/inbox", &remote.actor("ana"), &undo)
        .await;
    assert_eq!(page.status, StatusCode::ACCEPTED);
    let (_, followers) =
        activity_json(&app, &format!("/fediverse/authors/{casey}/followers")).await;
    assert_eq!(followers["totalItems"], 0);
    let (_, followers) = activity_json(&app, "/fediverse/blog/followers").await;
    assert_eq!(followers["totalItems"], 1);
}

#[sqlx::test]
async fn a_reply_that_could_not_be_stored_is_taken_when_sent_again(pool: PgPool) {
    let remote = Remote::start().await;
    let app = federating_blog(&pool, false).await;
    let (_, path) = add_post(
        &pool,
        Post::published(
            "Lifting the dahlias",
            OffsetDateTime::now_utc() - time::Duration::hours(1),
        ),
    )
    .await;
    let post_url = format!("http://blog.test{path}");
    let create = wrap(
        &remote,
        "ana",
        "Create",
        "1",
        note(
            &remote,
            "ana",
            1,
            &post_url,
            "<p>Mine overwinter in dry sand.</p>",
            true,
        ),
    );

    // The database refuses comments for a moment: the reply is answered with an error.
    sqlx::raw_sql(
        "create function refuse_comments() returns trigger language plpgsql as $$
         begin raise exception 'the disk is full'; end $$;
         create trigger refuse_comments before insert on comments
             for each row execute function refuse_comments();",
    )
    .execute(&pool)
    .await
    .unwrap();
    let page = remote
        .deliver(&app, "/fediverse/inbox", &remote.actor("ana"), &create)
        .await;
    assert!(page.status.is_server_error(), "{}", page.status);
    sqlx::query("drop trigger refuse_comments on comments")
        .execute(&pool)
        .await
        .unwrap();

    // Its server sends it again: not a replay, the reply is taken.
    let page = remote
        .deliver(&app, "/fediverse/inbox", &remote.actor("ana"), &create)
        .await;
    assert_eq!(page.status, StatusCode::ACCEPTED, "{}", page.body);
    let text = common::get(&app, &path).await.text();
    assert!(text.contains("Mine overwinter in dry sand."), "{text}");
}
