//! The suite's ledger: what a plugin that imports `paycore:channel/ledger`
//! is tested on. A fresh in-memory store, the ledger the runtime serves
//! with, the conformance tenant's card programmes (the profile's `[ledger]`,
//! see `play`) and the cards the suite issues through the card API's own
//! code, so every hold, capture and credit the plugin asks for goes through
//! the real session and its scope checks.
//!
//! `checks` plays payments on those cards and reads the ledger after each
//! call; `audit` judges what the plugin asked of the ledger over the whole
//! run, and what the ledger adds up to at the end.

mod audit;
mod checks;
mod play;

pub(super) use play::{CHANNEL, TENANT};
pub use play::{Play, Section};

use super::checks::{fail, not_applicable};
use super::suite::Suite;
use crate::domain::{PaymentId, TenantId};
use crate::ledger::{CardError, CardId, FundedBy, IssueCard, Ledger, Program};
use crate::store::{CardRecord, HoldRecord, Store};
use paycore_core::ledger::HoldStatus;
use std::sync::Arc;

/// The interface whose import gets a plugin a ledger.
pub(super) const INTERFACE: &str = "paycore:channel/ledger";

impl Suite {
    /// The ledger's checks, after every other call to the plugin, so the
    /// scope check sees them all.
    pub(super) async fn ledger_checks(&mut self) -> Result<(), BenchError> {
        let Some(bench) = self.bench.clone() else {
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
        };
        let play = bench.play.clone();
        if let Some(play) = &play {
            self.ledger_payments(&bench, play).await?;
        }
        self.ledger_scope();
        if let Some(play) = &play {
            self.true_answers();
            self.ledger_balances(&bench, play).await?;
            self.nothing_held(&bench).await?;
        }
        Ok(())
    }
}

/// The ledger the plugin's calls reach, and what the suite plays on it.
#[derive(Clone)]
pub(super) struct Bench {
    ledger: Ledger,
    tenant: TenantId,
    /// `None` when the profile has no `[ledger]`: the plugin gets a ledger
    /// with no programmes, and only its calls' scope is checked.
    play: Option<Play>,
}

/// Why the suite could not set its ledger up or read it back.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("the suite's ledger: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("the suite could not issue a card of programme `{program}`: {error}")]
    Issue { program: String, error: CardError },
    #[error("the suite could not read back card {0}")]
    CardGone(CardId),
}

impl Bench {
    pub(super) async fn open(play: Option<Play>) -> Result<Bench, BenchError> {
        let store = Store::open("sqlite::memory:", None).await?;
        Ok(Bench {
            ledger: Ledger::new(store),
            tenant: TenantId::from(TENANT),
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

    fn store(&self) -> &Store {
        self.ledger.store()
    }

    /// A new card of the played programme with its first value, given by
    /// the tenant's promotion as a promotional card would be.
    async fn issue(&self, play: &Play) -> Result<CardRecord, BenchError> {
        let request = IssueCard {
            program: play.program.id.clone(),
            holder: play.holder.clone(),
            amount: play.card_value,
            funded_by: Some(FundedBy::Promotion),
            idempotency_key: None,
            fingerprint: "conformance".into(),
        };
        self.ledger
            .issue_card(&play.tenant, request)
            .await
            .map(|(card, _)| card)
            .map_err(|error| BenchError::Issue {
                program: play.program.id.to_string(),
                error,
            })
    }

    /// A fresh payment code for `card`, as the member's app would show.
    async fn code(&self, card: &CardId) -> Result<String, BenchError> {
        match self.ledger.payment_code(&self.tenant, card).await {
            Ok(code) => Ok(code.code),
            Err(CardError::Store(e)) => Err(e.into()),
            Err(_) => Err(BenchError::CardGone(card.clone())),
        }
    }

    async fn card(&self, card: &CardId) -> Result<CardRecord, BenchError> {
        self.store()
            .card(&self.tenant, card)
            .await?
            .ok_or_else(|| BenchError::CardGone(card.clone()))
    }

    async fn holds(&self, payment: &PaymentId) -> Result<Vec<HoldRecord>, BenchError> {
        Ok(self
            .store()
            .holds_for_payment(&self.tenant, payment)
            .await?)
    }
}

/// What the suite played on the ledger, for the checks over the whole run.
#[derive(Debug, Default)]
pub(super) struct Played {
    pub cards: Vec<CardId>,
    pub payments: Vec<PaymentId>,
    /// What the payments kept by the plugin's answers, in the programme's
    /// unit: paid, less refunded, less cancelled.
    pub kept: i64,
    /// Each payment the plugin answered `succeeded`, with what its holds
    /// had captured at that moment.
    pub succeeded: Vec<Answered>,
}

/// A `succeeded` answer and the ledger as it stood when it was given.
#[derive(Debug)]
pub(super) struct Answered {
    /// The operation that answered, `pay` or `query`.
    pub op: &'static str,
    pub payment: PaymentId,
    /// What the payment takes off a card, in the programme's unit.
    pub units: i64,
    pub captured: i64,
    pub holds: String,
}

/// What a payment's holds have taken: the units of its captured holds,
/// less nothing given back (credits are counted apart).
fn captured(holds: &[HoldRecord]) -> i64 {
    holds
        .iter()
        .filter(|h| h.status == HoldStatus::Captured)
        .map(|h| h.amount)
        .sum()
}

/// `1 captured of 3000, 1 held of 200`, or `no holds`.
fn describe(holds: &[HoldRecord]) -> String {
    if holds.is_empty() {
        return "no holds".into();
    }
    holds
        .iter()
        .map(|h| match h.refunded {
            0 => format!("{} {}", h.status, h.amount),
            back => format!("{} {} ({back} credited back)", h.status, h.amount),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
