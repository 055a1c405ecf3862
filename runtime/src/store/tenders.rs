//! A combined order's tenders (migration 0014): written with the order's
//! payment row in one transaction, each then told which card it named
//! once its hold is made, or marked `refused` / `skipped` when the order
//! failed before its value moved. Every query carries the tenant.

use super::{
    Dialect, EventRows, Move, PaymentRecord, Store, StoreError, StoreResult, WalletChoice, on_db,
};
use crate::domain::{PaymentId, Scene, TenantId};
use paycore_core::ledger::CardId;
use sqlx::FromRow;

/// One tender of a combined order as stored.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct TenderRecord {
    pub tenant_id: TenantId,
    pub payment_id: PaymentId,
    pub position: i64,
    /// `coupon`, `card` or `external`.
    pub kind: String,
    pub amount: i64,
    pub channel_id: String,
    pub card_id: Option<CardId>,
    /// `open`, `refused` or `skipped` (see the migration).
    pub status: String,
}

/// A tender to store with its order.
#[derive(Debug, Clone)]
pub struct NewTender {
    pub kind: &'static str,
    pub amount: i64,
    pub channel_id: String,
    pub card_id: Option<CardId>,
}

/// What the store may write of a tender after the order was inserted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenderMark {
    /// Its hold was refused: the order failed on it.
    Refused,
    /// The external tender, never sent because a closed-loop one failed.
    Skipped,
}

impl TenderMark {
    fn as_str(self) -> &'static str {
        match self {
            TenderMark::Refused => "refused",
            TenderMark::Skipped => "skipped",
        }
    }
}

/// Inserts an order's tenders inside the order's own transaction.
pub(super) async fn insert_tenders<C>(
    conn: &mut C,
    tenant: &TenantId,
    payment: &PaymentId,
    tenders: &[NewTender],
) -> StoreResult<()>
where
    C: TenderRows,
{
    for (position, tender) in tenders.iter().enumerate() {
        conn.insert_tender(tenant, payment, position as i64, tender)
            .await?;
    }
    Ok(())
}

pub(super) trait TenderRows {
    async fn insert_tender(
        &mut self,
        tenant: &TenantId,
        payment: &PaymentId,
        position: i64,
        tender: &NewTender,
    ) -> StoreResult<()>;
}

super::impl_for_connections! {
    impl TenderRows {
        async fn insert_tender(
            &mut self,
            tenant: &TenantId,
            payment: &PaymentId,
            position: i64,
            tender: &NewTender,
        ) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO payment_tenders (tenant_id, payment_id, position, kind, amount, channel_id, card_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(tenant)
            .bind(payment)
            .bind(position)
            .bind(tender.kind)
            .bind(tender.amount)
            .bind(&tender.channel_id)
            .bind(&tender.card_id)
            .execute(&mut *self)
            .await?;
            Ok(())
        }
    }
}

impl Store {
    /// A checkout payment becomes a combined order (the payer applied
    /// coupons or cards on the hosted page): its wallet's channel, if any,
    /// and what that wallet is asked for, the tenders and the move's event,
    /// in one transaction — if the row is still as it was read, awaiting a
    /// wallet (`Stale` otherwise: another tab, the sweeper).
    pub async fn combine_checkout(
        &self,
        current: &PaymentRecord,
        wallet: Option<&WalletChoice>,
        channel_amount: i64,
        tenders: &[NewTender],
        decided: &Move,
    ) -> StoreResult<PaymentRecord> {
        let channel = wallet.map(|w| &w.channel);
        on_db!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let moved: Option<PaymentRecord> = sqlx::query_as(
                "UPDATE payments SET channel_id = COALESCE($1, channel_id),
                    plugin_name = COALESCE($2, plugin_name), plugin_version = COALESCE($3, plugin_version),
                    wallet = COALESCE($4, wallet), scene = COALESCE($5, scene), channel_amount = $6,
                    status = $7, version = version + 1, updated_at = $8
                 WHERE id = $9 AND tenant_id = $10 AND version = $11 AND status = $12
                   AND channel_id = '' AND channel_amount IS NULL
                 RETURNING *",
            )
            .bind(channel.map(|c| &c.channel_id))
            .bind(channel.map(|c| &c.plugin_name))
            .bind(channel.map(|c| &c.plugin_version))
            .bind(channel.map(|c| &c.wallet))
            .bind(wallet.map(|w| w.scene).map(Scene::as_str))
            .bind(channel_amount)
            .bind(decided.to.as_str())
            .bind(self.clock.now_rfc3339())
            .bind(&current.id)
            .bind(&current.tenant_id)
            .bind(current.version)
            .bind(decided.from.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let record = moved.ok_or(StoreError::Stale)?;
            insert_tenders(&mut *tx, &current.tenant_id, &current.id, tenders).await?;
            tx.append_event(
                &current.tenant_id,
                "payment",
                &current.id,
                &decided.event,
                &self.clock,
            )
            .await?;
            tx.commit().await?;
            Ok(record)
        })
    }

    /// A combined order's tenders, in order; none for any other payment.
    pub async fn tenders_of(
        &self,
        tenant: &TenantId,
        payment: &PaymentId,
    ) -> StoreResult<Vec<TenderRecord>> {
        on_db!(self, |pool| {
            Ok(sqlx::query_as(
            "SELECT * FROM payment_tenders WHERE tenant_id = $1 AND payment_id = $2 ORDER BY position"
        )
        .bind(tenant)
        .bind(payment)
        .fetch_all(pool)
        .await?)
        })
    }

    /// Records the card a tender's hold was made on (a payment code names
    /// it only then). Never changes a card once written.
    pub async fn set_tender_card(
        &self,
        tenant: &TenantId,
        payment: &PaymentId,
        position: i64,
        card: &CardId,
    ) -> StoreResult<()> {
        on_db!(self, |pool| {
            let mut conn = pool.write_conn().await?;
            sqlx::query(
                "UPDATE payment_tenders SET card_id = $1
                 WHERE tenant_id = $2 AND payment_id = $3 AND position = $4 AND card_id IS NULL",
            )
            .bind(card)
            .bind(tenant)
            .bind(payment)
            .bind(position)
            .execute(&mut *conn)
            .await?;
            Ok(())
        })
    }

    /// Marks an open tender refused or skipped.
    pub async fn mark_tender(
        &self,
        tenant: &TenantId,
        payment: &PaymentId,
        position: i64,
        mark: TenderMark,
    ) -> StoreResult<()> {
        on_db!(self, |pool| {
            let mut conn = pool.write_conn().await?;
            sqlx::query(
                "UPDATE payment_tenders SET status = $1
                 WHERE tenant_id = $2 AND payment_id = $3 AND position = $4 AND status = 'open'",
            )
            .bind(mark.as_str())
            .bind(tenant)
            .bind(payment)
            .bind(position)
            .execute(&mut *conn)
            .await?;
            Ok(())
        })
    }
}
