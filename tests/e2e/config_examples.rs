//! Every example config shipped in `config/` loads and binds, so the
//! examples never rot; a broken tenant file is reported with file:line:col.

use paycore::config::{self, Overrides};
use std::path::Path;

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_config_loads_and_every_channel_binds() {
    paycore::plugin_host::install_crypto_provider();
    let mut cfg = config::load(&repo().join("config/paycore.toml"), &Overrides::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<&str> = cfg.tenants.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["acme", "demo"]);
    if let Some(dir) = std::env::var_os("PAYCORE_PLUGINS_DIR") {
        cfg.server.plugins_dir = dir.into();
    }
    let problems = paycore::app::check(&cfg, &Overrides::default())
        .await
        .unwrap()
        .problems;
    assert!(problems.is_empty(), "{problems:?}");
}

#[test]
fn a_broken_tenant_file_is_reported_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("tenants")).unwrap();
    std::fs::write(
        dir.path().join("paycore.toml"),
        "listen = \"127.0.0.1:0\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("tenants/t.toml"),
        "id = \"t\"\napi_keys = [\"sk_test_tttt\"]\n[[channels]]\nid = \"c\"\nplugin = \"sandbox@not-a-range\"\nsecrets = { api_key = \"plain-text\" }\n",
    )
    .unwrap();
    let errors = config::load(&dir.path().join("paycore.toml"), &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(
        errors.contains("t.toml:5:10: `not-a-range` is not a semver range"),
        "{errors}"
    );
    assert!(
        errors.contains("t.toml:6:23: a secret must be a reference"),
        "{errors}"
    );
    assert!(
        !errors.contains("plain-text"),
        "secrets are never echoed: {errors}"
    );
}
