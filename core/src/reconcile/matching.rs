//! The matching itself: each line judged against the record it names by
//! the module's tables, then each leg paycore expects in the day that no
//! line named.

use super::totals::summarise;
use super::{
    BusinessDay, Difference, DifferenceKind, InFlight, LineKey, LineKind, LineStatus, Matched,
    OurPayment, OurRefund, PaycoreSide, Recheck, ReconcileError, Reconciliation, StatementLine,
};
use crate::domain::{PaymentId, PaymentStatus, RefundId, RefundStatus};
use crate::money::Currency;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

/// Reconciles one business day's statement against paycore's records. See
/// the module's documentation for the verdict of every combination.
pub fn reconcile(
    day: &BusinessDay,
    lines: &[StatementLine],
    paycore: &PaycoreSide,
) -> Result<Reconciliation, ReconcileError> {
    for line in lines {
        if line.amount < 0 {
            return Err(ReconcileError::NegativeAmount {
                key: line.key(),
                amount: line.amount,
            });
        }
    }
    let records = Index::of(paycore)?;

    let mut ordered: Vec<(LineKey, &StatementLine)> =
        lines.iter().map(|line| (line.key(), line)).collect();
    ordered.sort_by(|(a_key, a), (b_key, b)| judging_order(a_key, a).cmp(&judging_order(b_key, b)));

    // A cancelled payment paycore did not know was paid is matched on its
    // payment line only if the money came back: its reversal is here or on
    // another day's statement.
    let reversed: BTreeSet<&str> = lines
        .iter()
        .filter(|line| line.kind == LineKind::Reversal && line.status == LineStatus::Succeeded)
        .map(|line| line.merchant_order_no.as_str())
        .chain(
            paycore
                .matched_elsewhere
                .iter()
                .filter_map(|key| match key {
                    LineKey::Reversal(order) => Some(order.as_str()),
                    _ => None,
                }),
        )
        .collect();

    let mut outcome = Reconciliation::default();
    let mut named: BTreeSet<LineKey> = BTreeSet::new();
    for (key, line) in ordered {
        let payment = records.payment(&line.merchant_order_no);
        let refund = match line.kind {
            LineKind::Refund => line
                .refund_no
                .as_deref()
                .and_then(|refund_no| records.refund(&line.merchant_order_no, refund_no)),
            LineKind::Payment | LineKind::Reversal => None,
        };
        // An unnumbered refund has no key to repeat: two of them on one
        // order may well be two refunds.
        let numbered = !matches!(key, LineKey::Refund(_, None));
        if numbered && !named.insert(key.clone()) {
            outcome.differences.push(difference(
                DifferenceKind::Duplicate,
                key,
                Some(line),
                payment,
                refund,
                None,
            ));
            continue;
        }
        let judgement = match line.kind {
            LineKind::Payment => judge_payment_line(
                line.status,
                PaymentState::of(payment),
                reversed.contains(line.merchant_order_no.as_str()),
            ),
            LineKind::Reversal => judge_reversal_line(line.status, PaymentState::of(payment)),
            LineKind::Refund => judge_refund_line(line.status, payment, refund),
        };
        record(&mut outcome, judgement, key, line, payment, refund);
    }

    for leg in records.legs_in(day) {
        if named.contains(&leg.key) || paycore.matched_elsewhere.contains(&leg.key) {
            continue;
        }
        let recheck = match leg.refund {
            Some(refund) => Recheck::QueryRefund(refund.refund_id.clone()),
            None => Recheck::QueryPayment(leg.payment_id.clone()),
        };
        outcome.differences.push(difference(
            DifferenceKind::MissingAtChannel,
            leg.key,
            None,
            leg.payment,
            leg.refund,
            Some(recheck),
        ));
    }

    // Stable sorts: lines of equal time and key keep their total order
    // above.
    outcome
        .matched
        .sort_by_key(|matched| (matched.line.at_ms, matched.line.key()));
    outcome
        .in_flight
        .sort_by_key(|in_flight| (in_flight.line.at_ms, in_flight.line.key()));
    outcome
        .differences
        .sort_by_key(|difference| (difference.at_ms(), difference.key.clone()));
    outcome.summaries = summarise(lines, &outcome)?;
    Ok(outcome)
}

