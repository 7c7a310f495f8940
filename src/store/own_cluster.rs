//! Folio's own PostgreSQL, for starting with nothing set up: with no `DATABASE_URL`, every
//! `folio` command uses a cluster kept in a data folder. It is made on first use (`initdb`),
//! started on demand, reached only over a Unix socket inside that folder (no TCP port), and
//! stopped by the last Folio process that used it. Production setups give `DATABASE_URL`.
//!
//! Two lock files coordinate the Folio processes sharing one folder: `setup.lock` is held while
//! a process starts or stops the cluster, `users.lock` (shared) for as long as a process uses
//! it. Locks go with their process, so a crash leaves nothing to clean up; a PostgreSQL left
//! running by a crashed Folio is joined by the next command and stopped by the last one out.

use std::{
    fs::{self, File, OpenOptions},
    io::{self, Read as _, Seek as _, SeekFrom},
    os::unix::{
        fs::{DirBuilderExt, MetadataExt, OpenOptionsExt},
        process::CommandExt,
    },
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, anyhow, bail};
use sqlx::{
    Connection, PgConnection,
    postgres::{PgConnectOptions, PgSslMode},
};

/// The superuser `initdb` makes, and the blog's database.
const ROLE: &str = "folio";
const DATABASE: &str = "folio";
/// Only names the socket file (`.s.PGSQL.5432`): the cluster listens on no TCP port.
const PORT: u16 = 5432;
/// The oldest PostgreSQL Folio's migrations run on.
pub const OLDEST_MAJOR: u32 = 13;
/// A Unix socket's path must fit in `sun_path` (104 bytes on macOS, 108 on Linux, with its NUL).
const SOCKET_PATH_MAX: usize = 103;
/// Crash recovery of a big blog can take a while; a fresh start takes under a second.
const READY_TIMEOUT: Duration = Duration::from_secs(180);
const STOP_TIMEOUT: Duration = Duration::from_secs(60);

/// Only the socket, which only the cluster's account (and root) can enter, may connect.
const PG_HBA: &str = "\
# Folio's own cluster: connections over the Unix socket in the data folder only (its directory
# is open to the cluster's account alone); the cluster listens on no TCP port.
local all all trust
";

const NOT_INSTALLED: &str = "\
Install PostgreSQL 13 or later and run this again (Debian, Ubuntu: `sudo apt-get install postgresql`; \
Fedora: `sudo dnf install postgresql-server`; macOS: `brew install postgresql@17`), \
or set DATABASE_URL to a PostgreSQL server you run, or start Folio with `docker compose up`.";

/// The places in a data folder.
#[derive(Debug, Clone)]
struct Layout {
    root: PathBuf,
    cluster: PathBuf,
    socket_dir: PathBuf,
    log: PathBuf,
}

impl Layout {
    fn new(folder: &Path) -> anyhow::Result<Self> {
        fs::create_dir_all(folder)
            .with_context(|| format!("cannot create the data folder {}", folder.display()))?;
        let root = fs::canonicalize(folder)
            .with_context(|| format!("cannot open the data folder {}", folder.display()))?;
        let socket_dir = root.join("run");
        let socket = socket_dir.join(format!(".s.PGSQL.{PORT}"));
        if socket.as_os_str().len() > SOCKET_PATH_MAX {
            bail!(
                "the data folder's path is too long for PostgreSQL's socket ({}): give a shorter \
                 --data-dir (FOLIO_DATA_DIR)",
                socket.display()
            );
        }
        if root.to_str().is_none_or(|path| path.contains(['"', '\n'])) {
            bail!(
                "PostgreSQL cannot use a data folder whose path has quotes, line breaks or \
                 non-UTF-8 bytes in it: give another --data-dir (FOLIO_DATA_DIR)"
            );
        }
        Ok(Self {
            cluster: root.join("postgres"),
            log: root.join("postgres.log"),
            socket_dir,
            root,
        })
    }

