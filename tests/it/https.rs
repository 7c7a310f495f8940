//! Folio's own HTTPS (`folio serve --domain`) against a real ACME server: Pebble, Let's
//! Encrypt's test CA (Debian's `pebble`), started per test on this machine with roots of its
//! own, and resolving the blog's name here through its companion DNS server
//! (`pebble-challtestsrv`). What clients meet is checked with rustls (the chain under Pebble's
//! root), curl and Chromium.

use std::{
    io::{BufRead, BufReader},
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use sqlx::PgPool;

use crate::common::{
    self, BASE_URL, Post, add_post, add_user, database_url, free_port, log_in, mail::MailSink,
};

/// The blog's name in every test; Pebble's DNS answers 127.0.0.1 for it.
const NAME: &str = "blog.folio.test";

/// A folder of a test's own, removed when it ends.
pub(crate) struct Folder(pub(crate) PathBuf);

impl Folder {
    pub(crate) fn new(what: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "folio-{what}-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A little CA: a root and leaves it signs, as PEM.
pub(crate) struct TestCa {
    root_pem: String,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl TestCa {
    pub(crate) fn new(name: &str) -> Self {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let key = rcgen::KeyPair::generate().unwrap();
        let root = params.self_signed(&key).unwrap();
        Self {
            root_pem: root.pem(),
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// A leaf for `names`: its PEM certificate and PEM key.
    pub(crate) fn leaf(&self, names: &[&str]) -> (String, String) {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let params = rcgen::CertificateParams::new(names).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// Pebble and its DNS server, stopped when dropped.
struct Pebble {
    pebble: Option<Child>,
    dns: Child,
    folder: Folder,
    directory: String,
    /// The root Pebble's own API is served under (FOLIO_ACME_CA_ROOT).
    api_root: PathBuf,
    management: u16,
}

impl Pebble {
    /// Validates HTTP-01 on `http_port` (where Folio's plain HTTP listens); issues certificates
    /// that live `validity` seconds.
    async fn start(http_port: u16, validity: u64) -> Self {
        let folder = Folder::new("pebble");
        let api = TestCa::new("Pebble API test root");
        let (cert, key) = api.leaf(&["localhost", "127.0.0.1"]);
        let api_root = folder.0.join("api-root.pem");
        std::fs::write(&api_root, &api.root_pem).unwrap();
        std::fs::write(folder.0.join("api.pem"), cert).unwrap();
        std::fs::write(folder.0.join("api.key"), key).unwrap();
        let (dns_port, acme, management) = (free_port(), free_port(), free_port());
        let dns = Command::new("pebble-challtestsrv")
            .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
            .args(["-dns01", &format!("127.0.0.1:{dns_port}")])
            .args(["-management", &format!("127.0.0.1:{}", free_port())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("pebble is installed (apt-get install pebble; scripts/test does it)");
        let config = serde_json::json!({ "pebble": {
            "listenAddress": format!("127.0.0.1:{acme}"),
            "managementListenAddress": format!("127.0.0.1:{management}"),
            "certificate": folder.0.join("api.pem"),
            "privateKey": folder.0.join("api.key"),
            "httpPort": http_port,
            "tlsPort": free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
            "certificateValidityPeriod": validity,
        }});
        let config_path = folder.0.join("pebble.json");
        std::fs::write(&config_path, config.to_string()).unwrap();
        let mut pebble = Self {
            pebble: None,
            dns,
            directory: format!("https://localhost:{acme}/dir"),
            api_root,
            management,
            folder,
        };
        pebble.launch(&config_path, dns_port).await;
        pebble
    }

    async fn launch(&mut self, config: &Path, dns_port: u16) {
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(self.folder.0.join("pebble.log"))
            .unwrap();
        let child = Command::new("pebble")
            .arg("-config")
            .arg(config)
            .args(["-dnsserver", &format!("127.0.0.1:{dns_port}")])
            // No pause before validating, and no nonces refused at random: the tests are
            // about Folio, not about retrying a CA's chosen trouble.
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("pebble is installed (apt-get install pebble; scripts/test does it)");
        self.pebble = Some(child);
        let acme: u16 = self
            .directory
            .trim_start_matches("https://localhost:")
            .trim_end_matches("/dir")
            .parse()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        for port in [acme, self.management] {
            while tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_err()
            {
                assert!(Instant::now() < deadline, "pebble did not start");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// The CA is down (an outage).
    fn stop(&mut self) {
        if let Some(mut child) = self.pebble.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Certificates issued so far, as Pebble's log tells.
    fn issued(&self) -> usize {
        std::fs::read_to_string(self.folder.0.join("pebble.log"))
            .unwrap_or_default()
            .matches("Issued certificate")
            .count()
    }

    /// The root the certificates Pebble issues chain to (a new one each run), as a file.
    fn root(&self) -> PathBuf {
        let path = self.folder.0.join("root.pem");
        let output = Command::new("curl")
            .args(["-sf", "--cacert"])
            .arg(&self.api_root)
            .arg(format!("https://127.0.0.1:{}/roots/0", self.management))
            .output()
            .expect("curl is installed");
        assert!(output.status.success(), "cannot fetch Pebble's root");
        std::fs::write(&path, output.stdout).unwrap();
        path
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        self.stop();
        let _ = self.dns.kill();
        let _ = self.dns.wait();
    }
}

/// The compiled server with HTTPS on.
struct Blog {
    child: Child,
    https: u16,
    log: Option<std::thread::JoinHandle<Vec<String>>>,
}

impl Blog {
    /// `folio serve --domain blog.folio.test`, plain HTTP on `http_port`, HTTPS on a free port.
    fn start(pool: &PgPool, http_port: u16, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_folio"));
        command
            .arg("serve")
            .env("DATABASE_URL", database_url(&pool.connect_options()))
            .env("FOLIO_LOG", "info")
            .env("FOLIO_SECRET", "folio tests")
            .env("FOLIO_DOMAIN", NAME)
            .env("FOLIO_ADDR", format!("127.0.0.1:{http_port}"))
            .env("FOLIO_HTTPS_ADDR", "127.0.0.1:0");
        for (name, value) in env {
            command.env(name, value);
        }
        command.stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut seen = Vec::new();
        let https = loop {
            let mut line = String::new();
            assert!(
                stderr.read_line(&mut line).unwrap() > 0,
                "folio exited before listening: {seen:#?}"
            );
            seen.push(line.trim_end().to_owned());
            if let Some(at) = line.find("listening on https://127.0.0.1:") {
                let port: String = line[at + "listening on https://127.0.0.1:".len()..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                break port.parse().unwrap();
            }
        };
        let log = std::thread::spawn(move || {
            seen.extend(stderr.lines().map_while(Result::ok));
            seen
        });
        Self {
            child,
            https,
            log: Some(log),
        }
    }

    /// Stops it (SIGTERM) and returns its log. Waits without blocking the test's runtime: a
    /// client connection the test still holds must answer the server's GOAWAY for the
    /// graceful stop to finish.
    async fn stop(mut self) -> String {
        // SAFETY: kill has no memory effects.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        while self.child.try_wait().unwrap().is_none() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.log.take().unwrap().join().unwrap().join("\n")
    }
}

impl Drop for Blog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TLS client that trusts `root` only and checks the chain and the name, as browsers do.
fn connector(root: &Path) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(root).unwrap())
        .unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

type Tls = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

async fn connect(port: u16, root: &Path) -> Result<Tls, String> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    connector(root)
        .connect(ServerName::try_from(NAME).unwrap(), tcp)
        .await
        .map_err(|e| e.to_string())
}

/// The leaf certificate served, once the chain checks out under `root` (at most `within`).
async fn served_leaf(port: u16, root: &Path, within: Duration) -> Vec<u8> {
    let deadline = Instant::now() + within;
    loop {
        match connect(port, root).await {
            Ok(tls) => return leaf_of(&tls),
            Err(error) => {
                assert!(
                    Instant::now() < deadline,
                    "no valid certificate served: {error}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

fn leaf_of(tls: &Tls) -> Vec<u8> {
    tls.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

/// Waits until a leaf other than `old` is served.
async fn next_leaf(port: u16, root: &Path, old: &[u8], within: Duration) -> Vec<u8> {
    let deadline = Instant::now() + within;
    loop {
        let leaf = served_leaf(port, root, within).await;
        if leaf != old {
            return leaf;
        }
        assert!(Instant::now() < deadline, "the certificate was not renewed");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// An HTTP/2 connection, as a browser keeps one open.
async fn h2(tls: Tls) -> hyper::client::conn::http2::SendRequest<Empty<Bytes>> {
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(connection);
    sender
}

async fn h2_get(
    sender: &mut hyper::client::conn::http2::SendRequest<Empty<Bytes>>,
    port: u16,
    path: &str,
) -> hyper::Response<hyper::body::Incoming> {
    let request = hyper::Request::get(format!("https://{NAME}:{port}{path}"))
        .body(Empty::new())
        .unwrap();
    sender.send_request(request).await.unwrap()
}

/// curl against the blog's name, trusting `root` only: "HTTP-version status", or curl's error.
fn curl(port: u16, root: &Path, path: &str, extra: &[&str]) -> String {
    let output = Command::new("curl")
        .args([
            "-s",
            "-S",
            "-o",
            "/dev/null",
            "-w",
            "%{http_version} %{http_code}",
        ])
        .arg("--cacert")
        .arg(root)
        .args(["--resolve", &format!("{NAME}:{port}:127.0.0.1")])
        .args(extra)
        .arg(format!("https://{NAME}:{port}{path}"))
        .output()
        .expect("curl is installed");
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A plain HTTP request to the blog's name on `port`: the response's head.
async fn plain_head(port: u16, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {NAME}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await;
    let text = String::from_utf8_lossy(&response).into_owned();
    text.split("\r\n\r\n").next().unwrap_or_default().to_owned()
}

fn acme_env(pebble: &Pebble) -> Vec<(&'static str, String)> {
    vec![
        ("FOLIO_ACME_DIRECTORY", pebble.directory.clone()),
        ("FOLIO_ACME_CA_ROOT", pebble.api_root.display().to_string()),
        ("FOLIO_ACME_EMAIL", "owner@example.test".to_owned()),
    ]
}

fn pairs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[sqlx::test]
async fn a_blog_gets_its_certificate_and_readers_get_http2_under_the_cas_root(pool: PgPool) {
    let (_, path) = add_post(
        &pool,
        Post::published("Over TLS", time::macros::datetime!(2026-03-01 09:00 UTC))
            .body("Sealed in transit."),
    )
    .await;
    let http = free_port();
    let pebble = Pebble::start(http, 86_400).await;
    let mut env = acme_env(&pebble);
    env.push(("FOLIO_HSTS_MAX_AGE", "31536000".to_owned()));
    let blog = Blog::start(&pool, http, &pairs(&env));
    let root = pebble.root();

    let leaf = served_leaf(blog.https, &root, Duration::from_secs(60)).await;
    let (_, parsed) = x509_parser::parse_x509_certificate(&leaf).unwrap();
    assert!(
        parsed.issuer().to_string().contains("Pebble"),
        "{}",
        parsed.issuer()
    );

    // curl negotiates HTTP/2 and checks the chain under Pebble's root; HTTP/1.1 is kept.
    assert_eq!(curl(blog.https, &root, &path, &[]), "2 200");
    assert_eq!(curl(blog.https, &root, &path, &["--http1.1"]), "1.1 200");

    // Over HTTP/2 the page is the page, with HSTS as asked.
    let mut sender = h2(connect(blog.https, &root).await.unwrap()).await;
    let response = h2_get(&mut sender, blog.https, &path).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let body = String::from_utf8_lossy(&body);
    assert!(body.contains("Sealed in transit."), "{body}");
    // Links and feeds name the blog at its HTTPS address.
    assert!(
        body.contains(&format!("https://{NAME}:{}{path}", blog.https)),
        "the canonical link is the HTTPS address"
    );

    // HTTP/2 names the host in :authority, not Host: the first-run setup still answers only
    // at the blog's own name (another name pointed here cannot make the first admin).
    assert_eq!(
        h2_get(&mut sender, blog.https, "/admin/setup")
            .await
            .status(),
        200
    );
    let foreign = hyper::Request::get(format!(
        "https://rebound.example:{}/admin/setup",
        blog.https
    ))
    .body(Empty::new())
    .unwrap();
    assert_eq!(sender.send_request(foreign).await.unwrap().status(), 403);

    // Plain HTTP sends readers to the same address over HTTPS, query and all.
    let head = plain_head(http, "/search?q=tls").await;
    assert!(head.starts_with("HTTP/1.1 308"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains(&format!(
            "location: https://{NAME}:{}/search?q=tls",
            blog.https
        )),
        "{head}"
    );
    // ...but never the CA's challenges, which are answered on plain HTTP (a finished one is gone).
    let challenge = plain_head(http, "/.well-known/acme-challenge/no-such-token").await;
    assert!(challenge.starts_with("HTTP/1.1 404"), "{challenge}");
    assert_eq!(pebble.issued(), 1);
    let log = blog.stop().await;
    assert!(log.contains("serving a certificate"), "{log}");
}

#[sqlx::test]
async fn a_restart_serves_the_stored_certificate_without_asking_the_ca(pool: PgPool) {
    let http = free_port();
    let pebble = Pebble::start(http, 86_400).await;
    let env = acme_env(&pebble);
    let root = pebble.root();
    let first = Blog::start(&pool, http, &pairs(&env));
    let leaf = served_leaf(first.https, &root, Duration::from_secs(60)).await;
    first.stop().await;

    let again = Blog::start(&pool, http, &pairs(&env));
    // Served from the first handshake: the certificate came from the database.
    let tls = connect(again.https, &root).await.expect("served at once");
    assert_eq!(leaf_of(&tls), leaf);
    // A connection that never speaks HTTP would hold the graceful stop to its limit.
    drop(tls);
    let log = again.stop().await;
    assert!(!log.contains("asking the CA"), "{log}");
    assert_eq!(pebble.issued(), 1);
    let accounts: i64 = sqlx::query_scalar("select count(*) from acme_accounts")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(accounts, 1, "one account, made once");
}

#[sqlx::test]
async fn a_short_lived_certificate_is_renewed_while_connections_stay_open(pool: PgPool) {
    let http = free_port();
    // Renewed with a third of its life left: 20 seconds in.
    let pebble = Pebble::start(http, 30).await;
    let blog = Blog::start(&pool, http, &pairs(&acme_env(&pebble)));
    let root = pebble.root();
    let first = served_leaf(blog.https, &root, Duration::from_secs(60)).await;
    let mut kept = h2(connect(blog.https, &root).await.unwrap()).await;
    assert_eq!(h2_get(&mut kept, blog.https, "/").await.status(), 200);

    let second = next_leaf(blog.https, &root, &first, Duration::from_secs(60)).await;
    assert_ne!(first, second);
    // The connection opened before the renewal goes on as it was.
    assert_eq!(h2_get(&mut kept, blog.https, "/").await.status(), 200);
    assert!(pebble.issued() >= 2);
    let log = blog.stop().await;
    assert!(log.matches("asking the CA").count() >= 2, "{log}");
}

#[sqlx::test]
async fn while_the_ca_is_down_the_old_certificate_keeps_serving_and_the_failure_is_kept(
    pool: PgPool,
) {
    let http = free_port();
    // Due for renewal 30 seconds in, expiring at 45.
    let mut pebble = Pebble::start(http, 45).await;
    let blog = Blog::start(&pool, http, &pairs(&acme_env(&pebble)));
    let root = pebble.root();
    let leaf = served_leaf(blog.https, &root, Duration::from_secs(60)).await;
    pebble.stop();

    let deadline = Instant::now() + Duration::from_secs(60);
    let (failures, error, retry) = loop {
        let row: Option<(i32, Option<String>, Option<time::OffsetDateTime>)> = sqlx::query_as(
            "select failures, last_error, next_attempt_at from tls_certificates where failures > 0",
        )
        .fetch_optional(&pool)
        .await
        .unwrap();
        if let Some(row) = row {
            break row;
        }
        assert!(Instant::now() < deadline, "no failed renewal recorded");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(failures, 1);
    let error = error.unwrap();
    assert!(
        error.contains("localhost"),
        "the reason names the CA: {error}"
    );
    // The next attempt waits (a minute after the first failure), it does not hammer the CA.
    let wait = retry.unwrap() - time::OffsetDateTime::now_utc();
    assert!(wait > time::Duration::seconds(40), "{wait}");
    // The old certificate, still valid, is what readers get.
    let tls = connect(blog.https, &root)
        .await
        .expect("the old certificate still checks out");
    assert_eq!(leaf_of(&tls), leaf);
    drop(tls);
    blog.stop().await;
}

#[sqlx::test]
async fn two_processes_on_one_database_share_one_certificate(pool: PgPool) {
    let http = free_port();
    let pebble = Pebble::start(http, 86_400).await;
    let env = acme_env(&pebble);
    // Both start at once; only the first is where the CA looks, and either may be the one
    // that asks: the other answers the challenge from the database.
    let first = Blog::start(&pool, http, &pairs(&env));
    let second = Blog::start(&pool, free_port(), &pairs(&env));
    let root = pebble.root();
    let a = served_leaf(first.https, &root, Duration::from_secs(60)).await;
    let b = served_leaf(second.https, &root, Duration::from_secs(60)).await;
    assert_eq!(a, b, "both serve the same certificate");
    assert_eq!(pebble.issued(), 1, "one order for both");
    first.stop().await;
    second.stop().await;
}

#[sqlx::test]
async fn a_certificate_from_files_is_served_and_read_again_when_replaced(pool: PgPool) {
    let folder = Folder::new("tls-files");
    let ca = TestCa::new("Folio test CA");
    let root = folder.0.join("root.pem");
    std::fs::write(&root, &ca.root_pem).unwrap();
    let (cert_path, key_path) = (folder.0.join("cert.pem"), folder.0.join("key.pem"));
    let (cert, key) = ca.leaf(&[NAME]);
    std::fs::write(&cert_path, cert).unwrap();
    std::fs::write(&key_path, key).unwrap();
    let http = free_port();
    let files = [
        ("FOLIO_TLS_CERT", cert_path.to_str().unwrap()),
        ("FOLIO_TLS_KEY", key_path.to_str().unwrap()),
    ];
    let blog = Blog::start(&pool, http, &files);
    let first = served_leaf(blog.https, &root, Duration::from_secs(5)).await;

    // Replaced as a renewal hook does, then SIGHUP for it to be read now.
    let (cert, key) = ca.leaf(&[NAME]);
    std::fs::write(&key_path, key).unwrap();
    std::fs::write(&cert_path, cert).unwrap();
    // SAFETY: kill has no memory effects.
    unsafe { libc::kill(blog.child.id() as i32, libc::SIGHUP) };
    let second = next_leaf(blog.https, &root, &first, Duration::from_secs(10)).await;
    assert_ne!(first, second);
    assert!(plain_head(http, "/").await.starts_with("HTTP/1.1 308"));
    blog.stop().await;

    // A key that is not the certificate's stops the start with a reason.
    let (_, other_key) = ca.leaf(&[NAME]);
    std::fs::write(&key_path, other_key).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_folio"))
        .arg("serve")
        .env("DATABASE_URL", database_url(&pool.connect_options()))
        .env("FOLIO_DOMAIN", NAME)
        .env("FOLIO_ADDR", "127.0.0.1:0")
        .env("FOLIO_HTTPS_ADDR", "127.0.0.1:0")
        .envs(files)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the private key does not belong to the certificate"),
        "{stderr}"
    );
}

#[sqlx::test]
async fn a_domain_that_is_not_a_name_is_refused_at_start(pool: PgPool) {
    let output = Command::new(env!("CARGO_BIN_EXE_folio"))
        .arg("serve")
        .env("DATABASE_URL", database_url(&pool.connect_options()))
        .env("FOLIO_DOMAIN", "https://blog.example.org/")
        .env("FOLIO_ADDR", "127.0.0.1:0")
        .env("FOLIO_HTTPS_ADDR", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is not a domain name"), "{stderr}");
}

/// Renewals that keep failing are shown on the HTTPS page and mailed to the admins, once.
#[sqlx::test]
async fn renewals_that_keep_failing_are_shown_and_mailed_to_admins(pool: PgPool) {
    add_user(&pool, "admin@example.test", "The admin", "admin").await;
    add_user(&pool, "editor@example.test", "The editor", "editor").await;
    // Two attempts already failed; the third is due now, at a CA that is not there.
    sqlx::query(
        "insert into tls_certificates (names, failures, last_error, last_error_at, next_attempt_at)
         values ($1, 2, 'earlier', now() - interval '2 minutes', now() - interval '1 second')",
    )
    .bind(NAME)
    .execute(&pool)
    .await
    .unwrap();
    let sink = MailSink::start();
    let config = folio::config::Config {
        mail: Some(sink.config()),
        tls: Some(folio::tls::TlsConfig {
            names: vec![NAME.to_owned()],
            source: folio::tls::Source::Acme(folio::tls::AcmeConfig {
                directory: format!("https://127.0.0.1:{}/dir", free_port()),
                email: None,
                ca_root: None,
            }),
            https_port: 443,
            hsts_max_age: 0,
        }),
        ..folio::config::Config::with_base_url(BASE_URL)
    };
    let state = folio::AppState::start(pool.clone(), config, common::secret());
    let app = folio::app(state);

    let mail = sink.wait_for(1).await;
    assert_eq!(mail.len(), 1, "to the admin only");
    assert_eq!(mail[0].rcpt_tos, ["admin@example.test"]);
    assert!(mail[0].subject().contains("no HTTPS certificate yet"));
    assert!(
        mail[0].text.contains("3 attempts in a row"),
        "{}",
        mail[0].text
    );
    assert!(mail[0].text.contains("/admin/https"));

    let admin = log_in(&app, "admin@example.test").await;
    let page = admin.get(&app, "/admin/https").await;
    assert_eq!(page.status, 200);
    let text = page.text();
    assert!(text.contains(NAME), "{text}");
    assert!(text.contains("No certificate yet"), "{text}");
    assert!(text.contains("3 failed attempts in a row"), "{text}");
    assert!(
        text.contains("127.0.0.1"),
        "the reason names the CA: {text}"
    );
    // The next failure, a day later at most, is not mailed again the same day.
    let warned: Option<time::OffsetDateTime> =
        sqlx::query_scalar("select warned_at from tls_certificates")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(warned.is_some());
}

#[sqlx::test]
async fn the_https_page_shows_the_certificate_served_from_files(pool: PgPool) {
    add_user(&pool, "admin@example.test", "The admin", "admin").await;
    let folder = Folder::new("tls-page");
    let ca = TestCa::new("Folio test CA");
    let (cert, key) = ca.leaf(&[NAME, "www.blog.folio.test"]);
    let (cert_path, key_path) = (folder.0.join("cert.pem"), folder.0.join("key.pem"));
    std::fs::write(&cert_path, cert).unwrap();
    std::fs::write(&key_path, key).unwrap();
    let config = folio::config::Config {
        tls: Some(folio::tls::TlsConfig {
            names: vec![NAME.to_owned()],
            source: folio::tls::Source::Files {
                cert: cert_path.clone(),
                key: key_path.clone(),
            },
            https_port: 443,
            hsts_max_age: 0,
        }),
        metrics_token: Some("scraper".to_owned()),
        ..folio::config::Config::with_base_url(BASE_URL)
    };
    let state = folio::AppState::start(pool.clone(), config, common::secret());
    let https = state.https.clone().unwrap();
    folio::tls::files::load(&https, &cert_path, &key_path).unwrap();
    let app = folio::app(state);
    let admin = log_in(&app, "admin@example.test").await;
    let text = admin.get(&app, "/admin/https").await.text();
    assert!(text.contains("Folio test CA"), "{text}");
    assert!(text.contains("www.blog.folio.test"), "{text}");
    assert!(text.contains("days left"), "{text}");
    assert!(text.contains("cert.pem"), "{text}");
    // Monitoring sees when it expires.
    let expiry = https.serving().unwrap().not_after.unix_timestamp();
    let metrics = common::get_with(&app, "/metrics", &[("authorization", "Bearer scraper")])
        .await
        .text();
    assert!(
        metrics.contains(&format!(
            "folio_tls_certificate_expiry_timestamp_seconds {expiry}"
        )),
        "{metrics}"
    );
}

#[sqlx::test]
async fn chromium_opens_the_blog_over_http2_trusting_the_cas_root(pool: PgPool) {
    add_post(
        &pool,
        Post::published(
            "Seen in a browser",
            time::macros::datetime!(2026-03-02 09:00 UTC),
        ),
    )
    .await;
    let http = free_port();
    let pebble = Pebble::start(http, 86_400).await;
    let blog = Blog::start(&pool, http, &pairs(&acme_env(&pebble)));
    let root = pebble.root();
    served_leaf(blog.https, &root, Duration::from_secs(60)).await;
    let rules = format!("--host-resolver-rules=MAP {NAME} 127.0.0.1");
    let (_driver, browser) =
        crate::common::browser::start_browser_trusting(Some(&root), &[&rules]).await;

    // The plain address leads to HTTPS, where Chromium checks the chain and speaks HTTP/2.
    browser
        .goto(&format!("http://{NAME}:{http}/"))
        .await
        .unwrap();
    let url = browser.current_url().await.unwrap();
    assert_eq!(url.as_str(), format!("https://{NAME}:{}/", blog.https));
    let protocol = browser
        .execute(
            "return performance.getEntriesByType('navigation')[0].nextHopProtocol",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(protocol, "h2");
    let text = browser
        .find(fantoccini::Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("Seen in a browser"), "{text}");
    browser.close().await.unwrap();
    blog.stop().await;
}
