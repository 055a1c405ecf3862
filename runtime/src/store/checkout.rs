//! The hosted cashier's rows: checkout links and static (aggregate) QR
//! codes. (A checkout payment leaving "awaiting a wallet" for a channel is
//! written as every channel move is: `payment_changes`.)

use super::{ChannelAssignment, Dialect, Store, StoreError, StoreResult, on_db};
use crate::domain::Scene;
use crate::domain::{PaymentId, TenantId};
use crate::money::Currency;
use sqlx::FromRow;

/// The page's link to one checkout payment.
#[derive(Debug, Clone, FromRow)]
pub struct CheckoutLink {
    pub token: String,
    pub tenant_id: TenantId,
    pub payment_id: PaymentId,
    pub return_url: Option<String>,
    /// The payment's own expiry: the link stops working with it.
    pub expires_ms: i64,
}

/// The channel, wallet and scene a checkout payment is sent with.
#[derive(Debug, Clone)]
pub struct WalletChoice {
    pub channel: ChannelAssignment,
    /// The scene the channel is asked for (the page's own is `checkout`).
    pub scene: Scene,
}

/// A static code for a store or terminal.
#[derive(Debug, Clone, FromRow)]
pub struct QrCodeRecord {
    pub id: String,
    pub tenant_id: TenantId,
    pub token: String,
    pub store_id: String,
    pub terminal_id: Option<String>,
    pub amount: Option<i64>,
    pub currency: Currency,
    pub subject: Option<String>,
    pub created_at: String,
    /// Orders listings (`created_at` has whole seconds).
    pub created_ms: i64,
    pub disabled_at: Option<String>,
}

impl Store {
    pub async fn checkout_link(&self, token: &str) -> StoreResult<Option<CheckoutLink>> {
        let sql = "SELECT token, tenant_id, payment_id, return_url, expires_ms
                   FROM checkout_links WHERE token = $1";
        on_db!(self, |pool| sqlx::query_as(sql)
            .bind(token)
            .fetch_optional(pool)
            .await
            .map_err(StoreError::from))
    }

    /// The link token of a tenant's checkout payment.
    pub async fn checkout_link_of(
        &self,
        tenant_id: &TenantId,
        payment_id: &PaymentId,
    ) -> StoreResult<Option<String>> {
        let sql = "SELECT token FROM checkout_links WHERE tenant_id = $1 AND payment_id = $2";
        on_db!(self, |pool| sqlx::query_scalar(sql)
            .bind(tenant_id)
            .bind(payment_id)
            .fetch_optional(pool)
            .await
            .map_err(StoreError::from))
    }

    pub async fn insert_qr_code(&self, code: &QrCodeRecord) -> StoreResult<()> {
        on_db!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO qr_codes (id, tenant_id, token, store_id, terminal_id, amount, currency, subject, created_at, created_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&code.id)
            .bind(&code.tenant_id)
            .bind(&code.token)
            .bind(&code.store_id)
            .bind(&code.terminal_id)
            .bind(code.amount)
            .bind(&code.currency)
            .bind(&code.subject)
            .bind(&code.created_at)
            .bind(code.created_ms)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })
    }

    /// A tenant's code by id (another tenant's id is simply not found).
    pub async fn qr_code(
        &self,
        tenant_id: &TenantId,
        id: &str,
    ) -> StoreResult<Option<QrCodeRecord>> {
        let sql = "SELECT * FROM qr_codes WHERE tenant_id = $1 AND id = $2";
        on_db!(self, |pool| sqlx::query_as(sql)
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(pool)
            .await
            .map_err(StoreError::from))
    }

    /// A tenant's codes, newest first, optionally of one store.
    pub async fn qr_codes(
        &self,
        tenant_id: &TenantId,
        store_id: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<QrCodeRecord>> {
        let sql = "SELECT * FROM qr_codes WHERE tenant_id = $1 AND (CAST($2 AS TEXT) IS NULL OR store_id = $2)
                   ORDER BY created_ms DESC, id DESC LIMIT $3";
        on_db!(self, |pool| sqlx::query_as(sql)
            .bind(tenant_id)
            .bind(store_id)
            .bind(limit)
            .fetch_all(pool)
            .await
            .map_err(StoreError::from))
    }

    /// Retires a tenant's code (once: a second call keeps the first time).
    pub async fn disable_qr_code(
        &self,
        tenant_id: &TenantId,
        id: &str,
    ) -> StoreResult<Option<QrCodeRecord>> {
        on_db!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let code: Option<QrCodeRecord> = sqlx::query_as(
                "UPDATE qr_codes SET disabled_at = COALESCE(disabled_at, $1)
                 WHERE tenant_id = $2 AND id = $3 RETURNING *",
            )
            .bind(self.clock.now_rfc3339())
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok::<_, StoreError>(code)
        })
    }

    /// The code a scanned link names.
    pub async fn qr_code_by_token(&self, token: &str) -> StoreResult<Option<QrCodeRecord>> {
        let sql = "SELECT * FROM qr_codes WHERE token = $1";
        on_db!(self, |pool| sqlx::query_as(sql)
            .bind(token)
            .fetch_optional(pool)
            .await
            .map_err(StoreError::from))
    }
}
