//! What one plugin call's ledger session has already read or written, so
//! the plugin's next call need not read it again: a card payment reads the
//! card and the payment's holds, holds, then captures, and each read is a
//! round trip to the database on the payment's hot path.
//!
//! Only what this call may rely on is kept: a card's programme (which does
//! not change under a call; its balances do, so they are always read anew
//! where they matter) and the holds of the call's own payment, as read and
//! then as this call changed them. Every write the session makes either
//! updates the holds here or forgets them. What the session believes can
//! never move value wrongly: each move's own statements check the card and
//! the hold as they are (`store::ledger`).

use super::session::CardView;
use crate::domain::PaymentId;
use crate::store::HoldRecord;
use paycore_core::ledger::{CardId, HoldId, HoldStatus};

#[derive(Debug, Default)]
pub(super) struct Seen {
    cards: Vec<CardView>,
    holds: Option<(PaymentId, Vec<HoldRecord>)>,
}

impl Seen {
    /// A card read by this call, for its programme and id only.
    pub fn card(&self, id: &CardId) -> Option<&CardView> {
        self.cards.iter().find(|c| &c.id == id)
    }

    pub fn read_card(&mut self, card: &CardView) {
        self.cards.retain(|c| c.id != card.id);
        self.cards.push(card.clone());
    }

    /// The holds of `payment` as this call last knew them.
    pub fn holds(&self, payment: &PaymentId) -> Option<&[HoldRecord]> {
        match &self.holds {
            Some((of, holds)) if of == payment => Some(holds),
            _ => None,
        }
    }

    pub fn read_holds(&mut self, payment: &PaymentId, holds: &[HoldRecord]) {
        self.holds = Some((payment.clone(), holds.to_vec()));
    }

    /// This call opened `hold` on its payment.
    pub fn opened(&mut self, hold: HoldRecord) {
        match &mut self.holds {
            Some((of, holds)) if *of == hold.payment_id => holds.push(hold),
            _ => self.holds = None,
        }
    }

    /// This call captured or released `hold`.
    pub fn settled(&mut self, hold: &HoldId, status: HoldStatus) {
        let Some((_, holds)) = &mut self.holds else {
            return;
        };
        match holds.iter_mut().find(|h| &h.id == hold) {
            Some(h) => h.status = status,
            None => self.holds = None,
        }
    }

    /// The holds may have changed in a way this call did not follow (a
    /// move made by an earlier call, a refusal, a refund): read them again.
    pub fn forget_holds(&mut self) {
        self.holds = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TenantId;

    fn hold(id: &str, payment: &str) -> HoldRecord {
        HoldRecord {
            id: HoldId::from(id),
            tenant_id: TenantId::from("t"),
            card_id: CardId::from("card_1"),
            payment_id: PaymentId::from(payment),
            unit: "CNY".into(),
            amount: 100,
            status: HoldStatus::Held,
            refunded: 0,
            created_at: String::new(),
            updated_at: String::new(),
            created_ms: 0,
        }
    }

    #[test]
    fn holds_follow_this_calls_own_moves_and_are_forgotten_otherwise() {
        let pay = PaymentId::from("pay_1");
        let mut seen = Seen::default();
        assert!(seen.holds(&pay).is_none(), "nothing read yet");
        seen.opened(hold("h0", "pay_1"));
        assert!(seen.holds(&pay).is_none(), "a hold alone is not the list");
        seen.read_holds(&pay, &[]);
        seen.opened(hold("h1", "pay_1"));
        seen.settled(&HoldId::from("h1"), HoldStatus::Captured);
        let known = seen.holds(&pay).unwrap();
        assert_eq!(known.len(), 1);
        assert_eq!(known[0].status, HoldStatus::Captured);
        assert!(seen.holds(&PaymentId::from("pay_2")).is_none());
        seen.settled(&HoldId::from("elsewhere"), HoldStatus::Released);
        assert!(
            seen.holds(&pay).is_none(),
            "a hold it never saw: read again"
        );
        seen.read_holds(&pay, &[hold("h1", "pay_1")]);
        seen.opened(hold("h2", "pay_2"));
        assert!(seen.holds(&pay).is_none(), "another payment's: read again");
    }
}
