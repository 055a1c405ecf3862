//! UnionPay's signing certificate, the one every answer and notification
//! carries as `signPubKeyCert`: issued at start under the configured middle
//! CA, and re-issued spoiled one way at a time when a test asks, so a
//! merchant's every check (dates, chain, key usage, owner) can be seen to
//! bite. All variants certify the same committed signing key: rcgen's `ring`
//! backend cannot generate RSA keys, and the key is not what is on trial.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SerialNumber,
};
use time::{Duration, OffsetDateTime};

/// The organisation a merchant expects in the third `@` part of the CN.
pub const UNIONPAY_NAME: &str = "中国银联股份有限公司";
/// Someone else's name, for [`CertificateFault::WrongOwner`]: a real-looking
/// payment company, so only the exact comparison catches it.
pub const IMPOSTOR_NAME: &str = "银联商务股份有限公司";
/// The serial of the first certificate issued; every re-issue takes the
/// next one, as a real renewal would.
pub const FIRST_SERIAL: u64 = 69_042_905_377;

/// One way the signing certificate can be wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateFault {
    /// Its validity ended yesterday (and began a year before).
    Expired,
    /// Issued by a CA that is neither the configured middle nor under the
    /// root, with its own name and key.
    WrongChain,
    /// Key usage keyCertSign only: not for signing messages.
    WrongUsage,
    /// Its CN names another company than UnionPay.
    WrongOwner,
}

/// What issues signing certificates: the middle CA (certificate and key)
/// and an unrelated CA made at start for [`CertificateFault::WrongChain`].
pub(crate) struct Authority {
    middle_cert: String,
    middle_key: String,
    sign_key: String,
    stranger_params: CertificateParams,
    stranger_key: String,
    stranger_cert: String,
}

impl Authority {
    pub(crate) fn new(
        middle_cert: &str,
        middle_key: &str,
        sign_key: &str,
        stranger_key: &str,
    ) -> anyhow::Result<Authority> {
        // Fail at start, not at the first answer, if a PEM is unusable.
        Issuer::from_ca_cert_pem(middle_cert, KeyPair::from_pem(middle_key)?)?;
        KeyPair::from_pem(sign_key)?;
        let mut stranger_params = CertificateParams::default();
        stranger_params
            .distinguished_name
            .push(DnType::CountryName, "CN");
        stranger_params
            .distinguished_name
            .push(DnType::OrganizationName, "paycore demo stranger");
        stranger_params.distinguished_name.push(
            DnType::CommonName,
            "paycore demo CA outside UnionPay's chain",
        );
        stranger_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        stranger_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let now = OffsetDateTime::now_utc();
        stranger_params.not_before = now - Duration::days(1);
        stranger_params.not_after = now + Duration::days(3650);
        stranger_params.serial_number = Some(SerialNumber::from(1u64));
        let stranger_cert = stranger_params
            .self_signed(&KeyPair::from_pem(stranger_key)?)?
            .pem();
        Ok(Authority {
            middle_cert: middle_cert.to_owned(),
            middle_key: middle_key.to_owned(),
            sign_key: sign_key.to_owned(),
            stranger_params,
            stranger_key: stranger_key.to_owned(),
            stranger_cert,
        })
    }

    /// The unrelated CA's certificate (what a WrongChain certificate does
    /// chain to).
    pub(crate) fn stranger_cert(&self) -> &str {
        &self.stranger_cert
    }

    /// The unrelated CA's key: also what a notification spoiled with
    /// `Tweak::bad_signature` is signed with.
    pub(crate) fn stranger_key(&self) -> &str {
        &self.stranger_key
    }

    /// A signing certificate for the sign key, spoiled by `fault`, as PEM.
    pub(crate) fn issue(
        &self,
        fault: Option<CertificateFault>,
        serial: u64,
    ) -> anyhow::Result<String> {
        let subject_key = KeyPair::from_pem(&self.sign_key)?;
        let params = signing_params(fault, serial, OffsetDateTime::now_utc());
        let certificate = if fault == Some(CertificateFault::WrongChain) {
            let issuer = Issuer::new(
                self.stranger_params.clone(),
                KeyPair::from_pem(&self.stranger_key)?,
            );
            params.signed_by(&subject_key, &issuer)?
        } else {
            let issuer =
                Issuer::from_ca_cert_pem(&self.middle_cert, KeyPair::from_pem(&self.middle_key)?)?;
            params.signed_by(&subject_key, &issuer)?
        };
        Ok(certificate.pem())
    }
}

/// What the certificate says, by the system's clock (certificate dates are
/// checked against real time, not the business clock).
fn signing_params(
    fault: Option<CertificateFault>,
    serial: u64,
    now: OffsetDateTime,
) -> CertificateParams {
    let owner = if fault == Some(CertificateFault::WrongOwner) {
        IMPOSTOR_NAME
    } else {
        UNIONPAY_NAME
    };
    let mut params = CertificateParams::default();
    // The layout of UnionPay's own: `041@Z12@<organisation>@00000001`.
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CountryName, "CN");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "paycore demo");
    params
        .distinguished_name
        .push(DnType::OrganizationalUnitName, "Enterprises");
    params
        .distinguished_name
        .push(DnType::CommonName, format!("041@Z12@{owner}@00000001"));
    params.serial_number = Some(SerialNumber::from(serial));
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = if fault == Some(CertificateFault::WrongUsage) {
        vec![KeyUsagePurpose::KeyCertSign]
    } else {
        // rcgen marks key usage critical.
        vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::ContentCommitment,
        ]
    };
    // Lets a verifier find the issuing CA by key, as real chains allow.
    params.use_authority_key_identifier_extension = true;
    if fault == Some(CertificateFault::Expired) {
        params.not_before = now - Duration::days(366);
        params.not_after = now - Duration::days(1);
    } else {
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(365);
    }
    params
}
