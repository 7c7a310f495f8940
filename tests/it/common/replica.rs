//! A PostgreSQL primary and a streaming replica of it, made for one test: `initdb`, then
//! `pg_basebackup -R` from the primary, each server on its own port on 127.0.0.1, in a folder
//! under /tmp that is removed at the end. As root the servers run as `postgres` (PostgreSQL
//! refuses root).

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use super::free_port;

pub struct Server {
    pub dir: PathBuf,
    pub port: u16,
    bin: PathBuf,
}

pub struct Pair {
    root: PathBuf,
    pub primary: Server,
    pub replica: Server,
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A PostgreSQL program with its arguments, to run as `postgres` when we are root.
fn command(program: &Path, args: &[&str]) -> Command {
    let mut command = if is_root() {
        let mut runuser = Command::new("runuser");
        runuser.args(["-u", "postgres", "--"]).arg(program);
        runuser
    } else {
        Command::new(program)
    };
    command.args(args);
    command
}

/// Runs a PostgreSQL program; panics with its output on failure.
fn run(program: &Path, args: &[&str]) {
    let output = command(program, args).output().expect("the program runs");
    assert!(
        output.status.success(),
        "{} {args:?} failed: {}{}",
        program.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn binaries() -> PathBuf {
    let found =
        folio::store::own_cluster::installations(&folio::store::own_cluster::candidate_dirs());
    folio::store::own_cluster::choose(&found, None)
        .expect("PostgreSQL's programs (scripts/ensure-postgres-programs installs them)")
        .dir
}

impl Server {
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    pub fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.display()
        );
        run(
            &self.bin.join("pg_ctl"),
            &[
                "-D",
                &self.dir.join("data").display().to_string(),
                "-l",
                &self.dir.join("log").display().to_string(),
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
    }

    /// Stops at once, as a crash would (`immediate`).
    pub fn stop(&self) {
        run(
            &self.bin.join("pg_ctl"),
            &[
                "-D",
                &self.dir.join("data").display().to_string(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
    }
}

impl Pair {
    /// Both servers started, the replica streaming from the primary.
    pub fn start() -> Self {
        let bin = binaries();
        let root = std::env::temp_dir().join(format!(
            "folio-replica-test-{}-{}",
            std::process::id(),
            free_port()
        ));
        let primary = Server {
            dir: root.join("primary"),
            port: free_port(),
            bin: bin.clone(),
        };
        let replica = Server {
            dir: root.join("replica"),
            port: free_port(),
            bin: bin.clone(),
        };
        for dir in [&root, &primary.dir, &replica.dir] {
            std::fs::create_dir_all(dir).expect("a test folder");
            if is_root() {
                let status = Command::new("chown")
                    .args(["postgres:postgres", &dir.display().to_string()])
                    .status()
                    .expect("chown runs");
                assert!(status.success());
            }
        }
        run(
            &bin.join("initdb"),
            &[
                "-D",
                &primary.dir.join("data").display().to_string(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        );
        primary.start();
        run(
            &bin.join("pg_basebackup"),
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &primary.port.to_string(),
                "-U",
                "postgres",
                "-D",
                &replica.dir.join("data").display().to_string(),
                "-R",
                "-X",
                "stream",
                "--no-sync",
            ],
        );
        replica.start();
        Self {
            root,
            primary,
            replica,
        }
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for server in [&self.replica, &self.primary] {
            let data = server.dir.join("data").display().to_string();
            let _ = command(
                &server.bin.join("pg_ctl"),
                &["-D", &data, "-m", "immediate", "stop"],
            )
            .output();
        }
        std::thread::sleep(Duration::from_millis(100));
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
