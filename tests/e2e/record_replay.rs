//! Recording a channel's plugin calls through the admin API and replaying
//! them on other versions: the same version replays clean, a version whose
//! mapping changed shows the difference; with `replay_before_upgrade`, the
//! reload pipeline holds such a version until the operator approves it.

use paycore::plugin_host::{PluginHost, read_recording};
use paycore_e2e::*;

/// Two payments on the demo tenant's sandbox channel: one paid, one declined.
async fn traffic(t: &TestApp, key: &str, prefix: &str) {
    for (n, code, status) in [
        (1, "134567890124", "succeeded"),
        (2, "134567890121", "failed"),
    ] {
        let r = t
            .post(
                key,
                "/v1/payments",
                barcode(&format!("{prefix}-{n}"), 1234, code),
            )
            .await;
        assert_eq!(r.body["status"], status, "{}", r.body);
    }
}

async fn admin_call(t: &TestApp, method: reqwest::Method, path: &str) -> Reply {
    t.send(
        reqwest::Client::new()
            .request(method, t.url(path))
            .bearer_auth("adm_test_e2e"),
    )
    .await
}

#[tokio::test]
async fn a_recording_replays_clean_on_its_version_and_shows_a_changed_mapping() {
    let t = TestApp::start().await;
    let path = "/admin/channels/demo/sandbox-main/recording";
    let started = admin_call(&t, reqwest::Method::POST, path).await;
    assert_eq!(started.status.as_u16(), 200, "{}", started.body);
    traffic(&t, DEMO_KEY, "REC").await;
    let stopped = admin_call(&t, reqwest::Method::DELETE, path).await;
    assert_eq!(stopped.body["calls"], 2, "{}", stopped.body);
    let file = std::path::PathBuf::from(stopped.body["recording"].as_str().unwrap());

    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        !text.contains("e2e-demo-provider-key"),
        "no secret in the recording"
    );
    let calls = read_recording(&file).unwrap();
    assert_eq!(calls.len(), 2);
    assert!(calls.iter().all(|c| c.plugin == "sandbox@1.0.0"));

    let host = PluginHost::new(Default::default()).unwrap();
    let same = host
        .load_file(&first_party_plugin("sandbox"))
        .await
        .unwrap();
    let report = paycore::replay::replay(&host, &same, &calls).await;
    assert!(report.clean(), "{}", report.render());

    let remapped = host
        .load_file(&TestApp::test_plugin("sandbox-1.2.0-remapped"))
        .await
        .unwrap();
    let report = paycore::replay::replay(&host, &remapped, &calls).await;
    assert_eq!(report.differences.len(), 1, "{}", report.render());
    let d = &report.differences[0];
    assert_eq!((d.call, d.op, d.subject.as_str()), (2, "pay", "REC-2"));
    assert!(d.diff.contains(r#""code":"declined""#), "{}", d.diff);
    assert!(
        d.diff.contains(r#""code":"insufficient_funds""#),
        "{}",
        d.diff
    );
    t.stop().await;
}

/// A tenant whose channel replays its last 20 calls before an upgrade.
fn gated() -> TenantToml {
    TenantToml::sandbox("gated", "sk_test_gated").channel(|c| c.line("replay_before_upgrade = 20"))
}

fn state_of<'a>(plugins: &'a Reply, version: &str) -> (&'a str, &'a str) {
    let p = plugins.body["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "sandbox" && p["version"] == version)
        .unwrap_or_else(|| panic!("sandbox {version} in {}", plugins.body));
    (
        p["state"].as_str().unwrap(),
        p["reason"].as_str().unwrap_or(""),
    )
}

#[tokio::test]
async fn a_version_that_changes_outcomes_is_held_with_the_diff_until_approved() {
    let mut opts = Options::default();
    opts.extra_tenants.push(gated().file());
    let t = TestApp::start_with(opts).await;
    traffic(&t, "sk_test_gated", "GATE").await;

    let generation = t.admin("/admin/status").await.body["generation"]
        .as_u64()
        .unwrap();
    t.drop_plugin(
        &TestApp::test_plugin("sandbox-1.2.0-remapped"),
        "sandbox-1.2.0.wasm",
    );
    t.wait_for_reload(generation).await;
    let plugins = t.admin("/admin/plugins").await;
    let (state, reason) = state_of(&plugins, "1.2.0");
    assert_eq!(state, "held_by_replay", "{reason}");
    assert!(
        reason.contains("2 recorded calls replayed on sandbox@1.2.0: 1 changed"),
        "{reason}"
    );
    assert!(reason.contains("insufficient_funds"), "{reason}");
    let paid = t
        .post(
            "sk_test_gated",
            "/v1/payments",
            barcode("GATE-3", 100, "134567890124"),
        )
        .await;
    assert_eq!(
        paid.body["plugin"]["version"], "1.0.0",
        "the held version does not serve"
    );

    // A version that decides the same replays clean and goes live.
    let generation = t.admin("/admin/status").await.body["generation"]
        .as_u64()
        .unwrap();
    t.drop_plugin(&TestApp::test_plugin("sandbox-1.1.0"), "sandbox-1.1.0.wasm");
    t.wait_for_reload(generation).await;
    assert_eq!(
        state_of(&t.admin("/admin/plugins").await, "1.1.0").0,
        "live"
    );

    let approved = admin_call(
        &t,
        reqwest::Method::POST,
        "/admin/plugins/sandbox@1.2.0/approve",
    )
    .await;
    assert_eq!(approved.status.as_u16(), 200, "{}", approved.body);
    assert_eq!(
        state_of(&t.admin("/admin/plugins").await, "1.2.0").0,
        "live"
    );
    t.stop().await;
}

/// A card channel's calls carry its ledger calls: replayed on the same
/// version, each is answered as recorded, so the payments replay clean.
#[tokio::test]
async fn a_card_channel_replays_clean_with_its_ledger_calls_answered_as_recorded() {
    use paycore_e2e::ledger::{issue_promotional, pay_with_card};
    const KEY: &str = "sk_test_replay_cards";
    let tenant = TenantToml::sandbox("cards", KEY)
        .then(
            "[[channels]]\nid = \"card\"\nplugin = \"card@^1\"\n\n[[card_programs]]\nid = \"gift\"\nkind = \"gift\"\nchannel = \"card\"\ncurrency = \"CNY\"\n",
        )
        .file();
    let t = TestApp::start_with_extra(
        Options::default(),
        Extra {
            plugins: vec!["card".into()],
            tenants: vec![tenant],
        },
    )
    .await;
    let gift = issue_promotional(&t, KEY, "gift", Some(5_000)).await;
    let path = "/admin/channels/cards/card/recording";
    let started = admin_call(&t, reqwest::Method::POST, path).await;
    assert_eq!(started.status.as_u16(), 200, "{}", started.body);
    let paid = pay_with_card(&t, KEY, "REC-CARD-1", 1_200, &gift).await;
    assert_eq!(paid.body["status"], "succeeded", "{}", paid.body);
    let short = pay_with_card(&t, KEY, "REC-CARD-2", 9_000, &gift).await;
    assert_eq!(short.body["status"], "failed", "{}", short.body);
    let stopped = admin_call(&t, reqwest::Method::DELETE, path).await;
    assert_eq!(stopped.body["calls"], 2, "{}", stopped.body);
    let calls = read_recording(std::path::Path::new(
        stopped.body["recording"].as_str().unwrap(),
    ))
    .unwrap();
    let host = PluginHost::new(Default::default()).unwrap();
    let same = host.load_file(&first_party_plugin("card")).await.unwrap();
    let report = paycore::replay::replay(&host, &same, &calls).await;
    assert!(report.clean(), "{}", report.render());
    t.stop().await;
}
