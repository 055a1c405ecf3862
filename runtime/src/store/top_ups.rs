//! Member cards' top-ups: what a payment is buying for a card, until the
//! payment is final and the value is credited (see `ledger::top_ups`).

use super::{Dialect, Store, StoreResult, on_db, unique_violation};
use crate::domain::{PaymentId, PaymentStatus, RefundId, TenantId};
use crate::money::Currency;
use paycore_core::ledger::CardId;
use sqlx::FromRow;

/// Where a top-up stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopUpStatus {
    Pending,
    Credited,
    Failed,
    /// Its payment succeeded but the card's cap could not take it; the
    /// payment is refunded in full.
    Refused,
}

impl TopUpStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TopUpStatus::Pending => "pending",
            TopUpStatus::Credited => "credited",
            TopUpStatus::Failed => "failed",
            TopUpStatus::Refused => "refused",
        }
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct TopUpRecord {
    pub tenant_id: TenantId,
    pub merchant_order_no: String,
    pub card_id: CardId,
    pub amount: i64,
    pub bonus: i64,
    pub currency: Currency,
    pub status: String,
    pub payment_id: Option<PaymentId>,
    pub created_at: String,
    pub updated_at: String,
}

impl TopUpRecord {
    pub fn is(&self, status: TopUpStatus) -> bool {
        self.status == status.as_str()
    }
}

pub struct NewTopUp {
    pub tenant_id: TenantId,
    pub merchant_order_no: String,
    pub card_id: CardId,
    pub amount: i64,
    pub bonus: i64,
    pub currency: Currency,
}

/// A payment's final statuses, bound into the query (the domain says which
/// they are; a test holds the list to it).
const FINAL: [PaymentStatus; 4] = [
    PaymentStatus::Succeeded,
    PaymentStatus::Failed,
    PaymentStatus::Closed,
    PaymentStatus::Cancelled,
];

impl Store {
    /// Records a top-up, or finds the one its order number names.
    pub async fn insert_top_up(&self, new: &NewTopUp) -> StoreResult<TopUpRecord> {
        let inserted: StoreResult<()> = on_db!(self, |pool| {
            let mut conn = pool.write_conn().await?;
            let now = self.clock.now_rfc3339();
            sqlx::query(
                "INSERT INTO card_top_ups (tenant_id, merchant_order_no, card_id, amount, bonus, currency, status, created_at, updated_at, created_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7, $8)
                 ON CONFLICT (tenant_id, merchant_order_no) DO NOTHING",
            )
            .bind(&new.tenant_id)
            .bind(&new.merchant_order_no)
            .bind(&new.card_id)
            .bind(new.amount)
            .bind(new.bonus)
            .bind(&new.currency)
            .bind(&now)
            .bind(self.clock.now_millis())
            .execute(&mut *conn)
            .await
            .map_err(|e| unique_violation(e, "card_top_ups"))?;
            Ok(())
        });
        inserted?;
        self.top_up(&new.tenant_id, &new.merchant_order_no)
            .await?
            .ok_or(super::StoreError::NotFound)
    }

    pub async fn top_up(
        &self,
        tenant: &TenantId,
        merchant_order_no: &str,
    ) -> StoreResult<Option<TopUpRecord>> {
        on_db!(self, |pool| {
            Ok(sqlx::query_as(
                "SELECT tenant_id, merchant_order_no, card_id, amount, bonus, currency, status, payment_id, created_at, updated_at
                 FROM card_top_ups WHERE tenant_id = $1 AND merchant_order_no = $2",
            )
            .bind(tenant)
            .bind(merchant_order_no)
            .fetch_optional(pool)
            .await?)
        })
    }

