//! Turning a `.wasm` file into a plugin that can serve calls, with every
//! check done before it goes live.

use super::bindings::exports::paycore::channel::settings as wit_settings;
use super::bindings::{PluginExports, paycore::channel::types as wit};
use super::engine::PluginHost;
use super::imports::ChannelGrant;
use crate::channel_settings::{
    self, DescriptionError, Pattern, PatternError, Presence, SettingKind, SettingSpec,
};
use crate::domain::Scene;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// Interfaces a plugin may import. Everything else (files, sockets, HTTP
/// outside our mediated import) is refused before the plugin ever runs.
const ALLOWED_IMPORT_PREFIXES: &[&str] = &[
    "paycore:channel/",
    "wasi:io/",
    "wasi:cli/",
    "wasi:clocks/",
    "wasi:random/",
];

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("not a valid WebAssembly component: {0}")]
    Invalid(String),
    #[error("imports `{0}`, which plugins may not use")]
    ForbiddenImport(String),
    #[error("does not implement the paycore:channel contract: {0}")]
    Contract(String),
    #[error("its manifest could not be read: {0}")]
    Manifest(String),
    #[error("manifest: {0}")]
    BadManifest(ManifestError),
    /// Refused by `[plugin_policy]` (see `provenance`).
    #[error("{0}")]
    Untrusted(String),
}

/// Why a plugin's manifest is refused.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("name `{0}` must be 1-64 characters of a-z, 0-9, '-' or '_'")]
    Name(String),
    #[error("version `{version}`: {error}")]
    Version {
        version: String,
        error: semver::Error,
    },
    #[error("contract-version `{version}`: {error}")]
    ContractVersion {
        version: String,
        error: semver::Error,
    },
    #[error(
        "built for contract {built_for}, this runtime implements {host} (same major, minor up to {})",
        .host.minor
    )]
    Contract {
        built_for: semver::Version,
        host: semver::Version,
    },
    #[error("must declare at least one scene, wallet and currency")]
    NothingServed,
    #[error("currency `{currency}`: {error}")]
    Currency {
        currency: String,
        error: paycore_plugin_sdk::money::MoneyError,
    },
    #[error("host `{0}` must be a bare host name or IP")]
    Host(String),
    #[error("setting `{setting}`: {error}")]
    Pattern {
        setting: String,
        error: PatternError,
    },
    #[error(transparent)]
    Settings(#[from] DescriptionError),
}

/// The manifest a plugin declares, checked and typed.
#[derive(Debug, Clone)]
pub struct PluginManifest {
    pub name: String,
    pub version: semver::Version,
    pub contract_version: semver::Version,
    pub description: String,
    pub scenes: Vec<Scene>,
    pub wallets: Vec<String>,
    pub currencies: Vec<String>,
    /// Every setting the plugin reads, in the manifest's order: described
    /// (contract 1.1), or required text for a plugin that describes none.
    pub settings: Vec<SettingSpec>,
    /// Whether the plugin described its settings (a 1.1 `settings` export).
    pub settings_described: bool,
    pub secrets: Vec<String>,
    pub hosts: Vec<String>,
}

impl PluginManifest {
    pub fn setting_names(&self) -> impl Iterator<Item = &str> {
        self.settings.iter().map(|s| s.name.as_str())
    }
}

/// A compiled, checked plugin; cheap to clone and share across calls.
#[derive(Clone)]
pub struct Plugin {
    pub manifest: Arc<PluginManifest>,
    /// sha256 of the `.wasm` bytes, hex.
    pub digest: String,
    pub(super) label: Arc<str>,
    pub(super) exports: PluginExports<super::imports::CallState>,
    /// How the component was obtained, and how long checks and all took.
    pub load: LoadInfo,
    /// Calls running on this plugin right now (shared by all clones): a
    /// retired version is gone once this reaches zero.
    pub(super) in_flight: Arc<std::sync::atomic::AtomicUsize>,
    /// The interfaces the component imports, without their versions
    /// (`paycore:channel/ledger`).
    pub(super) imports: Arc<[String]>,
    /// Served by the logic compiled into the host (see `native`).
    #[cfg(feature = "native-sandbox")]
    pub(super) native: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadInfo {
    /// The compiled code came from the on-disk cache.
    pub from_cache: bool,
    /// From reading the bytes to a checked, callable plugin.
    pub millis: f64,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("label", &self.label)
            .field("digest", &self.digest)
            .finish()
    }
}

