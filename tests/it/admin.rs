//! The admin area: getting in, writing and publishing, moderating; who may do what.

use crate::common::{
    PASSWORD, Page, Post, Session, add_comment, add_post, add_user, app, app_with, get, get_with,
    log_in, post_form, user_session,
};
use axum::http::StatusCode;
use folio::App;
use folio::{
    config::Config,
    db,
    domain::post::{BodyFormat, PostKind, PostState, PostStatus},
};
use sqlx::PgPool;
use time::{Duration, OffsetDateTime};

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Security review, finding 9: a site whose name is pointed at this machine (DNS rebinding)
/// names itself in Host and Origin; the setup page and admin forms answer only to the blog's
/// own address (FOLIO_BASE_URL), not to whatever Host a request sends.
#[sqlx::test]
async fn the_setup_page_and_admin_forms_answer_only_at_the_blogs_own_address(pool: PgPool) {
    let app = app(&pool);
    let rebound = [("host", "rebind.attacker.example")];
    let page = get_with(&app, "/admin/setup", &rebound).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(
        page.text()
            .contains("answers only at the blog's own address"),
        "{}",
        page.text()
    );
    let fields = [
        ("name", "Mallory"),
        ("email", "mallory@attacker.example"),
        ("password", PASSWORD),
    ];
    let sent = post_form(
        &app,
        "/admin/setup",
        &fields,
        &[
            ("host", "rebind.attacker.example"),
            ("origin", "http://rebind.attacker.example"),
        ],
    )
    .await;
    assert_eq!(sent.status, StatusCode::FORBIDDEN);
    assert_eq!(
        db::users::count(&pool).await.unwrap(),
        0,
        "no admin was made"
    );
    // The blog's own address works, with or without a port that is the scheme's own.
    for host in ["blog.test", "blog.test:80"] {
        assert_eq!(
            get_with(&app, "/admin/setup", &[("host", host)])
                .await
                .status,
            StatusCode::OK
        );
    }

    // Signed in, a form from the rebound name is refused though its Origin matches its Host.
    let admin = user_session(&app, &pool, "admin").await;
    let refused = post_form(
        &app,
        "/admin/settings",
        &[("csrf", admin.csrf.as_str()), ("title", "Taken over")],
        &[
            ("cookie", admin.cookie.as_str()),
            ("host", "rebind.attacker.example"),
            ("origin", "http://rebind.attacker.example"),
        ],
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.text().contains("sent from another site"));
}

