//! The matching's rules, each with concrete numbers, on the business day
//! 2024-05-01 in Asia/Shanghai.

use super::*;

/// 2024-05-01T00:00:00+08:00.
pub(super) const DAY_START: i64 = 1_714_492_800_000;
const HOUR: i64 = 3_600_000;
const DAY_END: i64 = DAY_START + 24 * HOUR;
/// A time on the previous day: records settled then expect nothing today.
const YESTERDAY: i64 = DAY_START - 5 * HOUR;

fn day() -> BusinessDay {
    business_day("2024-05-01", "Asia/Shanghai").unwrap()
}

fn currency(code: &str) -> Currency {
    Currency::parse(code).unwrap()
}

pub(super) fn line(
    kind: LineKind,
    order: &str,
    refund_no: Option<&str>,
    amount: i64,
    fee: i64,
    currency: &str,
    status: LineStatus,
) -> StatementLine {
    StatementLine {
        kind,
        merchant_order_no: order.into(),
        refund_no: refund_no.map(String::from),
        channel_no: Some(format!("ch-{order}-{}", refund_no.unwrap_or("p"))),
        amount,
        fee,
        currency: currency.into(),
        status,
        at_ms: DAY_START + 10 * HOUR,
    }
}

pub(super) fn payment_line(order: &str, amount: i64, fee: i64) -> StatementLine {
    line(
        LineKind::Payment,
        order,
        None,
        amount,
        fee,
        "CNY",
        LineStatus::Succeeded,
    )
}

pub(super) fn refund_line(order: &str, refund_no: &str, amount: i64, fee: i64) -> StatementLine {
    line(
        LineKind::Refund,
        order,
        Some(refund_no),
        amount,
        fee,
        "CNY",
        LineStatus::Succeeded,
    )
}

pub(super) fn reversal_line(order: &str, amount: i64, fee: i64) -> StatementLine {
    line(
        LineKind::Reversal,
        order,
        None,
        amount,
        fee,
        "CNY",
        LineStatus::Succeeded,
    )
}

fn at(line: StatementLine, at_ms: i64) -> StatementLine {
    StatementLine { at_ms, ..line }
}

fn with_status(line: StatementLine, status: LineStatus) -> StatementLine {
    StatementLine { status, ..line }
}

fn payment(
    id: &str,
    order: &str,
    amount: i64,
    status: PaymentStatus,
    paid_ms: Option<i64>,
    cancelled_ms: Option<i64>,
) -> OurPayment {
    OurPayment {
        payment_id: id.into(),
        merchant_order_no: order.into(),
        channel_order_no: Some(format!("ch-{order}-p")),
        amount,
        currency: currency("CNY"),
        status,
        paid_ms,
        cancelled_ms,
    }
}

fn paid(id: &str, order: &str, amount: i64, paid_ms: i64) -> OurPayment {
    payment(
        id,
        order,
        amount,
        PaymentStatus::Succeeded,
        Some(paid_ms),
        None,
    )
}

fn refund(
    id: &str,
    of: &OurPayment,
    refund_no: &str,
    amount: i64,
    status: RefundStatus,
    settled_ms: Option<i64>,
) -> OurRefund {
    OurRefund {
        refund_id: id.into(),
        payment_id: of.payment_id.clone(),
        merchant_order_no: of.merchant_order_no.clone(),
        merchant_refund_no: refund_no.into(),
        amount,
        currency: of.currency.clone(),
        status,
        settled_ms,
    }
}

/// paycore's side as the runtime builds it: `named` looked up by the
/// lines' numbers among `all`; `in_day` the records with a time inside the
/// day (generously: any of their times).
fn paycore_for(lines: &[StatementLine], all: &Records) -> PaycoreSide {
    let named_payments = all
        .payments
        .iter()
        .filter(|p| {
            lines
                .iter()
                .any(|l| l.merchant_order_no == p.merchant_order_no)
        })
        .cloned()
        .collect();
    let named_refunds = all
        .refunds
        .iter()
        .filter(|r| {
            lines.iter().any(|l| {
                l.kind == LineKind::Refund
                    && l.merchant_order_no == r.merchant_order_no
                    && l.refund_no.as_deref() == Some(r.merchant_refund_no.as_str())
            })
        })
        .cloned()
        .collect();
    let in_window = |t: Option<i64>| t.is_some_and(|t| (DAY_START..DAY_END).contains(&t));
    PaycoreSide {
        named: Records {
            payments: named_payments,
            refunds: named_refunds,
        },
        in_day: Records {
            payments: all
                .payments
                .iter()
                .filter(|p| in_window(p.paid_ms) || in_window(p.cancelled_ms))
                .cloned()
                .collect(),
            refunds: all
                .refunds
                .iter()
                .filter(|r| in_window(r.settled_ms))
                .cloned()
                .collect(),
        },
        matched_elsewhere: BTreeSet::new(),
    }
}

fn run(lines: &[StatementLine], all: &Records) -> Reconciliation {
    reconcile(&day(), lines, &paycore_for(lines, all)).unwrap()
}

