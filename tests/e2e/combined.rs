//! Combined tender (组合支付): one order paid by a coupon, a card and a
//! sandbox barcode payment together, through the cashier API, the real
//! `card.wasm` holding each coupon and card (contract 1.1's `tender`), the
//! sandbox provider paying the rest. All or nothing: a decline releases
//! every hold, an unknown outcome keeps them until the query settles it,
//! bad input is refused naming the tender with nothing held, and racing
//! orders on one card never overdraw it.

use paycore_e2e::ledger::*;
use paycore_e2e::*;
use serde_json::Value;

pub(crate) const SHOP_KEY: &str = "sk_test_combined_shop";

/// The sandbox channel, the card channel, and programmes of each kind.
fn combined_tenant(id: &str, key: &str) -> (String, String) {
    TenantToml::sandbox(id, key)
        // Webhooks go where an order's notify_url says.
        .line("webhook_secret = \"inline:whsec_combined_e2e_0123456789\"")
        .then(
            r#"
[[channels]]
id = "card"
plugin = "card@^1"

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
face_values = ["20.00"]

[[card_programs]]
id = "coffee10"
kind = "punch"
channel = "card"
currency = "CNY"
unit = "coffee"
uses = 10
covers_up_to = "30.00"

[[card_programs]]
id = "usgift"
kind = "gift"
channel = "card"
currency = "USD"
jurisdiction = "US"
max_balance = "500.00"

[[card_programs]]
id = "welcome5"
kind = "coupon"
channel = "card"
currency = "CNY"
amount_off = "5.00"
min_spend = "30.00"
validity_days = 30
"#,
        )
        .file()
}

pub(crate) async fn start() -> TestApp {
    TestApp::start_with_extra(
        Options::default(),
        Extra {
            plugins: vec!["card".into()],
            tenants: vec![combined_tenant("shop", SHOP_KEY)],
        },
    )
    .await
}

