//! What is live: loaded plugins, tenants, and each tenant channel bound to
//! the plugin version that serves it, with the grant the operator gave it.
//!
//! A registry is built whole from config plus plugins and then only read;
//! a reload builds a new one and swaps it in, so a request sees either the
//! old world or the new one, never half of each.

use crate::config::{ChannelConfig, ConfigError, TenantConfig};
use crate::plugin_host::{ChannelGrant, Plugin, PluginManifest};
use std::collections::HashMap;
use std::sync::Arc;

/// One tenant channel, ready to call.
#[derive(Debug)]
pub struct BoundChannel {
    pub id: String,
    pub tenant: String,
    pub plugin: Plugin,
    pub grant: Arc<ChannelGrant>,
    /// Settings with `{public_url}` already filled in.
    pub settings: Vec<(String, String)>,
    config: ChannelConfig,
    /// The canary version and its share of payments, when configured and loaded.
    pub canary: Option<(Plugin, u8)>,
}

impl BoundChannel {
    fn bind(
        tenant: &str,
        config: &ChannelConfig,
        plugin: &Plugin,
        public_url: &str,
    ) -> BoundChannel {
        let m = &plugin.manifest;
        let grant = crate::plugin_host::grant_for(
            m,
            tenant,
            &config.id,
            &config.allowed_hosts,
            &config.secrets,
        );
        let settings = config
            .settings
            .iter()
            .map(|(k, v)| (k.clone(), v.replace("{public_url}", public_url)))
            .collect();
        BoundChannel {
            id: config.id.clone(),
            tenant: tenant.to_string(),
            plugin: plugin.clone(),
            grant: Arc::new(grant),
            settings,
            config: config.clone(),
            canary: None,
        }
    }

    /// The channel as it serves this order: the canary version for its share
    /// of order numbers (stable: a retried order lands on the same version),
    /// the main one otherwise.
    pub fn serving(self: &Arc<Self>, merchant_order_no: &str) -> Arc<BoundChannel> {
        match &self.canary {
            Some((plugin, percent))
                if canary_bucket(&self.tenant, &self.id, merchant_order_no)
                    < u64::from(*percent) =>
            {
                Arc::new(self.with_plugin(plugin))
            }
            _ => self.clone(),
        }
    }

    /// The same channel served by another loaded version of its plugin:
    /// follow-up calls on a payment go to the version that created it.
    pub fn with_plugin(&self, plugin: &Plugin) -> BoundChannel {
        let settings = self.settings.clone();
        BoundChannel {
            settings,
            ..BoundChannel::bind(&self.tenant, &self.config, plugin, "")
        }
    }
}

/// 0–99, from sha256 of tenant, channel and order number: stable across
/// processes and versions.
fn canary_bucket(tenant: &str, channel: &str, merchant_order_no: &str) -> u64 {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [tenant, channel, merchant_order_no] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let digest = h.finalize();
    u64::from_be_bytes(digest[..8].try_into().expect("8 bytes")) % 100
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
    /// Key digest → the tenant and, during a rotation, the key's expiry.
    by_api_key: HashMap<[u8; 32], (String, Option<jiff::Timestamp>)>,
}

