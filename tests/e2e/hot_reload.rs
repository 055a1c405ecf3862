//! Upgrading a plugin under load: a new version dropped into the folder
//! serves new payments within a bounded time with zero failed requests,
//! an old payment's refund still goes through the version that took it,
//! and the old version is retired once its file is removed.

use paycore_e2e::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Barcode payments in a loop until `stop`: (status, plugin version) each.
async fn load(t: &TestApp, worker: usize, stop: Arc<AtomicBool>) -> Vec<(u16, String)> {
    let mut seen = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) && n < 2_000 {
        let r = t
            .pay(barcode(&format!("LOAD-{worker}-{n}"), 100, "134567890124"))
            .await;
        let version = r.body["plugin"]["version"]
            .as_str()
            .unwrap_or("-")
            .to_string();
        seen.push((r.status.as_u16(), version));
        n += 1;
    }
    seen
}

/// Four workers paying in a loop until `stop`.
fn start_load(
    t: &Arc<TestApp>,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<Vec<(u16, String)>>> {
    (0..4)
        .map(|w| {
            let (t, stop) = (t.clone(), stop.clone());
            tokio::spawn(async move { load(&t, w, stop).await })
        })
        .collect()
}

fn version_of(reply: &Reply) -> &str {
    reply.body["plugin"]["version"].as_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_version_takes_over_under_load_with_no_failed_request() {
    // It counts plugin calls in the process-wide metrics.
    if ran_in_own_process() {
        return;
    }
    let t = Arc::new(TestApp::start().await);
    let old = t.pay(barcode("OLD-1", 5000, "134567890124")).await;
    assert_eq!(version_of(&old), "1.0.0");

    let stop = Arc::new(AtomicBool::new(false));
    let workers = start_load(&t, &stop);

    let generation = t.admin("/admin/status").await.body["generation"]
        .as_u64()
        .unwrap();
    let dropped = Instant::now();
    t.drop_plugin(&TestApp::test_plugin("sandbox-1.1.0"), "sandbox-1.1.0.wasm");
    t.wait_for_reload(generation).await;
    let mut serving = None;
    for i in 0..100 {
        let r = t
            .pay(barcode(&format!("PROBE-{i}"), 100, "134567890124"))
            .await;
        if version_of(&r) == "1.1.0" {
            serving = Some(dropped.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let serving = serving.expect("the new version serves new payments");
    println!("drop to serving: {} ms", serving.as_millis());

    // The old payment's refund runs on 1.0.0, the version that took it.
    let before = plugin_calls(&t, "refund", "1.0.0").await;
    let refund = t
        .post(
            DEMO_KEY,
            &format!("/v1/payments/{}/refunds", old.id()),
            json!({ "merchant_refund_no": "OLD-R-1", "amount": 100 }),
        )
        .await;
    assert_eq!(refund.body["status"], "succeeded", "{}", refund.body);
    assert_eq!(plugin_calls(&t, "refund", "1.0.0").await, before + 1.0);
    assert_eq!(plugin_calls(&t, "refund", "1.1.0").await, 0.0);

    // Removing the old file retires 1.0.0; traffic goes on.
    let generation = t.admin("/admin/status").await.body["generation"]
        .as_u64()
        .unwrap();
    std::fs::remove_file(t.plugins_dir().join("sandbox.wasm")).unwrap();
    t.wait_for_reload(generation).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let mut results = Vec::new();
    for w in workers {
        results.extend(w.await.unwrap());
    }

    let failed: Vec<&(u16, String)> = results.iter().filter(|(s, _)| *s != 201).collect();
    assert!(
        failed.is_empty(),
        "{} of {} requests failed: {:?}",
        failed.len(),
        results.len(),
        &failed[..failed.len().min(5)]
    );
    let on_new = results.iter().filter(|(_, v)| v == "1.1.0").count();
    let on_old = results.iter().filter(|(_, v)| v == "1.0.0").count();
    println!(
        "{} payments under load: {on_old} on 1.0.0, {on_new} on 1.1.0, 0 failed",
        results.len()
    );
    assert!(
        on_old > 0 && on_new > 0,
        "the load spans the swap: {on_old} old, {on_new} new"
    );

    let plugins = t.admin("/admin/plugins").await;
    let sandboxes: Vec<(&str, &str)> = plugins.body["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == "sandbox")
        .map(|p| (p["version"].as_str().unwrap(), p["state"].as_str().unwrap()))
        .collect();
    assert!(sandboxes.contains(&("1.1.0", "live")), "{sandboxes:?}");
    assert!(!sandboxes.contains(&("1.0.0", "live")), "{sandboxes:?}");
    let after = t.pay(barcode("AFTER-1", 100, "134567890124")).await;
    assert_eq!(version_of(&after), "1.1.0");
}

async fn plugin_calls(t: &TestApp, op: &str, version: &str) -> f64 {
    let text = t.metrics().await;
    let prefix = "paycore_plugin_calls_total{";
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter(|l| {
            l.contains(&format!("op=\"{op}\""))
                && l.contains(&format!("version=\"{version}\""))
                && l.contains("plugin=\"sandbox\"")
        })
        .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<f64>().ok()))
        .sum()
}

/// Bytes no plugin loader takes for a component.
fn garbage(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7919 % 251) as u8).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_plugin_file_never_takes_its_channel_away() {
    let t = Arc::new(TestApp::start().await);
    let live = t.plugins_dir().join("sandbox.wasm");
    let good = std::fs::read(&live).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let workers = start_load(&t, &stop);

    let in_sync = |after: u64| {
        move |s: &serde_json::Value| s["generation"].as_u64() > Some(after) && s["in_sync"] == true
    };
    type Corruption = Box<dyn Fn(&std::path::Path)>;
    let half = good[..good.len() / 2].to_vec();
    let same_size = garbage(good.len());
    let corruptions: Vec<(&str, Corruption)> = vec![
        (
            "truncated in place to its first half",
            Box::new(move |p| std::fs::write(p, &half).unwrap()),
        ),
        (
            "overwritten in place with garbage",
            Box::new(move |p| std::fs::write(p, &same_size).unwrap()),
        ),
        (
            "garbage renamed over it",
            Box::new(|p| {
                let temp = p.with_file_name(".garbage.part");
                std::fs::write(&temp, garbage(4096)).unwrap();
                std::fs::rename(&temp, p).unwrap();
            }),
        ),
        ("emptied", Box::new(|p| std::fs::write(p, b"").unwrap())),
    ];
    for (what, corrupt) in &corruptions {
        let g = t.admin("/admin/status").await.body["generation"]
            .as_u64()
            .unwrap();
        corrupt(&live);
        let status = t
            .status_until(what, |s| {
                s["generation"].as_u64() > Some(g) && s["in_sync"] == false
            })
            .await;
        let differences = status["differences"].to_string();
        assert!(
            differences.contains("sandbox.wasm") && differences.contains("sandbox@1.0.0"),
            "{what}: {status}"
        );
        // A forced rescan changes nothing.
        let forced = t
            .send(
                t.client
                    .post(t.url("/admin/reload"))
                    .bearer_auth("adm_test_e2e"),
            )
            .await;
        assert_eq!(forced.body["in_sync"], false, "{what}: {}", forced.body);
        let plugins = t.admin("/admin/plugins").await;
        let states: Vec<(String, String)> = plugins.body["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["version"].to_string(), p["state"].to_string()))
            .collect();
        assert!(
            states.contains(&("\"1.0.0\"".into(), "\"live\"".into())),
            "{what}: {states:?}"
        );
        let paid = t
            .pay(barcode(
                &format!("CORRUPT-{}", what.len()),
                100,
                "134567890124",
            ))
            .await;
        assert_eq!(paid.status, StatusCode::CREATED, "{what}: {}", paid.body);

        // The good build back: serving and folder agree again.
        let g = status["generation"].as_u64().unwrap();
        std::fs::write(&live, &good).unwrap();
        t.status_until("the good build back", in_sync(g)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut results = Vec::new();
    for w in workers {
        results.extend(w.await.unwrap());
    }
    let failed = results.iter().filter(|(s, _)| *s != 201).count();
    println!(
        "{} payments while the file was corrupted: {failed} failed",
        results.len()
    );
    assert_eq!(failed, 0, "of {}", results.len());
    assert!(!results.is_empty());
}
