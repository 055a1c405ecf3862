//! `paycore route explain`: which rule and channels a payment would get
//! from what a server started now would serve (`paycore::app::explain`).

use anyhow::Context;
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum RouteCommand {
    /// Show which rule and channels a payment would get, as
    /// `POST /v1/routing/explain` does (breakers taken as closed).
    Explain {
        #[arg(long, default_value = "config/paycore.toml")]
        config: PathBuf,
        #[arg(long)]
        tenant: String,
        /// A payment body as JSON, as sent to `POST /v1/payments`.
        #[arg(long)]
        payment: PathBuf,
    },
}

pub async fn run(command: RouteCommand) -> anyhow::Result<ExitCode> {
    let RouteCommand::Explain {
        config,
        tenant,
        payment,
    } = command;
    let Some(cfg) = super::config(&config) else {
        return Ok(ExitCode::FAILURE);
    };
    let body = std::fs::read(&payment).with_context(|| format!("reading {}", payment.display()))?;
    // What a server started now would serve: published tenants and plugins too.
    let explanation = paycore::app::explain(&cfg, &super::overrides(), &tenant, &body).await?;
    println!("{}", serde_json::to_string_pretty(&explanation)?);
    Ok(ExitCode::SUCCESS)
}
