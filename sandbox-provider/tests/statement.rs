//! The daily statement over real HTTP: its lines, fees and summary, paging,
//! when it is available, the adjustments a test makes to falsify it, and
//! that it survives a restart. The provider's wall clock is a `TestClock`,
//! so that payments land on a day that has ended.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

const DAY: &str = "2026-12-06";

fn day(date: &str) -> Value {
    json!({ "date": date })
}

/// Pays `out` at `t` with a barcode that succeeds; its `trade_no`.
async fn pay_at(
    sb: &Sandbox,
    clock: &TestClock,
    t: OffsetDateTime,
    out: &str,
    amount: &str,
    currency: &str,
) -> String {
    clock.set(t);
    let a = sb
        .call("pay", barcode(out, amount, currency, "1234567890"))
        .await;
    assert_eq!(a.str("status"), "SUCCEEDED", "{}", a.body);
    a.str("trade_no").to_string()
}

async fn refund_at(
    sb: &Sandbox,
    clock: &TestClock,
    t: OffsetDateTime,
    out: &str,
    out_refund_no: &str,
    amount: &str,
    reason: &str,
) -> Answer {
    clock.set(t);
    sb.call(
        "refund",
        json!({ "out_trade_no": out, "out_refund_no": out_refund_no, "amount": amount, "reason": reason }),
    )
    .await
}

async fn cancel_at(sb: &Sandbox, clock: &TestClock, t: OffsetDateTime, out: &str) {
    clock.set(t);
    let a = sb.call("cancel", json!({ "out_trade_no": out })).await;
    assert_eq!(a.str("status"), "CANCELLED", "{}", a.body);
}

fn payment(
    out: &str,
    trade_no: &str,
    amount: &str,
    fee: &str,
    currency: &str,
    time: &str,
) -> Value {
    json!({ "type": "PAYMENT", "out_trade_no": out, "trade_no": trade_no, "amount": amount,
            "fee": fee, "currency": currency, "status": "SUCCEEDED", "time": time })
}

fn reversal(out: &str, trade_no: &str, amount: &str, fee: &str, time: &str) -> Value {
    json!({ "type": "REVERSAL", "out_trade_no": out, "trade_no": trade_no, "amount": amount,
            "fee": fee, "currency": "CNY", "status": "SUCCEEDED", "time": time })
}

fn refund_line(out: &str, trade_no: &str, refund: &Answer, fee: &str, time: &str) -> Value {
    json!({ "type": "REFUND", "out_trade_no": out, "trade_no": trade_no,
            "out_refund_no": refund.str("out_refund_no"), "refund_no": refund.str("refund_no"),
            "amount": refund.str("amount"), "fee": fee, "currency": "CNY", "status": "SUCCEEDED",
            "time": time })
}

/// What the day of `busy_day` looks like, line by line.
struct Busy {
    lines: Vec<Value>,
    summary: Value,
    /// The next day's pay, made at its first instant.
    next_trade_no: String,
    pay_trade_no: String,
}

