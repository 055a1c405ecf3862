//! Loading a whole config: `paycore.toml`, the tenants folder and any
//! published tenants, every problem collected (see the module comment of
//! `config`).

use super::checker::{Checker, SecretPolicy};
use super::diagnostics::{ConfigError, ConfigErrors};
use super::raw::RawTenant;
use super::server::{ServerConfig, load_server};
use super::tenant::{TenantConfig, check_tenant};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Everything paycore needs to run: the server file and every tenant file.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub tenants: Vec<TenantConfig>,
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

pub(super) fn read(file: &Path, errors: &mut ConfigErrors) -> Option<String> {
    match std::fs::read_to_string(file) {
        Ok(s) => Some(s),
        Err(e) => {
            errors.push(ConfigError::whole_file(file, format!("cannot read: {e}")));
            None
        }
    }
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
            taken_out: &parsed.taken_out,
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

/// One tenant file's text, validated on its own (the tests of the rules and
/// the config fuzz target use it; secrets are resolved as written).
pub fn tenant_from_str(file: &Path, source: &str) -> Result<TenantConfig, ConfigErrors> {
    let mut errors = ConfigErrors::default();
    let parsed = super::parse::document::<RawTenant>(file, source, &mut errors);
    let Some(raw) = parsed.value else {
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
        taken_out: &parsed.taken_out,
    };
    let tenant = check_tenant(&raw, &mut c);
    if errors.is_empty() {
        Ok(tenant)
    } else {
        errors.sort_within_files();
        Err(errors)
    }
}
