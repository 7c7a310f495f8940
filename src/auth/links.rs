//! Links in emails that act without a login: a moderator's *Approve* button, a confirmation, an
//! unsubscribe, a password reset. Each is signed for one purpose and subject, carries its expiry,
//! and (where it changes something) is used once: `db::links` remembers used ones.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

use super::Secret;

/// What a link was signed for and about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkClaim {
    /// e.g. `moderate`, `confirm`, `unsubscribe`, `reset`
    pub purpose: String,
    /// The words the link is about (a comment id and an action, an email address...).
    pub subject: Vec<String>,
    /// Unix seconds; a link is refused after it.
    pub expires_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkProblem {
    /// Garbled, cut, or not signed by this blog for this purpose.
    Invalid,
    Expired,
}

const SIGNING_PURPOSE: &str = "mail-link";

/// A token for a URL: the claim in base64url, a dot, and its signature.
pub fn sign(secret: &Secret, purpose: &str, subject: &[&str], expires_at: i64) -> String {
    let mut words = vec![purpose.to_owned()];
    words.extend(subject.iter().map(|w| (*w).to_owned()));
    words.push(expires_at.to_string());
    // Unit separators cannot occur in ids or email addresses, so the words split back exactly.
    let message = words.join("\u{1f}");
    let signature = secret.sign(SIGNING_PURPOSE, message.as_bytes());
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(message.as_bytes()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

/// The claim a token makes, if this blog signed it for `purpose` and it has not expired.
pub fn verify(
    secret: &Secret,
    purpose: &str,
    token: &str,
    now: i64,
) -> Result<LinkClaim, LinkProblem> {
    let (message, signature) = token.trim().split_once('.').ok_or(LinkProblem::Invalid)?;
    let message = URL_SAFE_NO_PAD
        .decode(message)
        .map_err(|_| LinkProblem::Invalid)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| LinkProblem::Invalid)?;
    if !secret.verify(SIGNING_PURPOSE, &message, &signature) {
        return Err(LinkProblem::Invalid);
    }
    let message = String::from_utf8(message).map_err(|_| LinkProblem::Invalid)?;
    let mut words: Vec<String> = message.split('\u{1f}').map(str::to_owned).collect();
    let expires_at: i64 = words
        .pop()
        .and_then(|w| w.parse().ok())
        .ok_or(LinkProblem::Invalid)?;
    if words.is_empty() || words[0] != purpose {
        return Err(LinkProblem::Invalid);
    }
    if now > expires_at {
        return Err(LinkProblem::Expired);
    }
    let purpose = words.remove(0);
    Ok(LinkClaim {
        purpose,
        subject: words,
        expires_at,
    })
}

/// What the database keeps of a used link: its digest, never the link.
pub fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.trim().as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_hold_for_their_purpose_and_subject_until_they_expire() {
        let secret = Secret::from_passphrase("k");
        let token = sign(&secret, "moderate", &["42", "approve", "7"], 1_000);
        let claim = verify(&secret, "moderate", &token, 999).unwrap();
        assert_eq!(claim.subject, ["42", "approve", "7"]);
        assert_eq!(
            verify(&secret, "moderate", &token, 1_001),
            Err(LinkProblem::Expired)
        );
        assert_eq!(
            verify(&secret, "reset", &token, 999),
            Err(LinkProblem::Invalid)
        );
        assert_eq!(
            verify(&Secret::from_passphrase("j"), "moderate", &token, 999),
            Err(LinkProblem::Invalid)
        );
        let (message, signature) = token.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode(
            String::from_utf8(URL_SAFE_NO_PAD.decode(message).unwrap())
                .unwrap()
                .replace("approve", "spam"),
        );
        assert_eq!(
            verify(&secret, "moderate", &format!("{forged}.{signature}"), 999),
            Err(LinkProblem::Invalid)
        );
        assert_eq!(
            verify(&secret, "moderate", "garbage", 999),
            Err(LinkProblem::Invalid)
        );
        assert_eq!(digest(&token), digest(&format!(" {token} ")));
    }
}