/// On 2026-12-06 in Shanghai: payments at both ends of the day and in
/// between (one in JPY), a partial refund, a failed refund, a paid order
/// cancelled, and orders that never paid; one payment just before and one
/// just after the day. Leaves the clock at the next midnight.
async fn busy_day(sb: &Sandbox, clock: &TestClock) -> Busy {
    pay_at(
        sb,
        clock,
        datetime!(2026-12-05 23:59:59.999 +8),
        "s-prev",
        "1.00",
        "CNY",
    )
    .await;
    let first = pay_at(
        sb,
        clock,
        datetime!(2026-12-06 00:00 +8),
        "s-first",
        "2.50",
        "CNY",
    )
    .await;
    let pay = pay_at(
        sb,
        clock,
        datetime!(2026-12-06 10:00 +8),
        "s-pay",
        "88.88",
        "CNY",
    )
    .await;
    let rf = refund_at(
        sb,
        clock,
        datetime!(2026-12-06 11:00 +8),
        "s-pay",
        "s-rf",
        "10.00",
        "",
    )
    .await;
    assert_eq!(rf.code(), "SUCCESS");
    let failed = refund_at(
        sb,
        clock,
        datetime!(2026-12-06 11:30 +8),
        "s-pay",
        "s-rf-x",
        "5.00",
        "sandbox:fail",
    )
    .await;
    assert_eq!(failed.code(), "REFUND_FAILED");
    let cxl = pay_at(
        sb,
        clock,
        datetime!(2026-12-06 12:00 +8),
        "s-cxl",
        "20.00",
        "CNY",
    )
    .await;
    cancel_at(sb, clock, datetime!(2026-12-06 13:00 +8), "s-cxl").await;
    // Never paid: pending, declined, closed, cancelled unpaid.
    clock.set(datetime!(2026-12-06 13:30 +8));
    let qr = |out: &str| {
        json!({ "out_trade_no": out, "amount": "3.00", "currency": "CNY", "scene": "qrcode",
                "subject": "s", "notify_url": "http://127.0.0.1:9/n" })
    };
    sb.call("pay", qr("s-pending")).await;
    sb.call("pay", qr("s-closed")).await;
    sb.call("close", json!({ "out_trade_no": "s-closed" }))
        .await;
    sb.call("pay", qr("s-unpaid-cxl")).await;
    sb.call("cancel", json!({ "out_trade_no": "s-unpaid-cxl" }))
        .await;
    let declined = sb
        .call("pay", barcode("s-declined", "4.00", "CNY", "1234567891"))
        .await;
    assert_eq!(declined.code(), "DECLINED");
    let jpy = pay_at(
        sb,
        clock,
        datetime!(2026-12-06 14:00 +8),
        "s-jpy",
        "500",
        "JPY",
    )
    .await;
    // Half-to-even: 7.50 × 0.6 % = 0.045 → 0.04.
    let late = pay_at(
        sb,
        clock,
        datetime!(2026-12-06 23:59:59.999 +8),
        "s-late",
        "7.50",
        "CNY",
    )
    .await;
    let next = pay_at(
        sb,
        clock,
        datetime!(2026-12-07 00:00 +8),
        "s-next",
        "1.00",
        "CNY",
    )
    .await;

    Busy {
        lines: vec![
            payment(
                "s-first",
                &first,
                "2.50",
                "0.02",
                "CNY",
                "2026-12-06T00:00:00+08:00",
            ),
            payment(
                "s-pay",
                &pay,
                "88.88",
                "0.53",
                "CNY",
                "2026-12-06T10:00:00+08:00",
            ),
            refund_line("s-pay", &pay, &rf, "-0.06", "2026-12-06T11:00:00+08:00"),
            payment(
                "s-cxl",
                &cxl,
                "20.00",
                "0.12",
                "CNY",
                "2026-12-06T12:00:00+08:00",
            ),
            reversal("s-cxl", &cxl, "20.00", "-0.12", "2026-12-06T13:00:00+08:00"),
            payment(
                "s-jpy",
                &jpy,
                "500",
                "3",
                "JPY",
                "2026-12-06T14:00:00+08:00",
            ),
            payment(
                "s-late",
                &late,
                "7.50",
                "0.04",
                "CNY",
                "2026-12-06T23:59:59+08:00",
            ),
        ],
        summary: json!([
            { "currency": "CNY", "payments": 4, "payment_amount": "118.88", "refunds": 1,
              "refund_amount": "10.00", "reversals": 1, "reversal_amount": "20.00", "fees": "0.53" },
            { "currency": "JPY", "payments": 1, "payment_amount": "500", "refunds": 0,
              "refund_amount": "0", "reversals": 0, "reversal_amount": "0", "fees": "3" },
        ]),
        next_trade_no: next,
        pay_trade_no: pay,
    }
}

