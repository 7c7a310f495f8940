//! What a reader sees: the home page, posts, paging, archives, labels, static pages, 404s.

use crate::common::{Post, add_comment, add_post, app, cached_app, eventually, get, get_with};
use axum::http::StatusCode;
use sqlx::PgPool;
use time::{Duration, OffsetDateTime, macros::datetime};

#[sqlx::test]
async fn a_fresh_blog_shows_a_friendly_empty_state(pool: PgPool) {
    let page = get(&app(&pool), "/").await;
    assert_eq!(page.status, StatusCode::OK);
    let text = page.text();
    assert!(text.contains("This blog has no posts"), "{text}");
    assert_eq!(page.links_containing("/admin"), vec!["/admin"]);
    assert!(
        text.contains("Folio"),
        "the default blog title shows: {text}"
    );
}

#[sqlx::test]
async fn home_groups_posts_under_date_headers_in_the_blog_time_zone(pool: PgPool) {
    add_post(
        &pool,
        Post::published("Late evening walk", datetime!(2021-09-10 03:30 UTC)),
    )
    .await;
    add_post(
        &pool,
        Post::published("Bread before midnight", datetime!(2021-09-10 01:00 UTC)),
    )
    .await;
    add_post(
        &pool,
        Post::published("Afternoon in the shed", datetime!(2021-09-09 22:00 UTC)),
    )
    .await;
    let app = app(&pool);

    let text = get(&app, "/").await.text();
    assert!(
        text.contains("Friday, September 10, 2021 Late evening walk")
            && text.contains("Bread before midnight")
            && text.contains("Thursday, September 9, 2021 Afternoon in the shed"),
        "{text}"
    );
    assert_eq!(
        text.matches("Friday, September 10, 2021").count(),
        1,
        "one header per day"
    );

    // In Los Angeles all three were written on the 9th; in Tokyo all on the 10th.
    folio::db::settings::update_basics(&pool, "Folio", "", "America/Los_Angeles")
        .await
        .unwrap();
    let text = get(&app, "/").await.text();
    assert!(
        text.contains("Thursday, September 9, 2021 Late evening walk"),
        "{text}"
    );
    assert!(!text.contains("September 10"), "{text}");
    assert!(
        text.contains("at 8:30 PM"),
        "local time of the first post: {text}"
    );

    folio::db::settings::update_basics(&pool, "Folio", "", "Asia/Tokyo")
        .await
        .unwrap();
    let text = get(&app, "/").await.text();
    assert_eq!(
        text.matches("Friday, September 10, 2021").count(),
        1,
        "{text}"
    );
    assert!(!text.contains("September 9"), "{text}");
}

#[sqlx::test]
async fn listings_show_author_labels_body_and_comment_counts(pool: PgPool) {
    let now = OffsetDateTime::now_utc();
    let (none, _) = add_post(&pool, Post::published("Quiet one", now - Duration::days(3))).await;
    let (one, _) = add_post(
        &pool,
        Post::published("With a reply", now - Duration::days(2))
            .labels(&["Garden", "Weather"])
            .body("Rain **all** week."),
    )
    .await;
    let (five, _) = add_post(&pool, Post::published("Popular", now - Duration::days(1))).await;
    add_comment(&pool, one, "Ines", "Nice.", "approved", now).await;
    add_comment(&pool, one, "Spammer", "Buy things", "spam", now).await;
    add_comment(&pool, one, "Pending Pat", "Hello?", "pending", now).await;
    for n in 0..5 {
        add_comment(&pool, five, &format!("Reader {n}"), "Yes!", "approved", now).await;
    }
    let _ = none;

    let page = get(&app(&pool), "/").await;
    let text = page.text();
    assert_eq!(page.post_titles(), ["Popular", "With a reply", "Quiet one"]);
    assert!(
        text.contains("Popular The body of Popular. Posted by Casey Writer"),
        "{text}"
    );
    assert!(text.contains("5 comments:"), "{text}");
    assert!(
        text.contains("Rain all week. Posted by Casey Writer"),
        "{text}"
    );
    assert!(
        text.contains("Labels: Garden, Weather 1 comment:"),
        "only approved comments count: {text}"
    );
    assert!(text.contains("No comments:"), "{text}");
    assert!(
        page.body.contains("<strong>all</strong>"),
        "Markdown is rendered"
    );
}

