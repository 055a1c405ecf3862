//! Holds a crash left behind. A card payment holds value and captures it
//! within one plugin call, and the plugin releases what it held when the
//! payment fails; a process killed in between leaves the hold `held` while
//! its payment is settled later (by the sweeper's query, a callback, a
//! close). Once the payment is final, its outcome says what the hold
//! becomes: spent if it succeeded, back on the card otherwise.

use super::Ledger;
use crate::domain::PaymentStatus;
use crate::store::{MoveRefusal, StoreError, StrandedHold};
use paycore_core::ledger::{Move, PlanError};

/// Why a stranded hold could not be looked at; nothing moved.
#[derive(Debug, thiserror::Error)]
pub enum StrandedError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A hold row with an amount no move can take (its CHECK forbids it).
    #[error("the hold cannot be settled: {0}")]
    Plan(#[from] PlanError),
    /// The ledger refused the capture of a coupon's hold, or could not be
    /// reached: the next pass tries again.
    #[error("the hold cannot be settled now: {0}")]
    Refused(String),
}

/// What a stranded hold becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    Capture,
    Release,
}

/// A hold behind a payment that succeeded is spent; behind one that
/// failed, was closed or cancelled, or is not there at all, it goes back.
pub fn resolution(payment: Option<PaymentStatus>) -> Resolution {
    match payment {
        Some(PaymentStatus::Succeeded) => Resolution::Capture,
        _ => Resolution::Release,
    }
}

impl Ledger {
    /// Holds still `held` behind final payments, oldest first.
    pub async fn stranded_holds(&self, limit: i64) -> Result<Vec<StrandedHold>, StoreError> {
        self.store.held_holds_of_final_payments(limit).await
    }

    /// Captures or releases a stranded hold, by the same keys the plugin's
    /// own capture or release would have used: whichever comes first moves
    /// the value, once. A refusal (the hold was settled meanwhile) moved
    /// nothing.
    ///
    /// A coupon is used once: spending its hold also closes it and gives
    /// what it held beyond the discount back to the promotion, as its
    /// plugin's capture would, through the same session (`tenant`: the
    /// hold's tenant's config, which names its programmes).
    pub async fn resolve_stranded(
        &self,
        tenant: Option<&crate::config::TenantConfig>,
        stranded: &StrandedHold,
    ) -> Result<Result<Resolution, MoveRefusal>, StrandedError> {
        let hold = &stranded.hold;
        let resolution = resolution(stranded.payment_status);
        if let (Resolution::Capture, Some(tenant)) = (resolution, tenant) {
            let mut session = super::Session::for_host(
                self.clone(),
                tenant,
                super::Scope::Payment {
                    payment: hold.payment_id.clone(),
                },
            );
            return match session.capture(hold.id.as_str()).await {
                Ok(_) => Ok(Ok(resolution)),
                Err(refused) => Err(StrandedError::Refused(format!("{refused:?}"))),
            };
        }
        let planned = match resolution {
            Resolution::Capture => Move::capture(&hold.card_id, &hold.id, hold.amount)?,
            Resolution::Release => Move::release(&hold.card_id, &hold.id, hold.amount)?,
        };
        Ok(self
            .store
            .apply_move(&hold.tenant_id, &planned)
            .await?
            .map(|_| resolution))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_succeeded_payment_spends_its_hold() {
        for status in PaymentStatus::ALL {
            if !status.is_final() {
                continue;
            }
            let expected = if *status == PaymentStatus::Succeeded {
                Resolution::Capture
            } else {
                Resolution::Release
            };
            assert_eq!(resolution(Some(*status)), expected, "{status}");
        }
        assert_eq!(resolution(None), Resolution::Release, "no payment row");
    }
}
