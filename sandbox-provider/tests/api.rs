//! The signed JSON API over real HTTP on loopback.

use std::time::Duration;

use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn unsigned_or_tampered_requests_are_refused_and_change_nothing() {
    let sb = Sandbox::start().await;
    let body = serde_json::to_vec(&barcode("sig-1", "10.00", "CNY", "1234567890")).unwrap();
    let good = hmac_hex(KEY1, &body);
    let tampered = serde_json::to_vec(&barcode("sig-1", "99.00", "CNY", "1234567890")).unwrap();
    let wrong_key = hmac_hex(KEY2, &body);

    type Headers<'a> = Vec<(&'a str, &'a str)>;
    let cases: Vec<(&str, Vec<u8>, Headers)> = vec![
        ("no headers", body.clone(), vec![]),
        (
            "no signature",
            body.clone(),
            vec![("X-Sandbox-Merchant", M1)],
        ),
        (
            "no merchant",
            body.clone(),
            vec![("X-Sandbox-Signature", &good)],
        ),
        (
            "tampered body",
            tampered,
            vec![("X-Sandbox-Merchant", M1), ("X-Sandbox-Signature", &good)],
        ),
        (
            "other merchant's key",
            body.clone(),
            vec![
                ("X-Sandbox-Merchant", M1),
                ("X-Sandbox-Signature", &wrong_key),
            ],
        ),
        (
            "not hex",
            body.clone(),
            vec![
                ("X-Sandbox-Merchant", M1),
                ("X-Sandbox-Signature", "not-hex"),
            ],
        ),
        (
            "truncated",
            body.clone(),
            vec![
                ("X-Sandbox-Merchant", M1),
                ("X-Sandbox-Signature", &good[..32]),
            ],
        ),
    ];
    for (what, body, headers) in cases {
        let a = sb.raw_call("pay", body, &headers).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(a.code(), "BAD_SIGNATURE", "{what}");
        assert!(
            a.signature.is_none(),
            "{what}: BAD_SIGNATURE is never signed"
        );
    }

    let a = sb
        .raw_call(
            "pay",
            body.clone(),
            &[
                ("X-Sandbox-Merchant", "nobody"),
                ("X-Sandbox-Signature", &good),
            ],
        )
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::UNAUTHORIZED, "BAD_SIGNATURE")
    );
    assert_eq!(a.str("message"), "unknown merchant");

    // Nothing was recorded by any of them.
    let q = sb.query("sig-1").await;
    assert_eq!(
        (q.status, q.code()),
        (StatusCode::NOT_FOUND, "ORDER_NOT_FOUND")
    );

    // The correctly signed request does go through, and its answer is signed.
    let a = sb
        .raw_call(
            "pay",
            body,
            &[("X-Sandbox-Merchant", M1), ("X-Sandbox-Signature", &good)],
        )
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::OK, "SUCCESS"));
    assert_eq!(a.signature.unwrap(), hmac_hex(KEY1, &a.raw));
}

#[tokio::test]
async fn auth_code_decides_the_outcome() {
    let sb = Sandbox::start().await;

    for (n, code) in ["1234567890", "1234567894", "12345678901234567899"]
        .iter()
        .enumerate()
    {
        let a = sb
            .call("pay", barcode(&format!("ok-{n}"), "88.88", "CNY", code))
            .await;
        assert_eq!(
            (a.status, a.code(), a.str("status")),
            (StatusCode::OK, "SUCCESS", "SUCCEEDED"),
            "{code}"
        );
        assert_eq!(a.str("amount"), "88.88");
        assert_eq!(a.str("currency"), "CNY");
        assert_eq!(a.str("out_trade_no"), format!("ok-{n}"));
        assert!(a.str("trade_no").starts_with("sbx"));
        assert!(a.body.get("qr_code").is_none() && a.body.get("pay_url").is_none());
    }

    let a = sb
        .call("pay", barcode("declined", "88.88", "CNY", "1234567891"))
        .await;
    assert_eq!(
        (a.status, a.code(), a.str("status")),
        (StatusCode::OK, "DECLINED", "FAILED")
    );
    assert_eq!(a.str("message"), "insufficient balance");
    assert_eq!(sb.query("declined").await.str("status"), "FAILED");

    let a = sb
        .call("pay", barcode("processing", "88.88", "CNY", "1234567892"))
        .await;
    assert_eq!(
        (a.status, a.code(), a.str("status")),
        (StatusCode::OK, "SUCCESS", "PROCESSING")
    );

    let a = sb
        .call("pay", barcode("timeout", "88.88", "CNY", "1234567893"))
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::GATEWAY_TIMEOUT, "TIMEOUT")
    );

    // Face payments behave the same way.
    let mut face = barcode("face", "1.00", "CNY", "9876543211");
    face["scene"] = json!("face");
    assert_eq!(sb.call("pay", face).await.code(), "DECLINED");
}

