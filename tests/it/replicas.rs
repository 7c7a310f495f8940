//! Public reads from a real streaming replica (`FOLIO_DATABASE_READ_URL`): where reads go,
//! read-your-writes, the page cache kept coherent across processes while the replica lags, a
//! replica or the primary going down and coming back.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use folio::App;
use folio::{AppState, config::Config, db, store::replicas::Health};
use sqlx::PgPool;
use time::OffsetDateTime;

use crate::common::{
    BASE_URL, Page, Post, add_post, get, get_with, replica::Pair, secret, send_comment,
    user_session,
};

struct Blog {
    pair: Pair,
    primary: PgPool,
    replica: PgPool,
    path: String,
    post_id: i64,
}

/// A primary with one post, and its replica, which has replayed the post.
async fn blog() -> Blog {
    let pair = tokio::task::spawn_blocking(Pair::start).await.unwrap();
    let primary = db::connect(&pair.primary.url("folio")).await.unwrap();
    db::migrate(&primary).await.unwrap();
    let (post_id, path) = add_post(
        &primary,
        Post::published(
            "Pruning the old pear tree",
            OffsetDateTime::now_utc() - time::Duration::days(3),
        ),
    )
    .await;
    let replica = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&pair.replica.url("folio"))
        .await
        .unwrap();
    let blog = Blog {
        pair,
        primary,
        replica,
        path,
        post_id,
    };
    blog.wait_until_replayed().await;
    blog
}

impl Blog {
    fn config(&self, max_lag: Duration, page_cache: bool) -> Config {
        Config {
            read_replicas: vec![self.pair.replica.url("folio").parse().unwrap()],
            replica_max_lag: max_lag,
            page_cache_bytes: if page_cache { 4 << 20 } else { 0 },
            page_cache_min_uses: 1,
            ..Config::with_base_url(BASE_URL)
        }
    }

    /// One Folio process on this blog: its state and app, once the monitor has seen the
    /// replica current (and, with a page cache, once the cache listens).
    async fn process(&self, max_lag: Duration, page_cache: bool) -> (AppState, App) {
        let state = AppState::start(
            self.primary.clone(),
            self.config(max_lag, page_cache),
            secret(),
        );
        until("the replica is current", || {
            state.reads.replicas()[0].health() == Health::Current
                && (!page_cache || state.pages.is_active())
        })
        .await;
        (state.clone(), folio::app(state))
    }

    async fn wait_until_replayed(&self) {
        let target = db::replication::primary_position(&self.primary)
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while db::replication::replayed(&self.replica)
            .await
            .unwrap()
            .unwrap()
            < target
        {
            assert!(Instant::now() < deadline, "the replica never caught up");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn pause_replay(&self) {
        sqlx::query("select pg_wal_replay_pause()")
            .execute(&self.replica)
            .await
            .unwrap();
    }

    async fn resume_replay(&self) {
        sqlx::query("select pg_wal_replay_resume()")
            .execute(&self.replica)
            .await
            .unwrap();
    }

    /// Posts a comment through the form; answers the response.
    async fn comment(&self, app: &App, text: &str) -> Page {
        send_comment(
            app,
            &(self.post_id, self.path.clone()),
            "Robin Hartley",
            text,
        )
        .await
    }
}

async fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The `folio_seen` cookie a write answered with, as a request's `Cookie` value.
fn seen_cookie(page: &Page) -> String {
    page.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("folio_seen="))
        .and_then(|v| v.split(';').next())
        .expect("a write with replicas sets folio_seen")
        .to_owned()
}

#[tokio::test]
async fn reads_use_the_replica_and_writers_always_see_their_own_comment_and_save() {
    let blog = blog().await;
    let (writer_state, writer) = blog.process(Duration::from_secs(60), false).await;
    // Another process: it hears of the writes by change notice (every process with replicas
    // listens); the cookie routes the writer's reads whether or not it has yet.
    let (other_state, other) = blog.process(Duration::from_secs(60), false).await;

    let before = other_state.reads.replicas()[0].reads();
    let page = get(&other, &blog.path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("Pruning the old pear tree"));
    assert!(
        other_state.reads.replicas()[0].reads() > before,
        "a public page is read from the replica"
    );

    // The replica stops replaying: from now on it lacks every write.
    blog.pause_replay().await;
    let sent = blog
        .comment(&writer, "The quince by the wall needs the same.")
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.text());
    let cookie = seen_cookie(&sent);
    let location = sent.header("location").to_owned();

