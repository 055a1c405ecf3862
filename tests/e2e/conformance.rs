//! The conformance suite (`paycore plugin test`) on real plugins in the real
//! host: the first-party channels pass every check that applies to them
//! (the card plugin on the suite's own ledger); each deliberately broken
//! fixture fails, with a message naming its mistake.

use paycore::conformance::{self, Report};
use paycore_e2e::{TestApp, first_party_plugin, workspace_path};
use std::path::Path;

async fn suite(wasm: &Path, profile: &str) -> Report {
    let cache = workspace_path("target/test-plugin-cache");
    conformance::run_with_cache(wasm, &workspace_path(profile), Some(cache))
        .await
        .unwrap()
}

async fn passes(plugin: &str) {
    let report = suite(
        &first_party_plugin(plugin),
        &format!("plugins/{plugin}/conformance.toml"),
    )
    .await;
    assert!(report.passed(), "{}", report.render());
    assert!(report.not_applicable().is_empty(), "{}", report.render());
    for op in ["pay", "query", "refund", "handle-callback"] {
        let figure = report.figures.iter().find(|f| f.op == op).unwrap();
        assert!(
            figure.fuel.is_some_and(|f| f > 0),
            "{op} has no instruction count"
        );
        assert!(figure.peak_memory > 0);
    }
}

/// Runs the sandbox protocol's profile on a broken fixture and returns
/// the failed checks as `name: detail`.
async fn failures(fixture: &str) -> Vec<String> {
    failures_with(fixture, "plugins/sandbox/conformance.toml").await
}

async fn failures_with(fixture: &str, profile: &str) -> Vec<String> {
    let report = suite(&TestApp::test_plugin(fixture), profile).await;
    assert!(!report.passed());
    report
        .failures()
        .iter()
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect()
}

#[tokio::test]
async fn the_sandbox_plugin_conforms() {
    passes("sandbox").await;
}

#[tokio::test]
async fn the_alipay_plugin_conforms() {
    passes("alipay").await;
}

#[tokio::test]
async fn the_wechatpay_plugin_conforms() {
    passes("wechatpay").await;
}

#[tokio::test]
async fn the_unionpay_plugin_conforms() {
    passes("unionpay").await;
}

#[tokio::test]
async fn the_ecny_plugin_conforms() {
    passes("ecny").await;
}

#[tokio::test]
async fn the_card_plugin_conforms_on_the_suites_ledger() {
    let report = suite(&first_party_plugin("card"), "plugins/card/conformance.toml").await;
    assert!(report.passed(), "{}", report.render());
    let ledger: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.name.starts_with("ledger"))
        .collect();
    assert_eq!(ledger.len(), 11, "{}", report.render());
    assert!(ledger.iter().all(|c| c.passed()), "{}", report.render());
    // It calls no host: the provider's checks are said not to apply, never
    // passed; so is the secrets check, as it is given none.
    let skipped: Vec<&str> = report
        .not_applicable()
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        skipped,
        [
            "pay answers (each scene)",
            "query / refund / query-refund / close / cancel answers",
            "money exact",
            "upstream faults after sending → unknown (pay, refund)",
            "connection refused → unavailable (pay)",
            "callback verified, tampered ones rejected",
            "no secret in logs or outputs",
        ]
    );
    assert!(report.render().contains("  N/A   money exact"));
    for op in ["pay", "query", "refund", "query-refund", "cancel"] {
        let figure = report.figures.iter().find(|f| f.op == op).unwrap();
        assert!(
            figure.fuel.is_some_and(|f| f > 0),
            "{op} has no instruction count"
        );
    }
}

#[tokio::test]
async fn a_card_payment_answered_succeeded_having_only_held_is_caught() {
    let failed = failures_with("broken-card-holding-only", "plugins/card/conformance.toml").await;
    assert_eq!(failed.len(), 2, "{failed:#?}");
    assert!(
        failed[0].starts_with(
            "ledger: pay by card code captures exactly its amount: succeeded with 0 captured for a payment of 3000 (held 3000)"
        ),
        "{failed:#?}"
    );
    assert!(
        failed[1].starts_with(
            "ledger: succeeded only with the payment captured: pay of pay_CONF000001 answered succeeded with 0 captured for 3000 (held 3000)"
        ),
        "{failed:#?}"
    );
}

#[tokio::test]
async fn a_card_plugin_crediting_during_a_query_is_caught() {
    let failed = failures_with(
        "broken-card-credit-on-query",
        "plugins/card/conformance.toml",
    )
    .await;
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert!(
        failed[0]
            .starts_with("ledger: every call within its operation's scope: during query, credit("),
        "{failed:#?}"
    );
    assert!(
        failed[0].ends_with("was refused: value is credited back only for a refund or a cancel"),
        "{failed:#?}"
    );
}

#[tokio::test]
async fn a_timeout_taken_for_a_decline_is_caught() {
    let failed = failures("broken-timeout-decline").await;
    assert_eq!(failed.len(), 2, "{failed:#?}");
    for line in &failed {
        assert!(
            line.starts_with("no answer (timeout) after sending"),
            "{line}"
        );
        assert!(line.contains("came back as declined"), "{line}");
        assert!(line.contains("it must be outcome-unknown"), "{line}");
    }
}

#[tokio::test]
async fn floating_point_yuan_are_caught() {
    let failed = failures("broken-float-yuan").await;
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert!(
        failed[0].starts_with("money exact (CNY): 999999999 minor units"),
        "{failed:?}"
    );
    assert!(
        failed[0].contains("money conversion is not exact"),
        "{failed:?}"
    );
}

#[tokio::test]
async fn a_plugin_that_believes_tampered_callbacks_is_caught() {
    let failed = failures("broken-accept-tampered").await;
    assert_eq!(failed.len(), 2, "{failed:#?}");
    assert!(
        failed[0].starts_with(
            "callback with a tampered signature rejected: accepted a tampered callback"
        )
    );
    assert!(
        failed[1]
            .starts_with("callback with a tampered amount rejected: accepted a tampered callback")
    );
}

/// A plugin that calls no host, on a profile with no cards to play: not
/// one check tested what it does, so the run fails.
#[tokio::test]
async fn a_plugin_with_neither_a_provider_nor_a_ledger_to_play_fails() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("empty.conformance.toml");
    std::fs::write(&profile, "").unwrap();
    let report = conformance::run(&first_party_plugin("card"), &profile)
        .await
        .unwrap();
    let failed = report.failures();
    assert_eq!(failed.len(), 1, "{}", report.render());
    assert_eq!(failed[0].name, "something to play");
}

#[tokio::test]
async fn a_file_that_is_not_a_plugin_fails_the_manifest_check() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("empty.wasm");
    std::fs::write(&wasm, b"\0asm\x01\0\0\0").unwrap();
    let report = suite(&wasm, "plugins/sandbox/conformance.toml").await;
    let failed = report.failures();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].name, "manifest complete, version semver");
    assert!(failed[0].detail.starts_with("the plugin does not load"));
}
