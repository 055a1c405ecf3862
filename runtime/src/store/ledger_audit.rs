//! What the ledger adds up to, read from its postings: the balance of every
//! account kind per programme and unit (the finance report's figures), and
//! whether each card's stored balances equal the sums of its postings.

use super::{Store, StoreResult, on_db};
use crate::domain::TenantId;
use paycore_core::ledger::CardId;
use sqlx::FromRow;

/// The balance of one kind of account, summed over a programme's cards
/// (`available`, `held`, `dormant`) or the tenant's account of that name
/// (`sales`, `promotion`, `redemption`, `breakage`), from the postings.
#[derive(Debug, Clone, PartialEq, Eq, FromRow, serde::Serialize)]
pub struct AccountTotal {
    pub program_id: String,
    pub unit: String,
    pub account: String,
    pub balance: i64,
}

/// A card whose stored balances differ from its postings.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct CardDrift {
    pub id: CardId,
    pub balance: i64,
    pub held: i64,
    pub dormant: i64,
    pub posted_balance: i64,
    pub posted_held: i64,
    pub posted_dormant: i64,
}

/// Classifies a posting's account: a card's three balances by their
/// suffix, the tenant's accounts by name.
const ACCOUNT_KIND: &str = "CASE WHEN account LIKE 'card:%:held' THEN 'held'
      WHEN account LIKE 'card:%:dormant' THEN 'dormant'
      WHEN account LIKE 'card:%' THEN 'available'
      ELSE account END";

impl Store {
    pub async fn ledger_totals(&self, tenant: &TenantId) -> StoreResult<Vec<AccountTotal>> {
        let sql = format!(
            "SELECT program_id, unit, {ACCOUNT_KIND} AS account, CAST(SUM(delta) AS BIGINT) AS balance FROM (
                SELECT program_id, unit, to_account AS account, amount AS delta FROM ledger_postings WHERE tenant_id = $1
                UNION ALL
                SELECT program_id, unit, from_account AS account, -amount AS delta FROM ledger_postings WHERE tenant_id = $1
             ) moves
             GROUP BY program_id, unit, {ACCOUNT_KIND}
             ORDER BY program_id, unit, account"
        );
        on_db!(self, |pool| {
            Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(tenant)
                .fetch_all(pool)
                .await?)
        })
    }

    /// Cards whose stored balances are not what their postings add up to:
    /// always empty, unless something wrote a card without a posting.
    pub async fn card_drifts(&self, tenant: &TenantId) -> StoreResult<Vec<CardDrift>> {
        on_db!(self, |pool| {
            Ok(sqlx::query_as(
                "SELECT c.id, c.balance, c.held, c.dormant,
                        CAST(COALESCE(SUM(CASE WHEN p.to_account = 'card:' || c.id THEN p.amount
                                      WHEN p.from_account = 'card:' || c.id THEN -p.amount ELSE 0 END), 0) AS BIGINT) AS posted_balance,
                        CAST(COALESCE(SUM(CASE WHEN p.to_account = 'card:' || c.id || ':held' THEN p.amount
                                      WHEN p.from_account = 'card:' || c.id || ':held' THEN -p.amount ELSE 0 END), 0) AS BIGINT) AS posted_held,
                        CAST(COALESCE(SUM(CASE WHEN p.to_account = 'card:' || c.id || ':dormant' THEN p.amount
                                      WHEN p.from_account = 'card:' || c.id || ':dormant' THEN -p.amount ELSE 0 END), 0) AS BIGINT) AS posted_dormant
                 FROM cards c LEFT JOIN ledger_postings p ON p.tenant_id = c.tenant_id AND p.card_id = c.id
                 WHERE c.tenant_id = $1
                 GROUP BY c.id, c.balance, c.held, c.dormant
                 HAVING c.balance <> CAST(COALESCE(SUM(CASE WHEN p.to_account = 'card:' || c.id THEN p.amount
                                      WHEN p.from_account = 'card:' || c.id THEN -p.amount ELSE 0 END), 0) AS BIGINT)
                     OR c.held <> CAST(COALESCE(SUM(CASE WHEN p.to_account = 'card:' || c.id || ':held' THEN p.amount
                                      WHEN p.from_account = 'card:' || c.id || ':held' THEN -p.amount ELSE 0 END), 0) AS BIGINT)
                     OR c.dormant <> CAST(COALESCE(SUM(CASE WHEN p.to_account = 'card:' || c.id || ':dormant' THEN p.amount
                                      WHEN p.from_account = 'card:' || c.id || ':dormant' THEN -p.amount ELSE 0 END), 0) AS BIGINT)",
            )
            .bind(tenant)
            .fetch_all(pool)
            .await?)
        })
    }
}
