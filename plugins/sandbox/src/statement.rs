//! The provider's daily statement (`statement`, docs/sandbox-provider.md):
//! a page of lines per call, read by offset, normalised for paycore's
//! reconciliation. The cursor paycore passes back is the provider's next
//! offset, so a page is one request and nothing is kept between calls.

use paycore_plugin_sdk::Host;
use paycore_plugin_sdk::money;
use paycore_plugin_sdk::types::{
    CallContext, ChannelError, Failure, LineKind, LineStatus, StatedTotals, StatementLine,
    StatementPage,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::client::Client;

/// Lines per page: a page of the provider's JSON stays far below the
/// host's default cap on an answer's size (1 MiB) at about 300 bytes a line.
const PAGE_LINES: u32 = 2000;

#[derive(Serialize)]
struct StatementBody<'a> {
    date: &'a str,
    offset: u64,
    limit: u32,
}

#[derive(Deserialize)]
struct StatementReply {
    time_zone: String,
    lines: Vec<Line>,
    next_offset: Option<u64>,
    #[serde(default)]
    summary: Vec<Summary>,
}

#[derive(Deserialize)]
struct Line {
    #[serde(rename = "type")]
    kind: String,
    out_trade_no: String,
    trade_no: Option<String>,
    out_refund_no: Option<String>,
    refund_no: Option<String>,
    amount: String,
    fee: String,
    currency: String,
    status: String,
    time: String,
}

#[derive(Deserialize)]
struct Summary {
    currency: String,
    payments: u64,
    payment_amount: String,
    refunds: u64,
    refund_amount: String,
    reversals: u64,
    reversal_amount: String,
    fees: String,
}

pub fn page(
    host: &dyn Host,
    ctx: &CallContext,
    day: &str,
    cursor: Option<String>,
) -> Result<StatementPage, ChannelError> {
    let offset = match cursor.as_deref() {
        None => 0,
        Some(c) => c.parse().map_err(|_| {
            ChannelError::InvalidRequest(Failure::new(
                "invalid_cursor",
                format!("`{c}` is not a statement offset this plugin gave"),
            ))
        })?,
    };
    let body = StatementBody {
        date: day,
        offset,
        limit: PAGE_LINES,
    };
    let reply: StatementReply = Client::new(host, ctx)?.statement(&body)?;
    let lines = reply
        .lines
        .into_iter()
        .enumerate()
        .map(|(i, line)| {
            normalise(line)
                .map_err(|why| malformed(format!("line {}: {why}", offset + i as u64 + 1)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let totals = reply
        .summary
        .into_iter()
        .map(|s| stated(s).map_err(|why| malformed(format!("summary: {why}"))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(StatementPage {
        time_zone: reply.time_zone,
        lines,
        next: reply.next_offset.map(|n| n.to_string()),
        totals,
    })
}

fn normalise(line: Line) -> Result<StatementLine, String> {
    let kind = match line.kind.as_str() {
        "PAYMENT" => LineKind::Payment,
        "REFUND" => LineKind::Refund,
        "REVERSAL" => LineKind::Reversal,
        other => return Err(format!("unknown type `{other}`")),
    };
    let status = match line.status.as_str() {
        "SUCCEEDED" => LineStatus::Succeeded,
        "PROCESSING" => LineStatus::Processing,
        "FAILED" => LineStatus::Failed,
        other => return Err(format!("unknown status `{other}`")),
    };
    let at = OffsetDateTime::parse(&line.time, &Rfc3339)
        .map_err(|e| format!("time `{}`: {e}", line.time))?;
    Ok(StatementLine {
        kind,
        refund_no: line.out_refund_no,
        channel_no: line.refund_no.or(line.trade_no),
        amount: minor(&line.amount, &line.currency)?,
        fee: signed_minor(&line.fee, &line.currency)?,
        status,
        at: (at.unix_timestamp_nanos() / 1_000_000) as i64,
        merchant_order_no: line.out_trade_no,
        currency: line.currency,
    })
}

/// The summary the provider states of the whole day; reversals are
/// refunds of the whole payment, counted with them.
fn stated(s: Summary) -> Result<StatedTotals, String> {
    let refund_amount = minor(&s.refund_amount, &s.currency)?
        .checked_add(minor(&s.reversal_amount, &s.currency)?)
        .ok_or("refund total overflows")?;
    Ok(StatedTotals {
        payments: Some(s.payments),
        payment_amount: Some(minor(&s.payment_amount, &s.currency)?),
        refunds: Some(s.refunds + s.reversals),
        refund_amount: Some(refund_amount),
        fees: Some(signed_minor(&s.fees, &s.currency)?),
        currency: s.currency,
    })
}

fn minor(amount: &str, currency: &str) -> Result<i64, String> {
    money::parse_major(amount, currency).map_err(|e| format!("amount `{amount}`: {e}"))
}

/// A fee: charged, or given back with a refund (`-0.06`).
fn signed_minor(amount: &str, currency: &str) -> Result<i64, String> {
    match amount.strip_prefix('-') {
        Some(given_back) => minor(given_back, currency).map(|m| -m),
        None => minor(amount, currency),
    }
}

/// A statement that does not read is a failed run, never a guess.
fn malformed(why: String) -> ChannelError {
    ChannelError::InvalidRequest(Failure::new(
        "malformed_statement",
        format!("the sandbox provider's statement does not read: {why}"),
    ))
}
