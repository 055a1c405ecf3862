//! Routing through the real runtime: fallback only when the first channel
//! certainly took no money, every attempt recorded, breakers that open and
//! recover, and `explain` answering the same over HTTP and from the CLI.

use paycore_e2e::*;
use std::time::Duration;

const ROUTE_KEY: &str = "sk_test_route_tenant";

/// Two sandbox channels on the same provider account: `sbx-down` points at
/// a closed port (connection refused: "unavailable, nothing sent"),
/// `sbx-up` at the provider.
fn route_tenant(down_port: u16) -> (String, String) {
    let text = format!(
        r#"
id = "route"
api_keys = ["{ROUTE_KEY}"]
timezone = "Asia/Shanghai"

[breaker]
failures = 2
cooldown_ms = 1500

[[channels]]
id = "sbx-down"
plugin = "sandbox@^1"
allowed_hosts = ["127.0.0.1"]
settings = {{ base_url = "http://127.0.0.1:{down_port}/sandbox", merchant_id = "sbx_demo" }}
secrets = {{ api_key = "inline:e2e-demo-provider-key" }}

[[channels]]
id = "sbx-up"
plugin = "sandbox@^1"
allowed_hosts = ["127.0.0.1"]
settings = {{ base_url = "{{public_url}}/sandbox", merchant_id = "sbx_demo" }}
secrets = {{ api_key = "inline:e2e-demo-provider-key" }}

[[rules]]
name = "healthy first"
store_id = "up-first"
fallback = ["sbx-up", "sbx-down"]

[[rules]]
name = "big JPY"
currency = "JPY"
amount = ">= 10000"
channel = "sbx-up"

[[rules]]
name = "down first"
wallet = "sandbox"
fallback = ["sbx-down", "sbx-up"]
"#
    );
    ("route".into(), text)
}

async fn start() -> (TestApp, u16) {
    start_at(None).await
}

/// `start` with paycore reading time from `clock`.
async fn start_at(clock: Option<paycore::clock::Clock>) -> (TestApp, u16) {
    let port = closed_port();
    let t = TestApp::start_with(Options {
        extra_tenants: vec![route_tenant(port)],
        clock,
        ..Options::default()
    })
    .await;
    (t, port)
}

