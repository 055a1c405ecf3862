//! Alipay's RSA2 signatures: requests are signed over the sorted non-empty
//! parameters without `sign`; responses over the raw text of their
//! `<method>_response` node; notifications over their sorted non-empty
//! parameters without `sign` and `sign_type`. The keys stay in the host.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use paycore_plugin_sdk::Host;
use paycore_plugin_sdk::params::canonical_string;
use paycore_plugin_sdk::types::{Algorithm, ChannelError, Failure};

/// The secret holding the merchant's application private key.
pub const MERCHANT_KEY: &str = "merchant_private_key";
/// The secret holding Alipay's public key (public-key mode).
pub const ALIPAY_KEY: &str = "alipay_public_key";

/// What a request signs: every parameter but `sign`, empty ones left out.
pub fn request_content(params: &[(String, String)]) -> String {
    canonical_string(params, &["sign"])
}

/// What a notification signs: `sign_type` is left out too (Alipay's
/// "异步通知验签" rules differ from the request's on exactly this).
pub fn notify_content(params: &[(String, String)]) -> String {
    canonical_string(params, &["sign", "sign_type"])
}

/// The base64 RSA2 signature of `content` with the merchant's key.
pub fn sign(host: &dyn Host, content: &str) -> Result<String, ChannelError> {
    host.sign(MERCHANT_KEY, Algorithm::RsaPkcs1Sha256, content.as_bytes())
        .map(|sig| STANDARD.encode(sig))
        .map_err(|e| {
            // Nothing was sent: a request we cannot sign never leaves.
            ChannelError::InvalidRequest(Failure::new(
                "signing_failed",
                format!("cannot sign with secret `{MERCHANT_KEY}`: {e}"),
            ))
        })
}

/// Checks Alipay's base64 `signature` over `content`; `Err` says why in words.
pub fn verify(host: &dyn Host, content: &[u8], signature: &str) -> Result<(), String> {
    let signature = STANDARD
        .decode(signature.trim())
        .map_err(|_| "the signature is not base64".to_owned())?;
    match host.verify(ALIPAY_KEY, Algorithm::RsaPkcs1Sha256, content, &signature) {
        Ok(true) => Ok(()),
        Ok(false) => Err("the signature does not match Alipay's public key".to_owned()),
        Err(e) => Err(format!("cannot verify with secret `{ALIPAY_KEY}`: {e}")),
    }
}
