//! What a payment's end means for a member card it tops up, and a refund's
//! for the value it bought (`ledger::top_ups`): credited when the payment
//! succeeds, taken back before a refund is sent, put back when that refund
//! fails. Each step is keyed, so it is made once however often it is
//! reached: right after the payment's or refund's change, and again by the
//! sweeper (`finish_card_follow_ups`) for whatever a crash left between.

use super::machine::RefundAnswer;
use super::request::RefundRequest;
use super::{Payments, Result};
use crate::domain::RefundStatus;
use crate::ledger::{TopUpFinish, TopUpReversal, has_stored_value};
use crate::registry::Tenant;
use crate::store::{PaymentRecord, RefundRecord};

/// At most this many top-ups per sweeper pass.
const BATCH: i64 = 50;

impl Payments {
    /// After a payment's change: credits the card it tops up, or refunds it
    /// in full when the card's cap cannot take it. Failures are logged; the
    /// sweeper finishes what is left.
    pub(super) async fn after_payment_change(&self, tenant: &Tenant, payment: &PaymentRecord) {
        if !payment.status.is_final() || !has_stored_value(&tenant.config) {
            return;
        }
        match self.ledger.finish_top_up(&tenant.config, payment).await {
            Ok(Some(TopUpFinish::Refused)) => {
                let request = RefundRequest {
                    merchant_refund_no: format!("top-up-refused-{}", payment.merchant_order_no),
                    amount: payment.amount,
                    reason: Some("the card's maximum balance cannot take this top-up".into()),
                };
                if let Err(e) = Box::pin(self.create_refund(tenant, &payment.id, request)).await {
                    tracing::error!(payment_id = %payment.id, error = %e, "refunding a top-up the card could not take failed");
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(payment_id = %payment.id, error = %e, "a top-up is left for the sweeper")
            }
        }
    }

    /// Before a refund is sent: takes the value it gives back off the card
    /// the payment topped up. `Some(answer)` when the card no longer holds
    /// it: the refund fails with that answer, nothing sent.
    pub(super) async fn before_refund(
        &self,
        tenant: &Tenant,
        payment: &PaymentRecord,
        refund: &RefundRecord,
    ) -> Result<Option<RefundAnswer>> {
        if !has_stored_value(&tenant.config) {
            return Ok(None);
        }
        // What earlier refunds reserved: the payment as read before this
        // refund's reservation.
        let before = payment.refunds_reserved().minor;
        match self
            .ledger
            .reverse_top_up(&tenant.config, payment, &refund.id, refund.amount, before)
            .await
        {
            Ok(TopUpReversal::NotATopUp | TopUpReversal::TakenBack) => Ok(None),
            Ok(TopUpReversal::Spent { available, needed }) => Ok(Some(RefundAnswer {
                status: RefundStatus::Failed,
                channel_refund_no: None,
                failure: Some(super::convert::own_failure(
                    "top_up_spent",
                    &format!(
                        "the card holds {available} of the {needed} this refund takes back (the top-up and its bonus share): it was spent"
                    ),
                )),
            })),
            Err(e) => Err(super::PaymentError::Ledger(e)),
        }
    }

    /// After a refund's change: a failed refund of a top-up puts the value
    /// it took back onto the card.
    pub(super) async fn after_refund_change(&self, tenant: &Tenant, refund: &RefundRecord) {
        if refund.status != RefundStatus::Failed || !has_stored_value(&tenant.config) {
            return;
        }
        let payment = match self
            .store
            .payment(&tenant.config.id, &refund.payment_id)
            .await
        {
            Ok(Some(payment)) => payment,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(refund_id = %refund.id, error = %e, "a failed top-up refund is left for the sweeper");
                return;
            }
        };
        if let Err(e) = self
            .ledger
            .restore_top_up(&tenant.config, &payment, &refund.id)
            .await
        {
            tracing::warn!(refund_id = %refund.id, error = %e, "a failed top-up refund is left for the sweeper");
        }
    }

    /// The sweeper's share: top-ups whose payment ended without their
    /// follow-up (a crash between), and failed refunds of top-ups whose
    /// value was not put back. Returns how many it looked at.
    pub async fn finish_card_follow_ups(&self) -> Result<usize> {
        let registry = self.registry();
        let top_ups = self.store.top_ups_to_finish(BATCH).await?;
        let refunds = self.store.failed_top_up_refunds_to_restore(BATCH).await?;
        let seen = top_ups.len() + refunds.len();
        for top_up in top_ups {
            let Some(tenant) = registry.tenant(&top_up.tenant_id) else {
                continue;
            };
            let Some(payment) = self
                .store
                .payment_by_order_no(&top_up.tenant_id, &top_up.merchant_order_no)
                .await?
            else {
                continue;
            };
            self.after_payment_change(tenant, &payment).await;
        }
        for refund in refunds {
            if let Some(tenant) = registry.tenant(&refund.tenant_id) {
                self.after_refund_change(tenant, &refund).await;
            }
        }
        Ok(seen)
    }
}
