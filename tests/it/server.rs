//! The compiled `folio` binary over real TCP: serving, stopping under load, slow and hostile clients, logs.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

use crate::common::{Post, add_post, database_url, output_with_input};
use sqlx::{PgPool, postgres::PgConnectOptions};
use time::macros::datetime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub(crate) async fn http_get(port: u16, path: &str) -> String {
    raw(
        port,
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .await
}

/// Sends `request` as is and reads until the server closes (at most 10 s).
async fn raw(port: u16, request: &[u8]) -> String {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    // The server may answer and close before taking every byte of an oversized request.
    let _ = stream.write_all(request).await;
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await;
    String::from_utf8_lossy(&response).into_owned()
}

/// The compiled server, started on a free port.
pub(crate) struct Server {
    child: std::process::Child,
    pub(crate) port: u16,
    log: Option<std::thread::JoinHandle<Vec<String>>>,
}

impl Server {
    /// On the test's database, with `env` added to its environment.
    fn start(connect: &PgConnectOptions, env: &[(&str, &str)]) -> Self {
        let mut command = Self::command();
        command.env("DATABASE_URL", database_url(connect));
        for (name, value) in env {
            command.env(name, value);
        }
        Self::launch(command)
    }

    /// `folio serve` on a free port, for the caller to give a database.
    pub(crate) fn command() -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_folio"));
        command
            .args(["serve", "--addr", "127.0.0.1:0"])
            .env("FOLIO_LOG", "info")
            .env("FOLIO_SECRET", "folio tests");
        command
    }

    /// Runs `command` and waits until it listens.
    pub(crate) fn launch(mut command: Command) -> Self {
        command.stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut seen = Vec::new();
        let port = loop {
            let mut line = String::new();
            assert!(
                stderr.read_line(&mut line).unwrap() > 0,
                "folio exited before listening"
            );
            seen.push(line.trim_end().to_owned());
            if let Some(at) = line.find("listening on http://") {
                let addr: String = line[at + "listening on http://".len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                    .collect();
                break addr.rsplit(':').next().unwrap().parse::<u16>().unwrap();
            }
        };
        // Keep draining the log so the server never blocks on a full pipe.
        let log = std::thread::spawn(move || {
            seen.extend(stderr.lines().map_while(Result::ok));
            seen
        });
        Self {
            child,
            port,
            log: Some(log),
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit (at most `within`), and returns its status and log.
    pub(crate) async fn exit(mut self, within: Duration) -> (std::process::ExitStatus, String) {
        let deadline = std::time::Instant::now() + within;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "folio did not stop in time"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let log = self.log.take().unwrap().join().unwrap().join("\n");
        (status, log)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

#[sqlx::test]
async fn the_binary_serves_a_post_over_tcp_and_stops_on_sigterm(pool: PgPool) {
    let (_, path) = add_post(
        &pool,
        Post::published("Over the wire", datetime!(2023-06-01 09:00 UTC))
            .body("Bytes on a socket."),
    )
    .await;
    let server = Server::start(&pool.connect_options(), &[]);

    let response = http_get(server.port, &path).await;
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(response.contains("<h1 class=\"post-title p-name\">Over the wire</h1>"));
    assert!(response.contains("Bytes on a socket."));
    let missing = http_get(server.port, "/nothing-here").await;
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");

    // SIGTERM: a graceful stop with exit code 0.
    server.terminate();
    let (status, log) = server.exit(Duration::from_secs(5)).await;
    assert!(status.success(), "{status:?}");
    assert!(log.contains("Folio stopped"), "{log}");
}

/// A comment POST as a browser sends it, with a token the server (FOLIO_SECRET) accepts.
fn comment_request(port: u16, path: &str, post_id: i64, text: &str) -> (String, String) {
    let token = folio::auth::form_token::issue(
        &crate::common::secret(),
        post_id,
        time::OffsetDateTime::now_utc().unix_timestamp() - 10,
    );
    let body = crate::common::form_body(&[("token", &token), ("name", "Load"), ("comment", text)]);
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    (head, body)
}

/// The comment id a 303 acknowledged, if the response is one.
fn acknowledged(response: &str) -> Option<i64> {
    if !response.starts_with("HTTP/1.1 303") {
        return None;
    }
    let location = response
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("location:"))?;
    location.trim().rsplit("#c").next()?.parse().ok()
}

#[sqlx::test]
async fn sigterm_under_load_finishes_requests_in_flight_and_loses_no_comment(pool: PgPool) {
    let (post_id, path) = add_post(
        &pool,
        Post::published("Busy post", datetime!(2023-06-01 09:00 UTC)),
    )
    .await;
    let server = Server::start(
        &pool.connect_options(),
        &[("FOLIO_COMMENT_RATE_LIMIT", "0")],
    );
    let port = server.port;

    // Eight commenters posting as fast as they can.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut load = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let (path, stop) = (path.clone(), stop.clone());
        load.spawn(async move {
            let mut acked = Vec::new();
            for n in 0.. {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                let (head, body) =
                    comment_request(port, &path, post_id, &format!("Note {worker}-{n}"));
                let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await
                else {
                    break; // the listener is closed: the server is stopping
                };
                if stream
                    .write_all(format!("{head}{body}").as_bytes())
                    .await
                    .is_err()
                {
                    break;
                }
                let mut response = Vec::new();
                let _ = stream.read_to_end(&mut response).await;
                let response = String::from_utf8_lossy(&response);
                match acknowledged(&response) {
                    Some(id) => acked.push(id),
                    None if response.is_empty() => break,
                    None => panic!("a comment got neither a 303 nor silence: {response}"),
                }
            }
            acked
        });
    }
    // One request still sending its body when SIGTERM arrives.
    let (head, body) = comment_request(port, &path, post_id, "Sent slowly across the stop");
    let mut slow = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(&body.as_bytes()[..10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;

    server.terminate();
    tokio::time::sleep(Duration::from_millis(300)).await;
    slow.write_all(&body.as_bytes()[10..]).await.unwrap();
    let mut response = Vec::new();
    slow.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let slow_id = acknowledged(&response).expect("the request in flight was answered");

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut acked = vec![slow_id];
    while let Some(worker) = load.join_next().await {
        acked.extend(worker.unwrap());
    }
    let (status, log) = server.exit(Duration::from_secs(10)).await;
    assert!(status.success(), "{status:?}: {log}");
    assert!(acked.len() > 20, "the load ran: {} comments", acked.len());

    // Every acknowledged comment is in the database.
    let stored: Vec<i64> = sqlx::query_scalar("select id from comments where id = any($1)")
        .bind(&acked)
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), acked.len(), "acknowledged comments were lost");
}

#[sqlx::test]
async fn slow_clients_are_cut_off_by_the_header_and_body_deadlines(pool: PgPool) {
    let (post_id, path) = add_post(
        &pool,
        Post::published("Patience", datetime!(2023-06-01 09:00 UTC)),
    )
    .await;
    let server = Server::start(&pool.connect_options(), &[("FOLIO_CLIENT_TIMEOUT", "1")]);
    let port = server.port;

    // Headers trickled in, never finished: the connection is closed after the deadline.
    let started = std::time::Instant::now();
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: a")
        .await
        .unwrap();
    let mut response = Vec::new();
    let read =
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut response)).await;
    assert!(read.is_ok(), "the server kept a trickling client");
    assert!(started.elapsed() < Duration::from_secs(4));
    let response = String::from_utf8_lossy(&response);
    assert!(
        response.is_empty() || response.starts_with("HTTP/1.1 408"),
        "{response}"
    );

    // An idle keep-alive connection is closed too.
    let mut idle = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    idle.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut all = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), idle.read_to_end(&mut all)).await;
    assert!(read.is_ok(), "an idle connection stayed open");
    assert!(String::from_utf8_lossy(&all).starts_with("HTTP/1.1 200"));

    // A body that stops half-way gets a 4xx, not a held connection.
    let (head, body) = comment_request(port, &path, post_id, "Never finished");
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body.as_bytes()[..5]).await.unwrap();
    let mut response = Vec::new();
    let read =
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut response)).await;
    assert!(read.is_ok(), "the server waited for the body forever");
    let response = String::from_utf8_lossy(&response);
    let status: u16 = response
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {response}"));
    assert!((400..500).contains(&status), "{response}");

    // The server is still fine.
    assert!(http_get(port, &path).await.starts_with("HTTP/1.1 200"));
}

