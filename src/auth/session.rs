//! Login sessions: a random token in an HttpOnly cookie; only its SHA-256 is stored, so a
//! copy of the database does not log anyone in.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

pub const COOKIE: &str = "folio_session";
/// Sessions end after this many days without a request.
pub const IDLE_DAYS: i64 = 14;

/// A new session token (for the cookie) and its hash (for the database).
pub fn new_token() -> (String, Vec<u8>) {
    let bytes = super::Secret::generate();
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = token_hash(&token);
    (token, hash)
}

pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A CSRF token for a new session: random, sent back in every admin form.
pub fn new_csrf_token() -> String {
    URL_SAFE_NO_PAD.encode(&super::Secret::generate()[..24])
}