/// A day that matches: two payments, a partial refund of one, a payment
/// paid and reversed.
fn full_day() -> (Vec<StatementLine>, Records) {
    let p1 = paid("pay_1", "A-1", 10_000, DAY_START + 9 * HOUR + 120);
    let p2 = payment(
        "pay_2",
        "A-2",
        5_000,
        PaymentStatus::Cancelled,
        Some(DAY_START + 10 * HOUR + 80),
        Some(DAY_START + 10 * HOUR + 5 * 60_000 + 90),
    );
    let p3 = paid("pay_3", "A-3", 2_500, DAY_START + 11 * HOUR + 150);
    let r1 = refund(
        "re_1",
        &p1,
        "R-1",
        4_000,
        RefundStatus::Succeeded,
        Some(DAY_START + 15 * HOUR + 300),
    );
    let lines = vec![
        at(payment_line("A-1", 10_000, 60), DAY_START + 9 * HOUR),
        at(payment_line("A-2", 5_000, 30), DAY_START + 10 * HOUR),
        at(
            reversal_line("A-2", 5_000, -30),
            DAY_START + 10 * HOUR + 5 * 60_000,
        ),
        at(payment_line("A-3", 2_500, 15), DAY_START + 11 * HOUR),
        at(refund_line("A-1", "R-1", 4_000, -24), DAY_START + 15 * HOUR),
    ];
    let records = Records {
        payments: vec![p1, p2, p3],
        refunds: vec![r1],
    };
    (lines, records)
}

/// The only verdict that is not Matched.
fn only_difference(outcome: &Reconciliation) -> &Difference {
    assert!(outcome.in_flight.is_empty(), "{:#?}", outcome.in_flight);
    assert_eq!(outcome.differences.len(), 1, "{:#?}", outcome.differences);
    &outcome.differences[0]
}

fn pay_id(id: &str) -> PaymentId {
    PaymentId::from(id)
}

#[test]
fn a_day_that_matches_fully_has_no_difference_and_its_totals() {
    let (lines, records) = full_day();
    let outcome = run(&lines, &records);
    assert_eq!(outcome.differences, vec![]);
    assert_eq!(outcome.in_flight, vec![]);
    let matched: Vec<(LineKey, &str, Option<&str>, i64)> = outcome
        .matched
        .iter()
        .map(|m| {
            (
                m.key(),
                m.payment_id.as_str(),
                m.refund_id.as_ref().map(RefundId::as_str),
                m.fee,
            )
        })
        .collect();
    assert_eq!(
        matched,
        vec![
            (LineKey::Payment("A-1".into()), "pay_1", None, 60),
            (LineKey::Payment("A-2".into()), "pay_2", None, 30),
            (LineKey::Reversal("A-2".into()), "pay_2", None, -30),
            (LineKey::Payment("A-3".into()), "pay_3", None, 15),
            (
                LineKey::Refund("A-1".into(), Some("R-1".into())),
                "pay_1",
                Some("re_1"),
                -24
            ),
        ]
    );
    let cny = &outcome.summaries["CNY"];
    assert_eq!(cny.statement.gross, 17_500);
    assert_eq!(cny.statement.refunded, 9_000);
    assert_eq!(cny.statement.fees, 60 + 30 - 30 + 15 - 24);
    assert_eq!(cny.statement.net, 17_500 - 9_000 - 51);
    assert_eq!(cny.statement.payments.count, 3);
    assert_eq!(cny.statement.refunds.count, 1);
    assert_eq!(cny.statement.reversals.count, 1);
    assert_eq!(cny.matched, 5);
    assert_eq!(cny.in_flight, 0);
    assert!(cny.differences.is_empty());
    assert_eq!(outcome.summaries.len(), 1);
}

#[test]
fn a_line_paycore_never_saw_is_missing_at_paycore() {
    let (mut lines, records) = full_day();
    lines.push(at(payment_line("X-9", 777, 5), DAY_START + 12 * HOUR));
    let outcome = run(&lines, &records);
    let difference = only_difference(&outcome);
    assert_eq!(difference.kind, DifferenceKind::MissingAtPaycore);
    assert_eq!(difference.key, LineKey::Payment("X-9".into()));
    assert_eq!(difference.line.as_ref().map(|l| l.amount), Some(777));
    assert_eq!(difference.payment, None);
    assert_eq!(difference.payment_id, None);
    assert_eq!(difference.recheck, None);
    assert_eq!(outcome.matched.len(), 5);
    let cny = &outcome.summaries["CNY"];
    assert_eq!(cny.differences[&DifferenceKind::MissingAtPaycore], 1);
    assert_eq!(cny.statement.gross, 17_500 + 777);
}

#[test]
fn each_dropped_line_is_one_missing_at_channel_with_a_query() {
    let (lines, records) = full_day();
    let expected_recheck = [
        Recheck::QueryPayment(pay_id("pay_1")),
        Recheck::QueryPayment(pay_id("pay_2")),
        Recheck::QueryPayment(pay_id("pay_2")),
        Recheck::QueryPayment(pay_id("pay_3")),
        Recheck::QueryRefund(RefundId::from("re_1")),
    ];
    for (dropped, recheck) in expected_recheck.into_iter().enumerate() {
        let mut kept = lines.clone();
        let gone = kept.remove(dropped);
        let outcome = run(&kept, &records);
        let difference = only_difference(&outcome);
        assert_eq!(
            difference.kind,
            DifferenceKind::MissingAtChannel,
            "{gone:?}"
        );
        assert_eq!(difference.key, gone.key());
        assert_eq!(difference.line, None);
        assert_eq!(difference.recheck, Some(recheck));
        assert!(difference.payment.is_some());
        assert_eq!(difference.payment_id, Some(pay_id(payment_of(&gone))));
        assert_eq!(outcome.matched.len(), 4);
        assert_eq!(
            outcome.summaries["CNY"].differences[&DifferenceKind::MissingAtChannel],
            1
        );
    }
}

