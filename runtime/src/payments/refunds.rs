//! Refunds: partial or full, never above what remains, idempotent on the
//! merchant's refund number.

use super::failed_call::FailedCall;
use super::machine::{self, Cause, RefundAnswer, RefundDecision};
use super::request::{RefundRequest, fingerprint};
use super::retry::retry_on_stale;
use super::settle::webhook_message;
use super::view::RefundView;
use super::{PaymentError, Payments, Result, convert};
use crate::domain::{EventKind, PaymentId, RefundId, RefundStatus};
use crate::money::Money;
use crate::plugin_host::CallError;
use crate::registry::Tenant;
use crate::store::{NewRefund, OutboxMessage, RefundChange, RefundInsert, RefundRecord};
use paycore_core::channel;

impl Payments {
    #[tracing::instrument(skip_all, fields(tenant = %tenant.config.id, payment_id = %payment_id))]
    pub async fn create_refund(
        &self,
        tenant: &Tenant,
        payment_id: &PaymentId,
        request: RefundRequest,
    ) -> Result<(RefundView, bool)> {
        let tenant_id = &tenant.config.id;
        let payment = self.load(tenant_id, payment_id).await?;
        let allocate = match payment.is_combined() {
            true => Some(
                self.refund_allocator(tenant, &payment, request.amount)
                    .await?,
            ),
            false => None,
        };
        let id = RefundId::generate();
        let (status, created) = machine::refund_created(&payment.id, request.amount);
        let new = NewRefund {
            id,
            tenant_id: tenant_id.clone(),
            payment_id: payment.id.clone(),
            merchant_refund_no: request.merchant_refund_no.clone(),
            request_hash: fingerprint(&(payment_id, &request)),
            amount: request.amount,
            currency: payment.currency.clone(),
            reason: request.reason.clone(),
            status,
            created,
            refundable: machine::REFUNDABLE,
            allocate,
        };
        let refund = match self.store.insert_refund(new).await? {
            RefundInsert::Created(r) => r,
            RefundInsert::Existing {
                record,
                same_request: true,
            } => return Ok((self.refund_view(tenant, &record).await?, true)),
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
            RefundInsert::Unallocatable(why) => {
                return Err(PaymentError::Unacceptable {
                    code: "refund_not_allocatable",
                    message: why.to_string(),
                    field: Some("amount".into()),
                });
            }
            RefundInsert::ExceedsRemaining { remaining } => {
                return Err(PaymentError::Unacceptable {
                    code: "refund_exceeds_remaining",
                    message: format!(
                        "the amount is above what remains refundable ({})",
                        Money::new(remaining, payment.currency.clone())
                    ),
                    field: Some("amount".into()),
                });
            }
        };
        if refund.is_combined() && refund.channel_amount() == 0 {
            // Coupons and cards only: paycore gives it back itself.
            let refund = self.finish_own_refund(tenant, &payment, refund).await?;
            return Ok((self.refund_view(tenant, &refund).await?, false));
        }
        if let Some(refused) = self.before_refund(tenant, &payment, &refund).await? {
            let refund = self
                .settle_refund(tenant, refund, Some(refused), Cause::Refund)
                .await?;
            return Ok((RefundView::from(&refund), false));
        }
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
        let answer = match answer {
            Ok(r) => believed(&refund, &r),
            Err(e) => Some(refund_failure(&e)),
        };
        let refund = self
            .settle_refund(tenant, refund, answer, Cause::Refund)
            .await?;
        Ok((self.refund_view(tenant, &refund).await?, false))
    }

    pub async fn get_refund(&self, tenant: &Tenant, id: &RefundId) -> Result<RefundView> {
        let r = self.load_refund(&tenant.config.id, id).await?;
        self.refund_view(tenant, &r).await
    }

    #[tracing::instrument(skip_all, fields(tenant = %tenant.config.id, refund_id = %id))]
    pub async fn sync_refund(&self, tenant: &Tenant, id: &RefundId) -> Result<RefundView> {
        let refund = self.load_refund(&tenant.config.id, id).await?;
        let refund = self.query_refund_and_settle(tenant, refund).await?;
        self.refund_view(tenant, &refund).await
    }

