//! The RSA key pairs of the blog's actor and of authors who are accounts of their own: each
//! made once, on first need, and kept in `secrets` so that every Folio process on the database
//! signs with the same key.

use rsa::{
    RsaPrivateKey,
    pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding},
};
use sqlx::PgPool;

use crate::db;

/// Where a key is kept: the blog's (`author` None) or an author's.
fn secret_name(author: Option<i64>) -> String {
    match author {
        None => "fediverse-key".to_owned(),
        Some(id) => format!("fediverse-key-author-{id}"),
    }
}
/// What Mastodon and every peer verify; 2048 bits is what they make for their own accounts.
const BITS: usize = 2048;

pub struct Keys {
    pub private: RsaPrivateKey,
    pub public_pem: String,
}

pub fn generate() -> Result<RsaPrivateKey, rsa::Error> {
    RsaPrivateKey::new(&mut rsa::rand_core::OsRng, BITS)
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("the fediverse key cannot be made or read: {0}")]
    Key(String),
}

/// The stored key, made (off the async threads) when there is none yet. Several processes
/// starting at once agree: the first insert wins and everyone reads that one.
pub async fn load_or_create(db: &PgPool, author: Option<i64>) -> Result<Keys, Error> {
    let name = secret_name(author);
    let stored = db::secrets::get(db, &name).await?;
    let der = match stored {
        Some(der) => der,
        None => {
            let made = tokio::task::spawn_blocking(|| {
                let key = generate().map_err(|e| e.to_string())?;
                key.to_pkcs8_der()
                    .map(|der| der.as_bytes().to_vec())
                    .map_err(|e| e.to_string())
            })
            .await
            .map_err(|e| Error::Key(e.to_string()))?
            .map_err(Error::Key)?;
            db::secrets::keep_first(db, &name, &made).await?
        }
    };
    let private = RsaPrivateKey::from_pkcs8_der(&der).map_err(|e| Error::Key(e.to_string()))?;
    let public_pem = private
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| Error::Key(e.to_string()))?;
    Ok(Keys {
        private,
        public_pem,
    })
}
