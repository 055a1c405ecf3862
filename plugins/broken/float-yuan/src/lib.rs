//! Deliberately broken: computes yuan with floating point. A test fixture for the conformance suite,
//! which must fail it with a message naming the problem. Never loaded by paycore.

#[path = "../../common.rs"]
mod common;

use common::{Broken, Flaw};

const NAME: &str = "broken-float-yuan";
const FLAW: Flaw = Flaw::FloatYuan;

paycore_plugin_sdk::export_channel!(Broken);