fn whole(date: &str, lines: &[Value], summary: &Value) -> Value {
    json!({ "code": "SUCCESS", "date": date, "time_zone": "Asia/Shanghai", "offset": 0,
            "total_lines": lines.len(), "lines": lines, "next_offset": null, "summary": summary })
}

#[tokio::test]
async fn a_day_lists_exactly_its_payments_refunds_and_reversals() {
    let clock = TestClock::at(datetime!(2026-12-06 09:00 +8));
    let sb = Sandbox::at(&clock).await;
    let busy = busy_day(&sb, &clock).await;

    let a = sb.call("statement", day(DAY)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body, whole(DAY, &busy.lines, &busy.summary));

    // Cancelling the partly refunded order the next day reverses what the
    // refund left, on that day; the payment stays on the day it was made.
    cancel_at(&sb, &clock, datetime!(2026-12-07 09:00 +8), "s-pay").await;
    clock.set(datetime!(2026-12-08 00:00 +8));
    assert_eq!(
        sb.call("statement", day(DAY)).await.body,
        whole(DAY, &busy.lines, &busy.summary)
    );
    let next = sb.call("statement", day("2026-12-07")).await;
    let lines = [
        payment(
            "s-next",
            &busy.next_trade_no,
            "1.00",
            "0.01",
            "CNY",
            "2026-12-07T00:00:00+08:00",
        ),
        // 78.88 × 0.6 % = 0.47328 → 0.47 back.
        reversal(
            "s-pay",
            &busy.pay_trade_no,
            "78.88",
            "-0.47",
            "2026-12-07T09:00:00+08:00",
        ),
    ];
    let summary = json!([{ "currency": "CNY", "payments": 1, "payment_amount": "1.00", "refunds": 0,
        "refund_amount": "0.00", "reversals": 1, "reversal_amount": "78.88", "fees": "-0.46" }]);
    assert_eq!(next.body, whole("2026-12-07", &lines, &summary));

    let before = sb.call("statement", day("2026-12-05")).await;
    assert_eq!(before.body["total_lines"], 1);
    assert_eq!(before.body["lines"][0]["out_trade_no"], "s-prev");
    assert_eq!(before.body["lines"][0]["time"], "2026-12-05T23:59:59+08:00");
}

#[tokio::test]
async fn paging_walks_the_lines_in_order() {
    let clock = TestClock::at(datetime!(2026-12-06 09:00 +8));
    let sb = Sandbox::at(&clock).await;
    let busy = busy_day(&sb, &clock).await;

    let mut seen = Vec::new();
    let mut offset = json!(0);
    while !offset.is_null() {
        let a = sb
            .call(
                "statement",
                json!({ "date": DAY, "offset": offset, "limit": 1 }),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert_eq!(a.body["offset"], offset);
        assert_eq!(a.body["total_lines"], busy.lines.len());
        assert_eq!(
            a.body["summary"], busy.summary,
            "the whole day's, on every page"
        );
        let page = a.body["lines"].as_array().unwrap();
        assert_eq!(page.len(), 1);
        seen.push(page[0].clone());
        let expected_next = if seen.len() < busy.lines.len() {
            json!(seen.len())
        } else {
            Value::Null
        };
        assert_eq!(a.body["next_offset"], expected_next);
        offset = a.body["next_offset"].clone();
    }
    assert_eq!(seen, busy.lines);

    let a = sb
        .call(
            "statement",
            json!({ "date": DAY, "offset": 5, "limit": 10000 }),
        )
        .await;
    assert_eq!(a.body["lines"].as_array().unwrap()[..], busy.lines[5..]);
    assert_eq!(a.body["next_offset"], Value::Null);
    let past = sb
        .call("statement", json!({ "date": DAY, "offset": 99 }))
        .await;
    assert_eq!(
        (past.status, &past.body["lines"], &past.body["next_offset"]),
        (StatusCode::OK, &json!([]), &Value::Null)
    );
    assert_eq!(past.body["total_lines"], busy.lines.len());
}

#[tokio::test]
async fn a_day_is_published_once_it_has_ended_in_shanghai() {
    let clock = TestClock::at(datetime!(2026-12-06 23:59:59.999 +8));
    let sb = Sandbox::at(&clock).await;
    for date in [DAY, "2026-12-07", "2030-01-01", "9999-12-31"] {
        let a = sb.call("statement", day(date)).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::CONFLICT, "STATEMENT_NOT_READY"),
            "{date}"
        );
        assert!(a.str("message").contains(date), "{}", a.body);
    }
    // Midnight in Shanghai is 16:00 UTC.
    clock.set(datetime!(2026-12-06 16:00 UTC));
    let a = sb.call("statement", day(DAY)).await;
    assert_eq!((a.status, a.code()), (StatusCode::OK, "SUCCESS"));
    assert_eq!(a.body, whole(DAY, &[], &json!([])));

    // With the real clock, today in Shanghai is not ready, yesterday is.
    let sb = Sandbox::start().await;
    let today = OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+8))
        .date();
    let a = sb.call("statement", day(&today.to_string())).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::CONFLICT, "STATEMENT_NOT_READY")
    );
    let yesterday = today.previous_day().unwrap().to_string();
    assert_eq!(
        sb.call("statement", day(&yesterday)).await.code(),
        "SUCCESS"
    );
}

