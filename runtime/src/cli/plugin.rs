//! `paycore plugin …`: make, inspect, test, replay, sign, verify and publish
//! plugin builds, and the operator's decisions on the versions serving.

use anyhow::Context;
use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum PluginCommand {
    /// Load a plugin with every check the runtime applies and print its manifest.
    Inspect { file: PathBuf },
    /// Create a standalone plugin crate: a worked example channel, a native
    /// unit test, a README and a conformance profile.
    New {
        name: String,
        /// Where to create it [default: ./NAME].
        #[arg(long)]
        dir: Option<PathBuf>,
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
        /// extension `.conformance.toml`, else, for a build under a crate's
        /// `target/`, the crate's `conformance.toml`].
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

pub async fn run(command: PluginCommand) -> anyhow::Result<ExitCode> {
    match command {
        PluginCommand::Inspect { file } => inspect(&file).await,
        PluginCommand::New { name, dir } => new(&name, dir),
        PluginCommand::Replay { recording, plugin } => replay(&recording, &plugin).await,
        PluginCommand::Test { file, profile } => {
            let profile = profile.unwrap_or_else(|| paycore::conformance::profile_for(&file));
            let report = paycore::conformance::run(&file, &profile).await?;
            print!("{}", report.render());
            Ok(exit(report.passed()))
        }
        PluginCommand::Approve { label, config } => {
            admin_post(&config, &format!("/admin/plugins/{label}/approve")).await
        }
        PluginCommand::Rollback { name, config } => {
            admin_post(&config, &format!("/admin/plugins/{name}/rollback")).await
        }
        PluginCommand::Restore { label, config } => {
            admin_post(&config, &format!("/admin/plugins/{label}/restore")).await
        }
        PluginCommand::Publish { file, config } => {
            let Some(cfg) = super::publishing_config(&config) else {
                return Ok(ExitCode::FAILURE);
            };
            println!(
                "{}",
                paycore::publishing::publish_plugin(&cfg, &file).await?
            );
            Ok(ExitCode::SUCCESS)
        }
        PluginCommand::Unpublish { label, config } => {
            let Some(cfg) = super::publishing_config(&config) else {
                return Ok(ExitCode::FAILURE);
            };
            println!(
                "{}",
                paycore::publishing::unpublish_plugin(&cfg, &label).await?
            );
            Ok(ExitCode::SUCCESS)
        }
        PluginCommand::Keygen { secret_key_file } => keygen(&secret_key_file),
        PluginCommand::Sign { file, key } => sign(&file, &key),
        PluginCommand::Verify { file, config } => verify(&file, &config),
    }
}

fn exit(success: bool) -> ExitCode {
    if success {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn new(name: &str, dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let dir = dir.unwrap_or_else(|| PathBuf::from(name));
    let files = paycore::scaffold::generate(name, &dir)?;
    println!("created {} ({})", dir.display(), files.join(", "));
    println!(
        "next: cd {} && {} && paycore plugin test {}",
        dir.display(),
        paycore::scaffold::BUILD.join(" "),
        paycore::scaffold::wasm_file(name).display()
    );
    Ok(ExitCode::SUCCESS)
}

async fn replay(recording: &Path, plugin: &Path) -> anyhow::Result<ExitCode> {
    let calls = paycore::plugin_host::read_recording(recording)?;
    let host = paycore::plugin_host::PluginHost::new(Default::default())?;
    let plugin = host
        .load_file(plugin)
        .await
        .with_context(|| format!("{} was refused", plugin.display()))?;
    let report = paycore::replay::replay(&host, &plugin, &calls).await;
    print!("{}", report.render());
    Ok(exit(report.clean()))
}

async fn inspect(file: &Path) -> anyhow::Result<ExitCode> {
    let host = paycore::plugin_host::PluginHost::new(Default::default())?;
    let plugin = host
        .load_file(file)
        .await
        .with_context(|| format!("{} was refused", file.display()))?;
    let m = &plugin.manifest;
    println!("name:             {}", m.name);
    println!("version:          {}", m.version);
    println!("contract version: {}", m.contract_version);
    println!("digest:           sha256:{}", plugin.digest);
    let wasm = std::fs::read(file)?;
    match paycore::provenance::provenance(&wasm) {
        Ok(paycore::provenance::Provenance::SignedBy(key)) => println!("signed by:        {key}"),
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

fn keygen(secret_key_file: &Path) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        !secret_key_file.exists(),
        "{} exists; refusing to overwrite a key",
        secret_key_file.display()
    );
    let (secret, public) = paycore::provenance::keygen();
    std::fs::write(secret_key_file, secret + "\n")
        .with_context(|| format!("writing {}", secret_key_file.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(secret_key_file, std::fs::Permissions::from_mode(0o600))?;
    }
    println!(
        "secret key: {} (keep it offline)",
        secret_key_file.display()
    );
    println!("public key: {public}");
    Ok(ExitCode::SUCCESS)
}

fn sign(file: &Path, key: &Path) -> anyhow::Result<ExitCode> {
    let wasm = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let secret =
        std::fs::read_to_string(key).with_context(|| format!("reading {}", key.display()))?;
    let signed = paycore::provenance::sign(&wasm, &secret)?;
    let temp = file.with_extension("wasm.part");
    std::fs::write(&temp, &signed)?;
    std::fs::rename(&temp, file)?;
    match paycore::provenance::provenance(&signed)? {
        paycore::provenance::Provenance::SignedBy(key) => {
            println!("{}: signed by {key}", file.display())
        }
        paycore::provenance::Provenance::Unsigned => anyhow::bail!("signing failed"),
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(file: &Path, config: &Path) -> anyhow::Result<ExitCode> {
    let Some(cfg) = super::publishing_config(config) else {
        return Ok(ExitCode::FAILURE);
    };
    let wasm = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
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

/// Sends an operator decision to the running paycore's admin API.
async fn admin_post(config: &Path, path: &str) -> anyhow::Result<ExitCode> {
    let cfg =
        paycore::config::load(config, &super::overrides()).map_err(|e| anyhow::anyhow!("{e}"))?;
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
    Ok(exit(ok))
}
