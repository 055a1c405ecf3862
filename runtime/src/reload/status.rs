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

#[derive(Debug, Clone, Serialize)]
pub struct PluginStatus {
    pub file: String,
    pub name: Option<String>,
    pub version: Option<String>,
    pub contract_version: Option<String>,
    pub digest: String,
    /// `live`, `draining` (removed, calls still running) or `refused`.
    pub state: &'static str,
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
        state: &'static str,
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
