//! Bringing a blog in from Blogger and WordPress, and taking it out again: every field on the
//! rendered pages, old links, re-runs, round trips, and files that must be refused.

use std::{
    io::Cursor,
    sync::{Arc, atomic::AtomicU64},
};

use crate::common::{Post, add_comment, add_post, app, database_url, get};
use axum::http::StatusCode;
use folio::App;
use folio::{
    export,
    import::{self, Format, ImportError, Summary},
};
use sqlx::{Connection, PgConnection, PgPool, postgres::PgConnectOptions};
use time::macros::datetime;

const CLASSIC: &str = include_str!("fixtures/import/blogger-classic.xml");
const TAKEOUT: &str = include_str!("fixtures/import/blogger-takeout.atom");
const WORDPRESS: &str = include_str!("fixtures/import/wordpress.xml");

async fn import_text(pool: &PgPool, format: Format, text: &str) -> Result<Summary, ImportError> {
    import::run(
        pool,
        format,
        Cursor::new(text.as_bytes().to_vec()),
        Arc::new(AtomicU64::new(0)),
    )
    .await
}

async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(&format!("select count(*) from {table}"))
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Every row count a reader or an editor could notice.
async fn blog_counts(pool: &PgPool) -> Vec<(String, i64)> {
    let mut counts = Vec::new();
    for table in [
        "posts",
        "comments",
        "labels",
        "post_labels",
        "redirects",
        "users",
        "post_revisions",
    ] {
        counts.push((table.to_owned(), count(pool, table).await));
    }
    counts
}

