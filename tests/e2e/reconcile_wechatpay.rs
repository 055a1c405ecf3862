//! Reconciliation against the WeChat Pay simulator's trade bill: the
//! plugin asks `GET /v3/bill/tradebill` for the day's file (a signed,
//! verified answer naming its SHA-1 and a short-lived `download_url`),
//! downloads the gzip of UTF-8 CSV and reads it; paycore matches it. A day
//! that agrees (fees and net as the bill states them), the payment paycore
//! left `unknown` settled by the run, each difference found as its kind,
//! every bad file failing the run without changing anything, and a day
//! asked for before its bill exists.

use paycore::clock::Clock;
use paycore_e2e::channels::{SHOP_KEY, Shop};
use paycore_e2e::reconciliation::open_differences;
use paycore_e2e::*;
use paycore_simulators::Behaviour;
use paycore_simulators::wechatpay::bill::{BillFault, BillRow};
use serde_json::Value;
use std::time::Duration;

/// 2031-06-01 10:00 in Beijing (02:00 UTC).
const JUNE_1_10AM: i64 = 1_938_045_600_000;
const DAY: Duration = Duration::from_secs(24 * 3600);
const DATE: &str = "2031-06-01";

/// A WeChat payment code (18 digits from 10–15) at the counter.
fn code_payment(order: &str, amount: i64) -> Value {
    json!({"merchant_order_no": order, "amount": amount, "currency": "CNY", "scene": "barcode", "auth_code": "134567890123456789", "subject": "latte"})
}

async fn paid(s: &Shop, order: &str, amount: i64) -> String {
    let r = s.pay(code_payment(order, amount)).await;
    assert_eq!(r.body["status"], "succeeded", "{}", r.body);
    assert_eq!(r.body["channel"], "wechat-main", "{}", r.body);
    r.id()
}

