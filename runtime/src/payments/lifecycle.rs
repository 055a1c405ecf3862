//! After creation: query (sync), close, cancel, and inbound callbacks.

use super::failed_call::{FailedCall, ORDER_NOT_FOUND};
use super::machine::{self, Answer, CancelRefused, Cause, Proposal};
use super::settle;
use super::view::PaymentView;
use super::{PaymentError, Payments, Result, convert};
use crate::domain::{PaymentId, PaymentStatus, RefundId, TenantId};
use crate::plugin_host::CallError;
use crate::registry::Tenant;
use crate::store::{CallbackRecord, CancelStart, PaymentRecord, RefundRecord};
use paycore_core::channel;

/// What paycore did with an inbound callback, and what to answer the channel.
pub struct CallbackReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Payments {
    /// The tenant's payment as it now stands; `NotFound` for another
    /// tenant's id.
    pub(super) async fn load(&self, tenant_id: &TenantId, id: &PaymentId) -> Result<PaymentRecord> {
        self.store
            .payment(tenant_id, id)
            .await?
            .ok_or(PaymentError::NotFound)
    }

    /// The tenant's refund as it now stands; `NotFound` for another
    /// tenant's id.
    pub(super) async fn load_refund(
        &self,
        tenant_id: &TenantId,
        id: &RefundId,
    ) -> Result<RefundRecord> {
        self.store
            .refund(tenant_id, id)
            .await?
            .ok_or(PaymentError::NotFound)
    }

    /// Asks the channel where the payment stands and applies the answer.
    #[tracing::instrument(skip_all, fields(tenant = %tenant.config.id, payment_id = %id))]
    pub async fn sync(&self, tenant: &Tenant, id: &PaymentId) -> Result<PaymentView> {
        let record = self.load(&tenant.config.id, id).await?;
        let record = self.query_and_settle(tenant, record).await?;
        Ok(PaymentView::from(&record))
    }

    /// Queries by the channel's order number when known, else by ours: the
    /// plugin gets both and picks. A failed query changes nothing.
    pub(crate) async fn query_and_settle(
        &self,
        tenant: &Tenant,
        record: PaymentRecord,
    ) -> Result<PaymentRecord> {
        if record.is_closed_loop_order() {
            if !record.status.needs_query() {
                return Ok(record);
            }
            return self.resolve_closed_loop_order(tenant, record).await;
        }
        if record.awaiting_wallet() {
            // No channel was asked yet: there is nobody to ask.
            return Ok(record);
        }
        let channel = self.channel_of(tenant, &record)?;
        let ctx = self.call_context(&tenant.config.id, &channel);
        match self
            .host
            .query(
                &channel.plugin,
                channel.grant.clone(),
                ctx,
                convert::payment_ref(&record),
            )
            .await
        {
            Ok(result) => {
                self.settle(
                    tenant,
                    record.clone(),
                    settle::from_payment_result(&record, &result),
                    Cause::Query,
                    None,
                )
                .await
            }
            Err(e) if FailedCall::of(&e).says_no_such_order() && record.status.needs_query() => {
                if !self.payable_window_over(&record) {
                    // The pay request may still be on its way: ask again later.
                    tracing::debug!(payment_id = %record.id, "the channel has no such order yet");
                    return Ok(record);
                }
                self.settle(tenant, record, order_not_found(), Cause::Query, None)
                    .await
            }
            Err(e) => Err(channel_error(&e, record)),
        }
    }

    /// Whether the payer can no longer pay this payment, so that a channel
    /// with no such order proves no money moved (`machine::absent_order_is_final`).
    fn payable_window_over(&self, record: &PaymentRecord) -> bool {
        let expires_ms = record
            .expires_in()
            .unwrap_or(self.pending_expiry)
            .as_millis() as i64;
        let past_expiry = self.clock.now_millis() >= record.created_ms.saturating_add(expires_ms);
        machine::absent_order_is_final(
            record.scene,
            record.cancel_started_ms.is_some(),
            past_expiry,
        )
    }

