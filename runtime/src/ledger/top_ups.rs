//! A member card's top-up is a payment through any of the tenant's channels
//! (WeChat Pay, the sandbox, …) that buys value for the card: recorded
//! before the payment by its order number, credited with the programme's
//! bonus only once the payment succeeded, never twice (the credit is keyed
//! by the payment). A refund of a top-up takes its value back from what the
//! card still has, with the bonus in proportion, or is refused when it was
//! spent.

use super::program::program_of;
use super::{CardError, Ledger};
use crate::config::TenantConfig;
use crate::domain::{PaymentStatus, ProgramKind, RefundId};
use crate::money::Currency;
use crate::store::{MoveRefusal, NewTopUp, PaymentRecord, StoreError, TopUpRecord, TopUpStatus};
use paycore_core::ledger::{CardId, CardStatus, Move, PlanError};

/// Why a top-up's follow-up could not be made; the sweeper tries again.
#[derive(Debug, thiserror::Error)]
pub enum TopUpError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("the ledger refused the move: {0:?}")]
    Refused(MoveRefusal),
}

/// What finishing a top-up came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopUpFinish {
    Credited,
    Failed,
    /// The card's cap could not take it: its payment must be refunded.
    Refused,
}

/// What a refund of a top-up payment did to the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopUpReversal {
    /// Not a credited top-up: nothing to take back.
    NotATopUp,
    /// The value (and its share of the bonus) left the card.
    TakenBack,
    /// The card no longer holds it: the refund must be refused.
    Spent { available: i64, needed: i64 },
}

impl Ledger {
    /// Checks that `card` can take a top-up of `amount` and records it
    /// under the payment's order number, before the payment is made.
    pub async fn start_top_up(
        &self,
        tenant: &TenantConfig,
        card: &CardId,
        amount: i64,
        currency: &Currency,
        merchant_order_no: &str,
    ) -> Result<TopUpRecord, CardError> {
        let record = self.card(&tenant.id, card).await?;
        // The same top-up again (a retry) is the one recorded, whatever the
        // card holds since.
        if let Some(earlier) = self.store.top_up(&tenant.id, merchant_order_no).await? {
            return if earlier.card_id == *card && earlier.amount == amount {
                Ok(earlier)
            } else {
                Err(CardError::OrderNoConflict)
            };
        }
        let program = program_of(tenant, &record.program_id)?;
        if program.kind != ProgramKind::StoredValue {
            return Err(CardError::Amount(format!(
                "a {} card is not topped up; only stored-value cards are",
                program.kind
            )));
        }
        if record.status != CardStatus::Active {
            return Err(CardError::NotActive(record.status));
        }
        if *currency != program.currency {
            return Err(CardError::Currency(format!(
                "the card holds {}, the top-up is in {currency}",
                program.currency
            )));
        }
        let bonus = program.bonus_for(amount);
        let after = record.balance + record.held + record.dormant + amount + bonus;
        if let Some(cap) = program.max_balance
            && after > cap
        {
            return Err(CardError::Amount(format!(
                "the card would hold {after} with its bonus, above its programme's maximum of {cap}"
            )));
        }
        let top_up = self
            .store
            .insert_top_up(&NewTopUp {
                tenant_id: tenant.id.clone(),
                merchant_order_no: merchant_order_no.to_string(),
                card_id: card.clone(),
                amount,
                bonus,
                currency: currency.clone(),
            })
            .await?;
        if top_up.card_id != *card || top_up.amount != amount {
            return Err(CardError::OrderNoConflict);
        }
        Ok(top_up)
    }

    /// Credits a top-up whose payment succeeded, or fails one whose payment
    /// did not; `None` when the payment is no top-up or not final yet.
    /// Safe to call again: the credit is keyed by the payment.
    pub async fn finish_top_up(
        &self,
        tenant: &TenantConfig,
        payment: &PaymentRecord,
    ) -> Result<Option<TopUpFinish>, TopUpError> {
        if !payment.status.is_final() || !has_stored_value(tenant) {
            return Ok(None);
        }
        let Some(top_up) = self
            .store
            .top_up(&tenant.id, &payment.merchant_order_no)
            .await?
        else {
            return Ok(None);
        };
        if !top_up.is(TopUpStatus::Pending) {
            return Ok(None);
        }
        if payment.status != PaymentStatus::Succeeded
            || payment.amount != top_up.amount
            || payment.currency != top_up.currency
        {
            self.store
                .finish_top_up(
                    &tenant.id,
                    &top_up.merchant_order_no,
                    &payment.id,
                    TopUpStatus::Failed,
                )
                .await?;
            return Ok(Some(TopUpFinish::Failed));
        }
        let program = self
            .store
            .card(&tenant.id, &top_up.card_id)
            .await?
            .and_then(|card| program_of(tenant, &card.program_id).ok().cloned());
        let cap = program.as_ref().and_then(|p| p.max_balance);
        let until = program
            .as_ref()
            .and_then(|p| p.validity_days)
            .map(|days| self.store.clock().now_millis() + i64::from(days) * 86_400_000);
        let planned = Move::top_up(
            &top_up.card_id,
            &payment.id,
            top_up.amount,
            top_up.bonus,
            cap,
        )?
        .valid_until(until);
        let finish = match self.store.apply_move(&tenant.id, &planned).await? {
            Ok(_) => TopUpFinish::Credited,
            Err(MoveRefusal::OverCap { .. }) => TopUpFinish::Refused,
            Err(other) => return Err(TopUpError::Refused(other)),
        };
        let status = match finish {
            TopUpFinish::Credited => TopUpStatus::Credited,
            TopUpFinish::Refused => TopUpStatus::Refused,
            TopUpFinish::Failed => TopUpStatus::Failed,
        };
        self.store
            .finish_top_up(&tenant.id, &top_up.merchant_order_no, &payment.id, status)
            .await?;
        Ok(Some(finish))
    }

