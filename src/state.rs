use std::sync::{Arc, RwLock};

use axum::extract::FromRef;
use sqlx::PgPool;

use crate::{
    auth::Secret,
    config::Config,
    db::{
        appearance::{PageLink, PopularPost, RecentComment},
        labels::LabelCount,
        posts::MonthCount,
        settings::{Settings, Site},
    },
    domain::clock::{Clock, SystemClock},
    domain::theme::Appearance,
    mail::{Mailer, worker},
    media::cache::MediaCache,
    page_cache::PageCache,
    render::theme::SiteStylesheet,
    stats::metrics::Metrics,
    store::replicas::Reads,
};

/// The sidebar's counts as computed for one content version and time zone.
#[derive(Debug, Clone)]
pub struct SidebarCounts {
    pub months: Vec<MonthCount>,
    pub labels: Vec<LabelCount>,
    /// The static pages, for the Pages gadget.
    pub pages: Vec<PageLink>,
    version: i64,
    timezone: String,
    /// When a scheduled post appears, the counts change without any write.
    valid_until: Option<time::OffsetDateTime>,
}

/// The blog's look as of one content version: the appearance with what is made from it once
/// (the stylesheet, the Text gadget's HTML) rather than on every page.
#[derive(Debug)]
pub struct Look {
    pub appearance: Appearance,
    pub stylesheet: SiteStylesheet,
    /// The Text gadget's body, rendered by the rules posts are.
    pub text_html: String,
    version: i64,
}

impl Look {
    pub fn new(appearance: Appearance, version: i64) -> Self {
        let text_html = crate::render::post::body_html(
            &appearance.options.text_body,
            appearance.options.text_format.body_format(),
            &crate::render::images::MediaSizes::default(),
        );
        Self {
            stylesheet: crate::render::theme::stylesheet(&appearance),
            text_html,
            appearance,
            version,
        }
    }
}

/// What the Popular Posts and Recent Comments gadgets show, read at most once a minute: views
/// and comments move them, not the content version.
#[derive(Debug)]
pub struct LivelyGadgets {
    pub popular: Vec<PopularPost>,
    pub recent_comments: Vec<RecentComment>,
    key: (i32, i32, i32, bool, bool),
    /// The page cache's generation and the content version when read: any change heard (a
    /// comment, a post unpublished) reads them again.
    changes: (u64, i64),
    read_at: std::time::Instant,
}

/// How long popular posts and recent comments are reused, and how long a page showing them is
/// kept: views move them without any change notice.
pub const LIVELY_GADGETS_FOR: std::time::Duration = std::time::Duration::from_secs(60);
/// Preview stylesheets kept for the theme page's preview (each a few KB).
const PREVIEWS_KEPT: usize = 16;

/// Everything a handler can reach. Cloned for every request and every layer: one pool handle
/// (a read may swap in a replica's) and one `Arc` to the rest, so a clone is two atomic
/// increments rather than one per piece (`AppState::clone` and its drop were 9% of a cached
/// page's CPU with a piece each).
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    shared: Arc<Shared>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.shared
    }
}

/// What every clone of one process's `AppState` shares.
pub struct Shared {
    pub config: Arc<Config>,
    pub secret: Arc<Secret>,
    /// The site as last read: for error pages (which may be shown because the database is
    /// down, and still carry the blog's name), and for requests that read the content version
    /// along anyway (`site_at`).
    /// With when it was read (`settings_within`).
    last_site: Arc<RwLock<Option<(Site, std::time::Instant)>>>,
    /// The sidebar counts, reused while the database's content version says they are current.
    sidebar_counts: Arc<RwLock<Option<Arc<SidebarCounts>>>>,
    /// Rendered public pages (see `page_cache`).
    pub pages: Arc<PageCache>,
    /// Where public reads go: the primary, or a replica that has what they need.
    pub reads: Arc<Reads>,
    /// Tells a CDN in front what changed, when `FOLIO_CDN_PURGE_URL` is set.
    pub purger: Option<Arc<crate::page_cache::cdn::Purger>>,
    /// Uploaded images (see `media::cache`).
    pub media: Arc<MediaCache>,
    pub metrics: Arc<Metrics>,
    /// This process's copy of the spam filter's counts.
    pub spam: Arc<crate::spam::Model>,
    /// What comment-form tokens are issued and checked against.
    pub clock: Arc<dyn Clock>,
    /// The SMTP side, when `FOLIO_SMTP_URL` is set; its worker runs in this process.
    pub mailer: Option<Arc<Mailer>>,
    /// The passkey relying party; none when the base URL cannot be one (a bare IP address).
    pub webauthn: Option<Arc<webauthn_rs::Webauthn>>,
    /// The look, reused while the content version says it is current.
    look: Arc<RwLock<Option<Arc<Look>>>>,
    lively: Arc<RwLock<Option<Arc<LivelyGadgets>>>>,
    /// Stylesheets of looks being previewed on the theme page, newest last.
    previews: Arc<std::sync::Mutex<std::collections::VecDeque<SiteStylesheet>>>,
    /// Page views counted in memory (see `stats::page_views`).
    pub views: Arc<crate::stats::page_views::ViewCounter>,
    /// Wakes this process's mail worker for mail written without a notice (a comment POST's,
    /// migration 0021).
    pub mail_wake: Arc<tokio::sync::Notify>,
    /// Published comments' change notices, sent after their commits (`page_cache::notices`).
    pub comment_notices: Arc<crate::page_cache::notices::CommentNotices>,
    /// Turns for comment POSTs (`Config::comment_posts_at_once`; see `http::comments`).
    pub comment_turns: Arc<tokio::sync::Semaphore>,
    /// The certificate served when Folio serves HTTPS itself (`FOLIO_DOMAIN`; see `tls`).
    pub https: Option<Arc<crate::tls::Https>>,
    /// The blog's fediverse side (see `federation`).
    pub fediverse: Arc<crate::federation::Fediverse>,
}

