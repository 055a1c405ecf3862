//! The WeChat Pay plugin (.wasm) through paycore against the WeChat Pay v3
//! simulator: every scene and operation, and what paycore must not believe.

use paycore_e2e::channels::{SHOP_KEY, Shop, assert_no_key_material};
use paycore_e2e::*;
use paycore_simulators::{Behaviour, OrderState, Tweak};

fn code_payment(order: &str, amount: i64, code: &str) -> serde_json::Value {
    json!({"merchant_order_no": order, "amount": amount, "currency": "CNY", "scene": "barcode", "auth_code": code, "subject": "2 x latte", "store_id": "shop-7"})
}

fn scene(order: &str, amount: i64, scene: &str) -> serde_json::Value {
    json!({"merchant_order_no": order, "amount": amount, "currency": "CNY", "scene": scene, "wallet": "wechat", "subject": "latte", "client_ip": "203.0.113.7",
           "payer": {"app_id": "wxd678efh567hg6787", "open_id": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_codepay_pays_then_partial_refunds_reach_the_full_amount_and_one_cent_over_is_refused()
 {
    let s = Shop::start().await;
    let r = s
        .pay(code_payment("WX_BAR_0001", 8888, "134567890123456789"))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        (
            r.body["status"].as_str(),
            r.body["wallet"].as_str(),
            r.body["channel"].as_str()
        ),
        (Some("succeeded"), Some("wechat"), Some("wechat-main"))
    );
    let id = r.id();
    let first = s.refund(&id, "WX_RF_0001", 5000).await;
    assert_eq!(first.body["status"], "processing", "{}", first.body);
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
        "refund query: {}",
        synced.body
    );
    let rest = s.refund(&id, "WX_RF_0002", 3888).await;
    assert_eq!(rest.status, StatusCode::CREATED, "{}", rest.body);
    let over = s.refund(&id, "WX_RF_0003", 1).await;
    assert_eq!(
        over.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        over.body
    );
    assert_eq!(
        s.wechat.order("WX_BAR_0001"),
        Some((OrderState::Paid, 8888, 8888))
    );
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_face_code_pays_through_codepay_and_sync_queries_by_transaction_id() {
    let s = Shop::start().await;
    let r = s.pay(json!({"merchant_order_no": "WX_FACE_01", "amount": 1200, "currency": "CNY", "scene": "face", "auth_code": "134567890123456700", "wallet": "wechat"})).await;
    assert_eq!(r.body["status"], "succeeded", "{}", r.body);
    assert_eq!(s.sync(&r.id()).await.body["status"], "succeeded");
    let id = r.body["channel_order_no"].as_str().unwrap();
    assert!(s.wechat.requests().iter().any(|q| q.starts_with(&format!(
        "GET /v3/pay/transactions/id/{id}?mchid=1900000001"
    ))));
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_userpaying_then_paid_is_found_by_query() {
    let s = Shop::start().await;
    s.wechat.script(
        "WX_UP_0001",
        Behaviour::UserPaying {
            paid_after_queries: Some(2),
        },
    );
    let r = s
        .pay(code_payment("WX_UP_0001", 500, "134567890123456789"))
        .await;
    assert_eq!(
        r.body["status"], "processing",
        "USERPAYING is processing: {}",
        r.body
    );
    assert_eq!(s.sync(&r.id()).await.body["status"], "processing");
    assert_eq!(s.sync(&r.id()).await.body["status"], "succeeded");
    assert!(s.wechat.requests().iter().any(|q| {
        q.starts_with("GET /v3/pay/transactions/out-trade-no/WX_UP_0001?mchid=1900000001")
    }));
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_userpaying_never_is_reversed_after_the_deadline() {
    let s = Shop::start().await;
    s.wechat.script(
        "WX_UP_0002",
        Behaviour::UserPaying {
            paid_after_queries: None,
        },
    );
    let r = s
        .pay(code_payment("WX_UP_0002", 500, "134567890123456789"))
        .await;
    assert_eq!(r.body["status"], "processing");
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
        s.wechat.order("WX_UP_0002").unwrap().0,
        OrderState::Cancelled
    );
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_timeout_is_unknown_then_resolved_by_query_on_our_order_number() {
    let s = Shop::start().await;
    s.wechat.script("WX_TO_0001", Behaviour::Timeout);
    let r = s
        .pay(code_payment("WX_TO_0001", 700, "134567890123456789"))
        .await;
    assert_eq!(r.status, StatusCode::GATEWAY_TIMEOUT, "{}", r.body);
    assert_eq!(r.body["error"]["payment"]["status"], "unknown");
    let settled = s
        .sync(r.body["error"]["payment"]["id"].as_str().unwrap())
        .await;
    assert_eq!(settled.body["status"], "succeeded", "{}", settled.body);
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_answer_with_a_wrong_signature_is_not_trusted_until_a_query_verifies() {
    let s = Shop::start().await;
    s.wechat.script("WX_SIG_001", Behaviour::BadSignature);
    let r = s
        .pay(code_payment("WX_SIG_001", 900, "134567890123456789"))
        .await;
    assert!(r.status.is_server_error(), "{}", r.body);
    assert_eq!(r.body["error"]["payment"]["status"], "unknown");
    let id = r.body["error"]["payment"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    s.wechat.script("WX_SIG_001", Behaviour::Pay);
    assert_eq!(s.sync(&id).await.body["status"], "succeeded");
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_native_qr_is_paid_by_an_encrypted_signed_callback() {
    let s = Shop::start().await;
    let r = s.pay(scene("WX_QR_0001", 4500, "qrcode")).await;
    assert_eq!(r.body["status"], "pending", "{}", r.body);
    assert!(
        r.body["action"]["qr_code"]
            .as_str()
            .unwrap()
            .starts_with("weixin://wxpay/bizpayurl")
    );
    assert_eq!(s.sync(&r.id()).await.body["status"], "pending", "NOTPAY");
    let (status, body) = s.wechat.buyer_pays("WX_QR_0001").await;
    assert_eq!((status, body.as_str()), (204, ""));
    let read = s
        .app
        .get(SHOP_KEY, &format!("/v1/payments/{}", r.id()))
        .await;
    assert_eq!(read.body["status"], "succeeded");
    s.app.wait_for_webhooks(1).await;
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_forged_callback_is_rejected_and_a_wrong_amount_is_not_marked_paid() {
    let s = Shop::start().await;
    let r = s.pay(scene("WX_QR_0002", 4500, "qrcode")).await;
    s.wechat.set_state("WX_QR_0002", OrderState::Paid);
    let (status, _) = s
        .wechat
        .notify(
            "WX_QR_0002",
            Tweak {
                bad_signature: true,
                ..Tweak::default()
            },
        )
        .await;
    assert_eq!(status, 401);
    let (status, _) = s
        .wechat
        .notify(
            "WX_QR_0002",
            Tweak {
                amount: Some(1),
                ..Tweak::default()
            },
        )
        .await;
    assert_eq!(status, 204, "authentic, so acknowledged");
    let read = s
        .app
        .get(SHOP_KEY, &format!("/v1/payments/{}", r.id()))
        .await;
    assert_eq!(
        read.body["status"], "pending",
        "1 fen paid is not 45.00 paid"
    );
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_jsapi_app_h5_and_web_return_what_the_client_needs() {
    let s = Shop::start().await;
    let js = s.pay(scene("WX_JS_0001", 100, "jsapi")).await;
    assert_eq!(js.body["status"], "pending", "{}", js.body);
    let params = &js.body["action"]["params"];
    assert_eq!(params["appId"], "wxd678efh567hg6787");
    assert!(
        params["package"]
            .as_str()
            .unwrap()
            .starts_with("prepay_id=wx")
    );
    assert_eq!(params["signType"], "RSA");
    let app = s.pay(scene("WX_APP_001", 100, "app")).await;
    assert_eq!(
        app.body["action"]["params"]["package"], "Sign=WXPay",
        "{}",
        app.body
    );
    let h5 = s.pay(scene("WX_H5_0001", 100, "h5")).await;
    assert!(
        h5.body["action"]["url"]
            .as_str()
            .unwrap()
            .starts_with("https://wx.tenpay.com/"),
        "{}",
        h5.body
    );
    let web = s.pay(scene("WX_WEB_001", 100, "web")).await;
    assert_eq!(web.body["action"]["type"], "qr_code", "{}", web.body);
    s.wechat.buyer_pays("WX_JS_0001").await;
    let read = s
        .app
        .get(SHOP_KEY, &format!("/v1/payments/{}", js.id()))
        .await;
    assert_eq!(read.body["status"], "succeeded");
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_close_an_unpaid_order() {
    let s = Shop::start().await;
    let r = s.pay(scene("WX_CL_0001", 100, "qrcode")).await;
    let closed = s
        .app
        .post(
            SHOP_KEY,
            &format!("/v1/payments/{}/close", r.id()),
            json!({}),
        )
        .await;
    assert_eq!(closed.body["status"], "closed", "{}", closed.body);
    assert_eq!(s.wechat.order("WX_CL_0001").unwrap().0, OrderState::Closed);
    assert_eq!(s.sync(&r.id()).await.body["status"], "closed");
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_keys_never_leave_the_host() {
    let s = Shop::start().await;
    let r = s
        .pay(code_payment("WX_KEY_001", 100, "134567890123456789"))
        .await;
    let _ = s.pay(scene("WX_KEY_002", 100, "jsapi")).await;
    let private = paycore_simulators::demo_keys::WECHATPAY_MERCHANT_PRIVATE;
    let v3 =
        String::from_utf8_lossy(paycore_simulators::demo_keys::WECHATPAY_APIV3_KEY).into_owned();
    let seen = s.wechat.requests().join("\n") + &r.body.to_string();
    assert!(seen.contains("Authorization") || !seen.is_empty());
    assert!(!seen.contains(&v3), "the APIv3 key left the host");
    assert_no_key_material(&seen, private);
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_userpaying_never_is_reversed_by_the_sweeper_at_the_deadline() {
    let s = Shop::start_with(Options::barcode_deadline(1_500)).await;
    s.wechat.script(
        "WX_DL_0001",
        Behaviour::UserPaying {
            paid_after_queries: None,
        },
    );
    let r = s
        .pay(code_payment("WX_DL_0001", 500, "134567890123456789"))
        .await;
    assert_eq!(r.body["status"], "processing");
    let status = s.status_after(&r.id(), "processing").await;
    assert_eq!(
        status, "cancelled",
        "queried, then reversed after the deadline"
    );
    assert_eq!(
        s.wechat.order("WX_DL_0001").unwrap().0,
        OrderState::Cancelled
    );
    assert!(
        s.wechat
            .requests()
            .iter()
            .any(|q| q.starts_with("GET /v3/pay/transactions/out-trade-no/WX_DL_0001")),
        "queried first"
    );
    s.app.stop().await;
}