fn payment_of(line: &StatementLine) -> &'static str {
    match line.merchant_order_no.as_str() {
        "A-1" => "pay_1",
        "A-2" => "pay_2",
        _ => "pay_3",
    }
}

#[test]
fn a_changed_amount_is_amount_differs_with_both_sides() {
    let (mut lines, records) = full_day();
    lines[3].amount = 2_501;
    let outcome = run(&lines, &records);
    let difference = only_difference(&outcome);
    assert_eq!(difference.kind, DifferenceKind::AmountDiffers);
    assert_eq!(difference.line.as_ref().map(|l| l.amount), Some(2_501));
    assert_eq!(difference.payment.as_ref().map(|p| p.amount), Some(2_500));
    assert_eq!(difference.payment_id, Some(pay_id("pay_3")));
    assert_eq!(difference.recheck, None);
}

#[test]
fn a_changed_currency_is_amount_differs_even_with_the_same_number() {
    let (mut lines, records) = full_day();
    lines[3].currency = "USD".into();
    let outcome = run(&lines, &records);
    let difference = only_difference(&outcome);
    assert_eq!(difference.kind, DifferenceKind::AmountDiffers);
    assert_eq!(difference.key, LineKey::Payment("A-3".into()));
    assert_eq!(outcome.summaries["USD"].statement.gross, 2_500);
    assert_eq!(
        outcome.summaries["USD"].differences[&DifferenceKind::AmountDiffers],
        1
    );
    assert_eq!(outcome.summaries["CNY"].statement.gross, 15_000);
    assert_eq!(outcome.summaries["CNY"].matched, 4);
}

#[test]
fn a_changed_refund_or_reversal_amount_is_amount_differs() {
    for index in [2, 4] {
        let (mut lines, records) = full_day();
        lines[index].amount -= 1;
        let outcome = run(&lines, &records);
        let difference = only_difference(&outcome);
        assert_eq!(difference.kind, DifferenceKind::AmountDiffers);
        assert_eq!(difference.key, lines[index].key());
    }
}

#[test]
fn a_refund_only_at_the_channel_is_status_differs_on_the_known_payment() {
    let (mut lines, records) = full_day();
    lines.push(at(
        refund_line("A-3", "R-9", 1_000, -6),
        DAY_START + 16 * HOUR,
    ));
    let outcome = run(&lines, &records);
    let difference = only_difference(&outcome);
    assert_eq!(difference.kind, DifferenceKind::StatusDiffers);
    assert_eq!(
        difference.key,
        LineKey::Refund("A-3".into(), Some("R-9".into()))
    );
    assert_eq!(difference.payment_id, Some(pay_id("pay_3")));
    assert_eq!(difference.refund, None);
    // paycore cannot ask about a refund it never made.
    assert_eq!(difference.recheck, None);
}

#[test]
fn a_refund_without_a_refund_number_finds_no_refund() {
    let (mut lines, records) = full_day();
    lines[4].refund_no = None;
    let outcome = run(&lines, &records);
    // The line is a refund at the channel only, and paycore's refund has
    // no line: two differences, one each side.
    let kinds: Vec<(DifferenceKind, LineKey)> = outcome
        .differences
        .iter()
        .map(|d| (d.kind, d.key.clone()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (
                DifferenceKind::StatusDiffers,
                LineKey::Refund("A-1".into(), None)
            ),
            (
                DifferenceKind::MissingAtChannel,
                LineKey::Refund("A-1".into(), Some("R-1".into()))
            ),
        ]
    );
}

#[test]
fn paycore_unknown_but_channel_paid_is_missing_at_paycore_with_a_query() {
    let (mut lines, mut records) = full_day();
    records.payments.push(payment(
        "pay_4",
        "A-4",
        880,
        PaymentStatus::Unknown,
        None,
        None,
    ));
    lines.push(at(payment_line("A-4", 880, 5), DAY_START + 13 * HOUR));
    let outcome = run(&lines, &records);
    let difference = only_difference(&outcome);
    assert_eq!(difference.kind, DifferenceKind::MissingAtPaycore);
    assert_eq!(difference.payment_id, Some(pay_id("pay_4")));
    assert_eq!(
        difference.recheck,
        Some(Recheck::QueryPayment(pay_id("pay_4")))
    );
    assert_eq!(
        difference.payment.as_ref().map(|p| p.status),
        Some(PaymentStatus::Unknown)
    );
}

