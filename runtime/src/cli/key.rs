//! `paycore key new|hash`: API keys and their hashed references for tenant
//! files.

use clap::Subcommand;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Print a new random key and the `sha256:` reference to list in
    /// `api_keys` (or as `admin_token`); give the key to its holder only.
    New {
        #[arg(long, default_value = "sk_live_")]
        prefix: String,
    },
    /// Read a key from standard input and print its `sha256:` reference.
    Hash,
}

pub fn run(command: KeyCommand) -> anyhow::Result<ExitCode> {
    match command {
        KeyCommand::New { prefix } => {
            let (key, reference) = paycore::config::api_keys::generate(&prefix);
            println!("key:       {key}");
            println!("reference: {reference}");
        }
        KeyCommand::Hash => {
            let mut key = String::new();
            std::io::stdin().read_line(&mut key)?;
            let key = key.trim_end_matches(['\n', '\r']);
            anyhow::ensure!(key.len() >= 8, "an API key must be at least 8 characters");
            println!("{}", paycore::config::api_keys::reference(key));
        }
    }
    Ok(ExitCode::SUCCESS)
}
