//! The audit log of inbound channel callbacks.

use super::{Dialect, Store, StoreResult, on_db};
use crate::domain::new_id;
use crate::domain::{PaymentId, TenantId};

/// One callback as received, whatever became of it.
#[derive(Debug, Clone)]
pub struct CallbackRecord {
    pub tenant_id: TenantId,
    pub channel_id: String,
    pub verified: bool,
    /// What paycore did: "applied", "duplicate", "rejected: ...", ...
    pub outcome: String,
    pub payment_id: Option<PaymentId>,
    pub body: Vec<u8>,
}

/// Bodies are kept for audit, but bounded so a flood cannot fill the disk.
const MAX_STORED_BODY: usize = 64 * 1024;

impl Store {
    pub async fn record_callback(&self, record: &CallbackRecord) -> StoreResult<()> {
        let body = &record.body[..record.body.len().min(MAX_STORED_BODY)];
        let sql = "INSERT INTO callbacks (id, tenant_id, channel_id, verified, outcome, payment_id, body, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
        on_db!(self, |pool| sqlx::query(sql)
            .bind(new_id("cb"))
            .bind(&record.tenant_id)
            .bind(&record.channel_id)
            .bind(record.verified)
            .bind(&record.outcome)
            .bind(&record.payment_id)
            .bind(body)
            .bind(self.clock.now_rfc3339())
            .execute(&mut *pool.write_conn().await?)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// (verified, outcome) of a tenant's callbacks, oldest first.
    pub async fn callbacks_of(&self, tenant_id: &TenantId) -> StoreResult<Vec<(bool, String)>> {
        let sql = "SELECT verified, outcome FROM callbacks WHERE tenant_id = $1 ORDER BY received_at, rowid";
        Ok(on_db!(self, |pool| sqlx::query_as(sql)
            .bind(tenant_id)
            .fetch_all(pool)
            .await)?)
    }
}
