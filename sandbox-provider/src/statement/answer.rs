//! The `statement` answer: one page of a day's lines, and the whole day's
//! summary per currency on every page, so a reader never has to add up
//! pages to check its totals.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Day, Line, LineKind, TIME_ZONE, wire_time};
use crate::money::Currency;

#[derive(Debug, Serialize)]
pub(crate) struct StatementBody {
    code: &'static str,
    date: String,
    time_zone: &'static str,
    offset: u64,
    total_lines: usize,
    lines: Vec<LineBody>,
    /// Where the next page starts; null on the last page.
    next_offset: Option<u64>,
    summary: Vec<SummaryBody>,
}

#[derive(Debug, Serialize)]
struct LineBody {
    #[serde(rename = "type")]
    kind: &'static str,
    out_trade_no: String,
    trade_no: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    out_refund_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refund_no: Option<String>,
    amount: String,
    fee: String,
    currency: &'static str,
    /// Only what succeeded is listed.
    status: &'static str,
    time: String,
}

#[derive(Debug, Serialize)]
struct SummaryBody {
    currency: &'static str,
    payments: u64,
    payment_amount: String,
    refunds: u64,
    refund_amount: String,
    reversals: u64,
    reversal_amount: String,
    /// The net of every line's fee.
    fees: String,
}

/// The page of `lines` (the whole day, published order) from `offset`.
pub(crate) fn page(day: Day, lines: &[Line], offset: u64, limit: u64) -> StatementBody {
    let start = usize::try_from(offset).unwrap_or(usize::MAX);
    let count = usize::try_from(limit).unwrap_or(usize::MAX);
    let shown: Vec<LineBody> = lines
        .iter()
        .skip(start)
        .take(count)
        .map(line_body)
        .collect();
    let end = offset.saturating_add(shown.len() as u64);
    StatementBody {
        code: "SUCCESS",
        date: day.to_string(),
        time_zone: TIME_ZONE,
        offset,
        total_lines: lines.len(),
        next_offset: (end < lines.len() as u64).then_some(end),
        lines: shown,
        summary: summary(lines),
    }
}

fn line_body(l: &Line) -> LineBody {
    LineBody {
        kind: l.kind.as_str(),
        out_trade_no: l.out_trade_no.clone(),
        trade_no: l.trade_no.clone(),
        out_refund_no: l.refund.as_ref().map(|r| r.out_refund_no.clone()),
        refund_no: l.refund.as_ref().map(|r| r.refund_no.clone()),
        amount: l.currency.format(l.amount),
        fee: l.currency.format(l.fee),
        currency: l.currency.code,
        status: "SUCCEEDED",
        time: wire_time(l.at),
    }
}

/// Counts and sums of one currency; i128 because a day's sums of i64
/// amounts (falsified ones included) can pass an i64.
#[derive(Default)]
struct Totals {
    payments: u64,
    payment_amount: i128,
    refunds: u64,
    refund_amount: i128,
    reversals: u64,
    reversal_amount: i128,
    fees: i128,
}

/// Per currency, sorted by currency code.
fn summary(lines: &[Line]) -> Vec<SummaryBody> {
    let mut by_currency: BTreeMap<&'static str, (Currency, Totals)> = BTreeMap::new();
    for l in lines {
        let (_, t) = by_currency
            .entry(l.currency.code)
            .or_insert_with(|| (l.currency, Totals::default()));
        let amount = i128::from(l.amount);
        match l.kind {
            LineKind::Payment => {
                t.payments += 1;
                t.payment_amount += amount;
            }
            LineKind::Refund => {
                t.refunds += 1;
                t.refund_amount += amount;
            }
            LineKind::Reversal => {
                t.reversals += 1;
                t.reversal_amount += amount;
            }
        }
        t.fees += i128::from(l.fee);
    }
    by_currency
        .into_values()
        .map(|(c, t)| SummaryBody {
            currency: c.code,
            payments: t.payments,
            payment_amount: c.format_total(t.payment_amount),
            refunds: t.refunds,
            refund_amount: c.format_total(t.refund_amount),
            reversals: t.reversals,
            reversal_amount: c.format_total(t.reversal_amount),
            fees: c.format_total(t.fees),
        })
        .collect()
}
