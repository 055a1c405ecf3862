//! The ledger's guarantees, checked on the store directly, on whichever
//! backend the run uses, with two stores on one database standing in for two
//! instances: random sequences of issue, top-up, hold, capture, release,
//! refund, expiry, freezing, retries and restarts against a model of what
//! each should do; postings summing to zero per unit; stored balances equal
//! to their postings; never a balance below zero; concurrent holds on one
//! card never taking more than it holds.

mod lifecycle;
mod tender_scope;

use crate::support::process::{self, Scratch};
use paycore::domain::{PaymentId, RefundId, TenantId};
use paycore::store::{Applied, Backend, CardInsert, MoveRefusal, NewCard, StatusChange, Store};
use paycore_core::ledger::{Bucket, CardId, CardStatus, Funding, HoldId, HoldStatus, Move};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;

const CAP: i64 = 50_000;

async fn two_stores(name: &str) -> (Scratch, String, Store, Store) {
    let scratch = Scratch::new(name);
    let url = process::database_url(&scratch.0).await;
    let a = Store::open(&url, None).await.unwrap().with_instance("a");
    let b = Store::open(&url, None).await.unwrap().with_instance("b");
    (scratch, url, a, b)
}

fn new_card(tenant: &TenantId, id: &CardId, first: Option<Move>) -> NewCard {
    NewCard {
        id: id.clone(),
        tenant_id: tenant.clone(),
        program_id: "member".into(),
        kind: "stored_value".into(),
        unit: "CNY".into(),
        holder: Some("m1".into()),
        named: true,
        expires_ms: None,
        issue_key: format!("issue-{id}"),
        issue_hash: "h".into(),
        first_value: first,
    }
}

/// What the ledger should hold, kept beside it.
#[derive(Debug, Default, Clone, PartialEq)]
struct ModelCard {
    status: Option<CardStatus>,
    balance: i64,
    held: i64,
    dormant: i64,
}

#[derive(Debug, Clone)]
struct ModelHold {
    id: HoldId,
    card: usize,
    amount: i64,
    status: HoldStatus,
    refunded: i64,
}

#[derive(Default)]
struct Model {
    cards: Vec<(CardId, ModelCard)>,
    holds: Vec<ModelHold>,
}

/// The move's expected outcome: applied (with the model's change) or refused.
fn expect(outcome: &Result<Applied, MoveRefusal>, applies: bool, what: &str) -> bool {
    match (outcome, applies) {
        (Ok(applied), true) => {
            assert!(applied.now, "{what}: applied by an earlier call?");
            true
        }
        (Err(_), false) => false,
        (outcome, _) => panic!("{what}: expected applies={applies}, got {outcome:?}"),
    }
}

