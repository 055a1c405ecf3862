//! Two real `paycore serve` processes on one PostgreSQL database, behind no
//! load balancer but the test spreading requests across them: idempotent
//! creates, refund bounds and webhook delivery hold across instances, and a
//! killed instance's claimed webhooks are delivered by the other.
//!
//! Needs `PAYCORE_TEST_DATABASE_URL` (`cargo xtask test` starts a throwaway
//! server and sets it), since a SQLite file is for one instance by design:
//! every test here is ignored unless asked for (`--ignored instances::`,
//! which `cargo xtask test` runs on its PostgreSQL pass), and fails when
//! asked for without a server.

use crate::support::process::{self, Paycore, Scratch};
use serde_json::{Value, json};
use sqlx::PgPool;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const KEY: &str = "sk_test_multi";
const PROVIDER_KEY: &str = "multi-provider-key";

/// One sandbox provider, in this process, for both instances: a payment
/// made through one instance can be refunded through the other, and the
/// provider outlives a killed instance.
async fn start_provider() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let provider =
        paycore_sandbox_provider::Provider::new(paycore_sandbox_provider::ProviderConfig {
            public_base: base.clone(),
            merchants: [("sbx_multi".to_string(), PROVIDER_KEY.as_bytes().to_vec())].into(),
            ..Default::default()
        });
    let app = axum::Router::new().nest("/sandbox", provider.router());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, task)
}

/// Both instances' folder: one config, one database, the merchant's hook
/// endpoint at `hook_url`.
async fn setup(name: &str, server: &str, provider: &str, hook_url: &str) -> (Scratch, PgPool) {
    let scratch = Scratch::new(name).with_sandbox_plugin();
    let database_url = process::fresh_postgres_database(server).await;
    write_config(&scratch.0, &database_url, provider, hook_url);
    let pool = PgPool::connect(&database_url).await.unwrap();
    (scratch, pool)
}

fn write_config(dir: &Path, database_url: &str, provider: &str, hook_url: &str) {
    std::fs::write(
        dir.join("paycore.toml"),
        format!(
            r#"
database_url = "{database_url}"
plugins_dir = "plugins"
admin_token = "inline:adm_test_multi"
[outbound]
allow_addresses = ["127.0.0.1"]
plain_http_hosts = ["127.0.0.1"]
[sweeper]
interval_ms = 60000
[webhooks]
retry_schedule_ms = [{retries}]
jitter_percent = 0
timeout_ms = 1000
"#,
            retries = ["500"; 30].join(", ")
        ),
    )
    .unwrap();
    let tenant = process::sandbox_tenant(
        "multi",
        KEY,
        &format!("webhook_secret = \"inline:whsec_multi_instance\"\nnotify_url = \"{hook_url}\""),
        &format!("{provider}/sandbox"),
        "sbx_multi",
        &format!("inline:{PROVIDER_KEY}"),
    );
    std::fs::write(dir.join("tenants/multi.toml"), tenant).unwrap();
}

fn client() -> reqwest::Client {
    paycore::plugin_host::install_crypto_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(64)
        .build()
        .unwrap()
}

