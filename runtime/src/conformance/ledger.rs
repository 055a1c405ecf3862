//! The suite's ledger: what a plugin that imports `paycore:channel/ledger`
//! is tested on. So far, what a profile's `[ledger]` says to play there
//! (`play`): the conformance tenant's card programmes and its cards.

mod play;

pub use play::{Play, Section};