impl AppState {
    /// The state, and every task that runs beside the requests, started here and nowhere else
    /// (so it needs a runtime):
    /// - the replica monitor, when there are replicas (`store::replicas`);
    /// - the CDN purger, when a CDN has a purge URL (`page_cache::cdn`);
    /// - the page cache's listener for change notices (`page_cache`), and the sender of
    ///   published comments' notices (`page_cache::notices`);
    /// - the mail worker, when mail is on (`mail::worker`);
    /// - the page-view flusher (`stats::page_views`);
    /// - (the fediverse worker starts with the app instead: see `http::router`);
    /// - with HTTPS, the certificate's keeper: ACME renewals (`tls::acme`) or the files'
    ///   watcher (`tls::files`).
    pub fn start(db: PgPool, config: Config, secret: Secret) -> Self {
        let (state, purge_task) = Self::assemble(db, config, secret);
        state.reads.spawn_monitor();
        if let Some(task) = purge_task {
            task.spawn();
        }
        state.pages.spawn_listener(
            state.db.clone(),
            state.reads.clone(),
            state.purger.clone(),
            state.media.clone(),
        );
        state.comment_notices.spawn_sender(state.db.clone());
        if let Some(mailer) = &state.mailer {
            let site = worker::Site {
                base_url: state.config.base_url.clone(),
                secret: state.secret.clone(),
            };
            worker::spawn(
                state.db.clone(),
                mailer.clone(),
                site,
                state.mail_wake.clone(),
            );
        }
        state.views.spawn_flusher(state.db.clone());
        if let Some(https) = &state.https {
            match &https.config.source {
                crate::tls::Source::Acme(acme) => crate::tls::acme::spawn(
                    state.db.clone(),
                    https.clone(),
                    acme.clone(),
                    state
                        .mailer
                        .is_some()
                        .then(|| state.config.base_url.clone()),
                ),
                crate::tls::Source::Files { cert, key } => {
                    crate::tls::files::spawn(https.clone(), cert.clone(), key.clone());
                }
            }
        }
        state
    }

    /// The state's parts, nothing started yet.
    fn assemble(
        db: PgPool,
        config: Config,
        secret: Secret,
    ) -> (Self, Option<crate::page_cache::cdn::PurgeTask>) {
        let pages = Arc::new(
            PageCache::new(config.page_cache_bytes).keeping_after(config.page_cache_min_uses),
        );
        let replicas = config
            .read_replicas
            .iter()
            .map(|options| {
                let pool = crate::db::replica_pool_options().connect_lazy_with(options.clone());
                (crate::store::replicas::describe(options), pool)
            })
            .collect();
        let reads = Arc::new(Reads::new(db.clone(), replicas, config.replica_max_lag));
        let (purger, purge_task) = config
            .cdn
            .as_ref()
            .and_then(crate::page_cache::cdn::Purger::new)
            .map(|(purger, task)| (Arc::new(purger), task))
            .unzip();
        let media = Arc::new(MediaCache::new(config.media_cache_bytes));
        let mailer = config
            .mail
            .clone()
            .and_then(|mail| match Mailer::new(mail) {
                Ok(mailer) => Some(Arc::new(mailer)),
                Err(error) => {
                    tracing::error!(%error, "mail stays off");
                    None
                }
            });
        let secret = Arc::new(secret);
        let webauthn = crate::auth::passkeys::relying_party(&config.base_url).map(Arc::new);
        let views = Arc::new(crate::stats::page_views::ViewCounter::default());
        let comment_turns = Arc::new(tokio::sync::Semaphore::new(
            config.comment_posts_at_once.max(1) as usize,
        ));
        let https = config
            .tls
            .clone()
            .map(|tls| Arc::new(crate::tls::Https::new(tls)));
        let fediverse = Arc::new(crate::federation::Fediverse::new(
            &config.base_url,
            config.fediverse_allow_local,
        ));
        let shared = Shared {
            fediverse,
            https,
            comment_turns,
            comment_notices: Arc::default(),
            mail_wake: Arc::default(),
            look: Arc::default(),
            lively: Arc::default(),
            previews: Arc::default(),
            views,
            webauthn,
            media,
            pages,
            reads,
            purger,
            metrics: Arc::new(Metrics::default()),
            spam: Arc::default(),
            config: Arc::new(config),
            secret,
            last_site: Arc::default(),
            sidebar_counts: Arc::new(RwLock::new(None)),
            clock: Arc::new(SystemClock),
            mailer,
        };
        let state = Self {
            db,
            shared: Arc::new(shared),
        };
        (state, purge_task)
    }

