//! Checks over the whole run: what the plugin asked of the ledger (every
//! refusal as out of scope is a mistake, even one the plugin shrugged
//! off).

use crate::conformance::checks::{fail, pass};
use crate::conformance::suite::Suite;

pub(super) const SCOPE: &str = "ledger: every call within its operation's scope";

impl Suite {
    /// The session refuses a call outside what the operation may do
    /// (`not-allowed`) and moves nothing, but a plugin that asks has the
    /// contract wrong: a credit during a query, a hold during a refund.
    pub(in crate::conformance) fn ledger_scope(&mut self) {
        let calls: Vec<_> = self
            .traces
            .iter()
            .flat_map(|t| t.ledger().map(move |c| (t.op, c)))
            .collect();
        let refused: Vec<String> = calls
            .iter()
            .filter_map(|(op, c)| {
                let why = c.not_allowed()?;
                Some(format!("during {op}, {} was refused: {why}", c.request))
            })
            .collect();
        self.checks.push(if refused.is_empty() {
            pass(
                SCOPE,
                format!(
                    "{} ledger calls in {} plugin calls, none refused as out of scope",
                    calls.len(),
                    self.traces.len()
                ),
            )
        } else {
            fail(SCOPE, refused.join("; "))
        });
    }
}
