//! Reconciliation against the Alipay simulator's trade statement: the
//! plugin asks `alipay.data.dataservice.bill.downloadurl.query` for the
//! day's link, downloads the ZIP of GBK CSV files and reads it; paycore
//! matches it. A day that agrees, each difference found as its kind, and
//! every bad file failing the run without changing anything.

use paycore::clock::Clock;
use paycore_e2e::channels::{SHOP_KEY, Shop};
use paycore_e2e::reconciliation::open_differences;
use paycore_e2e::*;
use paycore_simulators::Behaviour;
use paycore_simulators::alipay::bill::{BillFault, BillLine};
use serde_json::Value;
use std::time::Duration;

/// 2031-06-01 10:00 in Beijing (02:00 UTC).
const JUNE_1_10AM: i64 = 1_938_045_600_000;
const DAY: Duration = Duration::from_secs(24 * 3600);
const DATE: &str = "2031-06-01";

fn code_payment(order: &str, amount: i64) -> Value {
    json!({"merchant_order_no": order, "amount": amount, "currency": "CNY", "scene": "barcode", "auth_code": "283400011122223335", "subject": "latte"})
}

async fn paid(s: &Shop, order: &str, amount: i64) -> String {
    let r = s.pay(code_payment(order, amount)).await;
    assert_eq!(r.body["status"], "succeeded", "{}", r.body);
    r.id()
}

