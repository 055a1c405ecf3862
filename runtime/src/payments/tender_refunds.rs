//! Refunding a combined order: one refund, allocated across the order's
//! tenders by `machine::tenders::allocate_refund` inside the refund's own
//! insert (so racing refunds allocate one after the other), exact to the
//! minor unit and never above what a tender took.
//!
//! The external tender's part is refunded by its channel like any refund
//! (asked for the refund's `channel_amount`). The coupons' and cards'
//! parts are credited back by the host once that part succeeded — never
//! before, so a refused wallet refund gives nothing back twice — and at
//! once when there is no wallet part. `credited` on each part says it was
//! done; the sweeper finishes what a crash left between.

use super::machine::tenders::{AllocationRefusal, RefundTender, allocate_refund};
use super::machine::{Cause, RefundAnswer};
use super::view::{RefundTenderView, RefundView};
use super::{PaymentError, Payments, Result};
use crate::domain::{RefundId, RefundStatus, TenantId};
use crate::money::Money;
use crate::registry::{Registry, Tenant};
use crate::store::{Allocate, PaymentRecord, RefundPart, RefundRecord, Unallocatable};
use std::sync::Arc;

/// Refunds whose coupons' and cards' parts the sweeper credits per pass.
const CREDIT_BATCH: i64 = 50;

impl Payments {
    /// How a refund of `amount` of the combined order `payment` is
    /// allocated, as the store's insert asks once it reserved the amount.
    pub(super) async fn refund_allocator(
        &self,
        tenant: &Tenant,
        payment: &PaymentRecord,
        amount: i64,
    ) -> Result<Allocate> {
        let tenders = self
            .store
            .tenders_of(&tenant.config.id, &payment.id)
            .await?;
        let shape: Vec<(String, RefundTender)> = tenders
            .iter()
            .map(|t| {
                let taken = t.amount;
                let kind = match t.kind.as_str() {
                    "coupon" => RefundTender::Coupon { taken },
                    "card" => RefundTender::Card { taken },
                    _ => RefundTender::External { taken },
                };
                (t.kind.clone(), kind)
            })
            .collect();
        let first = tenant.config.combined_refunds_first;
        let currency = payment.currency.clone();
        Ok(Arc::new(move |refunded: &[(i64, i64)]| {
            let mut done = vec![0; shape.len()];
            for (position, sum) in refunded {
                if let Some(slot) = usize::try_from(*position)
                    .ok()
                    .and_then(|p| done.get_mut(p))
                {
                    *slot = *sum;
                }
            }
            let kinds: Vec<RefundTender> = shape.iter().map(|(_, t)| *t).collect();
            let money = |minor| Money::new(minor, currency.clone());
            match allocate_refund(&kinds, &done, amount, first) {
                Ok(parts) => Ok(parts
                    .into_iter()
                    .enumerate()
                    .filter(|(_, part)| *part > 0)
                    .map(|(position, part)| RefundPart {
                        position: position as i64,
                        kind: shape[position].0.clone(),
                        amount: part,
                    })
                    .collect()),
                Err(AllocationRefusal::CouponsOnlyWhole { money_left, whole }) => {
                    Err(Unallocatable(format!(
                        "a coupon is never paid out: a refund takes at most the {} paid in money, or all that remains ({}), which gives the coupon back",
                        money(money_left),
                        money(whole)
                    )))
                }
                Err(AllocationRefusal::ExceedsRemaining { whole }) => Err(Unallocatable(format!(
                    "the amount is above what remains refundable ({})",
                    money(whole)
                ))),
            }
        }))
    }

    /// A combined order's refund with no wallet part: paycore gives it
    /// back itself, then it succeeded. Also what the sweeper does with
    /// one a crash left open.
    pub(super) async fn finish_own_refund(
        &self,
        tenant: &Tenant,
        payment: &PaymentRecord,
        refund: RefundRecord,
    ) -> Result<RefundRecord> {
        if refund.status.is_final() {
            return Ok(refund);
        }
        self.credit_refund_parts(tenant, payment, &refund).await?;
        let succeeded = RefundAnswer {
            status: RefundStatus::Succeeded,
            channel_refund_no: None,
            failure: None,
        };
        self.settle_refund(tenant, refund, Some(succeeded), Cause::Refund)
            .await
    }