    // The writer sees the comment through either process, though the replica lacks it.
    for app in [&writer, &other] {
        let page = get_with(app, &location, &[("cookie", &cookie)]).await;
        assert!(
            page.text()
                .contains("The quince by the wall needs the same."),
            "{}",
            page.text()
        );
    }
    // The process that wrote reads nothing older than its write, cookie or not.
    assert!(
        get(&writer, &blog.path)
            .await
            .text()
            .contains("The quince by the wall")
    );
    // The other process heard of the change (every process listens on the primary), so even a
    // reader without the cookie is not given the replica's older page.
    assert!(
        get(&other, &blog.path)
            .await
            .text()
            .contains("The quince by the wall")
    );
    // An editor's save, the same way: their next page shows it, through either process.
    let editor = user_session(&writer, &blog.primary, "admin").await;
    let saved = editor
        .post(
            &writer,
            &format!("/admin/posts/{}", blog.post_id),
            &[
                ("title", "Pruning the old pear tree in frost"),
                ("body", "Cut above an outward bud."),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    let cookie = seen_cookie(&saved);
    let mut new_path = String::new();
    for app in [&writer, &other] {
        // The new title moved the post: its old address says where to.
        let moved = get_with(app, &blog.path, &[("cookie", &cookie)]).await;
        assert_eq!(moved.status, StatusCode::PERMANENT_REDIRECT);
        new_path = moved.header("location").to_owned();
        let page = get_with(app, &new_path, &[("cookie", &cookie)]).await;
        assert!(
            page.text().contains("Cut above an outward bud."),
            "{} {:?} {}",
            page.status,
            page.headers.get("location"),
            page.text()
        );
    }
    // A forged cookie counts for nothing (and breaks nothing).
    let forged = format!("folio_seen={}-{}.AAAA", i64::MAX, i64::MAX);
    assert_eq!(
        get_with(&other, &new_path, &[("cookie", &forged)])
            .await
            .status,
        StatusCode::OK
    );

    blog.resume_replay().await;
    blog.wait_until_replayed().await;
    let before = other_state.reads.replicas()[0].reads();
    let deadline = Instant::now() + Duration::from_secs(10);
    while other_state.reads.replicas()[0].reads() == before {
        assert!(
            get(&other, &new_path)
                .await
                .text()
                .contains("The quince by the wall")
        );
        assert!(
            Instant::now() < deadline,
            "reads never went back to the replica"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(writer_state.reads.primary_reads() > 0);
}

#[tokio::test]
async fn a_replica_beyond_the_lag_limit_is_skipped_until_it_catches_up() {
    let blog = blog().await;
    let (state, app) = blog.process(Duration::from_secs(1), false).await;
    let (_, writer) = blog.process(Duration::from_secs(1), false).await;
    blog.pause_replay().await;
    let sent = blog
        .comment(&writer, "Lag limits keep readers current.")
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    until("the replica is lagging", || {
        state.reads.replicas()[0].health() == Health::Lagging
    })
    .await;
    let page = get(&app, &blog.path).await;
    assert!(
        page.text().contains("Lag limits keep readers current."),
        "read from the primary"
    );
    blog.resume_replay().await;
    until("the replica is current again", || {
        state.reads.replicas()[0].health() == Health::Current
    })
    .await;
    let before = state.reads.replicas()[0].reads();
    assert!(
        get(&app, &blog.path)
            .await
            .text()
            .contains("Lag limits keep readers current.")
    );
    assert!(state.reads.replicas()[0].reads() > before);
}

#[tokio::test]
async fn cached_pages_stay_coherent_across_processes_while_the_replica_lags() {
    let blog = blog().await;
    let (state, reader) = blog.process(Duration::from_secs(60), true).await;
    let (_, writer) = blog.process(Duration::from_secs(60), true).await;
    // Cached from the replica.
    for _ in 0..2 {
        assert!(
            get(&reader, &blog.path)
                .await
                .text()
                .contains("Pruning the old pear tree")
        );
    }
    assert!(state.pages.len_bytes() > 0, "the page is cached");
    blog.pause_replay().await;
    let sent = blog
        .comment(&writer, "Heard through the other process.")
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    // The reader's process hears the change: its cached page goes, and, as the replica lacks
    // the change, the page is read from the primary, never the replica's old copy.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let page = get(&reader, &blog.path).await;
        if page.text().contains("Heard through the other process.") {
            break;
        }
        assert!(Instant::now() < deadline, "the change was never heard");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for _ in 0..20 {
        assert!(
            get(&reader, &blog.path)
                .await
                .text()
                .contains("Heard through the other process."),
            "a page once current stays current"
        );
    }
    blog.resume_replay().await;
}

#[tokio::test]
async fn a_replica_that_goes_down_is_skipped_and_used_again_when_back() {
    let blog = blog().await;
    let (state, app) = blog.process(Duration::from_secs(60), false).await;
    blog.pair.replica.stop();
    for _ in 0..5 {
        let page = get(&app, &blog.path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        assert!(page.text().contains("Pruning the old pear tree"));
    }
    assert_eq!(state.reads.replicas()[0].health(), Health::Down);
    assert_eq!(get(&app, "/readyz").await.status, StatusCode::OK);
    blog.pair.replica.start();
    until("the replica is current again", || {
        state.reads.replicas()[0].health() == Health::Current
    })
    .await;
    let before = state.reads.replicas()[0].reads();
    assert_eq!(get(&app, &blog.path).await.status, StatusCode::OK);
    assert!(state.reads.replicas()[0].reads() > before);
}

#[tokio::test]
async fn with_the_primary_down_readers_are_served_and_a_comment_keeps_its_text() {
    let blog = blog().await;
    let (state, app) = blog.process(Duration::from_secs(60), true).await;
    let editor = user_session(&app, &blog.primary, "admin").await;
    blog.pair.primary.stop();
    until("the primary is seen down", || !state.reads.primary_up()).await;
    let page = get(&app, &blog.path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert!(page.text().contains("Pruning the old pear tree"));
    assert_eq!(get(&app, "/").await.status, StatusCode::OK);
    let ready = get(&app, "/readyz").await;
    assert_eq!(ready.status, StatusCode::OK);
    assert!(ready.text().contains("read-only"));

    let sent = blog
        .comment(&app, "Written while the primary was away.")
        .await;
    assert_eq!(sent.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        sent.text().contains("Written while the primary was away."),
        "the comment comes back to be sent again"
    );

    let admin = editor.get(&app, "/admin/posts").await;
    assert_eq!(admin.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        admin.text().contains("read-only for now"),
        "{}",
        admin.text()
    );
    let draft = editor
        .post(
            &app,
            "/admin/posts",
            &[
                ("title", "Notes from the outage"),
                ("body", "Every line typed while the primary was away."),
                // A password field is never shown back.
                ("current", "hunter2-never-shown"),
                ("action", "draft"),
            ],
        )
        .await;
    assert_eq!(draft.status, StatusCode::SERVICE_UNAVAILABLE);
    let shown = draft.text();
    assert!(shown.contains("not saved"), "{shown}");
    assert!(shown.contains("Notes from the outage") && shown.contains("Every line typed"));
    assert!(!shown.contains("hunter2-never-shown"));

    blog.pair.primary.start();
    until("the primary is seen again", || state.reads.primary_up()).await;
    let sent = blog
        .comment(&app, "Written once the primary was back.")
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.text());
    let location = sent.header("location").to_owned();
    let page = get_with(&app, &location, &[("cookie", &seen_cookie(&sent))]).await;
    assert!(page.text().contains("Written once the primary was back."));
}

#[tokio::test]
async fn a_read_the_primary_fails_is_answered_from_a_replica() {
    let blog = blog().await;
    let (state, app) = blog.process(Duration::from_secs(60), false).await;
    blog.pause_replay().await;
    let sent = blog.comment(&app, "Sent just before the outage.").await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let cookie = seen_cookie(&sent);
    // The writer's next page needs the primary (the replica lacks the write)...
    blog.pair.primary.stop();
    assert!(state.reads.primary_up(), "not noticed yet");
    // ...which has just gone: the replica's older page is better than an error.
    let page = get_with(&app, &blog.path, &[("cookie", &cookie)]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert!(page.text().contains("Pruning the old pear tree"));
    blog.resume_replay().await;
    blog.pair.primary.start();
}

#[tokio::test]
async fn a_readers_own_write_position_sends_their_reads_past_replicas_and_cached_pages() {
    let blog = blog().await;
    let (state, app) = blog.process(Duration::from_secs(60), true).await;
    for _ in 0..2 {
        assert_eq!(get(&app, &blog.path).await.status, StatusCode::OK);
    }
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let position = db::replication::primary_position(&blog.primary)
        .await
        .unwrap();
    // A write no replica has replayed yet (as far ahead as one can be).
    let ahead = folio::auth::signed::encode_position(&secret(), position + (1 << 40), now + 60);
    let cookie = format!("folio_seen={ahead}");
    let (hits, primary, replica) = (
        state.pages.hits(),
        state.reads.primary_reads(),
        state.reads.replicas()[0].reads(),
    );
    let page = get_with(&app, &blog.path, &[("cookie", &cookie)]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(state.pages.hits(), hits, "not the cached page");
    assert_eq!(
        state.reads.primary_reads(),
        primary + 1,
        "read from the primary"
    );
    assert_eq!(state.reads.replicas()[0].reads(), replica);
    // Without it, or with one that has expired, the cached page.
    let expired = folio::auth::signed::encode_position(&secret(), position + (1 << 40), now - 1);
    for headers in [vec![], vec![("cookie", format!("folio_seen={expired}"))]] {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let hits = state.pages.hits();
        assert_eq!(
            get_with(&app, &blog.path, &headers).await.status,
            StatusCode::OK
        );
        assert_eq!(state.pages.hits(), hits + 1);
    }
}
