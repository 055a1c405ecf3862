//! The `paycore` command's commands, one module per group; `main.rs` only
//! parses the command line and dispatches here. What every group shares:
//! the environment's overrides and loading a config for the operator's
//! commands.

pub mod check_config;
pub mod key;
pub mod plugin;
pub mod reconcile;
pub mod route;
pub mod serve;
pub mod tenant;

use paycore::config::{self, Overrides};
use std::path::Path;

/// `PAYCORE_LISTEN` and `PAYCORE_DATABASE_URL`, applied over the config file.
pub fn overrides() -> Overrides {
    Overrides {
        listen: std::env::var("PAYCORE_LISTEN").ok(),
        database_url: std::env::var("PAYCORE_DATABASE_URL").ok(),
    }
}

/// The configuration, or `None` after printing every problem in it.
pub fn config(path: &Path) -> Option<config::Config> {
    match config::load(path, &overrides()) {
        Ok(c) => Some(c),
        Err(errors) => {
            eprintln!("{errors}");
            None
        }
    }
}

/// The config for a publishing command, or `None` after printing every
/// problem in it: secrets are checked for form only, since they live on the
/// instances, not on the operator's machine.
pub fn publishing_config(path: &Path) -> Option<config::Config> {
    match paycore::publishing::config_for_publishing(path, &overrides()) {
        Ok(c) => Some(c),
        Err(errors) => {
            eprintln!("{errors}");
            None
        }
    }
}
