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
mod card_programs;
mod channel;
mod checker;
mod database;
mod diagnostics;
mod load;
mod parse;
mod raw;
mod rules;
mod secrets;
mod server;
mod tenant;
#[cfg(test)]
mod tests;

pub use card_programs::{
    BonusTier, CN_ANONYMOUS_CAP, CN_ANONYMOUS_MIN_VALIDITY_DAYS, CN_NAMED_CAP, CardProgram,
    CouponTerms, DEFAULT_JURISDICTION, Discount, ProgramUnit, jurisdiction_cap,
};
pub use channel::{Canary, ChannelConfig};
pub use database::Backend;
pub use diagnostics::{ConfigError, ConfigErrors};
pub use load::{
    Config, Overrides, Partial, PublishedTenant, TenantSources, load, load_partial, load_with,
    tenant_from_str,
};
pub use secrets::{SecretRef, SecretValue};
pub use server::{
    DEFAULT_SWEEPER_BACKOFF_MS, DEFAULT_WEBHOOK_RETRY_MS, PluginLimits, SandboxProviderConfig,
    ServerConfig, SweeperConfig, WebhooksConfig,
};
pub use tenant::{
    CheckoutSettings, DEFAULT_CALLBACKS_PER_SECOND, DEFAULT_MAX_CONCURRENT_REQUESTS,
    DEFAULT_MAX_ENTERED_AMOUNT, RefundsFirst, TenantConfig, TenantLimits, TenantRate,
};