/// The total order lines are judged in: time, key, then every other field,
/// so the first of two lines for one key is the same however the pages
/// came.
fn judging_order<'a>(key: &'a LineKey, line: &'a StatementLine) -> impl Ord + 'a {
    (
        line.at_ms,
        key,
        line.status,
        line.amount,
        &line.currency,
        line.fee,
        line.channel_no.as_deref(),
    )
}

/// Files a line's judgement under its verdict, checking the money of one
/// that agrees.
fn record(
    outcome: &mut Reconciliation,
    judgement: Judgement<'_>,
    key: LineKey,
    line: &StatementLine,
    payment: Option<&OurPayment>,
    refund: Option<&OurRefund>,
) {
    match judgement {
        Judgement::Matched(agreed) | Judgement::InFlight(agreed, _) if !agreed.same_money(line) => {
            outcome.differences.push(difference(
                DifferenceKind::AmountDiffers,
                key,
                Some(line),
                payment,
                refund,
                None,
            ));
        }
        Judgement::Matched(agreed) => outcome.matched.push(Matched {
            line: line.clone(),
            payment_id: agreed.payment_id.clone(),
            refund_id: agreed.refund_id.cloned(),
            fee: line.fee,
        }),
        Judgement::InFlight(agreed, recheck) => outcome.in_flight.push(InFlight {
            line: line.clone(),
            payment_id: agreed.payment_id.clone(),
            refund_id: agreed.refund_id.cloned(),
            recheck,
        }),
        Judgement::Differs(kind, recheck) => {
            outcome
                .differences
                .push(difference(kind, key, Some(line), payment, refund, recheck))
        }
    }
}

/// paycore's records by the numbers lines name them with.
struct Index<'a> {
    payments: BTreeMap<&'a str, &'a OurPayment>,
    refunds: BTreeMap<(&'a str, &'a str), &'a OurRefund>,
}

impl<'a> Index<'a> {
    /// `named` and `in_day` as one set of records (by id), each findable by
    /// exactly one record.
    fn of(side: &'a PaycoreSide) -> Result<Index<'a>, ReconcileError> {
        let mut payments_by_id: BTreeMap<&PaymentId, &OurPayment> = BTreeMap::new();
        for payment in side.named.payments.iter().chain(&side.in_day.payments) {
            match payments_by_id.entry(&payment.payment_id) {
                Entry::Vacant(slot) => {
                    slot.insert(payment);
                }
                Entry::Occupied(seen) if *seen.get() != payment => {
                    return Err(ReconcileError::ConflictingPayment {
                        payment_id: payment.payment_id.clone(),
                    });
                }
                Entry::Occupied(_) => {}
            }
        }
        let mut refunds_by_id: BTreeMap<&RefundId, &OurRefund> = BTreeMap::new();
        for refund in side.named.refunds.iter().chain(&side.in_day.refunds) {
            match refunds_by_id.entry(&refund.refund_id) {
                Entry::Vacant(slot) => {
                    slot.insert(refund);
                }
                Entry::Occupied(seen) if *seen.get() != refund => {
                    return Err(ReconcileError::ConflictingRefund {
                        refund_id: refund.refund_id.clone(),
                    });
                }
                Entry::Occupied(_) => {}
            }
        }

        let mut payments = BTreeMap::new();
        for payment in payments_by_id.into_values() {
            if let Some(first) = payments.insert(payment.merchant_order_no.as_str(), payment) {
                return Err(ReconcileError::SharedOrderNo {
                    merchant_order_no: payment.merchant_order_no.clone(),
                    first: first.payment_id.clone(),
                    second: payment.payment_id.clone(),
                });
            }
        }
        let mut refunds = BTreeMap::new();
        for refund in refunds_by_id.into_values() {
            let number = (
                refund.merchant_order_no.as_str(),
                refund.merchant_refund_no.as_str(),
            );
            if let Some(first) = refunds.insert(number, refund) {
                return Err(ReconcileError::SharedRefundNo {
                    merchant_order_no: refund.merchant_order_no.clone(),
                    merchant_refund_no: refund.merchant_refund_no.clone(),
                    first: first.refund_id.clone(),
                    second: refund.refund_id.clone(),
                });
            }
        }
        Ok(Index { payments, refunds })
    }

    fn payment(&self, merchant_order_no: &str) -> Option<&'a OurPayment> {
        self.payments.get(merchant_order_no).copied()
    }

