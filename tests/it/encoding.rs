//! Pages kept compressed: a cached page is sent brotli- or gzip-compressed as the browser asks,
//! from bytes compressed once, and every encoding decodes to the very page.

use std::io::Read;

use axum::http::StatusCode;
use sqlx::PgPool;
use time::{Duration, OffsetDateTime};

use crate::common::{self, Post, add_post, cached_app, get_with};

const BROWSER: &str = "gzip, deflate, br, zstd";

fn brotli_decoded(bytes: &[u8]) -> String {
    let mut out = String::new();
    brotli::Decompressor::new(bytes, 4096)
        .read_to_string(&mut out)
        .expect("valid brotli");
    out
}

fn gzip_decoded(bytes: &[u8]) -> String {
    let mut out = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut out)
        .expect("valid gzip");
    out
}

/// The raw bytes of a response (the test client does not decode).
async fn raw(
    app: &folio::App,
    uri: &str,
    accept: &str,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    use tower::ServiceExt;
    let mut request = axum::http::Request::get(uri);
    if !accept.is_empty() {
        request = request.header("accept-encoding", accept);
    }
    let response = app
        .clone()
        .oneshot(request.body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, headers, bytes.to_vec())
}

#[sqlx::test]
async fn cached_pages_go_out_compressed_once_in_the_encoding_asked_for(pool: PgPool) {
    for n in 0..12 {
        add_post(
            &pool,
            Post::published(
                &format!("Garden notes {n}"),
                OffsetDateTime::now_utc() - Duration::days(n + 1),
            )
            .body(
                "Beans, leeks and the long wait for spring. "
                    .repeat(20)
                    .as_str(),
            ),
        )
        .await;
    }
    let (state, app) = cached_app(&pool).await;
    let plain = get_with(&app, "/", &[]).await;
    assert_eq!(plain.status, StatusCode::OK);
    for uri in ["/", "/feeds/posts/default"] {
        // The feed's first answer is rendered and stored, and sent as the cache keeps it (not
        // compressed a second time); the next comes from the cache, the very same bytes.
        let hits = state.pages.hits();
        let (_, first_headers, first_bytes) = raw(&app, uri, BROWSER).await;
        let (status, headers, bytes) = raw(&app, uri, BROWSER).await;
        // ("/" was stored by the plain request above: both are hits.)
        let from_cache = if uri == "/" { 2 } else { 1 };
        assert_eq!(
            state.pages.hits(),
            hits + from_cache,
            "{uri}: from the cache"
        );
        assert_eq!(first_headers["content-encoding"], "br", "{uri}");
        assert_eq!(first_bytes, bytes, "{uri}: a miss sends what a hit sends");
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-encoding"], "br", "{uri}");
        assert!(common::vary(&headers).contains(&"accept-encoding".to_owned()));
        let identity = raw(&app, uri, "identity;q=1, *;q=0").await;
        assert!(identity.1.get("content-encoding").is_none());
        let page = String::from_utf8(identity.2).unwrap();
        assert_eq!(brotli_decoded(&bytes), page, "{uri}: brotli is the page");
        let (_, headers, bytes) = raw(&app, uri, "gzip").await;
        assert_eq!(headers["content-encoding"], "gzip");
        assert_eq!(gzip_decoded(&bytes), page, "{uri}: gzip is the page");
        // Every variant carries the page's tag, and a reader who has it gets a 304 in any.
        let tag = headers["etag"].to_str().unwrap().to_owned();
        for accept in [BROWSER, "gzip", "identity;q=1, *;q=0", ""] {
            let (_, headers, _) = raw(&app, uri, accept).await;
            assert_eq!(headers["etag"], tag.as_str(), "{uri} {accept:?}");
            let not_modified = get_with(
                &app,
                uri,
                &[("accept-encoding", accept), ("if-none-match", &tag)],
            )
            .await;
            assert_eq!(
                not_modified.status,
                StatusCode::NOT_MODIFIED,
                "{uri} {accept:?}"
            );
            assert!(not_modified.bytes.is_empty());
            assert_eq!(not_modified.header("etag"), tag);
            assert!(common::vary(&not_modified.headers).contains(&"accept-encoding".to_owned()));
        }
        // Nothing accepted that the cache keeps, or a header that makes no sense: plain.
        for accept in ["", "zstd;q=0.5, deflate", "br;q=nonsense"] {
            let (status, headers, bytes) = raw(&app, uri, accept).await;
            assert_eq!(status, StatusCode::OK);
            assert!(headers.get("content-encoding").is_none(), "{accept:?}");
            assert_eq!(String::from_utf8(bytes).unwrap(), page);
        }
    }
    assert_eq!(plain.body, {
        let (_, _, bytes) = raw(&app, "/", "").await;
        String::from_utf8(bytes).unwrap()
    });
}

