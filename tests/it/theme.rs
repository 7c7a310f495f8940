//! The theme page: themes, the designer and its contrast check, the header, navigation and
//! gadgets, custom CSS as a fingerprinted stylesheet, the preview, and page views counted for
//! Popular Posts without a write per view.

use axum::http::StatusCode;
use folio::db;
use sqlx::PgPool;
use time::{Duration, OffsetDateTime};

use crate::common::{
    Page, Post, Session, add_comment, add_post, app, cached_app, eventually, get, get_with,
    user_session,
};

/// Every field of the theme form as stored, with `changes` over them.
async fn theme_form(
    app: &folio::App,
    admin: &Session,
    changes: &[(&str, &str)],
) -> Vec<(String, String)> {
    let page = admin.get(app, "/admin/theme").await;
    assert_eq!(page.status, StatusCode::OK);
    let document = page.document();
    let mut fields: Vec<(String, String)> = Vec::new();
    for input in document.select(&crate::common::selector(
        "#theme-form input, #theme-form textarea, #theme-form select",
    )) {
        let element = input.value();
        let Some(name) = element.attr("name") else {
            continue;
        };
        if name == "csrf" || name == "action" {
            continue;
        }
        let value = match element.name() {
            "textarea" => input.text().collect::<String>(),
            "select" => input
                .select(&crate::common::selector("option[selected]"))
                .next()
                .and_then(|o| o.value().attr("value"))
                .unwrap_or("theme")
                .to_owned(),
            _ => {
                let kind = element.attr("type").unwrap_or("text");
                if (kind == "checkbox" || kind == "radio") && element.attr("checked").is_none() {
                    continue;
                }
                element.attr("value").unwrap_or("").to_owned()
            }
        };
        fields.push((name.to_owned(), value));
    }
    for (name, value) in changes {
        fields.retain(|(k, _)| k != name);
        if !value.is_empty() || !name.ends_with("_on") {
            fields.push(((*name).to_owned(), (*value).to_owned()));
        }
    }
    fields
}

async fn send_theme(
    app: &folio::App,
    admin: &Session,
    fields: &[(String, String)],
    action: &str,
) -> Page {
    let mut all: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    all.push(("action", action));
    admin.post(app, "/admin/theme", &all).await
}

fn stylesheet_of(page: &Page) -> String {
    page.document()
        .select(&crate::common::selector("link[rel=stylesheet]"))
        .filter_map(|l| l.value().attr("href"))
        .find(|href| href.starts_with("/assets/site/"))
        .expect("the blog's own stylesheet is linked")
        .to_owned()
}

