//! Feeds, the sitemap, robots.txt, page metadata and search: what feed readers, search engines
//! and searching readers get.

use crate::common::{Post, add_comment, add_post, app, app_with, get, send};
use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use folio::{config::Config, db};
use sqlx::PgPool;
use time::{Duration, OffsetDateTime, macros::datetime};

fn parse(xml: &str) -> feed_rs::model::Feed {
    feed_rs::parser::parse(xml.as_bytes()).unwrap_or_else(|e| panic!("a valid feed: {e}\n{xml}"))
}

fn titles(feed: &feed_rs::model::Feed) -> Vec<String> {
    feed.entries
        .iter()
        .map(|e| e.title.as_ref().unwrap().content.clone())
        .collect()
}

#[sqlx::test]
async fn the_atom_feed_carries_posts_with_absolute_links_dates_labels_and_content(pool: PgPool) {
    let (id, path) = add_post(
        &pool,
        Post::published("Winter pruning", datetime!(2024-01-05 09:30 UTC))
            .labels(&["Garden", "Trees"])
            .body("Cut back to an *outward* bud. ![Shears](/media/shears.png \"The shears\")"),
    )
    .await;
    add_post(
        &pool,
        Post::published("Spring sowing", datetime!(2024-03-01 08:00 UTC)).labels(&["Garden"]),
    )
    .await;
    add_post(
        &pool,
        Post::published("A draft", datetime!(2024-03-02 08:00 UTC)).draft(),
    )
    .await;
    let app = app(&pool);

    let page = get(&app, "/feeds/posts/default").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header("content-type"), "application/atom+xml");
    let feed = parse(&page.body);
    assert_eq!(feed.title.as_ref().unwrap().content, "Folio");
    assert_eq!(titles(&feed), ["Spring sowing", "Winter pruning"]);
    let entry = &feed.entries[1];
    assert_eq!(entry.id, format!("tag:blog.test,2026:post-{id}"));
    assert_eq!(entry.links[0].href, format!("http://blog.test{path}"));
    assert_eq!(
        entry.published.unwrap().to_rfc3339(),
        "2024-01-05T09:30:00+00:00"
    );
    assert_eq!(entry.authors[0].name, "Casey Writer");
    let labels: Vec<&str> = entry.categories.iter().map(|c| c.term.as_str()).collect();
    assert_eq!(labels, ["Garden", "Trees"]);
    let content = entry.content.as_ref().unwrap().body.as_ref().unwrap();
    assert!(content.contains("<em>outward</em>"), "{content}");
    assert!(
        content.contains("src=\"http://blog.test/media/shears.png\""),
        "links are absolute: {content}"
    );
    assert_eq!(
        feed.updated.unwrap(),
        entry.updated.unwrap().max(feed.entries[0].updated.unwrap())
    );

    // The id stays when the post is edited.
    sqlx::query("update posts set title = 'Winter pruning, revised' where id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    let feed = parse(&get(&app, "/feeds/posts/default").await.body);
    let edited = feed
        .entries
        .iter()
        .find(|e| e.id == format!("tag:blog.test,2026:post-{id}"))
        .unwrap();
    assert_eq!(
        edited.title.as_ref().unwrap().content,
        "Winter pruning, revised"
    );
}

#[sqlx::test]
async fn rss_label_feeds_paging_and_redirects(pool: PgPool) {
    for n in 0..5 {
        let labels: &[&str] = if n % 2 == 0 { &["Even"] } else { &["Odd"] };
        add_post(
            &pool,
            Post::published(
                &format!("Note {n}"),
                datetime!(2024-05-01 10:00 UTC) + Duration::days(n),
            )
            .labels(labels),
        )
        .await;
    }
    let app = app(&pool);
    let rss = get(&app, "/feeds/posts/default?alt=rss").await;
    assert_eq!(rss.header("content-type"), "application/rss+xml");
    let feed = parse(&rss.body);
    assert_eq!(feed.feed_type, feed_rs::model::FeedType::RSS2);
    assert_eq!(
        titles(&feed),
        ["Note 4", "Note 3", "Note 2", "Note 1", "Note 0"]
    );
    assert!(
        rss.body
            .contains("<pubDate>Sun, 05 May 2024 10:00:00 +0000</pubDate>"),
        "{}",
        rss.body
    );

    let even = parse(&get(&app, "/feeds/posts/default/-/Even").await.body);
    assert_eq!(titles(&even), ["Note 4", "Note 2", "Note 0"]);
    assert_eq!(
        get(&app, "/feeds/posts/default/-/Nothing").await.status,
        StatusCode::NOT_FOUND
    );

    let page = parse(
        &get(&app, "/feeds/posts/default?max-results=2&start-index=2")
            .await
            .body,
    );
    assert_eq!(titles(&page), ["Note 3", "Note 2"]);
    for bounds in [
        "max-results=0",
        "max-results=99999",
        "start-index=-5",
        "start-index=abc",
        "max-results=x",
    ] {
        assert_eq!(
            get(&app, &format!("/feeds/posts/default?{bounds}"))
                .await
                .status,
            StatusCode::OK,
            "{bounds}"
        );
    }

    let atom = get(&app, "/atom.xml").await;
    assert_eq!(
        (atom.status, atom.header("location")),
        (StatusCode::PERMANENT_REDIRECT, "/feeds/posts/default")
    );
    let rss = get(&app, "/rss.xml").await;
    assert_eq!(rss.header("location"), "/feeds/posts/default?alt=rss");
}

