//! QR payments: payer page, approval, signed asynchronous notification.

use std::time::Duration;

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn qr(out_trade_no: &str, amount: &str, notify_url: &str) -> Value {
    json!({
        "out_trade_no": out_trade_no,
        "amount": amount,
        "currency": "CNY",
        "scene": "qrcode",
        "subject": "<b>2 x latte</b>",
        "notify_url": notify_url,
    })
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn qr_payment_approved_on_the_payer_page_is_notified_and_queryable() {
    let sb = Sandbox::start().await;
    let rx = Receiver::start(0).await;

    let a = sb.call("pay", qr("qr-1", "88.88", &rx.url())).await;
    assert_eq!(
        (a.status, a.code(), a.str("status")),
        (StatusCode::OK, "SUCCESS", "PENDING")
    );
    let trade_no = a.str("trade_no").to_string();
    let page_url = a.str("qr_code").to_string();
    assert_eq!(
        page_url,
        format!("{}/sandbox/payer/{trade_no}", sb.server.url())
    );
    assert!(a.body.get("pay_url").is_none());

    // The payer opens the page.
    let page = sb.http.get(&page_url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    for needle in ["88.88", "CNY", M1, "PENDING", "qr-1", "Approve", "/approve"] {
        assert!(html.contains(needle), "page lacks {needle:?}");
    }
    assert!(
        html.contains("&lt;b&gt;2 x latte&lt;/b&gt;") && !html.contains("<b>2 x latte"),
        "subject is escaped"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external assets"
    );

    // Nothing is notified before the payer approves.
    assert_eq!(rx.count(), 0);

    // ... and approves: 303 back to the page, which now shows the payment.
    let approved = no_redirects()
        .post(format!("{page_url}/approve"))
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), StatusCode::SEE_OTHER);
    let location = approved.headers()["location"].to_str().unwrap();
    let back = reqwest::Url::parse(&format!("{page_url}/approve"))
        .unwrap()
        .join(location)
        .unwrap();
    assert_eq!(back.as_str(), page_url);
    let html = sb
        .http
        .get(back)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("SUCCEEDED") && !html.contains("<form"),
        "paid page has no approve form"
    );

    // The merchant receives exactly one signed notification.
    let got = eventually("the notification", || async { rx.all().into_iter().next() }).await;
    let sig = got.headers["x-sandbox-signature"].to_str().unwrap();
    assert_eq!(
        sig,
        hmac_hex(KEY1, &got.body),
        "notification is signed over the raw body"
    );
    assert_eq!(got.headers["content-type"], "application/json");
    let n: Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(n["event"], "payment.succeeded");
    assert_eq!(n["trade_no"], trade_no.as_str());
    assert_eq!(n["out_trade_no"], "qr-1");
    assert_eq!(n["status"], "SUCCEEDED");
    assert_eq!(n["amount"], "88.88");
    assert_eq!(n["currency"], "CNY");
    let paid_at = n["paid_at"].as_str().unwrap();
    assert!(
        time::OffsetDateTime::parse(paid_at, &time::format_description::well_known::Rfc3339)
            .is_ok(),
        "paid_at is RFC 3339: {paid_at}"
    );

    let q = sb.query("qr-1").await;
    assert_eq!((q.code(), q.str("status")), ("SUCCESS", "SUCCEEDED"));

    // Approving again is a conflict and sends nothing more.
    let again = sb
        .http
        .post(format!("{page_url}/approve"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert!(again.text().await.unwrap().contains("already paid"));

    sb.provider
        .drain_notifications(Duration::from_secs(10))
        .await;
    assert_eq!(rx.count(), 1);
}

#[tokio::test]
async fn notification_is_retried_until_accepted() {
    let sb = Sandbox::start().await;
    let rx = Receiver::start(2).await; // 500, 500, then SUCCESS

    let a = sb.call("pay", qr("qr-retry", "1.00", &rx.url())).await;
    let resp = sb
        .http
        .post(format!("{}/approve", a.str("qr_code")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "redirect followed to the page"
    );

    eventually("three deliveries", || async {
        (rx.count() >= 3).then_some(())
    })
    .await;
    sb.provider
        .drain_notifications(Duration::from_secs(10))
        .await;
    let all = rx.all();
    assert_eq!(all.len(), 3, "stops once accepted");
    for r in &all {
        assert_eq!(r.body, all[0].body, "every attempt carries the same body");
        assert_eq!(
            r.headers["x-sandbox-signature"].to_str().unwrap(),
            hmac_hex(KEY1, &r.body)
        );
    }
}

#[tokio::test]
async fn notification_gives_up_after_five_attempts() {
    let sb = Sandbox::start().await;
    let rx = Receiver::start(usize::MAX).await;

    let a = sb.call("pay", qr("qr-never", "1.00", &rx.url())).await;
    sb.http
        .post(format!("{}/approve", a.str("qr_code")))
        .send()
        .await
        .unwrap();
    eventually("five deliveries", || async {
        (rx.count() >= 5).then_some(())
    })
    .await;
    sb.provider
        .drain_notifications(Duration::from_secs(10))
        .await;
    assert_eq!(rx.count(), 5);
    // The payment itself stands, whatever the merchant answered.
    assert_eq!(sb.query("qr-never").await.str("status"), "SUCCEEDED");
}

#[tokio::test]
async fn unreachable_notify_url_does_not_break_approval() {
    // Grab a free port and release it, so nothing listens there.
    let dead = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        format!("http://{}/notify", l.local_addr().unwrap())
    };
    let sb = Sandbox::with(|c| c.notify_retry_base = Duration::from_millis(1)).await;
    let a = sb.call("pay", qr("qr-dead", "1.00", &dead)).await;
    let resp = sb
        .http
        .post(format!("{}/approve", a.str("qr_code")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    sb.provider
        .drain_notifications(Duration::from_secs(10))
        .await;
    assert_eq!(sb.query("qr-dead").await.str("status"), "SUCCEEDED");
}

#[tokio::test]
async fn an_expired_order_cannot_be_approved_and_is_closed() {
    let sb = Sandbox::start().await;
    let rx = Receiver::start(0).await;
    let mut body = qr("qr-exp", "1.00", &rx.url());
    body["expires_in"] = json!(1);
    let a = sb.call("pay", body).await;
    let page_url = a.str("qr_code").to_string();

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let resp = sb
        .http
        .post(format!("{page_url}/approve"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert!(resp.text().await.unwrap().contains("expired"));
    assert_eq!(sb.query("qr-exp").await.str("status"), "CLOSED");

    sb.provider
        .drain_notifications(Duration::from_secs(1))
        .await;
    assert_eq!(rx.count(), 0, "nothing to notify");
}

#[tokio::test]
async fn closed_or_paid_orders_cannot_be_approved() {
    let sb = Sandbox::start().await;
    let a = sb
        .call("pay", qr("qr-cl", "1.00", "http://127.0.0.1:9/n"))
        .await;
    sb.call("close", json!({ "out_trade_no": "qr-cl" })).await;
    let page = sb
        .http
        .get(a.str("qr_code"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("CLOSED") && !page.contains("<form"));
    let resp = sb
        .http
        .post(format!("{}/approve", a.str("qr_code")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CONFLICT);

    let b = sb
        .call("pay", barcode("bc-paid", "1.00", "CNY", "1234567890"))
        .await;
    let url = format!(
        "{}/sandbox/payer/{}/approve",
        sb.server.url(),
        b.str("trade_no")
    );
    assert_eq!(
        sb.http.post(url).send().await.unwrap().status(),
        StatusCode::CONFLICT
    );
}

#[tokio::test]
async fn redirect_scenes_get_a_pay_url_and_unknown_pages_are_404() {
    let sb = Sandbox::start().await;
    for scene in ["h5", "web", "app", "jsapi"] {
        let mut body = qr(&format!("sc-{scene}"), "500", "http://127.0.0.1:9/n");
        body["scene"] = json!(scene);
        body["currency"] = json!("JPY");
        let a = sb.call("pay", body).await;
        assert_eq!(
            (a.code(), a.str("status")),
            ("SUCCESS", "PENDING"),
            "{scene}"
        );
        assert!(a.body.get("qr_code").is_none(), "{scene}");
        let html = sb
            .http
            .get(a.str("pay_url"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("500") && html.contains("JPY"), "{scene}");
    }

    let base = sb.server.url();
    let r = sb
        .http
        .get(format!("{base}/sandbox/payer/sbx0000"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = sb
        .http
        .post(format!("{base}/sandbox/payer/sbx0000/approve"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn drain_returns_at_once_when_idle() {
    let sb = Sandbox::start().await;
    // Bounded by the outer timeout: if drain waited for its own 60 s, this fails.
    tokio::time::timeout(
        Duration::from_secs(5),
        sb.provider.drain_notifications(Duration::from_secs(60)),
    )
    .await
    .expect("drain with nothing in flight returns immediately");
}
