//! A scripted WeChat Pay v3 server on the fake host, signing like the real one.

#![allow(dead_code)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use paycore_plugin_sdk::testing::{
    FakeHost, aes256_gcm_encrypt, call_context, rsa_sign, rsa_verify,
};
use paycore_plugin_sdk::types::*;
use serde_json::Value;

// Demo-only keys (config/secrets/README.md).
pub const MERCHANT_PRIVATE: &str =
    include_str!("../../../../config/secrets/wechatpay-demo-merchant-private.pem");
pub const MERCHANT_PUBLIC: &str =
    include_str!("../../../../config/secrets/wechatpay-demo-merchant-public.pem");
pub const PLATFORM_PRIVATE: &str =
    include_str!("../../../../config/secrets/wechatpay-demo-platform-private.pem");
pub const PLATFORM_PUBLIC: &str =
    include_str!("../../../../config/secrets/wechatpay-demo-platform-public.pem");
pub const APIV3_KEY: &[u8] = include_bytes!("../../../../config/secrets/wechatpay-demo-apiv3.key");
pub const BASE: &str = "http://127.0.0.1:9";
pub const MCHID: &str = "1900000001";
pub const APPID: &str = "wxd678efh567hg6787";
pub const SERIAL: &str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
pub const PLATFORM_SERIAL: &str = "PUB_KEY_ID_0119000000012026112500000000000001";

pub fn settings() -> Vec<(&'static str, &'static str)> {
    vec![
        ("base_url", BASE),
        ("mchid", MCHID),
        ("appid", APPID),
        ("serial_no", SERIAL),
        ("platform_serial", PLATFORM_SERIAL),
    ]
}

pub fn ctx() -> CallContext {
    call_context(&settings())
}

pub fn partner_ctx() -> CallContext {
    let mut s = settings();
    s.extend([
        ("sub_mchid", "1900000109"),
        ("sub_appid", "wx8888888888888888"),
    ]);
    call_context(&s)
}

pub fn host() -> FakeHost {
    FakeHost::new()
        .with_rsa_private_key("merchant_private_key", MERCHANT_PRIVATE)
        .with_rsa_public_key("platform_public_key", PLATFORM_PUBLIC)
        .with_aes_key("apiv3_key", APIV3_KEY)
}

/// The `Wechatpay-*` headers the platform puts on `body` at `ts`.
pub fn platform_headers(ts: u64, nonce: &str, body: &str) -> Vec<(String, String)> {
    let sig = STANDARD.encode(rsa_sign(
        PLATFORM_PRIVATE,
        format!("{ts}\n{nonce}\n{body}\n").as_bytes(),
    ));
    vec![
        ("Wechatpay-Serial".into(), PLATFORM_SERIAL.into()),
        ("Wechatpay-Timestamp".into(), ts.to_string()),
        ("Wechatpay-Nonce".into(), nonce.into()),
        ("Wechatpay-Signature".into(), sig),
    ]
}

pub fn signed(status: u16, body: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: platform_headers(1_795_593_600, "593BEC0C930BF1AFEB40B4A08C8FB242", body),
        body: body.as_bytes().to_vec(),
    }
}

/// Splits `Authorization: WECHATPAY2-SHA256-RSA2048 k="v",…` into its fields.
pub fn authorization(req: &HttpRequest) -> Vec<(String, String)> {
    let header = req.header("authorization").expect("signed request");
    let fields = header
        .strip_prefix("WECHATPAY2-SHA256-RSA2048 ")
        .expect("schema");
    fields
        .split(',')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_owned(), v.trim_matches('"').to_owned())
        })
        .collect()
}

pub fn field(fields: &[(String, String)], name: &str) -> String {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap()
}

/// Checks the request's signature as WeChat does, with the merchant's public key.
pub fn request_signature_valid(req: &HttpRequest) -> bool {
    let f = authorization(req);
    let path = req.url.strip_prefix(BASE).unwrap();
    let message = format!(
        "{}\n{path}\n{}\n{}\n{}\n",
        req.method,
        field(&f, "timestamp"),
        field(&f, "nonce_str"),
        String::from_utf8_lossy(&req.body)
    );
    rsa_verify(
        MERCHANT_PUBLIC,
        message.as_bytes(),
        &STANDARD.decode(field(&f, "signature")).unwrap(),
    )
}

/// A host whose server answers `(status, body)` for `(method, path, body)`.
pub fn server(answer: impl Fn(&str, &str, &Value) -> (u16, String) + 'static) -> FakeHost {
    host().with_responder(move |req| {
        assert!(
            request_signature_valid(req),
            "the plugin's Authorization must verify"
        );
        let body: Value = if req.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&req.body).unwrap()
        };
        let (status, text) = answer(&req.method, req.url.strip_prefix(BASE).unwrap(), &body);
        Ok(signed(status, &text))
    })
}

pub fn sent_json(host: &FakeHost, n: usize) -> Value {
    serde_json::from_slice(&host.requests()[n].body).unwrap()
}

/// A callback as WeChat posts it: the resource encrypted with the APIv3 key.
pub fn callback(event_type: &str, resource: &Value, ts: u64) -> HttpRequest {
    let nonce = "fdasflkja484w";
    let sealed = aes256_gcm_encrypt(
        APIV3_KEY,
        b"fdasfwefe3sd",
        b"transaction",
        resource.to_string().as_bytes(),
    );
    let body = serde_json::json!({
        "id": "EV-2018022511223320873", "create_time": "2026-11-25T16:00:05+08:00", "resource_type": "encrypt-resource",
        "event_type": event_type, "summary": "支付成功",
        "resource": {"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM", "ciphertext": STANDARD.encode(sealed),
                     "associated_data": "transaction", "nonce": "fdasfwefe3sd"}
    }).to_string();
    let mut req = HttpRequest::new("POST", "/v1/callbacks/t1/test", body.clone());
    req.headers = platform_headers(ts, nonce, &body);
    req.headers
        .push(("Content-Type".into(), "application/json".into()));
    req
}

pub fn code(err: &ChannelError) -> &str {
    &err.failure().code
}
