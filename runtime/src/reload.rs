//! Hot reload: rescans the plugins folder and re-reads every config file,
//! checks everything off the request path, and swaps a whole new registry
//! in at once. A plugin or config that fails a check is refused with its
//! reason and the previous one keeps serving.
//!
//! Rules:
//! - A plugin is kept by digest: an unchanged file is never recompiled.
//! - Versions are immutable: a second file with a loaded `name@version` but
//!   another digest is refused, and the loaded one keeps serving.
//! - A config is validated whole (all tenant files together, and every
//!   channel binding against the plugins); if the new one binds worse than
//!   the old one did, it is refused and the old one stays.
//! - A file whose new content is refused (truncated, garbage, a version
//!   already taken) or empty (still being written) keeps its last good
//!   build serving; `/admin/status` says so and why.
//! - A plugin removed from the folder is retired: new requests stop seeing
//!   it at once; calls already running finish on it (drain). Only removing
//!   the file (or unpublishing, or a rollback) takes a build away.
//! - A config that would unbind a channel serving now, which the previous
//!   config binds with the same plugins, is refused.

mod operator;
mod replay_gate;

pub use operator::Decisions;
use operator::approval_label;

use crate::store::DecisionKind;

use crate::config::{self, Overrides, TenantConfig};
use crate::domain::now_rfc3339;
use crate::payments::Payments;
use crate::plugin_host::{Plugin, PluginHost};
use crate::registry::Registry;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

pub struct Reloader {
    host: PluginHost,
    payments: Arc<Payments>,
    config_file: PathBuf,
    overrides: Overrides,
    plugins_dir: PathBuf,
    public_url: String,
    /// Which builds may load at all (signatures); a server setting, so it
    /// changes with a restart, not a reload.
    plugin_policy: crate::provenance::ProvenancePolicy,
    inner: tokio::sync::Mutex<Inner>,
    status: RwLock<Arc<Status>>,
}

struct Inner {
    tenants: Vec<TenantConfig>,
    live: Vec<Live>,
    retired: Vec<Plugin>,
    generation: u64,
    decisions: Decisions,
}

