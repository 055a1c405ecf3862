//! Typed, validated configuration and the loader that builds it.

use super::diagnostics::{ConfigError, ConfigErrors};
use super::raw::{RawApiKey, RawChannel, RawServer, RawTenant};
use super::secrets::{SecretRef, SecretUse, SecretValue};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// Everything paycore needs to run: the server file and every tenant file.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub tenants: Vec<TenantConfig>,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub config_file: PathBuf,
    pub listen: SocketAddr,
    /// `sqlite://…` or `postgres://…`; may hold a password: log it only
    /// through `store::redacted_url`.
    pub database_url: String,
    /// `None`: the backend's default pool size.
    pub database_max_connections: Option<u32>,
    /// Explicit public URL; `None` means "http://" + the bound address.
    pub public_url: Option<String>,
    pub plugins_dir: PathBuf,
    /// Compiled-code cache; `None` when turned off.
    pub plugin_cache_dir: Option<PathBuf>,
    pub tenants_dir: PathBuf,
    /// Every admin token accepted (several during a rotation); empty: the
    /// admin API is off.
    pub admin_tokens: Vec<SecretValue>,
    pub limits: PluginLimits,
    pub sandbox_provider: SandboxProviderConfig,
    pub sweeper: SweeperConfig,
    pub webhooks: WebhooksConfig,
    pub json_logs: bool,
    /// Where to export traces (OTLP/HTTP), if anywhere.
    pub otlp_endpoint: Option<String>,
    /// Where plugins' HTTP and merchant webhooks may go.
    pub outbound: crate::outbound::OutboundConfig,
    /// Which plugins may load at all.
    pub plugin_policy: crate::provenance::ProvenancePolicy,
}

/// Per-call sandbox limits, the same for every plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginLimits {
    pub memory_bytes: usize,
    /// CPU time a call may burn inside wasm (epoch deadline).
    pub cpu: Duration,
    /// Wall-clock bound of a whole call, host HTTP included.
    pub call_timeout: Duration,
    pub max_concurrent_calls: u32,
    pub http_timeout: Duration,
    pub http_max_response_bytes: usize,
}

impl Default for PluginLimits {
    fn default() -> Self {
        PluginLimits {
            memory_bytes: 64 << 20,
            cpu: Duration::from_millis(200),
            call_timeout: Duration::from_secs(15),
            max_concurrent_calls: 64,
            http_timeout: Duration::from_secs(5),
            http_max_response_bytes: 1 << 20,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct SandboxProviderConfig {
    pub enabled: bool,
    pub processing_delay: Duration,
    pub merchants: HashMap<String, SecretValue>,
    /// Where the provider keeps its orders across restarts (None: memory).
    pub journal: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct SweeperConfig {
    pub interval: Duration,
    pub min_age: Duration,
    /// Delay before the next query after n inconclusive ones: entry n, the
    /// last repeating. Never empty.
    pub backoff: Vec<Duration>,
    /// Barcode/face payments still unpaid this long after creation are
    /// cancelled.
    pub barcode_deadline: Duration,
    /// Pending payments of other scenes without `expires_in` are closed this
    /// long after creation.
    pub pending_expiry: Duration,
}

/// Default sweeper back-off: 2 s, 5 s, 10 s, 30 s, 1 min, 5 min, 15 min,
/// then hourly.
pub const DEFAULT_SWEEPER_BACKOFF_MS: [u64; 8] = [
    2_000, 5_000, 10_000, 30_000, 60_000, 300_000, 900_000, 3_600_000,
];

#[derive(Debug, Clone)]
pub struct WebhooksConfig {
    /// Delay before attempt n+1 after n failures; past the end, dead letter.
    pub retry_schedule: Vec<Duration>,
    /// Each delay moves at random by up to this percentage either way.
    pub jitter_percent: u8,
    pub timeout: Duration,
}

/// Default webhook retries: 15 s, 1 min, 5 min, 30 min, 2 h, 6 h, 24 h, then
/// dead-lettered (eight attempts in all over about 33 hours).
pub const DEFAULT_WEBHOOK_RETRY_MS: [u64; 7] = [
    15_000, 60_000, 300_000, 1_800_000, 7_200_000, 21_600_000, 86_400_000,
];

impl Default for WebhooksConfig {
    fn default() -> Self {
        WebhooksConfig {
            retry_schedule: DEFAULT_WEBHOOK_RETRY_MS
                .iter()
                .map(|ms| Duration::from_millis(*ms))
                .collect(),
            jitter_percent: 10,
            timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone)]
pub struct TenantConfig {
    pub id: String,
    pub name: String,
    pub source: PathBuf,
    /// Digests of the accepted keys (see `config::api_keys`).
    pub api_keys: Vec<super::api_keys::ApiKey>,
    pub webhook_secret: Option<SecretValue>,
    pub notify_url: Option<String>,
    pub channels: Vec<ChannelConfig>,
    /// The tenant's local time zone, for rules' `days` and `hours`.
    pub timezone: jiff::tz::TimeZone,
    /// In file order; never empty (a tenant without rules gets an implicit
    /// default that tries every channel in config order).
    pub rules: Vec<crate::routing::Rule>,
    pub breaker: crate::routing::BreakerConfig,
    pub limits: TenantLimits,
    pub checkout: CheckoutSettings,
}

/// The hosted cashier page's settings for one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutSettings {
    pub display_name: String,
    /// The most a payer may type on an aggregate QR page, in major units.
    pub max_entered_amount: rust_decimal::Decimal,
}

/// Without `[checkout] max_entered_amount`, in major units of the code's currency.
pub const DEFAULT_MAX_ENTERED_AMOUNT: rust_decimal::Decimal =
    rust_decimal::Decimal::from_parts(10_000, 0, 0, false, 0);

/// How much of the shared runtime one tenant may take (see `http::fairness`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantLimits {
    /// `None`: no rate limit.
    pub rate: Option<TenantRate>,
    pub max_concurrent_requests: u32,
    /// Callbacks to this tenant's channels (they carry no key).
    pub callbacks: TenantRate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantRate {
    pub per_second: u32,
    pub burst: u32,
}

/// Without `[limits]`, no rate limit and at most this many requests of one
/// tenant in progress at once.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: u32 = 256;
/// Without `[limits]`, callbacks per second per tenant (bursts of twice as many).
pub const DEFAULT_CALLBACKS_PER_SECOND: u32 = 100;

impl Default for TenantLimits {
    fn default() -> Self {
        TenantLimits {
            rate: None,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            callbacks: TenantRate {
                per_second: DEFAULT_CALLBACKS_PER_SECOND,
                burst: 2 * DEFAULT_CALLBACKS_PER_SECOND,
            },
        }
    }
}

#[derive(Debug, Clone)]
pub struct ChannelConfig {
    pub id: String,
    pub plugin_name: String,
    pub plugin_req: semver::VersionReq,
    /// Where `plugin = ...` is written, for errors found once plugins load.
    pub plugin_location: ConfigError,
    pub allowed_hosts: Vec<String>,
    pub settings: BTreeMap<String, String>,
    /// Where each setting's value is written, for errors found once the
    /// plugin says what the setting must be.
    pub setting_locations: BTreeMap<String, ConfigError>,
    pub secrets: BTreeMap<String, SecretValue>,
    pub enabled: bool,
    pub canary: Option<Canary>,
    /// Recent calls kept and replayed on a new version of the plugin before
    /// it may serve this channel (0: no replay).
    pub replay_before_upgrade: usize,
    /// Only this build (sha256, hex) may serve the channel.
    pub plugin_sha256: Option<String>,
}

/// A share of a channel's payments on one exact plugin version, chosen per
/// merchant order number (a retried order lands on the same version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canary {
    pub version: semver::Version,
    /// 1–99.
    pub percent: u8,
}

/// Values that override the files (from `PAYCORE_LISTEN`, `PAYCORE_DATABASE_URL`).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub listen: Option<String>,
    pub database_url: Option<String>,
}

/// A tenant config published to the database (`paycore tenant publish`),
/// as text, beside the tenants folder's files.
#[derive(Debug, Clone)]
pub struct PublishedTenant {
    /// The tenant id it was published under.
    pub tenant_id: String,
    /// How diagnostics name it, e.g. `published:acme@r3`.
    pub origin: String,
    pub source: String,
}

/// Where tenants come from besides the folder, and how secrets are treated.
#[derive(Debug, Clone, Copy)]
pub struct TenantSources<'a> {
    pub published: &'a [PublishedTenant],
    /// `false` checks secret references for form only: `paycore tenant
    /// publish` runs where the instances' secrets need not exist. Such a
    /// config is for checking, never for serving.
    pub resolve_secrets: bool,
}

impl Default for TenantSources<'_> {
    fn default() -> Self {
        TenantSources {
            published: &[],
            resolve_secrets: true,
        }
    }
}

