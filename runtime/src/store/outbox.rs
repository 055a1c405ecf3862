//! The durable outbox of merchant webhooks.

use super::{Store, StoreResult};
use crate::domain::{now_millis, now_rfc3339};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct OutboxMessage {
    pub id: String,
    pub tenant_id: String,
    /// The payment the event is about (a refund event: its payment).
    pub payment_id: Option<String>,
    pub event_type: String,
    pub url: String,
    pub payload: String,
    /// Attempts so far, ever.
    pub attempts: i64,
    /// Failed attempts since the last (re)delivery was scheduled: the index
    /// into the retry schedule.
    pub retry_step: i64,
}

/// An outbox row with its delivery state, for the events API.
#[derive(Debug, Clone, FromRow)]
pub struct OutboxRecord {
    pub id: String,
    pub tenant_id: String,
    pub payment_id: Option<String>,
    pub event_type: String,
    pub url: String,
    pub payload: String,
    pub attempts: i64,
    pub retry_step: i64,
    pub next_attempt_ms: i64,
    pub delivered_at: Option<String>,
    pub dead: bool,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<String>,
    pub created_at: String,
}

pub(super) async fn enqueue(tx: &mut sqlx::SqliteConnection, m: &OutboxMessage) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO outbox (id, tenant_id, payment_id, event_type, url, payload, attempts, next_attempt_ms, created_at)
         VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)",
    )
    .bind(&m.id)
    .bind(&m.tenant_id)
    .bind(&m.payment_id)
    .bind(&m.event_type)
    .bind(&m.url)
    .bind(&m.payload)
    .bind(now_millis())
    .bind(now_rfc3339())
    .execute(tx)
    .await?;
    Ok(())
}

impl Store {
    /// Messages due for a delivery attempt, oldest first.
    pub async fn due_webhooks(&self, limit: i64) -> StoreResult<Vec<OutboxMessage>> {
        Ok(sqlx::query_as(
            "SELECT id, tenant_id, payment_id, event_type, url, payload, attempts, retry_step FROM outbox
             WHERE delivered_at IS NULL AND dead = 0 AND next_attempt_ms <= ?
             ORDER BY next_attempt_ms LIMIT ?",
        )
        .bind(now_millis())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn webhook_delivered(&self, id: &str) -> StoreResult<()> {
        let now = now_rfc3339();
        sqlx::query(
            "UPDATE outbox SET delivered_at = ?, last_attempt_at = ?, attempts = attempts + 1, last_error = NULL
             WHERE id = ?",
        )
        .bind(&now)
        .bind(&now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records a failed attempt; `retry_in_ms = None` gives up (dead letter).
    pub async fn webhook_failed(
        &self,
        id: &str,
        error: &str,
        retry_in_ms: Option<i64>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, retry_step = retry_step + 1, last_error = ?,
                last_attempt_at = ?, next_attempt_ms = ?, dead = ?
             WHERE id = ?",
        )
        .bind(error)
        .bind(now_rfc3339())
        .bind(now_millis() + retry_in_ms.unwrap_or(0))
        .bind(retry_in_ms.is_none())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// (event_type, delivered) of a tenant's webhooks, oldest first.
    pub async fn webhooks_of(&self, tenant_id: &str) -> StoreResult<Vec<(String, bool)>> {
        Ok(sqlx::query_as(
            "SELECT event_type, delivered_at IS NOT NULL FROM outbox WHERE tenant_id = ? ORDER BY created_at, rowid",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// A tenant's events about one payment (and its refunds), oldest first.
    pub async fn events_of_payment(
        &self,
        tenant_id: &str,
        payment_id: &str,
    ) -> StoreResult<Vec<OutboxRecord>> {
        Ok(sqlx::query_as(
            "SELECT * FROM outbox WHERE tenant_id = ? AND payment_id = ? ORDER BY created_at, rowid",
        )
        .bind(tenant_id)
        .bind(payment_id)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn outbox_event(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> StoreResult<Option<OutboxRecord>> {
        Ok(
            sqlx::query_as("SELECT * FROM outbox WHERE tenant_id = ? AND id = ?")
                .bind(tenant_id)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Schedules one event for delivery now, whatever became of it before
    /// (delivered, retrying or dead), with the retry schedule from its start.
    /// `None` when the tenant has no such event.
    pub async fn redeliver_webhook(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> StoreResult<Option<OutboxRecord>> {
        let updated = sqlx::query(
            "UPDATE outbox SET delivered_at = NULL, dead = 0, retry_step = 0, next_attempt_ms = ?
             WHERE tenant_id = ? AND id = ?",
        )
        .bind(now_millis())
        .bind(tenant_id)
        .bind(id)
        .execute(&self.pool)
        .await?;
        if updated.rows_affected() == 0 {
            return Ok(None);
        }
        self.outbox_event(tenant_id, id).await
    }

    /// Undelivered events by state — (waiting for a retry or a first
    /// attempt, dead letters) — for health and metrics.
    pub async fn outbox_backlog(&self) -> StoreResult<(i64, i64)> {
        Ok(sqlx::query_as(
            "SELECT COALESCE(SUM(dead = 0), 0), COALESCE(SUM(dead = 1), 0) FROM outbox WHERE delivered_at IS NULL",
        )
        .fetch_one(&self.pool)
        .await?)
    }
}

impl Store {
    /// Publishes the outbox backlog (waiting, dead letters, age of the
    /// oldest waiting) and the open payments (by status, age of the oldest
    /// `unknown`) as gauges, read at scrape time.
    pub async fn record_backlog_gauges(&self) -> StoreResult<()> {
        let (waiting, dead) = self.outbox_backlog().await?;
        metrics::gauge!("paycore_outbox_waiting").set(waiting as f64);
        metrics::gauge!("paycore_outbox_dead_letters").set(dead as f64);
        let oldest: Option<String> = sqlx::query_scalar(
            "SELECT MIN(created_at) FROM outbox WHERE delivered_at IS NULL AND dead = 0",
        )
        .fetch_one(&self.pool)
        .await?;
        let now = crate::domain::now_millis();
        let oldest_ms = oldest
            .and_then(|t| {
                time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339).ok()
            })
            .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64);
        metrics::gauge!("paycore_outbox_oldest_waiting_seconds")
            .set(oldest_ms.map_or(0.0, |ms| (now - ms).max(0) as f64 / 1000.0));
        let open: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT status, COUNT(*), MIN(created_ms) FROM payments WHERE status IN ('pending', 'processing', 'unknown') GROUP BY status",
        )
        .fetch_all(&self.pool)
        .await?;
        for status in ["pending", "processing", "unknown"] {
            let row = open.iter().find(|(s, _, _)| s == status);
            metrics::gauge!("paycore_payments_open", "status" => status)
                .set(row.map_or(0.0, |r| r.1 as f64));
            if status == "unknown" {
                let age = row.map_or(0.0, |r| (now - r.2).max(0) as f64 / 1000.0);
                metrics::gauge!("paycore_unknown_oldest_seconds").set(age);
            }
        }
        Ok(())
    }
}
