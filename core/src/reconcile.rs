//! Reconciliation (对账): a channel's statement of one business day
//! matched against paycore's payments and refunds. Pure: no database, no
//! network, no clock; the runtime reads the store and fetches the statement
//! around it, and may run it again with the same inputs for the same answer.
//!
//! # What is compared
//!
//! The statement is a list of [`StatementLine`]s, each one money move at the
//! channel: a payment, a refund, or a reversal (a paid payment cancelled,
//! given back in full). paycore's side is its records ([`OurPayment`],
//! [`OurRefund`]): those any line names, and those whose money settled
//! inside the day ([`PaycoreSide`]). Each record stands for up to two
//! *legs*, the moves the channel must list:
//!
//! | leg | paycore expects it on the day that contains |
//! |---|---|
//! | payment (key: its merchant order number) | `paid_ms`: the payment became succeeded (it may be cancelled since) |
//! | reversal (key: the payment's merchant order number) | `cancelled_ms` of a cancelled payment paycore knew was paid (`paid_ms` set) |
//! | refund (key: merchant order number and merchant refund number) | `settled_ms` of a succeeded refund |
//!
//! A line finds its record by number: a payment or reversal line the
//! payment with its `merchant_order_no`; a refund line the refund with its
//! `merchant_order_no` *and* `refund_no`. A refund line without a refund
//! number finds no refund (paycore always sends one, so a refund without
//! one was made outside paycore). The channel's own numbers (`channel_no`)
//! are carried, never compared: paycore may not have learned one.
//!
//! # Verdicts
//!
//! Every line gets exactly one verdict, and so does every leg paycore
//! expects in the day: [`Matched`], [`InFlight`] (neither side has
//! finished: not yet a difference) or a [`Difference`]. A leg gets its own
//! verdict only when no line names it: a line naming it with another status
//! is that line's difference, never a second one.
//!
//! Abbreviations: MAP = [`DifferenceKind::MissingAtPaycore`], SD =
//! [`DifferenceKind::StatusDiffers`]; "+ query payment" / "+ query refund"
//! is the [`Recheck`] hint. A payment is *open* when `unknown`, `pending` or
//! `processing`; *cancelled, paid* is a cancelled payment with `paid_ms`;
//! *cancelled, unpaid* one without (cancelled before it paid, or while
//! paycore did not know whether it had).
//!
//! **Payment line**, against the payment with its order number:
//!
//! | line | no payment | succeeded | cancelled, paid | cancelled, unpaid | open | failed, closed |
//! |---|---|---|---|---|---|---|
//! | succeeded | MAP | Matched | Matched | Matched if its reversal is on this statement (succeeded) or matched on another day; else SD + query payment | MAP + query payment | MAP |
//! | processing | MAP | SD + query payment | SD + query payment | SD + query payment | InFlight + query payment | SD + query payment |
//! | failed | MAP | SD | SD | Matched | SD + query payment | Matched |
//!
//! **Reversal line**, against the payment with its order number:
//!
//! | line | no payment | succeeded | cancelled, paid | cancelled, unpaid | open | failed, closed |
//! |---|---|---|---|---|---|---|
//! | succeeded | MAP | SD + query payment | Matched | Matched | MAP + query payment | MAP |
//! | processing | MAP | SD + query payment | SD + query payment | SD + query payment | InFlight + query payment | SD + query payment |
//! | failed | MAP | Matched | SD | SD | SD + query payment | Matched |
//!
//! **Refund line**, against the refund with its order and refund numbers;
//! when paycore has no such refund, against the payment:
//!
//! | line | no refund, payment succeeded or cancelled | no refund, payment open | no refund, payment failed, closed or absent | refund succeeded | refund pending, processing | refund failed |
//! |---|---|---|---|---|---|---|
//! | succeeded | SD (refunded at the channel only) | MAP + query payment | MAP | Matched | SD + query refund | SD |
//! | processing | SD | MAP + query payment | MAP | SD + query refund | InFlight + query refund | SD + query refund |
//! | failed | SD | MAP + query payment | MAP | SD | SD + query refund | Matched |
//!
//! The principle behind the tables: *MissingAtPaycore* is money the channel
//! moved on a payment paycore does not know was paid (no record, or not
//! succeeded): the most dangerous, since the merchant was told it was not
//! paid. *StatusDiffers* is a payment paycore knows, whose later story
//! differs: refunded or reversed at the channel only; cancelled at paycore
//! while the channel shows its reversal failed, or shows it paid with no
//! reversal on this or another day's statement; a line still processing,
//! or failed, where paycore finished otherwise. *Matched* is agreement on
//! the outcome, including that nothing moved (a failed line against a
//! failed, closed or unpaid record). A line naming nothing paycore has is
//! MissingAtPaycore whatever its status: someone uses the merchant account
//! paycore does not know of.
//!
//! Then, in order:
//!
//! - **Amount**: a verdict of Matched or InFlight whose amount or currency
//!   differs from the record's (a reversal's from its payment's: it gives
//!   back the whole) becomes [`DifferenceKind::AmountDiffers`]. Amounts are
//!   compared only within one currency; another currency is a difference
//!   whatever the amount. A status difference keeps its kind and carries
//!   both sides, so the amounts are there to read.
//! - **Duplicate**: a second line with the key of an earlier one (in the
//!   output order below) is [`DifferenceKind::Duplicate`], whatever its
//!   content; the first gets its verdict as usual. Refund lines without a
//!   refund number have no key to repeat.
//! - **MissingAtChannel**: a leg paycore expects in the day that no line
//!   names and that is not in [`PaycoreSide::matched_elsewhere`] is
//!   [`DifferenceKind::MissingAtChannel`] + query (the payment for a
//!   payment or reversal leg, the refund for a refund leg), whatever the
//!   leg's kind: a refund or reversal paycore has and the channel lacks
//!   entirely is MissingAtChannel, not StatusDiffers, so dropping any one
//!   line of a faithful statement is exactly one difference.
//!
//! # Days
//!
//! A record settles at paycore a moment after the channel, so the two may
//! fall on either side of midnight (paid 23:59:59.9 at the channel,
//! recorded 00:00:00.1). A line names its record whatever day the record
//! settled on, so the line is matched on its own statement's day. The leg
//! on paycore's day has no line there: the runtime passes the keys matched
//! on other days' statements ([`Matched::key`]) as
//! [`PaycoreSide::matched_elsewhere`], and a leg among them is no
//! difference. So the runtime must reconcile the day before and after too
//! (or at least keep their matched keys) before it believes a
//! MissingAtChannel near midnight.
//!
//! The runtime selects `in_day` by any of a record's times (`paid_ms`,
//! `cancelled_ms`, `settled_ms`) inside [`BusinessDay`]'s window; this
//! module decides from the times which of its legs the day expects, so
//! extra records do no harm. A line's own time is not checked against the
//! day: which statement lists a move is the channel's call.
//!
//! # Order
//!
//! Lines are judged in one total order (time, key, then every other
//! field), so which of two duplicates is "the second" does not depend on
//! the order the channel's pages came in; each output list is sorted by
//! time then key.
//!
//! # Totals
//!
//! [`Reconciliation::summaries`] gives, per currency, the statement's
//! counts and sums (succeeded lines only: gross, refunded, fees, net) and
//! the verdicts' counts; [`check_stated_totals`] checks the lines against
//! the totals the channel states for its statement, so a truncated or
//! altered statement is refused before its lines are believed. Every sum
//! is checked: an overflow is an error, never a wrapped number.