/// Runs the day and reads the run back with its differences.
async fn reconcile(s: &Shop, date: &str) -> Value {
    let r = s
        .app
        .post(
            SHOP_KEY,
            "/v1/reconciliations",
            json!({ "channel": "wechat-main", "date": date }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id = r.body["id"].as_str().expect("a run id");
    let read = s
        .app
        .get(SHOP_KEY, &format!("/v1/reconciliations/{id}"))
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    read.body
}

fn difference<'a>(run: &'a Value, order: &str) -> &'a Value {
    run["differences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["merchant_order_no"] == order)
        .unwrap_or_else(|| panic!("no difference for {order}: {run}"))
}

/// A payment the simulator took but whose answer came too late: paycore
/// has it `unknown`.
async fn unknown(s: &Shop, order: &str, amount: i64) -> String {
    s.wechat.script(order, Behaviour::Timeout);
    let r = s.pay(code_payment(order, amount)).await;
    assert_eq!(r.status, StatusCode::GATEWAY_TIMEOUT, "{}", r.body);
    let payment = &r.body["error"]["payment"];
    assert_eq!(payment["status"], "unknown", "{payment}");
    payment["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wechat_day_agrees_with_fees_and_net_as_billed_and_settles_the_unknown_payment() {
    let clock = Clock::manual_at_millis(JUNE_1_10AM);
    let s = Shop::start_reconciling(&clock).await;
    let first = paid(&s, "WX_RC_1", 8888).await;
    paid(&s, "WX_RC_2", 1000).await;
    let reversed = paid(&s, "WX_RC_3", 2500).await;
    let unknown = unknown(&s, "WX_RC_4", 4200).await;
    let refund = s.refund(&first, "WX_RC_1_R1", 888).await;
    assert_eq!(refund.body["status"], "processing", "{}", refund.body);
    let synced = s
        .app
        .post(
            SHOP_KEY,
            &format!("/v1/refunds/{}/sync", refund.id()),
            json!({}),
        )
        .await;
    assert_eq!(synced.body["status"], "succeeded", "{}", synced.body);
    let cancel = s
        .app
        .post(
            SHOP_KEY,
            &format!("/v1/payments/{reversed}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(cancel.body["status"], "cancelled", "{}", cancel.body);

    // Today's bill does not exist yet: WeChat says it is being generated,
    // the run fails as not available, and nothing moves.
    let early = reconcile(&s, DATE).await;
    assert_eq!(early["status"], "failed", "{early}");
    let failure = early["failure"].as_str().unwrap();
    assert!(failure.contains("statement_not_ready"), "{failure}");
    assert!(failure.contains("STATEMENT_CREATING"), "{failure}");
    assert_eq!(early["differences"], json!([]), "{early}");
    assert_eq!(s.payment_status(&unknown).await, "unknown");

    // 10:00 the next morning in Beijing: WeChat has generated it.
    clock.advance(DAY);
    let run = reconcile(&s, DATE).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["time_zone"], "Asia/Shanghai");
    assert_eq!(run["runs"], 2);
    assert_eq!(
        open_differences(&run),
        Vec::<(String, String)>::new(),
        "{run}"
    );
    assert_eq!(run["open_differences"], 0);
    // Four payments, a partial refund, a revocation; the unknown one
    // settled by the query the bill prompted.
    let summary = &run["summary"];
    assert_eq!(summary["lines"], 6, "{run}");
    assert_eq!(summary["matched"], 5, "{run}");
    assert_eq!(summary["settled"], 1, "{run}");
    assert_eq!(summary["in_flight"], 0, "{run}");
    assert_eq!(summary["differences"], json!({}), "{run}");
    // 0.6 % per payment, half up: 53 + 6 + 15 + 25; the refund gives back
    // 5 of WX_RC_1's 53, the revocation all 15 of WX_RC_3's.
    assert_eq!(
        summary["currencies"]["CNY"],
        json!({
            "payments": {"count": 4, "amount": 8888 + 1000 + 2500 + 4200, "fee": 99},
            "refunds": {"count": 1, "amount": 888, "fee": -5},
            "reversals": {"count": 1, "amount": 2500, "fee": -15},
            "gross": 16588,
            "refunded": 3388,
            "fees": 79,
            "net": 16588 - 3388 - 79,
        }),
        "{run}"
    );
    let settled = difference(&run, "WX_RC_4");
    assert_eq!(settled["kind"], "missing_at_paycore", "{settled}");
    assert_eq!(settled["state"], "settled", "{settled}");
    assert_eq!(settled["channel"]["kind"], "payment", "{settled}");
    assert_eq!(settled["channel"]["amount"], 4200, "{settled}");
    assert_eq!(settled["channel"]["fee"], 25, "{settled}");
    assert_eq!(settled["channel"]["status"], "succeeded", "{settled}");
    assert_eq!(s.payment_status(&unknown).await, "succeeded");
    let transaction_id = s
        .app
        .get(SHOP_KEY, &format!("/v1/payments/{unknown}"))
        .await
        .body["channel_order_no"]
        .clone();
    assert_eq!(
        settled["channel"]["channel_no"], transaction_id,
        "{settled}"
    );

    // What went over the wire: the bill asked for as published, then the
    // file fetched from the URL the verified answer named.
    let requests = s.wechat.requests();
    let asked: Vec<&String> = requests
        .iter()
        .filter(|r| r.starts_with("GET /v3/bill/tradebill?"))
        .collect();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert!(asked.iter().all(|r| {
        r.starts_with("GET /v3/bill/tradebill?bill_date=2031-06-01&bill_type=ALL&tar_type=GZIP\n")
    }));
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.starts_with("GET /v3/billdownload/file?token="))
            .count(),
        1
    );

    // The same day again: nothing left to settle, the same totals.
    let again = reconcile(&s, DATE).await;
    assert_eq!(again["id"], run["id"]);
    assert_eq!(again["runs"], 3);
    assert_eq!(again["summary"]["matched"], 6, "{again}");
    assert_eq!(again["summary"]["currencies"], run["summary"]["currencies"]);
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_wechat_bill_difference_is_found_as_its_kind_and_nothing_else() {
    let clock = Clock::manual_at_millis(JUNE_1_10AM);
    let s = Shop::start_reconciling(&clock).await;
    for (no, amount) in [
        ("WX_RF_1", 1000),
        ("WX_RF_2", 2000),
        ("WX_RF_3", 3000),
        ("WX_RF_4", 4000),
    ] {
        paid(&s, no, amount).await;
    }
    // A payment paycore never saw, one the bill leaves out, one whose
    // amount it states otherwise, and a fee restated (no difference: the
    // fee is the channel's to state).
    s.wechat.bill_add_payment(DATE, "WX_RF_GHOST", 1234);
    s.wechat.bill_drop(DATE, BillRow::Payment("WX_RF_2".into()));
    s.wechat
        .bill_set_amount(DATE, BillRow::Payment("WX_RF_3".into()), 3001);
    s.wechat
        .bill_set_fee(DATE, BillRow::Payment("WX_RF_4".into()), 30);

    clock.advance(DAY);
    let run = reconcile(&s, DATE).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(
        open_differences(&run),
        vec![
            ("amount_differs".to_owned(), "WX_RF_3".to_owned()),
            ("missing_at_channel".to_owned(), "WX_RF_2".to_owned()),
            ("missing_at_paycore".to_owned(), "WX_RF_GHOST".to_owned()),
        ],
        "{run}"
    );
    assert_eq!(run["open_differences"], 3);
    assert_eq!(run["summary"]["lines"], 4, "{run}");
    assert_eq!(run["summary"]["matched"], 2, "{run}");
    assert_eq!(run["summary"]["settled"], 0, "{run}");
    assert_eq!(
        run["summary"]["differences"],
        json!({"amount_differs": 1, "missing_at_channel": 1, "missing_at_paycore": 1}),
        "{run}"
    );
    let ghost = difference(&run, "WX_RF_GHOST");
    assert_eq!(ghost["channel"]["amount"], 1234, "{ghost}");
    assert_eq!(ghost["channel"]["fee"], 7, "{ghost}");
    assert_eq!(ghost["paycore"], Value::Null, "{ghost}");
    let dropped = difference(&run, "WX_RF_2");
    assert_eq!(dropped["channel"], Value::Null, "{dropped}");
    assert_eq!(dropped["paycore"]["payment"]["amount"], 2000, "{dropped}");
    assert_eq!(
        dropped["paycore"]["payment"]["status"], "succeeded",
        "{dropped}"
    );
    let restated = difference(&run, "WX_RF_3");
    assert_eq!(restated["channel"]["amount"], 3001, "{restated}");
    assert_eq!(restated["paycore"]["payment"]["amount"], 3000, "{restated}");
    // 6 + 18 + 30 (restated) + 7: the bill's fees, whatever paycore matched.
    let cny = &run["summary"]["currencies"]["CNY"];
    assert_eq!(
        cny["payments"],
        json!({"count": 4, "amount": 1000 + 1234 + 3001 + 4000, "fee": 6 + 7 + 18 + 30}),
        "{run}"
    );
    assert_eq!(cny["net"], 9235 - 61, "{run}");
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bad_wechat_bill_fails_the_run_naming_why_and_changes_nothing() {
    let clock = Clock::manual_at_millis(JUNE_1_10AM);
    let s = Shop::start_reconciling(&clock).await;
    let good = paid(&s, "WX_BAD_1", 1000).await;
    let unknown = unknown(&s, "WX_BAD_2", 2000).await;
    clock.advance(DAY);
    let faults = [
        (
            BillFault::WrongHash,
            vec!["malformed_statement", "SHA-1", "altered or cut short"],
        ),
        (
            BillFault::TruncatedGzip,
            vec!["malformed_statement", "gzip stream is broken"],
        ),
        (
            BillFault::MalformedAmount,
            vec![
                "malformed_statement",
                "line 2: 订单金额 `1,234.00`: `1,234.00` is not a decimal amount",
            ],
        ),
    ];
    for (runs, (fault, words)) in faults.into_iter().enumerate() {
        s.wechat.bill_reset(DATE);
        s.wechat.bill_fault(DATE, fault);
        let run = reconcile(&s, DATE).await;
        assert_eq!(run["status"], "failed", "{fault:?}: {run}");
        assert_eq!(run["runs"], runs + 1, "{fault:?}: {run}");
        let failure = run["failure"].as_str().unwrap();
        for word in words {
            assert!(failure.contains(word), "{fault:?}: {failure}");
        }
        // Nothing was believed: no difference stored, no payment moved.
        assert_eq!(run["differences"], json!([]), "{fault:?}: {run}");
        assert_eq!(run["open_differences"], 0, "{fault:?}: {run}");
        assert_eq!(run["summary"]["lines"], 0, "{fault:?}: {run}");
        assert_eq!(s.payment_status(&unknown).await, "unknown", "{fault:?}");
        assert_eq!(s.payment_status(&good).await, "succeeded", "{fault:?}");
    }
    // The same day, its bill whole again, reads and settles.
    s.wechat.bill_reset(DATE);
    let run = reconcile(&s, DATE).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["failure"], Value::Null, "{run}");
    assert_eq!(run["summary"]["matched"], 1, "{run}");
    assert_eq!(run["summary"]["settled"], 1, "{run}");
    assert_eq!(s.payment_status(&unknown).await, "succeeded");
    s.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wechat_day_asked_for_before_its_bill_exists_is_not_available() {
    // 09:59 on 2 June in Beijing: 1 June has ended, its bill comes at 10:00.
    let clock = Clock::manual_at_millis(JUNE_1_10AM + DAY.as_millis() as i64 - 60_000);
    let s = Shop::start_reconciling(&clock).await;
    let today = reconcile(&s, "2031-06-02").await;
    assert_eq!(today["status"], "failed", "{today}");
    assert!(
        today["failure"]
            .as_str()
            .unwrap()
            .contains("statement_not_ready"),
        "{today}"
    );
    let yesterday = reconcile(&s, DATE).await;
    assert_eq!(yesterday["status"], "failed", "{yesterday}");
    assert!(
        yesterday["failure"]
            .as_str()
            .unwrap()
            .contains("statement_not_ready"),
        "{yesterday}"
    );
    // At 10:00 it exists; a day the account moved no money has none, which
    // WeChat says as NO_STATEMENT_EXIST: an empty day that agrees.
    clock.advance(Duration::from_secs(60));
    let run = reconcile(&s, DATE).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["runs"], 2, "{run}");
    assert_eq!(run["summary"]["lines"], 0, "{run}");
    assert_eq!(run["open_differences"], 0, "{run}");
    s.app.stop().await;
}
