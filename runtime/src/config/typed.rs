//! Typed, validated configuration and the loader that builds it.

use super::diagnostics::{ConfigError, ConfigErrors};
use super::raw::{RawChannel, RawServer, RawTenant};
use super::secrets::{SecretRef, SecretValue};
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
    pub admin_token: Option<SecretValue>,
    pub limits: PluginLimits,
    pub sandbox_provider: SandboxProviderConfig,
    pub sweeper: SweeperConfig,
    pub webhooks: WebhooksConfig,
    pub json_logs: bool,
    /// Where to export traces (OTLP/HTTP), if anywhere.
    pub otlp_endpoint: Option<String>,
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
    pub api_keys: Vec<String>,
    pub webhook_secret: Option<SecretValue>,
    pub notify_url: Option<String>,
    pub channels: Vec<ChannelConfig>,
    /// The tenant's local time zone, for rules' `days` and `hours`.
    pub timezone: jiff::tz::TimeZone,
    /// In file order; never empty (a tenant without rules gets an implicit
    /// default that tries every channel in config order).
    pub rules: Vec<crate::routing::Rule>,
    pub breaker: crate::routing::BreakerConfig,
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
    pub secrets: BTreeMap<String, SecretValue>,
    pub enabled: bool,
    pub canary: Option<Canary>,
    /// Recent calls kept and replayed on a new version of the plugin before
    /// it may serve this channel (0: no replay).
    pub replay_before_upgrade: usize,
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

/// Loads and validates `paycore.toml` and every `*.toml` in its tenants folder.
pub fn load(config_file: &Path, overrides: &Overrides) -> Result<Config, ConfigErrors> {
    let mut errors = ConfigErrors::default();
    let server = load_server(config_file, overrides, &mut errors);
    let tenants = match &server {
        Some(s) => load_tenants(&s.tenants_dir, &mut errors),
        None => Vec::new(),
    };
    match server {
        Some(server) if errors.is_empty() => Ok(Config { server, tenants }),
        _ => Err(errors),
    }
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

    fn secret(&mut self, at: &Spanned<String>) -> Option<SecretValue> {
        let base = self.file.parent().unwrap_or(Path::new("."));
        match SecretRef::parse(at.get_ref(), base).and_then(|r| r.resolve()) {
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
    errors: &mut ConfigErrors,
) -> Option<ServerConfig> {
    let source = read(file, errors)?;
    let raw: RawServer = match toml::from_str(&source) {
        Ok(r) => r,
        Err(e) => {
            errors.push(ConfigError::from_toml(file, &source, &e));
            return None;
        }
    };
    let dir = file.parent().unwrap_or(Path::new(".")).to_path_buf();
    let before = errors.0.len();
    let mut c = Checker {
        file,
        source: &source,
        errors,
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
    if crate::store::Backend::of_url(&database_url).is_none() {
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
    let admin_token = raw.admin_token.as_ref().and_then(|t| c.secret(t));

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
        if let Some(v) = c.secret(reference) {
            merchants.insert(id.clone(), v);
        }
    }
    let sandbox_provider = SandboxProviderConfig {
        enabled: sp.enabled,
        processing_delay: Duration::from_millis(sp.processing_delay_ms.unwrap_or(3000)),
        merchants,
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
    let json_logs = match &raw.log_format {
        None => false,
        Some(f) if f.get_ref() == "json" => true,
        Some(f) if f.get_ref() == "text" => false,
        Some(f) => {
            c.error(f, "must be \"text\" or \"json\"");
            false
        }
    };

    (errors.0.len() == before).then(|| ServerConfig {
        config_file: file.to_path_buf(),
        listen,
        database_url,
        database_max_connections,
        public_url,
        plugins_dir,
        plugin_cache_dir,
        tenants_dir,
        admin_token,
        limits,
        sandbox_provider,
        sweeper,
        webhooks,
        json_logs,
        otlp_endpoint,
    })
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

fn load_tenants(dir: &Path, errors: &mut ConfigErrors) -> Vec<TenantConfig> {
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
    let mut tenants: Vec<TenantConfig> = Vec::new();
    let mut seen_keys: HashMap<String, String> = HashMap::new();
    for file in files {
        let Some(source) = read(&file, errors) else {
            continue;
        };
        let raw: RawTenant = match toml::from_str(&source) {
            Ok(r) => r,
            Err(e) => {
                errors.push(ConfigError::from_toml(&file, &source, &e));
                continue;
            }
        };
        let mut c = Checker {
            file: &file,
            source: &source,
            errors,
        };
        if tenants.iter().any(|t| t.id == *raw.id.get_ref()) {
            c.error(
                &raw.id,
                format!("tenant `{}` is defined twice", raw.id.get_ref()),
            );
        }
        for key in raw.api_keys.get_ref() {
            if let Some(other) = seen_keys.insert(key.get_ref().clone(), raw.id.get_ref().clone()) {
                c.error(
                    key,
                    format!("this API key is already used by tenant `{other}`"),
                );
            }
        }
        if let Some(t) = check_tenant(&raw, &mut c) {
            tenants.push(t);
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

fn check_tenant(raw: &RawTenant, c: &mut Checker<'_>) -> Option<TenantConfig> {
    let before = c.errors.0.len();
    if !valid_id(raw.id.get_ref()) {
        c.error(
            &raw.id,
            "tenant id must be 1-64 characters of a-z, 0-9, '-' or '_'",
        );
    }
    if raw.api_keys.get_ref().is_empty() {
        c.error(&raw.api_keys, "a tenant needs at least one API key");
    }
    for key in raw.api_keys.get_ref() {
        if key.get_ref().len() < 8 {
            c.error(key, "an API key must be at least 8 characters");
        }
    }
    let webhook_secret = raw.webhook_secret.as_ref().and_then(|s| c.secret(s));
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
    let ids: Vec<&str> = raw
        .channels
        .iter()
        .map(|ch| ch.id.get_ref().as_str())
        .collect();
    let rules = super::rules::rules(&raw.rules, &ids, c);
    (c.errors.0.len() == before).then(|| TenantConfig {
        id: raw.id.get_ref().clone(),
        name: raw.name.clone().unwrap_or_else(|| raw.id.get_ref().clone()),
        source: c.file.to_path_buf(),
        api_keys: raw
            .api_keys
            .get_ref()
            .iter()
            .map(|k| k.get_ref().clone())
            .collect(),
        webhook_secret,
        notify_url,
        channels,
        timezone,
        rules,
        breaker,
    })
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
        if let Some(v) = c.secret(reference) {
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
        secrets,
        enabled: raw.enabled,
        canary,
        replay_before_upgrade,
    })
}

/// One tenant file's text, validated on its own (for tests of the rules).
#[cfg(test)]
pub(crate) fn tenant_from_str(file: &Path, source: &str) -> Result<TenantConfig, ConfigErrors> {
    let mut errors = ConfigErrors::default();
    let raw: RawTenant = toml::from_str(source)
        .map_err(|e| ConfigErrors(vec![ConfigError::from_toml(file, source, &e)]))?;
    let mut c = Checker {
        file,
        source,
        errors: &mut errors,
    };
    match check_tenant(&raw, &mut c) {
        Some(t) if errors.is_empty() => Ok(t),
        _ => Err(errors),
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
            text.contains("b.toml:1:6: tenant `same` is defined twice"),
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
}