mod day;
mod matching;
#[cfg(test)]
mod tests;
mod totals;

pub use day::{BusinessDay, DayError, business_day, day_of};
pub use matching::reconcile;
pub use totals::{
    Disagreement, Figure, KindTotals, Overflow, StatedCurrencyTotals, StatedTotals,
    StatementTotals, Summary, TotalsError, check_stated_totals, statement_totals,
};

use crate::domain::{PaymentId, PaymentStatus, RefundId, RefundStatus};
use crate::money::Currency;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// What a statement line records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LineKind {
    Payment,
    Refund,
    /// A paid payment cancelled at the channel: its whole amount given back.
    Reversal,
}

/// Where the channel says a line's move stood when it cut the statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LineStatus {
    Succeeded,
    Processing,
    Failed,
}

/// One line of the channel's statement, normalised by the runtime (amounts
/// in minor units).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementLine {
    pub kind: LineKind,
    /// The payment's number as paycore sent it (`out_trade_no`).
    pub merchant_order_no: String,
    /// Refunds: paycore's merchant refund number as sent (`out_refund_no`);
    /// `None` for payments and reversals.
    pub refund_no: Option<String>,
    /// The channel's own trade or refund number.
    pub channel_no: Option<String>,
    /// Minor units, never negative: a refund's direction is its kind.
    pub amount: i64,
    /// Minor units, charged (+) or given back (−).
    pub fee: i64,
    /// The ISO 4217 code as the channel wrote it: it may be one paycore does
    /// not know, and that is a difference, not a reason to refuse the
    /// statement.
    pub currency: String,
    pub status: LineStatus,
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
}

