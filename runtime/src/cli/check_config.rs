//! `paycore check-config`: every problem of the configuration, its plugins
//! and its channel bindings, each as file:line:column.

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
    // Every problem in one run: the files' own, then, for what of
    // them validated, the plugins' and the channel bindings'.
    let partial = config::load_partial(&config, &super::overrides(), Default::default());
    let mut problems: Vec<String> = partial.errors.0.iter().map(ToString::to_string).collect();
    if let Some(cfg) = &partial.config {
        problems.extend(paycore::app::check(cfg).await?);
    }
    if problems.is_empty() {
        let tenants = partial.config.map_or(0, |c| c.tenants.len());
        println!("{}: OK ({tenants} tenants)", config.display());
        Ok(ExitCode::SUCCESS)
    } else {
        for p in &problems {
            eprintln!("{p}");
        }
        Ok(ExitCode::FAILURE)
    }
}