impl Plugin {
    /// `name@version`, as it appears in logs and errors.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Calls running on this plugin version right now.
    pub fn calls_in_flight(&self) -> usize {
        self.in_flight.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether the component imports `interface` (`paycore:channel/ledger`),
    /// in any version. An import says what the plugin can call, not what it
    /// does: a plugin built with the SDK imports every interface of its
    /// contract, since each `Host` method is reachable from the `&dyn Host`
    /// its operations receive.
    pub fn imports(&self, interface: &str) -> bool {
        self.imports.iter().any(|i| i == interface)
    }
}

impl PluginHost {
    pub async fn load_file(&self, path: &Path) -> Result<Plugin, LoadError> {
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|error| LoadError::Read {
                path: path.display().to_string(),
                error,
            })?;
        self.load_bytes(bytes).await
    }

    /// Compiles off the async workers (compiling takes tens to hundreds of
    /// milliseconds), checks imports and the manifest.
    pub async fn load_bytes(&self, bytes: Vec<u8>) -> Result<Plugin, LoadError> {
        let digest = hex::encode(Sha256::digest(&bytes));
        let engine = self.inner.engine.clone();
        let cache = self.inner.cache.clone();
        let key = digest.clone();
        let started = std::time::Instant::now();
        let (component, source) = tokio::task::spawn_blocking(move || {
            super::cache::compile(&engine, &bytes, &key, cache.as_ref())
        })
        .await
        .map_err(|e| LoadError::Invalid(e.to_string()))?
        .map_err(|e| LoadError::Invalid(first_line(&e.to_string())))?;
        tracing::debug!(digest = %digest, ?source, ms = started.elapsed().as_secs_f64() * 1000.0, "component compiled or loaded");
        let mut imports = Vec::new();
        for (name, _) in component.component_type().imports(&self.inner.engine) {
            if !ALLOWED_IMPORT_PREFIXES.iter().any(|p| name.starts_with(p)) {
                return Err(LoadError::ForbiddenImport(name.to_string()));
            }
            let unversioned = name
                .split_once('@')
                .map_or(name, |(interface, _)| interface);
            imports.push(unversioned.to_string());
        }
        let pre = self
            .inner
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Contract(first_line(&e.to_string())))?;
        let exports =
            PluginExports::new(pre).map_err(|e| LoadError::Contract(first_line(&e.to_string())))?;
        let probe = Plugin {
            manifest: Arc::new(placeholder_manifest()),
            digest: digest.clone(),
            label: "<loading>".into(),
            exports,
            load: LoadInfo {
                from_cache: source == super::cache::Source::Cached,
                millis: 0.0,
            },
            in_flight: Default::default(),
            imports: imports.into(),
            #[cfg(feature = "native-sandbox")]
            native: false,
        };
        let (raw, described) = self
            .call_manifest(&probe)
            .await
            .map_err(|e| LoadError::Manifest(e.to_string()))?;
        let manifest = check_manifest(raw, described).map_err(LoadError::BadManifest)?;
        let label: Arc<str> = format!("{}@{}", manifest.name, manifest.version).into();
        let load = LoadInfo {
            millis: started.elapsed().as_secs_f64() * 1000.0,
            ..probe.load
        };
        Ok(Plugin {
            #[cfg(feature = "native-sandbox")]
            native: manifest.name == super::native::PLUGIN_NAME,
            manifest: Arc::new(manifest),
            digest,
            label,
            exports: probe.exports,
            load,
            in_flight: probe.in_flight,
            imports: probe.imports,
        })
    }
}

