//! Applying what a channel said to a stored payment: the host's checks on a
//! plugin's answer, the transition check, and the write with its event and
//! webhook, retried when the row changed underneath.

use super::convert;
use super::machine::{self, Answer, Cause, Decision, Proposal};
use super::retry::retry_on_stale;
use super::view::{PaymentView, WebhookBody};
use super::{Payments, Result};
use crate::domain::EventKind;
use crate::domain::{PaymentId, PaymentStatus, TenantId, new_id};
use crate::registry::Tenant;
use crate::store::{Attempt, Event, OutboxMessage, PaymentChange, PaymentRecord};
use paycore_core::channel;
use serde_json::Value;

/// Checks a plugin's payment answer against the payment before believing it:
/// a channel that reports another amount or currency is not trusted.
pub fn from_payment_result(p: &PaymentRecord, r: &channel::PaymentResult) -> Proposal {
    let wrong_amount = r.amount.is_some_and(|a| a != p.channel_amount());
    let wrong_currency = r.currency.as_ref().is_some_and(|c| p.currency != *c);
    if wrong_amount || wrong_currency {
        let reason = format!(
            "channel reported {} {} for a payment of {}; answer refused",
            r.amount.map_or("?".to_string(), |a| a.to_string()),
            r.currency.as_deref().unwrap_or(&p.currency),
            p.money()
        );
        return Proposal::Disbelieved { reason };
    }
    Proposal::Answer(Answer {
        status: r.status,
        channel_order_no: r.channel_order_no.clone(),
        action: r.action.as_ref().map(convert::action),
        failure: r.failure.as_ref().map(convert::failure),
    })
}

impl Payments {
    /// Applies `proposal` to the payment through the state machine, decided
    /// again on the row as it stands whenever another writer changed it
    /// first. `cause` names what produced it; `attempt`, the channel call
    /// that brought it, is recorded in the same transaction as whatever the
    /// proposal comes to.
    pub(super) async fn settle(
        &self,
        tenant: &Tenant,
        current: PaymentRecord,
        proposal: Proposal,
        cause: Cause,
        attempt: Option<Attempt>,
    ) -> Result<PaymentRecord> {
        let (proposal, attempt) = (&proposal, &attempt);
        let (tenant_id, id) = (current.tenant_id.clone(), current.id.clone());
        retry_on_stale(
            current,
            |current| async move {
                self.write_decision(tenant, current, proposal, cause, attempt.clone())
                    .await
            },
            || self.load(&tenant_id, &id),
        )
        .await
    }

