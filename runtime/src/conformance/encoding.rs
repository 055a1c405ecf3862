//! How a profile's `let` writes its bytes into a template (`encoding`), and
//! the hash a provider applies before it signs (`digest`). Providers differ
//! in both, so they are named by what they do, not by whose they are.

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

/// A name the profile gave that the suite does not know; the names it
/// knows are listed, so the author can fix the typo.
#[derive(Debug, thiserror::Error)]
pub enum EncodingError {
    #[error("unknown encoding `{0}` (hex, base64, base64-form or form)")]
    UnknownEncoding(String),
    #[error("unknown digest `{0}` (sha256-hex)")]
    UnknownDigest(String),
}

/// `bytes` as `encoding` writes them: `hex`; `base64`; `base64-form`
/// (base64, then escaped for a form body: `+`, `/`, `=`); `form` (escaped
/// for a form body as they are: a value carried raw in a sign string and
/// escaped on the wire).
pub fn encode(bytes: &[u8], encoding: &str) -> Result<String, EncodingError> {
    let base64 = || base64::engine::general_purpose::STANDARD.encode(bytes);
    Ok(match encoding {
        "hex" => hex::encode(bytes),
        "base64" => base64(),
        "base64-form" => form(base64().as_bytes()),
        "form" => form(bytes),
        other => return Err(EncodingError::UnknownEncoding(other.to_string())),
    })
}

/// `application/x-www-form-urlencoded` escaping, as a form body's value is
/// written (space as `+`).
fn form(bytes: &[u8]) -> String {
    form_urlencoded::byte_serialize(bytes).collect()
}

/// What a signature is made over when the provider hashes first: for
/// `sha256-hex`, the lowercase hex SHA-256 of `data` as ASCII (UnionPay's
/// acp signs those 64 characters, so the data is hashed twice).
pub fn digest(data: &[u8], digest: &str) -> Result<Vec<u8>, EncodingError> {
    match digest {
        "sha256-hex" => Ok(hex::encode(Sha256::digest(data)).into_bytes()),
        other => Err(EncodingError::UnknownDigest(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_write_bytes_as_named() {
        let bytes = b"a+b/c= d\n";
        assert_eq!(encode(bytes, "hex").unwrap(), "612b622f633d20640a");
        assert_eq!(encode(bytes, "base64").unwrap(), "YStiL2M9IGQK");
        assert_eq!(encode(&[0xfb, 0xff], "base64-form").unwrap(), "%2B%2F8%3D");
        assert_eq!(encode(bytes, "form").unwrap(), "a%2Bb%2Fc%3D+d%0A");
        assert_eq!(
            encode(bytes, "url").unwrap_err().to_string(),
            "unknown encoding `url` (hex, base64, base64-form or form)"
        );
    }

    #[test]
    fn the_sha256_hex_digest_is_lowercase_ascii() {
        // FIPS 180-2's example.
        assert_eq!(
            digest(b"abc", "sha256-hex").unwrap(),
            b"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(digest(b"abc", "sha1").is_err());
    }
}
