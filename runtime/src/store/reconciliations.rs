//! Reconciliation's reads and writes (migration 0015): paycore's side of a
//! business day — payments and refunds by the numbers a statement names,
//! and those settled within the day — and the runs with what they found.
//! Every query carries the tenant and uses an index: a day of 100,000 lines
//! reads in chunks by primary or unique key, never by scanning a table.

use super::outbox::OutboxRows;
use super::{Dialect, OutboxMessage, Store, StoreResult, on_db};
use crate::domain::{PaymentId, PaymentStatus, RefundId, RefundStatus, TenantId};
use sqlx::FromRow;

/// Numbers per `IN (…)` list: well below both backends' parameter limits.
const CHUNK: usize = 200;

/// A payment as reconciliation compares it: at the channel, what the
/// channel was asked for (a combined order's external tender).
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ComparedPayment {
    pub id: PaymentId,
    pub merchant_order_no: String,
    pub channel_id: String,
    pub channel_order_no: Option<String>,
    pub amount: i64,
    pub currency: String,
    pub status: PaymentStatus,
    /// When it first succeeded.
    pub paid_ms: Option<i64>,
    /// When it was cancelled (reversed, if it had been paid).
    pub cancelled_ms: Option<i64>,
}

/// A refund as reconciliation compares it, with its payment's number and
/// channel.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ComparedRefund {
    pub id: RefundId,
    pub payment_id: PaymentId,
    pub merchant_order_no: String,
    pub channel_id: String,
    pub merchant_refund_no: String,
    pub channel_refund_no: Option<String>,
    pub amount: i64,
    pub currency: String,
    pub status: RefundStatus,
    pub settled_ms: Option<i64>,
}

const PAYMENT_COLUMNS: &str = "id, merchant_order_no, channel_id, channel_order_no,
    COALESCE(channel_amount, amount) AS amount, currency, status, paid_ms, cancelled_ms";
const REFUND_COLUMNS: &str = "r.id, r.payment_id, p.merchant_order_no, p.channel_id,
    r.merchant_refund_no, r.channel_refund_no, COALESCE(r.channel_amount, r.amount) AS amount,
    r.currency, r.status, r.settled_ms";

/// A run of one tenant's channel and business day.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ReconciliationRecord {
    pub id: String,
    pub tenant_id: TenantId,
    pub channel_id: String,
    pub business_day: String,
    pub time_zone: String,
    /// `running`, `completed` or `failed`.
    pub status: String,
    pub failure: Option<String>,
    /// JSON: what the API shows of the outcome.
    pub summary: String,
    pub open_differences: i64,
    pub runs: i64,
    pub claimed_until_ms: i64,
    pub created_at: String,
    pub updated_at: String,
    pub created_ms: i64,
}

/// One finding of a run: a matched line or a difference.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ReconciliationItem {
    pub reconciliation_id: String,
    pub tenant_id: TenantId,
    /// Names the line or record: the same finding keeps its key across
    /// re-runs.
    pub item_key: String,
    /// `matched` or the kind of difference.
    pub verdict: String,
    /// `matched`, `open` (for a person) or `settled` (the channel's answer
    /// proved it and paycore followed).
    pub state: String,
    pub payment_id: Option<PaymentId>,
    pub refund_id: Option<RefundId>,
    pub merchant_order_no: String,
    pub refund_no: Option<String>,
    pub currency: String,
    pub amount: i64,
    pub fee: i64,
    /// JSON: the statement's line, when it has one.
    pub line: Option<String>,
    /// JSON: paycore's record, when it has one.
    pub ours: Option<String>,
    pub note: Option<String>,
    pub updated_at: String,
}