    #[tracing::instrument(skip_all, fields(tenant = %tenant.config.id, payment_id = %id))]
    pub async fn close(&self, tenant: &Tenant, id: &PaymentId) -> Result<PaymentView> {
        let record = self.load(&tenant.config.id, id).await?;
        if !record.status.needs_query() {
            return Err(PaymentError::Unacceptable {
                code: "payment_not_open",
                message: format!(
                    "only an unpaid payment can be closed; this one is {}",
                    record.status
                ),
                field: None,
            });
        }
        if record.awaiting_wallet() {
            // No channel holds an order for it, so closing is paycore's alone.
            let closed = Proposal::Answer(Answer::status(PaymentStatus::Closed, None));
            let r = self
                .settle(tenant, record, closed, Cause::Close, None)
                .await?;
            return Ok(PaymentView::from(&r));
        }
        let channel = self.channel_of(tenant, &record)?;
        let ctx = self.call_context(&tenant.config.id, &channel);
        match self
            .host
            .close(
                &channel.plugin,
                channel.grant.clone(),
                ctx,
                convert::payment_ref(&record),
            )
            .await
        {
            Ok(result) => {
                let r = self
                    .settle(
                        tenant,
                        record.clone(),
                        settle::from_payment_result(&record, &result),
                        Cause::Close,
                        None,
                    )
                    .await?;
                Ok(PaymentView::from(&r))
            }
            Err(e) => Err(channel_error(&e, record)),
        }
    }

    /// Reverses a barcode/face payment: an unpaid one is stopped, a paid one
    /// refunded in full by the channel. The payment is marked as being
    /// cancelled before the channel hears of it, in the statement that also
    /// checks that no refund is reserved (`store::cancels`), so a cancel and
    /// a refund racing each other never both go through.
    #[tracing::instrument(skip_all, fields(tenant = %tenant.config.id, payment_id = %id))]
    pub async fn cancel(&self, tenant: &Tenant, id: &PaymentId) -> Result<PaymentView> {
        let record = self.load(&tenant.config.id, id).await?;
        if record.is_combined() {
            if record.status == PaymentStatus::Succeeded {
                return Err(super::refunds::combined_not_reversible());
            }
            if record.is_closed_loop_order() {
                // No channel holds an order: stopping it is paycore's
                // alone, and its holds go back.
                let cancelled = Proposal::Answer(Answer::status(PaymentStatus::Cancelled, None));
                let r = self
                    .settle(tenant, record, cancelled, Cause::Cancel, None)
                    .await?;
                return self.with_tenders(tenant, PaymentView::from(&r)).await;
            }
        }
        let started = machine::start_cancel(&record).map_err(|refused| match refused {
            CancelRefused::Scene(scene) => PaymentError::Unacceptable {
                code: "cancel_not_supported",
                message: format!(
                    "cancel reverses barcode and face payments; close a {scene} payment instead"
                ),
                field: None,
            },
            CancelRefused::RefundsReserved => refunds_reserved(&record),
            CancelRefused::Status(status) => status_not_cancellable(status),
        })?;
        let channel = self.channel_of(tenant, &record)?;
        let record = match self
            .store
            .start_cancel(&record, &machine::CANCELLABLE, &started)
            .await?
        {
            CancelStart::Started(marked) => marked,
            CancelStart::RefundsReserved(r) => return Err(refunds_reserved(&r)),
            CancelStart::NotCancellable(r) => return Err(status_not_cancellable(r.status)),
        };
        let ctx = self.call_context(&tenant.config.id, &channel);
        let answer = self
            .host
            .cancel(
                &channel.plugin,
                channel.grant.clone(),
                ctx,
                convert::payment_ref(&record),
            )
            .await;
        match answer {
            Ok(result) => {
                let proposal = settle::from_payment_result(&record, &result);
                let r = self
                    .settle(tenant, record.clone(), proposal, Cause::Cancel, None)
                    .await?;
                let r = if r.status != PaymentStatus::Cancelled && r.cancelling() {
                    let why = format!("the channel answered the cancel with {}", r.status);
                    self.store
                        .end_cancel_unreversed(&r, &machine::cancel_ended(&r, &why))
                        .await?
                } else {
                    r
                };
                Ok(PaymentView::from(&r))
            }
            // The cancel reached the channel, which has no such order: the
            // pay request never arrived, and the cancel ended the payer's
            // window, so none can arrive and take money any more.
            Err(e) if FailedCall::of(&e).says_no_such_order() && record.status.needs_query() => {
                let r = self
                    .settle(tenant, record, order_not_found(), Cause::Cancel, None)
                    .await?;
                Ok(PaymentView::from(&r))
            }
            Err(e) if !e.outcome_unknown() => {
                let why = format!("the channel did not reverse the payment: {e}");
                let r = self
                    .store
                    .end_cancel_unreversed(&record, &machine::cancel_ended(&record, &why))
                    .await?;
                Err(channel_error(&e, r))
            }
            // Perhaps reversed: the mark stays (no refund can start) and the
            // sweeper asks again, from its next pass on, until the channel's
            // answer settles it.
            Err(e) => {
                self.store
                    .release_cancel_lease(&record.tenant_id, &record.id)
                    .await?;
                Err(channel_error(&e, record))
            }
        }
    }

