//! A certificate the operator keeps in files (`FOLIO_TLS_CERT`, `FOLIO_TLS_KEY`): read at start,
//! and read again when either file changes (as certbot or an internal CA's agent replaces them),
//! without a restart. A pair that cannot be loaded leaves the one before serving.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, SystemTime},
};

use super::{Https, Trouble, certificate};

/// How often the files are looked at: a `stat` each, nothing read unless they changed.
const LOOK_EVERY: Duration = Duration::from_secs(30);

/// Loads the pair now: the server does not start on files it cannot serve.
pub fn load(https: &Https, cert: &Path, key: &Path) -> Result<(), String> {
    let loaded = read(cert, key)?;
    https.install(loaded);
    Ok(())
}

fn read(cert: &Path, key: &Path) -> Result<certificate::Loaded, String> {
    let chain = std::fs::read(cert)
        .map_err(|e| format!("cannot read FOLIO_TLS_CERT {}: {e}", cert.display()))?;
    let private = std::fs::read(key)
        .map_err(|e| format!("cannot read FOLIO_TLS_KEY {}: {e}", key.display()))?;
    certificate::load(&chain, &private).map_err(|e| {
        format!(
            "cannot serve {} with {}: {e}",
            cert.display(),
            key.display()
        )
    })
}

/// What a file looked like: when it was changed and how long it was.
fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Watches the files and loads them again when they change, or at once on SIGHUP (as nginx
/// does, for a renewal hook that wants it now).
pub fn spawn(https: Arc<Https>, cert: PathBuf, key: PathBuf) {
    tokio::spawn(async move {
        let mut hangup =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        let mut seen = (stamp(&cert), stamp(&key));
        loop {
            let told = tokio::select! {
                () = tokio::time::sleep(LOOK_EVERY) => false,
                Some(()) = async { hangup.as_mut()?.recv().await } => true,
            };
            let now = (stamp(&cert), stamp(&key));
            if now == seen && !told {
                continue;
            }
            seen = now;
            if !told {
                // A renewal agent may write the key a moment after the chain.
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            match read(&cert, &key) {
                Ok(loaded) => https.install(loaded),
                Err(error) => {
                    tracing::error!(%error, "the certificate files changed but cannot be served; the one before stays");
                    https.set_trouble(Some(Trouble {
                        error,
                        at: time::OffsetDateTime::now_utc(),
                    }));
                }
            }
        }
    });
}
