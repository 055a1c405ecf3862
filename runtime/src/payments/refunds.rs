//! Refunds: partial or full, never above what remains, idempotent on the
//! merchant's refund number.

use super::request::{RefundRequest, fingerprint};
use super::settle::webhook_message;
use super::transitions::{self, Verdict};
use super::view::RefundView;
use super::{PaymentError, Payments, Result, convert};
use crate::domain::EventKind;
use crate::domain::{RefundStatus, new_id};
use crate::plugin_host::{CallError, CallErrorKind};
use crate::registry::Tenant;
use crate::store::{
    Event, NewRefund, OutboxMessage, RefundChange, RefundInsert, RefundRecord, StoreError,
};
use paycore_core::channel;
use serde_json::json;

/// A refund change to apply.
struct RefundProposal {
    status: Option<RefundStatus>,
    channel_refund_no: Option<String>,
    failure: Option<serde_json::Value>,
}

impl Payments {
    #[tracing::instrument(skip_all, fields(tenant = %tenant.config.id, payment_id = %payment_id))]
    pub async fn create_refund(
        &self,
        tenant: &Tenant,
        payment_id: &str,
        request: RefundRequest,
    ) -> Result<(RefundView, bool)> {
        let tenant_id = &tenant.config.id;
        let payment = self
            .store
            .payment(tenant_id, payment_id)
            .await?
            .ok_or(PaymentError::NotFound)?;
        let new = NewRefund {
            id: new_id("re"),
            tenant_id: tenant_id.clone(),
            payment_id: payment.id.clone(),
            merchant_refund_no: request.merchant_refund_no.clone(),
            request_hash: fingerprint(&(payment_id, &request)),
            amount: request.amount,
            currency: payment.currency.clone(),
            reason: request.reason.clone(),
        };
        let refund = match self.store.insert_refund(new).await? {
            RefundInsert::Created(r) => r,
            RefundInsert::Existing {
                record,
                same_request: true,
            } => return Ok((RefundView::from(&record), true)),
            RefundInsert::Existing { .. } => {
                return Err(PaymentError::Conflict {
                    code: "idempotency_conflict",
                    message: "this merchant_refund_no was used before with a different request"
                        .into(),
                });
            }
            RefundInsert::NotRefundable => {
                return Err(PaymentError::Unacceptable {
                    code: "payment_not_refundable",
                    message: format!(
                        "only a succeeded payment can be refunded; this one is {}",
                        payment.status
                    ),
                    field: None,
                });
            }
            RefundInsert::CancelInProgress => {
                return Err(PaymentError::Unacceptable {
                    code: "payment_cancel_in_progress",
                    message: "the payment is being cancelled (a cancel refunds it in full); \
                              it cannot be refunded as well"
                        .into(),
                    field: None,
                });
            }
            RefundInsert::ExceedsRemaining { remaining } => {
                return Err(PaymentError::Unacceptable {
                    code: "refund_exceeds_remaining",
                    message: format!(
                        "the amount is above what remains refundable ({remaining} {})",
                        payment.currency
                    ),
                    field: Some("amount".into()),
                });
            }
        };
        let channel = self.channel_of(tenant, &payment)?;
        let ctx = self.call_context(tenant_id, &channel);
        let answer = self
            .host
            .refund(
                &channel.plugin,
                channel.grant.clone(),
                ctx,
                convert::refund_request(&payment, &refund),
            )
            .await;
        let proposal = match answer {
            Ok(r) => refund_proposal(&refund, &r),
            Err(e) => refund_failure(&e),
        };
        let refund = self
            .settle_refund(tenant, refund, proposal, "refund")
            .await?;
        Ok((RefundView::from(&refund), false))
    }

    pub async fn get_refund(&self, tenant: &Tenant, id: &str) -> Result<RefundView> {
        let r = self
            .store
            .refund(&tenant.config.id, id)
            .await?
            .ok_or(PaymentError::NotFound)?;
        Ok(RefundView::from(&r))
    }

    #[tracing::instrument(skip_all, fields(tenant = %tenant.config.id, refund_id = %id))]
    pub async fn sync_refund(&self, tenant: &Tenant, id: &str) -> Result<RefundView> {
        let refund = self
            .store
            .refund(&tenant.config.id, id)
            .await?
            .ok_or(PaymentError::NotFound)?;
        let refund = self.query_refund_and_settle(tenant, refund).await?;
        Ok(RefundView::from(&refund))
    }

    pub(crate) async fn query_refund_and_settle(
        &self,
        tenant: &Tenant,
        refund: RefundRecord,
    ) -> Result<RefundRecord> {
        let payment = self
            .store
            .payment(&tenant.config.id, &refund.payment_id)
            .await?
            .ok_or(PaymentError::NotFound)?;
        let channel = self.channel_of(tenant, &payment)?;
        let ctx = self.call_context(&tenant.config.id, &channel);
        match self
            .host
            .query_refund(
                &channel.plugin,
                channel.grant.clone(),
                ctx,
                convert::refund_ref(&payment, &refund),
            )
            .await
        {
            Ok(r) => {
                let proposal = refund_proposal(&refund, &r);
                self.settle_refund(tenant, refund, proposal, "query-refund")
                    .await
            }
            Err(e) => Err(PaymentError::Channel {
                code: "channel_error",
                message: e.to_string(),
                timeout: e.outcome_unknown(),
                payment: None,
            }),
        }
    }