/// What a reader sees of the Harbour Lights blog, whichever export it came from.
/// `c1_anchor` is the anchor the first comment had on its old blog.
async fn assert_the_harbour_blog(pool: &PgPool, app: &App, post_path: &str, c1_anchor: &str) {
    let page = get(app, post_path).await;
    assert_eq!(page.status, StatusCode::OK, "{post_path}");
    let text = page.text();
    for expected in [
        "Mending the lantern",
        "We spent the weekend on the Fresnel lens — built in 1898 & still whole. Coffee at the café ☕ kept us going.",
        "The lens before cleaning",
        "Next: the brass gallery rail.",
        "Maren Holt",
        "Restoration",
        "Lantern room",
        // the thread, three deep
        "Ole Brandt",
        "Lovely work on the brass!",
        "Thank you, Ole — it took three weekends.",
        "Anonymous",
        "Which polish did you use?",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from: {text}");
    }
    // The photo and its caption survive; the attacks do not.
    assert!(
        page.body
            .contains(r#"src="https://images.example/lantern.jpg""#)
    );
    assert!(page.body.contains("<b>gallery rail</b>"));
    assert!(page.body.contains("<i>really</i>"));
    for attack in ["<script>alert", "alert(", "onerror", "javascript:"] {
        assert!(!page.body.contains(attack), "{attack} reached the page");
    }
    // The trashed comment is not shown.
    assert!(!text.contains("cheap watches"), "{text}");
    assert!(page.links_containing("https://ole.example").len() == 1);
    // Old links to a comment land on it.
    assert!(
        page.body.contains(&format!(r#"id="{c1_anchor}""#)),
        "no anchor {c1_anchor}"
    );
    let thread: Vec<(String, Option<String>)> = sqlx::query_as(
        "select c.author_name, p.author_name from comments c left join comments p on p.id = c.parent_id
         where c.status = 'approved' and c.post_id = (select id from posts where path = $1)
         order by c.created_at",
    )
    .bind(post_path)
    .fetch_all(pool)
    .await
    .unwrap();
    let names: Vec<(&str, Option<&str>)> = thread
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_deref()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("Ole Brandt", None),
            ("Maren Holt", Some("Ole Brandt")),
            ("Anonymous", Some("Maren Holt")),
        ]
    );
    // In the page, the reply to a reply sits inside its parent's list.
    let c1 = page.body.find("Lovely work on the brass!").unwrap();
    let c3 = page.body.find("Which polish did you use?").unwrap();
    let between = &page.body[c1..c3];
    assert_eq!(
        between.matches(r#"<ol class="comment-replies">"#).count(),
        2
    );

    let storm = get(app, "/2024/11/storm-season-log.html").await;
    assert_eq!(storm.status, StatusCode::OK);
    assert!(
        storm
            .text()
            .contains("Wind force 9 — 風 — we logged it from Ærø <no tag here> until dawn."),
        "{}",
        storm.text()
    );
    assert!(storm.body.contains("&lt;no tag here&gt;"));
    assert!(storm.text().contains("Stay dry out there."));
    assert!(storm.text().contains("Ines Vidal"));

    let about = get(app, "/p/about.html").await;
    assert_eq!(about.status, StatusCode::OK);
    assert!(about.text().contains("A volunteer crew keeps the light."));

    let label = get(app, "/search/label/Restoration").await;
    assert_eq!(label.post_titles(), vec!["Mending the lantern"]);

    // The draft is kept, but not shown.
    let draft: (String, String, Vec<String>) = sqlx::query_as(
        "select p.status, p.path, array(select l.name from post_labels pl join labels l on l.id = pl.label_id
                                        where pl.post_id = p.id)
         from posts p where p.title = 'Notes for the open day'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(draft.0, "draft");
    assert_eq!(draft.2, vec!["Events"]);
    assert_eq!(get(app, &draft.1).await.status, StatusCode::NOT_FOUND);
    assert!(!get(app, "/").await.text().contains("open day"));

    // Dates keep the offset they were written with.
    let dates: Vec<(String, time::OffsetDateTime, Option<i32>)> = sqlx::query_as(
        "select title, published_at, published_offset from posts where kind = 'post' and status = 'published' order by published_at",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(
        dates,
        vec![
            (
                "Mending the lantern".to_owned(),
                datetime!(2024-03-17 09:15 +01:00),
                Some(3600)
            ),
            (
                "Storm season log".to_owned(),
                datetime!(2024-11-02 18:40 -05:00),
                Some(-18000)
            ),
        ]
    );
    let author: String = sqlx::query_scalar(
        "select u.display_name from posts p join users u on u.id = p.author_id where p.title = 'Storm season log'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(author, "Maren Holt");
}

#[sqlx::test]
async fn a_classic_blogger_export_is_imported_whole(pool: PgPool) {
    let summary = import_text(&pool, Format::Blogger, CLASSIC).await.unwrap();
    assert_eq!(
        (summary.posts.added, summary.pages.added, summary.drafts),
        (3, 1, 1)
    );
    assert_eq!(summary.comments.added, 5);
    assert_eq!(summary.skipped.values().sum::<u64>(), 3, "{summary:?}");
    let app = app(&pool);
    assert_the_harbour_blog(&pool, &app, "/2024/03/mending-the-lantern.html", "c9001").await;
    // Blogger's link to a comment: to the comment page that holds it (the browser keeps the
    // link's `#c9001`), which carries the comment's old anchor.
    let link = get(
        &app,
        "/2024/03/mending-the-lantern.html?showComment=1710673200000",
    )
    .await;
    assert_eq!(link.status, StatusCode::SEE_OTHER);
    assert_eq!(link.header("location"), "/2024/03/mending-the-lantern.html");
    let page = get(&app, "/2024/03/mending-the-lantern.html").await;
    assert!(page.body.contains(r#"id="c9001""#));
    let statuses: Vec<(String, i64)> =
        sqlx::query_as("select status, count(*) from comments group by status order by status")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        statuses,
        vec![("approved".to_owned(), 4), ("trash".to_owned(), 1)]
    );
}

#[sqlx::test]
async fn a_takeout_export_is_imported_whole(pool: PgPool) {
    let summary = import_text(&pool, Format::Blogger, TAKEOUT).await.unwrap();
    assert_eq!(
        (
            summary.posts.added,
            summary.pages.added,
            summary.comments.added
        ),
        (3, 1, 5)
    );
    assert_eq!(summary.skipped.get("posts in Blogger's trash"), Some(&1));
    let app = app(&pool);
    assert_the_harbour_blog(&pool, &app, "/2024/03/mending-the-lantern.html", "c9001").await;
    assert_eq!(
        get(&app, "/2024/06/an-old-mistake.html").await.status,
        StatusCode::NOT_FOUND
    );
}

#[sqlx::test]
async fn a_wordpress_export_is_imported_whole_and_old_links_move(pool: PgPool) {
    let summary = import_text(&pool, Format::Wxr, WORDPRESS).await.unwrap();
    assert_eq!(
        (
            summary.posts.added,
            summary.pages.added,
            summary.comments.added
        ),
        (3, 1, 6)
    );
    assert_eq!(summary.skipped.get("pingbacks and trackbacks"), Some(&1));
    assert_eq!(summary.skipped.values().sum::<u64>(), 3, "{summary:?}");
    let app = app(&pool);
    assert_the_harbour_blog(
        &pool,
        &app,
        "/2024/03/mending-the-lantern.html",
        "comment-101",
    )
    .await;
    // WordPress keeps paragraphs as blank lines: they become paragraphs.
    let page = get(&app, "/2024/03/mending-the-lantern.html").await;
    assert!(
        page.body.contains("<p>We spent the weekend"),
        "{}",
        page.body
    );
    // The held comment is kept for the moderator, not shown.
    assert!(!page.text().contains("open in winter"));
    assert_eq!(
        sqlx::query_scalar::<_, String>("select status from comments where author_name = 'Tomas'")
            .fetch_one(&pool)
            .await
            .unwrap(),
        "pending"
    );
    for (old, new) in [
        (
            "/2024/03/17/mending-the-lantern/",
            "/2024/03/mending-the-lantern.html",
        ),
        (
            "/2024/03/17/mending-the-lantern",
            "/2024/03/mending-the-lantern.html",
        ),
        ("/?p=11", "/2024/03/mending-the-lantern.html"),
        (
            "/2024/11/02/storm-season-log/",
            "/2024/11/storm-season-log.html",
        ),
        ("/about/", "/p/about.html"),
        ("/?page_id=2", "/p/about.html"),
    ] {
        let page = get(&app, old).await;
        assert_eq!(page.status, StatusCode::MOVED_PERMANENTLY, "{old}");
        assert_eq!(page.header("location"), new, "{old}");
    }
    // A draft's old link leads nowhere, and unknown addresses are still not found.
    assert_eq!(get(&app, "/?p=13").await.status, StatusCode::OK);
    assert_eq!(
        get(&app, "/no/such/page/").await.status,
        StatusCode::NOT_FOUND
    );
}

#[sqlx::test]
async fn importing_the_same_file_twice_changes_nothing(pool: PgPool) {
    for (format, text) in [
        (Format::Blogger, CLASSIC),
        (Format::Blogger, TAKEOUT),
        (Format::Wxr, WORDPRESS),
    ] {
        import_text(&pool, format, text).await.unwrap();
        let before = blog_counts(&pool).await;
        let stamps: Vec<(i64, time::OffsetDateTime)> =
            sqlx::query_as("select id, updated_at from posts order by id")
                .fetch_all(&pool)
                .await
                .unwrap();
        let again = import_text(&pool, format, text).await.unwrap();
        assert_eq!(
            (again.posts.added, again.posts.updated),
            (0, 0),
            "{again:?}"
        );
        assert_eq!((again.comments.added, again.comments.updated), (0, 0));
        assert_eq!(again.posts.unchanged + again.pages.unchanged, 4);
        assert_eq!(blog_counts(&pool).await, before);
        let after: Vec<(i64, time::OffsetDateTime)> =
            sqlx::query_as("select id, updated_at from posts order by id")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(after, stamps, "no post was rewritten");
    }
}

#[sqlx::test]
async fn a_newer_export_updates_only_what_changed(pool: PgPool) {
    import_text(&pool, Format::Blogger, CLASSIC).await.unwrap();
    // An editor corrects another post in Folio meanwhile: that stays.
    sqlx::query("update posts set title = 'About our lighthouse' where path = '/p/about.html'")
        .execute(&pool)
        .await
        .unwrap();
    let newer = CLASSIC
        .replace("Stay dry out there.", "Stay dry and safe out there.")
        .replace("we logged it from Ærø", "we logged it by hand from Ærø");
    let summary = import_text(&pool, Format::Blogger, &newer).await.unwrap();
    assert_eq!((summary.posts.updated, summary.posts.unchanged), (1, 2));
    assert_eq!(
        (summary.comments.updated, summary.comments.unchanged),
        (1, 4)
    );
    let app = app(&pool);
    let storm = get(&app, "/2024/11/storm-season-log.html").await.text();
    assert!(storm.contains("we logged it by hand from Ærø"), "{storm}");
    assert!(storm.contains("Stay dry and safe out there."));
    assert!(
        get(&app, "/p/about.html")
            .await
            .text()
            .contains("About our lighthouse")
    );
    // The version the update replaced is a revision, as after an editor's save.
    let revisions: Vec<String> = sqlx::query_scalar("select body_source from post_revisions")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(revisions.len(), 1);
    assert!(revisions[0].contains("we logged it from"));
}

async fn fresh_database(pool: &PgPool, name: &str) -> PgPool {
    let options: PgConnectOptions = (*pool.connect_options()).clone();
    let mut admin = PgConnection::connect_with(&options).await.unwrap();
    sqlx::query(&format!("drop database if exists {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::query(&format!("create database {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let fresh = PgPool::connect_with(options.database(name)).await.unwrap();
    folio::db::migrate(&fresh).await.unwrap();
    fresh
}

async fn drop_database(pool: &PgPool, fresh: PgPool, name: &str) {
    fresh.close().await;
    let options: PgConnectOptions = (*pool.connect_options()).clone();
    let mut admin = PgConnection::connect_with(&options).await.unwrap();
    // A closed connection's server process may still be leaving ("being accessed by other users").
    sqlx::query(&format!("drop database if exists {name} with (force)"))
        .execute(&mut admin)
        .await
        .unwrap();
}

async fn export_text(pool: &PgPool, format: export::Format) -> String {
    let site = export::Site {
        base_url: crate::common::BASE_URL.to_owned(),
        host: "blog.test".to_owned(),
        title: "Folio".to_owned(),
        description: String::new(),
        time_zone: jiff::tz::TimeZone::UTC,
    };
    let (sender, mut receiver) = tokio::sync::mpsc::channel(4);
    let db = pool.clone();
    let writer = tokio::spawn(async move { export::run(&db, format, &site, sender).await });
    let mut bytes = Vec::new();
    while let Some(chunk) = receiver.recv().await {
        bytes.extend(chunk);
    }
    writer.await.unwrap().unwrap();
    String::from_utf8(bytes).unwrap()
}

/// Every public page of the blog, as text.
async fn public_pages(pool: &PgPool) -> Vec<(String, String)> {
    let app = app(pool);
    let mut paths: Vec<String> =
        sqlx::query_scalar("select path from posts where status = 'published' order by path")
            .fetch_all(pool)
            .await
            .unwrap();
    paths.extend(
        [
            "/",
            "/search/label/Restoration",
            "/2024/",
            "/search?q=lantern",
        ]
        .map(str::to_owned),
    );
    let mut pages = Vec::new();
    for path in paths {
        let page = get(&app, &path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        pages.push((path, page.text()));
    }
    pages
}

/// Every post with its labels and comments, whole: each column of `posts` and `comments` but
/// those named here (ids, the row's own bookkeeping, what an import itself records), so that a
/// column added later without an exporter makes the round trip fail.
async fn rows_that_matter(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "select jsonb_pretty(
             (to_jsonb(p) - 'id' - 'author_id' - 'search'
                  -- when the row was made and last written, and the editor's save counter
                  - 'created_at' - 'updated_at' - 'edit_version' - 'edited_by' - 'edited_at'
                  -- what the import that made the row records, and the mail worker's state
                  - 'source' - 'source_id' - 'source_digest' - 'announce')
             || jsonb_build_object(
                 -- a post written in Folio gets the blog's offset in the export
                 'published_offset', coalesce(p.published_offset, 0),
                 'author', (select jsonb_build_object('name', u.display_name, 'email', u.email)
                            from users u where u.id = p.author_id),
                 'labels', (select jsonb_agg(l.name order by l.name) from post_labels pl
                            join labels l on l.id = pl.label_id where pl.post_id = p.id),
                 'comments', (select jsonb_agg(
                     (to_jsonb(c) - 'id' - 'post_id' - 'parent_id' - 'thread_id' - 'user_id'
                          -- no commenter's address hash leaves the blog
                          - 'client_hash'
                          -- the filter's own notes, what the import records, the row's last
                          -- write (an import writes it now)
                          - 'spam_score' - 'spam_clues' - 'spam_taught'
                          - 'source' - 'source_id' - 'source_digest' - 'updated_at')
                     || jsonb_build_object(
                         'created_offset', coalesce(c.created_offset, 0),
                         'parent', (select q.author_name from comments q where q.id = c.parent_id))
                     order by c.created_at, c.author_name)
                     from comments c where c.post_id = p.id)))
         from posts p order by path",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test]
async fn an_export_imported_into_a_fresh_blog_gives_the_same_blog(pool: PgPool) {
    // An imported blog plus posts and comments written in Folio itself.
    import_text(&pool, Format::Wxr, WORDPRESS).await.unwrap();
    let (post_id, _) = add_post(
        &pool,
        Post::published("Written in Folio", datetime!(2024-12-24 18:00 UTC))
            .labels(&["Restoration", "Winter"])
            .body("A *Markdown* post with a [link](https://example.org).\n\n- one\n- two"),
    )
    .await;
    // Set in the editor: it used to be lost on the way out.
    sqlx::query("update posts set featured_image = '/media/0a1b2c.jpg' where id = $1")
        .bind(post_id)
        .execute(&pool)
        .await
        .unwrap();
    let first = add_comment(
        &pool,
        post_id,
        "Kari",
        "Typed **here**, with a <tag>.",
        "approved",
        datetime!(2024-12-25 08:00 +01:00),
    )
    .await;
    crate::common::add_reply(
        &pool,
        post_id,
        Some(first),
        "Lars",
        "And a reply.",
        "approved",
        datetime!(2024-12-25 09:00 UTC),
    )
    .await;
    add_comment(
        &pool,
        post_id,
        "Held",
        "Waiting for a moderator.",
        "pending",
        datetime!(2024-12-26 09:00 UTC),
    )
    .await;
    let pages = public_pages(&pool).await;
    let rows = rows_that_matter(&pool).await;

    for (format, import_format, name) in [
        (
            export::Format::Atom,
            Format::Blogger,
            "folio_round_trip_atom",
        ),
        (export::Format::Wxr, Format::Wxr, "folio_round_trip_wxr"),
    ] {
        let text = export_text(&pool, format).await;
        let fresh = fresh_database(&pool, name).await;
        let summary = import_text(&fresh, import_format, &text).await.unwrap();
        assert_eq!(summary.skipped.len(), 0, "{summary:?}");
        assert_eq!(public_pages(&fresh).await, pages, "{name}");
        assert_eq!(rows_that_matter(&fresh).await, rows, "{name}");
        // The export is itself re-runnable: importing it again adds nothing.
        let again = import_text(&fresh, import_format, &text).await.unwrap();
        assert_eq!(again.posts.added + again.comments.added, 0, "{name}");
        drop_database(&pool, fresh, name).await;
    }
}

#[sqlx::test]
async fn an_export_brought_back_into_its_own_blog_adds_nothing(pool: PgPool) {
    import_text(&pool, Format::Wxr, WORDPRESS).await.unwrap();
    // Written in Folio: times to the microsecond, and a draft that never had a date.
    let now = time::OffsetDateTime::now_utc();
    let (post_id, _) = add_post(
        &pool,
        Post::published("Published just now", now - time::Duration::hours(2)),
    )
    .await;
    add_comment(
        &pool,
        post_id,
        "Kari",
        "A comment from this very hour.",
        "approved",
        now - time::Duration::minutes(30),
    )
    .await;
    let mut draft = Post::published("An undated draft", now).draft();
    draft.published_at = None;
    add_post(&pool, draft).await;
    sqlx::query("update posts set excerpt = 'Written by hand.' where title = 'Published just now'")
        .execute(&pool)
        .await
        .unwrap();
    let before = blog_counts(&pool).await;
    let rows = rows_that_matter(&pool).await;
    for (format, import_format) in [
        (export::Format::Atom, Format::Blogger),
        (export::Format::Wxr, Format::Wxr),
    ] {
        let text = export_text(&pool, format).await;
        let summary = import_text(&pool, import_format, &text).await.unwrap();
        assert_eq!(
            summary.posts.added + summary.comments.added,
            0,
            "{summary:?}"
        );
        assert_eq!(blog_counts(&pool).await, before, "{format:?}");
        assert_eq!(rows_that_matter(&pool).await, rows, "{format:?}");
    }
    let excerpt: String =
        sqlx::query_scalar("select excerpt from posts where title = 'Published just now'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(excerpt, "Written by hand.");
}

#[sqlx::test]
async fn odd_files_import_correctly(pool: PgPool) {
    // Blogger's own backup has no line breaks between entries.
    let one_line = CLASSIC.replace(">\n<", "><");
    assert!(one_line.lines().count() < 30);
    let summary = import_text(&pool, Format::Blogger, &one_line)
        .await
        .unwrap();
    assert_eq!((summary.posts.added, summary.comments.added), (3, 5));
    let app = app(&pool);
    assert_the_harbour_blog(&pool, &app, "/2024/03/mending-the-lantern.html", "c9001").await;

    // WordPress keeps titles in other scripts as percent-encoded slugs; a draft may have none.
    let cyrillic = WORDPRESS
        .replace(
            "<wp:post_name><![CDATA[storm-season-log]]></wp:post_name>",
            "<wp:post_name><![CDATA[%d1%88%d1%82%d0%be%d1%80%d0%bc]]></wp:post_name>",
        )
        .replace(
            "<title><![CDATA[Notes for the open day]]></title>",
            "<title><![CDATA[Заметки]]></title>",
        );
    assert_ne!(cyrillic, WORDPRESS);
    let fresh = fresh_database(&pool, "folio_import_cyrillic").await;
    import_text(&fresh, Format::Wxr, &cyrillic).await.unwrap();
    let storm = get(
        &crate::common::app(&fresh),
        "/2024/11/%d1%88%d1%82%d0%be%d1%80%d0%bc.html",
    )
    .await;
    assert_eq!(storm.status, StatusCode::OK);
    assert!(storm.text().contains("Storm season log"));
    let draft_path: String = sqlx::query_scalar("select path from posts where title = 'Заметки'")
        .fetch_one(&fresh)
        .await
        .unwrap();
    assert!(draft_path.starts_with("/2024/12/post-"), "{draft_path}");
    drop_database(&pool, fresh, "folio_import_cyrillic").await;
}

#[sqlx::test]
async fn hostile_shapes_are_refused_and_one_import_runs_at_a_time(pool: PgPool) {
    let deep = CLASSIC.replacen(
        "<title type='text'>Storm season log</title>",
        &format!(
            "<title type='text'>Storm season log</title>{}{}",
            "<a>".repeat(300),
            "</a>".repeat(300)
        ),
        1,
    );
    let error = import_text(&pool, Format::Blogger, &deep)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("nest more than 256 deep"), "{error}");
    assert!(error.contains("entry 6"), "{error}");

    // Issue 16, fix 4: one text node larger than an entry may be is refused while it is read,
    // not after it was buffered whole; between entries too.
    let huge = "x".repeat(65 * 1024 * 1024);
    for (name, text) in [
        (
            "inside an entry",
            CLASSIC.replacen(
                "<title type='text'>Storm season log</title>",
                &format!("<title type='text'>Storm season log{huge}</title>"),
                1,
            ),
        ),
        (
            "between entries",
            CLASSIC.replacen("<entry>", &format!("{huge}<entry>"), 1),
        ),
    ] {
        // Read in pieces, as a file is (a Cursor would hand over everything at once).
        let input = std::io::BufReader::with_capacity(64 * 1024, Cursor::new(text.into_bytes()));
        let error = import::run(&pool, Format::Blogger, input, Arc::new(AtomicU64::new(0)))
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("larger than 64 MB"), "{name}: {error}");
    }

    // A tab would let a browser read "/\t/evil.example/x.html" as another site.
    let sneaky = TAKEOUT.replace(
        "<blogger:filename>/2024/11/storm-season-log.html</blogger:filename>",
        "<blogger:filename>/&#9;/evil.example/x.html</blogger:filename>",
    );
    assert_ne!(sneaky, TAKEOUT);
    import_text(&pool, Format::Blogger, &sneaky).await.unwrap();
    let path: String =
        sqlx::query_scalar("select path from posts where title = 'Storm season log'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(path, "/2024/11/storm-season-log.html");

    // While one import runs, another is told so (and changes nothing).
    let mut other = pool.begin().await.unwrap();
    sqlx::query("select pg_advisory_xact_lock(7305524)")
        .execute(&mut *other)
        .await
        .unwrap();
    let before = blog_counts(&pool).await;
    let error = import_text(&pool, Format::Wxr, WORDPRESS)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("another import is running"), "{error}");
    assert_eq!(blog_counts(&pool).await, before);
    other.rollback().await.unwrap();
}

#[sqlx::test]
async fn bad_files_are_refused_and_change_nothing(pool: PgPool) {
    import_text(&pool, Format::Blogger, CLASSIC).await.unwrap();
    let before = blog_counts(&pool).await;
    let cut = &CLASSIC[..CLASSIC.find("Storm season log").unwrap() + 40];
    let bad_date = CLASSIC.replace(
        "<published>2024-11-02T18:40:00.000-05:00</published>",
        "<published>last Tuesday</published>",
    );
    let bad_date_line = bad_date
        .lines()
        .position(|l| l.contains("last Tuesday"))
        .unwrap()
        + 1;
    let newer_and_cut =
        CLASSIC.replace("Stay dry out there.", "Changed")[..CLASSIC.len() - 200].to_owned();
    let cases: Vec<(Format, String, Vec<String>)> = vec![
        (
            Format::Blogger,
            cut.to_owned(),
            vec!["cut short".into(), "entry 6".into()],
        ),
        (Format::Blogger, newer_and_cut, vec!["cut short".into()]),
        (
            Format::Blogger,
            bad_date,
            vec![
                format!("line {bad_date_line}"),
                "entry 6 (tag:blogger.com,1999:blog-4242.post-1002)".into(),
                "\"last Tuesday\"".into(),
            ],
        ),
        (
            Format::Blogger,
            WORDPRESS.to_owned(),
            vec!["not a Blogger export".into(), "folio import wxr".into()],
        ),
        (
            Format::Wxr,
            CLASSIC.to_owned(),
            vec![
                "not a WordPress export".into(),
                "folio import blogger".into(),
            ],
        ),
        (
            Format::Blogger,
            "Hello, this is not XML at all.".to_owned(),
            vec!["line 1".into()],
        ),
        (
            Format::Wxr,
            "<rss><channel><item><title>x</ti></item></channel></rss>".to_owned(),
            vec!["line 1".into(), "entry 1".into()],
        ),
        (Format::Blogger, String::new(), vec!["empty".into()]),
    ];
    for (format, text, expected) in cases {
        let error = import_text(&pool, format, &text)
            .await
            .expect_err("a bad file is refused")
            .to_string();
        for part in expected {
            assert!(error.contains(&part), "{part:?} not in: {error}");
        }
        assert_eq!(blog_counts(&pool).await, before, "after: {error}");
    }
    assert!(
        get(&app(&pool), "/2024/11/storm-season-log.html")
            .await
            .text()
            .contains("Stay dry out there.")
    );
}

fn folio(pool: &PgPool, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_folio"))
        .args(args)
        .env("DATABASE_URL", database_url(&pool.connect_options()))
        .env("FOLIO_BASE_URL", "https://harbour.test")
        .output()
        .expect("the folio binary runs")
}

#[sqlx::test]
async fn a_command_piped_into_a_reader_that_stops_ends_quietly(pool: PgPool) {
    // As `folio spam status | head -1`: the reader has gone before the command prints.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_folio"))
        .args(["spam", "status"])
        .env("DATABASE_URL", database_url(&pool.connect_options()))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the folio binary runs");
    drop(child.stdout.take());
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(done.status.code(), Some(101), "{stderr}");
}

#[sqlx::test]
async fn the_command_line_imports_exports_and_explains_refusals(pool: PgPool) {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/it/fixtures/import/blogger-classic.xml"
    );
    let done = folio(&pool, &["import", "blogger", fixture]);
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(
        stdout.contains("posts:     3 (3 new, 0 updated, 0 unchanged) — 1 of them drafts"),
        "{stdout}"
    );
    assert!(stdout.contains("comments:  5 (5 new"), "{stdout}");

    let refused = folio(&pool, &["import", "wxr", fixture]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("not a WordPress export"), "{stderr}");
    assert!(stderr.contains("Nothing was changed"), "{stderr}");

    let missing = folio(&pool, &["import", "blogger", "/no/such/export.xml"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot open /no/such/export.xml"));

    for (format, import_format) in [("wxr", Format::Wxr), ("atom", Format::Blogger)] {
        let exported = folio(&pool, &["export", format]);
        assert!(
            exported.status.success(),
            "{}",
            String::from_utf8_lossy(&exported.stderr)
        );
        let text = String::from_utf8(exported.stdout).unwrap();
        assert!(text.contains("https://harbour.test/2024/03/mending-the-lantern.html"));
        let name = format!("folio_cli_{format}");
        let fresh = fresh_database(&pool, &name).await;
        let summary = import_text(&fresh, import_format, &text).await.unwrap();
        assert_eq!(summary.posts.added + summary.pages.added, 4, "{format}");
        assert_eq!(summary.comments.added, 5, "{format}");
        drop_database(&pool, fresh, &name).await;
    }
}

#[sqlx::test]
async fn a_file_cannot_make_replies_loop_or_reach_into_another_post(pool: PgPool) {
    // Two comments of the same instant answering each other, and a reply to a comment on
    // another post.
    let hostile = WORDPRESS
        .replace(
            "<wp:comment_parent>0</wp:comment_parent>",
            "<wp:comment_parent>102</wp:comment_parent>",
        )
        .replace("2024-03-17 13:30:00", "2024-03-17 12:00:00")
        .replace("2024-03-17 12:30:00", "2024-03-17 11:00:00");
    let summary = import_text(&pool, Format::Wxr, &hostile).await.unwrap();
    assert!(summary.comments.added >= 5, "{summary:?}");
    let app = app(&pool);
    for path in [
        "/2024/03/mending-the-lantern.html",
        "/2024/11/storm-season-log.html",
    ] {
        let page = get(&app, path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
    }
    // Every comment still shows, and no chain of parents comes back to where it started.
    let looped: i64 = sqlx::query_scalar(
        "with recursive walk (start, current, depth) as (
             select id, parent_id, 1 from comments where parent_id is not null
             union all
             select w.start, c.parent_id, w.depth + 1 from walk w join comments c on c.id = w.current
             where c.parent_id is not null and w.depth < 50)
         select count(*) from walk where current = start",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(looped, 0);
    let across: i64 = sqlx::query_scalar(
        "select count(*) from comments c join comments p on p.id = c.parent_id where p.post_id <> c.post_id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(across, 0);
    let text = get(&app, "/2024/03/mending-the-lantern.html").await.text();
    assert!(text.contains("Lovely work on the brass!"));
    assert!(text.contains("Thank you, Ole"));
}
