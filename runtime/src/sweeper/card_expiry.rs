//! The sweeper's share of card expiry: the cards whose validity ended (or
//! with work left after it), in batches, each expired by the ledger with
//! its programme's breakage rule. A card whose tenant or programme is not
//! in the running config is expired without forfeiting: value is kept
//! dormant, where it can be reactivated, rather than lost on a config that
//! could not be read.

use crate::ledger::{ExpiryOutcome, Ledger};
use crate::registry::Registry;
use crate::store::CardRecord;

/// Cards looked at per query.
const BATCH: i64 = 100;
/// Queries per pass, so that one pass ends even if cards keep changing.
const BATCHES_PER_PASS: usize = 10;

/// Expires the cards due now; how many it made dormant or closed (or
/// settled again after their expiry).
pub async fn sweep(ledger: &Ledger, registry: &Registry) -> anyhow::Result<usize> {
    let mut expired_cards = 0;
    for _ in 0..BATCHES_PER_PASS {
        let due = ledger.cards_due_for_expiry(BATCH).await?;
        let mut progressed = 0;
        for card in &due {
            match ledger.expire(card, breakage(registry, card)).await? {
                ExpiryOutcome::Expired {
                    status,
                    expired,
                    forfeited,
                } => {
                    tracing::info!(card_id = %card.id, tenant_id = %card.tenant_id, unit = %card.unit, %status, expired, forfeited, "card expired");
                    progressed += 1;
                    expired_cards += 1;
                }
                // Another instance, or a payment, got there first.
                ExpiryOutcome::Changed => {}
                ExpiryOutcome::Refused(refusal) => {
                    tracing::warn!(card_id = %card.id, ?refusal, "a card's expiry was refused");
                }
            }
        }
        if (due.len() as i64) < BATCH || progressed == 0 {
            break;
        }
    }
    Ok(expired_cards)
}

/// Whether the card's programme forfeits value past its validity.
fn breakage(registry: &Registry, card: &CardRecord) -> bool {
    registry
        .tenant(&card.tenant_id)
        .and_then(|t| {
            t.config
                .card_programs
                .iter()
                .find(|p| p.id == card.program_id.as_str())
        })
        .is_some_and(|p| p.breakage)
}