/// Why `plugin` cannot serve `channel`, if it cannot: a setting or secret
/// the plugin needs is missing, or the channel grants hosts the plugin does
/// not declare.
pub fn unfit(plugin: &PluginManifest, channel: &ChannelConfig) -> Option<String> {
    let mut missing: Vec<String> = Vec::new();
    missing.extend(
        plugin
            .settings
            .iter()
            .filter(|s| !channel.settings.contains_key(*s))
            .map(|s| format!("setting `{s}`")),
    );
    missing.extend(
        plugin
            .secrets
            .iter()
            .filter(|s| !channel.secrets.contains_key(*s))
            .map(|s| format!("secret `{s}`")),
    );
    if !missing.is_empty() {
        return Some(format!(
            "plugin {}@{} needs {}",
            plugin.name,
            plugin.version,
            missing.join(", ")
        ));
    }
    let undeclared: Vec<&str> = channel
        .allowed_hosts
        .iter()
        .filter(|h| !plugin.hosts.contains(h))
        .map(|h| h.as_str())
        .collect();
    if !undeclared.is_empty() {
        return Some(format!(
            "allowed_hosts {} are not among the hosts plugin {}@{} declares ({})",
            undeclared.join(", "),
            plugin.name,
            plugin.version,
            plugin.hosts.join(", ")
        ));
    }
    None
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
    /// allows (and that fits it) and returns every channel that cannot be
    /// bound, located in config.
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
                let is_canary = |p: &Plugin| {
                    ch.canary
                        .as_ref()
                        .is_some_and(|c| c.version == p.manifest.version)
                };
                let mut in_range: Vec<&Plugin> = registry
                    .plugins
                    .iter()
                    .filter(|p| {
                        p.manifest.name == ch.plugin_name
                            && ch.plugin_req.matches(&p.manifest.version)
                            && !is_canary(p)
                    })
                    .collect();
                in_range.sort_by(|a, b| b.manifest.version.cmp(&a.manifest.version));
                let mut reasons = Vec::new();
                let chosen = in_range.into_iter().find(|p| {
                    let pinned_away = ch.plugin_sha256.as_ref().filter(|pin| **pin != p.digest);
                    match (pinned_away, unfit(&p.manifest, ch)) {
                        (Some(pin), _) => {
                            reasons.push(format!(
                                "{} is sha256:{}, not the pinned sha256:{pin}",
                                p.label(),
                                p.digest
                            ));
                            false
                        }
                        (None, Some(reason)) => {
                            reasons.push(reason);
                            false
                        }
                        (None, None) => true,
                    }
                });
                match chosen {
                    Some(plugin) => {
                        let mut bound = BoundChannel::bind(&t.id, ch, plugin, public_url);
                        bound.canary = ch.canary.as_ref().and_then(|c| {
                            let canary = registry.plugins.iter().find(|p| {
                                p.manifest.name == ch.plugin_name && p.manifest.version == c.version
                            })?;
                            match unfit(&canary.manifest, ch) {
                                None => Some((canary.clone(), c.percent)),
                                Some(reason) => {
                                    problems.push(ConfigError {
                                        message: format!("channel `{}`: canary {reason}", ch.id),
                                        ..ch.plugin_location.clone()
                                    });
                                    None
                                }
                            }
                        });
                        channels.push(Arc::new(bound));
                    }
                    None => {
                        let why = if reasons.is_empty() {
                            let loaded: Vec<&str> =
                                registry.plugins.iter().map(|p| p.label()).collect();
                            let loaded = if loaded.is_empty() {
                                "none".to_string()
                            } else {
                                loaded.join(", ")
                            };
                            format!(
                                "no loaded plugin matches `{}@{}` (loaded: {loaded})",
                                ch.plugin_name, ch.plugin_req
                            )
                        } else {
                            reasons.join("; ")
                        };
                        problems.push(ConfigError {
                            message: format!("channel `{}`: {why}", ch.id),
                            ..ch.plugin_location.clone()
                        });
                    }
                }
            }
            problems.extend(unservable_rules(t, &channels));
            for key in &t.api_keys {
                registry
                    .by_api_key
                    .insert(key.digest, (t.id.clone(), key.expires_at));
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

    /// A loaded plugin by exact name and version.
    pub fn plugin(&self, name: &str, version: &str) -> Option<&Plugin> {
        self.plugins
            .iter()
            .find(|p| p.manifest.name == name && p.manifest.version.to_string() == version)
    }

    /// The tenant an API key belongs to, if the key is accepted now. Only
    /// digests are kept; the lookup is by the presented key's SHA-256, so
    /// its timing depends on the digest, which an attacker cannot steer
    /// toward a stored one (that would take a preimage), and never on how
    /// much of a real key a guess got right.
    pub fn tenant_by_api_key(&self, key: &str) -> Option<&Arc<Tenant>> {
        let (tenant, expires_at) = self.by_api_key.get(&crate::config::api_keys::digest(key))?;
        if expires_at.is_some_and(|at| jiff::Timestamp::now() >= at) {
            return None;
        }
        self.tenants.get(tenant)
    }

    pub fn tenants(&self) -> impl Iterator<Item = &Arc<Tenant>> {
        self.tenants.values()
    }

    /// Channels `other` binds, still enabled in `configs`, that this
    /// registry leaves unbound, as `tenant/channel`: what swapping `other`
    /// for this one would take out of service.
    pub fn unbinds(&self, other: &Registry, configs: &[TenantConfig]) -> Vec<String> {
        let mut lost = Vec::new();
        for config in configs {
            let Some(before) = other.tenant(&config.id) else {
                continue;
            };
            let after = self.tenant(&config.id);
            for channel in config.channels.iter().filter(|c| c.enabled) {
                let was_bound = before.channel(&channel.id).is_some();
                let is_bound = after.is_some_and(|t| t.channel(&channel.id).is_some());
                if was_bound && !is_bound {
                    lost.push(format!("{}/{}", config.id, channel.id));
                }
            }
        }
        lost
    }
}

#[cfg(test)]
mod tests {
    use super::canary_bucket;

    #[test]
    fn canary_buckets_are_stable_and_spread_evenly() {
        let orders: Vec<String> = (0..2_000).map(|i| format!("ORDER-{i}")).collect();
        let in_ten_percent = orders
            .iter()
            .filter(|o| canary_bucket("t", "c", o) < 10)
            .count();
        // 2,000 draws at p = 0.1: mean 200, sd 13.4; five sd either side.
        assert!(
            (133..=267).contains(&in_ten_percent),
            "{in_ten_percent} of 2000 in a 10% canary"
        );
        assert_eq!(
            canary_bucket("t", "c", "ORDER-7"),
            canary_bucket("t", "c", "ORDER-7")
        );
        // Pinned, so the bucketing never drifts between versions.
        assert_eq!(
            canary_bucket("demo", "sandbox-main", "A20261125001"),
            PINNED
        );
    }

    const PINNED: u64 = 62;
}
