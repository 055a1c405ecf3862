//! Applying what a channel said to a stored payment: the host's checks on a
//! plugin's answer, the transition check, and the write with its event and
//! webhook, retried when the row changed underneath.

use super::convert;
use super::transitions::{self, Verdict};
use super::view::{PaymentView, WebhookBody};
use super::{Payments, Result};
use crate::domain::EventKind;
use crate::domain::{PaymentStatus, new_id, now_rfc3339};
use crate::registry::Tenant;
use crate::store::{Attempt, Event, OutboxMessage, PaymentChange, PaymentRecord, StoreError};
use paycore_core::channel;
use serde_json::{Value, json};

/// A change to propose to the state machine.
#[derive(Debug, Clone, Default)]
pub struct Proposal {
    pub status: Option<PaymentStatus>,
    pub channel_order_no: Option<String>,
    pub action: Option<Value>,
    pub failure: Option<Value>,
    /// The host refused the channel's answer; a person should look.
    pub review_reason: Option<String>,
    /// Why nothing is known (kept in the event history).
    pub note: Option<String>,
}

/// Checks a plugin's payment answer against the payment before believing it:
/// a channel that reports another amount or currency is not trusted.
pub fn from_payment_result(p: &PaymentRecord, r: &channel::PaymentResult) -> Proposal {
    let wrong_amount = r.amount.is_some_and(|a| a != p.amount);
    let wrong_currency = r.currency.as_ref().is_some_and(|c| *c != p.currency);
    if wrong_amount || wrong_currency {
        let reason = format!(
            "channel reported {} {} for a payment of {} {}; answer refused",
            r.amount.map_or("?".to_string(), |a| a.to_string()),
            r.currency.as_deref().unwrap_or(&p.currency),
            p.amount,
            p.currency
        );
        return Proposal {
            review_reason: Some(reason),
            ..Proposal::default()
        };
    }
    Proposal {
        status: Some(r.status),
        channel_order_no: r.channel_order_no.clone(),
        action: r.action.as_ref().map(convert::action),
        failure: r.failure.as_ref().map(convert::failure),
        ..Proposal::default()
    }
}

/// A reversal refunds the payment in full, so it cannot also have refunds:
/// cancels and refunds exclude each other (`store::cancels`), and an answer
/// that says otherwise is not applied but shown to a person.
fn reversal_after_refund(current: &PaymentRecord, proposal: &Proposal) -> Option<String> {
    (proposal.status == Some(PaymentStatus::Cancelled) && current.refund_reserved > 0).then(|| {
        format!(
            "channel reported the payment reversed while refunds of {} {} are reserved; answer refused",
            current.refund_reserved, current.currency
        )
    })
}

const MAX_ATTEMPTS: usize = 5;

