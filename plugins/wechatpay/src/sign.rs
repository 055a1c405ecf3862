//! WeChat Pay API v3 signatures. Requests carry
//! `Authorization: WECHATPAY2-SHA256-RSA2048 …` signed over
//! `METHOD\nPATH?QUERY\ntimestamp\nnonce\nbody\n`; responses and callbacks
//! are signed by the platform over `timestamp\nnonce\nbody\n`. Keys stay in
//! the host: this module only names them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use paycore_plugin_sdk::Host;
use paycore_plugin_sdk::types::{Algorithm, ChannelError, Failure};
use sha2::{Digest, Sha256};

/// The merchant's API certificate private key.
pub const MERCHANT_KEY: &str = "merchant_private_key";
/// The platform's public key (certificate or "public key" mode).
pub const PLATFORM_KEY: &str = "platform_public_key";
/// The 32-byte APIv3 key callback resources are encrypted with.
pub const APIV3_KEY: &str = "apiv3_key";

/// Lines joined with, and each ended by, `\n`: every v3 signing message.
pub fn message(lines: &[&str]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// A 32-character nonce unique to this request. WeChat needs it unique to
/// refuse replays, not unpredictable; deriving it from what is signed keeps
/// plugin calls deterministic (and testable) without a randomness import.
pub fn nonce(parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hex::encode_upper(&hash.finalize()[..16])
}

/// Base64 RSA-SHA256 of `message` with the merchant key.
pub fn sign(host: &dyn Host, message: &str) -> Result<String, ChannelError> {
    host.sign(MERCHANT_KEY, Algorithm::RsaPkcs1Sha256, message.as_bytes())
        .map(|sig| STANDARD.encode(sig))
        .map_err(|e| {
            ChannelError::InvalidRequest(Failure::new(
                "signing_failed",
                format!("cannot sign with secret `{MERCHANT_KEY}`: {e}"),
            ))
        })
}

pub struct Authorization<'a> {
    pub mchid: &'a str,
    pub serial_no: &'a str,
    pub method: &'a str,
    /// Path and query, exactly as in the request line.
    pub path: &'a str,
    pub body: &'a str,
    pub timestamp: u64,
}

impl Authorization<'_> {
    pub fn header(&self, host: &dyn Host) -> Result<String, ChannelError> {
        let ts = self.timestamp.to_string();
        let nonce = nonce(&[self.method, self.path, self.body, &ts]);
        let signature = sign(
            host,
            &message(&[self.method, self.path, &ts, &nonce, self.body]),
        )?;
        Ok(format!(
            r#"WECHATPAY2-SHA256-RSA2048 mchid="{}",nonce_str="{nonce}",signature="{signature}",timestamp="{ts}",serial_no="{}""#,
            self.mchid, self.serial_no
        ))
    }
}

/// The platform's `Wechatpay-*` headers of a response or callback.
pub struct Signed<'a> {
    pub serial: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub nonce: Option<&'a str>,
    pub signature: Option<&'a str>,
}

impl Signed<'_> {
    /// Checks the signature over `timestamp\nnonce\nbody\n` with the platform
    /// key the serial names; `Err` says why in words.
    pub fn verify(
        &self,
        host: &dyn Host,
        platform_serial: &str,
        body: &[u8],
    ) -> Result<(), String> {
        let (Some(serial), Some(ts), Some(nonce), Some(signature)) =
            (self.serial, self.timestamp, self.nonce, self.signature)
        else {
            return Err(
                "the Wechatpay-Serial/Timestamp/Nonce/Signature headers are missing".into(),
            );
        };
        if serial != platform_serial {
            return Err(format!(
                "signed with platform key {serial}, but this channel trusts {platform_serial}"
            ));
        }
        let body = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_owned())?;
        let signature = STANDARD
            .decode(signature)
            .map_err(|_| "the signature is not base64".to_owned())?;
        let content = message(&[ts, nonce, body]);
        match host.verify(
            PLATFORM_KEY,
            Algorithm::RsaPkcs1Sha256,
            content.as_bytes(),
            &signature,
        ) {
            Ok(true) => Ok(()),
            Ok(false) => Err("the signature does not match the platform key".into()),
            Err(e) => Err(format!("cannot verify with secret `{PLATFORM_KEY}`: {e}")),
        }
    }
}