#[tokio::test]
async fn processing_succeeds_after_the_configured_delay() {
    let sb = Sandbox::start().await; // processing_delay = 200 ms
    let a = sb
        .call("pay", barcode("p-1", "5.00", "USD", "55555555552"))
        .await;
    assert_eq!(a.str("status"), "PROCESSING");
    let trade_no = a.str("trade_no").to_string();

    let q = eventually("PROCESSING to become SUCCEEDED", || async {
        let q = sb.call("query", json!({ "trade_no": trade_no })).await;
        (q.str("status") == "SUCCEEDED").then_some(q)
    })
    .await;
    assert_eq!(
        (q.code(), q.str("out_trade_no"), q.str("amount")),
        ("SUCCESS", "p-1", "5.00")
    );
}

#[tokio::test]
async fn processing_stays_processing_until_the_delay_has_passed() {
    let sb = Sandbox::with(|c| c.processing_delay = Duration::from_secs(3600)).await;
    sb.call("pay", barcode("slow", "5.00", "USD", "55555555552"))
        .await;
    let q = sb.query("slow").await;
    assert_eq!((q.code(), q.str("status")), ("SUCCESS", "PROCESSING"));
}

#[tokio::test]
async fn timeout_still_records_a_succeeded_order() {
    let sb = Sandbox::start().await;
    let a = sb
        .call("pay", barcode("to-1", "12.34", "CNY", "77777777773"))
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::GATEWAY_TIMEOUT, "TIMEOUT")
    );

    let q = sb.query("to-1").await;
    assert_eq!(
        (q.status, q.code(), q.str("status")),
        (StatusCode::OK, "SUCCESS", "SUCCEEDED")
    );
    assert_eq!(q.str("amount"), "12.34");

    // Retrying the same pay finds the order that was taken.
    let again = sb
        .call("pay", barcode("to-1", "12.34", "CNY", "77777777773"))
        .await;
    assert_eq!(
        (again.status, again.code(), again.str("status")),
        (StatusCode::OK, "SUCCESS", "SUCCEEDED")
    );
    assert_eq!(again.str("trade_no"), q.str("trade_no"));
}

#[tokio::test]
async fn auth_code_must_be_10_to_32_digits() {
    let sb = Sandbox::start().await;
    for bad in [
        "123456789",
        "123456789012345678901234567890123",
        "12345abcde",
        "",
        " 1234567890",
    ] {
        let a = sb.call("pay", barcode("ac", "1.00", "CNY", bad)).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::BAD_REQUEST, "INVALID_REQUEST"),
            "{bad:?}"
        );
        assert!(a.str("message").contains("auth_code"), "{}", a.body);
    }
    let mut missing = barcode("ac", "1.00", "CNY", "x");
    missing.as_object_mut().unwrap().remove("auth_code");
    let a = sb.call("pay", missing).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.str("message").contains("auth_code"));
    assert_eq!(sb.query("ac").await.status, StatusCode::NOT_FOUND);

    for (n, ok) in ["1234567890", "12345678901234567890123456789010"]
        .iter()
        .enumerate()
    {
        let a = sb
            .call("pay", barcode(&format!("ac-{n}"), "1.00", "CNY", ok))
            .await;
        assert_eq!(a.code(), "SUCCESS", "{ok}");
    }
}