/// Loads and validates `paycore.toml` and every `*.toml` in its tenants folder.
pub fn load(config_file: &Path, overrides: &Overrides) -> Result<Config, ConfigErrors> {
    load_with(config_file, overrides, TenantSources::default())
}

/// [`load`], plus tenants published to the database. A tenant lives in one
/// place: an id both in the folder and published is an error naming both.
pub fn load_with(
    config_file: &Path,
    overrides: &Overrides,
    sources: TenantSources<'_>,
) -> Result<Config, ConfigErrors> {
    load_partial(config_file, overrides, sources)
        .into_result()
        .map_err(|(errors, _)| errors)
}

/// A config read as far as it could be, with every problem found: what
/// `check-config` and a refused reload check further against the plugins,
/// so that one run reports everything. Never served while `errors` is not
/// empty.
#[derive(Debug)]
pub struct Partial {
    /// The server settings (a value in error replaced by its default) and
    /// every tenant whose file could be read, each with only the channels
    /// that validated; `None` when `paycore.toml` itself could not be read.
    pub config: Option<Config>,
    pub errors: ConfigErrors,
}

impl Partial {
    /// The config if it has no problem; else the problems and the tenants
    /// that validated (to check their channels against the plugins).
    pub fn into_result(self) -> Result<Config, (ConfigErrors, Vec<TenantConfig>)> {
        match self.config {
            Some(config) if self.errors.is_empty() => Ok(config),
            config => Err((self.errors, config.map(|c| c.tenants).unwrap_or_default())),
        }
    }
}

/// [`load_with`], keeping what validated beside the problems.
pub fn load_partial(
    config_file: &Path,
    overrides: &Overrides,
    sources: TenantSources<'_>,
) -> Partial {
    let mut errors = ConfigErrors::default();
    // A broken server setting must not hide the tenants' problems: the
    // tenants folder is known as soon as the file reads.
    let server = load_server(config_file, overrides, sources.resolve_secrets, &mut errors);
    let config = server.map(|server| {
        let tenants = load_tenants(&server.tenants_dir, sources, &mut errors);
        Config { server, tenants }
    });
    errors.sort_within_files();
    Partial { config, errors }
}

fn read(file: &Path, errors: &mut ConfigErrors) -> Option<String> {
    match std::fs::read_to_string(file) {
        Ok(s) => Some(s),
        Err(e) => {
            errors.push(ConfigError::whole_file(file, format!("cannot read: {e}")));
            None
        }
    }
}

/// Collects problems for one file, each placed at a span of that file.
pub(super) struct Checker<'a> {
    file: &'a Path,
    source: &'a str,
    pub(super) errors: &'a mut ConfigErrors,
    secrets: SecretPolicy<'a>,
}

/// How one document's secret references are read.
#[derive(Clone, Copy)]
struct SecretPolicy<'a> {
    /// Relative `file:` references are resolved against this folder.
    base: &'a Path,
    resolve: bool,
    /// `inline:` values are refused where the text is stored in the
    /// database: it is no secret store.
    inline_allowed: bool,
}

impl Checker<'_> {
    pub(super) fn error<T>(&mut self, at: &Spanned<T>, message: impl Into<String>) {
        self.error_at(at.span(), message);
    }

    pub(super) fn error_at(&mut self, span: std::ops::Range<usize>, message: impl Into<String>) {
        self.errors
            .push(ConfigError::at(self.file, self.source, Some(span), message));
    }

    /// 1-based (line, column) of a span's start.
    pub(super) fn position(&self, span: std::ops::Range<usize>) -> (usize, usize) {
        ConfigError::at(self.file, self.source, Some(span), "")
            .position
            .unwrap_or((1, 1))
    }

    /// Resolves a secret reference and checks the value is fit for `use_`.
    fn secret(&mut self, at: &Spanned<String>, use_: SecretUse) -> Option<SecretValue> {
        let policy = self.secrets;
        let resolved = SecretRef::parse(at.get_ref(), policy.base).and_then(|r| match r {
            SecretRef::Inline(_) if !policy.inline_allowed => Err(
                "a published config cannot hold a secret inline: reference it with `env:NAME` or `file:PATH`, resolved on each instance".into(),
            ),
            // Checked for form only; this config never serves.
            _ if !policy.resolve => Ok(SecretValue::new(Vec::new())),
            r => r
                .resolve()
                .and_then(|value| use_.check(&value).map(|()| value)),
        });
        match resolved {
            Ok(v) => Some(v),
            Err(message) => {
                self.error(at, message);
                None
            }
        }
    }

    fn url(&mut self, at: &Spanned<String>) -> Option<String> {
        match url::Url::parse(at.get_ref()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Some(at.get_ref().clone()),
            Ok(_) => {
                self.error(at, "must be an http:// or https:// URL");
                None
            }
            Err(e) => {
                self.error(at, format!("not a valid URL: {e}"));
                None
            }
        }
    }

    fn millis(&mut self, v: &Option<Spanned<u64>>, default: u64, min: u64, max: u64) -> Duration {
        Duration::from_millis(self.bounded(v, default, min, max))
    }

    /// A non-empty list of at most `max_len` durations, each within bounds.
    fn millis_list(
        &mut self,
        v: &Option<Spanned<Vec<Spanned<u64>>>>,
        default: &[u64],
        (min, max): (u64, u64),
        max_len: usize,
    ) -> Vec<Duration> {
        let Some(list) = v else {
            return default
                .iter()
                .map(|ms| Duration::from_millis(*ms))
                .collect();
        };
        if list.get_ref().is_empty() || list.get_ref().len() > max_len {
            self.error(list, format!("must list between 1 and {max_len} delays"));
        }
        let mut out = Vec::new();
        for item in list.get_ref() {
            out.push(self.millis(&Some(item.clone()), min, min, max));
        }
        out
    }

    pub(super) fn bounded(
        &mut self,
        v: &Option<Spanned<u64>>,
        default: u64,
        min: u64,
        max: u64,
    ) -> u64 {
        match v {
            None => default,
            Some(s) if (min..=max).contains(s.get_ref()) => *s.get_ref(),
            Some(s) => {
                self.error(s, format!("must be between {min} and {max}"));
                default
            }
        }
    }
}

