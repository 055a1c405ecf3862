//! Paycore's merchant webhooks, seen from the merchant: the signature scheme
//! and the check a receiver runs before believing a webhook.
//!
//! Every webhook carries `Paycore-Signature: t=<unix seconds>,v1=<hex>`, where
//! `<hex>` is HMAC-SHA256 under the tenant's webhook secret over
//! `"<t>.<raw body>"`. A receiver recomputes it over the raw bytes it got
//! (before any JSON parsing), compares in constant time, and refuses
//! timestamps too far from its own clock so a captured webhook cannot be
//! replayed later.
//!
//! ```
//! use paycore_plugin_sdk::webhook::{signature_header, verify_signature};
//! use std::time::{Duration, SystemTime, UNIX_EPOCH};
//!
//! let secret = b"whsec_test_demo_secret";
//! let body = br#"{"id":"evt_1","type":"payment.succeeded","data":{}}"#;
//! // What paycore sends...
//! let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
//! let header = signature_header(secret, now, body);
//! // ...and what the merchant checks, with five minutes of tolerance.
//! verify_signature(secret, &header, body, Duration::from_secs(300)).unwrap();
//! assert!(verify_signature(b"another secret", &header, body, Duration::from_secs(300)).is_err());
//! ```

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The header paycore signs webhooks in.
pub const SIGNATURE_HEADER: &str = "Paycore-Signature";

/// Why a webhook's signature was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// The header is not `t=<unix seconds>,v1=<hex>[,v1=<hex>...]`.
    Malformed,
    /// The timestamp is further from now than the tolerance allows.
    OutsideTolerance,
    /// No `v1` signature matches the body under this secret.
    Mismatch,
}

impl std::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SignatureError::Malformed => "the Paycore-Signature header is malformed",
            SignatureError::OutsideTolerance => "the webhook's timestamp is outside the tolerance",
            SignatureError::Mismatch => "the webhook's signature does not match its body",
        })
    }
}

impl std::error::Error for SignatureError {}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `Paycore-Signature` value for `body` sent at `timestamp` (unix seconds).
pub fn signature_header(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let digest = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(digest))
}

/// Checks a webhook's `Paycore-Signature` header against its raw body, with
/// the receiver's clock allowed to differ from paycore's by `tolerance`.
pub fn verify_signature(
    secret: &[u8],
    header: &str,
    body: &[u8],
    tolerance: Duration,
) -> Result<(), SignatureError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    verify_signature_at(secret, header, body, tolerance, now)
}

/// [`verify_signature`] with an explicit "now" in unix seconds.
pub fn verify_signature_at(
    secret: &[u8],
    header: &str,
    body: &[u8],
    tolerance: Duration,
    now: i64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => {
                signatures.push(hex::decode(v).map_err(|_| SignatureError::Malformed)?)
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if now.abs_diff(timestamp) > tolerance.as_secs() {
        return Err(SignatureError::OutsideTolerance);
    }
    let expected = mac(secret, timestamp, body);
    // `verify_slice` compares in constant time; several `v1` values may be
    // present while a secret is being rotated.
    if signatures
        .iter()
        .any(|s| expected.clone().verify_slice(s).is_ok())
    {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_700_000_000;
    const FIVE_MIN: Duration = Duration::from_secs(300);

    #[test]
    fn a_signed_body_verifies_and_nothing_else_does() {
        let header = signature_header(b"whsec", T, b"{}");
        assert!(header.starts_with("t=1700000000,v1="));
        assert_eq!(header.len(), "t=1700000000,v1=".len() + 64);
        assert_eq!(
            verify_signature_at(b"whsec", &header, b"{}", FIVE_MIN, T + 10),
            Ok(())
        );
        let check = |secret: &[u8], header: &str, body: &[u8], now| {
            verify_signature_at(secret, header, body, FIVE_MIN, now)
        };
        assert_eq!(
            check(b"other", &header, b"{}", T),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(b"whsec", &header, b"{ }", T),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(
                b"whsec",
                &header.replace("t=1700000000", "t=1700000001"),
                b"{}",
                T
            ),
            Err(SignatureError::Mismatch),
            "the timestamp is signed too"
        );
        assert_eq!(
            check(b"whsec", &header, b"{}", T + 301),
            Err(SignatureError::OutsideTolerance)
        );
        assert_eq!(
            check(b"whsec", &header, b"{}", T - 301),
            Err(SignatureError::OutsideTolerance)
        );
        for bad in [
            "",
            "t=1700000000",
            "v1=00",
            "t=x,v1=00",
            "t=1700000000,v1=zz",
        ] {
            assert_eq!(
                check(b"whsec", bad, b"{}", T),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn any_of_several_signatures_may_match() {
        let good = signature_header(b"new", T, b"{}");
        let v1 = good.split_once("v1=").unwrap().1;
        let header = format!("t={T},v1={},v1={v1}", "00".repeat(32));
        assert_eq!(
            verify_signature_at(b"new", &header, b"{}", FIVE_MIN, T),
            Ok(())
        );
    }
}
