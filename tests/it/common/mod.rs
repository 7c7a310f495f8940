//! Helpers shared by the integration tests: an app on a per-test database, requests, and posts.

pub mod browser;
pub mod mail;
pub mod replica;

use axum::{
    body::Body,
    http::{HeaderMap, Request, StatusCode},
};
use folio::{
    App, AppState,
    auth::Secret,
    config::Config,
    db::{self, posts::PostChanges},
    domain::{
        comment::CommentStatus,
        post::{BodyFormat, PostKind, PostStatus},
        slug::{post_path, slugify},
    },
    render::markdown,
};
use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

use folio::{auth::form_token, domain::clock::Clock};
use http_body_util::BodyExt;
use scraper::{ElementRef, Html, Node, Selector};
use sqlx::PgPool;
use time::OffsetDateTime;
use tower::ServiceExt;

pub const BASE_URL: &str = "http://blog.test";

/// The key tests sign forms with, as the server would.
/// A port nothing listens on now, for a server a test starts later. Taken below Linux's
/// ephemeral range (32768 and up): a port the OS hands out for `bind(0)` can be taken again,
/// before the server binds it, as the local port of one of the many connections parallel tests
/// open.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = std::process::id().wrapping_mul(7919);
    for _ in 0..2000 {
        let port = 20_000 + (start.wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed)) % 12_000);
        if std::net::TcpListener::bind(("127.0.0.1", port as u16)).is_ok() {
            return port as u16;
        }
    }
    panic!("no free port between 20000 and 32000")
}

pub fn secret() -> Secret {
    Secret::from_passphrase("folio tests")
}

pub fn app(pool: &PgPool) -> App {
    app_with(pool, Config::with_base_url(BASE_URL))
}

pub fn app_with(pool: &PgPool, config: Config) -> App {
    folio::app(AppState::start(pool.clone(), config, secret()))
}

/// A clock the test moves by hand: the system clock, `advance`d seconds ahead.
#[derive(Debug, Default)]
pub struct TestClock {
    ahead_secs: AtomicI64,
}

impl TestClock {
    pub fn advance(&self, secs: i64) {
        self.ahead_secs.fetch_add(secs, Ordering::Relaxed);
    }
}

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + time::Duration::seconds(self.ahead_secs.load(Ordering::Relaxed))
    }
}

/// One Folio process with its page cache on, once it is listening for change notices.
pub async fn cached_app(pool: &PgPool) -> (AppState, App) {
    let (state, app, _) = cached_app_with_clock(pool).await;
    (state, app)
}

/// `cached_app`, with the clock its comment forms are issued and checked by.
pub async fn cached_app_with_clock(pool: &PgPool) -> (AppState, App, Arc<TestClock>) {
    cached_app_keeping_after(pool, 1).await
}

/// `cached_app` keeping a page from its `min_uses`-th request. The other tests keep it from
/// the first, so they see the cache at once; the default (the second) has a test of its own.
pub async fn cached_app_keeping_after(
    pool: &PgPool,
    min_uses: u32,
) -> (AppState, App, Arc<TestClock>) {
    let config = Config {
        page_cache_min_uses: min_uses,
        ..Config::with_base_url(BASE_URL)
    };
    cached_app_with_config(pool, config).await
}

