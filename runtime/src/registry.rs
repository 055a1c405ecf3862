//! What is live: loaded plugins, tenants, and each tenant channel bound to
//! the plugin version that serves it, with the grant the operator gave it.
//!
//! A registry is built whole from config plus plugins and then only read;
//! a reload builds a new one and swaps it in, so a request sees either the
//! old world or the new one, never half of each.

use crate::channel_settings::{self, Problem};
use crate::config::{ChannelConfig, ConfigError, TenantConfig};
use crate::plugin_host::{ChannelGrant, Plugin, PluginManifest};
use paycore_core::routing::{Channels, Offer, Policy};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// One tenant channel, ready to call.
#[derive(Debug)]
pub struct BoundChannel {
    pub id: String,
    pub tenant: String,
    pub plugin: Plugin,
    pub grant: Arc<ChannelGrant>,
    /// What the plugin receives: the tenant's settings with `{public_url}`
    /// filled in, plus the defaults of described settings left out.
    pub settings: Vec<(String, String)>,
    /// The tenant's settings with `{public_url}` filled in, to resolve
    /// again for another version of the plugin.
    written: BTreeMap<String, String>,
    config: ChannelConfig,
    /// The tenant's card programmes this channel runs.
    programs: Arc<[crate::ledger::Program]>,
    /// The tenant's time zone (its coupons' days and hours are local).
    timezone: crate::clock::TimeZone,
    /// The canary version and its share of payments, when configured and loaded.
    pub canary: Option<(Plugin, u8)>,
}

impl BoundChannel {
    fn bind(
        tenant: &str,
        config: &ChannelConfig,
        plugin: &Plugin,
        written: BTreeMap<String, String>,
        programs: Arc<[crate::ledger::Program]>,
        timezone: crate::clock::TimeZone,
    ) -> BoundChannel {
        let m = &plugin.manifest;
        let mut grant = crate::plugin_host::grant_for(
            m,
            tenant,
            &config.id,
            &config.allowed_hosts,
            &config.secrets,
        );
        grant.programs = programs.clone();
        grant.timezone = timezone.clone();
        // A version that does not fit these settings is never bound; if it
        // serves an old payment all the same, it gets them as written.
        let settings = channel_settings::resolve(&m.settings, &written)
            .unwrap_or_else(|_| written.clone().into_iter().collect());
        BoundChannel {
            id: config.id.clone(),
            tenant: tenant.to_string(),
            plugin: plugin.clone(),
            grant: Arc::new(grant),
            settings,
            written,
            config: config.clone(),
            programs,
            timezone,
            canary: None,
        }
    }

    /// When yesterday's statement is reconciled each day (tenant's time).
    pub fn reconcile_at(&self) -> Option<jiff::civil::Time> {
        self.config.reconcile_at
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
        BoundChannel::bind(
            &self.tenant,
            &self.config,
            plugin,
            self.written.clone(),
            self.programs.clone(),
            self.timezone.clone(),
        )
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

    /// The tenant as routing sees it.
    pub fn routing(&self) -> Policy<'_> {
        Policy {
            tenant: &self.config.id,
            timezone: &self.config.timezone,
            rules: &self.config.rules,
            channels: self,
        }
    }
}

impl Channels for Tenant {
    fn offer(&self, id: &str) -> Offer<'_> {
        match self.channel(id) {
            Some(channel) => {
                let m = &channel.plugin.manifest;
                Offer::Served {
                    plugin: channel.plugin.label(),
                    scenes: &m.scenes,
                    wallets: &m.wallets,
                    currencies: &m.currencies,
                }
            }
            None if self
                .config
                .channels
                .iter()
                .any(|c| c.id == id && !c.enabled) =>
            {
                Offer::Disabled
            }
            None => Offer::Unserved,
        }
    }
}

#[derive(Debug, Default)]
pub struct Registry {
    pub plugins: Vec<Plugin>,
    tenants: HashMap<String, Arc<Tenant>>,
    /// Key digest → the tenant and, during a rotation, the key's expiry.
    by_api_key: HashMap<[u8; 32], (String, Option<jiff::Timestamp>)>,
}

/// Which version of a channel's plugin a check is about, for its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Serving,
    Canary,
}

/// The channel's settings as written, with `{public_url}` filled in.
fn written_settings(channel: &ChannelConfig, public_url: &str) -> BTreeMap<String, String> {
    channel
        .settings
        .iter()
        .map(|(k, v)| (k.clone(), v.replace("{public_url}", public_url)))
        .collect()
}

