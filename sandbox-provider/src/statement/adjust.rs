//! Falsified statements: the sandbox's way for a test to make the channel's
//! statement disagree with the merchant's books (a missing line, a wrong
//! amount or fee, a payment the merchant never made), like the `auth_code`
//! suffixes drive payment outcomes.
//!
//! Adjustments live in memory only, never in the journal: they belong to
//! the test that made them, not to the provider's records, and a restart
//! publishes the true statement again.

use std::collections::{HashMap, VecDeque};

use super::{Day, Line, LineKind, sort};

/// At most this many adjustments are kept, oldest forgotten first: a demo
/// runs for days and a stray script must not grow memory without bound.
const MAX_ADJUSTMENTS: usize = 10_000;

/// Which line an adjustment changes: an order's payment or reversal, or
/// one of its refunds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub kind: LineKind,
    pub out_trade_no: String,
    /// Exactly for `LineKind::Refund`.
    pub out_refund_no: Option<String>,
}

impl Target {
    pub(crate) fn matches(&self, line: &Line) -> bool {
        line.kind == self.kind
            && line.out_trade_no == self.out_trade_no
            && line.refund.as_ref().map(|r| &r.out_refund_no) == self.out_refund_no.as_ref()
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Adjustment {
    Drop(Target),
    SetAmount(Target, i64),
    SetFee(Target, i64),
    /// A payment line the provider never processed.
    Add(Line),
}

impl Adjustment {
    fn apply(&self, lines: &mut Vec<Line>) {
        match self {
            Adjustment::Drop(t) => lines.retain(|l| !t.matches(l)),
            Adjustment::SetAmount(t, amount) => {
                lines
                    .iter_mut()
                    .filter(|l| t.matches(l))
                    .for_each(|l| l.amount = *amount);
            }
            Adjustment::SetFee(t, fee) => {
                lines
                    .iter_mut()
                    .filter(|l| t.matches(l))
                    .for_each(|l| l.fee = *fee);
            }
            Adjustment::Add(line) => lines.push(line.clone()),
        }
    }
}

/// The adjustments asked for, per merchant and day, in the order asked.
#[derive(Default)]
pub(crate) struct Adjustments {
    by_day: HashMap<(String, Day), Vec<Adjustment>>,
    /// The day of each adjustment, oldest first, for forgetting.
    fifo: VecDeque<(String, Day)>,
}

impl Adjustments {
    /// The statement as published: the provider's `lines` with the day's
    /// adjustments applied one after the other, in published order. An
    /// adjustment whose line has gone (its order was forgotten) does nothing.
    pub(crate) fn publish(&self, merchant: &str, day: Day, mut lines: Vec<Line>) -> Vec<Line> {
        let key = (merchant.to_string(), day);
        let Some(list) = self.by_day.get(&key) else {
            return lines;
        };
        for a in list {
            a.apply(&mut lines);
        }
        sort(&mut lines);
        lines
    }

    pub(crate) fn push(&mut self, merchant: &str, day: Day, adjustment: Adjustment) {
        let key = (merchant.to_string(), day);
        self.by_day.entry(key.clone()).or_default().push(adjustment);
        self.fifo.push_back(key);
        while self.fifo.len() > MAX_ADJUSTMENTS {
            let Some(old) = self.fifo.pop_front() else {
                break;
            };
            if let Some(list) = self.by_day.get_mut(&old) {
                if !list.is_empty() {
                    list.remove(0);
                }
                if list.is_empty() {
                    self.by_day.remove(&old);
                }
            }
        }
    }
}
