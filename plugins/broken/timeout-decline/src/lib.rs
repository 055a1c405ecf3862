//! Deliberately broken: treats a timeout after sending as a decline. A test fixture for the conformance suite,
//! which must fail it with a message naming the problem. Never loaded by paycore.

#[path = "../../common.rs"]
mod common;

use common::{Broken, Flaw};

const NAME: &str = "broken-timeout-decline";
const FLAW: Flaw = Flaw::TimeoutIsDecline;

paycore_plugin_sdk::export_channel!(Broken);