async fn run_sequence(seed: u64, a: &Store, b: &Store, url: &str, tenant: &TenantId) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut model = Model::default();
    let mut last: Option<Move> = None;
    let mut reopened: Option<Store> = None;
    for step in 0..120 {
        let store = match (&reopened, rng.random_range(0..3)) {
            (Some(s), 0) => s,
            (_, 1) => b,
            _ => a,
        };
        let op = if model.cards.is_empty() {
            0
        } else {
            rng.random_range(0..12)
        };
        let pick = |rng: &mut StdRng, n: usize| rng.random_range(0..n);
        let what = format!("seed {seed} step {step} op {op}");
        match op {
            0 => {
                let id = CardId::generate();
                let amount = rng.random_range(1..=60_000);
                let first = Move::issue(&id, amount, Funding::Sale, Some(CAP)).unwrap();
                let fits = amount <= CAP;
                match store
                    .insert_card(new_card(tenant, &id, Some(first)))
                    .await
                    .unwrap()
                {
                    CardInsert::Created(_) => {
                        assert!(fits, "{what}: issued above its cap");
                        model.cards.push((
                            id,
                            ModelCard {
                                status: Some(CardStatus::Active),
                                balance: amount,
                                ..Default::default()
                            },
                        ));
                    }
                    CardInsert::Refused(MoveRefusal::OverCap { .. }) => {
                        assert!(!fits, "{what}: refused under its cap");
                        assert!(
                            store.card(tenant, &id).await.unwrap().is_none(),
                            "{what}: a refused issue left a card"
                        );
                    }
                    CardInsert::Refused(other) => panic!("{what}: {other:?}"),
                    CardInsert::Existing { .. } => panic!("{what}: a fresh key found a card"),
                }
            }
            1 => {
                let i = pick(&mut rng, model.cards.len());
                let (id, card) = &mut model.cards[i];
                let amount = rng.random_range(1..=20_000);
                let bonus = rng.random_range(0..=2_000);
                let planned =
                    Move::top_up(id, &PaymentId::generate(), amount, bonus, Some(CAP)).unwrap();
                // A paid top-up reaches a frozen card too; only the cap bounds it.
                let applies = card.balance + card.held + card.dormant + amount + bonus <= CAP;
                let outcome = store.apply_move(tenant, &planned).await.unwrap();
                if expect(&outcome, applies, &what) {
                    card.balance += amount + bonus;
                    last = Some(planned);
                }
            }
            2 | 3 => {
                let i = pick(&mut rng, model.cards.len());
                let (id, card) = &mut model.cards[i];
                let amount = rng.random_range(1..=15_000);
                let hold = HoldId::generate();
                let planned = Move::hold(id, &hold, &PaymentId::generate(), amount).unwrap();
                let applies = card.status == Some(CardStatus::Active) && card.balance >= amount;
                let outcome = store.apply_move(tenant, &planned).await.unwrap();
                if expect(&outcome, applies, &what) {
                    card.balance -= amount;
                    card.held += amount;
                    model.holds.push(ModelHold {
                        id: hold,
                        card: i,
                        amount,
                        status: HoldStatus::Held,
                        refunded: 0,
                    });
                    last = Some(planned);
                }
            }
            4 | 5 if !model.holds.is_empty() => {
                let h = pick(&mut rng, model.holds.len());
                let hold = model.holds[h].clone();
                let (id, card) = &mut model.cards[hold.card];
                let capture = op == 4;
                let planned = if capture {
                    Move::capture(id, &hold.id, hold.amount).unwrap()
                } else {
                    Move::release(id, &hold.id, hold.amount).unwrap()
                };
                let target = if capture {
                    HoldStatus::Captured
                } else {
                    HoldStatus::Released
                };
                let outcome = store.apply_move(tenant, &planned).await.unwrap();
                if hold.status == target {
                    // The same capture or release again: already made.
                    assert!(
                        matches!(outcome, Ok(Applied { now: false, .. })),
                        "{what}: {outcome:?}"
                    );
                } else if expect(&outcome, hold.status == HoldStatus::Held, &what) {
                    card.held -= hold.amount;
                    if !capture {
                        card.balance += hold.amount;
                    }
                    model.holds[h].status = target;
                    last = Some(planned);
                }
            }
            6 if !model.holds.is_empty() => {
                let h = pick(&mut rng, model.holds.len());
                let hold = model.holds[h].clone();
                let (id, card) = &mut model.cards[hold.card];
                let amount = rng.random_range(1..=hold.amount.max(1) + 500);
                let planned = Move::refund(id, &hold.id, &RefundId::generate(), amount).unwrap();
                let applies =
                    hold.status == HoldStatus::Captured && hold.refunded + amount <= hold.amount;
                let outcome = store.apply_move(tenant, &planned).await.unwrap();
                if expect(&outcome, applies, &what) {
                    card.balance += amount;
                    model.holds[h].refunded += amount;
                    last = Some(planned);
                }
            }
            7 => {
                let i = pick(&mut rng, model.cards.len());
                let (id, card) = &mut model.cards[i];
                let period = format!("p{step}");
                if card.balance > 0 {
                    let planned = Move::expire(id, &period, card.balance).unwrap();
                    let outcome = store.apply_move(tenant, &planned).await.unwrap();
                    expect(&outcome, true, &what);
                    card.dormant += card.balance;
                    card.balance = 0;
                    last = Some(planned);
                }
                if card.dormant > 0 {
                    let amount = rng.random_range(1..=card.dormant);
                    let planned = if rng.random_bool(0.5) {
                        Move::reactivate(id, &period, amount).unwrap()
                    } else {
                        Move::forfeit(id, &period, amount).unwrap()
                    };
                    let reactivates = planned.postings[0].to
                        == paycore_core::ledger::Account::Card(Bucket::Available);
                    let outcome = store.apply_move(tenant, &planned).await.unwrap();
                    expect(&outcome, true, &what);
                    card.dormant -= amount;
                    if reactivates {
                        card.balance += amount;
                    }
                    last = Some(planned);
                }
            }
            8 => {
                let i = pick(&mut rng, model.cards.len());
                let (id, card) = &mut model.cards[i];
                let (from, to) = match card.status {
                    Some(CardStatus::Active) => (CardStatus::Active, CardStatus::Frozen),
                    _ => (CardStatus::Frozen, CardStatus::Active),
                };
                assert!(
                    store.set_card_status(tenant, id, from, to).await.unwrap(),
                    "{what}"
                );
                card.status = Some(to);
            }
            9 => {
                // A retry after a lost answer: the same move again moves nothing.
                if let Some(planned) = &last {
                    let outcome = store.apply_move(tenant, planned).await.unwrap();
                    assert!(
                        matches!(outcome, Ok(Applied { now: false, .. })),
                        "{what}: {outcome:?}"
                    );
                }
            }
            10 => {
                // Another use of a key with other amounts is refused.
                if let Some(planned) = &last {
                    let mut other = planned.clone();
                    other.postings[0].amount += 1;
                    if let Some((_, paycore_core::ledger::HoldChange::Open { amount, .. })) =
                        &mut other.hold
                    {
                        *amount += 1;
                    }
                    let outcome = store.apply_move(tenant, &other).await.unwrap();
                    assert_eq!(outcome, Err(MoveRefusal::KeyReused), "{what}");
                }
            }
            11 => {
                // A restart: a new store on the same database sees it all.
                reopened = Some(Store::open(url, None).await.unwrap().with_instance("c"));
            }
            _ => {}
        }
        for (id, card) in &model.cards {
            let stored = a
                .card(tenant, id)
                .await
                .unwrap()
                .expect("a model card is stored");
            let seen = ModelCard {
                status: Some(stored.status),
                balance: stored.balance,
                held: stored.held,
                dormant: stored.dormant,
            };
            assert_eq!(&seen, card, "{what}: card {id}");
        }
    }
    assert_balanced(a, tenant, &model).await;
}

