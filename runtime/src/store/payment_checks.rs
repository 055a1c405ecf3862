//! The sweeper's side of payments: claiming open payments whose next
//! check is due (for a lease, so instances share the work) and scheduling
//! the next check.

use super::payments::*;
use super::{Dialect, Dialects, Store, StoreResult, on_db};
use crate::domain::{PaymentId, TenantId};

impl Store {
    /// Claims open payments (`pending`, `processing`, `unknown`, and paid
    /// ones whose cancel's outcome is unknown) whose next check is due — by default `min_age_ms` after creation, then as the
    /// sweeper scheduled it — most overdue first: the sweeper's work list.
    /// Claiming moves the next check `lease_ms` ahead, so other instances
    /// leave these rows alone while this one works on them, and take them
    /// up again if it dies before scheduling the next check.
    pub async fn claim_due_payments(
        &self,
        min_age_ms: i64,
        limit: i64,
        lease_ms: i64,
    ) -> StoreResult<Vec<DuePayment>> {
        let mut due: Vec<DuePayment> = on_db!(self, |pool| sqlx::query_as(pool.pick(&CLAIM_DUE))
            .bind(min_age_ms)
            .bind(self.clock.now_millis())
            .bind(limit)
            .bind(lease_ms)
            .fetch_all(&mut *pool.write_conn().await?)
            .await)?;
        // RETURNING gives no order.
        due.sort_by_key(|d| d.record.created_ms);
        Ok(due)
    }

    /// Records that the sweeper checked a payment and when to check it next.
    /// Not a state change: no version bump, no event.
    pub async fn schedule_payment_check(
        &self,
        tenant_id: &TenantId,
        id: &PaymentId,
        checks: i64,
        next_check_ms: i64,
    ) -> StoreResult<()> {
        let sql =
            "UPDATE payments SET checks = $1, next_check_ms = $2 WHERE id = $3 AND tenant_id = $4";
        self.schedule_check(sql, tenant_id, id, checks, next_check_ms)
            .await
    }

    /// Runs one of the two schedule statements (payments, refunds): they
    /// differ only in the table.
    pub(super) async fn schedule_check(
        &self,
        sql: &'static str,
        tenant_id: &TenantId,
        id: &str,
        checks: i64,
        next_check_ms: i64,
    ) -> StoreResult<()> {
        on_db!(self, |pool| sqlx::query(sql)
            .bind(checks)
            .bind(next_check_ms)
            .bind(id)
            .bind(tenant_id)
            .execute(&mut *pool.write_conn().await?)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }
}

/// The sweeper's claim: `$1` min age, `$2` now, `$3` limit, `$4` lease.
/// PostgreSQL skips rows another instance is claiming (or a writer holds)
/// rather than waiting for them; SQLite has one writer at a time anyway.
macro_rules! claim_due_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE payments SET next_check_ms = $2 + $4 WHERE id IN (
                SELECT id FROM payments WHERE (status IN ('pending', 'processing', 'unknown')
                        OR status = 'succeeded' AND cancel_in_progress = 1)
                    AND COALESCE(next_check_ms, created_ms + $1) <= $2
                ORDER BY COALESCE(next_check_ms, created_ms + $1) LIMIT $3",
            $lock,
            ") RETURNING *"
        )
    };
}

const CLAIM_DUE: Dialects = Dialects {
    sqlite: claim_due_sql!(""),
    postgres: claim_due_sql!(" FOR UPDATE SKIP LOCKED"),
};
