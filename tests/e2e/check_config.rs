//! `paycore check-config` on fixture folders of bad tenant files: the exact
//! messages, each at its file:line:column, every problem at once.

use expect_test::{ExpectFile, expect_file};
use paycore::config::{self, Overrides};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/check-config")
}

/// What `paycore check-config --config <fixture>/paycore.toml` prints (the
/// files' own problems, then the plugins' and the bindings' of what
/// validated), with paths relative to the fixtures folder.
async fn check_config(fixture: &str) -> String {
    paycore::plugin_host::install_crypto_provider();
    let file = fixtures().join(fixture).join("paycore.toml");
    let partial = config::load_partial(&file, &Overrides::default(), Default::default());
    let mut lines: Vec<String> = partial.errors.0.iter().map(ToString::to_string).collect();
    if let Some(mut cfg) = partial.config {
        cfg.server.plugins_dir = std::env::var_os("PAYCORE_PLUGINS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/plugins"));
        // Compiled code goes to the shared test cache, never into the fixture.
        cfg.server.plugin_cache_dir =
            Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-plugin-cache"));
        lines.extend(paycore::app::check(&cfg).await.unwrap());
    }
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_no_channel_can_ever_serve_are_reported_once_plugins_load() {
    check(
        "unservable",
        expect_file!["../fixtures/check-config/unservable/expected.txt"],
    )
    .await;
}