#[sqlx::test]
async fn an_admin_chooses_a_theme_and_gadgets_and_readers_see_them(pool: PgPool) {
    let now = OffsetDateTime::now_utc();
    let (post_id, post) = add_post(
        &pool,
        Post::published("Pressing apples", now - Duration::days(1)).labels(&["Autumn", "Kitchen"]),
    )
    .await;
    sqlx::query("update posts set featured_image = '/assets/favicon.svg' where id = $1")
        .bind(post_id)
        .execute(&pool)
        .await
        .unwrap();
    add_post(
        &pool,
        Post::published("Colophon", now - Duration::days(9)).page(),
    )
    .await;
    add_comment(
        &pool,
        post_id,
        "Quill",
        "The cider was *sharp*.",
        "approved",
        now,
    )
    .await;
    let app = app(&pool);
    let admin = user_session(&app, &pool, "admin").await;

    let fields = theme_form(
        &app,
        &admin,
        &[
            ("theme", "magazine"),
            ("background", "#fffdf8"),
            ("text", "#222222"),
            ("body_font", "humanist"),
            ("content_width", "760"),
            ("sidebar", "left"),
            (
                "navigation",
                "Home | /\nColophon | /p/colophon.html\nElsewhere | https://example.org/",
            ),
            ("gadget_profile_on", "on"),
            ("gadget_profile_order", "0"),
            ("profile_name", "Wren Tally"),
            ("profile_bio", "Keeps bees.\n\nWrites at dawn."),
            ("gadget_pages_on", "on"),
            ("gadget_link_list_on", "on"),
            ("links", "Bee society | https://bees.example/"),
            ("gadget_recent_comments_on", "on"),
            ("gadget_feed_links_on", "on"),
            ("gadget_text_on", "on"),
            ("gadget_text_title", "Orchard notes"),
            ("text_format", "html"),
            (
                "text_body",
                "<p onclick=\"x()\">Pick <b>early</b>.</p><script>alert(1)</script>",
            ),
            ("labels_style", "cloud"),
            ("archive_style", "flat"),
            ("custom_css", ".post-title { letter-spacing: 0.02em; }"),
        ],
    )
    .await;
    let saved = send_theme(&app, &admin, &fields, "save").await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    assert!(
        admin
            .get(&app, "/admin/theme?done=theme-saved")
            .await
            .text()
            .contains("The theme is saved")
    );

    let home = get(&app, "/").await;
    let body = home.document();
    let class = body
        .select(&crate::common::selector("body"))
        .next()
        .unwrap()
        .value()
        .attr("class")
        .unwrap()
        .to_owned();
    assert_eq!(class, "theme-magazine sidebar-left");
    // Magazine's cards, with the featured image.
    assert_eq!(home.texts(".card .post-title"), vec!["Pressing apples"]);
    assert_eq!(
        home.document()
            .select(&crate::common::selector(
                ".card img[src='/assets/favicon.svg']"
            ))
            .count(),
        1
    );
    // The navigation bar, in the admin's order.
    assert_eq!(
        home.texts(".site-nav a"),
        vec!["Home", "Colophon", "Elsewhere"]
    );
    assert_eq!(
        home.document()
            .select(&crate::common::selector(".site-nav a[aria-current=page]"))
            .count(),
        1
    );
    let sidebar = home.texts(".sidebar h2");
    assert_eq!(
        sidebar[0], "About me",
        "the profile was put first: {sidebar:?}"
    );
    for title in [
        "Pages",
        "Links",
        "Recent comments",
        "Subscribe",
        "Orchard notes",
        "Blog Archive",
        "Labels",
    ] {
        assert!(sidebar.iter().any(|t| t == title), "{title} in {sidebar:?}");
    }
    // Follow by email is switched on (it is by default) but the blog sends no mail: not shown.
    assert!(
        !sidebar.iter().any(|t| t == "Follow by email"),
        "{sidebar:?}"
    );
    let text = home.text();
    for seen in [
        "Wren Tally",
        "Keeps bees.",
        "Writes at dawn.",
        "Colophon",
        "Bee society",
        "Quill on Pressing apples",
        // The comment as readers see it, not its Markdown.
        "The cider was sharp.",
        "Posts (Atom)",
        "Pick early.",
    ] {
        assert!(text.contains(seen), "{seen} in {text}");
    }
    // The Text gadget is cleaned by the rules posts are.
    assert!(!home.body.contains("onclick") && !home.body.contains("alert(1)"));
    assert_eq!(home.texts(".label-cloud a").len(), 2);
    assert!(text.contains(&format!(
        "{} {}",
        folio::render::dates::month_name(i8::try_from(u8::from(now.month())).unwrap()),
        now.year()
    )));

    // The stylesheet: fingerprinted, immutable, with the designer's choices and the custom CSS.
    let css_url = stylesheet_of(&home);
    let css = get(&app, &css_url).await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.header("content-type").starts_with("text/css"));
    assert!(css.header("cache-control").contains("immutable"));
    for rule in [
        "--bg: #fffdf8;",
        "--fg: #222222;",
        "--measure: 760px;",
        "Ubuntu",
        ".post-title { letter-spacing: 0.02em; }",
    ] {
        assert!(css.body.contains(rule), "{rule} in {}", css.body);
    }
    // The Content-Security-Policy still allows no inline style.
    assert!(
        home.header("content-security-policy")
            .contains("style-src 'self';")
    );
    assert!(!home.body.contains("<style") && !home.body.contains(" style="));

    // A post page wears the theme too.
    let page = get(&app, &post).await;
    assert_eq!(stylesheet_of(&page), css_url);

    // What was saved comes back in the form.
    let again = admin.get(&app, "/admin/theme").await;
    assert_eq!(again.field("profile_name").as_deref(), Some("Wren Tally"));
    assert!(again.body.contains("letter-spacing: 0.02em"));
}

