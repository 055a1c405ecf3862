//! The operator's side of publishing to the database: `paycore plugin
//! publish|unpublish` and `paycore tenant publish|withdraw|history`. Each
//! command checks what it stores exactly as an instance would before it
//! stores it; the instances' side (hearing of a change and reloading) is
//! `published`.

use crate::config::{self, Config, Overrides, PublishedTenant, TenantSources};
use crate::plugin_host::PluginHost;
use crate::store::{Backend, Store, TenantPublish};
use anyhow::Context;
use std::path::Path;

/// `paycore plugin publish`: checks `file` as the runtime would load it, then
/// stores it in the configured database, where every instance picks it up
/// (at once on PostgreSQL, by `NOTIFY`). Answers what happened.
pub async fn publish_plugin(config: &Config, file: &Path) -> anyhow::Result<String> {
    crate::tls::install_crypto_provider();
    let host = PluginHost::new(config.server.limits.clone())?;
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    if let Err(reason) = crate::provenance::admit(&config.server.plugin_policy, &bytes) {
        anyhow::bail!("{} was refused: {reason}", file.display());
    }
    let plugin = host
        .load_bytes(bytes.clone())
        .await
        .with_context(|| format!("{} was refused", file.display()))?;
    let store = Store::open_configured(&config.server).await?;
    let published = crate::store::PublishedPlugin {
        digest: plugin.digest.clone(),
        name: plugin.manifest.name.clone(),
        version: plugin.manifest.version.to_string(),
    };
    let label = plugin.label();
    match store.publish_plugin(&published, &bytes).await {
        Ok(crate::store::Publish::Published) => Ok(format!(
            "published {label} (sha256:{}){}",
            plugin.digest,
            match store.backend() {
                crate::store::Backend::Postgres => "; instances are loading it",
                crate::store::Backend::Sqlite =>
                    "; it loads on the next reload (POST /admin/reload)",
            }
        )),
        Ok(crate::store::Publish::AlreadyPublished) => Ok(format!(
            "{label} (sha256:{}) was already published",
            plugin.digest
        )),
        Err(crate::store::StoreError::Conflict(_)) => anyhow::bail!(
            "another build of {label} is published; versions are immutable, publish a new version instead"
        ),
        Err(e) => Err(e.into()),
    }
}

/// `paycore plugin unpublish NAME@VERSION`.
pub async fn unpublish_plugin(config: &Config, label: &str) -> anyhow::Result<String> {
    let (name, version) = label
        .split_once('@')
        .with_context(|| format!("`{label}` is not NAME@VERSION"))?;
    let store = Store::open_configured(&config.server).await?;
    if store.unpublish_plugin(name, version).await? {
        Ok(format!("unpublished {label}; instances retire it"))
    } else {
        anyhow::bail!("{label} is not published")
    }
}

/// `paycore tenant publish FILE`: checks the tenant config in `file` together
/// with the tenants folder and every other published tenant (ids and API
/// keys must stay unique; secrets must be `env:`/`file:` references, which
/// each instance resolves itself), then stores it as the tenant's newest
/// revision. `Err` carries every problem, as file:line:column.
pub async fn publish_tenant(
    config_file: &Path,
    overrides: &Overrides,
    file: &Path,
) -> anyhow::Result<Result<String, Vec<String>>> {
    let source =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    // Without a readable id the check below reports why, at file:line:column.
    let tenant_id = tenant_id_of(&source).unwrap_or_default();
    let config = match config_for_publishing(config_file, overrides) {
        Ok(config) => config,
        Err(problems) => return Ok(Err(problems.0.iter().map(|e| e.to_string()).collect())),
    };
    let store = Store::open_configured(&config.server).await?;
    let mut published: Vec<PublishedTenant> = store
        .serving_tenant_configs()
        .await?
        .into_iter()
        .filter(|p| p.tenant_id != tenant_id)
        .collect();
    published.push(PublishedTenant {
        tenant_id: tenant_id.clone(),
        origin: file.display().to_string(),
        source: source.clone(),
    });
    if let Err(problems) = checking_config(config_file, overrides, &published)? {
        return Ok(Err(problems));
    }
    let delivery = match store.backend() {
        Backend::Postgres => "; instances are loading it",
        Backend::Sqlite => "; it serves from the next reload (POST /admin/reload)",
    };
    Ok(Ok(
        match store
            .publish_tenant(&tenant_id.clone().into(), &source)
            .await
        {
            Ok(TenantPublish::Published { revision }) => {
                format!("published tenant `{tenant_id}` as revision {revision}{delivery}")
            }
            Ok(TenantPublish::Unchanged { revision }) => {
                format!("tenant `{tenant_id}` revision {revision} already has this config")
            }
            Err(crate::store::StoreError::Conflict(_)) => anyhow::bail!(
                "tenant `{tenant_id}` was published by someone else meanwhile; check and publish again"
            ),
            Err(e) => return Err(e.into()),
        },
    ))
}

/// `paycore tenant withdraw ID`: the tenant stops serving on every instance;
/// its payments stay in the database and its history keeps the config.
pub async fn withdraw_tenant(config: &Config, tenant_id: &str) -> anyhow::Result<String> {
    let store = Store::open_configured(&config.server).await?;
    match store.withdraw_tenant(&tenant_id.into()).await? {
        Some(revision) => Ok(format!(
            "withdrew tenant `{tenant_id}` (revision {revision}); instances stop serving it"
        )),
        None => anyhow::bail!("tenant `{tenant_id}` has no published config"),
    }
}

/// `paycore tenant history`: every revision, newest first per tenant.
pub async fn tenant_history(config: &Config) -> anyhow::Result<String> {
    let store = Store::open_configured(&config.server).await?;
    let mut out = format!(
        "{:<24} {:>8}  {:<10} {:<14} {}\n",
        "tenant", "revision", "state", "sha256", "published at"
    );
    let mut newest_seen = std::collections::HashSet::new();
    for r in store.tenant_history().await? {
        let newest = newest_seen.insert(r.tenant_id.clone());
        let state = match (&r.source, newest) {
            (None, _) => "withdrawn",
            (Some(_), true) => "serving",
            (Some(_), false) => "superseded",
        };
        let digest = r.digest.get(..12).unwrap_or("-");
        out.push_str(&format!(
            "{:<24} {:>8}  {:<10} {:<14} {}\n",
            r.tenant_id, r.revision, state, digest, r.published_at
        ));
    }
    Ok(out)
}

/// The config the publishing commands need (the database URL above all),
/// with secrets checked for form only: the operator's machine need not
/// hold the instances' secrets.
pub fn config_for_publishing(
    config_file: &Path,
    overrides: &Overrides,
) -> Result<Config, config::ConfigErrors> {
    config::load_with(
        config_file,
        overrides,
        TenantSources {
            published: &[],
            resolve_secrets: false,
        },
    )
}

/// The config as an instance would see it with `published` beside the
/// folder, secrets checked for form only (they live on the instances).
fn checking_config(
    config_file: &Path,
    overrides: &Overrides,
    published: &[PublishedTenant],
) -> anyhow::Result<Result<Config, Vec<String>>> {
    let sources = TenantSources {
        published,
        resolve_secrets: false,
    };
    Ok(config::load_with(config_file, overrides, sources)
        .map_err(|problems| problems.0.iter().map(|e| e.to_string()).collect()))
}

/// The `id` a tenant config declares, if it is TOML with a string `id`.
fn tenant_id_of(source: &str) -> Option<String> {
    let table: toml::Table = toml::from_str(source).ok()?;
    table.get("id")?.as_str().map(str::to_string)
}