    fn lock_file(&self, name: &str) -> anyhow::Result<File> {
        let path = self.root.join(name);
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))
    }

    /// Marks a cluster `folio postgres start` started, which only `folio postgres stop` stops.
    fn keep_running_marker(&self) -> PathBuf {
        self.root.join("keep-running")
    }

    fn options(&self, database: &str) -> PgConnectOptions {
        // Nothing from the environment (PGSSLMODE=require for a managed database, say) applies.
        PgConnectOptions::new_without_pgpass()
            .ssl_mode(PgSslMode::Disable)
            .socket(&self.socket_dir)
            .port(PORT)
            .username(ROLE)
            .database(database)
    }
}

/// A PostgreSQL installation's server programs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binaries {
    pub dir: PathBuf,
    pub major: u32,
}

impl Binaries {
    fn program(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// Where PostgreSQL's server programs are installed, most specific first: `FOLIO_PG_BINDIR`
/// alone when it is set; else what `pg_config` says, the packages' folders (Debian and Ubuntu
/// keep each version in its own, as do PGDG's RPMs and Homebrew), then `PATH`.
pub fn candidate_dirs() -> Vec<PathBuf> {
    if let Some(dir) = std::env::var_os("FOLIO_PG_BINDIR").filter(|dir| !dir.is_empty()) {
        return vec![PathBuf::from(dir)];
    }
    let mut dirs = Vec::new();
    if let Ok(output) = Command::new("pg_config").arg("--bindir").output()
        && output.status.success()
    {
        dirs.push(PathBuf::from(
            String::from_utf8_lossy(&output.stdout).trim(),
        ));
    }
    let versioned = |parent: &str, prefix: &str, bin: &str| -> Vec<PathBuf> {
        let Ok(entries) = fs::read_dir(parent) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter(|entry| entry.file_name().to_string_lossy().starts_with(prefix))
            .map(|entry| entry.path().join(bin))
            .collect()
    };
    dirs.extend(versioned("/usr/lib/postgresql", "", "bin"));
    dirs.extend(versioned("/usr", "pgsql-", "bin"));
    dirs.extend(versioned("/opt/homebrew/opt", "postgresql", "bin"));
    dirs.extend(versioned("/usr/local/opt", "postgresql", "bin"));
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs
}

/// The installations among `dirs`: those with both `initdb` and `postgres`, with their version.
pub fn installations(dirs: &[PathBuf]) -> Vec<Binaries> {
    let mut found: Vec<Binaries> = Vec::new();
    for dir in dirs {
        // Where the program really is (`/usr/local/bin/postgres` may be a link into a version's
        // folder): one installation found twice is one.
        let Some(dir) = fs::canonicalize(dir.join("postgres"))
            .ok()
            .and_then(|program| program.parent().map(Path::to_path_buf))
        else {
            continue;
        };
        if found.iter().any(|b| b.dir == dir)
            || !dir.join("initdb").is_file()
            || !dir.join("postgres").is_file()
        {
            continue;
        }
        let Ok(output) = Command::new(dir.join("postgres")).arg("--version").output() else {
            continue;
        };
        if let Some(major) = major_version(&String::from_utf8_lossy(&output.stdout)) {
            found.push(Binaries { dir, major });
        }
    }
    found
}

/// The major version in `postgres --version`'s answer: "postgres (PostgreSQL) 15.8 (Debian …)".
pub fn major_version(answer: &str) -> Option<u32> {
    let number = answer.split(')').nth(1)?.trim_start();
    number
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// The installation to use: the cluster's own major version once a cluster exists (its files
/// are that version's), else the newest recent enough.
pub fn choose(found: &[Binaries], cluster_major: Option<u32>) -> anyhow::Result<Binaries> {
    let listed = || {
        found
            .iter()
            .map(|b| format!("{} ({})", b.major, b.dir.display()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(major) = cluster_major {
        return found
            .iter()
            .find(|b| b.major == major)
            .cloned()
            .ok_or_else(|| {
                anyhow!(
                    "the data folder's database was made by PostgreSQL {major}, whose server \
                     programs are not installed (found: {}). Install PostgreSQL {major} \
                     (Debian, Ubuntu: `sudo apt-get install postgresql-{major}`), or move the \
                     data to a newer version with pg_upgrade",
                    if found.is_empty() {
                        "none".to_owned()
                    } else {
                        listed()
                    }
                )
            });
    }
    // The first found of the newest version (`max_by_key` would take the last).
    if let Some(newest) = found
        .iter()
        .rev()
        .filter(|b| b.major >= OLDEST_MAJOR)
        .max_by_key(|b| b.major)
    {
        return Ok(newest.clone());
    }
    if !found.is_empty() {
        bail!(
            "Folio needs PostgreSQL {OLDEST_MAJOR} or later; only {} is installed. {NOT_INSTALLED}",
            listed()
        );
    }
    match std::env::var_os("FOLIO_PG_BINDIR").filter(|dir| !dir.is_empty()) {
        Some(dir) => bail!(
            "FOLIO_PG_BINDIR is {}, which holds no PostgreSQL server programs (initdb, postgres). \
             {NOT_INSTALLED}",
            Path::new(&dir).display()
        ),
        None => bail!(
            "no DATABASE_URL is set, and PostgreSQL's server programs (initdb, postgres), with \
             which Folio runs a database of its own, are not installed. {NOT_INSTALLED}"
        ),
    }
}

/// The account the cluster's processes run as when Folio runs as root (PostgreSQL refuses
/// root): `folio-postgres`, an account of the cluster's own, made when missing. Never a shared
/// account such as `postgres` or `nobody`: with `trust` on the socket, any process of that
/// account would be superuser on the blog. A cluster owned by another account (one made by an
/// earlier Folio as `postgres`) is given to `folio-postgres` on its next start.
#[derive(Debug, Clone)]
struct Account {
    name: String,
    uid: u32,
    gid: u32,
}

/// The cluster's own account.
pub const ACCOUNT: &str = "folio-postgres";

fn accounts() -> Vec<Account> {
    fs::read_to_string("/etc/passwd")
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            Some(Account {
                name: (*fields.first()?).to_owned(),
                uid: fields.get(2)?.parse().ok()?,
                gid: fields.get(3)?.parse().ok()?,
            })
        })
        .collect()
}

fn cluster_account() -> anyhow::Result<Option<Account>> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    if let Some(found) = accounts().into_iter().find(|a| a.name == ACCOUNT) {
        return Ok(Some(found));
    }
    // A system account with no home and no shell (useradd on Debian, Fedora, Arch; BusyBox's
    // adduser on Alpine).
    let made = Command::new("useradd")
        .args([
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
        ])
        .args(["--shell", "/usr/sbin/nologin", ACCOUNT])
        .output()
        .or_else(|_| {
            Command::new("adduser")
                .args([
                    "-S",
                    "-D",
                    "-H",
                    "-h",
                    "/nonexistent",
                    "-s",
                    "/sbin/nologin",
                    ACCOUNT,
                ])
                .output()
        });
    match made {
        Ok(output) if output.status.success() => {
            tracing::info!(
                account = ACCOUNT,
                "made an account for Folio's own PostgreSQL"
            );
        }
        Ok(output) => bail!(
            "PostgreSQL does not run as root, and the account `{ACCOUNT}` it runs as could not \
             be made: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ),
        Err(error) => bail!(
            "PostgreSQL does not run as root, and the account `{ACCOUNT}` it runs as could not \
             be made (neither useradd nor adduser ran: {error}): make it, or run folio as a \
             regular user"
        ),
    }
    accounts()
        .into_iter()
        .find(|a| a.name == ACCOUNT)
        .map(Some)
        .ok_or_else(|| anyhow!("the account `{ACCOUNT}` was made but cannot be found"))
}

/// Gives the cluster's files to its account when another owns them (a cluster an earlier Folio
/// ran as `postgres`). Under the setup lock, with no postmaster running.
fn give_cluster_to(layout: &Layout, account: Option<&Account>) -> anyhow::Result<()> {
    let Some(account) = account else {
        return Ok(());
    };
    let Ok(meta) = fs::metadata(&layout.cluster) else {
        return Ok(());
    };
    if meta.uid() == account.uid {
        return Ok(());
    }
    tracing::info!(
        folder = %layout.cluster.display(),
        account = ACCOUNT,
        "giving Folio's own PostgreSQL an account of its own"
    );
    fn walk(path: &Path, account: &Account) -> anyhow::Result<()> {
        chown(path, Some(account))?;
        if fs::symlink_metadata(path)?.is_dir() {
            for entry in fs::read_dir(path)? {
                walk(&entry?.path(), account)?;
            }
        }
        Ok(())
    }
    walk(&layout.cluster, account)?;
    if layout.socket_dir.exists() {
        walk(&layout.socket_dir, account)?;
    }
    if layout.log.exists() {
        chown(&layout.log, Some(account))?;
    }
    Ok(())
}

/// A command run as the cluster's account, in `dir` (which proves that account can reach it).
fn as_account(program: PathBuf, dir: &Path, account: Option<&Account>) -> Command {
    let mut command = Command::new(program);
    command.current_dir(dir).stdin(Stdio::null());
    if let Some(account) = account {
        command.uid(account.uid).gid(account.gid);
    }
    command
}

fn unreachable(error: io::Error, dir: &Path, account: Option<&Account>) -> anyhow::Error {
    match account {
        Some(account) if error.kind() == io::ErrorKind::PermissionDenied => anyhow!(
            "PostgreSQL does not run as root, so Folio runs it as `{}`, who cannot reach {}: run \
             folio as a regular user, or give a --data-dir (FOLIO_DATA_DIR) that account can \
             reach, such as one under /var/lib or /srv",
            account.name,
            dir.display()
        ),
        _ => anyhow!("cannot run PostgreSQL in {}: {error}", dir.display()),
    }
}

fn chown(path: &Path, account: Option<&Account>) -> anyhow::Result<()> {
    if let Some(account) = account {
        std::os::unix::fs::lchown(path, Some(account.uid), Some(account.gid))
            .with_context(|| format!("cannot give {} to `{}`", path.display(), account.name))?;
    }
    Ok(())
}

/// Makes the cluster: `initdb` into a folder of its own, renamed into place once complete, so
/// an interrupted first start leaves no half-made cluster behind.
fn init(binaries: &Binaries, layout: &Layout, account: Option<&Account>) -> anyhow::Result<()> {
    let fresh = layout.root.join("postgres.init");
    if fresh.exists() {
        fs::remove_dir_all(&fresh).with_context(|| format!("cannot remove {}", fresh.display()))?;
    }
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&fresh)
        .with_context(|| format!("cannot create {}", fresh.display()))?;
    chown(&fresh, account)?;
    tracing::info!(
        folder = %layout.root.display(),
        version = binaries.major,
        "making Folio's own PostgreSQL database (first start)"
    );
    // C.UTF-8 sorts by code point and knows every letter's case (for search); where the C
    // library lacks it, the plain C locale, still UTF-8.
    let mut refusal = None;
    for locale in ["--locale=C.UTF-8", "--no-locale"] {
        let output = as_account(binaries.program("initdb"), &fresh, account)
            .arg("--pgdata")
            .arg(&fresh)
            .args(["--username", ROLE, "--auth", "trust", "--encoding", "UTF8"])
            .arg(locale)
            .output()
            .map_err(|error| unreachable(error, &layout.root, account))?;
        if output.status.success() {
            refusal = None;
            break;
        }
        refusal = Some(String::from_utf8_lossy(&output.stderr).trim().to_owned());
    }
    if let Some(refusal) = refusal {
        bail!(
            "initdb could not make the database in {}: {refusal}",
            fresh.display()
        );
    }
    fs::write(fresh.join("pg_hba.conf"), PG_HBA)
        .with_context(|| format!("cannot write {}", fresh.join("pg_hba.conf").display()))?;
    fs::rename(&fresh, &layout.cluster).with_context(|| {
        format!(
            "{} exists but is not a PostgreSQL cluster: move it away or give another --data-dir",
            layout.cluster.display()
        )
    })?;
    Ok(())
}

/// The major version of the cluster's files; None before the first start.
fn cluster_version(cluster: &Path) -> anyhow::Result<Option<u32>> {
    if !cluster.exists() {
        return Ok(None);
    }
    let file = cluster.join("PG_VERSION");
    let text = fs::read_to_string(&file).with_context(|| {
        format!(
            "cannot read {}: is {} a PostgreSQL cluster of this account's?",
            file.display(),
            cluster.display()
        )
    })?;
    text.trim()
        .parse()
        .map(Some)
        .with_context(|| format!("{} says {text:?}, not a version", file.display()))
}

/// The postmaster's process id, when `postmaster.pid` names a running process that is this
/// cluster's postmaster.
fn running_postmaster(cluster: &Path) -> Option<i32> {
    let text = fs::read_to_string(cluster.join("postmaster.pid")).ok()?;
    let pid: i32 = text.lines().next()?.trim().parse().ok()?;
    (pid > 0 && is_postmaster_of(pid, cluster)).then_some(pid)
}

/// After a crash, a reboot or in a container, `postmaster.pid` may name a process that has
/// exited (a zombie not yet reaped counts as exited) or an unrelated one. A postmaster works in
/// its cluster's folder; a process Folio cannot inspect belongs to another account, so it is not
/// the cluster Folio runs (as Folio's own account, or any as root).
#[cfg(target_os = "linux")]
fn is_postmaster_of(pid: i32, cluster: &Path) -> bool {
    let running = fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let state = stat.rsplit(')').next().unwrap_or("").trim_start();
        !state.starts_with(['Z', 'X'])
    });
    running && fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd == cluster)
}

