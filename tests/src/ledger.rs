//! Helpers for tests of a tenant's own cards: issuing cards the tenant's
//! promotion pays for, the body of a member's payment with a card inside
//! the merchant's app, and the ledger's invariants.

use crate::{Reply, StatusCode, TestApp, json};
use paycore::domain::TenantId;
use serde_json::Value;

/// The member the helpers issue cards to and pay as.
pub const MEMBER: &str = "member-1";

/// Issues `MEMBER` a card of `program` funded by the tenant's promotion
/// (`amount`: its face value or opening balance; `None` for a punch card);
/// returns its id.
pub async fn issue_promotional(
    t: &TestApp,
    key: &str,
    program: &str,
    amount: Option<i64>,
) -> String {
    let mut body =
        json!({ "program": program, "holder": MEMBER, "funded_by": { "type": "promotion" } });
    if let Some(amount) = amount {
        body["amount"] = json!(amount);
    }
    let r = t.post(key, "/v1/cards", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.id()
}

/// A CNY payment by `MEMBER` with `card` in the merchant's mini-program.
pub fn card_payment(order: &str, amount: i64, card: &str) -> Value {
    json!({ "merchant_order_no": order, "amount": amount, "currency": "CNY",
            "scene": "jsapi", "wallet": "card",
            "payer": { "open_id": MEMBER, "buyer_id": card } })
}

/// Pays `card_payment(order, amount, card)` as the tenant of `key`.
pub async fn pay_with_card(t: &TestApp, key: &str, order: &str, amount: i64, card: &str) -> Reply {
    t.post(key, "/v1/payments", card_payment(order, amount, card))
        .await
}

/// The tenant's postings sum to zero per unit, and no card's balances
/// drifted from the sum of its postings.
pub async fn assert_ledger_balanced(t: &TestApp, tenant: &str) {
    let tenant = TenantId::from(tenant);
    let totals = t.store().ledger_totals(&tenant).await.unwrap();
    let mut per_unit = std::collections::BTreeMap::<String, i64>::new();
    for total in &totals {
        *per_unit.entry(total.unit.clone()).or_default() += total.balance;
    }
    assert!(per_unit.values().all(|sum| *sum == 0), "{totals:?}");
    assert_eq!(t.store().card_drifts(&tenant).await.unwrap(), vec![]);
}
