//! A real SMTP server for the email tests (aiosmtpd, through `tests/it/mail_sink.py`), and what
//! it received.

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, ChildStdin, Command, Stdio},
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use folio::mail::MailConfig;
use serde::Deserialize;

/// The SMTP server; stops when dropped.
pub struct MailSink {
    child: Child,
    _stdin: ChildStdin,
    pub port: u16,
    folder: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    pub headers: Vec<(String, String)>,
    pub text: String,
    pub html: String,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn subject(&self) -> &str {
        self.header("subject").unwrap_or("")
    }

    /// The first link in the text part that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> Option<String> {
        let at = self.text.find(prefix)?;
        let rest = &self.text[at..];
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '>' || c == ')')
            .unwrap_or(rest.len());
        Some(rest[..end].to_owned())
    }
}

impl MailSink {
    pub fn start() -> Self {
        Self::start_on(super::free_port())
    }

    /// On a given port (to bring a stopped server back where Folio expects it).
    pub fn start_on(port: u16) -> Self {
        static STARTED: AtomicU64 = AtomicU64::new(0);
        let folder = std::env::temp_dir().join(format!(
            "folio-mail-{}-{port}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&folder).unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/mail_sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(&folder)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs the SMTP sink (scripts/test installs aiosmtpd)");
        let stdin = child.stdin.take().unwrap();
        let mut ready = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut ready)
            .unwrap();
        assert_eq!(ready.trim(), "ready", "the SMTP sink did not start");
        Self {
            child,
            _stdin: stdin,
            port,
            folder,
        }
    }

    /// Folio's mail settings for this server: plain SMTP on loopback, quick retries, no rate
    /// worth waiting for.
    pub fn config(&self) -> MailConfig {
        let mut config = MailConfig::new(
            &format!("smtp://127.0.0.1:{}?tls=none", self.port),
            Some("Test Blog <blog@example.test>"),
            60_000,
            "blog.test",
        )
        .unwrap();
        config.retry_base = Duration::from_millis(200);
        config
    }

    /// Everything received so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.folder)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect()
    }

    /// Waits (up to 15 s) until at least `count` messages have arrived.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {count} messages arrived",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits (up to 15 s) until the blog owes nothing more: no message waits in the outbox, no
    /// published post waits to be announced, and every message marked sent has arrived. What
    /// has arrived by then is all that will: a check that something was *not* sent needs no
    /// sleep.
    pub async fn settled(&self, pool: &sqlx::PgPool) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let (waiting, sent): (i64, i64) = sqlx::query_as(
                "select (select count(*) from outbox where status = 'waiting')
                        + (select count(*) from posts where announce = 'due'
                           and post_visible(status, published_at)),
                        (select count(*) from outbox where status = 'sent')",
            )
            .fetch_one(pool)
            .await
            .unwrap();
            let received = self.received();
            if waiting == 0 && received.len() as i64 >= sent {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "{waiting} messages still owed, {} of {sent} sent arrived",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the server (connections to its port are refused until it starts again).
    pub fn stop(self) -> u16 {
        self.port
    }
}

impl Drop for MailSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}