#[derive(Clone)]
struct Live {
    file: PathBuf,
    plugin: Plugin,
    loaded_at: String,
}

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
    fn of(plugin: &Plugin, file: &Path, state: &'static str, loaded_at: Option<String>) -> Self {
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

/// Editors and copy tools leave these behind; they are never plugins.
pub fn is_temporary(path: &Path) -> bool {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    name.starts_with('.')
        || name.ends_with('~')
        || [".swp", ".tmp", ".part", ".crdownload"]
            .iter()
            .any(|s| name.ends_with(s))
}

impl Reloader {
    pub fn new(
        host: PluginHost,
        payments: Arc<Payments>,
        config: &config::Config,
        overrides: Overrides,
        public_url: String,
    ) -> Reloader {
        let status = Status {
            generation: 0,
            reloaded_at: now_rfc3339(),
            trigger: "none".into(),
            config_current: true,
            errors: Vec::new(),
            differences: Vec::new(),
            plugins: Vec::new(),
        };
        Reloader {
            host,
            payments,
            config_file: config.server.config_file.clone(),
            overrides,
            plugins_dir: config.server.plugins_dir.clone(),
            public_url,
            plugin_policy: config.server.plugin_policy.clone(),
            inner: tokio::sync::Mutex::new(Inner {
                tenants: config.tenants.clone(),
                live: Vec::new(),
                retired: Vec::new(),
                generation: 0,
                decisions: Decisions::default(),
            }),
            status: RwLock::new(Arc::new(status)),
        }
    }

    pub fn status(&self) -> Arc<Status> {
        let mut status = (**self.status.read().expect("status lock")).clone();
        // In-flight counts move between reloads; read them fresh.
        let registry = self.payments.registry();
        for p in &mut status.plugins {
            if let Some(plugin) = registry
                .plugins
                .iter()
                .find(|x| format!("sha256:{}", x.digest) == p.digest)
            {
                p.calls_in_flight = plugin.calls_in_flight();
            }
        }
        Arc::new(status)
    }

    /// Approves `name@version` (the loaded build of it) to ask for more than
    /// its predecessor, then reloads.
    pub async fn approve(&self, label: &str) -> Result<Arc<Status>, String> {
        let status = self.status();
        let entry = status
            .plugins
            .iter()
            .find(|p| {
                matches!(p.state, "awaiting_approval" | "held_by_replay")
                    && p.name
                        .as_deref()
                        .zip(p.version.as_deref())
                        .is_some_and(|(n, v)| format!("{n}@{v}") == label)
            })
            .ok_or_else(|| format!("{label} is not awaiting approval"))?;
        let digest = entry.digest.trim_start_matches("sha256:");
        self.decide(DecisionKind::Approved, &approval_label(label, digest), true)
            .await?;
        Ok(self.reload("admin").await)
    }

    /// Takes the newest serving version of `name` out of service, so every
    /// channel falls back to the previous one; answers which was rolled back.
    pub async fn rollback(&self, name: &str) -> Result<(String, Arc<Status>), String> {
        let registry = self.payments.registry();
        let newest = registry
            .plugins
            .iter()
            .filter(|p| p.manifest.name == name)
            .max_by(|a, b| a.manifest.version.cmp(&b.manifest.version))
            .ok_or_else(|| format!("no version of `{name}` is serving"))?;
        let older = registry
            .plugins
            .iter()
            .any(|p| p.manifest.name == name && p.manifest.version < newest.manifest.version);
        if !older {
            return Err(format!(
                "{} is the only version of `{name}` loaded; there is nothing to roll back to",
                newest.label()
            ));
        }
        let label = newest.label().to_string();
        self.decide(DecisionKind::RolledBack, &label, true).await?;
        Ok((label, self.reload("admin").await))
    }

    /// Puts a rolled-back version back into service.
    pub async fn restore(&self, label: &str) -> Result<Arc<Status>, String> {
        if !self.decide(DecisionKind::RolledBack, label, false).await? {
            return Err(format!("{label} is not rolled back"));
        }
        Ok(self.reload("admin").await)
    }

    /// Records (or revokes) a decision in the database, where every
    /// instance reads it; answers whether anything changed.
    async fn decide(&self, kind: DecisionKind, label: &str, record: bool) -> Result<bool, String> {
        let store = self.payments.store();
        let changed = if record {
            store.record_decision(kind, label).await
        } else {
            store.revoke_decision(kind, label).await
        };
        changed.map_err(|e| format!("cannot record the decision: {e}"))
    }

    pub fn plugins_dir(&self) -> &Path {
        &self.plugins_dir
    }

    pub fn config_dirs(&self) -> Vec<PathBuf> {
        let dir = self
            .config_file
            .parent()
            .unwrap_or(Path::new("."))
            .to_path_buf();
        vec![dir]
    }

    /// Rescans plugins and config and swaps in the result. Reloads are
    /// serialised; each one starts from what is serving.
    pub async fn reload(&self, trigger: &str) -> Arc<Status> {
        let mut inner = self.inner.lock().await;
        let mut errors = Vec::new();

        let mut refused_tenants = Vec::new();
        let (candidate_tenants, config_loaded) = match self.read_config().await {
            Ok(cfg) => (cfg.tenants, true),
            Err((problems, validated)) => {
                errors.extend(problems.into_iter().map(|e| format!("config refused: {e}")));
                refused_tenants = validated;
                (inner.tenants.clone(), false)
            }
        };

        // Unreadable decisions: keep applying the last ones read, so a lost
        // connection never brings a rolled-back version back into service.
        let decisions = match Decisions::read(self.payments.store()).await {
            Ok(d) => {
                inner.decisions = d.clone();
                d
            }
            Err(e) => {
                errors.push(e);
                inner.decisions.clone()
            }
        };
        let Scan {
            live,
            refused,
            kept: mut differences,
        } = self
            .candidate_plugins(&inner.live, &candidate_tenants, &decisions)
            .await;
        let plugins: Vec<Plugin> = live.iter().map(|l| l.plugin.clone()).collect();
        // What validated of a refused config is bound too, so that all its
        // problems show at once, channel settings included.
        let unbound = Registry::build(plugins.clone(), &refused_tenants, &self.public_url).1;
        errors.extend(unbound.iter().map(|e| format!("config refused: {e}")));

        let (mut registry, mut problems) =
            Registry::build(plugins.clone(), &candidate_tenants, &self.public_url);
        let mut tenants = candidate_tenants;
        let mut config_current = config_loaded;
        if config_loaded && !problems.is_empty() && inner.generation > 0 {
            // The new config binds worse than the old one would with the
            // same plugins (a channel serving now left unbound, or more
            // problems): keep the old.
            let (old_registry, old_problems) =
                Registry::build(plugins, &inner.tenants, &self.public_url);
            let unbound = registry.unbinds(&old_registry, &tenants);
            if !unbound.is_empty() || old_problems.len() < problems.len() {
                errors.extend(problems.iter().map(|e| format!("config refused: {e}")));
                let why = if unbound.is_empty() {
                    "it has problems the serving config does not".to_string()
                } else {
                    format!("it would leave {} unbound", unbound.join(", "))
                };
                differences.push(format!(
                    "the tenant configs on disk are refused ({why}); the previous ones keep serving"
                ));
                registry = old_registry;
                problems = old_problems;
                tenants = inner.tenants.clone();
                config_current = false;
            }
        }
        if !config_loaded {
            differences.push(
                "the config on disk is refused (its problems are in errors); the previous one keeps serving"
                    .into(),
            );
        }
        differences.extend(
            problems
                .iter()
                .map(|e| format!("a channel the config asks for is not served: {e}")),
        );
        errors.extend(problems.iter().map(|e| e.to_string()));
        for e in &errors {
            tracing::error!(trigger, problem = %e, "reload problem");
        }

        self.payments.swap_registry(registry);
        let kept: Vec<&str> = live.iter().map(|l| l.plugin.digest.as_str()).collect();
        let retiring: Vec<Plugin> = inner
            .live
            .iter()
            .filter(|l| !kept.contains(&l.plugin.digest.as_str()))
            .map(|l| l.plugin.clone())
            .collect();
        for p in &retiring {
            tracing::info!(
                plugin = p.label(),
                in_flight = p.calls_in_flight(),
                "plugin retired; draining"
            );
        }
        inner.retired.extend(retiring);
        inner.retired.retain(|p| p.calls_in_flight() > 0);
        inner.live = live;
        inner.tenants = tenants;
        inner.generation += 1;
        metrics::counter!("paycore_reloads_total", "trigger" => trigger.to_string(), "result" => if errors.is_empty() { "clean" } else { "with_problems" }).increment(1);

        let mut plugins: Vec<PluginStatus> = inner
            .live
            .iter()
            .map(|l| PluginStatus::of(&l.plugin, &l.file, "live", Some(l.loaded_at.clone())))
            .collect();
        plugins.extend(
            inner
                .retired
                .iter()
                .map(|p| PluginStatus::of(p, Path::new(""), "draining", None)),
        );
        plugins.extend(refused);
        let status = Arc::new(Status {
            generation: inner.generation,
            reloaded_at: now_rfc3339(),
            trigger: trigger.to_string(),
            config_current,
            errors,
            differences,
            plugins,
        });
        *self.status.write().expect("status lock") = status.clone();
        tracing::info!(
            trigger,
            generation = status.generation,
            live = inner.live.len(),
            problems = status.errors.len(),
            "reloaded"
        );
        status
    }

    /// What a reload from nothing would serve, without serving it: the
    /// config files and the published tenant configs, the plugins folder and
    /// the published plugins, through exactly the checks of [`reload`]
    /// (`Reloader::reload`), the operator's decisions included. For the
    /// tools that must see what a server started now would
    /// (`paycore check-config`, `paycore route explain`).
    pub async fn check(&self) -> Checked {
        let mut problems = Vec::new();
        let tenants = match self.read_config().await {
            Ok(cfg) => cfg.tenants,
            Err((config_problems, validated)) => {
                problems.extend(config_problems);
                validated
            }
        };
        let decisions = Decisions::read(self.payments.store())
            .await
            .unwrap_or_else(|e| {
                problems.push(e);
                Decisions::default()
            });
        let scan = self.candidate_plugins(&[], &tenants, &decisions).await;
        problems.extend(scan.kept);
        problems.extend(
            scan.refused
                .iter()
                .filter(|p| p.state == "refused")
                .map(|p| format!("{}: {}", p.file, p.reason.as_deref().unwrap_or("refused"))),
        );
        let plugins = scan.live.into_iter().map(|l| l.plugin).collect();
        let (registry, unbound) = Registry::build(plugins, &tenants, &self.public_url);
        problems.extend(unbound.iter().map(ToString::to_string));
        Checked {
            registry,
            problems,
            tenants: tenants.len(),
        }
    }

    /// The plugins that would serve after `previous`: the folder's files and
    /// the published builds, each checked, less what the operator's
    /// decisions and the replay gate hold (a held file's last good build
    /// keeps serving). `refused` lists the refused and the held builds,
    /// `kept` why builds kept serving from files that changed.
    async fn candidate_plugins(
        &self,
        previous: &[Live],
        tenants: &[TenantConfig],
        decisions: &Decisions,
    ) -> Scan {
        let Scan {
            live: scanned,
            mut refused,
            mut kept,
        } = self.scan_plugins(previous).await;
        let (live, held) = apply_decisions(scanned, previous, decisions);
        refused.extend(held);
        let (mut live, held) = self.replay_gate(live, tenants, previous, decisions).await;
        refused.extend(held);
        keep_builds_of_held_files(&mut live, previous, &refused, decisions, &mut kept);
        Scan {
            live,
            refused,
            kept,
        }
    }

    /// The config files plus the tenant configs published to the database.
    /// If the database cannot be read, the config is not current: a reload
    /// must never drop published tenants because of a dropped connection.
    /// Refused, it answers every problem and the tenants that validated.
    async fn read_config(&self) -> Result<config::Config, (Vec<String>, Vec<TenantConfig>)> {
        let published = self
            .payments
            .store()
            .serving_tenant_configs()
            .await
            .map_err(|e| {
                let problem = format!("cannot read the published tenant configs: {e}");
                (vec![problem], Vec::new())
            })?;
        let sources = config::TenantSources {
            published: &published,
            resolve_secrets: true,
        };
        config::load_partial(&self.config_file, &self.overrides, sources)
            .into_result()
            .map_err(|(problems, validated)| {
                (
                    problems.0.iter().map(|e| e.to_string()).collect(),
                    validated,
                )
            })
    }

    /// Loads what changed in the plugins folder; keeps what did not. A file
    /// whose new content is refused keeps its last good build serving; only
    /// a file removed from the folder takes its build away.
    async fn scan_plugins(&self, previous: &[Live]) -> Scan {
        let mut files: Vec<PathBuf> = match std::fs::read_dir(&self.plugins_dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "wasm") && !is_temporary(p))
                .collect(),
            Err(e) => {
                tracing::error!(dir = %self.plugins_dir.display(), error = %e, "cannot read the plugins folder");
                let mut note = format!(
                    "the plugins folder {} cannot be read ({e})",
                    self.plugins_dir.display()
                );
                if !previous.is_empty() {
                    note.push_str("; what was loaded keeps serving");
                }
                return Scan {
                    live: previous.to_vec(),
                    refused: Vec::new(),
                    kept: vec![note],
                };
            }
        };
        files.sort();
        let mut scan = Scan::default();
        for file in &files {
            let last_good = previous.iter().find(|l| &l.file == file);
            match read_file(file).await {
                FileRead::Gone => continue,
                FileRead::Empty => {
                    if let Some(good) = last_good {
                        scan.keep(good, "is empty (being written?)");
                    }
                    continue;
                }
                FileRead::Unreadable(e) => {
                    if let Some(good) = last_good {
                        scan.keep(good, &format!("cannot be read ({e})"));
                    } else {
                        tracing::error!(file = %file.display(), error = %e, "cannot read a plugin file");
                    }
                    continue;
                }
                FileRead::Bytes(bytes) => {
                    let refused_before = scan.refused.len();
                    self.consider(
                        file.clone(),
                        bytes,
                        previous,
                        &mut scan.live,
                        &mut scan.refused,
                    )
                    .await;
                    let serves = scan.live.iter().any(|l| &l.file == file);
                    if let Some(good) = last_good.filter(|_| !serves) {
                        let why = scan.refused[refused_before..]
                            .iter()
                            .find_map(|r| r.reason.clone())
                            .unwrap_or_else(|| "was refused".into());
                        scan.keep(good, &format!("has new content that was refused: {why}"));
                    }
                }
            }
        }
        for gone in previous
            .iter()
            .filter(|l| !is_published(&l.file) && !files.contains(&l.file))
        {
            // The operator's decision, not an accident: a distinct event.
            tracing::warn!(
                file = %gone.file.display(),
                plugin = gone.plugin.label(),
                "plugin file removed from the folder: retiring its build"
            );
        }
        self.scan_published(previous, &mut scan.live, &mut scan.refused)
            .await;
        scan
    }

    /// Plugins published to the database (`paycore plugin publish`), checked
    /// exactly like files; a build already loaded is kept without fetching
    /// its bytes again.
    async fn scan_published(
        &self,
        previous: &[Live],
        live: &mut Vec<Live>,
        refused: &mut Vec<PluginStatus>,
    ) {
        let store = self.payments.store();
        let published = match store.published_plugins().await {
            Ok(p) => p,
            Err(e) => {
                // A database hiccup must not retire what serves.
                tracing::error!(error = %e, "cannot read the published plugins; keeping those loaded");
                live.extend(previous.iter().filter(|l| is_published(&l.file)).cloned());
                return;
            }
        };
        for p in published {
            let file = PathBuf::from(format!("{PUBLISHED}{}@{}", p.name, p.version));
            if let Some(same) = previous.iter().find(|l| l.plugin.digest == p.digest) {
                if !live.iter().any(|l| l.plugin.digest == p.digest) {
                    live.push(Live {
                        file,
                        ..same.clone()
                    });
                }
                continue;
            }
            let bytes = match store.published_plugin_bytes(&p.digest).await {
                Ok(Some(bytes)) if hex::encode(Sha256::digest(&bytes)) == p.digest => bytes,
                Ok(Some(_)) => {
                    tracing::error!(file = %file.display(), "published bytes do not match their digest; skipped");
                    continue;
                }
                Ok(None) => continue, // unpublished meanwhile
                Err(e) => {
                    tracing::error!(file = %file.display(), error = %e, "cannot read a published plugin");
                    continue;
                }
            };
            self.consider(file, bytes, previous, live, refused).await;
        }
    }

    /// Checks one plugin build (from a file or the database) against what is
    /// loaded: kept by digest, refused if its version is taken by another
    /// build, else loaded with every check.
    async fn consider(
        &self,
        file: PathBuf,
        bytes: Vec<u8>,
        previous: &[Live],
        live: &mut Vec<Live>,
        refused: &mut Vec<PluginStatus>,
    ) {
        let digest = hex::encode(Sha256::digest(&bytes));
        if live.iter().any(|l| l.plugin.digest == digest) {
            // A second copy of a file already taken (or kept below).
            return;
        }
        if let Some(same) = previous.iter().find(|l| l.plugin.digest == digest) {
            live.push(Live {
                file,
                ..same.clone()
            });
            return;
        }
        let refuse = |reason: String| {
            metrics::counter!("paycore_plugin_loads_total", "result" => "refused").increment(1);
            tracing::error!(file = %file.display(), %reason, "plugin refused");
            PluginStatus {
                file: file.display().to_string(),
                name: None,
                version: None,
                contract_version: None,
                digest: format!("sha256:{digest}"),
                state: "refused",
                reason: Some(reason),
                loaded_at: None,
                calls_in_flight: 0,
                from_cache: None,
                load_ms: None,
            }
        };
        if let Err(reason) = crate::provenance::admit(&self.plugin_policy, &bytes) {
            refused.push(refuse(reason));
            return;
        }
        let plugin = match self.load_with_retry(&file, bytes).await {
            Ok(p) => p,
            Err(reason) => {
                refused.push(refuse(reason));
                return;
            }
        };
        let taken = live
            .iter()
            .chain(previous.iter())
            .find(|l| l.plugin.label() == plugin.label() && l.plugin.digest != plugin.digest);
        if let Some(other) = taken {
            let reason = format!(
                "{} is already loaded with digest sha256:{}; versions are immutable, publish a new version instead",
                plugin.label(),
                other.plugin.digest
            );
            let mut status = refuse(reason);
            status.name = Some(plugin.manifest.name.clone());
            status.version = Some(plugin.manifest.version.to_string());
            refused.push(status);
            // If the loaded one's own file was overwritten in place, it keeps serving.
            if let Some(prev) = previous.iter().find(|l| l.plugin.label() == plugin.label())
                && !live.iter().any(|l| l.plugin.digest == prev.plugin.digest)
            {
                live.push(prev.clone());
            }
            return;
        }
        metrics::counter!("paycore_plugin_loads_total", "result" => "loaded").increment(1);
        tracing::info!(plugin = plugin.label(), digest = %plugin.digest, from_cache = plugin.load.from_cache, load_ms = plugin.load.millis, file = %file.display(), "plugin loaded");
        live.push(Live {
            file,
            plugin,
            loaded_at: now_rfc3339(),
        });
    }

    /// A file being copied in may be caught half-written: a load that fails
    /// is retried once after a short pause with the file read again.
    async fn load_with_retry(&self, file: &Path, bytes: Vec<u8>) -> Result<Plugin, String> {
        match self.host.load_bytes(bytes).await {
            Ok(p) => Ok(p),
            Err(first) => {
                tokio::time::sleep(Duration::from_millis(300)).await;
                match tokio::fs::read(file).await {
                    Ok(again) => self.host.load_bytes(again).await.map_err(|e| e.to_string()),
                    Err(_) => Err(first.to_string()),
                }
            }
        }
    }
}

