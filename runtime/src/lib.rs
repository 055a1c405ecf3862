//! paycore: a payment orchestration runtime. See ARCHITECTURE.md for the map.

pub mod app;
pub mod channel_settings;
pub mod checkout;
pub mod config;
pub mod conformance;
pub mod domain;
pub mod http;
pub mod outbound;
pub mod overhead;
pub mod payments;
pub mod plugin_host;
pub mod provenance;
pub mod published;
pub mod publishing;
pub mod registry;
pub mod reload;
pub mod replay;
pub mod routing;
pub mod scaffold;
pub mod store;
pub mod sweeper;
pub mod telemetry;
pub mod watch;
pub mod webhooks;