/// The grant a channel gets: what its config allows, and only what the
/// plugin's manifest asked for.
pub fn grant_for(
    plugin: &PluginManifest,
    tenant: &str,
    channel: &str,
    allowed_hosts: &[String],
    secrets: &BTreeMap<String, crate::config::SecretValue>,
) -> ChannelGrant {
    ChannelGrant {
        tenant: tenant.to_string(),
        channel: channel.to_string(),
        hosts: allowed_hosts
            .iter()
            .filter(|h| plugin.hosts.contains(h))
            .cloned()
            .collect(),
        secrets: secrets
            .iter()
            .filter(|(k, _)| plugin.secrets.contains(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        tracer: None,
        programs: Arc::from([]),
        timezone: crate::clock::TimeZone::UTC,
    }
}

fn placeholder_manifest() -> PluginManifest {
    PluginManifest {
        name: String::new(),
        version: semver::Version::new(0, 0, 0),
        contract_version: super::CONTRACT_VERSION,
        description: String::new(),
        scenes: Vec::new(),
        wallets: Vec::new(),
        currencies: Vec::new(),
        settings: Vec::new(),
        settings_described: false,
        secrets: Vec::new(),
        hosts: Vec::new(),
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).to_string()
}

/// The manifest and, from a 1.1 plugin, what its settings are.
fn check_manifest(
    raw: wit::Manifest,
    described: Option<Vec<wit_settings::SettingSpec>>,
) -> Result<PluginManifest, ManifestError> {
    let valid_name = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    };
    if !valid_name(&raw.name) {
        return Err(ManifestError::Name(raw.name));
    }
    let version = semver::Version::parse(&raw.version).map_err(|error| ManifestError::Version {
        version: raw.version.clone(),
        error,
    })?;
    let contract_version = semver::Version::parse(&raw.contract_version).map_err(|error| {
        ManifestError::ContractVersion {
            version: raw.contract_version.clone(),
            error,
        }
    })?;
    let host = super::CONTRACT_VERSION;
    if contract_version.major != host.major || contract_version.minor > host.minor {
        return Err(ManifestError::Contract {
            built_for: contract_version,
            host,
        });
    }
    if raw.scenes.is_empty() || raw.wallets.is_empty() || raw.currencies.is_empty() {
        return Err(ManifestError::NothingServed);
    }
    for c in &raw.currencies {
        paycore_plugin_sdk::money::exponent(c).map_err(|error| ManifestError::Currency {
            currency: c.clone(),
            error,
        })?;
    }
    for h in &raw.hosts {
        if h.is_empty() || h.contains('/') || h.contains(':') && !h.starts_with('[') {
            return Err(ManifestError::Host(h.clone()));
        }
    }
    let settings_described = described.is_some();
    let described = described
        .unwrap_or_default()
        .into_iter()
        .map(setting_from_wit)
        .collect::<Result<Vec<_>, _>>()?;
    let settings = channel_settings::describe(&raw.settings, described)?;
    Ok(PluginManifest {
        name: raw.name,
        version,
        contract_version,
        description: raw.description,
        scenes: raw.scenes.into_iter().map(scene_from_wit).collect(),
        wallets: raw.wallets,
        currencies: raw.currencies,
        settings,
        settings_described,
        secrets: raw.secrets,
        hosts: raw
            .hosts
            .into_iter()
            .map(|h| h.to_ascii_lowercase())
            .collect(),
    })
}

/// A setting description as the rest of the host knows it; its pattern is
/// compiled here, once, so a bad one refuses the plugin.
fn setting_from_wit(spec: wit_settings::SettingSpec) -> Result<SettingSpec, ManifestError> {
    let kind = match spec.kind {
        wit_settings::SettingKind::Text(bounds) => SettingKind::Text {
            max_length: bounds.max_length,
            pattern: bounds
                .pattern
                .map(|p| Pattern::new(&p))
                .transpose()
                .map_err(|error| ManifestError::Pattern {
                    setting: spec.name.clone(),
                    error,
                })?,
        },
        wit_settings::SettingKind::Url => SettingKind::Url,
        wit_settings::SettingKind::OneOf(values) => SettingKind::OneOf(values),
        wit_settings::SettingKind::Integer(range) => SettingKind::Integer {
            min: range.min,
            max: range.max,
        },
    };
    let presence = match spec.presence {
        wit_settings::Presence::Required => Presence::Required,
        wit_settings::Presence::Optional => Presence::Optional,
        wit_settings::Presence::Defaulted(value) => Presence::Defaulted(value),
    };
    Ok(SettingSpec {
        name: spec.name,
        description: spec.description,
        kind,
        presence,
    })
}

pub fn scene_from_wit(s: wit::Scene) -> Scene {
    match s {
        wit::Scene::Barcode => Scene::Barcode,
        wit::Scene::Qrcode => Scene::Qrcode,
        wit::Scene::Jsapi => Scene::Jsapi,
        wit::Scene::App => Scene::App,
        wit::Scene::H5 => Scene::H5,
        wit::Scene::Web => Scene::Web,
        wit::Scene::Face => Scene::Face,
    }
}

pub fn scene_to_wit(s: Scene) -> wit::Scene {
    match s {
        Scene::Barcode => wit::Scene::Barcode,
        Scene::Qrcode => wit::Scene::Qrcode,
        Scene::Jsapi => wit::Scene::Jsapi,
        Scene::App => wit::Scene::App,
        Scene::H5 => wit::Scene::H5,
        Scene::Web => wit::Scene::Web,
        Scene::Face => wit::Scene::Face,
        // Never sent: a checkout payment is stored under the scene its
        // channel was asked for (`qrcode`, `jsapi`) before any call.
        Scene::Checkout => wit::Scene::Qrcode,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(contract: &str, settings: &[&str]) -> wit::Manifest {
        wit::Manifest {
            name: "p".into(),
            version: "1.0.0".into(),
            contract_version: contract.into(),
            description: String::new(),
            scenes: vec![wit::Scene::Barcode],
            wallets: vec!["w".into()],
            currencies: vec!["CNY".into()],
            settings: settings.iter().map(|s| s.to_string()).collect(),
            secrets: vec![],
            hosts: vec![],
        }
    }

    fn url(name: &str) -> wit_settings::SettingSpec {
        wit_settings::SettingSpec {
            name: name.into(),
            description: "where".into(),
            kind: wit_settings::SettingKind::Url,
            presence: wit_settings::Presence::Required,
        }
    }

    #[test]
    fn every_older_minor_of_the_major_loads_and_nothing_newer() {
        for contract in ["1.0.0", "1.1.0", "1.0.7"] {
            assert!(
                check_manifest(manifest(contract, &[]), None).is_ok(),
                "{contract}"
            );
        }
        for contract in ["1.2.0", "2.0.0", "0.9.0"] {
            let refused = check_manifest(manifest(contract, &[]), None)
                .unwrap_err()
                .to_string();
            assert!(
                refused.contains(&format!(
                    "built for contract {contract}, this runtime implements 1.1.0"
                )),
                "{refused}"
            );
        }
    }

    #[test]
    fn settings_are_typed_when_described_and_required_text_otherwise() {
        let untyped =
            check_manifest(manifest("1.0.0", &["base_url", "merchant_id"]), None).unwrap();
        assert!(!untyped.settings_described);
        assert_eq!(untyped.settings[0], SettingSpec::untyped("base_url"));

        let typed = check_manifest(
            manifest("1.1.0", &["base_url", "merchant_id"]),
            Some(vec![url("base_url")]),
        )
        .unwrap();
        assert!(typed.settings_described);
        assert_eq!(typed.settings[0].kind, SettingKind::Url);
        assert_eq!(typed.settings[1], SettingSpec::untyped("merchant_id"));

        let unlisted = check_manifest(manifest("1.1.0", &[]), Some(vec![url("base_url")]));
        assert!(unlisted.unwrap_err().to_string().contains("does not list"));
        let bad_pattern = wit_settings::SettingSpec {
            kind: wit_settings::SettingKind::Text(wit_settings::TextBounds {
                max_length: None,
                pattern: Some("[".into()),
            }),
            ..url("base_url")
        };
        let refused = check_manifest(manifest("1.1.0", &["base_url"]), Some(vec![bad_pattern]));
        assert!(
            refused
                .unwrap_err()
                .to_string()
                .starts_with("setting `base_url`: pattern `[`")
        );
    }
}
