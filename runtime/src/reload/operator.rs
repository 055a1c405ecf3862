//! The operator's decisions about plugin versions, kept next to the plugins
//! (`.paycore-plugins.json` in the plugins folder, so every instance reading
//! that folder sees them): versions rolled back, and versions approved to
//! ask for more than their predecessor did.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const FILE: &str = ".paycore-plugins.json";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decisions {
    /// `name@version`s taken out of service by a rollback.
    #[serde(default)]
    pub rolled_back: BTreeSet<String>,
    /// `name@version@sha256` approved despite asking for new hosts or secrets.
    #[serde(default)]
    pub approved: BTreeSet<String>,
}

impl Decisions {
    fn path(plugins_dir: &Path) -> PathBuf {
        plugins_dir.join(FILE)
    }

    /// Reads the decisions; a missing file means none. A damaged file is
    /// reported and treated as none, which only ever holds plugins back.
    pub fn read(plugins_dir: &Path) -> Result<Decisions, String> {
        match std::fs::read(Self::path(plugins_dir)) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| format!("{FILE} is not valid: {e}"))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Decisions::default()),
            Err(e) => Err(format!("cannot read {FILE}: {e}")),
        }
    }

    /// Writes atomically, so a reload never reads half a file.
    pub fn write(&self, plugins_dir: &Path) -> std::io::Result<()> {
        let temp = plugins_dir.join(format!("{FILE}.{:016x}.tmp", rand::random::<u64>()));
        std::fs::write(
            &temp,
            serde_json::to_vec_pretty(self).expect("decisions serialise"),
        )?;
        std::fs::rename(&temp, Self::path(plugins_dir))
    }

    pub fn is_approved(&self, label: &str, digest: &str) -> bool {
        self.approved.contains(&format!("{label}@{digest}"))
    }
}
