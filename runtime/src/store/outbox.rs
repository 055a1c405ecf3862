//! The durable outbox of merchant webhooks.

use super::{Dialect, Dialects, Store, StoreResult, impl_for_connections, on_db};
use crate::clock::Clock;
use crate::domain::{PaymentId, TenantId};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct OutboxMessage {
    pub id: String,
    pub tenant_id: TenantId,
    /// The payment the event is about (a refund event: its payment).
    pub payment_id: Option<PaymentId>,
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
    pub tenant_id: TenantId,
    pub payment_id: Option<PaymentId>,
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

pub(super) trait OutboxRows {
    /// Queues a message, in the transaction of the change it announces.
    async fn enqueue(&mut self, m: &OutboxMessage, clock: &Clock) -> StoreResult<()>;
}

impl_for_connections! {
    impl OutboxRows {
        async fn enqueue(&mut self, m: &OutboxMessage, clock: &Clock) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO outbox (id, tenant_id, payment_id, event_type, url, payload, attempts, next_attempt_ms, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8)",
            )
            .bind(&m.id)
            .bind(&m.tenant_id)
            .bind(&m.payment_id)
            .bind(&m.event_type)
            .bind(&m.url)
            .bind(&m.payload)
            .bind(clock.now_millis())
            .bind(clock.now_rfc3339())
            .execute(self)
            .await?;
            Ok(())
        }
    }
}

/// The delivery claim: `$1` now, `$2` lease, `$3` instance, `$4` limit.
/// PostgreSQL skips rows another instance is claiming instead of waiting
/// for them, so instances polling together split the due rows.
macro_rules! claim_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE outbox SET next_attempt_ms = $1 + $2, claimed_by = $3 WHERE id IN (
                SELECT id FROM outbox WHERE delivered_at IS NULL AND dead = FALSE AND next_attempt_ms <= $1
                ORDER BY next_attempt_ms LIMIT $4",
            $lock,
            ") RETURNING id, tenant_id, payment_id, event_type, url, payload, attempts, retry_step"
        )
    };
}

const CLAIM: Dialects = Dialects {
    sqlite: claim_sql!(""),
    postgres: claim_sql!(" FOR UPDATE SKIP LOCKED"),
};

impl Store {
    /// Claims messages due for a delivery attempt, oldest first, for
    /// `lease_ms`: their next attempt moves that far ahead, so no other
    /// instance sends them meanwhile, and if this one dies before recording
    /// the outcome another sends them once the lease runs out.
    pub async fn claim_webhooks(
        &self,
        limit: i64,
        lease_ms: i64,
    ) -> StoreResult<Vec<OutboxMessage>> {
        // RETURNING gives no order; a batch is delivered concurrently anyway.
        Ok(on_db!(self, |pool| sqlx::query_as(pool.pick(&CLAIM))
            .bind(self.clock.now_millis())
            .bind(lease_ms)
            .bind(self.instance())
            .bind(limit)
            .fetch_all(&mut *pool.write_conn().await?)
            .await)?)
    }

