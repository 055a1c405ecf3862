//! Refund rows, and the payment columns that bound them.

use super::{Event, Store, StoreError, StoreResult, append_event, unique_violation};
use crate::domain::{RefundStatus, now_millis, now_rfc3339};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct RefundRecord {
    pub id: String,
    pub tenant_id: String,
    pub payment_id: String,
    pub merchant_refund_no: String,
    pub request_hash: String,
    pub amount: i64,
    pub currency: String,
    pub reason: Option<String>,
    pub status: String,
    pub channel_refund_no: Option<String>,
    pub failure: Option<String>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    pub created_ms: i64,
}

impl RefundRecord {
    pub fn status(&self) -> RefundStatus {
        self.status.parse().unwrap_or(RefundStatus::Pending)
    }
}

/// An open refund the sweeper should look at, with how often it did.
#[derive(Debug, Clone, FromRow)]
pub struct DueRefund {
    #[sqlx(flatten)]
    pub record: RefundRecord,
    pub checks: i64,
}

#[derive(Debug, Clone)]
pub struct NewRefund {
    pub id: String,
    pub tenant_id: String,
    pub payment_id: String,
    pub merchant_refund_no: String,
    pub request_hash: String,
    pub amount: i64,
    pub currency: String,
    pub reason: Option<String>,
}

pub enum RefundInsert {
    Created(RefundRecord),
    Existing {
        record: RefundRecord,
        same_request: bool,
    },
    /// The payment is not in a refundable state.
    NotRefundable,
    /// The amount is above what remains after non-failed refunds.
    ExceedsRemaining {
        remaining: i64,
    },
}

#[derive(Debug, Clone, Default)]
pub struct RefundChange {
    pub status: Option<RefundStatus>,
    pub channel_refund_no: Option<String>,
    pub failure: Option<serde_json::Value>,
}

