//! The real `paycore` binary, killed with SIGKILL, then restarted on the
//! same database (SQLite, or PostgreSQL under `PAYCORE_TEST_DATABASE_URL`):
//! every webhook event that committed is delivered once the merchant is
//! reachable, and nothing else is; every payment left `unknown` is settled
//! by the sweeper by asking the channel (`succeeded` where the channel has
//! it, `failed`/`order_not_found` where it provably never arrived).
//! Loopback only; every child process is killed when its guard drops.

use crate::support::process::{self, Paycore, Scratch, free_port};
use crate::support::proxy::{Mode, Proxy};
use crate::support::wait::{eventually, until};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const KEY: &str = "sk_test_crash";
const PROVIDER_KEY: &str = "crash-provider-key";

async fn setup(hook_port: u16) -> Scratch {
    let scratch = Scratch::new("crash").with_sandbox_plugin();
    let dir = &scratch.0;
    let database_url = process::database_url(dir).await;
    std::fs::write(
        dir.join("paycore.toml"),
        format!(
            r#"
database_url = "{database_url}"
plugins_dir = "plugins"
[outbound]
allow_addresses = ["127.0.0.1"]
plain_http_hosts = ["127.0.0.1"]
[sandbox_provider]
enabled = true
[sandbox_provider.merchants]
sbx_crash = "inline:{PROVIDER_KEY}"
[sweeper]
interval_ms = 200
min_age_ms = 0
backoff_ms = [200]
[webhooks]
retry_schedule_ms = [200, 300, 500, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000]
jitter_percent = 0
timeout_ms = 2000
"#
        ),
    )
    .unwrap();
    write_tenant(
        dir,
        &format!(
            "webhook_secret = \"inline:whsec_crash_restart\"\nnotify_url = \"http://127.0.0.1:{hook_port}/hooks\""
        ),
        "{public_url}/sandbox",
    );
    scratch
}

/// The `crash` tenant: `extra` lines at the top, its sandbox channel at
/// `base_url`.
fn write_tenant(dir: &std::path::Path, extra: &str, base_url: &str) {
    let tenant = process::sandbox_tenant(
        "crash",
        KEY,
        extra,
        base_url,
        "sbx_crash",
        &format!("inline:{PROVIDER_KEY}"),
    );
    std::fs::write(dir.join("tenants/crash.toml"), tenant).unwrap();
}

fn barcode(order_no: &str) -> Value {
    json!({
        "merchant_order_no": order_no, "amount": 1200, "currency": "CNY",
        "scene": "barcode", "auth_code": "283400011122223334", "wallet": "sandbox"
    })
}

async fn pay(client: &reqwest::Client, base: &str, order_no: &str) -> reqwest::Result<Value> {
    client
        .post(format!("{base}/v1/payments"))
        .bearer_auth(KEY)
        .json(&barcode(order_no))
        .send()
        .await?
        .json()
        .await
}

