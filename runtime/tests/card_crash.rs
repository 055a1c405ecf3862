//! Card payments under load through the real `paycore` binary and the real
//! `card.wasm`, killed with SIGKILL mid-flight and restarted on the same
//! database (SQLite, or PostgreSQL under `PAYCORE_TEST_DATABASE_URL`):
//! afterwards no value was created or lost (the ledger's postings sum to
//! zero, each card's balances equal its postings, what the cards lost is
//! exactly what succeeded card payments took), every payment the API
//! acknowledged is there as it was answered, and nothing stays held once
//! the sweeper has settled what the kill left open. The same for combined
//! orders (a card tender and a sandbox barcode for the rest): a kill
//! between a hold and its capture, or between the hold and the wallet's
//! answer, leaves holds the sweeper spends or gives back with the order.

use crate::support::process::{self, CARD_CHANNEL, Paycore, Scratch};
use crate::support::wait::eventually;
use paycore::domain::TenantId;
use paycore::ledger::CardId;
use paycore::store::Store;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use std::time::Duration;

const KEY: &str = "sk_test_card_crash";
const CARDS: usize = 4;
const FACE_VALUE: i64 = 20_000;
const PRICE: i64 = 700;
/// A combined order's wallet part, beside the card's `PRICE`.
const WALLET_PART: i64 = 300;

/// What each payer's orders are paid with.
#[derive(Clone, Copy)]
enum Paid {
    /// The card alone, in the merchant's app.
    Card,
    /// `PRICE` from the card and `WALLET_PART` by sandbox barcode.
    Combined,
}

fn order_body(paid: Paid, order: &str, card: &str) -> Value {
    match paid {
        Paid::Card => json!({ "merchant_order_no": order, "amount": PRICE, "currency": "CNY",
                              "scene": "jsapi", "wallet": "card",
                              "payer": { "open_id": "m", "buyer_id": card } }),
        Paid::Combined => json!({ "merchant_order_no": order, "amount": PRICE + WALLET_PART,
                                  "currency": "CNY", "payer": { "open_id": "m" },
                                  "tenders": [
                                      { "type": "card", "card_id": card, "amount": PRICE },
                                      { "scene": "barcode", "auth_code": "134567890124", "wallet": "sandbox" }
                                  ] }),
    }
}

