//! Deliberately broken: answers a card payment succeeded having only held
//! its value, never captured. A test fixture for the conformance suite,
//! which must fail it with a message naming the problem. Never loaded by
//! paycore.

#[path = "../../card_common.rs"]
mod card_common;

use card_common::{BrokenCard, Flaw};

const NAME: &str = "broken-card-holding-only";
const FLAW: Flaw = Flaw::SucceedsHoldingOnly;

paycore_plugin_sdk::export_channel!(BrokenCard);
