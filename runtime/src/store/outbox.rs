//! The durable outbox of merchant webhooks.

use super::{Store, StoreResult};
use crate::domain::{now_millis, now_rfc3339};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct OutboxMessage {
    pub id: String,
    pub tenant_id: String,
    pub event_type: String,
    pub url: String,
    pub payload: String,
    pub attempts: i64,
}

pub(super) async fn enqueue(tx: &mut sqlx::SqliteConnection, m: &OutboxMessage) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO outbox (id, tenant_id, event_type, url, payload, attempts, next_attempt_ms, created_at)
         VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
    )
    .bind(&m.id)
    .bind(&m.tenant_id)
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
            "SELECT id, tenant_id, event_type, url, payload, attempts FROM outbox
             WHERE delivered_at IS NULL AND dead = 0 AND next_attempt_ms <= ?
             ORDER BY next_attempt_ms LIMIT ?",
        )
        .bind(now_millis())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn webhook_delivered(&self, id: &str) -> StoreResult<()> {
        sqlx::query("UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?")
            .bind(now_rfc3339())
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
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_ms = ?, dead = ? WHERE id = ?",
        )
        .bind(error)
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
}
