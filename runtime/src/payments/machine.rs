//! The state machine of payments and refunds, in one place. Pure: every
//! change paycore makes to a payment's or a refund's state is decided here
//! from the row as read and a command — a new payment's first status, the
//! wallet a payer chose on the hosted page, a switch to the route's next
//! channel, what a channel answered, a cancel, a refund — and comes back as
//! a decision: the change, its event and the webhook it announces. The store
//! writes a decision in one conditional statement (the row's version as
//! read), so neither a buggy plugin, nor a late callback, nor a concurrent
//! writer can corrupt money state; the service retries on a stale read
//! (`payments::retry_on_stale`).
//!
//! Combined tenders and the ledger's holds add their states here too.

mod details;
mod refund;
pub mod tenders;
#[cfg(test)]
mod tests;

pub use refund::{REFUNDABLE, RefundAnswer, RefundDecision, apply_refund, refund_created};

use crate::domain::{EventKind, PaymentStatus, Scene};
use crate::store::{ChannelAssignment, Event, Move, PaymentChange, PaymentRecord, WalletChoice};
use details::detail;
use serde_json::Value;

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

/// Whether a payment may move from `from` to `to` on a channel's word.
pub fn payment(from: PaymentStatus, to: PaymentStatus) -> Verdict {
    use PaymentStatus::*;
    if from == to {
        return Verdict::Same;
    }
    match (from, to) {
        // Nothing is known yet: any answer from the channel settles it.
        (Unknown, _) => Verdict::Move,
        // Once a channel has answered we never fall back to "unknown"
        // (a wallet chosen on the hosted page is paycore's move, not a
        // channel's answer: `assign_channel`).
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

/// What produced a proposal or a command; named in the event history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    Pay,
    Query,
    Callback,
    Close,
    Cancel,
    Refund,
    QueryRefund,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Pay => "pay",
            Cause::Query => "query",
            Cause::Callback => "callback",
            Cause::Close => "close",
            Cause::Cancel => "cancel",
            Cause::Refund => "refund",
            Cause::QueryRefund => "query-refund",
        }
    }
}

/// What a channel's call says about a payment, as the state machine hears it.
#[derive(Debug, Clone, PartialEq)]
pub enum Proposal {
    /// The channel says where the payment stands.
    Answer(Answer),
    /// The host does not believe the channel's answer (another amount or
    /// currency than the payment's): nothing moves and a person should look.
    Disbelieved { reason: String },
    /// The call's outcome was lost: nothing is known, and `note` says why.
    Unknown { note: String },
}

/// A channel's word on a payment.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: PaymentStatus,
    pub channel_order_no: Option<String>,
    /// The API's action object (`view::ActionView`), if the payer must act.
    pub action: Option<Value>,
    /// The API's failure object (`view::FailureView`).
    pub failure: Option<Value>,
}

impl Answer {
    /// paycore's own verdict on a payment, with no word from a channel.
    pub fn status(status: PaymentStatus, failure: Option<Value>) -> Self {
        Answer {
            status,
            channel_order_no: None,
            action: None,
            failure,
        }
    }
}

/// What applying a proposal comes to.
#[derive(Debug, Clone, PartialEq)]
// Made and consumed at once on one stack: boxing the change gains nothing.
#[allow(clippy::large_enum_variant)]
pub enum Decision {
    /// Write `change` if the row is still as read, with `event`; announce
    /// `webhook` to the merchant if they want webhooks.
    Write {
        change: PaymentChange,
        event: Event,
        webhook: Option<EventKind>,
    },
    /// Change no state; record `event`, if any (a refused move, a note on
    /// why nothing is known).
    Record(Option<Event>),
}