/// A file whose new content is held for the operator (awaiting approval, or
/// held by the replay gate) keeps its last good build serving, unless the
/// operator rolled that build back: holding a build must not take away the
/// one it would replace, whether it came as a new file or over the old one.
fn keep_builds_of_held_files(
    live: &mut Vec<Live>,
    previous: &[Live],
    statuses: &[PluginStatus],
    decisions: &Decisions,
    differences: &mut Vec<String>,
) {
    for prev in previous {
        let file = prev.file.display().to_string();
        let held = statuses
            .iter()
            .find(|s| s.file == file && matches!(s.state, "awaiting_approval" | "held_by_replay"));
        let serves_from_file = live.iter().any(|l| l.file == prev.file);
        let rolled_back = decisions.rolled_back.contains(prev.plugin.label());
        if let Some(held) = held.filter(|_| !serves_from_file && !rolled_back) {
            if !live.iter().any(|l| l.plugin.digest == prev.plugin.digest) {
                live.push(prev.clone());
            }
            differences.push(format!(
                "{file} holds {}@{} ({}); its last good build {} keeps serving",
                held.name.as_deref().unwrap_or("?"),
                held.version.as_deref().unwrap_or("?"),
                held.state,
                prev.plugin.label()
            ));
        }
    }
}

/// Takes out of service what the operator rolled back, and holds a new
/// version that asks for hosts or secrets its predecessor (among the
/// candidates and what served before, so a build written over its
/// predecessor's file is held too) did not until the operator approves it.
fn apply_decisions(
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
            ..PluginStatus::of(&l.plugin, &l.file, "rolled_back", None)
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
                    ..PluginStatus::of(&l.plugin, &l.file, "awaiting_approval", None)
                })
            }
            _ => live.push(l.clone()),
        }
    }
    (live, held)
}