#[sqlx::test]
async fn comment_feeds_point_each_comment_at_its_post(pool: PgPool) {
    let (id, path) = add_post(
        &pool,
        Post::published("Talked about", datetime!(2024-02-01 10:00 UTC)),
    )
    .await;
    let (other, _) = add_post(
        &pool,
        Post::published("Quiet", datetime!(2024-02-02 10:00 UTC)),
    )
    .await;
    let c = add_comment(
        &pool,
        id,
        "Rafa",
        "Good *one*",
        "approved",
        datetime!(2024-02-03 10:00 UTC),
    )
    .await;
    add_comment(
        &pool,
        other,
        "Sol",
        "Elsewhere",
        "approved",
        datetime!(2024-02-04 10:00 UTC),
    )
    .await;
    add_comment(
        &pool,
        id,
        "Held",
        "Not yet",
        "pending",
        datetime!(2024-02-05 10:00 UTC),
    )
    .await;
    let app = app(&pool);

    let all = get(&app, "/feeds/comments/default").await;
    let feed = parse(&all.body);
    assert_eq!(titles(&feed), ["Sol on Quiet", "Rafa on Talked about"]);
    assert!(all.body.contains(&format!(
        "<thr:in-reply-to ref=\"tag:blog.test,2026:post-{id}\" href=\"http://blog.test{path}\" type=\"text/html\"/>"
    )));
    let one = get(&app, &format!("/feeds/{id}/comments/default")).await;
    let feed = parse(&one.body);
    assert_eq!(titles(&feed), ["Rafa on Talked about"]);
    // The comment's lasting address, which leads to the comment page that holds it.
    assert_eq!(
        feed.entries[0].links[0].href,
        format!("http://blog.test/comment/{c}")
    );
    let permalink = get(&app, &format!("/comment/{c}")).await;
    assert_eq!(permalink.header("location"), format!("{path}#c{c}"));
    assert!(
        feed.entries[0]
            .content
            .as_ref()
            .unwrap()
            .body
            .as_ref()
            .unwrap()
            .contains("<em>one</em>")
    );
    assert_eq!(
        get(&app, "/feeds/99999/comments/default").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, "/feeds/abc/comments/default").await.status,
        StatusCode::NOT_FOUND
    );
}

#[sqlx::test]
async fn hostile_text_stays_escaped_and_well_formed_in_every_feed(pool: PgPool) {
    let title = "<script>alert(1)</script> & \"quotes\" ]]> </title>";
    let (id, _) = add_post(
        &pool,
        Post::published(title, datetime!(2024-06-01 10:00 UTC))
            .labels(&["<b>bold</b> & co"])
            .body("<img src=x onerror=alert(1)> text ]]>"),
    )
    .await;
    add_comment(
        &pool,
        id,
        "<svg onload=alert(1)>",
        "<script>x</script> ]]>",
        "approved",
        datetime!(2024-06-02 10:00 UTC),
    )
    .await;
    let app = app(&pool);
    for uri in [
        "/feeds/posts/default",
        "/feeds/posts/default?alt=rss",
        "/feeds/comments/default",
        &format!("/feeds/{id}/comments/default"),
        "/sitemap.xml",
    ] {
        let page = get(&app, uri).await;
        assert!(
            !page.body.contains("<script>")
                && !page.body.contains("<svg")
                && !page.body.contains("<img"),
            "{uri}: {}",
            page.body
        );
        if uri != "/sitemap.xml" {
            let feed = parse(&page.body);
            assert!(!feed.entries.is_empty(), "{uri}");
        }
    }
    let feed = parse(&get(&app, "/feeds/posts/default").await.body);
    assert_eq!(
        feed.entries[0].title.as_ref().unwrap().content,
        title,
        "the title reads back exactly"
    );
    assert_eq!(feed.entries[0].categories[0].term, "<b>bold</b> & co");
    let content = feed.entries[0]
        .content
        .as_ref()
        .unwrap()
        .body
        .clone()
        .unwrap();
    assert!(!content.contains("onerror"), "{content}");
}