#[sqlx::test]
async fn json_logs_have_one_line_per_request_and_keep_no_secrets(pool: PgPool) {
    let server = Server::start(
        &pool.connect_options(),
        &[
            ("FOLIO_LOG_FORMAT", "json"),
            ("FOLIO_LOG", "info,sqlx=warn"),
        ],
    );
    let port = server.port;
    assert!(
        http_get(port, "/search?q=private+words")
            .await
            .starts_with("HTTP/1.1 200")
    );
    let body = "email=secret.person%40example.org&password=hunter2-hunter2&next=%2Fadmin";
    let login = raw(
        port,
        format!(
            "POST /admin/login HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .await;
    assert!(login.starts_with("HTTP/1.1 401"), "{login}");
    server.terminate();
    let (status, log) = server.exit(Duration::from_secs(5)).await;
    assert!(status.success());

    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let requests: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["target"] == "folio::request")
        .collect();
    assert_eq!(requests.len(), 2, "{log}");
    let search = requests[0];
    assert_eq!(search["method"], "GET");
    assert_eq!(search["route"], "/search");
    assert_eq!(search["status"], 200);
    assert!(search["latency_ms"].as_f64().is_some());
    assert!(search["request_id"].as_str().is_some_and(|id| id.len() > 8));
    assert_eq!(requests[1]["route"], "/admin/login");
    assert_eq!(requests[1]["status"], 401);
    for secret in ["private", "secret.person", "example.org", "hunter2"] {
        assert!(!log.contains(secret), "{secret} reached the log: {log}");
    }
}

/// Security review, finding 4: reset, invitation and mail-link tokens are in paths; the request
/// span (which every event inside a request carries, warnings included) names the route's
/// pattern, never the path.
#[sqlx::test]
async fn tokens_in_paths_never_reach_the_log(pool: PgPool) {
    let server = Server::start(
        &pool.connect_options(),
        &[
            ("FOLIO_LOG_FORMAT", "json"),
            // tower_http's debug events are inside the request span: they print its fields.
            ("FOLIO_LOG", "info,sqlx=warn,tower_http=debug"),
        ],
    );
    let port = server.port;
    for path in [
        "/admin/password/SECRETRESETTOKEN42",
        "/mail/confirm/SECRETMAILTOKEN42",
    ] {
        let answer = http_get(port, path).await;
        assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
    }
    server.terminate();
    let (status, log) = server.exit(Duration::from_secs(5)).await;
    assert!(status.success());
    assert!(
        !log.contains("SECRETRESETTOKEN42"),
        "a token reached the log: {log}"
    );
    assert!(
        !log.contains("SECRETMAILTOKEN42"),
        "a token reached the log: {log}"
    );
    let spans: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|line| line.get("span").cloned())
        .collect();
    assert!(
        spans
            .iter()
            .any(|span| span["route"] == "/admin/password/{token}"),
        "the span names the route: {log}"
    );
}

