//! Huifu's signatures: SHA256withRSA (RSASSA-PKCS1-v1_5), standard base64
//! with padding. Requests are signed over the canonical `data` with the
//! merchant's key; answers and notifications are checked with Huifu's
//! public key over the text exactly as it came. The keys stay in the
//! host: the plugin only names them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use paycore_plugin_sdk::Host;
use paycore_plugin_sdk::types::{Algorithm, ChannelError, Failure};

/// The secret holding the merchant's private key (PKCS#8: the base64 body
/// Huifu's console hands out, or PEM).
pub const MERCHANT_KEY: &str = "merchant_private_key";
/// The secret holding Huifu's public key (X.509 SubjectPublicKeyInfo:
/// base64 body or PEM).
pub const HUIFU_KEY: &str = "huifu_public_key";

/// The base64 signature of `text` with the merchant's key.
pub fn sign(host: &dyn Host, text: &str) -> Result<String, ChannelError> {
    host.sign(MERCHANT_KEY, Algorithm::RsaPkcs1Sha256, text.as_bytes())
        .map(|signature| STANDARD.encode(signature))
        .map_err(|e| {
            // A request we cannot sign never leaves. The error names the
            // secret, never its content.
            ChannelError::InvalidRequest(Failure::new(
                "signing_failed",
                format!("cannot sign with secret `{MERCHANT_KEY}`: {e:?}"),
            ))
        })
}

/// Whether Huifu signed `text`; `Err` says in words why not.
pub fn verify(host: &dyn Host, text: &[u8], signature: &str) -> Result<(), String> {
    let signature = STANDARD
        .decode(signature.trim())
        .map_err(|_| "the signature is not base64".to_owned())?;
    match host.verify(HUIFU_KEY, Algorithm::RsaPkcs1Sha256, text, &signature) {
        Ok(true) => Ok(()),
        Ok(false) => Err("the signature does not match Huifu's public key".to_owned()),
        Err(e) => Err(format!("cannot verify with secret `{HUIFU_KEY}`: {e:?}")),
    }
}
