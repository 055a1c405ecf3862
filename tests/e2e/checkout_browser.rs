//! The hosted cashier in a real browser: Debian's headless Chromium driven
//! through chromedriver (WebDriver). A checkout link is opened, the QR code
//! shown, the payment approved on the sandbox wallet's payer page in a
//! second window, and the checkout page turns to paid by itself and returns
//! to the merchant; the same for a static code with a typed amount; an
//! expired link and a tampered one. Screenshots of each state, at 360 and
//! 1280 px wide, are written to `target/paycore-artifacts/checkout/`.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (`.ci/run`
//! installs them). Without them the test is compiled as ignored (see
//! `tests/build.rs`), except under CI (`CI` set), where a missing browser is
//! a failure; so is one asked for with `--ignored`.

use fantoccini::{Client, ClientBuilder, Locator};
use paycore_e2e::{DEMO_KEY, Options, TestApp};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Payments without `expires_in` expire this long after creation.
const EXPIRY_MS: u64 = 10_000;

/// chromedriver on a loopback port, killed when dropped.
pub(crate) struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn driver() -> Driver {
    let present = PathBuf::from(CHROMIUM).exists() && PathBuf::from(CHROMEDRIVER).exists();
    assert!(
        present,
        "{CHROMIUM} or {CHROMEDRIVER} is not installed (apt install chromium chromium-driver)"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

pub(crate) async fn browser(
    driver: &Driver,
    width: u32,
    user_agent: &str,
    profile: &std::path::Path,
) -> Client {
    let args = vec![
        "--headless=new".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-dev-shm-usage".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--hide-scrollbars".into(),
        format!("--user-data-dir={}", profile.display()),
        format!("--window-size={width},900"),
        format!("--user-agent={user_agent}"),
        "--lang=en-US".into(),
    ];
    let mut options = json!({ "binary": CHROMIUM, "args": args, "prefs": { "intl.accept_languages": "en-US,en" } });
    // Desktop windows have a minimum width; a phone's viewport is emulated.
    if width < 500 {
        options["mobileEmulation"] = json!({
            "deviceMetrics": { "width": width, "height": 800, "pixelRatio": 2.0, "touch": true, "mobile": true },
            "userAgent": user_agent
        });
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), options);
    // chromedriver takes a moment to listen: a bounded retry.
    for attempt in 0..50 {
        match ClientBuilder::rustls()
            .expect("TLS roots")
            .capabilities(caps.clone())
            .connect(&driver.url)
            .await
        {
            Ok(c) => return c,
            Err(e) if attempt < 49 => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("no WebDriver session: {e}"),
        }
    }
    unreachable!()
}

/// A phone's browser, 360 px wide.
pub(crate) async fn phone(driver: &Driver, profile: &std::path::Path) -> Client {
    browser(
        driver,
        360,
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile",
        profile,
    )
    .await
}

fn artifacts() -> PathBuf {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/paycore-artifacts/checkout");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub(crate) async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(artifacts().join(format!("{name}.png")), png).unwrap();
}

/// Waits (bounded) until the page shows `css`; returns its text.
pub(crate) async fn wait_for_text(c: &Client, css: &str) -> String {
    for _ in 0..150 {
        if let Ok(e) = c.find(Locator::Css(css)).await
            && let Ok(t) = e.text().await
        {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let source = c.source().await.unwrap_or_default();
    panic!("`{css}` never appeared: {source}");
}

/// The page's width in CSS pixels fits the window: nothing overflows sideways.
pub(crate) async fn assert_fits(c: &Client, width: u32) {
    let scroll = c
        .execute("return document.documentElement.scrollWidth;", vec![])
        .await
        .unwrap();
    let scroll = scroll.as_u64().unwrap();
    assert!(
        scroll <= u64::from(width),
        "page is {scroll} px wide in a {width} px window"
    );
}

/// A merchant's order page to return to.
async fn merchant() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/orders/done",
        axum::routing::get(|| async {
            axum::response::Html(
                "<!doctype html><title>Shop</title><h1 id=\"thanks\">Order complete</h1>",
            )
        }),
    );
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, task)
}

/// Presses the page's "Pay with Sandbox wallet" button.
async fn pay_with_sandbox(c: &Client) {
    c.find(Locator::Css("button[value=sandbox]"))
        .await
        .expect("a sandbox wallet button")
        .click()
        .await
        .unwrap();
}

/// Approves the sandbox order the checkout page links to, in a second
/// window, as the payer's wallet would; then comes back.
pub(crate) async fn approve_in_wallet(c: &Client, shots: &str) {
    let href = c
        .find(Locator::Css("a.open"))
        .await
        .expect("the page links the wallet")
        .attr("href")
        .await
        .unwrap()
        .expect("href");
    let checkout_window = c.window().await.unwrap();
    let wallet = c.new_window(true).await.unwrap();
    c.switch_to_window(wallet.handle).await.unwrap();
    c.goto(&href).await.unwrap();
    let approve = c
        .find(Locator::XPath("//button[contains(., 'Approve')]"))
        .await
        .expect("the payer page's Approve button");
    screenshot(c, &format!("{shots}-wallet")).await;
    approve.click().await.unwrap();
    wait_for_text(c, ".paid").await;
    c.close_window().await.unwrap();
    c.switch_to_window(checkout_window).await.unwrap();
}

