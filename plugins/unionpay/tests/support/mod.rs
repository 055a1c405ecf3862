//! A scripted acp gateway on the fake host, signing like UnionPay: answers
//! carry a signing certificate issued (with rcgen) under the committed demo
//! middle CA, and are signed by the double hash. The sign string and hash
//! are written again here rather than taken from the plugin, so the two
//! sides can disagree.

#![allow(dead_code)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use paycore_plugin_sdk::params::{form_urlencode, parse_form};
use paycore_plugin_sdk::testing::{FakeHost, call_context, rsa_sign, rsa_verify};
use paycore_plugin_sdk::types::*;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SerialNumber,
};
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;
use time::macros::datetime;

// Demo-only keys (config/secrets/README.md).
pub const ROOT_PEM: &str = include_str!("../../../../config/secrets/unionpay-demo-root.pem");
pub const ROOT_KEY: &str =
    include_str!("../../../../config/secrets/unionpay-demo-root-private.pem");
pub const MIDDLE_PEM: &str = include_str!("../../../../config/secrets/unionpay-demo-middle.pem");
pub const MIDDLE_KEY: &str =
    include_str!("../../../../config/secrets/unionpay-demo-middle-private.pem");
/// The merchant's key followed by its certificate (serial 69629715588).
pub const MERCHANT_PEM: &str =
    include_str!("../../../../config/secrets/unionpay-demo-merchant.pem");
pub const MERCHANT_PUBLIC: &str =
    include_str!("../../../../config/secrets/unionpay-demo-merchant-public.pem");
/// UnionPay's signing key (the gateway's side).
pub const SIGN_KEY: &str =
    include_str!("../../../../config/secrets/unionpay-demo-sign-private.pem");

pub const CERT_ID: &str = "69629715588";
pub const MER_ID: &str = "777290058110097";
pub const GATEWAY: &str = "http://127.0.0.1:9";
pub const BACK_URL: &str = "http://127.0.0.1:9/gateway/api/backTransReq.do";
pub const QUERY_URL: &str = "http://127.0.0.1:9/gateway/api/queryTrans.do";
pub const UNIONPAY_CN: &str = "041@Z12@中国银联股份有限公司@00000001";

/// When paycore created the payment: 2026-11-25 15:59:58 in Beijing, two
/// seconds before the fake host's clock.
pub const PAYMENT_CREATED: i64 = 1_795_593_598_000;
pub const PAYMENT_TXN_TIME: &str = "20261125155958";
/// When paycore created the refund: 2026-11-26 09:30:00 in Beijing.
pub const REFUND_CREATED: i64 = 1_795_656_600_000;
pub const REFUND_TXN_TIME: &str = "20261126093000";

pub type Fields = Vec<(String, String)>;

pub fn ctx() -> CallContext {
    call_context(&[("mer_id", MER_ID), ("gateway_url", GATEWAY)])
}

/// The merchant's key and UnionPay's trust, as an operator configures them,
/// and the host's record of when the payment and refund were created.
pub fn host() -> FakeHost {
    let host = FakeHost::new()
        .with_rsa_private_key("merchant_sign_key", MERCHANT_PEM)
        .with_certificates("unionpay_root_cert", ROOT_PEM)
        .with_certificates("unionpay_middle_cert", MIDDLE_PEM);
    host.set_payment_created_millis(Some(PAYMENT_CREATED));
    host.set_refund_created_millis(Some(REFUND_CREATED));
    host
}

/// How UnionPay's signing certificate is spoiled for a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// A good one: believed.
    None,
    /// Its validity ended before the fake host's now.
    Expired,
    /// Issued by a CA nobody configured.
    OtherCa,
    /// Key usage keyEncipherment only: it may not sign.
    NoSigning,
    /// Issued to another company by the same CA.
    WrongOwner,
    /// The merchant's own certificate (same CA, a merchant's CN), the
    /// answer signed with the merchant's key.
    MerchantCert,
}

fn leaf_params(fault: Fault) -> CertificateParams {
    let owner = if fault == Fault::WrongOwner {
        "041@Z12@银联商务股份有限公司@00000001"
    } else {
        UNIONPAY_CN
    };
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CountryName, "CN");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "paycore demo");
    params.distinguished_name.push(DnType::CommonName, owner);
    params.is_ca = IsCa::ExplicitNoCa;
    params.serial_number = Some(SerialNumber::from(69_042_905_377u64));
    params.key_usages = if fault == Fault::NoSigning {
        vec![KeyUsagePurpose::KeyEncipherment]
    } else {
        vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::ContentCommitment,
        ]
    };
    // The fake host's clock stands at 2026-11-25.
    (params.not_before, params.not_after) = if fault == Fault::Expired {
        (
            datetime!(2025-06-01 0:00 UTC),
            datetime!(2026-06-01 0:00 UTC),
        )
    } else {
        (
            datetime!(2026-01-01 0:00 UTC),
            datetime!(2028-01-01 0:00 UTC),
        )
    };
    params
}

