//! The `paycore` command: serve, check a configuration, inspect, publish
//! and decide on plugins, publish tenant configs.

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
    /// Make API keys and their hashed references for tenant files.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Publish tenant configs to the database, for instances without a
    /// shared tenants folder.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Print a new random key and the `sha256:` reference to list in
    /// `api_keys` (or as `admin_token`); give the key to its holder only.
    New {
        #[arg(long, default_value = "sk_live_")]
        prefix: String,
    },
    /// Read a key from standard input and print its `sha256:` reference.
    Hash,
}

#[derive(Subcommand)]
enum TenantCommand {
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
    /// Make an ed25519 signing key: the secret key goes to FILE (keep it
    /// offline), the public key, for `trusted_publishers`, is printed.
    Keygen { secret_key_file: PathBuf },
    /// Sign FILE.wasm in place with the secret key in KEY_FILE.
    Sign {
        file: PathBuf,
        #[arg(long)]
        key: PathBuf,
    },
    /// Say who signed FILE.wasm and whether the config's policy admits it.
    Verify {
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
            // Every problem in one run: the files' own, then, for what of
            // them validated, the plugins' and the channel bindings'.
            let partial = config::load_partial(&config, &overrides(), Default::default());
            let mut problems: Vec<String> =
                partial.errors.0.iter().map(ToString::to_string).collect();
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
            let Some(cfg) = publishing_config(&config) else {
                return Ok(ExitCode::FAILURE);
            };
            println!(
                "{}",
                paycore::publishing::publish_plugin(&cfg, &file).await?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugin {
            command: PluginCommand::Unpublish { label, config },
        } => {
            let Some(cfg) = publishing_config(&config) else {
                return Ok(ExitCode::FAILURE);
            };
            println!(
                "{}",
                paycore::publishing::unpublish_plugin(&cfg, &label).await?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Key {
            command: KeyCommand::New { prefix },
        } => {
            let (key, reference) = paycore::config::api_keys::generate(&prefix);
            println!("key:       {key}");
            println!("reference: {reference}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Key {
            command: KeyCommand::Hash,
        } => {
            let mut key = String::new();
            std::io::stdin().read_line(&mut key)?;
            let key = key.trim_end_matches(['\n', '\r']);
            anyhow::ensure!(key.len() >= 8, "an API key must be at least 8 characters");
            println!("{}", paycore::config::api_keys::reference(key));
            Ok(ExitCode::SUCCESS)
        }
        Command::Tenant {
            command: TenantCommand::Publish { file, config },
        } => match paycore::publishing::publish_tenant(&config, &overrides(), &file).await? {
            Ok(done) => {
                println!("{done}");
                Ok(ExitCode::SUCCESS)
            }
            Err(problems) => {
                for p in &problems {
                    eprintln!("{p}");
                }
                eprintln!("{}: not published", file.display());
                Ok(ExitCode::FAILURE)
            }
        },
        Command::Tenant {
            command: TenantCommand::Withdraw { id, config },
        } => {
            let Some(cfg) = publishing_config(&config) else {
                return Ok(ExitCode::FAILURE);
            };
            println!("{}", paycore::publishing::withdraw_tenant(&cfg, &id).await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Tenant {
            command: TenantCommand::History { config },
        } => {
            let Some(cfg) = publishing_config(&config) else {
                return Ok(ExitCode::FAILURE);
            };
            print!("{}", paycore::publishing::tenant_history(&cfg).await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugin {
            command: PluginCommand::Keygen { secret_key_file },
        } => {
            anyhow::ensure!(
                !secret_key_file.exists(),
                "{} exists; refusing to overwrite a key",
                secret_key_file.display()
            );
            let (secret, public) = paycore::provenance::keygen();
            std::fs::write(&secret_key_file, secret + "\n")
                .with_context(|| format!("writing {}", secret_key_file.display()))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&secret_key_file, std::fs::Permissions::from_mode(0o600))?;
            }
            println!(
                "secret key: {} (keep it offline)",
                secret_key_file.display()
            );
            println!("public key: {public}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugin {
            command: PluginCommand::Sign { file, key },
        } => {
            let wasm =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let secret = std::fs::read_to_string(&key)
                .with_context(|| format!("reading {}", key.display()))?;
            let signed = paycore::provenance::sign(&wasm, &secret).map_err(anyhow::Error::msg)?;
            let temp = file.with_extension("wasm.part");
            std::fs::write(&temp, &signed)?;
            std::fs::rename(&temp, &file)?;
            match paycore::provenance::provenance(&signed).map_err(anyhow::Error::msg)? {
                paycore::provenance::Provenance::SignedBy(key) => {
                    println!("{}: signed by {key}", file.display())
                }
                paycore::provenance::Provenance::Unsigned => anyhow::bail!("signing failed"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugin {
            command: PluginCommand::Verify { file, config },
        } => {
            let Some(cfg) = publishing_config(&config) else {
                return Ok(ExitCode::FAILURE);
            };
            let wasm =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            match paycore::provenance::admit(&cfg.server.plugin_policy, &wasm) {
                Ok(paycore::provenance::Provenance::SignedBy(key)) => {
                    println!("{}: signed by {key}; the policy admits it", file.display());
                    Ok(ExitCode::SUCCESS)
                }
                Ok(paycore::provenance::Provenance::Unsigned) => {
                    println!("{}: unsigned; the policy admits it", file.display());
                    Ok(ExitCode::SUCCESS)
                }
                Err(reason) => {
                    eprintln!("{}: refused: {reason}", file.display());
                    Ok(ExitCode::FAILURE)
                }
            }
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
            let wasm = std::fs::read(&file)?;
            match paycore::provenance::provenance(&wasm) {
                Ok(paycore::provenance::Provenance::SignedBy(key)) => {
                    println!("signed by:        {key}")
                }
                Ok(paycore::provenance::Provenance::Unsigned) => println!("signed by:        -"),
                Err(e) => println!("signature:        INVALID ({e})"),
            }
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
            if m.settings_described {
                println!("settings:");
                for s in &m.settings {
                    println!("  {}: {}; {}", s.name, s.kind_words(), s.presence_words());
                    if !s.description.is_empty() {
                        println!("    {}", s.description);
                    }
                }
            } else {
                let names: Vec<&str> = m.setting_names().collect();
                println!(
                    "settings:         {} (not described: each required, any text)",
                    names.join(", ")
                );
            }
            println!("secrets:          {}", m.secrets.join(", "));
            println!("hosts:            {}", m.hosts.join(", "));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Sends an operator decision to the running paycore's admin API.
async fn admin_post(config: &std::path::Path, path: &str) -> anyhow::Result<ExitCode> {
    let cfg = config::load(config, &overrides()).map_err(|e| anyhow::anyhow!("{e}"))?;
    // The first token listed is the current one (the others are rotating out).
    let token = cfg
        .server
        .admin_tokens
        .first()
        .context("the config has no admin_token")?;
    // A hashed admin_token cannot be sent: the operator gives the token.
    let token = if paycore::config::api_keys::is_reference(token.expose()) {
        std::env::var("PAYCORE_ADMIN_TOKEN")
            .context("the config holds the admin token hashed: set PAYCORE_ADMIN_TOKEN")?
    } else {
        String::from_utf8_lossy(token.expose()).into_owned()
    };
    let base = cfg
        .server
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", cfg.server.listen));
    paycore::tls::install_crypto_provider();
    let response = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(token)
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
/// The config for a publishing command: secrets are checked for form only,
/// since they live on the instances, not on the operator's machine.
fn publishing_config(path: &std::path::Path) -> Option<config::Config> {
    match paycore::publishing::config_for_publishing(path, &overrides()) {
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
