//! Traces leave over OTLP/HTTP when configured: a collector on loopback
//! receives the spans of a payment (request, routing, plugin call, host
//! HTTP), and no secret travels with them.

use axum::body::Bytes;
use axum::http::HeaderMap;
use paycore_e2e::*;
use std::sync::{Arc, Mutex};

/// What the collector received: (content type, body) per export.
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payments_spans_reach_an_otlp_collector() {
    // It installs the process's subscriber, which would trace every test.
    if ran_in_own_process() {
        return;
    }
    let received: Received = Arc::default();
    let sink = received.clone();
    let collector = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let sink = sink.clone();
            async move {
                let kind = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                sink.lock().unwrap().push((kind, body.to_vec()));
                ""
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/v1/traces", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, collector).await.unwrap() });

    let guard = paycore::telemetry::init(false, Some(&endpoint)).unwrap();
    let t = TestApp::start().await;
    let r = t.pay(barcode("OTLP-1", 8888, "134567890124")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    t.stop().await;
    // Dropping the guard flushes the batch (a blocking call).
    tokio::task::spawn_blocking(move || drop(guard))
        .await
        .unwrap();

    let batches = received.lock().unwrap().clone();
    server.abort();
    assert!(!batches.is_empty(), "the collector received nothing");
    let all: Vec<u8> = batches.iter().flat_map(|(_, b)| b.clone()).collect();
    assert!(
        batches
            .iter()
            .all(|(kind, _)| kind == "application/x-protobuf"),
        "{:?}",
        batches.iter().map(|b| &b.0).collect::<Vec<_>>()
    );
    let contains = |needle: &str| all.windows(needle.len()).any(|w| w == needle.as_bytes());
    for span in ["request", "create", "routing", "plugin_call", "host_http"] {
        assert!(contains(span), "no `{span}` span exported");
    }
    assert!(contains("paycore"), "the service name is exported");
    assert!(contains("sandbox@1.0.0"), "plugin calls carry name@version");
    for secret in [
        "e2e-demo-provider-key",
        "sk_test_demo",
        WEBHOOK_SECRET,
        "134567890124",
    ] {
        assert!(!contains(secret), "`{secret}` was exported");
    }
}
