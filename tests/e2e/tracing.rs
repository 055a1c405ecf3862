//! The trace of one payment: request → create → routing, and
//! request → create → plugin call → host HTTP, with the request id on every
//! line, and no secret or payer identifier anywhere in the output.

use paycore_e2e::*;
use serde_json::Value;

fn span_names(line: &Value) -> Vec<String> {
    line["spans"]
        .as_array()
        .map(|s| {
            s.iter()
                .map(|x| x["name"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_payment_traces_through_routing_the_plugin_and_its_http() {
    // It installs the process's subscriber, which would log every test.
    if ran_in_own_process() {
        return;
    }
    let capture = LogCapture::default();
    tracing_subscriber::fmt()
        .json()
        .with_span_list(true)
        .with_current_span(false)
        .with_env_filter("paycore=debug,paycore_sandbox_provider=debug")
        .with_writer(capture.clone())
        .init();

    let t = TestApp::start().await;
    let mut body = barcode("TRACE-1", 8888, "134567890124");
    body["payer"] = json!({ "app_id": "wx-app-secretish", "open_id": "o-payer-identity", "buyer_id": "2088-buyer-identity" });
    let r = t.pay(body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let request_id = r.header("paycore-request-id").unwrap().to_string();
    t.stop().await;

    let text = String::from_utf8(capture.bytes()).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of_request: Vec<&Value> = lines
        .iter()
        .filter(|l| {
            l["spans"].as_array().is_some_and(|s| {
                s.first()
                    .is_some_and(|x| x["request_id"] == request_id.as_str())
            })
        })
        .collect();
    assert!(
        !of_request.is_empty(),
        "no lines carry the request id {request_id}:\n{text}"
    );

    let find = |message: &str| {
        of_request
            .iter()
            .find(|l| l["fields"]["message"] == message)
            .unwrap_or_else(|| panic!("no `{message}` event in the request:\n{text}"))
    };
    let route = find("route chosen");
    assert_eq!(span_names(route), ["request", "create", "routing"]);
    assert_eq!(route["fields"]["channel"], "sandbox-main");

    let http = find("upstream answered");
    assert_eq!(
        span_names(http),
        ["request", "create", "plugin_call", "host_http"]
    );
    let spans = http["spans"].as_array().unwrap();
    assert_eq!(spans[1]["tenant"], "demo");
    assert_eq!(spans[1]["channel"], "sandbox-main");
    assert!(spans[1]["payment_id"].as_str().unwrap().starts_with("pay_"));
    assert_eq!(spans[2]["plugin"], "sandbox@1.0.0");
    assert_eq!(spans[2]["op"], "pay");
    assert_eq!(spans[3]["method"], "POST");
    assert_eq!(spans[3]["host"], "127.0.0.1");
    assert_eq!(spans[3]["status"], 200);

    for forbidden in [
        "e2e-demo-provider-key",
        "sk_test_demo",
        WEBHOOK_SECRET,
        "134567890124",
        "o-payer-identity",
        "2088-buyer-identity",
        "wx-app-secretish",
    ] {
        assert!(
            !text.contains(forbidden),
            "`{forbidden}` leaked into the logs"
        );
    }
}