impl Store {
    /// Reserves the amount on the payment and inserts the refund, atomically:
    /// the conditional UPDATE is what keeps concurrent refunds from ever
    /// exceeding the payment amount.
    pub async fn insert_refund(&self, new: NewRefund) -> StoreResult<RefundInsert> {
        let mut tx = self.write_tx().await?;
        let existing: Option<RefundRecord> =
            sqlx::query_as("SELECT * FROM refunds WHERE tenant_id = ? AND merchant_refund_no = ?")
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
            "UPDATE payments SET refund_reserved = refund_reserved + ?, version = version + 1
             WHERE id = ? AND tenant_id = ? AND status = 'succeeded' AND refund_reserved + ? <= amount",
        )
        .bind(new.amount)
        .bind(&new.payment_id)
        .bind(&new.tenant_id)
        .bind(new.amount)
        .execute(&mut *tx)
        .await?;
        if reserved.rows_affected() == 0 {
            let state: Option<(String, i64, i64)> =
                sqlx::query_as("SELECT status, amount, refund_reserved FROM payments WHERE id = ? AND tenant_id = ?")
                    .bind(&new.payment_id)
                    .bind(&new.tenant_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            return match state {
                None => Err(StoreError::NotFound),
                Some((status, _, _)) if status != "succeeded" => Ok(RefundInsert::NotRefundable),
                Some((_, amount, reserved)) => Ok(RefundInsert::ExceedsRemaining {
                    remaining: amount - reserved,
                }),
            };
        }
        let now = now_rfc3339();
        sqlx::query(
            "INSERT INTO refunds (id, tenant_id, payment_id, merchant_refund_no, request_hash, amount, currency,
                reason, status, created_at, updated_at, created_ms)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
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
        .bind(now_millis())
        .execute(&mut *tx)
        .await
        .map_err(|e| unique_violation(e, "refunds_tenant_refund_key"))?;
        let event = Event {
            kind: "refund.created",
            from_status: None,
            to_status: Some("pending".into()),
            detail: serde_json::json!({ "payment_id": new.payment_id, "amount": new.amount }),
        };
        append_event(&mut tx, &new.tenant_id, "refund", &new.id, &event).await?;
        let record = fetch(&mut tx, &new.tenant_id, &new.id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(RefundInsert::Created(record))
    }

    pub async fn refund(&self, tenant_id: &str, id: &str) -> StoreResult<Option<RefundRecord>> {
        let mut conn = self.pool.acquire().await?;
        fetch(&mut conn, tenant_id, id).await
    }

    pub async fn refund_by_no(
        &self,
        tenant_id: &str,
        merchant_refund_no: &str,
    ) -> StoreResult<Option<RefundRecord>> {
        Ok(
            sqlx::query_as("SELECT * FROM refunds WHERE tenant_id = ? AND merchant_refund_no = ?")
                .bind(tenant_id)
                .bind(merchant_refund_no)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Open refunds (`pending`, `processing`) whose next check is due, most
    /// overdue first: the sweeper's work list.
    pub async fn due_refunds(&self, min_age_ms: i64, limit: i64) -> StoreResult<Vec<DueRefund>> {
        Ok(sqlx::query_as(
            "SELECT * FROM refunds WHERE status IN ('pending', 'processing')
                AND COALESCE(next_check_ms, created_ms + ?) <= ?
             ORDER BY COALESCE(next_check_ms, created_ms + ?) LIMIT ?",
        )
        .bind(min_age_ms)
        .bind(now_millis())
        .bind(min_age_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Records that the sweeper checked a refund and when to check it next.
    pub async fn schedule_refund_check(
        &self,
        tenant_id: &str,
        id: &str,
        checks: i64,
        next_check_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE refunds SET checks = ?, next_check_ms = ? WHERE id = ? AND tenant_id = ?",
        )
        .bind(checks)
        .bind(next_check_ms)
        .bind(id)
        .bind(tenant_id)
        .execute(&self.pool)
        .await?;
        Ok(())
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
        let mut tx = self.write_tx().await?;
        let updated = sqlx::query(
            "UPDATE refunds SET
                status = COALESCE(?, status),
                channel_refund_no = COALESCE(?, channel_refund_no),
                failure = COALESCE(?, failure),
                version = version + 1,
                updated_at = ?
             WHERE id = ? AND tenant_id = ? AND version = ?",
        )
        .bind(change.status.map(|s| s.as_str()))
        .bind(&change.channel_refund_no)
        .bind(change.failure.as_ref().map(|f| f.to_string()))
        .bind(now_rfc3339())
        .bind(&current.id)
        .bind(&current.tenant_id)
        .bind(current.version)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::Stale);
        }
        let totals = match change.status {
            Some(RefundStatus::Failed) => Some(
                "UPDATE payments SET refund_reserved = refund_reserved - ?, version = version + 1 WHERE id = ?",
            ),
            Some(RefundStatus::Succeeded) => Some(
                "UPDATE payments SET refunded_amount = refunded_amount + ?, version = version + 1 WHERE id = ?",
            ),
            _ => None,
        };
        if let Some(sql) = totals {
            sqlx::query(sql)
                .bind(current.amount)
                .bind(&current.payment_id)
                .execute(&mut *tx)
                .await?;
        }
        append_event(&mut tx, &current.tenant_id, "refund", &current.id, event).await?;
        if let Some(message) = webhook {
            super::outbox::enqueue(&mut tx, &message).await?;
        }
        let record = fetch(&mut tx, &current.tenant_id, &current.id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(record)
    }
}

async fn fetch(
    conn: &mut sqlx::SqliteConnection,
    tenant_id: &str,
    id: &str,
) -> StoreResult<Option<RefundRecord>> {
    Ok(
        sqlx::query_as("SELECT * FROM refunds WHERE id = ? AND tenant_id = ?")
            .bind(id)
            .bind(tenant_id)
            .fetch_optional(conn)
            .await?,
    )
}

impl Store {
    /// Records an event without changing the refund (e.g. a refused transition).
    pub async fn record_refund_event(
        &self,
        current: &RefundRecord,
        event: &Event,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        append_event(&mut tx, &current.tenant_id, "refund", &current.id, event).await?;
        tx.commit().await?;
        Ok(())
    }
}
