//! Secrets and what is signed with them, and how editors prove who they are: passwords,
//! sessions, authenticator codes and passkeys.

pub mod form_token;
pub mod links;
pub mod passkeys;
pub mod password;
pub mod session;
pub mod signed;
pub mod totp;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The blog's signing key: from `FOLIO_SECRET`, or generated once and kept in the database so
/// that every Folio process on it agrees.
#[derive(Clone)]
pub struct Secret([u8; 32]);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// Any passphrase, stretched to a key (`FOLIO_SECRET` should be long and random anyway).
    pub fn from_passphrase(passphrase: &str) -> Self {
        Self(Sha256::digest(passphrase.as_bytes()).into())
    }

    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    pub fn generate() -> [u8; 32] {
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes).expect("the operating system provides random bytes");
        bytes
    }

    /// A key for one purpose, so that a value signed for one use is never valid for another.
    fn mac(&self, purpose: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac
    }

    /// Signs `message` for `purpose`: 16 bytes of HMAC-SHA256.
    pub fn sign(&self, purpose: &str, message: &[u8]) -> [u8; 16] {
        let mut mac = self.mac(purpose);
        mac.update(message);
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; 16];
        out.copy_from_slice(&full[..16]);
        out
    }

    /// Checks a signature in constant time.
    pub fn verify(&self, purpose: &str, message: &[u8], signature: &[u8]) -> bool {
        let mut mac = self.mac(purpose);
        mac.update(message);
        mac.verify_truncated_left(signature).is_ok() && signature.len() == 16
    }

    /// A stable pseudonym for a client address: rate limits work without storing addresses.
    pub fn client_hash(&self, address: &str) -> String {
        hex::encode(&self.sign("client-address", address.as_bytes())[..12])
    }
}

/// A random secret for a URL (24 bytes, base64url): unsubscribe links and the like.
pub fn random_token() -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    URL_SAFE_NO_PAD.encode(&Secret::generate()[..24])
}