#[tokio::test]
async fn amounts_need_exactly_the_currency_decimals() {
    let sb = Sandbox::start().await;
    let rejected = [
        ("1.234", "CNY"),
        ("1", "CNY"),
        ("1.2", "CNY"),
        ("0.00", "CNY"),
        ("-1.00", "CNY"),
        ("1e2", "CNY"),
        ("500.00", "JPY"),
        ("1.23", "BHD"),
    ];
    for (amount, currency) in rejected {
        let a = sb
            .call("pay", barcode("amt", amount, currency, "1234567890"))
            .await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::BAD_REQUEST, "INVALID_REQUEST"),
            "{amount} {currency}"
        );
        assert!(a.str("message").contains("amount"), "{}", a.body);
    }
    // A JSON number is not a decimal string.
    let mut num = barcode("amt", "x", "CNY", "1234567890");
    num["amount"] = json!(88.88);
    let a = sb.call("pay", num).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.str("message").contains("amount"));

    let a = sb
        .call("pay", barcode("amt", "1.00", "XXX", "1234567890"))
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.str("message").contains("currency"));
    assert_eq!(
        sb.query("amt").await.status,
        StatusCode::NOT_FOUND,
        "nothing recorded"
    );

    for (n, (amount, currency)) in [
        ("500", "JPY"),
        ("88.88", "CNY"),
        ("0.01", "USD"),
        ("1.234", "BHD"),
        ("1000", "KRW"),
    ]
    .iter()
    .enumerate()
    {
        let a = sb
            .call(
                "pay",
                barcode(&format!("amt-{n}"), amount, currency, "1234567890"),
            )
            .await;
        assert_eq!(
            (a.code(), a.str("amount"), a.str("currency")),
            ("SUCCESS", *amount, *currency)
        );
    }
}

#[tokio::test]
async fn malformed_requests_are_400_naming_the_field() {
    let sb = Sandbox::start().await;
    let sign = |b: &[u8]| hmac_hex(KEY1, b);

    for raw in [&b"not json"[..], b"[1,2]", b"", b"{\"out_trade_no\":"] {
        let s = sign(raw);
        let a = sb
            .raw_call(
                "pay",
                raw.to_vec(),
                &[("X-Sandbox-Merchant", M1), ("X-Sandbox-Signature", &s)],
            )
            .await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::BAD_REQUEST, "INVALID_REQUEST")
        );
        assert_eq!(
            a.signature.unwrap(),
            hmac_hex(KEY1, &a.raw),
            "errors are signed too"
        );
    }

    // (field to change, new value or None to remove it, field the error must name)
    let cases = [
        ("out_trade_no", None, "out_trade_no"),
        ("out_trade_no", Some(json!("")), "out_trade_no"),
        ("out_trade_no", Some(json!("x".repeat(65))), "out_trade_no"),
        ("out_trade_no", Some(json!("has space")), "out_trade_no"),
        ("out_trade_no", Some(json!(42)), "out_trade_no"),
        ("currency", None, "currency"),
        ("scene", Some(json!("teleport")), "scene"),
        ("subject", Some(json!(["x"])), "subject"),
        ("subject", Some(json!("x".repeat(257))), "subject"),
        ("notify_url", Some(json!("ftp://x")), "notify_url"),
        ("notify_url", Some(json!("/relative")), "notify_url"),
        ("scene", Some(json!("qrcode")), "notify_url"),
        ("expires_in", Some(json!(-5)), "expires_in"),
        ("expires_in", Some(json!(0)), "expires_in"),
        ("expires_in", Some(json!("60")), "expires_in"),
    ];
    for (field, value, named) in cases {
        let mut body = barcode("mf", "1.00", "CNY", "1234567890");
        match value {
            Some(v) => body[field] = v,
            None => drop(body.as_object_mut().unwrap().remove(field)),
        }
        let a = sb.call("pay", body.clone()).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::BAD_REQUEST, "INVALID_REQUEST"),
            "{body}"
        );
        assert!(a.str("message").contains(named), "{named}: {}", a.body);
    }
    assert_eq!(sb.query("mf").await.status, StatusCode::NOT_FOUND);

    let a = sb.call("frobnicate", json!({})).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::BAD_REQUEST, "INVALID_REQUEST")
    );
    let a = sb
        .call(
            "refund",
            json!({ "out_trade_no": "x", "out_refund_no": "y" }),
        )
        .await;
    assert!(a.str("message").contains("amount"));
    let a = sb.call("query", json!({})).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = sb.call("close", json!({ "trade_no": "x" })).await;
    assert!(a.str("message").contains("out_trade_no"));
}

