//! The compiled `folio` binary over real TCP: start, serve a post, stop cleanly on SIGTERM.

mod common;

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

use common::{Post, add_post};
use sqlx::{PgPool, postgres::PgConnectOptions};
use time::macros::datetime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn database_url(connect: &PgConnectOptions) -> String {
    let master = std::env::var("DATABASE_URL").expect("DATABASE_URL is set for tests");
    let base = master
        .rsplit_once('/')
        .map_or(master.as_str(), |(base, _)| base);
    format!(
        "{base}/{}",
        connect
            .get_database()
            .expect("the test database has a name")
    )
}

async fn http_get(port: u16, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

#[sqlx::test]
async fn the_binary_serves_a_post_over_tcp_and_stops_on_sigterm(pool: PgPool) {
    let connect = pool.connect_options();
    let (_, path) = add_post(
        &pool,
        Post::published("Over the wire", datetime!(2023-06-01 09:00 UTC))
            .body("Bytes on a socket."),
    )
    .await;

    let mut child = Command::new(env!("CARGO_BIN_EXE_folio"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("DATABASE_URL", database_url(&connect))
        .env("FOLIO_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let port = loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "folio exited before listening"
        );
        if let Some(addr) = line.split("listening on http://").nth(1) {
            break addr
                .trim()
                .rsplit(':')
                .next()
                .unwrap()
                .parse::<u16>()
                .unwrap();
        }
    };
    // Keep draining the log so the server never blocks on a full pipe.
    let log = std::thread::spawn(move || stderr.lines().map_while(Result::ok).collect::<Vec<_>>());

    let response = http_get(port, &path).await;
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(response.contains("<h1 class=\"post-title p-name\">Over the wire</h1>"));
    assert!(response.contains("Bytes on a socket."));
    let missing = http_get(port, "/nothing-here").await;
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");

    // SIGTERM: a graceful stop with exit code 0.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut exited = None;
    for _ in 0..100 {
        if let Some(status) = child.try_wait().unwrap() {
            exited = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let exited = exited.expect("folio stops within 5 s of SIGTERM");
    assert!(exited.success(), "{exited:?}");
    let log = log.join().unwrap().join("\n");
    assert!(log.contains("Folio stopped"), "{log}");
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

    let output = Command::new(env!("CARGO_BIN_EXE_folio"))
        .args(["migrate"])
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with("folio: DATABASE_URL is not set"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1);
}

#[sqlx::test]
async fn folio_user_add_and_passwd_take_the_password_on_standard_input(pool: PgPool) {
    use std::io::Write;
    let url = database_url(&pool.connect_options());
    let run = |args: &[&str], input: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_folio"))
            .args(args)
            .env("DATABASE_URL", &url)
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
