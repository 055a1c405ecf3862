//! The outbound address policy: plugins and webhooks reach no loopback,
//! private or link-local address (cloud metadata among them) and plugins
//! no plain-http host unless the operator allows it; a plugin's other ways
//! out (files, environment, secrets it was not given) are closed too.

use paycore_e2e::*;

fn failure_message(r: &Reply) -> String {
    r.body["error"]["payment"]["failure"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_trying_every_way_out_is_refused_each_time() {
    // The production default: no loopback either.
    let t = TestApp::start_with(Options {
        loopback_reachable: false,
        ..Options::default()
    })
    .await;
    let r = t
        .post(
            LAB_KEY,
            "/v1/payments",
            barcode("ESCAPE-1", 1000, "1000000007"),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY, "{}", r.body);
    assert_eq!(
        r.body["error"]["payment"]["status"], "failed",
        "nothing was sent"
    );
    let message = failure_message(&r);
    for refused in [
        "env: refused",
        "secret: refused (CryptoError::UnknownKey",
        "loopback: refused",
        "metadata: refused",
    ] {
        assert!(message.contains(refused), "{refused}: {message}");
    }
    assert!(
        message.contains("127.0.0.1 is a loopback address")
            && message.contains("169.254.169.254 is a link-local address"),
        "{message}"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_that_would_read_files_is_refused_at_load() {
    let t = TestApp::start().await;
    let generation = t.admin("/admin/status").await.body["generation"]
        .as_u64()
        .unwrap();
    t.drop_plugin(
        &TestApp::test_plugin("misbehave-reads-files"),
        "misbehave-reads-files.wasm",
    );
    t.wait_for_reload(generation).await;
    let plugins = t.admin("/admin/plugins").await.body;
    let entry = plugins["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| {
            p["file"]
                .as_str()
                .unwrap()
                .ends_with("misbehave-reads-files.wasm")
        })
        .unwrap_or_else(|| panic!("not listed: {plugins}"))
        .clone();
    assert_eq!(entry["state"], "refused", "{entry}");
    assert!(
        entry["reason"]
            .as_str()
            .unwrap()
            .contains("wasi:filesystem"),
        "{entry}"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_needs_the_operators_leave() {
    // A channel reaching its provider as `localhost` over http://: loopback
    // is allowed here, but plain http only to the hosts listed.
    let tenant = TenantToml::sandbox("plain", "sk_test_plain_http")
        .channel(|_| SandboxChannel::new("sandbox-plain").allowed_hosts(&["localhost"]))
        .to_string();
    let t = TestApp::start_with(Options {
        extra_tenants: vec![("plain".into(), tenant.clone())],
        ..Options::default()
    })
    .await;
    let base = t.base.replace("127.0.0.1", "localhost");
    let tenant = tenant.replace("{public_url}", &base);
    let generation = t.admin("/admin/status").await.body["generation"]
        .as_u64()
        .unwrap();
    std::fs::write(t.tenants_dir().join("plain.toml"), tenant).unwrap();
    t.wait_for_clean_reload(generation).await;
    let r = t
        .post(
            "sk_test_plain_http",
            "/v1/payments",
            barcode("PLAIN-1", 100, "134567890124"),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY, "{}", r.body);
    let message = failure_message(&r);
    assert!(
        message.contains("plain http to `localhost` is refused"),
        "{message}"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notify_url_at_a_private_address_is_refused_when_given() {
    let t = TestApp::start().await;
    for (n, url) in [
        "http://10.0.0.7/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/hooks",
        "http://127.0.0.2/hooks",
    ]
    .into_iter()
    .enumerate()
    {
        let mut body = barcode(&format!("HOOK-{n}"), 100, "134567890124");
        body["notify_url"] = serde_json::json!(url);
        let r = t.pay(body).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{url}: {}",
            r.body
        );
        assert_eq!(r.body["error"]["field"], "notify_url", "{url}: {}", r.body);
        assert_eq!(r.code(), "notify_url_refused");
    }
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_to_a_private_address_is_refused_at_delivery() {
    // The tenant's own notify_url comes from its config, not a request:
    // only delivery can refuse it.
    let tenant = TenantToml::sandbox("inward", "sk_test_inward_hooks")
        .webhooks("inline:whsec_inward_test", "http://10.0.0.7/hooks");
    let t = TestApp::start_with(Options {
        extra_tenants: vec![tenant.file()],
        ..Options::default()
    })
    .await;
    let key = "sk_test_inward_hooks";
    let r = t
        .post(
            key,
            "/v1/payments",
            barcode("INWARD-1", 100, "134567890124"),
        )
        .await;
    assert_eq!(r.body["status"], "succeeded", "{}", r.body);
    let mut last_error = serde_json::Value::Null;
    for _ in 0..100 {
        let events = t.events(key, &r.id()).await;
        last_error = events.body["data"][0]["delivery"]["last_error"].clone();
        if !last_error.is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        last_error
            .as_str()
            .is_some_and(|e| e.starts_with("refused: 10.0.0.7 is a private address")),
        "{last_error}"
    );
    t.stop().await;
}