    fn refund(&self, merchant_order_no: &str, merchant_refund_no: &str) -> Option<&'a OurRefund> {
        self.refunds
            .get(&(merchant_order_no, merchant_refund_no))
            .copied()
    }

    /// The legs paycore expects on the day's statement, in order of number.
    fn legs_in(&self, day: &BusinessDay) -> Vec<Leg<'a>> {
        let in_day = |at: Option<i64>| at.is_some_and(|at| day.contains(at));
        let mut legs = Vec::new();
        for payment in self.payments.values().copied() {
            let order = &payment.merchant_order_no;
            let paid_once = matches!(
                payment.status,
                PaymentStatus::Succeeded | PaymentStatus::Cancelled
            ) && payment.paid_ms.is_some();
            if paid_once && in_day(payment.paid_ms) {
                legs.push(Leg {
                    key: LineKey::Payment(order.clone()),
                    payment_id: &payment.payment_id,
                    payment: Some(payment),
                    refund: None,
                });
            }
            if paid_once
                && payment.status == PaymentStatus::Cancelled
                && in_day(payment.cancelled_ms)
            {
                legs.push(Leg {
                    key: LineKey::Reversal(order.clone()),
                    payment_id: &payment.payment_id,
                    payment: Some(payment),
                    refund: None,
                });
            }
        }
        for refund in self.refunds.values().copied() {
            if refund.status == RefundStatus::Succeeded && in_day(refund.settled_ms) {
                legs.push(Leg {
                    key: LineKey::Refund(
                        refund.merchant_order_no.clone(),
                        Some(refund.merchant_refund_no.clone()),
                    ),
                    payment_id: &refund.payment_id,
                    payment: self.payment(&refund.merchant_order_no),
                    refund: Some(refund),
                });
            }
        }
        legs
    }
}

/// A move paycore made in the day, which the statement should list.
struct Leg<'a> {
    key: LineKey,
    payment_id: &'a PaymentId,
    payment: Option<&'a OurPayment>,
    refund: Option<&'a OurRefund>,
}

