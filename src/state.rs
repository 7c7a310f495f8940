use std::sync::{Arc, RwLock};

use axum::extract::FromRef;
use sqlx::PgPool;

use crate::{auth::Secret, config::Config, db::settings::Settings};

/// Everything a handler can reach. Cheap to clone: all pieces are shared.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub config: Arc<Config>,
    pub secret: Arc<Secret>,
    /// The settings last read from the database, so that error pages (which may be shown
    /// because the database is down) still carry the blog's name. Never used for content.
    last_settings: Arc<RwLock<Settings>>,
}

impl AppState {
    pub fn new(db: PgPool, config: Config, secret: Secret) -> Self {
        Self {
            db,
            config: Arc::new(config),
            secret: Arc::new(secret),
            last_settings: Arc::new(RwLock::new(Settings::default())),
        }
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
        Ok(Self::new(db, config, secret))
    }

    /// Reads the settings from the database and remembers them for error pages.
    pub async fn settings(&self) -> Result<Settings, sqlx::Error> {
        let settings = crate::db::settings::load(&self.db).await?;
        if let Ok(mut last) = self.last_settings.write() {
            last.clone_from(&settings);
        }
        Ok(settings)
    }

    pub fn last_settings(&self) -> Settings {
        self.last_settings
            .read()
            .map(|s| s.clone())
            .unwrap_or_default()
    }
}

impl FromRef<AppState> for PgPool {
    fn from_ref(state: &AppState) -> Self {
        state.db.clone()
    }
}