/// A ¥5-off coupon given to the member; its code.
pub(crate) async fn coupon(t: &TestApp) -> String {
    let r = t
        .post(
            SHOP_KEY,
            "/v1/coupons",
            json!({ "program": "welcome5", "holder": MEMBER }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["code"].as_str().unwrap().to_string()
}

/// An order of `amount` CNY by the member, paid by `tenders`.
fn order(no: &str, amount: i64, tenders: Value) -> Value {
    json!({ "merchant_order_no": no, "amount": amount, "currency": "CNY",
            "payer": { "open_id": MEMBER }, "subject": "lunch", "tenders": tenders })
}

/// The order of the docs: 38.50 paid by the ¥5 coupon `code`, 20.00 from
/// `card` and a sandbox barcode `wallet_code` for the rest.
fn lunch(no: &str, code: &str, card: &str, wallet_code: &str) -> Value {
    order(
        no,
        3_850,
        json!([{ "type": "coupon", "code": code },
               { "type": "card", "card_id": card, "amount": 2_000 },
               barcode(wallet_code)]),
    )
}

/// A sandbox barcode payment for what the other tenders leave.
fn barcode(code: &str) -> Value {
    json!({ "scene": "barcode", "auth_code": code, "wallet": "sandbox" })
}

/// (balance, held) of a card or coupon.
pub(crate) async fn card_state(t: &TestApp, card: &str) -> (i64, i64) {
    let r = t.get(SHOP_KEY, &format!("/v1/cards/{card}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    (
        r.body["balance"].as_i64().unwrap(),
        r.body["held"].as_i64().unwrap(),
    )
}

pub(crate) async fn coupon_status(t: &TestApp, code: &str) -> String {
    let r = t.get(SHOP_KEY, &format!("/v1/coupons/{code}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["status"].as_str().unwrap().to_string()
}

async fn posting_kinds(t: &TestApp, card: &str) -> Vec<String> {
    let r = t
        .get(SHOP_KEY, &format!("/v1/cards/{card}/transactions"))
        .await;
    r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap().to_string())
        .collect()
}

/// Each tender's (type, amount, status).
pub(crate) fn tenders_of(payment: &Value) -> Vec<(String, i64, String)> {
    payment["tenders"]
        .as_array()
        .unwrap_or_else(|| panic!("no tenders in {payment}"))
        .iter()
        .map(|t| {
            (
                t["type"].as_str().unwrap().to_string(),
                t["amount"].as_i64().unwrap(),
                t["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

pub(crate) fn tender(kind: &str, amount: i64, status: &str) -> (String, i64, String) {
    (kind.into(), amount, status.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coupon_card_and_wallet_pay_one_order_once() {
    let t = start().await;
    let gift = issue_promotional(&t, SHOP_KEY, "gift", Some(10_000)).await;
    let code = coupon(&t).await;
    let body = lunch("MIX-1", &code, &gift, "134567890124");
    let paid = t.post(SHOP_KEY, "/v1/payments", body.clone()).await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.body);
    assert_eq!(paid.body["status"], "succeeded", "{}", paid.body);
    assert_eq!(paid.body["amount"], 3_850);
    assert_eq!(
        tenders_of(&paid.body),
        [
            tender("coupon", 500, "succeeded"),
            tender("card", 2_000, "succeeded"),
            tender("external", 1_350, "succeeded"),
        ]
    );
    let shown = &paid.body["tenders"];
    assert_eq!(shown[0]["card_id"], code.as_str());
    assert_eq!(shown[1]["card_id"], gift.as_str());
    assert_eq!(shown[1]["balance"], 8_000);
    assert_eq!(shown[1]["channel"], "card");
    assert_eq!(shown[2]["channel"], "sandbox-main");
    assert_eq!(shown[2]["scene"], "barcode");
    assert_eq!(card_state(&t, &gift).await, (8_000, 0));
    assert_eq!(coupon_status(&t, &code).await, "closed");
    assert_eq!(
        posting_kinds(&t, &gift).await,
        ["issue", "hold", "capture"],
        "the card's value moved exactly once"
    );

    // The same body again is the same order; another body under its
    // number is a conflict. Neither moves value.
    let again = t.post(SHOP_KEY, "/v1/payments", body.clone()).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.id(), paid.id());
    assert_eq!(tenders_of(&again.body), tenders_of(&paid.body));
    let mut other = body.clone();
    other["tenders"][1]["amount"] = json!(2_100);
    let conflict = t.post(SHOP_KEY, "/v1/payments", other).await;
    assert_eq!(conflict.status, StatusCode::CONFLICT, "{}", conflict.body);
    assert_eq!(card_state(&t, &gift).await, (8_000, 0));

    // Read back by id and by order number, with the same tenders.
    let read = t
        .get(SHOP_KEY, &format!("/v1/payments/{}", paid.id()))
        .await;
    assert_eq!(tenders_of(&read.body), tenders_of(&paid.body));
    let found = t
        .get(SHOP_KEY, "/v1/payments?merchant_order_no=MIX-1")
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert_eq!(tenders_of(&found.body), tenders_of(&paid.body));

    // A paid combined order is given back by refunds, never reversed at
    // its wallet alone.
    let cancel = t
        .post(
            SHOP_KEY,
            &format!("/v1/payments/{}/cancel", paid.id()),
            json!({}),
        )
        .await;
    assert_eq!(
        cancel.code(),
        "combined_order_not_reversible",
        "{}",
        cancel.body
    );
    assert_eq!(card_state(&t, &gift).await, (8_000, 0));
    assert_ledger_balanced(&t, "shop").await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_wallet_releases_the_coupon_and_the_card() {
    let t = start().await;
    let gift = issue_promotional(&t, SHOP_KEY, "gift", Some(10_000)).await;
    let code = coupon(&t).await;
    let paid = t
        .post(
            SHOP_KEY,
            "/v1/payments",
            lunch("MIX-DECLINE", &code, &gift, "134567890121"),
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.body);
    assert_eq!(paid.body["status"], "failed", "{}", paid.body);
    assert_eq!(
        tenders_of(&paid.body),
        [
            tender("coupon", 500, "released"),
            tender("card", 2_000, "released"),
            tender("external", 1_350, "failed"),
        ]
    );
    assert_eq!(card_state(&t, &gift).await, (10_000, 0), "as before");
    assert_eq!(coupon_status(&t, &code).await, "active");
    assert_eq!(card_state(&t, &code).await, (500, 0));
    assert_eq!(posting_kinds(&t, &gift).await, ["issue", "hold", "release"]);
    assert_ledger_balanced(&t, "shop").await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_wallet_outcome_keeps_the_holds_until_the_query_settles_it() {
    let t = start().await;
    let gift = issue_promotional(&t, SHOP_KEY, "gift", Some(10_000)).await;
    let code = coupon(&t).await;
    let r = t
        .post(
            SHOP_KEY,
            "/v1/payments",
            lunch("MIX-TIMEOUT", &code, &gift, "134567890123"),
        )
        .await;
    assert_eq!(r.status, StatusCode::GATEWAY_TIMEOUT, "{}", r.body);
    assert_eq!(r.code(), "outcome_unknown");
    let payment = &r.body["error"]["payment"];
    assert_eq!(payment["status"], "unknown");
    assert_eq!(
        tenders_of(payment),
        [
            tender("coupon", 500, "held"),
            tender("card", 2_000, "held"),
            tender("external", 1_350, "unknown"),
        ]
    );
    assert_eq!(
        card_state(&t, &gift).await,
        (8_000, 2_000),
        "held, not spent"
    );
    let id = payment["id"].as_str().unwrap().to_string();
    let synced = t
        .post(SHOP_KEY, &format!("/v1/payments/{id}/sync"), json!({}))
        .await;
    assert_eq!(synced.status, StatusCode::OK, "{}", synced.body);
    assert_eq!(synced.body["status"], "succeeded");
    let read = t.get(SHOP_KEY, &format!("/v1/payments/{id}")).await;
    assert_eq!(
        tenders_of(&read.body),
        [
            tender("coupon", 500, "succeeded"),
            tender("card", 2_000, "succeeded"),
            tender("external", 1_350, "succeeded"),
        ]
    );
    assert_eq!(card_state(&t, &gift).await, (8_000, 0));
    assert_eq!(coupon_status(&t, &code).await, "closed");
    assert_ledger_balanced(&t, "shop").await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coupon_and_a_card_pay_an_order_alone() {
    let t = start().await;
    let gift = issue_promotional(&t, SHOP_KEY, "gift", Some(10_000)).await;
    let code = coupon(&t).await;
    let paid = t
        .post(
            SHOP_KEY,
            "/v1/payments",
            order(
                "MIX-OWN",
                3_000,
                json!([{ "type": "coupon", "code": code }, { "type": "card", "card_id": gift }]),
            ),
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.body);
    assert_eq!(paid.body["status"], "succeeded", "{}", paid.body);
    assert_eq!(
        tenders_of(&paid.body),
        [
            tender("coupon", 500, "succeeded"),
            tender("card", 2_500, "succeeded"),
        ],
        "the card takes what the coupon leaves"
    );
    assert_eq!(paid.body["channel"], json!(null), "no channel was asked");
    assert_eq!(card_state(&t, &gift).await, (7_500, 0));
    assert_ledger_balanced(&t, "shop").await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tenders_are_refused_naming_the_tender_and_nothing_is_held() {
    let t = start().await;
    let gift = issue_promotional(&t, SHOP_KEY, "gift", Some(10_000)).await;
    let punch = issue_promotional(&t, SHOP_KEY, "coffee10", None).await;
    let voucher = issue_promotional(&t, SHOP_KEY, "voucher", Some(2_000)).await;
    let dollars = issue_promotional(&t, SHOP_KEY, "usgift", Some(5_000)).await;
    let code = coupon(&t).await;
    let second_coupon = coupon(&t).await;
    let card = |id: &str, amount: i64| json!({ "type": "card", "card_id": id, "amount": amount });
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "not summing to the amount",
            order(
                "BAD-1",
                3_850,
                json!([card(&gift, 2_000), { "scene": "barcode", "auth_code": "134567890124", "wallet": "sandbox", "amount": 1_000 }]),
            ),
            "tenders[1].amount",
        ),
        (
            "two external tenders",
            order(
                "BAD-2",
                3_850,
                json!([barcode("134567890124"), { "scene": "qrcode", "wallet": "sandbox", "amount": 1 }]),
            ),
            "tenders[1].scene",
        ),
        (
            "a coupon below its minimum spend",
            order(
                "BAD-3",
                2_000,
                json!([{ "type": "coupon", "code": code }, barcode("134567890124")]),
            ),
            "tenders[0].code",
        ),
        (
            "a card tender above its balance",
            order(
                "BAD-4",
                30_000,
                json!([card(&gift, 20_000), barcode("134567890124")]),
            ),
            "tenders[0].amount",
        ),
        (
            "a tender in another currency",
            order(
                "BAD-5",
                3_850,
                json!([card(&gift, 2_000), { "scene": "barcode", "auth_code": "134567890124", "wallet": "sandbox", "currency": "USD" }]),
            ),
            "tenders[1].currency",
        ),
        (
            "a card holding another currency",
            order(
                "BAD-6",
                3_850,
                json!([card(&dollars, 2_000), barcode("134567890124")]),
            ),
            "tenders[0].card_id",
        ),
        (
            "a punch card on a money order",
            order(
                "BAD-7",
                3_850,
                json!([card(&punch, 1), barcode("134567890124")]),
            ),
            "tenders[0].card_id",
        ),
        (
            "a voucher used in part",
            order(
                "BAD-8",
                3_850,
                json!([card(&voucher, 1_000), barcode("134567890124")]),
            ),
            "tenders[0].amount",
        ),
        (
            "an unknown card",
            order(
                "BAD-9",
                3_850,
                json!([card("card_nosuchcard", 1_000), barcode("134567890124")]),
            ),
            "tenders[0].card_id",
        ),
        (
            "a card as a coupon",
            order(
                "BAD-10",
                3_850,
                json!([{ "type": "coupon", "code": gift }, barcode("134567890124")]),
            ),
            "tenders[0].code",
        ),
        (
            "two coupons of a one-per-order programme",
            order(
                "BAD-12",
                3_850,
                json!([{ "type": "coupon", "code": code },
                                          { "type": "coupon", "code": second_coupon },
                                          barcode("134567890124")]),
            ),
            "tenders[1].code",
        ),
        (
            "a scene beside tenders",
            {
                let mut b = order(
                    "BAD-11",
                    3_850,
                    json!([card(&gift, 2_000), barcode("134567890124")]),
                );
                b["scene"] = json!("barcode");
                b
            },
            "scene",
        ),
    ];
    for (what, body, field) in cases {
        let no = body["merchant_order_no"].as_str().unwrap().to_string();
        let r = t.post(SHOP_KEY, "/v1/payments", body).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{what}: {}",
            r.body
        );
        assert_eq!(r.body["error"]["field"], field, "{what}: {}", r.body);
        let found = t
            .get(SHOP_KEY, &format!("/v1/payments?merchant_order_no={no}"))
            .await;
        assert_eq!(
            found.status,
            StatusCode::NOT_FOUND,
            "{what}: no order is made"
        );
    }
    assert_eq!(card_state(&t, &gift).await, (10_000, 0));
    assert_eq!(card_state(&t, &voucher).await, (2_000, 0));
    assert_eq!(card_state(&t, &code).await, (500, 0));
    assert_eq!(coupon_status(&t, &code).await, "active");
    assert_eq!(
        posting_kinds(&t, &gift).await,
        ["issue"],
        "nothing was held"
    );
    assert_ledger_balanced(&t, "shop").await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_orders_on_one_card_never_overdraw_it() {
    let t = start().await;
    let gift = issue_promotional(&t, SHOP_KEY, "gift", Some(10_000)).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8 {
        let client = t.client.clone();
        let url = t.url("/v1/payments");
        let body = order(
            &format!("RACE-{i}"),
            3_000,
            json!([{ "type": "card", "card_id": gift, "amount": 2_000 }, barcode("134567890124")]),
        );
        tasks.spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(SHOP_KEY)
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        });
    }
    let mut succeeded = 0;
    while let Some(done) = tasks.join_next().await {
        let (status, body) = done.unwrap();
        match body["status"].as_str() {
            Some("succeeded") => succeeded += 1,
            // Refused before anything was held (the card read short), or
            // failed on its hold: either way it took nothing.
            Some("failed") => assert_eq!(status, StatusCode::CREATED, "{body}"),
            _ => assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}"),
        }
    }
    assert_eq!(succeeded, 5, "10,000 pays five tenders of 2,000");
    assert_eq!(card_state(&t, &gift).await, (0, 0));
    assert_ledger_balanced(&t, "shop").await;
    t.stop().await;
}

async fn refund(t: &TestApp, payment: &str, no: &str, amount: i64) -> Reply {
    t.post(
        SHOP_KEY,
        &format!("/v1/payments/{payment}/refunds"),
        json!({ "merchant_refund_no": no, "amount": amount }),
    )
    .await
}

/// Each part of a refund: (position, type, amount, status).
fn parts_of(refund: &Value) -> Vec<(i64, String, i64, String)> {
    refund["tenders"]
        .as_array()
        .unwrap_or_else(|| panic!("no tenders in {refund}"))
        .iter()
        .map(|p| {
            (
                p["position"].as_i64().unwrap(),
                p["type"].as_str().unwrap().to_string(),
                p["amount"].as_i64().unwrap(),
                p["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn part(position: i64, kind: &str, amount: i64) -> (i64, String, i64, String) {
    (position, kind.into(), amount, "succeeded".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_go_back_to_the_wallet_first_then_the_card_and_the_coupon_only_with_the_rest() {
    let t = start().await;
    let gift = issue_promotional(&t, SHOP_KEY, "gift", Some(10_000)).await;
    let code = coupon(&t).await;
    let paid = t
        .post(
            SHOP_KEY,
            "/v1/payments",
            lunch("MIX-R", &code, &gift, "134567890124"),
        )
        .await;
    assert_eq!(paid.body["status"], "succeeded", "{}", paid.body);
    let id = paid.id();

    let first = refund(&t, &id, "MIX-R-1", 1_000).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(first.body["status"], "succeeded", "{}", first.body);
    assert_eq!(parts_of(&first.body), [part(2, "external", 1_000)]);
    assert_eq!(card_state(&t, &gift).await, (8_000, 0));

    let second = refund(&t, &id, "MIX-R-2", 1_000).await;
    assert_eq!(second.body["status"], "succeeded", "{}", second.body);
    assert_eq!(
        parts_of(&second.body),
        [part(1, "card", 650), part(2, "external", 350)],
        "what the wallet has left, then the card"
    );
    assert_eq!(card_state(&t, &gift).await, (8_650, 0));

    // 1,350 of money is left, and 500 of coupon: a coupon is never paid out.
    let between = refund(&t, &id, "MIX-R-3", 1_500).await;
    assert_eq!(
        between.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        between.body
    );
    assert_eq!(between.code(), "refund_not_allocatable");
    assert_eq!(between.body["error"]["field"], "amount");
    assert_eq!(card_state(&t, &gift).await, (8_650, 0), "nothing moved");

    let rest = refund(&t, &id, "MIX-R-4", 1_850).await;
    assert_eq!(rest.body["status"], "succeeded", "{}", rest.body);
    assert_eq!(
        parts_of(&rest.body),
        [part(0, "coupon", 500), part(1, "card", 1_350)]
    );
    assert_eq!(card_state(&t, &gift).await, (10_000, 0));
    assert_eq!(
        coupon_status(&t, &code).await,
        "active",
        "the whole order gives it back"
    );
    let read = t.get(SHOP_KEY, &format!("/v1/refunds/{}", rest.id())).await;
    assert_eq!(parts_of(&read.body), parts_of(&rest.body));
    let order = t.get(SHOP_KEY, &format!("/v1/payments/{id}")).await;
    assert_eq!(order.body["refunded_amount"], 3_850);
    let over = refund(&t, &id, "MIX-R-5", 1).await;
    assert_eq!(
        over.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        over.body
    );
    assert_eq!(
        posting_kinds(&t, &gift).await,
        ["issue", "hold", "capture", "refund", "refund"]
    );
    assert_ledger_balanced(&t, "shop").await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_of_cards_alone_is_refunded_by_paycore_itself() {
    let t = start().await;
    let gift = issue_promotional(&t, SHOP_KEY, "gift", Some(10_000)).await;
    let paid = t
        .post(
            SHOP_KEY,
            "/v1/payments",
            order("OWN-R", 3_000, json!([{ "type": "card", "card_id": gift }])),
        )
        .await;
    assert_eq!(paid.body["status"], "succeeded", "{}", paid.body);
    let back = refund(&t, &paid.id(), "OWN-R-1", 1_200).await;
    assert_eq!(back.status, StatusCode::CREATED, "{}", back.body);
    assert_eq!(back.body["status"], "succeeded", "{}", back.body);
    assert_eq!(back.body["channel_refund_no"], json!(null));
    assert_eq!(parts_of(&back.body), [part(0, "card", 1_200)]);
    assert_eq!(card_state(&t, &gift).await, (8_200, 0));
    let again = refund(&t, &paid.id(), "OWN-R-1", 1_200).await;
    assert_eq!(
        again.status,
        StatusCode::OK,
        "a replay, nothing moved twice"
    );
    assert_eq!(card_state(&t, &gift).await, (8_200, 0));
    assert_ledger_balanced(&t, "shop").await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_explain_shows_each_tender_and_the_wallet_route_holding_nothing() {
    let t = start().await;
    let gift = issue_promotional(&t, SHOP_KEY, "gift", Some(10_000)).await;
    let code = coupon(&t).await;
    let body = lunch("EXPLAIN-1", &code, &gift, "134567890124");
    let r = t.post(SHOP_KEY, "/v1/routing/explain", body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let tenders = r.body["tenders"].as_array().unwrap();
    assert_eq!(tenders.len(), 3, "{}", r.body);
    assert_eq!(tenders[0]["type"], "coupon");
    assert_eq!(tenders[0]["amount"], 500);
    assert_eq!(tenders[0]["channel"], "card");
    assert_eq!(tenders[1]["amount"], 2_000);
    assert_eq!(tenders[2]["type"], "external");
    assert_eq!(tenders[2]["amount"], 1_350, "the wallet's part, worked out");
    assert_eq!(
        tenders[2]["routing"]["channel"], "sandbox-main",
        "{}",
        r.body
    );
    let too_much = order(
        "EXPLAIN-2",
        3_850,
        json!([{ "type": "card", "card_id": gift, "amount": 20_000 }, barcode("134567890124")]),
    );
    let refused = t.post(SHOP_KEY, "/v1/routing/explain", too_much).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert_eq!(refused.body["error"]["field"], "tenders[0].amount");
    assert_eq!(card_state(&t, &gift).await, (10_000, 0), "nothing held");
    assert_eq!(coupon_status(&t, &code).await, "active");
    let made = t
        .get(SHOP_KEY, "/v1/payments?merchant_order_no=EXPLAIN-1")
        .await;
    assert_eq!(made.status, StatusCode::NOT_FOUND, "nothing created");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_order_webhook_shows_its_tenders_as_they_end() {
    let t = start().await;
    let gift = issue_promotional(&t, SHOP_KEY, "gift", Some(10_000)).await;
    let code = coupon(&t).await;
    let with_hook = |no: &str, wallet_code: &str| {
        let mut body = lunch(no, &code, &gift, wallet_code);
        body["notify_url"] = json!(t.hooks.url);
        body
    };
    let paid = t
        .post(
            SHOP_KEY,
            "/v1/payments",
            with_hook("HOOK-1", "134567890124"),
        )
        .await;
    assert_eq!(paid.body["status"], "succeeded", "{}", paid.body);
    let hooks = t.wait_for_webhooks(1).await;
    let event: Value = serde_json::from_str(&hooks[0].body).unwrap();
    assert_eq!(event["type"], "payment.succeeded", "{event}");
    assert_eq!(
        tenders_of(&event["data"]),
        [
            tender("coupon", 500, "succeeded"),
            tender("card", 2_000, "succeeded"),
            tender("external", 1_350, "succeeded"),
        ],
        "spent as the order succeeded"
    );
    assert_eq!(event["data"]["tenders"][1]["balance"], 8_000);

    let code = coupon(&t).await;
    let mut declined = with_hook("HOOK-2", "134567890121");
    declined["tenders"][0]["code"] = json!(code);
    let failed = t.post(SHOP_KEY, "/v1/payments", declined).await;
    assert_eq!(failed.body["status"], "failed", "{}", failed.body);
    let hooks = t.wait_for_webhooks(2).await;
    let event: Value = serde_json::from_str(&hooks[1].body).unwrap();
    assert_eq!(event["type"], "payment.failed", "{event}");
    assert_eq!(
        tenders_of(&event["data"]),
        [
            tender("coupon", 500, "released"),
            tender("card", 2_000, "released"),
            tender("external", 1_350, "failed"),
        ],
        "given back as the order failed"
    );
    assert_eq!(
        event["data"]["tenders"][1]["balance"], 8_000,
        "the card's 2,000 back on it"
    );
    assert_eq!(card_state(&t, &gift).await, (8_000, 0));
    t.stop().await;
}