#[cfg(not(target_os = "linux"))]
fn is_postmaster_of(pid: i32, _cluster: &Path) -> bool {
    is_alive(pid)
}

#[cfg(not(target_os = "linux"))]
fn is_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let exists = unsafe { libc::kill(pid, 0) } == 0;
    exists || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

fn start(binaries: &Binaries, layout: &Layout, account: Option<&Account>) -> anyhow::Result<Child> {
    // No postmaster of this cluster runs (checked under the setup lock): a crash left these
    // lock files, which PostgreSQL would take for a live server's if their process id were
    // reused or a zombie.
    let _ = fs::remove_file(layout.cluster.join("postmaster.pid"));
    let socket = layout.socket_dir.join(format!(".s.PGSQL.{PORT}"));
    let _ = fs::remove_file(socket.with_extension(format!("{PORT}.lock")));
    let _ = fs::remove_file(&socket);
    if !layout.socket_dir.exists() {
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&layout.socket_dir)
            .with_context(|| format!("cannot create {}", layout.socket_dir.display()))?;
    }
    chown(&layout.socket_dir, account)?;
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&layout.log)
        .with_context(|| format!("cannot open {}", layout.log.display()))?;
    as_account(binaries.program("postgres"), &layout.cluster, account)
        .arg("-D")
        .arg(&layout.cluster)
        .arg("-p")
        .arg(PORT.to_string())
        .args(["-c", "listen_addresses="])
        .arg("-c")
        .arg(format!(
            "unix_socket_directories=\"{}\"",
            layout.socket_dir.display()
        ))
        .args(["-c", "unix_socket_permissions=0700"])
        .stdout(log.try_clone()?)
        .stderr(log)
        // Its own process group: Ctrl-C at a terminal reaches Folio alone, which lets requests
        // in flight finish before it stops PostgreSQL.
        .process_group(0)
        .spawn()
        .map_err(|error| unreachable(error, &layout.cluster, account))
}