#[tokio::test]
async fn malformed_statement_requests_are_400_naming_the_field() {
    let clock = TestClock::at(datetime!(2026-12-08 00:00 +8));
    let sb = Sandbox::at(&clock).await;
    let cases = [
        (json!({}), "date"),
        (json!({ "date": null }), "date"),
        (json!({ "date": 20261206 }), "date"),
        (json!({ "date": "20261206" }), "date"),
        (json!({ "date": "2026-12-6" }), "date"),
        (json!({ "date": "2026-13-01" }), "date"),
        (json!({ "date": "2026-02-30" }), "date"),
        (json!({ "date": "2026-12-06T00:00:00+08:00" }), "date"),
        (json!({ "date": DAY, "limit": 0 }), "limit"),
        (json!({ "date": DAY, "limit": 10001 }), "limit"),
        (json!({ "date": DAY, "limit": -1 }), "limit"),
        (json!({ "date": DAY, "limit": "5" }), "limit"),
        (json!({ "date": DAY, "limit": 1.5 }), "limit"),
        (json!({ "date": DAY, "offset": -1 }), "offset"),
        (json!({ "date": DAY, "offset": "0" }), "offset"),
    ];
    for (body, field) in cases {
        let a = sb.call("statement", body.clone()).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::BAD_REQUEST, "INVALID_REQUEST"),
            "{body}"
        );
        assert!(
            a.str("message").contains(&format!("`{field}`")),
            "{body}: {}",
            a.body
        );
    }
    // The bounds themselves are fine.
    for limit in [1, 10000] {
        let a = sb
            .call(
                "statement",
                json!({ "date": DAY, "limit": limit, "offset": 0 }),
            )
            .await;
        assert_eq!(a.code(), "SUCCESS");
    }
}

/// The published lines after one adjustment, for comparing with the truth.
async fn lines_after(sb: &Sandbox, adjustment: Value) -> (Vec<Value>, Value) {
    let a = sb.call("statement_adjust", adjustment.clone()).await;
    assert_eq!(
        (a.status, &a.body),
        (StatusCode::OK, &json!({ "code": "SUCCESS" })),
        "{adjustment}"
    );
    let s = sb.call("statement", day(DAY)).await;
    (
        s.body["lines"].as_array().unwrap().clone(),
        s.body["summary"].clone(),
    )
}

fn cny_summary(summary: &Value) -> &Value {
    &summary[0]
}

