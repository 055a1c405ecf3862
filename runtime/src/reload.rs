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
mod scan;
mod status;

use operator::apply_decisions;
pub use operator::{DecisionError, Decisions, ReadDecisionsError};
pub use replay_gate::RecordingError;
pub use scan::is_temporary;
use scan::{Scan, keep_builds_of_held_files};
pub use status::{Checked, PluginState, PluginStatus, Status};

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
                errors.push(e.to_string());
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
            .map(|l| {
                PluginStatus::of(
                    &l.plugin,
                    &l.file,
                    PluginState::Live,
                    Some(l.loaded_at.clone()),
                )
            })
            .collect();
        plugins.extend(
            inner
                .retired
                .iter()
                .map(|p| PluginStatus::of(p, Path::new(""), PluginState::Draining, None)),
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
                problems.push(e.to_string());
                Decisions::default()
            });
        let scan = self.candidate_plugins(&[], &tenants, &decisions).await;
        problems.extend(scan.kept);
        problems.extend(
            scan.refused
                .iter()
                .filter(|p| p.state == PluginState::Refused)
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
}
