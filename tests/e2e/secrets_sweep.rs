//! Every configured secret value, searched for in everything paycore wrote
//! during a representative session: its log (debug level, JSON), every API
//! response (bodies and headers, errors included), the metrics, the admin
//! views, the webhooks it sent, and, on SQLite, the database files
//! byte for byte. None may appear.

use paycore_e2e::*;

/// Every secret the harness configures, and the credentials clients send.
const SECRETS: &[&str] = &[
    "e2e-demo-provider-key",
    "e2e-acme-provider-key",
    WEBHOOK_SECRET,
    "adm_test_e2e",
    DEMO_KEY,
    ACME_KEY,
    LAB_KEY,
];

fn record(out: &mut Vec<u8>, r: &Reply) {
    for (name, value) in &r.headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(value.as_bytes());
    }
    out.extend_from_slice(r.body.to_string().as_bytes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_value_appears_in_anything_paycore_writes() {
    // It installs the process's subscriber, which would log every test.
    if ran_in_own_process() {
        return;
    }
    let log = LogCapture::default();
    tracing_subscriber::fmt()
        .json()
        .with_env_filter("paycore=debug,paycore_sandbox_provider=debug")
        .with_writer(log.clone())
        .init();
    let t = TestApp::start().await;
    let mut written: Vec<u8> = Vec::new();

    // Payments that succeed, wait, fail and are refunded; errors of each kind.
    let paid = t.pay(barcode("SWEEP-1", 8888, "134567890124")).await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.body);
    record(&mut written, &paid);
    let refund = t
        .post(
            DEMO_KEY,
            &format!("/v1/payments/{}/refunds", paid.id()),
            json!({ "merchant_refund_no": "SWEEP-R1", "amount": 100 }),
        )
        .await;
    record(&mut written, &refund);
    let qr = t
        .pay(json!({ "merchant_order_no": "SWEEP-2", "amount": 4500, "currency": "CNY", "scene": "qrcode" }))
        .await;
    record(&mut written, &qr);
    let (body, signature) = provider_callback("T-SWEEP", "SWEEP-2", "45.00");
    let callback = t.callback(&body, Some(&signature)).await;
    written.extend_from_slice(callback.text().await.unwrap().as_bytes());
    let forged = t.callback(&body, Some("00")).await;
    written.extend_from_slice(forged.text().await.unwrap().as_bytes());
    for reply in [
        t.post(
            LAB_KEY,
            "/v1/payments",
            barcode("SWEEP-3", 100, "1000000007"),
        )
        .await,
        t.post(
            LAB_KEY,
            "/v1/payments",
            barcode("SWEEP-4", 100, "1000000003"),
        )
        .await,
        t.post(
            "sk_test_not_a_key",
            "/v1/payments",
            barcode("SWEEP-5", 100, "1"),
        )
        .await,
        t.post_raw(DEMO_KEY, "/v1/payments", "{\"amount\": \"ten\"")
            .await,
        t.get(DEMO_KEY, &format!("/v1/payments/{}", paid.id()))
            .await,
        t.events(DEMO_KEY, &paid.id()).await,
    ] {
        record(&mut written, &reply);
    }
    for path in [
        "/admin/status",
        "/admin/plugins",
        "/admin/tenants",
        "/admin/channels",
    ] {
        record(&mut written, &t.admin(path).await);
    }
    let metrics = t.client.get(t.url("/metrics")).send().await.unwrap();
    written.extend_from_slice(metrics.text().await.unwrap().as_bytes());
    for hook in t.wait_for_webhooks(1).await {
        written.extend_from_slice(format!("{hook:?}").as_bytes());
    }
    // The folder goes with the app: read the database (WAL too) first.
    let data_dir = t.data_dir().to_path_buf();

    written.extend_from_slice(&log.bytes());
    let log_bytes = log.bytes().len();
    let mut database_bytes = 0;
    for entry in std::fs::read_dir(&data_dir).unwrap() {
        let Ok(entry) = entry else { continue };
        let path = entry.path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("paycore.db") {
            // The WAL files go when the last connection closes.
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            database_bytes += bytes.len();
            written.extend_from_slice(&bytes);
        }
    }
    t.stop().await;
    assert!(
        log_bytes > 2_000,
        "the log was captured ({log_bytes} bytes)"
    );
    for secret in SECRETS {
        let found = written
            .windows(secret.len())
            .position(|w| w == secret.as_bytes());
        assert!(
            found.is_none(),
            "`{secret}` appears in what paycore wrote, at byte {found:?}: …{}…",
            String::from_utf8_lossy(
                &written
                    [found.unwrap().saturating_sub(200)..(found.unwrap() + 60).min(written.len())]
            )
        );
    }
    println!(
        "searched {} bytes ({log_bytes} of log, {database_bytes} of database files) for {} secrets",
        written.len(),
        SECRETS.len()
    );
}