/// A payment as the tables' columns read it.
#[derive(Clone, Copy)]
enum PaymentState<'a> {
    Absent,
    Succeeded(&'a OurPayment),
    /// Cancelled after paycore had it succeeded.
    CancelledPaid(&'a OurPayment),
    /// Cancelled before it paid, or while paycore did not know whether it
    /// had: if money was taken, the reversal gave it back.
    CancelledUnpaid(&'a OurPayment),
    /// `unknown`, `pending`, `processing`: a query moves it.
    Open(&'a OurPayment),
    /// `failed`, `closed`: final, never paid.
    NotPaid(&'a OurPayment),
}

impl<'a> PaymentState<'a> {
    fn of(payment: Option<&'a OurPayment>) -> Self {
        let Some(payment) = payment else {
            return PaymentState::Absent;
        };
        match payment.status {
            PaymentStatus::Succeeded => PaymentState::Succeeded(payment),
            PaymentStatus::Cancelled if payment.paid_ms.is_some() => {
                PaymentState::CancelledPaid(payment)
            }
            PaymentStatus::Cancelled => PaymentState::CancelledUnpaid(payment),
            PaymentStatus::Unknown | PaymentStatus::Pending | PaymentStatus::Processing => {
                PaymentState::Open(payment)
            }
            PaymentStatus::Failed | PaymentStatus::Closed => PaymentState::NotPaid(payment),
        }
    }
}

/// The record a Matched or InFlight verdict agrees with, whose amount and
/// currency must be the line's too.
#[derive(Clone, Copy)]
struct Agreed<'a> {
    amount: i64,
    currency: &'a Currency,
    payment_id: &'a PaymentId,
    refund_id: Option<&'a RefundId>,
}

impl<'a> Agreed<'a> {
    fn payment(payment: &'a OurPayment) -> Self {
        Agreed {
            amount: payment.amount,
            currency: &payment.currency,
            payment_id: &payment.payment_id,
            refund_id: None,
        }
    }

    fn refund(refund: &'a OurRefund) -> Self {
        Agreed {
            amount: refund.amount,
            currency: &refund.currency,
            payment_id: &refund.payment_id,
            refund_id: Some(&refund.refund_id),
        }
    }

    /// Amounts compare only within one currency.
    fn same_money(&self, line: &StatementLine) -> bool {
        line.currency == self.currency.code() && line.amount == self.amount
    }
}

enum Judgement<'a> {
    Matched(Agreed<'a>),
    InFlight(Agreed<'a>, Recheck),
    Differs(DifferenceKind, Option<Recheck>),
}

fn query_payment(payment: &OurPayment) -> Recheck {
    Recheck::QueryPayment(payment.payment_id.clone())
}

fn query_refund(refund: &OurRefund) -> Recheck {
    Recheck::QueryRefund(refund.refund_id.clone())
}

/// The payment line table.
fn judge_payment_line(
    status: LineStatus,
    payment: PaymentState<'_>,
    reversed: bool,
) -> Judgement<'_> {
    use DifferenceKind::{MissingAtPaycore, StatusDiffers};
    use Judgement::{Differs, InFlight, Matched};
    use LineStatus::{Failed, Processing, Succeeded};
    use PaymentState as Paycore;
    match (status, payment) {
        (_, Paycore::Absent) => Differs(MissingAtPaycore, None),
        (Succeeded, Paycore::Succeeded(p) | Paycore::CancelledPaid(p)) => {
            Matched(Agreed::payment(p))
        }
        (Succeeded, Paycore::CancelledUnpaid(p)) if reversed => Matched(Agreed::payment(p)),
        // Money taken on a payment paycore cancelled, and no reversal seen
        // yet: a query says whether the channel gave it back.
        (Succeeded, Paycore::CancelledUnpaid(p)) => Differs(StatusDiffers, Some(query_payment(p))),
        (Succeeded, Paycore::Open(p)) => Differs(MissingAtPaycore, Some(query_payment(p))),
        (Succeeded, Paycore::NotPaid(_)) => Differs(MissingAtPaycore, None),
        (Processing, Paycore::Open(p)) => InFlight(Agreed::payment(p), query_payment(p)),
        (
            Processing,
            Paycore::Succeeded(p)
            | Paycore::CancelledPaid(p)
            | Paycore::CancelledUnpaid(p)
            | Paycore::NotPaid(p),
        ) => Differs(StatusDiffers, Some(query_payment(p))),
        (Failed, Paycore::Succeeded(_) | Paycore::CancelledPaid(_)) => Differs(StatusDiffers, None),
        (Failed, Paycore::CancelledUnpaid(p) | Paycore::NotPaid(p)) => Matched(Agreed::payment(p)),
        (Failed, Paycore::Open(p)) => Differs(StatusDiffers, Some(query_payment(p))),
    }
}

/// The reversal line table. A reversal gives back the whole payment, so
/// its amount is compared with the payment's.
fn judge_reversal_line(status: LineStatus, payment: PaymentState<'_>) -> Judgement<'_> {
    use DifferenceKind::{MissingAtPaycore, StatusDiffers};
    use Judgement::{Differs, InFlight, Matched};
    use LineStatus::{Failed, Processing, Succeeded};
    use PaymentState as Paycore;
    match (status, payment) {
        (_, Paycore::Absent) => Differs(MissingAtPaycore, None),
        // Reversed at the channel only: a query moves paycore's payment to
        // cancelled.
        (Succeeded, Paycore::Succeeded(p)) => Differs(StatusDiffers, Some(query_payment(p))),
        (Succeeded, Paycore::CancelledPaid(p) | Paycore::CancelledUnpaid(p)) => {
            Matched(Agreed::payment(p))
        }
        (Succeeded, Paycore::Open(p)) => Differs(MissingAtPaycore, Some(query_payment(p))),
        (Succeeded, Paycore::NotPaid(_)) => Differs(MissingAtPaycore, None),
        (Processing, Paycore::Open(p)) => InFlight(Agreed::payment(p), query_payment(p)),
        (
            Processing,
            Paycore::Succeeded(p)
            | Paycore::CancelledPaid(p)
            | Paycore::CancelledUnpaid(p)
            | Paycore::NotPaid(p),
        ) => Differs(StatusDiffers, Some(query_payment(p))),
        // The reversal failed and the money stayed: paycore agrees if it
        // has the payment paid (or never paid).
        (Failed, Paycore::Succeeded(p) | Paycore::NotPaid(p)) => Matched(Agreed::payment(p)),
        (Failed, Paycore::CancelledPaid(_) | Paycore::CancelledUnpaid(_)) => {
            Differs(StatusDiffers, None)
        }
        (Failed, Paycore::Open(p)) => Differs(StatusDiffers, Some(query_payment(p))),
    }
}

/// The refund line table.
fn judge_refund_line<'a>(
    status: LineStatus,
    payment: Option<&'a OurPayment>,
    refund: Option<&'a OurRefund>,
) -> Judgement<'a> {
    use DifferenceKind::{MissingAtPaycore, StatusDiffers};
    use Judgement::{Differs, InFlight, Matched};
    use LineStatus::{Failed, Processing, Succeeded};
    let Some(refund) = refund else {
        // paycore never made this refund: the channel refunded a payment
        // paycore knows (at the channel only), or one it does not know was
        // paid.
        return match PaymentState::of(payment) {
            PaymentState::Succeeded(_)
            | PaymentState::CancelledPaid(_)
            | PaymentState::CancelledUnpaid(_) => Differs(StatusDiffers, None),
            PaymentState::Open(p) => Differs(MissingAtPaycore, Some(query_payment(p))),
            PaymentState::NotPaid(_) | PaymentState::Absent => Differs(MissingAtPaycore, None),
        };
    };
    use RefundStatus as Paycore;
    match (status, refund.status) {
        (Succeeded, Paycore::Succeeded) | (Failed, Paycore::Failed) => {
            Matched(Agreed::refund(refund))
        }
        (Processing, Paycore::Pending | Paycore::Processing) => {
            InFlight(Agreed::refund(refund), query_refund(refund))
        }
        // One side still moving: a query of the refund settles it.
        (Processing, Paycore::Succeeded | Paycore::Failed)
        | (Succeeded | Failed, Paycore::Pending | Paycore::Processing) => {
            Differs(StatusDiffers, Some(query_refund(refund)))
        }
        // Final one way at paycore and the other at the channel.
        (Succeeded, Paycore::Failed) | (Failed, Paycore::Succeeded) => Differs(StatusDiffers, None),
    }
}

fn difference(
    kind: DifferenceKind,
    key: LineKey,
    line: Option<&StatementLine>,
    payment: Option<&OurPayment>,
    refund: Option<&OurRefund>,
    recheck: Option<Recheck>,
) -> Difference {
    let payment_id = payment
        .map(|p| p.payment_id.clone())
        .or_else(|| refund.map(|r| r.payment_id.clone()));
    Difference {
        kind,
        key,
        line: line.cloned(),
        payment: payment.cloned(),
        refund: refund.cloned(),
        payment_id,
        refund_id: refund.map(|r| r.refund_id.clone()),
        recheck,
    }
}
