//! Command line and environment: every setting is a flag and a `FOLIO_*` (or `DATABASE_URL`) variable.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand};

/// Every option's default, written once: clap shows and applies them, and `Config` (used as it
/// is by the tests) starts from the same values.
pub mod defaults {
    pub const ADDR: &str = "127.0.0.1:8080";
    /// Plain HTTP's address when Folio serves HTTPS itself (the CA's HTTP-01 challenge).
    pub const HTTP_ADDR_WITH_TLS: &str = "[::]:80";
    pub const HTTPS_ADDR: &str = "[::]:443";
    /// The blog's URL when served at `ADDR` (`folio export` has no address of its own).
    pub const BASE_URL: &str = "http://127.0.0.1:8080";
    pub const LOG: &str = "info,sqlx=warn";
    pub const COMMENT_RATE_LIMIT: u32 = 5;
    /// Half the database pool (16): in a wave of comments, readers' pages keep the other half.
    pub const COMMENT_POSTS_AT_ONCE: u32 = 8;
    /// With the process itself (about 20 MB), a full cache stays under 40 MB (`bench/run`).
    pub const PAGE_CACHE_MB: usize = 12;
    /// A page is kept from its second request: a crawler's one-off pages cost what rendering
    /// costs and do not crowd out the pages readers come back to.
    pub const PAGE_CACHE_MIN_USES: u32 = 2;
    /// Beside where Folio is started, as a checkout or a compose project keeps its data.
    pub const DATA_DIR: &str = "folio-data";
    pub const MEDIA_CACHE_MB: usize = 8;
    pub const CLIENT_TIMEOUT_SECS: u64 = 10;
    pub const IMPORT_MAX_MB: usize = 1024;
    pub const MAIL_RATE: u32 = 60;
    /// URLs per sitemap file (the protocol's limit).
    pub const SITEMAP_CHUNK: i64 = 50_000;
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Parser)]
#[command(
    name = "folio",
    version,
    about = "A self-hosted blog server on PostgreSQL"
)]
pub struct Cli {
    /// PostgreSQL connection URL, e.g. postgres://folio:folio@127.0.0.1:5432/folio
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Without DATABASE_URL, the folder of Folio's own PostgreSQL database (made on first use)
    #[arg(long, env = "FOLIO_DATA_DIR", global = true, default_value = defaults::DATA_DIR)]
    pub data_dir: std::path::PathBuf,

    /// Log filter in tracing's syntax, e.g. `info` or `folio=debug,tower_http=info`
    #[arg(
        long,
        env = "FOLIO_LOG",
        global = true,
        default_value = defaults::LOG
    )]
    pub log: String,

    /// `text` (readable on a terminal) or `json` (one object per line, for log collectors)
    #[arg(long, env = "FOLIO_LOG_FORMAT", global = true, default_value = "text")]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // Parsed once per run: boxing would save nothing.
pub enum Command {
    /// Apply pending migrations, then serve the blog
    Serve(ServeArgs),
    /// Apply pending migrations and exit
    Migrate,
    /// Fill the blog with demo posts, labels and comments
    Demo(DemoArgs),
    /// Manage the people who can log in to /admin
    #[command(subcommand)]
    User(UserCommand),
    /// Import a Blogger or WordPress export (running it again adds nothing twice)
    Import(ImportArgs),
    /// Write the whole blog to standard output as a WordPress (WXR) or Blogger (Atom) export
    Export(ExportArgs),
    /// Start or stop Folio's own PostgreSQL (used when DATABASE_URL is not set) on its own,
    /// e.g. for psql or pg_dump
    #[command(subcommand)]
    Postgres(PostgresCommand),
    /// The learning spam filter
    #[command(subcommand)]
    Spam(SpamCommand),
}

#[derive(Debug, Clone, Copy, Subcommand)]
pub enum SpamCommand {
    /// Count the filter's model again from every comment that taught it (after an upgrade
    /// of its tokenizer, or to check it)
    Retrain {
        /// First let every approved comment teach ham and every spam comment spam, as if a
        /// moderator had decided each one (for comments from before the filter)
        #[arg(long)]
        from_status: bool,
    },
    /// Show what the filter has learned
    Status,
}

