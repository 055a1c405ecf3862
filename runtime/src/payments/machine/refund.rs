//! A refund's states: created `pending` against a paid payment, then moved
//! by what the channel says, once.

use super::details::{self, detail};
use super::{Cause, Verdict};
use crate::domain::{EventKind, PaymentStatus, RefundStatus};
use crate::store::{Event, RefundChange, RefundRecord};
use serde_json::Value;

/// Only a paid payment can be refunded (the store's reservation checks it
/// in the statement that reserves).
pub const REFUNDABLE: PaymentStatus = PaymentStatus::Succeeded;

/// Whether a refund may move from `from` to `to`.
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

/// A new refund's first status and its `refund.created` event.
pub fn refund_created(payment_id: &str, amount: i64) -> (RefundStatus, Event) {
    let status = RefundStatus::Pending;
    let event = Event {
        kind: EventKind::RefundCreated,
        from_status: None,
        to_status: Some(status.as_str()),
        detail: detail(&details::RefundCreated { payment_id, amount }),
    };
    (status, event)
}

/// A channel's word on a refund.
#[derive(Debug, Clone, PartialEq)]
pub struct RefundAnswer {
    pub status: RefundStatus,
    pub channel_refund_no: Option<String>,
    /// The API's failure object.
    pub failure: Option<Value>,
}

/// What applying a refund answer comes to.
#[derive(Debug, Clone, PartialEq)]
pub enum RefundDecision {
    /// Write `change` if the refund is still as read (the store moves the
    /// payment's refund totals with it), with `event`; announce `webhook`.
    Write {
        change: RefundChange,
        event: Event,
        webhook: Option<EventKind>,
    },
    /// Change nothing; record `event`, if any.
    Record(Option<Event>),
}

/// Applies a channel's answer to a refund as read.
pub fn apply_refund(current: &RefundRecord, answer: &RefundAnswer, cause: Cause) -> RefundDecision {
    let from = current.status;
    let verdict = refund(from, answer.status);
    if verdict == Verdict::Refuse {
        return RefundDecision::Record(Some(Event {
            kind: EventKind::RefundTransitionRefused,
            from_status: Some(from.as_str()),
            to_status: Some(answer.status.as_str()),
            detail: detail(&details::Caused { cause }),
        }));
    }
    let moves = verdict == Verdict::Move;
    let news = answer
        .channel_refund_no
        .as_ref()
        .is_some_and(|no| current.channel_refund_no.as_ref() != Some(no));
    if !moves && !news {
        return RefundDecision::Record(None);
    }
    let to = if moves { answer.status } else { from };
    RefundDecision::Write {
        change: RefundChange {
            status: moves.then_some(to),
            channel_refund_no: answer.channel_refund_no.clone(),
            failure: if moves { answer.failure.clone() } else { None },
        },
        event: Event {
            kind: if moves {
                EventKind::RefundStatusChanged
            } else {
                EventKind::RefundUpdated
            },
            from_status: Some(from.as_str()),
            to_status: Some(to.as_str()),
            detail: detail(&details::Caused { cause }),
        },
        webhook: if moves { refund_webhook(to) } else { None },
    }
}

/// Refund statuses a merchant hears about by webhook.
pub fn refund_webhook(to: RefundStatus) -> Option<EventKind> {
    match to {
        RefundStatus::Succeeded => Some(EventKind::RefundSucceeded),
        RefundStatus::Failed => Some(EventKind::RefundFailed),
        _ => None,
    }
}
