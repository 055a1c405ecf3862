//! Idempotent creates: by merchant order number and by Idempotency-Key,
//! also when the same request arrives concurrently.

use paycore::store::Table;
use paycore_e2e::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_order_number_and_body_replays_the_same_payment() {
    let t = TestApp::start().await;
    let first = t.pay(barcode("IDEM-1", 8888, "134567890124")).await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = t.pay(barcode("IDEM-1", 8888, "134567890124")).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(again.body["status"], "succeeded");
    assert_eq!(t.store().count(Table::Payments).await.unwrap(), 1);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_order_number_with_another_body_is_a_conflict() {
    let t = TestApp::start().await;
    t.pay(barcode("IDEM-2", 8888, "134567890124")).await;
    let changed = t.pay(barcode("IDEM-2", 9999, "134567890124")).await;
    assert_eq!(changed.status, StatusCode::CONFLICT);
    assert_eq!(changed.code(), "idempotency_conflict");
    assert_eq!(t.store().count(Table::Payments).await.unwrap(), 1);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_keys_replay_and_conflict() {
    let t = TestApp::start().await;
    let send = |body: serde_json::Value, key: &str| {
        t.send(
            t.client
                .post(t.url("/v1/payments"))
                .bearer_auth(DEMO_KEY)
                .header("Idempotency-Key", key)
                .json(&body),
        )
    };
    let first = send(barcode("IDEM-K-1", 100, "134567890124"), "key-1").await;
    assert_eq!(first.status, StatusCode::CREATED);
    let replay = send(barcode("IDEM-K-1", 100, "134567890124"), "key-1").await;
    assert_eq!(replay.status, StatusCode::OK);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.body["id"], first.body["id"]);
    // Same key, different request: refused, nothing created.
    let other = send(barcode("IDEM-K-2", 100, "134567890124"), "key-1").await;
    assert_eq!(other.status, StatusCode::CONFLICT, "{}", other.body);
    assert_eq!(t.store().count(Table::Payments).await.unwrap(), 1);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_identical_creates_make_one_payment() {
    let t = TestApp::start().await;
    let replies = futures_join(&t, 8).await;
    let ids: std::collections::BTreeSet<String> = replies.iter().map(|r| r.id()).collect();
    assert_eq!(ids.len(), 1, "{replies:?}");
    assert_eq!(
        replies
            .iter()
            .filter(|r| r.status == StatusCode::CREATED)
            .count(),
        1
    );
    assert_eq!(t.store().count(Table::Payments).await.unwrap(), 1);
    let read = t
        .get(DEMO_KEY, &format!("/v1/payments/{}", replies[0].id()))
        .await;
    assert_eq!(read.body["status"], "succeeded");
    t.stop().await;
}

async fn futures_join(t: &TestApp, n: usize) -> Vec<Reply> {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let client = t.client.clone();
        let url = t.url("/v1/payments");
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(DEMO_KEY)
                .json(&barcode("IDEM-RACE-1", 4200, "134567890124"))
                .send()
                .await
                .unwrap();
            let status = r.status();
            let headers = r.headers().clone();
            Reply {
                status,
                headers,
                body: r.json().await.unwrap(),
            }
        }));
    }
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}
