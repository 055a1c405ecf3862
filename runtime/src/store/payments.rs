//! Payment rows.

use super::{Event, Store, StoreError, StoreResult, append_event, unique_violation};
use crate::domain::{PaymentStatus, now_millis, now_rfc3339};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct PaymentRecord {
    pub id: String,
    pub tenant_id: String,
    pub merchant_order_no: String,
    pub request_hash: String,
    pub request: String,
    pub status: String,
    pub scene: String,
    pub wallet: String,
    pub amount: i64,
    pub currency: String,
    pub refunded_amount: i64,
    pub refund_reserved: i64,
    pub channel_id: String,
    pub plugin_name: String,
    pub plugin_version: String,
    pub channel_order_no: Option<String>,
    pub action: Option<String>,
    pub failure: Option<String>,
    pub notify_url: Option<String>,
    pub metadata: String,
    pub review_reason: Option<String>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    pub created_ms: i64,
    /// JSON array of the channels tried, oldest first.
    pub attempts: String,
}

impl PaymentRecord {
    pub fn status(&self) -> PaymentStatus {
        // Only the state machine writes this column, always from the enum.
        self.status.parse().unwrap_or(PaymentStatus::Unknown)
    }
}

/// An open payment the sweeper should look at, with how often it did.
#[derive(Debug, Clone, FromRow)]
pub struct DuePayment {
    #[sqlx(flatten)]
    pub record: PaymentRecord,
    pub checks: i64,
}

/// A payment about to be submitted; it is stored as `unknown` before the
/// channel is called, so a crash mid-call leaves a row the sweeper resolves.
#[derive(Debug, Clone)]
pub struct NewPayment {
    pub id: String,
    pub tenant_id: String,
    pub merchant_order_no: String,
    pub request_hash: String,
    pub request: String,
    pub scene: String,
    pub wallet: String,
    pub amount: i64,
    pub currency: String,
    pub channel_id: String,
    pub plugin_name: String,
    pub plugin_version: String,
    pub notify_url: Option<String>,
    pub metadata: String,
    pub idempotency_key: Option<String>,
}

/// The channel a still-`unknown` payment moves to.
#[derive(Debug, Clone)]
pub struct ChannelSwitch {
    pub channel_id: String,
    pub plugin_name: String,
    pub plugin_version: String,
    pub wallet: String,
}

pub enum InsertOutcome {
    Created(PaymentRecord),
    /// The order number or idempotency key was seen before.
    Existing {
        record: PaymentRecord,
        same_request: bool,
    },
}

/// A state change decided by the state machine.
#[derive(Debug, Clone, Default)]
pub struct PaymentChange {
    pub status: Option<PaymentStatus>,
    pub channel_order_no: Option<String>,
    pub action: Option<serde_json::Value>,
    pub failure: Option<Option<serde_json::Value>>,
    pub review_reason: Option<String>,
}