/// Why `plugin` cannot serve `channel`, each reason located in the tenant's
/// file (empty: it fits): a setting or secret the plugin needs is missing
/// (at `plugin = …`), a setting's value does not fit the plugin's
/// description of it (at the value), or the channel grants hosts the
/// plugin does not declare.
pub fn unfit(
    plugin: &PluginManifest,
    channel: &ChannelConfig,
    public_url: &str,
    role: Role,
) -> Vec<ConfigError> {
    let label = format!("{}@{}", plugin.name, plugin.version);
    let who = match role {
        Role::Serving => format!("channel `{}`:", channel.id),
        Role::Canary => format!("channel `{}`: canary", channel.id),
    };
    let at_plugin = |message: String| ConfigError {
        message: format!("{who} {message}"),
        ..channel.plugin_location.clone()
    };
    let mut reasons = Vec::new();
    let mut missing: Vec<String> = Vec::new();
    let written = written_settings(channel, public_url);
    if let Err(misfits) = channel_settings::resolve(&plugin.settings, &written) {
        for misfit in misfits {
            match misfit.problem {
                Problem::Missing => missing.push(format!("setting `{}`", misfit.setting)),
                Problem::Invalid(what) => reasons.push(ConfigError {
                    message: format!("{who} setting `{}` {what} (plugin {label})", misfit.setting),
                    ..channel
                        .setting_locations
                        .get(&misfit.setting)
                        .unwrap_or(&channel.plugin_location)
                        .clone()
                }),
            }
        }
    }
    missing.extend(
        plugin
            .secrets
            .iter()
            .filter(|s| !channel.secrets.contains_key(*s))
            .map(|s| format!("secret `{s}`")),
    );
    if !missing.is_empty() {
        reasons.push(at_plugin(format!(
            "plugin {label} needs {}",
            missing.join(", ")
        )));
    }
    let undeclared: Vec<&str> = channel
        .allowed_hosts
        .iter()
        .filter(|h| !plugin.hosts.contains(h))
        .map(|h| h.as_str())
        .collect();
    if !undeclared.is_empty() {
        reasons.push(at_plugin(format!(
            "allowed_hosts {} are not among the hosts plugin {label} declares ({})",
            undeclared.join(", "),
            plugin.hosts.join(", ")
        )));
    }
    // In the order they are written (`plugin = …` comes first in the file).
    reasons.sort_by_key(|r| r.position);
    reasons
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
                let mut reasons: Vec<ConfigError> = Vec::new();
                let chosen = in_range.into_iter().find(|p| {
                    if let Some(pin) = ch.plugin_sha256.as_ref().filter(|pin| **pin != p.digest) {
                        reasons.push(ConfigError {
                            message: format!(
                                "channel `{}`: {} is sha256:{}, not the pinned sha256:{pin}",
                                ch.id,
                                p.label(),
                                p.digest
                            ),
                            ..ch.plugin_location.clone()
                        });
                        return false;
                    }
                    let unfit = unfit(&p.manifest, ch, public_url, Role::Serving);
                    let fits = unfit.is_empty();
                    reasons.extend(unfit);
                    fits
                });
                match chosen {
                    Some(plugin) => {
                        let written = written_settings(ch, public_url);
                        let programs: Arc<[crate::ledger::Program]> = t
                            .card_programs
                            .iter()
                            .filter(|p| p.channel == ch.id)
                            .cloned()
                            .collect();
                        let mut bound = BoundChannel::bind(
                            &t.id,
                            ch,
                            plugin,
                            written,
                            programs,
                            t.timezone.clone(),
                        );
                        bound.canary = ch.canary.as_ref().and_then(|c| {
                            let canary = registry.plugins.iter().find(|p| {
                                p.manifest.name == ch.plugin_name && p.manifest.version == c.version
                            })?;
                            let unfit = unfit(&canary.manifest, ch, public_url, Role::Canary);
                            if unfit.is_empty() {
                                return Some((canary.clone(), c.percent));
                            }
                            problems.extend(unfit);
                            None
                        });
                        channels.push(Arc::new(bound));
                    }
                    None if reasons.is_empty() => {
                        let loaded: Vec<&str> =
                            registry.plugins.iter().map(|p| p.label()).collect();
                        let loaded = if loaded.is_empty() {
                            "none".to_string()
                        } else {
                            loaded.join(", ")
                        };
                        problems.push(ConfigError {
                            message: format!(
                                "channel `{}`: no loaded plugin matches `{}@{}` (loaded: {loaded})",
                                ch.id, ch.plugin_name, ch.plugin_req
                            ),
                            ..ch.plugin_location.clone()
                        });
                    }
                    None => problems.extend(reasons),
                }
            }
            problems.extend(unservable_rules(t, &channels));
            for key in &t.api_keys {
                registry
                    .by_api_key
                    .insert(key.digest, (t.id.to_string(), key.expires_at));
            }
            registry.tenants.insert(
                t.id.to_string(),
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

    /// The tenant an API key belongs to, if the key is accepted at `now`
    /// (the payments' clock: a key's expiry is business time). Only
    /// digests are kept; the lookup is by the presented key's SHA-256, so
    /// its timing depends on the digest, which an attacker cannot steer
    /// toward a stored one (that would take a preimage), and never on how
    /// much of a real key a guess got right.
    pub fn tenant_by_api_key(&self, key: &str, now: jiff::Timestamp) -> Option<&Arc<Tenant>> {
        let (tenant, expires_at) = self.by_api_key.get(&crate::config::api_keys::digest(key))?;
        if expires_at.is_some_and(|at| now >= at) {
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