/// The last lines of PostgreSQL's log, to say why it did not start.
fn log_tail(log: &Path) -> String {
    let Ok(mut file) = File::open(log) else {
        return String::new();
    };
    let length = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(length.saturating_sub(2000)));
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(6)..].join("\n")
}

/// Stops the postmaster with a fast shutdown (sessions end; everything committed is on disk)
/// and waits for it to go.
fn stop(layout: &Layout, child: Option<Child>) -> anyhow::Result<()> {
    let mut child = child;
    if let Some(exited) = child.as_mut()
        && exited.try_wait()?.is_some()
    {
        return Ok(());
    }
    let pid = match &child {
        Some(child) => i32::try_from(child.id())?,
        None => match running_postmaster(&layout.cluster) {
            Some(pid) => pid,
            None => return Ok(()),
        },
    };
    // SAFETY: signalling a process id has no memory-safety preconditions.
    unsafe { libc::kill(pid, libc::SIGINT) };
    let deadline = Instant::now() + STOP_TIMEOUT;
    loop {
        let gone = match child.as_mut() {
            Some(child) => child.try_wait()?.is_some(),
            // Not our child: gone once it removed its lock file or no longer exists.
            None => {
                !layout.cluster.join("postmaster.pid").exists()
                    || !is_postmaster_of(pid, &layout.cluster)
            }
        };
        if gone {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "PostgreSQL (process {pid}) did not stop within {} s; see {}",
                STOP_TIMEOUT.as_secs(),
                layout.log.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What a socket folder's path keeps as it is in a URL's host.
const PATH_IN_URL: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.');

/// Folio's use of its own cluster: held from `open` until `close`.
#[derive(Debug)]
pub struct LocalPostgres {
    layout: Layout,
    users: File,
    /// The postmaster, when this process started it.
    child: Option<Child>,
}

impl LocalPostgres {
    /// Joins the cluster in `folder` if it runs, else makes it (first use) and starts it;
    /// returns how to connect to the blog's database, made if missing.
    pub async fn open(folder: &Path) -> anyhow::Result<(Self, PgConnectOptions)> {
        let layout = Layout::new(folder)?;
        let prepared = layout.clone();
        let (setup, users, started) = tokio::task::spawn_blocking(move || {
            let setup = prepared.lock_file("setup.lock")?;
            setup.lock()?;
            let users = prepared.lock_file("users.lock")?;
            users.lock_shared()?;
            let started = match running_postmaster(&prepared.cluster) {
                Some(_) => None,
                None => {
                    let cluster_major = cluster_version(&prepared.cluster)?;
                    let binaries = choose(&installations(&candidate_dirs()), cluster_major)?;
                    let account = cluster_account()?;
                    if cluster_major.is_none() {
                        init(&binaries, &prepared, account.as_ref())?;
                    } else {
                        give_cluster_to(&prepared, account.as_ref())?;
                    }
                    // What `folio postgres start` asked for ended with the cluster it started.
                    let _ = fs::remove_file(prepared.keep_running_marker());
                    let child = start(&binaries, &prepared, account.as_ref())?;
                    Some((child, binaries, account))
                }
            };
            anyhow::Ok((setup, users, started))
        })
        .await??;
        let (child, restart) = match started {
            Some((child, binaries, account)) => (Some(child), Some((binaries, account))),
            None => (None, None),
        };
        let mut cluster = Self {
            layout,
            users,
            child,
        };
        let ready = cluster.until_ready(restart).await;
        // Held until a failed start is stopped: no other process may join it meanwhile.
        let _setup = setup;
        match ready {
            Ok(()) => {
                let options = cluster.layout.options(DATABASE).application_name("folio");
                Ok((cluster, options))
            }
            Err(error) => {
                // Stop only what this process started: a joined cluster is someone else's.
                if let Some(child) = cluster.child.take() {
                    let layout = cluster.layout.clone();
                    let _ = tokio::task::spawn_blocking(move || stop(&layout, Some(child))).await;
                }
                Err(error)
            }
        }
    }

    /// Waits until PostgreSQL accepts connections (a restart after a crash first replays its
    /// log), then makes the blog's database if this is the first start.
    /// `restart` is how it was started, when this process started it: right after a `kill -9`
    /// of PostgreSQL, a new start is refused until the old server processes have noticed and
    /// left (a moment later), so it is tried again a few times.
    async fn until_ready(
        &mut self,
        restart: Option<(Binaries, Option<Account>)>,
    ) -> anyhow::Result<()> {
        let options = self.layout.options("postgres");
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut restarts = 0;
        let mut connection = loop {
            match PgConnection::connect_with(&options).await {
                Ok(connection) => break connection,
                Err(error) => {
                    if let Some(child) = self.child.as_mut()
                        && let Some(status) = child.try_wait()?
                    {
                        if let Some((binaries, account)) = restart.as_ref()
                            && restarts < 10
                        {
                            restarts += 1;
                            tokio::time::sleep(Duration::from_millis(500)).await;
                            let (binaries, account, layout) =
                                (binaries.clone(), account.clone(), self.layout.clone());
                            self.child = Some(
                                tokio::task::spawn_blocking(move || {
                                    start(&binaries, &layout, account.as_ref())
                                })
                                .await??,
                            );
                            continue;
                        }
                        bail!(
                            "PostgreSQL stopped while starting ({status}); the end of {}:\n{}",
                            self.layout.log.display(),
                            log_tail(&self.layout.log)
                        );
                    }
                    if Instant::now() > deadline {
                        bail!(
                            "PostgreSQL in {} did not accept connections within {} s ({error}); \
                             see {}",
                            self.layout.root.display(),
                            READY_TIMEOUT.as_secs(),
                            self.layout.log.display()
                        );
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        crate::db::create_database_if_missing(&mut connection, DATABASE).await?;
        connection.close().await?;
        Ok(())
    }

    /// A URL other programs (psql, pg_dump, the tests) can use to reach a database in it.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{ROLE}@{}/{database}",
            percent_encoding::utf8_percent_encode(
                &self.layout.socket_dir.to_string_lossy(),
                PATH_IN_URL
            )
        )
    }

    /// Leaves the cluster running after this process, until `folio postgres stop`.
    pub fn keep_running(&self) -> anyhow::Result<()> {
        let marker = self.layout.keep_running_marker();
        fs::write(
            &marker,
            "started by `folio postgres start`; `folio postgres stop` stops it\n",
        )
        .with_context(|| format!("cannot write {}", marker.display()))
    }

    /// Ends this process's use of the cluster, and stops the cluster when no other Folio
    /// process uses it (and `folio postgres start` did not ask to keep it). Close the pool first.
    pub async fn close(self) -> anyhow::Result<()> {
        tokio::task::spawn_blocking(move || {
            let Self {
                layout,
                users,
                child,
            } = self;
            let setup = layout.lock_file("setup.lock")?;
            setup.lock()?;
            users.unlock()?;
            let last = match users.try_lock() {
                Ok(()) => true,
                Err(fs::TryLockError::WouldBlock) => false,
                Err(fs::TryLockError::Error(error)) => return Err(error.into()),
            };
            if layout.keep_running_marker().exists() {
                tracing::info!(
                    folder = %layout.root.display(),
                    "Folio's own PostgreSQL keeps running (started by `folio postgres start`)"
                );
            } else if last {
                stop(&layout, child)?;
                tracing::info!(folder = %layout.root.display(), "Folio's own PostgreSQL stopped");
            } else {
                tracing::info!(
                    folder = %layout.root.display(),
                    "Folio's own PostgreSQL keeps running for another Folio process"
                );
            }
            Ok(())
        })
        .await?
    }
}

/// `folio postgres stop`: stops the cluster in `folder` unless a Folio process still uses it.
pub async fn stop_unused(folder: &Path) -> anyhow::Result<bool> {
    let layout = Layout::new(folder)?;
    tokio::task::spawn_blocking(move || {
        let setup = layout.lock_file("setup.lock")?;
        setup.lock()?;
        let users = layout.lock_file("users.lock")?;
        match users.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => bail!(
                "a Folio process (folio serve?) still uses the database in {}: stop it first",
                layout.root.display()
            ),
            Err(fs::TryLockError::Error(error)) => return Err(error.into()),
        }
        let _ = fs::remove_file(layout.keep_running_marker());
        let was_running = running_postmaster(&layout.cluster).is_some();
        stop(&layout, None)?;
        Ok(was_running)
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_major_version_is_read_from_what_postgres_answers() {
        assert_eq!(
            major_version("postgres (PostgreSQL) 15.8 (Debian 15.8-0+deb12u1)\n"),
            Some(15)
        );
        assert_eq!(major_version("postgres (PostgreSQL) 17.2\n"), Some(17));
        assert_eq!(major_version("postgres (PostgreSQL) 9.6.24\n"), Some(9));
        assert_eq!(major_version("postgres (PostgreSQL) 18beta1\n"), Some(18));
        assert_eq!(major_version("command not found"), None);
    }

    fn at(major: u32) -> Binaries {
        Binaries {
            dir: PathBuf::from(format!("/usr/lib/postgresql/{major}/bin")),
            major,
        }
    }

    #[test]
    fn a_new_cluster_takes_the_newest_installation_and_an_old_one_its_own_version() {
        let found = [at(15), at(17), at(12)];
        assert_eq!(choose(&found, None).unwrap(), at(17));
        let elsewhere = Binaries {
            dir: PathBuf::from("/opt/postgresql/17/bin"),
            major: 17,
        };
        assert_eq!(
            choose(&[at(17), elsewhere.clone()], None).unwrap(),
            at(17),
            "the first found of the newest"
        );
        assert_eq!(choose(&found, Some(15)).unwrap(), at(15));
        let missing = choose(&found, Some(16)).unwrap_err().to_string();
        assert!(missing.contains("made by PostgreSQL 16"), "{missing}");
        assert!(
            missing.contains("apt-get install postgresql-16"),
            "{missing}"
        );
        let too_old = choose(&[at(12)], None).unwrap_err().to_string();
        assert!(
            too_old.contains("needs PostgreSQL 13 or later"),
            "{too_old}"
        );
    }

    #[test]
    fn installations_are_the_folders_with_both_server_programs() {
        let root = std::env::temp_dir().join(format!("folio-bins-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let complete = root.join("16/bin");
        let half = root.join("14/bin");
        fs::create_dir_all(&complete).unwrap();
        fs::create_dir_all(&half).unwrap();
        let script = |dir: &Path, name: &str, body: &str| {
            use std::os::unix::fs::PermissionsExt;
            let path = dir.join(name);
            fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        };
        script(&complete, "initdb", "exit 0");
        script(&complete, "postgres", "echo 'postgres (PostgreSQL) 16.4'");
        script(&half, "postgres", "echo 'postgres (PostgreSQL) 14.1'");
        let found = installations(&[half, complete.clone(), complete.clone(), root.join("none")]);
        assert_eq!(
            found,
            [Binaries {
                dir: fs::canonicalize(&complete).unwrap(),
                major: 16
            }]
        );
        fs::remove_dir_all(&root).unwrap();
    }
}
