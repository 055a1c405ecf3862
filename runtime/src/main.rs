//! The `paycore` command: serve, check a configuration, inspect a plugin.

use anyhow::Context;
use clap::{Parser, Subcommand};
use paycore::config::{self, Overrides};
use std::path::PathBuf;
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
    Serve {
        #[arg(long, default_value = "config/paycore.toml")]
        config: PathBuf,
    },
    /// Validate the configuration, the plugins and every channel binding;
    /// print each problem as file:line:column and exit 1 if there is any.
    CheckConfig {
        #[arg(long, default_value = "config/paycore.toml")]
        config: PathBuf,
    },
    /// Inspect routing decisions.
    Route {
        #[command(subcommand)]
        command: RouteCommand,
    },
    /// Work with plugin files.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
}

#[derive(Subcommand)]
enum RouteCommand {
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

#[derive(Subcommand)]
enum PluginCommand {
    /// Load a plugin with every check the runtime applies and print its manifest.
    Inspect { file: PathBuf },
    /// Create a standalone plugin crate: a worked example channel, a native
    /// unit test, a README and a conformance profile.
    New {
        name: String,
        /// Where to create it [default: ./NAME].
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Depend on the SDK at this path instead of the registry version
        /// (the default outside paycore's source tree).
        #[arg(long)]
        sdk_path: Option<PathBuf>,
    },
    /// Replay a recording (`POST /admin/channels/{tenant}/{channel}/recording`)
    /// on another plugin version and print every output that changed; exit 1
    /// if any did.
    Replay {
        recording: PathBuf,
        #[arg(long)]
        plugin: PathBuf,
    },
    /// Run the conformance suite on a plugin against a scripted upstream:
    /// print a pass/fail table and resource figures; exit 1 if a check fails.
    Test {
        file: PathBuf,
        /// The plugin's conformance profile [default: FILE with the
        /// extension `.conformance.toml`].
        #[arg(long)]
        profile: Option<PathBuf>,
    },
    /// Approve NAME@VERSION to ask for hosts or secrets its predecessor did not
    /// (asks the running paycore named by the config).
    Approve {
        label: String,
        #[arg(long, default_value = "config/paycore.toml")]
        config: PathBuf,
    },
    /// Take the newest version of NAME out of service; channels return to the previous one.
    Rollback {
        name: String,
        #[arg(long, default_value = "config/paycore.toml")]
        config: PathBuf,
    },
    /// Put a rolled-back NAME@VERSION back into service.
    Restore {
        label: String,
        #[arg(long, default_value = "config/paycore.toml")]
        config: PathBuf,
    },
    /// Store a plugin in the database the config names, after every check
    /// the runtime applies; instances on PostgreSQL load it at once.
    Publish {
        file: PathBuf,
        #[arg(long, default_value = "config/paycore.toml")]
        config: PathBuf,
    },
    /// Remove a published NAME@VERSION from the database; instances retire it.
    Unpublish {
        label: String,
        #[arg(long, default_value = "config/paycore.toml")]
        config: PathBuf,
    },
}

fn overrides() -> Overrides {
    Overrides {
        listen: std::env::var("PAYCORE_LISTEN").ok(),
        database_url: std::env::var("PAYCORE_DATABASE_URL").ok(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve { config } => {
            let cfg = match config::load(&config, &overrides()) {
                Ok(c) => c,
                Err(errors) => {
                    eprintln!("{errors}");
                    return Ok(ExitCode::FAILURE);
                }
            };
            let _telemetry = paycore::telemetry::init(
                cfg.server.json_logs,
                cfg.server.otlp_endpoint.as_deref(),
            )?;
            let app = paycore::app::start(cfg, overrides()).await?;
            println!(
                "paycore listening on {} (public URL {})",
                app.addr, app.public_url
            );
            shutdown_signal().await;
            tracing::info!("shutting down");
            app.shutdown().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckConfig { config } => {
            let _telemetry = paycore::telemetry::init(false, None)?;
            let cfg = match config::load(&config, &overrides()) {
                Ok(c) => c,
                Err(errors) => {
                    eprintln!("{errors}");
                    return Ok(ExitCode::FAILURE);
                }
            };
            let problems = paycore::app::check(&cfg).await?;
            if problems.is_empty() {
                println!("{}: OK ({} tenants)", config.display(), cfg.tenants.len());
                Ok(ExitCode::SUCCESS)
            } else {
                for p in &problems {
                    eprintln!("{p}");
                }
                Ok(ExitCode::FAILURE)
            }
        }
        Command::Route {
            command:
                RouteCommand::Explain {
                    config,
                    tenant,
                    payment,
                },
        } => {
            let cfg = match config::load(&config, &overrides()) {
                Ok(c) => c,
                Err(errors) => {
                    eprintln!("{errors}");
                    return Ok(ExitCode::FAILURE);
                }
            };
            let body = std::fs::read(&payment)
                .with_context(|| format!("reading {}", payment.display()))?;
            let explanation = paycore::app::explain(&cfg, &tenant, &body).await?;
            println!("{}", serde_json::to_string_pretty(&explanation)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugin {
            command: PluginCommand::Approve { label, config },
        } => admin_post(&config, &format!("/admin/plugins/{label}/approve")).await,
        Command::Plugin {
            command: PluginCommand::Rollback { name, config },
        } => admin_post(&config, &format!("/admin/plugins/{name}/rollback")).await,
        Command::Plugin {
            command: PluginCommand::Restore { label, config },
        } => admin_post(&config, &format!("/admin/plugins/{label}/restore")).await,
        Command::Plugin {
            command: PluginCommand::Publish { file, config },
        } => {
            let Some(cfg) = load_config(&config) else {
                return Ok(ExitCode::FAILURE);
            };
            println!("{}", paycore::app::publish_plugin(&cfg, &file).await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugin {
            command: PluginCommand::Unpublish { label, config },
        } => {
            let Some(cfg) = load_config(&config) else {
                return Ok(ExitCode::FAILURE);
            };
            println!("{}", paycore::app::unpublish_plugin(&cfg, &label).await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugin {
            command:
                PluginCommand::New {
                    name,
                    dir,
                    sdk_path,
                },
        } => {
            let dir = dir.unwrap_or_else(|| PathBuf::from(&name));
            let sdk = match sdk_path {
                Some(p) => paycore::scaffold::Sdk::Path(p),
                None => paycore::scaffold::default_sdk(&dir),
            };
            let files =
                paycore::scaffold::generate(&name, &dir, &sdk).map_err(|e| anyhow::anyhow!(e))?;
            println!("created {} ({})", dir.display(), files.join(", "));
            println!(
                "next: cd {} && cargo build --release --target wasm32-wasip2",
                dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugin {
            command: PluginCommand::Replay { recording, plugin },
        } => {
            let calls =
                paycore::plugin_host::read_recording(&recording).map_err(|e| anyhow::anyhow!(e))?;
            let host = paycore::plugin_host::PluginHost::new(Default::default())?;
            let plugin = host
                .load_file(&plugin)
                .await
                .with_context(|| format!("{} was refused", plugin.display()))?;
            let report = paycore::replay::replay(&host, &plugin, &calls).await;
            print!("{}", report.render());
            Ok(if report.clean() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Plugin {
            command: PluginCommand::Test { file, profile },
        } => {
            let profile = profile.unwrap_or_else(|| paycore::conformance::profile_beside(&file));
            let report = paycore::conformance::run(&file, &profile).await?;
            print!("{}", report.render());
            Ok(if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Plugin {
            command: PluginCommand::Inspect { file },
        } => {
            let host = paycore::plugin_host::PluginHost::new(Default::default())?;
            let plugin = host
                .load_file(&file)
                .await
                .with_context(|| format!("{} was refused", file.display()))?;
            let m = &plugin.manifest;
            println!("name:             {}", m.name);
            println!("version:          {}", m.version);
            println!("contract version: {}", m.contract_version);
            println!("digest:           sha256:{}", plugin.digest);
            println!("description:      {}", m.description);
            println!(
                "scenes:           {}",
                m.scenes
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            println!("wallets:          {}", m.wallets.join(", "));
            println!("currencies:       {}", m.currencies.join(", "));
            println!("settings:         {}", m.settings.join(", "));
            println!("secrets:          {}", m.secrets.join(", "));
            println!("hosts:            {}", m.hosts.join(", "));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Sends an operator decision to the running paycore's admin API.
async fn admin_post(config: &std::path::Path, path: &str) -> anyhow::Result<ExitCode> {
    let cfg = config::load(config, &overrides()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let token = cfg
        .server
        .admin_token
        .as_ref()
        .context("the config has no admin_token")?;
    let base = cfg
        .server
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", cfg.server.listen));
    paycore::plugin_host::install_crypto_provider();
    let response = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(String::from_utf8_lossy(token.expose()))
        .send()
        .await
        .with_context(|| format!("is paycore running at {base}?"))?;
    let ok = response.status().is_success();
    println!("{}", response.text().await.unwrap_or_default());
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The configuration, or `None` after printing every problem in it.
fn load_config(path: &std::path::Path) -> Option<config::Config> {
    match config::load(path, &overrides()) {
        Ok(c) => Some(c),
        Err(errors) => {
            eprintln!("{errors}");
            None
        }
    }
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
