//! What a card's programme lets it pay: how much to hold on it (minor
//! units, or uses on a punch card; a coupon's discount, by `coupon`), or
//! why it may not pay at all. Pure: the card as the ledger gave it, the
//! payment, and the time.

use paycore_plugin_sdk::types::{Card, CardStatus, ChannelError, PayRequest, ProgramKind};

use crate::coupon;
use crate::failure::{self, Unit};

/// What to hold on the card for the payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge {
    pub amount: i64,
    pub unit: Unit,
}

pub fn charge(card: &Card, request: &PayRequest, now_millis: u64) -> Result<Charge, ChannelError> {
    let program = &card.program;
    if program.currency != request.currency {
        return Err(failure::invalid(
            failure::CURRENCY_MISMATCH,
            format!(
                "the card's programme is in {}, the payment in {}",
                program.currency, request.currency
            ),
        ));
    }
    if request.amount <= 0 {
        return Err(failure::invalid(
            "invalid_amount",
            format!("amount must be above zero, got {}", request.amount),
        ));
    }
    if card.status != CardStatus::Active {
        return Err(failure::not_active(card.status));
    }
    if card.expires_at.is_some_and(|end| end <= now_millis) {
        return Err(failure::not_active(CardStatus::Dormant));
    }
    let amount = request.amount;
    match program.kind {
        ProgramKind::Coupon => {
            let terms = program.coupon.as_ref().ok_or_else(|| {
                failure::invalid(
                    "program_misconfigured",
                    "the coupon programme gives no terms",
                )
            })?;
            // Another payment holds it (the host would refuse the hold).
            if card.held > 0 {
                return Err(failure::coupon_in_use());
            }
            let discount = coupon::discount(terms, request)?;
            if discount > card.balance {
                return Err(failure::insufficient(Unit::Money));
            }
            Ok(Charge {
                amount: discount,
                unit: Unit::Money,
            })
        }
        ProgramKind::Punch => {
            let uses = uses_for(amount, program.covers_up_to)?;
            if uses > card.balance {
                return Err(failure::insufficient(Unit::Uses));
            }
            Ok(Charge {
                amount: uses,
                unit: Unit::Uses,
            })
        }
        ProgramKind::StoredValue | ProgramKind::Gift | ProgramKind::Voucher => {
            if !program.partial_use && amount != card.balance {
                return Err(failure::declined(
                    failure::VOUCHER_IN_FULL,
                    "the card is used once, for exactly its value",
                ));
            }
            if amount > card.balance {
                return Err(failure::insufficient(Unit::Money));
            }
            Ok(Charge {
                amount,
                unit: Unit::Money,
            })
        }
    }
}