#[sqlx::test]
async fn keyset_paging_visits_every_post_once_in_both_directions(pool: PgPool) {
    let start = datetime!(2024-03-01 12:00 UTC);
    for n in 0..34 {
        // Posts 10 to 14 share one instant: the cursor must still tell them apart.
        let at = if (10..15).contains(&n) {
            start + Duration::hours(10)
        } else {
            start + Duration::hours(n)
        };
        add_post(&pool, Post::published(&format!("Entry number {n:02}"), at)).await;
    }
    // A draft and a future post must not shift any page.
    add_post(&pool, Post::published("Hidden draft", start).draft()).await;
    add_post(
        &pool,
        Post::published("Not yet", OffsetDateTime::now_utc() + Duration::days(2)),
    )
    .await;
    let app = app(&pool);
    let home = get(&app, "/").await;
    assert!(home.links_containing("Newer").is_empty());

    // Walk "Older Posts" to the end.
    let mut pages = vec![home];
    loop {
        let older = pages.last().unwrap().links_containing("updated-max=");
        let Some(next) = older.first() else { break };
        assert!(next.starts_with("/search?updated-max="), "{next}");
        let page = get(&app, next).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text().contains("Newer Posts") && page.text().contains("Home"));
        pages.push(page);
    }
    let seen: Vec<String> = pages.iter().flat_map(|p| p.post_titles()).collect();
    for page in &pages {
        assert!(page.post_titles().len() <= 10);
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen.len(), 34, "every post once: {seen:?}");
    assert_eq!(sorted.len(), 34, "no post twice: {seen:?}");
    assert_eq!(pages.len(), 4);
    assert!(
        !seen
            .iter()
            .any(|t| t.contains("Hidden") || t.contains("Not yet"))
    );

    // And back with "Newer Posts": the same pages in reverse.
    let mut back = vec![pages.last().unwrap().post_titles()];
    let mut page = get(
        &app,
        &pages[pages.len() - 2].links_containing("updated-max=")[0],
    )
    .await;
    loop {
        let newer = page.links_containing("updated-min=");
        let Some(next) = newer.first().cloned() else {
            break;
        };
        assert!(next.contains("reverse-paginate=true"), "{next}");
        page = get(&app, &next).await;
        back.push(page.post_titles());
    }
    back.reverse();
    let forward: Vec<Vec<String>> = pages.iter().map(|p| p.post_titles()).collect();
    assert_eq!(back, forward);
}

#[sqlx::test]
async fn drafts_and_future_posts_are_invisible_everywhere(pool: PgPool) {
    let now = OffsetDateTime::now_utc();
    let (_, visible) = add_post(
        &pool,
        Post::published("Shown post", now - Duration::days(1)).labels(&["Garden"]),
    )
    .await;
    let (_, draft) = add_post(
        &pool,
        Post::published("Secret draft", now - Duration::days(1))
            .draft()
            .labels(&["Garden"]),
    )
    .await;
    let (_, future) = add_post(
        &pool,
        Post::published("Tomorrow's news", now + Duration::days(1)).labels(&["Garden"]),
    )
    .await;
    let (_, due) = add_post(
        &pool,
        Post::published("Scheduled and due", now - Duration::hours(1)),
    )
    .await;
    let (_, page_draft) = add_post(&pool, Post::published("Draft page", now).draft().page()).await;
    let app = app(&pool);

    let year = now.year();
    let month = u8::from(now.month());
    for uri in [
        "/".to_owned(),
        "/search/label/Garden".to_owned(),
        format!("/{year}/"),
        format!("/{year}/{month:02}/"),
        "/search?q=news".to_owned(),
        "/search?q=secret".to_owned(),
        visible.clone(),
    ] {
        let page = get(&app, &uri).await;
        let text = page.text();
        assert!(
            !text.contains("Secret draft") && !text.contains("Tomorrow"),
            "{uri}: {text}"
        );
        assert!(
            !text.contains("Garden (2)") && !text.contains("Garden (3)"),
            "{uri}: {text}"
        );
    }
    for uri in [&draft, &future, &page_draft] {
        assert_eq!(get(&app, uri).await.status, StatusCode::NOT_FOUND, "{uri}");
    }
    assert_eq!(get(&app, &due).await.status, StatusCode::OK);
    assert!(get(&app, "/").await.text().contains("Scheduled and due"));
}

