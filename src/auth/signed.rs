//! A signed list of ids in a cookie: which held comments this browser wrote, so that their
//! author (and nobody else) sees them while they wait for moderation.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use super::Secret;

const PURPOSE: &str = "own-comments";
/// Only the newest ones are remembered; older comments have long been moderated.
pub const MAX_IDS: usize = 20;

pub fn encode_ids(secret: &Secret, ids: &[i64]) -> String {
    let start = ids.len().saturating_sub(MAX_IDS);
    let list = ids[start..]
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join("-");
    let signature = URL_SAFE_NO_PAD.encode(secret.sign(PURPOSE, list.as_bytes()));
    format!("{list}.{signature}")
}

/// The ids in a cookie value, or none when it was not signed by this blog.
pub fn decode_ids(secret: &Secret, value: &str) -> Vec<i64> {
    let Some((list, signature)) = value.rsplit_once('.') else {
        return Vec::new();
    };
    let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
        return Vec::new();
    };
    if !secret.verify(PURPOSE, list.as_bytes(), &signature) {
        return Vec::new();
    }
    list.split('-')
        .filter_map(|id| id.parse().ok())
        .take(MAX_IDS)
        .collect()
}

const POSITION_PURPOSE: &str = "seen-position";

/// A WAL position, signed, good until `expires` (unix seconds): what a reader's own last write
/// needs replicas to have replayed.
pub fn encode_position(secret: &Secret, position: i64, expires: i64) -> String {
    let text = format!("{position}-{expires}");
    let signature = URL_SAFE_NO_PAD.encode(secret.sign(POSITION_PURPOSE, text.as_bytes()));
    format!("{text}.{signature}")
}

/// The position in a cookie value, or none when it was not signed by this blog or has expired
/// by `now` (a copied cookie is worth nothing after its time).
pub fn decode_position(secret: &Secret, value: &str, now: i64) -> Option<i64> {
    let (text, signature) = value.rsplit_once('.')?;
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    if !secret.verify(POSITION_PURPOSE, text.as_bytes(), &signature) {
        return None;
    }
    let (position, expires) = text.split_once('-')?;
    let expires: i64 = expires.parse().ok()?;
    (now < expires).then(|| position.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_tampering_is_ignored() {
        let secret = Secret::from_passphrase("k");
        let value = encode_ids(&secret, &[3, 17, 1234]);
        assert_eq!(decode_ids(&secret, &value), [3, 17, 1234]);
        assert!(decode_ids(&secret, &value.replacen("17", "18", 1)).is_empty());
        assert!(decode_ids(&Secret::from_passphrase("j"), &value).is_empty());
        assert!(decode_ids(&secret, "garbage").is_empty());
        let many: Vec<i64> = (1..=30).collect();
        assert_eq!(
            decode_ids(&secret, &encode_ids(&secret, &many)),
            (11..=30).collect::<Vec<_>>()
        );
    }

    #[test]
    fn positions_round_trip_and_tampering_is_ignored() {
        let secret = Secret::from_passphrase("k");
        let value = encode_position(&secret, 123_456_789, 1_000);
        assert_eq!(decode_position(&secret, &value, 999), Some(123_456_789));
        assert_eq!(decode_position(&secret, &value, 1_000), None, "expired");
        assert_eq!(
            decode_position(&secret, &value.replacen('1', "9", 1), 0),
            None
        );
        assert_eq!(
            decode_position(&Secret::from_passphrase("j"), &value, 0),
            None
        );
        assert_eq!(decode_position(&secret, "5", 0), None);
    }
}
