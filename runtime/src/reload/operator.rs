//! The operator's decisions about plugin versions, as the reloader applies
//! them: versions rolled back, and versions approved to ask for more than
//! their predecessor did. They live in the database (`store::decisions`),
//! so a decision made at one instance holds at every instance.

use crate::store::{DecisionKind, Store};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decisions {
    /// `name@version`s taken out of service by a rollback.
    pub rolled_back: BTreeSet<String>,
    /// `name@version@sha256` approved despite asking for new hosts or secrets.
    pub approved: BTreeSet<String>,
}

impl Decisions {
    pub async fn read(store: &Store) -> Result<Decisions, String> {
        let rows = store
            .plugin_decisions()
            .await
            .map_err(|e| format!("cannot read the operator's plugin decisions: {e}"))?;
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
