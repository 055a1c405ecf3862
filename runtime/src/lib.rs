//! paycore: a payment orchestration runtime. See ARCHITECTURE.md for the map.

pub mod config;
pub mod domain;
pub mod plugin_host;
pub mod store;
pub mod payments;
pub mod registry;
pub mod routing;
pub mod http;
pub mod app;
pub mod sweeper;
pub mod telemetry;
pub mod webhooks;
