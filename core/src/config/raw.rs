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
    /// Pool size; the backend's default (SQLite 8, PostgreSQL 16) if unset.
    pub database_max_connections: Option<Spanned<u64>>,
    /// Base URL under which channels and payers reach this paycore
    /// (callbacks, payer pages). Defaults to `http://{listen}`.
    pub public_url: Option<Spanned<String>>,
    pub plugins_dir: Option<Spanned<String>>,
    /// Compiled plugins are cached here; `""` turns the cache off.
    pub plugin_cache_dir: Option<Spanned<String>>,
    pub tenants_dir: Option<Spanned<String>>,
    /// One secret reference, or several while rotating (all are accepted).
    pub admin_token: Option<Spanned<RawTokens>>,
    #[serde(default)]
    pub plugin_limits: RawPluginLimits,
    #[serde(default)]
    pub sandbox_provider: RawSandboxProvider,
    #[serde(default)]
    pub sweeper: RawSweeper,
    #[serde(default)]
    pub webhooks: RawWebhooks,
    #[serde(default)]
    pub outbound: RawOutbound,
    #[serde(default)]
    pub plugin_policy: RawPluginPolicy,
    pub log_format: Option<Spanned<String>>,
    /// Export traces over OTLP/HTTP (protobuf), e.g.
    /// `http://127.0.0.1:4318/v1/traces`. Off when absent.
    pub otlp_endpoint: Option<Spanned<String>>,
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
    pub statement_cpu_ms: Option<Spanned<u64>>,
    pub statement_timeout_ms: Option<Spanned<u64>>,
    pub statement_max_response_bytes: Option<Spanned<u64>>,
}

/// Which plugins may load at all (see `provenance`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPluginPolicy {
    #[serde(default)]
    pub require_signature: bool,
    #[serde(default)]
    pub trusted_publishers: Vec<Spanned<String>>,
}

/// Where plugins' HTTP and merchant webhooks may go (see `outbound`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutbound {
    /// Networks (`10.0.0.0/8`) or addresses (`127.0.0.1`) that may be
    /// reached although they are not public.
    #[serde(default)]
    pub allow_addresses: Vec<Spanned<String>>,
    /// Hosts plugins may call over plain `http://`.
    #[serde(default)]
    pub plain_http_hosts: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSandboxProvider {
    #[serde(default)]
    pub enabled: bool,
    pub processing_delay_ms: Option<Spanned<u64>>,
    /// The file the provider keeps its orders in across restarts; `""` for
    /// memory only. Default: beside a SQLite database file.
    pub journal: Option<Spanned<String>>,
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
    pub api_keys: Spanned<Vec<Spanned<RawApiKey>>>,
    pub webhook_secret: Option<Spanned<String>>,
    pub notify_url: Option<Spanned<String>>,
    #[serde(default)]
    pub channels: Vec<RawChannel>,
    /// IANA time zone for the rules' `days`/`hours` windows; UTC if absent.
    pub timezone: Option<Spanned<String>>,
    /// Routing rules, read key by key so that every unknown or misplaced
    /// key is reported, not just the first.
    #[serde(default)]
    pub rules: Vec<Spanned<RawValue>>,
    pub breaker: Option<RawBreaker>,
    pub limits: Option<Spanned<RawTenantLimits>>,
    pub checkout: Option<RawCheckout>,
    /// Closed-loop value the tenant issues (see `config::card_programs`).
    #[serde(default)]
    pub card_programs: Vec<Spanned<RawCardProgram>>,
    /// Which tenders a partial refund of a combined order goes back to
    /// first: `external` or `card`.
    pub combined_refunds_first: Option<Spanned<String>>,
}

/// One `[[card_programs]]` entry. Every key is optional here: which ones a
/// programme needs depends on its `kind`, so `card_programs` reports a
/// missing one beside the file's other problems instead of the reading
/// stopping there. Money is a decimal string in major units ("500.00"),
/// never a float.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCardProgram {
    pub id: Option<Spanned<String>>,
    pub kind: Option<Spanned<String>>,
    pub channel: Option<Spanned<String>>,
    pub currency: Option<Spanned<String>>,
    pub jurisdiction: Option<Spanned<String>>,
    pub named: Option<Spanned<bool>>,
    pub max_balance: Option<Spanned<String>>,
    pub validity_days: Option<Spanned<u64>>,
    pub breakage: Option<Spanned<bool>>,
    pub partial_use: Option<Spanned<bool>>,
    pub bonus_tiers: Option<Spanned<Vec<Spanned<RawBonusTier>>>>,
    pub face_values: Option<Spanned<Vec<Spanned<String>>>>,
    pub unit: Option<Spanned<String>>,
    pub uses: Option<Spanned<u64>>,
    pub covers_up_to: Option<Spanned<String>>,
    pub amount_off: Option<Spanned<String>>,
    pub percent_off: Option<Spanned<String>>,
    pub min_spend: Option<Spanned<String>>,
    pub max_discount: Option<Spanned<String>>,
    pub hours: Option<Spanned<String>>,
    pub days: Option<Spanned<Vec<Spanned<String>>>>,
    pub stores: Option<Spanned<Vec<Spanned<String>>>>,
    pub one_per_order: Option<Spanned<bool>>,
}