#[test]
fn a_payment_crossing_midnight_is_matched_on_the_channels_day_and_not_missed_on_paycores() {
    // Paid at the channel 23:59:59.900 on the 1st; paycore recorded it
    // 00:00:00.100 on the 2nd.
    let late = paid("pay_5", "A-5", 1_200, DAY_END + 100);
    let all = Records {
        payments: vec![late.clone()],
        refunds: vec![],
    };
    let lines = vec![at(payment_line("A-5", 1_200, 7), DAY_END - 100)];
    let first = run(&lines, &all);
    assert!(first.differences.is_empty(), "{:#?}", first.differences);
    assert_eq!(first.matched.len(), 1);
    let key = first.matched[0].key();

    // The 2nd: its statement has no line for it; paycore's record is in
    // the day; the key matched on the 1st clears it.
    let second_day = business_day("2024-05-02", "Asia/Shanghai").unwrap();
    let mut side = PaycoreSide {
        in_day: all.clone(),
        ..PaycoreSide::default()
    };
    let unmatched = reconcile(&second_day, &[], &side).unwrap();
    assert_eq!(
        only_difference(&unmatched).kind,
        DifferenceKind::MissingAtChannel,
        "without the other day's keys it looks missing"
    );
    side.matched_elsewhere.insert(key);
    let second = reconcile(&second_day, &[], &side).unwrap();
    assert_eq!(second.differences, vec![]);
    assert_eq!(second.matched, vec![]);
}

#[test]
fn a_payment_paycore_recorded_before_midnight_and_the_channel_after_is_matched_elsewhere() {
    let early = paid("pay_6", "A-6", 300, DAY_END - 100);
    let all = Records {
        payments: vec![early],
        refunds: vec![],
    };
    let mut side = paycore_for(&[], &all);
    side.matched_elsewhere
        .insert(LineKey::Payment("A-6".into()));
    let outcome = reconcile(&day(), &[], &side).unwrap();
    assert_eq!(outcome, Reconciliation::default());
}

#[test]
fn records_given_generously_expect_only_the_legs_inside_the_day() {
    let (lines, mut records) = full_day();
    // Paid yesterday, refunded tomorrow: nothing expected today.
    let old = paid("pay_7", "A-7", 900, YESTERDAY);
    records.refunds.push(refund(
        "re_7",
        &old,
        "R-7",
        100,
        RefundStatus::Succeeded,
        Some(DAY_END + 1),
    ));
    records.payments.push(old);
    let mut side = paycore_for(&lines, &records);
    side.in_day
        .payments
        .extend(records.payments.iter().cloned());
    side.in_day.refunds.extend(records.refunds.iter().cloned());
    let outcome = reconcile(&day(), &lines, &side).unwrap();
    assert_eq!(outcome.differences, vec![]);
    assert_eq!(outcome.matched.len(), 5);
}

#[test]
fn a_duplicate_line_is_one_duplicate_and_counts_in_the_totals() {
    let (mut lines, records) = full_day();
    let again = lines[3].clone();
    lines.push(again);
    let outcome = run(&lines, &records);
    let difference = only_difference(&outcome);
    assert_eq!(difference.kind, DifferenceKind::Duplicate);
    assert_eq!(difference.key, LineKey::Payment("A-3".into()));
    assert_eq!(difference.payment_id, Some(pay_id("pay_3")));
    assert_eq!(outcome.matched.len(), 5);
    assert_eq!(outcome.summaries["CNY"].statement.gross, 17_500 + 2_500);
}

#[test]
fn of_two_different_lines_for_one_number_the_earlier_is_judged_whatever_the_page_order() {
    let (mut lines, records) = full_day();
    let mut wrong = lines[3].clone();
    wrong.amount = 9;
    wrong.at_ms += 1;
    lines.push(wrong);
    let outcome = run(&lines, &records);
    let difference = only_difference(&outcome);
    assert_eq!(difference.kind, DifferenceKind::Duplicate);
    assert_eq!(difference.line.as_ref().map(|l| l.amount), Some(9));
    lines.reverse();
    assert_eq!(run(&lines, &records), outcome);
}

#[test]
fn the_output_is_sorted_by_time_then_number_whatever_the_input_order() {
    let (mut lines, mut records) = full_day();
    lines.push(at(payment_line("X-1", 1, 0), DAY_START + 12 * HOUR));
    lines.push(at(payment_line("X-0", 1, 0), DAY_START + 12 * HOUR));
    records
        .payments
        .push(paid("pay_8", "A-8", 10, DAY_START + 12 * HOUR));
    let outcome = run(&lines, &records);
    let keys: Vec<LineKey> = outcome.differences.iter().map(|d| d.key.clone()).collect();
    assert_eq!(
        keys,
        vec![
            LineKey::Payment("A-8".into()),
            LineKey::Payment("X-0".into()),
            LineKey::Payment("X-1".into()),
        ]
    );
    let times: Vec<i64> = outcome.matched.iter().map(|m| m.line.at_ms).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    let mut shuffled = lines.clone();
    shuffled.rotate_left(3);
    shuffled.swap(0, 4);
    let mut side = paycore_for(&shuffled, &records);
    side.named.payments.reverse();
    side.in_day.payments.rotate_left(1);
    assert_eq!(reconcile(&day(), &shuffled, &side).unwrap(), outcome);
}

