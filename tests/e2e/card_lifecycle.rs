//! Card value over time, through the real runtime and `card.wasm`, with
//! business time moved by a manual clock and a sweeper every 100 ms: an
//! anonymous gift card under China's rules expires to dormant after its
//! three years, pays nothing, and is reactivated with its value; a
//! programme with breakage forfeits at expiry; holds a crash left held
//! behind final payments are settled by the sweeper; the finance report
//! adds up a scripted month exactly, in the tenant's days; bad dates are
//! refused naming the parameter; another tenant's cards are out of reach.

use paycore::clock::{Clock, millis_rfc3339};
use paycore::domain::TenantId;
use paycore_core::ledger::{CardId, HoldId, Move};
use paycore_e2e::ledger::*;
use paycore_e2e::*;
use serde_json::Value;
use std::time::Duration;

const SHOP_KEY: &str = "sk_test_lifecycle_shop";
const OTHER_KEY: &str = "sk_test_lifecycle_other";
const DAY_MS: i64 = 86_400_000;

/// A tenant in Shanghai's time zone with the sandbox and card channels: a
/// named gift card (never expires in CN), an anonymous one (three years),
/// and a Hong Kong gift card of 30 days whose value breaks.
fn lifecycle_tenant(id: &str, key: &str) -> (String, String) {
    TenantToml::sandbox(id, key)
        .line("timezone = \"Asia/Shanghai\"")
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
id = "giftcn"
kind = "gift"
channel = "card"
currency = "CNY"
named = false
validity_days = 1095

[[card_programs]]
id = "hkgift"
kind = "gift"
channel = "card"
currency = "HKD"
jurisdiction = "HK"
named = false
max_balance = "1000.00"
validity_days = 30
breakage = true
"#,
        )
        .file()
}

async fn start(clock: Clock) -> TestApp {
    TestApp::start_with_extra(
        Options {
            clock: Some(clock),
            ..Options::fast_sweeper()
        },
        Extra {
            plugins: vec!["card".into()],
            tenants: vec![
                lifecycle_tenant("shop", SHOP_KEY),
                lifecycle_tenant("other", OTHER_KEY),
            ],
        },
    )
    .await
}

/// Moves business time on to `at_ms` (never back).
fn move_to(clock: &Clock, at_ms: i64) {
    let ahead = at_ms - clock.now_millis();
    assert!(ahead >= 0, "the clock only moves on");
    clock.advance(Duration::from_millis(ahead as u64));
}

/// A gift card sold by a sandbox payment of its value.
async fn sold(t: &TestApp, order: &str, amount: i64) -> String {
    let paid = t
        .post(
            SHOP_KEY,
            "/v1/payments",
            json!({ "merchant_order_no": order, "amount": amount, "currency": "CNY",
                    "scene": "barcode", "auth_code": "134567890124", "wallet": "sandbox" }),
        )
        .await;
    assert_eq!(paid.body["status"], "succeeded", "{}", paid.body);
    let card = t
        .post(
            SHOP_KEY,
            "/v1/cards",
            json!({ "program": "gift", "holder": "member-1", "amount": amount,
                    "funded_by": { "type": "payment", "payment_id": paid.id() } }),
        )
        .await;
    assert_eq!(card.status, StatusCode::CREATED, "{}", card.body);
    card.id()
}

