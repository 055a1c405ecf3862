//! The provider's side of the protocol, played by `FakeHost`'s responder.
// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

use paycore_plugin_sdk::testing::{FakeHost, call_context, hmac_sha256};
use paycore_plugin_sdk::types::{CallContext, HttpRequest, HttpResponse};
use serde_json::Value;

pub const KEY: &[u8] = b"sandbox-demo-key";
pub const BASE_URL: &str = "http://127.0.0.1:8080/sandbox";

pub fn ctx() -> CallContext {
    call_context(&[("base_url", BASE_URL), ("merchant_id", "m-demo")])
}

/// A provider that checks every request is well-formed and signed, then
/// answers `answer(operation, body)` signed with the merchant's key.
pub fn provider(answer: impl Fn(&str, &Value) -> (u16, Value) + 'static) -> FakeHost {
    FakeHost::new()
        .with_hmac_key("api_key", KEY)
        .with_responder(move |req| {
            let operation = check_request(req);
            let body: Value = serde_json::from_slice(&req.body).expect("JSON body");
            let (status, reply) = answer(operation, &body);
            Ok(signed(status, &reply))
        })
}

/// Asserts what every request must carry; returns its operation.
pub fn check_request(req: &HttpRequest) -> &str {
    assert_eq!(req.method, "POST");
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(req.header("x-sandbox-merchant"), Some("m-demo"));
    let signature = req.header("x-sandbox-signature").expect("signed request");
    assert_eq!(
        signature,
        hex::encode(hmac_sha256(KEY, &req.body)),
        "signature over the raw body"
    );
    req.url
        .strip_prefix(&format!("{BASE_URL}/api/v1/"))
        .unwrap_or_else(|| panic!("unexpected URL {}", req.url))
}

pub fn signed(status: u16, reply: &Value) -> HttpResponse {
    let body = serde_json::to_vec(reply).unwrap();
    let signature = hex::encode(hmac_sha256(KEY, &body));
    HttpResponse::json(status, body).with_header("X-Sandbox-Signature", &signature)
}

/// The body of the only request the plugin sent.
pub fn sent_body(host: &FakeHost) -> Value {
    let requests = host.requests();
    assert_eq!(requests.len(), 1, "expected exactly one request");
    serde_json::from_slice(&requests[0].body).unwrap()
}