#[sqlx::test]
async fn feeds_answer_conditional_requests_with_304(pool: PgPool) {
    add_post(
        &pool,
        Post::published("Cached feed", datetime!(2024-07-01 10:00 UTC)),
    )
    .await;
    let app = app(&pool);
    let first = get(&app, "/feeds/posts/default").await;
    let etag = first.header("etag").to_owned();
    let modified = first.header("last-modified").to_owned();
    assert!(etag.starts_with("W/\""));
    assert!(modified.ends_with(" GMT"), "{modified}");
    let by_tag = send(
        &app,
        Request::get("/feeds/posts/default")
            .header("if-none-match", &etag)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(by_tag.status, StatusCode::NOT_MODIFIED);
    let by_date = send(
        &app,
        Request::get("/feeds/posts/default")
            .header("if-modified-since", &modified)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(by_date.status, StatusCode::NOT_MODIFIED);
    let older = send(
        &app,
        Request::get("/feeds/posts/default")
            .header("if-modified-since", "Mon, 01 Jan 2024 00:00:00 GMT")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(older.status, StatusCode::OK);
}

#[sqlx::test]
async fn a_setting_switches_feeds_to_summaries(pool: PgPool) {
    add_post(
        &pool,
        Post::published("Long one", datetime!(2024-08-01 10:00 UTC))
            .body("First paragraph only.\n\nSecond paragraph, not in the summary."),
    )
    .await;
    let mut settings = db::settings::load(&pool).await.unwrap();
    settings.feed_summaries = true;
    db::settings::update_all(&pool, &settings).await.unwrap();
    let feed = parse(&get(&app(&pool), "/feeds/posts/default").await.body);
    assert!(feed.entries[0].content.is_none());
    assert_eq!(
        feed.entries[0].summary.as_ref().unwrap().content,
        "First paragraph only."
    );
}

#[sqlx::test]
async fn the_sitemap_lists_what_is_public_and_splits_into_an_index(pool: PgPool) {
    let (_, first) = add_post(
        &pool,
        Post::published("First", datetime!(2024-01-01 10:00 UTC)).labels(&["Walks"]),
    )
    .await;
    let (_, second) = add_post(
        &pool,
        Post::published("Second", datetime!(2024-01-02 10:00 UTC)),
    )
    .await;
    let (_, about) = add_post(
        &pool,
        Post::published("About", datetime!(2024-01-03 10:00 UTC)).page(),
    )
    .await;
    let (_, draft) = add_post(
        &pool,
        Post::published("Draft", datetime!(2024-01-04 10:00 UTC)).draft(),
    )
    .await;
    let app = app(&pool);
    let sitemap = get(&app, "/sitemap.xml").await;
    assert_eq!(sitemap.header("content-type"), "application/xml");
    let body = &sitemap.body;
    assert!(body.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">"));
    for path in [&first, &second, &about, &"/search/label/Walks".to_owned()] {
        assert!(
            body.contains(&format!("<loc>http://blog.test{path}</loc><lastmod>")),
            "{path}: {body}"
        );
    }
    assert!(!body.contains(&draft));
    assert_eq!(body.matches("<url>").count(), 4);

    let split = app_with(
        &pool,
        Config {
            sitemap_chunk: 3,
            ..Config::with_base_url(crate::common::BASE_URL)
        },
    );
    let index = get(&split, "/sitemap.xml").await;
    assert!(index.body.contains("<sitemapindex"), "{}", index.body);
    assert!(
        index
            .body
            .contains("<loc>http://blog.test/sitemap/1.xml</loc>")
            && index
                .body
                .contains("<loc>http://blog.test/sitemap/2.xml</loc>")
    );
    let parts = [
        get(&split, "/sitemap/1.xml").await.body,
        get(&split, "/sitemap/2.xml").await.body,
    ];
    assert_eq!(
        parts[0].matches("<url>").count() + parts[1].matches("<url>").count(),
        4
    );
    assert_eq!(
        get(&split, "/sitemap/3.xml").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&split, "/sitemap/x.xml").await.status,
        StatusCode::NOT_FOUND
    );

    let robots = get(&app, "/robots.txt").await;
    assert_eq!(robots.header("content-type"), "text/plain; charset=utf-8");
    assert_eq!(
        robots.body,
        "User-agent: *\nDisallow: /admin\nSitemap: http://blog.test/sitemap.xml\n"
    );
}

#[sqlx::test]
async fn pages_describe_themselves_to_feed_readers_and_search_engines(pool: PgPool) {
    let (id, path) = add_post(
        &pool,
        Post::published("Tide </script> tables", datetime!(2024-04-04 10:00 UTC))
            .labels(&["Sea"])
            .body("Low water at noon."),
    )
    .await;
    let app = app(&pool);
    let post = get(&app, &path).await;
    let body = &post.body;
    assert!(body.contains("<link rel=\"alternate\" type=\"application/atom+xml\" title=\"Folio - Atom\" href=\"http://blog.test/feeds/posts/default\">"));
    assert!(body.contains("type=\"application/rss+xml\""));
    assert!(body.contains(&format!(
        "href=\"http://blog.test/feeds/{id}/comments/default\""
    )));
    assert!(body.contains("<meta property=\"og:type\" content=\"article\">"));
    assert!(body.contains(&format!(
        "<meta property=\"og:url\" content=\"http://blog.test{path}\">"
    )));
    assert!(body.contains("<meta property=\"og:description\" content=\"Low water at noon.\">"));
    assert!(body.contains("<meta name=\"twitter:card\" content=\"summary\">"));
    assert!(
        body.contains("class=\"post h-entry\"")
            && body.contains("p-author h-card")
            && body.contains("dt-published")
    );
    let json = body
        .split("<script type=\"application/ld+json\">")
        .nth(1)
        .unwrap()
        .split("</script>")
        .next()
        .unwrap();
    let ld: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(ld["@type"], "BlogPosting");
    assert_eq!(
        ld["headline"], "Tide </script> tables",
        "the title survives, and cannot end the script element"
    );
    assert_eq!(ld["author"]["name"], "Casey Writer");
    assert_eq!(ld["datePublished"], "2024-04-04T10:00:00Z");
    assert_eq!(
        get(&app, "/search/label/Se%00a").await.status,
        StatusCode::BAD_REQUEST,
        "a NUL is the client's mistake, not a 500"
    );
    let label = get(&app, "/search/label/Sea").await;
    assert!(
        label
            .body
            .contains("href=\"http://blog.test/feeds/posts/default/-/Sea\"")
    );
}

#[sqlx::test]
async fn search_ranks_titles_first_understands_quotes_or_and_minus_and_highlights(pool: PgPool) {
    let now = OffsetDateTime::now_utc();
    add_post(
        &pool,
        Post::published("Sourdough notes", now - Duration::days(5)).body("Flour and water."),
    )
    .await;
    add_post(
        &pool,
        Post::published("Bike repair", now - Duration::days(4))
            .body("The sourdough waited while I fixed the chain."),
    )
    .await;
    add_post(
        &pool,
        Post::published("Kitchen", now - Duration::days(3))
            .labels(&["Sourdough"])
            .body("Ovens."),
    )
    .await;
    add_post(
        &pool,
        Post::published("Secret sourdough", now - Duration::days(2)).draft(),
    )
    .await;
    let app = app(&pool);
    let results = |page: &crate::common::Page| page.texts("h2.result-title");
    let page = get(&app, "/search?q=sourdough").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        results(&page),
        ["Sourdough notes", "Kitchen", "Bike repair"],
        "title, then label, then body"
    );
    assert!(page.text().contains("3 posts match."));
    assert!(
        page.body.contains("The <mark>sourdough</mark> waited"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("<meta name=\"robots\" content=\"noindex\">")
    );

    assert_eq!(
        results(&get(&app, "/search?q=%22sourdough+waited%22").await),
        ["Bike repair"]
    );
    assert_eq!(
        results(&get(&app, "/search?q=sourdough+-chain+-ovens").await),
        ["Sourdough notes"]
    );
    assert_eq!(
        results(&get(&app, "/search?q=flour+OR+ovens").await),
        ["Kitchen", "Sourdough notes"]
    );

    let none = get(&app, "/search?q=zeppelin").await;
    assert!(none.text().contains("No posts match"));
    let empty = get(&app, "/search?q=").await;
    assert!(empty.text().contains("Type a few words to find posts."));
    assert!(
        get(&app, "/")
            .await
            .body
            .contains("<input type=\"search\" id=\"sidebar-search\" name=\"q\"")
    );

    let huge = "a".repeat(20_000);
    for hostile in [
        "%22unclosed",
        "%5C%5C%5C",
        "a%20-b%20OR",
        "%FF%FE%FD",
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "%27%3B+drop+table+posts%3B--",
        "!!!%26%26%7C%7C",
        "%00",
        huge.as_str(),
    ] {
        let page = get(&app, &format!("/search?q={hostile}")).await;
        assert_eq!(page.status, StatusCode::OK, "{hostile}");
        assert!(!page.body.contains("<script>alert"), "{hostile}");
    }
    let posts: i64 = sqlx::query_scalar("select count(*) from posts")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(posts, 4);
}

#[sqlx::test]
async fn search_pages_are_bounded_and_the_language_is_a_setting(pool: PgPool) {
    let now = OffsetDateTime::now_utc();
    for n in 0..13 {
        add_post(
            &pool,
            Post::published(&format!("Pear diary {n}"), now - Duration::days(n))
                .body("Picking pears."),
        )
        .await;
    }
    let app = app(&pool);
    let first = get(&app, "/search?q=pear").await;
    assert!(first.text().contains("13 posts match."));
    assert_eq!(first.body.matches("class=\"result-title\"").count(), 10);
    let next = first.links_containing("page=2");
    assert_eq!(next, ["/search?q=pear&page=2"]);
    let second = get(&app, &next[0]).await;
    assert_eq!(second.body.matches("class=\"result-title\"").count(), 3);
    assert_eq!(
        get(&app, "/search?q=pear&page=999").await.status,
        StatusCode::OK
    );

    // "simple" matches words exactly; English stems "pears" to "pear".
    assert!(
        get(&app, "/search?q=pears")
            .await
            .text()
            .contains("13 posts match."),
        "the body says pears"
    );
    assert!(
        get(&app, "/search?q=picking")
            .await
            .text()
            .contains("13 posts match.")
    );
    assert!(
        get(&app, "/search?q=picked")
            .await
            .text()
            .contains("No posts match")
    );
    let mut settings = db::settings::load(&pool).await.unwrap();
    settings.search_language = "english".into();
    db::settings::update_all(&pool, &settings).await.unwrap();
    assert!(
        get(&app, "/search?q=picked")
            .await
            .text()
            .contains("13 posts match."),
        "every post was re-indexed"
    );
}

#[sqlx::test]
async fn a_word_in_very_many_posts_is_neither_counted_nor_ranked_in_full(pool: PgPool) {
    let now = OffsetDateTime::now_utc();
    // Past a hundred matches the count stops; more words narrow the search.
    sqlx::query(
        "insert into posts (kind, status, title, slug, path, body_source, body_html, published_at)
         select 'post', 'published', 'Plum note ' || n, 'plum-note-' || n,
                '/2020/01/plum-note-' || n || '.html', 'A plum.', '<p>A plum.</p>',
                $1 - n * interval '1 hour'
         from generate_series(1, 120) n",
    )
    .bind(now)
    .execute(&pool)
    .await
    .unwrap();
    let app = app(&pool);
    let page = get(&app, "/search?q=plum").await;
    assert!(
        page.text()
            .contains("More than 100 posts match: add words to narrow the search."),
        "{}",
        page.text()
    );
    assert_eq!(page.body.matches("class=\"result-title\"").count(), 10);
    let narrowed = get(&app, "/search?q=plum+note+7").await.text();
    assert!(
        narrowed.contains("1 post matches. Plum note 7"),
        "{narrowed}"
    );
}

/// Issue 16, fix 8: control characters typed into a comment or the settings are dropped at the
/// form, so the feeds stay well-formed XML for everyone.
#[sqlx::test]
async fn control_characters_never_reach_the_feeds(pool: PgPool) {
    let (post_id, path) = add_post(
        &pool,
        Post::published("Clean feeds", OffsetDateTime::now_utc() - Duration::days(1)),
    )
    .await;
    let app = app(&pool);
    let token = folio::auth::form_token::issue(
        &crate::common::secret(),
        post_id,
        OffsetDateTime::now_utc().unix_timestamp() - 10,
    );
    let sent = crate::common::post_form(
        &app,
        &path,
        &[
            ("token", &token),
            ("name", "Bell\u{7}"),
            ("website", "example.org/\u{1}x"),
            (
                "comment",
                "Escape \u{1b}[31mred\u{1b}[0m and NUL \u{0} too.\u{fffe}",
            ),
        ],
        &[],
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.text());
    for feed in [
        "/feeds/comments/default",
        &format!("/feeds/{post_id}/comments/default"),
    ] {
        let xml = get(&app, feed).await.body;
        let parsed = parse(&xml);
        assert_eq!(parsed.entries.len(), 1, "{feed}");
        assert!(xml.contains("Escape [31mred[0m and NUL  too."), "{xml}");
    }
}
