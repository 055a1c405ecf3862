//! The operator's decisions about plugin versions, as the reloader applies
//! them: versions rolled back, and versions approved to ask for more than
//! their predecessor did. They live in the database (`store::decisions`),
//! so a decision made at one instance holds at every instance.

use super::{Live, PluginState, PluginStatus, Reloader, Status};
use crate::store::{DecisionKind, Store, StoreError};
use std::collections::BTreeSet;
use std::sync::Arc;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decisions {
    /// `name@version`s taken out of service by a rollback.
    pub rolled_back: BTreeSet<String>,
    /// `name@version@sha256` approved despite asking for new hosts or secrets.
    pub approved: BTreeSet<String>,
}

/// Why an operator's decision was not applied: refused, because it does
/// not fit what is loaded, or not recorded, because the database failed.
/// The database's error is part of the message (not its `source`), so a
/// printer of error chains does not repeat it.
#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    #[error("{label} is not awaiting approval")]
    NotAwaitingApproval { label: String },
    #[error("no version of `{name}` is serving")]
    NotServing { name: String },
    #[error("{label} is the only version of `{name}` loaded; there is nothing to roll back to")]
    NothingToRollBackTo { name: String, label: String },
    #[error("{label} is not rolled back")]
    NotRolledBack { label: String },
    #[error("cannot record the decision: {0}")]
    Store(StoreError),
}

/// The decisions could not be read from the database.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the operator's plugin decisions: {0}")]
pub struct ReadDecisionsError(pub StoreError);

impl Decisions {
    pub async fn read(store: &Store) -> Result<Decisions, ReadDecisionsError> {
        let rows = store.plugin_decisions().await.map_err(ReadDecisionsError)?;
        let mut decisions = Decisions::default();
        for (kind, label) in rows {
            match kind {
                DecisionKind::RolledBack => decisions.rolled_back.insert(label),
                DecisionKind::Approved => decisions.approved.insert(label),
            };
        }
        Ok(decisions)
    }

    pub fn is_approved(&self, label: &str, digest: &str) -> bool {
        self.approved.contains(&approval_label(label, digest))
    }
}

/// What an approval is recorded under: one build of one version.
pub fn approval_label(label: &str, digest: &str) -> String {
    format!("{label}@{digest}")
}

impl Reloader {
    /// Approves `name@version` (the loaded build of it) to ask for more than
    /// its predecessor, then reloads.
    pub async fn approve(&self, label: &str) -> Result<Arc<Status>, DecisionError> {
        let status = self.status();
        let entry = status
            .plugins
            .iter()
            .find(|p| {
                p.state.is_held()
                    && p.name
                        .as_deref()
                        .zip(p.version.as_deref())
                        .is_some_and(|(n, v)| format!("{n}@{v}") == label)
            })
            .ok_or_else(|| DecisionError::NotAwaitingApproval {
                label: label.to_string(),
            })?;
        let digest = entry.digest.trim_start_matches("sha256:");
        self.decide(DecisionKind::Approved, &approval_label(label, digest), true)
            .await?;
        Ok(self.reload("admin").await)
    }

    /// Takes the newest serving version of `name` out of service, so every
    /// channel falls back to the previous one; answers which was rolled back.
    pub async fn rollback(&self, name: &str) -> Result<(String, Arc<Status>), DecisionError> {
        let registry = self.payments.registry();
        let newest = registry
            .plugins
            .iter()
            .filter(|p| p.manifest.name == name)
            .max_by(|a, b| a.manifest.version.cmp(&b.manifest.version))
            .ok_or_else(|| DecisionError::NotServing {
                name: name.to_string(),
            })?;
        let older = registry
            .plugins
            .iter()
            .any(|p| p.manifest.name == name && p.manifest.version < newest.manifest.version);
        if !older {
            return Err(DecisionError::NothingToRollBackTo {
                name: name.to_string(),
                label: newest.label().to_string(),
            });
        }
        let label = newest.label().to_string();
        self.decide(DecisionKind::RolledBack, &label, true).await?;
        Ok((label, self.reload("admin").await))
    }

    /// Puts a rolled-back version back into service.
    pub async fn restore(&self, label: &str) -> Result<Arc<Status>, DecisionError> {
        if !self.decide(DecisionKind::RolledBack, label, false).await? {
            return Err(DecisionError::NotRolledBack {
                label: label.to_string(),
            });
        }
        Ok(self.reload("admin").await)
    }

    /// Records (or revokes) a decision in the database, where every
    /// instance reads it; answers whether anything changed.
    pub(super) async fn decide(
        &self,
        kind: DecisionKind,
        label: &str,
        record: bool,
    ) -> Result<bool, DecisionError> {
        let store = self.payments.store();
        let changed = if record {
            store.record_decision(kind, label).await
        } else {
            store.revoke_decision(kind, label).await
        };
        changed.map_err(DecisionError::Store)
    }
}

/// Takes out of service what the operator rolled back, and holds a new
/// version that asks for hosts or secrets its predecessor (among the
/// candidates and what served before, so a build written over its
/// predecessor's file is held too) did not until the operator approves it.
pub(super) fn apply_decisions(
    scanned: Vec<Live>,
    previous: &[Live],
    decisions: &Decisions,
) -> (Vec<Live>, Vec<PluginStatus>) {
    let (rolled_back, candidates): (Vec<Live>, Vec<Live>) = scanned
        .into_iter()
        .partition(|l| decisions.rolled_back.contains(l.plugin.label()));
    let mut held: Vec<PluginStatus> = rolled_back
        .iter()
        .map(|l| PluginStatus {
            reason: Some("rolled back by the operator".into()),
            ..PluginStatus::of(&l.plugin, &l.file, PluginState::RolledBack, None)
        })
        .collect();
    let mut live = Vec::new();
    for l in &candidates {
        let m = &l.plugin.manifest;
        let predecessor = candidates
            .iter()
            .chain(previous)
            .filter(|o| o.plugin.manifest.name == m.name && o.plugin.manifest.version < m.version)
            .max_by(|a, b| a.plugin.manifest.version.cmp(&b.plugin.manifest.version));
        let asks_more = predecessor.and_then(|p| {
            let old = &p.plugin.manifest;
            let hosts: Vec<&str> = m
                .hosts
                .iter()
                .filter(|h| !old.hosts.contains(h))
                .map(|h| h.as_str())
                .collect();
            let secrets: Vec<&str> = m
                .secrets
                .iter()
                .filter(|x| !old.secrets.contains(x))
                .map(|x| x.as_str())
                .collect();
            let mut diff = Vec::new();
            if !hosts.is_empty() {
                diff.push(format!("new hosts {}", hosts.join(", ")));
            }
            if !secrets.is_empty() {
                diff.push(format!("new secrets {}", secrets.join(", ")));
            }
            (!diff.is_empty()).then(|| {
                format!(
                    "asks for {} beyond {}",
                    diff.join(" and "),
                    p.plugin.label()
                )
            })
        });
        match asks_more {
            Some(diff) if !decisions.is_approved(l.plugin.label(), &l.plugin.digest) => {
                held.push(PluginStatus {
                    reason: Some(format!(
                        "{diff}; approve with `paycore plugin approve {}`",
                        l.plugin.label()
                    )),
                    ..PluginStatus::of(&l.plugin, &l.file, PluginState::AwaitingApproval, None)
                })
            }
            _ => live.push(l.clone()),
        }
    }
    (live, held)
}
