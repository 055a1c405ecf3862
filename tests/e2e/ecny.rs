//! The e-CNY plugin (.wasm) through paycore against the simulator of the
//! acquirer it speaks (Huifu's v3 API): both scenes, every operation, and
//! what paycore must not believe.

use paycore_e2e::channels::{SHOP_KEY, Shop, assert_no_key_material};
use paycore_e2e::*;
use paycore_simulators::{Behaviour, OrderState, Tweak};

/// An e-CNY payment code: 19 digits from `01`. Its last digit picks what
/// the simulator's payer does (0 pays).
const CODE: &str = "0123456789012345670";

fn code_payment(order: &str, amount: i64) -> serde_json::Value {
    json!({"merchant_order_no": order, "amount": amount, "currency": "CNY", "scene": "barcode", "auth_code": CODE, "subject": "2 x latte"})
}

fn qr_payment(order: &str, amount: i64) -> serde_json::Value {
    json!({"merchant_order_no": order, "amount": amount, "currency": "CNY", "scene": "qrcode", "wallet": "ecny", "subject": "latte"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecny_code_pays_and_refunds_reach_the_full_amount_exactly() {
    let s = Shop::start().await;
    let r = s.pay(code_payment("ECNYBAR01", 8888)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        (
            r.body["status"].as_str(),
            r.body["wallet"].as_str(),
            r.body["channel"].as_str()
        ),
        (Some("succeeded"), Some("ecny"), Some("ecny-main")),
        "the 01 prefix names the e-CNY wallet: {}",
        r.body
    );
    assert_eq!(
        r.body["channel_order_no"].as_str(),
        s.huifu.hf_seq_id("ECNYBAR01").as_deref(),
        "Huifu's serial is the channel's order number"
    );
    let id = r.id();
    let first = s.refund(&id, "ECNYRF001", 5000).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let synced = s
        .app
        .post(
            SHOP_KEY,
            &format!("/v1/refunds/{}/sync", first.id()),
            json!({}),
        )
        .await;
    assert_eq!(synced.body["status"], "succeeded", "{}", synced.body);
    let rest = s.refund(&id, "ECNYRF002", 3888).await;
    assert_eq!(rest.status, StatusCode::CREATED, "{}", rest.body);
    let over = s.refund(&id, "ECNYRF003", 1).await;
    assert_eq!(
        over.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        over.body
    );
    assert_eq!(
        s.huifu.order("ECNYBAR01"),
        Some((OrderState::Paid, 8888, 8888)),
        "88.88 yuan taken and given back to the fen"
    );
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecny_user_paying_then_paid_is_found_by_query() {
    let s = Shop::start().await;
    s.huifu.script(
        "ECNYUP001",
        Behaviour::UserPaying {
            paid_after_queries: Some(2),
        },
    );
    let r = s.pay(code_payment("ECNYUP001", 500)).await;
    assert_eq!(r.body["status"], "processing", "{}", r.body);
    assert_eq!(s.sync(&r.id()).await.body["status"], "processing");
    assert_eq!(s.sync(&r.id()).await.body["status"], "succeeded");
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecny_declined_payer_fails_the_payment() {
    let s = Shop::start().await;
    s.huifu.script("ECNYDEC01", Behaviour::Decline);
    let r = s.pay(code_payment("ECNYDEC01", 500)).await;
    let id = r.payment_id();
    assert_eq!(s.payment_status(&id).await, "failed", "{}", r.body);
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecny_timeout_is_unknown_then_resolved_by_query_on_the_same_request() {
    let s = Shop::start().await;
    // Only the query may settle it: no notification overtakes the answer.
    s.huifu.withhold_notifications(true);
    s.huifu.script("ECNYTO001", Behaviour::Timeout);
    let r = s.pay(code_payment("ECNYTO001", 700)).await;
    assert_eq!(r.status, StatusCode::GATEWAY_TIMEOUT, "{}", r.body);
    let payment = &r.body["error"]["payment"];
    assert_eq!(payment["status"], "unknown");
    let id = payment["id"].as_str().unwrap();
    let settled = s.sync(id).await;
    assert_eq!(settled.body["status"], "succeeded", "{}", settled.body);
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecny_qr_is_paid_by_a_verified_notification_acknowledged_by_its_request_number() {
    let s = Shop::start().await;
    let r = s.pay(qr_payment("ECNYQR001", 4500)).await;
    assert_eq!(r.body["status"], "pending", "{}", r.body);
    assert!(r.body["action"]["qr_code"].as_str().is_some(), "{}", r.body);
    assert_eq!(
        s.sync(&r.id()).await.body["status"],
        "pending",
        "nobody has paid it yet"
    );
    let (status, body) = s.huifu.buyer_pays("ECNYQR001").await;
    assert_eq!(
        (status, body.as_str()),
        (200, "RECV_ORD_ID_ECNYQR001"),
        "Huifu stops retrying only on its acknowledgement"
    );
    assert_eq!(s.payment_status(&r.id()).await, "succeeded");
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecny_forged_or_misstated_notifications_are_refused() {
    let s = Shop::start_with(Options {
        sweeper_interval_ms: 3_600_000,
        ..Options::default()
    })
    .await;
    let r = s.pay(qr_payment("ECNYQR002", 4500)).await;
    s.huifu.set_state("ECNYQR002", OrderState::Paid);
    let (status, body) = s
        .huifu
        .notify(
            "ECNYQR002",
            Tweak {
                bad_signature: true,
                ..Tweak::default()
            },
        )
        .await;
    assert_ne!(status, 200, "Huifu must keep retrying: {body}");
    let (_, body) = s
        .huifu
        .notify(
            "ECNYQR002",
            Tweak {
                amount: Some(1),
                ..Tweak::default()
            },
        )
        .await;
    let read = s
        .app
        .get(SHOP_KEY, &format!("/v1/payments/{}", r.id()))
        .await;
    assert_eq!(read.body["amount"], 4500, "{}", read.body);
    let audit = s.app.store().callbacks_of(&"shop".into()).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|(verified, outcome)| !verified && outcome.starts_with("rejected")),
        "the forged notice is on record as unverified: {audit:?}"
    );
    assert!(
        audit
            .iter()
            .any(|(verified, outcome)| *verified && outcome.starts_with("refused")),
        "0.01 paid is not 45.00 paid ({body}): {audit:?}"
    );
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecny_answer_with_a_spoiled_signature_is_not_trusted_until_a_query_verifies() {
    let s = Shop::start().await;
    s.huifu.withhold_notifications(true);
    s.huifu.answer_signature_fault(true);
    let r = s.pay(code_payment("ECNYSIG01", 900)).await;
    let id = r.payment_id();
    assert_eq!(
        r.body["error"]["payment"]["status"], "unknown",
        "{}",
        r.body
    );
    assert_eq!(
        s.sync(&id).await.body["error"]["payment"]["status"],
        "unknown",
        "nor is a query's spoiled answer believed"
    );
    s.huifu.answer_signature_fault(false);
    let settled = s.sync(&id).await;
    assert_eq!(settled.body["status"], "succeeded", "{}", settled.body);
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecny_orders_cannot_be_closed_before_they_expire_and_nothing_changes() {
    let s = Shop::start().await;
    let qr = s.pay(qr_payment("ECNYCL001", 100)).await;
    let closed = s
        .app
        .post(
            SHOP_KEY,
            &format!("/v1/payments/{}/close", qr.id()),
            json!({}),
        )
        .await;
    assert!(
        closed.status.is_client_error(),
        "Huifu closes no e-CNY order, and this one can still be paid: {} {}",
        closed.status,
        closed.body
    );
    assert_eq!(s.payment_status(&qr.id()).await, "pending");
    let (status, _) = s.huifu.buyer_pays("ECNYCL001").await;
    assert_eq!(status, 200);
    assert_eq!(
        s.payment_status(&qr.id()).await,
        "succeeded",
        "so a payer who pays it later is not lost"
    );
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecny_cancel_of_a_paid_code_payment_gives_the_money_back() {
    let s = Shop::start().await;
    let r = s.pay(code_payment("ECNYCN001", 1234)).await;
    assert_eq!(r.body["status"], "succeeded", "{}", r.body);
    let cancelled = s
        .app
        .post(
            SHOP_KEY,
            &format!("/v1/payments/{}/cancel", r.id()),
            json!({}),
        )
        .await;
    assert_eq!(cancelled.body["status"], "cancelled", "{}", cancelled.body);
    assert_eq!(
        s.huifu.order("ECNYCN001"),
        Some((OrderState::Paid, 1234, 1234)),
        "Huifu has no reversal: the cancel refunded the whole amount"
    );
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecny_codes_and_order_numbers_outside_the_rules_are_refused_before_anything_is_sent() {
    let s = Shop::start().await;
    let wrong_code = json!({"merchant_order_no": "ECNYBAD01", "amount": 100, "currency": "CNY", "scene": "barcode", "auth_code": "012345678901234567", "wallet": "ecny"});
    let r = s.pay(wrong_code).await;
    assert!(
        r.body.to_string().contains("auth_code"),
        "the field is named: {} {}",
        r.status,
        r.body
    );
    let r = s.pay(code_payment("ECNY-BAD-02", 100)).await;
    assert!(
        r.body.to_string().contains("merchant_order_no"),
        "the field is named: {} {}",
        r.status,
        r.body
    );
    assert!(
        s.huifu.requests().is_empty(),
        "nothing reached Huifu: {:?}",
        s.huifu.requests()
    );
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecny_keys_never_leave_the_host() {
    let s = Shop::start().await;
    let r = s.pay(code_payment("ECNYKEY01", 100)).await;
    let _ = s.refund(&r.id(), "ECNYKRF01", 100).await;
    let seen = s.huifu.requests().join("\n") + &r.body.to_string();
    assert!(!seen.is_empty());
    assert_no_key_material(&seen, paycore_simulators::demo_keys::ECNY_MERCHANT_PRIVATE);
    s.app.stop().await;
}