#[tokio::test]
async fn each_adjustment_changes_exactly_its_line_and_the_summary() {
    let clock = TestClock::at(datetime!(2026-12-06 09:00 +8));
    let sb = Sandbox::at(&clock).await;
    let busy = busy_day(&sb, &clock).await;
    let mut expected = busy.lines.clone();
    let adjust = |v: Value| {
        let mut v = v;
        v["date"] = json!(DAY);
        v
    };

    // drop: s-first's payment is missing.
    let (lines, summary) = lines_after(
        &sb,
        adjust(json!({ "action": "drop", "out_trade_no": "s-first" })),
    )
    .await;
    expected.remove(0);
    assert_eq!(lines, expected);
    assert_eq!(
        (
            &cny_summary(&summary)["payments"],
            &cny_summary(&summary)["payment_amount"],
            &cny_summary(&summary)["fees"]
        ),
        (&json!(3), &json!("116.38"), &json!("0.51"))
    );
    assert_eq!(summary[1], busy.summary[1], "JPY untouched");

    // set_amount on a refund: only its amount changes, not its fee.
    let (lines, summary) = lines_after(
        &sb,
        adjust(json!({ "action": "set_amount", "out_trade_no": "s-pay", "out_refund_no": "s-rf", "amount": "11.00" })),
    )
    .await;
    expected[1]["amount"] = json!("11.00");
    assert_eq!(lines, expected);
    assert_eq!(cny_summary(&summary)["refund_amount"], "11.00");
    assert_eq!(cny_summary(&summary)["fees"], "0.51");

    // set_fee on a payment: s-pay's payment (not its refund) shows 0.60.
    let (lines, summary) = lines_after(
        &sb,
        adjust(json!({ "action": "set_fee", "out_trade_no": "s-pay", "fee": "0.60" })),
    )
    .await;
    expected[0]["fee"] = json!("0.60");
    assert_eq!(lines, expected);
    assert_eq!(cny_summary(&summary)["fees"], "0.58");
    assert_eq!(cny_summary(&summary)["payment_amount"], "116.38");

    // A negative fee, on the reversal named by its type (s-cxl also has a
    // payment that day, which is what the order number alone names).
    let (lines, summary) = lines_after(
        &sb,
        adjust(json!({ "action": "set_fee", "out_trade_no": "s-cxl", "type": "REVERSAL", "fee": "-0.20" })),
    )
    .await;
    expected[3]["fee"] = json!("-0.20");
    assert_eq!(lines, expected);
    assert_eq!(cny_summary(&summary)["fees"], "0.50");

    // add: a payment the provider never processed, at noon, after s-cxl's
    // 12:00 payment if its number sorts after it.
    let (lines, summary) = lines_after(
        &sb,
        adjust(json!({ "action": "add", "out_trade_no": "s-ghost", "amount": "5.00" })),
    )
    .await;
    assert_eq!(lines.len(), expected.len() + 1);
    let ghost = lines
        .iter()
        .find(|l| l["out_trade_no"] == "s-ghost")
        .unwrap()
        .clone();
    let trade_no = ghost["trade_no"].as_str().unwrap();
    assert!(trade_no.starts_with("sbx20261206"), "{trade_no}");
    assert_eq!(
        ghost,
        payment(
            "s-ghost",
            trade_no,
            "5.00",
            "0.03",
            "CNY",
            "2026-12-06T12:00:00+08:00"
        )
    );
    let at = lines.iter().position(|l| l == &ghost).unwrap();
    assert_eq!(
        lines[at - 1]["time"],
        "2026-12-06T12:00:00+08:00",
        "after s-cxl's payment (older number)"
    );
    let mut without: Vec<Value> = lines.clone();
    without.remove(at);
    assert_eq!(without, expected);
    expected = lines;
    assert_eq!(
        (
            &cny_summary(&summary)["payments"],
            &cny_summary(&summary)["payment_amount"],
            &cny_summary(&summary)["fees"]
        ),
        (&json!(4), &json!("121.38"), &json!("0.53"))
    );

    // An added line in another currency makes its own summary entry.
    let (_, summary) = lines_after(
        &sb,
        adjust(json!({ "action": "add", "out_trade_no": "s-ghost-usd", "amount": "1.00", "currency": "USD" })),
    )
    .await;
    assert_eq!(summary.as_array().unwrap().len(), 3);
    assert_eq!(summary[2]["currency"], "USD");
    assert_eq!(summary[2]["fees"], "0.01");
    let (lines, _) = lines_after(
        &sb,
        adjust(json!({ "action": "drop", "out_trade_no": "s-ghost-usd" })),
    )
    .await;
    assert_eq!(lines, expected, "an added line can be dropped again");

    // Lines that do not exist that day.
    let missing = [
        (
            json!({ "action": "drop", "out_trade_no": "s-unknown" }),
            "ORDER_NOT_FOUND",
        ),
        (
            json!({ "action": "drop", "out_trade_no": "s-first" }),
            "ORDER_NOT_FOUND",
        ),
        (
            json!({ "action": "drop", "out_trade_no": "s-next" }),
            "ORDER_NOT_FOUND",
        ),
        (
            json!({ "action": "drop", "out_trade_no": "s-pending" }),
            "ORDER_NOT_FOUND",
        ),
        (
            json!({ "action": "drop", "out_trade_no": "s-pay", "type": "REVERSAL" }),
            "ORDER_NOT_FOUND",
        ),
        (
            json!({ "action": "set_amount", "out_trade_no": "s-pay", "out_refund_no": "s-rf-x", "amount": "1.00" }),
            "REFUND_NOT_FOUND",
        ),
        (
            json!({ "action": "set_fee", "out_trade_no": "s-cxl", "out_refund_no": "s-rf", "fee": "0.01" }),
            "REFUND_NOT_FOUND",
        ),
    ];
    for (body, code) in missing {
        let a = sb.call("statement_adjust", adjust(body.clone())).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::NOT_FOUND, code),
            "{body}"
        );
    }
    // `add` is for numbers the provider never saw, once.
    for out in ["s-pay", "s-pending", "s-ghost"] {
        let a = sb
            .call(
                "statement_adjust",
                adjust(json!({ "action": "add", "out_trade_no": out, "amount": "1.00" })),
            )
            .await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::CONFLICT, "DUPLICATE"),
            "{out}"
        );
    }
    // Malformed adjustments name the field.
    let bad = [
        (json!({ "action": "drop" }), "out_trade_no"),
        (
            json!({ "action": "shred", "out_trade_no": "s-pay" }),
            "action",
        ),
        (json!({ "out_trade_no": "s-pay" }), "action"),
        (
            json!({ "action": "set_amount", "out_trade_no": "s-pay" }),
            "amount",
        ),
        (
            json!({ "action": "set_amount", "out_trade_no": "s-pay", "amount": "1.5" }),
            "amount",
        ),
        (
            json!({ "action": "set_amount", "out_trade_no": "s-pay", "amount": "-1.00" }),
            "amount",
        ),
        (
            json!({ "action": "set_amount", "out_trade_no": "s-pay", "amount": 1.5 }),
            "amount",
        ),
        (
            json!({ "action": "set_fee", "out_trade_no": "s-pay", "fee": "0.5" }),
            "fee",
        ),
        (
            json!({ "action": "set_fee", "out_trade_no": "s-pay", "fee": "+0.50" }),
            "fee",
        ),
        (
            json!({ "action": "set_fee", "out_trade_no": "s-pay" }),
            "fee",
        ),
        (
            json!({ "action": "drop", "out_trade_no": "s-pay", "amount": "1.00" }),
            "amount",
        ),
        (
            json!({ "action": "drop", "out_trade_no": "s-pay", "type": "REFUND" }),
            "out_refund_no",
        ),
        (
            json!({ "action": "drop", "out_trade_no": "s-pay", "type": "CHARGEBACK" }),
            "type",
        ),
        (
            json!({ "action": "add", "out_trade_no": "s-x", "amount": "1.00", "currency": "XXX" }),
            "currency",
        ),
        (
            json!({ "action": "add", "out_trade_no": "s-x", "amount": "500.00", "currency": "JPY" }),
            "amount",
        ),
        (
            json!({ "action": "add", "out_trade_no": "s-x", "amount": "1.00", "fee": "0.01" }),
            "fee",
        ),
        (
            json!({ "action": "add", "out_trade_no": "s-x", "amount": "1.00", "out_refund_no": "r" }),
            "out_refund_no",
        ),
        (
            json!({ "action": "drop", "out_trade_no": "s-pay", "date": "2026-12-32" }),
            "date",
        ),
    ];
    for (body, field) in bad {
        let mut body = body;
        if body.get("date").is_none() {
            body["date"] = json!(DAY);
        }
        let a = sb.call("statement_adjust", body.clone()).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::BAD_REQUEST, "INVALID_REQUEST"),
            "{body}"
        );
        assert!(
            a.str("message").contains(&format!("`{field}`")),
            "{body}: {}",
            a.body
        );
    }
    // None of the refused ones changed anything.
    let s = sb.call("statement", day(DAY)).await;
    assert_eq!(s.body["lines"], json!(expected));
}