impl Payments {
    /// Applies `proposal` to the payment through the state machine.
    /// `cause` names what produced it ("pay", "query", "callback", ...);
    /// `attempt`, the channel call that brought it, is recorded in the same
    /// transaction as whatever the proposal comes to.
    pub(super) async fn settle(
        &self,
        tenant: &Tenant,
        mut current: PaymentRecord,
        proposal: Proposal,
        cause: &str,
        attempt: Option<Attempt>,
    ) -> Result<PaymentRecord> {
        for _ in 0..MAX_ATTEMPTS {
            let from = current.status;
            let verdict = proposal.status.map(|to| transitions::payment(from, to));
            let review = proposal
                .review_reason
                .clone()
                .or_else(|| reversal_after_refund(&current, &proposal));
            if let Some(reason) = &review {
                let event = Event {
                    kind: EventKind::PaymentAnswerRefused,
                    from_status: Some(from.as_str()),
                    to_status: None,
                    detail: json!({ "cause": cause, "reason": reason }),
                };
                let change = PaymentChange {
                    review_reason: Some(reason.clone()),
                    attempt: attempt.clone(),
                    ..PaymentChange::default()
                };
                tracing::warn!(payment_id = %current.id, cause, reason = %reason, "refused a channel answer");
                match self
                    .store
                    .apply_payment_change(&current, &change, &event, None)
                    .await
                {
                    Err(StoreError::Stale) => {}
                    other => return Ok(other?),
                }
            } else if verdict == Some(Verdict::Refuse) {
                let to = proposal.status.expect("a verdict needs a status");
                let event = Event {
                    kind: EventKind::PaymentTransitionRefused,
                    from_status: Some(from.as_str()),
                    to_status: Some(to.as_str()),
                    detail: json!({ "cause": cause }),
                };
                tracing::warn!(payment_id = %current.id, cause, %from, %to, "refused an illegal transition");
                return self.record_history(current, attempt, Some(event)).await;
            } else {
                let moves = verdict == Some(Verdict::Move);
                let news = proposal.channel_order_no.is_some()
                    && proposal.channel_order_no != current.channel_order_no
                    || proposal.action.is_some() && current.action.is_none();
                if !moves && !news {
                    let event = proposal.note.as_ref().map(|note| Event {
                        kind: EventKind::PaymentOutcomeUnknown,
                        from_status: Some(from.as_str()),
                        to_status: None,
                        detail: json!({ "cause": cause, "note": note }),
                    });
                    return self.record_history(current, attempt, event).await;
                }
                let change = PaymentChange {
                    status: proposal.status.filter(|_| moves),
                    channel_order_no: proposal.channel_order_no.clone(),
                    action: proposal.action.clone(),
                    failure: moves.then(|| proposal.failure.clone()),
                    review_reason: None,
                    attempt: attempt.clone(),
                };
                let to = change.status.unwrap_or(from);
                let event = Event {
                    kind: if moves {
                        EventKind::PaymentStatusChanged
                    } else {
                        EventKind::PaymentUpdated
                    },
                    from_status: Some(from.as_str()),
                    to_status: Some(to.as_str()),
                    detail: json!({ "cause": cause, "channel_order_no": proposal.channel_order_no }),
                };
                if moves {
                    record_payment_metric(&current, to);
                }
                let webhook = if moves {
                    self.payment_webhook(tenant, &current, &change, to)
                } else {
                    None
                };
                match self
                    .store
                    .apply_payment_change(&current, &change, &event, webhook)
                    .await
                {
                    Err(StoreError::Stale) => {}
                    other => return Ok(other?),
                }
            }
            current = self
                .store
                .payment(&current.tenant_id, &current.id)
                .await?
                .ok_or(super::PaymentError::NotFound)?;
        }
        Err(StoreError::Stale.into())
    }

    /// Records what changes no state: the attempt, if any, and `event`, in
    /// one transaction. Returns the payment as it now stands.
    async fn record_history(
        &self,
        current: PaymentRecord,
        attempt: Option<Attempt>,
        event: Option<Event>,
    ) -> Result<PaymentRecord> {
        match (attempt, event) {
            (Some(attempt), event) => Ok(self
                .store
                .record_attempt(&current, &attempt, event.as_ref())
                .await?),
            (None, Some(event)) => {
                self.store.record_payment_event(&current, &event).await?;
                Ok(current)
            }
            (None, None) => Ok(current),
        }
    }

    /// The webhook announcing a move to `to`, if the merchant wants one.
    fn payment_webhook(
        &self,
        tenant: &Tenant,
        current: &PaymentRecord,
        change: &PaymentChange,
        to: PaymentStatus,
    ) -> Option<OutboxMessage> {
        let event_type = transitions::payment_webhook(to)?;
        let url = current
            .notify_url
            .clone()
            .or_else(|| tenant.config.notify_url.clone())?;
        tenant.config.webhook_secret.as_ref()?;
        // The payload shows the payment as it will be after this change.
        let mut after = current.clone();
        after.status = to;
        if let Some(no) = &change.channel_order_no {
            after.channel_order_no = Some(no.clone());
        }
        if let Some(a) = &change.action {
            after.action = Some(a.to_string());
        }
        if let Some(f) = &change.failure {
            after.failure = f.as_ref().map(|v| v.to_string());
        }
        after.updated_at = now_rfc3339();
        Some(webhook_message(
            &tenant.config.id,
            &current.id,
            event_type,
            url,
            serde_json::to_value(PaymentView::from(&after)).ok()?,
        ))
    }
}

/// Payment outcomes by tenant, channel, plugin version, scene and status.
/// Ids and order numbers are never labels.
fn record_payment_metric(p: &PaymentRecord, to: PaymentStatus) {
    metrics::counter!(
        "paycore_payments_total",
        "tenant" => p.tenant_id.clone(),
        "channel" => p.channel_id.clone(),
        "plugin" => p.plugin_name.clone(),
        "version" => p.plugin_version.clone(),
        "scene" => p.scene.as_str(),
        "status" => to.as_str()
    )
    .increment(1);
}

