//! paycore's benchmarks (`cargo xtask bench`, docs/performance.md): the
//! load generator, a real server to point it at, and the report.

pub mod loadgen;
pub mod phases;
pub mod reconcile_day;
pub mod report;
pub mod server;
pub mod stats;
pub mod svg;
pub mod upstream;
