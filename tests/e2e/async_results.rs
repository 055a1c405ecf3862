//! Payments that finish asynchronously: callbacks that must not be
//! believed, webhooks that must get through, and the sweeper that converges
//! what nobody asked about.

use paycore_e2e::*;
use std::sync::atomic::Ordering;

fn qr(order_no: &str) -> serde_json::Value {
    json!({ "merchant_order_no": order_no, "amount": 4500, "currency": "CNY", "scene": "qrcode", "subject": "latte" })
}

fn event_types(hooks: &[Webhook]) -> Vec<String> {
    hooks
        .iter()
        .map(|h| {
            let e: serde_json::Value = serde_json::from_str(&h.body).unwrap();
            format!(
                "{} {}",
                e["type"].as_str().unwrap(),
                e["data"]["id"].as_str().unwrap()
            )
        })
        .collect()
}

/// The `gated` tenant of `gate`, next to the standard ones.
fn gated(gate: &SandboxGate) -> Extra {
    Extra {
        tenants: vec![gate.tenant()],
        ..Extra::default()
    }
}

// --- callbacks ---------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mangled_callback_of_a_real_payment_triggers_a_query_that_completes_it() {
    let t = TestApp::start().await;
    let r = t
        .pay(barcode("MANGLED-1", 4500, "283400011122223332"))
        .await;
    assert_eq!(r.body["status"], "processing", "{}", r.body);
    // The provider settles it after `processing_delay_ms`; no notice follows
    // for barcode payments, and the one that comes here is mangled. It is
    // sent once the provider holds the order paid, so the query it
    // triggers finds it paid.
    eventually_async("the provider to hold MANGLED-1 paid", async || {
        (t.provider_order("MANGLED-1").await["status"] == "SUCCEEDED").then_some(())
    })
    .await;
    let (body, _) = provider_callback(
        r.body["channel_order_no"].as_str().unwrap(),
        "MANGLED-1",
        "45.00",
    );
    let reply = t.callback(&body, Some(&"ab".repeat(32))).await;
    assert_eq!(
        reply.status(),
        StatusCode::UNAUTHORIZED,
        "the plugin's answer"
    );

    let read = t.get(DEMO_KEY, &format!("/v1/payments/{}", r.id())).await;
    assert_eq!(
        read.body["status"], "succeeded",
        "found by the query, not believed from the callback"
    );
    let audit = t.store().callbacks_of(&"demo".into()).await.unwrap();
    assert_eq!(
        audit,
        vec![(
            false,
            "rejected: signature did not verify; queried the claimed payment: processing -> succeeded"
                .to_string()
        )]
    );
    let hooks = t.wait_for_webhooks(1).await;
    assert_eq!(
        event_types(&hooks),
        [format!("payment.succeeded {}", r.id())]
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unverified_callback_never_touches_another_tenants_payment() {
    let t = TestApp::start().await;
    let acme = t
        .post(
            ACME_KEY,
            "/v1/payments",
            barcode("SHARED-NO-1", 4500, "283400011122223332"),
        )
        .await;
    assert_eq!(acme.body["status"], "processing");
    let (body, _) = provider_callback("T-whatever", "SHARED-NO-1", "45.00");
    let reply = t.callback(&body, None).await;
    assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
    let audit = t.store().callbacks_of(&"demo".into()).await.unwrap();
    assert_eq!(
        audit,
        vec![(false, "rejected: signature did not verify".to_string())]
    );
    let read = t
        .get(ACME_KEY, &format!("/v1/payments/{}", acme.id()))
        .await;
    assert_eq!(read.body["status"], "processing");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_notice_after_close_changes_nothing_and_sends_nothing() {
    let t = TestApp::start().await;
    let r = t.pay(qr("LATE-1")).await;
    let closed = t
        .post(
            DEMO_KEY,
            &format!("/v1/payments/{}/close", r.id()),
            json!({}),
        )
        .await;
    assert_eq!(closed.body["status"], "closed", "{}", closed.body);
    let (body, sig) = provider_callback(
        r.body["channel_order_no"].as_str().unwrap(),
        "LATE-1",
        "45.00",
    );
    let reply = t.callback(&body, Some(&sig)).await;
    assert_eq!(
        reply.status(),
        StatusCode::OK,
        "answered so the channel stops retrying"
    );
    let read = t.get(DEMO_KEY, &format!("/v1/payments/{}", r.id())).await;
    assert_eq!(read.body["status"], "closed");
    let hooks = t.wait_for_webhooks(1).await;
    // The callback was answered after paycore decided on it, so whatever it
    // would send is in the payment's event listing by now: the close alone,
    // and nothing left to deliver.
    let events = t.wait_for_deliveries(DEMO_KEY, &r.id()).await;
    let listed = events.event_types();
    assert_eq!(listed, ["payment.closed"], "{}", events.body);
    assert_eq!(events.body["data"][0]["delivery"]["status"], "delivered");
    assert_eq!(
        event_types(&t.webhooks.lock().unwrap()),
        [format!("payment.closed {}", r.id())]
    );
    assert_eq!(hooks.len(), 1);
    let kinds: Vec<String> = t
        .store()
        .events_of(&r.id())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(
        kinds.last().unwrap(),
        "payment.transition_refused",
        "{kinds:?}"
    );
    t.stop().await;
}

// --- webhooks ----------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_answered_500_is_delivered_on_retry() {
    // The receiver refuses until the test has looked at the refused
    // delivery; the schedule keeps retrying for longer than any wait of the
    // harness (over 30 s), so the event cannot be dead-lettered meanwhile.
    let t = TestApp::start_with(Options {
        webhook_retry_ms: [100].into_iter().chain([1_000; 31]).collect(),
        ..Options::default()
    })
    .await;
    t.hooks.status.store(500, Ordering::SeqCst);
    let r = t.pay(barcode("RETRY-1", 4500, "283400011122223334")).await;
    assert_eq!(r.body["status"], "succeeded", "{}", r.body);
    eventually("a first, refused attempt", || {
        (t.hooks.attempts.load(Ordering::SeqCst) >= 1).then_some(())
    })
    .await;
    let events = t.events(DEMO_KEY, &r.id()).await;
    assert_eq!(events.status, StatusCode::OK);
    let delivery = &events.body["data"][0]["delivery"];
    assert!(
        matches!(delivery["status"].as_str(), Some("retrying" | "pending")),
        "{delivery}"
    );
    t.hooks.status.store(200, Ordering::SeqCst);
    let hooks = t.wait_for_webhooks(1).await;
    assert!(webhook_signature_valid(
        &hooks[0].signature,
        &hooks[0].body,
        WEBHOOK_SECRET
    ));

    let events = t.wait_for_deliveries(DEMO_KEY, &r.id()).await;
    let event = &events.body["data"][0];
    assert_eq!(event["type"], "payment.succeeded");
    assert_eq!(event["data"]["status"], "succeeded");
    assert_eq!(event["delivery"]["status"], "delivered", "{event}");
    assert_eq!(
        event["delivery"]["attempts"],
        t.hooks.attempts.load(Ordering::SeqCst) as i64
    );
    assert!(event["delivery"]["attempts"].as_i64().unwrap() >= 2);
    let sent: serde_json::Value = serde_json::from_str(&hooks[0].body).unwrap();
    assert_eq!(
        sent["id"], event["id"],
        "the listing shows the event that was sent"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_is_down_gets_retries_then_a_dead_letter_then_a_redelivery() {
    let t = TestApp::start().await;
    let addr = format!("127.0.0.1:{}", closed_port());
    let mut body = barcode("DOWN-1", 4500, "283400011122223334");
    body["notify_url"] = json!(format!("http://{addr}/hooks"));
    let r = t.pay(body).await;
    assert_eq!(r.body["status"], "succeeded");

    // Schedule 100, 200, 400 ms: four attempts, then the dead letter.
    let dead = eventually_async("the dead letter", async || {
        let events = t.events(DEMO_KEY, &r.id()).await;
        let event = &events.body["data"][0];
        (event["delivery"]["status"] == "dead").then(|| event.clone())
    })
    .await;
    assert_eq!(dead["delivery"]["status"], "dead", "dead-lettered in time");
    assert_eq!(dead["delivery"]["attempts"], 4);
    assert_eq!(
        dead["delivery"]["last_error"],
        "connection failed: Connection refused (os error 111)"
    );
    assert_eq!(dead["delivery"]["next_attempt_at"], json!(null));
    let id = dead["id"].as_str().unwrap().to_string();

    // Another tenant sees nothing of it and cannot resend it.
    assert_eq!(
        t.events(ACME_KEY, &r.id()).await.status,
        StatusCode::NOT_FOUND
    );
    let theirs = t
        .post(ACME_KEY, &format!("/v1/events/{id}/redeliver"), json!({}))
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(
        t.get(DEMO_KEY, "/v1/events").await.status,
        StatusCode::BAD_REQUEST
    );

    // The merchant is back: a redelivery gets through.
    let back = HookServer::start_on(tokio::net::TcpListener::bind(addr).await.unwrap());
    let again = t
        .post(DEMO_KEY, &format!("/v1/events/{id}/redeliver"), json!({}))
        .await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.body);
    assert_eq!(again.body["delivery"]["status"], "pending");
    let hooks = back.wait_for(1).await;
    assert!(webhook_signature_valid(
        &hooks[0].signature,
        &hooks[0].body,
        WEBHOOK_SECRET
    ));
    let events = t.wait_for_deliveries(DEMO_KEY, &r.id()).await;
    assert_eq!(events.body["data"][0]["delivery"]["status"], "delivered");
    assert_eq!(events.body["data"][0]["delivery"]["attempts"], 5);
    assert!(
        t.webhooks.lock().unwrap().is_empty(),
        "nothing went to the tenant default"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refund_events_are_listed_with_their_payment() {
    let t = TestApp::start().await;
    let r = t
        .pay(barcode("REFUND-EVT-1", 4500, "283400011122223334"))
        .await;
    let refund = t
        .post(
            DEMO_KEY,
            &format!("/v1/payments/{}/refunds", r.id()),
            json!({"merchant_refund_no": "RF-EVT-1", "amount": 500}),
        )
        .await;
    assert_eq!(refund.body["status"], "succeeded", "{}", refund.body);
    t.wait_for_webhooks(2).await;
    let events = t.events(DEMO_KEY, &r.id()).await;
    let types = events.event_types();
    assert_eq!(types, ["payment.succeeded", "refund.succeeded"]);
    assert_eq!(events.body["data"][1]["data"]["id"], refund.body["id"]);
    assert_eq!(events.body["data"][1]["payment_id"], json!(r.id()));
    t.stop().await;
}

// --- the sweeper -------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeper_resolves_a_timed_out_payment_by_our_order_number() {
    let gate = SandboxGate::start().await;
    let t = TestApp::start_with_extra(Options::fast_sweeper(), gated(&gate)).await;
    gate.connect(&t);
    // The sweeper may take up the payment as soon as it is stored, before
    // its pay call has answered: its queries wait at the gate until the 504
    // is in hand, so the answer shows what the pay call alone learned.
    gate.hold("query");
    let r = t
        .post(
            GATED_KEY,
            "/v1/payments",
            barcode("SWEEP-TIMEOUT-1", 4500, "283400011122223333"),
        )
        .await;
    assert_eq!(r.status, StatusCode::GATEWAY_TIMEOUT, "{}", r.body);
    let id = r.body["error"]["payment"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(r.body["error"]["payment"]["status"], "unknown");
    assert_eq!(r.body["error"]["payment"]["channel_order_no"], json!(null));
    gate.release("query");
    let read = t.wait_for_status(GATED_KEY, &id, "succeeded").await;
    assert!(
        read.body["channel_order_no"].is_string(),
        "learned by the query: {}",
        read.body
    );
    let hooks = t.wait_for_webhooks(1).await;
    assert_eq!(event_types(&hooks), [format!("payment.succeeded {id}")]);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeper_resolves_a_processing_payment() {
    let t = TestApp::start_with(Options::fast_sweeper()).await;
    let r = t
        .pay(barcode("SWEEP-PROC-1", 4500, "283400011122223332"))
        .await;
    assert_eq!(r.body["status"], "processing");
    t.wait_for_status(DEMO_KEY, &r.id(), "succeeded").await;
    let hooks = t.wait_for_webhooks(1).await;
    assert_eq!(
        event_types(&hooks),
        [format!("payment.succeeded {}", r.id())]
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeper_cancels_a_barcode_payment_still_unpaid_at_the_deadline() {
    let gate = SandboxGate::start().await;
    let t = TestApp::start_with_extra(
        Options {
            processing_delay_ms: 600_000,
            ..Options::barcode_deadline(2_000)
        },
        gated(&gate),
    )
    .await;
    gate.connect(&t);
    // The sweeper's cancel waits at the gate until the test has looked.
    gate.hold("cancel");
    let started = paycore::domain::now_millis();
    let r = t
        .post(
            GATED_KEY,
            "/v1/payments",
            barcode("SWEEP-DEADLINE-1", 4500, "283400011122223332"),
        )
        .await;
    assert_eq!(r.body["status"], "processing");
    let cancel = eventually("the sweeper's cancel", || {
        gate.calls().into_iter().find(|c| c.operation == "cancel")
    })
    .await;
    let calls = gate.calls();
    let before_cancel: Vec<&str> = calls
        .iter()
        .map(|c| c.operation.as_str())
        .take_while(|op| *op != "cancel")
        .collect();
    assert!(before_cancel.contains(&"query"), "queried first: {calls:?}");
    assert!(
        cancel.at_ms >= started + 2_000,
        "cancelled {} ms after the payment was created, before its deadline",
        cancel.at_ms - started
    );
    let read = t.get(GATED_KEY, &format!("/v1/payments/{}", r.id())).await;
    assert_eq!(
        read.body["status"], "processing",
        "queried, but not cancelled before the deadline"
    );
    gate.release("cancel");
    t.wait_for_status(GATED_KEY, &r.id(), "cancelled").await;
    let hooks = t.wait_for_webhooks(1).await;
    assert_eq!(
        event_types(&hooks),
        [format!("payment.cancelled {}", r.id())]
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeper_closes_an_expired_qr_payment() {
    let t = TestApp::start_with(Options {
        pending_expiry_ms: 1_000,
        ..Options::fast_sweeper()
    })
    .await;
    let r = t.pay(qr("SWEEP-EXPIRED-1")).await;
    assert_eq!(r.body["status"], "pending");
    t.wait_for_status(DEMO_KEY, &r.id(), "closed").await;
    let hooks = t.wait_for_webhooks(1).await;
    assert_eq!(event_types(&hooks), [format!("payment.closed {}", r.id())]);
    // The payer is too late: the provider refuses the order.
    let page = r.body["action"]["qr_code"].as_str().unwrap();
    let late = t
        .client
        .post(format!("{page}/approve"))
        .send()
        .await
        .unwrap();
    assert!(!late.status().is_success(), "{}", late.status());
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeper_leaves_a_fresh_qr_payment_pending() {
    let t = TestApp::start_with(Options::fast_sweeper()).await;
    let r = t.pay(qr("SWEEP-FRESH-1")).await;
    // The sweeper has asked the channel about it, and decided, three times.
    eventually_async("three checks by the sweeper", async || {
        let open = t.store().unsettled(3, 50).await.unwrap();
        open.oldest.iter().any(|p| p.id == r.id()).then_some(())
    })
    .await;
    let read = t.get(DEMO_KEY, &format!("/v1/payments/{}", r.id())).await;
    assert_eq!(read.body["status"], "pending");
    assert!(t.webhooks.lock().unwrap().is_empty());
    t.stop().await;
}