#[sqlx::test]
async fn a_colour_pair_below_wcag_aa_is_refused_with_the_reason_and_nothing_typed_is_lost(
    pool: PgPool,
) {
    let app = app(&pool);
    let admin = user_session(&app, &pool, "admin").await;
    let before = stylesheet_of(&get(&app, "/").await);
    let fields = theme_form(
        &app,
        &admin,
        &[
            ("background", "#ffffff"),
            ("text", "#777777"),
            ("custom_css", "h1 { font-variant: small-caps; }"),
            ("profile_bio", "Typed with care."),
        ],
    )
    .await;
    // The preview says why it cannot show the look (the form stays where it was typed).
    let preview = send_theme(&app, &admin, &fields, "preview").await;
    assert_eq!(preview.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        preview.text().contains("cannot be previewed"),
        "{}",
        preview.text()
    );
    assert!(preview.text().contains("at least 4.5:1"));
    assert_eq!(preview.header("x-frame-options"), "SAMEORIGIN");
    {
        let refused = send_theme(&app, &admin, &fields, "save").await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        let message = refused
            .document()
            .select(&crate::common::selector("#theme-text-error"))
            .next()
            .map(crate::common::element_text)
            .expect("the message is beside the text colour");
        assert!(
            message.contains("4.47:1") || message.contains("4.48:1"),
            "{message}"
        );
        assert!(message.contains("at least 4.5:1"), "{message}");
        assert_eq!(refused.field("text").as_deref(), Some("#777777"));
        assert_eq!(refused.field("background").as_deref(), Some("#ffffff"));
        assert!(refused.body.contains("h1 { font-variant: small-caps; }"));
        assert!(refused.body.contains("Typed with care."));
    }
    // Nothing was saved.
    assert_eq!(stylesheet_of(&get(&app, "/").await), before);
    let stored = db::appearance::load(&pool).await.unwrap();
    assert_eq!(stored.text, None);

    // The lightest grey that passes is taken.
    let fields = theme_form(
        &app,
        &admin,
        &[("background", "#ffffff"), ("text", "#767676")],
    )
    .await;
    assert_eq!(
        send_theme(&app, &admin, &fields, "save").await.status,
        StatusCode::SEE_OTHER
    );
}

#[sqlx::test]
async fn the_preview_shows_the_real_blog_in_the_typed_look_and_saves_nothing(pool: PgPool) {
    add_post(
        &pool,
        Post::published(
            "Fog over the estuary",
            OffsetDateTime::now_utc() - Duration::days(1),
        ),
    )
    .await;
    let app = app(&pool);
    let admin = user_session(&app, &pool, "admin").await;
    let fields = theme_form(
        &app,
        &admin,
        &[
            ("theme", "night"),
            ("custom_css", ".blog-title { font-size: 3rem; }"),
        ],
    )
    .await;
    let preview = send_theme(&app, &admin, &fields, "preview").await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.text());
    assert!(preview.text().contains("Fog over the estuary"));
    assert!(preview.text().contains("not saved yet"));
    assert!(preview.body.contains("class=\"theme-night sidebar-right\""));
    assert_eq!(preview.header("x-frame-options"), "SAMEORIGIN");
    assert!(
        preview
            .header("content-security-policy")
            .contains("frame-ancestors 'self'")
    );
    assert_eq!(preview.header("cache-control"), "no-store");
    let css = get(&app, &stylesheet_of(&preview)).await;
    assert!(css.body.contains(".blog-title { font-size: 3rem; }"));
    // A fingerprint that is not (or no longer) served is sent on to the blog's own.
    let old = get(&app, "/assets/site/0123456789.css").await;
    assert_eq!(old.status, StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(old.header("location"), stylesheet_of(&get(&app, "/").await));
    assert!(css.body.contains("color-scheme: dark;"));
    // Readers still see the blog as it was.
    let home = get(&app, "/").await;
    assert!(home.body.contains("class=\"theme-classic sidebar-right\""));
    assert!(!get(&app, &stylesheet_of(&home)).await.body.contains("3rem"));
    // Only admins.
    let author = user_session(&app, &pool, "author").await;
    assert_eq!(
        author.get(&app, "/admin/theme").await.status,
        StatusCode::FORBIDDEN
    );
    let all: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        author.post(&app, "/admin/theme", &all).await.status,
        StatusCode::FORBIDDEN
    );
}