#[test]
fn a_processing_line_and_an_open_record_are_in_flight_not_different() {
    let p = payment("pay_9", "A-9", 500, PaymentStatus::Processing, None, None);
    let r_payment = paid("pay_10", "A-10", 800, YESTERDAY);
    let r = refund(
        "re_10",
        &r_payment,
        "R-10",
        300,
        RefundStatus::Processing,
        None,
    );
    let all = Records {
        payments: vec![p, r_payment],
        refunds: vec![r],
    };
    let lines = vec![
        with_status(payment_line("A-9", 500, 0), LineStatus::Processing),
        with_status(refund_line("A-10", "R-10", 300, 0), LineStatus::Processing),
    ];
    let outcome = run(&lines, &all);
    assert_eq!(outcome.differences, vec![]);
    assert_eq!(outcome.matched, vec![]);
    let in_flight: Vec<&Recheck> = outcome.in_flight.iter().map(|f| &f.recheck).collect();
    assert_eq!(
        in_flight,
        vec![
            &Recheck::QueryPayment(pay_id("pay_9")),
            &Recheck::QueryRefund(RefundId::from("re_10")),
        ]
    );
    assert_eq!(outcome.summaries["CNY"].in_flight, 2);
    assert_eq!(outcome.summaries["CNY"].statement.not_succeeded, 2);
    assert_eq!(outcome.summaries["CNY"].statement.gross, 0);
}

#[test]
fn a_cancelled_payment_paycore_did_not_know_was_paid_needs_its_reversal() {
    let p = payment(
        "pay_11",
        "A-11",
        640,
        PaymentStatus::Cancelled,
        None,
        Some(DAY_START + 14 * HOUR),
    );
    let all = Records {
        payments: vec![p],
        refunds: vec![],
    };
    let paid_line = payment_line("A-11", 640, 4);
    let reversed_line = at(reversal_line("A-11", 640, -4), DAY_START + 14 * HOUR);

    let alone = run(std::slice::from_ref(&paid_line), &all);
    let difference = only_difference(&alone);
    assert_eq!(difference.kind, DifferenceKind::StatusDiffers);
    assert_eq!(
        difference.recheck,
        Some(Recheck::QueryPayment(pay_id("pay_11")))
    );

    let both = run(&[paid_line.clone(), reversed_line.clone()], &all);
    assert_eq!(both.differences, vec![]);
    assert_eq!(both.matched.len(), 2);

    // Reversed on the next day's statement, already matched there.
    let mut side = paycore_for(std::slice::from_ref(&paid_line), &all);
    side.matched_elsewhere.insert(reversed_line.key());
    let later = reconcile(&day(), &[paid_line], &side).unwrap();
    assert_eq!(later.differences, vec![]);
}

#[test]
fn a_paid_payment_cancelled_the_next_day_is_matched_and_its_reversal_expected_then() {
    let p = payment(
        "pay_12",
        "A-12",
        900,
        PaymentStatus::Cancelled,
        Some(DAY_END - HOUR),
        Some(DAY_END + HOUR),
    );
    let all = Records {
        payments: vec![p],
        refunds: vec![],
    };
    let today = run(&[at(payment_line("A-12", 900, 5), DAY_END - HOUR)], &all);
    assert_eq!(today.differences, vec![]);
    let tomorrow = business_day("2024-05-02", "Asia/Shanghai").unwrap();
    let side = PaycoreSide {
        in_day: all,
        matched_elsewhere: today.matched.iter().map(Matched::key).collect(),
        ..PaycoreSide::default()
    };
    let missing = reconcile(&tomorrow, &[], &side).unwrap();
    let difference = only_difference(&missing);
    assert_eq!(difference.kind, DifferenceKind::MissingAtChannel);
    assert_eq!(difference.key, LineKey::Reversal("A-12".into()));
    assert_eq!(difference.at_ms(), DAY_END + HOUR);
}

#[test]
fn totals_that_overflow_fail_the_reconciliation() {
    let p1 = paid("pay_1", "A-1", i64::MAX, DAY_START + HOUR);
    let p2 = paid("pay_2", "A-2", 1, DAY_START + HOUR);
    let all = Records {
        payments: vec![p1, p2],
        refunds: vec![],
    };
    let lines = vec![payment_line("A-1", i64::MAX, 0), payment_line("A-2", 1, 0)];
    assert_eq!(
        reconcile(&day(), &lines, &paycore_for(&lines, &all)),
        Err(ReconcileError::Overflow(Overflow {
            currency: "CNY".into(),
            figure: Figure::PaymentAmount
        }))
    );
}

