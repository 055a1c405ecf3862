//! Tenant configs published to the database, so that instances without a
//! shared disk serve the same tenants. Every publication or withdrawal is a
//! new revision of the tenant (the history stays); the newest revision is
//! the one that serves. On PostgreSQL each change is announced with
//! `NOTIFY` on [`TENANTS_CHANNEL`] in the transaction that makes it.

use super::{Announce, Dialect, Store, StoreError, StoreResult, on_db, unique_violation};
use crate::config::PublishedTenant;
use crate::domain::TenantId;
use sha2::{Digest, Sha256};

/// The `LISTEN`/`NOTIFY` channel instances reload their tenants on.
pub const TENANTS_CHANNEL: &str = "paycore_tenants";

/// One revision of a tenant's published config.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TenantRevision {
    pub tenant_id: String,
    pub revision: i64,
    /// The TOML text; `None` once the tenant was withdrawn.
    pub source: Option<String>,
    pub digest: String,
    pub published_at: String,
}

impl TenantRevision {
    /// How this revision is named in diagnostics: `published:acme@r3`.
    pub fn origin(&self) -> String {
        format!("published:{}@r{}", self.tenant_id, self.revision)
    }
}

/// What a publication did.
#[derive(Debug, PartialEq, Eq)]
pub enum TenantPublish {
    Published {
        revision: i64,
    },
    /// The newest revision already has this very text: nothing changed.
    Unchanged {
        revision: i64,
    },
}

impl Store {
    /// Stores `source` as the newest revision of `tenant_id` and announces
    /// it. Two publishers racing on one tenant: the loser gets `Conflict`.
    pub async fn publish_tenant(
        &self,
        tenant_id: &TenantId,
        source: &str,
    ) -> StoreResult<TenantPublish> {
        let digest = hex::encode(Sha256::digest(source.as_bytes()));
        let newest = self.newest_tenant_revision(tenant_id).await?;
        if let Some(n) = &newest
            && n.source.is_some()
            && n.digest == digest
        {
            return Ok(TenantPublish::Unchanged {
                revision: n.revision,
            });
        }
        let revision = newest.map_or(1, |n| n.revision + 1);
        self.append_tenant_revision(tenant_id, revision, Some(source), &digest)
            .await?;
        Ok(TenantPublish::Published { revision })
    }

    /// Withdraws `tenant_id`: its newest revision becomes "no config".
    /// `None` if it had no published config to withdraw.
    pub async fn withdraw_tenant(&self, tenant_id: &TenantId) -> StoreResult<Option<i64>> {
        match self.newest_tenant_revision(tenant_id).await? {
            Some(n) if n.source.is_some() => {
                let revision = n.revision + 1;
                self.append_tenant_revision(tenant_id, revision, None, "")
                    .await?;
                Ok(Some(revision))
            }
            _ => Ok(None),
        }
    }

    /// The config every instance serves: the newest revision of each
    /// tenant that is not withdrawn, by tenant id.
    pub async fn published_tenants(&self) -> StoreResult<Vec<TenantRevision>> {
        let sql = "SELECT t.tenant_id, t.revision, t.source, t.digest, t.published_at
             FROM published_tenants t
             WHERE t.revision = (SELECT MAX(n.revision) FROM published_tenants n
                                 WHERE n.tenant_id = t.tenant_id)
               AND t.source IS NOT NULL
             ORDER BY t.tenant_id";
        Ok(on_db!(self, |pool| sqlx::query_as(sql)
            .fetch_all(pool)
            .await)?)
    }

    /// The published tenant configs that serve now, as the config loader
    /// takes them (the reloader reads them on every reload).
    pub async fn serving_tenant_configs(&self) -> StoreResult<Vec<PublishedTenant>> {
        Ok(self
            .published_tenants()
            .await?
            .into_iter()
            .filter_map(|r| {
                let origin = r.origin();
                r.source.map(|source| PublishedTenant {
                    tenant_id: r.tenant_id,
                    origin,
                    source,
                })
            })
            .collect())
    }

    /// Every revision of every tenant, newest first per tenant.
    pub async fn tenant_history(&self) -> StoreResult<Vec<TenantRevision>> {
        let sql = "SELECT tenant_id, revision, source, digest, published_at
             FROM published_tenants ORDER BY tenant_id, revision DESC";
        Ok(on_db!(self, |pool| sqlx::query_as(sql)
            .fetch_all(pool)
            .await)?)
    }

    async fn newest_tenant_revision(
        &self,
        tenant_id: &TenantId,
    ) -> StoreResult<Option<TenantRevision>> {
        let sql = "SELECT tenant_id, revision, source, digest, published_at
             FROM published_tenants WHERE tenant_id = $1
             ORDER BY revision DESC LIMIT 1";
        Ok(on_db!(self, |pool| sqlx::query_as(sql)
            .bind(tenant_id)
            .fetch_optional(pool)
            .await)?)
    }

    /// Inserts one revision and, on PostgreSQL, notifies in the same
    /// transaction, so listeners hear of it exactly when it is visible.
    async fn append_tenant_revision(
        &self,
        tenant_id: &TenantId,
        revision: i64,
        source: Option<&str>,
        digest: &str,
    ) -> StoreResult<()> {
        let insert = "INSERT INTO published_tenants
                (tenant_id, revision, source, digest, published_at)
             VALUES ($1, $2, $3, $4, $5)";
        on_db!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(insert)
                .bind(tenant_id)
                .bind(revision)
                .bind(source)
                .bind(digest)
                .bind(self.clock.now_rfc3339())
                .execute(&mut *tx)
                .await
                .map_err(|e| unique_violation(e, "published_tenants_pkey"))?;
            tx.announce(TENANTS_CHANNEL, &format!("{tenant_id}@r{revision}"))
                .await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })
    }
}
