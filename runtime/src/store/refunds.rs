//! Refund rows, and the payment columns that bound them.

use super::outbox::OutboxRows;
use super::refund_tenders::RefundPartRows;
use super::{
    Dialect, Event, EventRows, Store, StoreError, StoreResult, impl_for_connections, on_db,
    unique_violation,
};
use crate::domain::{PaymentId, PaymentStatus, RefundId, RefundStatus, TenantId};
use crate::money::Currency;
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct RefundRecord {
    pub id: RefundId,
    pub tenant_id: TenantId,
    pub payment_id: PaymentId,
    pub merchant_refund_no: String,
    pub request_hash: String,
    pub amount: i64,
    pub currency: Currency,
    pub reason: Option<String>,
    pub status: RefundStatus,
    pub channel_refund_no: Option<String>,
    pub failure: Option<String>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    pub created_ms: i64,
    /// A combined order's refund: what its channel (the external
    /// tender's) is asked for; none when that is the whole amount.
    pub channel_amount: Option<i64>,
}

impl RefundRecord {
    /// What the payment's channel is asked to give back.
    pub fn channel_amount(&self) -> i64 {
        self.channel_amount.unwrap_or(self.amount)
    }

    /// A refund of a combined order, allocated across its tenders.
    pub fn is_combined(&self) -> bool {
        self.channel_amount.is_some()
    }
}

/// An open refund the sweeper should look at, with how often it did.
#[derive(Debug, Clone, FromRow)]
pub struct DueRefund {
    #[sqlx(flatten)]
    pub record: RefundRecord,
    pub checks: i64,
}

#[derive(Clone)]
pub struct NewRefund {
    pub id: RefundId,
    pub tenant_id: TenantId,
    pub payment_id: PaymentId,
    pub merchant_refund_no: String,
    pub request_hash: String,
    pub amount: i64,
    pub currency: Currency,
    pub reason: Option<String>,
    /// Its first status and `refund.created` event, and the status the
    /// payment must have, as the state machine decided
    /// (`payments::machine::refund_created`, `REFUNDABLE`).
    pub status: RefundStatus,
    pub created: Event,
    pub refundable: PaymentStatus,
    /// A combined order's refund: how it is allocated across the tenders.
    pub allocate: Option<super::refund_tenders::Allocate>,
}

pub enum RefundInsert {
    Created(RefundRecord),
    /// A combined order's refund that cannot be allocated: why.
    Unallocatable(super::refund_tenders::Unallocatable),
    Existing {
        record: RefundRecord,
        same_request: bool,
    },
    /// The payment is not in a refundable state.
    NotRefundable,
    /// A cancel (reversal) of the payment is under way or its outcome is
    /// unknown: refunding too could give the payer the money twice.
    CancelInProgress,
    /// The amount is above what remains after non-failed refunds.
    ExceedsRemaining {
        remaining: i64,
    },
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RefundChange {
    pub status: Option<RefundStatus>,
    pub channel_refund_no: Option<String>,
    pub failure: Option<serde_json::Value>,
}

impl Store {
    /// Reserves the amount on the payment and inserts the refund, atomically:
    /// the conditional UPDATE is what keeps concurrent refunds from ever
    /// exceeding the payment amount, on any number of instances, and from
    /// meeting a cancel (`cancels.rs`).
    pub async fn insert_refund(&self, new: NewRefund) -> StoreResult<RefundInsert> {
        match self.try_insert_refund(&new).await {
            // The same refund number was inserted concurrently elsewhere; our
            // transaction (and its reservation) rolled back; the winner's row
            // is there now.
            Err(StoreError::Conflict(_)) => self.try_insert_refund(&new).await,
            outcome => outcome,
        }
    }

