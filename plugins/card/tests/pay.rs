//! `pay`: finding the card, the programmes' rules, one hold per payment
//! and card, and what each ledger answer becomes. A declined or refused
//! payment leaves the card as it was.

mod support;

use paycore_plugin_card::CardChannel;
use paycore_plugin_sdk::testing::{FakeHost, card};
use paycore_plugin_sdk::types::*;
use paycore_plugin_sdk::{Describe, Host};
use support::*;

#[test]
fn the_manifest_declares_a_ledger_channel_with_no_hosts() {
    let manifest = CardChannel.manifest();
    assert_eq!(manifest.name, "card");
    assert_eq!(manifest.version, "1.0.0");
    assert_eq!(manifest.contract_version, "1.1.0");
    assert_eq!(manifest.scenes, [Scene::Barcode, Scene::Jsapi]);
    assert_eq!(manifest.wallets, ["card"]);
    assert_eq!(
        manifest.currencies,
        ["CNY", "HKD", "USD", "EUR", "GBP", "JPY", "SGD"]
    );
    assert!(manifest.settings.is_empty() && manifest.secrets.is_empty());
    assert!(manifest.hosts.is_empty());
    assert!(CardChannel.settings().is_empty());
}

#[test]
fn a_payment_code_pays_and_its_hold_is_the_order_number() {
    let host = host_with(card("card_1", &gift(), 5_000));
    let request = barcode("A1", 1_200);
    let result = pay(&host, &request).unwrap();
    assert_eq!(result.status, PaymentStatus::Succeeded);
    assert_eq!(result.amount, Some(1_200));
    assert_eq!(result.currency.as_deref(), Some("CNY"));
    let holds = host.holds_of(&request.payment_id);
    assert_eq!(holds.len(), 1);
    assert_eq!(result.channel_order_no, Some(holds[0].id.clone()));
    assert_eq!(holds[0].status, HoldStatus::Captured);
    assert_eq!(value(&host, "card_1"), (3_800, 0));
    assert!(host.requests().is_empty(), "no HTTP at all");
}

#[test]
fn a_retry_of_the_same_payment_finds_the_same_hold() {
    let host = host_with(member_card("card_1", &stored_value(), 1_000));
    let request = barcode("A1", 1_000);
    let first = pay(&host, &request).unwrap();
    let again = pay(&host, &request).unwrap();
    assert_eq!(again, first);
    assert_eq!(host.holds_of(&request.payment_id).len(), 1);
    assert_eq!(value(&host, "card_1"), (0, 0), "charged once");
}

#[test]
fn a_retry_after_the_hold_alone_captures_it() {
    let host = host_with(card("card_1", &voucher(), 5_000));
    let request = barcode("A1", 5_000);
    // The first call held the voucher and was cut off before capturing.
    host.set_operation(paycore_plugin_sdk::testing::Operation::pay(&request));
    let hold = host.ledger_hold("card_1", 5_000).unwrap();
    let result = pay(&host, &request).unwrap();
    assert_eq!(result.channel_order_no, Some(hold.id));
    assert_eq!(
        host.holds_of(&request.payment_id)[0].status,
        HoldStatus::Captured
    );
    assert_eq!(value(&host, "card_1"), (0, 0));
}

#[test]
fn a_code_is_refused_unless_it_is_valid_and_this_payments() {
    let host = host_with(card("card_1", &gift(), 5_000));
    pay(&host, &barcode("A1", 100)).unwrap();
    let used = failed(pay(&host, &barcode("A2", 100)));
    assert_eq!(
        used, "declined:invalid_auth_code",
        "used by another payment"
    );

    let unknown = PayRequest {
        auth_code: Some("889999999999999999".into()),
        ..barcode("A3", 100)
    };
    assert_eq!(failed(pay(&host, &unknown)), "declined:invalid_auth_code");

    let expired = host_with(card("card_1", &gift(), 5_000));
    expired.advance_millis(paycore_plugin_sdk::testing::PAYMENT_CODE_VALIDITY_MILLIS);
    assert_eq!(
        failed(pay(&expired, &barcode("A4", 100))),
        "declined:invalid_auth_code"
    );

    let other_wallet = PayRequest {
        auth_code: Some("134567890123456789".into()),
        ..barcode("A5", 100)
    };
    assert_eq!(
        failed(pay(&host, &other_wallet)),
        "declined:invalid_auth_code"
    );
    let none = PayRequest {
        auth_code: None,
        ..barcode("A6", 100)
    };
    assert_eq!(
        failed(pay(&host, &none)),
        "invalid-request:missing_auth_code"
    );
    assert_eq!(value(&host, "card_1"), (4_900, 0));
}

#[test]
fn jsapi_pays_only_the_members_own_card() {
    let host = FakeHost::new()
        .with_card(member_card("card_1", &stored_value(), 2_000))
        .with_card(card("card_2", &gift(), 2_000));
    let result = pay(&host, &jsapi("A1", 500, "card_1", MEMBER)).unwrap();
    assert_eq!(result.status, PaymentStatus::Succeeded);
    assert_eq!(value(&host, "card_1"), (1_500, 0));

    let theirs = pay(&host, &jsapi("A2", 500, "card_1", "member-2"));
    let unknown = pay(&host, &jsapi("A3", 500, "card_9", MEMBER));
    let unnamed = pay(&host, &jsapi("A4", 500, "card_2", MEMBER));
    let messages: Vec<_> = [theirs, unknown, unnamed]
        .into_iter()
        .map(|r| {
            let err = r.unwrap_err();
            assert!(matches!(&err, ChannelError::Declined(f) if f.code == "card_not_found"));
            err.failure().message.clone()
        })
        .collect();
    assert!(
        messages.iter().all(|m| *m == messages[0]),
        "never says whose card it is"
    );
    assert_eq!(value(&host, "card_1"), (1_500, 0));
    assert_eq!(value(&host, "card_2"), (2_000, 0));

    let no_member = PayRequest {
        payer: None,
        ..jsapi("A5", 500, "card_1", MEMBER)
    };
    assert_eq!(
        failed(pay(&host, &no_member)),
        "invalid-request:missing_payer"
    );
}

