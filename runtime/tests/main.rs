//! The runtime's integration tests, one binary: each file beside this one
//! is a module (`cargo test -p paycore --test runtime store::` runs one), so
//! the runtime and its dependencies are linked once rather than once per
//! file. Tests share the process and run in parallel, each with its own
//! folder, database and `paycore` processes.
//!
//! The tests that need PostgreSQL (`instances`) are ignored unless asked for
//! (`--ignored`); `cargo xtask test` runs them on its PostgreSQL pass.

mod support {
    pub mod process;
    pub mod proxy;
    pub mod wait;
}

mod card_crash;
mod crash;
mod instances;
mod ledger;
mod plugin_cli;
mod store;
