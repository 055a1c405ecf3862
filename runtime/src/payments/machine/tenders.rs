//! A combined order's status, derived from its tenders' states, and what
//! its holds become once it is final. Pure: the create, the sweeper and
//! the view all decide by these two functions.
//!
//! The order is paid in this order: every coupon and card tender is held
//! (reserved on its card), then the external tender, if any, is paid; the
//! holds are captured only when the order succeeded, and released when it
//! did not. So:
//!
//! | closed-loop tenders (coupon, card) | external tender | order |
//! |---|---|---|
//! | any `refused` | (never sent) | `failed` |
//! | any `pending` (still being held) | (not sent yet) | `unknown` |
//! | all `held` or `captured` | `unknown` / `pending` / `processing` | the same |
//! | all `held` or `captured` | `succeeded` | `succeeded` |
//! | all `held` or `captured` | `failed` / `closed` / `cancelled` | the same |
//! | all `held` or `captured` | none | `succeeded` |
//! | any `released`, none `refused` | none | `failed` |
//!
//! With an external tender its answer decides, as for any payment (the
//! state machine's `payment` rules); its closed-loop tenders were all held
//! before it was sent. Holds follow the order once it is final
//! ([`hold_fate`]): captured if it succeeded, released otherwise; while it
//! is open they stay held, whatever the wait.

use crate::domain::PaymentStatus;

/// Where one coupon or card tender stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosedLoop {
    /// Not held yet.
    Pending,
    /// Its programme's plugin refused to hold it (insufficient balance,
    /// a coupon's terms not met, …).
    Refused,
    Held,
    Captured,
    Released,
}

/// The order's status from its tenders: `external` is the external
/// tender's status as its channel answered (`None`: the order has none, or
/// it was never sent).
pub fn order_status(closed: &[ClosedLoop], external: Option<PaymentStatus>) -> PaymentStatus {
    use ClosedLoop::*;
    if closed.contains(&Refused) {
        return PaymentStatus::Failed;
    }
    if closed.contains(&Pending) {
        return PaymentStatus::Unknown;
    }
    if let Some(external) = external {
        return external;
    }
    if closed.contains(&Released) {
        PaymentStatus::Failed
    } else {
        PaymentStatus::Succeeded
    }
}

/// What the order's held value becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldFate {
    /// Spent: the order succeeded.
    Capture,
    /// Back on the cards: it failed, was closed or cancelled.
    Release,
    /// Kept: the order is still open.
    Keep,
}

pub fn hold_fate(order: PaymentStatus) -> HoldFate {
    match order {
        PaymentStatus::Succeeded => HoldFate::Capture,
        s if s.is_final() => HoldFate::Release,
        _ => HoldFate::Keep,
    }
}

/// A tender as a refund sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundTender {
    /// A coupon's discount: never turned into money, given back whole and
    /// only with the rest of the order.
    Coupon {
        taken: i64,
    },
    Card {
        taken: i64,
    },
    External {
        taken: i64,
    },
}

impl RefundTender {
    fn taken(self) -> i64 {
        match self {
            RefundTender::Coupon { taken }
            | RefundTender::Card { taken }
            | RefundTender::External { taken } => taken,
        }
    }
}

pub use crate::config::RefundsFirst;

/// Why a refund cannot be allocated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllocationRefusal {
    /// More than the order's money can give back without its coupons, and
    /// less than everything that remains (which gives the coupons back).
    CouponsOnlyWhole { money_left: i64, whole: i64 },
    /// More than remains at all.
    ExceedsRemaining { whole: i64 },
}