#[sqlx::test]
async fn a_post_page_has_the_anatomy_of_a_blog_post(pool: PgPool) {
    let body = "Spring came early.\n\n![A wren on a post](/media/wren.jpg \"Photo by the author\")\n\nMore soon.";
    let (older_id, _) = add_post(
        &pool,
        Post::published("Before it", datetime!(2021-09-09 10:00 UTC)),
    )
    .await;
    let (id, path) = add_post(
        &pool,
        Post::published("Wrens are back", datetime!(2021-09-10 11:12 UTC))
            .body(body)
            .labels(&["Birds", "Garden"]),
    )
    .await;
    add_post(
        &pool,
        Post::published("After it", datetime!(2021-09-11 10:00 UTC)),
    )
    .await;
    let t = datetime!(2021-09-10 12:00 UTC);
    add_comment(
        &pool,
        id,
        "Second reader",
        "Agreed.",
        "approved",
        t + Duration::hours(2),
    )
    .await;
    add_comment(&pool, id, "First reader", "Lovely *photo*.", "approved", t).await;
    add_comment(&pool, id, "Held back", "Visit my site", "pending", t).await;
    let _ = older_id;

    assert_eq!(path, "/2021/09/wrens-are-back.html");
    let page = get(&app(&pool), &path).await;
    assert_eq!(page.status, StatusCode::OK);
    let text = page.text();
    let expected_order = [
        "Friday, September 10, 2021",
        "Wrens are back",
        "Spring came early.",
        "Photo by the author",
        "More soon.",
        "Posted by Casey Writer at 11:12 AM",
        "Labels: Birds, Garden",
        "2 comments:",
        "First reader",
        "Lovely photo.",
        "Second reader",
        "Post a Comment",
        "Newer Post Home Older Post",
    ];
    let mut from = 0;
    for expected in expected_order {
        let at = text[from..]
            .find(expected)
            .unwrap_or_else(|| panic!("{expected:?} after byte {from} in {text}"));
        from += at + expected.len();
    }
    assert!(!text.contains("Held back"));
    assert!(page.body.contains("<figure><img src=\"/media/wren.jpg\" alt=\"A wren on a post\"><figcaption>Photo by the author</figcaption></figure>"));
    assert!(page.body.contains("<title>Wrens are back - Folio</title>"));
    assert!(page.body.contains(
        "<link rel=\"canonical\" href=\"http://blog.test/2021/09/wrens-are-back.html\">"
    ));
    assert_eq!(
        page.links_containing("after-it"),
        ["/2021/09/after-it.html"]
    );
    assert_eq!(
        page.links_containing("before-it"),
        ["/2021/09/before-it.html"]
    );
}