fn load_server(
    file: &Path,
    overrides: &Overrides,
    resolve_secrets: bool,
    errors: &mut ConfigErrors,
) -> Option<ServerConfig> {
    let source = read(file, errors)?;
    let raw: RawServer = super::parse::document(file, &source, errors).value?;
    let dir = file.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut c = Checker {
        file,
        source: &source,
        errors,
        secrets: SecretPolicy {
            base: &dir,
            resolve: resolve_secrets,
            inline_allowed: true,
        },
    };

    let listen_text = overrides
        .listen
        .clone()
        .or_else(|| raw.listen.as_ref().map(|s| s.get_ref().clone()))
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let listen = match listen_text.parse::<SocketAddr>() {
        Ok(a) => a,
        Err(_) => {
            let message = format!("`{listen_text}` is not an address like 127.0.0.1:8080");
            match (&overrides.listen, &raw.listen) {
                (None, Some(at)) => c.error(at, message),
                _ => c.errors.push(ConfigError::whole_file(
                    file,
                    format!("PAYCORE_LISTEN: {message}"),
                )),
            }
            "127.0.0.1:8080".parse().expect("literal address")
        }
    };

    let database_url = match (&overrides.database_url, &raw.database_url) {
        (Some(url), _) => url.clone(),
        (None, Some(at)) => resolve_sqlite_path(at.get_ref(), &dir),
        (None, None) => resolve_sqlite_path("sqlite://paycore.db", &dir),
    };
    if super::Backend::of_url(&database_url).is_none() {
        let message = "must be a sqlite://… or postgres://… URL";
        match (&overrides.database_url, &raw.database_url) {
            (None, Some(at)) => c.error(at, message),
            _ => c.errors.push(ConfigError::whole_file(
                file,
                format!("PAYCORE_DATABASE_URL: {message}"),
            )),
        }
    }

    let database_max_connections = raw
        .database_max_connections
        .is_some()
        .then(|| c.bounded(&raw.database_max_connections, 8, 1, 1000) as u32);

    let public_url = raw
        .public_url
        .as_ref()
        .and_then(|u| c.url(u))
        .map(|u| u.trim_end_matches('/').to_string());
    let plugins_dir = dir.join(
        raw.plugins_dir
            .as_ref()
            .map_or("plugins", |s| s.get_ref().as_str()),
    );
    let plugin_cache_dir = match raw.plugin_cache_dir.as_ref().map(|s| s.get_ref().as_str()) {
        Some("") => None,
        Some(path) => Some(dir.join(path)),
        None => Some(plugins_dir.join(".cache")),
    };
    let tenants_dir = dir.join(
        raw.tenants_dir
            .as_ref()
            .map_or("tenants", |s| s.get_ref().as_str()),
    );
    let admin_tokens: Vec<SecretValue> = match &raw.admin_token {
        None => Vec::new(),
        Some(tokens) => {
            let texts: Vec<&String> = match tokens.get_ref() {
                super::raw::RawTokens::One(t) => vec![t],
                super::raw::RawTokens::Several(ts) => ts.iter().collect(),
            };
            texts
                .into_iter()
                .filter_map(|t| {
                    c.secret(
                        &Spanned::new(tokens.span(), t.clone()),
                        SecretUse::AdminToken,
                    )
                })
                .collect()
        }
    };

    let l = &raw.plugin_limits;
    let d = PluginLimits::default();
    let limits = PluginLimits {
        memory_bytes: (c.bounded(&l.memory_mib, 64, 1, 4096) as usize) << 20,
        cpu: c.millis(&l.cpu_ms, d.cpu.as_millis() as u64, 1, 60_000),
        call_timeout: c.millis(
            &l.call_timeout_ms,
            d.call_timeout.as_millis() as u64,
            10,
            600_000,
        ),
        max_concurrent_calls: c.bounded(&l.max_concurrent_calls, 64, 1, 1000) as u32,
        http_timeout: c.millis(
            &l.http_timeout_ms,
            d.http_timeout.as_millis() as u64,
            10,
            600_000,
        ),
        http_max_response_bytes: c.bounded(&l.http_max_response_bytes, 1 << 20, 1024, 64 << 20)
            as usize,
    };

    let sp = &raw.sandbox_provider;
    let mut merchants = HashMap::new();
    for (id, reference) in &sp.merchants {
        if let Some(v) = c.secret(reference, SecretUse::Key) {
            merchants.insert(id.clone(), v);
        }
    }
    let sandbox_provider = SandboxProviderConfig {
        enabled: sp.enabled,
        processing_delay: c.millis(&sp.processing_delay_ms, 3000, 0, 3_600_000),
        merchants,
        journal: match sp.journal.as_ref().map(|j| j.get_ref().as_str()) {
            Some("") => None,
            Some(path) => Some(dir.join(path)),
            None => sqlite_file(&database_url).map(|db| {
                let mut name = db.into_os_string();
                name.push("-sandbox.jsonl");
                PathBuf::from(name)
            }),
        },
    };
    let sw = &raw.sweeper;
    let sweeper = SweeperConfig {
        interval: c.millis(&sw.interval_ms, 2000, 10, 3_600_000),
        min_age: c.millis(&sw.min_age_ms, 1000, 0, 86_400_000),
        backoff: c.millis_list(
            &sw.backoff_ms,
            &DEFAULT_SWEEPER_BACKOFF_MS,
            (10, 86_400_000),
            32,
        ),
        barcode_deadline: c.millis(&sw.barcode_deadline_ms, 60_000, 100, 3_600_000),
        pending_expiry: c.millis(&sw.pending_expiry_ms, 7_200_000, 100, 30 * 86_400_000),
    };
    let wh = &raw.webhooks;
    let webhooks = WebhooksConfig {
        retry_schedule: c.millis_list(
            &wh.retry_schedule_ms,
            &DEFAULT_WEBHOOK_RETRY_MS,
            (10, 7 * 86_400_000),
            32,
        ),
        jitter_percent: c.bounded(&wh.jitter_percent, 10, 0, 50) as u8,
        timeout: c.millis(&wh.timeout_ms, 10_000, 10, 60_000),
    };
    let otlp_endpoint = raw.otlp_endpoint.as_ref().and_then(|u| c.url(u));
    let outbound = outbound(&raw.outbound, &mut c);
    let plugin_policy = crate::provenance::ProvenancePolicy {
        require_signature: raw.plugin_policy.require_signature,
        trusted_publishers: raw
            .plugin_policy
            .trusted_publishers
            .iter()
            .filter_map(|k| k.get_ref().parse().map_err(|e: String| c.error(k, e)).ok())
            .collect(),
    };
    if plugin_policy.require_signature && plugin_policy.trusted_publishers.is_empty() {
        c.error_at(
            0..0,
            "[plugin_policy] require_signature needs at least one of trusted_publishers",
        );
    }
    let json_logs = match &raw.log_format {
        None => false,
        Some(f) if f.get_ref() == "json" => true,
        Some(f) if f.get_ref() == "text" => false,
        Some(f) => {
            c.error(f, "must be \"text\" or \"json\"");
            false
        }
    };

    Some(ServerConfig {
        config_file: file.to_path_buf(),
        listen,
        database_url,
        database_max_connections,
        public_url,
        plugins_dir,
        plugin_cache_dir,
        tenants_dir,
        admin_tokens,
        limits,
        sandbox_provider,
        sweeper,
        webhooks,
        json_logs,
        otlp_endpoint,
        outbound,
        plugin_policy,
    })
}

