//! The paycore channel for the built-in sandbox payment provider
//! (`docs/sandbox-provider.md`). It speaks the provider's protocol through the
//! host's HTTP import exactly as a third-party plugin would speak a real
//! channel's: signed JSON requests, verified answers, amounts as major-unit
//! strings.

mod callback;
mod client;
mod ops;
mod statement;
mod wire;

use paycore_plugin_sdk::types::{Manifest, Scene, SettingSpec};
use paycore_plugin_sdk::{Describe, export_channel};

/// The crate version, unless a build stamps another one: the upgrade tests
/// build this same plugin as a later version to swap in under load.
const VERSION: &str = match option_env!("PAYCORE_SANDBOX_VERSION") {
    Some(v) => v,
    None => env!("CARGO_PKG_VERSION"),
};

#[derive(Default)]
pub struct Sandbox;

impl Describe for Sandbox {
    fn manifest(&self) -> Manifest {
        Manifest::new("sandbox", VERSION)
            .with_description("The simulated payment provider built into paycore: deterministic outcomes for demos and tests")
            .with_scenes(&Scene::ALL)
            .with_wallets(&["sandbox"])
            .with_currencies(&["CNY", "USD", "EUR", "GBP", "HKD", "SGD", "JPY", "KRW", "BHD"])
            .with_described_settings(&self.settings())
            .with_secrets(&[client::API_KEY])
            .with_hosts(&["127.0.0.1", "localhost"])
    }

    fn settings(&self) -> Vec<SettingSpec> {
        vec![
            SettingSpec::url(
                "base_url",
                "the sandbox provider, e.g. {public_url}/sandbox",
            ),
            SettingSpec::text("merchant_id", "the merchant id the provider knows")
                .with_max_length(64),
        ]
    }
}

export_channel!(Sandbox);
