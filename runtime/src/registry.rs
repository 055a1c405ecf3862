//! What is live: loaded plugins, tenants, and each tenant channel bound to
//! the plugin version that serves it, with the grant the operator gave it.
//!
//! A registry is built whole from config plus plugins and then only read;
//! a reload builds a new one and swaps it in.

use crate::config::{ConfigError, TenantConfig};
use crate::plugin_host::{ChannelGrant, Plugin};
use std::collections::HashMap;
use std::sync::Arc;

/// One tenant channel, ready to call.
#[derive(Debug)]
pub struct BoundChannel {
    pub id: String,
    pub plugin: Plugin,
    pub grant: Arc<ChannelGrant>,
    /// Settings with `{public_url}` already filled in.
    pub settings: Vec<(String, String)>,
}

#[derive(Debug)]
pub struct Tenant {
    pub config: TenantConfig,
    /// In config order.
    pub channels: Vec<Arc<BoundChannel>>,
}

impl Tenant {
    pub fn channel(&self, id: &str) -> Option<&Arc<BoundChannel>> {
        self.channels.iter().find(|c| c.id == id)
    }
}

#[derive(Debug, Default)]
pub struct Registry {
    pub plugins: Vec<Plugin>,
    tenants: HashMap<String, Arc<Tenant>>,
    by_api_key: HashMap<String, String>,
}

/// Rule targets whose plugin can serve none of the payments the rule
/// matches (by scene, wallet or currency), located where the rule names them.
fn unservable_rules(t: &TenantConfig, channels: &[Arc<BoundChannel>]) -> Vec<ConfigError> {
    let mut problems = Vec::new();
    for rule in &t.rules {
        let when = &rule.when;
        for (id, position) in rule
            .target
            .channels()
            .into_iter()
            .zip(&rule.target_positions)
        {
            let Some(ch) = channels.iter().find(|c| c.id == id) else {
                continue;
            };
            let m = &ch.plugin.manifest;
            let mut gaps = Vec::new();
            if let Some(s) = &when.scenes
                && !s.iter().any(|x| m.scenes.contains(x))
            {
                let s: Vec<&str> = s.iter().map(|x| x.as_str()).collect();
                gaps.push(format!("scene {}", s.join("/")));
            }
            if let Some(w) = &when.wallets
                && !w.iter().any(|x| m.wallets.contains(x))
            {
                gaps.push(format!("wallet {}", w.join("/")));
            }
            if let Some(c) = &when.currencies
                && !c.iter().any(|x| m.currencies.contains(x))
            {
                gaps.push(format!("currency {}", c.join("/")));
            }
            if !gaps.is_empty() {
                problems.push(ConfigError {
                    file: t.source.clone(),
                    position: *position,
                    message: format!(
                        "rule `{}`: channel `{id}` can never serve it: plugin {} does not serve {}",
                        rule.name,
                        ch.plugin.label(),
                        gaps.join(" or ")
                    ),
                });
            }
        }
    }
    problems
}

impl Registry {
    /// Binds every tenant channel to the newest loaded plugin its range
    /// allows and checks what the plugin needs against what config gives.
    /// Returns the registry plus every binding problem, located in config.
    pub fn build(
        plugins: Vec<Plugin>,
        tenants: &[TenantConfig],
        public_url: &str,
    ) -> (Registry, Vec<ConfigError>) {
        let mut problems = Vec::new();
        let mut registry = Registry {
            plugins,
            ..Default::default()
        };
        for t in tenants {
            let mut channels = Vec::new();
            for ch in t.channels.iter().filter(|c| c.enabled) {
                let problem = |message: String| ConfigError {
                    message: format!("channel `{}`: {message}", ch.id),
                    ..ch.plugin_location.clone()
                };
                let Some(plugin) = registry
                    .plugins
                    .iter()
                    .filter(|p| {
                        p.manifest.name == ch.plugin_name
                            && ch.plugin_req.matches(&p.manifest.version)
                    })
                    .max_by(|a, b| a.manifest.version.cmp(&b.manifest.version))
                else {
                    let loaded: Vec<&str> = registry.plugins.iter().map(|p| p.label()).collect();
                    problems.push(problem(format!(
                        "no loaded plugin matches `{}@{}` (loaded: {})",
                        ch.plugin_name,
                        ch.plugin_req,
                        if loaded.is_empty() {
                            "none".to_string()
                        } else {
                            loaded.join(", ")
                        }
                    )));
                    continue;
                };
                let m = &plugin.manifest;
                let mut missing: Vec<String> = Vec::new();
                missing.extend(
                    m.settings
                        .iter()
                        .filter(|s| !ch.settings.contains_key(*s))
                        .map(|s| format!("setting `{s}`")),
                );
                missing.extend(
                    m.secrets
                        .iter()
                        .filter(|s| !ch.secrets.contains_key(*s))
                        .map(|s| format!("secret `{s}`")),
                );
                if !missing.is_empty() {
                    problems.push(problem(format!(
                        "plugin {} needs {}",
                        plugin.label(),
                        missing.join(", ")
                    )));
                    continue;
                }
                let ungranted: Vec<&str> = ch
                    .allowed_hosts
                    .iter()
                    .filter(|h| !m.hosts.contains(h))
                    .map(|h| h.as_str())
                    .collect();
                if !ungranted.is_empty() {
                    problems.push(problem(format!(
                        "allowed_hosts {} are not among the hosts plugin {} declares ({})",
                        ungranted.join(", "),
                        plugin.label(),
                        m.hosts.join(", ")
                    )));
                    continue;
                }
                let grant =
                    crate::plugin_host::grant_for(m, &t.id, &ch.id, &ch.allowed_hosts, &ch.secrets);
                let settings = ch
                    .settings
                    .iter()
                    .map(|(k, v)| (k.clone(), v.replace("{public_url}", public_url)))
                    .collect();
                channels.push(Arc::new(BoundChannel {
                    id: ch.id.clone(),
                    plugin: plugin.clone(),
                    grant: Arc::new(grant),
                    settings,
                }));
            }
            problems.extend(unservable_rules(t, &channels));
            for key in &t.api_keys {
                registry.by_api_key.insert(key.clone(), t.id.clone());
            }
            registry.tenants.insert(
                t.id.clone(),
                Arc::new(Tenant {
                    config: t.clone(),
                    channels,
                }),
            );
        }
        (registry, problems)
    }

    pub fn tenant(&self, id: &str) -> Option<&Arc<Tenant>> {
        self.tenants.get(id)
    }

    /// The tenant an API key belongs to. Keys are compared in constant time
    /// against each candidate so timing does not reveal near-misses.
    pub fn tenant_by_api_key(&self, key: &str) -> Option<&Arc<Tenant>> {
        use subtle::ConstantTimeEq;
        let mut found = None;
        for (candidate, tenant) in &self.by_api_key {
            if bool::from(candidate.as_bytes().ct_eq(key.as_bytes())) {
                found = Some(tenant);
            }
        }
        found.and_then(|t| self.tenants.get(t))
    }

    pub fn tenants(&self) -> impl Iterator<Item = &Arc<Tenant>> {
        self.tenants.values()
    }
}
