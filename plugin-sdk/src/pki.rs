//! Believing a channel's signing certificate, the way a payment channel
//! that sends its certificate with every message asks to be believed
//! (UnionPay's `signPubKeyCert`): the certificate must chain to the trust
//! roots the operator configured, be valid now, and be allowed to sign;
//! only then is the signature checked with its key.
//!
//! Path building, validity and signature checks are `rustls-webpki`'s (the
//! verifier rustls uses); what webpki leaves alone (key usage, the serial
//! number in decimal, the subject's common name) is read with
//! `x509-parser`. Nothing here is hand-written cryptography. The runtime
//! answers the `certificates` import of contract 1.1 with it, and
//! [`FakeHost`](crate::testing::FakeHost) does too, so that a plugin's
//! native tests see the answers the runtime gives. Native targets only:
//! inside a plugin the host does this work.

use rustls_pki_types::pem::{PemObject, SectionKind};
use rustls_pki_types::{CertificateDer, UnixTime};
use std::time::Duration;
use webpki::{EndEntityCert, ExtendedKeyUsageValidator, KeyPurposeIdIter};
use x509_parser::prelude::{FromDer, X509Certificate};

/// Whom to trust: PEM text of the roots a chain must end at, and of the
/// intermediates it may pass through.
#[derive(Debug, Clone, Copy)]
pub struct Trust<'a> {
    pub roots: &'a [u8],
    pub intermediates: &'a [u8],
}

/// How a signature was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// RSASSA-PKCS1-v1_5 with SHA-256 over the data as given.
    RsaPkcs1Sha256,
}

/// What was read from a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// The serial number in decimal, as UnionPay writes its `certId`.
    pub serial: String,
    /// The subject's common name; empty if it has none.
    pub subject_common_name: String,
    /// Validity, in milliseconds since the Unix epoch.
    pub not_before_millis: i64,
    pub not_after_millis: i64,
}

/// Why a certificate or its signature is not believed. The texts name
/// certificates by subject and dates only: certificates are public, and no
/// key material is ever printed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("malformed certificate: {0}")]
    Malformed(String),
    #[error("certificate not valid now: {0}")]
    Expired(String),
    #[error("certificate not trusted: {0}")]
    Untrusted(String),
    #[error("certificate may not sign: {0}")]
    WrongUsage(String),
    #[error("the signature does not match the data under the certificate's key")]
    BadSignature,
    #[error("unsupported: {0}")]
    Unsupported(String),
}