/// Visits `url` until a visit is answered from the page cache (a change heard while the first
/// rendering was under way keeps that one out of it); returns the hits before that visit.
async fn visit_until_cached(
    browser: &fantoccini::Client,
    state: &folio::AppState,
    url: &str,
) -> u64 {
    browser.goto(url).await.unwrap();
    for _ in 0..5 {
        let hits = state.pages.hits();
        browser.goto(url).await.unwrap();
        if state.pages.hits() > hits {
            return hits;
        }
    }
    state.pages.hits()
}

#[sqlx::test]
async fn chromium_reads_the_pages_compressed_once(pool: PgPool) {
    for n in 0..6 {
        add_post(
            &pool,
            Post::published(
                &format!("Harvest log {n}"),
                OffsetDateTime::now_utc() - Duration::days(n + 1),
            )
            .body(
                "Squash, onions and a wheelbarrow of compost. "
                    .repeat(30)
                    .as_str(),
            ),
        )
        .await;
    }
    let (addr, state, _) = crate::common::browser::serve_cached(&pool).await;
    let (_driver, browser) = crate::common::browser::start_browser().await;
    let url = format!("http://{addr}/");
    // Chromium asks with `Accept-Encoding: gzip, deflate, br, zstd`: the cached brotli bytes.
    let hits = visit_until_cached(&browser, &state, &url).await;
    assert!(
        state.pages.hits() > hits,
        "the second visit came from the cache"
    );
    let titles = browser
        .find_all(fantoccini::Locator::Css("h3.post-title"))
        .await
        .unwrap();
    let mut seen = Vec::new();
    for title in titles {
        seen.push(title.text().await.unwrap());
    }
    assert_eq!(
        seen.first().map(String::as_str),
        Some("Harvest log 0"),
        "{seen:?}"
    );
    assert_eq!(seen.len(), 6);
    browser.close().await.unwrap();
}

