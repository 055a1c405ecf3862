//! A scripted Alipay gateway on the fake host, signing like the real one.

#![allow(dead_code)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use paycore_plugin_sdk::params::parse_form;
use paycore_plugin_sdk::testing::{FakeHost, call_context, rsa_sign, rsa_verify};
use paycore_plugin_sdk::types::*;
use serde_json::Value;

// Demo-only keys (config/secrets/README.md).
pub const MERCHANT_PRIVATE: &str =
    include_str!("../../../../config/secrets/alipay-demo-merchant-private.pem");
pub const MERCHANT_PUBLIC: &str =
    include_str!("../../../../config/secrets/alipay-demo-merchant-public.pem");
pub const GATEWAY_PRIVATE: &str =
    include_str!("../../../../config/secrets/alipay-demo-gateway-private.pem");
pub const GATEWAY_PUBLIC: &str =
    include_str!("../../../../config/secrets/alipay-demo-gateway-public.pem");
pub const GATEWAY: &str = "http://127.0.0.1:9/gateway.do";
pub const APP_ID: &str = "2021000000000001";

pub fn ctx() -> CallContext {
    call_context(&[("gateway_url", GATEWAY), ("app_id", APP_ID)])
}

pub fn host() -> FakeHost {
    FakeHost::new()
        .with_rsa_private_key("merchant_private_key", MERCHANT_PRIVATE)
        .with_rsa_public_key("alipay_public_key", GATEWAY_PUBLIC)
}

/// The body a gateway sends: the node's text exactly as given, signed.
pub fn signed_body(method: &str, node_text: &str) -> Vec<u8> {
    let sig = STANDARD.encode(rsa_sign(GATEWAY_PRIVATE, node_text.as_bytes()));
    let node = format!("{}_response", method.replace('.', "_"));
    format!(r#"{{"{node}":{node_text},"sign":"{sig}"}}"#).into_bytes()
}

/// A host whose gateway answers every method with `answer(method, biz_content)`,
/// after checking the request's signature with the merchant's public key.
pub fn gateway(answer: impl Fn(&str, &Value) -> Value + 'static) -> FakeHost {
    host().with_responder(move |req| {
        let params = parse_form(&req.body);
        assert!(
            request_signature_valid(&params),
            "the plugin's request signature must verify"
        );
        let method = param(&params, "method").unwrap();
        let biz: Value = serde_json::from_str(&param(&params, "biz_content").unwrap()).unwrap();
        let node = answer(&method, &biz);
        Ok(HttpResponse::json(
            200,
            signed_body(&method, &node.to_string()),
        ))
    })
}

pub fn param(params: &[(String, String)], name: &str) -> Option<String> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

pub fn request_signature_valid(params: &[(String, String)]) -> bool {
    let content = paycore_plugin_sdk::params::canonical_string(params, &["sign"]);
    let sig = STANDARD
        .decode(param(params, "sign").unwrap_or_default())
        .unwrap_or_default();
    rsa_verify(MERCHANT_PUBLIC, content.as_bytes(), &sig)
}

/// The form parameters of the `n`th request the plugin sent.
pub fn sent(host: &FakeHost, n: usize) -> Vec<(String, String)> {
    parse_form(&host.requests()[n].body)
}

pub fn sent_biz(host: &FakeHost, n: usize) -> Value {
    serde_json::from_str(&param(&sent(host, n), "biz_content").unwrap()).unwrap()
}

pub fn code(err: &ChannelError) -> &str {
    &err.failure().code
}