fn outbound(raw: &super::raw::RawOutbound, c: &mut Checker<'_>) -> crate::outbound::OutboundConfig {
    let mut allowed = Vec::new();
    for entry in &raw.allow_addresses {
        let text = entry.get_ref();
        let net = text
            .parse::<ipnet::IpNet>()
            .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from));
        match net {
            Ok(net) => allowed.push(net),
            Err(_) => c.error(
                entry,
                format!("`{text}` is not an address or network, like `127.0.0.1` or `10.0.0.0/8`"),
            ),
        }
    }
    let mut plain_http_hosts = Vec::new();
    for host in &raw.plain_http_hosts {
        let h = host.get_ref().trim_matches(['[', ']']);
        let is_ip = h.parse::<std::net::IpAddr>().is_ok();
        if h.is_empty() || (!is_ip && h.contains(['/', ' ', ':'])) {
            c.error(host, "a host is a bare name or IP, like `127.0.0.1`");
        } else {
            plain_http_hosts.push(h.to_ascii_lowercase());
        }
    }
    crate::outbound::OutboundConfig {
        addresses: crate::outbound::AddressPolicy { allowed },
        plain_http_hosts,
    }
}

/// `sqlite://relative.db` is taken relative to the config file's folder, so
/// the demo works from any working directory.
fn resolve_sqlite_path(url: &str, dir: &Path) -> String {
    match url.strip_prefix("sqlite://") {
        Some(rest) if !rest.starts_with('/') && !rest.starts_with(':') => {
            format!("sqlite://{}", dir.join(rest).display())
        }
        _ => url.to_string(),
    }
}

/// The file of a `sqlite://` database URL (None for memory or PostgreSQL).
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://")?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && !path.starts_with(':')).then(|| PathBuf::from(path))
}

/// One tenant document: a file of the folder or a published config.
struct TenantDocument {
    origin: PathBuf,
    source: String,
    /// The tenant id a published config was stored under.
    published_as: Option<String>,
}

fn load_tenants(
    dir: &Path,
    sources: TenantSources<'_>,
    errors: &mut ConfigErrors,
) -> Vec<TenantConfig> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect(),
        Err(e) => {
            errors.push(ConfigError::whole_file(
                dir,
                format!("cannot read tenants folder: {e}"),
            ));
            return Vec::new();
        }
    };
    files.sort();
    let mut documents: Vec<TenantDocument> = files
        .into_iter()
        .filter_map(|file| {
            let source = read(&file, errors)?;
            Some(TenantDocument {
                origin: file,
                source,
                published_as: None,
            })
        })
        .collect();
    documents.extend(sources.published.iter().map(|p| TenantDocument {
        origin: PathBuf::from(&p.origin),
        source: p.source.clone(),
        published_as: Some(p.tenant_id.clone()),
    }));

    let mut tenants: Vec<TenantConfig> = Vec::new();
    let mut seen_ids: HashMap<String, PathBuf> = HashMap::new();
    let mut seen_keys: HashMap<[u8; 32], String> = HashMap::new();
    for doc in &documents {
        let parsed = super::parse::document::<RawTenant>(&doc.origin, &doc.source, errors);
        let Some(raw) = parsed.value else {
            continue;
        };
        let mut c = Checker {
            file: &doc.origin,
            source: &doc.source,
            errors,
            secrets: SecretPolicy {
                // Relative `file:` secrets of published configs are found
                // in each instance's own tenants folder.
                base: dir,
                resolve: sources.resolve_secrets,
                inline_allowed: doc.published_as.is_none(),
            },
        };
        let id = raw.id.get_ref();
        if let Some(stored) = &doc.published_as
            && stored != id
        {
            c.error(
                &raw.id,
                format!("published as tenant `{stored}` but its id is `{id}`"),
            );
        }
        if let Some(other) = seen_ids.insert(id.clone(), doc.origin.clone()) {
            c.error(
                &raw.id,
                format!(
                    "tenant `{id}` is also defined in {}; a tenant lives in one place",
                    other.display()
                ),
            );
        }
        for key in raw.api_keys.get_ref() {
            let Ok(digest) = super::api_keys::parse(key.get_ref().key()) else {
                continue; // reported by check_tenant
            };
            if let Some(other) = seen_keys.insert(digest, id.clone()) {
                c.error(
                    key,
                    format!("this API key is already used by tenant `{other}`"),
                );
            }
        }
        let tenant = check_tenant(&raw, &mut c);
        // What remains of a document with broken keys is checked for its
        // own problems, but its channels are not bound: the keys taken out
        // (a mistyped `settings`, say) would show as false problems there.
        if parsed.clean {
            tenants.push(tenant);
        }
    }
    tenants
}

fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// The tenant as validated: complete when no problem was added to `c`,
/// otherwise with what validated (channels in error left out).
fn check_tenant(raw: &RawTenant, c: &mut Checker<'_>) -> TenantConfig {
    if !valid_id(raw.id.get_ref()) {
        c.error(
            &raw.id,
            "tenant id must be 1-64 characters of a-z, 0-9, '-' or '_'",
        );
    }
    if raw.api_keys.get_ref().is_empty() {
        c.error(&raw.api_keys, "a tenant needs at least one API key");
    }
    let mut api_keys = Vec::new();
    for key in raw.api_keys.get_ref() {
        let digest = match super::api_keys::parse(key.get_ref().key()) {
            Ok(d) => d,
            Err(message) => {
                c.error(key, message);
                continue;
            }
        };
        let expires_at = match key.get_ref() {
            RawApiKey::Key(_) => None,
            RawApiKey::Expiring { expires_at, .. } => {
                match expires_at.parse::<jiff::Timestamp>() {
                    Ok(at) => Some(at),
                    Err(e) => {
                        c.error(key, format!("`expires_at` is not an RFC 3339 time like 2026-12-31T00:00:00Z: {e}"));
                        continue;
                    }
                }
            }
        };
        api_keys.push(super::api_keys::ApiKey { digest, expires_at });
    }
    let webhook_secret = raw
        .webhook_secret
        .as_ref()
        .and_then(|s| c.secret(s, SecretUse::WebhookSecret));
    let notify_url = raw.notify_url.as_ref().and_then(|u| c.url(u));
    let mut channel_ids = HashSet::new();
    let mut channels = Vec::new();
    for ch in &raw.channels {
        if !channel_ids.insert(ch.id.get_ref().clone()) {
            c.error(
                &ch.id,
                format!("channel `{}` is defined twice", ch.id.get_ref()),
            );
        }
        if let Some(ch) = check_channel(ch, c) {
            channels.push(ch);
        }
    }
    let timezone = super::rules::timezone(raw.timezone.as_ref(), c);
    let breaker = super::rules::breaker(raw.breaker.as_ref(), c);
    let limits = tenant_limits(raw.limits.as_ref(), c);
    let name = raw.name.clone().unwrap_or_else(|| raw.id.get_ref().clone());
    let checkout = checkout_settings(raw.checkout.as_ref(), &name, c);
    let ids: Vec<&str> = raw
        .channels
        .iter()
        .map(|ch| ch.id.get_ref().as_str())
        .collect();
    let rules = super::rules::rules(&raw.rules, &ids, c);
    TenantConfig {
        id: raw.id.get_ref().clone(),
        name,
        source: c.file.to_path_buf(),
        api_keys,
        webhook_secret,
        notify_url,
        channels,
        timezone,
        rules,
        breaker,
        limits,
        checkout,
    }
}

fn checkout_settings(
    raw: Option<&super::raw::RawCheckout>,
    name: &str,
    c: &mut Checker<'_>,
) -> CheckoutSettings {
    let mut settings = CheckoutSettings {
        display_name: name.to_string(),
        max_entered_amount: DEFAULT_MAX_ENTERED_AMOUNT,
    };
    let Some(raw) = raw else {
        return settings;
    };
    if let Some(n) = &raw.display_name {
        let text = n.get_ref().trim();
        if text.is_empty() || text.chars().count() > 64 {
            c.error(n, "`display_name` must be 1-64 characters");
        } else {
            settings.display_name = text.to_string();
        }
    }
    if let Some(max) = &raw.max_entered_amount {
        let text = max.get_ref();
        let plain = !text.is_empty()
            && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && text.bytes().filter(|b| *b == b'.').count() <= 1
            && !text.starts_with('.')
            && !text.ends_with('.');
        match text.parse::<rust_decimal::Decimal>() {
            Ok(d) if plain && d > rust_decimal::Decimal::ZERO => settings.max_entered_amount = d,
            _ => c.error(
                max,
                "`max_entered_amount` must be a positive decimal in major units, like \"2000.00\"",
            ),
        }
    }
    settings
}

fn tenant_limits(
    raw: Option<&Spanned<super::raw::RawTenantLimits>>,
    c: &mut Checker<'_>,
) -> TenantLimits {
    let Some(raw) = raw.map(Spanned::get_ref) else {
        return TenantLimits::default();
    };
    let rate = raw.requests_per_second.as_ref().map(|rps| {
        let per_second = c.bounded(&Some(rps.clone()), 1, 1, 1_000_000) as u32;
        let burst = c.bounded(&raw.burst, u64::from(per_second), 1, 1_000_000) as u32;
        TenantRate { per_second, burst }
    });
    if rate.is_none()
        && let Some(burst) = &raw.burst
    {
        c.error(burst, "`burst` needs `requests_per_second`");
    }
    let callbacks_per_second = c.bounded(
        &raw.callbacks_per_second,
        u64::from(DEFAULT_CALLBACKS_PER_SECOND),
        1,
        1_000_000,
    ) as u32;
    TenantLimits {
        rate,
        callbacks: TenantRate {
            per_second: callbacks_per_second,
            burst: 2 * callbacks_per_second,
        },
        max_concurrent_requests: c.bounded(
            &raw.max_concurrent_requests,
            u64::from(DEFAULT_MAX_CONCURRENT_REQUESTS),
            1,
            100_000,
        ) as u32,
    }
}