/// Applies what a channel said (or paycore decided) to a payment as read.
pub fn apply(current: &PaymentRecord, proposal: &Proposal, cause: Cause) -> Decision {
    let from = current.status;
    let answer = match proposal {
        Proposal::Disbelieved { reason } => return review(from, cause, reason),
        Proposal::Unknown { note } => {
            return Decision::Record(Some(Event {
                kind: EventKind::PaymentOutcomeUnknown,
                from_status: Some(from.as_str()),
                to_status: None,
                detail: detail(&details::Note { cause, note }),
            }));
        }
        Proposal::Answer(answer) => answer,
    };
    if let Some(reason) = reversal_after_refund(current, answer.status) {
        return review(from, cause, &reason);
    }
    let verdict = payment(from, answer.status);
    if verdict == Verdict::Refuse {
        return Decision::Record(Some(Event {
            kind: EventKind::PaymentTransitionRefused,
            from_status: Some(from.as_str()),
            to_status: Some(answer.status.as_str()),
            detail: detail(&details::Caused { cause }),
        }));
    }
    let moves = verdict == Verdict::Move;
    let news = answer.channel_order_no.is_some()
        && answer.channel_order_no != current.channel_order_no
        || answer.action.is_some() && current.action.is_none();
    if !moves && !news {
        return Decision::Record(None);
    }
    let to = if moves { answer.status } else { from };
    Decision::Write {
        change: PaymentChange {
            status: moves.then_some(to),
            channel_order_no: answer.channel_order_no.clone(),
            action: answer.action.clone(),
            failure: moves.then(|| answer.failure.clone()),
            review_reason: None,
            attempt: None,
        },
        event: Event {
            kind: if moves {
                EventKind::PaymentStatusChanged
            } else {
                EventKind::PaymentUpdated
            },
            from_status: Some(from.as_str()),
            to_status: Some(to.as_str()),
            detail: detail(&details::Updated {
                cause,
                channel_order_no: answer.channel_order_no.as_deref(),
            }),
        },
        webhook: if moves { payment_webhook(to) } else { None },
    }
}

/// The host refused a channel's answer: the payment keeps its state and
/// carries the reason for a person.
fn review(from: PaymentStatus, cause: Cause, reason: &str) -> Decision {
    Decision::Write {
        change: PaymentChange {
            review_reason: Some(reason.to_string()),
            ..PaymentChange::default()
        },
        event: Event {
            kind: EventKind::PaymentAnswerRefused,
            from_status: Some(from.as_str()),
            to_status: None,
            detail: detail(&details::Refused { cause, reason }),
        },
        webhook: None,
    }
}

/// A reversal refunds the payment in full, so it cannot also have refunds:
/// cancels and refunds exclude each other (`store::cancels`), and an answer
/// that says otherwise is not applied but shown to a person.
fn reversal_after_refund(current: &PaymentRecord, to: PaymentStatus) -> Option<String> {
    (to == PaymentStatus::Cancelled && current.refund_reserved > 0).then(|| {
        format!(
            "channel reported the payment reversed while refunds of {} are reserved; answer refused",
            current.refunds_reserved()
        )
    })
}

/// A new payment's first status and its `payment.created` event: `unknown`
/// on its route's first channel, stored before the channel is called so a
/// crash mid-call leaves a row the sweeper settles; or, for the hosted page
/// (`channel` none), `pending` until the payer chooses a wallet.
pub fn create(channel: Option<&ChannelAssignment>) -> (PaymentStatus, Event) {
    let (status, detail) = match channel {
        Some(c) => (
            PaymentStatus::Unknown,
            detail(&details::Created {
                channel: &c.channel_id,
                plugin: &c.plugin_label(),
            }),
        ),
        None => (
            PaymentStatus::Pending,
            detail(&details::CreatedForCheckout { checkout: true }),
        ),
    };
    let event = Event {
        kind: EventKind::PaymentCreated,
        from_status: None,
        to_status: Some(status.as_str()),
        detail,
    };
    (status, event)
}

/// A combined order's first status and `payment.created` event: `unknown`
/// until its tenders are held and its external tender (on `channel`, if it
/// has one) answers.
pub fn create_order(channel: Option<&ChannelAssignment>, tenders: usize) -> (PaymentStatus, Event) {
    let status = PaymentStatus::Unknown;
    let detail = detail(&details::CreatedOrder {
        channel: channel.map(|c| c.channel_id.as_str()),
        plugin: channel.map(|c| c.plugin_label()),
        tenders,
    });
    let event = Event {
        kind: EventKind::PaymentCreated,
        from_status: None,
        to_status: Some(status.as_str()),
        detail,
    };
    (status, event)
}

