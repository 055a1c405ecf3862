//! Each sandbox outcome through the real runtime, plugin and provider.

use paycore::store::Table;
use paycore_e2e::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn barcode_success_is_immediate() {
    let t = TestApp::start().await;
    let r = t.pay(barcode("BC-OK-1", 8888, "134567890124")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["status"], "succeeded");
    assert_eq!(r.body["amount"], 8888);
    assert_eq!(r.body["currency"], "CNY");
    assert_eq!(r.body["wallet"], "sandbox");
    assert_eq!(r.body["channel"], "sandbox-main");
    assert_eq!(
        r.body["plugin"],
        json!({ "name": "sandbox", "version": "1.0.0" })
    );
    assert!(
        r.body["channel_order_no"]
            .as_str()
            .unwrap()
            .starts_with("sbx")
    );
    assert!(r.header("paycore-request-id").unwrap().starts_with("req_"));
    let events = t.store().events_of(&r.id()).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "payment.created",
            "payment.attempt",
            "payment.status_changed"
        ]
    );
    assert_eq!(events[2].2.as_deref(), Some("succeeded"));
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_code_fails_with_the_channels_words() {
    let t = TestApp::start().await;
    let r = t.pay(barcode("BC-DECLINE-1", 500, "134567890121")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["status"], "failed");
    assert_eq!(r.body["failure"]["code"], "declined");
    assert_eq!(r.body["failure"]["channel_code"], "DECLINED");
    assert_eq!(r.body["failure"]["channel_message"], "insufficient balance");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processing_then_succeeded_by_sync() {
    let t = TestApp::start().await;
    let r = t.pay(barcode("BC-PROC-1", 1200, "134567890122")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["status"], "processing");
    let id = r.id();
    let synced = t.sync_until_not(DEMO_KEY, &id, "processing").await;
    assert_eq!(synced.status, StatusCode::OK);
    assert_eq!(synced.body["status"], "succeeded");
    let read = t.get(DEMO_KEY, &format!("/v1/payments/{id}")).await;
    assert_eq!(read.body["status"], "succeeded");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_leaves_the_payment_unknown_until_a_query_settles_it() {
    let t = TestApp::start().await;
    let r = t.pay(barcode("BC-TIMEOUT-1", 3300, "134567890123")).await;
    assert_eq!(r.status, StatusCode::GATEWAY_TIMEOUT, "{}", r.body);
    assert_eq!(r.code(), "outcome_unknown");
    let payment = &r.body["error"]["payment"];
    assert_eq!(
        payment["status"], "unknown",
        "never `failed` when money may have moved"
    );
    assert_eq!(payment["channel_order_no"], json!(null));
    let id = payment["id"].as_str().unwrap().to_string();
    // The channel's order number was never learned: sync queries by ours.
    let synced = t
        .post(DEMO_KEY, &format!("/v1/payments/{id}/sync"), json!({}))
        .await;
    assert_eq!(synced.status, StatusCode::OK, "{}", synced.body);
    assert_eq!(synced.body["status"], "succeeded");
    assert!(
        synced.body["channel_order_no"]
            .as_str()
            .unwrap()
            .starts_with("sbx")
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeper_settles_unknown_payments_by_itself() {
    let t = TestApp::start_with(Options {
        sweeper_interval_ms: 100,
        ..Options::default()
    })
    .await;
    let r = t.pay(barcode("BC-SWEEP-1", 3300, "134567890123")).await;
    let id = r.body["error"]["payment"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut status = String::new();
    for _ in 0..50 {
        let read = t.get(DEMO_KEY, &format!("/v1/payments/{id}")).await;
        status = read.body["status"].as_str().unwrap().to_string();
        if status == "succeeded" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, "succeeded");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_by_merchant_order_number() {
    let t = TestApp::start().await;
    let created = t.pay(barcode("BC-FIND-1", 100, "134567890124")).await;
    let found = t
        .get(DEMO_KEY, "/v1/payments?merchant_order_no=BC-FIND-1")
        .await;
    assert_eq!(found.status, StatusCode::OK);
    assert_eq!(found.body["id"], created.body["id"]);
    let missing = t.get(DEMO_KEY, "/v1/payments?merchant_order_no=NOPE").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.code(), "resource_missing");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_an_unpaid_qr_payment_and_cancel_a_paid_barcode_one() {
    let t = TestApp::start().await;
    let qr = t.pay(json!({ "merchant_order_no": "QR-CLOSE-1", "amount": 990, "currency": "CNY", "scene": "qrcode" })).await;
    assert_eq!(qr.body["status"], "pending");
    let closed = t
        .post(
            DEMO_KEY,
            &format!("/v1/payments/{}/close", qr.id()),
            json!({}),
        )
        .await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.body);
    assert_eq!(closed.body["status"], "closed");
    let again = t
        .post(
            DEMO_KEY,
            &format!("/v1/payments/{}/close", qr.id()),
            json!({}),
        )
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(again.code(), "payment_not_open");

    let paid = t.pay(barcode("BC-CANCEL-1", 700, "134567890124")).await;
    let cancelled = t
        .post(
            DEMO_KEY,
            &format!("/v1/payments/{}/cancel", paid.id()),
            json!({}),
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert_eq!(cancelled.body["status"], "cancelled");
    let no_refund = t
        .post(
            DEMO_KEY,
            &format!("/v1/payments/{}/refunds", paid.id()),
            json!({ "merchant_refund_no": "R-C-1", "amount": 1 }),
        )
        .await;
    assert_eq!(no_refund.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(no_refund.code(), "payment_not_refundable");
    assert_eq!(t.store().count(Table::Refunds).await.unwrap(), 0);
    t.stop().await;
}
