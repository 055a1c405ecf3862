//! The UnionPay plugin (.wasm) through paycore against the UnionPay acp
//! gateway simulator: both scenes and every operation, and the
//! certificates and signatures paycore must not believe.

use paycore_e2e::channels::{SHOP_KEY, Shop, assert_no_key_material};
use paycore_e2e::*;
use paycore_simulators::unionpay::CertificateFault;
use paycore_simulators::{Behaviour, OrderState, Tweak};

/// A QuickPass payment code: 19 digits from `62`. Its last digit picks
/// what the simulator's payer does (0 pays).
const CODE: &str = "6222021234567890120";

fn code_payment(order: &str, amount: i64) -> serde_json::Value {
    json!({"merchant_order_no": order, "amount": amount, "currency": "CNY", "scene": "barcode", "auth_code": CODE, "subject": "2 x latte"})
}

fn qr_payment(order: &str, amount: i64) -> serde_json::Value {
    json!({"merchant_order_no": order, "amount": amount, "currency": "CNY", "scene": "qrcode", "wallet": "unionpay", "subject": "latte"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unionpay_barcode_is_accepted_then_paid_by_its_notification_and_refunds_reach_the_full_amount()
 {
    let s = Shop::start().await;
    let r = s.pay(code_payment("UPBAR0001", 8888)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        (
            r.body["status"].as_str(),
            r.body["wallet"].as_str(),
            r.body["channel"].as_str()
        ),
        (Some("processing"), Some("unionpay"), Some("unionpay-main")),
        "respCode 00 on a consume is 'accepted', not 'paid'"
    );
    let id = r.id();
    assert_eq!(s.status_after(&id, "processing").await, "succeeded");
    let read = s.app.get(SHOP_KEY, &format!("/v1/payments/{id}")).await;
    assert_eq!(
        read.body["channel_order_no"].as_str(),
        s.unionpay.query_id("UPBAR0001").as_deref(),
        "the queryId is UnionPay's order number"
    );
    let first = s.refund(&id, "UPRF00001", 5000).await;
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
    let rest = s.refund(&id, "UPRF00002", 3888).await;
    assert_eq!(rest.status, StatusCode::CREATED, "{}", rest.body);
    let over = s.refund(&id, "UPRF00003", 1).await;
    assert_eq!(
        over.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        over.body
    );
    assert_eq!(
        s.unionpay.order("UPBAR0001"),
        Some((OrderState::Paid, 8888, 8888)),
        "exactly the payment's fen, refunded exactly in full"
    );
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unionpay_user_paying_then_paid_is_found_by_query() {
    let s = Shop::start().await;
    s.unionpay.script(
        "UPUP00001",
        Behaviour::UserPaying {
            paid_after_queries: Some(2),
        },
    );
    let r = s.pay(code_payment("UPUP00001", 500)).await;
    assert_eq!(r.body["status"], "processing", "{}", r.body);
    assert_eq!(s.sync(&r.id()).await.body["status"], "processing");
    assert_eq!(s.sync(&r.id()).await.body["status"], "succeeded");
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unionpay_user_paying_never_is_reversed_by_cancel() {
    let s = Shop::start().await;
    s.unionpay.script(
        "UPUP00002",
        Behaviour::UserPaying {
            paid_after_queries: None,
        },
    );
    let r = s.pay(code_payment("UPUP00002", 500)).await;
    assert_eq!(s.sync(&r.id()).await.body["status"], "processing");
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
        s.unionpay.order("UPUP00002").unwrap().0,
        OrderState::Cancelled,
        "the reversal (冲正) reached UnionPay"
    );
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unionpay_declined_payer_fails_the_payment_with_unionpays_words() {
    let s = Shop::start().await;
    s.unionpay.script("UPDEC0001", Behaviour::Decline);
    let r = s.pay(code_payment("UPDEC0001", 500)).await;
    let id = r.payment_id();
    let settled = s.sync(&id).await;
    assert_eq!(settled.body["status"], "failed", "{}", settled.body);
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unionpay_timeout_is_unknown_then_resolved_by_query_with_the_same_txn_time() {
    let s = Shop::start().await;
    // Only the query may settle it: no notification overtakes the answer.
    s.unionpay.withhold_notifications(true);
    s.unionpay.script("UPTO00001", Behaviour::Timeout);
    let r = s.pay(code_payment("UPTO00001", 700)).await;
    assert_eq!(r.status, StatusCode::GATEWAY_TIMEOUT, "{}", r.body);
    let payment = &r.body["error"]["payment"];
    assert_eq!(payment["status"], "unknown");
    let id = payment["id"].as_str().unwrap();
    let settled = s.sync(id).await;
    assert_eq!(settled.body["status"], "succeeded", "{}", settled.body);
    // The query named the consume by orderId and the txnTime it was sent
    // with: both requests carry the same time.
    let times: Vec<String> = s
        .unionpay
        .requests()
        .iter()
        .filter(|q| q.contains("orderId=UPTO00001"))
        .filter_map(|q| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix("txnTime="))
                .map(str::to_owned)
        })
        .collect();
    assert!(times.len() >= 2, "{times:?}");
    assert!(times.iter().all(|t| t == &times[0]), "{times:?}");
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unionpay_qr_code_is_paid_by_a_verified_notification_answered_ok() {
    let s = Shop::start().await;
    let r = s.pay(qr_payment("UPQR00001", 4500)).await;
    assert_eq!(r.body["status"], "pending", "{}", r.body);
    assert!(
        r.body["action"]["qr_code"]
            .as_str()
            .unwrap()
            .starts_with("https://qr.95516.com/"),
        "{}",
        r.body
    );
    assert_eq!(
        s.sync(&r.id()).await.body["status"],
        "pending",
        "nobody has scanned it yet"
    );
    let (status, body) = s.unionpay.buyer_pays("UPQR00001").await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    let read = s
        .app
        .get(SHOP_KEY, &format!("/v1/payments/{}", r.id()))
        .await;
    assert_eq!(read.body["status"], "succeeded");
    let hooks = s.app.wait_for_webhooks(1).await;
    assert!(hooks[0].body.contains("payment.succeeded"));
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unionpay_forged_or_misstated_notifications_are_refused_and_only_the_channels_word_settles()
{
    // No sweeper pass may find the order paid by query meanwhile.
    let s = Shop::start_with(Options {
        sweeper_interval_ms: 3_600_000,
        ..Options::default()
    })
    .await;
    let r = s.pay(qr_payment("UPQR00002", 4500)).await;
    s.unionpay.set_state("UPQR00002", OrderState::Paid);
    let (status, body) = s
        .unionpay
        .notify(
            "UPQR00002",
            Tweak {
                bad_signature: true,
                ..Tweak::default()
            },
        )
        .await;
    assert_ne!(status, 200, "UnionPay must keep retrying: {body}");
    let (status, _) = s
        .unionpay
        .notify(
            "UPQR00002",
            Tweak {
                amount: Some(1),
                ..Tweak::default()
            },
        )
        .await;
    assert_eq!(status, 200, "authentic, so acknowledged");
    let read = s
        .app
        .get(SHOP_KEY, &format!("/v1/payments/{}", r.id()))
        .await;
    // Whatever settled it was a query's answer for the whole amount: the
    // notices themselves changed nothing.
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
        "0.01 paid is not 45.00 paid: an authentic notice claiming another amount is refused: {audit:?}"
    );
    s.app.stop().await;
}

/// Every way UnionPay's signing certificate can be wrong: each answer and
/// notification signed with it is refused as unverifiable, so a payment
/// stays unknown until an answer paycore can believe settles it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unionpay_answers_under_an_expired_foreign_or_unfit_certificate_are_never_believed() {
    let s = Shop::start().await;
    for (n, fault) in [
        CertificateFault::Expired,
        CertificateFault::WrongChain,
        CertificateFault::WrongUsage,
        CertificateFault::WrongOwner,
    ]
    .into_iter()
    .enumerate()
    {
        let order = format!("UPCERT{n:04}");
        s.unionpay.certificate_fault(Some(fault));
        let r = s.pay(code_payment(&order, 300)).await;
        assert!(r.status.is_server_error(), "{fault:?}: {}", r.body);
        let id = r.payment_id();
        assert_eq!(
            r.body["error"]["payment"]["status"], "unknown",
            "{fault:?}: an answer we cannot believe proves nothing"
        );
        let queried = s.sync(&id).await;
        assert_eq!(
            queried.body["error"]["payment"]["status"], "unknown",
            "{fault:?}: nor does a query's answer: {}",
            queried.body
        );
        let (status, _) = s.unionpay.notify(&order, Tweak::default()).await;
        assert_ne!(status, 200, "{fault:?}: the notification is refused too");
        assert_eq!(s.payment_status(&id).await, "unknown", "{fault:?}");
        s.unionpay.certificate_fault(None);
        let settled = s.sync(&id).await;
        assert_eq!(
            settled.body["status"], "succeeded",
            "{fault:?}: a good certificate settles it: {}",
            settled.body
        );
    }
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unionpay_answer_with_a_spoiled_signature_is_not_trusted_until_a_query_verifies() {
    let s = Shop::start().await;
    s.unionpay.answer_signature_fault(true);
    let r = s.pay(code_payment("UPSIG0001", 900)).await;
    let id = r.payment_id();
    assert_eq!(
        r.body["error"]["payment"]["status"], "unknown",
        "{}",
        r.body
    );
    s.unionpay.answer_signature_fault(false);
    let settled = s.sync(&id).await;
    assert_eq!(settled.body["status"], "succeeded", "{}", settled.body);
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unionpay_close_reverses_an_unpaid_qr_which_can_then_no_longer_be_paid() {
    let s = Shop::start().await;
    let qr = s.pay(qr_payment("UPCL00001", 100)).await;
    let closed = s
        .app
        .post(
            SHOP_KEY,
            &format!("/v1/payments/{}/close", qr.id()),
            json!({}),
        )
        .await;
    assert_eq!(closed.body["status"], "closed", "{}", closed.body);
    let state = s.unionpay.order("UPCL00001").map(|o| o.0);
    assert_ne!(state, Some(OrderState::Paid), "{state:?}");
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unionpay_order_numbers_outside_its_rule_are_refused_before_anything_is_sent() {
    let s = Shop::start().await;
    for order in ["UP-BAD-01", "UP_BAD_02", "UP1"] {
        let r = s.pay(code_payment(order, 100)).await;
        assert!(
            r.status.is_client_error() || r.body["status"] == "failed",
            "{order}: {} {}",
            r.status,
            r.body
        );
        assert!(
            r.body.to_string().contains("merchant_order_no"),
            "{order}: the field is named: {}",
            r.body
        );
    }
    assert!(
        s.unionpay.requests().is_empty(),
        "nothing reached UnionPay: {:?}",
        s.unionpay.requests()
    );
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unionpay_keys_never_leave_the_host() {
    let s = Shop::start().await;
    let r = s.pay(code_payment("UPKEY0001", 100)).await;
    assert_eq!(s.status_after(&r.id(), "processing").await, "succeeded");
    let _ = s.refund(&r.id(), "UPKEYRF01", 100).await;
    let seen = s.unionpay.requests().join("\n") + &r.body.to_string();
    assert!(seen.contains("certId=69629715588"), "the serial is sent");
    assert_no_key_material(&seen, paycore_simulators::demo_keys::UNIONPAY_MERCHANT);
    s.app.stop().await;
}
