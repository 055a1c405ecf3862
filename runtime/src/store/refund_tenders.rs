//! A combined order's refund, tender by tender (migration 0014): each
//! tender's part, allocated inside the refund's insert (under the
//! payment's reservation), and whether a coupon's or card's part was
//! credited back yet. Every query carries the tenant.

use super::{Dialect, Store, StoreResult, impl_for_connections, on_db};
use crate::domain::{PaymentId, RefundId, TenantId};
use sqlx::FromRow;
use std::sync::Arc;

/// One tender's part of a refund, as allocated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundPart {
    pub position: i64,
    /// `coupon`, `card` or `external`.
    pub kind: String,
    pub amount: i64,
}

/// A part as stored.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct RefundPartRecord {
    pub tenant_id: TenantId,
    pub refund_id: RefundId,
    pub position: i64,
    pub kind: String,
    pub amount: i64,
    pub credited: i64,
}

/// Allocates a refund across an order's tenders, given what each
/// position's earlier refunds (not failed) already took; `Err` says why
/// it cannot be. Decided by `payments::machine::tenders`, called by the
/// store inside the refund's transaction, after its reservation.
pub type Allocate =
    Arc<dyn Fn(&[(i64, i64)]) -> Result<Vec<RefundPart>, Unallocatable> + Send + Sync>;

/// Why a refund cannot be allocated, in words the API shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unallocatable(pub String);

pub(super) trait RefundPartRows {
    /// Per position, what the payment's refunds that did not fail took.
    async fn refunded_by_position(
        &mut self,
        tenant: &TenantId,
        payment: &PaymentId,
    ) -> StoreResult<Vec<(i64, i64)>>;
    async fn insert_refund_part(
        &mut self,
        tenant: &TenantId,
        refund: &RefundId,
        part: &RefundPart,
    ) -> StoreResult<()>;
}

impl_for_connections! {
    impl RefundPartRows {
        async fn refunded_by_position(
            &mut self,
            tenant: &TenantId,
            payment: &PaymentId,
        ) -> StoreResult<Vec<(i64, i64)>> {
            let rows: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT t.position, CAST(SUM(t.amount) AS BIGINT)
                 FROM refund_tenders t JOIN refunds r ON r.id = t.refund_id AND r.tenant_id = t.tenant_id
                 WHERE r.tenant_id = $1 AND r.payment_id = $2 AND r.status <> 'failed'
                 GROUP BY t.position",
            )
            .bind(tenant)
            .bind(payment)
            .fetch_all(&mut *self)
            .await?;
            Ok(rows)
        }

        async fn insert_refund_part(
            &mut self,
            tenant: &TenantId,
            refund: &RefundId,
            part: &RefundPart,
        ) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO refund_tenders (tenant_id, refund_id, position, kind, amount)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(tenant)
            .bind(refund)
            .bind(part.position)
            .bind(&part.kind)
            .bind(part.amount)
            .execute(&mut *self)
            .await?;
            Ok(())
        }
    }
}

impl Store {
    /// A refund's parts, by position; none for a single-tender payment's.
    pub async fn refund_parts(
        &self,
        tenant: &TenantId,
        refund: &RefundId,
    ) -> StoreResult<Vec<RefundPartRecord>> {
        on_db!(self, |pool| Ok(sqlx::query_as(
            "SELECT * FROM refund_tenders WHERE tenant_id = $1 AND refund_id = $2 ORDER BY position"
        )
        .bind(tenant)
        .bind(refund)
        .fetch_all(pool)
        .await?))
    }

    /// Records that a coupon's or card's part was credited back.
    pub async fn mark_refund_part_credited(
        &self,
        tenant: &TenantId,
        refund: &RefundId,
        position: i64,
    ) -> StoreResult<()> {
        on_db!(self, |pool| {
            let mut conn = pool.write_conn().await?;
            sqlx::query(
                "UPDATE refund_tenders SET credited = 1
                 WHERE tenant_id = $1 AND refund_id = $2 AND position = $3",
            )
            .bind(tenant)
            .bind(refund)
            .bind(position)
            .execute(&mut *conn)
            .await?;
            Ok(())
        })
    }

    /// Succeeded refunds with a coupon's or card's part not credited back
    /// yet (a crash between the two), oldest first.
    pub async fn refunds_to_credit(&self, limit: i64) -> StoreResult<Vec<(TenantId, RefundId)>> {
        on_db!(self, |pool| {
            Ok(sqlx::query_as(
            "SELECT DISTINCT t.tenant_id, t.refund_id
             FROM refund_tenders t JOIN refunds r ON r.id = t.refund_id AND r.tenant_id = t.tenant_id
             WHERE t.credited = 0 AND t.kind <> 'external' AND r.status = 'succeeded'
             LIMIT $1"
        )
        .bind(limit)
        .fetch_all(pool)
        .await?)
        })
    }
}