impl StatementLine {
    /// The number a verdict and a duplicate are about.
    pub fn key(&self) -> LineKey {
        let order = self.merchant_order_no.clone();
        match self.kind {
            LineKind::Payment => LineKey::Payment(order),
            LineKind::Reversal => LineKey::Reversal(order),
            LineKind::Refund => LineKey::Refund(order, self.refund_no.clone()),
        }
    }
}

/// What a line or a leg is about: its kind and the numbers paycore sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LineKey {
    /// A payment, by merchant order number.
    Payment(String),
    /// A payment's reversal, by the payment's merchant order number.
    Reversal(String),
    /// A refund, by merchant order number and merchant refund number (none
    /// when the channel listed none).
    Refund(String, Option<String>),
}

impl LineKey {
    pub fn merchant_order_no(&self) -> &str {
        match self {
            LineKey::Payment(order) | LineKey::Reversal(order) | LineKey::Refund(order, _) => order,
        }
    }
}

impl fmt::Display for LineKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineKey::Payment(order) => write!(f, "payment {order}"),
            LineKey::Reversal(order) => write!(f, "reversal of {order}"),
            LineKey::Refund(order, Some(refund)) => write!(f, "refund {refund} of {order}"),
            LineKey::Refund(order, None) => write!(f, "unnumbered refund of {order}"),
        }
    }
}

/// A payment as paycore has it at this tenant's channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OurPayment {
    pub payment_id: PaymentId,
    pub merchant_order_no: String,
    pub channel_order_no: Option<String>,
    pub amount: i64,
    pub currency: Currency,
    pub status: PaymentStatus,
    /// When paycore recorded it succeeded, kept when it is cancelled later;
    /// `None` if paycore never had it succeeded.
    pub paid_ms: Option<i64>,
    /// When it became cancelled, if it is.
    pub cancelled_ms: Option<i64>,
}

/// A refund as paycore has it at this tenant's channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OurRefund {
    pub refund_id: RefundId,
    pub payment_id: PaymentId,
    /// Its payment's merchant order number.
    pub merchant_order_no: String,
    pub merchant_refund_no: String,
    pub amount: i64,
    pub currency: Currency,
    pub status: RefundStatus,
    /// When it became succeeded or failed.
    pub settled_ms: Option<i64>,
}

/// Some of paycore's payments and refunds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Records {
    pub payments: Vec<OurPayment>,
    pub refunds: Vec<OurRefund>,
}

/// paycore's side of one day's reconciliation. A record may be in both
/// lists (it is the same record if its id is; the same id with other
/// contents is refused).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaycoreSide {
    /// Records any line names (looked up by number), whatever day they
    /// settled on.
    pub named: Records,
    /// Records whose money settled inside the business day (by `paid_ms`,
    /// `cancelled_ms` or `settled_ms`).
    pub in_day: Records,
    /// Keys matched on other days' statements: a leg among them is no
    /// MissingAtChannel here (it crossed midnight).
    pub matched_elsewhere: BTreeSet<LineKey>,
}

/// Whom to ask the channel about, when asking may settle a difference:
/// paycore's record is open (a query moves it), or the channel's line was
/// still in flight when the statement was cut (its outcome is known now).
/// After the query the runtime reconciles again; what remains needs a
/// person.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Recheck {
    QueryPayment(PaymentId),
    QueryRefund(RefundId),
}

/// A line and paycore's record agree on a final outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    pub line: StatementLine,
    pub payment_id: PaymentId,
    /// Set for refund lines.
    pub refund_id: Option<RefundId>,
    /// The channel's fee on this line (charged +, given back −), for the
    /// runtime to record against the payment.
    pub fee: i64,
}

impl Matched {
    /// What to remember as matched, for other days' `matched_elsewhere`.
    pub fn key(&self) -> LineKey {
        self.line.key()
    }
}

