use super::*;

fn card() -> CardId {
    CardId::from("card_1")
}

/// What each move does to the card's three balances and to the tenant's
/// accounts, summed over its postings.
fn effect(planned: &Move) -> std::collections::BTreeMap<String, i64> {
    let mut sums = std::collections::BTreeMap::new();
    for posting in &planned.postings {
        *sums.entry(posting.from.name(&planned.card)).or_insert(0) -= posting.amount;
        *sums.entry(posting.to.name(&planned.card)).or_insert(0) += posting.amount;
    }
    sums.retain(|_, v| *v != 0);
    sums
}

fn sums(entries: &[(&str, i64)]) -> std::collections::BTreeMap<String, i64> {
    entries.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
fn every_move_takes_from_one_account_what_it_gives_another() {
    let payment = PaymentId::from("pay_1");
    let refund = RefundId::from("re_1");
    let hold = HoldId::from("hold_1");
    let c = card();
    let cases = [
        (
            Move::issue(&c, 500, Funding::Sale, Some(1000)).unwrap(),
            sums(&[("sales", -500), ("card:card_1", 500)]),
        ),
        (
            Move::issue(&c, 500, Funding::Promotion, None).unwrap(),
            sums(&[("promotion", -500), ("card:card_1", 500)]),
        ),
        (
            Move::sale(&c, &payment, 10_000, None).unwrap(),
            sums(&[("sales", -10_000), ("card:card_1", 10_000)]),
        ),
        (
            Move::top_up(&c, &payment, 50_000, 5_000, None).unwrap(),
            sums(&[
                ("sales", -50_000),
                ("promotion", -5_000),
                ("card:card_1", 55_000),
            ]),
        ),
        (
            Move::top_up_reversal(&c, &refund, 50_000, 5_000).unwrap(),
            sums(&[
                ("sales", 50_000),
                ("promotion", 5_000),
                ("card:card_1", -55_000),
            ]),
        ),
        (
            Move::top_up_restored(&c, &refund, 50_000, 5_000).unwrap(),
            sums(&[
                ("sales", -50_000),
                ("promotion", -5_000),
                ("card:card_1", 55_000),
            ]),
        ),
        (
            Move::hold(&c, &hold, &payment, 1_000).unwrap(),
            sums(&[("card:card_1", -1_000), ("card:card_1:held", 1_000)]),
        ),
        (
            Move::capture(&c, &hold, 1_000).unwrap(),
            sums(&[("card:card_1:held", -1_000), ("redemption", 1_000)]),
        ),
        (
            Move::release(&c, &hold, 1_000).unwrap(),
            sums(&[("card:card_1:held", -1_000), ("card:card_1", 1_000)]),
        ),
        (
            Move::refund(&c, &hold, &refund, 400).unwrap(),
            sums(&[("redemption", -400), ("card:card_1", 400)]),
        ),
        (
            Move::expire(&c, "2026-12", 300).unwrap(),
            sums(&[("card:card_1", -300), ("card:card_1:dormant", 300)]),
        ),
        (
            Move::reactivate(&c, "r1", 300).unwrap(),
            sums(&[("card:card_1:dormant", -300), ("card:card_1", 300)]),
        ),
        (
            Move::forfeit(&c, "2026-12", 300).unwrap(),
            sums(&[("card:card_1:dormant", -300), ("breakage", 300)]),
        ),
        (
            Move::coupon_hold(&c, &hold, &payment, 500).unwrap(),
            sums(&[("card:card_1", -500), ("card:card_1:held", 500)]),
        ),
        (
            Move::retire(&c, &hold, 1_500).unwrap(),
            sums(&[("card:card_1", -1_500), ("promotion", 1_500)]),
        ),
        (
            Move::retire_refunded(&c, &hold, &refund, 500).unwrap(),
            sums(&[("card:card_1", -500), ("promotion", 500)]),
        ),
        (
            Move::restore(&c, &hold, &refund, 1_500).unwrap(),
            sums(&[("promotion", -1_500), ("card:card_1", 1_500)]),
        ),
    ];
    for (planned, expected) in cases {
        assert_eq!(effect(&planned), expected, "{planned}");
        let total: i64 = effect(&planned).values().sum();
        assert_eq!(total, 0, "{planned} must sum to zero");
    }
}

#[test]
fn a_top_up_without_bonus_has_one_posting() {
    let planned = Move::top_up(&card(), &PaymentId::from("pay_1"), 100, 0, None).unwrap();
    assert_eq!(planned.postings.len(), 1);
}

#[test]
fn amounts_must_be_above_zero() {
    let c = card();
    assert_eq!(
        Move::issue(&c, 0, Funding::Sale, None),
        Err(PlanError::NotPositive(0))
    );
    assert_eq!(
        Move::hold(&c, &HoldId::from("h"), &PaymentId::from("p"), -5),
        Err(PlanError::NotPositive(-5))
    );
    assert_eq!(
        Move::top_up(&c, &PaymentId::from("p"), -1, 10, None),
        Err(PlanError::NotPositive(-1))
    );
}

#[test]
fn keys_come_from_the_operation_so_a_retry_is_the_same_move() {
    let c = card();
    let payment = PaymentId::from("pay_9");
    let first = Move::hold(&c, &HoldId::from("hold_a"), &payment, 100).unwrap();
    let again = Move::hold(&c, &HoldId::from("hold_b"), &payment, 100).unwrap();
    assert_eq!(first.key, again.key);
    assert_eq!(first.fingerprint(), again.fingerprint());
    let other_amount = Move::hold(&c, &HoldId::from("hold_a"), &payment, 200).unwrap();
    assert_eq!(first.key, other_amount.key);
    assert_ne!(first.fingerprint(), other_amount.fingerprint());
}

#[test]
fn only_moves_out_of_the_available_balance_need_an_active_card() {
    let c = card();
    let hold = HoldId::from("h");
    let payment = PaymentId::from("p");
    assert!(Move::hold(&c, &hold, &payment, 1).unwrap().requires_active);
    assert!(
        !Move::top_up(&c, &payment, 1, 0, None)
            .unwrap()
            .requires_active
    );
    assert!(!Move::release(&c, &hold, 1).unwrap().requires_active);
    assert!(
        !Move::refund(&c, &hold, &RefundId::from("r"), 1)
            .unwrap()
            .requires_active
    );
    assert!(!Move::expire(&c, "p", 1).unwrap().requires_active);
}

#[test]
fn value_from_outside_the_card_is_what_its_cap_bounds() {
    let c = card();
    let hold = HoldId::from("h");
    assert!(
        Move::issue(&c, 1, Funding::Sale, None)
            .unwrap()
            .adds_value()
    );
    assert!(
        Move::refund(&c, &hold, &RefundId::from("r"), 1)
            .unwrap()
            .adds_value()
    );
    assert!(!Move::release(&c, &hold, 1).unwrap().adds_value());
    assert!(!Move::reactivate(&c, "r", 1).unwrap().adds_value());
    assert!(!Move::capture(&c, &hold, 1).unwrap().adds_value());
}

#[test]
fn a_payment_funds_one_card() {
    let payment = PaymentId::from("pay_1");
    let one = Move::sale(&CardId::from("card_1"), &payment, 100, None).unwrap();
    let other = Move::sale(&CardId::from("card_2"), &payment, 100, None).unwrap();
    assert_eq!(one.key, other.key);
    assert_ne!(one.fingerprint(), other.fingerprint());
}

#[test]
fn a_used_coupon_retires_the_rest_and_a_refund_restores_it_all_summing_to_zero() {
    let c = CardId::coupon();
    assert!(c.starts_with("cpn_"), "{c}");
    let payment = PaymentId::from("pay_1");
    let refund = RefundId::from("re_1");
    let hold = HoldId::from("hold_1");
    // 20.00 off at most, 12.00 taken off an order, refunded in full.
    let life = [
        Move::issue(&c, 2_000, Funding::Promotion, None).unwrap(),
        Move::coupon_hold(&c, &hold, &payment, 1_200).unwrap(),
        Move::capture(&c, &hold, 1_200).unwrap(),
        Move::retire(&c, &hold, 800).unwrap(),
        Move::refund(&c, &hold, &refund, 1_200).unwrap(),
        Move::restore(&c, &hold, &refund, 800).unwrap(),
    ];
    let mut total = std::collections::BTreeMap::<String, i64>::new();
    for (i, planned) in life.iter().enumerate() {
        for (account, change) in effect(planned) {
            *total.entry(account).or_insert(0) += change;
        }
        if i == 3 {
            // Used: nothing left on it, the promotion paid only the discount.
            let mut used = total.clone();
            used.retain(|_, v| *v != 0);
            assert_eq!(used, sums(&[("promotion", -1_200), ("redemption", 1_200)]));
        }
    }
    total.retain(|_, v| *v != 0);
    assert_eq!(
        total,
        sums(&[("promotion", -2_000), (&format!("card:{c}"), 2_000)]),
        "restored: as issued"
    );
    assert_eq!(life[3].key, format!("retire:{hold}"));
    assert_eq!(life[5].key, format!("restore:{refund}:{hold}"));
    assert_ne!(
        Move::retire_refunded(&c, &hold, &refund, 800).unwrap().key,
        life[3].key,
        "a refund's retirement is another move than the capture's"
    );
    assert_eq!(
        Move::retire(&c, &hold, 0),
        Err(PlanError::NotPositive(0)),
        "nothing left: no move"
    );
}

#[test]
fn only_a_coupon_hold_needs_nothing_else_held() {
    let c = card();
    let hold = HoldId::from("h");
    let payment = PaymentId::from("p");
    let coupon = Move::coupon_hold(&c, &hold, &payment, 1).unwrap();
    let plain = Move::hold(&c, &hold, &payment, 1).unwrap();
    assert!(coupon.sole_hold && coupon.requires_active);
    assert!(!plain.sole_hold);
    assert_eq!(
        coupon.key, plain.key,
        "one hold per payment and card either way"
    );
    assert!(!Move::retire(&c, &hold, 1).unwrap().requires_active);
    assert!(!Move::retire(&c, &hold, 1).unwrap().adds_value());
    assert!(
        Move::restore(&c, &hold, &RefundId::from("r"), 1)
            .unwrap()
            .adds_value()
    );
}
