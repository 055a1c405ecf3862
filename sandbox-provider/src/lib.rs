//! A deterministic, in-memory simulated payment provider.
//!
//! paycore's `sandbox` channel plugin speaks to it over HTTP exactly as a
//! third-party plugin speaks to a real channel: signed JSON requests and
//! responses, amounts as major-unit decimal strings, a payer page for QR
//! payments and signed asynchronous notifications with retries. Outcomes are
//! driven by the request (the `auth_code`'s last digit, a refund `reason` of
//! `sandbox:fail`), so the demo and the end-to-end tests can reach every case
//! a real channel has. It also publishes a daily statement with its fees,
//! which a test may falsify to exercise reconciliation (`statement`). The
//! protocol is specified in `docs/sandbox-provider.md`.
//!
//! The runtime mounts it with
//! `axum::Router::new().nest("/sandbox", provider.router())`.
//!
//! Notifications are sent with a `reqwest::Client` built on first use. Its
//! TLS stack has no built-in crypto provider, so the process must have
//! installed a rustls `CryptoProvider` by then (the runtime does at startup);
//! without one, notifications are skipped with an error log instead of
//! panicking.

mod api;
mod clock;
mod fee;
mod journal;
mod money;
mod notify;
mod payer_page;
mod state;
mod statement;
mod wire;

pub use clock::Clock;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tokio::sync::watch;

use crate::state::Store;
use crate::statement::Adjustments;

/// Requests are small JSON objects; anything bigger is refused before parsing.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// How the provider is set up. The runtime resolves the merchants' secret
/// references and hands over the key bytes.
#[derive(Clone)]
pub struct ProviderConfig {
    /// Where the payer page is reachable, without the `/sandbox` suffix, e.g.
    /// `http://127.0.0.1:8080`. Used to build `qr_code` / `pay_url`.
    pub public_base: String,
    /// Merchant id → HMAC-SHA256 key bytes.
    pub merchants: HashMap<String, Vec<u8>>,
    /// How long a `PROCESSING` barcode payment (auth_code ending in 2) takes
    /// to succeed. Default 3 s.
    pub processing_delay: Duration,
    /// Delay before the first notification retry; doubles for each of up to
    /// 5 attempts. Default 200 ms.
    pub notify_retry_base: Duration,
    /// The wall clock the provider dates payments, refunds, cancels and
    /// statement days with. Default: the system clock. Tests set it to
    /// reach statements of days that have ended (see `Clock`).
    pub clock: Clock,
}

impl Default for ProviderConfig {
    fn default() -> Self {
        ProviderConfig {
            public_base: "http://127.0.0.1:8080".to_string(),
            merchants: HashMap::new(),
            processing_delay: Duration::from_secs(3),
            notify_retry_base: Duration::from_millis(200),
            clock: Clock::system(),
        }
    }
}

/// Keys never appear in logs or debug output.
impl fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ids: Vec<&String> = self.merchants.keys().collect();
        ids.sort();
        f.debug_struct("ProviderConfig")
            .field("public_base", &self.public_base)
            .field("merchants", &ids)
            .field("processing_delay", &self.processing_delay)
            .field("notify_retry_base", &self.notify_retry_base)
            .field("clock", &self.clock)
            .finish()
    }
}

/// The simulated provider. Cheap to clone: all clones share the same orders.
#[derive(Clone)]
pub struct Provider {
    inner: Arc<Inner>,
}

struct Inner {
    public_base: RwLock<String>,
    merchants: HashMap<String, Vec<u8>>,
    notify_retry_base: Duration,
    clock: Clock,
    store: Mutex<Store>,
    /// The statement falsifications tests asked for; memory only.
    adjustments: Mutex<Adjustments>,
    /// Built on first notification, not in `new`, so that constructing a
    /// provider never depends on the process's TLS setup.
    http: OnceLock<reqwest::Client>,
    /// Number of notification tasks still running, for `drain_notifications`.
    inflight: watch::Sender<usize>,
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provider")
            .field("public_base", &self.public_base())
            .field("merchants", &self.inner.merchants.len())
            .finish_non_exhaustive()
    }
}

impl Provider {
    pub fn new(cfg: ProviderConfig) -> Self {
        let (inflight, _) = watch::channel(0);
        Provider {
            inner: Arc::new(Inner {
                public_base: RwLock::new(normalize_base(cfg.public_base)),
                merchants: cfg.merchants,
                notify_retry_base: cfg.notify_retry_base,
                clock: cfg.clock,
                store: Mutex::new(Store::new(cfg.processing_delay)),
                adjustments: Mutex::new(Adjustments::default()),
                http: OnceLock::new(),
                inflight,
            }),
        }
    }

    /// The provider's routes, relative to where the runtime nests them
    /// (`/sandbox`): `POST /api/v1/{op}`, `GET /payer/{trade_no}`,
    /// `POST /payer/{trade_no}/approve`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/api/v1/{op}", post(api::handle))
            .route("/payer/{trade_no}", get(payer_page::show))
            .route("/payer/{trade_no}/approve", post(payer_page::approve))
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .with_state(self.clone())
    }

    /// Keeps the provider's orders, refunds and cancelled order numbers in
    /// the file at `path` (read now, written on every change), so that it
    /// behaves like a real channel across restarts. See `journal`.
    pub fn keep_orders_in(&self, path: &std::path::Path) -> std::io::Result<()> {
        self.store().keep_in(path)
    }

    /// Sets where the payer page is reachable (without `/sandbox`), e.g. once
    /// the runtime knows the port it bound. Affects orders created afterwards.
    pub fn set_public_base(&self, base: String) {
        *self
            .inner
            .public_base
            .write()
            .unwrap_or_else(PoisonError::into_inner) = normalize_base(base);
    }

    /// Waits until every notification already started has been delivered or
    /// given up, or until `timeout` has passed, whichever is first.
    pub async fn drain_notifications(&self, timeout: Duration) {
        let mut rx = self.inner.inflight.subscribe();
        let _ = tokio::time::timeout(timeout, rx.wait_for(|n| *n == 0)).await;
    }

    fn public_base(&self) -> String {
        self.inner
            .public_base
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The payer page of an order: `qr_code` / `pay_url`.
    fn payer_url(&self, trade_no: &str) -> String {
        format!("{}/sandbox/payer/{trade_no}", self.public_base())
    }

    fn merchant_key(&self, merchant: &str) -> Option<&[u8]> {
        self.inner.merchants.get(merchant).map(Vec::as_slice)
    }

    /// The lock is only ever held for synchronous bookkeeping, so a poisoned
    /// lock (a panic mid-update) is still the best state we have.
    fn store(&self) -> MutexGuard<'_, Store> {
        self.inner
            .store
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Same reasoning as `store`. Never taken while holding the store lock.
    fn adjustments(&self) -> MutexGuard<'_, Adjustments> {
        self.inner
            .adjustments
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The wall clock's "now" (`ProviderConfig::clock`).
    fn now(&self) -> time::OffsetDateTime {
        self.inner.clock.now()
    }
}

fn normalize_base(base: String) -> String {
    base.trim_end_matches('/').to_string()
}