#[sqlx::test]
async fn hostile_raw_requests_get_a_4xx_and_the_server_stays_up(pool: PgPool) {
    let server = Server::start(&pool.connect_options(), &[]);
    let port = server.port;
    let huge_header = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(1024 * 1024)
    );
    let many_headers = format!(
        "GET / HTTP/1.1\r\nHost: x\r\n{}\r\n",
        (0..500)
            .map(|n| format!("X-H{n}: v\r\n"))
            .collect::<String>()
    );
    let long_uri = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(100_000));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("a 1 MB header", huge_header.into_bytes()),
        ("500 headers", many_headers.into_bytes()),
        ("a 100 KB URI", long_uri.into_bytes()),
        ("garbage", b"\x00\x01\x02 nonsense\r\n\r\n".to_vec()),
        ("invalid UTF-8 in the path", b"GET /\xff\xfe.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec()),
        ("a bad chunked body", b"POST /2023/06/x.html HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n".to_vec()),
    ];
    for (name, request) in cases {
        let response = raw(port, &request).await;
        let status: Option<u16> = response.get(9..12).and_then(|s| s.parse().ok());
        assert!(
            status.is_some_and(|s| (400..500).contains(&s)),
            "{name}: {}",
            response.lines().next().unwrap_or("")
        );
    }
    assert!(http_get(port, "/").await.starts_with("HTTP/1.1 200"));
}

