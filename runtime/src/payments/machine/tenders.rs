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