#[sqlx::test]
async fn a_theme_change_empties_every_process_s_page_cache(pool: PgPool) {
    add_post(
        &pool,
        Post::published(
            "Kept in memory",
            OffsetDateTime::now_utc() - Duration::days(1),
        ),
    )
    .await;
    let (_, first) = cached_app(&pool).await;
    let (_, second) = cached_app(&pool).await;
    for app in [&first, &second] {
        assert!(get(app, "/").await.body.contains("theme-classic"));
        assert!(get(app, "/").await.body.contains("theme-classic"));
    }
    let admin = user_session(&first, &pool, "admin").await;
    let fields = theme_form(&first, &admin, &[("theme", "minimal"), ("sidebar", "none")]).await;
    assert_eq!(
        send_theme(&first, &admin, &fields, "save").await.status,
        StatusCode::SEE_OTHER
    );
    assert!(
        get(&first, "/")
            .await
            .body
            .contains("theme-minimal sidebar-none")
    );
    let seen = eventually(&second, "/", |page| page.body.contains("theme-minimal")).await;
    let css = get(&second, &stylesheet_of(&seen)).await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.body.contains("--measure: 640px;"));
}

#[sqlx::test]
async fn an_uploaded_logo_and_favicon_are_used_at_once(pool: PgPool) {
    let app = app(&pool);
    let admin = user_session(&app, &pool, "admin").await;
    for slot in ["logo", "favicon"] {
        let body = crate::admin::multipart_body(
            &[("csrf", &admin.csrf)],
            crate::admin::ONE_PIXEL_PNG,
            "mark.png",
            "image/png",
        );
        let page = crate::admin::send_multipart(
            &app,
            &admin,
            &format!("/admin/theme/image?slot={slot}"),
            body,
        )
        .await;
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "{slot}: {}",
            page.text()
        );
    }
    let home = get(&app, "/").await;
    let logo = home
        .document()
        .select(&crate::common::selector(".masthead img.logo"))
        .next()
        .and_then(|img| img.value().attr("src").map(str::to_owned))
        .expect("the logo is in the header");
    assert!(logo.starts_with("/media/") && logo.ends_with(".png"));
    assert_eq!(get(&app, &logo).await.status, StatusCode::OK);
    assert!(home.body.contains(&format!(
        "<link rel=\"icon\" href=\"{logo}\" type=\"image/png\">"
    )));
    // Not an image: refused on the theme page, which says why.
    let body = crate::admin::multipart_body(
        &[("csrf", &admin.csrf)],
        b"just words",
        "notes.txt",
        "text/plain",
    );
    let refused =
        crate::admin::send_multipart(&app, &admin, "/admin/theme/image?slot=logo", body).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .contains("not a JPEG, PNG, GIF or WebP image")
    );
}

