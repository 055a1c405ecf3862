//! Tenant fairness: a tenant flooding past its `[limits]` gets 429 with
//! `Retry-After` while another tenant keeps paying. Latencies are printed
//! (unloaded and under the flood) and never asserted.

use paycore_e2e::*;
use std::time::{Duration, Instant};

const FLOODER_KEY: &str = "sk_test_flooder";

fn flooder() -> String {
    TenantToml::sandbox("flooder", FLOODER_KEY)
        .then("[limits]\nrequests_per_second = 50\nburst = 10\nmax_concurrent_requests = 4")
        .to_string()
}

/// Pays `n` times one after another as the demo tenant; the latencies.
async fn demo_payments(t: &TestApp, tag: &str, n: usize) -> Vec<Duration> {
    let mut latencies = Vec::new();
    for i in 0..n {
        let started = Instant::now();
        let r = t
            .pay(barcode(&format!("{tag}-{i}"), 100, "134567890124"))
            .await;
        latencies.push(started.elapsed());
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    latencies.sort();
    latencies
}

fn p99(sorted: &[Duration]) -> Duration {
    sorted[(sorted.len() * 99 / 100).min(sorted.len() - 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_tenant_gets_429s_and_the_others_keep_paying() {
    let t = TestApp::start_with(Options {
        extra_tenants: vec![("flooder".into(), flooder())],
        ..Options::default()
    })
    .await;
    let quiet = demo_payments(&t, "QUIET", 50).await;

    // 400 requests at once from the flooder, while the demo tenant pays.
    let client = reqwest::Client::new();
    let mut flood = tokio::task::JoinSet::new();
    for i in 0..400 {
        let request = client
            .post(t.url("/v1/payments"))
            .bearer_auth(FLOODER_KEY)
            .json(&barcode(&format!("FLOOD-{i}"), 100, "134567890124"));
        flood.spawn(async move {
            let r = request.send().await.unwrap();
            let retry_after = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            (r.status(), retry_after)
        });
    }
    let busy = demo_payments(&t, "BUSY", 50).await;
    let (mut admitted, mut refused) = (0, 0);
    while let Some(done) = flood.join_next().await {
        let (status, retry_after) = done.unwrap();
        match status {
            StatusCode::CREATED => admitted += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                refused += 1;
                let wait: u64 = retry_after.expect("Retry-After").parse().unwrap();
                assert!(wait >= 1, "{wait}");
            }
            other => panic!("only 201s and 429s, got {other}"),
        }
    }
    assert!(refused > 0, "the flood was never limited");
    println!(
        "flooder: {admitted} admitted, {refused} refused; demo p99 {:?} alone, {:?} during the flood",
        p99(&quiet),
        p99(&busy)
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_are_bounded_per_tenant_and_unknown_targets_look_alike() {
    let slow = flooder().replace(
        "max_concurrent_requests = 4",
        "max_concurrent_requests = 4\ncallbacks_per_second = 1",
    );
    let t = TestApp::start_with(Options {
        extra_tenants: vec![("flooder".into(), slow)],
        ..Options::default()
    })
    .await;
    // Unsigned noise: each admitted one is rejected by the plugin (401);
    // past the burst of 2, the rest never reach it.
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let r = t
            .client
            .post(t.url("/v1/callbacks/flooder/sandbox-main"))
            .body("{}")
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(r.headers().contains_key("retry-after"));
        }
        statuses.push(r.status());
    }
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(limited >= 7, "{statuses:?}");
    // Another tenant's callbacks are not affected.
    let demo = t
        .client
        .post(t.url("/v1/callbacks/demo/sandbox-main"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_ne!(demo.status(), StatusCode::TOO_MANY_REQUESTS);

    // An unknown tenant and an unknown channel get the same answer.
    let mut answers = Vec::new();
    for path in [
        "/v1/callbacks/nobody/sandbox-main",
        "/v1/callbacks/demo/nope",
    ] {
        let r = t.client.post(t.url(path)).body("{}").send().await.unwrap();
        let status = r.status();
        let mut body: serde_json::Value = r.json().await.unwrap();
        body["error"].as_object_mut().unwrap().remove("request_id");
        answers.push((status, body));
    }
    assert_eq!(answers[0].0, StatusCode::NOT_FOUND);
    assert_eq!(answers[0], answers[1]);
    t.stop().await;
}