#[test]
fn another_currency_moves_nothing() {
    let host = host_with(card("card_1", &gift(), 5_000));
    let request = PayRequest {
        currency: "HKD".into(),
        ..barcode("A1", 100)
    };
    assert_eq!(
        failed(pay(&host, &request)),
        "invalid-request:currency_mismatch"
    );
    assert!(host.holds_of(&request.payment_id).is_empty());
    assert_eq!(value(&host, "card_1"), (5_000, 0));
}

#[test]
fn only_an_active_card_pays() {
    for (status, code) in [
        (CardStatus::Frozen, "declined:card_frozen"),
        (CardStatus::Dormant, "declined:card_expired"),
        (CardStatus::Closed, "declined:card_closed"),
    ] {
        let host = host_with(Card {
            status,
            ..card("card_1", &gift(), 5_000)
        });
        assert_eq!(failed(pay(&host, &barcode("A1", 100))), code);
        assert!(host.holds_of("pay_A1").is_empty());
    }
    let host = host_with(card("card_1", &gift(), 5_000));
    host.set_card(Card {
        expires_at: Some(host.now_millis()),
        ..card("card_1", &gift(), 5_000)
    });
    assert_eq!(
        failed(pay(&host, &barcode("A1", 100))),
        "declined:card_expired"
    );
}

#[test]
fn stored_value_never_pays_part_of_the_amount() {
    let host = host_with(member_card("card_1", &stored_value(), 999));
    let request = barcode("A1", 1_000);
    assert_eq!(failed(pay(&host, &request)), "declined:insufficient_funds");
    assert!(host.holds_of(&request.payment_id).is_empty());
    assert_eq!(value(&host, "card_1"), (999, 0));
}

#[test]
fn a_voucher_not_used_in_full_holds_nothing() {
    let host = host_with(card("card_1", &voucher(), 5_000));
    let short = barcode("A1", 4_000);
    assert_eq!(
        failed(pay(&host, &short)),
        "declined:voucher_must_be_used_in_full"
    );
    assert!(host.holds_of(&short.payment_id).is_empty());
    assert_eq!(value(&host, "card_1"), (5_000, 0));
    let full = barcode("A1", 5_000);
    assert_eq!(pay(&host, &full).unwrap().status, PaymentStatus::Succeeded);
    assert_eq!(value(&host, "card_1"), (0, 0));
}

#[test]
fn a_punch_card_pays_ten_coffees_then_declines() {
    let host = FakeHost::new().with_card(member_card("card_1", &coffee(), 10));
    for n in 0..10 {
        let request = jsapi(&format!("C{n}"), 850, "card_1", MEMBER);
        assert_eq!(pay(&host, &request).unwrap().amount, Some(850));
        assert_eq!(host.holds_of(&request.payment_id)[0].amount, 1, "one use");
    }
    assert_eq!(value(&host, "card_1"), (0, 0));
    let eleventh = jsapi("C10", 850, "card_1", MEMBER);
    assert_eq!(failed(pay(&host, &eleventh)), "declined:insufficient_uses");
    assert!(host.holds_of(&eleventh.payment_id).is_empty());
}

#[test]
fn a_punch_use_covers_at_most_its_amount() {
    let host = FakeHost::new().with_card(member_card("card_1", &coffee(), 3));
    let request = jsapi("C1", 2_001, "card_1", MEMBER);
    pay(&host, &request).unwrap();
    assert_eq!(host.holds_of(&request.payment_id)[0].amount, 3);
    assert_eq!(value(&host, "card_1"), (0, 0));
    let more = jsapi("C2", 1, "card_1", MEMBER);
    assert_eq!(failed(pay(&host, &more)), "declined:insufficient_uses");
}

#[test]
fn an_unreachable_ledger_is_unavailable_and_moves_nothing() {
    let host = host_with(card("card_1", &gift(), 5_000));
    host.set_ledger_unavailable(Some("database down"));
    let err = pay(&host, &barcode("A1", 100)).unwrap_err();
    assert!(matches!(&err, ChannelError::Unavailable(f) if f.code == "ledger_unavailable"));
    host.set_ledger_unavailable(None);
    assert!(host.holds_of("pay_A1").is_empty());
    assert_eq!(value(&host, "card_1"), (5_000, 0));
}

#[test]
fn what_the_ledger_refuses_is_refused_in_its_words() {
    use paycore_plugin_sdk::Channel;
    use paycore_plugin_sdk::testing::{Operation, call_context};
    let host = host_with(card("card_1", &gift(), 5_000));
    let request = barcode("A1", 100);
    // Called as if it were a query: the ledger lets no code be read.
    host.set_operation(Operation::query(&payment_ref(&request)));
    let err = CardChannel
        .pay(&host, &call_context(&[]), request)
        .unwrap_err();
    let ChannelError::InvalidRequest(failure) = err else {
        panic!("{err:?}");
    };
    assert_eq!(failure.code, "ledger_refused");
    assert!(
        failure.message.contains("only `pay`"),
        "{}",
        failure.message
    );
}
