//! `paycore tenant publish|withdraw|history`: tenant configs published to the
//! database, for instances without a shared tenants folder.

use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum TenantCommand {
    /// Check a tenant config as every instance would and store it as the
    /// tenant's newest revision; instances on PostgreSQL serve it at once.
    Publish {
        file: PathBuf,
        #[arg(long, default_value = "config/paycore.toml")]
        config: PathBuf,
    },
    /// Stop serving a published tenant on every instance (its payments stay).
    Withdraw {
        id: String,
        #[arg(long, default_value = "config/paycore.toml")]
        config: PathBuf,
    },
    /// List every published revision of every tenant.
    History {
        #[arg(long, default_value = "config/paycore.toml")]
        config: PathBuf,
    },
}

pub async fn run(command: TenantCommand) -> anyhow::Result<ExitCode> {
    match command {
        TenantCommand::Publish { file, config } => {
            match paycore::publishing::publish_tenant(&config, &super::overrides(), &file).await? {
                Ok(done) => println!("{done}"),
                Err(problems) => {
                    for p in &problems {
                        eprintln!("{p}");
                    }
                    eprintln!("{}: not published", file.display());
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
        TenantCommand::Withdraw { id, config } => {
            let Some(cfg) = super::publishing_config(&config) else {
                return Ok(ExitCode::FAILURE);
            };
            println!("{}", paycore::publishing::withdraw_tenant(&cfg, &id).await?);
        }
        TenantCommand::History { config } => {
            let Some(cfg) = super::publishing_config(&config) else {
                return Ok(ExitCode::FAILURE);
            };
            print!("{}", paycore::publishing::tenant_history(&cfg).await?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