fn check_channel(raw: &RawChannel, c: &mut Checker<'_>) -> Option<ChannelConfig> {
    let before = c.errors.0.len();
    if !valid_id(raw.id.get_ref()) {
        c.error(
            &raw.id,
            "channel id must be 1-64 characters of a-z, 0-9, '-' or '_'",
        );
    }
    let (plugin_name, plugin_req) = match parse_plugin_ref(raw.plugin.get_ref()) {
        Ok(v) => v,
        Err(message) => {
            c.error(&raw.plugin, message);
            (String::new(), semver::VersionReq::STAR)
        }
    };
    for host in &raw.allowed_hosts {
        let h = host.get_ref();
        if h.is_empty() || h.contains('/') || h.contains(' ') {
            c.error(
                host,
                "a host is a bare name or IP, like `openapi.alipay.com` or `127.0.0.1`",
            );
        }
    }
    let mut secrets = BTreeMap::new();
    for (name, reference) in &raw.secrets {
        if let Some(v) = c.secret(reference, SecretUse::Key) {
            secrets.insert(name.clone(), v);
        }
    }
    let canary = raw.canary.as_ref().and_then(|canary| {
        let canary = canary.get_ref();
        let version = semver::Version::parse(canary.version.get_ref())
            .map_err(|e| {
                c.error(
                    &canary.version,
                    format!("`{}` is not a version: {e}", canary.version.get_ref()),
                )
            })
            .ok();
        let percent = *canary.percent.get_ref();
        if !(1..=99).contains(&percent) {
            c.error(&canary.percent, "must be between 1 and 99");
        }
        if let Some(v) = &version
            && !plugin_req.matches(v)
        {
            c.error(
                &canary.version,
                format!("{v} is outside the channel's range `{plugin_req}`"),
            );
        }
        version.map(|version| Canary {
            version,
            percent: percent.clamp(1, 99) as u8,
        })
    });
    let replay_before_upgrade = match &raw.replay_before_upgrade {
        Some(n) if *n.get_ref() > 1000 => {
            c.error(n, "at most 1000 recent calls are kept for replay");
            0
        }
        Some(n) => *n.get_ref() as usize,
        None => 0,
    };
    let plugin_sha256 = raw.plugin_sha256.as_ref().and_then(|pin| {
        let hex_digest = pin
            .get_ref()
            .trim_start_matches("sha256:")
            .to_ascii_lowercase();
        if hex_digest.len() != 64 || !hex_digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            c.error(
                pin,
                "a pin is the plugin's sha256: 64 hex digits (see `paycore plugin inspect`)",
            );
            return None;
        }
        if raw.canary.is_some() {
            c.error(pin, "a pinned channel cannot also have a canary");
        }
        Some(hex_digest)
    });
    let plugin_location = ConfigError::at(c.file, c.source, Some(raw.plugin.span()), "");
    (c.errors.0.len() == before).then(|| ChannelConfig {
        id: raw.id.get_ref().clone(),
        plugin_name,
        plugin_req,
        plugin_location,
        allowed_hosts: raw
            .allowed_hosts
            .iter()
            .map(|h| h.get_ref().to_ascii_lowercase())
            .collect(),
        settings: raw
            .settings
            .iter()
            .map(|(k, v)| (k.clone(), v.get_ref().clone()))
            .collect(),
        setting_locations: raw
            .settings
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    ConfigError::at(c.file, c.source, Some(v.span()), ""),
                )
            })
            .collect(),
        secrets,
        enabled: raw.enabled,
        canary,
        replay_before_upgrade,
        plugin_sha256,
    })
}

/// One tenant file's text, validated on its own (the tests of the rules and
/// the config fuzz target use it; secrets are resolved as written).
pub fn tenant_from_str(file: &Path, source: &str) -> Result<TenantConfig, ConfigErrors> {
    let mut errors = ConfigErrors::default();
    let Some(raw) = super::parse::document::<RawTenant>(file, source, &mut errors).value else {
        return Err(errors);
    };
    let mut c = Checker {
        file,
        source,
        errors: &mut errors,
        secrets: SecretPolicy {
            base: file.parent().unwrap_or(Path::new(".")),
            resolve: true,
            inline_allowed: true,
        },
    };
    let tenant = check_tenant(&raw, &mut c);
    if errors.is_empty() {
        Ok(tenant)
    } else {
        errors.sort_within_files();
        Err(errors)
    }
}