#[test]
fn an_unreachable_database_is_one_clear_line_and_exit_1() {
    // Port 9 (discard) has no PostgreSQL on it.
    let output = Command::new(env!("CARGO_BIN_EXE_folio"))
        .args(["migrate"])
        .env("DATABASE_URL", "postgres://folio@127.0.0.1:9/folio")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        stderr.trim(),
        "folio: cannot reach PostgreSQL at 127.0.0.1:9: connection refused; start it with `docker compose up -d db` or set DATABASE_URL"
    );
}

#[sqlx::test]
async fn folio_user_add_and_passwd_take_the_password_on_standard_input(pool: PgPool) {
    let url = database_url(&pool.connect_options());
    let run = |args: &[&str], input: &str| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_folio"));
        command.args(args).env("DATABASE_URL", &url);
        output_with_input(command, input)
    };
    let added = run(
        &[
            "user",
            "add",
            "--email",
            "ops@example.test",
            "--name",
            "Ops Person",
            "--role",
            "admin",
            "--password-stdin",
        ],
        "a long enough password\n",
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    assert!(
        String::from_utf8_lossy(&added.stdout)
            .contains("added Ops Person (ops@example.test) as admin")
    );
    let again = run(
        &[
            "user",
            "add",
            "--email",
            "OPS@example.test",
            "--name",
            "Twin",
            "--password-stdin",
        ],
        "a long enough password\n",
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let short = run(
        &[
            "user",
            "passwd",
            "--email",
            "ops@example.test",
            "--password-stdin",
        ],
        "short\n",
    );
    assert_eq!(short.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 10 characters"));
    let changed = run(
        &[
            "user",
            "passwd",
            "--email",
            "ops@example.test",
            "--password-stdin",
        ],
        "the new long password\n",
    );
    assert!(changed.status.success());
    let (hash, role): (String, String) =
        sqlx::query_as("select password_hash, role from users where email = 'ops@example.test'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(role, "admin");
    assert!(
        folio::auth::password::verify("the new long password".into(), Some(hash))
            .await
            .unwrap()
    );
}

/// Issue 16, fix 9: a client that never reads its response loses the connection after the
/// client timeout, and one address cannot hold more than its share of connections.
#[sqlx::test]
async fn clients_that_never_read_or_open_too_many_connections_are_cut_off(pool: PgPool) {
    // An image of 16 MB: more than the kernel buffers hold between the two sockets.
    let hash = "ab".repeat(32);
    sqlx::query(
        "insert into media (hash, content_type, size_bytes, bytes)
         values ($1, 'image/png', 16777216, decode(repeat('00', 16777216), 'hex'))",
    )
    .bind(&hash)
    .execute(&pool)
    .await
    .unwrap();
    let server = Server::start(&pool.connect_options(), &[("FOLIO_CLIENT_TIMEOUT", "1")]);
    let port = server.port;

    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket
        .connect(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .unwrap();
    stream
        .write_all(format!("GET /media/{hash}.png HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    // Not reading: the server's writes stall, and after the timeout it gives up.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut received = Vec::new();
    let read =
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut received)).await;
    assert!(read.is_ok(), "the connection was still open");
    assert!(
        received.len() < 16 << 20,
        "the whole image arrived: {} bytes",
        received.len()
    );

    // 64 connections from one address are served; the 65th is closed at once.
    let mut open = Vec::new();
    for _ in 0..64 {
        open.push(
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap(),
        );
    }
    let mut extra = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let _ = extra
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let mut answer = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), extra.read_to_end(&mut answer)).await;
    assert!(
        closed.is_ok() && answer.is_empty(),
        "the 65th connection was served"
    );
    drop(open);
    // Their places come back as they close.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let response = http_get(port, "/healthz").await;
        if response.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{response}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.terminate();
}
