//! What the ledger reads of a card programme (`[[card_programs]]`, checked
//! by the config): the unit its value is counted in and what a use pays for.

pub use crate::config::CardProgram as Program;
use crate::config::ProgramUnit;

/// The tenant's programme named `id`.
pub(super) fn program_of<'t>(
    tenant: &'t crate::config::TenantConfig,
    id: &str,
) -> Result<&'t Program, super::CardError> {
    tenant
        .card_programs
        .iter()
        .find(|p| p.id == id)
        .ok_or_else(|| super::CardError::UnknownProgram(id.to_string()))
}

/// The ledger's reading of a programme.
pub trait ProgramUnits {
    /// The unit of the programme's postings: the currency's code, or
    /// `<service unit>@<programme>` (so two programmes' "coffee" never add up).
    fn ledger_unit(&self) -> String;
    /// The most of the programme's units a payment of `amount` (in its
    /// currency) may take: the amount itself for money, the uses it needs
    /// on a punch card (each covering at most its price).
    fn units_for(&self, amount: i64) -> i64;
    /// A punch card's service unit and what one use covers.
    fn service(&self) -> Option<(&str, i64)>;
}

impl ProgramUnits for Program {
    fn ledger_unit(&self) -> String {
        match &self.unit {
            ProgramUnit::Money(currency) => currency.to_string(),
            ProgramUnit::Service { name, .. } => paycore_core::ledger::service_unit(name, &self.id),
        }
    }

    fn units_for(&self, amount: i64) -> i64 {
        match self.service() {
            Some((_, covers)) if covers > 0 && amount > 0 => (amount - 1) / covers + 1,
            _ => amount,
        }
    }

    fn service(&self) -> Option<(&str, i64)> {
        match &self.unit {
            ProgramUnit::Service { name, covers_up_to } => Some((name, covers_up_to.minor)),
            ProgramUnit::Money(_) => None,
        }
    }
}
