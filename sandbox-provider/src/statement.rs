//! The daily statement (对账单): every money movement of a merchant's
//! business day with the provider's fee, as a real channel publishes it for
//! reconciliation.
//!
//! A day is a calendar day in Asia/Shanghai (UTC+08:00, no daylight saving),
//! the time zone Chinese channels settle in; its statement exists once the
//! day is over there. Its lines come from the provider's own records:
//! payments by `paid_at`, successful refunds by completion, and the
//! reversals of paid orders that were cancelled. A test can then falsify
//! what is published (`adjust`) to simulate a channel-side discrepancy;
//! `ops` answers the two operations and `answer` lays out a page.

mod adjust;
mod answer;
mod ops;

use std::time::Instant;

use time::macros::offset;
use time::{Date, Month, OffsetDateTime, UtcOffset};

use crate::fee;
use crate::money::Currency;
use crate::state::{RefundStatus, Store};

pub(crate) use adjust::Adjustments;
pub(crate) use answer::StatementBody;
pub(crate) use ops::{adjust, statement};

/// The statement's time zone, as named on the wire.
pub(crate) const TIME_ZONE: &str = "Asia/Shanghai";
/// Its offset: China has kept UTC+08:00 all year since 1991.
const OFFSET: UtcOffset = offset!(+8);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum LineKind {
    Payment,
    Refund,
    Reversal,
}

impl LineKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            LineKind::Payment => "PAYMENT",
            LineKind::Refund => "REFUND",
            LineKind::Reversal => "REVERSAL",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<LineKind> {
        [LineKind::Payment, LineKind::Refund, LineKind::Reversal]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A refund line's own numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RefundNumbers {
    pub out_refund_no: String,
    pub refund_no: String,
}

/// One line of a statement; amounts and fees in minor units, the fee
/// negative when money goes back to the payer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    pub kind: LineKind,
    pub out_trade_no: String,
    pub trade_no: String,
    /// Exactly for `Refund` lines.
    pub refund: Option<RefundNumbers>,
    pub amount: i64,
    pub fee: i64,
    pub currency: Currency,
    pub at: OffsetDateTime,
}

impl Line {
    /// Its number: the refund's for a refund, the order's otherwise.
    fn number(&self) -> &str {
        match &self.refund {
            Some(r) => &r.refund_no,
            None => &self.trade_no,
        }
    }
}

/// A business day in the statement's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Day(Date);

impl Day {
    /// Strictly `YYYY-MM-DD`, a real calendar date.
    pub(crate) fn parse(s: &str) -> Option<Day> {
        let b = s.as_bytes();
        let shaped = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !shaped {
            return None;
        }
        let year = s.get(0..4)?.parse().ok()?;
        let month = Month::try_from(s.get(5..7)?.parse::<u8>().ok()?).ok()?;
        let day = s.get(8..10)?.parse().ok()?;
        Date::from_calendar_date(year, month, day).ok().map(Day)
    }

    fn start(self) -> OffsetDateTime {
        self.0.midnight().assume_offset(OFFSET)
    }

    /// The first instant of the next day; None past the calendar's end.
    fn end(self) -> Option<OffsetDateTime> {
        self.0.next_day().map(|d| Day(d).start())
    }

    fn contains(self, t: OffsetDateTime) -> bool {
        self.start() <= t && self.end().is_none_or(|end| t < end)
    }

    /// Whether the day has ended, so that its statement is final.
    pub(crate) fn is_over(self, now: OffsetDateTime) -> bool {
        self.end().is_some_and(|end| now >= end)
    }

    /// Noon that day: the time of a line a test adds.
    fn noon(self) -> OffsetDateTime {
        self.0.midnight().assume_offset(OFFSET) + time::Duration::hours(12)
    }
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}",
            d.year(),
            u8::from(d.month()),
            d.day()
        )
    }
}

