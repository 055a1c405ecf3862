//! Start-up and wiring: config → store → plugin host → plugins → registry →
//! HTTP server, sandbox provider, sweeper and webhook delivery.

use crate::clock::Clock;
use crate::config::{Config, Overrides};
use crate::http::{self, AppState};
use crate::payments::Payments;
use crate::plugin_host::PluginHost;
use crate::registry::Registry;
use crate::reload::{Checked, Reloader};
use crate::store::Store;
use anyhow::Context;
use std::net::SocketAddr;
use std::path::Path;
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

/// What a server started now with `config` would serve, and every problem
/// on the way, found by the reloader's own checks ([`Reloader::check`]):
/// the config files and the tenant configs published to the database, the
/// plugins folder and the published plugins, the operator's rollbacks and
/// approvals. Serves nothing and changes nothing stored. A SQLite database
/// that does not exist yet holds nothing published, so it is not created;
/// one that cannot be opened is reported as a problem, and the rest checked
/// as if nothing were published.
pub async fn check(config: &Config, overrides: &Overrides) -> anyhow::Result<Checked> {
    crate::tls::install_crypto_provider();
    let server = &config.server;
    let mut problems = Vec::new();
    let store = match sqlite_file(&server.database_url) {
        Some(file) if !file.exists() => None,
        _ => match Store::open_configured(&config.server).await {
            Ok(store) => Some(store),
            Err(e) => {
                problems.push(format!(
                    "{}: {e:#}; published plugins and tenant configs were not checked",
                    server.config_file.display()
                ));
                None
            }
        },
    };
    let store = match store {
        Some(store) => store,
        None => Store::open("sqlite::memory:", None).await?,
    };
    let (_, reloader) = tool_services(config, overrides, store)?;
    let mut checked = reloader.check().await;
    problems.append(&mut checked.problems);
    checked.problems = problems;
    Ok(checked)
}

/// What `paycore reconcile` runs: the same run as `POST
/// /v1/reconciliations`, on the configured database, with what a server
/// started now would serve (see [`check`]). Its findings, and what the
/// channel's answers settle, are written as the server's are; a running
/// server delivers the webhooks it queues.
pub async fn reconcile(
    config: &Config,
    overrides: &Overrides,
    tenant: &str,
    channel: &str,
    date: &str,
) -> anyhow::Result<(
    crate::store::ReconciliationRecord,
    Vec<crate::store::ReconciliationItem>,
)> {
    crate::tls::install_crypto_provider();
    let server = &config.server;
    let store = Store::open_configured(server).await?;
    let (payments, reloader) = tool_services(config, overrides, store)?;
    let checked = reloader.check().await;
    payments.swap_registry(checked.registry);
    let registry = payments.registry();
    let tenant = registry
        .tenant(tenant)
        .with_context(|| format!("no tenant `{tenant}` in the configuration"))?;
    let run = crate::reconcile::run(&payments, tenant, channel, date).await?;
    Ok(crate::reconcile::get(&payments, &tenant.config.id, &run.id).await?)
}

/// The payments service and the reloader a tool works with, over `store`:
/// what a server would build, serving nothing (its registry is filled by
/// `Reloader::check`).
fn tool_services(
    config: &Config,
    overrides: &Overrides,
    store: Store,
) -> anyhow::Result<(Arc<Payments>, Reloader)> {
    let server = &config.server;
    let host = PluginHost::with_cache(
        server.limits.clone(),
        server.plugin_cache_dir.clone(),
        server.outbound.clone(),
    )?;
    host.attach_ledger(crate::ledger::Ledger::new(store.clone()));
    let public_url = server
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", server.listen));
    let payments = Arc::new(Payments::new(
        store,
        host.clone(),
        Registry::default(),
        public_url.clone(),
    ));
    let reloader = Reloader::new(
        host,
        payments.clone(),
        config,
        overrides.clone(),
        public_url,
    );
    Ok((payments, reloader))
}

/// The file of a `sqlite://` URL, unless it is in memory.
fn sqlite_file(url: &str) -> Option<&Path> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && !path.starts_with(':')).then(|| Path::new(path))
}

/// What `paycore route explain` prints: the same explanation as
/// `POST /v1/routing/explain`, for what a server started now would serve
/// (see [`check`]: published tenants and plugins included), with every
/// breaker closed (a fresh process has no channel history).
pub async fn explain(
    config: &Config,
    overrides: &Overrides,
    tenant: &str,
    payment_json: &[u8],
) -> anyhow::Result<crate::routing::Explanation> {
    let body: crate::payments::request::PaymentBody =
        serde_json::from_slice(payment_json).context("the payment file is not a payment body")?;
    let request = body.validate().map_err(|e| {
        anyhow::anyhow!("the payment is not acceptable: `{}` {}", e.field, e.message)
    })?;
    let checked = check(config, overrides).await?;
    let tenant = checked
        .registry
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
    start_with_clock(config, overrides, Clock::system()).await
}

/// `start`, reading business time from `clock`: the system's in
/// production; a manual one lets a test move time (expiries, breakers'
/// cool-downs) instead of waiting for it.
pub async fn start_with_clock(
    config: Config,
    overrides: Overrides,
    clock: Clock,
) -> anyhow::Result<RunningApp> {
    crate::tls::install_crypto_provider();
    // Before anything is counted.
    let metrics = crate::telemetry::Metrics::global();
    let server = &config.server;
    // One clock for the process: the store, the payments, the sweeper and
    // webhook delivery all read business time from it.
    let store = Store::open_configured(&config.server)
        .await?
        .with_clock(clock);
    tracing::info!(backend = ?store.backend(), instance = store.instance(), "database ready");
    let host = PluginHost::with_cache(
        server.limits.clone(),
        server.plugin_cache_dir.clone(),
        server.outbound.clone(),
    )?;
    let ledger = crate::ledger::Ledger::new(store.clone());
    host.attach_ledger(ledger.clone());

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
        ledger,
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
                // Business time: a test that moves paycore's clock moves
                // the provider's dates (payments, statement days) with it.
                clock: sandbox_clock(payments.clock().clone()),
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

/// The sandbox provider's clock, read from paycore's.
fn sandbox_clock(clock: Clock) -> paycore_sandbox_provider::Clock {
    paycore_sandbox_provider::Clock::from_fn(move || {
        let nanos = clock.now().as_nanosecond();
        time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
    })
}