/// UnionPay's signing certificate (PEM), spoiled by `fault`.
pub fn certificate(fault: Fault) -> String {
    if fault == Fault::MerchantCert {
        let start = MERCHANT_PEM.find("-----BEGIN CERTIFICATE-----").unwrap();
        return MERCHANT_PEM[start..].trim_end().to_owned();
    }
    let subject = KeyPair::from_pem(SIGN_KEY).unwrap();
    let params = leaf_params(fault);
    let cert = if fault == Fault::OtherCa {
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.distinguished_name.push(DnType::CountryName, "CN");
        ca.distinguished_name
            .push(DnType::OrganizationName, "somebody else");
        ca.distinguished_name
            .push(DnType::CommonName, "a CA outside UnionPay's chain");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca.not_before = datetime!(2025-01-01 0:00 UTC);
        ca.not_after = datetime!(2040-01-01 0:00 UTC);
        let issuer = Issuer::new(ca, KeyPair::from_pem(ROOT_KEY).unwrap());
        params.signed_by(&subject, &issuer).unwrap()
    } else {
        let middle =
            Issuer::from_ca_cert_pem(MIDDLE_PEM, KeyPair::from_pem(MIDDLE_KEY).unwrap()).unwrap();
        params.signed_by(&subject, &middle).unwrap()
    };
    cert.pem().trim_end().to_owned()
}

/// The acp sign string: every field but `signature`, sorted by key, raw.
pub fn sign_string(fields: &[(String, String)], drop_blanks: bool) -> String {
    let mut kept: Vec<&(String, String)> = fields
        .iter()
        .filter(|(k, v)| k != "signature" && !(drop_blanks && v.is_empty()))
        .collect();
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    kept.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn digest(sign_string: &str) -> String {
    hex::encode(Sha256::digest(sign_string.as_bytes()))
}

/// Whether the request's `signature` is the double hash of its fields
/// under the merchant's public key, as the gateway checks it.
pub fn request_signature_valid(fields: &[(String, String)]) -> bool {
    let Some(sig) = get(fields, "signature").and_then(|s| STANDARD.decode(s).ok()) else {
        return false;
    };
    rsa_verify(
        MERCHANT_PUBLIC,
        digest(&sign_string(fields, false)).as_bytes(),
        &sig,
    )
}

/// `fields` as UnionPay signs them: with its certificate (spoiled by
/// `fault`) and the double hash.
pub fn signed(mut fields: Fields, fault: Fault) -> Fields {
    fields.push(("signPubKeyCert".into(), certificate(fault)));
    let key = if fault == Fault::MerchantCert {
        MERCHANT_PEM
    } else {
        SIGN_KEY
    };
    let sig = rsa_sign(key, digest(&sign_string(&fields, true)).as_bytes());
    fields.push(("signature".into(), STANDARD.encode(sig)));
    fields
}

/// A synchronous answer's body: `k=v&…` with raw values.
pub fn answer_body(fields: &[(String, String)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn http(body: impl Into<Vec<u8>>) -> HttpResponse {
    HttpResponse {
        status: 200,
        headers: vec![("Content-Type".into(), "text/plain;charset=UTF-8".into())],
        body: body.into(),
    }
}

pub fn owned(pairs: &[(&str, &str)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// What UnionPay echoes of a request, plus `extra` (respCode, …).
pub fn echo(request: &[(String, String)], extra: &[(&str, &str)]) -> Fields {
    let mut fields: Fields = [
        "version",
        "encoding",
        "signMethod",
        "txnType",
        "txnSubType",
        "bizType",
        "accessType",
        "merId",
        "orderId",
        "txnTime",
    ]
    .iter()
    .filter_map(|k| get(request, k).map(|v| ((*k).to_owned(), v.to_owned())))
    .collect();
    fields.extend(owned(extra));
    fields
}

/// A host whose gateway answers each request with `answer(url, request)`
/// (then signed with a good certificate), after checking the request as
/// the gateway does.
pub fn gateway(answer: impl Fn(&str, &Fields) -> Fields + 'static) -> FakeHost {
    host().with_responder(move |req| {
        let fields = parse_form(&req.body);
        assert!(
            request_signature_valid(&fields),
            "the plugin's request signature must verify by the double hash"
        );
        assert_eq!(get(&fields, "certId").as_deref(), Some(CERT_ID));
        Ok(http(answer_body(&signed(
            answer(&req.url, &fields),
            Fault::None,
        ))))
    })
}

pub fn get(fields: &[(String, String)], name: &str) -> Option<String> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// The form fields of the `n`th request the plugin sent.
pub fn sent(host: &FakeHost, n: usize) -> Fields {
    parse_form(&host.requests()[n].body)
}

pub fn code(err: &ChannelError) -> &str {
    &err.failure().code
}

/// A notification as UnionPay POSTs it: form-encoded, signed.
pub fn notice(fields: Fields) -> HttpRequest {
    HttpRequest::new("POST", "/v1/callbacks/t1/test", form_urlencode(&fields)).with_header(
        "content-type",
        "application/x-www-form-urlencoded;charset=UTF-8",
    )
}

pub fn millis(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}