/// `sandbox@^1.2` → ("sandbox", ^1.2); a bare name means any version.
fn parse_plugin_ref(text: &str) -> Result<(String, semver::VersionReq), String> {
    let (name, req) = text.split_once('@').unwrap_or((text, "*"));
    if !valid_id(name) {
        return Err(format!(
            "`{text}`: expected `name@version-range`, like `alipay@^1.2`"
        ));
    }
    let req = semver::VersionReq::parse(req)
        .map_err(|e| format!("`{req}` is not a semver range: {e}"))?;
    Ok((name.to_string(), req))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("paycore-config-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("tenants")).unwrap();
        dir
    }

    const TENANT: &str = r#"
id = "t1"
api_keys = ["sk_test_t1_key"]
[[channels]]
id = "sbx"
plugin = "sandbox@^1"
allowed_hosts = ["127.0.0.1"]
settings = { merchant_id = "m1" }
secrets = { api_key = "inline:k" }
"#;

    #[test]
    fn a_valid_config_loads() {
        let dir = scratch("valid");
        let file = write(&dir, "paycore.toml", "listen = \"127.0.0.1:0\"\n");
        write(&dir, "tenants/t1.toml", TENANT);
        let cfg = load(&file, &Overrides::default()).unwrap();
        assert_eq!(cfg.tenants.len(), 1);
        let ch = &cfg.tenants[0].channels[0];
        assert_eq!(ch.plugin_name, "sandbox");
        assert!(ch.plugin_req.matches(&semver::Version::new(1, 4, 0)));
        assert!(!ch.plugin_req.matches(&semver::Version::new(2, 0, 0)));
        assert_eq!(ch.secrets["api_key"].expose(), b"k");
    }

    #[test]
    fn unknown_keys_and_wrong_types_name_file_line_and_column() {
        let dir = scratch("bad");
        let file = write(&dir, "paycore.toml", "listen = \"127.0.0.1:0\"\n");
        write(
            &dir,
            "tenants/a.toml",
            "id = \"a\"\napi_keys = [\"sk_test_aaaa\"]\ncolour = 1\n",
        );
        write(
            &dir,
            "tenants/b.toml",
            "id = \"b\"\napi_keys = \"sk_test_bbbb\"\n",
        );
        let errs = load(&file, &Overrides::default()).unwrap_err().to_string();
        assert!(
            errs.contains("a.toml:3:1: unknown field `colour`"),
            "{errs}"
        );
        assert!(errs.contains("b.toml:2:12:"), "{errs}");
    }

    #[test]
    fn validation_collects_every_problem() {
        let dir = scratch("many");
        let file = write(
            &dir,
            "paycore.toml",
            "listen = \"nowhere\"\n[plugin_limits]\nmemory_mib = 0\n",
        );
        let errs = load(&file, &Overrides::default()).unwrap_err();
        let text = errs.to_string();
        assert!(text.contains("paycore.toml:1:10:"), "{text}");
        assert!(
            text.contains("paycore.toml:3:14: must be between 1 and 4096"),
            "{text}"
        );
        assert_eq!(errs.0.len(), 2);
    }

    #[test]
    fn a_broken_server_file_does_not_hide_the_tenants_problems() {
        let dir = scratch("server-and-tenants");
        let file = write(
            &dir,
            "paycore.toml",
            "listen = \"nowhere\"\nlistn = 1\n[sandbox_provider]\nprocessing_delay_ms = 18446744073709551615\n",
        );
        write(
            &dir,
            "tenants/t.toml",
            "id = \"t\"\napi_keys = [\"sk_test_every_problem\"]\ncolour = \"red\"\nwebhook_secret = \"inline:\"\n[limits]\nrequests_per_second = 0\nmax_concurrent_requests = \"many\"\n",
        );
        let partial = load_partial(&file, &Overrides::default(), TenantSources::default());
        let text = partial.errors.to_string();
        for expected in [
            "paycore.toml:1:10: `nowhere` is not an address",
            "paycore.toml:2:1: unknown field `listn`",
            "paycore.toml:4:23: must be between 0 and 3600000",
            "t.toml:3:1: unknown field `colour`",
            "t.toml:4:18: the webhook secret is empty",
            "t.toml:6:23: must be between 1 and 1000000",
            "t.toml:7:27: invalid type: string \"many\", expected u64",
        ] {
            assert!(text.contains(expected), "{expected:?} missing in:\n{text}");
        }
        assert_eq!(partial.errors.0.len(), 7, "{text}");
        // The tenant's file had broken keys: it is checked, never bound.
        assert!(partial.config.unwrap().tenants.is_empty());
    }

    #[test]
    fn channels_that_validated_are_kept_for_binding_checks() {
        let dir = scratch("partial");
        let file = write(&dir, "paycore.toml", "");
        write(
            &dir,
            "tenants/t1.toml",
            &format!(
                "webhook_secret = \"inline:short\"\n{TENANT}[[channels]]\nid = \"other\"\nplugin = \"sandbox@^1\"\nsecrets = {{ api_key = \"inline:\" }}\n"
            ),
        );
        let partial = load_partial(&file, &Overrides::default(), TenantSources::default());
        assert_eq!(partial.errors.0.len(), 2, "{}", partial.errors);
        let tenants = partial.into_result().unwrap_err().1;
        let ids: Vec<&str> = tenants[0].channels.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["sbx"]);
    }

    #[test]
    fn tenants_may_not_share_ids_or_keys() {
        let dir = scratch("dupes");
        let file = write(&dir, "paycore.toml", "");
        write(
            &dir,
            "tenants/a.toml",
            "id = \"same\"\napi_keys = [\"sk_test_shared\"]\n",
        );
        write(
            &dir,
            "tenants/b.toml",
            "id = \"same\"\napi_keys = [\"sk_test_shared\"]\n",
        );
        let text = load(&file, &Overrides::default()).unwrap_err().to_string();
        assert!(
            text.contains("b.toml:1:6: tenant `same` is also defined in"),
            "{text}"
        );
        assert!(text.contains("already used by tenant `same`"), "{text}");
        assert!(
            !text.contains("sk_test_shared"),
            "errors never echo keys: {text}"
        );
    }

    #[test]
    fn retry_and_backoff_schedules_have_defaults_and_bounds() {
        let dir = scratch("schedules");
        let file = write(&dir, "paycore.toml", "");
        let cfg = load(&file, &Overrides::default()).unwrap().server;
        let secs: Vec<u64> = cfg
            .webhooks
            .retry_schedule
            .iter()
            .map(|d| d.as_secs())
            .collect();
        assert_eq!(secs, [15, 60, 300, 1800, 7200, 21600, 86400]);
        assert_eq!(cfg.webhooks.jitter_percent, 10);
        assert_eq!(cfg.sweeper.barcode_deadline, Duration::from_secs(60));
        assert_eq!(cfg.sweeper.backoff.len(), DEFAULT_SWEEPER_BACKOFF_MS.len());

        let file = write(
            &dir,
            "paycore.toml",
            "[webhooks]\nretry_schedule_ms = [100, 200]\njitter_percent = 0\n[sweeper]\nbackoff_ms = [50]\nbarcode_deadline_ms = 1500\n",
        );
        let cfg = load(&file, &Overrides::default()).unwrap().server;
        assert_eq!(
            cfg.webhooks.retry_schedule,
            [Duration::from_millis(100), Duration::from_millis(200)]
        );
        assert_eq!(cfg.sweeper.backoff, [Duration::from_millis(50)]);
        assert_eq!(cfg.sweeper.barcode_deadline, Duration::from_millis(1500));

        let file = write(
            &dir,
            "paycore.toml",
            "[webhooks]\nretry_schedule_ms = []\njitter_percent = 90\n[sweeper]\nbackoff_ms = [50, 1]\n",
        );
        let text = load(&file, &Overrides::default()).unwrap_err().to_string();
        assert!(
            text.contains("paycore.toml:2:21: must list between 1 and 32 delays"),
            "{text}"
        );
        assert!(
            text.contains("paycore.toml:3:18: must be between 0 and 50"),
            "{text}"
        );
        assert!(
            text.contains("paycore.toml:5:19: must be between 10 and 86400000"),
            "{text}"
        );
    }

    /// Every range `docs/configuration.md` gives for a number is the one
    /// enforced: one past each end is refused, saying the range.
    #[test]
    fn the_documented_ranges_are_enforced() {
        let doc = include_str!("../../../docs/configuration.md");
        let dir = scratch("documented-ranges");
        let mut server_file = true;
        let mut checked = 0;
        for line in doc.lines() {
            if line.starts_with("### `tenants/") {
                server_file = false;
            }
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let (Some(key), Some(range)) = (cells.get(1), cells.get(3)) else {
                continue;
            };
            let Some((min, max)) = range.split_once(" – ") else {
                continue;
            };
            let (Ok(min), Ok(max)) = (min.parse::<u64>(), max.parse::<u64>()) else {
                continue;
            };
            let key = key.replace('`', "");
            if key.starts_with("[[") {
                continue; // checked with their own words elsewhere
            }
            let (key, each) = match key.strip_suffix(" (each)") {
                Some(k) => (k.to_string(), true),
                None => (key, false),
            };
            let (table, name) = match key.split_once("] ") {
                Some((t, n)) => (Some(t.trim_start_matches('[')), n),
                None => (None, key.as_str()),
            };
            let outside = [min.checked_sub(1), max.checked_add(1)];
            for value in outside.into_iter().flatten() {
                let value = if each {
                    format!("[{value}]")
                } else {
                    value.to_string()
                };
                let mut text = table.map_or(String::new(), |t| format!("[{t}]\n"));
                if name == "burst" {
                    text.push_str("requests_per_second = 1\n");
                }
                text.push_str(&format!("{name} = {value}\n"));
                let file = if server_file {
                    write(&dir, "paycore.toml", &text)
                } else {
                    write(
                        &dir,
                        "tenants/t.toml",
                        &format!("id = \"t\"\napi_keys = [\"sk_test_ranges\"]\n{text}"),
                    );
                    write(&dir, "paycore.toml", "")
                };
                let errors = load(&file, &Overrides::default()).unwrap_err().to_string();
                assert!(
                    errors.contains(&format!("must be between {min} and {max}")),
                    "{key} = {value}: {errors}"
                );
                let _ = std::fs::remove_file(dir.join("tenants/t.toml"));
            }
            checked += 1;
        }
        assert!(checked >= 20, "only {checked} documented ranges found");
    }

    #[test]
    fn plugin_references_are_checked() {
        assert!(parse_plugin_ref("alipay@^1.2").is_ok());
        assert!(parse_plugin_ref("alipay").is_ok());
        assert!(parse_plugin_ref("Ali Pay@1").is_err());
        assert!(parse_plugin_ref("alipay@banana").is_err());
    }

    #[test]
    fn the_database_is_sqlite_or_postgres() {
        let dir = scratch("database");
        let file = write(
            &dir,
            "paycore.toml",
            "database_url = \"postgres://paycore:pw@db/paycore\"\ndatabase_max_connections = 24\n",
        );
        let cfg = load(&file, &Overrides::default()).unwrap().server;
        assert_eq!(cfg.database_url, "postgres://paycore:pw@db/paycore");
        assert_eq!(cfg.database_max_connections, Some(24));
        let file = write(
            &dir,
            "paycore.toml",
            "database_url = \"mysql://db/paycore\"\ndatabase_max_connections = 0\n",
        );
        let text = load(&file, &Overrides::default()).unwrap_err().to_string();
        assert!(
            text.contains("must be a sqlite://… or postgres://… URL"),
            "{text}"
        );
        assert!(text.contains("must be between 1 and 1000"), "{text}");
    }

    #[test]
    fn overrides_win_over_the_file() {
        let dir = scratch("overrides");
        let file = write(&dir, "paycore.toml", "listen = \"127.0.0.1:1\"\n");
        let o = Overrides {
            listen: Some("127.0.0.1:2".into()),
            database_url: Some("sqlite::memory:".into()),
        };
        let cfg = load(&file, &o).unwrap();
        assert_eq!(cfg.server.listen.port(), 2);
        assert_eq!(cfg.server.database_url, "sqlite::memory:");
    }

    fn published(id: &str, revision: u32, source: &str) -> PublishedTenant {
        PublishedTenant {
            tenant_id: id.into(),
            origin: format!("published:{id}@r{revision}"),
            source: source.into(),
        }
    }

    fn with_published(file: &Path, published: &[PublishedTenant]) -> Result<Config, ConfigErrors> {
        let sources = TenantSources {
            published,
            resolve_secrets: true,
        };
        load_with(file, &Overrides::default(), sources)
    }

    const PUBLISHED_TENANT: &str = r#"