/// Believes `certificate` (PEM or DER) only if it chains to `trust`, is
/// valid at `now_millis` and may sign, then checks `signature` over `data`
/// with its key.
pub fn verify(
    trust: Trust<'_>,
    certificate: &[u8],
    scheme: Scheme,
    data: &[u8],
    signature: &[u8],
    now_millis: i64,
) -> Result<CertificateInfo, CertificateError> {
    let leaf = one_certificate(certificate)?;
    let info = read(&leaf)?;
    if now_millis < info.not_before_millis || now_millis > info.not_after_millis {
        return Err(CertificateError::Expired(format!(
            "`{}` is valid from {} to {} (Unix ms), not at {now_millis}",
            info.subject_common_name, info.not_before_millis, info.not_after_millis
        )));
    }
    check_key_usage(&leaf, &info)?;

    let roots = certificates_in(trust.roots)?;
    if roots.is_empty() {
        return Err(CertificateError::Malformed(
            "the trust roots hold no certificate".into(),
        ));
    }
    let anchors = roots
        .iter()
        .map(|root| {
            webpki::anchor_from_trusted_cert(root)
                .map(|anchor| anchor.to_owned())
                .map_err(|e| CertificateError::Malformed(format!("a trust root: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let intermediates = certificates_in(trust.intermediates)?;
    let end_entity =
        EndEntityCert::try_from(&leaf).map_err(|e| CertificateError::Malformed(format!("{e}")))?;
    let now = UnixTime::since_unix_epoch(Duration::from_millis(now_millis.max(0) as u64));
    end_entity
        .verify_for_usage(
            CHAIN_ALGORITHMS,
            &anchors,
            &intermediates,
            now,
            AnyPurpose,
            None,
            None,
        )
        .map_err(|e| chain_error(e, &info))?;

    let algorithm = match scheme {
        Scheme::RsaPkcs1Sha256 => webpki::ring::RSA_PKCS1_2048_8192_SHA256,
    };
    end_entity
        .verify_signature(algorithm, data, signature)
        .map_err(|e| match e {
            webpki::Error::InvalidSignatureForPublicKey => CertificateError::BadSignature,
            webpki::Error::UnsupportedSignatureAlgorithmForPublicKeyContext(_)
            | webpki::Error::UnsupportedSignatureAlgorithmContext(_) => {
                CertificateError::Unsupported(format!(
                    "{scheme:?} does not fit the key of `{}`",
                    info.subject_common_name
                ))
            }
            other => CertificateError::Unsupported(format!("{other}")),
        })?;
    Ok(info)
}

/// What the first certificate in `pem` (a key file that holds its
/// certificate beside the private key, or a certificate alone) says.
pub fn key_certificate(pem: &[u8]) -> Result<CertificateInfo, CertificateError> {
    let certificates = certificates_in(pem)?;
    let first = certificates.first().ok_or_else(|| {
        CertificateError::Malformed("the key holds no certificate beside it".into())
    })?;
    read(first)
}

/// Signatures a chain's certificates may be signed with.
static CHAIN_ALGORITHMS: &[&dyn rustls_pki_types::SignatureVerificationAlgorithm] = &[
    webpki::ring::RSA_PKCS1_2048_8192_SHA256,
    webpki::ring::RSA_PKCS1_2048_8192_SHA384,
    webpki::ring::RSA_PKCS1_2048_8192_SHA512,
    webpki::ring::RSA_PKCS1_3072_8192_SHA384,
    webpki::ring::ECDSA_P256_SHA256,
    webpki::ring::ECDSA_P384_SHA384,
];

/// A channel's signing certificate is no TLS certificate: whatever its
/// extended key usage lists (if anything), it is not what decides. Key
/// usage, the chain and the subject do.
struct AnyPurpose;

impl ExtendedKeyUsageValidator for AnyPurpose {
    fn validate(&self, iter: KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        for purpose in iter {
            purpose?;
        }
        Ok(())
    }
}

fn chain_error(e: webpki::Error, leaf: &CertificateInfo) -> CertificateError {
    let subject = &leaf.subject_common_name;
    match e {
        webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. } => {
            CertificateError::Expired(format!("a certificate in the chain of `{subject}`: {e}"))
        }
        webpki::Error::CaUsedAsEndEntity => {
            CertificateError::WrongUsage(format!("`{subject}` is a CA certificate"))
        }
        webpki::Error::UnknownIssuer => {
            CertificateError::Untrusted(format!("`{subject}` does not chain to the trust roots"))
        }
        other => CertificateError::Untrusted(format!("`{subject}`: {other}")),
    }
}

/// A signing certificate's key usage, when it states one, must allow
/// signatures (digitalSignature, or nonRepudiation as some CAs issue them).
fn check_key_usage(
    der: &CertificateDer<'_>,
    info: &CertificateInfo,
) -> Result<(), CertificateError> {
    let (_, cert) =
        X509Certificate::from_der(der).map_err(|e| CertificateError::Malformed(format!("{e}")))?;
    let usage = cert
        .key_usage()
        .map_err(|e| CertificateError::Malformed(format!("key usage: {e}")))?;
    match usage {
        Some(usage) if !(usage.value.digital_signature() || usage.value.non_repudiation()) => {
            Err(CertificateError::WrongUsage(format!(
                "the key usage of `{}` is {} without digitalSignature",
                info.subject_common_name, usage.value
            )))
        }
        _ => Ok(()),
    }
}

fn read(der: &CertificateDer<'_>) -> Result<CertificateInfo, CertificateError> {
    let (_, cert) =
        X509Certificate::from_der(der).map_err(|e| CertificateError::Malformed(format!("{e}")))?;
    let subject_common_name = cert
        .subject()
        .iter_common_name()
        .next()
        .map(|cn| {
            cn.as_str()
                .map(str::to_owned)
                .map_err(|e| CertificateError::Malformed(format!("subject CN: {e}")))
        })
        .transpose()?
        .unwrap_or_default();
    let validity = cert.validity();
    Ok(CertificateInfo {
        serial: cert.tbs_certificate.serial.to_string(),
        subject_common_name,
        not_before_millis: validity.not_before.timestamp().saturating_mul(1000),
        not_after_millis: validity.not_after.timestamp().saturating_mul(1000),
    })
}

/// Exactly one certificate, PEM or DER.
fn one_certificate(bytes: &[u8]) -> Result<CertificateDer<'static>, CertificateError> {
    let mut found = certificates_in(bytes)?;
    match found.len() {
        0 => Ok(CertificateDer::from(bytes.to_vec())),
        1 => Ok(found.remove(0)),
        n => Err(CertificateError::Malformed(format!(
            "expected one certificate, found {n}"
        ))),
    }
}

/// The PEM `CERTIFICATE` sections of `bytes`, in order; other sections
/// (a private key beside its certificate) are passed over.
fn certificates_in(bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, CertificateError> {
    let mut certificates = Vec::new();
    for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(bytes) {
        let (kind, der) = section.map_err(|e| CertificateError::Malformed(format!("PEM: {e}")))?;
        if kind == SectionKind::Certificate {
            certificates.push(CertificateDer::from(der));
        }
    }
    Ok(certificates)
}
