//! The static files embedded in the binary, and their fingerprinted names
//! (`/assets/folio.3f2a9c1b.css`): pages link to them by name, `http::assets` serves them.

use std::sync::LazyLock;

use sha2::{Digest, Sha256};

pub struct Asset {
    /// e.g. "folio.css"
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
    /// e.g. "/assets/folio.3f2a9c1b.css"
    pub url: String,
    /// e.g. "folio.3f2a9c1b.css"
    pub file: String,
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    [
        (
            "folio.css",
            "text/css; charset=utf-8",
            include_bytes!("../../assets/css/folio.css").as_slice(),
        ),
        (
            "admin.css",
            "text/css; charset=utf-8",
            include_bytes!("../../assets/css/admin.css").as_slice(),
        ),
        (
            "import-progress.js",
            "text/javascript; charset=utf-8",
            include_bytes!("../../assets/js/import-progress.js").as_slice(),
        ),
        (
            "comment-token.js",
            "text/javascript; charset=utf-8",
            include_bytes!("../../assets/js/comment-token.js").as_slice(),
        ),
        (
            "editor.js",
            "text/javascript; charset=utf-8",
            include_bytes!("../../assets/js/editor.js").as_slice(),
        ),
        (
            "theme.js",
            "text/javascript; charset=utf-8",
            include_bytes!("../../assets/js/theme.js").as_slice(),
        ),
        (
            "passkeys.js",
            "text/javascript; charset=utf-8",
            include_bytes!("../../assets/js/passkeys.js").as_slice(),
        ),
        (
            "favicon.svg",
            "image/svg+xml",
            include_bytes!("../../assets/img/favicon.svg").as_slice(),
        ),
    ]
    .into_iter()
    .map(|(name, content_type, bytes)| {
        let hash = hex::encode(&Sha256::digest(bytes)[..5]);
        let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
        let file = format!("{stem}.{hash}.{ext}");
        Asset {
            name,
            content_type,
            bytes,
            url: format!("/assets/{file}"),
            file,
        }
    })
    .collect()
});

/// The fingerprinted URL of an embedded asset.
pub fn url(name: &str) -> &'static str {
    ASSETS
        .iter()
        .find(|a| a.name == name)
        .map(|a| a.url.as_str())
        .unwrap_or("/assets/missing")
}

/// The asset served at `/assets/{file}`: today's fingerprint, or `stale` when the name is
/// known but the fingerprint is an older one (a page cached before an upgrade).
pub fn by_file(file: &str) -> Option<(&'static Asset, Freshness)> {
    if let Some(asset) = ASSETS.iter().find(|a| a.file == file) {
        return Some((asset, Freshness::Current));
    }
    let (stem, rest) = file.split_once('.')?;
    let (_, ext) = rest.rsplit_once('.')?;
    let name = format!("{stem}.{ext}");
    ASSETS
        .iter()
        .find(|a| a.name == name)
        .map(|asset| (asset, Freshness::Stale))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    Current,
    Stale,
}