    pub async fn webhook_delivered(&self, id: &str) -> StoreResult<()> {
        let now = self.clock.now_rfc3339();
        let sql = "UPDATE outbox SET delivered_at = $1, last_attempt_at = $1, attempts = attempts + 1, last_error = NULL,
                claimed_by = NULL
             WHERE id = $2";
        on_db!(self, |pool| sqlx::query(sql)
            .bind(&now)
            .bind(id)
            .execute(&mut *pool.write_conn().await?)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Records a failed attempt; `retry_in_ms = None` gives up (dead letter).
    pub async fn webhook_failed(
        &self,
        id: &str,
        error: &str,
        retry_in_ms: Option<i64>,
    ) -> StoreResult<()> {
        let sql = "UPDATE outbox SET attempts = attempts + 1, retry_step = retry_step + 1, last_error = $1,
                last_attempt_at = $2, next_attempt_ms = $3, dead = $4, claimed_by = NULL
             WHERE id = $5";
        on_db!(self, |pool| sqlx::query(sql)
            .bind(error)
            .bind(self.clock.now_rfc3339())
            .bind(self.clock.now_millis() + retry_in_ms.unwrap_or(0))
            .bind(retry_in_ms.is_none())
            .bind(id)
            .execute(&mut *pool.write_conn().await?)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// (event_type, delivered) of a tenant's webhooks, oldest first.
    pub async fn webhooks_of(&self, tenant_id: &TenantId) -> StoreResult<Vec<(String, bool)>> {
        let sql = "SELECT event_type, delivered_at IS NOT NULL FROM outbox WHERE tenant_id = $1
             ORDER BY created_at, rowid";
        Ok(on_db!(self, |pool| sqlx::query_as(sql)
            .bind(tenant_id)
            .fetch_all(pool)
            .await)?)
    }

    /// A tenant's events about one payment (and its refunds), oldest first.
    pub async fn events_of_payment(
        &self,
        tenant_id: &TenantId,
        payment_id: &PaymentId,
    ) -> StoreResult<Vec<OutboxRecord>> {
        let sql = "SELECT * FROM outbox WHERE tenant_id = $1 AND payment_id = $2 ORDER BY created_at, rowid";
        Ok(on_db!(self, |pool| sqlx::query_as(sql)
            .bind(tenant_id)
            .bind(payment_id)
            .fetch_all(pool)
            .await)?)
    }

    pub async fn outbox_event(
        &self,
        tenant_id: &TenantId,
        id: &str,
    ) -> StoreResult<Option<OutboxRecord>> {
        let sql = "SELECT * FROM outbox WHERE tenant_id = $1 AND id = $2";
        Ok(on_db!(self, |pool| sqlx::query_as(sql)
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(pool)
            .await)?)
    }

    /// Schedules one event for delivery now, whatever became of it before
    /// (delivered, retrying or dead), with the retry schedule from its start.
    /// `None` when the tenant has no such event.
    pub async fn redeliver_webhook(
        &self,
        tenant_id: &TenantId,
        id: &str,
    ) -> StoreResult<Option<OutboxRecord>> {
        let sql = "UPDATE outbox SET delivered_at = NULL, dead = FALSE, retry_step = 0, next_attempt_ms = $1
             WHERE tenant_id = $2 AND id = $3";
        let updated = on_db!(self, |pool| sqlx::query(sql)
            .bind(self.clock.now_millis())
            .bind(tenant_id)
            .bind(id)
            .execute(&mut *pool.write_conn().await?)
            .await
            .map(|r| r.rows_affected()))?;
        if updated == 0 {
            return Ok(None);
        }
        self.outbox_event(tenant_id, id).await
    }

    /// Undelivered events by state — (waiting for a retry or a first
    /// attempt, dead letters) — for health and metrics.
    pub async fn outbox_backlog(&self) -> StoreResult<(i64, i64)> {
        let sql = "SELECT COALESCE(SUM(CASE WHEN dead THEN 0 ELSE 1 END), 0),
                COALESCE(SUM(CASE WHEN dead THEN 1 ELSE 0 END), 0)
             FROM outbox WHERE delivered_at IS NULL";
        Ok(on_db!(self, |pool| sqlx::query_as(sql)
            .fetch_one(pool)
            .await)?)
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
        let sql = "SELECT MIN(created_at) FROM outbox WHERE delivered_at IS NULL AND dead = FALSE";
        let oldest: Option<String> =
            on_db!(self, |pool| sqlx::query_scalar(sql).fetch_one(pool).await)?;
        let now = self.clock.now_millis();
        let oldest_ms = oldest
            .and_then(|t| {
                time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339).ok()
            })
            .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64);
        metrics::gauge!("paycore_outbox_oldest_waiting_seconds")
            .set(oldest_ms.map_or(0.0, |ms| (now - ms).max(0) as f64 / 1000.0));
        let sql = "SELECT status, COUNT(*), MIN(created_ms) FROM payments
             WHERE status IN ('pending', 'processing', 'unknown') GROUP BY status";
        let open: Vec<(String, i64, i64)> =
            on_db!(self, |pool| sqlx::query_as(sql).fetch_all(pool).await)?;
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