#[tokio::test]
async fn another_merchant_sees_nothing_of_it() {
    let clock = TestClock::at(datetime!(2026-12-06 09:00 +8));
    let sb = Sandbox::at(&clock).await;
    let busy = busy_day(&sb, &clock).await;
    clock.set(datetime!(2026-12-06 15:00 +8));
    let theirs = sb
        .call_as(
            M2,
            KEY2,
            "pay",
            barcode("s-pay", "1.00", "CNY", "1234567890"),
        )
        .await;
    clock.set(datetime!(2026-12-07 00:00 +8));

    // m2's statement has its own order only, though it shares a number.
    let a = sb.call_as(M2, KEY2, "statement", day(DAY)).await;
    let mine = [payment(
        "s-pay",
        theirs.str("trade_no"),
        "1.00",
        "0.01",
        "CNY",
        "2026-12-06T15:00:00+08:00",
    )];
    let summary = json!([{ "currency": "CNY", "payments": 1, "payment_amount": "1.00", "refunds": 0,
        "refund_amount": "0.00", "reversals": 0, "reversal_amount": "0.00", "fees": "0.01" }]);
    assert_eq!(a.body, whole(DAY, &mine, &summary));

    // m2 cannot adjust m1's lines, and m1's adjustments stay on m1's statement.
    for body in [
        json!({ "date": DAY, "action": "drop", "out_trade_no": "s-cxl" }),
        json!({ "date": DAY, "action": "drop", "out_trade_no": "s-pay", "out_refund_no": "s-rf" }),
    ] {
        let a = sb.call_as(M2, KEY2, "statement_adjust", body.clone()).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{body}");
    }
    let a = sb
        .call("statement_adjust", json!({ "date": DAY, "action": "set_amount", "out_trade_no": "s-pay", "amount": "1.23" }))
        .await;
    assert_eq!(a.code(), "SUCCESS");
    assert_eq!(
        sb.call_as(M2, KEY2, "statement", day(DAY)).await.body,
        whole(DAY, &mine, &summary)
    );
    let m1 = sb.call("statement", day(DAY)).await;
    assert_eq!(m1.body["lines"][1]["amount"], "1.23");
    assert_eq!(m1.body["total_lines"], busy.lines.len());
}

