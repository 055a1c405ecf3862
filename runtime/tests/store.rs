//! The storage suite: the store's concurrency guarantees, checked directly
//! on whichever backend the run uses (SQLite, or PostgreSQL when
//! `PAYCORE_TEST_DATABASE_URL` is set), with two stores on one database
//! standing in for two instances.

use crate::support::process::{self, Scratch};
use paycore::clock::Clock;
use paycore::domain::PaymentStatus;
use paycore::payments::machine;
use paycore::store::{
    Attempt, Backend, CancelStart, ChannelAssignment, Event, InsertOutcome, NewPayment, NewRefund,
    OutboxMessage, PaymentChange, PaymentRecord, RefundInsert, Store,
};
use std::collections::BTreeSet;
use std::time::Duration;

/// 2024-05-01T08:30:00Z: where the manual clocks of these tests start.
const T0_MS: i64 = 1_714_552_200_000;

/// Two stores ("instances" `a` and `b`) on one fresh database.
async fn two_stores(name: &str) -> (Scratch, String, Store, Store) {
    let scratch = Scratch::new(name);
    let url = process::database_url(&scratch.0).await;
    let a = Store::open(&url, None).await.unwrap().with_instance("a");
    let b = Store::open(&url, None).await.unwrap().with_instance("b");
    (scratch, url, a, b)
}

/// `two_stores` reading one manual clock, which the caller moves.
async fn two_stores_at(name: &str, clock: &Clock) -> (Scratch, Store, Store) {
    let (scratch, _, a, b) = two_stores(name).await;
    (
        scratch,
        a.with_clock(clock.clone()),
        b.with_clock(clock.clone()),
    )
}

fn new_payment(order: &str, amount: i64) -> NewPayment {
    let channel = ChannelAssignment {
        channel_id: "c".into(),
        plugin_name: "sandbox".into(),
        plugin_version: "1.0.0".into(),
        wallet: "sandbox".into(),
    };
    let (status, created) = machine::create(Some(&channel));
    NewPayment {
        id: paycore::domain::PaymentId::generate(),
        tenant_id: "t".into(),
        merchant_order_no: order.into(),
        request_hash: "h".into(),
        request: "{}".into(),
        scene: paycore::domain::Scene::Barcode,
        amount,
        currency: paycore::money::Currency::parse("CNY").unwrap(),
        channel: Some(channel),
        status,
        created,
        notify_url: None,
        metadata: "{}".into(),
        idempotency_key: None,
        checkout: None,
        channel_amount: None,
        tenders: Vec::new(),
    }
}

fn event(kind: &str) -> Event {
    Event {
        kind: *paycore::domain::EventKind::ALL
            .iter()
            .find(|k| k.as_str() == kind)
            .expect("a known event kind"),
        from_status: None,
        to_status: None,
        detail: serde_json::json!({}),
    }
}

/// The `payment.succeeded` webhook `id` about one payment.
fn succeeded_webhook(id: &str, payment_id: &str) -> OutboxMessage {
    OutboxMessage {
        id: id.into(),
        tenant_id: "t".into(),
        payment_id: Some(payment_id.into()),
        event_type: "payment.succeeded".into(),
        url: "http://127.0.0.1:9/hooks".into(),
        payload: "{}".into(),
        attempts: 0,
        retry_step: 0,
    }
}

/// The kinds of one payment's events, oldest first.
async fn event_kinds(store: &Store, payment_id: &str) -> Vec<String> {
    let events = store.events_of(payment_id).await.unwrap();
    events.into_iter().map(|(kind, _, _)| kind).collect()
}