    /// Reads the time from `clock` (the tests' own), before the state is first cloned.
    pub fn set_clock(&mut self, clock: Arc<dyn Clock>) {
        Arc::get_mut(&mut self.shared)
            .expect("the clock is set before the state is shared")
            .clock = clock;
    }

    /// The state for a server: the secret comes from `passphrase` (FOLIO_SECRET) or, when
    /// that is not set, from the database (generated on first start).
    pub async fn load(
        db: PgPool,
        config: Config,
        passphrase: Option<&str>,
    ) -> Result<Self, sqlx::Error> {
        let secret = match passphrase.filter(|p| !p.is_empty()) {
            Some(passphrase) => Secret::from_passphrase(passphrase),
            None => {
                let bytes = crate::db::secrets::load_or_create(&db, "signing-key", || {
                    Secret::generate().to_vec()
                })
                .await?;
                Secret::from_bytes(&bytes)
            }
        };
        Ok(Self::start(db, config, secret))
    }

    /// Reads the settings from the database and remembers them for error pages.
    pub async fn settings(&self) -> Result<Settings, sqlx::Error> {
        Ok(self.site().await?.settings)
    }

    /// The settings with the content version, for pages that show cached counts.
    pub async fn site(&self) -> Result<Site, sqlx::Error> {
        let site = crate::db::settings::load_site(&self.db).await?;
        if let Ok(mut last) = self.last_site.write() {
            *last = Some((site.clone(), std::time::Instant::now()));
        }
        Ok(site)
    }

    /// The settings as read at most `age` ago (read again when older): for what comes too
    /// often to read them each time and can wait that long for a change, like the fediverse
    /// inboxes in a flood.
    pub async fn settings_within(&self, age: std::time::Duration) -> Result<Settings, sqlx::Error> {
        if let Ok(last) = self.last_site.read()
            && let Some((site, read)) = last.as_ref()
            && read.elapsed() < age
        {
            return Ok(site.settings.clone());
        }
        self.settings().await
    }

    /// The site at `content_version`, read with the request's first query: the site last read
    /// when it is at that version and no scheduled post has appeared since (any change of the
    /// settings moves the version), else read again. A comment POST saves a round trip.
    pub async fn site_at(&self, content_version: i64) -> Result<Site, sqlx::Error> {
        let now = time::OffsetDateTime::now_utc();
        if let Ok(last) = self.last_site.read()
            && let Some((site, _)) = last.as_ref()
            && site.content_version == content_version
            && site.next_publication.is_none_or(|at| now < at)
        {
            return Ok(site.clone());
        }
        self.site().await
    }

    /// The sidebar counts for this site state: from the cache when its content version, time
    /// zone and time still hold, else computed by `compute` and cached. Every process checks the
    /// version it reads with the settings, so a change made through any process shows at once.
    pub async fn sidebar_counts<F, Fut>(
        &self,
        site: &Site,
        timezone: &str,
        compute: F,
    ) -> Result<Arc<SidebarCounts>, sqlx::Error>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<
                Output = Result<(Vec<MonthCount>, Vec<LabelCount>, Vec<PageLink>), sqlx::Error>,
            >,
    {
        let now = time::OffsetDateTime::now_utc();
        if let Ok(cached) = self.sidebar_counts.read()
            && let Some(counts) = cached.as_ref()
            && counts.version == site.content_version
            && counts.timezone == timezone
            && counts.valid_until.is_none_or(|until| now < until)
        {
            return Ok(counts.clone());
        }
        let (months, labels, pages) = compute().await?;
        let counts = Arc::new(SidebarCounts {
            months,
            labels,
            pages,
            version: site.content_version,
            timezone: timezone.to_owned(),
            valid_until: site.next_publication,
        });
        if let Ok(mut cached) = self.sidebar_counts.write() {
            *cached = Some(counts.clone());
        }
        Ok(counts)
    }