    /// An asynchronous notification from a channel. The plugin verifies and
    /// parses it; the state machine applies it at most once. Every callback
    /// is stored with what became of it.
    #[tracing::instrument(skip_all, fields(tenant = %tenant.config.id, channel = %channel_id))]
    pub async fn handle_callback(
        &self,
        tenant: &Tenant,
        channel_id: &str,
        request: channel::HttpRequest,
    ) -> Result<CallbackReply> {
        let channel = tenant
            .channel(channel_id)
            .cloned()
            .ok_or(PaymentError::NotFound)?;
        let body = request.body.clone();
        let mut audit = CallbackRecord {
            tenant_id: tenant.config.id.clone(),
            channel_id: channel_id.to_string(),
            verified: false,
            outcome: String::new(),
            payment_id: None,
            body,
        };
        let ctx = self.call_context(&tenant.config.id, &channel);
        let outcome = match self
            .host
            .handle_callback(&channel.plugin, channel.grant.clone(), ctx, request)
            .await
        {
            Ok(o) => o,
            Err(e) => {
                audit.outcome = format!("plugin failed: {e}");
                self.audit_callback(&audit).await?;
                return Ok(CallbackReply {
                    status: 500,
                    headers: vec![],
                    body: b"callback could not be processed".to_vec(),
                });
            }
        };
        let channel::CallbackOutcome {
            event,
            verified,
            response,
            unverified_claim,
        } = outcome;
        audit.verified = verified;
        let reply = CallbackReply {
            status: response.status,
            headers: response.headers,
            body: response.body,
        };
        match (verified, event) {
            (false, _) => {
                audit.outcome = "rejected: signature did not verify".into();
                // The callback proves nothing, but a real payment's notice
                // may have been mangled in transit: ask the channel.
                if let Some(order_no) = unverified_claim
                    && let Some((payment_id, note)) =
                        self.query_claimed(tenant, &channel.id, &order_no).await
                {
                    audit.payment_id = Some(payment_id);
                    audit.outcome.push_str(&format!("; {note}"));
                }
            }
            (true, None) => audit.outcome = "verified, no event".into(),
            (true, Some(channel::CallbackEvent::Ignored)) => {
                audit.outcome = "verified, ignored".into()
            }
            (true, Some(channel::CallbackEvent::Payment(update))) => {
                match self
                    .store
                    .payment_by_order_no(&tenant.config.id, &update.merchant_order_no)
                    .await?
                {
                    Some(p) if p.channel_id == channel.id => {
                        audit.payment_id = Some(p.id.clone());
                        let before = p.status;
                        let proposal = callback_proposal(&p, &update);
                        let refused = match &proposal {
                            Proposal::Disbelieved { reason } => Some(reason.clone()),
                            _ => None,
                        };
                        let after = self
                            .settle(tenant, p, proposal, Cause::Callback, None)
                            .await?;
                        audit.outcome = if let Some(reason) = refused {
                            format!("refused and flagged for review: {reason}")
                        } else if after.status == before {
                            format!("no change ({before})")
                        } else {
                            format!("applied: {before} -> {}", after.status)
                        };
                    }
                    _ => audit.outcome = "rejected: no such payment on this channel".into(),
                }
            }
            (true, Some(channel::CallbackEvent::Refund(update))) => {
                audit.outcome = self.apply_refund_callback(tenant, &update).await?;
            }
        }
        self.audit_callback(&audit).await?;
        Ok(reply)
    }
}

impl Payments {
    /// An unverified callback named `order_no`: if that is one of the
    /// tenant's open payments on this channel, query the channel about it
    /// and apply the channel's answer. The callback's own content is never
    /// applied. Returns the payment's id and what the query did.
    async fn query_claimed(
        &self,
        tenant: &Tenant,
        channel_id: &str,
        order_no: &str,
    ) -> Option<(PaymentId, String)> {
        let p = self
            .store
            .payment_by_order_no(&tenant.config.id, order_no)
            .await
            .ok()??;
        if p.channel_id != channel_id || !p.status.needs_query() {
            return None;
        }
        let (id, before) = (p.id.clone(), p.status);
        let note = match self.query_and_settle(tenant, p).await {
            Ok(after) if after.status != before => {
                format!("queried the claimed payment: {before} -> {}", after.status)
            }
            Ok(_) => format!("queried the claimed payment: no change ({before})"),
            Err(e) => {
                tracing::debug!(payment_id = %id, error = %e, "query after an unverified callback failed");
                "queried the claimed payment: the query failed".into()
            }
        };
        Some((id, note))
    }
}