/// Placeholders `$first, …` for `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// The tenant's payments with these merchant order numbers, whatever
    /// their channel or day.
    pub async fn compared_payments(
        &self,
        tenant: &TenantId,
        order_nos: &[String],
    ) -> StoreResult<Vec<ComparedPayment>> {
        let select = format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments
             WHERE tenant_id = $1 AND merchant_order_no IN"
        );
        self.rows_by_number(&select, &[tenant.as_str()], order_nos)
            .await
    }

    /// The tenant's refunds with these merchant refund numbers.
    pub async fn compared_refunds(
        &self,
        tenant: &TenantId,
        refund_nos: &[String],
    ) -> StoreResult<Vec<ComparedRefund>> {
        let select = format!(
            "SELECT {REFUND_COLUMNS} FROM refunds r JOIN payments p ON p.id = r.payment_id
             WHERE r.tenant_id = $1 AND r.merchant_refund_no IN"
        );
        self.rows_by_number(&select, &[tenant.as_str()], refund_nos)
            .await
    }

    /// `select … IN (…)` for every number, a chunk at a time: `leading`
    /// binds `$1…` (the tenant first), the numbers follow.
    async fn rows_by_number<R>(
        &self,
        select: &str,
        leading: &[&str],
        numbers: &[String],
    ) -> StoreResult<Vec<R>>
    where
        R: Send + Unpin,
        R: for<'r> FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> FromRow<'r, sqlx::postgres::PgRow>,
    {
        let mut found = Vec::with_capacity(numbers.len());
        for chunk in numbers.chunks(CHUNK) {
            let sql = format!(
                "{select} ({})",
                placeholders(leading.len() + 1, chunk.len())
            );
            let rows: Vec<R> = on_db!(self, |pool| {
                let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
                for bind in leading {
                    query = query.bind(*bind);
                }
                for no in chunk {
                    query = query.bind(no);
                }
                query.fetch_all(pool).await
            })?;
            found.extend(rows);
        }
        Ok(found)
    }

    /// The channel's payments that moved money within `[from_ms, to_ms)`:
    /// paid, or cancelled (reversed), then.
    pub async fn payments_moved_between(
        &self,
        tenant: &TenantId,
        channel: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreResult<Vec<ComparedPayment>> {
        let sql = format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments
             WHERE tenant_id = $1 AND channel_id = $2 AND paid_ms >= $3 AND paid_ms < $4
             UNION
             SELECT {PAYMENT_COLUMNS} FROM payments
             WHERE tenant_id = $1 AND channel_id = $2 AND cancelled_ms >= $3 AND cancelled_ms < $4"
        );
        Ok(on_db!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(tenant)
                .bind(channel)
                .bind(from_ms)
                .bind(to_ms)
                .fetch_all(pool)
                .await
        })?)
    }

    /// The channel's refunds that succeeded within `[from_ms, to_ms)`.
    pub async fn refunds_settled_between(
        &self,
        tenant: &TenantId,
        channel: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreResult<Vec<ComparedRefund>> {
        let sql = format!(
            "SELECT {REFUND_COLUMNS} FROM refunds r JOIN payments p ON p.id = r.payment_id
             WHERE r.tenant_id = $1 AND r.settled_ms >= $3 AND r.settled_ms < $4
               AND p.channel_id = $2"
        );
        Ok(on_db!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(tenant)
                .bind(channel)
                .bind(from_ms)
                .bind(to_ms)
                .fetch_all(pool)
                .await
        })?)
    }

    /// The findings of the tenant's other runs about these payments (and
    /// their refunds): a record the statement of another day named is
    /// matched there, not missing here.
    pub async fn findings_elsewhere(
        &self,
        tenant: &TenantId,
        reconciliation: &str,
        payments: &[PaymentId],
    ) -> StoreResult<Vec<ReconciliationItem>> {
        let ids: Vec<String> = payments.iter().map(|p| p.to_string()).collect();
        self.rows_by_number(
            "SELECT * FROM reconciliation_items
             WHERE tenant_id = $1 AND reconciliation_id <> $2 AND payment_id IN",
            &[tenant.as_str(), reconciliation],
            &ids,
        )
        .await
    }

    /// Starts a run of the day, or `None` while another holds it: a new
    /// day gets its row; a finished (or abandoned: its claim ran out) day
    /// is run again in place, keeping its id.
    pub async fn claim_reconciliation(
        &self,
        tenant: &TenantId,
        channel: &str,
        day: &str,
        time_zone: &str,
        lease_ms: i64,
    ) -> StoreResult<Option<ReconciliationRecord>> {
        let now_ms = self.clock.now_millis();
        let now = self.clock.now_rfc3339();
        Ok(on_db!(self, |pool| {
            let mut conn = pool.write_conn().await?;
            sqlx::query_as(
                "INSERT INTO reconciliations (id, tenant_id, channel_id, business_day, time_zone, status,
                    claimed_until_ms, created_at, updated_at, created_ms)
                 VALUES ($1, $2, $3, $4, $5, 'running', $6, $7, $7, $8)
                 ON CONFLICT (tenant_id, channel_id, business_day) DO UPDATE SET
                    status = 'running', failure = NULL, runs = reconciliations.runs + 1,
                    claimed_until_ms = excluded.claimed_until_ms, updated_at = excluded.updated_at
                 WHERE reconciliations.status <> 'running' OR reconciliations.claimed_until_ms < $8
                 RETURNING *",
            )
            .bind(crate::domain::new_id("rec"))
            .bind(tenant)
            .bind(channel)
            .bind(day)
            .bind(time_zone)
            .bind(now_ms.saturating_add(lease_ms))
            .bind(now)
            .bind(now_ms)
            .fetch_optional(&mut *conn)
            .await
        })?)
    }

    /// Ends a run: its findings replace the last run's, the day's outcome
    /// is written, and each webhook queued, in one transaction.
    pub async fn finish_reconciliation(
        &self,
        run: &ReconciliationRecord,
        outcome: &RunOutcome,
        items: &[ReconciliationItem],
        webhooks: &[OutboxMessage],
    ) -> StoreResult<ReconciliationRecord> {
        on_db!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "DELETE FROM reconciliation_items WHERE reconciliation_id = $1 AND tenant_id = $2",
            )
            .bind(&run.id)
            .bind(&run.tenant_id)
            .execute(&mut *tx)
            .await?;
            for item in items {
                sqlx::query(
                    "INSERT INTO reconciliation_items (reconciliation_id, tenant_id, item_key, verdict,
                        state, payment_id, refund_id, merchant_order_no, refund_no, currency, amount,
                        fee, line, ours, note, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
                )
                .bind(&run.id)
                .bind(&run.tenant_id)
                .bind(&item.item_key)
                .bind(&item.verdict)
                .bind(&item.state)
                .bind(&item.payment_id)
                .bind(&item.refund_id)
                .bind(&item.merchant_order_no)
                .bind(&item.refund_no)
                .bind(&item.currency)
                .bind(item.amount)
                .bind(item.fee)
                .bind(&item.line)
                .bind(&item.ours)
                .bind(&item.note)
                .bind(&item.updated_at)
                .execute(&mut *tx)
                .await?;
            }
            for message in webhooks {
                tx.enqueue(message, &self.clock).await?;
            }
            let finished: ReconciliationRecord = sqlx::query_as(
                "UPDATE reconciliations SET status = $1, failure = $2, summary = $3,
                    open_differences = $4, claimed_until_ms = 0, updated_at = $5, time_zone = $8
                 WHERE id = $6 AND tenant_id = $7
                 RETURNING *",
            )
            .bind(outcome.status)
            .bind(&outcome.failure)
            .bind(&outcome.summary)
            .bind(outcome.open_differences)
            .bind(self.clock.now_rfc3339())
            .bind(&run.id)
            .bind(&run.tenant_id)
            .bind(&outcome.time_zone)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(finished)
        })
    }

    /// A failed run keeps the findings of the last one that completed, if
    /// any; only its status and reason change.
    pub async fn fail_reconciliation(
        &self,
        run: &ReconciliationRecord,
        failure: &str,
    ) -> StoreResult<ReconciliationRecord> {
        let now = self.clock.now_rfc3339();
        Ok(on_db!(self, |pool| {
            let mut conn = pool.write_conn().await?;
            sqlx::query_as(
                "UPDATE reconciliations SET status = 'failed', failure = $1, claimed_until_ms = 0,
                    updated_at = $2
                 WHERE id = $3 AND tenant_id = $4
                 RETURNING *",
            )
            .bind(failure)
            .bind(now)
            .bind(&run.id)
            .bind(&run.tenant_id)
            .fetch_one(&mut *conn)
            .await
        })?)
    }

    /// The run of a tenant's channel and business day, if there is one.
    pub async fn reconciliation_of_day(
        &self,
        tenant: &TenantId,
        channel: &str,
        day: &str,
    ) -> StoreResult<Option<ReconciliationRecord>> {
        Ok(on_db!(self, |pool| {
            sqlx::query_as(
                "SELECT * FROM reconciliations
                 WHERE tenant_id = $1 AND channel_id = $2 AND business_day = $3",
            )
            .bind(tenant)
            .bind(channel)
            .bind(day)
            .fetch_optional(pool)
            .await
        })?)
    }

    pub async fn reconciliation(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> StoreResult<Option<ReconciliationRecord>> {
        Ok(on_db!(self, |pool| {
            sqlx::query_as("SELECT * FROM reconciliations WHERE tenant_id = $1 AND id = $2")
                .bind(tenant)
                .bind(id)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// The tenant's runs of business days `from..=to` (`YYYY-MM-DD`, which
    /// sort as text), of one channel or all, newest day first.
    pub async fn reconciliations(
        &self,
        tenant: &TenantId,
        channel: Option<&str>,
        from: &str,
        to: &str,
        limit: i64,
    ) -> StoreResult<Vec<ReconciliationRecord>> {
        Ok(on_db!(self, |pool| {
            sqlx::query_as(
                "SELECT * FROM reconciliations
                 WHERE tenant_id = $1 AND business_day >= $2 AND business_day <= $3
                   AND ($4 IS NULL OR channel_id = $4)
                 ORDER BY business_day DESC, channel_id LIMIT $5",
            )
            .bind(tenant)
            .bind(from)
            .bind(to)
            .bind(channel)
            .bind(limit)
            .fetch_all(pool)
            .await
        })?)
    }

    /// A run's differences (not its matched lines), in key order.
    pub async fn reconciliation_differences(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> StoreResult<Vec<ReconciliationItem>> {
        Ok(on_db!(self, |pool| {
            sqlx::query_as(
                "SELECT * FROM reconciliation_items
                 WHERE tenant_id = $1 AND reconciliation_id = $2 AND verdict <> 'matched'
                 ORDER BY item_key",
            )
            .bind(tenant)
            .bind(id)
            .fetch_all(pool)
            .await
        })?)
    }
}

/// How a run ended, as written on its row.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// `completed` or `failed`.
    pub status: &'static str,
    pub failure: Option<String>,
    pub summary: String,
    pub open_differences: i64,
    /// The statement's time zone, which dates the business day.
    pub time_zone: String,
}