    /// Takes a refunded part of a credited top-up back off its card, with
    /// the bonus in proportion (the whole bonus once the whole top-up is
    /// refunded), before the refund is sent, so the value cannot be spent
    /// while the money goes back. `refunded_before` is what earlier refunds
    /// of the payment reserved.
    pub async fn reverse_top_up(
        &self,
        tenant: &TenantConfig,
        payment: &PaymentRecord,
        refund: &RefundId,
        amount: i64,
        refunded_before: i64,
    ) -> Result<TopUpReversal, TopUpError> {
        let Some(top_up) = self.credited_top_up(tenant, payment).await? else {
            return Ok(TopUpReversal::NotATopUp);
        };
        let bonus = bonus_share(top_up.bonus, top_up.amount, refunded_before, amount);
        let planned = Move::top_up_reversal(&top_up.card_id, refund, amount, bonus)?;
        match self.store.apply_move(&tenant.id, &planned).await? {
            Ok(_) => Ok(TopUpReversal::TakenBack),
            Err(MoveRefusal::Insufficient { available, .. }) => Ok(TopUpReversal::Spent {
                available,
                needed: amount + bonus,
            }),
            Err(other) => Err(TopUpError::Refused(other)),
        }
    }

    /// Puts back what `reverse_top_up` took for a refund that then failed.
    pub async fn restore_top_up(
        &self,
        tenant: &TenantConfig,
        payment: &PaymentRecord,
        refund: &RefundId,
    ) -> Result<(), TopUpError> {
        let Some(top_up) = self.credited_top_up(tenant, payment).await? else {
            return Ok(());
        };
        let taken = self.store.top_up_reversal(&tenant.id, refund).await?;
        let Some((amount, bonus)) = taken else {
            return Ok(());
        };
        let planned = Move::top_up_restored(&top_up.card_id, refund, amount, bonus)?;
        match self.store.apply_move(&tenant.id, &planned).await? {
            Ok(_) => Ok(()),
            Err(refusal) => Err(TopUpError::Refused(refusal)),
        }
    }

    async fn credited_top_up(
        &self,
        tenant: &TenantConfig,
        payment: &PaymentRecord,
    ) -> Result<Option<TopUpRecord>, StoreError> {
        if !has_stored_value(tenant) {
            return Ok(None);
        }
        Ok(self
            .store
            .top_up(&tenant.id, &payment.merchant_order_no)
            .await?
            .filter(|t| t.is(TopUpStatus::Credited)))
    }
}

/// Whether the tenant runs a programme that can be topped up: the others
/// never look a payment up as a top-up.
pub fn has_stored_value(tenant: &TenantConfig) -> bool {
    tenant
        .card_programs
        .iter()
        .any(|p| p.kind == ProgramKind::StoredValue)
}

/// The bonus that leaves with a refund of `amount` after `before` was
/// refunded: the bonus in proportion to what has been refunded, rounded
/// down, so the shares of all refunds add up to the whole bonus exactly
/// when the whole top-up is refunded.
fn bonus_share(bonus: i64, top_up: i64, before: i64, amount: i64) -> i64 {
    let owed = |refunded: i64| -> i64 {
        let refunded = refunded.clamp(0, top_up);
        ((i128::from(bonus) * i128::from(refunded)) / i128::from(top_up.max(1))) as i64
    };
    owed(before + amount) - owed(before)
}

#[cfg(test)]
mod tests {
    use super::bonus_share;

    #[test]
    fn bonus_shares_add_up_to_the_whole_bonus() {
        // 50.00 bonus on a 500.00 top-up, refunded in three parts.
        let parts = [
            bonus_share(5_000, 50_000, 0, 10_001),
            bonus_share(5_000, 50_000, 10_001, 20_000),
            bonus_share(5_000, 50_000, 30_001, 19_999),
        ];
        assert_eq!(parts, [1_000, 2_000, 2_000]);
        assert_eq!(parts.iter().sum::<i64>(), 5_000);
        assert_eq!(bonus_share(5_000, 50_000, 0, 50_000), 5_000);
        assert_eq!(bonus_share(0, 50_000, 0, 50_000), 0);
    }

    #[test]
    fn a_refund_share_never_goes_past_the_top_up() {
        assert_eq!(bonus_share(5_000, 50_000, 40_000, 20_000), 1_000);
    }
}