/// `{ top_up = "500.00", bonus = "50.00" }`; both keys are needed, checked
/// with the programme.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBonusTier {
    pub top_up: Option<Spanned<String>>,
    pub bonus: Option<Spanned<String>>,
}

/// The hosted cashier page (docs/checkout.md).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCheckout {
    /// The merchant's name on the page; the tenant's `name` if absent.
    pub display_name: Option<Spanned<String>>,
    /// The most a payer may type on an aggregate QR page, in major units
    /// of the code's currency, as a decimal string ("2000.00").
    pub max_entered_amount: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawTokens {
    One(String),
    Several(Vec<String>),
}

/// One entry of `api_keys`: a key or `sha256:` reference, or one with an
/// expiry, for rotations (see `config::api_keys`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawApiKey {
    Key(String),
    Expiring { key: String, expires_at: String },
}

impl RawApiKey {
    pub fn key(&self) -> &str {
        match self {
            RawApiKey::Key(k) | RawApiKey::Expiring { key: k, .. } => k,
        }
    }
}

/// Per-tenant admission (see `http::fairness`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTenantLimits {
    pub requests_per_second: Option<Spanned<u64>>,
    /// Requests allowed at once above the rate; defaults to one second's worth.
    pub burst: Option<Spanned<u64>>,
    pub max_concurrent_requests: Option<Spanned<u64>>,
    /// Callbacks to the tenant's channels per second (bursts of twice that).
    pub callbacks_per_second: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBreaker {
    pub failures: Option<Spanned<u64>>,
    pub cooldown_ms: Option<Spanned<u64>>,
}

/// Any TOML value, with a span on every nested value and key.
#[derive(Debug)]
pub enum RawValue {
    Text(String),
    Integer(i64),
    List(Vec<Spanned<RawValue>>),
    /// Entries in the order written.
    Table(Vec<(Spanned<String>, Spanned<RawValue>)>),
    /// A float, boolean or date: named for error messages.
    Other(&'static str),
}

impl RawValue {
    pub fn kind(&self) -> &'static str {
        match self {
            RawValue::Text(_) => "a string",
            RawValue::Integer(_) => "an integer",
            RawValue::List(_) => "a list",
            RawValue::Table(_) => "a table",
            RawValue::Other(k) => k,
        }
    }
}

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a TOML value")
            }
            fn visit_str<E>(self, v: &str) -> Result<RawValue, E> {
                Ok(RawValue::Text(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<RawValue, E> {
                Ok(RawValue::Text(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<RawValue, E> {
                Ok(RawValue::Integer(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<RawValue, E> {
                Ok(i64::try_from(v).map_or(RawValue::Other("a huge integer"), RawValue::Integer))
            }
            fn visit_f64<E>(self, _: f64) -> Result<RawValue, E> {
                Ok(RawValue::Other("a float"))
            }
            fn visit_bool<E>(self, _: bool) -> Result<RawValue, E> {
                Ok(RawValue::Other("a boolean"))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<RawValue, A::Error> {
                let mut items = Vec::new();
                while let Some(v) = seq.next_element()? {
                    items.push(v);
                }
                Ok(RawValue::List(items))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawValue, A::Error> {
                let mut entries = Vec::new();
                while let Some(k) = map.next_key::<Spanned<String>>()? {
                    let v = map.next_value()?;
                    entries.push((k, v));
                }
                Ok(RawValue::Table(entries))
            }
        }
        d.deserialize_any(V)
    }
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
    /// Send a share of this channel's payments to one exact plugin version.
    pub canary: Option<Spanned<RawCanary>>,
    /// Keep this many recent calls and replay them on a new plugin version
    /// before it may serve the channel.
    pub replay_before_upgrade: Option<Spanned<u64>>,
    /// Serve only the plugin build with this sha256 (hex), whatever else
    /// its range would allow.
    pub plugin_sha256: Option<Spanned<String>>,
    /// Reconcile yesterday's statement every day at this local time
    /// (`HH:MM`, the tenant's time zone).
    pub reconcile_at: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCanary {
    pub version: Spanned<String>,
    pub percent: Spanned<u64>,
}

fn enabled_by_default() -> bool {
    true
}