/// A line still processing at the channel whose record paycore has not
/// finished either: no difference yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InFlight {
    pub line: StatementLine,
    pub payment_id: PaymentId,
    pub refund_id: Option<RefundId>,
    pub recheck: Recheck,
}

/// What kind of disagreement (see the module's tables).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DifferenceKind {
    /// The channel moved money on a payment paycore does not know was paid
    /// (no record, or not succeeded), or a line names nothing paycore has.
    MissingAtPaycore,
    /// paycore settled money in the day; no line names it.
    MissingAtChannel,
    /// Amount or currency differs.
    AmountDiffers,
    /// paycore knows the payment but its refund or reversal differs: at one
    /// side only, or final one way at paycore and another (or still
    /// processing) at the channel.
    StatusDiffers,
    /// A further line with the key of an earlier one: counting it would
    /// count the money twice.
    Duplicate,
}

impl DifferenceKind {
    pub const ALL: &'static [DifferenceKind] = &[
        DifferenceKind::MissingAtPaycore,
        DifferenceKind::MissingAtChannel,
        DifferenceKind::AmountDiffers,
        DifferenceKind::StatusDiffers,
        DifferenceKind::Duplicate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DifferenceKind::MissingAtPaycore => "missing_at_paycore",
            DifferenceKind::MissingAtChannel => "missing_at_channel",
            DifferenceKind::AmountDiffers => "amount_differs",
            DifferenceKind::StatusDiffers => "status_differs",
            DifferenceKind::Duplicate => "duplicate",
        }
    }
}

impl fmt::Display for DifferenceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A disagreement, with both sides as they were.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub kind: DifferenceKind,
    pub key: LineKey,
    /// The line, unless the channel has none.
    pub line: Option<StatementLine>,
    /// paycore's payment: the line's, the leg's, or the refund's.
    pub payment: Option<OurPayment>,
    /// paycore's refund, for refund lines and legs.
    pub refund: Option<OurRefund>,
    /// Set whenever paycore has the payment (or the refund names it).
    pub payment_id: Option<PaymentId>,
    pub refund_id: Option<RefundId>,
    pub recheck: Option<Recheck>,
}

impl Difference {
    /// When: the line's time, else paycore's time of the missing leg.
    pub fn at_ms(&self) -> i64 {
        if let Some(line) = &self.line {
            return line.at_ms;
        }
        let refund_time = self.refund.as_ref().and_then(|r| r.settled_ms);
        let payment_time = self.payment.as_ref().and_then(|p| match self.key {
            LineKey::Reversal(_) => p.cancelled_ms,
            _ => p.paid_ms,
        });
        refund_time.or(payment_time).unwrap_or(0)
    }

    /// The currency it is counted under: the line's, else paycore's.
    pub fn currency(&self) -> &str {
        if let Some(line) = &self.line {
            return &line.currency;
        }
        if let Some(refund) = &self.refund {
            return refund.currency.code();
        }
        self.payment.as_ref().map_or("", |p| p.currency.code())
    }
}

/// One day's reconciliation: every line and every expected leg in exactly
/// one of the three lists, each sorted by time then key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciliation {
    pub matched: Vec<Matched>,
    pub in_flight: Vec<InFlight>,
    pub differences: Vec<Difference>,
    /// By currency code (the line's, or paycore's for a missing leg).
    pub summaries: BTreeMap<String, Summary>,
}

/// Why the inputs cannot be reconciled at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReconcileError {
    #[error("payment {payment_id} is given twice with different contents")]
    ConflictingPayment { payment_id: PaymentId },
    #[error("refund {refund_id} is given twice with different contents")]
    ConflictingRefund { refund_id: RefundId },
    #[error("payments {first} and {second} both have merchant order number `{merchant_order_no}`")]
    SharedOrderNo {
        merchant_order_no: String,
        first: PaymentId,
        second: PaymentId,
    },
    #[error(
        "refunds {first} and {second} both have merchant refund number `{merchant_refund_no}` on order `{merchant_order_no}`"
    )]
    SharedRefundNo {
        merchant_order_no: String,
        merchant_refund_no: String,
        first: RefundId,
        second: RefundId,
    },
    #[error("the statement's line for {key} has a negative amount {amount}")]
    NegativeAmount { key: LineKey, amount: i64 },
    #[error(transparent)]
    Overflow(#[from] Overflow),
}
