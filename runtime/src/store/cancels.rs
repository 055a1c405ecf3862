//! Cancels (reversals) and refunds exclude each other.
//!
//! A cancel of a paid barcode payment refunds it in full at the channel, so
//! a payment must never be both reversed and refunded. The exclusion lives
//! in the statements that write, never in a read that can be stale: a
//! cancel marks the payment (`cancel_in_progress`) before it is sent, in one
//! conditional UPDATE that needs `refund_reserved = 0`, and a refund
//! reserves its amount only while that mark is clear (`refunds.rs`).
//! Whichever statement runs first wins; the other is refused.

use super::payments::PaymentRows;
use super::{Dialect, Event, EventRows, Store, StoreError, StoreResult, on_db};
use crate::domain::PaymentStatus;
use crate::domain::{PaymentId, TenantId};
use crate::store::PaymentRecord;

/// What `start_cancel` came to.
pub enum CancelStart {
    /// Marked: the cancel may be sent to the channel. The payment as marked.
    Started(PaymentRecord),
    /// A refund holds part of the payment: it can no longer be reversed.
    RefundsReserved(PaymentRecord),
    /// The payment's status does not allow a cancel (failed, closed, …).
    NotCancellable(PaymentRecord),
}

/// How long the sweeper leaves a started cancel to the caller that started
/// it before asking the channel itself. Reversals are idempotent at the
/// channel, so asking again while the first call still runs is harmless.
const CANCEL_LEASE_MS: i64 = 30_000;

impl Store {
    /// Marks the payment as being cancelled, if no refund is reserved and
    /// its status is one of `cancellable` (the state machine's), and records
    /// `started` (`payment.cancel_started`). Marking again (a retried
    /// cancel) is allowed: the mark only ever excludes refunds.
    pub async fn start_cancel(
        &self,
        current: &PaymentRecord,
        cancellable: &[PaymentStatus; 4],
        started: &Event,
    ) -> StoreResult<CancelStart> {
        on_db!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let now = self.clock.now_millis();
            let marked: Option<PaymentRecord> = sqlx::query_as(
                "UPDATE payments SET cancel_in_progress = 1,
                    cancel_started_ms = COALESCE(cancel_started_ms, $1),
                    next_check_ms = $2, version = version + 1, updated_at = $3
                 WHERE id = $4 AND tenant_id = $5 AND refund_reserved = 0
                    AND status IN ($6, $7, $8, $9)
                 RETURNING *",
            )
            .bind(now)
            .bind(now + CANCEL_LEASE_MS)
            .bind(self.clock.now_rfc3339())
            .bind(&current.id)
            .bind(&current.tenant_id)
            .bind(cancellable[0].as_str())
            .bind(cancellable[1].as_str())
            .bind(cancellable[2].as_str())
            .bind(cancellable[3].as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let Some(record) = marked else {
                let record = tx
                    .fetch_payment(&current.tenant_id, &current.id)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                return Ok(if record.refund_reserved > 0 {
                    CancelStart::RefundsReserved(record)
                } else {
                    CancelStart::NotCancellable(record)
                });
            };
            tx.append_event(
                &record.tenant_id,
                "payment",
                &record.id,
                started,
                &self.clock,
            )
            .await?;
            tx.commit().await?;
            Ok(CancelStart::Started(record))
        })
    }

    /// The cancel call that started is over: the sweeper may look at the
    /// payment from its next pass on. Bookkeeping, not a state change.
    pub async fn release_cancel_lease(
        &self,
        tenant_id: &TenantId,
        id: &PaymentId,
    ) -> StoreResult<()> {
        on_db!(self, |pool| sqlx::query(
            "UPDATE payments SET next_check_ms = $1 WHERE id = $2 AND tenant_id = $3"
        )
        .bind(self.clock.now_millis())
        .bind(id)
        .bind(tenant_id)
        .execute(&mut *pool.write_conn().await?)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// Clears the cancel mark once the channel certainly did not reverse the
    /// payment, so refunds are possible again; records `event`. Only if
    /// nobody changed the row since `marked` was read: a cancel started again
    /// meanwhile (by the sweeper, say) keeps the mark until its own answer.
    /// Returns the payment as it now stands.
    pub async fn end_cancel_unreversed(
        &self,
        marked: &PaymentRecord,
        event: &Event,
    ) -> StoreResult<PaymentRecord> {
        on_db!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let cleared: Option<PaymentRecord> = sqlx::query_as(
                "UPDATE payments SET cancel_in_progress = 0, version = version + 1, updated_at = $1
                 WHERE id = $2 AND tenant_id = $3 AND version = $4 AND cancel_in_progress = 1
                 RETURNING *",
            )
            .bind(self.clock.now_rfc3339())
            .bind(&marked.id)
            .bind(&marked.tenant_id)
            .bind(marked.version)
            .fetch_optional(&mut *tx)
            .await?;
            let record = match cleared {
                Some(record) => {
                    tx.append_event(&record.tenant_id, "payment", &record.id, event, &self.clock)
                        .await?;
                    record
                }
                None => tx
                    .fetch_payment(&marked.tenant_id, &marked.id)
                    .await?
                    .ok_or(StoreError::NotFound)?,
            };
            tx.commit().await?;
            Ok(record)
        })
    }
}
