//! The comment form's token: the post it was served for and when, signed. A form sent back
//! sooner than a person can type, or a day later, is refused (with the text kept).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use super::Secret;

const PURPOSE: &str = "comment-form";
pub const MIN_AGE_SECS: i64 = 3;
pub const MAX_AGE_SECS: i64 = 24 * 60 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    /// Missing, garbled, signed with another key or for another post.
    Invalid,
    TooFast,
    Expired,
}

pub fn issue(secret: &Secret, post_id: i64, issued_at: i64) -> String {
    let mut message = [0u8; 16];
    message[..8].copy_from_slice(&post_id.to_be_bytes());
    message[8..].copy_from_slice(&issued_at.to_be_bytes());
    let signature = secret.sign(PURPOSE, &message);
    let mut token = Vec::with_capacity(32);
    token.extend_from_slice(&message);
    token.extend_from_slice(&signature);
    URL_SAFE_NO_PAD.encode(token)
}

pub fn check(secret: &Secret, token: &str, post_id: i64, now: i64) -> Result<(), TokenProblem> {
    let bytes = URL_SAFE_NO_PAD
        .decode(token.trim())
        .map_err(|_| TokenProblem::Invalid)?;
    if bytes.len() != 32 || !secret.verify(PURPOSE, &bytes[..16], &bytes[16..]) {
        return Err(TokenProblem::Invalid);
    }
    let signed_post = i64::from_be_bytes(bytes[..8].try_into().expect("8 bytes"));
    let issued_at = i64::from_be_bytes(bytes[8..16].try_into().expect("8 bytes"));
    if signed_post != post_id {
        return Err(TokenProblem::Invalid);
    }
    let age = now - issued_at;
    if age < MIN_AGE_SECS {
        Err(TokenProblem::TooFast)
    } else if age > MAX_AGE_SECS {
        Err(TokenProblem::Expired)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_hold_for_their_post_between_3_seconds_and_a_day() {
        let secret = Secret::from_passphrase("test");
        let token = issue(&secret, 42, 1_000);
        assert_eq!(check(&secret, &token, 42, 1_003), Ok(()));
        assert_eq!(check(&secret, &token, 42, 1_000 + MAX_AGE_SECS), Ok(()));
        assert_eq!(
            check(&secret, &token, 42, 1_002),
            Err(TokenProblem::TooFast)
        );
        assert_eq!(
            check(&secret, &token, 42, 1_001 + MAX_AGE_SECS),
            Err(TokenProblem::Expired)
        );
        assert_eq!(
            check(&secret, &token, 43, 1_010),
            Err(TokenProblem::Invalid)
        );
        assert_eq!(
            check(&Secret::from_passphrase("other"), &token, 42, 1_010),
            Err(TokenProblem::Invalid)
        );
        let mut forged = token.into_bytes();
        forged[3] ^= 1;
        assert_eq!(
            check(&secret, &String::from_utf8(forged).unwrap(), 42, 1_010),
            Err(TokenProblem::Invalid)
        );
        assert_eq!(check(&secret, "", 42, 1_010), Err(TokenProblem::Invalid));
    }
}
