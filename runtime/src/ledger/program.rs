//! What the ledger needs to know of a card programme: the unit its value is
//! counted in, what a use of it pays for, and its cap. Read from the tenant
//! config's `[[card_programs]]`.

use crate::domain::{CardProgramId, ProgramKind};
use crate::money::Currency;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    pub id: CardProgramId,
    pub kind: ProgramKind,
    /// The currency of the value, or the currency one use of a punch card
    /// pays for.
    pub currency: Currency,
    /// Punch cards: the service unit, and the most one use pays for.
    pub service: Option<(String, i64)>,
    pub partial_use: bool,
    /// The most one card may hold, in its unit.
    pub cap: Option<i64>,
}

impl Program {
    /// The unit of the programme's postings: the currency's code, or
    /// `<service unit>@<programme>` (so two programmes' "coffee" never add up).
    pub fn ledger_unit(&self) -> String {
        match &self.service {
            Some((unit, _)) => paycore_core::ledger::service_unit(unit, &self.id),
            None => self.currency.as_str().to_string(),
        }
    }

    /// The most `amount` of its currency may take of this programme's
    /// units: the amount itself for money, the uses it takes on a punch
    /// card (each covering at most its price).
    pub fn units_for(&self, amount: i64) -> i64 {
        match &self.service {
            Some((_, covers)) if *covers > 0 && amount > 0 => (amount - 1) / covers + 1,
            _ => amount,
        }
    }
}
