//! Configuration: `paycore.toml` and `tenants/*.toml`.
//!
//! Loading is two-phase, like a compiler: serde parses the raw TOML (unknown
//! keys and wrong types are errors with file:line:column), then validation
//! turns raw values into typed config and collects **every** problem rather
//! than stopping at the first, so `paycore check-config` can show them all.

pub mod api_keys;
mod diagnostics;
mod raw;
mod rules;
mod secrets;
mod typed;

pub use diagnostics::{ConfigError, ConfigErrors};
pub use secrets::{SecretRef, SecretValue};
pub use typed::{
    Canary, ChannelConfig, Config, Overrides, PluginLimits, PublishedTenant, SandboxProviderConfig,
    ServerConfig, SweeperConfig, TenantConfig, TenantLimits, TenantRate, TenantSources,
    WebhooksConfig, load, load_with, tenant_from_str,
};
