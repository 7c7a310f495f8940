//! `folio` with no `DATABASE_URL`: its own PostgreSQL in a data folder, made on the first
//! start, shared by a second command, stopped with the server, and recovered after `kill -9`.
//! These need PostgreSQL's server programs (`scripts/test` installs them).

use std::{
    os::unix::fs::PermissionsExt,
    path::PathBuf,
    process::{Command, Output, Stdio},
    time::Duration,
};

use crate::{
    common::output_with_input,
    server::{Server, http_get},
};

/// A data folder of the test's own in the temporary directory (which the cluster's account can
/// reach when the tests run as root), emptied at the end.
struct DataDir(PathBuf);

impl DataDir {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("folio-own-pg-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        Self(path)
    }

    /// The process id in the cluster's lock file, while it has one.
    fn postmaster(&self) -> Option<u32> {
        std::fs::read_to_string(self.0.join("postgres/postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    /// `folio` with this data folder and no DATABASE_URL.
    fn folio(&self, args: &[&str], input: &str) -> Output {
        let mut command = self.own(Command::new(env!("CARGO_BIN_EXE_folio")));
        command.args(args);
        output_with_input(command, input)
    }

    fn own(&self, mut command: Command) -> Command {
        command
            .env_remove("DATABASE_URL")
            .env("FOLIO_DATA_DIR", &self.0)
            .env("FOLIO_LOG", "info");
        command
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        if let Some(pid) = self.postmaster() {
            signal("-KILL", pid);
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn signal(signal: &str, pid: u32) {
    let _ = Command::new("kill")
        .args([signal, &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

fn is_running(pid: u32) -> bool {
    // A zombie (exited, not yet reaped by its parent) is not running.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim()
            .starts_with('Z')
    })
}

async fn until_gone(pid: u32) {
    for _ in 0..200 {
        if !is_running(pid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("process {pid} is still running");
}

/// The name of the account a process runs as.
fn process_account(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_owned();
    std::fs::read_to_string("/etc/passwd")
        .unwrap()
        .lines()
        .find(|l| l.split(':').nth(2) == Some(uid.as_str()))
        .map(|l| l.split(':').next().unwrap().to_owned())
        .unwrap_or(uid)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const ADD_ADA: [&str; 9] = [
    "user",
    "add",
    "--email",
    "ada@example.com",
    "--name",
    "Ada",
    "--role",
    "admin",
    "--password-stdin",
];

#[tokio::test]
async fn the_first_start_makes_the_database_a_second_command_shares_it_and_sigterm_stops_both() {
    let data = DataDir::new("first");
    let server = Server::launch(data.own(Server::command()));
    let home = http_get(server.port, "/").await;
    assert!(home.starts_with("HTTP/1.1 200"), "{home}");
    let postmaster = data.postmaster().expect("Folio started its PostgreSQL");
    assert!(
        std::fs::metadata(data.0.join("run/.s.PGSQL.5432")).is_ok(),
        "the socket is in the data folder"
    );
    // Security review, finding 7: as root, the cluster runs as an account of its own, never a
    // shared one such as `postgres` (whose other processes would be superuser on the blog).
    if std::fs::metadata("/proc/self").is_ok_and(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid() == 0
    }) {
        assert_eq!(process_account(postmaster), "folio-postgres");
    }

    let setup = http_get(server.port, "/admin/login").await;
    assert!(
        setup.contains("location: /admin/setup"),
        "no user yet: {setup}"
    );

    // A second command while the server runs joins the same PostgreSQL and leaves it running.
    let added = data.folio(&ADD_ADA, "a long enough password\n");
    assert!(added.status.success(), "{}", text(&added.stderr));
    assert_eq!(data.postmaster(), Some(postmaster));
    let refused = data.folio(&["postgres", "stop"], "");
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("still uses the database"),
        "{}",
        text(&refused.stderr)
    );
    // The server sees the user the other command added: sign-in, no longer the first setup.
    let login = http_get(server.port, "/admin/login").await;
    assert!(login.starts_with("HTTP/1.1 200"), "{login}");

    server.terminate();
    let (status, log) = server.exit(Duration::from_secs(60)).await;
    assert!(status.success(), "{log}");
    assert!(
        log.contains("Folio's own PostgreSQL stopped"),
        "shutdown says so: {log}"
    );
    until_gone(postmaster).await;
    assert_eq!(data.postmaster(), None, "PostgreSQL stopped cleanly");

    // Started again, by a command that ends: the same database, stopped again after.
    let again = data.folio(&ADD_ADA, "a long enough password\n");
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("a user with the email ada@example.com already exists"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(data.postmaster(), None);
}

#[tokio::test]
async fn after_kill_9_of_folio_and_of_its_postgres_the_next_start_recovers() {
    let data = DataDir::new("crash");
    let server = Server::launch(data.own(Server::command()));
    let postmaster = data.postmaster().expect("Folio started its PostgreSQL");

    // Folio killed: its PostgreSQL lives on, and the next start uses it.
    signal("-KILL", server.pid());
    let _ = server.exit(Duration::from_secs(10)).await;
    assert!(is_running(postmaster));
    let server = Server::launch(data.own(Server::command()));
    assert_eq!(data.postmaster(), Some(postmaster));
    let home = http_get(server.port, "/").await;
    assert!(home.starts_with("HTTP/1.1 200"), "{home}");

    // Both killed: a stale lock file stays behind, and the next start recovers.
    signal("-KILL", postmaster);
    signal("-KILL", server.pid());
    let _ = server.exit(Duration::from_secs(10)).await;
    until_gone(postmaster).await;
    assert_eq!(
        data.postmaster(),
        Some(postmaster),
        "the stale postmaster.pid"
    );
    let server = Server::launch(data.own(Server::command()));
    let restarted = data.postmaster().expect("PostgreSQL runs again");
    assert_ne!(restarted, postmaster);
    let home = http_get(server.port, "/").await;
    assert!(home.starts_with("HTTP/1.1 200"), "{home}");

    server.terminate();
    let (status, log) = server.exit(Duration::from_secs(60)).await;
    assert!(status.success(), "{log}");
    until_gone(restarted).await;
}

#[tokio::test]
async fn folio_postgres_start_keeps_it_running_for_other_programs_until_stop() {
    let data = DataDir::new("kept");
    let started = data.folio(&["postgres", "start"], "");
    assert!(started.status.success(), "{}", text(&started.stderr));
    let url = text(&started.stdout)
        .trim()
        .strip_prefix("DATABASE_URL=")
        .expect("it prints the URL")
        .to_owned();
    assert!(url.starts_with("postgres://folio@%2F"), "a socket: {url}");
    let postmaster = data.postmaster().expect("PostgreSQL runs");

    // Another program reaches it with that URL; a command without one uses it and leaves it.
    let migrated = Command::new(env!("CARGO_BIN_EXE_folio"))
        .arg("migrate")
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(migrated.status.success(), "{}", text(&migrated.stderr));
    let own = data.folio(&["migrate"], "");
    assert!(own.status.success(), "{}", text(&own.stderr));
    assert_eq!(data.postmaster(), Some(postmaster));

    let stopped = data.folio(&["postgres", "stop"], "");
    assert!(stopped.status.success(), "{}", text(&stopped.stderr));
    assert!(text(&stopped.stdout).contains("stopped the PostgreSQL"));
    until_gone(postmaster).await;
    let again = data.folio(&["postgres", "stop"], "");
    assert!(text(&again.stdout).contains("was not running"));
}

#[test]
fn without_postgresql_installed_one_message_says_what_to_install() {
    let data = DataDir::new("missing");
    let output = data
        .own(Command::new(env!("CARGO_BIN_EXE_folio")))
        .arg("migrate")
        .env("FOLIO_PG_BINDIR", data.0.join("no-postgresql-here"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    for advice in [
        "no-postgresql-here",
        "sudo apt-get install postgresql",
        "brew install postgresql@17",
        "DATABASE_URL",
        "docker compose up",
    ] {
        assert!(stderr.contains(advice), "{advice} in {stderr}");
    }
}