/// The comment form's token in a page.
fn token_in(page: &str) -> String {
    let start = page
        .find(r#"name="token" value=""#)
        .expect("a comment form")
        + 20;
    page[start..start + page[start..].find('"').unwrap()].to_owned()
}

#[sqlx::test]
async fn a_cached_post_page_is_stitched_around_each_readers_own_token(pool: PgPool) {
    let (_, path) = add_post(
        &pool,
        Post::published("Seed swap", OffsetDateTime::now_utc() - Duration::days(1)).body(
            "Bring seeds, take seeds, talk about tomatoes. "
                .repeat(40)
                .as_str(),
        ),
    )
    .await;
    let (state, app, clock) = crate::common::cached_app_with_clock(&pool).await;
    let plain = get_with(&app, &path, &[]).await;
    let hits = state.pages.hits();
    let (_, headers, first) = raw(&app, &path, BROWSER).await;
    assert_eq!(state.pages.hits(), hits + 1, "from the cache");
    assert_eq!(headers["content-encoding"], "br");
    assert!(common::vary(&headers).contains(&"accept-encoding".to_owned()));
    let first = brotli_decoded(&first);
    clock.advance(5);
    let (_, headers, second) = raw(&app, &path, "gzip, deflate").await;
    assert_eq!(headers["content-encoding"], "gzip");
    let second = gzip_decoded(&second);
    let (one, two) = (token_in(&first), token_in(&second));
    assert_ne!(one, two, "each answer has its own token");
    // Apart from its token, each answer is the very page.
    assert_eq!(
        first.replace(&one, "TOKEN"),
        plain.body.replace(&token_in(&plain.body), "TOKEN")
    );
    assert_eq!(second.replace(&two, "TOKEN"), first.replace(&one, "TOKEN"));
    // And the token it carries is taken by the comment form.
    clock.advance(5);
    let sent = crate::common::post_form(
        &app,
        &path,
        &[
            ("token", &two),
            ("name", "Ola"),
            ("comment", "Swapping beans."),
        ],
        &[],
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.text());
}

#[sqlx::test]
async fn chromium_comments_from_a_stitched_post_page(pool: PgPool) {
    let (_, path) = add_post(
        &pool,
        Post::published(
            "Rain barrels",
            OffsetDateTime::now_utc() - Duration::days(1),
        )
        .body("Two barrels filled in one storm. ".repeat(40).as_str()),
    )
    .await;
    let (addr, state, clock) = crate::common::browser::serve_cached(&pool).await;
    let (_driver, browser) = crate::common::browser::start_browser().await;
    let url = format!("http://{addr}{path}");
    let hits = visit_until_cached(&browser, &state, &url).await;
    assert!(
        state.pages.hits() > hits,
        "the page came from the cache, stitched around its token"
    );
    // The form token must be three seconds old: the blog's clock moves on.
    clock.advance(4);
    use fantoccini::Locator;
    browser
        .find(Locator::Id("comment-name"))
        .await
        .unwrap()
        .send_keys("Rosa")
        .await
        .unwrap();
    browser
        .find(Locator::Id("comment-body"))
        .await
        .unwrap()
        .send_keys("Ours overflowed by noon.")
        .await
        .unwrap();
    browser
        .find(Locator::Css(
            "#post-a-comment form button[type=submit], form[action] button[type=submit]",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let text = browser
            .find(Locator::Css("body"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap_or_default();
        if text.contains("Ours overflowed by noon.")
            && browser
                .current_url()
                .await
                .unwrap()
                .fragment()
                .is_some_and(|f| f.starts_with('c'))
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the comment was not taken: {text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    browser.close().await.unwrap();
}

/// A cached post page's compressed answer is stitched around its form token once a second, not
/// once per request: the token depends on the post and the second alone. The next second's
/// readers get a new token, and each answer decodes to the page with a token that works.
#[sqlx::test]
async fn a_post_pages_answer_is_stitched_once_a_second_and_its_token_stays_fresh(pool: PgPool) {
    use folio::{auth::form_token, domain::clock::Clock};
    let (post_id, path) = add_post(
        &pool,
        Post::published(
            "Seed potatoes",
            OffsetDateTime::now_utc() - Duration::days(1),
        )
        .body(&"Chitting them on the windowsill. ".repeat(40)),
    )
    .await;
    let (state, app, clock) = crate::common::cached_app_with_clock(&pool).await;
    for _ in 0..2 {
        raw(&app, &path, BROWSER).await;
    }
    let token_in = |page: &str| {
        let at = page.find("name=\"token\" value=\"").expect("a form token") + 20;
        page[at..at + page[at..].find('"').unwrap()].to_owned()
    };
    for (accept, decode) in [
        ("br", brotli_decoded as fn(&[u8]) -> String),
        ("gzip", gzip_decoded),
    ] {
        let hits = state.pages.hits();
        let before = clock.now().unix_timestamp();
        let (_, _, first) = raw(&app, &path, accept).await;
        let (_, _, second) = raw(&app, &path, accept).await;
        assert_eq!(state.pages.hits(), hits + 2, "{accept}: from the cache");
        // (Unless the clock's second turned between the two.)
        if before == clock.now().unix_timestamp() {
            assert_eq!(first, second, "{accept}: one answer in one second");
        }
        clock.advance(1);
        let (_, _, later) = raw(&app, &path, accept).await;
        assert_ne!(first, later, "{accept}: a new second, a new token");
        let token = token_in(&decode(&later));
        clock.advance(form_token::MIN_AGE_SECS);
        assert_eq!(
            form_token::check(&state.secret, &token, post_id, clock.now().unix_timestamp()),
            Ok(())
        );
    }
}

/// A hit is answered before routing (the layer stack is skipped for speed): it must carry all
/// that the layers give an answer, be counted in the metrics under its route, and keep a proxy's
/// request id, exactly as an answer that went through every layer.
#[sqlx::test]
async fn a_page_answered_before_routing_is_what_every_layer_would_send(pool: PgPool) {
    let (_, path) = add_post(
        &pool,
        Post::published(
            "Hedge laying",
            OffsetDateTime::now_utc() - Duration::days(1),
        )
        .body(
            "Cut, bend and weave the stems along the stakes. "
                .repeat(30)
                .as_str(),
        ),
    )
    .await;
    let config = folio::config::Config {
        page_cache_min_uses: 1,
        metrics_token: Some("scrape-me".into()),
        ..folio::config::Config::with_base_url(crate::common::BASE_URL)
    };
    let (state, app, _) = crate::common::cached_app_with_config(&pool, config).await;
    // A miss goes the long way, through every layer and the router, and stores the page.
    let hits = state.pages.hits();
    let (status, through_layers, _) = raw(&app, &path, BROWSER).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(state.pages.hits(), hits, "not from the cache");
    let (status, from_memory, bytes) = raw(&app, &path, BROWSER).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(state.pages.hits(), hits + 1, "from the cache");
    assert!(brotli_decoded(&bytes).contains("Hedge laying"));
    let names = |headers: &axum::http::HeaderMap| {
        let mut names: Vec<String> = headers.keys().map(|name| name.to_string()).collect();
        names.sort();
        names
    };
    assert_eq!(names(&from_memory), names(&through_layers));
    for name in through_layers.keys() {
        if !matches!(name.as_str(), "x-request-id" | "content-length") {
            let values = |headers: &axum::http::HeaderMap| -> Vec<String> {
                headers
                    .get_all(name)
                    .iter()
                    .map(|v| v.to_str().unwrap().to_owned())
                    .collect()
            };
            assert_eq!(values(&from_memory), values(&through_layers), "{name}");
        }
    }
    for name in [
        "content-security-policy",
        "x-content-type-options",
        "referrer-policy",
        "x-frame-options",
        "x-request-id",
    ] {
        assert!(from_memory.contains_key(name), "{name} missing");
    }
    assert_ne!(
        from_memory["x-request-id"], through_layers["x-request-id"],
        "each answer has its own id"
    );

    // A proxy's request id is kept; one unfit for a log line is replaced.
    let passed_on = get_with(
        &app,
        &path,
        &[("accept-encoding", BROWSER), ("x-request-id", "edge-42.a")],
    )
    .await;
    assert_eq!(passed_on.headers["x-request-id"], "edge-42.a");
    let unfit = get_with(
        &app,
        &path,
        &[("accept-encoding", BROWSER), ("x-request-id", "two words")],
    )
    .await;
    assert_ne!(unfit.headers["x-request-id"], "two words");
    assert!(!unfit.headers["x-request-id"].is_empty());
    assert_eq!(state.pages.hits(), hits + 3);

    let metrics = get_with(&app, "/metrics", &[("authorization", "Bearer scrape-me")]).await;
    for line in [
        "folio_http_requests_total{route=\"/{year}/{month}/{file}\",method=\"GET\",status=\"200\"} 4",
        "folio_http_request_duration_seconds_count{route=\"/{year}/{month}/{file}\"} 4",
    ] {
        assert!(
            metrics.body.contains(line),
            "{line} missing from:\n{}",
            metrics.body
        );
    }
}

/// The window a brotli stream declares in its first bits (RFC 7932, 9.1).
fn brotli_window_bits(stream: &[u8]) -> u32 {
    let first = stream[0];
    if first & 1 == 0 {
        return 16;
    }
    match ((first >> 1) & 7, (first >> 4) & 7) {
        (0, 0) => 17,
        (0, m) => 8 + u32::from(m),
        (n, _) => 17 + u32::from(n),
    }
}

#[sqlx::test]
async fn pages_the_cache_did_not_answer_go_out_in_brotli_fitted_to_the_page(pool: PgPool) {
    // A long post (about 150 KB of page), on a Folio with no page cache: every answer is made
    // for its request and compressed on its way out.
    let paragraph = "Frost on the cold frames again this morning; the seedlings held. ";
    let (_, uri) = add_post(
        &pool,
        Post::published(
            "A winter of notes",
            OffsetDateTime::now_utc() - Duration::days(1),
        )
        .body(&format!("{paragraph}\n\n").repeat(2_300)),
    )
    .await;
    let app = crate::common::app(&pool);
    let (status, headers, plain) = raw(&app, &uri, "identity;q=1, *;q=0").await;
    assert_eq!(status, StatusCode::OK);
    assert!(plain.len() > 140_000, "a long page: {} bytes", plain.len());
    let page = String::from_utf8(plain).unwrap();
    assert!(headers.get("content-encoding").is_none());

    let (status, headers, bytes) = raw(&app, &uri, BROWSER).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-encoding"], "br");
    assert!(common::vary(&headers).contains(&"accept-encoding".to_owned()));
    assert!(
        headers
            .get("content-length")
            .is_none_or(|n| n == &bytes.len().to_string())
    );
    // Rendered anew for each request (no cache here): the comment form's token carries the
    // second it was made in, and a slow machine may cross a second between two renderings.
    assert_eq!(
        without_form_token(&brotli_decoded(&bytes)),
        without_form_token(&page)
    );
    // No window longer than the page: 2^18 bytes holds it; the compression layer's fixed
    // 2^22 made an 8 MB buffer for it.
    assert_eq!(brotli_window_bits(&bytes), 18);

    // A client that takes gzip only still gets gzip.
    let (_, headers, bytes) = raw(&app, &uri, "gzip, deflate").await;
    assert_eq!(headers["content-encoding"], "gzip");
    assert_eq!(
        without_form_token(&gzip_decoded(&bytes)),
        without_form_token(&page)
    );
}

/// The page with its comment form's token left out.
fn without_form_token(page: &str) -> String {
    let marker = "name=\"token\" value=\"";
    let Some(at) = page.find(marker).map(|at| at + marker.len()) else {
        return page.to_owned();
    };
    let end = at + page[at..].find('"').unwrap_or(0);
    format!("{}{}", &page[..at], &page[end..])
}
