//! What a card plugin may do while holding a combined order's tender
//! (`Scope::Tender`): hold within the order's coupon and card tenders so
//! far, never capture (the host does, once the whole order succeeded), and
//! give back what it held.

use super::new_card;
use crate::support::process::{self, Scratch};
use paycore::config::tenant_from_str;
use paycore::domain::{PaymentId, TenantId};
use paycore::ledger::{Ledger, LedgerError, Scope, Session};
use paycore::money::Currency;
use paycore::store::Store;
use paycore_core::ledger::{CardId, Funding, HoldStatus, Move};
use std::path::Path;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tender_holds_within_its_cap_and_never_captures() {
    let scratch = Scratch::new("tender-scope");
    let url = process::database_url(&scratch.0).await;
    let store = Store::open(&url, None).await.unwrap();
    let tenant = tenant_from_str(
        Path::new("t.toml"),
        "id = \"t\"\napi_keys = [\"sk_test_tender_scope\"]\n[[channels]]\nid = \"card\"\nplugin = \"card@^1\"\n\
         [[card_programs]]\nid = \"member\"\nkind = \"stored_value\"\nchannel = \"card\"\ncurrency = \"CNY\"\n",
    )
    .unwrap();
    let tenant_id = TenantId::from("t");
    let (a, b) = (CardId::from("card_tender_a"), CardId::from("card_tender_b"));
    for card in [&a, &b] {
        let issue = Move::issue(card, 5_000, Funding::Promotion, None).unwrap();
        store
            .insert_card(new_card(&tenant_id, card, Some(issue)))
            .await
            .unwrap();
    }
    let ledger = Ledger::new(store.clone());
    let order = PaymentId::from("pay_tender_scope");
    let session = |cap| {
        Session::new(
            ledger.clone(),
            tenant_id.clone(),
            tenant.card_programs.clone().into(),
            tenant.timezone.clone(),
            Scope::Tender {
                payment: order.clone(),
                cap,
                currency: Currency::parse("CNY").unwrap(),
            },
        )
    };

    // The first tender: 600 of a cap of 600.
    let mut first = session(600);
    let held = first.hold(a.as_str(), 600).await.unwrap();
    assert_eq!(held.status, HoldStatus::Held);
    assert!(
        matches!(
            first.capture(held.id.as_str()).await,
            Err(LedgerError::NotAllowed(_))
        ),
        "a tender's hold is the host's to capture"
    );
    // The second tender may not take the first one's share…
    let mut greedy = session(1_000);
    assert!(matches!(
        greedy.hold(b.as_str(), 500).await,
        Err(LedgerError::NotAllowed(_))
    ));
    // …but holds its own, and may give it back.
    let mut second = session(1_100);
    let other = second.hold(b.as_str(), 500).await.unwrap();
    let back = second.release(other.id.as_str()).await.unwrap();
    assert_eq!(back.status, HoldStatus::Released);
    let card = store.card(&tenant_id, &a).await.unwrap().unwrap();
    assert_eq!((card.balance, card.held), (4_400, 600), "held, not spent");
}
