//! Start-up and wiring: config → store → plugin host → plugins → registry →
//! HTTP server, sandbox provider, sweeper and webhook delivery.

use crate::config::{Config, ConfigError, Overrides};
use crate::http::{self, AppState};
use crate::payments::Payments;
use crate::plugin_host::{LoadError, Plugin, PluginHost};
use crate::registry::Registry;
use crate::reload::Reloader;
use crate::store::Store;
use anyhow::Context;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running paycore: its address, its core, and the handle to stop it.
pub struct RunningApp {
    pub addr: SocketAddr,
    pub public_url: String,
    pub payments: Arc<Payments>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningApp {
    /// Stops accepting requests, lets in-flight ones finish, stops the
    /// background workers, and waits for all of it.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }

    /// Resolves when a shutdown has been requested.
    pub fn stopped(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }
}

/// A plugin file that could not be loaded, and why.
#[derive(Debug)]
pub struct PluginProblem {
    pub path: PathBuf,
    pub error: LoadError,
}

/// Loads every `.wasm` in `dir` that `policy` admits, in name order.
/// Problems are returned, not fatal: one bad plugin must not keep the
/// others from serving.
pub async fn load_plugins(
    host: &PluginHost,
    dir: &Path,
    policy: &crate::provenance::ProvenancePolicy,
) -> (Vec<Plugin>, Vec<PluginProblem>) {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
            .collect(),
        Err(e) => {
            let error = LoadError::Read {
                path: dir.display().to_string(),
                error: e,
            };
            return (
                Vec::new(),
                vec![PluginProblem {
                    path: dir.to_path_buf(),
                    error,
                }],
            );
        }
    };
    files.sort();
    let mut plugins: Vec<Plugin> = Vec::new();
    let mut problems = Vec::new();
    for path in files {
        let loaded = match std::fs::read(&path) {
            Ok(bytes) => match crate::provenance::admit(policy, &bytes) {
                Ok(_) => host.load_bytes(bytes).await,
                Err(reason) => Err(LoadError::Untrusted(reason)),
            },
            Err(error) => Err(LoadError::Read {
                path: path.display().to_string(),
                error,
            }),
        };
        match loaded {
            Ok(p) if plugins.iter().any(|q| q.label() == p.label()) => {
                problems.push(PluginProblem {
                    path,
                    error: LoadError::BadManifest(format!(
                        "{} is already loaded from another file",
                        p.label()
                    )),
                })
            }
            Ok(p) => {
                metrics::counter!("paycore_plugin_loads_total", "result" => "loaded").increment(1);
                tracing::info!(plugin = p.label(), digest = %p.digest, from_cache = p.load.from_cache, load_ms = p.load.millis, path = %path.display(), "plugin loaded");
                plugins.push(p);
            }
            Err(error) => {
                metrics::counter!("paycore_plugin_loads_total", "result" => "refused").increment(1);
                problems.push(PluginProblem { path, error });
            }
        }
    }
    (plugins, problems)
}

/// Everything `check-config` reports: config errors, plugin load errors,
/// and channels that cannot bind.
pub async fn check(config: &Config) -> anyhow::Result<Vec<String>> {
    let host = PluginHost::with_cache(
        config.server.limits.clone(),
        config.server.plugin_cache_dir.clone(),
        config.server.outbound.clone(),
    )?;
    let (plugins, problems) = load_plugins(
        &host,
        &config.server.plugins_dir,
        &config.server.plugin_policy,
    )
    .await;
    let mut report: Vec<String> = problems
        .iter()
        .map(|p| format!("{}: {}", p.path.display(), p.error))
        .collect();
    let (_, binding) = Registry::build(plugins, &config.tenants, "http://check");
    report.extend(binding.iter().map(ConfigError::to_string));
    Ok(report)
}

