//! A certificate chain and its key, from PEM: checked to belong together, made ready for rustls,
//! and read for what the admin shows (names, issuer, validity).

use std::sync::Arc;

use rustls::{
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    sign::CertifiedKey,
};
use time::OffsetDateTime;

/// A chain and key rustls can serve, with what the admin shows of the first certificate.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub key: Arc<CertifiedKey>,
    pub about: About,
}

/// What the HTTPS page shows of a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct About {
    /// The DNS names it covers.
    pub names: Vec<String>,
    /// The issuer's common name (or its whole name when it has none).
    pub issuer: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl About {
    /// When to renew: 30 days before expiry, or with a third of its life left when it lives
    /// less than 90 days (as Let's Encrypt's own client and Caddy do).
    pub fn renew_at(&self) -> OffsetDateTime {
        let lifetime: time::Duration = self.not_after - self.not_before;
        let ahead: time::Duration = std::cmp::min(lifetime / 3_i32, time::Duration::days(30));
        self.not_after - ahead
    }
}

/// Why a chain or key cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum Invalid {
    #[error("no certificate in the PEM text")]
    NoCertificate,
    #[error("the certificate cannot be read: {0}")]
    Unreadable(String),
    #[error("no private key in the PEM text ({0})")]
    NoKey(String),
    #[error("the private key cannot be used: {0}")]
    BadKey(String),
    #[error("the private key does not belong to the certificate")]
    Mismatch,
}

/// Loads a PEM chain (leaf first) and its PEM private key.
pub fn load(chain_pem: &[u8], key_pem: &[u8]) -> Result<Loaded, Invalid> {
    let chain = CertificateDer::pem_slice_iter(chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Invalid::Unreadable(e.to_string()))?;
    let leaf = chain.first().ok_or(Invalid::NoCertificate)?;
    let about = about(leaf)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| Invalid::NoKey(e.to_string()))?;
    let signing = rustls::crypto::ring::sign::any_supported_type(&key)
        .map_err(|e| Invalid::BadKey(e.to_string()))?;
    let certified = CertifiedKey::new(chain, signing);
    certified.keys_match().map_err(|_| Invalid::Mismatch)?;
    Ok(Loaded {
        key: Arc::new(certified),
        about,
    })
}

fn about(leaf: &CertificateDer<'_>) -> Result<About, Invalid> {
    let (_, parsed) = x509_parser::parse_x509_certificate(leaf.as_ref())
        .map_err(|e| Invalid::Unreadable(e.to_string()))?;
    let names = parsed
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|name| match name {
                    x509_parser::extensions::GeneralName::DNSName(name) => Some((*name).to_owned()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let issuer = parsed
        .issuer()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map_or_else(|| parsed.issuer().to_string(), str::to_owned);
    let time = |t: &x509_parser::time::ASN1Time| {
        OffsetDateTime::from_unix_timestamp(t.timestamp())
            .map_err(|e| Invalid::Unreadable(e.to_string()))
    };
    let validity = parsed.validity();
    Ok(About {
        names,
        issuer,
        not_before: time(&validity.not_before)?,
        not_after: time(&validity.not_after)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lasting(days: i64) -> About {
        let now = OffsetDateTime::now_utc();
        About {
            names: vec![],
            issuer: String::new(),
            not_before: now,
            not_after: now + time::Duration::days(days),
        }
    }

    #[test]
    fn a_certificate_is_renewed_thirty_days_ahead_or_at_a_third_of_a_short_life() {
        let ninety = lasting(90);
        assert_eq!(
            ninety.not_after - ninety.renew_at(),
            time::Duration::days(30)
        );
        let year = lasting(365);
        assert_eq!(year.not_after - year.renew_at(), time::Duration::days(30));
        let six = lasting(6);
        assert_eq!(six.not_after - six.renew_at(), time::Duration::days(2));
    }

    #[test]
    fn text_without_a_certificate_is_refused_with_a_reason() {
        let error = load(b"not a certificate", b"").unwrap_err();
        assert!(matches!(error, Invalid::NoCertificate), "{error}");
    }
}
