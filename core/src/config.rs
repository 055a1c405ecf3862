//! Configuration: `paycore.toml` and `tenants/*.toml`.
//!
//! Loading is two-phase, like a compiler: serde parses the raw TOML (unknown
//! keys and wrong types are errors with file:line:column, every one of them:
//! see `parse`), then validation turns raw values into typed config and
//! collects **every** problem rather than stopping at the first, so
//! `paycore check-config` can show them all. A config with problems is
//! never served, but what validated of it (`Partial`) is still checked
//! against the plugins, so their problems show in the same run.

pub mod api_keys;
mod database;
mod diagnostics;
mod parse;
mod raw;
mod rules;
mod secrets;
mod typed;

pub use database::Backend;
pub use diagnostics::{ConfigError, ConfigErrors};
pub use secrets::{SecretRef, SecretValue};
pub use typed::{
    Canary, ChannelConfig, Config, Overrides, Partial, PluginLimits, PublishedTenant,
    SandboxProviderConfig, ServerConfig, SweeperConfig, TenantConfig, TenantLimits, TenantRate,
    TenantSources, WebhooksConfig, load, load_partial, load_with, tenant_from_str,
};