#[tokio::test]
async fn the_statement_is_the_same_after_a_restart_without_its_adjustments() {
    let folder = Folder::new("statement");
    let journal = folder.0.join("provider.jsonl");
    let clock = TestClock::at(datetime!(2026-12-06 09:00 +8));
    let first = Sandbox::at(&clock).await;
    first.provider.keep_orders_in(&journal).unwrap();
    let busy = busy_day(&first, &clock).await;
    let before = first.call("statement", day(DAY)).await;
    assert_eq!(before.body, whole(DAY, &busy.lines, &busy.summary));
    let a = first
        .call(
            "statement_adjust",
            json!({ "date": DAY, "action": "drop", "out_trade_no": "s-pay" }),
        )
        .await;
    assert_eq!(a.code(), "SUCCESS");
    assert_ne!(first.call("statement", day(DAY)).await.body, before.body);
    drop(first);

    let second = Sandbox::at(&clock).await;
    second.provider.keep_orders_in(&journal).unwrap();
    assert_eq!(second.call("statement", day(DAY)).await.body, before.body);
    drop(second);
    // And once more from the compacted file.
    let third = Sandbox::at(&clock).await;
    third.provider.keep_orders_in(&journal).unwrap();
    assert_eq!(third.call("statement", day(DAY)).await.body, before.body);
}

