//! The suite's ledger: what a plugin that imports `paycore:channel/ledger`
//! is tested on. A fresh in-memory store, the ledger the runtime serves
//! with, and the conformance tenant's card programmes (the profile's
//! `[ledger]`, see `play`), so every hold, capture and credit the plugin
//! asks for goes through the real session and its scope checks; `audit`
//! judges what the plugin asked of the ledger over the whole run.

mod audit;
mod play;

pub(super) use play::{CHANNEL, TENANT};
pub use play::{Play, Section};

use super::checks::{fail, not_applicable};
use super::suite::Suite;
use crate::ledger::{Ledger, Program};
use crate::store::Store;
use std::sync::Arc;

/// The interface whose import gets a plugin a ledger.
pub(super) const INTERFACE: &str = "paycore:channel/ledger";

impl Suite {
    /// The ledger's checks, after every other call to the plugin, so the
    /// scope check sees them all.
    pub(super) async fn ledger_checks(&mut self) -> Result<(), BenchError> {
        if self.bench.is_none() {
            self.checks.push(if self.loaded.ledger.is_some() {
                fail(
                    "ledger: plugin imports paycore:channel/ledger",
                    "the profile's [ledger] plays cards, but the plugin does not import the ledger: it cannot reach them",
                )
            } else {
                not_applicable(
                    audit::SCOPE,
                    "the plugin does not import the ledger: it can move no card's value",
                )
            });
            return Ok(());
        }
        self.ledger_scope();
        Ok(())
    }
}

/// The ledger the plugin's calls reach.
#[derive(Clone)]
pub(super) struct Bench {
    ledger: Ledger,
    /// `None` when the profile has no `[ledger]`: the plugin gets a ledger
    /// with no programmes.
    play: Option<Play>,
}

/// Why the suite could not set its ledger up.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("the suite's ledger: {0}")]
    Store(#[from] crate::store::StoreError),
}

impl Bench {
    pub(super) async fn open(play: Option<Play>) -> Result<Bench, BenchError> {
        let store = Store::open("sqlite::memory:", None).await?;
        Ok(Bench {
            ledger: Ledger::new(store),
            play,
        })
    }

    pub(super) fn ledger(&self) -> Ledger {
        self.ledger.clone()
    }

    /// The programmes the plugin's grant carries: every one of the
    /// conformance tenant's, all on the plugin's channel.
    pub(super) fn programs(&self) -> Arc<[Program]> {
        match &self.play {
            Some(play) => play.tenant.card_programs.iter().cloned().collect(),
            None => Arc::from([]),
        }
    }
}
