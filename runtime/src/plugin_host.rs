//! The WebAssembly plugin host: the only module that knows wasmtime.
//!
//! Each plugin is compiled once into an `InstancePre`; every call gets a
//! fresh `Store` and instance with a memory cap, a CPU budget (epoch
//! interruption) and a wall-clock timeout, so a trap, a loop or a memory bomb
//! fails that one call and nothing else. The host records whether a call
//! could have reached the channel (an outbound request left) so callers can
//! tell "certainly failed" from "unknown".

mod bindings;
mod cache;
mod call;
mod certificates;
mod convert;
mod crypto;
mod engine;
mod imports;
mod ledger;
mod load;
#[cfg(feature = "native-sandbox")]
mod native;
mod operation;
mod record;
mod replay;
mod trace;

pub use crate::tls::install_crypto_provider;
pub use bindings::paycore::channel::http::HttpError;

pub use call::{CallError, CallErrorKind, TenderHold};
pub use crypto::{ProviderCryptoError, encrypt_as_provider, sign_as_provider};
pub use engine::PluginHost;
pub use imports::{ChannelGrant, InMemoryUpstream};
pub use load::{LoadError, LoadInfo, ManifestError, Plugin, PluginManifest, grant_for};
pub use record::{
    ReadRecordingError, RecordedCall, RecordingFileError, Recordings, read_file as read_recording,
    secret_forms,
};
pub use replay::difference;
pub use trace::{
    CallInput, CallOutput, CallTrace, HostCall, HttpAttempt, LedgerAnswer, LedgerCall,
    LedgerRequest, Tracer,
};

/// The WIT contract version this host implements; plugins built against any
/// semver-compatible version (same major, minor not newer) load.
pub const CONTRACT_VERSION: semver::Version = semver::Version::new(1, 1, 0);
