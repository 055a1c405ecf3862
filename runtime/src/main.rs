//! The `paycore` command: serve, check a configuration, inspect, publish
//! and decide on plugins, publish tenant configs. This file only parses the
//! command line; each group of commands is a module of `cli`.

mod cli;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "paycore",
    version,
    about = "Payment orchestration runtime with sandboxed WebAssembly channel plugins"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the cashier API, the plugins and the background workers.
    Serve(cli::serve::Args),
    /// Validate the configuration, the plugins and every channel binding;
    /// print each problem as file:line:column and exit 1 if there is any.
    CheckConfig(cli::check_config::Args),
    /// Inspect routing decisions.
    Route {
        #[command(subcommand)]
        command: cli::route::RouteCommand,
    },
    /// Work with plugin files.
    Plugin {
        #[command(subcommand)]
        command: cli::plugin::PluginCommand,
    },
    /// Make API keys and their hashed references for tenant files.
    Key {
        #[command(subcommand)]
        command: cli::key::KeyCommand,
    },
    /// Reconcile a channel's business day against its statement; print
    /// the summary and each open difference, exit 1 if any remain.
    Reconcile(cli::reconcile::Args),
    /// Publish tenant configs to the database, for instances without a
    /// shared tenants folder.
    Tenant {
        #[command(subcommand)]
        command: cli::tenant::TenantCommand,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Serve(args) => cli::serve::run(args).await,
        Command::CheckConfig(args) => cli::check_config::run(args).await,
        Command::Route { command } => cli::route::run(command).await,
        Command::Plugin { command } => cli::plugin::run(command).await,
        Command::Key { command } => cli::key::run(command),
        Command::Tenant { command } => cli::tenant::run(command).await,
        Command::Reconcile(args) => cli::reconcile::run(args).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
