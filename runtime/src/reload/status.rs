//! What the reloader reports: `/admin/status` and `POST /admin/reload`
//! (`Status`, each plugin build's `PluginStatus`), and what a check from
//! nothing found (`Checked`).

use super::*;

/// What [`Reloader::check`] found.
#[derive(Debug)]
pub struct Checked {
    /// What would serve.
    pub registry: Registry,
    /// Every problem, in this order: the config's (its files' and the
    /// published tenant configs', each as file:line:column), the plugins'
    /// (`file: reason`; a published one's file is `published:NAME@VERSION`),
    /// then each channel that would not bind.
    pub problems: Vec<String>,
    /// The tenants the config has, from the folder and published.
    pub tenants: usize,
}

/// What `/admin/status` and `/admin/plugins` show.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// Bumped by every reload that swapped in a new registry.
    pub generation: u64,
    pub reloaded_at: String,
    /// What triggered the last reload (`startup`, `watch`, `admin`).
    pub trigger: String,
    /// Whether the config on disk is the one serving.
    pub config_current: bool,
    /// Every problem of the last reload, config ones as file:line:column.
    pub errors: Vec<String>,
    /// Where what serves differs from what the folders (and the database)
    /// hold, and why, one sentence each; empty when they agree.
    pub differences: Vec<String>,
    pub plugins: Vec<PluginStatus>,
}

/// Where one plugin build stands; shown in `/admin/plugins` in snake case
/// (`live`, `awaiting_approval`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PluginState {
    /// Serving.
    Live,
    /// Removed; calls still running finish on it.
    Draining,
    /// Failed a check (load, provenance, contract, policy); never served.
    Refused,
    /// Taken out of service by the operator.
    RolledBack,
    /// Asks for hosts or secrets its predecessor did not; waits for the
    /// operator.
    AwaitingApproval,
    /// Replaying recent traffic on it changed outcomes; waits for the
    /// operator.
    HeldByReplay,
}

impl PluginState {
    /// How the state is written in `/admin/plugins` and in the differences.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginState::Live => "live",
            PluginState::Draining => "draining",
            PluginState::Refused => "refused",
            PluginState::RolledBack => "rolled_back",
            PluginState::AwaitingApproval => "awaiting_approval",
            PluginState::HeldByReplay => "held_by_replay",
        }
    }

    /// Loaded but held back until the operator approves it.
    pub fn is_held(self) -> bool {
        matches!(
            self,
            PluginState::AwaitingApproval | PluginState::HeldByReplay
        )
    }
}

impl std::fmt::Display for PluginState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PluginStatus {
    pub file: String,
    pub name: Option<String>,
    pub version: Option<String>,
    pub contract_version: Option<String>,
    pub digest: String,
    /// Where the build stands: serving, draining, refused or held back.
    pub state: PluginState,
    pub reason: Option<String>,
    pub loaded_at: Option<String>,
    pub calls_in_flight: usize,
    pub from_cache: Option<bool>,
    pub load_ms: Option<f64>,
}

impl PluginStatus {
    pub(super) fn of(
        plugin: &Plugin,
        file: &Path,
        state: PluginState,
        loaded_at: Option<String>,
    ) -> Self {
        PluginStatus {
            file: file.display().to_string(),
            name: Some(plugin.manifest.name.clone()),
            version: Some(plugin.manifest.version.to_string()),
            contract_version: Some(plugin.manifest.contract_version.to_string()),
            digest: format!("sha256:{}", plugin.digest),
            state,
            reason: None,
            loaded_at,
            calls_in_flight: plugin.calls_in_flight(),
            from_cache: Some(plugin.load.from_cache),
            load_ms: Some(plugin.load.millis),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PluginState;

    #[test]
    fn a_plugin_state_is_shown_as_it_always_was() {
        let states = [
            (PluginState::Live, "live"),
            (PluginState::Draining, "draining"),
            (PluginState::Refused, "refused"),
            (PluginState::RolledBack, "rolled_back"),
            (PluginState::AwaitingApproval, "awaiting_approval"),
            (PluginState::HeldByReplay, "held_by_replay"),
        ];
        for (state, shown) in states {
            assert_eq!(serde_json::to_value(state).unwrap(), shown);
            assert_eq!(state.to_string(), shown);
            assert_eq!(
                state.is_held(),
                matches!(shown, "awaiting_approval" | "held_by_replay"),
                "{shown}"
            );
        }
    }
}