#[test]
fn inputs_that_cannot_be_reconciled_are_refused_by_name() {
    let negative = vec![payment_line("A-1", -5, 0)];
    assert_eq!(
        reconcile(&day(), &negative, &PaycoreSide::default()),
        Err(ReconcileError::NegativeAmount {
            key: LineKey::Payment("A-1".into()),
            amount: -5
        })
    );

    let p = paid("pay_1", "A-1", 100, DAY_START + HOUR);
    let mut changed = p.clone();
    changed.amount = 101;
    let side = PaycoreSide {
        named: Records {
            payments: vec![p.clone()],
            refunds: vec![],
        },
        in_day: Records {
            payments: vec![changed],
            refunds: vec![],
        },
        ..PaycoreSide::default()
    };
    assert_eq!(
        reconcile(&day(), &[], &side),
        Err(ReconcileError::ConflictingPayment {
            payment_id: pay_id("pay_1")
        })
    );

    // The same record in both lists is one record.
    let same = PaycoreSide {
        named: Records {
            payments: vec![p.clone()],
            refunds: vec![],
        },
        in_day: Records {
            payments: vec![p.clone()],
            refunds: vec![],
        },
        ..PaycoreSide::default()
    };
    let lines = vec![payment_line("A-1", 100, 1)];
    let outcome = reconcile(&day(), &lines, &same).unwrap();
    assert_eq!(outcome.matched.len(), 1);
    assert_eq!(outcome.differences, vec![]);

    let twin = paid("pay_2", "A-1", 100, DAY_START + HOUR);
    let shared = PaycoreSide {
        named: Records {
            payments: vec![twin, p.clone()],
            refunds: vec![],
        },
        ..PaycoreSide::default()
    };
    let err = reconcile(&day(), &[], &shared).unwrap_err();
    assert_eq!(
        err,
        ReconcileError::SharedOrderNo {
            merchant_order_no: "A-1".into(),
            first: pay_id("pay_1"),
            second: pay_id("pay_2")
        }
    );
    assert!(err.to_string().contains("`A-1`"), "{err}");

    let r1 = refund("re_1", &p, "R-1", 10, RefundStatus::Succeeded, None);
    let mut r1_changed = r1.clone();
    r1_changed.status = RefundStatus::Failed;
    let r2 = refund("re_2", &p, "R-1", 10, RefundStatus::Succeeded, None);
    let conflicting = PaycoreSide {
        named: Records {
            payments: vec![],
            refunds: vec![r1.clone()],
        },
        in_day: Records {
            payments: vec![],
            refunds: vec![r1_changed],
        },
        ..PaycoreSide::default()
    };
    assert_eq!(
        reconcile(&day(), &[], &conflicting),
        Err(ReconcileError::ConflictingRefund {
            refund_id: RefundId::from("re_1")
        })
    );
    let shared_refund = PaycoreSide {
        named: Records {
            payments: vec![],
            refunds: vec![r2, r1],
        },
        ..PaycoreSide::default()
    };
    assert!(matches!(
        reconcile(&day(), &[], &shared_refund),
        Err(ReconcileError::SharedRefundNo { first, second, .. })
            if first == "re_1" && second == "re_2"
    ));
}

/// What the tables say for one cell.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    Matched,
    InFlight(Ask),
    Differs(DifferenceKind, Ask),
}

/// The recheck hint a cell expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ask {
    Nothing,
    Payment,
    Refund,
}

/// The one verdict a lone line got, in the tables' terms.
fn verdict_of(outcome: &Reconciliation) -> Expect {
    let count = outcome.matched.len() + outcome.in_flight.len() + outcome.differences.len();
    assert_eq!(count, 1, "{outcome:#?}");
    let ask = |recheck: Option<&Recheck>| match recheck {
        None => Ask::Nothing,
        Some(Recheck::QueryPayment(_)) => Ask::Payment,
        Some(Recheck::QueryRefund(_)) => Ask::Refund,
    };
    if !outcome.matched.is_empty() {
        return Expect::Matched;
    }
    if let Some(in_flight) = outcome.in_flight.first() {
        return Expect::InFlight(ask(Some(&in_flight.recheck)));
    }
    let difference = &outcome.differences[0];
    Expect::Differs(difference.kind, ask(difference.recheck.as_ref()))
}

/// The tables' payment columns, settled yesterday so that they expect no
/// leg today (the cell's verdict is then the line's alone).
fn payment_columns() -> Vec<(&'static str, Option<OurPayment>)> {
    let with = |status, paid_ms, cancelled_ms| {
        Some(payment(
            "pay_c",
            "C-1",
            1_000,
            status,
            paid_ms,
            cancelled_ms,
        ))
    };
    vec![
        ("no payment", None),
        (
            "succeeded",
            with(PaymentStatus::Succeeded, Some(YESTERDAY), None),
        ),
        (
            "cancelled, paid",
            with(
                PaymentStatus::Cancelled,
                Some(YESTERDAY),
                Some(YESTERDAY + 1),
            ),
        ),
        (
            "cancelled, unpaid",
            with(PaymentStatus::Cancelled, None, Some(YESTERDAY + 1)),
        ),
        ("unknown", with(PaymentStatus::Unknown, None, None)),
        ("pending", with(PaymentStatus::Pending, None, None)),
        ("processing", with(PaymentStatus::Processing, None, None)),
        ("failed", with(PaymentStatus::Failed, None, None)),
        ("closed", with(PaymentStatus::Closed, None, None)),
    ]
}

fn judge_alone(
    line: &StatementLine,
    payment: Option<OurPayment>,
    refund: Option<OurRefund>,
) -> Expect {
    let side = PaycoreSide {
        named: Records {
            payments: payment.into_iter().collect(),
            refunds: refund.into_iter().collect(),
        },
        ..PaycoreSide::default()
    };
    verdict_of(&reconcile(&day(), std::slice::from_ref(line), &side).unwrap())
}

fn check_payment_table(kind: LineKind, table: [[Expect; 9]; 3]) {
    let statuses = [
        LineStatus::Succeeded,
        LineStatus::Processing,
        LineStatus::Failed,
    ];
    for (status, row) in statuses.into_iter().zip(table) {
        for ((column, payment), expected) in payment_columns().into_iter().zip(row) {
            let line = line(kind, "C-1", None, 1_000, 6, "CNY", status);
            assert_eq!(
                judge_alone(&line, payment, None),
                expected,
                "{kind:?} line {status:?}, paycore {column}"
            );
        }
    }
}