/// What `paycore route explain` prints: the same explanation as
/// `POST /v1/routing/explain`, computed from the config and plugins on disk,
/// with every breaker closed (a fresh process has no channel history).
pub async fn explain(
    config: &Config,
    tenant: &str,
    payment_json: &[u8],
) -> anyhow::Result<crate::routing::Explanation> {
    let body: crate::payments::request::PaymentBody =
        serde_json::from_slice(payment_json).context("the payment file is not a payment body")?;
    let request = body.validate().map_err(|e| {
        anyhow::anyhow!("the payment is not acceptable: `{}` {}", e.field, e.message)
    })?;
    let host = PluginHost::new(config.server.limits.clone())?;
    let (plugins, _) = load_plugins(
        &host,
        &config.server.plugins_dir,
        &config.server.plugin_policy,
    )
    .await;
    let (registry, _) = Registry::build(plugins, &config.tenants, "http://explain");
    let tenant = registry
        .tenant(tenant)
        .with_context(|| format!("no tenant `{tenant}` in the configuration"))?;
    Ok(crate::routing::explain(
        tenant,
        &crate::routing::Intent::from(&request),
        jiff::Timestamp::now(),
        &crate::routing::AllClosed,
    ))
}

/// Starts paycore with `config`; `overrides` are re-applied on every reload.
pub async fn start(config: Config, overrides: Overrides) -> anyhow::Result<RunningApp> {
    crate::tls::install_crypto_provider();
    // Before anything is counted.
    let metrics = crate::telemetry::Metrics::global();
    let server = &config.server;
    let store = Store::open_configured(&config.server).await?;
    tracing::info!(backend = ?store.backend(), instance = store.instance(), "database ready");
    let host = PluginHost::with_cache(
        server.limits.clone(),
        server.plugin_cache_dir.clone(),
        server.outbound.clone(),
    )?;

    let listener = tokio::net::TcpListener::bind(server.listen)
        .await
        .with_context(|| format!("binding {}", server.listen))?;
    let addr = listener.local_addr()?;
    let public_url = server
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));

    let payments = Arc::new(
        Payments::new(store, host.clone(), Registry::default(), public_url.clone())
            .with_pending_expiry(server.sweeper.pending_expiry)
            .with_unsettled_after_checks(server.sweeper.backoff.len()),
    );
    let reloader = Arc::new(Reloader::new(
        host,
        payments.clone(),
        &config,
        overrides,
        public_url.clone(),
    ));
    reloader.reload("startup").await;
    let state = AppState {
        payments: payments.clone(),
        admin_tokens: server.admin_tokens.clone(),
        metrics,
        reloader: reloader.clone(),
        fairness: Default::default(),
    };
    let mut router = http::router(state);
    if server.sandbox_provider.enabled {
        let provider =
            paycore_sandbox_provider::Provider::new(paycore_sandbox_provider::ProviderConfig {
                public_base: public_url.clone(),
                merchants: server
                    .sandbox_provider
                    .merchants
                    .iter()
                    .map(|(k, v)| (k.clone(), v.expose().to_vec()))
                    .collect(),
                processing_delay: server.sandbox_provider.processing_delay,
                ..Default::default()
            });
        if let Some(journal) = &server.sandbox_provider.journal {
            provider.keep_orders_in(journal).with_context(|| {
                format!(
                    "opening the sandbox provider's journal {}",
                    journal.display()
                )
            })?;
            tracing::info!(journal = %journal.display(), "the sandbox provider keeps its orders across restarts");
        }
        router = axum::Router::new()
            .nest("/sandbox", provider.router())
            .merge(router);
    }

    let (stop, stopped) = watch::channel(false);
    let mut tasks = Vec::new();
    let mut on_stop = stopped.clone();
    tasks.push(tokio::spawn(async move {
        let shutdown = async move {
            let _ = on_stop.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "HTTP server failed");
        }
    }));
    tasks.push(tokio::spawn(crate::sweeper::run(
        payments.clone(),
        server.sweeper.clone(),
        stopped.clone(),
    )));
    tasks.push(tokio::spawn(crate::published::run(
        reloader.clone(),
        payments.store().clone(),
        stopped.clone(),
    )));
    tasks.push(tokio::spawn(crate::watch::run(reloader, stopped.clone())));
    tasks.push(tokio::spawn(crate::webhooks::run(
        payments.clone(),
        server.webhooks.clone(),
        server.outbound.addresses.clone(),
        stopped,
    )));
    tracing::info!(%addr, %public_url, tenants = config.tenants.len(), "paycore is serving");
    Ok(RunningApp {
        addr,
        public_url,
        payments,
        stop,
        tasks,
    })
}