/// An app with a page cache (4 MB) on `config`, once the cache listens for changes.
pub async fn cached_app_with_config(
    pool: &PgPool,
    config: Config,
) -> (AppState, App, Arc<TestClock>) {
    let config = Config {
        page_cache_bytes: 4 << 20,
        ..config
    };
    let clock = Arc::new(TestClock::default());
    let mut state = AppState::start(pool.clone(), config, secret());
    state.set_clock(clock.clone());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !state.pages.is_active() {
        assert!(
            std::time::Instant::now() < deadline,
            "the page cache never started listening"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    (state.clone(), folio::app(state), clock)
}

/// GETs `uri` until `seen` holds for its page (another process hears of a change within
/// milliseconds), failing after two seconds.
pub async fn eventually(app: &App, uri: &str, seen: impl Fn(&Page) -> bool) -> Page {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let page = get(app, uri).await;
        if seen(&page) {
            return page;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{uri} never showed the change: {}",
            page.text()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
    /// The body as sent (`body` is its text, lossily).
    pub bytes: Vec<u8>,
}

impl Page {
    /// The page's visible text: what a reader would read, white space folded.
    pub fn text(&self) -> String {
        visible_text(&self.body)
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The page parsed as a browser parses it.
    pub fn document(&self) -> Html {
        Html::parse_document(&self.body)
    }

    /// The value of the form field `name` as the page shows it (input value or textarea text).
    pub fn field(&self, name: &str) -> Option<String> {
        let document = self.document();
        let input = selector(&format!("input[name=\"{name}\"]"));
        let textarea = selector(&format!("textarea[name=\"{name}\"]"));
        if let Some(input) = document.select(&input).next() {
            return Some(input.value().attr("value").unwrap_or("").to_owned());
        }
        document
            .select(&textarea)
            .next()
            .map(|t| t.text().collect::<String>())
    }

    /// Every `href` on the page that contains `needle`, in order.
    pub fn links_containing(&self, needle: &str) -> Vec<String> {
        self.document()
            .select(&selector("[href]"))
            .filter_map(|e| e.value().attr("href"))
            .filter(|href| href.contains(needle))
            .map(str::to_owned)
            .collect()
    }

    /// The visible text of each element matching the CSS selector `css`, in order.
    pub fn texts(&self, css: &str) -> Vec<String> {
        self.document()
            .select(&selector(css))
            .map(|e| element_text(e))
            .collect()
    }

    /// The titles of posts shown on a listing page, in order.
    pub fn post_titles(&self) -> Vec<String> {
        self.texts(".post-title.p-name")
    }
}

pub fn selector(css: &str) -> Selector {
    Selector::parse(css).unwrap_or_else(|e| panic!("bad selector {css}: {e}"))
}

/// The text a reader sees in a page or a fragment of one, white space folded.
pub fn visible_text(html: &str) -> String {
    let document = if html.trim_start().starts_with("<!DOCTYPE") {
        Html::parse_document(html)
    } else {
        Html::parse_fragment(html)
    };
    element_text(document.root_element())
}

/// An element's text as a reader sees it: block elements (and links, which read as separate
/// words) are set apart by spaces; scripts and styles are not text.
pub fn element_text(element: ElementRef<'_>) -> String {
    const APART: [&str; 31] = [
        "td",
        "th",
        "tr",
        "dt",
        "dd",
        "pre",
        "label",
        "p",
        "div",
        "h1",
        "h2",
        "h3",
        "h4",
        "li",
        "ul",
        "ol",
        "br",
        "section",
        "article",
        "header",
        "footer",
        "nav",
        "main",
        "aside",
        "details",
        "summary",
        "figure",
        "figcaption",
        "blockquote",
        "title",
        "a",
    ];
    fn walk(node: ego_tree::NodeRef<'_, Node>, out: &mut String) {
        match node.value() {
            Node::Text(text) => out.push_str(text),
            Node::Element(element) => {
                let name = element.name();
                if matches!(name, "script" | "style" | "template") {
                    return;
                }
                let apart = APART.contains(&name);
                if apart {
                    out.push(' ');
                }
                for child in node.children() {
                    walk(child, out);
                }
                if apart && name != "a" {
                    out.push(' ');
                }
            }
            _ => {
                for child in node.children() {
                    walk(child, out);
                }
            }
        }
    }
    let mut out = String::new();
    walk(*element, &mut out);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Form-encodes fields as a browser does.
pub fn form_body(fields: &[(&str, &str)]) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    fields
        .iter()
        .map(|(name, value)| {
            format!(
                "{}={}",
                utf8_percent_encode(name, NON_ALPHANUMERIC),
                utf8_percent_encode(value, NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// POSTs a form, with extra headers (cookies, X-Forwarded-For).
/// Sends a comment as a reader would (a form opened ten seconds ago); the response.
pub async fn send_comment(app: &App, post: &(i64, String), name: &str, text: &str) -> Page {
    let token = form_token::issue(
        &secret(),
        post.0,
        OffsetDateTime::now_utc().unix_timestamp() - 10,
    );
    post_form(
        app,
        &post.1,
        &[
            ("token", &token),
            ("parent", ""),
            ("name", name),
            ("email", ""),
            ("website", ""),
            ("comment", text),
            ("address", ""),
        ],
        &[],
    )
    .await
}

pub async fn post_form(
    app: &App,
    uri: &str,
    fields: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Page {
    let body = form_body(fields);
    // As browsers send a form: with its length.
    let mut request = Request::post(uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("content-length", body.len());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    send(app, request.body(Body::from(body)).unwrap()).await
}

pub async fn get_with(app: &App, uri: &str, headers: &[(&str, &str)]) -> Page {
    let mut request = Request::get(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    send(app, request.body(Body::empty()).unwrap()).await
}

pub async fn get(app: &App, uri: &str) -> Page {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

pub async fn send(app: &App, request: Request<Body>) -> Page {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Page {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        bytes: bytes.to_vec(),
    }
}

/// A post as the tests write it.
pub struct Post {
    pub title: String,
    pub body: String,
    pub status: PostStatus,
    pub kind: PostKind,
    pub published_at: Option<OffsetDateTime>,
    pub labels: Vec<String>,
}

impl Post {
    pub fn published(title: &str, at: OffsetDateTime) -> Self {
        Self {
            title: title.to_owned(),
            body: format!("The body of {title}."),
            status: PostStatus::Published,
            kind: PostKind::Post,
            published_at: Some(at),
            labels: Vec::new(),
        }
    }

    pub fn labels(mut self, labels: &[&str]) -> Self {
        self.labels = labels.iter().map(|l| (*l).to_owned()).collect();
        self
    }

    pub fn body(mut self, body: &str) -> Self {
        self.body = body.to_owned();
        self
    }

    /// Kept back: a draft (a published post with a time to come is scheduled).
    pub fn draft(mut self) -> Self {
        self.status = PostStatus::Draft;
        self
    }

    pub fn page(mut self) -> Self {
        self.kind = PostKind::Page;
        self
    }
}

pub async fn author(pool: &PgPool) -> i64 {
    db::users::upsert_without_login(pool, "casey@example.test", "Casey Writer", "author")
        .await
        .unwrap()
}

/// Writes a post (paths in UTC, like a blog in the default zone); returns (id, path).
pub async fn add_post(pool: &PgPool, post: Post) -> (i64, String) {
    let author = author(pool).await;
    let slug = slugify(&post.title);
    let at = post.published_at.unwrap_or_else(OffsetDateTime::now_utc);
    let path = match post.kind {
        PostKind::Page => format!("/p/{slug}.html"),
        PostKind::Post => post_path(at.year() as i16, at.month() as i8, &slug),
    };
    let id = db::posts::create(
        pool,
        &PostChanges {
            kind: post.kind,
            path: path.clone(),
            slug,
            title: post.title.clone(),
            body_html: markdown::to_html(&post.body),
            excerpt: markdown::excerpt(&post.body, 200),
            body_source: post.body,
            body_format: BodyFormat::Markdown,
            status: post.status,
            published_at: post.published_at,
            comment_policy: None,
            featured_image: String::new(),
            labels: post.labels,
        },
        author,
    )
    .await
    .unwrap()
    .expect("a free path");
    (id, path)
}

pub async fn add_comment(
    pool: &PgPool,
    post_id: i64,
    name: &str,
    body: &str,
    status: &str,
    at: OffsetDateTime,
) -> i64 {
    add_reply(pool, post_id, None, name, body, status, at).await
}

pub async fn add_reply(
    pool: &PgPool,
    post_id: i64,
    parent_id: Option<i64>,
    name: &str,
    body: &str,
    status: &str,
    at: OffsetDateTime,
) -> i64 {
    db::comments::insert(
        pool,
        &db::comments::NewComment {
            post_id,
            parent_id,
            author_name: name.to_owned(),
            author_email: None,
            author_url: None,
            body_source: body.to_owned(),
            body_html: folio::render::comment::to_html(body),
            status: CommentStatus::parse(status).expect("a comment status"),
            created_at: at,
            status_reason: None,
            client_hash: None,
            spam_score: None,
            spam_clues: Vec::new(),
        },
    )
    .await
    .unwrap()
}

/// Where the test's PostgreSQL listens: TCP, or the Unix socket of Folio's own cluster when
/// `scripts/test` runs one.
#[derive(Clone)]
enum Upstream {
    Tcp(String, u16),
    Unix(std::path::PathBuf),
}

/// A TCP proxy in front of PostgreSQL that the test can cut and restore, on the same port.
pub struct Proxy {
    pub port: u16,
    upstream: Upstream,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Proxy {
    /// A proxy in front of the test's database server.
    pub async fn in_front_of(connect: &sqlx::postgres::PgConnectOptions) -> Self {
        let upstream = match connect.get_socket() {
            Some(dir) => Upstream::Unix(dir.join(format!(".s.PGSQL.{}", connect.get_port()))),
            None => Upstream::Tcp(connect.get_host().to_owned(), connect.get_port()),
        };
        Self::start(0, upstream).await
    }

    async fn start(port: u16, upstream: Upstream) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let target = upstream.clone();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    break;
                };
                let upstream = target.clone();
                connections.spawn(async move {
                    match upstream {
                        Upstream::Tcp(host, port) => {
                            if let Ok(mut server) =
                                tokio::net::TcpStream::connect((host, port)).await
                            {
                                let _ =
                                    tokio::io::copy_bidirectional(&mut client, &mut server).await;
                            }
                        }
                        Upstream::Unix(path) => {
                            if let Ok(mut server) = tokio::net::UnixStream::connect(path).await {
                                let _ =
                                    tokio::io::copy_bidirectional(&mut client, &mut server).await;
                            }
                        }
                    }
                });
            }
        });
        Self {
            port,
            upstream,
            task: Some(task),
        }
    }

    /// Folio's pool through this proxy, giving up on a connection after half a second.
    pub async fn pool(&self, connect: &sqlx::postgres::PgConnectOptions) -> PgPool {
        let through = if connect.get_socket().is_some() {
            // Options cannot forget a socket: the same role and database, over TCP.
            sqlx::postgres::PgConnectOptions::new_without_pgpass()
                .host("127.0.0.1")
                .username(connect.get_username())
                .database(connect.get_database().unwrap_or("postgres"))
        } else {
            connect.clone()
        };
        db::pool_options()
            .acquire_timeout(std::time::Duration::from_millis(500))
            .connect_with(through.port(self.port))
            .await
            .unwrap()
    }

    /// Drops the listener and every open connection (the JoinSet aborts them).
    pub async fn cut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Listens again on the same port: the database is back.
    pub async fn restore(&mut self) {
        *self = Self::start(self.port, self.upstream.clone()).await;
    }
}

/// Sets the blog's comment policy and blocked words, as an admin would on the settings page.
pub async fn set_comment_settings(
    pool: &PgPool,
    policy: &str,
    moderate_after_days: i32,
    blocked: &str,
) {
    sqlx::query(
        "update settings set comment_policy = $1, moderate_after_days = $2, blocked_terms = $3 where id = 1",
    )
    .bind(policy)
    .bind(moderate_after_days)
    .bind(blocked)
    .execute(pool)
    .await
    .unwrap();
}

/// Gives one post its own comment policy (none: the blog's default).
pub async fn set_comment_policy(pool: &PgPool, post_id: i64, policy: Option<&str>) {
    sqlx::query("update posts set comment_policy = $2 where id = $1")
        .bind(post_id)
        .bind(policy)
        .execute(pool)
        .await
        .unwrap();
}

/// An old address that leads to the post, as an import or a renamed slug leaves behind.
pub async fn add_redirect(pool: &PgPool, old_path: &str, post_id: i64) {
    sqlx::query("insert into redirects (old_path, post_id) values ($1, $2)")
        .bind(old_path)
        .bind(post_id)
        .execute(pool)
        .await
        .unwrap();
}

/// Ends every session of a user by time, as if they had all gone idle.
pub async fn expire_sessions_of(pool: &PgPool, user_id: i64) {
    sqlx::query("update sessions set expires_at = now() where user_id = $1")
        .bind(user_id)
        .execute(pool)
        .await
        .unwrap();
}

pub const PASSWORD: &str = "a long enough password";

/// A logged-in browser: its session cookie and the CSRF token its pages carry.
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

impl Session {
    pub async fn get(&self, app: &App, uri: &str) -> Page {
        get_with(app, uri, &[("cookie", &self.cookie)]).await
    }

    pub async fn post(&self, app: &App, uri: &str, fields: &[(&str, &str)]) -> Page {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        post_form(
            app,
            uri,
            &all,
            &[
                ("cookie", &self.cookie),
                ("origin", crate::common::BASE_URL),
            ],
        )
        .await
    }
}

pub async fn add_user(pool: &PgPool, email: &str, name: &str, role: &str) -> i64 {
    let hash = folio::auth::password::hash(PASSWORD.into()).await.unwrap();
    db::users::create(pool, email, name, role, &hash)
        .await
        .unwrap()
}

pub async fn log_in(app: &App, email: &str) -> Session {
    log_in_with(app, email, PASSWORD).await
}

pub async fn log_in_with(app: &App, email: &str, password: &str) -> Session {
    let page = post_form(
        app,
        "/admin/login",
        &[("email", email), ("password", password), ("next", "/admin")],
        &[],
    )
    .await;
    assert_eq!(
        page.status,
        StatusCode::SEE_OTHER,
        "login of {email}: {}",
        page.text()
    );
    let cookie = page
        .header("set-cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let dashboard = get_with(app, "/admin", &[("cookie", &cookie)]).await;
    let csrf = dashboard
        .field("csrf")
        .expect("admin pages carry the CSRF token");
    Session { cookie, csrf }
}

pub async fn user_session(app: &App, pool: &PgPool, role: &str) -> Session {
    let email = format!("{role}@example.test");
    add_user(pool, &email, &format!("The {role}"), role).await;
    log_in(app, &email).await
}

/// The URL of a test's own database, for the compiled binary: the suite's `DATABASE_URL` (a
/// TCP server, or the socket of Folio's own cluster) with the database swapped.
pub fn database_url(connect: &sqlx::postgres::PgConnectOptions) -> String {
    let master = std::env::var("DATABASE_URL").expect("DATABASE_URL is set for tests");
    let mut url = url::Url::parse(&master).expect("DATABASE_URL is a URL");
    url.set_path(
        connect
            .get_database()
            .expect("the test database has a name"),
    );
    url.into()
}

/// Runs `command` with `input` on its standard input, and collects what it printed.
pub fn output_with_input(mut command: std::process::Command, input: &str) -> std::process::Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Runs one of `tests/peers/`'s Python scripts in the environment `scripts/ensure-peers`
/// makes (other people's libraries), with `stdin` as its input.
pub fn python_peer(script: &str, args: &[&str], stdin: &str) -> std::process::Output {
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/target/peers/venv/bin/python");
    assert!(
        std::path::Path::new(python).exists(),
        "run scripts/ensure-peers first (scripts/test does)"
    );
    let mut command = std::process::Command::new(python);
    command
        .arg(format!(
            "{}/tests/peers/{script}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .args(args);
    output_with_input(command, stdin)
}

/// The names an answer's `Vary` lists (over every line of it), lowercased and sorted.
pub fn vary(headers: &axum::http::HeaderMap) -> Vec<String> {
    let mut names: Vec<String> = headers
        .get_all("vary")
        .iter()
        .flat_map(|v| v.to_str().unwrap_or_default().split(','))
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .collect();
    names.sort();
    names
}