#[sqlx::test]
async fn views_are_counted_in_memory_and_written_in_batches_for_popular_posts(pool: PgPool) {
    let now = OffsetDateTime::now_utc();
    let (_, quiet) = add_post(
        &pool,
        Post::published("Quiet post", now - Duration::days(2)),
    )
    .await;
    let (_, busy) = add_post(&pool, Post::published("Busy post", now - Duration::days(3))).await;
    let (state, app) = cached_app(&pool).await;
    let browser = [(
        "user-agent",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    )];
    for _ in 0..5 {
        // Rendered once, then sent from memory: every copy is a view.
        assert_eq!(get_with(&app, &busy, &browser).await.status, StatusCode::OK);
    }
    get_with(&app, &quiet, &browser).await;
    // Robots and other pages are not views.
    get_with(
        &app,
        &quiet,
        &[(
            "user-agent",
            "Googlebot/2.1 (+http://www.google.com/bot.html)",
        )],
    )
    .await;
    get_with(&app, &quiet, &[]).await;
    get_with(&app, "/", &browser).await;
    assert_eq!(state.views.pending(), 6);
    let written: i64 = sqlx::query_scalar("select count(*) from page_views")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(written, 0, "no write per view");
    state.views.flush(&pool).await.unwrap();
    assert_eq!(state.views.pending(), 0);
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "select p.title, v.views from page_views v join posts p on p.id = v.post_id order by p.title",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        vec![("Busy post".to_owned(), 5), ("Quiet post".to_owned(), 1)]
    );
    // A second batch adds to the day's row.
    get_with(&app, &quiet, &browser).await;
    state.views.flush(&pool).await.unwrap();
    let quiet_views: i64 = sqlx::query_scalar("select views from page_views v join posts p on p.id = v.post_id where p.title = 'Quiet post'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(quiet_views, 2);
    // Nothing in the table says who read.
    let columns: Vec<String> = sqlx::query_scalar(
        "select column_name::text from information_schema.columns where table_name = 'page_views' order by ordinal_position",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(columns, vec!["post_id", "day", "views"]);

    let admin = user_session(&app, &pool, "admin").await;
    let fields = theme_form(
        &app,
        &admin,
        &[
            ("gadget_popular_posts_on", "on"),
            ("gadget_popular_posts_order", "0"),
        ],
    )
    .await;
    assert_eq!(
        send_theme(&app, &admin, &fields, "save").await.status,
        StatusCode::SEE_OTHER
    );
    let home = eventually(&app, "/", |page| page.body.contains("popular-posts")).await;
    assert_eq!(
        home.texts(".popular-posts a"),
        vec!["Busy post", "Quiet post"]
    );
}

#[sqlx::test]
async fn the_live_preview_follows_the_form_in_chromium_and_saves_nothing(pool: PgPool) {
    use crate::common::browser::{log_in, serve, start_browser};
    add_post(
        &pool,
        Post::published(
            "Lanterns at dusk",
            OffsetDateTime::now_utc() - Duration::days(1),
        ),
    )
    .await;
    crate::common::add_user(&pool, "admin@example.test", "Ada Admin", "admin").await;
    let (addr, _) = serve(&pool).await;
    let base = format!("http://{addr}");
    let (_driver, browser) = start_browser().await;
    log_in(
        &browser,
        &base,
        "admin@example.test",
        crate::common::PASSWORD,
    )
    .await;
    browser.goto(&format!("{base}/admin/theme")).await.unwrap();

    // The frame beside the form shows the real home page, then follows each change.
    let framed = |browser: &fantoccini::Client| {
        let browser = browser.clone();
        async move {
            let value = browser
                .execute(
                    "const d = document.getElementById('theme-preview').contentDocument; \
                     return d && d.body ? [d.body.className, d.body.innerText] : ['', ''];",
                    vec![],
                )
                .await
                .unwrap();
            let pair: (String, String) = serde_json::from_value(value).unwrap();
            pair
        }
    };
    let wait_for = |class: &'static str| {
        let framed = &framed;
        let browser = &browser;
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
            loop {
                let (seen, text) = framed(browser).await;
                if seen == class {
                    return text;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "the preview shows {seen:?}, not {class:?}"
                );
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    };
    let text = wait_for("theme-classic sidebar-right").await;
    assert!(text.contains("Lanterns at dusk"), "{text}");
    browser
        .find(fantoccini::Locator::Css("input[name=theme][value=night]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let text = wait_for("theme-night sidebar-right").await;
    assert!(text.contains("not saved yet"), "{text}");
    browser
        .find(fantoccini::Locator::Css("input[name=sidebar][value=left]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for("theme-night sidebar-left").await;
    // Readers still see the blog as it was; the form in the page is untouched.
    assert!(
        get(&app(&pool), "/")
            .await
            .body
            .contains("theme-classic sidebar-right")
    );
    let chosen = browser
        .execute(
            "return document.querySelector('input[name=theme]:checked').value;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(chosen, serde_json::json!("night"));
    browser.close().await.unwrap();
}