// The tables below are the module documentation's, cell for cell: a row
// per line status (succeeded, processing, failed), a column per paycore
// state. `Map`/`Sd` are MissingAtPaycore/StatusDiffers; `P`/`R` a query of
// the payment/refund, `No` none.
mod cell {
    pub(super) use super::Ask::{Nothing as No, Payment as P, Refund as R};
    pub(super) use super::DifferenceKind::{MissingAtPaycore as Map, StatusDiffers as Sd};
    pub(super) use super::Expect::{Differs, InFlight, Matched};
}

#[test]
#[rustfmt::skip]
fn every_cell_of_the_payment_line_table() {
    use cell::*;
    // none, succeeded, cancelled paid, cancelled unpaid (no reversal seen),
    // unknown, pending, processing, failed, closed.
    check_payment_table(LineKind::Payment, [
        [Differs(Map, No), Matched, Matched, Differs(Sd, P), Differs(Map, P), Differs(Map, P), Differs(Map, P), Differs(Map, No), Differs(Map, No)],
        [Differs(Map, No), Differs(Sd, P), Differs(Sd, P), Differs(Sd, P), InFlight(P), InFlight(P), InFlight(P), Differs(Sd, P), Differs(Sd, P)],
        [Differs(Map, No), Differs(Sd, No), Differs(Sd, No), Matched, Differs(Sd, P), Differs(Sd, P), Differs(Sd, P), Matched, Matched],
    ]);
}

#[test]
#[rustfmt::skip]
fn every_cell_of_the_reversal_line_table() {
    use cell::*;
    check_payment_table(LineKind::Reversal, [
        [Differs(Map, No), Differs(Sd, P), Matched, Matched, Differs(Map, P), Differs(Map, P), Differs(Map, P), Differs(Map, No), Differs(Map, No)],
        [Differs(Map, No), Differs(Sd, P), Differs(Sd, P), Differs(Sd, P), InFlight(P), InFlight(P), InFlight(P), Differs(Sd, P), Differs(Sd, P)],
        [Differs(Map, No), Matched, Differs(Sd, No), Differs(Sd, No), Differs(Sd, P), Differs(Sd, P), Differs(Sd, P), Matched, Matched],
    ]);
}

#[test]
#[rustfmt::skip]
fn every_cell_of_the_refund_line_table() {
    use cell::*;
    let statuses = [LineStatus::Succeeded, LineStatus::Processing, LineStatus::Failed];
    // Without a refund at paycore, against each payment column: the same
    // whatever the line's status.
    let without_refund = [
        Differs(Map, No), Differs(Sd, No), Differs(Sd, No), Differs(Sd, No), Differs(Map, P), Differs(Map, P), Differs(Map, P), Differs(Map, No), Differs(Map, No),
    ];
    for status in statuses {
        for ((column, payment), expected) in payment_columns().into_iter().zip(without_refund.clone()) {
            let line = line(LineKind::Refund, "C-1", Some("CR-1"), 400, -2, "CNY", status);
            assert_eq!(judge_alone(&line, payment, None), expected, "refund line {status:?}, no refund, payment {column}");
        }
    }
    // With paycore's refund of a payment paid yesterday: succeeded,
    // pending, processing, failed.
    let refund_statuses = [RefundStatus::Succeeded, RefundStatus::Pending, RefundStatus::Processing, RefundStatus::Failed];
    let table = [
        [Matched, Differs(Sd, R), Differs(Sd, R), Differs(Sd, No)],
        [Differs(Sd, R), InFlight(R), InFlight(R), Differs(Sd, R)],
        [Differs(Sd, No), Differs(Sd, R), Differs(Sd, R), Matched],
    ];
    let of = paid("pay_c", "C-1", 1_000, YESTERDAY);
    for (status, row) in statuses.into_iter().zip(table) {
        for (refund_status, expected) in refund_statuses.into_iter().zip(row) {
            let ours = refund("re_c", &of, "CR-1", 400, refund_status, Some(YESTERDAY));
            let line = line(LineKind::Refund, "C-1", Some("CR-1"), 400, -2, "CNY", status);
            assert_eq!(judge_alone(&line, Some(of.clone()), Some(ours)), expected, "refund line {status:?}, refund {refund_status:?}");
        }
    }
}

#[test]
fn an_in_flight_line_with_another_amount_is_amount_differs() {
    let p = payment("pay_c", "C-1", 1_000, PaymentStatus::Pending, None, None);
    let line = line(
        LineKind::Payment,
        "C-1",
        None,
        999,
        0,
        "CNY",
        LineStatus::Processing,
    );
    assert_eq!(
        judge_alone(&line, Some(p), None),
        Expect::Differs(DifferenceKind::AmountDiffers, Ask::Nothing)
    );
}

/// A small deterministic generator (SplitMix64): `proptest` is not a
/// dependency of core, and a fixed set of seeds reruns identically.
struct Generator(u64);

impl Generator {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// In `low..high`.
    fn between(&mut self, low: i64, high: i64) -> i64 {
        let span = u64::try_from(high - low).unwrap();
        low + i64::try_from(self.next() % span).unwrap()
    }