fn callback_proposal(p: &PaymentRecord, u: &channel::PaymentUpdate) -> Proposal {
    let as_result = channel::PaymentResult {
        status: u.status,
        channel_order_no: u.channel_order_no.clone(),
        amount: Some(u.amount),
        currency: Some(u.currency.clone()),
        action: None,
        failure: None,
    };
    settle::from_payment_result(p, &as_result)
}

/// A failed operation after creation: nothing changed; say so with the
/// payment as it stands.
fn channel_error(e: &CallError, record: PaymentRecord) -> PaymentError {
    let failed = FailedCall::of(e);
    if let Some(f) = failed.refusal() {
        return PaymentError::Unacceptable {
            code: "channel_declined",
            message: format!("the channel refused: {}", f.message),
            field: None,
        };
    }
    let timeout = matches!(failed, FailedCall::OutcomeUnknown { .. });
    PaymentError::Channel {
        code: if timeout {
            "channel_timeout"
        } else {
            "channel_error"
        },
        message: e.to_string(),
        timeout,
        payment: Some(Box::new(PaymentView::from(&record))),
    }
}

impl Payments {
    /// Stores a callback for audit and counts it by what became of it.
    async fn audit_callback(&self, audit: &CallbackRecord) -> Result<()> {
        let result = if audit.outcome.starts_with("plugin failed") {
            "failed"
        } else if !audit.verified
            || audit.outcome.starts_with("rejected")
            || audit.outcome.contains("refused")
        {
            "rejected"
        } else {
            "accepted"
        };
        metrics::counter!(
            "paycore_callbacks_total",
            "tenant" => audit.tenant_id.to_string(),
            "channel" => audit.channel_id.clone(),
            "result" => result
        )
        .increment(1);
        self.store.record_callback(audit).await?;
        Ok(())
    }
}

fn not_cancellable(message: String) -> PaymentError {
    PaymentError::Unacceptable {
        code: "payment_not_cancellable",
        message,
        field: None,
    }
}

fn status_not_cancellable(status: PaymentStatus) -> PaymentError {
    not_cancellable(format!("a {status} payment cannot be cancelled"))
}

fn refunds_reserved(p: &PaymentRecord) -> PaymentError {
    not_cancellable(format!(
        "a payment with refunds ({} reserved) cannot be cancelled; refund what remains instead",
        p.refunds_reserved()
    ))
}

/// A payment whose order the channel never received, once that is proven.
fn order_not_found() -> Proposal {
    Proposal::Answer(Answer::status(
        PaymentStatus::Failed,
        Some(convert::own_failure(
            ORDER_NOT_FOUND,
            "the channel has no such order and the payer can no longer pay it: no money moved",
        )),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::domain::Scene;
    use std::time::Duration;

    #[tokio::test]
    async fn an_absent_order_is_final_once_the_payer_can_no_longer_pay() {
        // `PaymentRecord::example` was created at 1,000,000 ms.
        let clock = Clock::manual_at_millis(1_000_000);
        let payments = Payments::for_tests(&clock)
            .await
            .with_pending_expiry(Duration::from_secs(7200));
        let of = |scene: Scene, request: &str| PaymentRecord {
            scene,
            request: request.into(),
            ..PaymentRecord::example()
        };
        let qrcode = of(Scene::Qrcode, r#"{"expires_in":900}"#);
        let jsapi = of(Scene::Jsapi, "{}");
        let barcode = of(Scene::Barcode, "{}");
        let cancelled = PaymentRecord {
            cancel_started_ms: Some(1_000_500),
            ..barcode.clone()
        };
        assert!(!payments.payable_window_over(&qrcode));
        assert!(!payments.payable_window_over(&jsapi));
        clock.advance(Duration::from_millis(899_999));
        assert!(
            !payments.payable_window_over(&qrcode),
            "a millisecond before expiry"
        );
        clock.advance(Duration::from_millis(1));
        assert!(payments.payable_window_over(&qrcode), "its own expires_in");
        assert!(!payments.payable_window_over(&jsapi));
        clock.set(jiff::Timestamp::from_millisecond(1_000_000 + 7_200_000).unwrap());
        assert!(payments.payable_window_over(&jsapi), "the pending expiry");
        // A barcode payment's window is over only once a cancel was sent,
        // however late it is.
        assert!(!payments.payable_window_over(&barcode));
        assert!(payments.payable_window_over(&cancelled));
    }
}
