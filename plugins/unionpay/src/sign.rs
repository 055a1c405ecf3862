//! acp signatures (signMethod 01): requests signed with the merchant's key
//! and named by its certificate's serial (`certId`); answers and
//! notifications believed only when the certificate they carry
//! (`signPubKeyCert`) chains to the operator's UnionPay roots, is valid,
//! may sign, belongs to UnionPay, and its key signed the double hash. The
//! keys and certificates stay in the host; the plugin only names them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use paycore_plugin_sdk::Host;
use paycore_plugin_sdk::types::{
    Algorithm, CertificateError, CertificateScheme, ChannelError, Failure, Trust,
};

use crate::message::{self, Fields, digest_hex, sign_string};

/// The secret holding the merchant's signing key and its certificate (PEM).
pub const MERCHANT_KEY: &str = "merchant_sign_key";
/// The secret holding UnionPay's root certificate(s) (PEM).
pub const ROOT_CERT: &str = "unionpay_root_cert";
/// The secret holding UnionPay's middle (intermediate) certificate(s) (PEM).
pub const MIDDLE_CERT: &str = "unionpay_middle_cert";
/// Who must own the signing certificate: the third `@` part of its CN
/// (`041@Z12@中国银联股份有限公司@00000001`).
pub const UNIONPAY_NAME: &str = "中国银联股份有限公司";

/// The merchant certificate's serial in decimal: the `certId` of every
/// request. Nothing is sent without it.
pub fn cert_id(host: &dyn Host) -> Result<String, ChannelError> {
    host.key_certificate(MERCHANT_KEY)
        .map(|info| info.serial)
        .map_err(|e| {
            ChannelError::InvalidRequest(Failure::new(
                "merchant_certificate",
                format!(
                    "secret `{MERCHANT_KEY}` must hold the merchant's key and its certificate: {}",
                    certificate_error(&e)
                ),
            ))
        })
}

/// Adds `signature` to a request's fields: base64 of RSA-SHA256 over the
/// hex SHA-256 of the sign string.
pub fn sign(host: &dyn Host, fields: &mut Fields) -> Result<(), ChannelError> {
    let digest = digest_hex(&sign_string(fields, true));
    let signature = host
        .sign(MERCHANT_KEY, Algorithm::RsaPkcs1Sha256, digest.as_bytes())
        .map_err(|e| {
            // A request we cannot sign never leaves.
            ChannelError::InvalidRequest(Failure::new(
                "signing_failed",
                format!("cannot sign with secret `{MERCHANT_KEY}`: {e:?}"),
            ))
        })?;
    fields.push(("signature".to_owned(), STANDARD.encode(signature)));
    Ok(())
}

/// Whether UnionPay signed these fields (an answer or a notification);
/// `Err` says in words why not. Certificates are public, so naming one's
/// subject in the reason leaks nothing.
pub fn verify(host: &dyn Host, fields: &[(String, String)]) -> Result<(), String> {
    let signature = message::field(fields, "signature")
        .filter(|s| !s.is_empty())
        .ok_or("no signature")?;
    let signature = STANDARD
        .decode(signature.trim())
        .map_err(|_| "the signature is not base64".to_owned())?;
    let certificate = message::field(fields, "signPubKeyCert")
        .filter(|c| !c.is_empty())
        .ok_or("no signPubKeyCert")?;
    let digest = digest_hex(&sign_string(fields, false));
    let trust = Trust {
        roots: ROOT_CERT.to_owned(),
        intermediates: Some(MIDDLE_CERT.to_owned()),
    };
    let info = host
        .verify_with_certificate(
            &trust,
            certificate.as_bytes(),
            CertificateScheme::RsaPkcs1Sha256,
            digest.as_bytes(),
            &signature,
        )
        .map_err(|e| certificate_error(&e))?;
    // The host believes the certificate's chain, not whose it is: any
    // certificate the UnionPay CA issued (a merchant's too) would pass.
    match info.subject_common_name.split('@').nth(2) {
        Some(UNIONPAY_NAME) => Ok(()),
        _ => Err(format!(
            "the signing certificate `{}` is not UnionPay's",
            info.subject_common_name
        )),
    }
}

fn certificate_error(e: &CertificateError) -> String {
    match e {
        CertificateError::UnknownKey(name) => format!("no secret `{name}`"),
        CertificateError::Malformed(why) => format!("unreadable certificate: {why}"),
        CertificateError::Expired(why) => format!("certificate not valid now: {why}"),
        CertificateError::Untrusted(why) => format!("certificate not trusted: {why}"),
        CertificateError::WrongUsage(why) => format!("certificate may not sign: {why}"),
        CertificateError::BadSignature => {
            "the signature does not match the fields under the certificate's key".to_owned()
        }
        CertificateError::Unsupported(why) => format!("unsupported: {why}"),
    }
}