    /// Credits back every coupon's and card's part of `refund` not credited
    /// yet, each marked once done.
    async fn credit_refund_parts(
        &self,
        tenant: &Tenant,
        payment: &PaymentRecord,
        refund: &RefundRecord,
    ) -> Result<()> {
        let tenant_id = &tenant.config.id;
        let parts = self.store.refund_parts(tenant_id, &refund.id).await?;
        let whole = parts.iter().any(|p| p.kind == "coupon");
        let tenders = self.store.tenders_of(tenant_id, &payment.id).await?;
        for part in parts
            .iter()
            .filter(|p| p.kind != "external" && p.credited == 0)
        {
            let card = tenders
                .iter()
                .find(|t| t.position == part.position)
                .and_then(|t| t.card_id.clone())
                .ok_or_else(|| PaymentError::Unacceptable {
                    code: "refund_not_allocatable",
                    message: format!(
                        "tenders[{}] holds no card to give its part back to",
                        part.position
                    ),
                    field: None,
                })?;
            self.ledger
                .credit_tender(
                    &tenant.config,
                    &payment.id,
                    payment.amount,
                    &refund.id,
                    refund.amount,
                    whole,
                    &card,
                    part.amount,
                )
                .await
                .map_err(|e| PaymentError::Unacceptable {
                    code: "refund_not_credited",
                    message: format!("tenders[{}]: the ledger refused: {e:?}", part.position),
                    field: None,
                })?;
            self.store
                .mark_refund_part_credited(tenant_id, &refund.id, part.position)
                .await?;
        }
        Ok(())
    }

    /// After a combined order's refund changed: once its wallet part
    /// succeeded, its coupons' and cards' parts are credited. Failures are
    /// logged; the sweeper finishes what is left.
    pub(super) async fn after_combined_refund(&self, tenant: &Tenant, refund: &RefundRecord) {
        if !refund.is_combined() || refund.status != RefundStatus::Succeeded {
            return;
        }
        let credited = match self
            .store
            .payment(&tenant.config.id, &refund.payment_id)
            .await
        {
            Ok(Some(payment)) => self.credit_refund_parts(tenant, &payment, refund).await,
            Ok(None) => return,
            Err(e) => Err(e.into()),
        };
        if let Err(e) = credited {
            tracing::warn!(refund_id = %refund.id, error = %e, "a combined refund's card parts are left for the sweeper");
        }
    }

    /// The sweeper's share: succeeded refunds of combined orders whose
    /// coupons' or cards' parts a crash left uncredited.
    pub async fn finish_refund_credits(&self, registry: &Registry) -> Result<usize> {
        let mut finished = 0;
        for (tenant_id, refund_id) in self.store.refunds_to_credit(CREDIT_BATCH).await? {
            let Some(tenant) = registry.tenant(&tenant_id) else {
                continue;
            };
            match self.credit_one(tenant, &tenant_id, &refund_id).await {
                Ok(()) => finished += 1,
                Err(e) => {
                    tracing::warn!(refund_id = %refund_id, error = %e, "could not credit a combined refund's card parts")
                }
            }
        }
        Ok(finished)
    }

    async fn credit_one(&self, tenant: &Tenant, tenant_id: &TenantId, id: &RefundId) -> Result<()> {
        let refund = self.load_refund(tenant_id, id).await?;
        let payment = self.load(tenant_id, &refund.payment_id).await?;
        self.credit_refund_parts(tenant, &payment, &refund).await
    }

    /// `view` with its tenders' parts, if it refunds a combined order.
    pub(crate) async fn refund_view(
        &self,
        tenant: &Tenant,
        refund: &RefundRecord,
    ) -> Result<RefundView> {
        let mut view = RefundView::from(refund);
        if !refund.is_combined() {
            return Ok(view);
        }
        let parts = self
            .store
            .refund_parts(&tenant.config.id, &refund.id)
            .await?;
        view.tenders = Some(
            parts
                .iter()
                .map(|p| RefundTenderView {
                    position: p.position,
                    kind: p.kind.clone(),
                    amount: p.amount,
                    status: match (p.kind.as_str(), p.credited != 0, refund.status) {
                        (_, true, _) => RefundStatus::Succeeded,
                        ("external", _, status) => status,
                        (_, false, RefundStatus::Failed) => RefundStatus::Failed,
                        // Credited once the wallet's part succeeded.
                        (_, false, _) => RefundStatus::Pending,
                    },
                })
                .collect(),
        );
        Ok(view)
    }
}
