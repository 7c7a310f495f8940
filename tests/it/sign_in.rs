//! Signing in beyond the password: sessions a user sees and ends, authenticator codes with
//! recovery codes, the blog-wide rule for a second step, and passkeys in real Chromium.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use fantoccini::{Client, Locator, wd::WebDriverCompatibleCommand};
use folio::App;
use folio::auth::totp;
use sqlx::PgPool;

use crate::common::{
    PASSWORD, Page, Session, TestClock, add_user, browser, cached_app_with_clock, get_with, log_in,
    post_form,
};

/// The cookie `name` that a response sets, as a `Cookie` header value.
fn set_cookie(page: &Page, name: &str) -> Option<String> {
    page.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").to_owned())
        .find(|pair| pair.starts_with(&format!("{name}=")) && pair.len() > name.len() + 1)
}

/// Logs in with a browser of its own name (the session list shows it).
async fn log_in_as_browser(app: &App, email: &str, user_agent: &str) -> Session {
    let page = post_form(
        app,
        "/admin/login",
        &[("email", email), ("password", PASSWORD), ("next", "/admin")],
        &[("user-agent", user_agent)],
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text());
    let cookie = set_cookie(&page, "folio_session").expect("a session");
    let csrf = get_with(app, "/admin", &[("cookie", &cookie)])
        .await
        .field("csrf")
        .unwrap();
    Session { cookie, csrf }
}

#[sqlx::test]
async fn the_account_page_lists_sessions_and_each_can_be_signed_out(pool: PgPool) {
    let (_, app, _) = cached_app_with_clock(&pool).await;
    add_user(&pool, "ann@example.test", "Ann", "editor").await;
    let laptop = log_in_as_browser(
        &app,
        "ann@example.test",
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    )
    .await;
    let phone = log_in_as_browser(
        &app,
        "ann@example.test",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    )
    .await;
    let tablet = log_in_as_browser(&app, "ann@example.test", "curl/8.5.0").await;

    let account = laptop.get(&app, "/admin/account").await;
    let rows = account.texts("table.list tbody tr td:first-child");
    assert!(
        rows.contains(&"Firefox 133 on Linux (this browser)".to_owned()),
        "{rows:?}"
    );
    assert!(rows.contains(&"Safari 18 on iOS".to_owned()), "{rows:?}");
    assert!(rows.contains(&"curl".to_owned()), "{rows:?}");

    // Signing out the phone from the laptop: the phone is out, the laptop stays in.
    let doc = account.document();
    let phone_form = doc
        .select(&crate::common::selector("table.list tbody tr"))
        .find(|row| crate::common::element_text(*row).contains("Safari 18 on iOS"))
        .and_then(|row| {
            row.select(&crate::common::selector("form"))
                .next()
                .and_then(|f| f.value().attr("action").map(str::to_owned))
        })
        .expect("a Sign out button on the phone's row");
    let done = laptop.post(&app, &phone_form, &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(
        phone.get(&app, "/admin").await.status,
        StatusCode::SEE_OTHER,
        "the phone is sent to log in"
    );
    let after = laptop.get(&app, "/admin/account?done=session").await;
    assert!(after.text().contains("That session is signed out."));
    assert!(!after.text().contains("Safari 18 on iOS"));

    // Nobody ends someone else's session by its number.
    let other = add_user(&pool, "bob@example.test", "Bob", "author").await;
    let bob = log_in(&app, "bob@example.test").await;
    let bob_session: i64 = sqlx::query_scalar("select id from sessions where user_id = $1")
        .bind(other)
        .fetch_one(&pool)
        .await
        .unwrap();
    laptop
        .post(
            &app,
            &format!("/admin/account/sessions/{bob_session}/end"),
            &[],
        )
        .await;
    assert_eq!(bob.get(&app, "/admin").await.status, StatusCode::OK);

    // Sign out everywhere: every session of Ann's ends, this one too.
    let out = laptop
        .post(&app, "/admin/account/sessions/end-all", &[])
        .await;
    assert_eq!(out.header("location"), "/admin/login");
    for session in [&laptop, &tablet] {
        assert_eq!(
            session.get(&app, "/admin").await.status,
            StatusCode::SEE_OTHER
        );
    }
    assert_eq!(bob.get(&app, "/admin").await.status, StatusCode::OK);
}

/// RFC 4648 base32, as an authenticator app reads the key a person types.
fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut buffer, mut bits, mut out) = (0u32, 0u32, Vec::new());
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        buffer = (buffer << 5) | ALPHABET.find(c).expect("a base32 letter") as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

