//! Refunds: partial, full, failed, idempotent, and never above the amount,
//! also under concurrent requests.

use paycore::store::Table;
use paycore_e2e::*;

async fn paid(t: &TestApp, order_no: &str, amount: i64) -> String {
    let r = t.pay(barcode(order_no, amount, "134567890124")).await;
    assert_eq!(r.body["status"], "succeeded", "{}", r.body);
    r.id()
}

fn refund(no: &str, amount: i64) -> serde_json::Value {
    json!({ "merchant_refund_no": no, "amount": amount, "reason": "customer changed mind" })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_refunds_up_to_the_amount_then_422() {
    let t = TestApp::start().await;
    let id = paid(&t, "RF-1", 8888).await;
    let path = format!("/v1/payments/{id}/refunds");
    let first = t.post(DEMO_KEY, &path, refund("RF-1-a", 1000)).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(first.body["status"], "succeeded");
    assert_eq!(first.body["payment_id"], id.as_str());
    assert!(first.body["id"].as_str().unwrap().starts_with("re_"));
    assert!(
        first.body["channel_refund_no"]
            .as_str()
            .unwrap()
            .starts_with("sbr")
    );
    let over = t.post(DEMO_KEY, &path, refund("RF-1-b", 7889)).await;
    assert_eq!(over.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(over.code(), "refund_exceeds_remaining");
    assert_eq!(over.body["error"]["field"], "amount");
    let rest = t.post(DEMO_KEY, &path, refund("RF-1-c", 7888)).await;
    assert_eq!(rest.body["status"], "succeeded");
    let payment = t.get(DEMO_KEY, &format!("/v1/payments/{id}")).await;
    assert_eq!(payment.body["refunded_amount"], 8888);
    let read = t
        .get(DEMO_KEY, &format!("/v1/refunds/{}", first.id()))
        .await;
    assert_eq!(read.body["amount"], 1000);
    let synced = t
        .post(
            DEMO_KEY,
            &format!("/v1/refunds/{}/sync", first.id()),
            json!({}),
        )
        .await;
    assert_eq!(synced.status, StatusCode::OK, "{}", synced.body);
    assert_eq!(synced.body["status"], "succeeded");
    assert_eq!(t.store().count(Table::Refunds).await.unwrap(), 2);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_refund_releases_its_amount() {
    let t = TestApp::start().await;
    let id = paid(&t, "RF-2", 500).await;
    let path = format!("/v1/payments/{id}/refunds");
    let failed = t
        .post(
            DEMO_KEY,
            &path,
            json!({ "merchant_refund_no": "RF-2-a", "amount": 500, "reason": "sandbox:fail" }),
        )
        .await;
    assert_eq!(failed.status, StatusCode::CREATED, "{}", failed.body);
    assert_eq!(failed.body["status"], "failed");
    assert!(failed.body["failure"]["code"].is_string());
    let retry = t.post(DEMO_KEY, &path, refund("RF-2-b", 500)).await;
    assert_eq!(retry.body["status"], "succeeded", "{}", retry.body);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_are_idempotent_on_the_merchant_refund_number() {
    let t = TestApp::start().await;
    let id = paid(&t, "RF-3", 900).await;
    let path = format!("/v1/payments/{id}/refunds");
    let first = t.post(DEMO_KEY, &path, refund("RF-3-a", 300)).await;
    let again = t.post(DEMO_KEY, &path, refund("RF-3-a", 300)).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body["id"], first.body["id"]);
    let changed = t.post(DEMO_KEY, &path, refund("RF-3-a", 301)).await;
    assert_eq!(changed.status, StatusCode::CONFLICT);
    let payment = t.get(DEMO_KEY, &format!("/v1/payments/{id}")).await;
    assert_eq!(payment.body["refunded_amount"], 300);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refunds_never_exceed_the_amount() {
    let t = TestApp::start().await;
    let id = paid(&t, "RF-4", 8888).await;
    let mut tasks = Vec::new();
    for i in 0..12 {
        let client = t.client.clone();
        let url = t.url(&format!("/v1/payments/{id}/refunds"));
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(DEMO_KEY)
                .json(&refund(&format!("RF-4-{i}"), 2000))
                .send()
                .await
                .unwrap();
            r.status()
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY)
        .count();
    assert_eq!((created, refused), (4, 8), "{statuses:?}");
    let payment = t.get(DEMO_KEY, &format!("/v1/payments/{id}")).await;
    assert_eq!(payment.body["refunded_amount"], 8000);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_succeeded_payments_can_be_refunded() {
    let t = TestApp::start().await;
    let declined = t.pay(barcode("RF-5", 100, "134567890121")).await;
    let r = t
        .post(
            DEMO_KEY,
            &format!("/v1/payments/{}/refunds", declined.id()),
            refund("RF-5-a", 100),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.code(), "payment_not_refundable");
    assert_eq!(t.store().count(Table::Refunds).await.unwrap(), 0);
    t.stop().await;
}