async fn post(client: &reqwest::Client, base: &str, path: &str, body: &Value) -> (u16, Value) {
    let r = client
        .post(format!("{base}{path}"))
        .bearer_auth(KEY)
        .json(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {base}{path}: {e}"));
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn barcode(order_no: &str, amount: i64) -> Value {
    json!({
        "merchant_order_no": order_no, "amount": amount, "currency": "CNY",
        "scene": "barcode", "auth_code": "283400011122223334", "wallet": "sandbox"
    })
}

/// The PostgreSQL server; a test asked for without one fails. (`cargo xtask
/// test` finds the tests that need it by their module, `instances::`.)
fn postgres() -> String {
    process::postgres_server().expect(
        "this test needs PostgreSQL: set PAYCORE_TEST_DATABASE_URL (cargo xtask test does on its PostgreSQL pass)",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL (PAYCORE_TEST_DATABASE_URL)"]
async fn creates_and_refunds_hold_across_two_instances() {
    let server = postgres();
    let (provider, _provider_task) = start_provider().await;
    let hooks = HookReceiver::start().await;
    let (scratch, db) = setup("instances-creates", &server, &provider, &hooks.url).await;
    let (a, b) = tokio::join!(
        Paycore::start_named(&scratch.0, "a"),
        Paycore::start_named(&scratch.0, "b")
    );
    let bases = [a.base.clone(), b.base.clone()];
    let client = client();

    // 500 creates at once: 450 order numbers, 50 of them sent to both
    // instances at the same moment.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..450 {
        let order = format!("MULTI-{i:03}");
        let sends: Vec<String> = if i < 50 {
            bases.to_vec()
        } else {
            vec![bases[i % 2].clone()]
        };
        for base in sends {
            let (client, order) = (client.clone(), order.clone());
            tasks.spawn(async move {
                let (status, body) =
                    post(&client, &base, "/v1/payments", &barcode(&order, 1000)).await;
                (order, status, body)
            });
        }
    }
    let mut replies: BTreeMap<String, Vec<(u16, Value)>> = BTreeMap::new();
    while let Some(done) = tasks.join_next().await {
        let (order, status, body) = done.unwrap();
        replies.entry(order).or_default().push((status, body));
    }
    assert_eq!(replies.values().map(Vec::len).sum::<usize>(), 500);
    for (order, answers) in &replies {
        for (status, body) in answers {
            match status {
                201 => assert_eq!(body["status"], "succeeded", "{order}: {body}"),
                // A replay shows the payment as it is now: the first request
                // may still be talking to the channel.
                200 => assert_eq!(body["merchant_order_no"], order.as_str(), "{body}"),
                other => panic!("{order}: {other} {body}"),
            }
        }
        if answers.len() == 2 {
            let statuses: BTreeSet<u16> = answers.iter().map(|(s, _)| *s).collect();
            assert_eq!(
                statuses,
                BTreeSet::from([200, 201]),
                "{order}: one creates, the other replays"
            );
            assert_eq!(answers[0].1["id"], answers[1].1["id"], "{order}");
        }
    }
    let (payments, orders): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT merchant_order_no) FROM payments")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(
        (payments, orders),
        (450, 450),
        "exactly 450 distinct payments"
    );
    let created_events: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE kind = 'payment.created'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(created_events, 450);

    // 40 refunds of 100 on a payment of 1000, at once, across both.
    let payment = replies["MULTI-007"][0].1["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..40 {
        let (client, base, payment) = (client.clone(), bases[i % 2].clone(), payment.clone());
        tasks.spawn(async move {
            let body = json!({"merchant_refund_no": format!("R-{i}"), "amount": 100});
            post(
                &client,
                &base,
                &format!("/v1/payments/{payment}/refunds"),
                &body,
            )
            .await
        });
    }
    let mut accepted = 0;
    while let Some(done) = tasks.join_next().await {
        let (status, body) = done.unwrap();
        match status {
            201 => accepted += 1,
            422 => assert_eq!(body["error"]["code"], "refund_exceeds_remaining", "{body}"),
            other => panic!("refund answered {other}: {body}"),
        }
    }
    assert_eq!(accepted, 10, "exactly the amount, never more");
    let (reserved, refunded, amount): (i64, i64, i64) = sqlx::query_as(
        "SELECT refund_reserved, refunded_amount, amount FROM payments WHERE id = $1",
    )
    .bind(&payment)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!((reserved, refunded, amount), (1000, 1000, 1000));
    let (refunds, total): (i64, Option<i64>) = sqlx::query_as(
        "SELECT COUNT(*), SUM(amount)::BIGINT FROM refunds WHERE payment_id = $1 AND status <> 'failed'",
    )
    .bind(&payment)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!((refunds, total), (10, Some(1000)));
    drop((a, b));
}

/// What the merchant's endpoint does with a webhook right now.
const ACCEPT: u8 = 0;
/// Hold the request a while, then answer 503: deliveries stay in flight
/// (claimed) long enough to kill an instance in the middle of them.
const SLOW_REJECT: u8 = 1;

/// The merchant: records the event id of every webhook it answered 2xx.
struct HookReceiver {
    url: String,
    mode: Arc<AtomicU8>,
    accepted: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl HookReceiver {
    async fn start() -> HookReceiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let mode = Arc::new(AtomicU8::new(ACCEPT));
        let accepted: Arc<Mutex<Vec<String>>> = Arc::default();
        let (m, acc) = (mode.clone(), accepted.clone());
        let app = axum::Router::new().route(
            "/hooks",
            axum::routing::post(move |headers: axum::http::HeaderMap| {
                let (mode, accepted) = (m.clone(), acc.clone());
                async move {
                    if mode.load(Ordering::SeqCst) == SLOW_REJECT {
                        tokio::time::sleep(Duration::from_millis(700)).await;
                        return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                    }
                    let id = headers["paycore-event-id"].to_str().unwrap().to_string();
                    accepted.lock().unwrap().push(id);
                    axum::http::StatusCode::OK
                }
            }),
        );
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        HookReceiver {
            url,
            mode,
            accepted,
            task,
        }
    }

    fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
    }

    fn accepted(&self) -> Vec<String> {
        self.accepted.lock().unwrap().clone()
    }

    /// Waits (bounded) until at least `n` distinct events were accepted.
    async fn wait_for(&self, n: usize, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let distinct: BTreeSet<String> = self.accepted().into_iter().collect();
            if distinct.len() >= n {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} of {n} webhooks were delivered",
                distinct.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for HookReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL (PAYCORE_TEST_DATABASE_URL)"]
async fn fifty_card_payments_of_ten_on_a_hundred_take_exactly_ten_across_two_instances() {
    let server = postgres();
    let (provider, _provider_task) = start_provider().await;
    let hooks = HookReceiver::start().await;
    let (scratch, db) = setup("instances-cards", &server, &provider, &hooks.url).await;
    let scratch = scratch.with_plugin("card");
    let tenant = std::fs::read_to_string(scratch.0.join("tenants/multi.toml")).unwrap();
    std::fs::write(
        scratch.0.join("tenants/multi.toml"),
        tenant + process::CARD_CHANNEL,
    )
    .unwrap();
    let (a, b) = tokio::join!(
        Paycore::start_named(&scratch.0, "a"),
        Paycore::start_named(&scratch.0, "b")
    );
    let client = client();
    let (status, card) = post(
        &client,
        &a.base,
        "/v1/cards",
        &json!({ "program": "gift", "holder": "m", "amount": 10_000,
                 "funded_by": { "type": "promotion" } }),
    )
    .await;
    assert_eq!(status, 201, "{card}");
    let card = card["id"].as_str().unwrap().to_string();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        let base = [&a.base, &b.base][i % 2].clone();
        let body = json!({ "merchant_order_no": format!("CARD-{i}"), "amount": 1_000, "currency": "CNY",
                           "scene": "jsapi", "wallet": "card",
                           "payer": { "open_id": "m", "buyer_id": card } });
        let client = client.clone();
        tasks.spawn(async move { post(&client, &base, "/v1/payments", &body).await });
    }
    let replies = tasks.join_all().await;
    let succeeded = replies
        .iter()
        .filter(|(_, body)| body["status"] == "succeeded")
        .count();
    let declined = replies
        .iter()
        .filter(|(_, body)| body["failure"]["code"] == "insufficient_funds")
        .count();
    assert_eq!((succeeded, declined), (10, 40), "{replies:?}");
    let (balance, held): (i64, i64) =
        sqlx::query_as("SELECT balance, held FROM cards WHERE id = $1")
            .bind(&card)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!((balance, held), (0, 0));
    let redeemed: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ledger_postings WHERE to_account = 'redemption'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(redeemed, 10_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL (PAYCORE_TEST_DATABASE_URL)"]
async fn webhooks_are_delivered_once_in_total_while_an_instance_is_killed() {
    let server = postgres();
    let (provider, _provider_task) = start_provider().await;
    let hooks = HookReceiver::start().await;
    let (scratch, db) = setup("instances-webhooks", &server, &provider, &hooks.url).await;
    let (a, b) = tokio::join!(
        Paycore::start_named(&scratch.0, "a"),
        Paycore::start_named(&scratch.0, "b")
    );
    let bases = [a.base.clone(), b.base.clone()];
    let client = client();

    // 200 payments, half through each instance, while the merchant is
    // failing: every webhook waits in the outbox, retried by both.
    hooks.set(SLOW_REJECT);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let (client, base) = (client.clone(), bases[i % 2].clone());
        tasks.spawn(async move {
            post(
                &client,
                &base,
                "/v1/payments",
                &barcode(&format!("HOOK-{i:03}"), 500),
            )
            .await
        });
    }
    while let Some(done) = tasks.join_next().await {
        let (status, body) = done.unwrap();
        assert_eq!(status, 201, "{body}");
    }

    // The merchant recovers; both instances deliver until about a third is
    // through, then the merchant stalls again so that deliveries are in
    // flight — claimed — when instance `a` is killed.
    hooks.set(ACCEPT);
    hooks.wait_for(60, Duration::from_secs(60)).await;
    hooks.set(SLOW_REJECT);
    // Any delivery answered 2xx has long been recorded after this.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut held_by_a = Vec::new();
    for _ in 0..200 {
        held_by_a = claimed_by(&db, "a").await;
        if !held_by_a.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !held_by_a.is_empty(),
        "instance a holds claimed, undelivered webhooks when it is killed"
    );
    a.kill();
    hooks.set(ACCEPT);

    // `b` delivers the rest, including what `a` had claimed once its lease
    // runs out.
    hooks.wait_for(200, Duration::from_secs(90)).await;
    // Time for a late duplicate to show up, were there one.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let accepted = hooks.accepted();
    let distinct: BTreeSet<String> = accepted.iter().cloned().collect();
    assert_eq!(distinct.len(), 200, "every webhook delivered");
    assert_eq!(accepted.len(), 200, "none delivered twice");
    let undelivered: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(undelivered, 0);
    for id in &held_by_a {
        assert!(
            distinct.contains(id),
            "{id}, claimed by a, was delivered by b"
        );
    }
    drop(b);
}

/// Webhooks `instance` is delivering: claimed, outcome not yet recorded.
async fn claimed_by(db: &PgPool, instance: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT id FROM outbox WHERE claimed_by = $1")
        .bind(instance)
        .fetch_all(db)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL (PAYCORE_TEST_DATABASE_URL)"]
async fn a_plugin_published_to_the_database_reaches_every_instance() {
    let server = postgres();
    let (provider, _provider_task) = start_provider().await;
    let hooks = HookReceiver::start().await;
    // Two folders with no plugin in them, one database: nothing shared on disk.
    let database_url = process::fresh_postgres_database(&server).await;
    let (dir_a, dir_b) = (Scratch::new("published-a"), Scratch::new("published-b"));
    for dir in [&dir_a, &dir_b] {
        write_config(&dir.0, &database_url, &provider, &hooks.url);
    }
    let (a, b) = tokio::join!(
        Paycore::start_named(&dir_a.0, "a"),
        Paycore::start_named(&dir_b.0, "b")
    );
    let client = client();
    let (status, body) = post(&client, &a.base, "/v1/payments", &barcode("PUB-0", 100)).await;
    assert_ne!(status, 201, "no plugin yet: {body}");

    let plugin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/plugins/sandbox.wasm");
    let plugin = std::env::var_os("PAYCORE_PLUGINS_DIR")
        .map(|d| Path::new(&d).join("sandbox.wasm"))
        .unwrap_or(plugin);
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_paycore"))
            .args(args)
            .arg("--config")
            .arg(dir_a.0.join("paycore.toml"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    };
    let plugin_arg = plugin.to_str().unwrap();
    let (ok, text) = cli(&["plugin", "publish", plugin_arg]);
    assert!(ok && text.contains("published sandbox@1.0.0"), "{text}");
    let (ok, text) = cli(&["plugin", "publish", plugin_arg]);
    assert!(ok && text.contains("already published"), "{text}");

    // Both instances hear of it and serve with it.
    on_every_instance(
        [&a, &b],
        "never loaded the published plugin",
        |base, attempt| {
            let client = client.clone();
            async move {
                let order = format!("PUB-{attempt}-{}", paycore::domain::new_id("o"));
                post(&client, &base, "/v1/payments", &barcode(&order, 100))
                    .await
                    .0
                    == 201
            }
        },
    )
    .await;

    // Unpublished, it is retired everywhere.
    let (ok, text) = cli(&["plugin", "unpublish", "sandbox@1.0.0"]);
    assert!(ok, "{text}");
    on_every_instance(
        [&a, &b],
        "still serves an unpublished plugin",
        |base, attempt| {
            let client = client.clone();
            async move {
                let order = format!("UNPUB-{attempt}-{}", paycore::domain::new_id("o"));
                post(&client, &base, "/v1/payments", &barcode(&order, 100))
                    .await
                    .0
                    != 201
            }
        },
    )
    .await;
}

/// A tenant config for `tenant_id`, with its provider key referenced from
/// the environment each instance resolves (published configs never hold
/// secrets inline).
fn published_tenant(tenant_id: &str, key: &str, provider: &str, name: &str) -> String {
    process::sandbox_tenant(
        tenant_id,
        key,
        &format!("name = \"{name}\""),
        &format!("{provider}/sandbox"),
        "sbx_multi",
        "env:PAYCORE_TEST_MULTI_PROVIDER_KEY",
    )
}

/// Polls `check` on each instance (at most 10 s each) until it holds.
async fn on_every_instance<F, Fut>(instances: [&Paycore; 2], what: &str, check: F)
where
    F: Fn(String, usize) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for (n, instance) in instances.into_iter().enumerate() {
        let mut held = false;
        for attempt in 0..100 {
            if check(instance.base.clone(), attempt).await {
                held = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(held, "instance {n}: {what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL (PAYCORE_TEST_DATABASE_URL)"]
async fn a_tenant_config_published_to_the_database_reaches_every_instance() {
    let server = postgres();
    let (provider, _provider_task) = start_provider().await;
    let hooks = HookReceiver::start().await;
    let database_url = process::fresh_postgres_database(&server).await;
    let dir_a = Scratch::new("tenant-pub-a").with_sandbox_plugin();
    let dir_b = Scratch::new("tenant-pub-b").with_sandbox_plugin();
    for dir in [&dir_a, &dir_b] {
        write_config(&dir.0, &database_url, &provider, &hooks.url);
    }
    // The instances' secret, in their environment only.
    let env = [("PAYCORE_TEST_MULTI_PROVIDER_KEY", PROVIDER_KEY)];
    let (a, b) = tokio::join!(
        Paycore::start_with_env(&dir_a.0, "a", &env),
        Paycore::start_with_env(&dir_b.0, "b", &env)
    );
    let client = client();
    const SHOP_KEY: &str = "sk_test_published_shop";
    let pay = |base: String, order: String| {
        let client = client.clone();
        async move {
            client
                .post(format!("{base}/v1/payments"))
                .bearer_auth(SHOP_KEY)
                .json(&barcode(&order, 100))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }
    };
    assert_eq!(pay(a.base.clone(), "SHOP-0".into()).await, 401);

    let cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_paycore"))
            .args(args)
            .arg("--config")
            .arg(dir_a.0.join("paycore.toml"))
            // The operator's machine does not hold the instances' secrets.
            .env_remove("PAYCORE_TEST_MULTI_PROVIDER_KEY")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    };
    let file = dir_a.0.join("shop.toml");

    // Refused before it is stored: an inline secret, a clash with the folder.
    let inline = published_tenant("shop", SHOP_KEY, &provider, "Shop")
        .replace("env:PAYCORE_TEST_MULTI_PROVIDER_KEY", "inline:leaked");
    std::fs::write(&file, inline).unwrap();
    let (ok, text) = cli(&["tenant", "publish", file.to_str().unwrap()]);
    assert!(
        !ok && text.contains("shop.toml:10:23:") && text.contains("cannot hold a secret inline"),
        "{text}"
    );
    assert!(!text.contains("leaked"), "{text}");
    std::fs::write(
        &file,
        published_tenant("multi", SHOP_KEY, &provider, "Clash"),
    )
    .unwrap();
    let (ok, text) = cli(&["tenant", "publish", file.to_str().unwrap()]);
    assert!(
        !ok && text.contains("tenant `multi` is also defined in"),
        "{text}"
    );

    // Published: both instances serve the new tenant.
    std::fs::write(&file, published_tenant("shop", SHOP_KEY, &provider, "Shop")).unwrap();
    let (ok, text) = cli(&["tenant", "publish", file.to_str().unwrap()]);
    assert!(
        ok && text.contains("published tenant `shop` as revision 1"),
        "{text}"
    );
    on_every_instance(
        [&a, &b],
        "never served the published tenant",
        |base, attempt| {
            let paid = pay(
                base,
                format!("SHOP-1-{attempt}-{}", paycore::domain::new_id("o")),
            );
            async move { paid.await == 201 }
        },
    )
    .await;

    // A new revision reaches both; /admin/tenants names where it came from.
    std::fs::write(
        &file,
        published_tenant("shop", SHOP_KEY, &provider, "Shop Two"),
    )
    .unwrap();
    let (ok, text) = cli(&["tenant", "publish", file.to_str().unwrap()]);
    assert!(ok && text.contains("as revision 2"), "{text}");
    on_every_instance([&a, &b], "never took revision 2", |base, _| {
        let client = client.clone();
        async move {
            let tenants: Value = client
                .get(format!("{base}/admin/tenants"))
                .bearer_auth("adm_test_multi")
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap_or(Value::Null);
            tenants["tenants"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|t| {
                    t["id"] == "shop"
                        && t["name"] == "Shop Two"
                        && t["source"] == "published:shop@r2"
                })
        }
    })
    .await;

    let (ok, text) = cli(&["tenant", "history"]);
    assert!(
        ok && text.contains("serving") && text.contains("superseded"),
        "{text}"
    );

    // Withdrawn: both stop serving it.
    let (ok, text) = cli(&["tenant", "withdraw", "shop"]);
    assert!(ok && text.contains("withdrew tenant `shop`"), "{text}");
    on_every_instance(
        [&a, &b],
        "still serves a withdrawn tenant",
        |base, attempt| {
            let paid = pay(base, format!("SHOP-2-{attempt}"));
            async move { paid.await == 401 }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL (PAYCORE_TEST_DATABASE_URL)"]
async fn a_rollback_at_one_instance_holds_at_every_instance() {
    let server = postgres();
    let (provider, _provider_task) = start_provider().await;
    let hooks = HookReceiver::start().await;
    let database_url = process::fresh_postgres_database(&server).await;
    // Both folders hold sandbox 1.0.0 and 1.1.0; nothing else is shared.
    let newer = std::env::var_os("PAYCORE_TEST_PLUGINS_DIR")
        .map(|d| Path::new(&d).join("sandbox-1.1.0.wasm"))
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-plugins/sandbox-1.1.0.wasm")
        });
    let dir_a = Scratch::new("decide-a").with_sandbox_plugin();
    let dir_b = Scratch::new("decide-b").with_sandbox_plugin();
    for dir in [&dir_a, &dir_b] {
        write_config(&dir.0, &database_url, &provider, &hooks.url);
        std::fs::copy(&newer, dir.0.join("plugins/sandbox-1.1.0.wasm"))
            .unwrap_or_else(|e| panic!("{}: {e}: run `cargo xtask test`", newer.display()));
    }
    let (a, b) = tokio::join!(
        Paycore::start_named(&dir_a.0, "a"),
        Paycore::start_named(&dir_b.0, "b")
    );
    let client = client();
    let version_at = |base: String, order: String| {
        let client = client.clone();
        async move {
            let (_, body) = post(&client, &base, "/v1/payments", &barcode(&order, 100)).await;
            body["plugin"]["version"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        }
    };
    let admin = |base: String, path: &'static str| {
        let client = client.clone();
        async move {
            let r = client
                .post(format!("{base}{path}"))
                .bearer_auth("adm_test_multi")
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap_or_default())
        }
    };
    for (n, instance) in [&a, &b].into_iter().enumerate() {
        let order = format!("DECIDE-0-{n}");
        assert_eq!(version_at(instance.base.clone(), order).await, "1.1.0");
    }

    // Rolled back at a: b follows.
    let (status, text) = admin(a.base.clone(), "/admin/plugins/sandbox/rollback").await;
    assert_eq!(status, 200, "{text}");
    on_every_instance([&a, &b], "never rolled back to 1.0.0", |base, attempt| {
        let version = version_at(
            base,
            format!("DECIDE-1-{attempt}-{}", paycore::domain::new_id("o")),
        );
        async move { version.await == "1.0.0" }
    })
    .await;

    // Restored at b: a follows.
    let (status, text) = admin(b.base.clone(), "/admin/plugins/sandbox@1.1.0/restore").await;
    assert_eq!(status, 200, "{text}");
    on_every_instance([&a, &b], "never restored 1.1.0", |base, attempt| {
        let version = version_at(
            base,
            format!("DECIDE-2-{attempt}-{}", paycore::domain::new_id("o")),
        );
        async move { version.await == "1.1.0" }
    })
    .await;
}
