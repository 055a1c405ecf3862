//! The config files exactly as written: serde types with spans on every value
//! that validation may complain about. Unknown keys are errors.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub listen: Option<Spanned<String>>,
    pub database_url: Option<Spanned<String>>,
    /// Base URL under which channels and payers reach this paycore
    /// (callbacks, payer pages). Defaults to `http://{listen}`.
    pub public_url: Option<Spanned<String>>,
    pub plugins_dir: Option<Spanned<String>>,
    /// Compiled plugins are cached here; `""` turns the cache off.
    pub plugin_cache_dir: Option<Spanned<String>>,
    pub tenants_dir: Option<Spanned<String>>,
    pub admin_token: Option<Spanned<String>>,
    #[serde(default)]
    pub plugin_limits: RawPluginLimits,
    #[serde(default)]
    pub sandbox_provider: RawSandboxProvider,
    #[serde(default)]
    pub sweeper: RawSweeper,
    #[serde(default)]
    pub webhooks: RawWebhooks,
    pub log_format: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPluginLimits {
    pub memory_mib: Option<Spanned<u64>>,
    pub cpu_ms: Option<Spanned<u64>>,
    pub call_timeout_ms: Option<Spanned<u64>>,
    pub max_concurrent_calls: Option<Spanned<u64>>,
    pub http_timeout_ms: Option<Spanned<u64>>,
    pub http_max_response_bytes: Option<Spanned<u64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSandboxProvider {
    #[serde(default)]
    pub enabled: bool,
    pub processing_delay_ms: Option<u64>,
    /// Merchant id → secret reference of its HMAC key.
    #[serde(default)]
    pub merchants: BTreeMap<String, Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSweeper {
    pub interval_ms: Option<Spanned<u64>>,
    /// How long a payment may stay `processing` or `unknown` before the
    /// sweeper queries it.
    pub min_age_ms: Option<Spanned<u64>>,
    /// Delay before the next query of a payment or refund still open after
    /// n queries: the n-th entry, the last one repeating.
    pub backoff_ms: Option<Spanned<Vec<Spanned<u64>>>>,
    /// A barcode/face payment still unpaid this long after creation is
    /// cancelled (reversed).
    pub barcode_deadline_ms: Option<Spanned<u64>>,
    /// A pending payment of another scene without `expires_in` is closed
    /// this long after creation.
    pub pending_expiry_ms: Option<Spanned<u64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebhooks {
    /// Delay before attempt n+1 after n failed attempts; past the end the
    /// event is a dead letter.
    pub retry_schedule_ms: Option<Spanned<Vec<Spanned<u64>>>>,
    /// Each delay is moved at random by up to this percentage either way.
    pub jitter_percent: Option<Spanned<u64>>,
    /// Per attempt; a receiver slower than this counts as failed.
    pub timeout_ms: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTenant {
    pub id: Spanned<String>,
    pub name: Option<String>,
    pub api_keys: Spanned<Vec<Spanned<String>>>,
    pub webhook_secret: Option<Spanned<String>>,
    pub notify_url: Option<Spanned<String>>,
    #[serde(default)]
    pub channels: Vec<RawChannel>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChannel {
    pub id: Spanned<String>,
    /// `name@semver-range`, e.g. `sandbox@^1`.
    pub plugin: Spanned<String>,
    #[serde(default)]
    pub allowed_hosts: Vec<Spanned<String>>,
    #[serde(default)]
    pub settings: BTreeMap<String, Spanned<String>>,
    /// Secret name (as the plugin's manifest names it) → secret reference.
    #[serde(default)]
    pub secrets: BTreeMap<String, Spanned<String>>,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}