#[derive(Debug, Clone, Copy, Subcommand)]
pub enum PostgresCommand {
    /// Start it and keep it running until `folio postgres stop`; prints its DATABASE_URL
    Start,
    /// Stop it (refused while a Folio process uses it)
    Stop,
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// Which kind of export the file is
    pub format: crate::import::Format,
    /// The export file
    pub file: std::path::PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    pub format: crate::export::Format,
    /// Public URL of the blog, for the links in the export
    #[arg(long, env = "FOLIO_BASE_URL", default_value = defaults::BASE_URL)]
    pub base_url: String,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user who can log in (the password is read from standard input)
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin, editor or author
        #[arg(long, default_value = "author")]
        role: String,
        /// Read the password from standard input (one line)
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Set a user's password (read from standard input)
    Passwd {
        #[arg(long)]
        email: String,
        /// Read the password from standard input (one line)
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Remove a user's passkeys, authenticator app and recovery codes, and sign them out
    /// everywhere (for someone locked out, the last admin included)
    ResetSecondSteps {
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on for plain HTTP (default 127.0.0.1:8080; [::]:80 with HTTPS, where
    /// it answers the CA's challenges and sends readers to HTTPS)
    #[arg(long, env = "FOLIO_ADDR")]
    pub addr: Option<SocketAddr>,

    /// The blog's domain names, comma-separated (e.g. blog.example.org,www.blog.example.org):
    /// Folio serves HTTPS itself, with a certificate it gets and renews by ACME (or the files
    /// FOLIO_TLS_CERT and FOLIO_TLS_KEY), and FOLIO_BASE_URL defaults to https://the first name
    #[arg(long, env = "FOLIO_DOMAIN", value_delimiter = ',')]
    pub domain: Vec<String>,

    /// Address to listen on for HTTPS (with FOLIO_DOMAIN)
    #[arg(long, env = "FOLIO_HTTPS_ADDR", default_value = defaults::HTTPS_ADDR)]
    pub https_addr: SocketAddr,

    /// The ACME CA's directory URL (default: Let's Encrypt; e.g. ZeroSSL's, or a private CA's)
    #[arg(long, env = "FOLIO_ACME_DIRECTORY", default_value = crate::tls::LETS_ENCRYPT)]
    pub acme_directory: String,

    /// The contact address for the ACME account (the CA's notices go there)
    #[arg(long, env = "FOLIO_ACME_EMAIL")]
    pub acme_email: Option<String>,

    /// A PEM root certificate to trust for the CA's own HTTPS (a private CA's)
    #[arg(long, env = "FOLIO_ACME_CA_ROOT")]
    pub acme_ca_root: Option<std::path::PathBuf>,

    /// A PEM certificate chain to serve instead of asking a CA (read again when it changes,
    /// or on SIGHUP)
    #[arg(long, env = "FOLIO_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,

    /// The PEM private key of FOLIO_TLS_CERT
    #[arg(long, env = "FOLIO_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,

    /// Send Strict-Transport-Security with this max-age (seconds) on HTTPS answers; 0 (the
    /// default) sends none. Browsers then refuse plain HTTP for that long: turn it on once
    /// HTTPS works (31536000 is a year)
    #[arg(long, env = "FOLIO_HSTS_MAX_AGE", default_value_t = 0)]
    pub hsts_max_age: u64,

    /// Public URL of the blog (for absolute links in feeds and canonical links);
    /// defaults to http://ADDR
    #[arg(long, env = "FOLIO_BASE_URL")]
    pub base_url: Option<String>,

    /// Key for signing comment forms and cookies; by default one is generated and kept in the
    /// database. Set it to keep signatures valid across a database restore into a new blog.
    #[arg(long, env = "FOLIO_SECRET", hide_env_values = true)]
    pub secret: Option<String>,

    /// Take the client address from the last X-Forwarded-For entry (set this only behind a
    /// reverse proxy that sets that header)
    #[arg(long, env = "FOLIO_TRUST_PROXY", default_value_t = false)]
    pub trust_proxy: bool,

    /// Comments one client address may post per minute (0: no limit; for benchmarks only)
    #[arg(long, env = "FOLIO_COMMENT_RATE_LIMIT", default_value_t = defaults::COMMENT_RATE_LIMIT)]
    pub comment_rate_limit: u32,

    /// Comment POSTs worked on at once; more wait a second for their turn, then are answered
    /// 503 with the text kept
    #[arg(long, env = "FOLIO_COMMENT_POSTS_AT_ONCE", default_value_t = defaults::COMMENT_POSTS_AT_ONCE)]
    pub comment_posts_at_once: u32,

    /// Memory for rendered public pages, in MiB (0 turns the page cache off)
    #[arg(long, env = "FOLIO_PAGE_CACHE_MB", default_value_t = defaults::PAGE_CACHE_MB)]
    pub page_cache_mb: usize,

    /// Requests a page must have before the page cache keeps it (1: from the first)
    #[arg(long, env = "FOLIO_PAGE_CACHE_MIN_USES", default_value_t = defaults::PAGE_CACHE_MIN_USES)]
    pub page_cache_min_uses: u32,

    /// Memory for uploaded images, in MiB (0 reads every image from the database)
    #[arg(long, env = "FOLIO_MEDIA_CACHE_MB", default_value_t = defaults::MEDIA_CACHE_MB)]
    pub media_cache_mb: usize,

    /// Seconds a client has to send a request's headers, and again its body (an idle
    /// keep-alive connection is closed after this too)
    #[arg(long, env = "FOLIO_CLIENT_TIMEOUT", default_value_t = defaults::CLIENT_TIMEOUT_SECS)]
    pub client_timeout: u64,

    /// The largest export file the admin page accepts for import, in MiB
    #[arg(long, env = "FOLIO_IMPORT_MAX_MB", default_value_t = defaults::IMPORT_MAX_MB)]
    pub import_max_mb: usize,

    /// Serve /metrics (Prometheus) to scrapers that send this as a bearer token
    #[arg(long, env = "FOLIO_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// The SMTP server mail goes out through: smtp://user:pass@host:587 (STARTTLS),
    /// smtps://user:pass@host:465 (TLS), or smtp://127.0.0.1:25?tls=none for a local relay.
    /// Without it, every mail feature stays off.
    #[arg(long, env = "FOLIO_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// PostgreSQL streaming replicas for public page reads, comma-separated single-host URLs. Writes, the
    /// admin area and anything that must be current use DATABASE_URL (the primary).
    #[arg(long, env = "FOLIO_DATABASE_READ_URL", hide_env_values = true)]
    pub database_read_url: Option<String>,

    /// Seconds a replica may stand behind the primary before reads skip it.
    #[arg(long, env = "FOLIO_REPLICA_MAX_LAG", default_value_t = crate::store::replicas::DEFAULT_MAX_LAG_SECS)]
    pub replica_max_lag: u64,

    /// Seconds a CDN may keep a public page (`s-maxage`); 0 (the default) sends no CDN headers.
    #[arg(long, env = "FOLIO_CDN_MAX_AGE", default_value_t = 0)]
    pub cdn_max_age: u64,

    /// Seconds a CDN may go on serving a page past `FOLIO_CDN_MAX_AGE` while it fetches it
    /// again (`stale-while-revalidate`).
    #[arg(long, env = "FOLIO_CDN_STALE", default_value_t = 60)]
    pub cdn_stale: u64,

    /// A URL Folio calls (POST) after a change, so a CDN forgets what changed: `{tags}` in it
    /// becomes the space-separated cache tags (URL-encoded), e.g.
    /// https://cdn.example/purge?tags={tags}. Also given the tags as a JSON body.
    #[arg(long, env = "FOLIO_CDN_PURGE_URL", hide_env_values = true)]
    pub cdn_purge_url: Option<String>,

    /// An `Authorization` header value for the purge call (e.g. `Bearer abc`).
    #[arg(long, env = "FOLIO_CDN_PURGE_AUTH", hide_env_values = true)]
    pub cdn_purge_auth: Option<String>,

    /// The sender, e.g. `Garden Notes <blog@example.org>` (default: folio@ the blog's host,
    /// named after the blog)
    #[arg(long, env = "FOLIO_MAIL_FROM")]
    pub mail_from: Option<String>,

    /// Messages a minute each Folio process sends at most
    #[arg(long, env = "FOLIO_MAIL_RATE", default_value_t = defaults::MAIL_RATE)]
    pub mail_rate: u32,

    /// Lets the fediverse side fetch from and deliver to private and loopback addresses, and
    /// federate from a plain-HTTP base URL: for tests and a fediverse on one machine only.
    #[arg(long, env = "FOLIO_FEDIVERSE_ALLOW_LOCAL", default_value_t = false)]
    pub fediverse_allow_local: bool,
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// How many posts to write
    #[arg(long, default_value_t = 60)]
    pub posts: u32,

    /// How many approved comments on each post
    #[arg(long, default_value_t = 3)]
    pub comments: u32,

    /// Seed for the generator: the same seed writes the same blog
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// What the HTTP layer needs to know about how it is deployed.
#[derive(Debug, Clone)]
pub struct Config {
    /// Absolute URL without a trailing slash, e.g. `https://blog.example.org`.
    pub base_url: String,
    pub trust_proxy: bool,
    /// Comments per client address per minute; 0 means no limit.
    pub comment_rate_limit: u32,
    /// Comment POSTs worked on at once (0 counts as 1).
    pub comment_posts_at_once: u32,
    /// URLs per sitemap file before `/sitemap.xml` becomes an index (the protocol's limit).
    pub sitemap_chunk: i64,
    /// Bytes of rendered pages kept in memory; 0 for none.
    pub page_cache_bytes: usize,
    /// Requests a page must have before it is kept (`defaults::PAGE_CACHE_MIN_USES`).
    pub page_cache_min_uses: u32,
    /// Bytes of uploaded images kept in memory; 0 for none.
    pub media_cache_bytes: usize,
    /// The bearer token `/metrics` asks for; without one there is no `/metrics`.
    pub metrics_token: Option<String>,
    /// How long a client may take to send a request's headers, and its body.
    pub client_timeout: std::time::Duration,
    /// The largest upload `/admin/import` takes.
    pub import_max_bytes: usize,
    /// How mail goes out; none: every mail feature is off.
    pub mail: Option<crate::mail::MailConfig>,
    /// Replicas public reads may use (`FOLIO_DATABASE_READ_URL`).
    pub read_replicas: Vec<sqlx::postgres::PgConnectOptions>,
    pub replica_max_lag: std::time::Duration,
    /// What a CDN in front is told and asked (`FOLIO_CDN_*`); none: no CDN headers.
    pub cdn: Option<crate::page_cache::cdn::CdnConfig>,
    /// HTTPS served by Folio itself (`FOLIO_DOMAIN`); none: plain HTTP only (or a proxy's).
    pub tls: Option<crate::tls::TlsConfig>,
    /// `FOLIO_FEDIVERSE_ALLOW_LOCAL`: a fediverse on this machine's own addresses (tests).
    pub fediverse_allow_local: bool,
}

impl ServeArgs {
    /// The plain HTTP address: `FOLIO_ADDR`, or its default (port 80 when serving HTTPS).
    pub fn http_addr(&self) -> SocketAddr {
        let default = if self.serves_https() {
            defaults::HTTP_ADDR_WITH_TLS
        } else {
            defaults::ADDR
        };
        self.addr
            .unwrap_or_else(|| default.parse().expect("a valid default address"))
    }

    /// Whether Folio serves HTTPS itself.
    pub fn serves_https(&self) -> bool {
        self.domain.iter().any(|name| !name.trim().is_empty()) || self.tls_cert.is_some()
    }

    /// HTTPS's settings, given the port its listener got; none without `FOLIO_DOMAIN`.
    fn tls(&self, https_port: u16) -> Result<Option<crate::tls::TlsConfig>, String> {
        if !self.serves_https() {
            return Ok(None);
        }
        let names: Vec<String> = self
            .domain
            .iter()
            .map(|name| name.trim().trim_end_matches('.').to_ascii_lowercase())
            .filter(|name| !name.is_empty())
            .collect();
        if names.is_empty() {
            return Err(
                "FOLIO_TLS_CERT needs FOLIO_DOMAIN: the names the certificate is for".into(),
            );
        }
        if let Some(bad) = names.iter().find(|name| !is_domain_name(name)) {
            return Err(format!(
                "FOLIO_DOMAIN: {bad:?} is not a domain name (give names only, like blog.example.org, without https:// or a port)"
            ));
        }
        let source = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => crate::tls::Source::Files {
                cert: cert.clone(),
                key: key.clone(),
            },
            _ => crate::tls::Source::Acme(crate::tls::AcmeConfig {
                directory: self.acme_directory.trim().to_owned(),
                email: self
                    .acme_email
                    .clone()
                    .filter(|email| !email.trim().is_empty()),
                ca_root: self.acme_ca_root.clone(),
            }),
        };
        Ok(Some(crate::tls::TlsConfig {
            names,
            source,
            https_port,
            hsts_max_age: self.hsts_max_age,
        }))
    }
}

/// A DNS name a CA can issue for: letters, digits, hyphens and dots, at least two labels.
fn is_domain_name(name: &str) -> bool {
    name.len() <= 253
        && name.contains('.')
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

impl Config {
    /// `listening` is the bound plain HTTP address, `https` the bound HTTPS one (they differ
    /// from the arguments when those ask for port 0). Fails with a message for the operator
    /// when the mail or HTTPS settings cannot be used.
    pub fn from_serve_args(
        args: &ServeArgs,
        listening: SocketAddr,
        https: Option<SocketAddr>,
    ) -> Result<Self, String> {
        let given = args.base_url.clone().filter(|url| !url.trim().is_empty());
        // Readers are sent to HTTPS at the base URL's port when one is given (a container's
        // 8443 published as 443), else where HTTPS listens.
        let public_https_port = given
            .as_deref()
            .and_then(|url| url::Url::parse(url).ok())
            .filter(|url| url.scheme() == "https")
            .and_then(|url| url.port_or_known_default())
            .or(https.map(|address| address.port()))
            .unwrap_or(443);
        let tls = args.tls(public_https_port)?;
        let base_url = match (&given, &tls) {
            (Some(url), _) => url.clone(),
            (None, Some(tls)) if tls.https_port == 443 => format!("https://{}", tls.names[0]),
            (None, Some(tls)) => format!("https://{}:{}", tls.names[0], tls.https_port),
            (None, None) => format!("http://{listening}"),
        };
        let mut config = Self::with_base_url(&base_url);
        let mail = match args.smtp_url.as_deref().filter(|u| !u.trim().is_empty()) {
            Some(url) => Some(crate::mail::MailConfig::new(
                url,
                args.mail_from.as_deref(),
                args.mail_rate,
                config.host(),
            )?),
            None => None,
        };
        let read_replicas = args
            .database_read_url
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .map(|url| {
                url.parse::<sqlx::postgres::PgConnectOptions>()
                    .map_err(|e| format!("FOLIO_DATABASE_READ_URL holds an invalid URL: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let cdn = crate::page_cache::cdn::CdnConfig::new(
            args.cdn_max_age,
            args.cdn_stale,
            args.cdn_purge_url.as_deref(),
            args.cdn_purge_auth.as_deref(),
        )?;
        config = Self {
            tls,
            mail,
            read_replicas,
            // A day at most: the read-your-writes cookie lives this long (plus a minute).
            replica_max_lag: std::time::Duration::from_secs(args.replica_max_lag.min(86_400)),
            cdn,
            trust_proxy: args.trust_proxy,
            comment_rate_limit: args.comment_rate_limit,
            comment_posts_at_once: args.comment_posts_at_once,
            page_cache_bytes: args.page_cache_mb.saturating_mul(1024 * 1024),
            page_cache_min_uses: args.page_cache_min_uses,
            media_cache_bytes: args.media_cache_mb.saturating_mul(1024 * 1024),
            metrics_token: args.metrics_token.clone().filter(|t| !t.is_empty()),
            client_timeout: std::time::Duration::from_secs(args.client_timeout.max(1)),
            import_max_bytes: args.import_max_mb.saturating_mul(1024 * 1024),
            fediverse_allow_local: args.fediverse_allow_local,
            ..config
        };
        Ok(config)
    }

    pub fn with_base_url(base_url: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            trust_proxy: false,
            comment_rate_limit: defaults::COMMENT_RATE_LIMIT,
            comment_posts_at_once: defaults::COMMENT_POSTS_AT_ONCE,
            sitemap_chunk: defaults::SITEMAP_CHUNK,
            // Off unless asked for: a test sees every write at once.
            page_cache_bytes: 0,
            page_cache_min_uses: defaults::PAGE_CACHE_MIN_USES,
            // Images never change, so a test cannot see a stale one.
            media_cache_bytes: defaults::MEDIA_CACHE_MB * 1024 * 1024,
            metrics_token: None,
            client_timeout: std::time::Duration::from_secs(defaults::CLIENT_TIMEOUT_SECS),
            import_max_bytes: defaults::IMPORT_MAX_MB * 1024 * 1024,
            mail: None,
            read_replicas: Vec::new(),
            replica_max_lag: std::time::Duration::from_secs(
                crate::store::replicas::DEFAULT_MAX_LAG_SECS,
            ),
            cdn: None,
            tls: None,
            fediverse_allow_local: false,
        }
    }

    /// The host name, for `tag:` ids in feeds.
    pub fn host(&self) -> &str {
        let rest = self
            .base_url
            .split_once("://")
            .map_or(self.base_url.as_str(), |(_, r)| r);
        let authority = rest.split('/').next().unwrap_or(rest);
        authority
            .rsplit_once(':')
            .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
            .map_or(authority, |(host, _)| host)
    }

    /// Cookies get the Secure flag when the blog is served over https.
    pub fn secure_cookies(&self) -> bool {
        self.base_url.starts_with("https://")
    }
}
