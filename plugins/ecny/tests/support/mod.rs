//! A scripted Huifu on the fake host: it checks each request as Huifu
//! does (the envelope, `sign` over the `data` it carries, `data` being the
//! canonical text of itself) and answers `{"data":…,"sign":…}` with `data`
//! canonical and signed with Huifu's key. Canonical text is written again
//! here (serde_json over a sorted map) rather than taken from the plugin,
//! so the two sides can disagree.

#![allow(dead_code)]

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use paycore_plugin_sdk::params::form_urlencode;
use paycore_plugin_sdk::testing::{FakeHost, call_context, rsa_sign, rsa_verify};
use paycore_plugin_sdk::types::*;
use serde::Deserialize;
use serde_json::value::RawValue;

// Demo-only keys (config/secrets/README.md).
pub const MERCHANT_PRIVATE: &str =
    include_str!("../../../../config/secrets/ecny-demo-merchant-private.pem");
pub const MERCHANT_PUBLIC: &str =
    include_str!("../../../../config/secrets/ecny-demo-merchant-public.pem");
pub const HUIFU_PRIVATE: &str =
    include_str!("../../../../config/secrets/ecny-demo-huifu-private.pem");
pub const HUIFU_PUBLIC: &str =
    include_str!("../../../../config/secrets/ecny-demo-huifu-public.pem");

pub const HUIFU_ID: &str = "6666000108854952";
pub const PRODUCT_ID: &str = "MCS";
pub const BASE: &str = "http://127.0.0.1:9";
pub const NOTIFY_URL: &str = "http://127.0.0.1:8080/v1/callbacks/t1/test";

pub const MICROPAY: &str = "/v3/trade/payment/micropay";
pub const JSPAY: &str = "/v3/trade/payment/jspay";
pub const QUERY: &str = "/v3/trade/payment/scanpay/query";
pub const REFUND: &str = "/v3/trade/payment/scanpay/refund";
pub const REFUND_QUERY: &str = "/v3/trade/payment/scanpay/refundquery";

/// The fake host's clock: 2026-11-25T08:00:00Z, 16:00 in Beijing.
pub const NOW: i64 = 1_795_593_600_000;
/// When paycore created the payment: 2026-11-25 15:59:58 in Beijing.
pub const PAYMENT_CREATED: i64 = NOW - 2_000;
pub const PAYMENT_DATE: &str = "20261125";
/// When paycore created the refund: 2026-11-26 09:30:00 in Beijing.
pub const REFUND_CREATED: i64 = 1_795_656_600_000;
pub const REFUND_DATE: &str = "20261126";

/// Huifu's serial of the payment (40 characters, as the simulator makes).
pub const HF_SEQ_ID: &str = "00290TOP1GR261125155958P853ac13262200000";
pub const HF_REFUND_SEQ_ID: &str = "00290TOP1GR261126093000P853ac13262200001";

pub type Json = serde_json::Map<String, serde_json::Value>;

pub fn ctx() -> CallContext {
    call_context(&[
        ("huifu_id", HUIFU_ID),
        ("product_id", PRODUCT_ID),
        ("base_url", BASE),
    ])
}

/// The merchant's key and Huifu's, as an operator configures them, and the
/// host's record of when the payment and refund were created.
pub fn host() -> FakeHost {
    let host = FakeHost::new()
        .with_rsa_private_key("merchant_private_key", MERCHANT_PRIVATE)
        .with_rsa_public_key("huifu_public_key", HUIFU_PUBLIC);
    host.set_payment_created_millis(Some(PAYMENT_CREATED));
    host.set_refund_created_millis(Some(REFUND_CREATED));
    host
}

/// Canonical text: keys sorted, compact, every value a string,
/// escaped as serde_json escapes (minimally, Unicode raw).
pub fn canonical(fields: &BTreeMap<String, String>) -> String {
    serde_json::to_string(fields).unwrap()
}

pub fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    data: &'a RawValue,
    product_id: String,
    sign: String,
    sys_id: String,
}

/// A request as Huifu reads it.
#[derive(Debug, Clone)]
pub struct Sent {
    pub path: String,
    /// `data` exactly as the body carried it.
    pub data_text: String,
    pub data: Json,
    pub product_id: String,
    pub sys_id: String,
    pub sign: String,
    pub body: String,
}

impl Sent {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.data.get(name).and_then(|v| v.as_str())
    }
}

