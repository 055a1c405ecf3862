//! Canary, rollback and approval of plugin versions, all while serving.

use paycore_e2e::*;
use std::sync::Arc;

async fn generation(t: &TestApp) -> u64 {
    t.admin("/admin/status").await.body["generation"]
        .as_u64()
        .unwrap()
}

/// `n` barcode payments from 4 concurrent workers; the plugin version of each.
async fn versions(t: &Arc<TestApp>, tag: &str, n: usize) -> Vec<String> {
    let mut tasks = Vec::new();
    for w in 0..4 {
        let t = t.clone();
        let tag = tag.to_string();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for i in (w..n).step_by(4) {
                let r = t
                    .pay(barcode(&format!("{tag}-{i}"), 100, "134567890124"))
                    .await;
                assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
                out.push(r.body["plugin"]["version"].as_str().unwrap().to_string());
            }
            out
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all
}

fn on(versions: &[String], v: &str) -> usize {
    versions.iter().filter(|x| *x == v).count()
}

async fn post_admin(t: &TestApp, path: &str) -> Reply {
    t.send(t.client.post(t.url(path)).bearer_auth("adm_test_e2e"))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_takes_its_share_and_rollback_returns_everything() {
    let t = Arc::new(TestApp::start().await);
    let g = generation(&t).await;
    t.drop_plugin(&TestApp::test_plugin("sandbox-1.1.0"), "sandbox-1.1.0.wasm");
    t.wait_for_reload(g).await;
    assert_eq!(
        versions(&t, "NEW", 8).await,
        vec!["1.1.0"; 8],
        "the newest version in range serves"
    );

    // 10 % canary on 1.1.0: the rest goes back to 1.0.0.
    let demo = t.tenants_dir().join("demo.toml");
    let text = std::fs::read_to_string(&demo).unwrap();
    let with_canary = text.replacen(
        "plugin = \"sandbox@^1\"\n",
        "plugin = \"sandbox@^1\"\ncanary = { version = \"1.1.0\", percent = 10 }\n",
        1,
    );
    let g = generation(&t).await;
    std::fs::write(&demo, with_canary).unwrap();
    let status = t.wait_for_clean_reload(g).await;
    assert_eq!(status.body["config_current"], true, "{}", status.body);
    let seen = versions(&t, "CANARY", 400).await;
    let canary = on(&seen, "1.1.0");
    println!("canary share: {canary} of {} payments on 1.1.0", seen.len());
    // 400 draws at p = 0.1: mean 40, sd 6; five sd either side.
    assert!(
        (10..=70).contains(&canary),
        "{canary} of 400 on the 10% canary"
    );
    assert_eq!(on(&seen, "1.0.0") + canary, 400);

    // Rollback: 1.1.0 leaves service, everything runs on 1.0.0.
    let rolled = post_admin(&t, "/admin/plugins/sandbox/rollback").await;
    assert_eq!(rolled.status, StatusCode::OK, "{}", rolled.body);
    assert_eq!(rolled.body["rolled_back"], "sandbox@1.1.0");
    assert_eq!(versions(&t, "ROLLED", 60).await, vec!["1.0.0"; 60]);
    let plugins = t.admin("/admin/plugins").await;
    let state = plugins.body["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["version"] == "1.1.0")
        .unwrap()["state"]
        .clone();
    assert_eq!(state, "rolled_back");
    let nothing_left = post_admin(&t, "/admin/plugins/sandbox/rollback").await;
    assert_eq!(
        nothing_left.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        nothing_left.body
    );

    // Restore: the canary takes its share again.
    let restored = post_admin(&t, "/admin/plugins/sandbox@1.1.0/restore").await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.body);
    let seen = versions(&t, "RESTORED", 200).await;
    assert!(
        on(&seen, "1.1.0") > 0 && on(&seen, "1.0.0") > 0,
        "{} on 1.1.0",
        on(&seen, "1.1.0")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_asking_for_more_waits_for_approval() {
    let t = Arc::new(TestApp::start().await);
    let g = generation(&t).await;
    t.drop_plugin(
        &TestApp::test_plugin("misbehave-1.1.0-more-hosts"),
        "misbehave-1.1.0.wasm",
    );
    t.wait_for_reload(g).await;
    let plugins = t.admin("/admin/plugins").await;
    let held = plugins.body["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["version"] == "1.1.0" && p["name"] == "misbehave")
        .unwrap()
        .clone();
    assert_eq!(held["state"], "awaiting_approval", "{held}");
    let reason = held["reason"].as_str().unwrap();
    assert!(
        reason.contains("new hosts example.com") && reason.contains("misbehave@1.0.0"),
        "{reason}"
    );
    let lab = t
        .post(
            LAB_KEY,
            "/v1/payments",
            barcode("APPROVE-1", 100, "1000000000"),
        )
        .await;
    assert_eq!(
        lab.body["plugin"]["version"], "1.0.0",
        "the held version does not serve"
    );

    let wrong = post_admin(&t, "/admin/plugins/misbehave@9.9.9/approve").await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    let approved = post_admin(&t, "/admin/plugins/misbehave@1.1.0/approve").await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    let lab = t
        .post(
            LAB_KEY,
            "/v1/payments",
            barcode("APPROVE-2", 100, "1000000000"),
        )
        .await;
    assert_eq!(lab.body["plugin"]["version"], "1.1.0", "{}", lab.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_asking_for_more_written_over_its_predecessor_waits_too() {
    let t = Arc::new(TestApp::start().await);
    let g = generation(&t).await;
    // Over the serving file itself, not beside it.
    t.drop_plugin(
        &TestApp::test_plugin("misbehave-1.1.0-more-hosts"),
        "misbehave.wasm",
    );
    t.wait_for_reload(g).await;
    let mut status = serde_json::Value::Null;
    for _ in 0..200 {
        status = t.admin("/admin/status").await.body;
        if status["in_sync"] == false {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let differences = status["differences"].to_string();
    assert!(
        differences.contains("misbehave.wasm")
            && differences.contains("awaiting_approval")
            && differences.contains("misbehave@1.0.0 keeps serving"),
        "{status}"
    );
    let lab = t
        .post(
            LAB_KEY,
            "/v1/payments",
            barcode("OVER-1", 100, "1000000000"),
        )
        .await;
    assert_eq!(
        lab.body["plugin"]["version"], "1.0.0",
        "the held version does not serve, its predecessor does: {}",
        lab.body
    );
    let approved = post_admin(&t, "/admin/plugins/misbehave@1.1.0/approve").await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    let lab = t
        .post(
            LAB_KEY,
            "/v1/payments",
            barcode("OVER-2", 100, "1000000000"),
        )
        .await;
    assert_eq!(lab.body["plugin"]["version"], "1.1.0", "{}", lab.body);
    let status = t.admin("/admin/status").await.body;
    assert_eq!(status["in_sync"], true, "{status}");
}
