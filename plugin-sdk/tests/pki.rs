//! Certificates are made here with rcgen from the demo keys committed under
//! `config/secrets/`, so that every way a chain can be wrong is built on
//! purpose; the committed demo chain itself is checked too.

use paycore_plugin_sdk::pki::*;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SerialNumber, SigningKey,
};
use time::{Duration as Span, OffsetDateTime};

const ROOT_PEM: &str = include_str!("../../config/secrets/unionpay-demo-root.pem");
const MIDDLE_PEM: &str = include_str!("../../config/secrets/unionpay-demo-middle.pem");
const MERCHANT_PEM: &str = include_str!("../../config/secrets/unionpay-demo-merchant.pem");
const ROOT_KEY: &str = include_str!("../../config/secrets/unionpay-demo-root-private.pem");
const MIDDLE_KEY: &str = include_str!("../../config/secrets/unionpay-demo-middle-private.pem");
const SIGN_KEY: &str = include_str!("../../config/secrets/unionpay-demo-sign-private.pem");

const UNIONPAY_CN: &str = "041@Z12@中国银联股份有限公司@00000001";

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn millis(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

fn ca_params(name: &str, from: OffsetDateTime, to: OffsetDateTime) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = from;
    params.not_after = to;
    params
}

fn leaf_params(cn: &str, from: OffsetDateTime, to: OffsetDateTime) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::ContentCommitment,
    ];
    params.serial_number = Some(SerialNumber::from(vec![0x10, 0x21, 0x32, 0x43]));
    params.not_before = from;
    params.not_after = to;
    params
}

/// A root and a middle CA made from the demo keys, and the PEM of each.
struct Chain {
    root_pem: String,
    middle_pem: String,
    middle: Issuer<'static, KeyPair>,
}

fn chain(middle_from: OffsetDateTime, middle_to: OffsetDateTime) -> Chain {
    let root_key = KeyPair::from_pem(ROOT_KEY).unwrap();
    let root_params = ca_params(
        "test root",
        now() - Span::days(30),
        now() + Span::days(3650),
    );
    let root_cert = root_params.self_signed(&root_key).unwrap();
    let root = Issuer::new(root_params, root_key);
    let middle_key = KeyPair::from_pem(MIDDLE_KEY).unwrap();
    let middle_params = ca_params("test middle", middle_from, middle_to);
    let middle_cert = middle_params.signed_by(&middle_key, &root).unwrap();
    Chain {
        root_pem: root_cert.pem(),
        middle_pem: middle_cert.pem(),
        middle: Issuer::new(middle_params, middle_key),
    }
}

fn good_chain() -> Chain {
    chain(now() - Span::days(10), now() + Span::days(1000))
}

fn issue(chain: &Chain, params: CertificateParams) -> String {
    let key = KeyPair::from_pem(SIGN_KEY).unwrap();
    params.signed_by(&key, &chain.middle).unwrap().pem()
}

fn signed(data: &[u8]) -> Vec<u8> {
    KeyPair::from_pem(SIGN_KEY).unwrap().sign(data).unwrap()
}

fn check(
    chain: &Chain,
    leaf: &str,
    data: &[u8],
    signature: &[u8],
) -> Result<CertificateInfo, CertificateError> {
    let trust = Trust {
        roots: chain.root_pem.as_bytes(),
        intermediates: chain.middle_pem.as_bytes(),
    };
    verify(
        trust,
        leaf.as_bytes(),
        Scheme::RsaPkcs1Sha256,
        data,
        signature,
        millis(now()),
    )
}

#[test]
fn a_good_certificate_and_signature_are_believed_and_read() {
    let chain = good_chain();
    let leaf = issue(
        &chain,
        leaf_params(UNIONPAY_CN, now() - Span::days(1), now() + Span::days(365)),
    );
    let info = check(&chain, &leaf, b"digest", &signed(b"digest")).unwrap();
    assert_eq!(info.subject_common_name, UNIONPAY_CN);
    assert_eq!(
        info.serial,
        u32::from_be_bytes([0x10, 0x21, 0x32, 0x43]).to_string()
    );
    assert!(info.not_before_millis < millis(now()) && millis(now()) < info.not_after_millis);
}

#[test]
fn a_signature_over_other_data_is_bad() {
    let chain = good_chain();
    let leaf = issue(
        &chain,
        leaf_params(UNIONPAY_CN, now() - Span::days(1), now() + Span::days(365)),
    );
    let err = check(&chain, &leaf, b"digesT", &signed(b"digest")).unwrap_err();
    assert_eq!(err, CertificateError::BadSignature);
}

