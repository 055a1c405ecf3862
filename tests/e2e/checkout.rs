//! The hosted cashier over HTTP: checkout payments and their pages, static
//! QR codes with typed amounts, tokens, expiry, idempotency and isolation.
//! (The same flows in a real browser: `checkout_browser.rs`.)

use paycore_e2e::{ACME_KEY, DEMO_KEY, Options, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

/// A client that shows redirects instead of following them, like a test
/// of a form's POST/redirect/GET should.
pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn checkout_body(order: &str) -> Value {
    json!({
        "merchant_order_no": order,
        "amount": 8888,
        "currency": "CNY",
        "scene": "checkout",
        "subject": "2 x latte",
        "goods": [{ "id": "sku-1", "name": "latte", "quantity": 2, "unit_price": 4500, "discount": 112 }],
        "return_url": "https://shop.example/orders/done"
    })
}

pub(crate) fn token_of(payment: &Value) -> String {
    let url = payment["action"]["url"]
        .as_str()
        .expect("a redirect action");
    url.rsplit('/').next().unwrap().to_string()
}

pub(crate) async fn page(
    app: &TestApp,
    path: &str,
    lang: &str,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let r = browser()
        .get(app.url(path))
        .header("accept-language", lang)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    (status, headers, r.text().await.unwrap())
}

pub(crate) async fn post_form(
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
    ua: &str,
) -> reqwest::Response {
    browser()
        .post(app.url(path))
        .header("user-agent", ua)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form)
                .finish(),
        )
        .send()
        .await
        .unwrap()
}

/// The payer page URL a waiting checkout page links to.
pub(crate) fn payer_link(html: &str) -> String {
    let start = html.find("class=\"open\" href=\"").expect("an open link") + 19;
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].replace("&amp;", "&")
}

