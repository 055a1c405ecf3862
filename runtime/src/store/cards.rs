//! Card rows (the balances themselves change only through `ledger`'s
//! moves) and their dynamic payment codes.

use super::ledger::LedgerConn;
use super::{Dialect, Store, StoreResult, impl_for_connections, on_db, unique_violation};
use crate::domain::{PaymentId, TenantId};
use paycore_core::ledger::{CardId, CardStatus, Move};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct CardRecord {
    pub id: CardId,
    pub tenant_id: TenantId,
    pub program_id: String,
    pub kind: String,
    pub unit: String,
    pub holder: Option<String>,
    pub named: bool,
    pub status: CardStatus,
    pub balance: i64,
    pub held: i64,
    pub dormant: i64,
    pub expires_ms: Option<i64>,
    pub issue_key: String,
    pub issue_hash: String,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone)]
pub struct NewCard {
    pub id: CardId,
    pub tenant_id: TenantId,
    pub program_id: String,
    pub kind: String,
    pub unit: String,
    pub holder: Option<String>,
    pub named: bool,
    pub expires_ms: Option<i64>,
    /// The issuing request's idempotency key and its fingerprint.
    pub issue_key: String,
    pub issue_hash: String,
    /// The value it is issued with, applied in the same transaction.
    pub first_value: Option<Move>,
}

pub enum CardInsert {
    Created(CardRecord),
    Existing {
        record: CardRecord,
        same_request: bool,
    },
    /// The first value was refused (over the programme's cap); nothing was
    /// written.
    Refused(super::MoveRefusal),
}

/// What presenting a payment code for a payment found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeUse {
    /// The code is this card's, and now this payment's (or already was).
    Card(CardId),
    Unknown,
    Expired,
    /// Bound to another payment: a code pays once.
    Used,
}