#[tokio::test]
async fn pay_is_idempotent_on_out_trade_no() {
    let sb = Sandbox::start().await;
    let first = sb
        .call("pay", barcode("idem", "10.00", "CNY", "1234567890"))
        .await;
    let again = sb
        .call("pay", barcode("idem", "10.00", "CNY", "1234567890"))
        .await;
    assert_eq!((again.status, again.code()), (StatusCode::OK, "SUCCESS"));
    assert_eq!(again.str("trade_no"), first.str("trade_no"));

    let dup = sb
        .call("pay", barcode("idem", "10.01", "CNY", "1234567890"))
        .await;
    assert_eq!(
        (dup.status, dup.code()),
        (StatusCode::CONFLICT, "DUPLICATE")
    );
    let dup = sb
        .call("pay", barcode("idem", "10.00", "USD", "1234567890"))
        .await;
    assert_eq!(
        (dup.status, dup.code()),
        (StatusCode::CONFLICT, "DUPLICATE")
    );

    // A failed order number is dead.
    sb.call("pay", barcode("dead", "10.00", "CNY", "1234567891"))
        .await;
    let a = sb
        .call("pay", barcode("dead", "10.00", "CNY", "1234567890"))
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::CONFLICT, "ORDER_CLOSED"));

    // So is a closed one.
    let qr = json!({"out_trade_no": "qr-closed", "amount": "3.00", "currency": "CNY", "scene": "qrcode",
                    "subject": "s", "notify_url": "http://127.0.0.1:9/notify"});
    sb.call("pay", qr.clone()).await;
    assert_eq!(
        sb.call("close", json!({ "out_trade_no": "qr-closed" }))
            .await
            .str("status"),
        "CLOSED"
    );
    let a = sb.call("pay", qr).await;
    assert_eq!((a.status, a.code()), (StatusCode::CONFLICT, "ORDER_CLOSED"));
}

#[tokio::test]
async fn query_by_either_number_within_the_merchant() {
    let sb = Sandbox::start().await;
    let a = sb
        .call("pay", barcode("q-1", "2.00", "CNY", "1234567890"))
        .await;
    let trade_no = a.str("trade_no");

    let by_trade = sb.call("query", json!({ "trade_no": trade_no })).await;
    assert_eq!(
        (
            by_trade.code(),
            by_trade.str("out_trade_no"),
            by_trade.str("status")
        ),
        ("SUCCESS", "q-1", "SUCCEEDED")
    );
    let both = sb
        .call(
            "query",
            json!({ "trade_no": trade_no, "out_trade_no": "q-1" }),
        )
        .await;
    assert_eq!(both.code(), "SUCCESS");
    let mismatch = sb
        .call(
            "query",
            json!({ "trade_no": trade_no, "out_trade_no": "q-2" }),
        )
        .await;
    assert_eq!(mismatch.code(), "ORDER_NOT_FOUND");

    // Another merchant cannot see it, by either number, and has its own namespace.
    let other = sb
        .call_as(M2, KEY2, "query", json!({ "trade_no": trade_no }))
        .await;
    assert_eq!(
        (other.status, other.code()),
        (StatusCode::NOT_FOUND, "ORDER_NOT_FOUND")
    );
    let other = sb
        .call_as(M2, KEY2, "query", json!({ "out_trade_no": "q-1" }))
        .await;
    assert_eq!(other.code(), "ORDER_NOT_FOUND");
    let mine = sb
        .call_as(M2, KEY2, "pay", barcode("q-1", "9.00", "CNY", "1234567890"))
        .await;
    assert_eq!(mine.code(), "SUCCESS");
    assert_ne!(mine.str("trade_no"), trade_no);

    let none = sb.query("never").await;
    assert_eq!(
        (none.status, none.code()),
        (StatusCode::NOT_FOUND, "ORDER_NOT_FOUND")
    );
}