/// Lines written before statements existed have no refund time, no
/// refund's trade_no and no reversal; they load with documented defaults.
#[tokio::test]
async fn journal_lines_from_before_statements_still_load() {
    let folder = Folder::new("statement-legacy");
    let journal = folder.0.join("provider.jsonl");
    // Paid 2026-12-01 10:00 +08:00, refunded 30.00, then cancelled.
    let paid_ms = datetime!(2026-12-01 10:00 +8).unix_timestamp() * 1000;
    let lines = [
        json!({ "kind": "order", "merchant": M1, "trade_no": "sbx20261201123400000001",
                "out_trade_no": "old-1", "amount": 10000, "currency": "CNY", "scene": "barcode",
                "subject": "s", "notify_url": null, "status": "CANCELLED", "paid_at_ms": paid_ms,
                "refunded": 10000, "settles_at_ms": null, "expires_at_ms": null }),
        json!({ "kind": "refund", "merchant": M1, "refund_no": "sbr20261201123400000002",
                "out_refund_no": "old-rf", "out_trade_no": "old-1", "amount": 3000,
                "currency": "CNY", "status": "SUCCEEDED" }),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&journal, text).unwrap();

    let clock = TestClock::at(datetime!(2026-12-02 00:00 +8));
    let sb = Sandbox::at(&clock).await;
    sb.provider.keep_orders_in(&journal).unwrap();
    let a = sb.call("statement", day("2026-12-01")).await;
    let t = "sbx20261201123400000001";
    let expected = [
        // The refund's number dates it at 00:00 UTC that day.
        json!({ "type": "REFUND", "out_trade_no": "old-1", "trade_no": t, "out_refund_no": "old-rf",
                "refund_no": "sbr20261201123400000002", "amount": "30.00", "fee": "-0.18",
                "currency": "CNY", "status": "SUCCEEDED", "time": "2026-12-01T08:00:00+08:00" }),
        payment(
            "old-1",
            t,
            "100.00",
            "0.60",
            "CNY",
            "2026-12-01T10:00:00+08:00",
        ),
        // The cancel gave back what the refund left, dated at the payment.
        reversal("old-1", t, "70.00", "-0.42", "2026-12-01T10:00:00+08:00"),
    ];
    let summary = json!([{ "currency": "CNY", "payments": 1, "payment_amount": "100.00", "refunds": 1,
        "refund_amount": "30.00", "reversals": 1, "reversal_amount": "70.00", "fees": "0.00" }]);
    assert_eq!(a.body, whole("2026-12-01", &expected, &summary));
    // The file was rewritten with the worked-out fields.
    let rewritten = std::fs::read_to_string(&journal).unwrap();
    assert!(rewritten.contains("\"reversal\":["), "{rewritten}");
    assert!(rewritten.contains("\"completed_at_ms\":"), "{rewritten}");
}
