//! `paycore check-config` on fixture folders of bad tenant files: the exact
//! messages, each at its file:line:column, every problem at once; and the
//! same completeness from a reload, in `/admin/status`.

use expect_test::{ExpectFile, expect_file};
use paycore::config::{self, Overrides};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/check-config")
}

/// What `paycore check-config --config <fixture>/paycore.toml` prints:
/// without a readable paycore.toml, the files' own problems; else every
/// problem the reloader's checks find (the files' and published tenants',
/// then the plugins', then the bindings'), with paths relative to the
/// fixtures folder. The fixtures name no database, and the SQLite file
/// they default to does not exist, so nothing is published there.
async fn check_config(fixture: &str) -> String {
    paycore::plugin_host::install_crypto_provider();
    let file = fixtures().join(fixture).join("paycore.toml");
    let overrides = Overrides::default();
    let partial = config::load_partial(&file, &overrides, Default::default());
    let lines: Vec<String> = match partial.config {
        Some(mut cfg) => {
            cfg.server.plugins_dir = std::env::var_os("PAYCORE_PLUGINS_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/plugins"));
            // Compiled code goes to the shared test cache, never into the fixture.
            cfg.server.plugin_cache_dir =
                Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-plugin-cache"));
            paycore::app::check(&cfg, &overrides)
                .await
                .unwrap()
                .problems
        }
        None => partial.errors.0.iter().map(ToString::to_string).collect(),
    };
    assert!(
        !fixtures().join(fixture).join("paycore.db").exists(),
        "checking creates no database"
    );
    let prefix = format!("{}/", fixtures().display());
    let mut out = lines.join("\n").replace(&prefix, "");
    out.push('\n');
    out
}

async fn check(fixture: &str, expected: ExpectFile) {
    expected.assert_eq(&check_config(fixture).await);
}

#[tokio::test]
async fn bad_routing_rules_are_each_reported_where_they_are_written() {
    check(
        "bad-rules",
        expect_file!["../fixtures/check-config/bad-rules/expected.txt"],
    )
    .await;
}

