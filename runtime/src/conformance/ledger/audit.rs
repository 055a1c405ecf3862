//! Checks over the whole run: what the plugin asked of the ledger (every
//! refusal as out of scope is a mistake, even one the plugin shrugged
//! off), whether its `succeeded` answers were true when it gave them, and
//! what the ledger adds up to at the end.

use super::play::Play;
use super::{Bench, BenchError};
use crate::conformance::checks::{fail, not_applicable, pass};
use crate::conformance::suite::Suite;
use paycore_core::ledger::HoldStatus;
use std::collections::BTreeMap;

pub(super) const SCOPE: &str = "ledger: every call within its operation's scope";
const TRUE_ANSWERS: &str = "ledger: succeeded only with the payment captured";
const BALANCES: &str = "ledger balances: zero-sum postings, no drift, redemption as answered";
const NOTHING_HELD: &str = "ledger: no value left held";

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

    /// A plugin that says a payment succeeded must have taken its value by
    /// then: exactly the payment's units captured.
    pub(in crate::conformance) fn true_answers(&mut self) {
        let answers = &self.played.succeeded;
        if answers.is_empty() {
            self.checks.push(not_applicable(
                TRUE_ANSWERS,
                "the plugin answered no payment succeeded",
            ));
            return;
        }
        let lies: Vec<String> = answers
            .iter()
            .filter(|a| a.captured != a.units)
            .map(|a| {
                format!(
                    "{} of {} answered succeeded with {} captured for {} ({})",
                    a.op, a.payment, a.captured, a.units, a.holds
                )
            })
            .collect();
        self.checks.push(if lies.is_empty() {
            pass(
                TRUE_ANSWERS,
                format!(
                    "{} succeeded answers, each with its payment captured",
                    answers.len()
                ),
            )
        } else {
            fail(TRUE_ANSWERS, lies.join("; "))
        });
    }

    /// Double entry: the postings of each unit add up to zero, every card's
    /// balances are its postings', and the redemption account holds what
    /// the payments kept by the plugin's answers.
    pub(in crate::conformance) async fn ledger_balances(
        &mut self,
        bench: &Bench,
        play: &Play,
    ) -> Result<(), BenchError> {
        let store = bench.store();
        let totals = store.ledger_totals(&bench.tenant).await?;
        let mut problems = Vec::new();
        let mut per_unit: BTreeMap<&str, i64> = BTreeMap::new();
        for total in &totals {
            *per_unit.entry(total.unit.as_str()).or_default() += total.balance;
        }
        for (unit, sum) in &per_unit {
            if *sum != 0 {
                problems.push(format!("the postings in {unit} add up to {sum}, not zero"));
            }
        }
        for drift in store.card_drifts(&bench.tenant).await? {
            problems.push(format!(
                "card {} stores {} available and {} held, its postings say {} and {}",
                drift.id, drift.balance, drift.held, drift.posted_balance, drift.posted_held
            ));
        }
        let redeemed: i64 = totals
            .iter()
            .filter(|t| t.account == "redemption" && t.program_id == play.program.id.as_str())
            .map(|t| t.balance)
            .sum();
        if redeemed != self.played.kept {
            problems.push(format!(
                "the payments kept {} by the plugin's answers, the ledger redeemed {redeemed}",
                self.played.kept
            ));
        }
        let units: Vec<&str> = per_unit.keys().copied().collect();
        self.checks.push(if problems.is_empty() {
            pass(
                BALANCES,
                format!(
                    "postings in {} add up to zero, no drift, {redeemed} redeemed as answered",
                    units.join(", ")
                ),
            )
        } else {
            fail(BALANCES, problems.join("; "))
        });
        Ok(())
    }

    /// Every payment the suite made is final: whatever it held was
    /// captured or given back.
    pub(in crate::conformance) async fn nothing_held(
        &mut self,
        bench: &Bench,
    ) -> Result<(), BenchError> {
        let mut problems = Vec::new();
        for card in &self.played.cards {
            let record = bench.card(card).await?;
            if record.held != 0 {
                problems.push(format!("card {card} has {} held", record.held));
            }
        }
        let mut holds = 0;
        for payment in &self.played.payments {
            for hold in bench.holds(payment).await? {
                holds += 1;
                if hold.status == HoldStatus::Held {
                    problems.push(format!(
                        "payment {payment} keeps hold {} of {}",
                        hold.id, hold.amount
                    ));
                }
            }
        }
        self.checks.push(if problems.is_empty() {
            pass(
                NOTHING_HELD,
                format!(
                    "{} cards and {holds} holds, none held",
                    self.played.cards.len()
                ),
            )
        } else {
            fail(NOTHING_HELD, problems.join("; "))
        });
        Ok(())
    }
}
