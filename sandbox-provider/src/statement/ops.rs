//! The `statement` and `statement_adjust` operations: validate the request,
//! then publish a page or record an adjustment.

use std::sync::MutexGuard;
use std::time::Instant;

use super::adjust::{Adjustment, Adjustments, Target};
use super::answer::{StatementBody, page};
use super::{Day, Line, LineKind, TIME_ZONE, lines_of};
use crate::Provider;
use crate::fee;
use crate::money::{self, Currency};
use crate::wire::{ApiError, DoneBody, Fields};

const DEFAULT_LIMIT: u64 = 5000;
const MAX_LIMIT: u64 = 10_000;
/// The currency of an added line when the test names none.
const DEFAULT_ADD_CURRENCY: &str = "CNY";

/// `statement`: one page of a day that has ended.
pub(crate) fn statement(
    p: &Provider,
    merchant: &str,
    f: &Fields<'_>,
    now: Instant,
) -> Result<StatementBody, ApiError> {
    let day = day_field(f)?;
    let offset = f.opt_u64("offset")?.unwrap_or(0);
    let limit = f.opt_u64("limit")?.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(format!(
            "field `limit` must be between 1 and {MAX_LIMIT}"
        )));
    }
    // Until the day is over its lines can still change; a channel publishes
    // nothing before then.
    if !day.is_over(p.now()) {
        return Err(ApiError::StatementNotReady(format!(
            "the statement of {day} is available once that day has ended in {TIME_ZONE} (UTC+08:00)"
        )));
    }
    let lines = lines_of(&mut p.store(), merchant, day, now);
    let published = p.adjustments().publish(merchant, day, lines);
    Ok(page(day, &published, offset, limit))
}

/// `statement_adjust`: falsify one line of a day's statement (see `adjust`).
pub(crate) fn adjust(
    p: &Provider,
    merchant: &str,
    f: &Fields<'_>,
    now: Instant,
) -> Result<DoneBody, ApiError> {
    let day = day_field(f)?;
    let req = Request::parse(f)?;
    match req.action {
        Action::Change(change) => {
            let (mut adjustments, published) = published_so_far(p, merchant, day, now);
            let adjustment = changed_line(day, &published, &req, change)?;
            adjustments.push(merchant, day, adjustment);
        }
        Action::Add { amount, currency } => {
            // Built first: the store lock is never taken under the other.
            let line = added_line(p, merchant, day, &req, amount, currency)?;
            let (mut adjustments, published) = published_so_far(p, merchant, day, now);
            // A second line under one number could not be named later.
            if published
                .iter()
                .any(|l| l.kind == LineKind::Payment && l.out_trade_no == req.out_trade_no)
            {
                return Err(ApiError::Duplicate(format!(
                    "the statement of {day} already has a PAYMENT line for {}",
                    req.out_trade_no
                )));
            }
            adjustments.push(merchant, day, Adjustment::Add(line));
        }
    }
    tracing::info!(
        merchant,
        date = %day,
        action = req.action.name(),
        out_trade_no = req.out_trade_no,
        out_refund_no = req.out_refund_no,
        "sandbox provider: statement adjusted"
    );
    Ok(DoneBody { code: "SUCCESS" })
}

/// The day's statement as published so far, with the adjustments locked:
/// a new adjustment is checked against it and recorded under that one lock,
/// so that a concurrent one cannot slip between.
fn published_so_far<'p>(
    p: &'p Provider,
    merchant: &str,
    day: Day,
    now: Instant,
) -> (MutexGuard<'p, Adjustments>, Vec<Line>) {
    let lines = lines_of(&mut p.store(), merchant, day, now);
    let adjustments = p.adjustments();
    let published = adjustments.publish(merchant, day, lines);
    (adjustments, published)
}

fn day_field(f: &Fields<'_>) -> Result<Day, ApiError> {
    Day::parse(f.str("date")?)
        .ok_or_else(|| ApiError::invalid("field `date` must be a calendar date YYYY-MM-DD"))
}

/// What to do, with the amount or fee still as sent: its precision depends
/// on the currency of the line.
#[derive(Clone, Copy)]
enum Action<'a> {
    Change(Change<'a>),
    Add {
        amount: &'a str,
        currency: Option<&'a str>,
    },
}

/// What to do to a line the statement has.
#[derive(Clone, Copy)]
enum Change<'a> {
    Drop,
    SetAmount(&'a str),
    SetFee(&'a str),
}

impl Action<'_> {
    fn name(self) -> &'static str {
        match self {
            Action::Change(Change::Drop) => "drop",
            Action::Change(Change::SetAmount(_)) => "set_amount",
            Action::Change(Change::SetFee(_)) => "set_fee",
            Action::Add { .. } => "add",
        }
    }
}

/// A `statement_adjust` request, its fields checked for shape.
struct Request<'a> {
    action: Action<'a>,
    out_trade_no: &'a str,
    out_refund_no: Option<&'a str>,
    kind: Option<LineKind>,
}

