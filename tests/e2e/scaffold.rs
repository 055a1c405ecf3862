//! `paycore plugin new` end to end, as a newcomer outside this repository
//! would use it: generate the crate in a temporary folder, run its native
//! unit tests, build it to wasm with cargo, run the conformance suite on
//! it, drop it into a running paycore and take a payment through it.
//!
//! Outside the source tree the crate depends on the SDK by registry
//! version; the test points that version at this tree's SDK with a
//! `[patch]`, and pins dependency versions with this workspace's lock file,
//! so nothing is downloaded and deps compile once into `target/scaffold`.

use paycore::scaffold::{self, Sdk};
use paycore_e2e::*;
use std::process::Command;

const NAME: &str = "acme-pay";

#[tokio::test]
async fn a_generated_plugin_builds_conforms_and_serves_a_payment() {
    let dir = tempfile::tempdir().unwrap();
    let crate_dir = dir.path().join(NAME);
    let sdk = scaffold::default_sdk(&crate_dir);
    assert_eq!(
        sdk,
        Sdk::Version("0.1.0".into()),
        "outsiders get the registry version"
    );
    scaffold::generate(NAME, &crate_dir, &sdk).unwrap();

    let manifest = crate_dir.join("Cargo.toml");
    let mut cargo_toml = std::fs::read_to_string(&manifest).unwrap();
    cargo_toml.push_str(&format!(
        "\n[patch.crates-io]\npaycore-plugin-sdk = {{ path = \"{}\" }}\n",
        workspace_path("plugin-sdk").display()
    ));
    std::fs::write(&manifest, cargo_toml).unwrap();
    std::fs::copy(workspace_path("Cargo.lock"), crate_dir.join("Cargo.lock")).unwrap();

    let cargo = |args: &[&str]| {
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(args)
            .current_dir(&crate_dir)
            .env("CARGO_TARGET_DIR", workspace_path("target/scaffold"))
            .status()
            .unwrap()
            .success()
    };
    assert!(
        cargo(&["test", "--lib"]),
        "the generated unit tests pass natively"
    );
    assert!(
        cargo(&["build", "--release", "--target", "wasm32-wasip2"]),
        "the generated crate builds to wasm"
    );
    let wasm = workspace_path("target/scaffold/wasm32-wasip2/release/acme_pay.wasm");

    let report = paycore::conformance::run_with_cache(
        &wasm,
        &crate_dir.join("conformance.toml"),
        Some(workspace_path("target/test-plugin-cache")),
    )
    .await
    .unwrap();
    assert!(report.passed(), "{}", report.render());

    let t = TestApp::start().await;
    let generation = t.admin("/admin/status").await.body["generation"]
        .as_u64()
        .unwrap();
    t.drop_plugin(&wasm, "acme-pay.wasm");
    std::fs::write(
        t.tenants_dir().join("kit.toml"),
        r#"
id = "kit"
api_keys = ["sk_test_kit"]
[[channels]]
id = "acme-pay"
plugin = "acme-pay@^0.1"
allowed_hosts = ["127.0.0.1"]
settings = { base_url = "{public_url}/sandbox", merchant_id = "sbx_demo" }
secrets = { api_key = "inline:e2e-demo-provider-key" }
"#,
    )
    .unwrap();
    t.wait_for_clean_reload(generation).await;

    let mut body = barcode("KIT-1", 8888, "134567890124");
    body["wallet"] = json!("acmepay");
    let paid = t.post("sk_test_kit", "/v1/payments", body).await;
    assert_eq!(paid.status.as_u16(), 201, "{}", paid.body);
    assert_eq!(paid.body["status"], "succeeded", "{}", paid.body);
    assert_eq!(paid.body["amount"], 8888);
    assert_eq!(paid.body["plugin"]["name"], NAME, "{}", paid.body);
    t.stop().await;
}
