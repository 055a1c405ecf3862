//! The end of a card's validity. What is available becomes dormant
//! (`Move::expire`): kept for its holder, who can have it reactivated, as
//! China's rules require. Where the programme allows breakage (never in CN)
//! the dormant value is then forfeited (`Move::forfeit`). A card with
//! nothing left on it is closed; one with value kept, or held for an open
//! payment, is dormant. Held value stays held and resolves with its
//! payment; whatever comes back to the card after its expiry (a released
//! hold, a refund) is expired the same way on the sweeper's next pass.
//!
//! The sweeper decides on the card as read and the store applies the
//! decision only to that version of it, with the moves, in one transaction.

use super::Ledger;
use crate::store::{CardChange, CardChangeRefusal, CardRecord, MoveRefusal, StoreError};
use paycore_core::ledger::{CardStatus, Move, MoveKind};

/// What expiring a card came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpiryOutcome {
    /// Applied: the card's new status, and what moved.
    Expired {
        status: CardStatus,
        expired: i64,
        forfeited: i64,
    },
    /// The card changed since it was read (another instance expired it, a
    /// payment moved value): nothing was written; the next pass decides
    /// again if anything is left to do.
    Changed,
    /// A move was refused: nothing was written. Not expected of a card as
    /// read; logged, and tried again on the next pass.
    Refused(MoveRefusal),
}

/// The change that ends `card`'s validity (or settles value that came back
/// to it after it ended), forfeiting where `breakage` allows.
pub fn plan_expiry(card: &CardRecord, breakage: bool) -> CardChange {
    let period = period(card);
    let mut moves = Vec::new();
    let mut dormant = card.dormant;
    // Amounts are checked positive here, so planning cannot fail.
    if card.balance > 0
        && let Ok(expire) = Move::expire(&card.id, &period, card.balance)
    {
        moves.push(expire);
        dormant += card.balance;
    }
    if breakage
        && dormant > 0
        && let Ok(forfeit) = Move::forfeit(&card.id, &period, dormant)
    {
        moves.push(forfeit);
        dormant = 0;
    }
    let status = if dormant == 0 && card.held == 0 {
        CardStatus::Closed
    } else {
        CardStatus::Dormant
    };
    CardChange {
        card: card.id.clone(),
        read_version: card.version,
        status,
        expires_ms: card.expires_ms,
        moves,
    }
}

/// What keys the moves: the validity that ended, named by its end, the
/// first time; for value that came back later, that and the card's
/// version, since each such return is expired once.
fn period(card: &CardRecord) -> String {
    let ended = card.expires_ms.unwrap_or_default();
    match card.status {
        CardStatus::Active | CardStatus::Frozen => ended.to_string(),
        CardStatus::Dormant | CardStatus::Closed => format!("{ended}.v{}", card.version),
    }
}

impl Ledger {
    /// Cards with expiry work due now, at most `limit`: those whose
    /// validity ended, then dormant or closed ones with work left after it.
    pub async fn cards_due_for_expiry(&self, limit: i64) -> Result<Vec<CardRecord>, StoreError> {
        let mut due = self.store.cards_past_validity(limit).await?;
        let room = limit - due.len() as i64;
        if room > 0 {
            due.extend(self.store.cards_settling_after_expiry(room).await?);
        }
        Ok(due)
    }