#[sqlx::test]
async fn first_run_setup_creates_the_admin_and_then_closes_for_good(pool: PgPool) {
    let app = app(&pool);
    let admin = get(&app, "/admin").await;
    assert_eq!(admin.status, StatusCode::SEE_OTHER);
    assert_eq!(admin.header("location"), "/admin/login?next=%2Fadmin");
    let login = get(&app, "/admin/login").await;
    assert_eq!(login.header("location"), "/admin/setup");
    let setup = get(&app, "/admin/setup").await;
    assert!(
        setup
            .text()
            .contains("Create the first administrator account")
    );

    let bad = post_form(
        &app,
        "/admin/setup",
        &[
            ("name", "Robin"),
            ("email", "robin@example.test"),
            ("password", "short"),
        ],
        &[],
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().contains("Use at least 10 characters"));
    assert_eq!(bad.field("name").as_deref(), Some("Robin"));
    assert_eq!(bad.field("email").as_deref(), Some("robin@example.test"));

    let done = post_form(
        &app,
        "/admin/setup",
        &[
            ("name", "Robin"),
            ("email", "robin@example.test"),
            ("password", PASSWORD),
        ],
        &[],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(done.header("location"), "/admin");
    let cookie = done
        .header("set-cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let dashboard = get_with(&app, "/admin", &[("cookie", &cookie)]).await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert!(dashboard.text().contains("Dashboard") && dashboard.text().contains("Robin"));

    assert_eq!(
        get(&app, "/admin/setup").await.status,
        StatusCode::NOT_FOUND
    );
    let again = post_form(
        &app,
        "/admin/setup",
        &[
            ("name", "Mallory"),
            ("email", "m@example.test"),
            ("password", PASSWORD),
        ],
        &[],
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let role: String =
        sqlx::query_scalar("select role from users where email = 'robin@example.test'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(role, "admin");
}

/// Issue 16, fixes 1 and 2: every spelling of an address counts against one account, and the
/// page after login is always one of the admin area (a tab in `next` once led off the site).
#[sqlx::test]
async fn the_login_limit_holds_for_every_spelling_and_next_stays_in_the_admin(pool: PgPool) {
    add_user(&pool, "kim@example.test", "Kim", "editor").await;
    let app = app(&pool);
    for email in [
        "kim@example.test ",
        " KIM@example.test",
        "Kim@Example.Test",
        "kim@example.test\t",
        "kim@EXAMPLE.test",
    ] {
        let page = post_form(
            &app,
            "/admin/login",
            &[("email", email), ("password", "a wrong guess")],
            &[],
        )
        .await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{email:?}");
        assert_eq!(page.field("email").as_deref(), Some(email), "kept as typed");
    }
    let blocked = post_form(
        &app,
        "/admin/login",
        &[("email", "kim@example.test"), ("password", PASSWORD)],
        &[],
    )
    .await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    sqlx::query("update login_attempts set at = at - interval '16 minutes'")
        .execute(&pool)
        .await
        .unwrap();
    for next in ["/\t/evil.example", "//evil.example", "/2021/09/a-post.html"] {
        let page = post_form(
            &app,
            "/admin/login",
            &[
                ("email", "kim@example.test"),
                ("password", PASSWORD),
                ("next", next),
            ],
            &[],
        )
        .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert_eq!(page.header("location"), "/admin", "{next:?}");
    }
    let stored: Vec<String> = sqlx::query_scalar("select distinct email from login_attempts")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(stored, ["kim@example.test"], "recorded in one form");
}

#[sqlx::test]
async fn wrong_credentials_are_a_401_with_the_email_kept_and_repeated_failures_wait(pool: PgPool) {
    add_user(&pool, "kim@example.test", "Kim", "editor").await;
    let app = app(&pool);
    for email in ["kim@example.test", "nobody@example.test"] {
        let page = post_form(
            &app,
            "/admin/login",
            &[("email", email), ("password", "not the password")],
            &[],
        )
        .await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{email}");
        assert!(page.text().contains("Wrong email or password."));
        assert_eq!(page.field("email").as_deref(), Some(email));
        assert!(page.header("set-cookie").is_empty());
    }
    for _ in 0..4 {
        post_form(
            &app,
            "/admin/login",
            &[("email", "kim@example.test"), ("password", "guess")],
            &[],
        )
        .await;
    }
    let blocked = post_form(
        &app,
        "/admin/login",
        &[("email", "kim@example.test"), ("password", PASSWORD)],
        &[],
    )
    .await;
    assert_eq!(
        blocked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    assert!(
        blocked
            .text()
            .contains("Too many failed attempts. Please wait 15 minutes"),
        "{}",
        blocked.text()
    );
    let wait: i64 = blocked.header("retry-after").parse().unwrap();
    assert!((800..=900).contains(&wait), "{wait}");
    // Once the failures are old enough the account opens again.
    sqlx::query("update login_attempts set at = at - interval '16 minutes'")
        .execute(&pool)
        .await
        .unwrap();
    let page = post_form(
        &app,
        "/admin/login",
        &[("email", "kim@example.test"), ("password", PASSWORD)],
        &[],
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
}

#[sqlx::test]
async fn sessions_are_flagged_rotated_and_ended_by_logout_or_expiry(pool: PgPool) {
    add_user(&pool, "lee@example.test", "Lee", "editor").await;
    let app = app(&pool);
    let planted = "folio_session=attacker-chosen-value";
    let page = post_form(
        &app,
        "/admin/login",
        &[
            ("email", "lee@example.test"),
            ("password", PASSWORD),
            ("next", "/admin/posts"),
        ],
        &[("cookie", planted)],
    )
    .await;
    assert_eq!(page.header("location"), "/admin/posts");
    let set = page.header("set-cookie");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/"),
        "{set}"
    );
    assert!(!set.contains("Secure"), "plain http in tests");
    assert!(!set.starts_with(planted), "a new token at login");
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("select token_hash from sessions")
        .fetch_all(&pool)
        .await
        .unwrap();
    let token = set
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("folio_session=");
    assert!(
        !stored.iter().any(|h| h == token.as_bytes()),
        "only the token's hash is stored"
    );

    // An open redirect in `next` is ignored.
    let page = post_form(
        &app,
        "/admin/login",
        &[
            ("email", "lee@example.test"),
            ("password", PASSWORD),
            ("next", "https://evil.example/"),
        ],
        &[],
    )
    .await;
    assert_eq!(page.header("location"), "/admin");

    let session = log_in(&app, "lee@example.test").await;
    assert_eq!(session.get(&app, "/admin").await.status, StatusCode::OK);
    let out = session.post(&app, "/admin/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(out.header("set-cookie").contains("Max-Age=0"));
    assert_eq!(
        session.get(&app, "/admin").await.status,
        StatusCode::SEE_OTHER,
        "the session is over"
    );

    let session = log_in(&app, "lee@example.test").await;
    let user: i64 = sqlx::query_scalar("select id from users where email = 'lee@example.test'")
        .fetch_one(&pool)
        .await
        .unwrap();
    crate::common::expire_sessions_of(&pool, user).await;
    assert_eq!(
        session.get(&app, "/admin").await.status,
        StatusCode::SEE_OTHER,
        "expired"
    );

    // On https the cookie is Secure.
    let https = app_with(&pool, Config::with_base_url("https://blog.example"));
    let page = post_form(
        &https,
        "/admin/login",
        &[("email", "lee@example.test"), ("password", PASSWORD)],
        &[],
    )
    .await;
    assert!(page.header("set-cookie").contains("; Secure"));
}

#[sqlx::test]
async fn state_changes_need_the_csrf_token_and_a_same_site_origin(pool: PgPool) {
    let app = app(&pool);
    let editor = user_session(&app, &pool, "editor").await;
    let fields = [("title", "Forged"), ("body", "x"), ("action", "publish")];
    let no_token = post_form(&app, "/admin/posts", &fields, &[("cookie", &editor.cookie)]).await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    assert!(
        no_token
            .text()
            .contains("This form has expired or did not come from this blog.")
    );
    let mut with_token = vec![("csrf", editor.csrf.as_str())];
    with_token.extend_from_slice(&fields);
    let cross_site = post_form(
        &app,
        "/admin/posts",
        &with_token,
        &[
            ("cookie", &editor.cookie),
            ("origin", "https://evil.example"),
        ],
    )
    .await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
    let anonymous = post_form(&app, "/admin/posts", &with_token, &[]).await;
    assert_eq!(anonymous.status, StatusCode::FORBIDDEN);
    let posts: i64 = sqlx::query_scalar("select count(*) from posts")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(posts, 0, "nothing changed");
    let ok = editor.post(&app, "/admin/posts", &fields).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
}

#[sqlx::test]
async fn every_admin_route_checks_the_role(pool: PgPool) {
    let app = app(&pool);
    let author = user_session(&app, &pool, "author").await;
    let editor = user_session(&app, &pool, "editor").await;
    let admin = user_session(&app, &pool, "admin").await;
    let author_id: i64 = sqlx::query_scalar("select id from users where role = 'author'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let (theirs, _) = add_post(
        &pool,
        Post::published("Someone else's", now() - Duration::days(1)),
    )
    .await;
    let own = db::posts::create(
        &pool,
        &db::posts::PostChanges {
            kind: PostKind::Post,
            path: "/2026/01/mine.html".into(),
            slug: "mine".into(),
            title: "Mine".into(),
            body_source: String::new(),
            body_format: BodyFormat::Markdown,
            body_html: String::new(),
            excerpt: String::new(),
            status: PostStatus::Draft,
            published_at: None,
            comment_policy: None,
            labels: vec![],
            featured_image: String::new(),
        },
        author_id,
    )
    .await
    .unwrap()
    .unwrap();
    let comment = add_comment(&pool, theirs, "Reader", "Hello", "pending", now()).await;

    let admin_id: i64 = sqlx::query_scalar("select id from users where role = 'admin'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let approve = format!("approve:{comment}");
    // What anonymous, author, editor and admin get, for every admin route.
    let cases: Vec<Case> = vec![
        ("GET", "/admin".into(), vec![], [303, 200, 200, 200]),
        ("GET", "/admin/posts".into(), vec![], [303, 200, 200, 200]),
        (
            "GET",
            "/admin/posts/new".into(),
            vec![],
            [303, 200, 200, 200],
        ),
        (
            "GET",
            format!("/admin/posts/{own}"),
            vec![],
            [303, 200, 200, 200],
        ),
        (
            "GET",
            format!("/admin/posts/{theirs}"),
            vec![],
            [303, 404, 200, 200],
        ),
        (
            "GET",
            format!("/admin/posts/{theirs}/revisions"),
            vec![],
            [303, 404, 200, 200],
        ),
        (
            "GET",
            "/admin/comments".into(),
            vec![],
            [303, 403, 200, 200],
        ),
        (
            "GET",
            format!("/admin/comments/{comment}/edit"),
            vec![],
            [303, 403, 200, 200],
        ),
        ("GET", "/admin/media".into(), vec![], [303, 200, 200, 200]),
        ("GET", "/admin/account".into(), vec![], [303, 200, 200, 200]),
        ("GET", "/admin/users".into(), vec![], [303, 403, 403, 200]),
        (
            "GET",
            "/admin/settings".into(),
            vec![],
            [303, 403, 403, 200],
        ),
        (
            "POST",
            format!("/admin/posts/{theirs}"),
            vec![("title", "Taken over"), ("action", "save")],
            [403, 404, 303, 303],
        ),
        (
            "POST",
            "/admin/comments/moderate".into(),
            vec![("one", approve.as_str())],
            [403, 403, 303, 303],
        ),
        (
            "POST",
            format!("/admin/comments/{comment}/edit"),
            vec![("text", "Edited")],
            [403, 403, 303, 303],
        ),
        (
            "POST",
            format!("/admin/comments/{comment}/reply"),
            vec![("text", "Thanks!")],
            [403, 403, 303, 303],
        ),
        (
            "POST",
            "/admin/users".into(),
            vec![
                ("name", "X"),
                ("email", "x@example.test"),
                ("role", "admin"),
                ("password", PASSWORD),
            ],
            [403, 403, 403, 303],
        ),
        (
            "POST",
            format!("/admin/users/{admin_id}/password"),
            vec![("password", "taken over password")],
            [403, 403, 403, 303],
        ),
        (
            "GET",
            "/admin/account/totp".into(),
            vec![],
            [303, 200, 200, 200],
        ),
        (
            "POST",
            "/admin/account/sessions/0/end".into(),
            vec![],
            [403, 303, 303, 303],
        ),
        (
            "POST",
            "/admin/settings".into(),
            vec![
                ("title", "Mine now"),
                ("timezone", "UTC"),
                ("posts_per_page", "5"),
                ("moderate_after_days", "1"),
            ],
            [403, 403, 403, 303],
        ),
        // Last: it signs the author out everywhere.
        (
            "POST",
            format!("/admin/users/{author_id}/second-steps/remove"),
            vec![],
            [403, 403, 403, 303],
        ),
    ];
    for (method, route, fields, expected) in &cases {
        let got = if *method == "GET" {
            [
                get(&app, route).await.status.as_u16(),
                author.get(&app, route).await.status.as_u16(),
                editor.get(&app, route).await.status.as_u16(),
                admin.get(&app, route).await.status.as_u16(),
            ]
        } else {
            [
                post_form(&app, route, fields, &[]).await.status.as_u16(),
                author.post(&app, route, fields).await.status.as_u16(),
                editor.post(&app, route, fields).await.status.as_u16(),
                admin.post(&app, route, fields).await.status.as_u16(),
            ]
        };
        assert_eq!(&got, expected, "{method} {route}");
    }
    // The author's list shows their own posts only (signed in again: the last case ended it).
    let author = crate::common::log_in(&app, "author@example.test").await;
    let list = author.get(&app, "/admin/posts").await.text();
    assert!(
        list.contains("Mine") && !list.contains("Someone else"),
        "{list}"
    );
}

/// Who may use each admin route: `None` for the sign-in pages, else the least role. Every
/// route the admin modules register must be here (`the_role_table_names_every_admin_route`).
const ROLE_TABLE: &[(&str, &str, Option<&str>)] = &[
    ("GET", "/admin", Some("author")),
    ("GET", "/admin/account", Some("author")),
    ("POST", "/admin/account", Some("author")),
    ("POST", "/admin/account/mail", Some("author")),
    ("POST", "/admin/account/fediverse", Some("author")),
    ("POST", "/admin/account/sessions/{id}/end", Some("author")),
    ("POST", "/admin/account/sessions/end-all", Some("author")),
    ("GET", "/admin/account/totp", Some("author")),
    ("POST", "/admin/account/totp", Some("author")),
    ("POST", "/admin/account/totp/remove", Some("author")),
    ("POST", "/admin/account/recovery-codes", Some("author")),
    ("POST", "/admin/account/passkeys/start", Some("author")),
    ("POST", "/admin/account/passkeys/finish", Some("author")),
    (
        "POST",
        "/admin/account/passkeys/{id}/remove",
        Some("author"),
    ),
    ("GET", "/admin/setup", None),
    ("POST", "/admin/setup", None),
    ("GET", "/admin/login", None),
    ("POST", "/admin/login", None),
    ("POST", "/admin/logout", Some("author")),
    ("GET", "/admin/login/verify", None),
    ("POST", "/admin/login/verify", None),
    ("POST", "/admin/login/verify/passkey/start", None),
    ("POST", "/admin/login/verify/passkey/finish", None),
    ("POST", "/admin/login/passkey/start", None),
    ("POST", "/admin/login/passkey/finish", None),
    ("GET", "/admin/forgot", None),
    ("POST", "/admin/forgot", None),
    ("GET", "/admin/password/{token}", None),
    ("POST", "/admin/password/{token}", None),
    ("GET", "/admin/comments", Some("editor")),
    ("POST", "/admin/comments/moderate", Some("editor")),
    ("GET", "/admin/comments/{id}/edit", Some("editor")),
    ("POST", "/admin/comments/{id}/edit", Some("editor")),
    ("POST", "/admin/comments/{id}/reply", Some("editor")),
    ("GET", "/admin/email", Some("admin")),
    ("GET", "/admin/https", Some("admin")),
    ("GET", "/admin/fediverse", Some("admin")),
    ("POST", "/admin/fediverse", Some("admin")),
    (
        "POST",
        "/admin/fediverse/followers/{id}/approve",
        Some("admin"),
    ),
    (
        "POST",
        "/admin/fediverse/followers/{id}/remove",
        Some("admin"),
    ),
    ("POST", "/admin/fediverse/blocks", Some("admin")),
    (
        "POST",
        "/admin/fediverse/blocks/{domain}/remove",
        Some("admin"),
    ),
    ("POST", "/admin/email/test", Some("admin")),
    ("POST", "/admin/email/{id}/retry", Some("admin")),
    ("GET", "/admin/subscribers", Some("admin")),
    ("GET", "/admin/subscribers.csv", Some("admin")),
    ("POST", "/admin/subscribers/{id}/remove", Some("admin")),
    ("GET", "/admin/import", Some("admin")),
    ("GET", "/admin/import/{id}", Some("admin")),
    ("GET", "/admin/export/{format}", Some("admin")),
    ("POST", "/admin/import/upload", Some("admin")),
    ("GET", "/admin/media", Some("author")),
    ("POST", "/admin/media", Some("author")),
    ("POST", "/admin/media/{hash}/alt", Some("author")),
    ("POST", "/admin/media/{hash}/delete", Some("author")),
    ("GET", "/admin/posts", Some("author")),
    ("POST", "/admin/posts", Some("author")),
    ("GET", "/admin/posts/new", Some("author")),
    ("POST", "/admin/posts/render", Some("author")),
    ("GET", "/admin/posts/{id}", Some("author")),
    ("POST", "/admin/posts/{id}", Some("author")),
    ("POST", "/admin/posts/{post}/autosave", Some("author")),
    (
        "POST",
        "/admin/posts/{post}/autosave/discard",
        Some("author"),
    ),
    ("GET", "/admin/posts/{id}/revisions", Some("author")),
    (
        "GET",
        "/admin/posts/{id}/revisions/{revision}",
        Some("author"),
    ),
    (
        "POST",
        "/admin/posts/{id}/revisions/{revision}/restore",
        Some("author"),
    ),
    ("GET", "/admin/settings", Some("admin")),
    ("POST", "/admin/settings", Some("admin")),
    ("GET", "/admin/theme", Some("admin")),
    ("POST", "/admin/theme", Some("admin")),
    ("POST", "/admin/theme/image", Some("admin")),
    ("GET", "/admin/users", Some("admin")),
    ("POST", "/admin/users", Some("admin")),
    ("POST", "/admin/users/{id}", Some("admin")),
    ("POST", "/admin/users/{id}/password", Some("admin")),
    ("POST", "/admin/users/{id}/invite", Some("admin")),
    (
        "POST",
        "/admin/users/{id}/second-steps/remove",
        Some("admin"),
    ),
];

/// Every (method, path) the admin modules register, read from their `.route(…)` calls.
fn admin_routes_in_source() -> Vec<(String, String)> {
    let mut routes = Vec::new();
    for entry in std::fs::read_dir("src/http/admin").unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let mut rest = text.as_str();
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            // The call's own text: up to its closing parenthesis.
            let mut depth = 1;
            let end = rest
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .map(|(i, _)| i)
                .unwrap();
            let call = &rest[..end];
            let path = call.split('"').nth(1).unwrap().to_owned();
            for method in ["get", "post"] {
                let named = call.match_indices(&format!("{method}(")).any(|(i, _)| {
                    i == 0
                        || !call.as_bytes()[i - 1].is_ascii_alphanumeric()
                            && call.as_bytes()[i - 1] != b'_'
                });
                if named {
                    routes.push((method.to_uppercase(), path.clone()));
                }
            }
        }
    }
    routes.sort();
    routes
}

#[test]
fn the_role_table_names_every_admin_route() {
    let mut table: Vec<(String, String)> = ROLE_TABLE
        .iter()
        .map(|(method, path, _)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    table.sort();
    assert_eq!(admin_routes_in_source(), table);
}

#[sqlx::test]
async fn every_admin_route_refuses_whoever_is_below_its_role(pool: PgPool) {
    let app = app(&pool);
    let sessions = [
        ("author", user_session(&app, &pool, "author").await),
        ("editor", user_session(&app, &pool, "editor").await),
        ("admin", user_session(&app, &pool, "admin").await),
    ];
    let rank = |role: &str| {
        ["author", "editor", "admin"]
            .iter()
            .position(|r| *r == role)
    };
    for (method, pattern, least) in ROLE_TABLE {
        let Some(least) = least else { continue };
        // Each `{parameter}` filled with a value of its kind.
        let uri = pattern
            .split('/')
            .map(|segment| match segment {
                "{format}" => "wordpress",
                "{hash}" => "0000",
                s if s.starts_with('{') => "1",
                s => s,
            })
            .collect::<Vec<_>>()
            .join("/");
        let anonymous = if *method == "GET" {
            get(&app, &uri).await
        } else {
            post_form(&app, &uri, &[], &[]).await
        };
        if *method == "GET" {
            assert_eq!(anonymous.status, StatusCode::SEE_OTHER, "{method} {uri}");
            assert!(
                anonymous.header("location").starts_with("/admin/login"),
                "{method} {uri}"
            );
        } else {
            assert_eq!(anonymous.status, StatusCode::FORBIDDEN, "{method} {uri}");
        }
        for (role, session) in &sessions {
            if rank(role) >= rank(least) {
                continue;
            }
            let page = if *method == "GET" {
                session.get(&app, &uri).await
            } else {
                session.post(&app, &uri, &[]).await
            };
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{role}: {method} {uri}");
        }
        if *method == "GET" {
            let (_, allowed) = sessions.iter().find(|(role, _)| role == least).unwrap();
            let page = allowed.get(&app, &uri).await;
            assert!(
                ![StatusCode::FORBIDDEN, StatusCode::SEE_OTHER].contains(&page.status),
                "{least}: {method} {uri} gave {}",
                page.status
            );
        }
    }
}

/// A route, the form it sends, and what anonymous, author, editor and admin get.
type Case<'a> = (&'static str, String, Vec<(&'a str, &'a str)>, [u16; 4]);

/// Sends the editor form for a new post; returns the new post's id.
async fn write(app: &App, session: &Session, fields: &[(&str, &str)]) -> i64 {
    let page = session.post(app, "/admin/posts", fields).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text());
    let location = page.header("location");
    location
        .trim_start_matches("/admin/posts/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[sqlx::test]
async fn a_post_goes_from_draft_to_scheduled_to_published_to_unpublished(pool: PgPool) {
    let app = app(&pool);
    let editor = user_session(&app, &pool, "editor").await;
    let id = write(
        &app,
        &editor,
        &[
            ("title", "Pears in November"),
            ("body", "The *last* pears."),
            ("labels", "Garden, Fruit"),
            ("action", "save"),
        ],
    )
    .await;
    let post = db::posts::find_editable(&pool, id).await.unwrap().unwrap();
    assert_eq!(
        (post.status, post.slug.as_str()),
        (PostStatus::Draft, "pears-in-november")
    );
    assert_eq!(post.labels, ["Fruit", "Garden"]);
    let editor_page = editor
        .get(&app, &format!("/admin/posts/{id}?done=created"))
        .await;
    assert!(editor_page.text().contains("Saved as a draft."));
    assert_eq!(
        editor_page.field("title").as_deref(),
        Some("Pears in November")
    );
    assert_eq!(
        get(&app, &post.path).await.status,
        StatusCode::NOT_FOUND,
        "a draft is invisible"
    );
    assert!(!get(&app, "/").await.text().contains("Pears in November"));

    // Scheduled for tomorrow (in the blog's zone): still invisible.
    let tomorrow = (now() + Duration::days(1))
        .format(&time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]"
        ))
        .unwrap();
    let page = editor
        .post(
            &app,
            &format!("/admin/posts/{id}"),
            &[
                ("title", "Pears in November"),
                ("body", "The *last* pears."),
                ("labels", "Garden, Fruit"),
                ("publish_at", &tomorrow),
                ("action", "schedule"),
            ],
        )
        .await;
    assert_eq!(
        page.header("location"),
        format!("/admin/posts/{id}?done=scheduled")
    );
    let post = db::posts::find_editable(&pool, id).await.unwrap().unwrap();
    // A schedule is a publication whose time is still to come.
    assert_eq!(
        (post.status, post.state(now())),
        (PostStatus::Published, PostState::Scheduled)
    );
    assert_eq!(get(&app, &post.path).await.status, StatusCode::NOT_FOUND);
    // Its time comes (moved into the past here): it appears on its own, no job needed.
    sqlx::query("update posts set published_at = now() - interval '1 minute' where id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    assert!(
        get(&app, "/")
            .await
            .text()
            .contains("Pears in November The last pears.")
    );
    assert_eq!(get(&app, &post.path).await.status, StatusCode::OK);

    // Unpublished: gone again (404, not 403).
    let page = editor
        .post(
            &app,
            &format!("/admin/posts/{id}"),
            &[
                ("title", "Pears in November"),
                ("body", "x"),
                ("action", "unpublish"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(get(&app, &post.path).await.status, StatusCode::NOT_FOUND);

    // Publish now.
    let page = editor
        .post(
            &app,
            &format!("/admin/posts/{id}"),
            &[
                ("title", "Pears in November"),
                ("body", "Back again."),
                ("action", "publish"),
            ],
        )
        .await;
    assert_eq!(
        page.header("location"),
        format!("/admin/posts/{id}?done=published")
    );
    let post = db::posts::find_editable(&pool, id).await.unwrap().unwrap();
    assert!(get(&app, &post.path).await.text().contains("Back again."));
    // A schedule in the past is refused with everything kept.
    let page = editor
        .post(
            &app,
            "/admin/posts",
            &[
                ("title", "Late"),
                ("body", "Body kept"),
                ("labels", "A, B"),
                ("publish_at", "2001-01-01T10:00"),
                ("action", "schedule"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.text()
            .contains("Choose a time in the future, or publish now")
    );
    assert_eq!(page.field("body").as_deref(), Some("Body kept"));
    assert_eq!(page.field("labels").as_deref(), Some("A, B"));
}

#[sqlx::test]
async fn validation_errors_keep_every_field(pool: PgPool) {
    let app = app(&pool);
    let editor = user_session(&app, &pool, "editor").await;
    let body = "A body with <b>tags</b>, \"quotes\" & unicode ✓\n\nSecond paragraph.";
    let page = editor
        .post(
            &app,
            "/admin/posts",
            &[
                ("title", "  "),
                ("body", body),
                ("labels", "One, Two"),
                ("slug", "Bad Slug!"),
                ("excerpt", "Short"),
                ("comment_policy", "closed"),
                ("action", "publish"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text().contains("The post was not saved Enter a title"));
    assert_eq!(page.field("body").as_deref(), Some(body));
    assert_eq!(page.field("labels").as_deref(), Some("One, Two"));
    assert_eq!(page.field("slug").as_deref(), Some("Bad Slug!"));
    assert_eq!(page.field("excerpt").as_deref(), Some("Short"));
    assert!(page.body.contains("<option value=\"closed\" selected>"));
    let page = editor
        .post(
            &app,
            "/admin/posts",
            &[
                ("title", "Fine"),
                ("body", body),
                ("slug", "bad slug"),
                ("action", "save"),
            ],
        )
        .await;
    assert!(
        page.text()
            .contains("Use lowercase letters, digits and single hyphens")
    );
    // The same slug in the same month is taken.
    write(&app, &editor, &[("title", "Twice"), ("action", "publish")]).await;
    let page = editor
        .post(
            &app,
            "/admin/posts",
            &[("title", "Twice"), ("body", "kept"), ("action", "publish")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.text()
            .contains("Another post from the same month already uses this slug")
    );
    assert_eq!(page.field("body").as_deref(), Some("kept"));
}

#[sqlx::test]
async fn a_published_post_whose_slug_changes_leaves_a_301(pool: PgPool) {
    let app = app(&pool);
    let editor = user_session(&app, &pool, "editor").await;
    let id = write(
        &app,
        &editor,
        &[
            ("title", "Old name"),
            ("body", "Text"),
            ("action", "publish"),
        ],
    )
    .await;
    let old = db::posts::find_editable(&pool, id)
        .await
        .unwrap()
        .unwrap()
        .path;
    editor
        .post(
            &app,
            &format!("/admin/posts/{id}"),
            &[
                ("title", "New name"),
                ("slug", "new-name"),
                ("body", "Text"),
                ("action", "save"),
            ],
        )
        .await;
    let new = db::posts::find_editable(&pool, id)
        .await
        .unwrap()
        .unwrap()
        .path;
    assert!(new.ends_with("/new-name.html"), "{new}");
    let moved = get(&app, &old).await;
    assert_eq!(moved.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(moved.header("location"), new);
    assert!(get(&app, &new).await.text().contains("New name"));
}

#[sqlx::test]
async fn every_save_keeps_a_revision_that_can_be_restored(pool: PgPool) {
    let app = app(&pool);
    let editor = user_session(&app, &pool, "editor").await;
    let id = write(
        &app,
        &editor,
        &[
            ("title", "First title"),
            ("body", "First body"),
            ("labels", "One"),
            ("action", "save"),
        ],
    )
    .await;
    editor
        .post(
            &app,
            &format!("/admin/posts/{id}"),
            &[
                ("title", "Second title"),
                ("body", "Second body"),
                ("action", "save"),
            ],
        )
        .await;
    editor
        .post(
            &app,
            &format!("/admin/posts/{id}"),
            &[
                ("title", "Third title"),
                ("body", "Third body"),
                ("action", "save"),
            ],
        )
        .await;
    let list = editor
        .get(&app, &format!("/admin/posts/{id}/revisions"))
        .await;
    let text = list.text();
    assert!(
        text.contains("The editor First title") && text.contains("The editor Second title"),
        "{text}"
    );
    let first: i64 =
        sqlx::query_scalar("select id from post_revisions where title = 'First title'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let shown = editor
        .get(&app, &format!("/admin/posts/{id}/revisions/{first}"))
        .await;
    assert!(shown.text().contains("First body") && shown.text().contains("One"));
    let restored = editor
        .post(
            &app,
            &format!("/admin/posts/{id}/revisions/{first}/restore"),
            &[],
        )
        .await;
    assert_eq!(
        restored.header("location"),
        format!("/admin/posts/{id}?done=restored")
    );
    let post = db::posts::find_editable(&pool, id).await.unwrap().unwrap();
    assert_eq!(
        (
            post.title.as_str(),
            post.body_source.as_str(),
            post.labels.clone()
        ),
        ("First title", "First body", vec!["One".to_owned()])
    );
    let count: i64 = sqlx::query_scalar("select count(*) from post_revisions where post_id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 3, "the restore kept the third version too");
}

#[sqlx::test]
async fn preview_shows_the_post_as_readers_would_without_saving(pool: PgPool) {
    let app = app(&pool);
    let editor = user_session(&app, &pool, "editor").await;
    let page = editor
        .post(
            &app,
            "/admin/posts",
            &[
                ("title", "Not yet saved"),
                ("body", "![Frost](/media/x.jpg \"Morning frost\")"),
                ("labels", "Weather"),
                ("action", "preview"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<figcaption>Morning frost</figcaption>"));
    assert!(page.text().contains("Not yet saved") && page.text().contains("Labels: Weather"));
    assert!(
        page.body
            .contains("<meta name=\"robots\" content=\"noindex\">")
    );
    let posts: i64 = sqlx::query_scalar("select count(*) from posts")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(posts, 0);
}

#[sqlx::test]
async fn moderation_actions_change_what_readers_see(pool: PgPool) {
    let app = app(&pool);
    let editor = user_session(&app, &pool, "editor").await;
    let (post, path) = add_post(
        &pool,
        Post::published("Queue test", now() - Duration::days(1)),
    )
    .await;
    let a = add_comment(
        &pool,
        post,
        "Ann",
        "First pending",
        "pending",
        now() - Duration::minutes(3),
    )
    .await;
    let b = add_comment(
        &pool,
        post,
        "Ben",
        "Second pending",
        "pending",
        now() - Duration::minutes(2),
    )
    .await;
    let c = add_comment(
        &pool,
        post,
        "Cy",
        "Third pending",
        "pending",
        now() - Duration::minutes(1),
    )
    .await;
    sqlx::query("update comments set author_email = 'ann@example.test', status_reason = '3 links (more than 2)' where id = $1").bind(a).execute(&pool).await.unwrap();

    let queue = editor.get(&app, "/admin/comments?status=pending").await;
    let text = queue.text();
    assert!(
        text.contains("Pending (3)")
            && text.contains("ann@example.test")
            && text.contains("3 links (more than 2)"),
        "{text}"
    );
    assert!(
        editor
            .get(&app, "/admin")
            .await
            .text()
            .contains("3 comments pending")
    );

    // Bulk approve two.
    let (a_id, b_id) = (a.to_string(), b.to_string());
    let done = editor
        .post(
            &app,
            "/admin/comments/moderate",
            &[
                ("tab", "pending"),
                ("action", "approve"),
                ("ids", &a_id),
                ("ids", &b_id),
            ],
        )
        .await;
    assert_eq!(
        done.header("location"),
        "/admin/comments?status=pending&updated=2"
    );
    let page = get(&app, &path).await.text();
    assert!(
        page.contains("2 comments:")
            && page.contains("First pending")
            && page.contains("Second pending")
            && !page.contains("Third")
    );

    // Spam, restore, trash, delete forever.
    let one = |action: &str, id: i64| format!("{action}:{id}");
    editor
        .post(
            &app,
            "/admin/comments/moderate",
            &[("one", &one("spam", b))],
        )
        .await;
    assert!(get(&app, &path).await.text().contains("1 comment:"));
    editor
        .post(
            &app,
            "/admin/comments/moderate",
            &[("one", &one("restore", b))],
        )
        .await;
    assert_eq!(status_of(&pool, b).await, "pending");
    editor
        .post(
            &app,
            "/admin/comments/moderate",
            &[("one", &one("delete", a))],
        )
        .await;
    assert_eq!(
        status_of(&pool, a).await,
        "approved",
        "only spam or trash can be deleted forever"
    );
    editor
        .post(
            &app,
            "/admin/comments/moderate",
            &[("one", &one("trash", a))],
        )
        .await;
    editor
        .post(
            &app,
            "/admin/comments/moderate",
            &[("one", &one("delete", a))],
        )
        .await;
    let left: i64 = sqlx::query_scalar("select count(*) from comments where id = $1")
        .bind(a)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    assert!(get(&app, &path).await.text().contains("No comments:"));

    // Edit a comment's text; reply from the queue as the editor (approving what it answers).
    let edited = editor
        .post(
            &app,
            &format!("/admin/comments/{c}/edit"),
            &[("text", "Third, *tidied*")],
        )
        .await;
    assert_eq!(edited.status, StatusCode::SEE_OTHER);
    let reply = editor
        .post(
            &app,
            &format!("/admin/comments/{c}/reply"),
            &[("text", "Thank you, Cy.")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(status_of(&pool, c).await, "approved");
    let (user_id, name, parent): (Option<i64>, String, Option<i64>) = sqlx::query_as(
        "select user_id, author_name, parent_id from comments where body_source = 'Thank you, Cy.'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(user_id.is_some());
    assert_eq!((name.as_str(), parent), ("The editor", Some(c)));
    let page = get(&app, &path).await;
    assert!(
        page.text().contains("Third, tidied") && page.text().contains("The editor"),
        "{}",
        page.text()
    );
    assert!(page.body.contains("<em>tidied</em>"));
    let empty = editor
        .post(
            &app,
            &format!("/admin/comments/{c}/reply"),
            &[("text", "  ")],
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A reply over the limit comes back as typed, with the reason beside it.
    let long = "y".repeat(5000);
    let too_long = editor
        .post(
            &app,
            &format!("/admin/comments/{c}/reply"),
            &[("text", &long)],
        )
        .await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(too_long.text().contains("Use at most 4,096 characters"));
    let kept: String = too_long
        .document()
        .select(&crate::common::selector("#reply-text"))
        .next()
        .unwrap()
        .text()
        .collect();
    assert_eq!(kept, long);
}

#[sqlx::test]
async fn a_comment_approved_through_one_process_shows_at_once_on_another(pool: PgPool) {
    // Two Folio processes on one database, each with its page cache.
    let (_, first) = crate::common::cached_app(&pool).await;
    let (_, second) = crate::common::cached_app(&pool).await;
    let editor = user_session(&first, &pool, "editor").await;
    let (post, path) = add_post(
        &pool,
        Post::published("Two servers", now() - Duration::days(1)),
    )
    .await;
    let id = add_comment(
        &pool,
        post,
        "Ann",
        "Waiting on two servers",
        "pending",
        now(),
    )
    .await;
    for app in [&first, &second] {
        let page =
            crate::common::eventually(app, &path, |p| p.text().contains("Two servers")).await;
        assert!(page.text().contains("No comments:"));
        assert!(
            crate::common::eventually(app, "/", |p| p.text().contains("Two servers"))
                .await
                .text()
                .contains("No comments")
        );
    }

    let id = id.to_string();
    let done = editor
        .post(
            &first,
            "/admin/comments/moderate",
            &[("tab", "pending"), ("action", "approve"), ("ids", &id)],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    // The process that approved it shows it at once; the other as soon as PostgreSQL tells it.
    assert!(get(&first, &path).await.text().contains("1 comment: Ann"));
    crate::common::eventually(&second, &path, |p| p.text().contains("1 comment: Ann")).await;
    crate::common::eventually(&second, "/", |p| p.text().contains("1 comment:")).await;
}

async fn status_of(pool: &PgPool, id: i64) -> String {
    sqlx::query_scalar("select status from comments where id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn admins_manage_users_and_a_disabled_user_is_logged_out(pool: PgPool) {
    let app = app(&pool);
    let admin = user_session(&app, &pool, "admin").await;
    let editor = user_session(&app, &pool, "editor").await;
    assert_eq!(
        editor.get(&app, "/admin/users").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        editor.get(&app, "/admin/settings").await.status,
        StatusCode::FORBIDDEN
    );
    assert!(
        !editor.get(&app, "/admin").await.text().contains("Settings"),
        "no link to what they cannot open"
    );

    let bad = admin
        .post(
            &app,
            "/admin/users",
            &[
                ("name", "Nova"),
                ("email", "editor@example.test"),
                ("role", "editor"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.text()
            .contains("Someone already uses this email address")
    );
    assert_eq!(bad.field("name").as_deref(), Some("Nova"));
    let added = admin
        .post(
            &app,
            "/admin/users",
            &[
                ("name", "Nova"),
                ("email", "nova@example.test"),
                ("role", "author"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(added.header("location"), "/admin/users?done=added");
    log_in(&app, "nova@example.test").await;

    let editor_id: i64 =
        sqlx::query_scalar("select id from users where email = 'editor@example.test'")
            .fetch_one(&pool)
            .await
            .unwrap();
    admin
        .post(
            &app,
            &format!("/admin/users/{editor_id}"),
            &[("role", "author"), ("disabled", "true")],
        )
        .await;
    assert_eq!(
        editor.get(&app, "/admin").await.status,
        StatusCode::SEE_OTHER,
        "a disabled user's sessions end"
    );
    let refused = post_form(
        &app,
        "/admin/login",
        &[("email", "editor@example.test"), ("password", PASSWORD)],
        &[],
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    admin
        .post(
            &app,
            &format!("/admin/users/{editor_id}"),
            &[("role", "editor")],
        )
        .await;
    admin
        .post(
            &app,
            &format!("/admin/users/{editor_id}/password"),
            &[("password", "a brand new password")],
        )
        .await;
    let page = post_form(
        &app,
        "/admin/login",
        &[
            ("email", "editor@example.test"),
            ("password", "a brand new password"),
        ],
        &[],
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);

    let admin_id: i64 =
        sqlx::query_scalar("select id from users where email = 'admin@example.test'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let own = admin
        .post(
            &app,
            &format!("/admin/users/{admin_id}"),
            &[("role", "editor")],
        )
        .await;
    assert_eq!(
        own.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no admin locks themselves out"
    );
    assert!(own.text().contains("You cannot disable yourself"));
}

#[sqlx::test]
async fn everyone_changes_their_own_password(pool: PgPool) {
    let app = app(&pool);
    let author = user_session(&app, &pool, "author").await;
    let wrong = author
        .post(
            &app,
            "/admin/account",
            &[
                ("current", "not it at all"),
                ("password", "another long password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.text().contains("The current password is not right."));
    let ok = author
        .post(
            &app,
            "/admin/account",
            &[("current", PASSWORD), ("password", "another long password")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let page = post_form(
        &app,
        "/admin/login",
        &[
            ("email", "author@example.test"),
            ("password", "another long password"),
        ],
        &[],
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
}

#[sqlx::test]
async fn settings_change_the_blog_and_bad_values_are_explained(pool: PgPool) {
    let app = app(&pool);
    let admin = user_session(&app, &pool, "admin").await;
    let form = admin.get(&app, "/admin/settings").await;
    assert_eq!(form.field("title").as_deref(), Some("Folio"));
    let bad = admin
        .post(
            &app,
            "/admin/settings",
            &[
                ("title", "Harbour Notes"),
                ("timezone", "Mars/Olympus"),
                ("posts_per_page", "0"),
                ("comment_policy", "moderated"),
                ("moderate_after_days", "7"),
                ("blocked_terms", "casino"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = bad.text();
    assert!(
        text.contains("Enter a time zone name") && text.contains("Enter a number from 1 to 100"),
        "{text}"
    );
    assert_eq!(bad.field("title").as_deref(), Some("Harbour Notes"));
    assert_eq!(bad.field("blocked_terms").as_deref(), Some("casino"));
    let ok = admin
        .post(
            &app,
            "/admin/settings",
            &[
                ("title", "Harbour Notes"),
                ("description", "Boats"),
                ("timezone", "Europe/Lisbon"),
                ("posts_per_page", "5"),
                ("comment_policy", "moderated"),
                ("moderate_after_days", "7"),
                ("blocked_terms", "casino\r\nspam@example.net"),
            ],
        )
        .await;
    assert_eq!(ok.header("location"), "/admin/settings?done=settings-saved");
    let settings = db::settings::load(&pool).await.unwrap();
    assert_eq!(
        (
            settings.title.as_str(),
            settings.timezone.as_str(),
            settings.posts_per_page
        ),
        ("Harbour Notes", "Europe/Lisbon", 5)
    );
    assert_eq!(
        (
            settings.comment_policy.as_str(),
            settings.blocked_terms.as_str()
        ),
        ("moderated", "casino\nspam@example.net")
    );
    assert!(get(&app, "/").await.text().contains("Harbour Notes Boats"));
}

/// A multipart form as a browser sends it: the text fields in order, then one file.
pub(crate) fn multipart_body(
    fields: &[(&str, &str)],
    file: &[u8],
    filename: &str,
    file_type: &str,
) -> (String, Vec<u8>) {
    let boundary = "folio-test-boundary";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: {file_type}\r\n\r\n").as_bytes());
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// POSTs a multipart form from this session.
pub(crate) async fn send_multipart(
    app: &App,
    session: &Session,
    uri: &str,
    (content_type, body): (String, Vec<u8>),
) -> Page {
    let request = axum::http::Request::post(uri)
        .header("content-type", content_type)
        .header("cookie", &session.cookie)
        .header("origin", crate::common::BASE_URL)
        .body(axum::body::Body::from(body))
        .unwrap();
    crate::common::send(app, request).await
}

async fn upload(app: &App, session: &Session, file: &[u8], filename: &str) -> Page {
    let form = multipart_body(&[("csrf", &session.csrf)], file, filename, "image/png");
    send_multipart(app, session, "/admin/media", form).await
}

/// A real 1×1 PNG.
pub(crate) const ONE_PIXEL_PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\0\x05\0\x01\xff\x89\x99=\x1d\0\0\0\0IEND\xaeB`\x82";

/// Uploads an image and returns its hash, from the redirect to the media page.
async fn uploaded(app: &App, session: &Session, file: &[u8], filename: &str) -> String {
    let sent = upload(app, session, file, filename).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.text());
    sent.header("location")
        .rsplit('=')
        .next()
        .unwrap()
        .to_owned()
}

/// Security review, finding 6: uploads are limited per person (processing takes a core), and
/// the refusal says why; another person's uploads are not held back.
#[sqlx::test]
async fn uploads_are_limited_per_person(pool: PgPool) {
    let app = app(&pool);
    let author = user_session(&app, &pool, "author").await;
    let editor = user_session(&app, &pool, "editor").await;
    let author_id: i64 = sqlx::query_scalar("select id from users where role = 'author'")
        .fetch_one(&pool)
        .await
        .unwrap();
    // 99 uploads in the last hour: one more is allowed, then no more.
    sqlx::query(
        "insert into mail_requests (key) select 'upload-user:' || $1 from generate_series(1, 99)",
    )
    .bind(author_id)
    .execute(&pool)
    .await
    .unwrap();
    uploaded(&app, &author, ONE_PIXEL_PNG, "dot.png").await;
    let refused = upload(&app, &author, ONE_PIXEL_PNG, "dot.png").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        refused
            .text()
            .contains("You have uploaded 100 images in the last hour"),
        "{}",
        refused.text()
    );
    uploaded(&app, &editor, ONE_PIXEL_PNG, "dot.png").await;
}

#[sqlx::test]
async fn an_image_is_tagged_by_its_hash_answered_304_and_kept_in_memory(pool: PgPool) {
    let app = app(&pool);
    let author = user_session(&app, &pool, "author").await;
    let png = ONE_PIXEL_PNG;
    let hash = uploaded(&app, &author, png, "dot.png").await;
    let url = format!("/media/{hash}.png");

    let first = get(&app, &url).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.bytes, png);
    let tag = first.header("etag");
    assert_eq!(tag, format!("\"{hash}\""));
    let again = get_with(&app, &url, &[("if-none-match", tag)]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.bytes.is_empty());
    assert_eq!(again.header("etag"), tag);
    assert_eq!(
        again.header("cache-control"),
        "public, max-age=31536000, immutable"
    );
    // Another image's tag, or this tag under another type, is not a match.
    let other = format!("\"{}\"", "0".repeat(64));
    assert_eq!(
        get_with(&app, &url, &[("if-none-match", &other)])
            .await
            .status,
        StatusCode::OK
    );
    let wrong_type = format!("/media/{hash}.jpg");
    assert_eq!(
        get_with(&app, &wrong_type, &[("if-none-match", tag)])
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Served once, it is answered from memory: no database read (the row is gone here).
    let bytes: Vec<u8> = sqlx::query_scalar("delete from media where hash = $1 returning bytes")
        .bind(&hash)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(get(&app, &url).await.bytes, bytes);
    // Without the memory (FOLIO_MEDIA_CACHE_MB=0) every read goes to the database.
    let uncached = app_with(
        &pool,
        Config {
            media_cache_bytes: 0,
            ..Config::with_base_url(crate::common::BASE_URL)
        },
    );
    assert_eq!(get(&uncached, &url).await.status, StatusCode::NOT_FOUND);
    sqlx::query("insert into media (hash, content_type, size_bytes, bytes) values ($1, 'image/png', $2, $3)")
        .bind(&hash)
        .bind(bytes.len() as i32)
        .bind(&bytes)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(get(&uncached, &url).await.bytes, png);
    assert_eq!(
        get_with(&uncached, &url, &[("if-none-match", tag)])
            .await
            .status,
        StatusCode::NOT_MODIFIED
    );
}

#[sqlx::test]
async fn images_upload_by_their_bytes_and_are_served_for_a_year(pool: PgPool) {
    let app = app(&pool);
    let author = user_session(&app, &pool, "author").await;
    let png = ONE_PIXEL_PNG;
    let hash = uploaded(&app, &author, png, "photo.jpg").await;
    let page = author
        .get(&app, &format!("/admin/media?uploaded={hash}"))
        .await;
    let snippet = format!("![Describe the image](/media/{hash}.png \"Caption\")");
    assert!(
        page.text().contains(&snippet),
        "the Markdown to paste, typed by the bytes: {}",
        page.text()
    );

    let served = get(&app, &format!("/media/{hash}.png")).await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(served.header("content-type"), "image/png");
    assert_eq!(
        served.header("cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(
        get(&app, &format!("/media/{hash}.jpg")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, "/media/..%2F..%2Fetc%2Fpasswd").await.status,
        StatusCode::NOT_FOUND
    );

    let svg = upload(
        &app,
        &author,
        b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>",
        "evil.png",
    )
    .await;
    assert_eq!(svg.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        svg.text()
            .contains("That file is not a JPEG, PNG, GIF or WebP image.")
    );
    let mut big = png.to_vec();
    big.resize(10 * 1024 * 1024 + 10, 0);
    let too_big = upload(&app, &author, &big, "big.png").await;
    assert_eq!(too_big.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(too_big.text().contains("That image is larger than 10 MB."));
    let forged = upload(
        &app,
        &Session {
            cookie: author.cookie.clone(),
            csrf: "wrong".into(),
        },
        png,
        "x.png",
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let stored: i64 = sqlx::query_scalar("select count(*) from media")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 1);
}

#[sqlx::test]
async fn failures_from_one_address_across_accounts_also_wait(pool: PgPool) {
    let config = Config {
        trust_proxy: true,
        ..Config::with_base_url(crate::common::BASE_URL)
    };
    let app = app_with(&pool, config);
    add_user(&pool, "victim@example.test", "Victim", "editor").await;
    let from = [("x-forwarded-for", "198.51.100.23")];
    for n in 0..5 {
        let email = format!("guess{n}@example.test");
        let page = post_form(
            &app,
            "/admin/login",
            &[("email", &email), ("password", "guess")],
            &from,
        )
        .await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    }
    let blocked = post_form(
        &app,
        "/admin/login",
        &[("email", "victim@example.test"), ("password", PASSWORD)],
        &from,
    )
    .await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    let elsewhere = post_form(
        &app,
        "/admin/login",
        &[("email", "victim@example.test"), ("password", PASSWORD)],
        &[("x-forwarded-for", "198.51.100.99")],
    )
    .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::SEE_OTHER,
        "the account itself is not locked by someone else's guesses"
    );
}

#[sqlx::test]
async fn unapproving_hides_a_comment_again(pool: PgPool) {
    let app = app(&pool);
    let editor = user_session(&app, &pool, "editor").await;
    let (post, path) = add_post(
        &pool,
        Post::published("Second thoughts", now() - Duration::days(1)),
    )
    .await;
    let id = add_comment(&pool, post, "Dora", "Visible for now", "approved", now()).await;
    assert!(get(&app, &path).await.text().contains("1 comment: Dora"));
    let ids = id.to_string();
    editor
        .post(
            &app,
            "/admin/comments/moderate",
            &[("tab", "approved"), ("action", "unapprove"), ("ids", &ids)],
        )
        .await;
    assert_eq!(status_of(&pool, id).await, "pending");
    assert!(get(&app, &path).await.text().contains("No comments:"));
    let nothing = editor
        .post(
            &app,
            "/admin/comments/moderate",
            &[("tab", "approved"), ("action", "approve")],
        )
        .await;
    assert_eq!(nothing.status, StatusCode::BAD_REQUEST);
    assert!(
        nothing
            .text()
            .contains("Select at least one comment first.")
    );
}

const CLASSIC_EXPORT: &str = include_str!("fixtures/import/blogger-classic.xml");

/// The Import form as a browser sends it: the token, the kind of file, the file.
async fn send_import(
    app: &App,
    session: &Session,
    format: &str,
    file: &[u8],
    filename: &str,
) -> Page {
    let form = multipart_body(
        &[("csrf", &session.csrf), ("format", format)],
        file,
        filename,
        "application/xml",
    );
    send_multipart(app, session, "/admin/import/upload", form).await
}

/// Follows an import's page until it has finished, as its self-refreshing page would.
async fn finished_import(app: &App, session: &Session, location: &str) -> Page {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let page = session.get(app, location).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        if !page.body.contains("data-import-running") {
            return page;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the import never finished: {}",
            page.text()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[sqlx::test]
async fn admins_import_an_uploaded_export_and_read_its_summary(pool: PgPool) {
    let app = app(&pool);
    let editor = user_session(&app, &pool, "editor").await;
    let admin = user_session(&app, &pool, "admin").await;
    assert_eq!(
        editor.get(&app, "/admin/import").await.status,
        StatusCode::FORBIDDEN
    );
    let refused = send_import(&app, &editor, "blogger", CLASSIC_EXPORT.as_bytes(), "a.xml").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let page = admin.get(&app, "/admin/import").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("Import a blog"));
    assert!(page.text().contains("Export this blog"));

    let sent = send_import(
        &app,
        &admin,
        "blogger",
        CLASSIC_EXPORT.as_bytes(),
        "blog-08-11-2024.xml",
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.text());
    let location = sent.header("location").to_owned();
    assert!(location.starts_with("/admin/import/"), "{location}");
    let done = finished_import(&app, &admin, &location).await;
    let text = done.text();
    for expected in [
        "Import of blog-08-11-2024.xml",
        "The import is done.",
        "posts: 3 (3 new, 0 updated, 0 unchanged) — 1 of them drafts",
        "comments: 5 (5 new",
        "skipped: 1 the Blogger template",
    ] {
        assert!(text.contains(expected), "{expected:?} not in {text}");
    }
    assert!(get(&app, "/").await.text().contains("Mending the lantern"));
    let list = admin.get(&app, "/admin/import").await.text();
    assert!(
        list.contains("Imported: 3 posts, 1 pages, 5 comments"),
        "{list}"
    );

    // A cut file: refused, named, nothing changed.
    let posts_before: i64 = sqlx::query_scalar("select count(*) from posts")
        .fetch_one(&pool)
        .await
        .unwrap();
    let cut = &CLASSIC_EXPORT.as_bytes()[..CLASSIC_EXPORT.len() / 2];
    let sent = send_import(&app, &admin, "blogger", cut, "cut.xml").await;
    let failed = finished_import(&app, &admin, sent.header("location")).await;
    assert!(
        failed.text().contains("The file was refused"),
        "{}",
        failed.text()
    );
    assert!(failed.text().contains("cut short"));
    assert!(failed.text().contains("Nothing was changed"));
    let posts_after: i64 = sqlx::query_scalar("select count(*) from posts")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(posts_after, posts_before);

    // Forms without a kind or a file come back with the reason.
    let no_format = send_import(&app, &admin, "", CLASSIC_EXPORT.as_bytes(), "a.xml").await;
    assert_eq!(no_format.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_format.text().contains("Choose what kind of export"));
    let no_file = send_import(&app, &admin, "wxr", b"", "").await;
    assert_eq!(no_file.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_file.text().contains("Choose the export file"));
    // A forged form writes nothing.
    let jobs_before: i64 = sqlx::query_scalar("select count(*) from import_jobs")
        .fetch_one(&pool)
        .await
        .unwrap();
    let forged = Session {
        cookie: admin.cookie.clone(),
        csrf: "not the token".into(),
    };
    let sent = send_import(&app, &forged, "blogger", CLASSIC_EXPORT.as_bytes(), "a.xml").await;
    assert_eq!(sent.status, StatusCode::FORBIDDEN);
    let jobs_after: i64 = sqlx::query_scalar("select count(*) from import_jobs")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(jobs_after, jobs_before);
}

#[sqlx::test]
async fn an_export_larger_than_the_usual_body_limit_uploads_and_the_cap_is_explained(pool: PgPool) {
    let app = app_with(
        &pool,
        Config {
            import_max_bytes: 20 * 1024 * 1024,
            ..Config::with_base_url(crate::common::BASE_URL)
        },
    );
    let admin = user_session(&app, &pool, "admin").await;
    // 13 MB: more than any other form may send.
    let padding = "x".repeat(13 * 1024 * 1024);
    let big = CLASSIC_EXPORT.replace("</feed>", &format!("<!-- {padding} -->\n</feed>"));
    let sent = send_import(&app, &admin, "blogger", big.as_bytes(), "big.xml").await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.text());
    let done = finished_import(&app, &admin, sent.header("location")).await;
    assert!(
        done.text().contains("The import is done."),
        "{}",
        done.text()
    );

    let huge = CLASSIC_EXPORT.replace("</feed>", &format!("<!-- {padding}{padding} -->\n</feed>"));
    let refused = send_import(&app, &admin, "blogger", huge.as_bytes(), "huge.xml").await;
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        refused.text().contains("larger than 20 MB"),
        "{}",
        refused.text()
    );
}

#[sqlx::test]
async fn admins_download_the_whole_blog(pool: PgPool) {
    let app = app(&pool);
    add_post(
        &pool,
        Post::published("A post to take along", now() - Duration::days(2)),
    )
    .await;
    let editor = user_session(&app, &pool, "editor").await;
    let admin = user_session(&app, &pool, "admin").await;
    assert_eq!(
        editor.get(&app, "/admin/export/wxr").await.status,
        StatusCode::FORBIDDEN
    );
    for (format, marker) in [
        ("wxr", "<wp:wxr_version>1.2</wp:wxr_version>"),
        ("atom", "<blogger:type>POST</blogger:type>"),
    ] {
        let file = admin.get(&app, &format!("/admin/export/{format}")).await;
        assert_eq!(file.status, StatusCode::OK);
        assert!(
            file.header("content-disposition")
                .starts_with("attachment;"),
            "{}",
            file.header("content-disposition")
        );
        assert!(file.body.contains(marker), "{}", file.body);
        assert!(file.body.contains("A post to take along"));
    }
    assert_eq!(
        admin.get(&app, "/admin/export/pdf").await.status,
        StatusCode::NOT_FOUND
    );
}

/// Issue 16, fix 7: a new password ends every other session of the account.
#[sqlx::test]
async fn changing_a_password_ends_the_other_sessions(pool: PgPool) {
    add_user(&pool, "lea@example.test", "Lea", "editor").await;
    let app = app(&pool);
    let here = log_in(&app, "lea@example.test").await;
    let elsewhere = log_in(&app, "lea@example.test").await;
    let changed = here
        .post(
            &app,
            "/admin/account",
            &[("current", PASSWORD), ("password", "a different password")],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER);
    assert_eq!(here.get(&app, "/admin").await.status, StatusCode::OK);
    assert_eq!(
        elsewhere.get(&app, "/admin").await.status,
        StatusCode::SEE_OTHER,
        "the other session has ended"
    );
    // An admin setting someone's password logs them out everywhere.
    let admin = user_session(&app, &pool, "admin").await;
    let lea: i64 = sqlx::query_scalar("select id from users where email = 'lea@example.test'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let set = admin
        .post(
            &app,
            &format!("/admin/users/{lea}/password"),
            &[("password", "an admin's choice here")],
        )
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER);
    assert_eq!(here.get(&app, "/admin").await.status, StatusCode::SEE_OTHER);
}

/// Issue 16, fix 3: a burst of logins at once counts in full against the limit; only as many
/// as the limit allows reach the (costly) password check.
#[sqlx::test]
async fn a_burst_of_logins_at_once_is_held_to_the_limit(pool: PgPool) {
    add_user(&pool, "max@example.test", "Max", "editor").await;
    let app = app(&pool);
    let burst = (0..12).map(|n| {
        let app = app.clone();
        async move {
            let guess = format!("guess number {n}");
            post_form(
                &app,
                "/admin/login",
                &[("email", "max@example.test"), ("password", guess.as_str())],
                &[],
            )
            .await
            .status
        }
    });
    let answers = futures_util::future::join_all(burst).await;
    let checked = answers
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let held = answers
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(checked + held, 12, "{answers:?}");
    assert!(checked <= 5, "{checked} of 12 reached the password check");
}
