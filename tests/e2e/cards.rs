//! Closed-loop value: cards issued through the card API, paid with through
//! the cashier API like any wallet (the member's one-minute code at the
//! till, or the card id inside the merchant's mini-program), served by the
//! real `card.wasm` moving value only through the host's ledger; refunds
//! back to the card; every bad input refused with nothing moved; another
//! tenant's cards out of reach.

use paycore::domain::TenantId;
use paycore_e2e::ledger::*;
use paycore_e2e::*;
use serde_json::Value;
use std::time::Duration;

const SHOP_KEY: &str = "sk_test_cards_shop";
const OTHER_KEY: &str = "sk_test_cards_other";

/// A tenant with the sandbox channel and the card channel, and one
/// programme of each kind the card plugin serves.
fn card_tenant(id: &str, key: &str) -> (String, String) {
    TenantToml::sandbox(id, key)
        .then(
            r#"
[[channels]]
id = "card"
plugin = "card@^1"

[[card_programs]]
id = "member"
kind = "stored_value"
channel = "card"
currency = "CNY"
bonus_tiers = [ { top_up = "500.00", bonus = "50.00" } ]

[[card_programs]]
id = "gift"
kind = "gift"
channel = "card"
currency = "CNY"

[[card_programs]]
id = "voucher"
kind = "voucher"
channel = "card"
currency = "CNY"
validity_days = 1095
face_values = ["20.00", "50.00"]

[[card_programs]]
id = "coffee10"
kind = "punch"
channel = "card"
currency = "CNY"
unit = "coffee"
uses = 10
covers_up_to = "30.00"
"#,
        )
        .file()
}

async fn start(opts: Options) -> TestApp {
    TestApp::start_with_extra(
        opts,
        Extra {
            plugins: vec!["card".into()],
            tenants: vec![
                card_tenant("shop", SHOP_KEY),
                card_tenant("other", OTHER_KEY),
            ],
        },
    )
    .await
}

async fn issue(t: &TestApp, key: &str, body: Value) -> Reply {
    t.post(key, "/v1/cards", body).await
}

