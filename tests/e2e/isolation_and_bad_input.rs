//! Tenants never see each other; bad input gets the documented error and
//! writes nothing.

use paycore::store::Table;
use paycore_e2e::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenants_key_sees_404_for_everything() {
    let t = TestApp::start().await;
    let p = t.pay(barcode("ISO-1", 8888, "134567890124")).await;
    let id = p.id();
    let r = t
        .post(
            DEMO_KEY,
            &format!("/v1/payments/{id}/refunds"),
            json!({ "merchant_refund_no": "ISO-R-1", "amount": 1 }),
        )
        .await;
    let refund_id = r.id();
    for path in [
        format!("/v1/payments/{id}"),
        "/v1/payments?merchant_order_no=ISO-1".to_string(),
        format!("/v1/refunds/{refund_id}"),
    ] {
        let got = t.get(ACME_KEY, &path).await;
        assert_eq!(got.status, StatusCode::NOT_FOUND, "{path}: {}", got.body);
        assert_eq!(got.code(), "resource_missing");
    }
    for path in [
        format!("/v1/payments/{id}/sync"),
        format!("/v1/payments/{id}/cancel"),
        format!("/v1/payments/{id}/close"),
        format!("/v1/refunds/{refund_id}/sync"),
    ] {
        let got = t.post(ACME_KEY, &path, json!({})).await;
        assert_eq!(got.status, StatusCode::NOT_FOUND, "{path}");
    }
    let refund = t
        .post(
            ACME_KEY,
            &format!("/v1/payments/{id}/refunds"),
            json!({ "merchant_refund_no": "ISO-R-2", "amount": 1 }),
        )
        .await;
    assert_eq!(refund.status, StatusCode::NOT_FOUND);
    // The same order number is free for another tenant.
    let acme = t
        .post(
            ACME_KEY,
            "/v1/payments",
            barcode("ISO-1", 100, "134567890124"),
        )
        .await;
    assert_eq!(acme.status, StatusCode::CREATED, "{}", acme.body);
    assert_ne!(acme.body["id"], p.body["id"]);
    // And the demo tenant's view is unchanged.
    let mine = t.get(DEMO_KEY, &format!("/v1/payments/{id}")).await;
    assert_eq!(mine.body["refunded_amount"], 1);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_wrong_keys_are_401() {
    let t = TestApp::start().await;
    let none = t.send(t.client.get(t.url("/v1/payments/pay_x"))).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.body["error"]["type"], "authentication_error");
    let wrong = t.get("sk_test_nope", "/v1/payments/pay_x").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    t.stop().await;
}

/// (body, expected status, expected code, expected field)
fn bad_inputs() -> Vec<(String, StatusCode, &'static str, Option<&'static str>)> {
    let ok = barcode("BAD-1", 100, "134567890124");
    let with = |key: &str, value: serde_json::Value| {
        let mut b = ok.clone();
        b[key] = value;
        b.to_string()
    };
    let without = |key: &str| {
        let mut b = ok.clone();
        b.as_object_mut().unwrap().remove(key);
        b.to_string()
    };
    vec![
        (
            "{\"merchant_order_no\": ".into(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
            None,
        ),
        (
            "not json at all".into(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
            None,
        ),
        (
            "[1, 2]".into(),
            StatusCode::BAD_REQUEST,
            "invalid_type",
            None,
        ),
        (
            with("amount", json!("88.88")),
            StatusCode::BAD_REQUEST,
            "invalid_type",
            Some("amount"),
        ),
        (
            with("amount", json!(1.5)),
            StatusCode::BAD_REQUEST,
            "invalid_type",
            Some("amount"),
        ),
        (
            with("metadata", json!({ "table": 12 })),
            StatusCode::BAD_REQUEST,
            "invalid_type",
            Some("metadata.table"),
        ),
        (
            without("merchant_order_no"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "parameter_missing",
            Some("merchant_order_no"),
        ),
        (
            without("amount"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "parameter_missing",
            Some("amount"),
        ),
        (
            without("currency"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "parameter_missing",
            Some("currency"),
        ),
        (
            without("auth_code"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "parameter_missing",
            Some("auth_code"),
        ),
        (
            with("scene", json!("teleport")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "parameter_invalid",
            Some("scene"),
        ),
        (
            with("amount", json!(-100)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "parameter_invalid",
            Some("amount"),
        ),
        (
            with("amount", json!(0)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "parameter_invalid",
            Some("amount"),
        ),
        (
            with("currency", json!("ZZZ")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "parameter_invalid",
            Some("currency"),
        ),
        (
            with("wallet", json!("martian")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "no_route",
            None,
        ),
        (
            with("currency", json!("TND")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "no_route",
            None,
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_the_documented_error_and_writes_nothing() {
    let t = TestApp::start().await;
    for (body, status, code, field) in bad_inputs() {
        let r = t.post_raw(DEMO_KEY, "/v1/payments", &body).await;
        assert_eq!(r.status, status, "{body} -> {}", r.body);
        assert_eq!(r.code(), code, "{body} -> {}", r.body);
        assert_eq!(
            r.body["error"]["field"].as_str(),
            field,
            "{body} -> {}",
            r.body
        );
        assert!(
            r.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        assert!(
            r.body["error"]["request_id"]
                .as_str()
                .is_some_and(|m| m.starts_with("req_"))
        );
    }
    for table in [
        Table::Payments,
        Table::Events,
        Table::Refunds,
        Table::Outbox,
    ] {
        assert_eq!(t.store().count(table).await.unwrap(), 0, "{table:?}");
    }
    // An oversized body is refused as soon as it passes the 64 KiB limit.
    // Announce 200 kB but send only one byte past the limit, so the server
    // has read everything sent when it answers and the answer cannot be
    // lost to a connection reset.
    assert_eq!(post_partial_body(&t, 200_000, 64 * 1024 + 1).await, 413);
    let unknown = t.get(DEMO_KEY, "/v1/nowhere").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.code(), "resource_missing");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_refund_input_names_the_field() {
    let t = TestApp::start().await;
    let p = t.pay(barcode("BAD-R-1", 100, "134567890124")).await;
    let path = format!("/v1/payments/{}/refunds", p.id());
    let negative = t
        .post(
            DEMO_KEY,
            &path,
            json!({ "merchant_refund_no": "x1", "amount": -1 }),
        )
        .await;
    assert_eq!(
        (negative.status, negative.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "parameter_invalid")
    );
    let missing = t.post(DEMO_KEY, &path, json!({ "amount": 1 })).await;
    assert_eq!(missing.body["error"]["field"], "merchant_refund_no");
    assert_eq!(t.store().count(Table::Refunds).await.unwrap(), 0);
    t.stop().await;
}

/// Sends a POST announcing `length` bytes of body but sending only `sent`,
/// and returns the status code of the answer.
async fn post_partial_body(t: &TestApp, length: usize, sent: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = t.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/payments HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {DEMO_KEY}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&vec![b'x'; sent]).await.unwrap();
    let mut answer = vec![0u8; 1024];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&answer[..n]);
    text.split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text}"))
}
