//! The QR flow through the payer page, the provider's signed callback, and
//! the merchant webhook; forged callbacks change nothing.

use paycore::store::Table;
use paycore_e2e::*;

async fn qr_payment(t: &TestApp, order_no: &str) -> Reply {
    let r = t.pay(json!({ "merchant_order_no": order_no, "amount": 4500, "currency": "CNY", "scene": "qrcode", "subject": "latte" })).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qr_payment_approved_on_the_payer_page_succeeds_via_the_signed_callback() {
    let t = TestApp::start().await;
    let r = qr_payment(&t, "QR-1").await;
    assert_eq!(r.body["status"], "pending");
    assert_eq!(r.body["action"]["type"], "qr_code");
    let page_url = r.body["action"]["qr_code"].as_str().unwrap().to_string();
    assert!(page_url.starts_with(&t.base), "{page_url}");

    let page = t
        .client
        .get(&page_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("45.00"),
        "the payer page shows the amount in yuan: {page}"
    );
    let approved = t
        .client
        .post(format!("{page_url}/approve"))
        .send()
        .await
        .unwrap();
    assert!(approved.status().is_success() || approved.status().is_redirection());

    let hooks = t.wait_for_webhooks(1).await;
    let hook = &hooks[0];
    assert!(
        webhook_signature_valid(&hook.signature, &hook.body, WEBHOOK_SECRET),
        "signature {}",
        hook.signature
    );
    assert!(!webhook_signature_valid(
        &hook.signature,
        &hook.body,
        "whsec_wrong"
    ));
    let event: serde_json::Value = serde_json::from_str(&hook.body).unwrap();
    assert_eq!(event["type"], "payment.succeeded");
    assert!(event["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(event["data"]["id"], r.body["id"]);
    assert_eq!(event["data"]["status"], "succeeded");

    let read = t.get(DEMO_KEY, &format!("/v1/payments/{}", r.id())).await;
    assert_eq!(read.body["status"], "succeeded");
    let audit = t.store().callbacks_of(&"demo".into()).await.unwrap();
    assert_eq!(
        audit,
        vec![(true, "applied: pending -> succeeded".to_string())]
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_or_tampered_callbacks_are_rejected_and_change_nothing() {
    let t = TestApp::start().await;
    let r = qr_payment(&t, "QR-FORGED-1").await;
    let trade_no = r.body["channel_order_no"].as_str().unwrap();
    let body = json!({
        "event": "payment.succeeded", "trade_no": trade_no, "out_trade_no": "QR-FORGED-1",
        "status": "SUCCEEDED", "amount": "45.00", "currency": "CNY", "paid_at": "2026-11-25T08:00:00Z"
    })
    .to_string();
    let events_before = t.store().count(Table::Events).await.unwrap();
    let url = t.url("/v1/callbacks/demo/sandbox-main");
    let unsigned = t.client.post(&url).body(body.clone()).send().await.unwrap();
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    let forged = t
        .client
        .post(&url)
        .header("x-sandbox-signature", "00".repeat(32))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);

    let read = t.get(DEMO_KEY, &format!("/v1/payments/{}", r.id())).await;
    assert_eq!(read.body["status"], "pending");
    assert_eq!(t.store().count(Table::Events).await.unwrap(), events_before);
    assert_eq!(t.store().count(Table::Outbox).await.unwrap(), 0);
    let audit = t.store().callbacks_of(&"demo".into()).await.unwrap();
    assert_eq!(audit.len(), 2, "rejected callbacks are kept for audit");
    assert!(
        audit
            .iter()
            .all(|(verified, outcome)| !verified && outcome.starts_with("rejected"))
    );

    let unknown_channel = t
        .client
        .post(t.url("/v1/callbacks/demo/nope"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown_channel.status(), StatusCode::NOT_FOUND);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_callback_is_applied_once() {
    let t = TestApp::start().await;
    let r = qr_payment(&t, "QR-TWICE-1").await;
    let (body, sig) = provider_callback(
        r.body["channel_order_no"].as_str().unwrap(),
        "QR-TWICE-1",
        "45.00",
    );
    let url = t.url("/v1/callbacks/demo/sandbox-main");
    for _ in 0..2 {
        let reply = t
            .client
            .post(&url)
            .header("x-sandbox-signature", &sig)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::OK);
        assert_eq!(
            reply.text().await.unwrap(),
            r#"{"code":"SUCCESS"}"#,
            "the answer the channel expects"
        );
    }
    let audit = t.store().callbacks_of(&"demo".into()).await.unwrap();
    assert_eq!(
        audit,
        vec![
            (true, "applied: pending -> succeeded".to_string()),
            (true, "no change (succeeded)".to_string())
        ]
    );
    let statuses: Vec<Option<String>> = t
        .store()
        .events_of(&r.id())
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.0 != "payment.attempt")
        .map(|e| e.2)
        .collect();
    let expected = ["unknown", "pending", "succeeded"].map(|s| Some(s.to_string()));
    assert_eq!(
        statuses, expected,
        "created, answered by pay, paid by the first callback only"
    );
    // Every webhook paycore queued for the payment, each delivered: the
    // listing is complete once nothing is left to send, so no second
    // webhook can still be on its way.
    let events = t.wait_for_deliveries(DEMO_KEY, &r.id()).await;
    let listed = events.event_types();
    assert_eq!(listed, ["payment.succeeded"], "{}", events.body);
    assert_eq!(
        t.webhooks.lock().unwrap().len(),
        1,
        "exactly one webhook per change"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verified_callback_with_the_wrong_amount_is_refused_and_flagged() {
    let t = TestApp::start().await;
    let r = qr_payment(&t, "QR-LIE-1").await;
    let (body, sig) = provider_callback(
        r.body["channel_order_no"].as_str().unwrap(),
        "QR-LIE-1",
        "0.01",
    );
    let reply = t
        .client
        .post(t.url("/v1/callbacks/demo/sandbox-main"))
        .header("x-sandbox-signature", sig)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        reply.status(),
        StatusCode::OK,
        "the channel is answered so it stops retrying"
    );
    let read = t.get(DEMO_KEY, &format!("/v1/payments/{}", r.id())).await;
    assert_eq!(read.body["status"], "pending", "no success is recorded");
    assert!(
        read.body["review_reason"]
            .as_str()
            .unwrap()
            .contains("1 CNY"),
        "{}",
        read.body
    );
    assert_eq!(t.store().count(Table::Outbox).await.unwrap(), 0);
    t.stop().await;
}