#[tokio::test]
#[cfg_attr(
    no_chromium,
    ignore = "chromium and chromedriver are not installed (apt install chromium chromium-driver)"
)]
async fn checkout_and_static_code_pages_work_in_chromium() {
    let driver = driver();
    let app = TestApp::start_with(Options {
        pending_expiry_ms: EXPIRY_MS,
        ..Options::default()
    })
    .await;
    let (shop, shop_task) = merchant().await;
    let profiles = tempfile::tempdir().unwrap();
    // Made first, looked at last: it expires while the other flows run.
    let short = app
        .pay(json!({ "merchant_order_no": "BR-2", "amount": 100, "currency": "CNY", "scene": "checkout" }))
        .await;
    let short_made = std::time::Instant::now();

    // 1. A checkout link on a phone (360 px): choose, scan, approve, paid, back.
    let created = app
        .pay(json!({
            "merchant_order_no": "BR-1", "amount": 8888, "currency": "CNY", "scene": "checkout",
            "subject": "2 x latte", "expires_in": 900,
            "goods": [{ "id": "sku-1", "name": "latte", "quantity": 2, "unit_price": 4500, "discount": 112 }],
            "return_url": format!("{shop}/orders/done")
        }))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let link = created.body["action"]["url"].as_str().unwrap().to_string();
    let phone = phone(&driver, &profiles.path().join("phone")).await;
    phone.goto(&link).await.unwrap();
    let amount = wait_for_text(&phone, ".amount").await;
    assert_eq!(amount, "CN¥88.88");
    assert_fits(&phone, 360).await;
    screenshot(&phone, "checkout-choose-360").await;
    pay_with_sandbox(&phone).await;
    wait_for_text(&phone, "figure.code figcaption").await;
    let qr = phone.find(Locator::Css("svg.qr")).await.expect("a QR code");
    assert_eq!(qr.attr("role").await.unwrap().as_deref(), Some("img"));
    assert_fits(&phone, 360).await;
    screenshot(&phone, "checkout-qr-360").await;
    approve_in_wallet(&phone, "checkout-360").await;
    // The page notices by itself (it polls), shows paid, then returns.
    let paid = wait_for_text(&phone, ".status.paid").await;
    assert_eq!(paid, "Paid. Thank you!");
    screenshot(&phone, "checkout-paid-360").await;
    let thanks = wait_for_text(&phone, "#thanks").await;
    assert_eq!(thanks, "Order complete");
    assert!(
        phone
            .current_url()
            .await
            .unwrap()
            .as_str()
            .starts_with(&shop)
    );
    let id = created.body["id"].as_str().unwrap();
    assert_eq!(
        app.get(DEMO_KEY, &format!("/v1/payments/{id}")).await.body["status"],
        "succeeded"
    );
    phone.close().await.unwrap();

    // 2. A static code on a desktop (1280 px) in the sandbox wallet's
    // browser: type an amount, pay, approve, paid.
    let code = app
        .post(
            DEMO_KEY,
            "/v1/qr-codes",
            json!({ "store_id": "shop-7", "currency": "CNY", "subject": "Counter 1" }),
        )
        .await;
    assert_eq!(code.status, 201);
    let desk = browser(
        &driver,
        1280,
        "Mozilla/5.0 (X11; Linux x86_64) PaycoreSandboxWallet/1.0",
        &profiles.path().join("desk"),
    )
    .await;
    desk.goto(code.body["url"].as_str().unwrap()).await.unwrap();
    let input = desk
        .find(Locator::Css("input#amount"))
        .await
        .expect("an amount field");
    let label = desk
        .find(Locator::Css("label[for=amount]"))
        .await
        .expect("a label");
    assert!(label.text().await.unwrap().contains("Enter the amount"));
    input.send_keys("12.345").await.unwrap();
    screenshot(&desk, "static-code-entry-1280").await;
    pay_with_sandbox(&desk).await;
    let refusal = wait_for_text(&desk, ".notice").await;
    assert!(refusal.contains("at most 2 decimals"), "{refusal}");
    screenshot(&desk, "static-code-refused-1280").await;
    let input = desk.find(Locator::Css("input#amount")).await.unwrap();
    input.clear().await.unwrap();
    input.send_keys("12.50").await.unwrap();
    pay_with_sandbox(&desk).await;
    let amount = wait_for_text(&desk, ".amount").await;
    assert_eq!(amount, "CN¥12.50");
    wait_for_text(&desk, "figure.code figcaption").await;
    screenshot(&desk, "static-code-qr-1280").await;
    approve_in_wallet(&desk, "static-code-1280").await;
    wait_for_text(&desk, ".status.paid").await;
    screenshot(&desk, "static-code-paid-1280").await;
    let payments = app
        .store()
        .count(paycore::store::Table::Payments)
        .await
        .unwrap();
    assert_eq!(
        payments, 3,
        "one payment per page, the refused amount made none"
    );

    // 3. An expired link and a tampered one.
    let short_link = short.body["action"]["url"].as_str().unwrap().to_string();
    let expiry = Duration::from_millis(EXPIRY_MS + 300);
    tokio::time::sleep(expiry.saturating_sub(short_made.elapsed())).await;
    desk.goto(&short_link).await.unwrap();
    let expired = wait_for_text(&desk, ".status").await;
    assert!(
        expired.contains("expired") || expired.contains("closed"),
        "{expired}"
    );
    screenshot(&desk, "checkout-expired-1280").await;
    let mut tampered: Vec<char> = short_link.chars().collect();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == 'A' { 'B' } else { 'A' };
    desk.goto(&tampered.into_iter().collect::<String>())
        .await
        .unwrap();
    let missing = wait_for_text(&desk, "h1").await;
    assert_eq!(missing, "Payment link not valid");
    screenshot(&desk, "checkout-not-found-1280").await;
    // The stylesheet was allowed by the page's CSP and applied.
    let width: Value = desk
        .execute(
            "return getComputedStyle(document.querySelector('main')).maxWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(width, json!("448px"));
    desk.close().await.unwrap();

    shop_task.abort();
    app.stop().await;
    drop(driver);
}
