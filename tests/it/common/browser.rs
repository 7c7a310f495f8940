//! Headless Chromium over chromedriver, and Folio served on a real port, for browser tests.

use std::{
    net::SocketAddr,
    os::unix::process::CommandExt,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use fantoccini::{Client, ClientBuilder};
use folio::{AppState, config::Config};
use sqlx::PgPool;

use super::{TestClock, free_port, secret};

/// chromedriver and the Chromium it starts, in a process group of their own: the whole group
/// is stopped, and the folder with the browser's profile and temporary files removed, when the
/// test ends however it ends (killing chromedriver alone left Chromium running, adopted by
/// PID 1).
pub struct Driver {
    child: Child,
    folder: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = self.child.id() as i32;
        // SAFETY: kill has no memory effects; a negative id names the process group.
        unsafe { libc::kill(-group, libc::SIGKILL) };
        let _ = self.child.wait();
        // Chromium's processes may still be writing as they go.
        for _ in 0..50 {
            if std::fs::remove_dir_all(&self.folder).is_ok() || !self.folder.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

pub async fn start_browser() -> (Driver, Client) {
    start_browser_with(&[]).await
}

/// `start_browser` with more Chromium switches (e.g. a dark colour scheme).
pub async fn start_browser_with(extra: &[&str]) -> (Driver, Client) {
    start_browser_trusting(None, extra).await
}

/// `start_browser_with`, trusting the PEM root `root` besides the system's (a test CA's), as
/// a person who added it to their browser's certificates would.
pub async fn start_browser_trusting(
    root: Option<&std::path::Path>,
    extra: &[&str],
) -> (Driver, Client) {
    let port = free_port();
    let folder = std::env::temp_dir().join(format!("folio-chromium-{port}"));
    let profile = folder.join("profile");
    // Chromium's own temporary files (its singleton socket, scoped folders) go here too, not
    // into the machine's /tmp, where they outlived the test.
    let temp = folder.join("tmp");
    std::fs::create_dir_all(&temp).expect("a folder for the browser");
    // Chromium on Linux reads the roots a user added from the NSS database in their home.
    let home = folder.join("home");
    if let Some(root) = root {
        trust_in_nss(&home, root);
    }
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .env("TMPDIR", &temp)
        .env("HOME", &home)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("chromedriver is installed (apt-get install chromium chromium-driver; scripts/test does it)");
    let driver = Driver { child, folder };
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut args: Vec<String> = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-quic",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
    ]
    .iter()
    .chain(extra)
    .map(|arg| (*arg).to_owned())
    .collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": args,
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("headless Chromium starts");
    (driver, client)
}

/// Adds `root` as a trusted CA to the NSS database under `home` (certutil, libnss3-tools).
fn trust_in_nss(home: &std::path::Path, root: &std::path::Path) {
    let database = home.join(".pki/nssdb");
    std::fs::create_dir_all(&database).unwrap();
    let database = format!("sql:{}", database.display());
    let made = Command::new("certutil")
        .args(["-N", "--empty-password", "-d", &database])
        .status()
        .expect("certutil is installed (apt-get install libnss3-tools; scripts/test does it)");
    assert!(made.success(), "certutil could not make a database");
    let added = Command::new("certutil")
        .args(["-A", "-t", "C,,", "-n", "test root", "-d", &database, "-i"])
        .arg(root)
        .status()
        .unwrap();
    assert!(added.success(), "certutil could not add the root");
}

/// Types into the field with this id, as a person would.
pub async fn type_into(browser: &Client, id: &str, text: &str) {
    browser
        .find(fantoccini::Locator::Id(id))
        .await
        .unwrap_or_else(|_| panic!("no #{id}"))
        .send_keys(text)
        .await
        .unwrap();
}

/// Logs the browser into the admin area, as a person would.
pub async fn log_in(browser: &Client, base: &str, email: &str, password: &str) {
    browser.goto(&format!("{base}/admin/login")).await.unwrap();
    type_into(browser, "login-email", email).await;
    type_into(browser, "login-password", password).await;
    browser
        .find(fantoccini::Locator::Css("main form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .for_element(fantoccini::Locator::Css(".admin-nav"))
        .await
        .expect("logged in");
}

/// Waits (up to 15 s) until the open page's text holds `text`; returns that text.
pub async fn wait_for_text(browser: &Client, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        // A page still loading may swap its body under us: that is "not yet".
        let body = match browser.find(fantoccini::Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if body.contains(text) {
            return body;
        }
        assert!(Instant::now() < deadline, "never saw {text:?}: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Folio on a free port, served by its own connection loop as `folio serve` serves it, with
/// the clock its comment forms are issued and checked by.
pub async fn serve(pool: &PgPool) -> (SocketAddr, Arc<TestClock>) {
    serve_with_mail(pool, None).await
}

/// `serve`, sending mail through `mail` when given.
pub async fn serve_with_mail(
    pool: &PgPool,
    mail: Option<folio::mail::MailConfig>,
) -> (SocketAddr, Arc<TestClock>) {
    serve_as(pool, mail, None).await
}

/// `serve` under the name `localhost` (its base URL), as passkeys need: browsers refuse them
/// for a bare IP address.
pub async fn serve_on_localhost(pool: &PgPool) -> (SocketAddr, Arc<TestClock>) {
    serve_as(pool, None, Some("localhost")).await
}

/// `serve` with the page cache on, once it is listening: what readers of a running blog get.
pub async fn serve_cached(pool: &PgPool) -> (SocketAddr, folio::AppState, Arc<TestClock>) {
    serve_cached_with(pool, |config| config).await
}

/// `serve_cached`, with the configuration `adjust` makes of the default one.
pub async fn serve_cached_with(
    pool: &PgPool,
    adjust: impl FnOnce(Config) -> Config,
) -> (SocketAddr, folio::AppState, Arc<TestClock>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = adjust(Config {
        page_cache_bytes: 4 << 20,
        page_cache_min_uses: 1,
        ..Config::with_base_url(&format!("http://{addr}"))
    });
    let limits = folio::http::serve::Limits {
        client_timeout: config.client_timeout,
        per_address: Some(folio::http::serve::CONNECTIONS_PER_ADDRESS),
    };
    let clock = Arc::new(TestClock::default());
    let mut state = AppState::start(pool.clone(), config, secret());
    state.set_clock(clock.clone());
    let deadline = Instant::now() + Duration::from_secs(5);
    while !state.pages.is_active() {
        assert!(Instant::now() < deadline, "the page cache never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::spawn(folio::http::serve::serve(
        vec![folio::http::serve::Door::plain(listener)],
        folio::app(state.clone()),
        limits,
        std::future::pending(),
    ));
    (addr, state, clock)
}

async fn serve_as(
    pool: &PgPool,
    mail: Option<folio::mail::MailConfig>,
    host: Option<&str>,
) -> (SocketAddr, Arc<TestClock>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base_url = match host {
        Some(host) => format!("http://{host}:{}", addr.port()),
        None => format!("http://{addr}"),
    };
    let config = Config {
        mail,
        ..Config::with_base_url(&base_url)
    };
    let header_timeout = config.client_timeout;
    let clock = Arc::new(TestClock::default());
    let mut state = AppState::start(pool.clone(), config, secret());
    state.set_clock(clock.clone());
    let app = folio::app(state);
    let limits = folio::http::serve::Limits {
        client_timeout: header_timeout,
        per_address: Some(folio::http::serve::CONNECTIONS_PER_ADDRESS),
    };
    tokio::spawn(folio::http::serve::serve(
        vec![folio::http::serve::Door::plain(listener)],
        app,
        limits,
        std::future::pending(),
    ));
    (addr, clock)
}
