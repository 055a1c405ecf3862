//! Card value over time, on the store, with two stores on one database
//! standing in for two instances sweeping at once: expiry moves a card's
//! value once however the instances race; value is forfeited only where
//! the programme allows breakage; held value waits for its payment and is
//! expired when it comes back; reactivation brings dormant value back
//! once; holds stranded behind final payments are captured or released
//! once. The ledger stays balanced throughout.

use super::{new_card, two_stores};
use crate::support::process::Scratch;
use paycore::clock::Clock;
use paycore::domain::{PaymentId, PaymentStatus, TenantId};
use paycore::ledger::{ExpiryOutcome, Ledger, Resolution};
use paycore::store::{
    CardChange, CardChangeRefusal, CardInsert, ChannelAssignment, Event, InsertOutcome, NewPayment,
    PaymentChange, Store,
};
use paycore_core::ledger::{CardId, CardStatus, Funding, HoldId, Move};
use std::collections::BTreeMap;
use std::time::Duration;

/// 2024-05-01T08:30:00Z: where these tests' clock starts.
const T0_MS: i64 = 1_714_552_200_000;
const DAY: Duration = Duration::from_secs(86_400);

/// Two stores on one database reading one manual clock at `T0_MS`.
async fn stores(name: &str) -> (Scratch, Store, Store, Clock) {
    let (scratch, _url, a, b) = two_stores(name).await;
    let clock = Clock::manual_at_millis(T0_MS);
    (
        scratch,
        a.with_clock(clock.clone()),
        b.with_clock(clock.clone()),
        clock,
    )
}

fn tenant() -> TenantId {
    TenantId::from("t")
}

/// A card of `amount`, valid for a day from `T0_MS`.
async fn card_valid_a_day(store: &Store, amount: i64) -> CardId {
    let id = CardId::generate();
    let first = Move::issue(&id, amount, Funding::Sale, None).unwrap();
    let mut new = new_card(&tenant(), &id, Some(first));
    new.expires_ms = Some(T0_MS + DAY.as_millis() as i64);
    assert!(matches!(
        store.insert_card(new).await.unwrap(),
        CardInsert::Created(_)
    ));
    id
}

async fn read(store: &Store, card: &CardId) -> (CardStatus, i64, i64, i64) {
    let c = store.card(&tenant(), card).await.unwrap().unwrap();
    (c.status, c.balance, c.held, c.dormant)
}

/// Postings sum to zero per unit, and no card drifted from its postings.
async fn assert_balanced(store: &Store) -> BTreeMap<String, i64> {
    let totals = store.ledger_totals(&tenant()).await.unwrap();
    let mut per_unit = BTreeMap::<String, i64>::new();
    let mut per_account = BTreeMap::<String, i64>::new();
    for total in &totals {
        *per_unit.entry(total.unit.clone()).or_default() += total.balance;
        *per_account.entry(total.account.clone()).or_default() += total.balance;
    }
    assert!(per_unit.values().all(|sum| *sum == 0), "{totals:?}");
    assert_eq!(store.card_drifts(&tenant()).await.unwrap(), vec![]);
    per_account
}

