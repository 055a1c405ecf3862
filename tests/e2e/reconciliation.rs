//! Reconciliation (对账) against the sandbox provider's daily statement:
//! a day that agrees, the payment paycore left `unknown` settled by it,
//! each fault the provider can be made to publish found as its kind and
//! nothing else, the business day's edges in Beijing time, and a re-run
//! that changes nothing.

use paycore::clock::Clock;
use paycore_e2e::reconciliation::open_differences;
use paycore_e2e::*;
use serde_json::Value;
use std::time::Duration;

/// 2031-06-01 10:00 in Beijing (02:00 UTC).
const JUNE_1_10AM: i64 = 1_938_045_600_000;
const DAY: Duration = Duration::from_secs(24 * 3600);

async fn start(clock: &Clock) -> TestApp {
    TestApp::start_with(Options {
        clock: Some(clock.clone()),
        // Nothing but the run itself may settle what the day left open.
        sweeper_interval_ms: 3_600_000,
        ..Options::default()
    })
    .await
}

async fn paid(t: &TestApp, order_no: &str, amount: i64) -> String {
    let r = t.pay(barcode(order_no, amount, "134567890124")).await;
    assert_eq!(r.body["status"], "succeeded", "{}", r.body);
    r.id()
}

async fn reconcile(t: &TestApp, date: &str) -> Reply {
    let r = t
        .post(
            DEMO_KEY,
            "/v1/reconciliations",
            json!({ "channel": "sandbox-main", "date": date }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r
}

/// The `reconciliation.discrepancy` webhooks received so far.
async fn discrepancies(t: &TestApp) -> usize {
    t.wait_for_webhooks(0)
        .await
        .iter()
        .filter(|h| {
            serde_json::from_str::<Value>(&h.body).unwrap()["type"] == "reconciliation.discrepancy"
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_agrees_and_settles_the_payment_paycore_left_unknown() {
    let clock = Clock::manual_at_millis(JUNE_1_10AM);
    let t = start(&clock).await;
    let first = paid(&t, "RC-1", 8888).await;
    paid(&t, "RC-2", 1000).await;
    let reversed = paid(&t, "RC-3", 2500).await;
    // The provider times out (auth code ending in 3) but takes the money.
    let unknown = t.pay(barcode("RC-4", 4200, "134567890123")).await;
    let unknown = &unknown.body["error"]["payment"];
    assert_eq!(unknown["status"], "unknown", "{unknown}");
    let unknown = unknown["id"].as_str().unwrap().to_owned();
    let refund = t
        .post(
            DEMO_KEY,
            &format!("/v1/payments/{first}/refunds"),
            json!({ "merchant_refund_no": "RC-1-R", "amount": 888 }),
        )
        .await;
    assert_eq!(refund.body["status"], "succeeded", "{}", refund.body);
    let cancel = t
        .post(
            DEMO_KEY,
            &format!("/v1/payments/{reversed}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(cancel.body["status"], "cancelled", "{}", cancel.body);

    // Today's statement is not published yet: the run fails, nothing moves.
    let early = reconcile(&t, "2031-06-01").await;
    assert_eq!(early.body["status"], "failed", "{}", early.body);
    assert!(
        early.body["failure"]
            .as_str()
            .unwrap()
            .contains("statement_not_ready"),
        "{}",
        early.body
    );
    let still = t.get(DEMO_KEY, &format!("/v1/payments/{unknown}")).await;
    assert_eq!(still.body["status"], "unknown");

    clock.advance(DAY);
    let run = reconcile(&t, "2031-06-01").await;
    let body = &run.body;
    assert_eq!(body["status"], "completed", "{body}");
    assert_eq!(body["time_zone"], "Asia/Shanghai");
    assert_eq!(
        open_differences(body),
        Vec::<(String, String)>::new(),
        "{body}"
    );
    assert_eq!(body["open_differences"], 0);
    // Four payments, a refund, a reversal; the unknown one settled by a
    // query the statement prompted.
    assert_eq!(body["summary"]["lines"], 6, "{body}");
    assert_eq!(body["summary"]["matched"], 5, "{body}");
    assert_eq!(body["summary"]["settled"], 1, "{body}");
    let cny = &body["summary"]["currencies"]["CNY"];
    assert_eq!(cny["gross"], 8888 + 1000 + 2500 + 4200, "{body}");
    assert_eq!(cny["refunded"], 888 + 2500, "{body}");
    // 0.6 % per payment, half to even; refunds give theirs back.
    assert_eq!(cny["payments"]["fee"], 53 + 6 + 15 + 25, "{body}");
    let settled = t.get(DEMO_KEY, &format!("/v1/payments/{unknown}")).await;
    assert_eq!(settled.body["status"], "succeeded", "{}", settled.body);

    // The same day again: the same answer, in the same run.
    let again = reconcile(&t, "2031-06-01").await;
    assert_eq!(again.body["id"], body["id"]);
    assert_eq!(again.body["runs"], 3, "{}", again.body);
    assert_eq!(again.body["open_differences"], 0, "{}", again.body);
    assert_eq!(again.body["summary"]["matched"], 6, "{}", again.body);
    let read = t
        .get(
            DEMO_KEY,
            &format!("/v1/reconciliations/{}", body["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(read.body["summary"], again.body["summary"]);
    // Another tenant sees nothing of it.
    let other = t
        .get(
            ACME_KEY,
            &format!("/v1/reconciliations/{}", body["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let listed = t
        .get(
            DEMO_KEY,
            "/v1/reconciliations?channel=sandbox-main&from=2031-06-01&to=2031-06-30",
        )
        .await;
    assert_eq!(
        listed.body["data"].as_array().unwrap().len(),
        1,
        "{}",
        listed.body
    );

    // `paycore reconcile` runs the same day from the command line, on the
    // same database, into the same record.
    let overrides = paycore::config::Overrides::default();
    let mut config =
        paycore::config::load(&t.config_file(), &overrides).expect("the test's config");
    // The test's server listens on a port of its own choosing; the
    // sandbox channel's `{public_url}` is where it does.
    config.server.public_url = Some(t.base.clone());
    let (cli_run, items) =
        paycore::app::reconcile(&config, &overrides, "demo", "sandbox-main", "2031-06-01")
            .await
            .expect("reconciled");
    assert_eq!(cli_run.id, body["id"].as_str().unwrap());
    assert_eq!(cli_run.runs, 4);
    assert_eq!(cli_run.status, "completed", "{:?}", cli_run.failure);
    assert_eq!(cli_run.open_differences, 0);
    assert!(items.iter().all(|i| i.state != "open"));
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_in_the_statement_is_found_as_its_kind() {
    let clock = Clock::manual_at_millis(JUNE_1_10AM);
    let t = start(&clock).await;
    for (no, amount) in [
        ("RF-1", 1000),
        ("RF-2", 2000),
        ("RF-3", 3000),
        ("RF-4", 4000),
    ] {
        paid(&t, no, amount).await;
    }
    let adjust = |body: Value| async {
        let answer = t.provider("statement_adjust", body).await;
        assert_eq!(answer["code"], "SUCCESS", "{answer}");
    };
    // A payment paycore never saw, one the channel leaves out, one whose
    // amount it states otherwise, and a refund made in its console.
    adjust(json!({ "date": "2031-06-01", "action": "add", "out_trade_no": "RF-GHOST", "amount": "12.34" })).await;
    adjust(json!({ "date": "2031-06-01", "action": "drop", "out_trade_no": "RF-2" })).await;
    adjust(json!({ "date": "2031-06-01", "action": "set_amount", "out_trade_no": "RF-3", "amount": "30.01" })).await;
    let console = t
        .provider(
            "refund",
            json!({ "out_trade_no": "RF-4", "out_refund_no": "CONSOLE-1", "amount": "5.00", "reason": "at the counter" }),
        )
        .await;
    assert_eq!(console["status"], "SUCCEEDED", "{console}");

    clock.advance(DAY);
    let run = reconcile(&t, "2031-06-01").await;
    assert_eq!(run.body["status"], "completed", "{}", run.body);
    assert_eq!(
        open_differences(&run.body),
        vec![
            ("amount_differs".to_owned(), "RF-3".to_owned()),
            ("missing_at_channel".to_owned(), "RF-2".to_owned()),
            ("missing_at_paycore".to_owned(), "RF-GHOST".to_owned()),
            ("status_differs".to_owned(), "RF-4".to_owned()),
        ],
        "{}",
        run.body
    );
    assert_eq!(run.body["open_differences"], 4);
    // RF-1, and RF-4's payment (its refund is the difference).
    assert_eq!(run.body["summary"]["matched"], 2, "{}", run.body);
    let ghost = run.body["differences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["merchant_order_no"] == "RF-GHOST")
        .unwrap();
    assert_eq!(ghost["channel"]["amount"], 1234, "{ghost}");
    assert_eq!(ghost["paycore"], Value::Null, "{ghost}");

    // Each difference is announced once, to the tenant's webhook URL.
    eventually_async("four discrepancy webhooks", async || {
        (discrepancies(&t).await == 4).then_some(())
    })
    .await;
    let again = reconcile(&t, "2031-06-01").await;
    assert_eq!(open_differences(&again.body), open_differences(&run.body));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        discrepancies(&t).await,
        4,
        "a re-run announces nothing it announced before"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_business_day_ends_at_midnight_in_beijing() {
    // 23:59:59 on 1 June in Beijing, then midnight.
    let clock = Clock::manual_at_millis(1_938_095_999_000);
    let t = start(&clock).await;
    paid(&t, "RM-LATE", 1000).await;
    clock.advance(Duration::from_secs(1));
    paid(&t, "RM-EARLY", 2000).await;
    clock.advance(2 * DAY);
    let june_1 = reconcile(&t, "2031-06-01").await;
    let june_2 = reconcile(&t, "2031-06-02").await;
    for (run, gross) in [(&june_1.body, 1000), (&june_2.body, 2000)] {
        assert_eq!(run["status"], "completed", "{run}");
        assert_eq!(run["open_differences"], 0, "{run}");
        assert_eq!(run["summary"]["lines"], 1, "{run}");
        assert_eq!(run["summary"]["currencies"]["CNY"]["gross"], gross, "{run}");
    }
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_request_names_its_field() {
    let clock = Clock::manual_at_millis(JUNE_1_10AM);
    let t = start(&clock).await;
    let no_channel = t
        .post(
            DEMO_KEY,
            "/v1/reconciliations",
            json!({ "channel": "nope", "date": "2031-06-01" }),
        )
        .await;
    assert_eq!(no_channel.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(no_channel.body["error"]["field"], "channel");
    let bad_date = t
        .post(
            DEMO_KEY,
            "/v1/reconciliations",
            json!({ "channel": "sandbox-main", "date": "2031-6-1" }),
        )
        .await;
    assert_eq!(bad_date.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_date.body["error"]["field"], "date");
    let unknown = t.get(DEMO_KEY, "/v1/reconciliations/rec_nope").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_with_reconcile_at_has_yesterday_reconciled_each_morning() {
    const SHOP_KEY: &str = "sk_test_reconciled_shop";
    // 09:00 on 1 June in Beijing: before the day's run.
    let clock = Clock::manual_at_millis(JUNE_1_10AM - 3_600_000);
    let shop = TenantToml::sandbox("shop", SHOP_KEY)
        .line("timezone = \"Asia/Shanghai\"")
        .channel(|c| c.line("reconcile_at = \"09:30\""));
    let t = TestApp::start_with(Options {
        clock: Some(clock.clone()),
        sweeper_interval_ms: 100,
        extra_tenants: vec![shop.file()],
        ..Options::default()
    })
    .await;
    let r = t
        .post(
            SHOP_KEY,
            "/v1/payments",
            barcode("RS-1", 1999, "134567890124"),
        )
        .await;
    assert_eq!(r.body["status"], "succeeded", "{}", r.body);
    let runs = async || {
        t.get(SHOP_KEY, "/v1/reconciliations?channel=sandbox-main")
            .await
            .body["data"]
            .clone()
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(runs().await, json!([]), "31 May waits for 09:30");
    // 09:29 the next morning: not yet.
    clock.advance(DAY + Duration::from_secs(29 * 60));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(runs().await, json!([]));
    // 09:30: yesterday is reconciled, once.
    clock.advance(Duration::from_secs(60));
    let done = eventually_async("the scheduled run of 1 June", async || {
        let data = runs().await;
        (data[0]["status"] == "completed").then_some(data)
    })
    .await;
    assert_eq!(done.as_array().unwrap().len(), 1, "{done}");
    assert_eq!(done[0]["date"], "2031-06-01");
    assert_eq!(done[0]["open_differences"], 0, "{done}");
    assert_eq!(done[0]["summary"]["matched"], 1, "{done}");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        runs().await[0]["runs"],
        1,
        "a completed day is not run again"
    );
    t.stop().await;
}