    /// The look for this site state: cached while the content version holds.
    pub async fn look(&self, site: &Site) -> Result<Arc<Look>, sqlx::Error> {
        if let Ok(cached) = self.look.read()
            && let Some(look) = cached.as_ref()
            && look.version == site.content_version
        {
            return Ok(look.clone());
        }
        let appearance = crate::db::appearance::load(&self.db).await?;
        let look = Arc::new(Look::new(appearance, site.content_version));
        if let Ok(mut cached) = self.look.write() {
            *cached = Some(look.clone());
        }
        Ok(look)
    }

    /// The look last read, for pages shown while the database is away (and before any read).
    pub fn last_look(&self) -> Arc<Look> {
        static STANDARD: std::sync::LazyLock<Arc<Look>> =
            std::sync::LazyLock::new(|| Arc::new(Look::new(Appearance::default(), i64::MIN)));
        self.look
            .read()
            .ok()
            .and_then(|cached| cached.clone())
            .unwrap_or_else(|| STANDARD.clone())
    }

    /// A stylesheet of the look or of a preview, by its file name.
    pub fn stylesheet(&self, file: &str) -> Option<String> {
        let current = self.look.read().ok().and_then(|cached| cached.clone());
        if let Some(look) = current.filter(|look| look.stylesheet.file == file) {
            return Some(look.stylesheet.css.clone());
        }
        let previews = self.previews.lock().ok()?;
        previews
            .iter()
            .find(|s| s.file == file)
            .map(|s| s.css.clone())
    }

    /// Keeps a preview's stylesheet servable for a while.
    pub fn keep_preview(&self, stylesheet: SiteStylesheet) {
        if let Ok(mut previews) = self.previews.lock() {
            previews.retain(|s| s.file != stylesheet.file);
            previews.push_back(stylesheet);
            while previews.len() > PREVIEWS_KEPT {
                previews.pop_front();
            }
        }
    }

    /// Popular posts and recent comments as the look asks for them, read at most once a minute.
    pub async fn lively_gadgets(
        &self,
        appearance: &Appearance,
        site: &Site,
    ) -> Result<Arc<LivelyGadgets>, sqlx::Error> {
        use crate::domain::theme::GadgetKind;
        let options = &appearance.options;
        let popular_on = appearance.shows(GadgetKind::PopularPosts);
        let comments_on = appearance.shows(GadgetKind::RecentComments);
        let key = (
            options.popular_count,
            options.popular_days,
            options.recent_comments_count,
            popular_on,
            comments_on,
        );
        // Taken before reading, so a change heard meanwhile is not missed.
        let changes = (self.pages.generation(), site.content_version);
        if let Ok(cached) = self.lively.read()
            && let Some(lively) = cached.as_ref()
            && lively.key == key
            && lively.changes == changes
            && lively.read_at.elapsed() < LIVELY_GADGETS_FOR
        {
            return Ok(lively.clone());
        }
        let since = (options.popular_days > 0)
            .then(|| {
                time::OffsetDateTime::now_utc()
                    .date()
                    .checked_sub(time::Duration::days(i64::from(options.popular_days - 1)))
            })
            .flatten();
        let (popular, recent_comments) = tokio::try_join!(
            async {
                if popular_on {
                    crate::db::appearance::popular_posts(
                        &self.db,
                        since,
                        i64::from(options.popular_count),
                    )
                    .await
                } else {
                    Ok(Vec::new())
                }
            },
            async {
                if comments_on {
                    crate::db::appearance::recent_comments(
                        &self.db,
                        i64::from(options.recent_comments_count),
                    )
                    .await
                } else {
                    Ok(Vec::new())
                }
            },
        )?;
        let lively = Arc::new(LivelyGadgets {
            popular,
            recent_comments,
            key,
            changes,
            read_at: std::time::Instant::now(),
        });
        if let Ok(mut cached) = self.lively.write() {
            *cached = Some(lively.clone());
        }
        Ok(lively)
    }

    /// The settings last read, for error pages only (never for content).
    pub fn last_settings(&self) -> Settings {
        self.last_site
            .read()
            .ok()
            .and_then(|last| last.as_ref().map(|(site, _)| site.settings.clone()))
            .unwrap_or_default()
    }
}

impl FromRef<AppState> for PgPool {
    fn from_ref(state: &AppState) -> Self {
        state.db.clone()
    }
}