/// A succeeded payment with its webhook queued.
async fn succeeded_payment(store: &Store, order: &str, amount: i64) -> PaymentRecord {
    let InsertOutcome::Created(record) = store
        .insert_payment(new_payment(order, amount))
        .await
        .unwrap()
    else {
        panic!("{order} existed");
    };
    let change = PaymentChange {
        status: Some(PaymentStatus::Succeeded),
        ..Default::default()
    };
    let webhook = succeeded_webhook(&paycore::domain::new_id("evt"), &record.id);
    store
        .apply_payment_change(&record, &change, &event("payment.succeeded"), Some(webhook))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_order_number_raced_from_two_instances_makes_one_payment() {
    let (_dir, _, a, b) = two_stores("store-race").await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.spawn(async move { store.insert_payment(new_payment("RACE-1", 100)).await });
    }
    let (mut created, mut ids) = (0, BTreeSet::new());
    while let Some(done) = tasks.join_next().await {
        match done.unwrap().unwrap() {
            InsertOutcome::Created(r) => {
                created += 1;
                ids.insert(r.id);
            }
            InsertOutcome::Existing {
                record,
                same_request,
            } => {
                assert!(same_request);
                ids.insert(record.id);
            }
        }
    }
    assert_eq!((created, ids.len()), (1, 1));
    assert_eq!(a.count(paycore::store::Table::Payments).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refund_reservations_never_exceed_the_amount() {
    let (_dir, _, a, b) = two_stores("store-refunds").await;
    let payment = succeeded_payment(&a, "REFUND-1", 1000).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..25 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        let payment_id = payment.id.clone();
        tasks.spawn(async move {
            store
                .insert_refund(refund_of(&payment_id, &format!("R-{i}"), 100))
                .await
        });
    }
    let mut created = 0;
    while let Some(done) = tasks.join_next().await {
        match done.unwrap().unwrap() {
            RefundInsert::Created(_) => created += 1,
            RefundInsert::ExceedsRemaining { remaining } => assert_eq!(remaining, 0),
            _ => panic!("unexpected outcome"),
        }
    }
    assert_eq!(created, 10);
    let after = b.payment(&"t".into(), &payment.id).await.unwrap().unwrap();
    assert_eq!(after.refund_reserved, 1000);
}

fn refund_of(payment_id: &str, no: &str, amount: i64) -> NewRefund {
    let (status, created) = machine::refund_created(payment_id, amount);
    NewRefund {
        id: paycore::domain::RefundId::generate(),
        tenant_id: "t".into(),
        payment_id: payment_id.into(),
        merchant_refund_no: no.into(),
        request_hash: "h".into(),
        amount,
        currency: paycore::money::Currency::parse("CNY").unwrap(),
        reason: None,
        status,
        created,
        refundable: machine::REFUNDABLE,
        allocate: None,
    }
}

/// Starts a cancel as the service does: with the state machine's event.
async fn start_cancel(store: &Store, p: &PaymentRecord) -> CancelStart {
    let started = machine::start_cancel(p).expect("a cancellable payment");
    store
        .start_cancel(p, &machine::CANCELLABLE, &started)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cancel_and_a_refund_raced_from_two_instances_never_both_start() {
    let (_dir, _, a, b) = two_stores("store-cancel-refund").await;
    let (mut cancels, mut refunds) = (0, 0);
    for round in 0..60 {
        let payment = succeeded_payment(&a, &format!("CR-{round}"), 10_000).await;
        // Alternate which instance does what, and which starts first.
        let (canceller, refunder) = if round % 2 == 0 {
            (a.clone(), b.clone())
        } else {
            (b.clone(), a.clone())
        };
        let (p1, p2) = (payment.clone(), payment.id.clone());
        let cancel = tokio::spawn(async move { start_cancel(&canceller, &p1).await });
        let refund = tokio::spawn(async move {
            refunder
                .insert_refund(refund_of(&p2, &format!("CR-{round}-r"), 3_000))
                .await
                .unwrap()
        });
        let (cancel, refund) = (cancel.await.unwrap(), refund.await.unwrap());
        let cancel_started = matches!(cancel, CancelStart::Started(_));
        let refund_reserved = matches!(refund, RefundInsert::Created(_));
        assert!(
            cancel_started != refund_reserved,
            "round {round}: exactly one of them goes through"
        );
        match (cancel, refund) {
            (CancelStart::Started(_), RefundInsert::CancelInProgress) => cancels += 1,
            (CancelStart::RefundsReserved(r), RefundInsert::Created(_)) => {
                assert_eq!(r.refund_reserved, 3_000);
                refunds += 1;
            }
            _ => panic!("round {round}: an unexpected pair of outcomes"),
        }
        let after = b.payment(&"t".into(), &payment.id).await.unwrap().unwrap();
        assert_eq!(
            (after.cancelling(), after.refund_reserved > 0),
            (cancel_started, refund_reserved)
        );
    }
    assert!(cancels + refunds == 60);

    // A paid payment with a refund reserved cannot be written `cancelled`,
    // whatever its writer read: the bound is in the statement that writes.
    let paid = succeeded_payment(&a, "CR-late", 10_000).await;
    let stale = paid.clone();
    let RefundInsert::Created(_) = a
        .insert_refund(refund_of(&paid.id, "CR-late-r", 1))
        .await
        .unwrap()
    else {
        panic!("the refund is reserved");
    };
    let fresh = a.payment(&"t".into(), &paid.id).await.unwrap().unwrap();
    let reversal = PaymentChange {
        status: Some(PaymentStatus::Cancelled),
        ..Default::default()
    };
    for read in [&stale, &fresh] {
        assert!(matches!(
            a.apply_payment_change(read, &reversal, &event("payment.cancelled"), None)
                .await,
            Err(paycore::store::StoreError::Stale)
        ));
    }

    // A cancel the channel certainly did not carry out frees the payment
    // for refunds again; one started again meanwhile keeps it marked.
    let paid = succeeded_payment(&a, "CR-undone", 10_000).await;
    let CancelStart::Started(marked) = start_cancel(&a, &paid).await else {
        panic!("nothing excludes this cancel");
    };
    let CancelStart::Started(again) = start_cancel(&b, &marked).await else {
        panic!("a started cancel may be started again");
    };
    let still = a
        .end_cancel_unreversed(&marked, &event("payment.cancel_ended"))
        .await
        .unwrap();
    assert!(still.cancelling(), "the later start keeps the mark");
    let cleared = b
        .end_cancel_unreversed(&again, &event("payment.cancel_ended"))
        .await
        .unwrap();
    assert!(!cleared.cancelling());
    assert!(
        cleared.cancel_started_ms.is_some(),
        "the first start is kept"
    );
    assert!(matches!(
        a.insert_refund(refund_of(&paid.id, "CR-undone-r", 100))
            .await
            .unwrap(),
        RefundInsert::Created(_)
    ));
    assert_eq!(
        event_kinds(&a, &paid.id).await[2..],
        [
            "payment.cancel_started",
            "payment.cancel_started",
            "payment.cancel_ended"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn webhook_claims_never_overlap_and_come_back_when_their_lease_runs_out() {
    let (_dir, _, a, b) = two_stores("store-claims").await;
    for i in 0..30 {
        succeeded_payment(&a, &format!("CLAIM-{i}"), 100).await;
    }
    let (mine, theirs) = tokio::join!(a.claim_webhooks(20, 60_000), b.claim_webhooks(20, 60_000));
    let (mine, theirs) = (mine.unwrap(), theirs.unwrap());
    let ids: BTreeSet<&str> = mine.iter().chain(&theirs).map(|m| m.id.as_str()).collect();
    assert_eq!(mine.len() + theirs.len(), 30, "every due row claimed once");
    assert_eq!(ids.len(), 30, "no row claimed by both");
    assert!(
        a.claim_webhooks(50, 60_000).await.unwrap().is_empty(),
        "claimed rows are left alone while their lease runs"
    );

    // A claim whose holder never reports back is taken over after its
    // lease, and not a millisecond before.
    let clock = Clock::manual_at_millis(T0_MS);
    let (_dir2, c, d) = two_stores_at("store-lease", &clock).await;
    succeeded_payment(&c, "LEASE-1", 100).await;
    let held = c.claim_webhooks(10, 60_000).await.unwrap();
    assert_eq!(held.len(), 1);
    assert!(d.claim_webhooks(10, 60_000).await.unwrap().is_empty());
    clock.advance(Duration::from_millis(59_999));
    assert!(
        d.claim_webhooks(10, 60_000).await.unwrap().is_empty(),
        "the lease still runs"
    );
    clock.advance(Duration::from_millis(1));
    let taken = d.claim_webhooks(10, 60_000).await.unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].id, held[0].id);
    // A failed delivery is retried when its delay has passed.
    d.webhook_failed(&taken[0].id, "HTTP 500", Some(10_000))
        .await
        .unwrap();
    clock.advance(Duration::from_millis(9_999));
    assert!(c.claim_webhooks(10, 60_000).await.unwrap().is_empty());
    clock.advance(Duration::from_millis(1));
    assert_eq!(c.claim_webhooks(10, 60_000).await.unwrap().len(), 1);
}

#[tokio::test]
async fn open_payments_come_due_by_age_and_schedule_and_come_back_after_their_lease() {
    let clock = Clock::manual_at_millis(T0_MS);
    let (_dir, a, b) = two_stores_at("store-due", &clock).await;
    let InsertOutcome::Created(open) = a.insert_payment(new_payment("DUE-1", 100)).await.unwrap()
    else {
        panic!("DUE-1 existed");
    };
    assert_eq!(
        open.created_ms, T0_MS,
        "rows are stamped by the store's clock"
    );
    assert_eq!(open.created_at, "2024-05-01T08:30:00Z");
    let (min_age, lease) = (1_000, 30_000);
    // Not due before it is `min_age` old.
    clock.advance(Duration::from_millis(999));
    assert!(
        a.claim_due_payments(min_age, 10, lease)
            .await
            .unwrap()
            .is_empty()
    );
    clock.advance(Duration::from_millis(1));
    let due = a.claim_due_payments(min_age, 10, lease).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(
        (due[0].record.id.as_str(), due[0].checks),
        (open.id.as_str(), 0)
    );
    // Claimed: the other instance leaves it alone for the lease, then
    // takes it over from an instance that never reported back.
    assert!(
        b.claim_due_payments(min_age, 10, lease)
            .await
            .unwrap()
            .is_empty()
    );
    clock.advance(Duration::from_millis(29_999));
    assert!(
        b.claim_due_payments(min_age, 10, lease)
            .await
            .unwrap()
            .is_empty()
    );
    clock.advance(Duration::from_millis(1));
    assert_eq!(
        b.claim_due_payments(min_age, 10, lease)
            .await
            .unwrap()
            .len(),
        1
    );
    // Checked and scheduled: due again at its next check.
    let next = clock.now_millis() + 5_000;
    b.schedule_payment_check(&"t".into(), &open.id, 1, next)
        .await
        .unwrap();
    clock.advance(Duration::from_millis(4_999));
    assert!(
        a.claim_due_payments(min_age, 10, lease)
            .await
            .unwrap()
            .is_empty()
    );
    clock.advance(Duration::from_millis(1));
    let due = a.claim_due_payments(min_age, 10, lease).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].checks, 1);
}

#[tokio::test]
async fn a_change_writes_its_history_only_if_it_changes_the_row() {
    let (_dir, _, a, b) = two_stores("store-change").await;
    let InsertOutcome::Created(read) = a
        .insert_payment(new_payment("CHANGE-1", 100))
        .await
        .unwrap()
    else {
        panic!("CHANGE-1 existed");
    };
    let attempt = Attempt {
        entry: serde_json::json!({ "channel": "c", "outcome": "succeeded" }),
        event: event("payment.attempt"),
        create_error: None,
    };
    let change = PaymentChange {
        status: Some(PaymentStatus::Succeeded),
        attempt: Some(attempt),
        ..Default::default()
    };
    // The other instance changes the row first: this change, made from
    // the row as read before, writes nothing, not even its history.
    b.apply_payment_change(
        &read,
        &PaymentChange::default(),
        &event("payment.updated"),
        None,
    )
    .await
    .unwrap();
    let stale = a
        .apply_payment_change(
            &read,
            &change,
            &event("payment.status_changed"),
            Some(succeeded_webhook("evt_stale", &read.id)),
        )
        .await;
    assert!(
        matches!(stale, Err(paycore::store::StoreError::Stale)),
        "{stale:?}"
    );
    assert_eq!(
        event_kinds(&a, &read.id).await,
        ["payment.created", "payment.updated"]
    );
    assert_eq!(a.count(paycore::store::Table::Outbox).await.unwrap(), 0);

    // From the row as it now stands: the change, the attempt in the
    // payment's history before the change's own event, and the webhook.
    let current = a.payment(&"t".into(), &read.id).await.unwrap().unwrap();
    let changed = a
        .apply_payment_change(
            &current,
            &change,
            &event("payment.status_changed"),
            Some(succeeded_webhook("evt_ok", &read.id)),
        )
        .await
        .unwrap();
    assert_eq!(changed.status, PaymentStatus::Succeeded);
    assert_eq!(changed.version, current.version + 1);
    assert_eq!(
        changed.attempts,
        r#"[{"channel":"c","outcome":"succeeded"}]"#
    );
    assert_eq!(
        event_kinds(&a, &read.id).await,
        [
            "payment.created",
            "payment.updated",
            "payment.attempt",
            "payment.status_changed"
        ]
    );
    assert_eq!(a.count(paycore::store::Table::Outbox).await.unwrap(), 1);
}

#[tokio::test]
async fn the_event_history_is_append_only() {
    let (_dir, url, a, _) = two_stores("store-events").await;
    succeeded_payment(&a, "EVENTS-1", 100).await;
    let refused = |r: Result<u64, sqlx::Error>| {
        let e = r.expect_err("the database refuses it");
        assert!(e.to_string().contains("append-only"), "{e}");
    };
    use sqlx::Connection;
    for sql in ["UPDATE events SET kind = 'x'", "DELETE FROM events"] {
        match a.backend() {
            Backend::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
                refused(
                    sqlx::query(sql)
                        .execute(&mut c)
                        .await
                        .map(|r| r.rows_affected()),
                );
            }
            Backend::Postgres => {
                let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
                refused(
                    sqlx::query(sql)
                        .execute(&mut c)
                        .await
                        .map(|r| r.rows_affected()),
                );
            }
        }
    }
    assert_eq!(a.count(paycore::store::Table::Events).await.unwrap(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn published_tenant_configs_keep_their_history_and_race_safely() {
    use paycore::store::{StoreError, TenantPublish};
    let (_dir, _, a, b) = two_stores("store-tenants").await;
    assert_eq!(
        a.publish_tenant(&"acme".into(), "id = \"acme\"\n")
            .await
            .unwrap(),
        TenantPublish::Published { revision: 1 }
    );
    // The same text again changes nothing, from any instance.
    assert_eq!(
        b.publish_tenant(&"acme".into(), "id = \"acme\"\n")
            .await
            .unwrap(),
        TenantPublish::Unchanged { revision: 1 }
    );
    // Publishers racing on one tenant: each revision is taken once, and a
    // loser is told so rather than overwriting the winner.
    let mut racers = tokio::task::JoinSet::new();
    for i in 0..8 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        racers.spawn(async move {
            let text = format!("id = \"acme\"\nname = \"v{i}\"\n");
            store.publish_tenant(&"acme".into(), &text).await
        });
    }
    let mut revisions = BTreeSet::new();
    while let Some(outcome) = racers.join_next().await {
        match outcome.unwrap() {
            Ok(TenantPublish::Published { revision }) => assert!(revisions.insert(revision)),
            Err(StoreError::Conflict(_)) => {}
            other => panic!("unexpected: {other:?}"),
        }
    }
    assert!(!revisions.is_empty());
    let history = a.tenant_history().await.unwrap();
    assert_eq!(history.len(), 1 + revisions.len());
    let serving = a.published_tenants().await.unwrap();
    assert_eq!(serving.len(), 1);
    assert_eq!(serving[0].revision, *revisions.last().unwrap());

    // Withdrawn: nothing serves, the history stays, a second withdrawal is refused.
    let withdrawn = b.withdraw_tenant(&"acme".into()).await.unwrap().unwrap();
    assert_eq!(withdrawn, serving[0].revision + 1);
    assert!(a.published_tenants().await.unwrap().is_empty());
    assert_eq!(b.withdraw_tenant(&"acme".into()).await.unwrap(), None);
    assert_eq!(a.tenant_history().await.unwrap().len(), 2 + revisions.len());
    // Published again, it serves again as a new revision.
    let again = a
        .publish_tenant(&"acme".into(), "id = \"acme\"\n")
        .await
        .unwrap();
    assert_eq!(
        again,
        TenantPublish::Published {
            revision: withdrawn + 1
        }
    );
}
