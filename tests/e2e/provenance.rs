//! Plugin provenance: under `[plugin_policy] require_signature`, an unsigned
//! plugin and one signed by an untrusted key are refused with the reason at
//! `/admin/plugins`, and one signed by a trusted publisher serves; a channel
//! pinned to a digest binds that build only.

use paycore::provenance;
use paycore_e2e::*;

fn plugin_entry(plugins: &serde_json::Value, file: &str) -> serde_json::Value {
    plugins["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["file"].as_str().unwrap().ends_with(file))
        .unwrap_or_else(|| panic!("{file} is not listed: {plugins}"))
        .clone()
}

async fn generation(t: &TestApp) -> u64 {
    t.admin("/admin/status").await.body["generation"]
        .as_u64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_plugins_signed_by_a_trusted_publisher_load() {
    let (trusted_secret, trusted) = provenance::keygen();
    let (stranger_secret, _) = provenance::keygen();
    let t = TestApp::start_with(Options {
        extra_server_toml: format!(
            "[plugin_policy]\nrequire_signature = true\ntrusted_publishers = [\"{trusted}\"]\n"
        ),
        ..Options::default()
    })
    .await;
    let plugins = t.admin("/admin/plugins").await.body;
    let unsigned = plugin_entry(&plugins, "/sandbox.wasm");
    assert_eq!(unsigned["state"], "refused", "{unsigned}");
    assert!(
        unsigned["reason"].as_str().unwrap().contains("not signed"),
        "{unsigned}"
    );
    let r = t.pay(barcode("SIGNED-0", 100, "134567890124")).await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "nothing serves: {}",
        r.body
    );

    let wasm = std::fs::read(TestApp::test_plugin("sandbox-1.1.0")).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    for (name, secret) in [
        ("sandbox-stranger.wasm", &stranger_secret),
        ("sandbox-trusted.wasm", &trusted_secret),
    ] {
        let signed = scratch.path().join(name);
        std::fs::write(&signed, provenance::sign(&wasm, secret).unwrap()).unwrap();
        let g = generation(&t).await;
        t.drop_plugin(&signed, name);
        t.wait_for_reload(g).await;
    }
    let plugins = t.admin("/admin/plugins").await.body;
    let stranger = plugin_entry(&plugins, "sandbox-stranger.wasm");
    assert_eq!(stranger["state"], "refused", "{stranger}");
    assert!(
        stranger["reason"]
            .as_str()
            .unwrap()
            .contains("not among [plugin_policy] trusted_publishers"),
        "{stranger}"
    );
    assert_eq!(
        plugin_entry(&plugins, "sandbox-trusted.wasm")["state"],
        "live"
    );
    let r = t.pay(barcode("SIGNED-1", 100, "134567890124")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["plugin"]["version"], "1.1.0");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_channel_binds_only_the_pinned_build() {
    use sha2::{Digest, Sha256};
    let wasm = std::fs::read(TestApp::test_plugin("sandbox-1.1.0")).unwrap();
    let newer = hex::encode(Sha256::digest(&wasm));
    let pinned = |digest: &str| {
        TenantToml::sandbox("pinned", "sk_test_pinned_tenant")
            .channel(|c| c.line(&format!("plugin_sha256 = \"{digest}\"")))
            .to_string()
    };
    // Pinned to 1.1.0, which is not loaded yet: the channel does not bind.
    let t = TestApp::start_with(Options {
        extra_tenants: vec![("pinned".into(), pinned(&newer))],
        ..Options::default()
    })
    .await;
    let status = t.admin("/admin/status").await.body;
    assert!(
        status["errors"]
            .to_string()
            .contains("not the pinned sha256:"),
        "{status}"
    );
    let g = generation(&t).await;
    t.drop_plugin(&TestApp::test_plugin("sandbox-1.1.0"), "sandbox-1.1.0.wasm");
    t.wait_for_reload(g).await;
    let r = t
        .post(
            "sk_test_pinned_tenant",
            "/v1/payments",
            barcode("PIN-1", 100, "134567890124"),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["plugin"]["version"], "1.1.0");
    t.stop().await;
}