async fn setup() -> (Scratch, String) {
    let scratch = Scratch::new("card-crash")
        .with_sandbox_plugin()
        .with_plugin("card");
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
sbx_card_crash = "inline:card-crash-provider"
[plugin_limits]
call_timeout_ms = 3000
# Younger payments are left to their own call: the killed process's sweeper
# never claims one in flight, so no lease (on PostgreSQL) outlives it.
# A card payment whose call died before it held anything is, like any
# in-app payment the channel has no order for, closed once it expires; a
# combined order's wallet part, a barcode, is cancelled at its deadline.
[sweeper]
interval_ms = 200
min_age_ms = 2000
backoff_ms = [200]
pending_expiry_ms = 3000
barcode_deadline_ms = 3000
"#
        ),
    )
    .unwrap();
    let tenant = process::sandbox_tenant(
        "cards",
        KEY,
        "",
        "{public_url}/sandbox",
        "sbx_card_crash",
        "inline:card-crash-provider",
    ) + CARD_CHANNEL;
    std::fs::write(dir.join("tenants/cards.toml"), tenant).unwrap();
    (scratch, database_url)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn issue(client: &reqwest::Client, base: &str) -> String {
    let r: Value = client
        .post(format!("{base}/v1/cards"))
        .bearer_auth(KEY)
        .json(
            &json!({ "program": "gift", "holder": "m", "amount": FACE_VALUE,
                       "funded_by": { "type": "promotion" } }),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["id"].as_str().expect("a card").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_payments_killed_mid_flight_neither_create_nor_lose_value() {
    killed_mid_flight(Paid::Card).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn combined_orders_killed_mid_flight_neither_create_nor_lose_value() {
    killed_mid_flight(Paid::Combined).await;
}

async fn killed_mid_flight(paid: Paid) {
    let (scratch, database_url) = setup().await;
    let dir = &scratch.0;
    let paycore = Paycore::start(dir).await;
    let client = client();
    let mut cards = Vec::new();
    for _ in 0..CARDS {
        cards.push(issue(&client, &paycore.base).await);
    }

    // Payers keep paying, each on its card, until the process dies under
    // them. What the API answered is what must hold afterwards.
    let answered: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
    let mut payers = tokio::task::JoinSet::new();
    for (n, card) in cards.iter().enumerate() {
        let (client, base, card, answered) = (
            client.clone(),
            paycore.base.clone(),
            card.clone(),
            answered.clone(),
        );
        payers.spawn(async move {
            for i in 0..200 {
                let order = format!("CC-{n}-{i}");
                let body = order_body(paid, &order, &card);
                let Ok(r) = client
                    .post(format!("{base}/v1/payments"))
                    .bearer_auth(KEY)
                    .json(&body)
                    .send()
                    .await
                else {
                    return;
                };
                let Ok(payment) = r.json::<Value>().await else {
                    return;
                };
                if let Some(status) = payment["status"].as_str() {
                    answered.lock().unwrap().insert(order, status.to_string());
                }
            }
        });
    }
    eventually(
        "some card payments answered",
        Duration::from_secs(60),
        async || (answered.lock().unwrap().len() >= 20).then_some(()),
    )
    .await;
    paycore.kill();
    payers.join_all().await;
    let answered = answered.lock().unwrap().clone();

    let paycore = Paycore::start(dir).await;
    let client = self::client();
    let base = paycore.base.clone();
    // The sweeper settles what the kill left open: no payment open, no
    // value held. Every order a payer may have sent is looked up.
    let orders: Vec<String> = (0..CARDS)
        .flat_map(|n| (0..200).map(move |i| format!("CC-{n}-{i}")))
        .collect();
    let still_open: Mutex<String> = Mutex::default();
    let statuses = crate::support::wait::until(Duration::from_secs(60), async || {
        match settled(&client, &base, &orders, &cards).await {
            Ok(statuses) => Some(statuses),
            Err(open) => {
                *still_open.lock().unwrap() = open;
                None
            }
        }
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "the sweeper did not settle every card payment and hold in 60 s; still open: {}",
            still_open.lock().unwrap()
        )
    });

    // Every answered payment is there as answered (a final answer is final).
    for (order, status) in &answered {
        if status == "succeeded" || status == "failed" {
            assert_eq!(statuses.get(order), Some(status), "{order}");
        }
    }

    // No value created or lost: the cards lost exactly what succeeded card
    // payments took, and every balance is its postings.
    let store = Store::open(&database_url, None).await.unwrap();
    let tenant = TenantId::from("cards");
    let mut spent = 0;
    for card in &cards {
        let c = store
            .card(&tenant, &CardId::from(card.as_str()))
            .await
            .unwrap()
            .unwrap();
        assert!(c.balance >= 0 && c.held == 0, "{c:?}");
        spent += FACE_VALUE - c.balance;
    }
    let succeeded = statuses.values().filter(|s| *s == "succeeded").count() as i64 * PRICE;
    assert!(succeeded > 0);
    assert_eq!(
        spent, succeeded,
        "what the cards lost is what succeeded payments (or orders) took"
    );
    let totals = store.ledger_totals(&tenant).await.unwrap();
    let sum: i64 = totals.iter().map(|t| t.balance).sum();
    assert_eq!(sum, 0, "{totals:?}");
    let redeemed: i64 = totals
        .iter()
        .filter(|t| t.account == "redemption")
        .map(|t| t.balance)
        .sum();
    assert_eq!(redeemed, succeeded);
    assert_eq!(store.card_drifts(&tenant).await.unwrap(), vec![]);
    drop(paycore);
}

/// Every order's final status (orders never created left out), once no
/// payment is open and no card holds value; else what is still open.
async fn settled(
    client: &reqwest::Client,
    base: &str,
    orders: &[String],
    cards: &[String],
) -> Result<BTreeMap<String, String>, String> {
    let get = async |path: String| -> Result<(reqwest::StatusCode, Value), String> {
        let r = client
            .get(format!("{base}{path}"))
            .bearer_auth(KEY)
            .send()
            .await
            .map_err(|e| format!("GET {path}: {e}"))?;
        let status = r.status();
        let body = r.json().await.unwrap_or(Value::Null);
        Ok((status, body))
    };
    let mut statuses = BTreeMap::new();
    for order in orders {
        let (status, payment) = get(format!("/v1/payments?merchant_order_no={order}")).await?;
        if status == reqwest::StatusCode::NOT_FOUND {
            continue;
        }
        let state = payment["status"].as_str().unwrap_or_default().to_string();
        if !matches!(
            state.as_str(),
            "succeeded" | "failed" | "closed" | "cancelled"
        ) {
            return Err(format!("{order}: {status} {payment}"));
        }
        statuses.insert(order.clone(), state);
    }
    for card in cards {
        let (_, c) = get(format!("/v1/cards/{card}")).await?;
        if c["held"] != 0 {
            return Err(format!("card {c}"));
        }
    }
    Ok(statuses)
}
