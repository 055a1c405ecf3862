//! The Alipay plugin (.wasm) through paycore against the Alipay gateway
//! simulator: every scene and operation, and what paycore must not believe.

use paycore_e2e::channels::{SHOP_KEY, Shop, assert_no_key_material};
use paycore_e2e::*;
use paycore_simulators::{Behaviour, OrderState, Tweak};

fn code_payment(order: &str, amount: i64, code: &str) -> serde_json::Value {
    json!({"merchant_order_no": order, "amount": amount, "currency": "CNY", "scene": "barcode", "auth_code": code, "subject": "2 x latte"})
}

fn scene(order: &str, amount: i64, scene: &str) -> serde_json::Value {
    json!({"merchant_order_no": order, "amount": amount, "currency": "CNY", "scene": scene, "wallet": "alipay", "subject": "latte", "client_ip": "203.0.113.7"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alipay_barcode_pays_then_partial_refunds_reach_the_full_amount_and_one_cent_over_is_refused()
 {
    let s = Shop::start().await;
    let r = s
        .pay(code_payment("ALI_BAR_1", 8888, "283400011122223335"))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        (
            r.body["status"].as_str(),
            r.body["wallet"].as_str(),
            r.body["channel"].as_str()
        ),
        (Some("succeeded"), Some("alipay"), Some("alipay-main"))
    );
    assert!(
        r.body["channel_order_no"]
            .as_str()
            .unwrap()
            .starts_with("2026112522001")
    );
    let id = r.id();
    let first = s.refund(&id, "ALI_RF_1", 5000).await;
    assert_eq!(
        (first.status, first.body["status"].as_str()),
        (StatusCode::CREATED, Some("succeeded")),
        "{}",
        first.body
    );
    let synced = s
        .app
        .post(
            SHOP_KEY,
            &format!("/v1/refunds/{}/sync", first.id()),
            json!({}),
        )
        .await;
    assert_eq!(
        synced.body["status"], "succeeded",
        "fastpay.refund.query confirms: {}",
        synced.body
    );
    let rest = s.refund(&id, "ALI_RF_2", 3888).await;
    assert_eq!(rest.body["status"], "succeeded", "{}", rest.body);
    let over = s.refund(&id, "ALI_RF_3", 1).await;
    assert_eq!(
        over.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        over.body
    );
    assert_eq!(
        s.alipay.order("ALI_BAR_1"),
        Some((OrderState::Paid, 8888, 8888))
    );
    let read = s.app.get(SHOP_KEY, &format!("/v1/payments/{id}")).await;
    assert_eq!(read.body["refunded_amount"], 8888);
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alipay_face_code_pays_with_the_security_code_scene() {
    let s = Shop::start().await;
    let r = s.pay(json!({"merchant_order_no": "ALI_FACE_1", "amount": 1200, "currency": "CNY", "scene": "face", "auth_code": "fp0123456789abcdef", "wallet": "alipay"})).await;
    assert_eq!(r.body["status"], "succeeded", "{}", r.body);
    assert!(
        s.alipay
            .requests()
            .iter()
            .any(|q| q.contains("security_code"))
    );
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alipay_user_paying_then_paid_is_found_by_query() {
    let s = Shop::start().await;
    s.alipay.script(
        "ALI_UP_1",
        Behaviour::UserPaying {
            paid_after_queries: Some(2),
        },
    );
    let r = s
        .pay(code_payment("ALI_UP_1", 500, "283400011122223335"))
        .await;
    assert_eq!(
        r.body["status"], "processing",
        "10003 is processing: {}",
        r.body
    );
    assert_eq!(s.sync(&r.id()).await.body["status"], "processing");
    assert_eq!(s.sync(&r.id()).await.body["status"], "succeeded");
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alipay_user_paying_never_is_cancelled_after_the_deadline() {
    let s = Shop::start().await;
    s.alipay.script(
        "ALI_UP_2",
        Behaviour::UserPaying {
            paid_after_queries: None,
        },
    );
    let r = s
        .pay(code_payment("ALI_UP_2", 500, "283400011122223335"))
        .await;
    assert_eq!(r.body["status"], "processing");
    assert_eq!(s.sync(&r.id()).await.body["status"], "processing");
    // The deadline passed with the payer still not done: reverse it.
    let cancelled = s
        .app
        .post(
            SHOP_KEY,
            &format!("/v1/payments/{}/cancel", r.id()),
            json!({}),
        )
        .await;
    assert_eq!(cancelled.body["status"], "cancelled", "{}", cancelled.body);
    assert_eq!(s.alipay.order("ALI_UP_2").unwrap().0, OrderState::Cancelled);
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alipay_timeout_is_unknown_then_resolved_by_query_on_our_order_number() {
    let s = Shop::start().await;
    s.alipay.script("ALI_TO_1", Behaviour::Timeout);
    let r = s
        .pay(code_payment("ALI_TO_1", 700, "283400011122223335"))
        .await;
    assert_eq!(r.status, StatusCode::GATEWAY_TIMEOUT, "{}", r.body);
    let payment = &r.body["error"]["payment"];
    assert_eq!(payment["status"], "unknown");
    assert!(payment["channel_order_no"].is_null());
    let id = payment["id"].as_str().unwrap();
    let settled = s.sync(id).await;
    assert_eq!(settled.body["status"], "succeeded", "{}", settled.body);
    assert!(settled.body["channel_order_no"].as_str().is_some());
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alipay_answer_with_a_wrong_signature_is_not_trusted_until_a_query_verifies() {
    let s = Shop::start().await;
    s.alipay.script("ALI_SIG_1", Behaviour::BadSignature);
    let r = s
        .pay(code_payment("ALI_SIG_1", 900, "283400011122223335"))
        .await;
    assert!(r.status.is_server_error(), "{}", r.body);
    let id = r.body["error"]["payment"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        r.body["error"]["payment"]["status"], "unknown",
        "a 'paid' we cannot verify proves nothing"
    );
    assert_eq!(
        s.sync(&id).await.body["error"]["payment"]["status"],
        "unknown"
    );
    s.alipay.script("ALI_SIG_1", Behaviour::Pay);
    let settled = s.sync(&id).await;
    assert_eq!(settled.body["status"], "succeeded", "{}", settled.body);
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alipay_qr_precreate_is_paid_by_a_signed_notification_answered_success() {
    let s = Shop::start().await;
    let r = s.pay(scene("ALI_QR_1", 4500, "qrcode")).await;
    assert_eq!(r.body["status"], "pending", "{}", r.body);
    assert!(
        r.body["action"]["qr_code"]
            .as_str()
            .unwrap()
            .starts_with("https://qr.alipay.com/")
    );
    assert_eq!(
        s.sync(&r.id()).await.body["status"],
        "pending",
        "not scanned yet: TRADE_NOT_EXIST"
    );
    let (status, body) = s.alipay.buyer_pays("ALI_QR_1").await;
    assert_eq!((status, body.as_str()), (200, "success"));
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
async fn alipay_forged_notification_is_rejected_and_a_wrong_amount_is_not_marked_paid() {
    let s = Shop::start().await;
    let r = s.pay(scene("ALI_QR_2", 4500, "qrcode")).await;
    s.alipay.set_state("ALI_QR_2", OrderState::Waiting);
    let (status, body) = s
        .alipay
        .notify(
            "ALI_QR_2",
            Tweak {
                bad_signature: true,
                ..Tweak::default()
            },
        )
        .await;
    assert_eq!(status, 401);
    assert_ne!(body, "success", "Alipay must keep retrying");
    s.alipay.set_state("ALI_QR_2", OrderState::Paid);
    let (status, _) = s
        .alipay
        .notify(
            "ALI_QR_2",
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
    assert_eq!(
        read.body["status"], "pending",
        "0.01 paid is not 45.00 paid"
    );
    let audit = s.app.store().callbacks_of(&"shop".into()).await.unwrap();
    assert_eq!(audit.len(), 2);
    assert!(
        !audit[0].0 && audit[0].1.starts_with("rejected"),
        "{audit:?}"
    );
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alipay_jsapi_create_with_buyer_id_and_with_buyer_open_id() {
    let s = Shop::start().await;
    let by_id = s.pay(json!({"merchant_order_no": "ALI_JS_1", "amount": 100, "currency": "CNY", "scene": "jsapi", "wallet": "alipay", "payer": {"buyer_id": "2088102177846880"}})).await;
    assert_eq!(by_id.body["status"], "pending", "{}", by_id.body);
    assert_eq!(by_id.body["action"]["type"], "client_params");
    assert_eq!(
        by_id.body["action"]["params"]["tradeNO"],
        by_id.body["channel_order_no"]
    );
    let by_open_id = s.pay(json!({"merchant_order_no": "ALI_JS_2", "amount": 100, "currency": "CNY", "scene": "jsapi", "wallet": "alipay", "payer": {"app_id": "2021004100000000", "open_id": "074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5"}})).await;
    assert_eq!(by_open_id.body["status"], "pending", "{}", by_open_id.body);
    assert!(
        s.alipay
            .requests()
            .iter()
            .any(|q| q.contains("buyer_open_id"))
    );
    s.alipay.buyer_pays("ALI_JS_1").await;
    assert_eq!(
        s.sync(&by_id.id()).await.body["status"],
        "succeeded",
        "query by trade_no"
    );
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alipay_h5_web_and_app_strings_open_the_gateways_cashier_then_pay() {
    let s = Shop::start().await;
    for (order, kind) in [
        ("ALI_H5_1", "h5"),
        ("ALI_WEB_1", "web"),
        ("ALI_APP_1", "app"),
    ] {
        let r = s.pay(scene(order, 2500, kind)).await;
        assert_eq!(r.body["status"], "pending", "{kind}: {}", r.body);
        let url = match kind {
            "app" => format!(
                "{}?{}",
                s.alipay.gateway_url(),
                r.body["action"]["params"]["orderStr"].as_str().unwrap()
            ),
            _ => r.body["action"]["url"].as_str().unwrap().to_owned(),
        };
        // The simulator verifies the signed string as the real gateway does.
        let page = s.app.client.get(&url).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK, "{kind}");
        let forged = s
            .app
            .client
            .get(url.replace("25.00", "0.25"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            forged.status(),
            StatusCode::BAD_REQUEST,
            "{kind}: a tampered string is refused"
        );
        let (status, _) = s.alipay.buyer_pays(order).await;
        assert_eq!(status, 200);
        let read = s
            .app
            .get(SHOP_KEY, &format!("/v1/payments/{}", r.id()))
            .await;
        assert_eq!(read.body["status"], "succeeded", "{kind}");
    }
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alipay_close_an_unpaid_qr_and_a_created_jsapi_trade() {
    let s = Shop::start().await;
    let qr = s.pay(scene("ALI_CL_1", 100, "qrcode")).await;
    let closed = s
        .app
        .post(
            SHOP_KEY,
            &format!("/v1/payments/{}/close", qr.id()),
            json!({}),
        )
        .await;
    assert_eq!(
        closed.body["status"], "closed",
        "never scanned: {}",
        closed.body
    );
    let js = s.pay(json!({"merchant_order_no": "ALI_CL_2", "amount": 100, "currency": "CNY", "scene": "jsapi", "wallet": "alipay", "payer": {"buyer_id": "2088102177846880"}})).await;
    let closed = s
        .app
        .post(
            SHOP_KEY,
            &format!("/v1/payments/{}/close", js.id()),
            json!({}),
        )
        .await;
    assert_eq!(closed.body["status"], "closed", "{}", closed.body);
    assert_eq!(s.alipay.order("ALI_CL_2").unwrap().0, OrderState::Closed);
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alipay_keys_never_leave_the_host() {
    let s = Shop::start().await;
    let r = s
        .pay(code_payment("ALI_KEY_1", 100, "283400011122223335"))
        .await;
    let _ = s.refund(&r.id(), "ALI_KEY_RF", 100).await;
    let _ = s.pay(scene("ALI_KEY_2", 100, "web")).await;
    // Any 40 characters of the private key's body would betray it.
    let seen = s.alipay.requests().join("\n") + &r.body.to_string();
    assert!(!seen.is_empty());
    assert_no_key_material(
        &seen,
        paycore_simulators::demo_keys::ALIPAY_MERCHANT_PRIVATE,
    );
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alipay_user_paying_never_is_cancelled_by_the_sweeper_at_the_deadline() {
    let s = Shop::start_with(Options::barcode_deadline(1_500)).await;
    s.alipay.script(
        "ALI_DL_1",
        Behaviour::UserPaying {
            paid_after_queries: None,
        },
    );
    let r = s
        .pay(code_payment("ALI_DL_1", 500, "283400011122223335"))
        .await;
    assert_eq!(r.body["status"], "processing");
    let status = s.status_after(&r.id(), "processing").await;
    assert_eq!(
        status, "cancelled",
        "queried, then cancelled after the deadline"
    );
    assert_eq!(s.alipay.order("ALI_DL_1").unwrap().0, OrderState::Cancelled);
    s.app.stop().await;
}