async fn code(t: &TestApp, key: &str, card: &str) -> String {
    let r = t
        .post(key, &format!("/v1/cards/{card}/payment-codes"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let code = r.body["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 18);
    assert!(code.starts_with("88"));
    code
}

async fn pay_with_code(t: &TestApp, key: &str, order: &str, amount: i64, code: &str) -> Reply {
    t.post(
        key,
        "/v1/payments",
        json!({ "merchant_order_no": order, "amount": amount, "currency": "CNY",
                "scene": "barcode", "auth_code": code }),
    )
    .await
}

async fn balance(t: &TestApp, card: &str) -> i64 {
    let r = t.get(SHOP_KEY, &format!("/v1/cards/{card}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["held"], 0,
        "nothing stays held once payments are final"
    );
    r.body["balance"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gift_card_pays_in_parts_and_refunds_go_back_to_it() {
    let t = start(Options::default()).await;
    let card = issue_promotional(&t, SHOP_KEY, "gift", Some(10_000)).await;
    let first_code = code(&t, SHOP_KEY, &card).await;

    let paid = pay_with_code(&t, SHOP_KEY, "GIFT-1", 3_000, &first_code).await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.body);
    assert_eq!(paid.body["status"], "succeeded");
    assert_eq!(
        paid.body["wallet"], "card",
        "routing infers the wallet from the 88 code"
    );
    assert_eq!(paid.body["channel"], "card");
    assert_eq!(balance(&t, &card).await, 7_000);

    // The same code for a second payment: refused, nothing moved.
    let replayed = pay_with_code(&t, SHOP_KEY, "GIFT-2", 1_000, &first_code).await;
    assert_eq!(replayed.body["status"], "failed", "{}", replayed.body);
    assert_eq!(replayed.body["failure"]["code"], "invalid_auth_code");
    assert_eq!(balance(&t, &card).await, 7_000);

    // The same payment again is a replay, not a second charge.
    let again = pay_with_code(&t, SHOP_KEY, "GIFT-1", 3_000, &first_code).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.id(), paid.id());
    assert_eq!(balance(&t, &card).await, 7_000);

    // More than the card holds: declined, never a partial charge.
    let short = pay_with_code(
        &t,
        SHOP_KEY,
        "GIFT-3",
        8_000,
        &code(&t, SHOP_KEY, &card).await,
    )
    .await;
    assert_eq!(short.body["status"], "failed", "{}", short.body);
    assert_eq!(short.body["failure"]["code"], "insufficient_funds");
    assert_eq!(balance(&t, &card).await, 7_000);

    let refunds = format!("/v1/payments/{}/refunds", paid.id());
    let part = t
        .post(
            SHOP_KEY,
            &refunds,
            json!({ "merchant_refund_no": "GIFT-1-R1", "amount": 1_000 }),
        )
        .await;
    assert_eq!(part.status, StatusCode::CREATED, "{}", part.body);
    assert_eq!(part.body["status"], "succeeded");
    assert_eq!(balance(&t, &card).await, 8_000);
    let over = t
        .post(
            SHOP_KEY,
            &refunds,
            json!({ "merchant_refund_no": "GIFT-1-R2", "amount": 2_001 }),
        )
        .await;
    assert_eq!(
        over.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        over.body
    );
    let rest = t
        .post(
            SHOP_KEY,
            &refunds,
            json!({ "merchant_refund_no": "GIFT-1-R3", "amount": 2_000 }),
        )
        .await;
    assert_eq!(rest.body["status"], "succeeded", "{}", rest.body);
    assert_eq!(balance(&t, &card).await, 10_000);

    let postings = t
        .get(SHOP_KEY, &format!("/v1/cards/{card}/transactions"))
        .await;
    let kinds: Vec<&str> = postings.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["issue", "hold", "capture", "refund", "refund"]);
    let changes: i64 = postings.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["balance_change"].as_i64().unwrap())
        .sum();
    assert_eq!(changes, 10_000, "the postings explain the balance");
    let page = t
        .get(SHOP_KEY, &format!("/v1/cards/{card}/transactions?limit=2"))
        .await;
    assert_eq!(page.body["data"].as_array().unwrap().len(), 2);
    assert_eq!(page.body["has_more"], true);
    assert_ledger_balanced(&t, "shop").await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gift_card_is_sold_by_a_payment_once() {
    let t = start(Options::default()).await;
    let sold = t
        .post(SHOP_KEY, "/v1/payments", barcode_body("SALE-1", 20_000))
        .await;
    assert_eq!(sold.body["status"], "succeeded", "{}", sold.body);
    let funded = json!({ "program": "gift", "holder": "member-2", "amount": 20_000,
                         "funded_by": { "type": "payment", "payment_id": sold.id() } });
    let first = issue(&t, SHOP_KEY, funded.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(first.body["balance"], 20_000);

    // One payment pays for one card.
    let twice = issue(&t, SHOP_KEY, funded).await;
    assert_eq!(
        twice.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        twice.body
    );
    assert_eq!(twice.body["error"]["field"], "funded_by");
    // A face value the payment did not pay for.
    let other = t
        .post(SHOP_KEY, "/v1/payments", barcode_body("SALE-2", 5_000))
        .await;
    let mismatch = issue(
        &t,
        SHOP_KEY,
        json!({ "program": "gift", "holder": "m", "amount": 6_000,
                "funded_by": { "type": "payment", "payment_id": other.id() } }),
    )
    .await;
    assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Another tenant's payment pays for nothing here.
    let elsewhere = issue(
        &t,
        OTHER_KEY,
        json!({ "program": "gift", "holder": "m", "amount": 5_000,
                "funded_by": { "type": "payment", "payment_id": other.id() } }),
    )
    .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        elsewhere.body
    );

    // The same issue again under its Idempotency-Key: the same card.
    let keyed = json!({ "program": "gift", "holder": "m", "amount": 5_000,
                        "funded_by": { "type": "payment", "payment_id": other.id() } });
    let send = |body: Value| {
        t.send(
            reqwest::Client::new()
                .post(t.url("/v1/cards"))
                .bearer_auth(SHOP_KEY)
                .header("Idempotency-Key", "sale-2-card")
                .json(&body),
        )
    };
    let a = send(keyed.clone()).await;
    let b = send(keyed).await;
    assert_eq!(
        (a.status, b.status),
        (StatusCode::CREATED, StatusCode::OK),
        "{}",
        b.body
    );
    assert_eq!(a.id(), b.id());
    let c = send(json!({ "program": "gift", "holder": "m", "amount": 5_000,
                         "funded_by": { "type": "promotion" } }))
    .await;
    assert_eq!(c.status, StatusCode::CONFLICT);
    assert_ledger_balanced(&t, "shop").await;
    t.stop().await;
}

fn barcode_body(order: &str, amount: i64) -> Value {
    json!({ "merchant_order_no": order, "amount": amount, "currency": "CNY",
            "scene": "barcode", "auth_code": "134567890124", "wallet": "sandbox" })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voucher_is_used_once_in_full() {
    let t = start(Options::default()).await;
    let voucher = issue_promotional(&t, SHOP_KEY, "voucher", Some(2_000)).await;
    let part = pay_with_code(
        &t,
        SHOP_KEY,
        "V-1",
        1_500,
        &code(&t, SHOP_KEY, &voucher).await,
    )
    .await;
    assert_eq!(
        part.body["failure"]["code"], "voucher_must_be_used_in_full",
        "{}",
        part.body
    );
    assert_eq!(balance(&t, &voucher).await, 2_000);
    let whole = pay_with_code(
        &t,
        SHOP_KEY,
        "V-2",
        2_000,
        &code(&t, SHOP_KEY, &voucher).await,
    )
    .await;
    assert_eq!(whole.body["status"], "succeeded", "{}", whole.body);
    assert_eq!(balance(&t, &voucher).await, 0);
    // Not a face value the programme issues.
    let odd = issue(
        &t,
        SHOP_KEY,
        json!({ "program": "voucher", "amount": 3_000, "funded_by": { "type": "promotion" } }),
    )
    .await;
    assert_eq!(odd.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(odd.body["error"]["field"], "amount");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_punch_card_pays_ten_coffees_then_declines() {
    let t = start(Options::default()).await;
    let card = issue_promotional(&t, SHOP_KEY, "coffee10", None).await;
    let read = t.get(SHOP_KEY, &format!("/v1/cards/{card}")).await;
    assert_eq!(read.body["balance"], 10);
    assert_eq!(read.body["unit"], "coffee@coffee10");
    let mut first = String::new();
    for i in 0..10 {
        let r = pay_with_code(
            &t,
            SHOP_KEY,
            &format!("P-{i}"),
            2_500,
            &code(&t, SHOP_KEY, &card).await,
        )
        .await;
        assert_eq!(r.body["status"], "succeeded", "coffee {i}: {}", r.body);
        if i == 0 {
            first = r.id();
        }
    }
    assert_eq!(balance(&t, &card).await, 0);
    let eleventh = pay_with_code(
        &t,
        SHOP_KEY,
        "P-10",
        2_500,
        &code(&t, SHOP_KEY, &card).await,
    )
    .await;
    assert_eq!(eleventh.body["status"], "failed");
    assert_eq!(eleventh.body["failure"]["code"], "insufficient_uses");

    // Uses are not money: a part refund gives none back, a full one gives
    // the use back.
    let refunds = format!("/v1/payments/{first}/refunds");
    let part = t
        .post(
            SHOP_KEY,
            &refunds,
            json!({ "merchant_refund_no": "P-0-R1", "amount": 1_000 }),
        )
        .await;
    assert_eq!(part.body["status"], "failed", "{}", part.body);
    assert_eq!(balance(&t, &card).await, 0);
    let full = t
        .post(
            SHOP_KEY,
            &refunds,
            json!({ "merchant_refund_no": "P-0-R2", "amount": 2_500 }),
        )
        .await;
    assert_eq!(full.body["status"], "succeeded", "{}", full.body);
    assert_eq!(balance(&t, &card).await, 1);
    // A punch card's value is its uses: no amount, and a USD coffee is not
    // what it pays for.
    let priced = issue(
        &t,
        SHOP_KEY,
        json!({ "program": "coffee10", "amount": 5, "funded_by": { "type": "promotion" } }),
    )
    .await;
    assert_eq!(priced.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_ledger_balanced(&t, "shop").await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_cards_and_old_codes_do_not_pay() {
    let clock = paycore::clock::Clock::manual_at_now();
    let t = start(Options {
        clock: Some(clock.clone()),
        ..Options::default()
    })
    .await;
    let card = issue_promotional(&t, SHOP_KEY, "gift", Some(5_000)).await;
    let before = code(&t, SHOP_KEY, &card).await;
    let frozen = t
        .post(SHOP_KEY, &format!("/v1/cards/{card}/freeze"), json!({}))
        .await;
    assert_eq!(frozen.body["status"], "frozen", "{}", frozen.body);
    let refused = t
        .post(
            SHOP_KEY,
            &format!("/v1/cards/{card}/payment-codes"),
            json!({}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(refused.code(), "card_not_active");
    let declined = pay_with_code(&t, SHOP_KEY, "F-1", 1_000, &before).await;
    assert_eq!(
        declined.body["failure"]["code"], "card_frozen",
        "{}",
        declined.body
    );
    assert_eq!(balance(&t, &card).await, 5_000);
    let thawed = t
        .post(SHOP_KEY, &format!("/v1/cards/{card}/unfreeze"), json!({}))
        .await;
    assert_eq!(thawed.body["status"], "active");

    // A code is good for a minute.
    let stale = code(&t, SHOP_KEY, &card).await;
    clock.advance(Duration::from_secs(61));
    let late = pay_with_code(&t, SHOP_KEY, "F-2", 1_000, &stale).await;
    assert_eq!(
        late.body["failure"]["code"], "invalid_auth_code",
        "{}",
        late.body
    );
    let fresh = pay_with_code(&t, SHOP_KEY, "F-3", 1_000, &code(&t, SHOP_KEY, &card).await).await;
    assert_eq!(fresh.body["status"], "succeeded", "{}", fresh.body);
    assert_eq!(balance(&t, &card).await, 4_000);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenants_cards_are_out_of_reach() {
    let t = start(Options::default()).await;
    let card = issue_promotional(&t, SHOP_KEY, "gift", Some(5_000)).await;
    for path in [
        format!("/v1/cards/{card}"),
        format!("/v1/cards/{card}/transactions"),
    ] {
        let r = t.get(OTHER_KEY, &path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.body);
    }
    for path in [
        format!("/v1/cards/{card}/payment-codes"),
        format!("/v1/cards/{card}/freeze"),
    ] {
        let r = t.post(OTHER_KEY, &path, json!({})).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.body);
    }
    let listed = t.get(OTHER_KEY, "/v1/cards?holder=member-1").await;
    assert_eq!(listed.body["data"], json!([]));
    let mine = t.get(SHOP_KEY, "/v1/cards?holder=member-1").await;
    assert_eq!(mine.body["data"].as_array().unwrap().len(), 1);

    // A code means nothing to another tenant, and by card id the other
    // tenant's plugin call cannot reach it either.
    let stolen = pay_with_code(
        &t,
        OTHER_KEY,
        "X-1",
        1_000,
        &code(&t, SHOP_KEY, &card).await,
    )
    .await;
    assert_eq!(
        stolen.body["failure"]["code"], "invalid_auth_code",
        "{}",
        stolen.body
    );
    let by_id = t
        .post(OTHER_KEY, "/v1/payments", card_payment("X-2", 1_000, &card))
        .await;
    assert_eq!(by_id.body["status"], "failed", "{}", by_id.body);
    assert_eq!(balance(&t, &card).await, 5_000);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_simultaneous_payments_of_ten_on_a_hundred_take_exactly_ten() {
    let t = start(Options::default()).await;
    let card = issue_promotional(&t, SHOP_KEY, "gift", Some(10_000)).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        let client = t.client.clone();
        let url = t.url("/v1/payments");
        let body = card_payment(&format!("RACE-{i}"), 1_000, &card);
        tasks.spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(SHOP_KEY)
                .json(&body)
                .send()
                .await
                .unwrap();
            r.json::<Value>().await.unwrap()
        });
    }
    let replies = tasks.join_all().await;
    let succeeded = replies
        .iter()
        .filter(|r| r["status"] == "succeeded")
        .count();
    let declined = replies
        .iter()
        .filter(|r| r["failure"]["code"] == "insufficient_funds")
        .count();
    assert_eq!((succeeded, declined), (10, 40), "{replies:?}");
    assert_eq!(balance(&t, &card).await, 0);
    // Another member's id does not open the card.
    let wrong = t
        .post(
            SHOP_KEY,
            "/v1/payments",
            json!({ "merchant_order_no": "RACE-X", "amount": 100, "currency": "CNY", "scene": "jsapi",
                    "wallet": "card", "payer": { "open_id": "member-2", "buyer_id": card } }),
        )
        .await;
    assert_eq!(
        wrong.body["failure"]["code"], "card_not_found",
        "{}",
        wrong.body
    );
    assert_ledger_balanced(&t, "shop").await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_issues_are_refused_naming_the_field_and_issue_nothing() {
    let t = start(Options::default()).await;
    let cases = [
        (json!({ "program": "nope", "holder": "m" }), "program"),
        (json!({ "program": "member" }), "holder"),
        (
            json!({ "program": "gift", "holder": "m", "funded_by": { "type": "promotion" } }),
            "amount",
        ),
        (
            json!({ "program": "gift", "holder": "m", "amount": 600_000, "funded_by": { "type": "promotion" } }),
            "amount",
        ),
        (
            json!({ "program": "gift", "holder": "m", "amount": -5, "funded_by": { "type": "promotion" } }),
            "amount",
        ),
        (
            json!({ "program": "gift", "holder": "m", "amount": 500 }),
            "funded_by",
        ),
        (
            json!({ "program": "gift", "holder": "m", "amount": 500, "funded_by": { "type": "gift" } }),
            "funded_by.type",
        ),
        (
            json!({ "program": "gift", "holder": "m", "amount": 500, "funded_by": { "type": "payment" } }),
            "funded_by.payment_id",
        ),
        (
            json!({ "program": "gift", "holder": "m", "amount": 500, "funded_by": { "type": "payment", "payment_id": "pay_nope" } }),
            "funded_by",
        ),
    ];
    for (body, field) in cases {
        let r = issue(&t, SHOP_KEY, body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.body
        );
        assert_eq!(r.body["error"]["field"], field, "{body}: {}", r.body);
    }
    let unknown = issue(&t, SHOP_KEY, json!({ "program": "gift", "colour": "red" })).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.body);
    let listed = t.get(SHOP_KEY, "/v1/cards?holder=m").await;
    assert_eq!(
        listed.body["data"],
        json!([]),
        "a refused issue leaves no card"
    );
    let no_holder = t.get(SHOP_KEY, "/v1/cards").await;
    assert_eq!(no_holder.status, StatusCode::BAD_REQUEST);
    let missing = t.get(SHOP_KEY, "/v1/cards/card_nope").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_ledger_balanced(&t, "shop").await;
    t.stop().await;
}

async fn top_up(t: &TestApp, card: &str, order: &str, amount: i64, auth_code: &str) -> Reply {
    t.post(
        SHOP_KEY,
        &format!("/v1/cards/{card}/top-ups"),
        json!({ "merchant_order_no": order, "amount": amount, "currency": "CNY",
                "scene": "barcode", "auth_code": auth_code, "wallet": "sandbox" }),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_card_is_topped_up_with_its_bonus_and_a_refund_takes_it_back() {
    let t = start(Options::default()).await;
    let issued = issue(
        &t,
        SHOP_KEY,
        json!({ "program": "member", "holder": "member-1" }),
    )
    .await;
    assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.body);
    assert_eq!(issued.body["balance"], 0, "a member card starts empty");
    let card = issued.id();

    let topped = top_up(&t, &card, "TOP-1", 50_000, "134567890124").await;
    assert_eq!(topped.status, StatusCode::CREATED, "{}", topped.body);
    assert_eq!(topped.body["status"], "credited");
    assert_eq!(topped.body["bonus"], 5_000);
    assert_eq!(topped.body["payment"]["status"], "succeeded");
    assert_eq!(topped.body["payment"]["wallet"], "sandbox");
    assert_eq!(balance(&t, &card).await, 55_000);
    let again = top_up(&t, &card, "TOP-1", 50_000, "134567890124").await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(
        balance(&t, &card).await,
        55_000,
        "a replay credits nothing more"
    );
    let other = top_up(&t, &card, "TOP-1", 20_000, "134567890124").await;
    assert_eq!(other.status, StatusCode::CONFLICT, "{}", other.body);

    // A declined top-up credits nothing.
    let declined = top_up(&t, &card, "TOP-2", 10_000, "134567890121").await;
    assert_eq!(declined.body["status"], "failed", "{}", declined.body);
    assert_eq!(balance(&t, &card).await, 55_000);

    // A tenth of the top-up refunded takes a tenth of the bonus back too.
    let payment = topped.body["payment"]["id"].as_str().unwrap().to_string();
    let refunds = format!("/v1/payments/{payment}/refunds");
    let part = t
        .post(
            SHOP_KEY,
            &refunds,
            json!({ "merchant_refund_no": "TOP-1-R1", "amount": 5_000 }),
        )
        .await;
    assert_eq!(part.body["status"], "succeeded", "{}", part.body);
    assert_eq!(balance(&t, &card).await, 49_500);

    // Spend most of it; the rest of the top-up cannot be refunded any more.
    let spent = pay_with_code(
        &t,
        SHOP_KEY,
        "TOP-SPEND",
        45_000,
        &code(&t, SHOP_KEY, &card).await,
    )
    .await;
    assert_eq!(spent.body["status"], "succeeded", "{}", spent.body);
    let refused = t
        .post(
            SHOP_KEY,
            &refunds,
            json!({ "merchant_refund_no": "TOP-1-R2", "amount": 45_000 }),
        )
        .await;
    assert_eq!(refused.body["status"], "failed", "{}", refused.body);
    assert_eq!(refused.body["failure"]["code"], "top_up_spent");
    assert_eq!(
        balance(&t, &card).await,
        4_500,
        "a refused refund takes nothing"
    );
    let read = t.get(SHOP_KEY, &format!("/v1/payments/{payment}")).await;
    assert_eq!(read.body["refunded_amount"], 5_000);
    // What the card still holds of it can go back.
    let rest = t
        .post(
            SHOP_KEY,
            &refunds,
            json!({ "merchant_refund_no": "TOP-1-R3", "amount": 4_000 }),
        )
        .await;
    assert_eq!(rest.body["status"], "succeeded", "{}", rest.body);
    assert_eq!(balance(&t, &card).await, 100);
    assert_ledger_balanced(&t, "shop").await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_ups_the_card_cannot_take_are_refused_before_any_payment() {
    let t = start(Options::default()).await;
    let member = issue(
        &t,
        SHOP_KEY,
        json!({ "program": "member", "holder": "member-1" }),
    )
    .await
    .id();
    let gift = issue_promotional(&t, SHOP_KEY, "gift", Some(1_000)).await;
    let cases = [
        (member.as_str(), 600_000, "134567890124", "amount"),
        (gift.as_str(), 1_000, "134567890124", "amount"),
        (member.as_str(), 1_000, "881234567890123456", "wallet"),
    ];
    for (card, amount, code, field) in cases {
        let r = top_up(&t, card, "TOP-BAD", amount, code).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{card} {amount}: {}",
            r.body
        );
        assert_eq!(r.body["error"]["field"], field, "{}", r.body);
    }
    let usd = t
        .post(
            SHOP_KEY,
            &format!("/v1/cards/{member}/top-ups"),
            json!({ "merchant_order_no": "TOP-USD", "amount": 1_000, "currency": "USD",
                    "scene": "barcode", "auth_code": "134567890124", "wallet": "sandbox" }),
        )
        .await;
    assert_eq!(usd.body["error"]["field"], "currency", "{}", usd.body);
    let missing = top_up(&t, "card_nope", "TOP-404", 1_000, "134567890124").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let found = t
        .get(SHOP_KEY, "/v1/payments?merchant_order_no=TOP-BAD")
        .await;
    assert_eq!(
        found.status,
        StatusCode::NOT_FOUND,
        "a refused top-up makes no payment"
    );
    assert_eq!(balance(&t, &member).await, 0);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeper_credits_a_top_up_a_crash_left_behind() {
    let t = start(Options::fast_sweeper()).await;
    let card = issue(
        &t,
        SHOP_KEY,
        json!({ "program": "member", "holder": "member-1" }),
    )
    .await
    .id();
    // The payment succeeded but the process died before the card was
    // credited: the top-up is recorded, its payment final, no credit.
    let paid = t
        .post(SHOP_KEY, "/v1/payments", barcode_body("TOP-CRASH", 50_000))
        .await;
    assert_eq!(paid.body["status"], "succeeded", "{}", paid.body);
    t.store()
        .insert_top_up(&paycore::store::NewTopUp {
            tenant_id: TenantId::from("shop"),
            merchant_order_no: "TOP-CRASH".into(),
            card_id: paycore::ledger::CardId::from(card.as_str()),
            amount: 50_000,
            bonus: 5_000,
            currency: paycore::money::Currency::parse("CNY").unwrap(),
        })
        .await
        .unwrap();
    eventually_async("the sweeper credits the card", async || {
        let r = t.get(SHOP_KEY, &format!("/v1/cards/{card}")).await;
        (r.body["balance"] == 55_000).then_some(())
    })
    .await;
    let top_up = t
        .store()
        .top_up(&TenantId::from("shop"), "TOP-CRASH")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(top_up.status, "credited");
    // And never twice.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(balance(&t, &card).await, 55_000);
    assert_ledger_balanced(&t, "shop").await;
    t.stop().await;
}