async fn reconcile(s: &Shop) -> Value {
    let r = s
        .app
        .post(
            SHOP_KEY,
            "/v1/reconciliations",
            json!({ "channel": "alipay-main", "date": DATE }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alipay_day_agrees_and_settles_the_payment_paycore_left_unknown() {
    let clock = Clock::manual_at_millis(JUNE_1_10AM);
    let s = Shop::start_reconciling(&clock).await;
    let first = paid(&s, "AR_1", 8888).await;
    paid(&s, "AR_2", 1000).await;
    let reversed = paid(&s, "AR_3", 2500).await;
    // Alipay takes the money but answers after paycore gave up waiting.
    s.alipay.script("AR_4", Behaviour::Timeout);
    let late = s.pay(code_payment("AR_4", 4200)).await;
    let unknown = late.body["error"]["payment"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("an unknown payment: {}", late.body))
        .to_owned();
    assert_eq!(s.payment_status(&unknown).await, "unknown");
    let refund = s.refund(&first, "AR_1_R1", 888).await;
    assert_eq!(refund.body["status"], "succeeded", "{}", refund.body);
    let cancel = s
        .app
        .post(
            SHOP_KEY,
            &format!("/v1/payments/{reversed}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(cancel.body["status"], "cancelled", "{}", cancel.body);

    // Alipay publishes the day at about 09:00 the next morning.
    let early = reconcile(&s).await;
    assert_eq!(early["status"], "failed", "{early}");
    assert!(
        early["failure"]
            .as_str()
            .unwrap()
            .contains("statement_not_ready"),
        "{early}"
    );
    assert_eq!(s.payment_status(&unknown).await, "unknown");

    clock.advance(DAY);
    let run = reconcile(&s).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["time_zone"], "Asia/Shanghai");
    assert_eq!(
        open_differences(&run),
        Vec::<(String, String)>::new(),
        "{run}"
    );
    // Four payments, a refund and a reversal; the unknown payment settled
    // by the query its line prompted.
    assert_eq!(run["summary"]["lines"], 6, "{run}");
    assert_eq!(run["summary"]["matched"], 5, "{run}");
    assert_eq!(run["summary"]["settled"], 1, "{run}");
    let cny = &run["summary"]["currencies"]["CNY"];
    assert_eq!(cny["gross"], 8888 + 1000 + 2500 + 4200, "{run}");
    assert_eq!(cny["refunded"], 888 + 2500, "{run}");
    // 0.6 %, rounded half up, as the statement's 服务费 says.
    assert_eq!(cny["payments"]["fee"], 53 + 6 + 15 + 25, "{run}");
    assert_eq!(s.payment_status(&unknown).await, "succeeded");

    // The request that fetched it, as Alipay sees it.
    let asked = s
        .alipay
        .requests()
        .into_iter()
        .filter(|r| r.contains("alipay.data.dataservice.bill.downloadurl.query"))
        .count();
    assert_eq!(asked, 2, "one link per page, per run");
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_difference_in_an_alipay_statement_is_found_as_its_kind() {
    let clock = Clock::manual_at_millis(JUNE_1_10AM);
    let s = Shop::start_reconciling(&clock).await;
    for (no, amount) in [("AD_1", 1000), ("AD_2", 2000), ("AD_3", 3000)] {
        paid(&s, no, amount).await;
    }
    let at = time::OffsetDateTime::from_unix_timestamp(JUNE_1_10AM / 1000).unwrap();
    s.alipay.bill_add(BillLine {
        trade_no: "2031060122009999".into(),
        out_trade_no: "AD_GHOST".into(),
        refund_no: None,
        amount: 1234,
        fee: 7,
        finished: at,
    });
    s.alipay.bill_drop("AD_2", None);
    s.alipay.bill_restate("AD_3", None, Some(3001), None);
    // A refund made in Alipay's merchant console: paycore never asked.
    let first = s
        .app
        .get(SHOP_KEY, "/v1/payments?merchant_order_no=AD_1")
        .await;
    let trade_no = first.body["channel_order_no"]
        .as_str()
        .unwrap_or_else(|| panic!("AD_1's trade: {}", first.body))
        .to_owned();
    s.alipay.bill_add(BillLine {
        trade_no,
        out_trade_no: "AD_1".into(),
        refund_no: Some("CONSOLE_1".into()),
        amount: 100,
        fee: -1,
        finished: at,
    });

    clock.advance(DAY);
    let run = reconcile(&s).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(
        open_differences(&run),
        vec![
            ("amount_differs".to_owned(), "AD_3".to_owned()),
            ("missing_at_channel".to_owned(), "AD_2".to_owned()),
            ("missing_at_paycore".to_owned(), "AD_GHOST".to_owned()),
            ("status_differs".to_owned(), "AD_1".to_owned()),
        ],
        "{run}"
    );
    // AD_1's payment itself agrees; its refund is the difference.
    assert_eq!(run["summary"]["matched"], 1, "{run}");
    let ghost = run["differences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["merchant_order_no"] == "AD_GHOST")
        .unwrap();
    assert_eq!(ghost["channel"]["amount"], 1234, "{ghost}");
    assert_eq!(ghost["paycore"], Value::Null, "{ghost}");

    // The same day again: the same record, the same findings.
    let again = reconcile(&s).await;
    assert_eq!(again["id"], run["id"]);
    assert_eq!(again["runs"], 2, "{again}");
    assert_eq!(open_differences(&again), open_differences(&run));
    assert_eq!(again["summary"], run["summary"]);
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_alipay_statement_fails_the_run_and_changes_nothing() {
    let clock = Clock::manual_at_millis(JUNE_1_10AM);
    let s = Shop::start_reconciling(&clock).await;
    paid(&s, "AB_1", 1000).await;
    s.alipay.script("AB_2", Behaviour::Timeout);
    let late = s.pay(code_payment("AB_2", 2000)).await;
    let unknown = late.body["error"]["payment"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    clock.advance(DAY);
    for (fault, says) in [
        (BillFault::TruncatedArchive, "the archive does not open"),
        (
            BillFault::MalformedAmount {
                out_trade_no: "AB_1".into(),
            },
            "12.3.4",
        ),
        (BillFault::SummaryDisagrees, "the summary counts 3 trades"),
    ] {
        s.alipay.bill_fault(fault.clone());
        let run = reconcile(&s).await;
        assert_eq!(run["status"], "failed", "{fault:?}: {run}");
        let failure = run["failure"].as_str().unwrap();
        assert!(
            failure.contains("malformed_statement") && failure.contains(says),
            "{fault:?}: {failure}"
        );
        assert_eq!(run["differences"], json!([]), "{fault:?}: {run}");
        // The statement shows AB_2 paid, but a statement that does not
        // read proves nothing: the payment stays as it was.
        assert_eq!(s.payment_status(&unknown).await, "unknown", "{fault:?}");
    }
    s.app.stop().await;
}
