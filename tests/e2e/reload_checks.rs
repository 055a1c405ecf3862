//! A bad plugin or a bad config edit never lands: each is refused with its
//! own reason (file:line:column for config) and what was serving keeps
//! serving; a good config edit switches routing at once.

use paycore_e2e::*;
use std::time::Duration;

async fn generation(t: &TestApp) -> u64 {
    t.admin("/admin/status").await.body["generation"]
        .as_u64()
        .unwrap()
}

async fn still_serving(t: &TestApp, order_no: &str) -> Reply {
    let r = t.pay(barcode(order_no, 100, "134567890124")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["status"], "succeeded");
    r
}

fn refusal(plugins: &Reply, file: &str) -> String {
    plugins.body["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["file"].as_str().unwrap().ends_with(file))
        .filter(|p| p["state"] == "refused")
        .and_then(|p| p["reason"].as_str())
        .unwrap_or_else(|| panic!("{file} is not refused: {}", plugins.body))
        .to_string()
}

/// A component with a custom section appended: the same plugin, the same
/// name@version, another digest.
fn rebuilt_same_version(wasm: &[u8]) -> Vec<u8> {
    let mut out = wasm.to_vec();
    let name = b"paycore-test";
    let payload = b"rebuilt";
    let size = 1 + name.len() + payload.len();
    out.extend_from_slice(&[0, size as u8, name.len() as u8]);
    out.extend_from_slice(name);
    out.extend_from_slice(payload);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_plugins_are_refused_each_with_its_reason() {
    let t = TestApp::start().await;
    let g = generation(&t).await;
    std::fs::write(t.plugins_dir().join("broken.wasm"), b"\0asm not really").unwrap();
    t.drop_plugin(
        &TestApp::test_plugin("misbehave-contract-2"),
        "misbehave-contract-2.wasm",
    );
    let sandbox = std::fs::read(t.plugins_dir().join("sandbox.wasm")).unwrap();
    std::fs::write(
        t.plugins_dir().join("sandbox-again.wasm"),
        rebuilt_same_version(&sandbox),
    )
    .unwrap();
    t.wait_for_reload(g).await;
    // The watcher may have seen the three files in more than one burst.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let plugins = t.admin("/admin/reload").await;
    assert_eq!(
        plugins.status,
        StatusCode::METHOD_NOT_ALLOWED,
        "reload is a POST"
    );
    let reloaded = t
        .send(
            t.client
                .post(t.url("/admin/reload"))
                .bearer_auth("adm_test_e2e"),
        )
        .await;
    assert_eq!(reloaded.status, StatusCode::OK);

    let plugins = t.admin("/admin/plugins").await;
    assert!(refusal(&plugins, "broken.wasm").contains("not a valid WebAssembly component"));
    let contract = refusal(&plugins, "misbehave-contract-2.wasm");
    assert!(contract.contains("built for contract 2.0.0"), "{contract}");
    let immutable = refusal(&plugins, "sandbox-again.wasm");
    assert!(
        immutable.contains("sandbox@1.0.0 is already loaded") && immutable.contains("immutable"),
        "{immutable}"
    );
    // Nothing that was serving changed.
    let live: Vec<&str> = plugins.body["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["state"] == "live")
        .map(|p| p["file"].as_str().unwrap())
        .collect();
    assert_eq!(live.len(), 2, "{live:?}");
    still_serving(&t, "AFTER-BAD-PLUGINS").await;
    let lab = t
        .post(LAB_KEY, "/v1/payments", barcode("LAB-1", 100, "1000000000"))
        .await;
    assert_eq!(
        lab.body["status"], "succeeded",
        "misbehave@1.0.0 still serves: {}",
        lab.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_edits_switch_routing_and_bad_edits_keep_the_old_config() {
    let t = TestApp::start().await;
    let demo = t.tenants_dir().join("demo.toml");
    let original = std::fs::read_to_string(&demo).unwrap();
    assert_eq!(
        still_serving(&t, "CFG-0").await.body["channel"],
        "sandbox-main"
    );

    // A good edit: a second channel, and a rule sending everything to it.
    let second = format!(
        "{original}\n{}\n[[rules]]\nname = \"everything-to-b\"\nchannel = \"sandbox-b\"\n",
        SandboxChannel::new("sandbox-b")
    );
    let errors_of = |s: &serde_json::Value| s["errors"].to_string();
    let settled = |after: u64| {
        move |s: &serde_json::Value| {
            s["generation"].as_u64() > Some(after)
                && s["config_current"] == true
                && s["errors"].as_array().is_some_and(|e| e.is_empty())
        }
    };

    let g = generation(&t).await;
    std::fs::write(&demo, &second).unwrap();
    t.status_until("the new config serving", settled(g)).await;
    assert_eq!(
        still_serving(&t, "CFG-1").await.body["channel"],
        "sandbox-b"
    );

    // A syntax error: refused with file:line:column, sandbox-b keeps serving.
    std::fs::write(
        &demo,
        second.replace("id = \"sandbox-b\"", "id = \"sandbox-b"),
    )
    .unwrap();
    let status = t
        .status_until("the syntax error", |s| {
            errors_of(s).contains("config refused")
        })
        .await;
    assert_eq!(status["config_current"], false, "{status}");
    assert!(errors_of(&status).contains("demo.toml:"), "{status}");
    assert_eq!(
        still_serving(&t, "CFG-2").await.body["channel"],
        "sandbox-b"
    );

    // A semantic error: a channel whose plugin does not exist.
    std::fs::write(
        &demo,
        second
            .replacen("plugin = \"sandbox@^1\"", "plugin = \"nope@^1\"", 2)
            .replacen("plugin = \"nope@^1\"", "plugin = \"sandbox@^1\"", 1),
    )
    .unwrap();
    let status = t
        .status_until("the unknown plugin", |s| {
            errors_of(s).contains("no loaded plugin matches `nope@^1`")
        })
        .await;
    assert_eq!(status["config_current"], false, "{status}");
    assert_eq!(status["in_sync"], false, "{status}");
    assert!(
        status["differences"]
            .to_string()
            .contains("would leave demo/sandbox-b unbound"),
        "{status}"
    );
    assert!(errors_of(&status).contains("demo.toml:"), "{status}");
    assert_eq!(
        still_serving(&t, "CFG-3").await.body["channel"],
        "sandbox-b"
    );

    // Putting the good file back makes it current again.
    let g = generation(&t).await;
    std::fs::write(&demo, &second).unwrap();
    let status = t.status_until("the good config back", settled(g)).await;
    assert_eq!(status["in_sync"], true, "{status}");
}

/// A reload reads every watched file; reading must not count as a change,
/// or each reload would trigger the next one forever.
#[tokio::test]
async fn one_edit_reloads_and_then_the_watcher_rests() {
    let t = TestApp::start().await;
    let demo = t.tenants_dir().join("demo.toml");
    let g = generation(&t).await;
    let text = std::fs::read_to_string(&demo).unwrap();
    std::fs::write(&demo, text).unwrap();
    t.status_until("a reload after the edit", |s| {
        s["generation"].as_u64() > Some(g)
    })
    .await;
    // Well past the debounce window, twice: the generation must hold still.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let settled = generation(&t).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(generation(&t).await, settled, "the watcher keeps reloading");
}
