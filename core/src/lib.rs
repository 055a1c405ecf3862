//! paycore's pure core: what a payment, a tenant's configuration and a
//! routing decision *are*, with no WebAssembly host, no database and no
//! network. The runtime (`paycore`) builds on it and re-exports it; the
//! command-line checks and the fuzz targets use it directly, so fuzzing a
//! parser never needs the host built. See ARCHITECTURE.md for the map.

pub mod channel;
pub mod clock;
pub mod config;
pub mod domain;
pub mod fuzzing;
pub mod ledger;
pub mod money;
pub mod outbound;
pub mod provenance;
pub mod reconcile;
pub mod request;
pub mod routing;