/// Postings sum to zero per unit; each kind of account holds what the
/// model says; no card drifted from its postings.
async fn assert_balanced(store: &Store, tenant: &TenantId, model: &Model) {
    let totals = store.ledger_totals(tenant).await.unwrap();
    let mut per_unit: BTreeMap<String, i64> = BTreeMap::new();
    let mut per_account: BTreeMap<String, i64> = BTreeMap::new();
    for total in &totals {
        *per_unit.entry(total.unit.clone()).or_default() += total.balance;
        *per_account.entry(total.account.clone()).or_default() += total.balance;
    }
    for (unit, sum) in &per_unit {
        assert_eq!(*sum, 0, "postings in {unit} do not sum to zero: {totals:?}");
    }
    let sum = |f: fn(&ModelCard) -> i64| model.cards.iter().map(|(_, c)| f(c)).sum::<i64>();
    assert_eq!(
        per_account.get("available").copied().unwrap_or(0),
        sum(|c| c.balance)
    );
    assert_eq!(
        per_account.get("held").copied().unwrap_or(0),
        sum(|c| c.held)
    );
    assert_eq!(
        per_account.get("dormant").copied().unwrap_or(0),
        sum(|c| c.dormant)
    );
    for (_, card) in &model.cards {
        assert!(card.balance >= 0 && card.held >= 0 && card.dormant >= 0);
    }
    assert_eq!(store.card_drifts(tenant).await.unwrap(), vec![]);
}