async fn card(t: &TestApp, card: &str) -> Value {
    let r = t.get(SHOP_KEY, &format!("/v1/cards/{card}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

async fn card_becomes(t: &TestApp, id: &str, status: &str) -> Value {
    eventually_async(&format!("card {id} {status}"), async || {
        let body = card(t, id).await;
        (body["status"] == status).then_some(body)
    })
    .await
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

async fn reactivate(t: &TestApp, key: &str, card: &str, idempotency_key: Option<&str>) -> Reply {
    let mut request = reqwest::Client::new()
        .post(t.url(&format!("/v1/cards/{card}/reactivate")))
        .bearer_auth(key);
    if let Some(k) = idempotency_key {
        request = request.header("Idempotency-Key", k);
    }
    t.send(request).await
}

async fn report(t: &TestApp, key: &str, query: &str) -> Reply {
    t.get(key, &format!("/v1/cards/report?{query}")).await
}

/// The report's entry for a programme.
fn program<'a>(report: &'a Reply, id: &str) -> &'a Value {
    report.body["programs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["program"] == id)
        .unwrap_or_else(|| panic!("no {id} in {}", report.body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anonymous_cn_gift_card_expires_dormant_and_is_reactivated_with_its_value() {
    let t = start(Clock::manual_at_now()).await;
    let clock = t.clock().clone();
    let gift = issue_promotional(&t, SHOP_KEY, "giftcn", Some(10_000)).await;
    let paid = pay_with_card(&t, SHOP_KEY, "CN-1", 3_000, &gift).await;
    assert_eq!(paid.body["status"], "succeeded", "{}", paid.body);
    let issued = card(&t, &gift).await;
    assert_eq!(
        issued["expires_at"],
        millis_rfc3339(clock.now_millis() + 1095 * DAY_MS)
    );

    // A day before its three years are up, the sweeper leaves it alone.
    clock.advance(Duration::from_millis((1094 * DAY_MS) as u64));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(card(&t, &gift).await["status"], "active");

    clock.advance(Duration::from_millis((DAY_MS + 1_000) as u64));
    let dormant = card_becomes(&t, &gift, "dormant").await;
    assert_eq!(
        (&dormant["balance"], &dormant["held"], &dormant["dormant"]),
        (&json!(0), &json!(0), &json!(7_000))
    );
    let declined = pay_with_card(&t, SHOP_KEY, "CN-2", 1_000, &gift).await;
    assert_eq!(declined.body["status"], "failed", "{}", declined.body);
    assert_eq!(declined.body["failure"]["code"], "card_expired");
    let no_code = t
        .post(
            SHOP_KEY,
            &format!("/v1/cards/{gift}/payment-codes"),
            json!({}),
        )
        .await;
    assert_eq!(no_code.code(), "card_not_active");
    assert_eq!(
        posting_kinds(&t, &gift).await,
        ["issue", "hold", "capture", "expire"]
    );

    // Reactivated: its value back, a new validity of three years from now.
    let back = reactivate(&t, SHOP_KEY, &gift, Some("react-1")).await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
    assert_eq!(back.body["status"], "active");
    assert_eq!(
        (&back.body["balance"], &back.body["dormant"]),
        (&json!(7_000), &json!(0))
    );
    assert_eq!(
        back.body["expires_at"],
        millis_rfc3339(clock.now_millis() + 1095 * DAY_MS)
    );
    // The same request again: the same card, nothing moved twice.
    let again = reactivate(&t, SHOP_KEY, &gift, Some("react-1")).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body, back.body);
    let active = reactivate(&t, SHOP_KEY, &gift, None).await;
    assert_eq!(active.status, StatusCode::CONFLICT, "{}", active.body);
    assert_eq!(active.code(), "card_not_dormant");
    assert_eq!(
        posting_kinds(&t, &gift).await,
        ["issue", "hold", "capture", "expire", "reactivate"]
    );

    let spent = pay_with_card(&t, SHOP_KEY, "CN-3", 2_000, &gift).await;
    assert_eq!(spent.body["status"], "succeeded", "{}", spent.body);
    assert_eq!(card(&t, &gift).await["balance"], 5_000);
    assert_ledger_balanced(&t, "shop").await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_programme_with_breakage_forfeits_at_expiry_and_the_report_shows_it() {
    // 2031-03-01T12:00+08:00.
    let t = start(Clock::manual_at_millis(1_930_104_000_000)).await;
    let clock = t.clock().clone();
    let hk = issue_promotional(&t, SHOP_KEY, "hkgift", Some(40_000)).await;
    clock.advance(Duration::from_millis((31 * DAY_MS) as u64));
    let closed = card_becomes(&t, &hk, "closed").await;
    assert_eq!(
        (&closed["balance"], &closed["held"], &closed["dormant"]),
        (&json!(0), &json!(0), &json!(0))
    );
    assert_eq!(posting_kinds(&t, &hk).await, ["issue", "expire", "forfeit"]);
    let refused = reactivate(&t, SHOP_KEY, &hk, None).await;
    assert_eq!(refused.code(), "card_not_dormant", "{}", refused.body);

    let r = report(&t, SHOP_KEY, "from=2031-03-01&to=2031-04-01").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["timezone"], "Asia/Shanghai");
    let figures = program(&r, "hkgift");
    assert_eq!(figures["unit"], "HKD");
    assert_eq!(
        figures["outstanding"],
        json!({ "available": 0, "held": 0, "dormant": 0, "total": 0 })
    );
    assert_eq!(
        figures["period"],
        json!({ "sales": 0, "promotion": 40_000, "redemption": 0, "refunded": 0,
                "expired": 40_000, "reactivated": 0, "breakage": 40_000 })
    );
    assert_ledger_balanced(&t, "shop").await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_adds_up_a_scripted_month_in_the_tenants_days() {
    // Three years before June 2031 (2028-06-12T12:00+08:00), an anonymous
    // gift card is given; it expires within June.
    let t = start(Clock::manual_at_millis(1_844_395_200_000)).await;
    let clock = t.clock().clone();
    let expiring = issue_promotional(&t, SHOP_KEY, "giftcn", Some(2_000)).await;

    // 2031-05-31T23:30+08:00: sold the day before the month.
    move_to(&clock, 1_938_007_800_000);
    sold(&t, "M-0", 20_000).await;
    // 2031-06-01T00:30+08:00, still May 31 in UTC: the month has begun.
    move_to(&clock, 1_938_011_400_000);
    let sold_in_june = sold(&t, "M-1", 10_000).await;
    let given = issue_promotional(&t, SHOP_KEY, "gift", Some(5_000)).await;
    let paid = pay_with_card(&t, SHOP_KEY, "M-2", 3_000, &sold_in_june).await;
    assert_eq!(paid.body["status"], "succeeded", "{}", paid.body);
    let refund = t
        .post(
            SHOP_KEY,
            &format!("/v1/payments/{}/refunds", paid.id()),
            json!({ "merchant_refund_no": "M-2-R", "amount": 1_000 }),
        )
        .await;
    assert_eq!(refund.body["status"], "succeeded", "{}", refund.body);
    // 2031-06-12T12:00:01+08:00: the anonymous card's three years are up.
    move_to(&clock, 1_939_003_201_000);
    card_becomes(&t, &expiring, "dormant").await;
    // 2031-06-30T23:59+08:00: the month's last purchase.
    move_to(&clock, 1_940_601_540_000);
    let last = pay_with_card(&t, SHOP_KEY, "M-3", 500, &given).await;
    assert_eq!(last.body["status"], "succeeded", "{}", last.body);
    // 2031-07-01T00:00:01+08:00: the next month's first.
    move_to(&clock, 1_940_601_601_000);
    let next = pay_with_card(&t, SHOP_KEY, "M-4", 700, &given).await;
    assert_eq!(next.body["status"], "succeeded", "{}", next.body);

    let june = report(&t, SHOP_KEY, "from=2031-06-01&to=2031-06-30").await;
    assert_eq!(june.status, StatusCode::OK, "{}", june.body);
    assert_eq!(
        (&june.body["from"], &june.body["to"]),
        (&json!("2031-06-01"), &json!("2031-06-30"))
    );
    let gift = program(&june, "gift");
    assert_eq!(gift["unit"], "CNY");
    assert_eq!(
        gift["period"],
        json!({ "sales": 10_000, "promotion": 5_000, "redemption": 2_500, "refunded": 1_000,
                "expired": 0, "reactivated": 0, "breakage": 0 })
    );
    // Now, not in June: 200.00 + 80.00 + (50.00 - 5.00 - 7.00).
    assert_eq!(
        gift["outstanding"],
        json!({ "available": 31_800, "held": 0, "dormant": 0, "total": 31_800 })
    );
    let anonymous = program(&june, "giftcn");
    assert_eq!(
        anonymous["period"],
        json!({ "sales": 0, "promotion": 0, "redemption": 0, "refunded": 0,
                "expired": 2_000, "reactivated": 0, "breakage": 0 })
    );
    assert_eq!(
        anonymous["outstanding"],
        json!({ "available": 0, "held": 0, "dormant": 2_000, "total": 2_000 })
    );

    // The days around it, each alone.
    let may_31 = report(&t, SHOP_KEY, "from=2031-05-31&to=2031-05-31").await;
    assert_eq!(program(&may_31, "gift")["period"]["sales"], 20_000);
    let july_1 = report(&t, SHOP_KEY, "from=2031-07-01&to=2031-07-01").await;
    assert_eq!(program(&july_1, "gift")["period"]["redemption"], 700);
    assert_eq!(program(&july_1, "gift")["period"]["sales"], 0);
    assert_ledger_balanced(&t, "shop").await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holds_left_held_behind_final_payments_are_settled_by_the_sweeper() {
    let t = start(Clock::manual_at_now()).await;
    let gift = issue_promotional(&t, SHOP_KEY, "gift", Some(10_000)).await;
    let card_id = CardId::from(gift.as_str());
    let shop = TenantId::from("shop");
    // Payments that ended: one paid, one declined (auth code ending in 1).
    let payment = |order: &'static str, code: &'static str| {
        let t = &t;
        async move {
            t.post(
                SHOP_KEY,
                "/v1/payments",
                json!({ "merchant_order_no": order, "amount": 1_000, "currency": "CNY",
                        "scene": "barcode", "auth_code": code, "wallet": "sandbox" }),
            )
            .await
        }
    };
    let paid = payment("H-1", "134567890124").await;
    assert_eq!(paid.body["status"], "succeeded", "{}", paid.body);
    let declined = payment("H-2", "134567890121").await;
    assert_eq!(declined.body["status"], "failed", "{}", declined.body);
    // What a crash between a hold and its capture or release leaves: the
    // hold still held, written the way the card plugin's call writes it.
    for payment_id in [paid.id(), declined.id(), "pay_never_stored".to_string()] {
        let hold = Move::hold(
            &card_id,
            &HoldId::generate(),
            &payment_id.as_str().into(),
            1_000,
        )
        .unwrap();
        t.store().apply_move(&shop, &hold).await.unwrap().unwrap();
    }
    let settled = eventually_async("the sweeper settles the holds", async || {
        let body = card(&t, &gift).await;
        (body["held"] == 0).then_some(body)
    })
    .await;
    // One spent, two back on the card.
    assert_eq!(settled["balance"], 9_000, "{settled}");
    let mut kinds = posting_kinds(&t, &gift).await;
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "capture", "hold", "hold", "hold", "issue", "release", "release"
        ]
    );
    for (payment_id, status) in [(paid.id(), "captured"), (declined.id(), "released")] {
        let holds = t
            .store()
            .holds_for_payment(&shop, &payment_id.as_str().into())
            .await
            .unwrap();
        assert_eq!(holds[0].status.as_str(), status);
    }
    assert_ledger_balanced(&t, "shop").await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenants_cards_cannot_be_reactivated_or_reported() {
    let t = start(Clock::manual_at_now()).await;
    let gift = issue_promotional(&t, SHOP_KEY, "giftcn", Some(2_000)).await;
    t.clock()
        .advance(Duration::from_millis((1095 * DAY_MS + 1_000) as u64));
    card_becomes(&t, &gift, "dormant").await;
    let elsewhere = reactivate(&t, OTHER_KEY, &gift, Some("x")).await;
    assert_eq!(
        elsewhere.status,
        StatusCode::NOT_FOUND,
        "{}",
        elsewhere.body
    );
    let missing = reactivate(&t, SHOP_KEY, "card_nope", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        card(&t, &gift).await["status"],
        "dormant",
        "nothing changed"
    );
    // The other tenant's report knows nothing of this tenant's cards.
    let theirs = report(&t, OTHER_KEY, "from=2020-01-01&to=2020-12-31").await;
    assert_eq!(theirs.body["programs"], json!([]), "{}", theirs.body);
    let mine = report(&t, SHOP_KEY, "from=2020-01-01&to=2020-12-31").await;
    assert_eq!(program(&mine, "giftcn")["outstanding"]["dormant"], 2_000);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_report_dates_are_refused_naming_the_parameter() {
    let t = start(Clock::manual_at_now()).await;
    let cases = [
        ("to=2031-06-30", "from"),
        ("from=2031-06-01", "to"),
        ("from=2031-6-1&to=2031-06-30", "from"),
        ("from=2031-02-29&to=2031-06-30", "from"),
        ("from=2031-06-01&to=June", "to"),
        ("from=2031-06-01&to=2031-05-31", "to"),
        ("from=2031-01-01&to=2032-01-02", "to"),
    ];
    for (query, field) in cases {
        let r = report(&t, SHOP_KEY, query).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {}",
            r.body
        );
        assert_eq!(r.body["error"]["field"], field, "{query}: {}", r.body);
    }
    let twice = report(
        &t,
        SHOP_KEY,
        "from=2031-06-01&from=2031-06-02&to=2031-06-30",
    )
    .await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST, "{}", twice.body);
    let whole_year = report(&t, SHOP_KEY, "from=2032-01-01&to=2032-12-31").await;
    assert_eq!(whole_year.status, StatusCode::OK, "a leap year is 366 days");
    t.stop().await;
}