/// How a published plugin's source shows in `/admin/plugins`.
const PUBLISHED: &str = "published:";

fn is_published(file: &Path) -> bool {
    file.to_str().is_some_and(|f| f.starts_with(PUBLISHED))
}

/// What reading a plugin file found.
enum FileRead {
    /// Removed between listing the folder and reading it.
    Gone,
    /// There but empty: being written, most likely.
    Empty,
    /// There but not readable (permissions, I/O).
    Unreadable(String),
    Bytes(Vec<u8>),
}

async fn read_file(file: &Path) -> FileRead {
    match tokio::fs::read(file).await {
        Ok(bytes) if bytes.is_empty() => FileRead::Empty,
        Ok(bytes) => FileRead::Bytes(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileRead::Gone,
        Err(e) => FileRead::Unreadable(e.to_string()),
    }
}

/// One scan of the plugins: what serves, what was refused, and, for each
/// file whose last good build keeps serving, why.
#[derive(Default)]
struct Scan {
    live: Vec<Live>,
    refused: Vec<PluginStatus>,
    kept: Vec<String>,
}

impl Scan {
    /// Keeps `good` serving from its file, whose current content `why`.
    fn keep(&mut self, good: &Live, why: &str) {
        if !self
            .live
            .iter()
            .any(|l| l.plugin.digest == good.plugin.digest)
        {
            self.live.push(good.clone());
        }
        let note = format!(
            "{} {why}; its last good build {} (sha256:{}) keeps serving",
            good.file.display(),
            good.plugin.label(),
            good.plugin.digest
        );
        tracing::error!(file = %good.file.display(), plugin = good.plugin.label(), reason = why, "plugin file refused; keeping its last good build");
        self.kept.push(note);
    }
}
