//! The sweeper's view of open rows: what it has not managed to settle
//! (open payments and refunds it has asked the channel about through its
//! whole back-off schedule; a person should look at them: `/admin/status`,
//! `paycore_unsettled`), and releasing a dead process's claims.

use super::{Dialect, Store, StoreResult, on_db};
use serde::Serialize;
use sqlx::FromRow;

/// One payment or refund the sweeper keeps asking about.
#[derive(Debug, Clone, Serialize, FromRow)]
pub struct Unsettled {
    /// `payment` or `refund`.
    pub kind: String,
    pub id: String,
    pub tenant_id: String,
    pub status: String,
    /// How often the sweeper asked the channel.
    pub checks: i64,
    pub created_at: String,
}

/// Every unsettled row counted, the oldest listed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UnsettledReport {
    pub payments: i64,
    pub refunds: i64,
    pub oldest: Vec<Unsettled>,
}

/// Open payments as the sweeper claims them (`payments_open` and
/// `payments_cancelling` index them), checked at least `$1` times.
macro_rules! open_payments {
    () => {
        "(status IN ('pending', 'processing', 'unknown')
            OR status = 'succeeded' AND cancel_in_progress = 1) AND checks >= $1"
    };
}

/// Open refunds checked at least `$1` times.
macro_rules! open_refunds {
    () => {
        "status IN ('pending', 'processing') AND checks >= $1"
    };
}

const COUNT_PAYMENTS: &str = concat!("SELECT COUNT(*) FROM payments WHERE ", open_payments!());
const COUNT_REFUNDS: &str = concat!("SELECT COUNT(*) FROM refunds WHERE ", open_refunds!());
/// The oldest of both, `$2` at most.
const OLDEST: &str = concat!(
    "SELECT * FROM (
        SELECT 'payment' AS kind, id, tenant_id, status, checks, created_at, created_ms
            FROM payments WHERE ",
    open_payments!(),
    " UNION ALL
        SELECT 'refund' AS kind, id, tenant_id, status, checks, created_at, created_ms
            FROM refunds WHERE ",
    open_refunds!(),
    ") AS open_rows ORDER BY created_ms LIMIT $2"
);

impl Store {
    /// Makes every open payment and refund due now, whatever claim or
    /// schedule it had (its back-off step is kept). For a single instance
    /// starting on its file: claims the previous process held die with it.
    /// Answers how many rows it touched.
    pub async fn release_claims(&self) -> StoreResult<u64> {
        let payments = "UPDATE payments SET next_check_ms = NULL
            WHERE (status IN ('pending', 'processing', 'unknown')
                OR status = 'succeeded' AND cancel_in_progress = 1)
                AND next_check_ms IS NOT NULL";
        let refunds = "UPDATE refunds SET next_check_ms = NULL
            WHERE status IN ('pending', 'processing') AND next_check_ms IS NOT NULL";
        on_db!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let p = sqlx::query(payments).execute(&mut *tx).await?;
            let r = sqlx::query(refunds).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(p.rows_affected() + r.rows_affected())
        })
    }

    /// Open payments and refunds checked at least `min_checks` times: how
    /// many of each, and the `limit` oldest.
    pub async fn unsettled(&self, min_checks: i64, limit: i64) -> StoreResult<UnsettledReport> {
        Ok(on_db!(self, |pool| {
            let payments: i64 = sqlx::query_scalar(COUNT_PAYMENTS)
                .bind(min_checks)
                .fetch_one(pool)
                .await?;
            let refunds: i64 = sqlx::query_scalar(COUNT_REFUNDS)
                .bind(min_checks)
                .fetch_one(pool)
                .await?;
            let oldest: Vec<Unsettled> = sqlx::query_as(OLDEST)
                .bind(min_checks)
                .bind(limit)
                .fetch_all(pool)
                .await?;
            Ok::<_, sqlx::Error>(UnsettledReport {
                payments,
                refunds,
                oldest,
            })
        })?)
    }
}
