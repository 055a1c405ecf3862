//! Reactivating a dormant card: its dormant value back to available
//! (`Move::reactivate`), the card active again with a new validity of its
//! programme's `validity_days` from now, all in one transaction. China's
//! rules require that value past its validity can be had back this way.
//!
//! Idempotent by the caller's key: the key goes into the move's, so the
//! same request again finds the reactivation it made and changes nothing.

use super::{CardError, Ledger};
use crate::config::TenantConfig;
use crate::store::{CardChange, CardChangeRefusal, CardRecord, MoveRefusal};
use paycore_core::ledger::{CardId, CardStatus, Move};

/// How often a reactivation decides again when the card changed under it
/// (value coming back to it at that moment) before giving up.
const ATTEMPTS: usize = 3;

const DAY_MS: i64 = 86_400_000;

impl Ledger {
    /// Reactivates one of the tenant's dormant cards, or answers the card
    /// as an earlier request with the same `key` left it.
    pub async fn reactivate(
        &self,
        tenant: &TenantConfig,
        card: &CardId,
        key: Option<String>,
    ) -> Result<CardRecord, CardError> {
        let request = key
            .clone()
            .unwrap_or_else(|| crate::domain::new_id("reactivation"));
        let move_key = Move::reactivation_key(card, &request);
        for _ in 0..ATTEMPTS {
            let record = self.card(&tenant.id, card).await?;
            if key.is_some() && self.store.move_made(&tenant.id, &move_key).await? {
                return Ok(record);
            }
            if record.status != CardStatus::Dormant {
                return Err(CardError::NotDormant(record.status));
            }
            if record.dormant == 0 {
                // Only value held for an open payment is left: it comes
                // back dormant if the payment fails, or is spent.
                return Err(CardError::NothingDormant);
            }
            let program = tenant
                .card_programs
                .iter()
                .find(|p| p.id == record.program_id.as_str())
                .ok_or_else(|| CardError::ProgramGone(record.program_id.clone()))?;
            let now_ms = self.store.clock().now_millis();
            let change = CardChange {
                card: card.clone(),
                read_version: record.version,
                status: CardStatus::Active,
                expires_ms: program
                    .validity_days
                    .map(|days| now_ms + i64::from(days) * DAY_MS),
                moves: vec![
                    Move::reactivate(card, &request, record.dormant)
                        .map_err(|e| CardError::Amount(e.to_string()))?,
                ],
            };
            match self.store.change_card(&tenant.id, &change).await? {
                Ok(()) => return self.card(&tenant.id, card).await,
                // Changed under us, or the same key's request won a race:
                // read again, which finds either.
                Err(CardChangeRefusal::Changed)
                | Err(CardChangeRefusal::Move(MoveRefusal::KeyReused)) => continue,
                Err(CardChangeRefusal::Move(refusal)) => {
                    tracing::warn!(card_id = %card, ?refusal, "a reactivation's move was refused");
                    return Err(CardError::Busy);
                }
            }
        }
        Err(CardError::Busy)
    }
}
