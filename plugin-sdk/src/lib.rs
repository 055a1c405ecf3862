//! Write paycore payment channels as WebAssembly component plugins.
//!
//! A channel plugin is a `cdylib` built for `wasm32-wasip2`. It implements
//! two traits — [`Describe`], what it is (its manifest and settings), and
//! [`Channel`], what it does (pay, query, refund, …) — and calls one macro,
//! [`export_channel!`]. Each is implemented once, where it belongs: the
//! manifest beside the type, the operations in the module that speaks the
//! provider's protocol; nothing forwards from one to the other. Everything
//! the plugin needs from the outside world — HTTP to the hosts the operator
//! granted, signing with keys it never sees, logging, the clock, the
//! host's ledger of closed-loop value — comes through the [`Host`] it is
//! handed on every call.
//!
//! ```
//! use paycore_plugin_sdk::types::*;
//! use paycore_plugin_sdk::{export_channel, money, Channel, Describe, Host};
//!
//! #[derive(Default)]
//! struct Cash;
//!
//! impl Describe for Cash {
//!     fn manifest(&self) -> Manifest {
//!         Manifest::new("cash", "1.0.0")
//!             .with_description("cash in the till")
//!             .with_scenes(&[Scene::Barcode])
//!             .with_wallets(&["cash"])
//!             .with_currencies(&["CNY"])
//!     }
//! }
//!
//! impl Channel for Cash {
//!     fn pay(&self, host: &dyn Host, _ctx: &CallContext, req: PayRequest) -> Result<PaymentResult, ChannelError> {
//!         let shown = money::to_major_string(req.amount, &req.currency)
//!             .map_err(|e| ChannelError::InvalidRequest(Failure::new("invalid_amount", e.to_string())))?;
//!         host.log(LogLevel::Info, &format!("took {shown} {}", req.currency));
//!         Ok(PaymentResult::succeeded(None, req.amount, &req.currency))
//!     }
//!
//!     fn query(&self, _: &dyn Host, _: &CallContext, p: PaymentRef) -> Result<PaymentResult, ChannelError> {
//!         Ok(PaymentResult::succeeded(p.channel_order_no, p.amount, &p.currency))
//!     }
//!
//!     fn refund(&self, _: &dyn Host, _: &CallContext, _: RefundRequest) -> Result<RefundResult, ChannelError> {
//!         Err(ChannelError::unsupported("refund"))
//!     }
//!
//!     fn handle_callback(&self, _: &dyn Host, _: &CallContext, _: HttpRequest) -> Result<CallbackOutcome, ChannelError> {
//!         Err(ChannelError::unsupported("handle_callback"))
//!     }
//! }
//!
//! export_channel!(Cash);
//! ```
//!
//! Plugins are unit-tested natively against [`testing::FakeHost`]; on native
//! targets `export_channel!` exports nothing and the WIT imports are
//! unreachable, so only the `.wasm` build talks to a real host.

mod channel;
mod export;
mod host;
pub mod money;
pub mod params;
#[cfg(not(target_arch = "wasm32"))]
pub mod pki;
#[cfg(test)]
mod reference;
mod settings;
pub mod testing;
pub mod types;
pub mod webhook;

pub use channel::{Channel, Describe};
pub use host::{Host, WasmHost};

/// Version of the `paycore:channel` WIT package these bindings were generated
/// from; manifests built with [`types::Manifest::new`] declare it.
pub const CONTRACT_VERSION: &str = "1.1.0";

/// Raw wit-bindgen output. Public only because the code `export_channel!`
/// expands to in the plugin crate has to name it; use [`types`] instead.
#[doc(hidden)]
pub mod __bindings {
    wit_bindgen::generate!({
        path: "wit/v1.1.0",
        world: "plugin",
        // The export macro must be callable from plugin crates, which do not
        // depend on wit-bindgen and only know this crate as `$crate`.
        pub_export_macro: true,
        export_macro_name: "__export_paycore_plugin",
        default_bindings_module: "$crate::__bindings",
        additional_derives: [PartialEq, Eq, Hash],
    });
}

#[doc(hidden)]
pub mod __private {
    pub use crate::export::Adapter;
}

#[cfg(test)]
mod tests {
    #[test]
    fn contract_version_matches_the_wit_package() {
        let wit = include_str!("../wit/v1.1.0/channel.wit");
        let package = format!("package paycore:channel@{};", super::CONTRACT_VERSION);
        assert!(
            wit.contains(&package),
            "channel.wit does not declare `{package}`"
        );
    }

    /// Every released contract folder still has the digest it was released
    /// with: plugins built against it must keep loading, byte for byte.
    #[test]
    fn released_contracts_are_frozen() {
        use sha2::{Digest, Sha256};
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("wit");
        let released = std::fs::read_to_string(root.join("RELEASED"))
            .expect("wit/RELEASED lists released contracts");
        let mut checked = 0;
        for line in released
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let (version, digest) = line.split_once(' ').expect("`version sha256` per line");
            let wit = std::fs::read(root.join(format!("v{version}/channel.wit")))
                .expect("a released folder exists");
            assert_eq!(
                hex::encode(Sha256::digest(&wit)),
                digest.trim(),
                "wit/v{version} was edited after release; add a new version instead"
            );
            checked += 1;
        }
        assert!(checked >= 1);
    }

    /// The SDK builds the newest contract folder. Until that version is
    /// listed in `wit/RELEASED` it may still grow (later issues add to the
    /// same minor), but it must be newer than every released one.
    #[test]
    fn the_sdk_builds_the_newest_contract() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("wit");
        let newest = std::fs::read_dir(&root)
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().into_string().ok()?;
                semver_parts(name.strip_prefix('v')?)
            })
            .max()
            .expect("a contract folder");
        assert_eq!(Some(newest), semver_parts(super::CONTRACT_VERSION));
        let released = std::fs::read_to_string(root.join("RELEASED")).unwrap();
        for line in released.lines().filter(|l| !l.starts_with('#')) {
            if let Some(version) = line.split(' ').next().and_then(semver_parts) {
                assert!(version <= newest, "{line}");
            }
        }
    }

    fn semver_parts(text: &str) -> Option<(u64, u64, u64)> {
        let mut parts = text.split('.').map(|p| p.parse().ok());
        Some((parts.next()??, parts.next()??, parts.next()??))
    }
}