/// How many postings of `kind` the card has.
async fn postings_of(store: &Store, card: &CardId, kind: &str) -> usize {
    let postings = store.card_postings(&tenant(), card, 0, 100).await.unwrap();
    postings.iter().filter(|p| p.kind.as_str() == kind).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_expiring_the_same_cards_move_each_value_once() {
    let (_scratch, a, b, clock) = stores("lifecycle-race").await;
    let (la, lb) = (Ledger::new(a.clone()), Ledger::new(b.clone()));
    let mut amounts = BTreeMap::new();
    for i in 1..=20 {
        amounts.insert(card_valid_a_day(&a, i * 100).await, i * 100);
    }
    assert!(la.cards_due_for_expiry(100).await.unwrap().is_empty());
    clock.advance(DAY);

    // Both instances read the same due cards, then expire each at once.
    let seen_by_a = la.cards_due_for_expiry(100).await.unwrap();
    let seen_by_b = lb.cards_due_for_expiry(100).await.unwrap();
    assert_eq!(seen_by_a.len(), 20);
    let mut tasks = tokio::task::JoinSet::new();
    for (card, ledger) in seen_by_a
        .into_iter()
        .map(|c| (c, la.clone()))
        .chain(seen_by_b.into_iter().map(|c| (c, lb.clone())))
    {
        tasks.spawn(async move { (card.id.clone(), ledger.expire(&card, false).await.unwrap()) });
    }
    let mut expired_by = BTreeMap::<CardId, usize>::new();
    for (card, outcome) in tasks.join_all().await {
        match outcome {
            ExpiryOutcome::Expired {
                status, expired, ..
            } => {
                assert_eq!(status, CardStatus::Dormant);
                assert_eq!(expired, amounts[&card]);
                *expired_by.entry(card).or_default() += 1;
            }
            ExpiryOutcome::Changed => {}
            ExpiryOutcome::Refused(refusal) => panic!("{card}: {refusal:?}"),
        }
    }
    for (card, amount) in &amounts {
        assert_eq!(expired_by.get(card), Some(&1), "{card} expired once");
        assert_eq!(read(&a, card).await, (CardStatus::Dormant, 0, 0, *amount));
        assert_eq!(postings_of(&a, card, "expire").await, 1);
    }
    assert!(
        la.cards_due_for_expiry(100).await.unwrap().is_empty(),
        "a second pass finds nothing to do"
    );
    let accounts = assert_balanced(&a).await;
    assert_eq!(accounts["dormant"], amounts.values().sum::<i64>());
    assert_eq!(accounts.get("available").copied().unwrap_or(0), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn value_is_forfeited_only_where_the_programme_allows_breakage() {
    let (_scratch, a, b, clock) = stores("lifecycle-breakage").await;
    let kept = card_valid_a_day(&a, 1_000).await;
    let forfeited = card_valid_a_day(&a, 400).await;
    clock.advance(DAY);
    let due = Ledger::new(a.clone())
        .cards_due_for_expiry(10)
        .await
        .unwrap();
    for card in &due {
        let breakage = card.id == forfeited;
        let outcome = Ledger::new(b.clone()).expire(card, breakage).await.unwrap();
        let (status, forfeits) = if breakage {
            (CardStatus::Closed, 400)
        } else {
            (CardStatus::Dormant, 0)
        };
        assert_eq!(
            outcome,
            ExpiryOutcome::Expired {
                status,
                expired: card.balance,
                forfeited: forfeits,
            }
        );
        // The same decision again, on the card as it was read: nothing.
        let again = Ledger::new(a.clone()).expire(card, breakage).await.unwrap();
        assert_eq!(again, ExpiryOutcome::Changed);
    }
    assert_eq!(read(&a, &kept).await, (CardStatus::Dormant, 0, 0, 1_000));
    assert_eq!(read(&a, &forfeited).await, (CardStatus::Closed, 0, 0, 0));
    let accounts = assert_balanced(&a).await;
    assert_eq!(accounts["breakage"], 400);
    assert_eq!(accounts["dormant"], 1_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_value_waits_for_its_payment_and_is_expired_when_it_comes_back() {
    let (_scratch, a, _b, clock) = stores("lifecycle-held").await;
    let ledger = Ledger::new(a.clone());
    let hold = |card: &CardId, id: &HoldId, amount| {
        Move::hold(card, id, &PaymentId::generate(), amount).unwrap()
    };
    // One card of a programme with breakage, one without.
    let breaks = card_valid_a_day(&a, 1_000).await;
    let keeps = card_valid_a_day(&a, 1_000).await;
    let (released, captured) = (HoldId::generate(), HoldId::generate());
    a.apply_move(&tenant(), &hold(&breaks, &released, 300))
        .await
        .unwrap()
        .unwrap();
    a.apply_move(&tenant(), &hold(&keeps, &captured, 300))
        .await
        .unwrap()
        .unwrap();
    clock.advance(DAY);
    let expire_due = async || {
        for card in ledger.cards_due_for_expiry(10).await.unwrap() {
            let breakage = card.id == breaks;
            let outcome = ledger.expire(&card, breakage).await.unwrap();
            assert!(
                matches!(outcome, ExpiryOutcome::Expired { .. }),
                "{outcome:?}"
            );
        }
    };
    expire_due().await;
    // Held value stays held, so both cards stay dormant.
    assert_eq!(read(&a, &breaks).await, (CardStatus::Dormant, 0, 300, 0));
    assert_eq!(read(&a, &keeps).await, (CardStatus::Dormant, 0, 300, 700));

    // One payment fails: its value comes back, and is forfeited with the rest.
    let release = Move::release(&breaks, &released, 300).unwrap();
    a.apply_move(&tenant(), &release).await.unwrap().unwrap();
    assert_eq!(read(&a, &breaks).await, (CardStatus::Dormant, 300, 0, 0));
    // The other succeeds: nothing comes back, the rest stays dormant.
    let capture = Move::capture(&keeps, &captured, 300).unwrap();
    a.apply_move(&tenant(), &capture).await.unwrap().unwrap();
    expire_due().await;
    assert_eq!(read(&a, &breaks).await, (CardStatus::Closed, 0, 0, 0));
    assert_eq!(read(&a, &keeps).await, (CardStatus::Dormant, 0, 0, 700));
    assert_eq!(postings_of(&a, &breaks, "forfeit").await, 2);

    // A refund reaching a card after its expiry is kept dormant where there
    // is no breakage, and the card is dormant again.
    let refund = Move::refund(
        &keeps,
        &captured,
        &paycore::domain::RefundId::generate(),
        100,
    )
    .unwrap();
    a.apply_move(&tenant(), &refund).await.unwrap().unwrap();
    expire_due().await;
    assert_eq!(read(&a, &keeps).await, (CardStatus::Dormant, 0, 0, 800));
    assert!(ledger.cards_due_for_expiry(10).await.unwrap().is_empty());
    let accounts = assert_balanced(&a).await;
    assert_eq!(accounts["breakage"], 1_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reactivation_brings_dormant_value_back_once() {
    let (_scratch, a, b, clock) = stores("lifecycle-reactivate").await;
    let card = card_valid_a_day(&a, 800).await;
    clock.advance(DAY);
    let ledger = Ledger::new(a.clone());
    for due in ledger.cards_due_for_expiry(10).await.unwrap() {
        ledger.expire(&due, false).await.unwrap();
    }
    let dormant = a.card(&tenant(), &card).await.unwrap().unwrap();
    assert_eq!(dormant.status, CardStatus::Dormant);

    // The same reactivation sent to both instances at once.
    let new_validity = T0_MS + 10 * DAY.as_millis() as i64;
    let change = CardChange {
        card: card.clone(),
        read_version: dormant.version,
        status: CardStatus::Active,
        expires_ms: Some(new_validity),
        moves: vec![Move::reactivate(&card, "req-1", 800).unwrap()],
    };
    let mut tasks = tokio::task::JoinSet::new();
    for store in [a.clone(), b.clone()] {
        let change = change.clone();
        tasks.spawn(async move { store.change_card(&tenant(), &change).await.unwrap() });
    }
    let mut outcomes = tasks.join_all().await;
    outcomes.sort_by_key(|o| o.is_err());
    assert_eq!(outcomes, [Ok(()), Err(CardChangeRefusal::Changed)]);
    let active = a.card(&tenant(), &card).await.unwrap().unwrap();
    assert_eq!(
        (active.status, active.balance, active.dormant),
        (CardStatus::Active, 800, 0)
    );
    assert_eq!(active.expires_ms, Some(new_validity));
    assert!(
        a.move_made(&tenant(), &Move::reactivation_key(&card, "req-1"))
            .await
            .unwrap()
    );
    assert_eq!(postings_of(&a, &card, "reactivate").await, 1);

    // Its new validity ends in its turn, as a new period.
    assert!(ledger.cards_due_for_expiry(10).await.unwrap().is_empty());
    clock.advance(9 * DAY);
    let due = ledger.cards_due_for_expiry(10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert!(matches!(
        ledger.expire(&due[0], false).await.unwrap(),
        ExpiryOutcome::Expired { expired: 800, .. }
    ));
    assert_eq!(postings_of(&a, &card, "expire").await, 2);
    assert_balanced(&a).await;
}

/// A payment of tenant `t` stored `unknown`, then moved to `status`.
async fn payment(store: &Store, status: PaymentStatus) -> PaymentId {
    let channel = ChannelAssignment {
        channel_id: "card".into(),
        plugin_name: "card".into(),
        plugin_version: "1.0.0".into(),
        wallet: "card".into(),
    };
    let (first, created) = paycore::payments::machine::create(Some(&channel));
    let new = NewPayment {
        id: PaymentId::generate(),
        tenant_id: tenant(),
        merchant_order_no: paycore::domain::new_id("order"),
        request_hash: "h".into(),
        request: "{}".into(),
        scene: paycore::domain::Scene::Barcode,
        amount: 300,
        currency: paycore::money::Currency::parse("CNY").unwrap(),
        channel: Some(channel),
        status: first,
        created,
        notify_url: None,
        metadata: "{}".into(),
        idempotency_key: None,
        checkout: None,
        channel_amount: None,
        tenders: Vec::new(),
    };
    let InsertOutcome::Created(record) = store.insert_payment(new).await.unwrap() else {
        panic!("a fresh order number existed");
    };
    if status != record.status {
        let change = PaymentChange {
            status: Some(status),
            ..Default::default()
        };
        let event = Event {
            kind: paycore::domain::EventKind::PaymentStatusChanged,
            from_status: Some(record.status.as_str()),
            to_status: Some(status.as_str()),
            detail: serde_json::json!({}),
        };
        store
            .apply_payment_change(&record, &change, &event, None)
            .await
            .unwrap();
    }
    record.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn holds_stranded_behind_final_payments_are_captured_or_released_once() {
    let (_scratch, a, b, _clock) = stores("lifecycle-stranded").await;
    let card = card_valid_a_day(&a, 10_000).await;
    // What a crash between a hold and its capture or release leaves: a
    // hold still held behind each kind of payment.
    let mut holds = BTreeMap::new();
    for status in [
        Some(PaymentStatus::Succeeded),
        Some(PaymentStatus::Failed),
        Some(PaymentStatus::Closed),
        Some(PaymentStatus::Cancelled),
        Some(PaymentStatus::Unknown),
        None,
    ] {
        let payment = match status {
            Some(status) => payment(&a, status).await,
            None => PaymentId::generate(),
        };
        let hold = HoldId::generate();
        let planned = Move::hold(&card, &hold, &payment, 300).unwrap();
        a.apply_move(&tenant(), &planned).await.unwrap().unwrap();
        holds.insert(hold, status);
    }
    assert_eq!(read(&a, &card).await, (CardStatus::Active, 8_200, 1_800, 0));

    // Both instances find them and settle each at once.
    let (la, lb) = (Ledger::new(a.clone()), Ledger::new(b.clone()));
    let stranded = la.stranded_holds(50).await.unwrap();
    assert_eq!(stranded.len(), 5, "the open payment's hold is left alone");
    let mut tasks = tokio::task::JoinSet::new();
    for s in stranded {
        for ledger in [la.clone(), lb.clone()] {
            let s = s.clone();
            tasks.spawn(async move {
                (
                    s.hold.id.clone(),
                    ledger.resolve_stranded(None, &s).await.unwrap(),
                )
            });
        }
    }
    let mut settled = BTreeMap::<HoldId, Vec<Resolution>>::new();
    for (hold, outcome) in tasks.join_all().await {
        // The second of two is applied already (the same key) or finds
        // the hold no longer held: either way nothing more moves.
        if let Ok(resolution) = outcome {
            settled.entry(hold).or_default().push(resolution);
        }
    }
    for (hold, status) in &holds {
        let expected = match status {
            Some(PaymentStatus::Unknown) => continue,
            Some(PaymentStatus::Succeeded) => Resolution::Capture,
            _ => Resolution::Release,
        };
        assert!(
            settled[hold].iter().all(|r| *r == expected),
            "{hold}: {status:?} {:?}",
            settled[hold]
        );
    }
    assert!(la.stranded_holds(50).await.unwrap().is_empty());
    // 300 spent, 1_200 back, 300 still held for the open payment.
    assert_eq!(read(&a, &card).await, (CardStatus::Active, 9_400, 300, 0));
    assert_eq!(postings_of(&a, &card, "capture").await, 1);
    assert_eq!(postings_of(&a, &card, "release").await, 4);
    let accounts = assert_balanced(&a).await;
    assert_eq!(accounts["redemption"], 300);
}
