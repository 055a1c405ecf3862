//! Plugins published to the database, so that instances without a shared
//! disk load the same builds. On PostgreSQL a change is announced with
//! `NOTIFY` on [`PLUGINS_CHANNEL`] in the same transaction, so listeners
//! hear of it exactly when it is visible.

use super::{Announce, Dialect, Store, StoreError, StoreResult, on_db, unique_violation};

/// The `LISTEN`/`NOTIFY` channel instances reload on.
pub const PLUGINS_CHANNEL: &str = "paycore_plugins";

/// One published build, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PublishedPlugin {
    pub digest: String,
    pub name: String,
    pub version: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Publish {
    Published,
    /// This very build was published before: nothing changed.
    AlreadyPublished,
}

impl Store {
    /// Stores a plugin build under its digest and announces it. Another
    /// build of the same name@version is refused: versions are immutable.
    pub async fn publish_plugin(
        &self,
        plugin: &PublishedPlugin,
        bytes: &[u8],
    ) -> StoreResult<Publish> {
        if self
            .published_plugins()
            .await?
            .iter()
            .any(|p| p.digest == plugin.digest)
        {
            return Ok(Publish::AlreadyPublished);
        }
        let insert = "INSERT INTO published_plugins (digest, name, version, bytes, published_at)
             VALUES ($1, $2, $3, $4, $5)";
        on_db!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(insert)
                .bind(&plugin.digest)
                .bind(&plugin.name)
                .bind(&plugin.version)
                .bind(bytes)
                .bind(self.clock.now_rfc3339())
                .execute(&mut *tx)
                .await
                .map_err(|e| unique_violation(e, "published_plugins_label_key"))?;
            tx.announce(PLUGINS_CHANNEL, &plugin.digest).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })?;
        Ok(Publish::Published)
    }

    /// Removes name@version from the database; `false` if it was not there.
    pub async fn unpublish_plugin(&self, name: &str, version: &str) -> StoreResult<bool> {
        let delete = "DELETE FROM published_plugins WHERE name = $1 AND version = $2";
        on_db!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let deleted = sqlx::query(delete)
                .bind(name)
                .bind(version)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if deleted > 0 {
                tx.announce(PLUGINS_CHANNEL, &format!("{name}@{version}"))
                    .await?;
            }
            tx.commit().await?;
            Ok(deleted > 0)
        })
    }

    /// Every published build, oldest first, without the bytes.
    pub async fn published_plugins(&self) -> StoreResult<Vec<PublishedPlugin>> {
        let sql =
            "SELECT digest, name, version FROM published_plugins ORDER BY published_at, digest";
        Ok(on_db!(self, |pool| sqlx::query_as(sql)
            .fetch_all(pool)
            .await)?)
    }

    /// The bytes of one published build.
    pub async fn published_plugin_bytes(&self, digest: &str) -> StoreResult<Option<Vec<u8>>> {
        let sql = "SELECT bytes FROM published_plugins WHERE digest = $1";
        Ok(on_db!(self, |pool| sqlx::query_scalar(sql)
            .bind(digest)
            .fetch_optional(pool)
            .await)?)
    }
}