    /// Decides what `proposal` means for the payment as read and writes it.
    async fn write_decision(
        &self,
        tenant: &Tenant,
        current: PaymentRecord,
        proposal: &Proposal,
        cause: Cause,
        attempt: Option<Attempt>,
    ) -> Result<PaymentRecord> {
        match machine::apply(&current, proposal, cause) {
            Decision::Record(event) => {
                if let Some(e) = &event
                    && e.kind == EventKind::PaymentTransitionRefused
                {
                    tracing::warn!(payment_id = %current.id, cause = cause.as_str(), from = ?e.from_status, to = ?e.to_status, "refused an illegal transition");
                }
                self.record_history(current, attempt, event).await
            }
            Decision::Write {
                mut change,
                event,
                webhook,
            } => {
                if let Some(reason) = &change.review_reason {
                    tracing::warn!(payment_id = %current.id, cause = cause.as_str(), reason = %reason, "refused a channel answer");
                }
                change.attempt = attempt;
                let webhook = match webhook {
                    Some(kind) => {
                        self.payment_webhook(tenant, &current, &change, kind)
                            .await?
                    }
                    None => None,
                };
                let written = self
                    .store
                    .apply_payment_change(&current, &change, &event, webhook)
                    .await?;
                if let Some(to) = change.status {
                    record_payment_metric(&current, to);
                    self.after_payment_change(tenant, &written).await;
                    self.after_order_change(tenant, &written).await;
                }
                Ok(written)
            }
        }
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

    /// The webhook announcing `kind` (a move), if the merchant wants one.
    async fn payment_webhook(
        &self,
        tenant: &Tenant,
        current: &PaymentRecord,
        change: &PaymentChange,
        kind: EventKind,
    ) -> Result<Option<OutboxMessage>> {
        let Some(url) = current
            .notify_url
            .clone()
            .or_else(|| tenant.config.notify_url.clone())
        else {
            return Ok(None);
        };
        if tenant.config.webhook_secret.is_none() {
            return Ok(None);
        }
        // The payload shows the payment as it will be after this change.
        let mut after = current.clone();
        after.status = change.status.unwrap_or(current.status);
        if let Some(no) = &change.channel_order_no {
            after.channel_order_no = Some(no.clone());
        }
        if let Some(a) = &change.action {
            after.action = Some(a.to_string());
        }
        if let Some(f) = &change.failure {
            after.failure = f.as_ref().map(|v| v.to_string());
        }
        after.updated_at = self.clock.now_rfc3339();
        // A combined order's tenders as they will be once it is written.
        let view = self
            .with_projected_tenders(tenant, PaymentView::from(&after))
            .await?;
        Ok(Some(webhook_message(
            &tenant.config.id,
            &current.id,
            kind,
            url,
            serde_json::to_value(view).expect("views serialise"),
            self.clock.now_rfc3339(),
        )))
    }
}

/// Payment outcomes by tenant, channel, plugin version, scene and status.
/// Ids and order numbers are never labels.
fn record_payment_metric(p: &PaymentRecord, to: PaymentStatus) {
    metrics::counter!(
        "paycore_payments_total",
        "tenant" => p.tenant_id.to_string(),
        "channel" => p.channel_id.clone(),
        "plugin" => p.plugin_name.clone(),
        "version" => p.plugin_version.clone(),
        "scene" => p.scene.as_str(),
        "status" => to.as_str()
    )
    .increment(1);
}

/// The outbox row announcing `event_type`, created at `created_at`;
/// `payment_id` is the payment the event is about (for a refund event, the
/// refund's payment).
pub(super) fn webhook_message(
    tenant_id: &TenantId,
    payment_id: &PaymentId,
    event_type: EventKind,
    url: String,
    data: Value,
    created_at: String,
) -> OutboxMessage {
    let id = new_id("evt");
    let payload = WebhookBody {
        id: &id,
        event_type: event_type.as_str(),
        created_at,
        data,
    }
    .to_json();
    OutboxMessage {
        id,
        tenant_id: tenant_id.clone(),
        payment_id: Some(payment_id.clone()),
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
    use serde_json::json;

    fn payment(amount: i64, currency: &str) -> PaymentRecord {
        PaymentRecord {
            amount,
            currency: crate::money::Currency::parse(currency).unwrap(),
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
            match proposal {
                Proposal::Answer(a) => {
                    assert!(believed, "{amount:?} {currency:?} was believed");
                    assert_eq!(a.status, PaymentStatus::Succeeded);
                    assert_eq!(a.channel_order_no.as_deref(), Some("ch_1"));
                }
                Proposal::Disbelieved { reason } => {
                    assert!(!believed, "{amount:?} {currency:?} was not believed");
                    assert!(
                        reason.contains("8888 CNY") && reason.contains("answer refused"),
                        "{reason}"
                    );
                }
                Proposal::Unknown { .. } => panic!("an answer is never unknown"),
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
        let Proposal::Answer(a) = from_payment_result(&p, &r) else {
            panic!("believed");
        };
        assert_eq!(
            a.action,
            Some(json!({"type": "qr_code", "qr_code": "weixin://wxpay/1"}))
        );
        assert_eq!(
            a.failure,
            Some(
                json!({"code": "payer_pending", "message": "waiting", "channel_code": null, "channel_message": null})
            )
        );
    }
}