impl<'a> Request<'a> {
    fn parse(f: &Fields<'a>) -> Result<Request<'a>, ApiError> {
        let name = f.str("action")?;
        let amount = || -> Result<&'a str, ApiError> {
            let a = f.str("amount")?;
            // Shape first, so a malformed value is a 400 whatever the line.
            money::check_syntax(a)
                .map_err(|m| ApiError::invalid(format!("field `amount`: {m}")))?;
            Ok(a)
        };
        let (action, takes): (Action<'a>, &[&str]) = match name {
            "drop" => (Action::Change(Change::Drop), &["out_refund_no", "type"]),
            "set_amount" => (
                Action::Change(Change::SetAmount(amount()?)),
                &["out_refund_no", "type", "amount"],
            ),
            "set_fee" => {
                let fee = f.str("fee")?;
                money::check_syntax(fee.strip_prefix('-').unwrap_or(fee))
                    .map_err(|m| ApiError::invalid(format!("field `fee`: {m}")))?;
                (
                    Action::Change(Change::SetFee(fee)),
                    &["out_refund_no", "type", "fee"],
                )
            }
            "add" => {
                let action = Action::Add {
                    amount: amount()?,
                    currency: f.opt_str("currency")?,
                };
                (action, &["amount", "currency"])
            }
            _ => {
                return Err(ApiError::invalid(
                    "field `action` must be one of drop, set_amount, set_fee, add",
                ));
            }
        };
        // A field the action would ignore is a mistake in the test, better
        // told at once than silently ignored.
        for field in ["out_refund_no", "type", "amount", "fee", "currency"] {
            let present = f.0.get(field).is_some_and(|v| !v.is_null());
            if present && !takes.contains(&field) {
                return Err(ApiError::invalid(format!(
                    "field `{field}` does not apply to action {name}"
                )));
            }
        }
        Ok(Request {
            action,
            out_trade_no: f.ident("out_trade_no")?,
            out_refund_no: f.opt_ident("out_refund_no")?,
            kind: match f.opt_str("type")? {
                None => None,
                Some(t) => Some(LineKind::parse(t).ok_or_else(|| {
                    ApiError::invalid("field `type` must be one of PAYMENT, REFUND, REVERSAL")
                })?),
            },
        })
    }
}

/// `drop`, `set_amount` or `set_fee` of a line `published` has.
fn changed_line(
    day: Day,
    published: &[Line],
    req: &Request<'_>,
    change: Change<'_>,
) -> Result<Adjustment, ApiError> {
    let target = target(published, req)?;
    let Some(line) = published.iter().find(|l| target.matches(l)) else {
        let (refund, what) = match &target.out_refund_no {
            Some(r) => (true, format!("refund {r} of order {}", target.out_trade_no)),
            None => (false, format!("order {}", target.out_trade_no)),
        };
        return Err(ApiError::NoSuchLine {
            refund,
            message: format!(
                "the statement of {day} has no {} line for {what}",
                target.kind.as_str()
            ),
        });
    };
    let currency = line.currency;
    Ok(match change {
        Change::Drop => Adjustment::Drop(target),
        Change::SetAmount(a) => Adjustment::SetAmount(target, amount_in(currency, a)?),
        Change::SetFee(fee) => Adjustment::SetFee(
            target,
            currency
                .parse_signed(fee)
                .map_err(|m| ApiError::invalid(format!("field `fee`: {m}")))?,
        ),
    })
}

/// The line a request names. Without `type`, an order's line is its payment
/// that day if it has one, else its reversal (`type` tells them apart when
/// an order was paid and cancelled on the same day).
fn target(published: &[Line], req: &Request<'_>) -> Result<Target, ApiError> {
    let out_trade_no = req.out_trade_no.to_string();
    let (kind, out_refund_no) = match (req.kind, req.out_refund_no) {
        (None | Some(LineKind::Refund), Some(r)) => (LineKind::Refund, Some(r.to_string())),
        (Some(LineKind::Refund), None) => {
            return Err(ApiError::invalid(
                "missing field `out_refund_no` (required for a REFUND line)",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "field `out_refund_no` names a REFUND line, not a PAYMENT or REVERSAL one",
            ));
        }
        (Some(k), None) => (k, None),
        (None, None) => {
            let paid = published
                .iter()
                .any(|l| l.kind == LineKind::Payment && l.out_trade_no == out_trade_no);
            let kind = if paid {
                LineKind::Payment
            } else {
                LineKind::Reversal
            };
            (kind, None)
        }
    };
    Ok(Target {
        kind,
        out_trade_no,
        out_refund_no,
    })
}

/// `add`: a payment line for a number the provider never processed, at
/// noon that day, with the fee at the provider's rate.
fn added_line(
    p: &Provider,
    merchant: &str,
    day: Day,
    req: &Request<'_>,
    amount: &str,
    currency: Option<&str>,
) -> Result<Line, ApiError> {
    let code = currency.unwrap_or(DEFAULT_ADD_CURRENCY);
    let currency = Currency::lookup(code).ok_or_else(|| {
        ApiError::invalid(format!("field `currency`: unsupported currency \"{code}\""))
    })?;
    let amount = amount_in(currency, amount)?;
    let mut store = p.store();
    if store.knows_order(merchant, req.out_trade_no) {
        return Err(ApiError::Duplicate(format!(
            "order {} was processed by the provider; `add` is for a number it never saw",
            req.out_trade_no
        )));
    }
    let at = day.noon();
    Ok(Line {
        kind: LineKind::Payment,
        out_trade_no: req.out_trade_no.to_string(),
        trade_no: store.new_trade_no(at),
        refund: None,
        amount,
        fee: fee::on_payment(amount),
        currency,
        at,
    })
}

fn amount_in(currency: Currency, s: &str) -> Result<i64, ApiError> {
    currency
        .parse(s)
        .map_err(|m| ApiError::invalid(format!("field `amount`: {m}")))
}
