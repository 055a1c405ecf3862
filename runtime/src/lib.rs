//! paycore: a payment orchestration runtime. See ARCHITECTURE.md for the map.

// The pure core (domain types, configuration, routing's decision, payment
// requests), under the names the rest of the runtime uses.
pub use paycore_core::{channel, clock, config, domain, money};

pub mod app;
#[cfg(test)]
mod boundaries;
pub mod channel_settings;
pub mod checkout;
pub mod conformance;
pub mod http;
pub mod ledger;
pub mod outbound;
pub mod overhead;
pub mod payments;
pub mod plugin_host;
pub mod provenance;
pub mod published;
pub mod publishing;
pub mod reconcile;
pub mod registry;
pub mod reload;
pub mod replay;
pub mod routing;
pub mod scaffold;
pub mod store;
pub mod sweeper;
pub mod telemetry;
pub mod tls;
pub mod watch;
pub mod webhooks;