    pub(crate) async fn query_refund_and_settle(
        &self,
        tenant: &Tenant,
        refund: RefundRecord,
    ) -> Result<RefundRecord> {
        let payment = self.load(&tenant.config.id, &refund.payment_id).await?;
        if refund.is_combined() && refund.channel_amount() == 0 {
            return self.finish_own_refund(tenant, &payment, refund).await;
        }
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
                let answer = believed(&refund, &r);
                self.settle_refund(tenant, refund, answer, Cause::QueryRefund)
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
        let before = refund.status;
        let result = channel::RefundResult {
            status: update.status,
            channel_refund_no: update.channel_refund_no.clone(),
            amount: Some(update.amount),
            failure: None,
        };
        let answer = believed(&refund, &result);
        let after = self
            .settle_refund(tenant, refund, answer, Cause::Callback)
            .await?;
        Ok(if after.status == before {
            format!("no change ({before})")
        } else {
            format!("applied: {before} -> {}", after.status)
        })
    }

    /// Applies a channel's answer (none when it was not believed) to the
    /// refund through the state machine, decided again on the row as it
    /// stands whenever another writer changed it first.
    pub(super) async fn settle_refund(
        &self,
        tenant: &Tenant,
        current: RefundRecord,
        answer: Option<RefundAnswer>,
        cause: Cause,
    ) -> Result<RefundRecord> {
        let Some(answer) = answer else {
            return Ok(current);
        };
        let answer = &answer;
        let (tenant_id, id) = (current.tenant_id.clone(), current.id.clone());
        retry_on_stale(
            current,
            |current| async move {
                match machine::apply_refund(&current, answer, cause) {
                    RefundDecision::Record(None) => Ok(current),
                    RefundDecision::Record(Some(event)) => {
                        self.store.record_refund_event(&current, &event).await?;
                        Ok(current)
                    }
                    RefundDecision::Write {
                        change,
                        event,
                        webhook,
                    } => {
                        let webhook = match webhook {
                            Some(kind) => {
                                self.refund_webhook(tenant, &current, &change, kind).await?
                            }
                            None => None,
                        };
                        let written = self
                            .store
                            .apply_refund_change(&current, &change, &event, webhook)
                            .await?;
                        if let Some(to) = change.status {
                            metrics::counter!("paycore_refunds_total", "tenant" => current.tenant_id.to_string(), "status" => to.as_str()).increment(1);
                            self.after_refund_change(tenant, &written).await;
                            self.after_combined_refund(tenant, &written).await;
                        }
                        Ok(written)
                    }
                }
            },
            || self.load_refund(&tenant_id, &id),
        )
        .await
    }

    async fn refund_webhook(
        &self,
        tenant: &Tenant,
        r: &RefundRecord,
        change: &RefundChange,
        event_type: EventKind,
    ) -> Result<Option<OutboxMessage>> {
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
        after.status = change.status.unwrap_or(r.status);
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
            self.clock.now_rfc3339(),
        )))
    }
}

/// A channel's refund answer, if it is believed: a channel that refunds
/// another amount than asked is not, and the refund stays open for a query
/// and a person.
fn believed(refund: &RefundRecord, r: &channel::RefundResult) -> Option<RefundAnswer> {
    if r.amount.is_some_and(|a| a != refund.channel_amount()) {
        tracing::warn!(refund_id = %refund.id, "channel reported a different refund amount; answer refused");
        return None;
    }
    Some(RefundAnswer {
        status: r.status,
        channel_refund_no: r.channel_refund_no.clone(),
        failure: r.failure.as_ref().map(convert::failure),
    })
}

/// What a failed refund call means: `processing` while its outcome is
/// unknown (a query settles it), else `failed`.
fn refund_failure(e: &CallError) -> RefundAnswer {
    let failure = match FailedCall::of(e) {
        FailedCall::OutcomeUnknown { .. } => {
            return RefundAnswer {
                status: RefundStatus::Processing,
                channel_refund_no: None,
                failure: None,
            };
        }
        FailedCall::Declined(f) | FailedCall::InvalidRequest(f) | FailedCall::Unavailable(f) => {
            convert::failure(f)
        }
        FailedCall::PluginFailed => convert::own_failure("plugin_failed", &e.to_string()),
    };
    RefundAnswer {
        status: RefundStatus::Failed,
        channel_refund_no: None,
        failure: Some(failure),
    }
}

/// A paid combined order is given back by refunds, which are allocated
/// across its tenders; a reversal at its wallet's channel would give back
/// that tender alone.
pub(super) fn combined_not_reversible() -> PaymentError {
    PaymentError::Unacceptable {
        code: "combined_order_not_reversible",
        message: "a paid combined order is not cancelled: refund it (all that remains gives every tender back, its coupons included)".into(),
        field: None,
    }
}