#[sqlx::test]
async fn archive_and_label_pages_and_the_sidebar_count_posts(pool: PgPool) {
    add_post(
        &pool,
        Post::published("Old one", datetime!(2020-05-02 10:00 UTC)).labels(&["Home & Garden"]),
    )
    .await;
    add_post(
        &pool,
        Post::published("September A", datetime!(2021-09-03 10:00 UTC))
            .labels(&["Home & Garden", "Bikes"]),
    )
    .await;
    add_post(
        &pool,
        Post::published("September B", datetime!(2021-09-20 10:00 UTC)).labels(&["Bikes"]),
    )
    .await;
    add_post(
        &pool,
        Post::published("October A", datetime!(2021-10-01 10:00 UTC)).labels(&["Čaj"]),
    )
    .await;
    let app = app(&pool);

    let home = get(&app, "/").await;
    let text = home.text();
    assert!(
        text.contains("Blog Archive 2021 (3) All of 2021 October (1) September (2) 2020 (1) All of 2020 May (1)"),
        "{text}"
    );
    assert!(
        text.contains("Labels Bikes (2) Home & Garden (2) Čaj (1)"),
        "{text}"
    );
    assert!(
        home.body
            .contains("<details open><summary>2021 <span class=\"count\">(3)</span></summary>")
    );
    assert!(
        home.body
            .contains("<details><summary>2020 <span class=\"count\">(1)</span></summary>")
    );
    let archive_links: Vec<String> = home
        .links_containing("/2021/")
        .into_iter()
        .filter(|l| l.ends_with('/'))
        .collect();
    assert_eq!(archive_links, ["/2021/", "/2021/10/", "/2021/09/"]);

    let year = get(&app, "/2021/").await;
    assert_eq!(
        year.post_titles(),
        ["October A", "September B", "September A"]
    );
    assert!(year.text().contains("Posts from 2021"));
    let month = get(&app, "/2021/09/").await;
    assert_eq!(month.post_titles(), ["September B", "September A"]);
    assert!(month.text().contains("Posts from September 2021"));
    assert!(
        get(&app, "/2019/")
            .await
            .text()
            .contains("There are no posts to show here")
    );

    let label_url = &home.links_containing("/search/label/Home")[0];
    assert_eq!(label_url, "/search/label/Home%20%26%20Garden");
    let label = get(&app, label_url).await;
    assert_eq!(label.post_titles(), ["September A", "Old one"]);
    assert!(
        label
            .text()
            .contains("Showing posts with label Home & Garden")
    );
    assert_eq!(
        get(&app, "/search/label/%C4%8Caj").await.post_titles(),
        ["October A"]
    );

    for missing in [
        "/search/label/Nothing",
        "/2021/13/",
        "/21/",
        "/2021/9/",
        "/abcd/",
    ] {
        assert_eq!(
            get(&app, missing).await.status,
            StatusCode::NOT_FOUND,
            "{missing}"
        );
    }
}

#[sqlx::test]
async fn archive_months_follow_the_blog_time_zone(pool: PgPool) {
    // 1 October 02:00 UTC is still September in New York.
    add_post(
        &pool,
        Post::published("Edge of the month", datetime!(2021-10-01 02:00 UTC)),
    )
    .await;
    folio::db::settings::update_basics(&pool, "Folio", "", "America/New_York")
        .await
        .unwrap();
    let app = app(&pool);
    assert!(
        get(&app, "/")
            .await
            .text()
            .contains("2021 (1) All of 2021 September (1)")
    );
    assert_eq!(
        get(&app, "/2021/09/").await.post_titles(),
        ["Edge of the month"]
    );
    assert!(get(&app, "/2021/10/").await.post_titles().is_empty());
}

#[sqlx::test]
async fn static_pages_live_at_p_slug_and_stay_out_of_listings(pool: PgPool) {
    add_post(
        &pool,
        Post::published("A normal post", datetime!(2022-01-01 10:00 UTC)),
    )
    .await;
    let (_, path) = add_post(
        &pool,
        Post::published("About", datetime!(2022-01-02 10:00 UTC))
            .body("Who writes here.")
            .page(),
    )
    .await;
    assert_eq!(path, "/p/about.html");
    let app = app(&pool);
    let page = get(&app, "/p/about.html").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("About Who writes here."));
    assert!(!page.text().contains("Post a Comment"));
    let home = get(&app, "/").await;
    assert_eq!(home.post_titles(), ["A normal post"]);
    assert!(home.text().contains("2022 (1)"));
}