/// The outbox row announcing `event_type`; `payment_id` is the payment the
/// event is about (for a refund event, the refund's payment).
pub(super) fn webhook_message(
    tenant_id: &str,
    payment_id: &str,
    event_type: EventKind,
    url: String,
    data: Value,
) -> OutboxMessage {
    let id = new_id("evt");
    let payload = WebhookBody {
        id: &id,
        event_type: event_type.as_str(),
        created_at: now_rfc3339(),
        data,
    }
    .to_json();
    OutboxMessage {
        id,
        tenant_id: tenant_id.to_string(),
        payment_id: Some(payment_id.to_string()),
        event_type: event_type.to_string(),
        url,
        payload,
        attempts: 0,
        retry_step: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payment(amount: i64, currency: &str) -> PaymentRecord {
        PaymentRecord {
            id: "pay_1".into(),
            amount,
            currency: currency.into(),
            ..PaymentRecord::example()
        }
    }

    fn answer(
        status: PaymentStatus,
        amount: Option<i64>,
        currency: Option<&str>,
    ) -> channel::PaymentResult {
        channel::PaymentResult {
            status,
            channel_order_no: Some("ch_1".into()),
            amount,
            currency: currency.map(str::to_string),
            action: None,
            failure: None,
        }
    }

    /// An answer is believed only if what it says was paid is the payment:
    /// each case is (reported amount, reported currency, believed).
    #[test]
    fn an_answer_for_another_amount_or_currency_is_refused_for_review() {
        let p = payment(8_888, "CNY");
        for (amount, currency, believed) in [
            (Some(8_888), Some("CNY"), true),
            (None, None, true),
            (Some(8_888), None, true),
            (None, Some("CNY"), true),
            (Some(8_889), Some("CNY"), false),
            (Some(1), None, false),
            (Some(8_888), Some("USD"), false),
            (None, Some("cny"), false),
        ] {
            let proposal =
                from_payment_result(&p, &answer(PaymentStatus::Succeeded, amount, currency));
            if believed {
                assert_eq!(
                    proposal.status,
                    Some(PaymentStatus::Succeeded),
                    "{amount:?} {currency:?}"
                );
                assert_eq!(proposal.channel_order_no.as_deref(), Some("ch_1"));
                assert_eq!(proposal.review_reason, None);
            } else {
                assert_eq!(
                    proposal.status, None,
                    "{amount:?} {currency:?}: nothing moves"
                );
                assert_eq!(proposal.channel_order_no, None);
                let why = proposal.review_reason.expect("a person is asked to look");
                assert!(
                    why.contains("8888 CNY") && why.contains("answer refused"),
                    "{why}"
                );
            }
        }
    }

    #[test]
    fn actions_and_failures_are_kept_in_the_api_shape() {
        let p = payment(100, "CNY");
        let mut r = answer(PaymentStatus::Pending, Some(100), Some("CNY"));
        r.action = Some(channel::Action::QrCode("weixin://wxpay/1".into()));
        r.failure = Some(channel::Failure {
            code: "payer_pending".into(),
            message: "waiting".into(),
            channel_code: None,
            channel_message: None,
        });
        let proposal = from_payment_result(&p, &r);
        assert_eq!(
            proposal.action,
            Some(json!({"type": "qr_code", "qr_code": "weixin://wxpay/1"}))
        );
        assert_eq!(
            proposal.failure,
            Some(
                json!({"code": "payer_pending", "message": "waiting", "channel_code": null, "channel_message": null})
            )
        );
    }

    #[test]
    fn a_reversal_is_refused_while_refunds_are_reserved() {
        let mut p = payment(100, "CNY");
        let reversed = Proposal {
            status: Some(PaymentStatus::Cancelled),
            ..Proposal::default()
        };
        assert_eq!(reversal_after_refund(&p, &reversed), None);
        p.refund_reserved = 30;
        let why = reversal_after_refund(&p, &reversed).expect("refused");
        assert!(why.contains("30 CNY"), "{why}");
        let paid = Proposal {
            status: Some(PaymentStatus::Succeeded),
            ..Proposal::default()
        };
        assert_eq!(reversal_after_refund(&p, &paid), None, "only a reversal");
    }
}