fn channels_tried(payment: &serde_json::Value) -> Vec<(String, String)> {
    payment["attempts"]
        .as_array()
        .unwrap_or_else(|| panic!("no attempts in {payment}"))
        .iter()
        .map(|a| {
            (
                a["channel"].as_str().unwrap().to_string(),
                a["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pair(c: &str, o: &str) -> (String, String) {
    (c.to_string(), o.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unavailable_channel_falls_back_and_both_attempts_are_recorded() {
    let (t, _) = start().await;
    let r = t
        .post(
            ROUTE_KEY,
            "/v1/payments",
            barcode("FB-1", 8888, "134567890124"),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["status"], "succeeded");
    assert_eq!(r.body["channel"], "sbx-up", "the channel that served it");
    assert_eq!(
        channels_tried(&r.body),
        [pair("sbx-down", "unavailable"), pair("sbx-up", "succeeded")]
    );
    let first = &r.body["attempts"][0];
    assert_eq!(
        first["plugin"],
        json!({"name": "sandbox", "version": "1.0.0"})
    );
    assert_eq!(first["failure"]["code"], "channel_unreachable", "{first}");
    let kinds: Vec<String> = t
        .store()
        .events_of(&r.id())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(
        kinds,
        [
            "payment.created",
            "payment.attempt",
            "payment.channel_switched",
            "payment.attempt",
            "payment.status_changed"
        ]
    );
    // Read back: the same attempts; sync and refunds go to the serving channel.
    let read = t.get(ROUTE_KEY, &format!("/v1/payments/{}", r.id())).await;
    assert_eq!(read.body["attempts"], r.body["attempts"]);
    let synced = t
        .post(
            ROUTE_KEY,
            &format!("/v1/payments/{}/sync", r.id()),
            json!({}),
        )
        .await;
    assert_eq!(synced.status, StatusCode::OK, "{}", synced.body);
    assert_eq!(synced.body["status"], "succeeded");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_is_never_retried_elsewhere_and_sync_resolves_it() {
    let (t, _) = start().await;
    let mut body = barcode("TO-1", 3300, "134567890123");
    body["store_id"] = json!("up-first");
    let r = t.post(ROUTE_KEY, "/v1/payments", body).await;
    assert_eq!(r.status, StatusCode::GATEWAY_TIMEOUT, "{}", r.body);
    let payment = &r.body["error"]["payment"];
    assert_eq!(payment["status"], "unknown");
    assert_eq!(payment["channel"], "sbx-up");
    assert_eq!(
        channels_tried(payment),
        [pair("sbx-up", "unknown")],
        "money may have moved: no second channel"
    );
    let id = payment["id"].as_str().unwrap();
    let synced = t
        .post(ROUTE_KEY, &format!("/v1/payments/{id}/sync"), json!({}))
        .await;
    assert_eq!(synced.body["status"], "succeeded", "{}", synced.body);
    assert_eq!(synced.body["attempts"].as_array().unwrap().len(), 1);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decline_is_final() {
    let (t, _) = start().await;
    let mut body = barcode("DC-1", 500, "134567890121");
    body["store_id"] = json!("up-first");
    let r = t.post(ROUTE_KEY, "/v1/payments", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["status"], "failed");
    assert_eq!(channels_tried(&r.body), [pair("sbx-up", "declined")]);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_breaker_opens_routes_around_and_recovers_after_cool_down() {
    // The cool-down is passed by moving paycore's clock, not by waiting.
    let (t, port) = start_at(Some(paycore::clock::Clock::manual_at_now())).await;
    for n in 0..2 {
        let r = t
            .post(
                ROUTE_KEY,
                "/v1/payments",
                barcode(&format!("BR-{n}"), 100, "134567890124"),
            )
            .await;
        assert_eq!(
            channels_tried(&r.body),
            [pair("sbx-down", "unavailable"), pair("sbx-up", "succeeded")]
        );
    }
    // Two failures in a row: open. The next payment does not try it.
    let admin = t
        .send(
            t.client
                .get(t.url("/admin/channels"))
                .bearer_auth("adm_test_e2e"),
        )
        .await;
    let down = admin.body["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["tenant"] == "route" && c["channel"] == "sbx-down")
        .unwrap()
        .clone();
    assert_eq!(down["breaker"]["state"], "open", "{down}");
    assert_eq!(down["consecutive_failures"], 2);
    let explained = t
        .post(
            ROUTE_KEY,
            "/v1/routing/explain",
            barcode("BR-X", 100, "134567890124"),
        )
        .await;
    let c0 = &explained.body["candidates"][0];
    assert_eq!(c0["channel"], "sbx-down");
    assert_eq!(c0["kept"], false);
    assert!(
        c0["reason"].as_str().unwrap().contains("breaker open"),
        "{}",
        explained.body
    );
    assert_eq!(explained.body["channel"], "sbx-up");
    let r = t
        .post(
            ROUTE_KEY,
            "/v1/payments",
            barcode("BR-2", 100, "134567890124"),
        )
        .await;
    assert_eq!(channels_tried(&r.body), [pair("sbx-up", "succeeded")]);

    // The channel comes back; after the cool-down one payment probes it,
    // succeeds, and the breaker closes.
    let app_addr = t.app.as_ref().unwrap().addr;
    let _forwarder = forward(port, app_addr).await;
    let still_cooling = t
        .post(
            ROUTE_KEY,
            "/v1/routing/explain",
            barcode("BR-X", 100, "134567890124"),
        )
        .await;
    // Back, but the cool-down has not passed on paycore's clock: still open.
    let c0 = &still_cooling.body["candidates"][0];
    assert_eq!(c0["kept"], false, "{}", still_cooling.body);
    assert!(
        c0["reason"].as_str().unwrap().contains("breaker open"),
        "{}",
        still_cooling.body
    );
    t.clock().advance(Duration::from_millis(1600));
    let explained = t
        .post(
            ROUTE_KEY,
            "/v1/routing/explain",
            barcode("BR-Y", 100, "134567890124"),
        )
        .await;
    assert_eq!(explained.body["candidates"][0]["breaker"], "half_open");
    let r = t
        .post(
            ROUTE_KEY,
            "/v1/payments",
            barcode("BR-3", 100, "134567890124"),
        )
        .await;
    assert_eq!(r.body["status"], "succeeded", "{}", r.body);
    assert_eq!(channels_tried(&r.body), [pair("sbx-down", "succeeded")]);
    let explained = t
        .post(
            ROUTE_KEY,
            "/v1/routing/explain",
            barcode("BR-Z", 100, "134567890124"),
        )
        .await;
    assert_eq!(explained.body["candidates"][0]["breaker"], "closed");
    assert_eq!(explained.body["channel"], "sbx-down");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_over_http_and_from_the_cli_agree() {
    let (t, _) = start().await;
    let cfg = paycore::config::load(&t.config_file(), &Default::default()).unwrap();
    let bodies = [
        barcode("EX-1", 8888, "134567890124"),
        json!({"merchant_order_no": "EX-2", "amount": 10000, "currency": "JPY", "scene": "qrcode"}),
        json!({"merchant_order_no": "EX-3", "amount": 100, "currency": "CNY", "scene": "qrcode", "store_id": "up-first"}),
        json!({"merchant_order_no": "EX-4", "amount": 100, "currency": "CNY", "scene": "barcode", "auth_code": "284567890124"}),
    ];
    for body in bodies {
        let http = t.post(ROUTE_KEY, "/v1/routing/explain", body.clone()).await;
        assert_eq!(http.status, StatusCode::OK, "{}", http.body);
        let cli = paycore::app::explain(
            &cfg,
            &Default::default(),
            "route",
            body.to_string().as_bytes(),
        )
        .await
        .unwrap();
        let cli = serde_json::to_value(cli).unwrap();
        for key in [
            "rule",
            "rules",
            "candidates",
            "channel",
            "wallet",
            "wallet_source",
        ] {
            assert_eq!(http.body[key], cli[key], "{key} for {body}");
        }
    }
    // Nothing was created.
    assert_eq!(
        t.store()
            .count(paycore::store::Table::Payments)
            .await
            .unwrap(),
        0
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_names_the_rule_and_why_each_channel_is_kept_or_skipped() {
    let (t, _) = start().await;
    // JPY 10,000 matches "big JPY" (after missing "healthy first").
    let r = t
        .post(
            ROUTE_KEY,
            "/v1/routing/explain",
            json!({"merchant_order_no": "EX-J", "amount": 10000, "currency": "JPY", "scene": "qrcode"}),
        )
        .await;
    assert_eq!(r.body["rule"], "big JPY", "{}", r.body);
    assert_eq!(
        r.body["rules"][0]["reason"],
        "no store_id given; the rule needs up-first"
    );
    assert_eq!(r.body["candidates"][0]["kept"], true);
    assert_eq!(r.body["candidates"][0]["plugin"], "sandbox@1.0.0");
    // An Alipay code: the wallet is inferred, and the sandbox plugin cannot
    // serve it, so every channel is skipped for capability.
    let r = t
        .post(
            ROUTE_KEY,
            "/v1/routing/explain",
            json!({"merchant_order_no": "EX-A", "amount": 100, "currency": "CNY", "scene": "barcode", "auth_code": "284567890124", "store_id": "up-first"}),
        )
        .await;
    assert_eq!(r.body["wallet"], "alipay");
    assert_eq!(r.body["wallet_source"], "auth_code");
    assert_eq!(r.body["rule"], "healthy first");
    assert_eq!(r.body["channel"], json!(null));
    assert_eq!(
        r.body["candidates"][1]["reason"],
        "skipped: plugin sandbox@1.0.0 does not serve wallet alipay"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_no_rule_matches_is_422_no_route_naming_the_rules() {
    let (t, _) = start().await;
    let r = t
        .post(
            ROUTE_KEY,
            "/v1/payments",
            json!({"merchant_order_no": "NR-1", "amount": 500, "currency": "JPY", "scene": "qrcode"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.code(), "no_route");
    let message = r.body["error"]["message"].as_str().unwrap();
    for needle in [
        "rule `healthy first` missed: no store_id given",
        "rule `big JPY` missed: amount 500 JPY is not in `>= 10000`",
        "rule `down first` missed: the wallet is not known",
    ] {
        assert!(message.contains(needle), "{needle} in {message}");
    }
    assert_eq!(
        t.store()
            .count(paycore::store::Table::Payments)
            .await
            .unwrap(),
        0
    );
    t.stop().await;
}
