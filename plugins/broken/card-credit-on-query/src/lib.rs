//! Deliberately broken: gives a paid card payment's value back to the card
//! during a query, though no refund was asked for. A test fixture for the
//! conformance suite, which must fail it with a message naming the problem.
//! Never loaded by paycore.

#[path = "../../card_common.rs"]
mod card_common;

use card_common::{BrokenCard, Flaw};

const NAME: &str = "broken-card-credit-on-query";
const FLAW: Flaw = Flaw::CreditsOnQuery;

paycore_plugin_sdk::export_channel!(BrokenCard);