impl Store {
    pub async fn insert_payment(&self, new: NewPayment) -> StoreResult<InsertOutcome> {
        let mut tx = self.write_tx().await?;
        if let Some(key) = &new.idempotency_key {
            let seen: Option<(String, String)> =
                sqlx::query_as("SELECT request_hash, payment_id FROM idempotency_keys WHERE tenant_id = ? AND key = ?")
                    .bind(&new.tenant_id)
                    .bind(key)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some((hash, payment_id)) = seen {
                let record = fetch(&mut tx, &new.tenant_id, &payment_id)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                return Ok(InsertOutcome::Existing {
                    same_request: hash == new.request_hash,
                    record,
                });
            }
        }
        let existing: Option<PaymentRecord> =
            sqlx::query_as("SELECT * FROM payments WHERE tenant_id = ? AND merchant_order_no = ?")
                .bind(&new.tenant_id)
                .bind(&new.merchant_order_no)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(record) = existing {
            return Ok(InsertOutcome::Existing {
                same_request: record.request_hash == new.request_hash,
                record,
            });
        }
        let now = now_rfc3339();
        sqlx::query(
            "INSERT INTO payments (id, tenant_id, merchant_order_no, request_hash, request, status, scene, wallet,
                amount, currency, channel_id, plugin_name, plugin_version, notify_url, metadata,
                created_at, updated_at, created_ms)
             VALUES (?, ?, ?, ?, ?, 'unknown', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&new.id)
        .bind(&new.tenant_id)
        .bind(&new.merchant_order_no)
        .bind(&new.request_hash)
        .bind(&new.request)
        .bind(&new.scene)
        .bind(&new.wallet)
        .bind(new.amount)
        .bind(&new.currency)
        .bind(&new.channel_id)
        .bind(&new.plugin_name)
        .bind(&new.plugin_version)
        .bind(&new.notify_url)
        .bind(&new.metadata)
        .bind(&now)
        .bind(&now)
        .bind(now_millis())
        .execute(&mut *tx)
        .await
        .map_err(|e| unique_violation(e, "payments_tenant_order_key"))?;
        if let Some(key) = &new.idempotency_key {
            sqlx::query(
                "INSERT INTO idempotency_keys (tenant_id, key, request_hash, payment_id, created_at) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(&new.tenant_id)
            .bind(key)
            .bind(&new.request_hash)
            .bind(&new.id)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        let event = Event {
            kind: "payment.created",
            from_status: None,
            to_status: Some("unknown".into()),
            detail: serde_json::json!({ "channel": new.channel_id, "plugin": format!("{}@{}", new.plugin_name, new.plugin_version) }),
        };
        append_event(&mut tx, &new.tenant_id, "payment", &new.id, &event).await?;
        let record = fetch(&mut tx, &new.tenant_id, &new.id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(InsertOutcome::Created(record))
    }

    pub async fn payment(&self, tenant_id: &str, id: &str) -> StoreResult<Option<PaymentRecord>> {
        let mut conn = self.pool.acquire().await?;
        fetch(&mut conn, tenant_id, id).await
    }

    pub async fn payment_by_order_no(
        &self,
        tenant_id: &str,
        merchant_order_no: &str,
    ) -> StoreResult<Option<PaymentRecord>> {
        Ok(
            sqlx::query_as("SELECT * FROM payments WHERE tenant_id = ? AND merchant_order_no = ?")
                .bind(tenant_id)
                .bind(merchant_order_no)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Open payments (`pending`, `processing`, `unknown`) whose next check is
    /// due — by default `min_age_ms` after creation, then as the sweeper
    /// scheduled it — most overdue first: the sweeper's work list.
    pub async fn due_payments(&self, min_age_ms: i64, limit: i64) -> StoreResult<Vec<DuePayment>> {
        Ok(sqlx::query_as(
            "SELECT * FROM payments WHERE status IN ('pending', 'processing', 'unknown')
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

    /// Records that the sweeper checked a payment and when to check it next.
    /// Not a state change: no version bump, no event.
    pub async fn schedule_payment_check(
        &self,
        tenant_id: &str,
        id: &str,
        checks: i64,
        next_check_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE payments SET checks = ?, next_check_ms = ? WHERE id = ? AND tenant_id = ?",
        )
        .bind(checks)
        .bind(next_check_ms)
        .bind(id)
        .bind(tenant_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Applies a change decided by the state machine, if nobody changed the
    /// row since `current` was read; appends `event` and, when given, queues
    /// the merchant webhook in the same transaction.
    pub async fn apply_payment_change(
        &self,
        current: &PaymentRecord,
        change: &PaymentChange,
        event: &Event,
        webhook: Option<super::OutboxMessage>,
    ) -> StoreResult<PaymentRecord> {
        let mut tx = self.write_tx().await?;
        let failure = change
            .failure
            .as_ref()
            .map(|f| f.as_ref().map(|v| v.to_string()));
        let updated = sqlx::query(
            "UPDATE payments SET
                status = COALESCE(?, status),
                channel_order_no = COALESCE(?, channel_order_no),
                action = COALESCE(?, action),
                failure = CASE WHEN ? THEN ? ELSE failure END,
                review_reason = COALESCE(?, review_reason),
                version = version + 1,
                updated_at = ?
             WHERE id = ? AND tenant_id = ? AND version = ?",
        )
        .bind(change.status.map(|s| s.as_str()))
        .bind(&change.channel_order_no)
        .bind(change.action.as_ref().map(|a| a.to_string()))
        .bind(failure.is_some())
        .bind(failure.flatten())
        .bind(&change.review_reason)
        .bind(now_rfc3339())
        .bind(&current.id)
        .bind(&current.tenant_id)
        .bind(current.version)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::Stale);
        }
        append_event(&mut tx, &current.tenant_id, "payment", &current.id, event).await?;
        if let Some(message) = webhook {
            super::outbox::enqueue(&mut tx, &message).await?;
        }
        let record = fetch(&mut tx, &current.tenant_id, &current.id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(record)
    }

    /// Appends one channel attempt to the payment's `attempts` and records
    /// its event, in one transaction. Status and version are untouched: an
    /// attempt is history, not a state change.
    pub async fn record_attempt(
        &self,
        current: &PaymentRecord,
        attempt: &serde_json::Value,
        event: &Event,
    ) -> StoreResult<PaymentRecord> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "UPDATE payments SET attempts = json_insert(attempts, '$[#]', json(?)) WHERE id = ? AND tenant_id = ?",
        )
        .bind(attempt.to_string())
        .bind(&current.id)
        .bind(&current.tenant_id)
        .execute(&mut *tx)
        .await?;
        append_event(&mut tx, &current.tenant_id, "payment", &current.id, event).await?;
        let record = fetch(&mut tx, &current.tenant_id, &current.id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(record)
    }

    /// Moves a payment that is still `unknown` (its previous channel
    /// certainly took no money) to another channel, with its event. `Stale`
    /// if the row changed since `current` was read or is no longer unknown.
    pub async fn switch_payment_channel(
        &self,
        current: &PaymentRecord,
        to: &ChannelSwitch,
        event: &Event,
    ) -> StoreResult<PaymentRecord> {
        let mut tx = self.write_tx().await?;
        let updated = sqlx::query(
            "UPDATE payments SET channel_id = ?, plugin_name = ?, plugin_version = ?, wallet = ?,
                version = version + 1, updated_at = ?
             WHERE id = ? AND tenant_id = ? AND version = ? AND status = 'unknown'",
        )
        .bind(&to.channel_id)
        .bind(&to.plugin_name)
        .bind(&to.plugin_version)
        .bind(&to.wallet)
        .bind(now_rfc3339())
        .bind(&current.id)
        .bind(&current.tenant_id)
        .bind(current.version)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::Stale);
        }
        append_event(&mut tx, &current.tenant_id, "payment", &current.id, event).await?;
        let record = fetch(&mut tx, &current.tenant_id, &current.id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(record)
    }

    /// Records an event without changing state (e.g. a refused transition).
    pub async fn record_payment_event(
        &self,
        current: &PaymentRecord,
        event: &Event,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        append_event(&mut tx, &current.tenant_id, "payment", &current.id, event).await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn fetch(
    conn: &mut sqlx::SqliteConnection,
    tenant_id: &str,
    id: &str,
) -> StoreResult<Option<PaymentRecord>> {
    Ok(
        sqlx::query_as("SELECT * FROM payments WHERE id = ? AND tenant_id = ?")
            .bind(id)
            .bind(tenant_id)
            .fetch_optional(conn)
            .await?,
    )
}
