//! `/metrics` after a scripted set of payments shows exact counts, labelled
//! by tenant, channel, plugin version, scene and outcome — never by ids,
//! order numbers or secrets. In a process of its own: counters are global.

use paycore_e2e::*;
use std::collections::BTreeMap;

/// `name{k="v",…} value` lines, as (name, labels) → value.
fn parse(text: &str) -> BTreeMap<(String, BTreeMap<String, String>), f64> {
    let mut out = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (series, value) = line.rsplit_once(' ').unwrap();
        let (name, labels) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let labels = labels
            .split(',')
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (k, v) = l.split_once('=').unwrap();
                (k.to_string(), v.trim_matches('"').to_string())
            })
            .collect();
        out.insert((name.to_string(), labels), value.parse().unwrap());
    }
    out
}

fn value(
    m: &BTreeMap<(String, BTreeMap<String, String>), f64>,
    name: &str,
    labels: &[(&str, &str)],
) -> f64 {
    let labels: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    *m.get(&(name.to_string(), labels.clone()))
        .unwrap_or_else(|| panic!("no series {name}{labels:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_match_a_scripted_run_exactly() {
    // Counters are process-wide: the suite's other tests would count too.
    if ran_in_own_process() {
        return;
    }
    let t = TestApp::start().await;
    for (no, code) in [
        ("M-1", "134567890124"),
        ("M-2", "134567890124"),
        ("M-3", "134567890121"),
    ] {
        t.pay(barcode(no, 100, code)).await;
    }
    t.pay(barcode("M-1", 100, "134567890124")).await; // a replay: no new payment
    t.post(DEMO_KEY, "/v1/payments", json!({ "amount": -1 }))
        .await; // 422
    t.post(
        LAB_KEY,
        "/v1/payments",
        barcode("M-LOOP", 100, "1000000001"),
    )
    .await; // CPU budget

    // A QR payment paid through a signed callback, and a forged callback.
    let qr = t
        .pay(json!({ "merchant_order_no": "M-QR", "amount": 4500, "currency": "CNY", "scene": "qrcode" }))
        .await;
    let trade_no = qr.body["channel_order_no"].as_str().unwrap();
    let (body, sig) = provider_callback(trade_no, "M-QR", "45.00");
    assert_eq!(t.callback(&body, Some(&sig)).await.status(), StatusCode::OK);
    let forged = t.callback(&body, Some(&"0".repeat(64))).await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    // Webhooks: two succeeded barcode payments, one failed, the QR one.
    t.wait_for_webhooks(4).await;
    let delivered = [("result".to_string(), "delivered".to_string())].into();
    let key = ("paycore_webhook_deliveries_total".to_string(), delivered);
    let mut text = String::new();
    for _ in 0..50 {
        let r = t.client.get(t.url("/metrics")).send().await.unwrap();
        text = r.text().await.unwrap();
        if parse(&text).get(&key) == Some(&4.0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let m = parse(&text);
    let payment = |status: &str| {
        value(
            &m,
            "paycore_payments_total",
            &[
                ("tenant", "demo"),
                ("channel", "sandbox-main"),
                ("plugin", "sandbox"),
                ("version", "1.0.0"),
                ("scene", "barcode"),
                ("status", status),
            ],
        )
    };
    assert_eq!(payment("succeeded"), 2.0);
    assert_eq!(payment("failed"), 1.0);
    let qr_payment = |status: &str| {
        let labels = [
            ("tenant", "demo"),
            ("channel", "sandbox-main"),
            ("plugin", "sandbox"),
            ("version", "1.0.0"),
            ("scene", "qrcode"),
            ("status", status),
        ];
        value(&m, "paycore_payments_total", &labels)
    };
    assert_eq!(qr_payment("pending"), 1.0);
    assert_eq!(qr_payment("succeeded"), 1.0);
    let callbacks = |result: &str| {
        let labels = [
            ("tenant", "demo"),
            ("channel", "sandbox-main"),
            ("result", result),
        ];
        value(&m, "paycore_callbacks_total", &labels)
    };
    assert_eq!(callbacks("accepted"), 1.0);
    assert_eq!(callbacks("rejected"), 1.0);
    let deliveries = [("result", "delivered")];
    assert_eq!(
        value(&m, "paycore_webhook_deliveries_total", &deliveries),
        4.0
    );
    assert_eq!(value(&m, "paycore_outbox_waiting", &[]), 0.0);
    assert_eq!(value(&m, "paycore_outbox_dead_letters", &[]), 0.0);
    assert_eq!(
        value(&m, "paycore_payments_open", &[("status", "unknown")]),
        0.0
    );
    let startup = [("trigger", "startup"), ("result", "clean")];
    assert_eq!(value(&m, "paycore_reloads_total", &startup), 1.0);
    let http = |status: &str| {
        value(
            &m,
            "paycore_http_requests_total",
            &[
                ("method", "POST"),
                ("route", "/v1/payments"),
                ("status", status),
            ],
        )
    };
    assert_eq!(http("201"), 4.0);
    assert_eq!(http("200"), 1.0);
    assert_eq!(http("422"), 1.0);
    assert_eq!(http("502"), 1.0);
    let calls = |plugin: &str, op: &str, result: &str| {
        value(
            &m,
            "paycore_plugin_calls_total",
            &[
                ("plugin", plugin),
                ("version", "1.0.0"),
                ("op", op),
                ("result", result),
            ],
        )
    };
    assert_eq!(calls("sandbox", "pay", "answered"), 4.0);
    assert_eq!(calls("misbehave", "pay", "cpu_exhausted"), 1.0);
    assert_eq!(
        value(
            &m,
            "paycore_plugin_failures_total",
            &[
                ("plugin", "misbehave"),
                ("version", "1.0.0"),
                ("kind", "cpu_exhausted")
            ]
        ),
        1.0
    );
    assert_eq!(
        value(&m, "paycore_plugin_loads_total", &[("result", "loaded")]),
        2.0
    );
    let latency_count = value(
        &m,
        "paycore_plugin_call_duration_seconds_count",
        &[("plugin", "sandbox"), ("version", "1.0.0"), ("op", "pay")],
    );
    assert_eq!(latency_count, 4.0);
    assert!(
        m.keys()
            .any(|(name, _)| name == "paycore_db_pool_connections")
    );

    for secret_or_id in [
        "M-1",
        "sk_test",
        "e2e-demo-provider-key",
        "whsec",
        "134567890124",
        "pay_",
    ] {
        assert!(
            !text.contains(secret_or_id),
            "/metrics must not contain {secret_or_id}"
        );
    }
    t.stop().await;
}