/// The lines the provider's records give for the merchant's `day`, in
/// published order.
pub(crate) fn lines_of(store: &mut Store, merchant: &str, day: Day, now: Instant) -> Vec<Line> {
    let mut lines = Vec::new();
    for o in store.orders_of(merchant, now) {
        // Whatever happened to the order later, it was paid that day.
        if let Some(paid_at) = o.paid_at.filter(|t| day.contains(*t)) {
            lines.push(Line {
                kind: LineKind::Payment,
                out_trade_no: o.out_trade_no.clone(),
                trade_no: o.trade_no.clone(),
                refund: None,
                amount: o.amount,
                fee: fee::on_payment(o.amount),
                currency: o.currency,
                at: paid_at,
            });
        }
        // A cancel after refunds that left nothing moved no money: no line.
        if let Some(r) = o.reversal.filter(|r| r.amount > 0 && day.contains(r.at)) {
            lines.push(Line {
                kind: LineKind::Reversal,
                out_trade_no: o.out_trade_no.clone(),
                trade_no: o.trade_no.clone(),
                refund: None,
                amount: r.amount,
                fee: fee::on_refund(r.amount),
                currency: o.currency,
                at: r.at,
            });
        }
    }
    for r in store.refunds_of(merchant) {
        if r.status == RefundStatus::Succeeded && day.contains(r.completed_at) {
            lines.push(Line {
                kind: LineKind::Refund,
                out_trade_no: r.out_trade_no.clone(),
                trade_no: r.trade_no.clone(),
                refund: Some(RefundNumbers {
                    out_refund_no: r.out_refund_no.clone(),
                    refund_no: r.refund_no.clone(),
                }),
                amount: r.amount,
                fee: fee::on_refund(r.amount),
                currency: r.currency,
                at: r.completed_at,
            });
        }
    }
    sort(&mut lines);
    lines
}

/// Time (to the second, as shown), then number, then kind (a payment before
/// its own reversal): a total order that does not depend on the order the
/// records happen to be kept in, so pages and restarts agree.
fn sort(lines: &mut [Line]) {
    lines.sort_by(|a, b| {
        (a.at.unix_timestamp(), a.number(), a.kind).cmp(&(
            b.at.unix_timestamp(),
            b.number(),
            b.kind,
        ))
    });
}

/// A line's time on the wire: RFC 3339 in the statement's time zone, to the
/// second (`2026-12-06T23:59:59+08:00`).
fn wire_time(t: OffsetDateTime) -> String {
    use time::format_description::well_known::Rfc3339;
    t.checked_to_offset(OFFSET)
        .and_then(|t| t.replace_nanosecond(0).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn days_parse_strictly() {
        assert_eq!(
            Day::parse("2026-12-06").map(|d| d.to_string()),
            Some("2026-12-06".to_string())
        );
        for bad in [
            "2026-12-6",
            "2026-13-01",
            "2026-02-30",
            "20261206",
            "2026/12/06",
            "+026-12-06",
            "2026-12-06 ",
            "２026-12-06",
            "",
        ] {
            assert!(Day::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn a_day_runs_from_midnight_to_midnight_in_shanghai() {
        let day = Day::parse("2026-12-06").unwrap();
        assert!(!day.contains(datetime!(2026-12-05 23:59:59.999 +8)));
        assert!(day.contains(datetime!(2026-12-06 00:00 +8)));
        assert!(day.contains(datetime!(2026-12-05 16:00 UTC)));
        assert!(day.contains(datetime!(2026-12-06 23:59:59.999_999_999 +8)));
        assert!(!day.contains(datetime!(2026-12-07 00:00 +8)));
        assert!(!day.is_over(datetime!(2026-12-06 23:59:59.999 +8)));
        assert!(day.is_over(datetime!(2026-12-07 00:00 +8)));
        assert!(
            !Day::parse("9999-12-31")
                .unwrap()
                .is_over(datetime!(2026-12-07 00:00 +8))
        );
        assert_eq!(
            wire_time(day.noon()),
            "2026-12-06T12:00:00+08:00".to_string()
        );
        assert_eq!(
            wire_time(datetime!(2026-12-06 15:59:59.9 UTC)),
            "2026-12-06T23:59:59+08:00"
        );
    }
}