#[tokio::test]
async fn random_sequences_keep_the_ledger_balanced() {
    let (_scratch, url, a, b) = two_stores("ledger-random").await;
    for seed in 0..6 {
        let tenant = TenantId::from(format!("t{seed}").as_str());
        run_sequence(seed, &a, &b, &url, &tenant).await;
    }
    // Another tenant's cards are not this one's.
    let cards_of_t0 = a.ledger_totals(&TenantId::from("t0")).await.unwrap();
    let cards_of_nobody = a.ledger_totals(&TenantId::from("nobody")).await.unwrap();
    assert!(!cards_of_t0.is_empty());
    assert!(cards_of_nobody.is_empty());
}

#[tokio::test]
async fn fifty_holds_of_ten_on_a_hundred_take_exactly_ten() {
    let (_scratch, _url, a, b) = two_stores("ledger-race").await;
    let tenant = TenantId::from("t");
    let card = CardId::generate();
    let first = Move::issue(&card, 10_000, Funding::Sale, None).unwrap();
    assert!(matches!(
        a.insert_card(new_card(&tenant, &card, Some(first)))
            .await
            .unwrap(),
        CardInsert::Created(_)
    ));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        let (tenant, card) = (tenant.clone(), card.clone());
        tasks.spawn(async move {
            let hold = HoldId::generate();
            let held = Move::hold(&card, &hold, &PaymentId::generate(), 1_000).unwrap();
            match store.apply_move(&tenant, &held).await.unwrap() {
                Ok(_) => {
                    let capture = Move::capture(&card, &hold, 1_000).unwrap();
                    assert!(store.apply_move(&tenant, &capture).await.unwrap().is_ok());
                    true
                }
                Err(MoveRefusal::Insufficient { .. }) => false,
                Err(other) => panic!("{other:?}"),
            }
        });
    }
    let succeeded = tasks.join_all().await.into_iter().filter(|ok| *ok).count();
    assert_eq!(succeeded, 10);
    let stored = a.card(&tenant, &card).await.unwrap().unwrap();
    assert_eq!((stored.balance, stored.held), (0, 0));
    assert_eq!(a.card_drifts(&tenant).await.unwrap(), vec![]);
}