#[sqlx::test]
async fn unknown_paths_get_a_404_page_in_the_blog_layout(pool: PgPool) {
    folio::db::settings::update_basics(&pool, "Tidewater Notes", "", "UTC")
        .await
        .unwrap();
    let app = app(&pool);
    get(&app, "/").await; // the blog has been read once, so its name is known
    for uri in [
        "/no/such/thing",
        "/2021/09/missing.html",
        "/p/nothing.html",
        "/2021/09/x.php",
    ] {
        let page = get(&app, uri).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{uri}");
        assert!(page.header("content-type").starts_with("text/html"));
        let text = page.text();
        assert!(
            text.contains("Page not found") && text.contains("Tidewater Notes"),
            "{uri}: {text}"
        );
        assert!(
            page.body
                .contains("<meta name=\"robots\" content=\"noindex\">")
        );
    }
}

#[sqlx::test]
async fn an_old_path_redirects_permanently_to_the_post(pool: PgPool) {
    let (id, path) = add_post(
        &pool,
        Post::published("Renamed", datetime!(2022-05-05 10:00 UTC)),
    )
    .await;
    crate::common::add_redirect(&pool, "/2022/05/old-name.html", id).await;
    let page = get(&app(&pool), "/2022/05/old-name.html").await;
    assert_eq!(page.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(page.header("location"), path);
}

#[sqlx::test]
async fn sidebar_counts_are_cached_yet_current_across_processes_and_schedules(pool: PgPool) {
    let now = OffsetDateTime::now_utc();
    add_post(
        &pool,
        Post::published("One", now - Duration::days(1)).labels(&["Cached"]),
    )
    .await;
    // Two Folio processes on one database.
    let (first, second) = (app(&pool), app(&pool));
    assert!(get(&first, "/").await.text().contains("Cached (1)"));
    assert!(get(&second, "/").await.text().contains("Cached (1)"));

    // A write anywhere shows at once in both.
    add_post(
        &pool,
        Post::published("Two", now - Duration::hours(1)).labels(&["Cached"]),
    )
    .await;
    assert!(get(&first, "/").await.text().contains("Cached (2)"));
    assert!(get(&second, "/p/nothing.html").await.status == StatusCode::NOT_FOUND);
    assert!(get(&second, "/").await.text().contains("Cached (2)"));

    // A scheduled post appears in the counts at its time, with no write at all.
    let soon = OffsetDateTime::now_utc() + Duration::milliseconds(1500);
    add_post(&pool, Post::published("Three", soon).labels(&["Cached"])).await;
    assert!(get(&first, "/").await.text().contains("Cached (2)"));
    while OffsetDateTime::now_utc() <= soon {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(get(&first, "/").await.text().contains("Cached (3)"));
}

#[sqlx::test]
async fn by_default_a_page_is_kept_from_its_second_request(pool: PgPool) {
    let (_, path) = add_post(
        &pool,
        Post::published(
            "Asked for twice",
            OffsetDateTime::now_utc() - Duration::days(1),
        ),
    )
    .await;
    let (state, app, _) = crate::common::cached_app_keeping_after(
        &pool,
        folio::config::defaults::PAGE_CACHE_MIN_USES,
    )
    .await;
    // The first reader gets the page as rendered; nothing is kept for an address asked once.
    let first = get(&app, &path).await;
    assert!(first.text().contains("Asked for twice"));
    assert_eq!(
        state.pages.len_bytes(),
        0,
        "a page asked for once is not kept"
    );
    // The second request renders it again and keeps it; the third comes from memory.
    assert!(get(&app, &path).await.text().contains("Asked for twice"));
    assert!(state.pages.len_bytes() > 0, "kept from its second request");
    let hits = state.pages.hits();
    let third = get(&app, &path).await;
    assert!(third.text().contains("Asked for twice"));
    assert_eq!(state.pages.hits(), hits + 1, "from memory");
}

#[sqlx::test]
async fn public_pages_come_from_memory_until_something_they_show_changes(pool: PgPool) {
    let now = OffsetDateTime::now_utc();
    let (_, path) = add_post(
        &pool,
        Post::published("Kept in memory", now - Duration::days(1)).labels(&["Memory"]),
    )
    .await;
    let (state, app) = cached_app(&pool).await;
    let first = get(&app, &path).await;
    assert!(first.text().contains("Kept in memory"));
    assert!(get(&app, "/").await.text().contains("Kept in memory"));
    assert!(state.pages.len_bytes() > 0, "the pages were kept");

    // A change made behind the triggers' back (a replica session skips them) is not seen:
    // the pages come from memory.
    let mut quiet = pool.acquire().await.unwrap();
    for statement in [
        "set session_replication_role = replica",
        "update posts set title = 'Changed quietly'",
        "set session_replication_role = default",
    ] {
        sqlx::query(statement).execute(&mut *quiet).await.unwrap();
    }
    drop(quiet);
    let again = get(&app, &path).await;
    assert!(again.text().contains("Kept in memory"));
    assert_eq!(again.header("etag"), first.header("etag"));
    let not_modified = get_with(&app, &path, &[("if-none-match", first.header("etag"))]).await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    assert!(get(&app, "/").await.text().contains("Kept in memory"));

    // Any change that is notified reaches every page.
    sqlx::query("update labels set name = 'Recall'")
        .execute(&pool)
        .await
        .unwrap();
    let post = eventually(&app, &path, |p| p.text().contains("Changed quietly")).await;
    assert!(post.text().contains("Recall"));
    assert!(get(&app, "/").await.text().contains("Changed quietly"));
    assert!(
        get(&app, "/feeds/posts/default")
            .await
            .body
            .contains("Changed quietly")
    );
}

#[sqlx::test]
async fn a_scheduled_post_appears_on_cached_pages_at_its_time(pool: PgPool) {
    let (_, app) = cached_app(&pool).await;
    let now = OffsetDateTime::now_utc();
    add_post(
        &pool,
        Post::published("Already out", now - Duration::days(1)),
    )
    .await;
    let soon = OffsetDateTime::now_utc() + Duration::milliseconds(1500);
    add_post(&pool, Post::published("Coming soon", soon)).await;
    let home = eventually(&app, "/", |p| p.text().contains("Already out")).await;
    assert!(!home.text().contains("Coming soon"));
    assert!(!get(&app, "/").await.text().contains("Coming soon"));
    while OffsetDateTime::now_utc() <= soon {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(get(&app, "/").await.text().contains("Coming soon"));
}

#[sqlx::test]
async fn a_label_pages_through_its_own_posts_only_visible_ones_in_order(pool: PgPool) {
    let start = datetime!(2021-01-01 10:00 UTC);
    for n in 0..12 {
        let labels: &[&str] = if n % 2 == 0 { &["Even"] } else { &["Odd"] };
        add_post(
            &pool,
            Post::published(&format!("Post {n:02}"), start + Duration::days(n)).labels(labels),
        )
        .await;
    }
    // Hidden: a draft, and a scheduled post, both labelled.
    add_post(
        &pool,
        Post::published("Draft even", start + Duration::days(30))
            .draft()
            .labels(&["Even"]),
    )
    .await;
    add_post(
        &pool,
        Post::published("Future even", OffsetDateTime::now_utc() + Duration::days(3))
            .labels(&["Even"]),
    )
    .await;
    // A post moved in time moves on its label's pages too.
    sqlx::query("update posts set published_at = $1 where title = 'Post 00'")
        .bind(start + Duration::days(20))
        .execute(&pool)
        .await
        .unwrap();
    let app = app(&pool);

    let first = get(&app, "/search/label/Even?max-results=2").await;
    assert_eq!(first.post_titles(), ["Post 00", "Post 10"]);
    let older = first.links_containing("updated-max");
    assert_eq!(older.len(), 1, "{:?}", first.links_containing("search"));
    let second = get(&app, &older[0]).await;
    assert_eq!(second.post_titles(), ["Post 08", "Post 06"]);
    let third = get(&app, &second.links_containing("updated-max")[0]).await;
    assert_eq!(third.post_titles(), ["Post 04", "Post 02"]);
    assert!(
        third.links_containing("updated-max").is_empty(),
        "the last page has no older link"
    );
    // And back, newest first on each page.
    let newer = third.links_containing("updated-min");
    let back = get(&app, &newer[0]).await;
    assert_eq!(back.post_titles(), ["Post 08", "Post 06"]);
    let back = get(&app, &back.links_containing("updated-min")[0]).await;
    assert_eq!(back.post_titles(), ["Post 00", "Post 10"]);
    assert!(back.links_containing("updated-min").is_empty());

    let odd = get(&app, "/search/label/Odd").await;
    assert_eq!(
        odd.post_titles(),
        [
            "Post 11", "Post 09", "Post 07", "Post 05", "Post 03", "Post 01"
        ]
    );
}

/// Issue 16, fix 11: a label only drafts carry is unknown to readers, like one that does not
/// exist (its name is the editor's secret until a post with it is out).
#[sqlx::test]
async fn a_label_only_drafts_carry_is_not_found(pool: PgPool) {
    add_post(
        &pool,
        Post::published(
            "Surprise party",
            OffsetDateTime::now_utc() - Duration::days(1),
        )
        .labels(&["Surprises"])
        .draft(),
    )
    .await;
    let app = app(&pool);
    assert_eq!(
        get(&app, "/search/label/Surprises").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, "/feeds/posts/default/-/Surprises").await.status,
        StatusCode::NOT_FOUND
    );
}

/// Issue 16, fix 11: parameters no page reads (trackers, junk) share the page's cache entry.
#[sqlx::test]
async fn junk_parameters_do_not_make_new_cache_entries(pool: PgPool) {
    add_post(
        &pool,
        Post::published("Cache keys", OffsetDateTime::now_utc() - Duration::days(1)),
    )
    .await;
    let (state, app) = cached_app(&pool).await;
    let home = get(&app, "/").await;
    let size = state.pages.len_bytes();
    assert!(size > 0);
    for n in 0..20 {
        let page = get(&app, &format!("/?utm_source=mail&junk={n}")).await;
        assert_eq!(page.header("etag"), home.header("etag"));
    }
    assert_eq!(state.pages.len_bytes(), size, "one entry for all of them");
}

#[sqlx::test]
async fn public_pages_are_kept_unless_they_are_one_persons(pool: PgPool) {
    add_post(
        &pool,
        Post::published("Frost dates", OffsetDateTime::now_utc() - Duration::days(2))
            .body("When the last frost comes, the beans go out."),
    )
    .await;
    let (state, app) = cached_app(&pool).await;
    // Pages whose handlers say nothing of caching are kept all the same.
    for uri in ["/sitemap.xml", "/robots.txt", "/search?q=frost"] {
        let first = get(&app, uri).await;
        assert_eq!(first.status, StatusCode::OK, "{uri}");
        let hits = state.pages.hits();
        let again = get(&app, uri).await;
        assert_eq!(state.pages.hits(), hits + 1, "{uri}: kept");
        assert_eq!(again.body, first.body, "{uri}");
    }
    // A mail link's page is one person's: said so to every cache, and not kept.
    for _ in 0..2 {
        let page = get(&app, "/mail/unsubscribe/not-a-token").await;
        assert_eq!(page.header("cache-control"), "private, no-store");
    }
    let hits = state.pages.hits();
    get(&app, "/mail/unsubscribe/not-a-token").await;
    assert_eq!(
        state.pages.hits(),
        hits,
        "a mail link's page is never a hit"
    );
}
