//! Host bindings generated from the newest WIT contract in `plugin-sdk/wit`
//! (`v1.1.0`). The contract's types are serializable so that recorded calls
//! can be written to a file and replayed (`record`, `replay`).
//!
//! Plugins built for an older 1.x load through the same bindings: wasmtime
//! matches names semver-compatibly (a host defining `paycore:channel/http@1.1.0`
//! satisfies a plugin importing `@1.0.0`, and looking up the export
//! `channel@1.1.0` finds a plugin's `channel@1.0.0`), and the types a minor
//! version keeps are structurally the same. What a newer minor *adds* to
//! the exports an older plugin lacks, so [`PluginExports`] looks each added
//! interface up on its own instead of requiring the whole world, as the
//! generated `PluginPre` would.

use wasmtime::component::{Instance, InstancePre};

wasmtime::component::bindgen!({
    path: "../plugin-sdk/wit/v1.1.0",
    world: "plugin",
    imports: { default: async | trappable },
    exports: { default: async },
    additional_derives: [serde::Serialize, serde::Deserialize],
});

use exports::paycore::channel::{channel, settings, statement, tender};

/// A compiled plugin linked against the host, with its exports found:
/// `channel`, which every plugin has, and each interface added since 1.0.0
/// when the plugin has it.
pub(super) struct PluginExports<T: 'static> {
    pre: InstancePre<T>,
    channel: channel::GuestIndices,
    /// Added in 1.1.0: what the plugin's settings are.
    settings: Option<settings::GuestIndices>,
    /// Added in 1.1.0: holding a combined order's tender.
    tender: Option<tender::GuestIndices>,
    /// Added in 1.1.0: the channel's daily statement.
    statement: Option<statement::GuestIndices>,
}

impl<T: 'static> Clone for PluginExports<T> {
    fn clone(&self) -> Self {
        PluginExports {
            pre: self.pre.clone(),
            channel: self.channel.clone(),
            settings: self.settings.clone(),
            tender: self.tender.clone(),
            statement: self.statement.clone(),
        }
    }
}

/// Where a 1.1 plugin exports its setting descriptions; semver matching
/// would also find a later 1.x minor's.
const SETTINGS_EXPORT: &str = "paycore:channel/settings@1.1.0";
const TENDER_EXPORT: &str = "paycore:channel/tender@1.1.0";
const STATEMENT_EXPORT: &str = "paycore:channel/statement@1.1.0";

impl<T: Send + 'static> PluginExports<T> {
    /// Fails when `channel` is missing or lacks a function; an optional
    /// interface that is present must be complete too.
    pub fn new(pre: InstancePre<T>) -> wasmtime::Result<Self> {
        let channel = channel::GuestIndices::new(&pre)?;
        let settings = match pre.component().get_export_index(None, SETTINGS_EXPORT) {
            Some(_) => Some(settings::GuestIndices::new(&pre)?),
            None => None,
        };
        let tender = match pre.component().get_export_index(None, TENDER_EXPORT) {
            Some(_) => Some(tender::GuestIndices::new(&pre)?),
            None => None,
        };
        let statement = match pre.component().get_export_index(None, STATEMENT_EXPORT) {
            Some(_) => Some(statement::GuestIndices::new(&pre)?),
            None => None,
        };
        Ok(PluginExports {
            pre,
            channel,
            settings,
            tender,
            statement,
        })
    }

    pub async fn instantiate(&self, store: &mut wasmtime::Store<T>) -> wasmtime::Result<Loaded> {
        let instance: Instance = self.pre.instantiate_async(&mut *store).await?;
        let channel = self.channel.load(&mut *store, &instance)?;
        let settings = match &self.settings {
            Some(indices) => Some(indices.load(&mut *store, &instance)?),
            None => None,
        };
        let tender = match &self.tender {
            Some(indices) => Some(indices.load(&mut *store, &instance)?),
            None => None,
        };
        let statement = match &self.statement {
            Some(indices) => Some(indices.load(&mut *store, &instance)?),
            None => None,
        };
        Ok(Loaded {
            channel,
            settings,
            tender,
            statement,
        })
    }
}

/// One instance's exports, typed-checked and callable.
pub(super) struct Loaded {
    pub channel: channel::Guest,
    pub settings: Option<settings::Guest>,
    pub tender: Option<tender::Guest>,
    pub statement: Option<statement::Guest>,
}
