//! HTTPS by itself (`folio serve --domain`): the certificate this process serves, where it comes
//! from (an ACME CA, `acme`, or files the operator keeps, `files`), and what rustls is given.
//! A service: reads and writes through `db/`, tells admins through `mail/`, never imports
//! `http/`. The connection loop (`http::serve`) takes `Https::server_config`.

pub mod acme;
pub mod certificate;
pub mod files;

use std::{
    path::PathBuf,
    sync::{Arc, RwLock},
};

use rustls::{
    ServerConfig,
    server::{ClientHello, ResolvesServerCert},
    sign::CertifiedKey,
};
use time::OffsetDateTime;

use certificate::{About, Loaded};

/// Let's Encrypt's production directory, the default CA.
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";

/// How HTTPS is set up (`FOLIO_DOMAIN`, `FOLIO_TLS_*`, `FOLIO_ACME_*`).
#[derive(Debug, Clone)]
pub struct TlsConfig {
    /// The blog's names, as given: the first is the one in `FOLIO_BASE_URL`'s default.
    pub names: Vec<String>,
    pub source: Source,
    /// HTTPS's port as readers reach it (the redirect from plain HTTP names it unless 443).
    pub https_port: u16,
    /// `Strict-Transport-Security: max-age=…` on HTTPS answers; 0: none.
    pub hsts_max_age: u64,
}

impl TlsConfig {
    /// The key a set of names' certificate is kept under: sorted, lower case, comma-separated.
    pub fn names_key(&self) -> String {
        let mut names: Vec<String> = self.names.iter().map(|n| n.to_ascii_lowercase()).collect();
        names.sort();
        names.dedup();
        names.join(",")
    }
}

#[derive(Debug, Clone)]
pub enum Source {
    Acme(AcmeConfig),
    /// A chain and key in PEM files (`FOLIO_TLS_CERT`, `FOLIO_TLS_KEY`), read again on change.
    Files {
        cert: PathBuf,
        key: PathBuf,
    },
}

#[derive(Debug, Clone)]
pub struct AcmeConfig {
    /// The CA's directory URL (`FOLIO_ACME_DIRECTORY`).
    pub directory: String,
    /// The account's contact (`FOLIO_ACME_EMAIL`).
    pub email: Option<String>,
    /// A PEM root to trust for the CA's own HTTPS (a private CA), besides the public roots.
    pub ca_root: Option<PathBuf>,
}

/// This process's HTTPS: the certificate it serves (swapped in place, so connections open
/// keep theirs and new handshakes get the new one) and the last trouble getting one.
#[derive(Debug)]
pub struct Https {
    pub config: TlsConfig,
    serving: RwLock<Option<Loaded>>,
    trouble: RwLock<Option<Trouble>>,
}

/// Why this process could not get or load a certificate, last time it tried.
#[derive(Debug, Clone)]
pub struct Trouble {
    pub error: String,
    pub at: OffsetDateTime,
}

impl Https {
    pub fn new(config: TlsConfig) -> Self {
        Self {
            config,
            serving: RwLock::new(None),
            trouble: RwLock::new(None),
        }
    }

    /// Whether a certificate is being served: until then plain HTTP serves the blog rather
    /// than sending readers to an HTTPS that cannot answer.
    pub fn is_ready(&self) -> bool {
        self.serving.read().is_ok_and(|serving| serving.is_some())
    }

    /// What is served, for the admin.
    pub fn serving(&self) -> Option<About> {
        self.serving
            .read()
            .ok()
            .and_then(|serving| serving.as_ref().map(|loaded| loaded.about.clone()))
    }

    pub fn trouble(&self) -> Option<Trouble> {
        self.trouble.read().ok().and_then(|t| t.clone())
    }

    /// Serves `loaded` from the next handshake on.
    pub fn install(&self, loaded: Loaded) {
        tracing::info!(
            names = ?loaded.about.names,
            issuer = %loaded.about.issuer,
            not_after = %loaded.about.not_after,
            "serving a certificate"
        );
        if let Ok(mut serving) = self.serving.write() {
            *serving = Some(loaded);
        }
        self.set_trouble(None);
    }

    pub fn set_trouble(&self, trouble: Option<Trouble>) {
        if let Ok(mut slot) = self.trouble.write() {
            *slot = trouble;
        }
    }

    /// The rustls configuration: TLS 1.2 and 1.3 with rustls' safe defaults, HTTP/2 offered
    /// first by ALPN with HTTP/1.1 kept, session tickets for readers coming back.
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<ServerConfig>, rustls::Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        config.ticketer = rustls::crypto::ring::Ticketer::new()?;
        config.session_storage = rustls::server::ServerSessionMemoryCache::new(4096);
        Ok(Arc::new(config))
    }
}

impl ResolvesServerCert for Https {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.serving
            .read()
            .ok()
            .and_then(|serving| serving.as_ref().map(|loaded| loaded.key.clone()))
    }
}