    async fn try_insert_refund(&self, new: &NewRefund) -> StoreResult<RefundInsert> {
        on_db!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let existing: Option<RefundRecord> = sqlx::query_as(
                "SELECT * FROM refunds WHERE tenant_id = $1 AND merchant_refund_no = $2",
            )
            .bind(&new.tenant_id)
            .bind(&new.merchant_refund_no)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(record) = existing {
                return Ok(RefundInsert::Existing {
                    same_request: record.request_hash == new.request_hash,
                    record,
                });
            }
            let reserved = sqlx::query(
                "UPDATE payments SET refund_reserved = refund_reserved + $1, version = version + 1
                 WHERE id = $2 AND tenant_id = $3 AND status = $4 AND refund_reserved + $1 <= amount
                    AND cancel_in_progress = 0",
            )
            .bind(new.amount)
            .bind(&new.payment_id)
            .bind(&new.tenant_id)
            .bind(new.refundable.as_str())
            .execute(&mut *tx)
            .await?;
            if reserved.rows_affected() == 0 {
                let state: Option<(PaymentStatus, i64, i64, i64)> = sqlx::query_as(
                    "SELECT status, amount, refund_reserved, cancel_in_progress FROM payments WHERE id = $1 AND tenant_id = $2",
                )
                .bind(&new.payment_id)
                .bind(&new.tenant_id)
                .fetch_optional(&mut *tx)
                .await?;
                return match state {
                    None => Err(StoreError::NotFound),
                    Some((status, _, _, _)) if status != new.refundable => {
                        Ok(RefundInsert::NotRefundable)
                    }
                    Some((_, _, _, cancelling)) if cancelling != 0 => {
                        Ok(RefundInsert::CancelInProgress)
                    }
                    Some((_, amount, reserved, _)) => Ok(RefundInsert::ExceedsRemaining {
                        remaining: amount - reserved,
                    }),
                };
            }
            // Allocated after the reservation, which serialises this
            // payment's refunds: each sees what the ones before it took.
            let parts = match &new.allocate {
                None => Vec::new(),
                Some(allocate) => {
                    let refunded = tx
                        .refunded_by_position(&new.tenant_id, &new.payment_id)
                        .await?;
                    match allocate(&refunded) {
                        Ok(parts) => parts,
                        // Dropping the transaction gives the reservation back.
                        Err(why) => return Ok(RefundInsert::Unallocatable(why)),
                    }
                }
            };
            let channel_amount = new.allocate.as_ref().map(|_| {
                parts
                    .iter()
                    .filter(|p| p.kind == "external")
                    .map(|p| p.amount)
                    .sum::<i64>()
            });
            let now = self.clock.now_rfc3339();
            sqlx::query(
                "INSERT INTO refunds (id, tenant_id, payment_id, merchant_refund_no, request_hash, amount, currency,
                    reason, status, created_at, updated_at, created_ms, channel_amount)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $12, $9, $10, $11, $13)",
            )
            .bind(&new.id)
            .bind(&new.tenant_id)
            .bind(&new.payment_id)
            .bind(&new.merchant_refund_no)
            .bind(&new.request_hash)
            .bind(new.amount)
            .bind(&new.currency)
            .bind(&new.reason)
            .bind(&now)
            .bind(&now)
            .bind(self.clock.now_millis())
            .bind(new.status.as_str())
            .bind(channel_amount)
            .execute(&mut *tx)
            .await
            .map_err(|e| unique_violation(e, "refunds_tenant_refund_key"))?;
            for part in parts.iter().filter(|p| p.amount > 0) {
                tx.insert_refund_part(&new.tenant_id, &new.id, part).await?;
            }
            tx.append_event(&new.tenant_id, "refund", &new.id, &new.created, &self.clock)
                .await?;
            let record = tx
                .fetch_refund(&new.tenant_id, &new.id)
                .await?
                .ok_or(StoreError::NotFound)?;
            tx.commit().await?;
            Ok(RefundInsert::Created(record))
        })
    }

    pub async fn refund(
        &self,
        tenant_id: &TenantId,
        id: &RefundId,
    ) -> StoreResult<Option<RefundRecord>> {
        on_db!(self, |pool| pool
            .acquire()
            .await?
            .fetch_refund(tenant_id, id)
            .await)
    }

    pub async fn refund_by_no(
        &self,
        tenant_id: &TenantId,
        merchant_refund_no: &str,
    ) -> StoreResult<Option<RefundRecord>> {
        let sql = "SELECT * FROM refunds WHERE tenant_id = $1 AND merchant_refund_no = $2";
        Ok(on_db!(self, |pool| sqlx::query_as(sql)
            .bind(tenant_id)
            .bind(merchant_refund_no)
            .fetch_optional(pool)
            .await)?)
    }

    /// Applies a refund state change and moves the payment's refund totals
    /// with it: a failed refund releases its reservation, a succeeded one
    /// adds to `refunded_amount`.
    pub async fn apply_refund_change(
        &self,
        current: &RefundRecord,
        change: &RefundChange,
        event: &Event,
        webhook: Option<super::OutboxMessage>,
    ) -> StoreResult<RefundRecord> {
        let totals = match change.status {
            Some(RefundStatus::Failed) => Some(
                "UPDATE payments SET refund_reserved = refund_reserved - $1, version = version + 1 WHERE id = $2",
            ),
            Some(RefundStatus::Succeeded) => Some(
                "UPDATE payments SET refunded_amount = refunded_amount + $1, version = version + 1 WHERE id = $2",
            ),
            _ => None,
        };
        on_db!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            // RETURNING: the refund as changed, or none when it changed first
            // (the totals below change the payment row, not this one).
            let updated: Option<RefundRecord> = sqlx::query_as(
                "UPDATE refunds SET
                    status = COALESCE($1, status),
                    channel_refund_no = COALESCE($2, channel_refund_no),
                    failure = COALESCE($3, failure),
                    settled_ms = CASE WHEN $1 = 'succeeded' AND settled_ms IS NULL
                        THEN $8 ELSE settled_ms END,
                    version = version + 1,
                    updated_at = $4
                 WHERE id = $5 AND tenant_id = $6 AND version = $7
                 RETURNING *",
            )
            .bind(change.status.map(|s| s.as_str()))
            .bind(&change.channel_refund_no)
            .bind(change.failure.as_ref().map(|f| f.to_string()))
            .bind(self.clock.now_rfc3339())
            .bind(&current.id)
            .bind(&current.tenant_id)
            .bind(current.version)
            .bind(self.clock.now_millis())
            .fetch_optional(&mut *tx)
            .await?;
            let record = updated.ok_or(StoreError::Stale)?;
            if let Some(sql) = totals {
                sqlx::query(sql)
                    .bind(current.amount)
                    .bind(&current.payment_id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.append_event(
                &current.tenant_id,
                "refund",
                &current.id,
                event,
                &self.clock,
            )
            .await?;
            if let Some(message) = webhook {
                tx.enqueue(&message, &self.clock).await?;
            }
            tx.commit().await?;
            Ok(record)
        })
    }

    /// Records an event without changing the refund (e.g. a refused transition).
    pub async fn record_refund_event(
        &self,
        current: &RefundRecord,
        event: &Event,
    ) -> StoreResult<()> {
        self.record_event(&current.tenant_id, "refund", &current.id, event)
            .await
    }
}

pub(super) trait RefundRows {
    async fn fetch_refund(
        &mut self,
        tenant_id: &TenantId,
        id: &RefundId,
    ) -> StoreResult<Option<RefundRecord>>;
}

impl_for_connections! {
    impl RefundRows {
        async fn fetch_refund(
            &mut self,
            tenant_id: &TenantId,
            id: &RefundId,
        ) -> StoreResult<Option<RefundRecord>> {
            Ok(sqlx::query_as("SELECT * FROM refunds WHERE id = $1 AND tenant_id = $2")
                .bind(id)
                .bind(tenant_id)
                .fetch_optional(self)
                .await?)
        }
    }
}