impl Store {
    /// Inserts a card with its first value, or finds the card its issue key
    /// made before.
    pub async fn insert_card(&self, new: NewCard) -> StoreResult<CardInsert> {
        let outcome: StoreResult<CardInsert> = on_db!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            if let Some(record) = tx.existing_card(&new).await? {
                return Ok(card_found(record, &new));
            }
            let now = self.clock.now_rfc3339();
            sqlx::query(
                "INSERT INTO cards (id, tenant_id, program_id, kind, unit, holder, named, status, expires_ms, issue_key, issue_hash, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $9, $10, $11, $11)",
            )
            .bind(&new.id)
            .bind(&new.tenant_id)
            .bind(&new.program_id)
            .bind(&new.kind)
            .bind(&new.unit)
            .bind(&new.holder)
            .bind(new.named)
            .bind(new.expires_ms)
            .bind(&new.issue_key)
            .bind(&new.issue_hash)
            .bind(&now)
            .execute(&mut *tx)
            .await
            .map_err(|e| unique_violation(e, "cards.issue_key"))?;
            if let Some(first) = &new.first_value
                && let Err(refusal) = tx.apply(&new.tenant_id, first, &self.clock).await?
            {
                return Ok(CardInsert::Refused(refusal));
            }
            tx.commit().await?;
            let record = self
                .card(&new.tenant_id, &new.id)
                .await?
                .ok_or(super::StoreError::NotFound)?;
            Ok(CardInsert::Created(record))
        });
        match outcome {
            // Issued concurrently under the same key: the winner's card is there.
            Err(super::StoreError::Conflict(_)) => {
                let record = on_db!(self, |pool| pool.acquire().await?.existing_card(&new).await)?;
                record
                    .map(|record| card_found(record, &new))
                    .ok_or(super::StoreError::NotFound)
            }
            outcome => outcome,
        }
    }

    pub async fn card(&self, tenant: &TenantId, card: &CardId) -> StoreResult<Option<CardRecord>> {
        on_db!(self, |pool| {
            Ok(
                sqlx::query_as("SELECT * FROM cards WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant)
                    .bind(card)
                    .fetch_optional(pool)
                    .await?,
            )
        })
    }

    /// A holder's cards, oldest first, `limit` after the card `after`.
    pub async fn cards_of_holder(
        &self,
        tenant: &TenantId,
        holder: &str,
        limit: i64,
    ) -> StoreResult<Vec<CardRecord>> {
        on_db!(self, |pool| {
            Ok(sqlx::query_as(
                "SELECT * FROM cards WHERE tenant_id = $1 AND holder = $2 ORDER BY created_at, id LIMIT $3",
            )
            .bind(tenant)
            .bind(holder)
            .bind(limit)
            .fetch_all(pool)
            .await?)
        })
    }

    /// Moves a card from one of `from` to `to`; false when it was in none
    /// of them (or is not the tenant's).
    pub async fn set_card_status(
        &self,
        tenant: &TenantId,
        card: &CardId,
        from: CardStatus,
        to: CardStatus,
    ) -> StoreResult<bool> {
        on_db!(self, |pool| {
            let mut conn = pool.write_conn().await?;
            let changed = sqlx::query(
                "UPDATE cards SET status = $1, version = version + 1, updated_at = $2
                 WHERE tenant_id = $3 AND id = $4 AND status = $5",
            )
            .bind(to)
            .bind(self.clock.now_rfc3339())
            .bind(tenant)
            .bind(card)
            .bind(from)
            .execute(&mut *conn)
            .await?;
            Ok(changed.rows_affected() == 1)
        })
    }

    /// Keeps a new payment code (its hash) for a card until `expires_ms`.
    pub async fn insert_payment_code(
        &self,
        tenant: &TenantId,
        card: &CardId,
        code_hash: &str,
        expires_ms: i64,
    ) -> StoreResult<()> {
        on_db!(self, |pool| {
            let mut conn = pool.write_conn().await?;
            sqlx::query(
                "INSERT INTO card_payment_codes (code_hash, tenant_id, card_id, expires_ms, created_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(code_hash)
            .bind(tenant)
            .bind(card)
            .bind(expires_ms)
            .bind(self.clock.now_rfc3339())
            .execute(&mut *conn)
            .await
            .map_err(|e| unique_violation(e, "card_payment_codes.code_hash"))?;
            Ok(())
        })
    }

    /// The card a code names, when it expires and the payment it is bound
    /// to, without binding it: what a combined order checks before it
    /// holds anything.
    pub async fn peek_payment_code(
        &self,
        tenant: &TenantId,
        code_hash: &str,
    ) -> StoreResult<Option<(CardId, i64, Option<PaymentId>)>> {
        on_db!(self, |pool| {
            Ok(sqlx::query_as(
            "SELECT card_id, expires_ms, payment_id FROM card_payment_codes WHERE code_hash = $1 AND tenant_id = $2",
        )
        .bind(code_hash)
        .bind(tenant)
        .fetch_optional(pool)
        .await?)
        })
    }

    /// Binds a presented code to `payment`: once bound, only that payment
    /// finds the card by it (a retried call of the same payment does). An
    /// expired code binds nothing.
    pub async fn use_payment_code(
        &self,
        tenant: &TenantId,
        code_hash: &str,
        payment: &PaymentId,
    ) -> StoreResult<CodeUse> {
        let now_ms = self.clock.now_millis();
        on_db!(self, |pool| {
            let mut conn = pool.write_conn().await?;
            sqlx::query(
                "UPDATE card_payment_codes SET payment_id = $1
                 WHERE code_hash = $2 AND tenant_id = $3 AND payment_id IS NULL AND expires_ms > $4",
            )
            .bind(payment)
            .bind(code_hash)
            .bind(tenant)
            .bind(now_ms)
            .execute(&mut *conn)
            .await?;
            let found: Option<(CardId, i64, Option<PaymentId>)> = sqlx::query_as(
                "SELECT card_id, expires_ms, payment_id FROM card_payment_codes WHERE code_hash = $1 AND tenant_id = $2",
            )
            .bind(code_hash)
            .bind(tenant)
            .fetch_optional(&mut *conn)
            .await?;
            Ok(match found {
                None => CodeUse::Unknown,
                Some((card, _, Some(bound))) if bound == *payment => CodeUse::Card(card),
                Some((_, _, Some(_))) => CodeUse::Used,
                Some(_) => CodeUse::Expired,
            })
        })
    }
}

/// The card an issue key made, if any.
trait CardRows {
    async fn existing_card(&mut self, new: &NewCard) -> StoreResult<Option<CardRecord>>;
}

impl_for_connections!(
    impl CardRows {
        async fn existing_card(&mut self, new: &NewCard) -> StoreResult<Option<CardRecord>> {
            Ok(
                sqlx::query_as("SELECT * FROM cards WHERE tenant_id = $1 AND issue_key = $2")
                    .bind(&new.tenant_id)
                    .bind(&new.issue_key)
                    .fetch_optional(&mut *self)
                    .await?,
            )
        }
    }
);

fn card_found(record: CardRecord, new: &NewCard) -> CardInsert {
    CardInsert::Existing {
        same_request: record.issue_hash == new.issue_hash,
        record,
    }
}