/// The uses that pay for `amount`, one use covering at most `covers_up_to`.
fn uses_for(amount: i64, covers_up_to: Option<i64>) -> Result<i64, ChannelError> {
    match covers_up_to {
        Some(covers) if covers > 0 => Ok(amount / covers + i64::from(amount % covers != 0)),
        _ => Err(failure::invalid(
            "program_misconfigured",
            "the punch-card programme does not say what one use covers",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paycore_plugin_sdk::testing::{card, coupon_program, pay_request, program, punch_program};
    use paycore_plugin_sdk::types::{CouponTerms, GoodsItem, Program, Scene};

    const NOW: u64 = 1_000_000;

    fn paying(card: &Card, amount: i64) -> Result<Charge, String> {
        let request = pay_request("A1", amount, "CNY", Scene::Barcode);
        charge(card, &request, NOW).map_err(|e| e.failure().code.clone())
    }

    fn money(amount: i64) -> Result<Charge, String> {
        Ok(Charge {
            amount,
            unit: Unit::Money,
        })
    }

    fn gift() -> Program {
        program("gift", ProgramKind::Gift, "CNY")
    }

    #[test]
    fn partial_use_pays_up_to_the_balance_never_part_of_the_amount() {
        let stored = card("c", &program("sv", ProgramKind::StoredValue, "CNY"), 1_000);
        assert_eq!(paying(&stored, 1_000), money(1_000));
        assert_eq!(paying(&stored, 1), money(1));
        assert_eq!(paying(&stored, 1_001), Err("insufficient_funds".into()));
    }

    #[test]
    fn a_voucher_pays_exactly_its_value() {
        let voucher = card("v", &program("v", ProgramKind::Voucher, "CNY"), 5_000);
        assert_eq!(paying(&voucher, 5_000), money(5_000));
        for amount in [4_999, 5_001] {
            assert_eq!(
                paying(&voucher, amount),
                Err("voucher_must_be_used_in_full".into())
            );
        }
    }

    #[test]
    fn a_punch_use_covers_at_most_its_amount() {
        let coffee = card("p", &punch_program("coffee", "CNY", "coffee", 1_000), 3);
        let uses = |n| {
            Ok(Charge {
                amount: n,
                unit: Unit::Uses,
            })
        };
        assert_eq!(paying(&coffee, 1), uses(1));
        assert_eq!(paying(&coffee, 1_000), uses(1));
        assert_eq!(paying(&coffee, 1_001), uses(2));
        assert_eq!(paying(&coffee, 3_000), uses(3));
        assert_eq!(paying(&coffee, 3_001), Err("insufficient_uses".into()));
        let unbounded = card("p", &program("coffee", ProgramKind::Punch, "CNY"), 3);
        assert_eq!(paying(&unbounded, 1), Err("program_misconfigured".into()));
    }

    #[test]
    fn a_coupon_pays_its_discount_on_the_order_once_it_is_active_and_valid() {
        let five = coupon_program("five", "CNY", CouponTerms::amount_off(500));
        let order = |amount| PayRequest {
            goods: vec![GoodsItem {
                id: "sku".into(),
                name: "lunch".into(),
                quantity: 1,
                unit_price: 3_000,
                discount: 0,
            }],
            ..pay_request("A1", amount, "CNY", Scene::Barcode)
        };
        let coupon = card("cpn_1", &five, 500);
        assert_eq!(
            charge(&coupon, &order(500), NOW),
            Ok(Charge {
                amount: 500,
                unit: Unit::Money
            })
        );
        let closed = Card {
            status: CardStatus::Closed,
            ..coupon.clone()
        };
        let code = |c: &Card| charge(c, &order(500), NOW).map_err(|e| e.failure().code.clone());
        assert_eq!(code(&closed), Err("card_closed".into()), "before its terms");
        let ended = Card {
            expires_at: Some(NOW),
            ..coupon.clone()
        };
        assert_eq!(code(&ended), Err("card_expired".into()));
        let termless = card("cpn_2", &program("k", ProgramKind::Coupon, "CNY"), 500);
        assert_eq!(code(&termless), Err("program_misconfigured".into()));
    }

    #[test]
    fn the_currency_comes_before_anything_else() {
        let hkd = Card {
            status: CardStatus::Closed,
            ..card("h", &program("h", ProgramKind::Gift, "HKD"), 1_000)
        };
        assert_eq!(paying(&hkd, 100), Err("currency_mismatch".into()));
    }

    #[test]
    fn only_an_active_card_in_its_validity_pays() {
        let status = |status| Card {
            status,
            ..card("c", &gift(), 1_000)
        };
        assert_eq!(
            paying(&status(CardStatus::Frozen), 1),
            Err("card_frozen".into())
        );
        assert_eq!(
            paying(&status(CardStatus::Dormant), 1),
            Err("card_expired".into())
        );
        assert_eq!(
            paying(&status(CardStatus::Closed), 1),
            Err("card_closed".into())
        );
        let ended = Card {
            expires_at: Some(NOW),
            ..card("c", &gift(), 1_000)
        };
        assert_eq!(paying(&ended, 1), Err("card_expired".into()));
        let valid = Card {
            expires_at: Some(NOW + 1),
            ..ended
        };
        assert_eq!(paying(&valid, 1), money(1));
    }
}
