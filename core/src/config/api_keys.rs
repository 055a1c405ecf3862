//! Tenants' API keys as paycore keeps them: SHA-256 digests, never the keys.
//!
//! A tenant file lists each key either as the key itself (demos and tests)
//! or as a hashed reference `sha256:<64 hex>` (production: the config then
//! holds nothing that authenticates), optionally with an expiry so that a
//! rotated key keeps working for an overlap window:
//!
//! ```toml
//! api_keys = [
//!   "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
//!   { key = "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae", expires_at = "2026-12-31T00:00:00Z" },
//! ]
//! ```
//!
//! Why a plain SHA-256 and not a salted, slow hash: API keys are random
//! tokens of at least 128 bits (`paycore key new` makes 192), so no
//! dictionary or precomputed table can reach them and a salt would add
//! nothing; it would, however, force every request to hash the presented
//! key once per stored key, since a salted digest cannot be looked up.
//! Slow, salted hashes are for passwords people choose.

use sha2::{Digest, Sha256};

/// One accepted key: its digest and, during a rotation, when it stops.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub digest: [u8; 32],
    pub expires_at: Option<jiff::Timestamp>,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The digest is not secret, but a prefix is enough to tell keys apart.
        write!(f, "ApiKey(sha256:{}…", &hex::encode(self.digest)[..8])?;
        match self.expires_at {
            Some(at) => write!(f, ", expires {at})"),
            None => f.write_str(")"),
        }
    }
}

const PREFIX: &str = "sha256:";

/// The digest a presented key is looked up by.
pub fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// The hashed reference of `key`, as a tenant file lists it.
pub fn reference(key: &str) -> String {
    format!("{PREFIX}{}", hex::encode(digest(key)))
}

/// A new random key (24 random bytes, URL-safe) with its hashed reference.
pub fn generate(prefix: &str) -> (String, String) {
    let bytes: [u8; 24] = rand::random();
    let key = format!(
        "{prefix}{}",
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
    );
    let reference = reference(&key);
    (key, reference)
}

/// Reads one entry of `api_keys`: a `sha256:` reference, or a key itself
/// (at least 8 characters). `Err` says what is wrong without repeating it.
pub fn parse(text: &str) -> Result<[u8; 32], String> {
    match text.strip_prefix(PREFIX) {
        Some(hex_digest) => {
            let bytes = hex::decode(hex_digest)
                .ok()
                .filter(|b| b.len() == 32)
                .ok_or("a hashed key is `sha256:` and 64 hex digits (see `paycore key hash`)")?;
            Ok(bytes.try_into().expect("32 bytes"))
        }
        None if text.len() < 8 => Err("an API key must be at least 8 characters".into()),
        None => Ok(digest(text)),
    }
}

/// Whether `given` is the token `expected` names: the token itself, or its
/// `sha256:` reference (so the admin token, too, can be configured hashed).
/// Compared in constant time.
pub fn token_matches(expected: &[u8], given: &str) -> bool {
    use subtle::ConstantTimeEq;
    match std::str::from_utf8(expected).ok().map(parse) {
        Some(Ok(digest_expected)) if expected.starts_with(PREFIX.as_bytes()) => {
            bool::from(digest(given).ct_eq(&digest_expected))
        }
        _ => bool::from(given.as_bytes().ct_eq(expected)),
    }
}

/// Whether a configured token is a hashed reference (and so cannot be sent).
pub fn is_reference(token: &[u8]) -> bool {
    token.starts_with(PREFIX.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_and_its_reference_name_the_same_digest() {
        let (key, reference) = generate("sk_live_");
        assert!(key.starts_with("sk_live_") && key.len() >= 8 + 32);
        assert_eq!(parse(&key).unwrap(), parse(&reference).unwrap());
        assert_ne!(parse("sk_test_other").unwrap(), digest(&key));
        assert!(parse("sha256:abc").unwrap_err().contains("64 hex"));
        assert!(parse("short").unwrap_err().contains("8 characters"));
    }

    #[test]
    fn a_token_matches_itself_or_its_reference_only() {
        let reference = reference("adm_secret_token");
        for expected in [b"adm_secret_token".as_slice(), reference.as_bytes()] {
            assert!(token_matches(expected, "adm_secret_token"));
            assert!(!token_matches(expected, "adm_secret_tokeN"));
            assert!(!token_matches(expected, ""));
        }
        assert!(
            !token_matches(reference.as_bytes(), &reference),
            "the reference is no token"
        );
    }

    #[test]
    fn debug_shows_neither_key_nor_whole_digest() {
        let key = ApiKey {
            digest: digest("sk_test_secret_key"),
            expires_at: None,
        };
        let text = format!("{key:?}");
        assert!(!text.contains("sk_test_secret_key"));
        assert!(!text.contains(&hex::encode(key.digest)));
    }
}