    pub(super) async fn apply_refund_callback(
        &self,
        tenant: &Tenant,
        update: &channel::RefundUpdate,
    ) -> Result<String> {
        let Some(refund) = self
            .store
            .refund_by_no(&tenant.config.id, &update.merchant_refund_no)
            .await?
        else {
            return Ok("rejected: no such refund".into());
        };
        let before = refund.status.clone();
        let result = channel::RefundResult {
            status: update.status,
            channel_refund_no: update.channel_refund_no.clone(),
            amount: Some(update.amount),
            failure: None,
        };
        let proposal = refund_proposal(&refund, &result);
        let after = self
            .settle_refund(tenant, refund, proposal, "callback")
            .await?;
        Ok(if after.status == before {
            format!("no change ({before})")
        } else {
            format!("applied: {before} -> {}", after.status)
        })
    }

    async fn settle_refund(
        &self,
        tenant: &Tenant,
        mut current: RefundRecord,
        p: RefundProposal,
        cause: &str,
    ) -> Result<RefundRecord> {
        for _ in 0..5 {
            let from = current.status;
            let verdict = p.status.map(|to| transitions::refund(from, to));
            match verdict {
                Some(Verdict::Refuse) => {
                    let event = Event {
                        kind: EventKind::RefundTransitionRefused,
                        from_status: Some(from.as_str()),
                        to_status: p.status.map(|s| s.as_str()),
                        detail: json!({ "cause": cause }),
                    };
                    self.store.record_refund_event(&current, &event).await?;
                    return Ok(current);
                }
                Some(Verdict::Same) | None
                    if p.channel_refund_no.is_none()
                        || p.channel_refund_no == current.channel_refund_no =>
                {
                    return Ok(current);
                }
                _ => {}
            }
            let moves = verdict == Some(Verdict::Move);
            let change = RefundChange {
                status: p.status.filter(|_| moves),
                channel_refund_no: p.channel_refund_no.clone(),
                failure: if moves { p.failure.clone() } else { None },
            };
            let to = change.status.unwrap_or(from);
            let event = Event {
                kind: if moves {
                    EventKind::RefundStatusChanged
                } else {
                    EventKind::RefundUpdated
                },
                from_status: Some(from.as_str()),
                to_status: Some(to.as_str()),
                detail: json!({ "cause": cause }),
            };
            if moves {
                metrics::counter!("paycore_refunds_total", "tenant" => current.tenant_id.clone(), "status" => to.as_str()).increment(1);
            }
            let webhook = if moves {
                self.refund_webhook(tenant, &current, &change, to).await?
            } else {
                None
            };
            match self
                .store
                .apply_refund_change(&current, &change, &event, webhook)
                .await
            {
                Err(StoreError::Stale) => {}
                other => return Ok(other?),
            }
            current = self
                .store
                .refund(&current.tenant_id, &current.id)
                .await?
                .ok_or(PaymentError::NotFound)?;
        }
        Err(StoreError::Stale.into())
    }

    async fn refund_webhook(
        &self,
        tenant: &Tenant,
        r: &RefundRecord,
        change: &RefundChange,
        to: RefundStatus,
    ) -> Result<Option<OutboxMessage>> {
        let Some(event_type) = transitions::refund_webhook(to) else {
            return Ok(None);
        };
        if tenant.config.webhook_secret.is_none() {
            return Ok(None);
        }
        let payment = self.store.payment(&tenant.config.id, &r.payment_id).await?;
        let Some(url) = payment
            .and_then(|p| p.notify_url)
            .or_else(|| tenant.config.notify_url.clone())
        else {
            return Ok(None);
        };
        let mut after = r.clone();
        after.status = to;
        if let Some(no) = &change.channel_refund_no {
            after.channel_refund_no = Some(no.clone());
        }
        if let Some(f) = &change.failure {
            after.failure = Some(f.to_string());
        }
        let data = serde_json::to_value(RefundView::from(&after)).expect("views serialise");
        Ok(Some(webhook_message(
            &tenant.config.id,
            &r.payment_id,
            event_type,
            url,
            data,
        )))
    }
}

fn refund_proposal(refund: &RefundRecord, r: &channel::RefundResult) -> RefundProposal {
    if r.amount.is_some_and(|a| a != refund.amount) {
        // A channel that refunds another amount than asked is not believed;
        // the refund stays open for a query and a person.
        tracing::warn!(refund_id = %refund.id, "channel reported a different refund amount; answer refused");
        return RefundProposal {
            status: None,
            channel_refund_no: None,
            failure: None,
        };
    }
    RefundProposal {
        status: Some(r.status),
        channel_refund_no: r.channel_refund_no.clone(),
        failure: r.failure.as_ref().map(convert::failure),
    }
}

fn refund_failure(e: &CallError) -> RefundProposal {
    if e.outcome_unknown() {
        return RefundProposal {
            status: Some(RefundStatus::Processing),
            channel_refund_no: None,
            failure: None,
        };
    }
    let failure = match &e.kind {
        CallErrorKind::Channel(
            channel::ChannelError::Declined(f)
            | channel::ChannelError::InvalidRequest(f)
            | channel::ChannelError::Unavailable(f),
        ) => convert::failure(f),
        _ => convert::own_failure("plugin_failed", &e.to_string()),
    };
    RefundProposal {
        status: Some(RefundStatus::Failed),
        channel_refund_no: None,
        failure: Some(failure),
    }
}