    /// Moves a pending top-up to `to`, naming its payment; false when it
    /// was no longer pending (another writer finished it).
    pub async fn finish_top_up(
        &self,
        tenant: &TenantId,
        merchant_order_no: &str,
        payment: &PaymentId,
        to: TopUpStatus,
    ) -> StoreResult<bool> {
        on_db!(self, |pool| {
            let mut conn = pool.write_conn().await?;
            let changed = sqlx::query(
                "UPDATE card_top_ups SET status = $1, payment_id = $2, updated_at = $3
                 WHERE tenant_id = $4 AND merchant_order_no = $5 AND status = 'pending'",
            )
            .bind(to.as_str())
            .bind(payment)
            .bind(self.clock.now_rfc3339())
            .bind(tenant)
            .bind(merchant_order_no)
            .execute(&mut *conn)
            .await?;
            Ok(changed.rows_affected() == 1)
        })
    }

    /// What a refund's top-up reversal took off the card: the value and
    /// the bonus, if it took anything.
    pub async fn top_up_reversal(
        &self,
        tenant: &TenantId,
        refund: &RefundId,
    ) -> StoreResult<Option<(i64, i64)>> {
        let key = format!("top_up_reversal:{refund}");
        let rows: Vec<(String, i64)> = on_db!(self, |pool| {
            sqlx::query_as(
                "SELECT p.to_account, p.amount FROM ledger_moves m JOIN ledger_postings p ON p.move_id = m.id
                 WHERE m.tenant_id = $1 AND m.move_key = $2",
            )
            .bind(tenant)
            .bind(&key)
            .fetch_all(pool)
            .await
        })?;
        if rows.is_empty() {
            return Ok(None);
        }
        let sum = |account: &str| -> i64 {
            rows.iter()
                .filter(|(to, _)| to == account)
                .map(|(_, amount)| amount)
                .sum()
        };
        Ok(Some((sum("sales"), sum("promotion"))))
    }

    /// Failed refunds of top-ups whose value was taken off the card and not
    /// put back: what a crash between the refund's failure and the restore
    /// left for the sweeper.
    pub async fn failed_top_up_refunds_to_restore(
        &self,
        limit: i64,
    ) -> StoreResult<Vec<super::RefundRecord>> {
        on_db!(self, |pool| {
            Ok(sqlx::query_as(
                "SELECT r.* FROM ledger_moves m
                 JOIN refunds r ON r.tenant_id = m.tenant_id AND m.move_key = 'top_up_reversal:' || r.id
                 WHERE m.kind = $1 AND r.status = $2
                   AND NOT EXISTS (SELECT 1 FROM ledger_moves u
                                   WHERE u.tenant_id = r.tenant_id AND u.move_key = 'top_up_restored:' || r.id)
                 LIMIT $3",
            )
            .bind(paycore_core::ledger::MoveKind::TopUpReversal)
            .bind(crate::domain::RefundStatus::Failed)
            .bind(limit)
            .fetch_all(pool)
            .await?)
        })
    }

    /// Pending top-ups whose payment is final: what a crash between the
    /// payment's end and the credit left for the sweeper.
    pub async fn top_ups_to_finish(&self, limit: i64) -> StoreResult<Vec<TopUpRecord>> {
        on_db!(self, |pool| {
            Ok(sqlx::query_as(
                "SELECT t.tenant_id, t.merchant_order_no, t.card_id, t.amount, t.bonus, t.currency, t.status, p.id AS payment_id, t.created_at, t.updated_at
                 FROM card_top_ups t
                 JOIN payments p ON p.tenant_id = t.tenant_id AND p.merchant_order_no = t.merchant_order_no
                 WHERE t.status = 'pending' AND p.status IN ($2, $3, $4, $5)
                 ORDER BY t.created_ms LIMIT $1",
            )
            .bind(limit)
            .bind(FINAL[0])
            .bind(FINAL[1])
            .bind(FINAL[2])
            .bind(FINAL[3])
            .fetch_all(pool)
            .await?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_final_statuses_are_the_domains() {
        let domain: Vec<_> = PaymentStatus::ALL
            .iter()
            .copied()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(domain, FINAL);
    }
}
