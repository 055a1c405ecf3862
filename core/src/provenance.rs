//! Which plugins may load: the operator's `[plugin_policy]` and the
//! publishers' public keys it trusts. Checking a plugin's signature against
//! it is the runtime's `provenance` module.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

pub const KEY_PREFIX: &str = "ed25519:";

/// The operator's rule for plugins, from `[plugin_policy]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProvenancePolicy {
    pub require_signature: bool,
    /// Public keys whose signatures are accepted.
    pub trusted_publishers: Vec<PublicKey>,
}

#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(pub [u8; 32]);

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_string())
    }
}

impl std::fmt::Display for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{KEY_PREFIX}{}", BASE64.encode(self.0))
    }
}

impl std::str::FromStr for PublicKey {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let bytes = text
            .strip_prefix(KEY_PREFIX)
            .and_then(|b| BASE64.decode(b).ok())
            .filter(|b| b.len() == 32)
            .ok_or("a publisher key is `ed25519:` and 32 bytes in base64 (see `paycore plugin keygen`)")?;
        Ok(PublicKey(bytes.try_into().expect("32 bytes")))
    }
}