id = "p1"
api_keys = ["sk_test_p1_key"]
[[channels]]
id = "sbx"
plugin = "sandbox@^1"
allowed_hosts = ["127.0.0.1"]
secrets = { api_key = "env:PAYCORE_TEST_PUBLISHED_KEY" }
"#;

    #[test]
    fn published_tenants_serve_beside_the_folder() {
        let dir = scratch("published");
        let file = write(&dir, "paycore.toml", "listen = \"127.0.0.1:0\"\n");
        write(&dir, "tenants/t1.toml", TENANT);
        // SAFETY: set once, read by this test only; no other thread reads it.
        unsafe { std::env::set_var("PAYCORE_TEST_PUBLISHED_KEY", "from-env") };
        let cfg = with_published(&file, &[published("p1", 2, PUBLISHED_TENANT)]).unwrap();
        let ids: Vec<&str> = cfg.tenants.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["t1", "p1"]);
        let p1 = &cfg.tenants[1];
        assert_eq!(p1.source, Path::new("published:p1@r2"));
        assert_eq!(p1.channels[0].secrets["api_key"].expose(), b"from-env");
    }

    #[test]
    fn a_published_tenant_may_not_shadow_a_file_or_hold_inline_secrets() {
        let dir = scratch("published-bad");
        let file = write(&dir, "paycore.toml", "listen = \"127.0.0.1:0\"\n");
        write(&dir, "tenants/t1.toml", TENANT);
        // The same id as the folder's t1, a key of t1's, and an inline secret.
        let errs = with_published(&file, &[published("t1", 4, TENANT)])
            .unwrap_err()
            .to_string();
        assert!(
            errs.contains("published:t1@r4:2:6: tenant `t1` is also defined in")
                && errs.contains("t1.toml; a tenant lives in one place"),
            "{errs}"
        );
        assert!(
            errs.contains("published:t1@r4:3:13: this API key is already used by tenant `t1`"),
            "{errs}"
        );
        assert!(
            errs.contains("published:t1@r4:9:23: a published config cannot hold a secret inline"),
            "{errs}"
        );
        // Stored under one id, declaring another: refused, naming both.
        let errs = with_published(&file, &[published("other", 1, PUBLISHED_TENANT)])
            .unwrap_err()
            .to_string();
        assert!(
            errs.contains("published as tenant `other` but its id is `p1`"),
            "{errs}"
        );
    }

    #[test]
    fn publishing_checks_secret_references_without_reading_them() {
        let dir = scratch("published-form");
        let file = write(&dir, "paycore.toml", "listen = \"127.0.0.1:0\"\n");
        let source = PUBLISHED_TENANT.replace("PAYCORE_TEST_PUBLISHED_KEY", "PAYCORE_UNSET_VAR_X");
        let unresolved = TenantSources {
            published: &[published("p1", 1, &source)],
            resolve_secrets: false,
        };
        assert!(load_with(&file, &Overrides::default(), unresolved).is_ok());
        let bad = source.replace("env:PAYCORE_UNSET_VAR_X", "plain-text-key");
        let errs = load_with(
            &file,
            &Overrides::default(),
            TenantSources {
                published: &[published("p1", 1, &bad)],
                resolve_secrets: false,
            },
        )
        .unwrap_err()
        .to_string();
        assert!(
            errs.contains("published:p1@r1:8:23: a secret must be a reference"),
            "{errs}"
        );
        assert!(!errs.contains("plain-text-key"), "{errs}");
    }

    #[test]
    fn several_admin_tokens_are_accepted_while_rotating() {
        let dir = scratch("admin-rotation");
        let old = super::super::api_keys::reference("adm_old_token");
        let file = write(
            &dir,
            "paycore.toml",
            &format!("admin_token = [\"inline:adm_new_token\", \"inline:{old}\"]\n"),
        );
        let cfg = load(&file, &Overrides::default()).unwrap();
        let tokens: Vec<&[u8]> = cfg.server.admin_tokens.iter().map(|t| t.expose()).collect();
        assert_eq!(tokens, [b"adm_new_token".as_slice(), old.as_bytes()]);
        let one = write(
            &dir,
            "paycore.toml",
            "admin_token = \"env:PAYCORE_SURELY_UNSET_TOKEN\"\n",
        );
        let errs = load(&one, &Overrides::default()).unwrap_err().to_string();
        assert!(
            errs.contains("paycore.toml:1:15:") && errs.contains("PAYCORE_SURELY_UNSET_TOKEN"),
            "{errs}"
        );
    }
}