/// The payer chose a wallet on the hosted page: a `pending` payment with no
/// channel yet goes to the chosen one as `unknown`, since the channel is
/// asked next and may take the money. None once a channel was chosen or
/// the payment left `pending`.
pub fn assign_channel(current: &PaymentRecord, choice: &WalletChoice) -> Option<Move> {
    if !current.awaiting_wallet() || current.status != PaymentStatus::Pending {
        return None;
    }
    let to = PaymentStatus::Unknown;
    Some(Move {
        from: current.status,
        to,
        event: Event {
            kind: EventKind::PaymentWalletChosen,
            from_status: Some(current.status.as_str()),
            to_status: Some(to.as_str()),
            detail: detail(&details::WalletChosen {
                wallet: &choice.channel.wallet,
                scene: choice.scene,
                channel: &choice.channel.channel_id,
                plugin: &choice.channel.plugin_label(),
            }),
        },
    })
}

/// The payer applied coupons or cards on the hosted page: a `pending`
/// payment awaiting a wallet becomes a combined order of `tenders` tenders,
/// `unknown` since they are held next and `wallet` (if any) is asked for
/// the rest, `channel_amount`. None once a channel was chosen or the
/// payment left `pending`: two tabs cannot both turn it.
pub fn choose_tenders(
    current: &PaymentRecord,
    wallet: Option<&WalletChoice>,
    tenders: usize,
    channel_amount: i64,
) -> Option<Move> {
    if !current.awaiting_wallet() || current.status != PaymentStatus::Pending {
        return None;
    }
    let to = PaymentStatus::Unknown;
    let plugin = wallet.map(|w| w.channel.plugin_label());
    Some(Move {
        from: current.status,
        to,
        event: Event {
            kind: EventKind::PaymentTendersChosen,
            from_status: Some(current.status.as_str()),
            to_status: Some(to.as_str()),
            detail: detail(&details::TendersChosen {
                tenders,
                channel_amount,
                wallet: wallet
                    .zip(plugin.as_deref())
                    .map(|(w, plugin)| details::WalletChosen {
                        wallet: &w.channel.wallet,
                        scene: w.scene,
                        channel: &w.channel.channel_id,
                        plugin,
                    }),
            }),
        },
    })
}

/// The route's next channel takes over a payment the previous one certainly
/// took no money for. Only while it is `unknown`: once anything settled it
/// (a query, a callback) it must not be sent again.
pub fn switch_channel(current: &PaymentRecord, to: &ChannelAssignment) -> Option<Move> {
    if current.status != PaymentStatus::Unknown {
        return None;
    }
    Some(Move {
        from: current.status,
        to: current.status,
        event: Event {
            kind: EventKind::PaymentChannelSwitched,
            from_status: Some(current.status.as_str()),
            to_status: None,
            detail: detail(&details::Switched {
                from: &current.channel_id,
                to: &to.channel_id,
                plugin: &to.plugin_label(),
            }),
        },
    })
}

/// The statuses a cancel (reversal) may start from: open, or paid (then
/// the channel refunds it in full).
pub const CANCELLABLE: [PaymentStatus; 4] = [
    PaymentStatus::Pending,
    PaymentStatus::Processing,
    PaymentStatus::Unknown,
    PaymentStatus::Succeeded,
];

/// A cancel of a barcode or face payment may start: the payment is marked
/// (no refund may start while the mark stands) before the channel hears of
/// it. `Err` names why it may not.
pub fn start_cancel(current: &PaymentRecord) -> Result<Event, CancelRefused> {
    if !current.scene.takes_auth_code() {
        return Err(CancelRefused::Scene(current.scene));
    }
    if current.refund_reserved > 0 {
        return Err(CancelRefused::RefundsReserved);
    }
    if !CANCELLABLE.contains(&current.status) {
        return Err(CancelRefused::Status(current.status));
    }
    Ok(Event {
        kind: EventKind::PaymentCancelStarted,
        from_status: Some(current.status.as_str()),
        to_status: None,
        detail: detail(&details::Empty {}),
    })
}

/// Why a cancel may not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelRefused {
    /// Only barcode and face payments are reversed; others are closed.
    Scene(Scene),
    /// A refund holds part of the payment.
    RefundsReserved,
    /// Failed, closed or cancelled already.
    Status(PaymentStatus),
}

/// The event of a cancel that certainly did not reverse the payment: its
/// mark is cleared, so refunds are possible again.
pub fn cancel_ended(current: &PaymentRecord, reason: &str) -> Event {
    Event {
        kind: EventKind::PaymentCancelEnded,
        from_status: Some(current.status.as_str()),
        to_status: None,
        detail: detail(&details::CancelEnded {
            reversed: false,
            reason,
        }),
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