#[test]
fn an_expired_or_not_yet_valid_certificate_is_refused_before_its_signature() {
    let chain = good_chain();
    for (from, to) in [
        (now() - Span::days(400), now() - Span::days(1)),
        (now() + Span::days(1), now() + Span::days(400)),
    ] {
        let leaf = issue(&chain, leaf_params(UNIONPAY_CN, from, to));
        let err = check(&chain, &leaf, b"d", &signed(b"d")).unwrap_err();
        assert!(matches!(err, CertificateError::Expired(_)), "{err:?}");
    }
}

#[test]
fn an_expired_intermediate_fails_the_chain_as_expired() {
    let chain = chain(now() - Span::days(400), now() - Span::days(1));
    let leaf = issue(
        &chain,
        leaf_params(UNIONPAY_CN, now() - Span::days(1), now() + Span::days(365)),
    );
    let err = check(&chain, &leaf, b"d", &signed(b"d")).unwrap_err();
    assert!(matches!(err, CertificateError::Expired(_)), "{err:?}");
}

#[test]
fn a_certificate_from_another_ca_is_untrusted() {
    // The same keys as the demo chain, but under names nobody trusted.
    let theirs = good_chain();
    let leaf = issue(
        &theirs,
        leaf_params(UNIONPAY_CN, now() - Span::days(1), now() + Span::days(365)),
    );
    let trust_ours_only = Chain {
        root_pem: ROOT_PEM.to_owned(),
        middle_pem: MIDDLE_PEM.to_owned(),
        middle: theirs.middle,
    };
    let err = check(&trust_ours_only, &leaf, b"d", &signed(b"d")).unwrap_err();
    assert!(matches!(err, CertificateError::Untrusted(_)), "{err:?}");
}

#[test]
fn without_its_intermediate_a_chain_is_untrusted() {
    let chain = good_chain();
    let leaf = issue(
        &chain,
        leaf_params(UNIONPAY_CN, now() - Span::days(1), now() + Span::days(365)),
    );
    let err = verify(
        Trust {
            roots: chain.root_pem.as_bytes(),
            intermediates: b"",
        },
        leaf.as_bytes(),
        Scheme::RsaPkcs1Sha256,
        b"d",
        &signed(b"d"),
        millis(now()),
    )
    .unwrap_err();
    assert!(matches!(err, CertificateError::Untrusted(_)), "{err:?}");
}

#[test]
fn a_certificate_whose_key_usage_cannot_sign_is_refused() {
    let chain = good_chain();
    let mut params = leaf_params(UNIONPAY_CN, now() - Span::days(1), now() + Span::days(365));
    params.key_usages = vec![KeyUsagePurpose::KeyEncipherment];
    let leaf = issue(&chain, params);
    let err = check(&chain, &leaf, b"d", &signed(b"d")).unwrap_err();
    assert!(matches!(err, CertificateError::WrongUsage(_)), "{err:?}");
}

#[test]
fn a_ca_certificate_cannot_sign_messages() {
    let chain = good_chain();
    let mut params = leaf_params(UNIONPAY_CN, now() - Span::days(1), now() + Span::days(365));
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let leaf = issue(&chain, params);
    let err = check(&chain, &leaf, b"d", &signed(b"d")).unwrap_err();
    assert!(matches!(err, CertificateError::WrongUsage(_)), "{err:?}");
}

#[test]
fn the_committed_demo_chain_holds_and_the_merchant_certificate_reads_its_cert_id() {
    let info = key_certificate(MERCHANT_PEM.as_bytes()).unwrap();
    assert_eq!(info.serial, "69629715588");
    assert_eq!(
        info.subject_common_name,
        "041@Z777290058110097@00000000@00000001"
    );
    let merchant_key = KeyPair::from_pem(MERCHANT_PEM).unwrap();
    let signature = merchant_key.sign(b"digest").unwrap();
    let trust = Trust {
        roots: ROOT_PEM.as_bytes(),
        intermediates: MIDDLE_PEM.as_bytes(),
    };
    let believed = verify(
        trust,
        MERCHANT_PEM.as_bytes(),
        Scheme::RsaPkcs1Sha256,
        b"digest",
        &signature,
        millis(now()),
    )
    .unwrap();
    assert_eq!(believed, info);
}

#[test]
fn what_is_no_certificate_is_malformed() {
    let chain = good_chain();
    let err = check(&chain, "not a certificate", b"d", b"s").unwrap_err();
    assert!(matches!(err, CertificateError::Malformed(_)), "{err:?}");
    let err = key_certificate(SIGN_KEY.as_bytes()).unwrap_err();
    assert!(matches!(err, CertificateError::Malformed(_)), "{err:?}");
    let err = verify(
        Trust {
            roots: b"",
            intermediates: b"",
        },
        MERCHANT_PEM.as_bytes(),
        Scheme::RsaPkcs1Sha256,
        b"d",
        b"s",
        millis(now()),
    )
    .unwrap_err();
    assert!(matches!(err, CertificateError::Malformed(_)), "{err:?}");
}
