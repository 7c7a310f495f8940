//! The layer stack and what operators rely on: caching headers, security headers, assets,
//! compression, health checks, and 503 pages while the database is away.

use std::time::Duration;

use crate::common::{Post, Proxy, add_comment, add_post, app, app_with, get, get_with, send};
use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use folio::{AppState, config::Config};
use sqlx::{
    PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};
use time::macros::datetime;

#[sqlx::test]
async fn public_pages_carry_an_etag_and_answer_304(pool: PgPool) {
    let (_, path) = add_post(
        &pool,
        Post::published("Cached", datetime!(2022-02-02 10:00 UTC)),
    )
    .await;
    let app = app(&pool);
    for uri in ["/", path.as_str(), "/2022/", "/2022/02/"] {
        let first = get(&app, uri).await;
        let etag = first.header("etag").to_owned();
        assert!(etag.starts_with("W/\""), "{uri}: {etag}");
        assert_eq!(first.header("cache-control"), "no-cache");
        let again = send(
            &app,
            Request::get(uri)
                .header("if-none-match", &etag)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{uri}");
        assert!(again.body.is_empty());
        assert_eq!(again.header("etag"), etag);
        let stale = send(
            &app,
            Request::get(uri)
                .header("if-none-match", "W/\"other\"")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(stale.status, StatusCode::OK);
    }
    // A change to the page changes its tag.
    let before = get(&app, "/").await.header("etag").to_owned();
    add_post(
        &pool,
        Post::published("Another", datetime!(2022-02-03 10:00 UTC)),
    )
    .await;
    assert_ne!(get(&app, "/").await.header("etag"), before);
}

#[sqlx::test]
async fn every_response_carries_security_headers(pool: PgPool) {
    let app = app(&pool);
    for uri in ["/", "/missing", "/healthz"] {
        let page = get(&app, uri).await;
        let csp = page.header("content-security-policy");
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{uri}: {csp}"
        );
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(page.header("x-content-type-options"), "nosniff");
        assert_eq!(
            page.header("referrer-policy"),
            "strict-origin-when-cross-origin"
        );
        assert!(!page.header("x-request-id").is_empty());
    }
}

#[sqlx::test]
async fn assets_are_fingerprinted_and_cached_for_a_year(pool: PgPool) {
    let app = app(&pool);
    let home = get(&app, "/").await;
    let (css, site): (Vec<String>, Vec<String>) = home
        .links_containing(".css")
        .into_iter()
        .partition(|url| !url.starts_with("/assets/site/"));
    // The embedded stylesheet, and the blog's own (theme settings: see tests/it/theme.rs).
    assert_eq!(css.len(), 1);
    assert_eq!(site.len(), 1);
    assert!(
        css[0].starts_with("/assets/folio.") && css[0].len() > "/assets/folio..css".len() + 8,
        "{css:?}"
    );
    let file = get(&app, &css[0]).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.header("content-type"), "text/css; charset=utf-8");
    assert_eq!(
        file.header("cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert!(file.body.contains("prefers-color-scheme: dark"));

    let old = get(&app, "/assets/folio.0123456789.css").await;
    assert_eq!(
        old.status,
        StatusCode::OK,
        "an old fingerprint still gets today's file"
    );
    assert_eq!(old.header("cache-control"), "public, max-age=300");
    for missing in [
        "/assets/nothing.css",
        "/assets/..%2F..%2FCargo.toml",
        "/assets/",
    ] {
        assert_eq!(
            get(&app, missing).await.status,
            StatusCode::NOT_FOUND,
            "{missing}"
        );
    }
}

#[sqlx::test]
async fn pages_are_compressed_and_light(pool: PgPool) {
    for n in 0..10 {
        let body = "A paragraph of ordinary length about the garden and the weather. ".repeat(25);
        add_post(
            &pool,
            Post::published(
                &format!("Post {n}"),
                datetime!(2022-03-01 10:00 UTC) + time::Duration::days(n),
            )
            .body(&body),
        )
        .await;
    }
    let app = app(&pool);
    let home = send(
        &app,
        Request::get("/")
            .header("accept-encoding", "br")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(home.header("content-encoding"), "br");
    let gz = send(
        &app,
        Request::get("/")
            .header("accept-encoding", "gzip")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(gz.header("content-encoding"), "gzip");
    let css = get(&app, &get(&app, "/").await.links_containing(".css")[0]).await;
    let css_gz = send(
        &app,
        Request::get(get(&app, "/").await.links_containing(".css")[0].as_str())
            .header("accept-encoding", "gzip")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(css.body.len() > css_gz.body.len());
    // The home page with ten posts and its stylesheet weigh under 15 KB compressed.
    let weight = gz.body.len() + css_gz.body.len();
    assert!(weight < 15 * 1024, "{weight} bytes");
}

#[sqlx::test]
async fn health_and_readiness(pool: PgPool) {
    let app = app(&pool);
    let health = get(&app, "/healthz").await;
    assert_eq!(
        (health.status, health.body.as_str()),
        (StatusCode::OK, "ok\n")
    );
    let ready = get(&app, "/readyz").await;
    assert_eq!(
        (ready.status, ready.body.as_str()),
        (StatusCode::OK, "ready\n")
    );
}

#[sqlx::test]
async fn bad_requests_get_clear_pages_not_500s(pool: PgPool) {
    let app = app(&pool);
    let bad = get(&app, "/search?updated-max=yesterday").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.text().contains("That page link is not valid."),
        "{}",
        bad.text()
    );
    let bad = get(&app, "/search?updated-max=2022-01-01T00:00:00Z&cursor-id=x").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let post = send(&app, Request::post("/").body(Body::empty()).unwrap()).await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(post.text().contains("Method not allowed"));
    let huge = send(
        &app,
        Request::post("/")
            .header("content-length", "13000000")
            .body(Body::from(vec![b'a'; 13_000_000]))
            .unwrap(),
    )
    .await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(huge.text().contains("larger than this blog accepts"));

    // Hostile forms, queries and paths: each a clear 4xx, never a 500.
    let (_, path) = add_post(
        &pool,
        Post::published("Target", datetime!(2022-03-03 10:00 UTC)),
    )
    .await;
    let form = |body: &'static [u8]| {
        Request::post(path.as_str())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    };
    let hostile = [
        ("bad percent-encoding", form(b"name=%ZZ&comment=%")),
        ("invalid UTF-8", form(b"name=\xff\xfe&comment=\xc3\x28")),
        ("encoded invalid UTF-8", form(b"name=%FF%FE&comment=%C3%28")),
        (
            "a field given twice",
            form(b"name=a&name=b&comment=c&comment=d"),
        ),
        (
            "the wrong content type",
            Request::post(path.as_str())
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .unwrap(),
        ),
        (
            "a login form with invalid UTF-8",
            Request::post("/admin/login")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(&b"email=%FF&password=\xff"[..]))
                .unwrap(),
        ),
    ];
    for (name, request) in hostile {
        let page = send(&app, request).await;
        assert!(page.status.is_client_error(), "{name}: {}", page.status);
    }
    // Undecodable query bytes become U+FFFD, as browsers do: a search for them finds nothing.
    let search = get(&app, "/search?q=%FF%FE").await;
    assert_eq!(search.status, StatusCode::OK);
    assert!(search.text().contains("No posts match"));
    for traversal in [
        "/assets/..%2f..%2fCargo.toml",
        "/assets/%2e%2e/Cargo.toml",
        "/assets/../Cargo.toml",
        "/media/..%2f..%2f..%2fetc%2fpasswd",
        "/media/%00.png",
        "/p/..%2f..%2fetc%2fpasswd.html",
        "/2022/03/..%2f..%2f..%2fetc%2fpasswd",
    ] {
        let page = get(&app, traversal).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{traversal}");
        assert!(!page.body.contains("root:"), "{traversal}");
    }
}

#[sqlx::test]
async fn metrics_need_their_token_and_count_requests_by_route(pool: PgPool) {
    let now = time::OffsetDateTime::now_utc();
    let (post_id, path) = add_post(
        &pool,
        Post::published("Counted", datetime!(2022-02-02 10:00 UTC)),
    )
    .await;
    add_comment(&pool, post_id, "Ann", "Counted too.", "approved", now).await;
    add_comment(&pool, post_id, "Bot", "Buy now", "spam", now).await;
    assert_eq!(
        get(&app(&pool), "/metrics").await.status,
        StatusCode::NOT_FOUND,
        "no token, no metrics"
    );

    let app = app_with(
        &pool,
        Config {
            metrics_token: Some("scrape-me".into()),
            ..Config::with_base_url(crate::common::BASE_URL)
        },
    );
    get(&app, "/").await;
    get(&app, &path).await;
    get(&app, "/no/such/page/anywhere").await;
    assert_eq!(get(&app, "/metrics").await.status, StatusCode::UNAUTHORIZED);
    let wrong = get_with(&app, "/metrics", &[("authorization", "Bearer scrape-you")]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);

    let metrics = get_with(&app, "/metrics", &[("authorization", "Bearer scrape-me")]).await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(
        metrics
            .header("content-type")
            .starts_with("text/plain; version=0.0.4")
    );
    for line in [
        "folio_http_requests_total{route=\"/\",method=\"GET\",status=\"200\"} 1",
        "folio_http_requests_total{route=\"/{year}/{month}/{file}\",method=\"GET\",status=\"200\"} 1",
        "folio_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1",
        "folio_http_requests_total{route=\"/metrics\",method=\"GET\",status=\"401\"} 2",
        "folio_http_request_duration_seconds_bucket{route=\"/\",le=\"+Inf\"} 1",
        "folio_http_request_duration_seconds_count{route=\"/\"} 1",
        "folio_comments{status=\"approved\"} 1",
        "folio_comments{status=\"spam\"} 1",
        "folio_comments{status=\"pending\"} 0",
        "folio_db_up 1",
        "# TYPE folio_db_pool_max_connections gauge",
        "# TYPE process_resident_memory_bytes gauge",
        "# TYPE folio_http_request_duration_seconds histogram",
    ] {
        assert!(
            metrics.body.contains(line),
            "{line} missing from:\n{}",
            metrics.body
        );
    }
}

#[sqlx::test]
async fn comments_sent_through_a_database_outage_are_refused_or_kept_never_lost(
    pool_options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let direct = pool_options
        .clone()
        .connect_with(connect.clone())
        .await
        .unwrap();
    let (post_id, path) = add_post(
        &direct,
        Post::published("Under load", datetime!(2022-04-04 10:00 UTC)),
    )
    .await;
    let mut proxy = Proxy::in_front_of(&connect).await;
    let pool = proxy.pool(&connect).await;
    let app = folio::app(AppState::start(
        pool,
        Config {
            comment_rate_limit: 0,
            ..Config::with_base_url(crate::common::BASE_URL)
        },
        crate::common::secret(),
    ));

    // Six commenters post without pause while the database goes away and comes back.
    let started = std::time::Instant::now();
    let mut load = tokio::task::JoinSet::new();
    for worker in 0..6 {
        let (app, path) = (app.clone(), path.clone());
        load.spawn(async move {
            let mut seen = Vec::new();
            for n in 0.. {
                if started.elapsed() > Duration::from_millis(3500) {
                    break;
                }
                let token = folio::auth::form_token::issue(
                    &crate::common::secret(),
                    post_id,
                    time::OffsetDateTime::now_utc().unix_timestamp() - 10,
                );
                let text = format!("Comment {worker}-{n}");
                let sent = std::time::Instant::now();
                let page = crate::common::post_form(
                    &app,
                    &path,
                    &[("token", &token), ("name", "Loader"), ("comment", &text)],
                    &[],
                )
                .await;
                let id = (page.status == StatusCode::SEE_OTHER).then(|| {
                    page.header("location")
                        .rsplit("#c")
                        .next()
                        .unwrap()
                        .parse::<i64>()
                        .unwrap()
                });
                if page.status == StatusCode::SERVICE_UNAVAILABLE {
                    assert_eq!(page.field("comment").as_deref(), Some(text.as_str()));
                    // A refused comment waits a moment, as a person would.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                seen.push((page.status, id, sent.elapsed(), started.elapsed()));
            }
            seen
        });
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    proxy.cut().await;
    let cut_at = started.elapsed();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    proxy.restore().await;
    let back_at = started.elapsed();

    let mut seen = Vec::new();
    while let Some(worker) = load.join_next().await {
        seen.extend(worker.unwrap());
    }
    for (status, _, took, _) in &seen {
        assert!(
            *status == StatusCode::SEE_OTHER || *status == StatusCode::SERVICE_UNAVAILABLE,
            "{status}"
        );
        assert!(*took < Duration::from_secs(3), "an answer took {took:?}");
    }
    let refused = seen
        .iter()
        .filter(|s| s.0 == StatusCode::SERVICE_UNAVAILABLE)
        .count();
    assert!(refused > 0, "the outage was felt");
    assert!(
        seen.iter().any(|s| s.1.is_some() && s.3 < cut_at),
        "comments were taken before the outage"
    );
    assert!(
        seen.iter().any(|s| s.1.is_some() && s.3 > back_at),
        "comments were taken again after it, without a restart"
    );
    let acknowledged: Vec<i64> = seen.iter().filter_map(|s| s.1).collect();
    let stored: i64 = sqlx::query_scalar("select count(*) from comments where id = any($1)")
        .bind(&acknowledged)
        .fetch_one(&direct)
        .await
        .unwrap();
    assert_eq!(
        stored,
        acknowledged.len() as i64,
        "0 acknowledged comments lost"
    );
}

#[sqlx::test]
async fn a_database_outage_gives_503_pages_and_folio_recovers_by_itself(
    pool_options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let direct = pool_options
        .clone()
        .connect_with(connect.clone())
        .await
        .unwrap();
    add_post(
        &direct,
        Post::published("Still here", datetime!(2022-04-04 10:00 UTC)),
    )
    .await;
    let mut proxy = Proxy::in_front_of(&connect).await;
    let pool = proxy.pool(&connect).await;
    let app = folio::app(AppState::start(
        pool,
        Config::with_base_url("http://blog.test"),
        crate::common::secret(),
    ));
    assert!(get(&app, "/").await.text().contains("Still here"));

    proxy.cut().await;
    let started = std::time::Instant::now();
    let down = get(&app, "/").await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the outage is reported quickly"
    );
    assert_eq!(down.header("retry-after"), "5");
    let text = down.text();
    assert!(
        text.contains("Temporarily unavailable") && text.contains("Folio"),
        "{text}"
    );
    assert_eq!(
        get(&app, "/readyz").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        get(&app, "/healthz").await.status,
        StatusCode::OK,
        "the process itself is alive"
    );

    proxy.restore().await;
    let mut recovered = false;
    for _ in 0..50 {
        let page = get(&app, "/").await;
        if page.status == StatusCode::OK {
            assert!(page.text().contains("Still here"));
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "Folio serves again once the database is back");
    assert_eq!(get(&app, "/readyz").await.status, StatusCode::OK);
}

#[sqlx::test]
async fn a_database_on_this_machine_is_spoken_to_without_tls_unless_the_url_asks(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    // The tests' server, with its user and password, and this test's database.
    let server = std::env::var("DATABASE_URL").expect("DATABASE_URL names the tests' server");
    let (server, _) = server.rsplit_once('/').unwrap();
    let url = format!("{server}/{}", connect.get_database().unwrap());
    let host = connect.get_host();
    if !["127.0.0.1", "localhost", "::1"].contains(&host) {
        eprintln!("the tests' PostgreSQL is not on this machine ({host}): nothing to check");
        return;
    }
    async fn over_tls(url: &str) -> bool {
        let pool = folio::db::connect(url).await.unwrap();
        sqlx::query_scalar("select ssl from pg_stat_ssl where pid = pg_backend_pid()")
            .fetch_one(&pool)
            .await
            .unwrap()
    }
    let offered: String = sqlx::query_scalar("show ssl")
        .fetch_one(&folio::db::connect(&url).await.unwrap())
        .await
        .unwrap();
    assert!(!over_tls(&url).await, "loopback: TLS protects nothing here");
    assert_eq!(
        over_tls(&format!("{url}?sslmode=prefer")).await,
        offered == "on",
        "asked for, TLS is used whenever the server offers it"
    );
}

#[test]
fn the_backup_recipe_restores_the_same_blog() {
    // pg_dump → a fresh database → pg_restore, exactly as the README says; then every table
    // and the public pages of both blogs are compared.
    let mut server = url::Url::parse(&std::env::var("DATABASE_URL").unwrap()).unwrap();
    server.set_path("");
    let output = std::process::Command::new("scripts/backup-check")
        .arg(env!("CARGO_BIN_EXE_folio"))
        .env("FOLIO_BACKUP_CHECK_URL", server.as_str())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("restored blog is the same"),
        "{stderr}"
    );
}

/// Each sub-router has its own stack (`http::router`): the limits of one do not leak into
/// another. Bodies over a stack's limit are refused with 413 before any handler reads them;
/// under it, the request reaches its handler (which refuses a forged form with 403).
#[sqlx::test]
async fn each_router_stack_holds_its_own_body_limit(pool: PgPool) {
    let app = app_with(
        &pool,
        Config {
            import_max_bytes: 20 * 1024 * 1024,
            ..Config::with_base_url(crate::common::BASE_URL)
        },
    );
    let (_, path) = add_post(
        &pool,
        Post::published("Limits", datetime!(2022-03-03 10:00 UTC)),
    )
    .await;
    let post = |uri: &str, size: usize| {
        Request::post(uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("content-length", size.to_string())
            .header("origin", crate::common::BASE_URL)
            .body(Body::from(vec![b'a'; size]))
            .unwrap()
    };
    let cases = [
        // public: a comment form is small (2 MB)
        (path.as_str(), 1024 * 1024, StatusCode::UNPROCESSABLE_ENTITY),
        (
            path.as_str(),
            3 * 1024 * 1024,
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        // admin: room for a 10 MB image (12 MB)
        ("/admin/posts", 3 * 1024 * 1024, StatusCode::FORBIDDEN),
        (
            "/admin/posts",
            13 * 1024 * 1024,
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        // upload: FOLIO_IMPORT_MAX_MB, beyond the admin area's 12 MB
        (
            "/admin/import/upload",
            13 * 1024 * 1024,
            StatusCode::FORBIDDEN,
        ),
        (
            "/admin/import/upload",
            21 * 1024 * 1024,
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        // reads: no bodies to speak of (64 KB)
        ("/healthz", 128 * 1024, StatusCode::PAYLOAD_TOO_LARGE),
    ];
    for (uri, size, expected) in cases {
        let page = send(&app, post(uri, size)).await;
        assert_eq!(page.status, expected, "{uri} with {size} bytes");
    }
}

/// Issue 16, fix 11: a client's request id is echoed and logged only when it looks like one.
#[sqlx::test]
async fn odd_request_ids_from_clients_are_replaced(pool: PgPool) {
    let app = app(&pool);
    let kept = get_with(&app, "/healthz", &[("x-request-id", "proxy-42.a_b")]).await;
    assert_eq!(kept.header("x-request-id"), "proxy-42.a_b");
    for odd in ["<script>alert(1)</script>", &"x".repeat(200), "two words"] {
        let page = get_with(&app, "/healthz", &[("x-request-id", odd)]).await;
        let id = page.header("x-request-id");
        assert!(!id.is_empty() && id != odd, "{odd:?} came back as {id:?}");
    }
}

/// Issue 16, fix 10: what was typed into the login form, and sessions, are not kept for ever.
#[sqlx::test]
async fn maintenance_purges_old_attempts_and_expired_sessions(pool: PgPool) {
    sqlx::query(
        "insert into login_attempts (email, succeeded, at)
         values ('old@example.test', false, now() - interval '2 days'),
                ('recent@example.test', false, now())",
    )
    .execute(&pool)
    .await
    .unwrap();
    let user: i64 = sqlx::query_scalar(
        "insert into users (email, display_name, role) values ('s@example.test', 'S', 'author')
         returning id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into sessions (token_hash, user_id, csrf_token, expires_at)
         values ('\\x01', $1, 'a', now() - interval '1 minute'),
                ('\\x02', $1, 'b', now() + interval '1 day')",
    )
    .bind(user)
    .execute(&pool)
    .await
    .unwrap();
    let purged = folio::db::maintenance::purge(&pool).await.unwrap();
    assert_eq!((purged.login_attempts, purged.sessions), (1, 1));
    let left: Vec<String> = sqlx::query_scalar("select email from login_attempts")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(left, ["recent@example.test"]);
}