/// Card programmes that break the schema and CN's prepaid card rules: the
/// reading's problems (an unknown key, a float for money) and the checks'
/// together, each at its value, a key written wrong never also missing.
#[tokio::test]
async fn bad_card_programmes_are_each_reported_where_they_are_written() {
    check(
        "bad-card-programs",
        expect_file!["../fixtures/check-config/bad-card-programs/expected.txt"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_no_channel_can_ever_serve_are_reported_once_plugins_load() {
    check(
        "unservable",
        expect_file!["../fixtures/check-config/unservable/expected.txt"],
    )
    .await;
}

/// Numbers out of range, secrets that are empty, short, endless or not
/// files, and channel settings that do not fit their plugin's description.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_values_and_settings_are_each_reported_where_they_are_written() {
    check(
        "refused-values",
        expect_file!["../fixtures/check-config/refused-values/expected.txt"],
    )
    .await;
}

/// Several things broken in one tenant file, and a setting of another that
/// its plugin refuses: one reload lists every one of them, each where it
/// is written, and the config that served keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_reload_lists_every_problem_with_its_location() {
    use paycore_e2e::*;
    let t = TestApp::start().await;
    let demo = t.tenants_dir().join("demo.toml");
    std::fs::write(
        &demo,
        r#"id = "demo"
api_keys = ["sk_test_demo"]
colour = 1
notify_url = 5
webhook_secret = "inline:"
[limits]
requests_per_second = 0
[[channels]]
id = "sandbox-main"
plugin = "sandbox@^1"
allowed_hosts = ["127.0.0.1"]
settings = { base_url = "{public_url}/sandbox", merchant_id = "sbx_demo" }
secrets = { api_key = "file:/dev/zero" }
"#,
    )
    .unwrap();
    let other = t.tenants_dir().join("settings-check.toml");
    std::fs::write(
        &other,
        r#"id = "settings-check"
api_keys = ["sk_test_settings_check"]
[[channels]]
id = "sbx"
plugin = "sandbox@^1"
allowed_hosts = ["127.0.0.1"]
settings = { base_url = "not a url", merchant_id = "m" }
secrets = { api_key = "inline:k" }
"#,
    )
    .unwrap();

    let reloaded = t.post("adm_test_e2e", "/admin/reload", json!({})).await;
    assert_eq!(reloaded.status, StatusCode::OK, "{}", reloaded.body);
    let status = t.admin("/admin/status").await;
    assert_eq!(status.body["config_current"], false, "{}", status.body);
    let errors: Vec<String> = status.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect();
    let (demo, other) = (demo.display(), other.display());
    let expected = [
        format!("config refused: {demo}:3:1: unknown field `colour`"),
        format!("config refused: {demo}:4:14: invalid type: integer `5`, expected a string"),
        format!("config refused: {demo}:5:18: the webhook secret is empty"),
        format!("config refused: {demo}:7:23: must be between 1 and 1000000"),
        format!(
            "config refused: {demo}:13:23: secret file `/dev/zero` is a character device, not a regular file"
        ),
        format!(
            "config refused: {other}:7:25: channel `sbx`: setting `base_url` must be an absolute http:// or https:// URL (plugin sandbox@1.0.0)"
        ),
    ];
    for e in &expected {
        assert!(
            errors.iter().any(|got| got.starts_with(e.as_str())),
            "missing {e:?} in {errors:#?}"
        );
    }
    assert_eq!(errors.len(), expected.len(), "{errors:#?}");

    // Refused whole: the tenant keeps being served as it was.
    let paid = t.pay(barcode("STATUS-ALL-1", 100, "134567890124")).await;
    assert_eq!(paid.body["status"], "succeeded", "{}", paid.body);
    t.stop().await;
}

/// `check-config` and `route explain` see what a server started now would
/// serve: a tenant config and a plugin build published to the database,
/// in no folder, the tenant bound to the published build.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_and_route_explain_see_published_tenants_and_plugins() {
    use paycore_e2e::*;
    let t = TestApp::start().await;
    let overrides = Overrides::default();
    let cfg = config::load(&t.config_file(), &overrides).unwrap();
    let before = paycore::app::check(&cfg, &overrides).await.unwrap();
    assert!(before.problems.is_empty(), "{:#?}", before.problems);
    assert!(before.registry.tenant("published").is_none());

    let publishing =
        paycore::publishing::config_for_publishing(&t.config_file(), &overrides).unwrap();
    let published =
        paycore::publishing::publish_plugin(&publishing, &TestApp::test_plugin("sandbox-1.1.0"))
            .await
            .unwrap();
    assert!(
        published.starts_with("published sandbox@1.1.0"),
        "{published}"
    );
    let scratch = tempfile::tempdir().unwrap();
    let key = scratch.path().join("provider.key");
    std::fs::write(&key, "e2e-demo-provider-key").unwrap();
    let tenant = scratch.path().join("published.toml");
    std::fs::write(
        &tenant,
        format!(
            r#"id = "published"
api_keys = ["sk_test_published"]
[[channels]]
id = "sbx-new"
plugin = "sandbox@^1.1"
allowed_hosts = ["127.0.0.1"]
settings = {{ base_url = "{{public_url}}/sandbox", merchant_id = "sbx_demo" }}
secrets = {{ api_key = "file:{}" }}
"#,
            key.display()
        ),
    )
    .unwrap();
    paycore::publishing::publish_tenant(&t.config_file(), &overrides, &tenant)
        .await
        .unwrap()
        .unwrap();

    let after = paycore::app::check(&cfg, &overrides).await.unwrap();
    assert!(after.problems.is_empty(), "{:#?}", after.problems);
    assert_eq!(after.tenants, before.tenants + 1);
    let bound = after
        .registry
        .tenant("published")
        .expect("the published tenant is checked")
        .channel("sbx-new")
        .expect("its channel binds");
    assert_eq!(bound.plugin.label(), "sandbox@1.1.0", "the published build");

    let payment = barcode("PUB-1", 100, "134567890124");
    let explained = paycore::app::explain(
        &cfg,
        &overrides,
        "published",
        payment.to_string().as_bytes(),
    )
    .await
    .unwrap();
    let explained = serde_json::to_value(explained).unwrap();
    assert_eq!(explained["channel"], "sbx-new", "{explained}");

    // A published tenant bound to what nothing serves is reported, at the
    // line of its published config.
    std::fs::write(
        &tenant,
        std::fs::read_to_string(&tenant)
            .unwrap()
            .replace("sandbox@^1.1", "sandbox@^1.5"),
    )
    .unwrap();
    paycore::publishing::publish_tenant(&t.config_file(), &overrides, &tenant)
        .await
        .unwrap()
        .unwrap();
    let problems = paycore::app::check(&cfg, &overrides)
        .await
        .unwrap()
        .problems;
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].contains("sbx-new") && problems[0].contains("sandbox@^1.5"),
        "{problems:#?}"
    );
    t.stop().await;
}