/// Event ids paycore committed for the payment with this order number.
async fn committed_events(
    client: &reqwest::Client,
    base: &str,
    order_no: &str,
) -> Vec<(String, String)> {
    let found: Value = client
        .get(format!("{base}/v1/payments?merchant_order_no={order_no}"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let Some(id) = found["id"].as_str() else {
        return Vec::new(); // its transaction never committed
    };
    let events: Value = client
        .get(format!("{base}/v1/events?payment_id={id}"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap().to_string(),
                e["delivery"]["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_pending_at_a_kill_9_are_all_delivered_after_the_restart() {
    paycore::plugin_host::install_crypto_provider();
    let hook_port = free_port();
    let scratch = setup(hook_port).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    // Run 1: the merchant is down, so every webhook waits in the outbox.
    let first = Paycore::start(&scratch.0).await;
    let mut orders: Vec<String> = Vec::new();
    for i in 0..8 {
        let order = format!("CRASH-{i}");
        let p = pay(&client, &first.base, &order).await.unwrap();
        assert_eq!(p["status"], "succeeded", "{p}");
        orders.push(order);
    }
    // A few more in flight when the process dies: whatever committed must
    // be delivered, whatever did not must never be.
    let mut in_flight = Vec::new();
    for i in 8..12 {
        let order = format!("CRASH-{i}");
        let (client, base) = (client.clone(), first.base.clone());
        let o = order.clone();
        in_flight.push(tokio::spawn(async move { pay(&client, &base, &o).await }));
        orders.push(order);
    }
    tokio::time::sleep(Duration::from_millis(30)).await;
    first.kill();
    for task in in_flight {
        let _ = task.await;
    }

    // The merchant comes back; paycore restarts on the same database.
    let received: Arc<Mutex<Vec<(String, String, String)>>> = Arc::default();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", hook_port))
        .await
        .unwrap();
    let store = received.clone();
    let receiver = tokio::spawn(async move {
        let app = axum::Router::new().route(
            "/hooks",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let store = store.clone();
                async move {
                    let event: Value = serde_json::from_str(&body).unwrap();
                    let signature = headers["paycore-signature"].to_str().unwrap().to_string();
                    store.lock().unwrap().push((
                        event["id"].as_str().unwrap().to_string(),
                        signature,
                        body,
                    ));
                    "ok"
                }
            }),
        );
        let _ = axum::serve(listener, app).await;
    });
    struct Abort(tokio::task::JoinHandle<()>);
    impl Drop for Abort {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let _receiver = Abort(receiver);
    let second = Paycore::start(&scratch.0).await;

    // Wait (bounded) until every committed event shows as delivered.
    let mut committed: BTreeSet<String> = BTreeSet::new();
    let settled = until(Duration::from_secs(20), async || {
        committed.clear();
        let mut all_delivered = true;
        for order in &orders {
            for (id, status) in committed_events(&client, &second.base, order).await {
                all_delivered &= status == "delivered";
                committed.insert(id);
            }
        }
        (all_delivered && committed.len() >= 8).then_some(())
    })
    .await
    .is_some();
    assert!(
        settled,
        "not every committed event was delivered: {committed:?}"
    );
    let received = received.lock().unwrap().clone();
    let delivered: BTreeSet<String> = received.iter().map(|(id, _, _)| id.clone()).collect();
    assert_eq!(
        delivered, committed,
        "none missing, none that never committed"
    );
    assert_eq!(received.len(), delivered.len(), "each delivered once");
    for (_, signature, body) in &received {
        paycore_plugin_sdk::webhook::verify_signature(
            b"whsec_crash_restart",
            signature,
            body.as_bytes(),
            Duration::from_secs(300),
        )
        .expect("signed with the tenant's secret");
    }
    drop(second);
}

/// One tenant whose sandbox channel is reached through `proxy_port`, with a
/// short barcode deadline; the provider keeps its orders in a journal (the
/// default does so on SQLite only).
async fn setup_unknowns(proxy_port: u16) -> Scratch {
    let scratch = Scratch::new("crash-unknown").with_sandbox_plugin();
    let dir = &scratch.0;
    let database_url = process::database_url(dir).await;
    std::fs::write(
        dir.join("paycore.toml"),
        format!(
            r#"
database_url = "{database_url}"
plugins_dir = "plugins"
admin_token = "inline:adm_test_crash"
[plugin_limits]
http_timeout_ms = 10000
call_timeout_ms = 15000
[outbound]
allow_addresses = ["127.0.0.1"]
plain_http_hosts = ["127.0.0.1"]
[sandbox_provider]
enabled = true
journal = "sandbox-provider.jsonl"
[sandbox_provider.merchants]
sbx_crash = "inline:{PROVIDER_KEY}"
[sweeper]
interval_ms = 200
min_age_ms = 1000
backoff_ms = [200]
barcode_deadline_ms = 2000
"#
        ),
    )
    .unwrap();
    write_tenant(dir, "", &format!("http://127.0.0.1:{proxy_port}/sandbox"));
    scratch
}

fn address(base: &str) -> std::net::SocketAddr {
    base.trim_start_matches("http://").parse().unwrap()
}

async fn payment_by_order(client: &reqwest::Client, base: &str, order_no: &str) -> Value {
    client
        .get(format!("{base}/v1/payments?merchant_order_no={order_no}"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_unknown_at_a_kill_9_are_settled_by_the_sweeper_after_the_restart() {
    paycore::plugin_host::install_crypto_provider();
    let proxy = Proxy::start("127.0.0.1:9".parse().unwrap()).await;
    let scratch = setup_unknowns(proxy.port).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let first = Paycore::start(&scratch.0).await;
    proxy.retarget(address(&first.base));
    let p = pay(&client, &first.base, "UNKNOWN-OK").await.unwrap();
    assert_eq!(p["status"], "succeeded", "{p}");

    // Paid at the channel, its answer lost on the way back.
    proxy.set_mode(Mode::DropResponses);
    let mut in_flight = Vec::new();
    for i in 0..4 {
        let (client, base) = (client.clone(), first.base.clone());
        let order = format!("UNKNOWN-PAID-{i}");
        in_flight.push(tokio::spawn(
            async move { pay(&client, &base, &order).await },
        ));
    }
    // The channel took each (its answer carries the order number) and the
    // answer went nowhere: only then may requests start to be lost, or a
    // late answer would get through.
    eventually(
        "the four answers lost",
        Duration::from_secs(15),
        async || {
            (0..4)
                .all(|i| {
                    proxy.dropped_containing(Mode::DropResponses, &format!("UNKNOWN-PAID-{i}"))
                })
                .then_some(())
        },
    )
    .await;
    // Lost on the way to the channel: it never hears of them.
    proxy.set_mode(Mode::DropRequests);
    for i in 0..4 {
        let (client, base) = (client.clone(), first.base.clone());
        let order = format!("UNKNOWN-LOST-{i}");
        in_flight.push(tokio::spawn(
            async move { pay(&client, &base, &order).await },
        ));
    }
    // Each was stored (before its channel call) and its request lost.
    eventually(
        "the four requests lost",
        Duration::from_secs(15),
        async || {
            (0..4)
                .all(|i| proxy.dropped_containing(Mode::DropRequests, &format!("UNKNOWN-LOST-{i}")))
                .then_some(())
        },
    )
    .await;
    first.kill();
    for task in in_flight {
        let _ = task.await;
    }

    // The provider died with paycore; it comes back with its journal.
    proxy.set_mode(Mode::Forward);
    let second = Paycore::start(&scratch.0).await;
    proxy.retarget(address(&second.base));
    let orders: Vec<String> = (0..4)
        .flat_map(|i| [format!("UNKNOWN-PAID-{i}"), format!("UNKNOWN-LOST-{i}")])
        .collect();
    let mut settled = Vec::new();
    // The barcode deadline (2 s) plus a few sweeps, with room for a slow
    // machine; the assertions below say what did not settle in time.
    until(Duration::from_secs(15), async || {
        settled.clear();
        for order in &orders {
            let p = payment_by_order(&client, &second.base, order).await;
            assert!(
                p["id"].is_string(),
                "{order} was stored before the kill: {p}"
            );
            settled.push(p);
        }
        settled
            .iter()
            .all(|p| ["succeeded", "failed"].contains(&p["status"].as_str().unwrap()))
            .then_some(())
    })
    .await;
    for p in &settled {
        let order = p["merchant_order_no"].as_str().unwrap();
        if order.starts_with("UNKNOWN-PAID") {
            assert_eq!(p["status"], "succeeded", "the channel has it: {p}");
        } else {
            assert_eq!(p["status"], "failed", "it never reached the channel: {p}");
            assert_eq!(p["failure"]["code"], "order_not_found", "{p}");
        }
    }
    let status: Value = client
        .get(format!("{}/admin/status", second.base))
        .bearer_auth("adm_test_crash")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["unsettled"]["payments"], 0, "{status}");
    drop(second);
}