/// A coupon: one payment holds it at a time; its capture, the retirement
/// of the rest and its closing are one write, all or nothing, and so are a
/// refund's credit, the restoring and its reopening; made again, the same
/// write changes nothing.
#[tokio::test]
async fn a_coupon_is_captured_retired_and_closed_in_one_transaction() {
    let (_scratch, _url, a, b) = two_stores("ledger-coupon").await;
    let tenant = TenantId::from("t");
    let card = CardId::coupon();
    let issue = Move::issue(&card, 2_000, Funding::Promotion, None).unwrap();
    let new = NewCard {
        program_id: "tenth".into(),
        kind: "coupon".into(),
        named: false,
        ..new_card(&tenant, &card, Some(issue))
    };
    assert!(matches!(
        a.insert_card(new).await.unwrap(),
        CardInsert::Created(_)
    ));

    let (hold, payment) = (HoldId::generate(), PaymentId::generate());
    let held = Move::coupon_hold(&card, &hold, &payment, 1_200).unwrap();
    assert!(a.apply_move(&tenant, &held).await.unwrap().is_ok());
    let other = Move::coupon_hold(&card, &HoldId::generate(), &PaymentId::generate(), 500).unwrap();
    assert_eq!(
        b.apply_move(&tenant, &other).await.unwrap(),
        Err(MoveRefusal::HeldElsewhere { held: 1_200 }),
        "one payment at a time"
    );

    let close = Some(StatusChange {
        from: None,
        to: CardStatus::Closed,
    });
    // A rest larger than the card holds refuses the whole write.
    let too_much = [
        Move::capture(&card, &hold, 1_200).unwrap(),
        Move::retire(&card, &hold, 801).unwrap(),
    ];
    assert!(matches!(
        a.apply_moves(&tenant, &card, &too_much, close)
            .await
            .unwrap(),
        Err(MoveRefusal::Insufficient { .. })
    ));
    let untouched = a.card(&tenant, &card).await.unwrap().unwrap();
    assert_eq!(
        (untouched.status, untouched.balance, untouched.held),
        (CardStatus::Active, 800, 1_200)
    );
    let used = [
        Move::capture(&card, &hold, 1_200).unwrap(),
        Move::retire(&card, &hold, 800).unwrap(),
    ];
    assert!(
        a.apply_moves(&tenant, &card, &used, close)
            .await
            .unwrap()
            .is_ok()
    );
    let again = b
        .apply_moves(&tenant, &card, &used, close)
        .await
        .unwrap()
        .unwrap();
    assert!(again.iter().all(|applied| !applied.now), "made once");
    let closed = a.card(&tenant, &card).await.unwrap().unwrap();
    assert_eq!(
        (closed.status, closed.balance, closed.held),
        (CardStatus::Closed, 0, 0)
    );
    assert_eq!(
        a.recorded_move(&tenant, &Move::retire_key(&hold))
            .await
            .unwrap()
            .map(|m| m.1),
        Some(800)
    );

    let refund = RefundId::generate();
    let back = [
        Move::refund(&card, &hold, &refund, 1_200).unwrap(),
        Move::restore(&card, &hold, &refund, 800).unwrap(),
    ];
    let reopen = Some(StatusChange {
        from: Some(CardStatus::Closed),
        to: CardStatus::Active,
    });
    assert!(
        b.apply_moves(&tenant, &card, &back, reopen)
            .await
            .unwrap()
            .is_ok()
    );
    let restored = a.card(&tenant, &card).await.unwrap().unwrap();
    assert_eq!(
        (restored.status, restored.balance),
        (CardStatus::Active, 2_000)
    );
    let totals = a.ledger_totals(&tenant).await.unwrap();
    assert_eq!(
        totals.iter().map(|t| t.balance).sum::<i64>(),
        0,
        "{totals:?}"
    );
    assert_eq!(a.card_drifts(&tenant).await.unwrap(), vec![]);
}

#[tokio::test]
async fn postings_are_append_only() {
    let (_scratch, url, a, _b) = two_stores("ledger-append-only").await;
    let tenant = TenantId::from("t");
    let card = CardId::generate();
    let first = Move::issue(&card, 500, Funding::Promotion, None).unwrap();
    a.insert_card(new_card(&tenant, &card, Some(first)))
        .await
        .unwrap();
    use sqlx::Connection;
    for statement in [
        "UPDATE ledger_postings SET amount = 1",
        "DELETE FROM ledger_postings",
        "UPDATE ledger_moves SET kind = 'issue'",
        "DELETE FROM ledger_moves",
    ] {
        let refused = match a.backend() {
            Backend::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
                sqlx::query(statement)
                    .execute(&mut c)
                    .await
                    .map(|r| r.rows_affected())
            }
            Backend::Postgres => {
                let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
                sqlx::query(statement)
                    .execute(&mut c)
                    .await
                    .map(|r| r.rows_affected())
            }
        };
        let e = refused.expect_err(statement);
        assert!(e.to_string().contains("append-only"), "{statement}: {e}");
    }
    assert_eq!(
        a.card_postings(&tenant, &card, 0, 10).await.unwrap().len(),
        1
    );
}