#[tokio::test]
async fn a_checkout_payment_is_paid_through_the_hosted_page() {
    let app = TestApp::start().await;
    let created = app.pay(checkout_body("CK-1")).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let p = &created.body;
    assert_eq!(p["status"], "pending");
    assert_eq!(p["scene"], "checkout");
    assert_eq!(p["wallet"], Value::Null);
    assert_eq!(p["channel"], Value::Null);
    assert_eq!(p["action"]["type"], "redirect");
    let url = p["action"]["url"].as_str().unwrap();
    assert!(url.starts_with(&app.url("/pay/")), "{url}");
    let token = token_of(p);
    assert_eq!(token.len(), 32);

    // The page: merchant, amount for the locale, goods, a wallet to choose.
    let (status, headers, html) = page(&app, &format!("/pay/{token}"), "en-US,en;q=0.9").await;
    assert_eq!(status, 200);
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(html.contains("CN¥88.88"), "{html}");
    assert!(html.contains("2 x latte") && html.contains("latte"));
    assert!(html.contains("name=\"wallet\" value=\"sandbox\""));
    let (_, _, zh) = page(&app, &format!("/pay/{token}"), "zh-CN,zh;q=0.9").await;
    assert!(zh.contains("lang=\"zh-CN\"") && zh.contains("¥88.88") && zh.contains("沙箱钱包"));

    // Choosing the sandbox wallet sends the payment: POST, redirect, GET.
    let chose = post_form(
        &app,
        &format!("/pay/{token}"),
        &[("wallet", "sandbox")],
        "Mozilla/5.0",
    )
    .await;
    assert_eq!(chose.status(), 303);
    assert_eq!(chose.headers()["location"], format!("/pay/{token}"));
    let (_, _, waiting) = page(&app, &format!("/pay/{token}"), "en").await;
    assert!(waiting.contains("<svg role=\"img\""), "a QR code is drawn");
    assert!(waiting.contains("data-state=\"waiting\""));
    let payer = payer_link(&waiting);
    assert!(payer.contains("/sandbox/payer/"), "{payer}");

    // The merchant sees the channel now, and still the page as its action.
    let read = app
        .get(
            DEMO_KEY,
            &format!("/v1/payments/{}", p["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(read.body["wallet"], "sandbox");
    assert_eq!(read.body["channel"], "sandbox-main");
    assert_eq!(read.body["scene"], "checkout");
    assert_eq!(read.body["status"], "pending");
    assert_eq!(read.body["action"]["url"], url);

    // A second click on the same wallet changes nothing; another is refused.
    let again = post_form(
        &app,
        &format!("/pay/{token}"),
        &[("wallet", "sandbox")],
        "x",
    )
    .await;
    assert_eq!(again.status(), 303);
    let other = post_form(&app, &format!("/pay/{token}"), &[("wallet", "alipay")], "x").await;
    assert_eq!(other.status(), 409);
    let events = app
        .store()
        .events_of(p["id"].as_str().unwrap())
        .await
        .unwrap();
    let kinds: Vec<&str> = events.iter().map(|(k, _, _)| k.as_str()).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == "payment.wallet_chosen")
            .count(),
        1,
        "sent to the channel once: {kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "payment.attempt").count(),
        1,
        "{kinds:?}"
    );

    // The payer approves in the sandbox wallet; the provider's signed
    // callback settles the payment and the page turns to paid.
    let approve = browser()
        .post(format!("{payer}/approve"))
        .send()
        .await
        .unwrap();
    assert_eq!(approve.status(), 303);
    let id = p["id"].as_str().unwrap();
    app.wait_for_status(DEMO_KEY, id, "succeeded").await;
    let status = browser()
        .get(app.url(&format!("/pay/{token}/status")))
        .send()
        .await
        .unwrap();
    let status: Value = status.json().await.unwrap();
    assert_eq!(status["state"], "final:succeeded");
    let (_, _, paid) = page(&app, &format!("/pay/{token}"), "en").await;
    assert!(paid.contains("Paid. Thank you!"));
    assert!(
        paid.contains("href=\"https://shop.example/orders/done\""),
        "returns to the merchant"
    );
    let done = app.get(DEMO_KEY, &format!("/v1/payments/{id}")).await;
    assert_eq!(done.body["action"], Value::Null, "nothing left to do");
    let hooks = app.wait_for_webhooks(1).await;
    assert!(hooks.iter().any(|h| {
        let body: Value = serde_json::from_str(&h.body).unwrap();
        body["type"] == "payment.succeeded" && body["data"]["id"] == id
    }));

    // Creating it again is a replay, not a second payment.
    let replay = app.pay(checkout_body("CK-1")).await;
    assert_eq!(replay.status, 200);
    assert_eq!(replay.body["id"], id);
    app.stop().await;
}

#[tokio::test]
async fn unknown_tampered_and_foreign_tokens_get_the_same_404() {
    let app = TestApp::start().await;
    let created = app.pay(checkout_body("CK-2")).await;
    let token = token_of(&created.body);
    let mut tampered = token.clone().into_bytes();
    tampered[5] = if tampered[5] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for path in [
        format!("/pay/{tampered}"),
        format!("/pay/{}", &token[..31]),
        "/pay/..%2f..%2fetc%2fpasswd".to_string(),
        format!("/pay/{tampered}/status"),
        format!("/q/{token}"),
    ] {
        let (status, _, body) = page(&app, &path, "en").await;
        assert_eq!(status, 404, "{path}");
        assert!(!body.contains("88.88"), "reveals nothing: {path}");
    }
    let post = post_form(
        &app,
        &format!("/pay/{tampered}"),
        &[("wallet", "sandbox")],
        "x",
    )
    .await;
    assert_eq!(post.status(), 404);
    // Bad input never changes state: junk wallets are refused, the payment waits.
    for wallet in ["", "teleport", "<script>"] {
        let r = post_form(&app, &format!("/pay/{token}"), &[("wallet", wallet)], "x").await;
        assert_eq!(r.status(), 422, "{wallet:?}");
        let html = r.text().await.unwrap();
        assert!(!html.contains("<script>"), "echoed unescaped");
    }
    let read = app
        .get(
            DEMO_KEY,
            &format!("/v1/payments/{}", created.body["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(read.body["status"], "pending");
    assert_eq!(read.body["channel"], Value::Null);
    // Another tenant's key does not find the payment either.
    let foreign = app
        .get(
            ACME_KEY,
            &format!("/v1/payments/{}", created.body["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(foreign.status, 404);
    app.stop().await;
}

#[tokio::test]
async fn an_expired_link_says_so_and_cannot_be_paid() {
    // Time is moved past the link's expiry, not waited for.
    let app = TestApp::start_with(Options {
        pending_expiry_ms: 1_000,
        sweeper_interval_ms: 200,
        clock: Some(paycore::clock::Clock::manual_at_now()),
        ..Options::default()
    })
    .await;
    let created = app.pay(checkout_body("CK-3")).await;
    let token = token_of(&created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    let (_, _, html) = page(&app, &format!("/pay/{token}"), "en").await;
    assert!(
        !html.contains("This payment link has expired"),
        "open until its expiry: {html}"
    );
    app.clock().advance(Duration::from_millis(1_200));
    let (status, _, html) = page(&app, &format!("/pay/{token}"), "en").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("This payment link has expired") || html.contains("This payment was closed"),
        "{html}"
    );
    let late = post_form(
        &app,
        &format!("/pay/{token}"),
        &[("wallet", "sandbox")],
        "x",
    )
    .await;
    assert_eq!(late.status(), 422);
    // The sweeper closes it without asking any channel: none was asked.
    let closed = app.wait_for_status(DEMO_KEY, &id, "closed").await;
    assert_eq!(closed.body["channel"], Value::Null);
    let (_, _, zh) = page(&app, &format!("/pay/{token}"), "zh-CN").await;
    assert!(zh.contains("该订单已关闭"), "{zh}");
    app.stop().await;
}

#[tokio::test]
async fn checkout_requests_are_validated_by_field() {
    let app = TestApp::start().await;
    for (patch, field) in [
        (json!({ "auth_code": "134567890124" }), "auth_code"),
        (json!({ "return_url": "javascript:alert(1)" }), "return_url"),
        (json!({ "return_url": "ftp://shop.example/" }), "return_url"),
        (
            json!({ "scene": "qrcode", "return_url": "https://shop.example/" }),
            "return_url",
        ),
    ] {
        let mut body = checkout_body("CK-bad");
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = app.pay(body).await;
        assert_eq!(r.status, 422, "{patch}: {}", r.body);
        assert_eq!(r.body["error"]["field"], field, "{}", r.body);
    }
    // A wallet no channel serves leaves nothing to offer: no route.
    let mut body = checkout_body("CK-nowallet");
    body["wallet"] = json!("wechat");
    let r = app.pay(body).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "no_route");
    app.stop().await;
}

#[tokio::test]
async fn a_static_code_takes_a_typed_amount_once_per_page_load() {
    let app = TestApp::start().await;
    let created = app
        .post(DEMO_KEY, "/v1/qr-codes", json!({ "store_id": "shop-7", "terminal_id": "counter-1", "currency": "CNY", "subject": "Counter 1" }))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let code = created.body.clone();
    assert_eq!(code["amount"], Value::Null);
    let url = code["url"].as_str().unwrap();
    let token = url.rsplit('/').next().unwrap().to_string();
    let code_id = code["id"].as_str().unwrap();

    // The tenant reads it and its printable image; another tenant cannot.
    assert_eq!(
        app.get(DEMO_KEY, &format!("/v1/qr-codes/{code_id}"))
            .await
            .body["url"],
        url
    );
    let image = app
        .client
        .get(app.url(&format!("/v1/qr-codes/{code_id}/image.svg")))
        .bearer_auth(DEMO_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(image.headers()["content-type"], "image/svg+xml");
    let svg = image.text().await.unwrap();
    assert!(svg.starts_with("<?xml") && svg.contains("<svg") && svg.ends_with("</svg>"));
    assert_eq!(
        app.get(ACME_KEY, &format!("/v1/qr-codes/{code_id}"))
            .await
            .status,
        404
    );
    let bad = app
        .post(
            DEMO_KEY,
            "/v1/qr-codes",
            json!({ "store_id": "s", "currency": "XYZ" }),
        )
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.body["error"]["field"], "currency");

    // Scanned in the sandbox wallet's app: an amount form.
    let ua = "Mozilla/5.0 (Linux; Android 14) Mobile PaycoreSandboxWallet/1.0";
    let r = browser()
        .get(app.url(&format!("/q/{token}")))
        .header("user-agent", ua)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("name=\"amount\"") && html.contains("Counter 1"));
    let nonce_at = html.find("name=\"nonce\" value=\"").unwrap() + 20;
    let nonce = html[nonce_at..nonce_at + 16].to_string();

    // Refusals name the problem and make nothing.
    for (typed, expect) in [
        ("12.345", "at most 2 decimals"),
        ("-3", "as a number"),
        ("10000.01", "The most you can pay here is CN¥10,000.00"),
        ("0", "more than zero"),
    ] {
        let r = post_form(
            &app,
            &format!("/q/{token}"),
            &[("amount", typed), ("nonce", &nonce), ("wallet", "sandbox")],
            ua,
        )
        .await;
        assert_eq!(r.status(), 422, "{typed}");
        let html = r.text().await.unwrap();
        assert!(html.contains(expect), "{typed}: {html}");
    }

    // Paid with the typed amount: a checkout payment sent to the sandbox.
    let form = [
        ("amount", "12.50"),
        ("nonce", nonce.as_str()),
        ("wallet", "sandbox"),
    ];
    let r = post_form(&app, &format!("/q/{token}"), &form, ua).await;
    assert_eq!(r.status(), 303);
    let page_path = r.headers()["location"].to_str().unwrap().to_string();
    assert!(page_path.starts_with("/pay/"));
    // The same form again (a double tap, a reload): the same payment.
    let again = post_form(&app, &format!("/q/{token}"), &form, ua).await;
    assert_eq!(again.status(), 303);
    assert_eq!(again.headers()["location"].to_str().unwrap(), page_path);
    // The same page load with another amount: refused, nothing made.
    let changed = post_form(
        &app,
        &format!("/q/{token}"),
        &[("amount", "99"), ("nonce", &nonce), ("wallet", "sandbox")],
        ua,
    )
    .await;
    assert_eq!(changed.status(), 409);

    let order = format!("{code_id}-{nonce}");
    let p = app
        .get(DEMO_KEY, &format!("/v1/payments?merchant_order_no={order}"))
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(p.body["amount"], 1250);
    assert_eq!(p.body["scene"], "checkout");
    assert_eq!(p.body["wallet"], "sandbox");
    assert_eq!(p.body["metadata"]["qr_code"], code_id);
    assert_eq!(p.body["status"], "pending");

    // The payer approves; the page turns to paid.
    let (_, _, waiting) = page(&app, &page_path, "en").await;
    let payer = payer_link(&waiting);
    browser()
        .post(format!("{payer}/approve"))
        .send()
        .await
        .unwrap();
    app.wait_for_status(DEMO_KEY, p.body["id"].as_str().unwrap(), "succeeded")
        .await;
    let (_, _, paid) = page(&app, &page_path, "en").await;
    assert!(paid.contains("Paid. Thank you!"));

    // A code with a fixed amount asks for none.
    let fixed = app
        .post(
            DEMO_KEY,
            "/v1/qr-codes",
            json!({ "store_id": "shop-7", "currency": "CNY", "amount": 1800 }),
        )
        .await;
    let fixed_token = fixed.body["url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let r = browser()
        .get(app.url(&format!("/q/{fixed_token}")))
        .header("user-agent", ua)
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(
        html.contains("¥18.00") && !html.contains("name=\"amount\""),
        "{html}"
    );

    // The tenant lists its codes and retires one: its page is then a 404
    // and it makes no payment; other tenants see and touch none of them.
    let listed = app.get(DEMO_KEY, "/v1/qr-codes?store_id=shop-7").await;
    assert_eq!(
        listed.body["data"].as_array().unwrap().len(),
        2,
        "{}",
        listed.body
    );
    assert_eq!(
        listed.body["data"][0]["id"], fixed.body["id"],
        "newest first"
    );
    assert_eq!(
        app.get(ACME_KEY, "/v1/qr-codes").await.body["data"],
        json!([])
    );
    let bad_limit = app.get(DEMO_KEY, "/v1/qr-codes?limit=abc").await;
    assert_eq!(bad_limit.status, 422);
    assert_eq!(bad_limit.body["error"]["field"], "limit");
    let fixed_id = fixed.body["id"].as_str().unwrap();
    let disable = format!("/v1/qr-codes/{fixed_id}/disable");
    assert_eq!(app.post(ACME_KEY, &disable, json!({})).await.status, 404);
    let off = app.post(DEMO_KEY, &disable, json!({})).await;
    assert_eq!(off.status, 200, "{}", off.body);
    let when = off.body["disabled_at"]
        .as_str()
        .expect("disabled_at")
        .to_string();
    let again = app.post(DEMO_KEY, &disable, json!({})).await;
    assert_eq!(
        again.body["disabled_at"],
        when.as_str(),
        "the first time is kept"
    );
    let (status, _, _) = page(&app, &format!("/q/{fixed_token}"), "en").await;
    assert_eq!(status, 404);
    let payments_before = app
        .store()
        .count(paycore::store::Table::Payments)
        .await
        .unwrap();
    let late = post_form(
        &app,
        &format!("/q/{fixed_token}"),
        &[("nonce", "0123456789abcdef"), ("wallet", "sandbox")],
        ua,
    )
    .await;
    assert_eq!(late.status(), 404);
    let payments_after = app
        .store()
        .count(paycore::store::Table::Payments)
        .await
        .unwrap();
    assert_eq!(payments_before, payments_after);
    app.stop().await;
}
