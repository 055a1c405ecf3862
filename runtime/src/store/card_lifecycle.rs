//! What happens to cards over time: the cards whose validity ended (or
//! that have work left after it) for the sweeper, and a card's change of
//! status and validity made together with the moves that go with it, in
//! one transaction.
//!
//! Several instances may sweep at once: a change applies only to the card
//! as it was read (its `version`), and its moves are keyed, so whichever
//! instance comes second changes nothing.

use super::ledger::LedgerConn;
use super::{CardRecord, Dialect, MoveRefusal, Store, StoreResult, on_db};
use crate::domain::TenantId;
use paycore_core::ledger::{CardId, CardStatus, Move};

/// A card's new status and validity, for the card as it was read.
#[derive(Debug, Clone)]
pub struct CardChange {
    pub card: CardId,
    /// The `version` the decision was made on: if the card changed since,
    /// nothing is written.
    pub read_version: i64,
    pub status: CardStatus,
    pub expires_ms: Option<i64>,
    /// Applied in order after the status changes; all or none.
    pub moves: Vec<Move>,
}

/// Why a card change wrote nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardChangeRefusal {
    /// The card is gone or changed since it was read: decide again.
    Changed,
    /// One of the moves was refused (or its key was used before).
    Move(MoveRefusal),
}

/// Dormant or closed cards with work left after their expiry: value that
/// came back to the available balance, or nothing left at all on a dormant
/// one. Word for word the predicate of the `cards_settling_after_expiry`
/// index (migration 0012), so that both backends use it.
const SETTLING_AFTER_EXPIRY: &str = "status IN ('dormant', 'closed') AND (balance > 0 OR (status = 'dormant' AND held = 0 AND dormant = 0))";

impl Store {
    /// Active or frozen cards whose validity ended by now, the longest
    /// expired first (index `cards_expiring`).
    pub async fn cards_past_validity(&self, limit: i64) -> StoreResult<Vec<CardRecord>> {
        let now_ms = self.clock.now_millis();
        on_db!(self, |pool| {
            Ok(sqlx::query_as(
                "SELECT * FROM cards
                 WHERE expires_ms IS NOT NULL AND status IN ('active', 'frozen') AND expires_ms <= $1
                 ORDER BY expires_ms LIMIT $2",
            )
            .bind(now_ms)
            .bind(limit)
            .fetch_all(pool)
            .await?)
        })
    }

    /// Dormant or closed cards with work left after their expiry (see
    /// `SETTLING_AFTER_EXPIRY`).
    pub async fn cards_settling_after_expiry(&self, limit: i64) -> StoreResult<Vec<CardRecord>> {
        let sql = format!("SELECT * FROM cards WHERE {SETTLING_AFTER_EXPIRY} ORDER BY id LIMIT $1");
        on_db!(self, |pool| {
            Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(limit)
                .fetch_all(pool)
                .await?)
        })
    }

    /// Changes one of `tenant`'s cards as `change` says, with its moves, in
    /// one transaction; or refuses and writes nothing.
    pub async fn change_card(
        &self,
        tenant: &TenantId,
        change: &CardChange,
    ) -> StoreResult<Result<(), CardChangeRefusal>> {
        on_db!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            // First, so that a second instance deciding on the same read
            // waits here for the first and then finds the version moved on.
            let changed = sqlx::query(
                "UPDATE cards SET status = $1, expires_ms = $2, version = version + 1, updated_at = $3
                 WHERE tenant_id = $4 AND id = $5 AND version = $6",
            )
            .bind(change.status)
            .bind(change.expires_ms)
            .bind(self.clock.now_rfc3339())
            .bind(tenant)
            .bind(&change.card)
            .bind(change.read_version)
            .execute(&mut *tx)
            .await?;
            if changed.rows_affected() == 0 {
                return Ok(Err(CardChangeRefusal::Changed));
            }
            for planned in &change.moves {
                match tx.apply(tenant, planned, &self.clock).await? {
                    Ok(applied) if applied.now => {}
                    // The key was used before: this is not the change it
                    // was planned to be part of.
                    Ok(_) => return Ok(Err(CardChangeRefusal::Move(MoveRefusal::KeyReused))),
                    Err(refusal) => return Ok(Err(CardChangeRefusal::Move(refusal))),
                }
            }
            tx.commit().await?;
            Ok(Ok(()))
        })
    }

    /// Whether `tenant` made a move under `key` (an idempotent request's
    /// earlier success).
    pub async fn move_made(&self, tenant: &TenantId, key: &str) -> StoreResult<bool> {
        on_db!(self, |pool| {
            let found: Option<String> = sqlx::query_scalar(
                "SELECT id FROM ledger_moves WHERE tenant_id = $1 AND move_key = $2",
            )
            .bind(tenant)
            .bind(key)
            .fetch_optional(pool)
            .await?;
            Ok(found.is_some())
        })
    }
}
