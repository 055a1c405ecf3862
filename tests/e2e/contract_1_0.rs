//! A plugin built for contract 1.0.0 keeps loading and serving in a runtime
//! that implements a newer 1.x: the sandbox build kept byte for byte in
//! `tests/fixtures/plugins` (see its README) serves the standard tenants
//! beside plugins built for the current contract, one of them (`card`)
//! importing what 1.1.0 added (the ledger).

use paycore_e2e::*;

fn contract_1_0_sandbox() -> std::path::PathBuf {
    workspace_path("tests/fixtures/plugins/sandbox-1.0.0-contract-1.0.0.wasm")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_built_for_contract_1_0_pays_queries_and_refunds() {
    let t = TestApp::start_with_extra(
        Options {
            sandbox_plugin: Some(contract_1_0_sandbox()),
            ..Options::default()
        },
        Extra {
            // `card` imports the ledger, which 1.1.0 added and 1.0.0 lacks.
            plugins: vec!["alipay".into(), "wechatpay".into(), "card".into()],
            ..Extra::default()
        },
    )
    .await;

    let plugins = t.admin("/admin/plugins").await;
    let contract_of = |name: &str| {
        plugins.body["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| (p["state"].clone(), p["contract_version"].clone()))
    };
    assert_eq!(
        contract_of("sandbox"),
        Some((json!("live"), json!("1.0.0"))),
        "{}",
        plugins.body
    );
    for current in ["alipay", "wechatpay", "misbehave", "card"] {
        assert_eq!(
            contract_of(current),
            Some((json!("live"), json!("1.1.0"))),
            "{current}: {}",
            plugins.body
        );
    }
    let status = t.admin("/admin/status").await;
    assert_eq!(status.body["errors"], json!([]), "{}", status.body);

    // A payment that is still processing, settled by querying the channel.
    let paid = t.pay(barcode("C10-PAY-1", 8888, "134567890122")).await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.body);
    assert_eq!(paid.body["status"], "processing", "{}", paid.body);
    assert_eq!(
        paid.body["plugin"],
        json!({ "name": "sandbox", "version": "1.0.0" })
    );
    let id = paid.id();
    let synced = t.sync_until_not(DEMO_KEY, &id, "processing").await;
    assert_eq!(synced.body["status"], "succeeded", "{}", synced.body);

    let refund = t
        .post(
            DEMO_KEY,
            &format!("/v1/payments/{id}/refunds"),
            json!({ "merchant_refund_no": "C10-RF-1", "amount": 1000, "reason": "one latte less" }),
        )
        .await;
    assert_eq!(refund.status, StatusCode::CREATED, "{}", refund.body);
    assert_eq!(refund.body["status"], "succeeded", "{}", refund.body);
    let payment = t.get(DEMO_KEY, &format!("/v1/payments/{id}")).await;
    assert_eq!(payment.body["refunded_amount"], 1000, "{}", payment.body);

    // 1.0.0 has no statement export: its channel cannot be reconciled, and
    // the run says so rather than failing the host.
    let run = t
        .post(
            DEMO_KEY,
            "/v1/reconciliations",
            json!({ "channel": "sandbox-main", "date": "2026-01-01" }),
        )
        .await;
    assert_eq!(run.status, StatusCode::OK, "{}", run.body);
    assert_eq!(run.body["status"], "failed", "{}", run.body);
    let failure = run.body["failure"].as_str().unwrap();
    assert!(failure.contains("publishes no statement"), "{failure}");
    t.stop().await;
}
