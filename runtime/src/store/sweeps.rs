//! The sweeper's side of payments and refunds: claiming open rows whose
//! next check is due (for a lease, so instances share the work) and
//! scheduling the next check. Payments and refunds differ only in their
//! table and in which rows are open, so one claim and one schedule serve
//! both.

use super::payments::DuePayment;
use super::refunds::DueRefund;
use super::{Dialect, Dialects, Store, StoreResult, on_db};
use crate::domain::{PaymentId, RefundId, TenantId};
use sqlx::FromRow;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

/// A claimed row, with when it was created (the claim's order).
pub(super) trait DueRow:
    Send + Unpin + for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow>
{
    fn created_ms(&self) -> i64;
}

impl DueRow for DuePayment {
    fn created_ms(&self) -> i64 {
        self.record.created_ms
    }
}

impl DueRow for DueRefund {
    fn created_ms(&self) -> i64 {
        self.record.created_ms
    }
}

impl Store {
    /// Claims open payments (`pending`, `processing`, `unknown`, and paid
    /// ones whose cancel's outcome is unknown) whose next check is due — by
    /// default `min_age_ms` after creation, then as the sweeper scheduled it
    /// — most overdue first: the sweeper's work list. Claiming moves the
    /// next check `lease_ms` ahead, so other instances leave these rows
    /// alone while this one works on them, and take them up again if it
    /// dies before scheduling the next check.
    pub async fn claim_due_payments(
        &self,
        min_age_ms: i64,
        limit: i64,
        lease_ms: i64,
    ) -> StoreResult<Vec<DuePayment>> {
        self.claim_due(&CLAIM_DUE_PAYMENTS, min_age_ms, limit, lease_ms)
            .await
    }

    /// Claims open refunds (`pending`, `processing`) whose next check is
    /// due, for `lease_ms`, as `claim_due_payments` does payments.
    pub async fn claim_due_refunds(
        &self,
        min_age_ms: i64,
        limit: i64,
        lease_ms: i64,
    ) -> StoreResult<Vec<DueRefund>> {
        self.claim_due(&CLAIM_DUE_REFUNDS, min_age_ms, limit, lease_ms)
            .await
    }

    async fn claim_due<R: DueRow>(
        &self,
        sql: &Dialects,
        min_age_ms: i64,
        limit: i64,
        lease_ms: i64,
    ) -> StoreResult<Vec<R>> {
        let mut due: Vec<R> = on_db!(self, |pool| sqlx::query_as(pool.pick(sql))
            .bind(min_age_ms)
            .bind(self.clock.now_millis())
            .bind(limit)
            .bind(lease_ms)
            .fetch_all(&mut *pool.write_conn().await?)
            .await)?;
        // RETURNING gives no order.
        due.sort_by_key(R::created_ms);
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

    /// Records that the sweeper checked a refund and when to check it next.
    pub async fn schedule_refund_check(
        &self,
        tenant_id: &TenantId,
        id: &RefundId,
        checks: i64,
        next_check_ms: i64,
    ) -> StoreResult<()> {
        let sql =
            "UPDATE refunds SET checks = $1, next_check_ms = $2 WHERE id = $3 AND tenant_id = $4";
        self.schedule_check(sql, tenant_id, id, checks, next_check_ms)
            .await
    }

    async fn schedule_check(
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

/// The sweeper's claim on `$table`'s rows where `$open`: `$1` min age, `$2`
/// now, `$3` limit, `$4` lease. PostgreSQL skips rows another instance is
/// claiming (or a writer holds) rather than waiting for them; SQLite has one
/// writer at a time anyway.
macro_rules! claim_due_sql {
    ($table:literal, $open:expr, $lock:literal) => {
        concat!(
            "UPDATE ",
            $table,
            " SET next_check_ms = $2 + $4 WHERE id IN (
                SELECT id FROM ",
            $table,
            " WHERE (",
            $open,
            ") AND COALESCE(next_check_ms, created_ms + $1) <= $2
                ORDER BY COALESCE(next_check_ms, created_ms + $1) LIMIT $3",
            $lock,
            ") RETURNING *"
        )
    };
}

/// Open payments: those `PaymentStatus::needs_query`, and paid ones whose
/// cancel's outcome is unknown.
macro_rules! open_payments {
    () => {
        "status IN ('pending', 'processing', 'unknown') OR status = 'succeeded' AND cancel_in_progress = 1"
    };
}

/// Open refunds: those not `RefundStatus::is_final`.
macro_rules! open_refunds {
    () => {
        "status IN ('pending', 'processing')"
    };
}

const CLAIM_DUE_PAYMENTS: Dialects = Dialects {
    sqlite: claim_due_sql!("payments", open_payments!(), ""),
    postgres: claim_due_sql!("payments", open_payments!(), " FOR UPDATE SKIP LOCKED"),
};

const CLAIM_DUE_REFUNDS: Dialects = Dialects {
    sqlite: claim_due_sql!("refunds", open_refunds!(), ""),
    postgres: claim_due_sql!("refunds", open_refunds!(), " FOR UPDATE SKIP LOCKED"),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{PaymentStatus, RefundStatus};

    /// The claims' filters name exactly the statuses the domain calls open,
    /// so a new status cannot be left out of the sweeper by accident.
    #[test]
    fn the_claims_name_the_open_statuses() {
        for s in PaymentStatus::ALL {
            let quoted = format!("'{s}'");
            let in_list = open_payments!()
                .split(" OR ")
                .next()
                .unwrap()
                .contains(&quoted);
            assert_eq!(in_list, s.needs_query(), "{s}");
        }
        for s in RefundStatus::ALL {
            assert_eq!(
                open_refunds!().contains(&format!("'{s}'")),
                !s.is_final(),
                "{s}"
            );
        }
        assert!(CLAIM_DUE_REFUNDS.postgres.starts_with("UPDATE refunds SET"));
        assert!(
            CLAIM_DUE_PAYMENTS
                .sqlite
                .contains("SELECT id FROM payments WHERE (status IN")
        );
    }
}