    /// Expires `card` as read, forfeiting its dormant value where `breakage`.
    pub async fn expire(
        &self,
        card: &CardRecord,
        breakage: bool,
    ) -> Result<ExpiryOutcome, StoreError> {
        let change = plan_expiry(card, breakage);
        let moved = |kind: MoveKind| -> i64 {
            change
                .moves
                .iter()
                .filter(|m| m.kind == kind)
                .flat_map(|m| &m.postings)
                .map(|p| p.amount)
                .sum()
        };
        let (expired, forfeited) = (moved(MoveKind::Expire), moved(MoveKind::Forfeit));
        Ok(
            match self.store.change_card(&card.tenant_id, &change).await? {
                Ok(()) => ExpiryOutcome::Expired {
                    status: change.status,
                    expired,
                    forfeited,
                },
                Err(CardChangeRefusal::Changed) => ExpiryOutcome::Changed,
                Err(CardChangeRefusal::Move(refusal)) => ExpiryOutcome::Refused(refusal),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paycore_core::ledger::{Account, Bucket, CardId};

    fn card(status: CardStatus, balance: i64, held: i64, dormant: i64) -> CardRecord {
        CardRecord {
            id: CardId::from("card_1"),
            tenant_id: "t".into(),
            program_id: "gift".into(),
            kind: "gift".into(),
            unit: "CNY".into(),
            holder: None,
            named: false,
            status,
            balance,
            held,
            dormant,
            expires_ms: Some(1_000),
            issue_key: "k".into(),
            issue_hash: "h".into(),
            version: 7,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    /// (move key, from, to, amount) of each posting, in order.
    fn postings(change: &CardChange) -> Vec<(String, Account, Account, i64)> {
        change
            .moves
            .iter()
            .flat_map(|m| {
                m.postings
                    .iter()
                    .map(|p| (m.key.clone(), p.from, p.to, p.amount))
            })
            .collect()
    }

    const AVAILABLE: Account = Account::Card(Bucket::Available);
    const DORMANT: Account = Account::Card(Bucket::Dormant);

    #[test]
    fn value_is_kept_dormant_where_breakage_is_not_allowed() {
        let change = plan_expiry(&card(CardStatus::Active, 700, 0, 0), false);
        assert_eq!(change.status, CardStatus::Dormant);
        assert_eq!(
            postings(&change),
            [("expire:card_1:1000".into(), AVAILABLE, DORMANT, 700)]
        );
        assert_eq!((change.read_version, change.expires_ms), (7, Some(1_000)));
    }

    #[test]
    fn value_is_forfeited_and_the_card_closed_where_breakage_is_allowed() {
        let change = plan_expiry(&card(CardStatus::Frozen, 700, 0, 0), true);
        assert_eq!(change.status, CardStatus::Closed);
        assert_eq!(
            postings(&change),
            [
                ("expire:card_1:1000".into(), AVAILABLE, DORMANT, 700),
                (
                    "forfeit:card_1:1000".into(),
                    DORMANT,
                    Account::Breakage,
                    700
                ),
            ]
        );
    }

    #[test]
    fn held_value_stays_held_and_keeps_the_card_dormant() {
        let change = plan_expiry(&card(CardStatus::Active, 0, 300, 0), true);
        assert_eq!(change.status, CardStatus::Dormant);
        assert!(change.moves.is_empty());
    }

    #[test]
    fn a_card_with_nothing_left_is_closed() {
        let change = plan_expiry(&card(CardStatus::Active, 0, 0, 0), false);
        assert_eq!(change.status, CardStatus::Closed);
        assert!(change.moves.is_empty());
        // A dormant card whose held value was since captured.
        let emptied = plan_expiry(&card(CardStatus::Dormant, 0, 0, 0), true);
        assert_eq!(emptied.status, CardStatus::Closed);
    }

    #[test]
    fn value_back_after_expiry_is_expired_once_per_card_version() {
        // A refund reached a closed card of a programme without breakage:
        // kept dormant for its holder, so the card is dormant again.
        let kept = plan_expiry(&card(CardStatus::Closed, 250, 0, 0), false);
        assert_eq!(kept.status, CardStatus::Dormant);
        assert_eq!(
            postings(&kept),
            [("expire:card_1:1000.v7".into(), AVAILABLE, DORMANT, 250)]
        );
        // Released on a dormant card with breakage: forfeited with it.
        let forfeited = plan_expiry(&card(CardStatus::Dormant, 250, 0, 100), true);
        assert_eq!(forfeited.status, CardStatus::Closed);
        assert_eq!(
            postings(&forfeited),
            [
                ("expire:card_1:1000.v7".into(), AVAILABLE, DORMANT, 250),
                (
                    "forfeit:card_1:1000.v7".into(),
                    DORMANT,
                    Account::Breakage,
                    350
                ),
            ]
        );
    }
}