/// Reads a request and checks it as Huifu (and its sandbox's `verifyData`)
/// does: `sign` verifies with the merchant's public key over the canonical
/// text of the parsed `data` — and, as paycore sends it, that text is the
/// very text the body carries; the body is the envelope in sorted order.
pub fn read_request(request: &HttpRequest) -> Sent {
    assert_eq!(request.method, "POST");
    assert!(
        request
            .header("content-type")
            .is_some_and(|c| c.contains("application/json")),
        "{:?}",
        request.headers
    );
    let path = request
        .url
        .strip_prefix(BASE)
        .unwrap_or_else(|| panic!("not to the base URL: {}", request.url))
        .to_owned();
    let body = String::from_utf8(request.body.clone()).unwrap();
    let envelope: Envelope<'_> = serde_json::from_str(&body).unwrap();
    let data: Json = serde_json::from_str(envelope.data.get()).unwrap();
    let strings: BTreeMap<String, String> = data
        .iter()
        .map(|(k, v)| {
            let s = v
                .as_str()
                .unwrap_or_else(|| panic!("`{k}` is not a string: {v}"));
            assert!(!s.is_empty(), "`{k}` is sent empty");
            (k.clone(), s.to_owned())
        })
        .collect();
    let recanonical = canonical(&strings);
    assert_eq!(
        envelope.data.get(),
        recanonical,
        "data must be sent as its canonical text"
    );
    let signature = STANDARD.decode(&envelope.sign).unwrap();
    assert!(
        rsa_verify(MERCHANT_PUBLIC, recanonical.as_bytes(), &signature),
        "the request's sign must verify over the canonical data"
    );
    let expected_body = format!(
        "{{\"data\":{},\"product_id\":{},\"sign\":{},\"sys_id\":{}}}",
        recanonical,
        serde_json::to_string(&envelope.product_id).unwrap(),
        serde_json::to_string(&envelope.sign).unwrap(),
        serde_json::to_string(&envelope.sys_id).unwrap(),
    );
    assert_eq!(body, expected_body, "the envelope, sorted and compact");
    Sent {
        path,
        data_text: envelope.data.get().to_owned(),
        data,
        product_id: envelope.product_id,
        sys_id: envelope.sys_id,
        sign: envelope.sign,
        body,
    }
}

/// Huifu's signature (base64) over `text`.
pub fn huifu_sign(text: &str) -> String {
    STANDARD.encode(rsa_sign(HUIFU_PRIVATE, text.as_bytes()))
}

/// An answer body with `fields` as canonical `data`, signed.
pub fn answer_body(fields: &BTreeMap<String, String>) -> String {
    let data = canonical(fields);
    format!(
        "{{\"data\":{data},\"sign\":{}}}",
        serde_json::to_string(&huifu_sign(&data)).unwrap()
    )
}

pub fn http(status: u16, body: impl Into<Vec<u8>>) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![(
            "Content-Type".into(),
            "application/json;charset=UTF-8".into(),
        )],
        body: body.into(),
    }
}

/// A host whose Huifu answers each request with `answer(sent)`, signed,
/// after checking the request as Huifu does.
pub fn huifu(answer: impl Fn(&Sent) -> BTreeMap<String, String> + 'static) -> FakeHost {
    host().with_responder(move |req| {
        let sent = read_request(req);
        Ok(http(200, answer_body(&answer(&sent))))
    })
}

/// A host whose Huifu writes each answer's body itself.
pub fn huifu_raw(answer: impl Fn(&Sent) -> HttpResponse + 'static) -> FakeHost {
    host().with_responder(move |req| Ok(answer(&read_request(req))))
}

/// What Huifu echoes of a pay or refund request, and `extra`.
pub fn echo(sent: &Sent, extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    for name in [
        "huifu_id",
        "req_date",
        "req_seq_id",
        "org_req_date",
        "org_req_seq_id",
    ] {
        if let Some(v) = sent.get(name) {
            fields.insert(name.to_owned(), v.to_owned());
        }
    }
    fields.extend(map(extra));
    fields
}

/// Every request the plugin sent, read.
pub fn sent(host: &FakeHost) -> Vec<Sent> {
    host.requests().iter().map(read_request).collect()
}

pub fn code(err: &ChannelError) -> &str {
    &err.failure().code
}

/// A notification as Huifu POSTs it: a form of `resp_code`, `resp_desc`,
/// `sign` and `resp_data` (the gateway's outer code is ignored).
pub fn notice(resp_data: &str, sign: &str) -> HttpRequest {
    let form = form_urlencode(&[
        ("resp_code", "00000000"),
        ("resp_desc", "交易成功[000]"),
        ("sign", sign),
        ("resp_data", resp_data),
    ]);
    HttpRequest::new("POST", "/v1/callbacks/t1/test", form).with_header(
        "content-type",
        "application/x-www-form-urlencoded;charset=UTF-8",
    )
}

/// A notice of `resp_data`, signed by Huifu over exactly that text.
pub fn signed_notice(resp_data: &str) -> HttpRequest {
    notice(resp_data, &huifu_sign(resp_data))
}
