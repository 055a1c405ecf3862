//! The legal moves of a payment and a refund. Pure: the service asks here
//! before it writes, and refuses (and records) anything else, so neither a
//! buggy plugin nor a late callback can corrupt money state.

use crate::domain::EventKind;
use crate::domain::{PaymentStatus, RefundStatus, Scene};

/// What to do with a proposed status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Apply it.
    Move,
    /// Already there: nothing to write, no event, no webhook.
    Same,
    /// Not a legal move: record it and change nothing.
    Refuse,
}

pub fn payment(from: PaymentStatus, to: PaymentStatus) -> Verdict {
    use PaymentStatus::*;
    if from == to {
        return Verdict::Same;
    }
    match (from, to) {
        // Nothing is known yet: any answer from the channel settles it.
        (Unknown, _) => Verdict::Move,
        // Once a channel has answered we never fall back to "unknown".
        (_, Unknown) => Verdict::Refuse,
        (Pending, Processing | Succeeded | Failed | Closed | Cancelled) => Verdict::Move,
        (Processing, Pending | Succeeded | Failed | Closed | Cancelled) => Verdict::Move,
        // A reversal (cancel) of a paid barcode payment refunds it in full.
        (Succeeded, Cancelled) => Verdict::Move,
        // Failed, closed and cancelled are final; a "paid" after "closed"
        // needs a person, not an automatic flip.
        _ => Verdict::Refuse,
    }
}

pub fn refund(from: RefundStatus, to: RefundStatus) -> Verdict {
    use RefundStatus::*;
    if from == to {
        return Verdict::Same;
    }
    match (from, to) {
        (Pending, _) => Verdict::Move,
        (Processing, Succeeded | Failed) => Verdict::Move,
        _ => Verdict::Refuse,
    }
}

/// Whether a channel that positively says it has no such order proves that
/// no money moved, so an open payment may become `failed`
/// (`order_not_found`). Only once the payer can no longer pay it: until
/// then the pay request may still be on its way, and the payment stays as it
/// is and is asked about again.
///
/// - A barcode or face payment: once a cancel (reversal) was sent for it,
///   whatever its answer. A real channel burns the order number on a cancel,
///   so no delayed pay request can charge the payer's code afterwards; the
///   sweeper sends one at the barcode deadline.
/// - Every other scene: once its `expires_in` (or the pending expiry) has
///   passed: the payer's QR code or page no longer takes money.
pub fn absent_order_is_final(scene: Scene, cancel_sent: bool, past_expiry: bool) -> bool {
    if scene.takes_auth_code() {
        cancel_sent
    } else {
        past_expiry
    }
}

/// Statuses a merchant hears about by webhook.
pub fn payment_webhook(to: PaymentStatus) -> Option<EventKind> {
    match to {
        PaymentStatus::Succeeded => Some(EventKind::PaymentSucceeded),
        PaymentStatus::Failed => Some(EventKind::PaymentFailed),
        PaymentStatus::Closed => Some(EventKind::PaymentClosed),
        PaymentStatus::Cancelled => Some(EventKind::PaymentCancelled),
        _ => None,
    }
}

pub fn refund_webhook(to: RefundStatus) -> Option<EventKind> {
    match to {
        RefundStatus::Succeeded => Some(EventKind::RefundSucceeded),
        RefundStatus::Failed => Some(EventKind::RefundFailed),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PaymentStatus::*;

    #[test]
    fn final_states_stay_final() {
        for to in PaymentStatus::ALL {
            for from in [Failed, Closed] {
                let expected = if from == *to {
                    Verdict::Same
                } else {
                    Verdict::Refuse
                };
                assert_eq!(payment(from, *to), expected, "{from} -> {to}");
            }
        }
        assert_eq!(payment(Succeeded, Pending), Verdict::Refuse);
        assert_eq!(payment(Cancelled, Succeeded), Verdict::Refuse);
        assert_eq!(payment(Succeeded, Cancelled), Verdict::Move);
    }

    #[test]
    fn unknown_settles_into_anything_but_is_never_reentered() {
        for to in PaymentStatus::ALL.iter().filter(|s| **s != Unknown) {
            assert_eq!(payment(Unknown, *to), Verdict::Move);
            assert_eq!(payment(*to, Unknown), Verdict::Refuse);
        }
    }

    #[test]
    fn an_absent_order_is_final_only_after_the_payers_window() {
        for scene in [Scene::Barcode, Scene::Face] {
            assert!(
                !absent_order_is_final(scene, false, true),
                "{scene}: no cancel sent yet"
            );
            assert!(absent_order_is_final(scene, true, false), "{scene}");
        }
        for scene in [Scene::Qrcode, Scene::Jsapi, Scene::H5] {
            assert!(
                !absent_order_is_final(scene, true, false),
                "{scene}: not expired yet"
            );
            assert!(absent_order_is_final(scene, false, true), "{scene}");
        }
    }

    #[test]
    fn refunds_settle_once() {
        assert_eq!(
            refund(RefundStatus::Pending, RefundStatus::Succeeded),
            Verdict::Move
        );
        assert_eq!(
            refund(RefundStatus::Succeeded, RefundStatus::Failed),
            Verdict::Refuse
        );
        assert_eq!(
            refund(RefundStatus::Failed, RefundStatus::Succeeded),
            Verdict::Refuse
        );
        assert_eq!(
            refund(RefundStatus::Processing, RefundStatus::Processing),
            Verdict::Same
        );
    }
}
