//! Deliberately broken: accepts callbacks without checking their signature. A test fixture for the conformance suite,
//! which must fail it with a message naming the problem. Never loaded by paycore.

#[path = "../../common.rs"]
mod common;

use common::{Broken, Flaw};

const NAME: &str = "broken-accept-tampered";
const FLAW: Flaw = Flaw::TrustsCallbacks;

paycore_plugin_sdk::export_channel!(Broken);
