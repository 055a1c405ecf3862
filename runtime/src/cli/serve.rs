//! `paycore serve`: the cashier API, the plugins and the background workers,
//! until SIGINT or SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value = "config/paycore.toml")]
    config: PathBuf,
}

pub async fn run(Args { config }: Args) -> anyhow::Result<ExitCode> {
    let Some(cfg) = super::config(&config) else {
        return Ok(ExitCode::FAILURE);
    };
    let _telemetry =
        paycore::telemetry::init(cfg.server.json_logs, cfg.server.otlp_endpoint.as_deref())?;
    let app = paycore::app::start(cfg, super::overrides()).await?;
    println!(
        "paycore listening on {} (public URL {})",
        app.addr, app.public_url
    );
    shutdown_signal().await;
    tracing::info!("shutting down");
    app.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