/// What the phone shows now for `key`.
fn code_now(key: &[u8], clock: &TestClock) -> String {
    use folio::domain::clock::Clock;
    format!(
        "{:06}",
        totp::code_at(key, totp::step_at(clock.now().unix_timestamp()))
    )
}

/// Sets up an authenticator app from the page, as a person would: reads the key shown,
/// enters the code. Returns the key and the recovery codes shown once.
async fn set_up_app(app: &App, session: &Session, clock: &TestClock) -> (Vec<u8>, Vec<String>) {
    let setup = session.get(app, "/admin/account/totp").await;
    assert_eq!(setup.status, StatusCode::OK);
    assert_eq!(setup.header("cache-control"), "no-store");
    assert!(setup.body.contains("<svg"), "a QR code to scan");
    let key = base32_decode(&setup.texts("code.secret")[0]);
    assert_eq!(key.len(), 20);
    let link = setup.links_containing("otpauth://totp/")[0].clone();
    assert!(link.contains("secret="), "{link}");

    // A wrong code: the form comes back with it and says why.
    let wrong = session
        .post(
            app,
            "/admin/account/totp",
            &[("code", "000000"), ("current", PASSWORD)],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.text().contains("That code is not right."));
    assert_eq!(wrong.field("code").as_deref(), Some("000000"));

    // The right code without the password (a stolen session): nothing is turned on.
    let code = code_now(&key, clock);
    let stolen = session
        .post(
            app,
            "/admin/account/totp",
            &[("code", &code), ("current", "a guessed password")],
        )
        .await;
    assert_eq!(stolen.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        stolen
            .text()
            .contains("Your password is not right: codes stay off.")
    );
    assert_eq!(stolen.field("code").as_deref(), Some(code.as_str()));
    assert!(
        !stolen
            .text()
            .contains("This is the only time they are shown")
    );

    let done = session
        .post(
            app,
            "/admin/account/totp",
            &[("code", &code), ("current", PASSWORD)],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    assert!(done.text().contains("This is the only time they are shown"));
    let codes = done.texts("ul.recovery-codes code");
    assert_eq!(codes.len(), 10);
    (key, codes)
}

/// The password step of a sign-in: the pending cookie for the second step.
async fn password_step(app: &App, email: &str) -> String {
    let page = post_form(
        app,
        "/admin/login",
        &[
            ("email", email),
            ("password", PASSWORD),
            ("next", "/admin/posts"),
        ],
        &[],
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text());
    assert_eq!(page.header("location"), "/admin/login/verify");
    assert!(
        set_cookie(&page, "folio_session").is_none(),
        "no session before the second step"
    );
    set_cookie(&page, "folio_pending").expect("a pending sign-in")
}

async fn second_step(app: &App, pending: &str, code: &str) -> Page {
    post_form(
        app,
        "/admin/login/verify",
        &[("code", code)],
        &[("cookie", pending)],
    )
    .await
}

#[sqlx::test]
async fn authenticator_codes_are_a_second_step_each_code_works_once_and_recovery_codes_once(
    pool: PgPool,
) {
    let (_, app, clock) = cached_app_with_clock(&pool).await;
    add_user(&pool, "ann@example.test", "Ann", "author").await;
    let session = log_in(&app, "ann@example.test").await;
    let (key, recovery) = set_up_app(&app, &session, &clock).await;
    let account = session.get(&app, "/admin/account").await;
    assert!(
        account
            .text()
            .contains("You have 10 unused recovery codes.")
    );

    // The password alone no longer signs in.
    let pending = password_step(&app, "ann@example.test").await;
    let page = get_with(&app, "/admin/login/verify", &[("cookie", &pending)]).await;
    assert!(
        page.text()
            .contains("The six-digit code from your authenticator app, or a recovery code")
    );
    let wrong = second_step(&app, &pending, "123 456").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(
        wrong
            .text()
            .contains("That code is not right. 4 more tries")
    );

    // The code the setup used was spent: only a later step's code is taken.
    clock.advance(30);
    let code = code_now(&key, &clock);
    let signed_in = second_step(&app, &pending, &code).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    assert_eq!(signed_in.header("location"), "/admin/posts");
    let cookie = set_cookie(&signed_in, "folio_session").expect("a session at last");
    assert_eq!(
        get_with(&app, "/admin/posts", &[("cookie", &cookie)])
            .await
            .status,
        StatusCode::OK
    );
    // The pending sign-in is over: its cookie does nothing more.
    let again = second_step(&app, &pending, &code).await;
    assert_eq!(again.header("location"), "/admin/login?expired=1");

    // The same code in another sign-in (seen over a shoulder): refused.
    let pending = password_step(&app, "ann@example.test").await;
    let replay = second_step(&app, &pending, &code).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert!(replay.text().contains("That code was used already."));

    // A recovery code works once, typed any which way.
    let typed = recovery[3].to_uppercase().replace('-', " ");
    let recovered = second_step(&app, &pending, &typed).await;
    assert_eq!(
        recovered.status,
        StatusCode::SEE_OTHER,
        "{}",
        recovered.text()
    );
    let pending = password_step(&app, "ann@example.test").await;
    let spent = second_step(&app, &pending, &recovery[3]).await;
    assert_eq!(spent.status, StatusCode::UNAUTHORIZED);

    // A password change ends a sign-in waiting for its second step (begun with the old one).
    let waiting = password_step(&app, "ann@example.test").await;
    session
        .post(
            &app,
            "/admin/account",
            &[("current", PASSWORD), ("password", PASSWORD)],
        )
        .await;
    clock.advance(30);
    let late = second_step(&app, &waiting, &code_now(&key, &clock)).await;
    assert_eq!(late.header("location"), "/admin/login?expired=1");
    let pending = password_step(&app, "ann@example.test").await;

    // Five wrong codes end the pending sign-in: the password is asked again.
    for _ in 0..3 {
        second_step(&app, &pending, "not-a-code").await;
    }
    let last = second_step(&app, &pending, "not-a-code").await;
    assert_eq!(last.header("location"), "/admin/login?expired=1");
    let login = get_with(&app, "/admin/login?expired=1", &[]).await;
    assert!(login.text().contains("That sign-in has ended."));

    // Wrong codes count against the account's sign-in limit as wrong passwords do.
    let limited = post_form(
        &app,
        "/admin/login",
        &[("email", "ann@example.test"), ("password", PASSWORD)],
        &[],
    )
    .await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    sqlx::query("delete from login_attempts")
        .execute(&pool)
        .await
        .unwrap();

    // Turning codes off asks for the password, and then the password alone signs in again.
    let refused = session
        .post(
            &app,
            "/admin/account/totp/remove",
            &[("current", "not the password")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let off = session
        .post(&app, "/admin/account/totp/remove", &[("current", PASSWORD)])
        .await;
    assert_eq!(off.header("location"), "/admin/account?done=totp-off");
    log_in(&app, "ann@example.test").await;
}

#[sqlx::test]
async fn a_password_link_does_not_skip_the_second_step(pool: PgPool) {
    let (state, app, clock) = cached_app_with_clock(&pool).await;
    let id = add_user(&pool, "ann@example.test", "Ann", "author").await;
    let session = log_in(&app, "ann@example.test").await;
    set_up_app(&app, &session, &clock).await;
    let user = folio::db::users::for_password_link(&pool, id)
        .await
        .unwrap()
        .unwrap();
    // The link a reset message carries, as the mail would bring it.
    use folio::domain::clock::Clock;
    let token = folio::auth::links::sign(
        &state.secret,
        "password",
        &[
            &id.to_string(),
            &folio::mail::notify::password_fingerprint(user.password_hash.as_deref()),
            "reset",
        ],
        clock.now().unix_timestamp() + 3600,
    );
    let set = post_form(
        &app,
        &format!("/admin/password/{token}"),
        &[("password", "another long password")],
        &[],
    )
    .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.text());
    assert_eq!(set.header("location"), "/admin/login/verify");
    assert!(set_cookie(&set, "folio_session").is_none());
}

#[sqlx::test]
async fn when_the_blog_requires_a_second_step_an_editor_without_one_sets_it_up_first(pool: PgPool) {
    let (_, app, clock) = cached_app_with_clock(&pool).await;
    add_user(&pool, "admin@example.test", "Ad Min", "admin").await;
    add_user(&pool, "ed@example.test", "Ed", "editor").await;
    add_user(&pool, "au@example.test", "Au", "author").await;
    let admin_before = log_in(&app, "admin@example.test").await;
    sqlx::query("update settings set require_second_step = true")
        .execute(&pool)
        .await
        .unwrap();
    // A session opened before the rule is held to it from its next request.
    let held = admin_before.get(&app, "/admin/settings").await;
    assert_eq!(
        held.header("location"),
        "/admin/account?second_step=required"
    );

    let login = post_form(
        &app,
        "/admin/login",
        &[
            ("email", "ed@example.test"),
            ("password", PASSWORD),
            ("next", "/admin/posts"),
        ],
        &[],
    )
    .await;
    assert_eq!(
        login.header("location"),
        "/admin/account?second_step=required"
    );
    let cookie = set_cookie(&login, "folio_session").unwrap();
    let held = get_with(&app, "/admin/posts", &[("cookie", &cookie)]).await;
    assert_eq!(
        held.header("location"),
        "/admin/account?second_step=required"
    );
    let account = get_with(
        &app,
        "/admin/account?second_step=required",
        &[("cookie", &cookie)],
    )
    .await;
    assert!(
        account
            .text()
            .contains("This blog asks admins and editors to sign in with a second step")
    );
    let csrf = account.field("csrf").unwrap();
    let ed = Session { cookie, csrf };
    let refused = ed
        .post(&app, "/admin/posts", &[("title", "Held back")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    set_up_app(&app, &ed, &clock).await;
    assert_eq!(ed.get(&app, "/admin/posts").await.status, StatusCode::OK);

    // Turning the app off again puts the same session back under the rule.
    ed.post(&app, "/admin/account/totp/remove", &[("current", PASSWORD)])
        .await;
    let held = ed.get(&app, "/admin/posts").await;
    assert_eq!(
        held.header("location"),
        "/admin/account?second_step=required"
    );

    // An author is not held to the rule.
    log_in(&app, "au@example.test").await;
}

#[sqlx::test]
async fn passkeys_are_offered_only_where_a_browser_would_take_them(pool: PgPool) {
    // The tests' blog is http://blog.test: not https, not localhost.
    let (_, app, _) = cached_app_with_clock(&pool).await;
    add_user(&pool, "ann@example.test", "Ann", "author").await;
    let session = log_in(&app, "ann@example.test").await;
    let account = session.get(&app, "/admin/account").await;
    assert!(
        account
            .text()
            .contains("Passkeys need the blog to be served under a domain name")
    );
    let login = get_with(&app, "/admin/login", &[]).await;
    assert!(!login.body.contains("data-passkey"));
    let start = post_form(&app, "/admin/login/passkey/start", &[], &[]).await;
    assert_eq!(start.status, StatusCode::NOT_FOUND);
    // The script shows the reason: JSON, not an error page.
    assert!(start.header("content-type").starts_with("application/json"));
    let reason: serde_json::Value = serde_json::from_str(&start.body).unwrap();
    assert!(reason["error"].as_str().unwrap().contains("domain name"));
}

/// WebDriver's WebAuthn extension: a virtual authenticator in the browser, as a platform
/// passkey provider (it holds discoverable credentials and verifies its user).
#[derive(Debug)]
struct AddVirtualAuthenticator;

impl WebDriverCompatibleCommand for AddVirtualAuthenticator {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/webauthn/authenticator",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        let body = serde_json::json!({
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserConsenting": true,
            "isUserVerified": true,
        });
        (axum::http::Method::POST, Some(body.to_string()))
    }
}

async fn wait_for_path(browser: &Client, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let url = browser.current_url().await.unwrap();
        if url.path() == path {
            return;
        }
        let alerts = match browser.find(Locator::Css("[role=alert]")).await {
            Ok(alert) => alert.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        assert!(
            Instant::now() < deadline,
            "never reached {path}: at {url}; {alerts}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Fills in the login form on the open page and sends it, as a person would.
async fn type_password_and_log_in(browser: &Client, email: &str) {
    for (field, text) in [("login-email", email), ("login-password", PASSWORD)] {
        let input = browser.find(Locator::Id(field)).await.unwrap();
        input.send_keys(text).await.unwrap();
    }
    let log_in = Locator::XPath("//button[normalize-space()='Log in']");
    browser.find(log_in).await.unwrap().click().await.unwrap();
}

#[sqlx::test]
async fn an_editor_adds_a_passkey_and_signs_in_with_it_alone_in_chromium(pool: PgPool) {
    add_user(&pool, "ed@example.test", "Ed Itor", "editor").await;
    let (addr, _) = browser::serve_on_localhost(&pool).await;
    let (_driver, browser) = browser::start_browser().await;
    browser.issue_cmd(AddVirtualAuthenticator).await.unwrap();
    let base = format!("http://localhost:{}", addr.port());

    browser.goto(&format!("{base}/admin/login")).await.unwrap();
    type_password_and_log_in(&browser, "ed@example.test").await;
    wait_for_path(&browser, "/admin").await;

    browser
        .goto(&format!("{base}/admin/account"))
        .await
        .unwrap();
    browser
        .find(Locator::Id("passkey-name"))
        .await
        .unwrap()
        .send_keys("Test laptop")
        .await
        .unwrap();
    // Adding a passkey asks for the password: a wrong one is explained, the name stays.
    let password = browser.find(Locator::Id("passkey-password")).await.unwrap();
    password.send_keys("not my password").await.unwrap();
    let add = Locator::XPath("//button[normalize-space()='Add a passkey']");
    browser.find(add).await.unwrap().click().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let alert = browser
            .find(Locator::Id("passkey-error"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap_or_default();
        if alert.contains("Your password is not right") {
            break;
        }
        assert!(Instant::now() < deadline, "no explanation: {alert:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let kept = browser
        .find(Locator::Id("passkey-name"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("Test laptop"));
    password.clear().await.unwrap();
    password.send_keys(PASSWORD).await.unwrap();
    browser.find(add).await.unwrap().click().await.unwrap();
    let body = browser::wait_for_text(&browser, "Your passkey is added").await;
    assert!(body.contains("Test laptop"), "{body}");

    // Signed out, back in with the passkey alone: no address, no password.
    browser
        .find(Locator::XPath(
            "//button[normalize-space()='Sign out everywhere']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&browser, "/admin/login").await;
    browser
        .find(Locator::XPath(
            "//button[normalize-space()='Sign in with a passkey']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&browser, "/admin").await;
    let heading = browser
        .find(Locator::Css("main h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(heading, "Dashboard");
    let used: Option<time::OffsetDateTime> =
        sqlx::query_scalar("select last_used_at from passkeys where name = 'Test laptop'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(used.is_some(), "the sign-in used the stored passkey");

    // When the blog requires a second step, the passkey is it after the password.
    sqlx::query("update settings set require_second_step = true")
        .execute(&pool)
        .await
        .unwrap();
    browser
        .find(Locator::XPath("//button[normalize-space()='Log out']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&browser, "/admin/login").await;
    type_password_and_log_in(&browser, "ed@example.test").await;
    wait_for_path(&browser, "/admin/login/verify").await;
    browser
        .find(Locator::XPath(
            "//button[normalize-space()='Use your passkey']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&browser, "/admin").await;
    browser.close().await.unwrap();
}

#[sqlx::test]
async fn an_admin_removes_the_second_steps_of_someone_who_lost_their_phone(pool: PgPool) {
    let (_, app, clock) = cached_app_with_clock(&pool).await;
    add_user(&pool, "admin@example.test", "Ad Min", "admin").await;
    let ann_id = add_user(&pool, "ann@example.test", "Ann", "author").await;
    let ann = log_in(&app, "ann@example.test").await;
    set_up_app(&app, &ann, &clock).await;
    let admin = log_in(&app, "admin@example.test").await;
    let users = admin.get(&app, "/admin/users").await;
    assert!(
        users.text().contains("authenticator app"),
        "{}",
        users.text()
    );

    // An editor may not; the admin may.
    let editor = crate::common::user_session(&app, &pool, "editor").await;
    let uri = format!("/admin/users/{ann_id}/second-steps/remove");
    assert_eq!(
        editor.post(&app, &uri, &[]).await.status,
        StatusCode::FORBIDDEN
    );
    // Before: her password alone leads to the second step.
    password_step(&app, "ann@example.test").await;
    let done = admin.post(&app, &uri, &[]).await;
    assert_eq!(done.header("location"), "/admin/users?done=second-steps");
    assert_eq!(
        ann.get(&app, "/admin").await.status,
        StatusCode::SEE_OTHER,
        "signed out everywhere"
    );
    // The password alone signs her in again.
    log_in(&app, "ann@example.test").await;
}

#[sqlx::test]
async fn a_failed_second_step_after_a_right_password_is_told_to_the_owner(pool: PgPool) {
    let sink = crate::common::mail::MailSink::start();
    let app = crate::common::app_with(
        &pool,
        folio::config::Config {
            mail: Some(sink.config()),
            ..folio::config::Config::with_base_url(crate::common::BASE_URL)
        },
    );
    // The app runs on the system clock; an unmoved test clock reads the same time.
    let clock = TestClock::default();
    add_user(&pool, "ann@example.test", "Ann", "author").await;
    let session = log_in(&app, "ann@example.test").await;
    set_up_app(&app, &session, &clock).await;

    let pending = password_step(&app, "ann@example.test").await;
    let wrong = second_step(&app, &pending, "not-a-code").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    second_step(&app, &pending, "still-not-a-code").await;
    let mails = sink.wait_for(1).await;
    let alert = &mails[0];
    assert_eq!(alert.rcpt_tos, ["ann@example.test"]);
    assert!(alert.subject().contains("stopped at the second step"));
    assert!(
        alert.text.contains("someone knows your password"),
        "{}",
        alert.text
    );
    assert!(alert.text.contains("http://blog.test/admin/account"));
    // One message for the whole sign-in, however many wrong codes follow.
    sink.settled(&pool).await;
    assert_eq!(sink.received().len(), 1);
}

/// Security review, findings 2 and 3: the current password, asked before anything that
/// weakens an account, counts against the account's login limit like a login; and removing a
/// passkey asks for it too, so a stolen session cannot lock the owner out.
#[sqlx::test]
async fn the_current_password_is_limited_and_guards_removing_a_passkey(pool: PgPool) {
    use crate::common::{app, user_session};
    let app = app(&pool);
    let ed = user_session(&app, &pool, "editor").await;
    let ed_id: i64 = sqlx::query_scalar("select id from users where role = 'editor'")
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query(
        "insert into passkeys (user_id, credential_id, name, passkey) values ($1, '\\x01', 'My phone', '{}')",
    )
    .bind(ed_id)
    .execute(&pool)
    .await
    .unwrap();
    let passkey: i64 = sqlx::query_scalar("select id from passkeys")
        .fetch_one(&pool)
        .await
        .unwrap();
    let remove = format!("/admin/account/passkeys/{passkey}/remove");
    let passkeys = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from passkeys")
            .fetch_one(&pool)
            .await
            .unwrap()
    };

    let without = ed.post(&app, &remove, &[]).await;
    assert!(
        without
            .text()
            .contains("The passkey stays: the password is not right.")
    );
    assert_eq!(passkeys().await, 1);

    // Guesses: four more wrong ones fill the limit (five failures), then even the right
    // password is refused with a 429 until the window passes; each is recorded.
    for guess in ["guess one", "guess two", "guess three", "guess four"] {
        let page = ed.post(&app, &remove, &[("current", guess)]).await;
        assert!(page.text().contains("The passkey stays"), "{}", page.text());
    }
    let blocked = ed.post(&app, &remove, &[("current", PASSWORD)]).await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(!blocked.header("retry-after").is_empty());
    assert!(blocked.text().contains("Too many attempts"));
    assert_eq!(passkeys().await, 1);
    let recorded: i64 = sqlx::query_scalar(
        "select count(*) from login_attempts where email = 'editor@example.test' and not succeeded",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(recorded, 6);
    // The login form is held back for the account too.
    let login = post_form(
        &app,
        "/admin/login",
        &[("email", "editor@example.test"), ("password", PASSWORD)],
        &[],
    )
    .await;
    assert_eq!(login.status, StatusCode::TOO_MANY_REQUESTS);

    // Once the failures are old, the right password removes it.
    sqlx::query("update login_attempts set at = at - interval '1 hour'")
        .execute(&pool)
        .await
        .unwrap();
    let removed = ed.post(&app, &remove, &[("current", PASSWORD)]).await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert_eq!(passkeys().await, 0);
}
