//! `paycore.toml`: the server's own settings (listener, database, plugins,
//! sandbox limits, sweeper, webhooks, outbound and plugin policies).

use super::checker::{Checker, SecretPolicy};
use super::diagnostics::{ConfigError, ConfigErrors};
use super::load::{Overrides, read};
use super::raw::RawServer;
use super::secrets::{SecretUse, SecretValue};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

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
    /// A statement call (reconciliation) downloads and reads a whole day's
    /// file, once a day, off the payment path: it may burn more CPU, wait
    /// longer and take a larger answer than a payment call. Its memory is
    /// the same `memory_bytes`, which the plugin keeps to by paging.
    pub statement_cpu: Duration,
    /// Wall clock of a whole statement call, and of each of its requests.
    pub statement_timeout: Duration,
    pub statement_max_response_bytes: usize,
}

impl PluginLimits {
    /// The limits of one statement call: these, with the statement's CPU,
    /// time and answer size in place of a payment call's.
    pub fn for_statement(&self) -> PluginLimits {
        PluginLimits {
            cpu: self.statement_cpu,
            call_timeout: self.statement_timeout,
            http_timeout: self.statement_timeout,
            http_max_response_bytes: self.statement_max_response_bytes,
            ..self.clone()
        }
    }
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
            statement_cpu: Duration::from_secs(10),
            statement_timeout: Duration::from_secs(120),
            statement_max_response_bytes: 32 << 20,
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

pub(super) fn load_server(
    file: &Path,
    overrides: &Overrides,
    resolve_secrets: bool,
    errors: &mut ConfigErrors,
) -> Option<ServerConfig> {
    let source = read(file, errors)?;
    let parsed = super::parse::document::<RawServer>(file, &source, errors);
    let raw = parsed.value?;
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
        taken_out: &parsed.taken_out,
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
        statement_cpu: c.millis(
            &l.statement_cpu_ms,
            d.statement_cpu.as_millis() as u64,
            1,
            600_000,
        ),
        statement_timeout: c.millis(
            &l.statement_timeout_ms,
            d.statement_timeout.as_millis() as u64,
            10,
            3_600_000,
        ),
        statement_max_response_bytes: c.bounded(
            &l.statement_max_response_bytes,
            32 << 20,
            1024,
            1 << 30,
        ) as usize,
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