/// How much of a combined order's refund of `amount` each tender gives
/// back, by position: `refunded` is what each already gave back (refunds
/// not failed). Exact to the minor unit and never above what a tender
/// took: a refund of everything that remains gives every tender back what
/// it has left, its coupons included; any other refund takes money only —
/// cards and the wallet payment, in `first`'s order.
pub fn allocate_refund(
    tenders: &[RefundTender],
    refunded: &[i64],
    amount: i64,
    first: RefundsFirst,
) -> Result<Vec<i64>, AllocationRefusal> {
    let left: Vec<i64> = tenders
        .iter()
        .enumerate()
        .map(|(i, t)| (t.taken() - refunded.get(i).copied().unwrap_or(0)).max(0))
        .collect();
    let whole: i64 = left.iter().sum();
    let money_left: i64 = tenders
        .iter()
        .zip(&left)
        .filter(|(t, _)| !matches!(t, RefundTender::Coupon { .. }))
        .map(|(_, l)| l)
        .sum();
    if amount == whole {
        return Ok(left);
    }
    if amount > whole {
        return Err(AllocationRefusal::ExceedsRemaining { whole });
    }
    if amount > money_left {
        return Err(AllocationRefusal::CouponsOnlyWhole { money_left, whole });
    }
    let is_external = |t: &RefundTender| matches!(t, RefundTender::External { .. });
    let mut order: Vec<usize> = (0..tenders.len())
        .filter(|&i| !matches!(tenders[i], RefundTender::Coupon { .. }))
        .collect();
    // Stable: within each group, the order's own order.
    order.sort_by_key(|&i| match first {
        RefundsFirst::External => !is_external(&tenders[i]),
        RefundsFirst::Card => is_external(&tenders[i]),
    });
    let mut parts = vec![0; tenders.len()];
    let mut rest = amount;
    for i in order {
        let part = rest.min(left[i]);
        parts[i] = part;
        rest -= part;
    }
    debug_assert_eq!(rest, 0, "money_left covers the amount");
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::ClosedLoop::*;
    use super::*;
    use PaymentStatus as S;

    /// The module's table, row by row, and then every combination of two
    /// closed-loop tenders with every external status: the order never
    /// succeeds unless every tender did or can, and never fails while a
    /// tender could still succeed.
    #[test]
    fn the_documented_table() {
        let rows: &[(&[ClosedLoop], Option<S>, S)] = &[
            (&[Refused, Held], None, S::Failed),
            (&[Held, Refused], Some(S::Succeeded), S::Failed),
            (&[Held, Pending], None, S::Unknown),
            (&[Held, Held], Some(S::Unknown), S::Unknown),
            (&[Held], Some(S::Pending), S::Pending),
            (&[Captured], Some(S::Processing), S::Processing),
            (&[Held, Held], Some(S::Succeeded), S::Succeeded),
            (&[Held], Some(S::Failed), S::Failed),
            (&[Held], Some(S::Closed), S::Closed),
            (&[Held], Some(S::Cancelled), S::Cancelled),
            (&[Held, Captured], None, S::Succeeded),
            (&[Released, Held], None, S::Failed),
            (&[], Some(S::Succeeded), S::Succeeded),
        ];
        for (closed, external, expected) in rows {
            assert_eq!(
                order_status(closed, *external),
                *expected,
                "{closed:?} {external:?}"
            );
        }
    }

    #[test]
    fn every_combination_follows_the_rules() {
        let states = [Pending, Refused, Held, Captured, Released];
        let mut externals: Vec<Option<S>> = S::ALL.iter().copied().map(Some).collect();
        externals.push(None);
        for a in states {
            for b in states {
                for external in &externals {
                    let status = order_status(&[a, b], *external);
                    let any = |s| a == s || b == s;
                    if status == S::Succeeded {
                        assert!(!any(Refused) && !any(Pending), "{a:?} {b:?} {external:?}");
                        assert!(
                            matches!(external, Some(S::Succeeded) | None),
                            "{a:?} {b:?} {external:?}"
                        );
                    }
                    if any(Refused) {
                        assert_eq!(status, S::Failed);
                    }
                    if any(Pending) && !any(Refused) {
                        assert_eq!(status, S::Unknown, "still holding: nothing is decided");
                    }
                }
            }
        }
    }

    /// The order of the docs: a ¥5 coupon, ¥20 from a card, ¥13.50 by wallet.
    fn lunch() -> [RefundTender; 3] {
        [
            RefundTender::Coupon { taken: 500 },
            RefundTender::Card { taken: 2_000 },
            RefundTender::External { taken: 1_350 },
        ]
    }

    #[test]
    fn refunds_allocate_as_documented() {
        use RefundsFirst::*;
        type Row<'a> = (
            &'a [i64],
            i64,
            RefundsFirst,
            Result<Vec<i64>, AllocationRefusal>,
        );
        let rows: &[Row] = &[
            // Partial, wallet first: the wallet, then the card.
            (&[0, 0, 0], 1_000, External, Ok(vec![0, 0, 1_000])),
            (&[0, 0, 0], 2_000, External, Ok(vec![0, 650, 1_350])),
            // Partial, cards first.
            (&[0, 0, 0], 2_000, Card, Ok(vec![0, 2_000, 0])),
            (&[0, 0, 0], 2_100, Card, Ok(vec![0, 2_000, 100])),
            // All the money back but not the coupon: fine, the coupon stays used.
            (&[0, 0, 0], 3_350, External, Ok(vec![0, 2_000, 1_350])),
            // Everything: the coupon comes back too.
            (&[0, 0, 0], 3_850, External, Ok(vec![500, 2_000, 1_350])),
            // What is left after an earlier refund of 1,000 by wallet.
            (&[0, 0, 1_000], 2_850, External, Ok(vec![500, 2_000, 350])),
            (&[0, 0, 1_000], 400, External, Ok(vec![0, 50, 350])),
            // Between the money and the whole: the coupon is never cash.
            (
                &[0, 0, 0],
                3_500,
                External,
                Err(AllocationRefusal::CouponsOnlyWhole {
                    money_left: 3_350,
                    whole: 3_850,
                }),
            ),
            (
                &[0, 0, 0],
                3_851,
                External,
                Err(AllocationRefusal::ExceedsRemaining { whole: 3_850 }),
            ),
            (
                &[500, 2_000, 1_350],
                1,
                Card,
                Err(AllocationRefusal::ExceedsRemaining { whole: 0 }),
            ),
        ];
        for (refunded, amount, first, expected) in rows {
            let got = allocate_refund(&lunch(), refunded, *amount, *first);
            assert_eq!(&got, expected, "{refunded:?} {amount} {first:?}");
            if let Ok(parts) = got {
                assert_eq!(
                    parts.iter().sum::<i64>(),
                    *amount,
                    "exact to the minor unit"
                );
                for ((part, t), done) in parts.iter().zip(lunch()).zip(*refunded) {
                    assert!(part + done <= t.taken(), "never above what a tender took");
                }
            }
        }
    }

    #[test]
    fn holds_are_spent_only_by_a_succeeded_order_and_kept_while_it_is_open() {
        assert_eq!(hold_fate(S::Succeeded), HoldFate::Capture);
        for ended in [S::Failed, S::Closed, S::Cancelled] {
            assert_eq!(hold_fate(ended), HoldFate::Release, "{ended}");
        }
        for open in [S::Unknown, S::Pending, S::Processing] {
            assert_eq!(hold_fate(open), HoldFate::Keep, "{open}");
        }
        assert_eq!(S::ALL.len(), 7, "a new status needs its row here");
    }
}