#[tokio::test]
async fn refunds_never_exceed_the_amount() {
    let sb = Sandbox::start().await;
    sb.call("pay", barcode("r-1", "100.00", "CNY", "1234567890"))
        .await;
    let refund = |out_refund_no: &str, amount: &str, reason: &str| json!({ "out_trade_no": "r-1", "out_refund_no": out_refund_no, "amount": amount, "reason": reason });

    let a = sb
        .call("refund", refund("rf-1", "30.00", "customer asked"))
        .await;
    assert_eq!(
        (a.status, a.code(), a.str("status")),
        (StatusCode::OK, "SUCCESS", "SUCCEEDED")
    );
    assert_eq!((a.str("out_refund_no"), a.str("amount")), ("rf-1", "30.00"));
    let refund_no = a.str("refund_no").to_string();

    // Idempotent on out_refund_no; a different refund under the same number is refused.
    let again = sb
        .call("refund", refund("rf-1", "30.00", "customer asked"))
        .await;
    assert_eq!(
        (again.code(), again.str("refund_no")),
        ("SUCCESS", refund_no.as_str())
    );
    let dup = sb.call("refund", refund("rf-1", "31.00", "")).await;
    assert_eq!(
        (dup.status, dup.code()),
        (StatusCode::CONFLICT, "DUPLICATE")
    );

    // 30 of 100 refunded: 80 is too much and records nothing.
    let over = sb.call("refund", refund("rf-2", "80.00", "")).await;
    assert_eq!(
        (over.status, over.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "REFUND_EXCEEDS")
    );
    let q = sb
        .call("refund_query", json!({ "out_refund_no": "rf-2" }))
        .await;
    assert_eq!(
        (q.status, q.code()),
        (StatusCode::NOT_FOUND, "REFUND_NOT_FOUND")
    );

    // sandbox:fail fails, is recorded as FAILED, and does not use up the amount.
    let failed = sb
        .call("refund", refund("rf-3", "10.00", "sandbox:fail"))
        .await;
    assert_eq!(
        (failed.status, failed.code(), failed.str("status")),
        (StatusCode::OK, "REFUND_FAILED", "FAILED")
    );
    let q = sb
        .call("refund_query", json!({ "out_refund_no": "rf-3" }))
        .await;
    assert_eq!((q.str("status"), q.str("amount")), ("FAILED", "10.00"));

    let rest = sb.call("refund", refund("rf-4", "70.00", "")).await;
    assert_eq!((rest.code(), rest.str("status")), ("SUCCESS", "SUCCEEDED"));
    let q = sb
        .call("refund_query", json!({ "out_refund_no": "rf-1" }))
        .await;
    assert_eq!(
        (q.code(), q.str("status"), q.str("refund_no")),
        ("SUCCESS", "SUCCEEDED", refund_no.as_str())
    );

    let more = sb.call("refund", refund("rf-5", "0.01", "")).await;
    assert_eq!(
        (more.status, more.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "REFUND_EXCEEDS")
    );

    // Precision follows the order's currency; unknown orders are 404.
    let bad = sb.call("refund", refund("rf-6", "1.5", "")).await;
    assert_eq!(
        (bad.status, bad.code()),
        (StatusCode::BAD_REQUEST, "INVALID_REQUEST")
    );
    let mut unknown = refund("rf-7", "1.00", "");
    unknown["out_trade_no"] = json!("nope");
    let a = sb.call("refund", unknown).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::NOT_FOUND, "ORDER_NOT_FOUND")
    );

    // Another merchant does not see these refunds.
    let other = sb
        .call_as(M2, KEY2, "refund_query", json!({ "out_refund_no": "rf-1" }))
        .await;
    assert_eq!(other.code(), "REFUND_NOT_FOUND");

    // An unpaid order has nothing to refund.
    sb.call(
        "pay",
        json!({"out_trade_no": "r-qr", "amount": "5.00", "currency": "CNY", "scene": "qrcode",
                          "subject": "s", "notify_url": "http://127.0.0.1:9/n"}),
    )
    .await;
    let a = sb
        .call("refund", json!({ "out_trade_no": "r-qr", "out_refund_no": "rf-8", "amount": "1.00", "reason": "" }))
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "REFUND_EXCEEDS")
    );
}

#[tokio::test]
async fn close_only_unpaid_orders() {
    let sb = Sandbox::with(|c| c.processing_delay = Duration::from_secs(3600)).await;
    sb.call(
        "pay",
        json!({"out_trade_no": "c-qr", "amount": "5.00", "currency": "CNY", "scene": "qrcode",
                          "subject": "s", "notify_url": "http://127.0.0.1:9/n"}),
    )
    .await;
    let a = sb.call("close", json!({ "out_trade_no": "c-qr" })).await;
    assert_eq!(
        (a.status, a.code(), a.str("status")),
        (StatusCode::OK, "SUCCESS", "CLOSED")
    );
    assert_eq!(
        sb.call("close", json!({ "out_trade_no": "c-qr" }))
            .await
            .str("status"),
        "CLOSED"
    );
    assert_eq!(sb.query("c-qr").await.str("status"), "CLOSED");

    sb.call("pay", barcode("c-proc", "5.00", "CNY", "1234567892"))
        .await;
    let a = sb.call("close", json!({ "out_trade_no": "c-proc" })).await;
    assert_eq!((a.code(), a.str("status")), ("SUCCESS", "CLOSED"));

    sb.call("pay", barcode("c-paid", "5.00", "CNY", "1234567890"))
        .await;
    let a = sb.call("close", json!({ "out_trade_no": "c-paid" })).await;
    assert_eq!((a.status, a.code()), (StatusCode::CONFLICT, "ORDER_PAID"));
    assert_eq!(sb.query("c-paid").await.str("status"), "SUCCEEDED");

    let a = sb.call("close", json!({ "out_trade_no": "c-none" })).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::NOT_FOUND, "ORDER_NOT_FOUND")
    );
}

