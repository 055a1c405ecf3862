//! The operator's decisions about plugin versions: rollbacks and approvals.
//! Each is one row, so two operators deciding at once at two instances never
//! overwrite each other; on PostgreSQL every change is announced on
//! `PLUGINS_CHANNEL`, so every instance reloads and follows it.

use super::{Announce, Dialect, Store, StoreError, StoreResult, on_db};
use crate::store::PLUGINS_CHANNEL;

/// What a decision says about the version its label names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionKind {
    /// `name@version` is out of service.
    RolledBack,
    /// `name@version@sha256` may ask for more than its predecessor.
    Approved,
}

impl DecisionKind {
    fn as_str(self) -> &'static str {
        match self {
            DecisionKind::RolledBack => "rolled_back",
            DecisionKind::Approved => "approved",
        }
    }
}

impl Store {
    /// Every decision, as (kind, label) pairs.
    pub async fn plugin_decisions(&self) -> StoreResult<Vec<(DecisionKind, String)>> {
        let sql = "SELECT kind, label FROM plugin_decisions ORDER BY kind, label";
        let rows: Vec<(String, String)> =
            on_db!(self, |pool| sqlx::query_as(sql).fetch_all(pool).await)?;
        Ok(rows
            .into_iter()
            .filter_map(|(kind, label)| {
                let kind = [DecisionKind::RolledBack, DecisionKind::Approved]
                    .into_iter()
                    .find(|k| k.as_str() == kind)?;
                Some((kind, label))
            })
            .collect())
    }

    /// Records a decision; `false` if it was already recorded.
    pub async fn record_decision(&self, kind: DecisionKind, label: &str) -> StoreResult<bool> {
        let sql = "INSERT INTO plugin_decisions (kind, label, decided_at) VALUES ($1, $2, $3)
             ON CONFLICT (kind, label) DO NOTHING";
        self.change_decisions(sql, kind, label, Some(self.clock.now_rfc3339()))
            .await
    }

    /// Revokes a decision; `false` if there was none.
    pub async fn revoke_decision(&self, kind: DecisionKind, label: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM plugin_decisions WHERE kind = $1 AND label = $2";
        self.change_decisions(sql, kind, label, None).await
    }

    async fn change_decisions(
        &self,
        sql: &'static str,
        kind: DecisionKind,
        label: &str,
        decided_at: Option<String>,
    ) -> StoreResult<bool> {
        on_db!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let mut query = sqlx::query(sql).bind(kind.as_str()).bind(label);
            if let Some(at) = &decided_at {
                query = query.bind(at);
            }
            let changed = query.execute(&mut *tx).await?.rows_affected() > 0;
            if changed {
                let payload = format!("decision {} {label}", kind.as_str());
                tx.announce(PLUGINS_CHANNEL, &payload).await?;
            }
            tx.commit().await?;
            Ok::<_, StoreError>(changed)
        })
    }
}
