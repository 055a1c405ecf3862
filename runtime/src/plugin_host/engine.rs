//! The engine, linker and shared resources behind every plugin call.

use super::imports::{CallState, InMemoryUpstream, Transport};
use crate::config::PluginLimits;
use crate::outbound::OutboundConfig;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances: the granularity of CPU budgets.
pub(super) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Shared by all plugins and all calls; cheap to clone.
#[derive(Clone)]
pub struct PluginHost {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub engine: Engine,
    pub linker: Linker<CallState>,
    pub limits: PluginLimits,
    pub http: Transport,
    pub outbound: Arc<OutboundConfig>,
    /// Bounds concurrent calls to what the instance pool can hold.
    pub permits: tokio::sync::Semaphore,
    pub cache: Option<super::cache::CompiledCache>,
    /// Every call starts with this much fuel and reports what it burnt.
    pub fuel: Option<u64>,
    /// Channels whose calls are being recorded.
    pub recordings: super::record::Recordings,
    /// The ledger card programmes' plugins reach (`ledger` import), once
    /// the application has a store; a host without one answers those
    /// calls `unavailable`.
    pub ledger: std::sync::OnceLock<crate::ledger::Ledger>,
    stop_ticker: Arc<AtomicBool>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

impl PluginHost {
    /// A host without a compiled-code cache whose plugins may reach only
    /// public addresses over HTTPS (the strict `[outbound]` default).
    pub fn new(limits: PluginLimits) -> anyhow::Result<Self> {
        PluginHost::with_cache(limits, None, OutboundConfig::default())
    }

    /// A host that keeps compiled plugins in `cache_dir` (see `cache`) and
    /// lets plugins reach what `outbound` allows.
    pub fn with_cache(
        limits: PluginLimits,
        cache_dir: Option<std::path::PathBuf>,
        outbound: OutboundConfig,
    ) -> anyhow::Result<Self> {
        PluginHost::build(limits, cache_dir, outbound, false, None)
    }

    /// A host whose plugins' granted requests are answered by `upstream` in
    /// memory rather than sent (see [`InMemoryUpstream`]); no cache.
    pub fn with_in_memory_upstream(
        limits: PluginLimits,
        upstream: Arc<dyn InMemoryUpstream>,
    ) -> anyhow::Result<Self> {
        PluginHost::build(
            limits,
            None,
            OutboundConfig::default(),
            false,
            Some(upstream),
        )
    }

    /// A host that counts the instructions every call executes (wasmtime
    /// fuel), for the conformance suite's figures. Counting slows calls
    /// down and changes the compiled code, so serving hosts never do it.
    /// Its plugins may reach loopback over plain http: the suite's scripted
    /// upstream runs there.
    pub fn measuring(
        limits: PluginLimits,
        cache_dir: Option<std::path::PathBuf>,
    ) -> anyhow::Result<Self> {
        PluginHost::build(limits, cache_dir, OutboundConfig::loopback(), true, None)
    }

    fn build(
        limits: PluginLimits,
        cache_dir: Option<std::path::PathBuf>,
        outbound: OutboundConfig,
        count_fuel: bool,
        upstream: Option<Arc<dyn InMemoryUpstream>>,
    ) -> anyhow::Result<Self> {
        let mut config = engine_config(&limits);
        config.consume_fuel(count_fuel);
        let engine = Engine::new(&config)?;
        let mut linker = Linker::new(&engine);
        // wasip2 guests import a handful of wasi:cli/io interfaces even when
        // they use none; we link them against a context that grants nothing
        // (no files, no env, no sockets) and refuse, at load time, any plugin
        // that imports more than paycore:* and wasi:{io,cli,clocks,random}.
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(anyhow::Error::from)?;
        super::bindings::Plugin::add_to_linker::<CallState, HasSelf<CallState>>(&mut linker, |s| s)
            .map_err(anyhow::Error::from)?;
        crate::tls::install_crypto_provider();
        let http = match upstream {
            Some(upstream) => Transport::InMemory(upstream),
            None => Transport::Network(
                crate::outbound::client_builder(&outbound.addresses)
                    .timeout(limits.http_timeout)
                    .connect_timeout(limits.http_timeout)
                    .build()?,
            ),
        };
        let stop_ticker = Arc::new(AtomicBool::new(false));
        spawn_epoch_ticker(engine.clone(), stop_ticker.clone());
        let permits = tokio::sync::Semaphore::new(limits.max_concurrent_calls as usize);
        Ok(PluginHost {
            inner: Arc::new(Inner {
                engine,
                linker,
                limits,
                http,
                outbound: Arc::new(outbound),
                permits,
                cache: cache_dir.map(super::cache::CompiledCache::new),
                // Far more than any call can burn before its epoch budget
                // stops it: fuel here measures, the epoch limits.
                fuel: count_fuel.then_some(u64::MAX / 2),
                recordings: Default::default(),
                ledger: Default::default(),
                stop_ticker,
            }),
        })
    }

    /// Where plugins' requests (and, by the same policy, webhooks) may go.
    pub fn outbound(&self) -> &OutboundConfig {
        &self.inner.outbound
    }

    pub fn limits(&self) -> &PluginLimits {
        &self.inner.limits
    }

    /// The recordings of channels' calls (see `record`).
    pub fn recordings(&self) -> &super::record::Recordings {
        &self.inner.recordings
    }

    /// Gives card programmes' plugins the ledger (once; a second ledger is
    /// ignored: every call of a host reaches the same one).
    pub fn attach_ledger(&self, ledger: crate::ledger::Ledger) {
        let _ = self.inner.ledger.set(ledger);
    }
}

/// What a pooled instance slot keeps resident between calls (see
/// `engine_config`): more than a channel plugin's call touches.
const SLOT_KEEP_RESIDENT: usize = 4 << 20;

fn engine_config(limits: &PluginLimits) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    // Slots for the calls the semaphore lets through, plus a few for loading.
    let slots = limits.max_concurrent_calls + 4;
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(slots);
    pool.total_core_instances(slots * 8);
    pool.total_memories(slots * 2);
    pool.total_tables(slots * 4);
    pool.total_stacks(slots);
    pool.max_memory_size(limits.memory_bytes);
    // A finished call's slot is reset for the next one. By default that is
    // an `madvise` of its memory and tables, and every `madvise` interrupts
    // the other cores running this process to flush their TLBs: about a
    // tenth of what a WASM payment cost beyond a native one. Instead keep
    // the pages a call touched resident and zero them (`PAGEMAP_SCAN`
    // finds which, on Linux 6.7 and later), and batch what is still
    // decommitted. A slot then holds up to these bytes while idle.
    pool.pagemap_scan(wasmtime::Enabled::Auto);
    pool.linear_memory_keep_resident(SLOT_KEEP_RESIDENT);
    pool.table_keep_resident(SLOT_KEEP_RESIDENT);
    pool.decommit_batch_size(8);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    // Reserve only what a memory may grow to, rather than 4 GiB per slot:
    // bounds checks become explicit, which is cheap next to a payment call.
    config.memory_reservation(limits.memory_bytes as u64);
    config.memory_guard_size(64 << 10);
    config
}

/// Advances the engine's epoch every tick until the host is dropped.
fn spawn_epoch_ticker(engine: Engine, stop: Arc<AtomicBool>) {
    std::thread::Builder::new()
        .name("paycore-epoch".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })
        .expect("spawning the epoch thread");
}
