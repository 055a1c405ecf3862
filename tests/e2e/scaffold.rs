//! `paycore plugin new` end to end, as a newcomer outside this repository
//! would use it with nothing but the `paycore` binary: generate the crate in
//! an empty temporary folder, run its native unit tests, build it with the
//! command `plugin new` prints, run the conformance suite on the `.wasm`
//! with its default profile, drop it into a running paycore and take a
//! payment through it.
//!
//! The crate brings the SDK the binary embeds (`paycore-plugin-sdk/`) and a
//! `Cargo.lock` pinned to this workspace's versions, so cargo needs only the
//! registry's crates this workspace already uses. Its `target/` is a link
//! to `target/scaffold` here, so dependencies compile once across runs; the
//! commands and paths are the crate's own.

use paycore::scaffold;
use paycore_e2e::*;
use std::path::Path;
use std::process::Command;

const NAME: &str = "acme-pay";

#[tokio::test]
async fn a_generated_plugin_builds_conforms_and_serves_a_payment() {
    let dir = tempfile::tempdir().unwrap();
    let crate_dir = dir.path().join(NAME);
    let written = scaffold::generate(NAME, &crate_dir).unwrap();
    assert!(written.contains(&"Cargo.lock".to_string()), "{written:?}");
    assert!(
        !crate_dir.starts_with(workspace_path("").canonicalize().unwrap()),
        "outside this source tree"
    );
    let cargo_toml = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap();
    assert!(cargo_toml.contains("\n[workspace]\n"), "{cargo_toml}");
    assert!(
        cargo_toml.contains("paycore-plugin-sdk = { path = \"paycore-plugin-sdk\" }"),
        "{cargo_toml}"
    );
    let lock_before = std::fs::read_to_string(crate_dir.join("Cargo.lock")).unwrap();
    link_target(&crate_dir.join("target"));

    let run = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .current_dir(&crate_dir)
            // The crate's own target/, whatever the environment says.
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_BUILD_TARGET_DIR")
            .status()
            .unwrap()
            .success()
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    assert!(
        run(&cargo, &["test", "--lib"]),
        "the generated unit tests pass natively"
    );
    let [program, args @ ..] = scaffold::BUILD;
    let program = if program == "cargo" {
        cargo.as_str()
    } else {
        program
    };
    assert!(run(program, &args), "the generated crate builds to wasm");
    assert_pinned(
        &lock_before,
        &std::fs::read_to_string(crate_dir.join("Cargo.lock")).unwrap(),
    );
    let wasm = crate_dir.join(scaffold::wasm_file(NAME));

    // What `paycore plugin test target/wasm32-wasip2/release/acme_pay.wasm` runs.
    let profile = paycore::conformance::profile_for(&wasm);
    assert_eq!(profile, crate_dir.join("conformance.toml"));
    let report = paycore::conformance::run_with_cache(
        &wasm,
        &profile,
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

/// `target` → this workspace's `target/scaffold`, kept across runs.
fn link_target(target: &Path) {
    let shared = workspace_path("target/scaffold");
    std::fs::create_dir_all(&shared).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&shared, target).unwrap();
    #[cfg(not(unix))]
    let _ = target;
}

/// Cargo kept every version the generated lock file pinned: it may only
/// drop packages this crate's features do not need.
fn assert_pinned(generated: &str, after_build: &str) {
    // Each `[[package]]` entry starts with its name and version lines.
    let packages = |lock: &str| -> Vec<(String, String)> {
        let value = |line: &str, key: &str| {
            line.strip_prefix(key)
                .map(|v| v.trim_matches('"').to_string())
        };
        let lines: Vec<&str> = lock.lines().collect();
        lines
            .windows(2)
            .filter_map(|w| Some((value(w[0], "name = ")?, value(w[1], "version = ")?)))
            .collect()
    };
    let pinned = packages(generated);
    for package in packages(after_build) {
        assert!(pinned.contains(&package), "{package:?} was not pinned");
    }
}