    fn one_in(&mut self, n: u64) -> bool {
        self.next().is_multiple_of(n)
    }
}

/// Random records of one day, and the statement a faithful channel lists
/// for them (in a random order).
fn generated_day(seed: u64) -> (Vec<StatementLine>, Records) {
    let mut random = Generator(seed);
    let mut records = Records::default();
    let mut lines = Vec::new();
    let count = random.between(1, 25);
    for n in 0..count {
        let order = format!("G-{seed}-{n}");
        let code = ["CNY", "USD", "JPY"][usize::try_from(random.between(0, 3)).unwrap()];
        let amount = random.between(1, 1_000_000);
        let paid_ms = random.between(DAY_START, DAY_END - HOUR);
        let line_for =
            |kind, refund_no: Option<&str>, amount, at_ms, random: &mut Generator| StatementLine {
                at_ms,
                ..line(
                    kind,
                    &order,
                    refund_no,
                    amount,
                    random.between(-50, 50),
                    code,
                    LineStatus::Succeeded,
                )
            };
        let mut ours = payment(
            &format!("pay_{seed}_{n}"),
            &order,
            amount,
            PaymentStatus::Succeeded,
            Some(paid_ms),
            None,
        );
        ours.currency = currency(code);
        match random.between(0, 6) {
            // Never paid: no leg, no line.
            0 => {
                ours.status =
                    [PaymentStatus::Failed, PaymentStatus::Closed][usize::from(random.one_in(2))];
                ours.paid_ms = None;
            }
            // Paid and reversed.
            1 => {
                let cancelled = paid_ms + random.between(1, HOUR);
                ours.status = PaymentStatus::Cancelled;
                ours.cancelled_ms = Some(cancelled);
                lines.push(line_for(
                    LineKind::Payment,
                    None,
                    amount,
                    paid_ms - 200,
                    &mut random,
                ));
                lines.push(line_for(
                    LineKind::Reversal,
                    None,
                    amount,
                    cancelled - 100,
                    &mut random,
                ));
            }
            // Paid, with partial refunds summing to at most the amount.
            _ => {
                lines.push(line_for(
                    LineKind::Payment,
                    None,
                    amount,
                    paid_ms - 200,
                    &mut random,
                ));
                let mut left = amount;
                let mut refund_index = 0;
                while left > 0 && random.one_in(2) {
                    let part = random.between(1, left + 1);
                    left -= part;
                    let refund_no = format!("GR-{refund_index}");
                    refund_index += 1;
                    let settled = paid_ms + random.between(1, HOUR);
                    records.refunds.push(refund(
                        &format!("re_{seed}_{n}_{refund_no}"),
                        &ours,
                        &refund_no,
                        part,
                        RefundStatus::Succeeded,
                        Some(settled),
                    ));
                    lines.push(line_for(
                        LineKind::Refund,
                        Some(&refund_no),
                        part,
                        settled - random.between(0, 500),
                        &mut random,
                    ));
                }
            }
        }
        records.payments.push(ours);
    }
    // The channel's pages come in any order.
    for index in (1..lines.len()).rev() {
        let other = usize::try_from(random.between(0, i64::try_from(index + 1).unwrap())).unwrap();
        lines.swap(index, other);
    }
    (lines, records)
}

#[test]
fn generated_days_match_fully_and_every_dropped_line_is_exactly_one_missing_at_channel() {
    for seed in 0..60 {
        let (lines, records) = generated_day(seed);
        let outcome = run(&lines, &records);
        assert_eq!(outcome.differences, vec![], "seed {seed}");
        assert_eq!(outcome.in_flight, vec![], "seed {seed}");
        assert_eq!(outcome.matched.len(), lines.len(), "seed {seed}");
        let fees: i64 = lines.iter().map(|l| l.fee).sum();
        let summed_fees: i64 = outcome.summaries.values().map(|s| s.statement.fees).sum();
        assert_eq!(summed_fees, fees, "seed {seed}");

        let mut sorted = lines.clone();
        sorted.sort_by_key(|l| (l.at_ms, l.key()));
        assert_eq!(run(&sorted, &records), outcome, "seed {seed}: order");

        for dropped in 0..lines.len() {
            let mut kept = lines.clone();
            let gone = kept.remove(dropped);
            let outcome = run(&kept, &records);
            let difference = only_difference(&outcome);
            assert_eq!(
                (difference.kind, &difference.key),
                (DifferenceKind::MissingAtChannel, &gone.key()),
                "seed {seed}, dropped {gone:?}"
            );
            assert!(difference.recheck.is_some());
        }
    }
}

#[test]
fn generated_days_with_one_amount_changed_have_exactly_that_amount_difference() {
    for seed in 100..140 {
        let (mut lines, records) = generated_day(seed);
        if lines.is_empty() {
            // Every payment of this day failed: nothing to change.
            continue;
        }
        let mut random = Generator(seed);
        let index =
            usize::try_from(random.between(0, i64::try_from(lines.len()).unwrap())).unwrap();
        lines[index].amount += 1;
        let outcome = run(&lines, &records);
        let difference = only_difference(&outcome);
        assert_eq!(
            difference.kind,
            DifferenceKind::AmountDiffers,
            "seed {seed}"
        );
        assert_eq!(difference.key, lines[index].key(), "seed {seed}");
    }
}