#[tokio::test]
async fn cancel_reverses_any_order_refunding_a_paid_one() {
    let sb = Sandbox::with(|c| c.processing_delay = Duration::from_secs(3600)).await;

    sb.call("pay", barcode("x-proc", "5.00", "CNY", "1234567892"))
        .await;
    let a = sb.call("cancel", json!({ "out_trade_no": "x-proc" })).await;
    assert_eq!(
        (a.status, a.code(), a.str("status")),
        (StatusCode::OK, "SUCCESS", "CANCELLED")
    );

    sb.call("pay", barcode("x-paid", "50.00", "CNY", "1234567890"))
        .await;
    sb.call(
        "refund",
        json!({ "out_trade_no": "x-paid", "out_refund_no": "x-r1", "amount": "20.00" }),
    )
    .await;
    let a = sb.call("cancel", json!({ "out_trade_no": "x-paid" })).await;
    assert_eq!(
        (a.code(), a.str("status"), a.str("amount")),
        ("SUCCESS", "CANCELLED", "50.00")
    );
    assert_eq!(sb.query("x-paid").await.str("status"), "CANCELLED");
    // Fully refunded by the cancel: nothing is left to refund.
    let r = sb
        .call(
            "refund",
            json!({ "out_trade_no": "x-paid", "out_refund_no": "x-r2", "amount": "0.01" }),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "REFUND_EXCEEDS")
    );
    // Cancelling twice is harmless; a cancelled order cannot be closed or paid again.
    assert_eq!(
        sb.call("cancel", json!({ "out_trade_no": "x-paid" }))
            .await
            .str("status"),
        "CANCELLED"
    );
    assert_eq!(
        sb.call("close", json!({ "out_trade_no": "x-paid" }))
            .await
            .code(),
        "ORDER_CLOSED"
    );
    assert_eq!(
        sb.call("pay", barcode("x-paid", "50.00", "CNY", "1234567890"))
            .await
            .code(),
        "ORDER_CLOSED"
    );

    // The classic timeout recovery: the order was taken, cancel reverses it.
    sb.call("pay", barcode("x-to", "9.00", "CNY", "1234567893"))
        .await;
    let a = sb.call("cancel", json!({ "out_trade_no": "x-to" })).await;
    assert_eq!((a.code(), a.str("status")), ("SUCCESS", "CANCELLED"));

    let a = sb.call("cancel", json!({ "out_trade_no": "x-none" })).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::NOT_FOUND, "ORDER_NOT_FOUND")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_keep_the_rules() {
    let sb = std::sync::Arc::new(Sandbox::start().await);

    // Twenty racing pays with one out_trade_no make one order.
    let pays: Vec<_> = (0..20)
        .map(|_| {
            let sb = sb.clone();
            tokio::spawn(async move {
                let a = sb
                    .call("pay", barcode("race", "100.00", "CNY", "1234567890"))
                    .await;
                a.str("trade_no").to_string()
            })
        })
        .collect();
    let mut trade_nos = Vec::new();
    for p in pays {
        trade_nos.push(p.await.unwrap());
    }
    trade_nos.dedup();
    assert_eq!(trade_nos.len(), 1);

    // Twenty racing refunds of 10.00 on 100.00: exactly ten succeed.
    let refunds: Vec<_> = (0..20)
        .map(|i| {
            let sb = sb.clone();
            tokio::spawn(async move {
                let body = json!({ "out_trade_no": "race", "out_refund_no": format!("rr-{i}"), "amount": "10.00" });
                sb.call("refund", body).await.code().to_string()
            })
        })
        .collect();
    let mut ok = 0;
    for r in refunds {
        match r.await.unwrap().as_str() {
            "SUCCESS" => ok += 1,
            "REFUND_EXCEEDS" => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(ok, 10);
}
