//! `paycore check-config`: every problem of the configuration, its plugins
//! and its channel bindings, each as file:line:column, as a server started
//! now would find them: the reloader's checks, with the tenant configs and
//! plugins published to the database (`paycore::app::check`).

use paycore::config;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value = "config/paycore.toml")]
    config: PathBuf,
}

pub async fn run(Args { config }: Args) -> anyhow::Result<ExitCode> {
    let _telemetry = paycore::telemetry::init(false, None)?;
    let overrides = super::overrides();
    // Every problem in one run: without a readable paycore.toml, the
    // files' own; else everything the reloader finds, published tenants
    // and plugins included.
    let partial = config::load_partial(&config, &overrides, Default::default());
    let (problems, tenants) = match &partial.config {
        Some(cfg) => {
            let checked = paycore::app::check(cfg, &overrides).await?;
            (checked.problems, checked.tenants)
        }
        None => (
            partial.errors.0.iter().map(ToString::to_string).collect(),
            0,
        ),
    };
    if problems.is_empty() {
        println!("{}: OK ({tenants} tenants)", config.display());
        Ok(ExitCode::SUCCESS)
    } else {
        for p in &problems {
            eprintln!("{p}");
        }
        Ok(ExitCode::FAILURE)
    }
}
