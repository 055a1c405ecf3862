//! The plugin sandbox: a purpose-built misbehaving plugin loops, eats
//! memory, traps, calls an ungranted host, traps after sending, and lies
//! about the amount. Each fails only its own call with its own clear error,
//! and the next call to a healthy plugin still succeeds.

use paycore_e2e::*;

fn lab(order_no: &str, auth_code: &str) -> serde_json::Value {
    barcode(order_no, 1000, auth_code)
}

async fn misbehave(t: &TestApp, order_no: &str, code: &str) -> Reply {
    t.post(LAB_KEY, "/v1/payments", lab(order_no, code)).await
}

/// The next calls, to the same plugin and to another, still work.
async fn healthy_calls_still_succeed(t: &TestApp, tag: &str) {
    let ok = misbehave(t, &format!("{tag}-OK"), "1000000000").await;
    assert_eq!(ok.body["status"], "succeeded", "{}", ok.body);
    let sandbox = t
        .pay(barcode(&format!("{tag}-SBX"), 100, "134567890124"))
        .await;
    assert_eq!(sandbox.body["status"], "succeeded", "{}", sandbox.body);
}

fn failure_message(r: &Reply) -> String {
    r.body["error"]["payment"]["failure"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_infinite_loop_is_stopped_by_the_cpu_budget() {
    let t = TestApp::start().await;
    let r = misbehave(&t, "LOOP-1", "1000000001").await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY, "{}", r.body);
    assert_eq!(r.code(), "channel_unavailable");
    assert_eq!(
        r.body["error"]["payment"]["status"], "failed",
        "nothing left the sandbox, so no money moved"
    );
    let message = failure_message(&r);
    assert!(
        message.contains("misbehave@1.0.0") && message.contains("CPU budget"),
        "{message}"
    );
    healthy_calls_still_succeed(&t, "LOOP").await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_bomb_is_stopped_by_the_memory_cap() {
    let t = TestApp::start().await;
    let r = misbehave(&t, "BOMB-1", "1000000002").await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY, "{}", r.body);
    assert_eq!(r.body["error"]["payment"]["status"], "failed");
    let message = failure_message(&r);
    assert!(message.contains("memory limit of 32 MiB"), "{message}");
    healthy_calls_still_succeed(&t, "BOMB").await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trap_fails_only_its_call() {
    let t = TestApp::start().await;
    let r = misbehave(&t, "TRAP-1", "1000000003").await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY, "{}", r.body);
    assert_eq!(r.body["error"]["payment"]["status"], "failed");
    assert!(failure_message(&r).contains("trapped"), "{}", r.body);
    healthy_calls_still_succeed(&t, "TRAP").await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calling_an_ungranted_host_is_refused_by_the_host() {
    let t = TestApp::start().await;
    let r = misbehave(&t, "HOST-1", "1000000004").await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY, "{}", r.body);
    assert_eq!(r.body["error"]["payment"]["status"], "failed");
    let message = failure_message(&r);
    assert!(
        message.contains("203.0.113.9") && message.contains("not granted"),
        "{message}"
    );
    healthy_calls_still_succeed(&t, "HOST").await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trap_after_a_request_left_makes_the_payment_unknown_not_failed() {
    let t = TestApp::start().await;
    let r = misbehave(&t, "SENT-1", "1000000005").await;
    assert_eq!(r.code(), "outcome_unknown", "{}", r.body);
    assert_eq!(r.body["error"]["payment"]["status"], "unknown");
    // The query settles it (the test plugin's query reports success).
    let id = r.body["error"]["payment"]["id"].as_str().unwrap();
    let synced = t
        .post(LAB_KEY, &format!("/v1/payments/{id}/sync"), json!({}))
        .await;
    assert_eq!(synced.body["status"], "succeeded", "{}", synced.body);
    healthy_calls_still_succeed(&t, "SENT").await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_lying_about_the_amount_is_not_believed() {
    let t = TestApp::start().await;
    let r = misbehave(&t, "LIE-1", "1000000006").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        r.body["status"], "unknown",
        "no success is recorded on a lie"
    );
    assert!(
        r.body["review_reason"].as_str().unwrap().contains("1001"),
        "{}",
        r.body
    );
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
            "payment.answer_refused"
        ]
    );
    healthy_calls_still_succeed(&t, "LIE").await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_lists_loaded_plugins_with_digests() {
    let t = TestApp::start().await;
    let anonymous = t.get("sk_test_demo", "/admin/plugins").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let r = t.get("adm_test_e2e", "/admin/plugins").await;
    assert_eq!(r.status, StatusCode::OK);
    let names: Vec<&str> = r.body["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["misbehave", "sandbox"]);
    let sandbox = &r.body["plugins"][1];
    assert_eq!(sandbox["contract_version"], "1.1.0");
    assert!(sandbox["digest"].as_str().unwrap().starts_with("sha256:"));
    let ready = t.get("", "/readyz").await;
    assert_eq!(ready.status, StatusCode::OK);
    t.stop().await;
}
