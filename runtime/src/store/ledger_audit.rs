//! What the ledger adds up to, read from its postings: the balance of every
//! account kind per programme and unit, what flowed between the accounts
//! over a period and what the cards hold now (the finance report's
//! figures), and whether each card's stored balances equal the sums of
//! its postings.

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

/// What a programme's cards hold now, in one unit, from their rows (which
/// `card_drifts` holds equal to their postings).
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Outstanding {
    pub program_id: String,
    pub unit: String,
    pub available: i64,
    pub held: i64,
    pub dormant: i64,
}

/// What flowed through a programme's cards in one unit over a period, from
/// the postings made in it. Each is a sum of posting amounts.
#[derive(Debug, Clone, Default, PartialEq, Eq, FromRow)]
pub struct PeriodFlows {
    pub program_id: String,
    pub unit: String,
    /// Out of `sales` (issues and top-ups paid for), less what refunded
    /// top-ups took back.
    pub sales: i64,
    /// Out of `promotion` (bonuses, promotional cards), less what refunded
    /// top-ups took back of their bonus.
    pub promotion: i64,
    /// Into `redemption` (captured for purchases), less what refunds gave
    /// back to the cards.
    pub redemption: i64,
    /// What refunds gave back out of `redemption` (already subtracted from
    /// `redemption`).
    pub refunded: i64,
    /// Moved from available to dormant at the end of a validity.
    pub expired: i64,
    /// Moved from dormant back to available.
    pub reactivated: i64,
    /// Forfeited from dormant into `breakage`.
    pub breakage: i64,
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

    /// What each of `tenant`'s programmes' cards hold now, per unit.
    pub async fn outstanding(&self, tenant: &TenantId) -> StoreResult<Vec<Outstanding>> {
        on_db!(self, |pool| {
            Ok(sqlx::query_as(
                "SELECT program_id, unit, CAST(SUM(balance) AS BIGINT) AS available,
                        CAST(SUM(held) AS BIGINT) AS held, CAST(SUM(dormant) AS BIGINT) AS dormant
                 FROM cards WHERE tenant_id = $1
                 GROUP BY program_id, unit ORDER BY program_id, unit",
            )
            .bind(tenant)
            .fetch_all(pool)
            .await?)
        })
    }

    /// What flowed through `tenant`'s cards per programme and unit in
    /// `[from_ms, to_ms)`, by the postings' `created_ms` (postings from
    /// before that column existed have none, and count in no period).
    pub async fn period_flows(
        &self,
        tenant: &TenantId,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreResult<Vec<PeriodFlows>> {
        // The tenant's accounts by name (`Account::name`), the moves between
        // a card's balances by kind (`MoveKind`).
        let net = |account: &str, out_of: bool| {
            let (plus, minus) = if out_of {
                ("from_account", "to_account")
            } else {
                ("to_account", "from_account")
            };
            format!(
                "CAST(SUM(CASE WHEN {plus} = '{account}' THEN amount WHEN {minus} = '{account}' THEN -amount ELSE 0 END) AS BIGINT)"
            )
        };
        let of_kind = |kind: &str| {
            format!("CAST(SUM(CASE WHEN kind = '{kind}' THEN amount ELSE 0 END) AS BIGINT)")
        };
        let sql = format!(
            "SELECT program_id, unit,
                    {sales} AS sales, {promotion} AS promotion, {redemption} AS redemption,
                    CAST(SUM(CASE WHEN from_account = 'redemption' THEN amount ELSE 0 END) AS BIGINT) AS refunded,
                    {expired} AS expired, {reactivated} AS reactivated, {breakage} AS breakage
             FROM ledger_postings
             WHERE tenant_id = $1 AND created_ms >= $2 AND created_ms < $3
             GROUP BY program_id, unit ORDER BY program_id, unit",
            sales = net("sales", true),
            promotion = net("promotion", true),
            redemption = net("redemption", false),
            expired = of_kind("expire"),
            reactivated = of_kind("reactivate"),
            breakage = net("breakage", false),
        );
        on_db!(self, |pool| {
            Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(tenant)
                .bind(from_ms)
                .bind(to_ms)
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
