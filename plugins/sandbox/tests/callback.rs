mod support;

use paycore_plugin_sandbox::Sandbox;
use paycore_plugin_sdk::Channel;
use paycore_plugin_sdk::testing::{FakeHost, hmac_sha256};
use paycore_plugin_sdk::types::*;
use serde_json::json;
use support::{KEY, ctx};

const NOTICE: &str = r#"{"event":"payment.succeeded","trade_no":"T1","out_trade_no":"A1","status":"SUCCEEDED","amount":"88.88","currency":"CNY","paid_at":"2026-11-25T08:00:01Z"}"#;

fn host() -> FakeHost {
    FakeHost::new().with_hmac_key("api_key", KEY)
}

fn notification(body: &str, signature: Option<String>) -> HttpRequest {
    let request = HttpRequest::new("POST", "/v1/callbacks/t1/test", body)
        .with_header("Content-Type", "application/json");
    match signature {
        Some(signature) => request.with_header("X-Sandbox-Signature", signature),
        None => request,
    }
}

fn signed(body: &str) -> HttpRequest {
    notification(body, Some(hex::encode(hmac_sha256(KEY, body.as_bytes()))))
}

#[test]
fn a_signed_notice_becomes_a_payment_update() {
    let outcome = Sandbox
        .handle_callback(&host(), &ctx(), signed(NOTICE))
        .unwrap();
    assert!(outcome.verified);
    assert_eq!(
        outcome.event,
        Some(CallbackEvent::Payment(PaymentUpdate {
            merchant_order_no: "A1".into(),
            channel_order_no: Some("T1".into()),
            status: PaymentStatus::Succeeded,
            amount: 8888,
            currency: "CNY".into(),
        }))
    );
    assert_eq!(outcome.response.status, 200);
    let body: serde_json::Value = serde_json::from_slice(&outcome.response.body).unwrap();
    assert_eq!(body, json!({"code": "SUCCESS"}));
}

#[test]
fn an_unverifiable_notice_is_rejected_and_changes_nothing() {
    let other_key = hex::encode(hmac_sha256(b"not the key", NOTICE.as_bytes()));
    let tampered = NOTICE.replace("88.88", "1.00");
    let right_signature = hex::encode(hmac_sha256(KEY, NOTICE.as_bytes()));
    let requests = [
        notification(NOTICE, None),
        notification(NOTICE, Some("not hex".into())),
        notification(NOTICE, Some(other_key)),
        notification(&tampered, Some(right_signature)),
    ];
    for request in requests {
        let host = host();
        let outcome = Sandbox.handle_callback(&host, &ctx(), request).unwrap();
        assert!(!outcome.verified);
        assert_eq!(outcome.event, None);
        assert_eq!(
            outcome.unverified_claim.as_deref(),
            Some("A1"),
            "the order it claims, for the host to query"
        );
        assert_eq!(outcome.response.status, 401);
        let body: serde_json::Value = serde_json::from_slice(&outcome.response.body).unwrap();
        assert_eq!(body, json!({"code": "BAD_SIGNATURE"}));
        assert_eq!(host.logs().len(), 1, "the rejection is logged");
    }
}

#[test]
fn an_unverifiable_notice_without_a_readable_order_claims_nothing() {
    for body in [
        "not json",
        r#"{"event":"payment.succeeded"}"#,
        r#"{"out_trade_no":7}"#,
    ] {
        let outcome = Sandbox
            .handle_callback(&host(), &ctx(), notification(body, None))
            .unwrap();
        assert!(!outcome.verified);
        assert_eq!(outcome.unverified_claim, None, "{body}");
    }
}

#[test]
fn a_verified_notice_claims_nothing_unverified() {
    let outcome = Sandbox
        .handle_callback(&host(), &ctx(), signed(NOTICE))
        .unwrap();
    assert_eq!(outcome.unverified_claim, None);
}

#[test]
fn notices_paycore_does_not_track_are_acknowledged_and_ignored() {
    let outcome = Sandbox
        .handle_callback(&host(), &ctx(), signed(r#"{"event":"merchant.updated"}"#))
        .unwrap();
    assert!(outcome.verified);
    assert_eq!(outcome.event, Some(CallbackEvent::Ignored));
    assert_eq!(outcome.response.status, 200);
}

#[test]
fn a_signed_but_unreadable_notice_is_an_error() {
    for body in [
        "not json",
        r#"{"event":"payment.succeeded"}"#,
        &NOTICE.replace("88.88", "88.888"),
    ] {
        let err = Sandbox
            .handle_callback(&host(), &ctx(), signed(body))
            .unwrap_err();
        assert!(
            matches!(&err, ChannelError::InvalidRequest(f) if f.code == "malformed_callback"),
            "{body}: {err:?}"
        );
    }
}
