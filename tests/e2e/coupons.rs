//! Coupons end to end: issued by the coupon API with the most they can
//! take off (funded by the tenant's promotion), read by their code, paid
//! as a tender for their discount on the payment's order through the
//! cashier API by the real `card.wasm` — at the till with the coupon's
//! one-minute payment code, or in the member's session by its code — under
//! their terms (minimum spend, days and hours in the tenant's time zone,
//! stores, the exact discount); used once, the rest retired in the
//! capture's transaction; given back by a full refund or a cancel only.
//! Every refusal moves nothing, another tenant's coupons are out of reach,
//! and the ledger balances at the end of each test.

use paycore::clock::Clock;
use paycore::domain::TenantId;
use paycore_e2e::ledger::{MEMBER, assert_ledger_balanced};
use paycore_e2e::*;
use serde_json::Value;
use std::time::Duration;

const SHOP_KEY: &str = "sk_test_coupons_shop";
const OTHER_KEY: &str = "sk_test_coupons_other";

/// A tenant in Asia/Shanghai with the card channel and coupon programmes:
/// 5.00 off from 30.00 between 10:00 and 15:00; 12.5 % off, at most
/// 20.00, in two stores; 3.00 off breakfast, 06:00-09:00. And a gift
/// card programme, which is no coupon.
fn coupon_tenant(id: &str, key: &str) -> (String, String) {
    TenantToml::sandbox(id, key)
        .line("timezone = \"Asia/Shanghai\"")
        .then(
            r#"
[[channels]]
id = "card"
plugin = "card@^1"

[[card_programs]]
id = "welcome5"
kind = "coupon"
channel = "card"
currency = "CNY"
amount_off = "5.00"
min_spend = "30.00"
hours = "10:00-15:00"
validity_days = 30

[[card_programs]]
id = "eighth"
kind = "coupon"
channel = "card"
currency = "CNY"
percent_off = "12.5"
max_discount = "20.00"
stores = ["s001", "s002"]
validity_days = 30

[[card_programs]]
id = "breakfast"
kind = "coupon"
channel = "card"
currency = "CNY"
amount_off = "3.00"
hours = "06:00-09:00"

[[card_programs]]
id = "gift"
kind = "gift"
channel = "card"
currency = "CNY"
"#,
        )
        .file()
}

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// Asia/Shanghai is UTC+8 all year.
const SHANGHAI_MS: i64 = 8 * HOUR_MS;

/// A manual clock at noon tomorrow in Shanghai. Tomorrow, not a fixed
/// date: the plugin reads a coupon's validity against the host's wall
/// clock, so business time stays a day or so from it.
fn noon_tomorrow_in_shanghai() -> Clock {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let local_day = (now + SHANGHAI_MS) / DAY_MS;
    Clock::manual_at_millis((local_day + 1) * DAY_MS + 12 * HOUR_MS - SHANGHAI_MS)
}

async fn start() -> (TestApp, Clock) {
    let clock = noon_tomorrow_in_shanghai();
    let t = TestApp::start_with_extra(
        Options {
            clock: Some(clock.clone()),
            ..Options::default()
        },
        Extra {
            plugins: vec!["card".into()],
            tenants: vec![
                coupon_tenant("shop", SHOP_KEY),
                coupon_tenant("other", OTHER_KEY),
            ],
        },
    )
    .await;
    (t, clock)
}

async fn issue(t: &TestApp, program: &str) -> Value {
    let r = t
        .post(
            SHOP_KEY,
            "/v1/coupons",
            json!({ "program": program, "holder": MEMBER }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

async fn coupon(t: &TestApp, code: &str) -> Value {
    let r = t.get(SHOP_KEY, &format!("/v1/coupons/{code}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

/// The coupon's (status, value).
async fn state(t: &TestApp, code: &str) -> (String, i64) {
    let c = coupon(t, code).await;
    assert_eq!(c["held"], 0, "nothing stays held once payments are final");
    (
        c["status"].as_str().unwrap().to_string(),
        c["value"].as_i64().unwrap(),
    )
}

async fn payment_code(t: &TestApp, code: &str) -> String {
    let r = t
        .post(
            SHOP_KEY,
            &format!("/v1/cards/{code}/payment-codes"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["code"].as_str().unwrap().to_string()
}

/// An order of `lines` (quantity, unit price) in `store`.
fn order(lines: &[(u32, i64)], store: Option<&str>) -> Value {
    let goods: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, (quantity, unit_price))| {
            json!({ "id": format!("sku-{i}"), "name": format!("item {i}"),
                    "quantity": quantity, "unit_price": unit_price })
        })
        .collect();
    let mut body = json!({ "goods": goods });
    if let Some(store) = store {
        body["store_id"] = json!(store);
    }
    body
}

/// Pays `amount` with the coupon's payment code at the till, for `order`.
async fn pay_at_till(t: &TestApp, no: &str, amount: i64, code: &str, order: Value) -> Reply {
    let mut body = json!({ "merchant_order_no": no, "amount": amount, "currency": "CNY",
                           "scene": "barcode", "auth_code": payment_code(t, code).await });
    merge(&mut body, order);
    t.post(SHOP_KEY, "/v1/payments", body).await
}

/// Pays `amount` with the coupon in its holder's session, for `order`.
async fn pay_in_session(
    t: &TestApp,
    key: &str,
    no: &str,
    amount: i64,
    code: &str,
    order: Value,
) -> Reply {
    let mut body = json!({ "merchant_order_no": no, "amount": amount, "currency": "CNY",
                           "scene": "jsapi", "wallet": "card",
                           "payer": { "open_id": MEMBER, "buyer_id": code } });
    merge(&mut body, order);
    t.post(key, "/v1/payments", body).await
}

fn merge(body: &mut Value, more: Value) {
    for (k, v) in more.as_object().unwrap() {
        body[k] = v.clone();
    }
}

/// `(kind, from, to, amount)` of each of the coupon's postings.
async fn postings(t: &TestApp, code: &str) -> Vec<(String, String, String, i64)> {
    let r = t
        .get(SHOP_KEY, &format!("/v1/cards/{code}/transactions"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap().to_string(),
                p["from"].as_str().unwrap().to_string(),
                p["to"].as_str().unwrap().to_string(),
                p["amount"].as_i64().unwrap(),
            )
        })
        .collect()
}

async fn kinds(t: &TestApp, code: &str) -> Vec<String> {
    postings(t, code).await.into_iter().map(|p| p.0).collect()
}

/// What the tenant's promotion account has given, over `program`'s cards.
async fn promotion(t: &TestApp, program: &str) -> i64 {
    let totals = t
        .store()
        .ledger_totals(&TenantId::from("shop"))
        .await
        .unwrap();
    totals
        .iter()
        .filter(|a| a.program_id == program && a.account == "promotion")
        .map(|a| a.balance)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coupon_is_issued_read_and_used_once() {
    let (t, clock) = start().await;
    let issued = issue(&t, "welcome5").await;
    let code = issued["code"].as_str().unwrap().to_string();
    assert!(code.starts_with("cpn_"), "{code}");
    assert_eq!(issued["value"], 500);
    assert_eq!(issued["status"], "active");
    assert_eq!(issued["holder"], MEMBER);
    assert_eq!(issued["currency"], "CNY");
    let terms = &issued["terms"];
    assert_eq!(
        (&terms["amount_off"], &terms["min_spend"], &terms["hours"]),
        (&json!(500), &json!(3_000), &json!("10:00-15:00"))
    );
    assert_eq!(terms["percent_off"], Value::Null);
    assert_eq!(terms["days"], Value::Null);
    let expires = paycore::clock::millis_rfc3339(clock.now_millis() + 30 * DAY_MS);
    assert_eq!(issued["expires_at"], expires.as_str());
    let read = coupon(&t, &code).await;
    assert_eq!(read, issued);
    assert_eq!(kinds(&t, &code).await, ["issue"]);
    assert_eq!(promotion(&t, "welcome5").await, -500, "funded when issued");

    // The same issue under its Idempotency-Key: the same coupon.
    let send = |body: Value| {
        t.send(
            reqwest::Client::new()
                .post(t.url("/v1/coupons"))
                .bearer_auth(SHOP_KEY)
                .header("Idempotency-Key", "welcome-member-2")
                .json(&body),
        )
    };
    let body = json!({ "program": "welcome5", "holder": "member-2" });
    let (a, b) = (send(body.clone()).await, send(body).await);
    assert_eq!((a.status, b.status), (StatusCode::CREATED, StatusCode::OK));
    assert_eq!(a.body["code"], b.body["code"]);
    let other = send(json!({ "program": "eighth", "holder": "member-2" })).await;
    assert_eq!(other.status, StatusCode::CONFLICT, "{}", other.body);

    // 2 × 15.00 comes to the minimum spend: 5.00 off.
    let paid = pay_at_till(&t, "W-1", 500, &code, order(&[(2, 1_500)], None)).await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.body);
    assert_eq!(paid.body["status"], "succeeded", "{}", paid.body);
    assert_eq!(paid.body["wallet"], "card");
    assert_eq!((state(&t, &code).await), ("closed".into(), 0));
    // Its whole value was the discount: nothing to retire.
    let postings = postings(&t, &code).await;
    assert_eq!(
        postings,
        [
            (
                "issue".into(),
                "promotion".into(),
                format!("card:{code}"),
                500
            ),
            (
                "hold".into(),
                format!("card:{code}"),
                format!("card:{code}:held"),
                500
            ),
            (
                "capture".into(),
                format!("card:{code}:held"),
                "redemption".into(),
                500
            ),
        ]
    );

    // Used: no second payment, by session or by a new code.
    let again = pay_in_session(&t, SHOP_KEY, "W-2", 500, &code, order(&[(2, 1_500)], None)).await;
    assert_eq!(again.body["status"], "failed", "{}", again.body);
    assert_eq!(
        again.body["failure"]["code"], "card_closed",
        "{}",
        again.body
    );
    let no_code = t
        .post(
            SHOP_KEY,
            &format!("/v1/cards/{code}/payment-codes"),
            json!({}),
        )
        .await;
    assert_eq!(no_code.status, StatusCode::CONFLICT, "{}", no_code.body);
    assert_eq!(no_code.code(), "card_not_active");
    assert_eq!(kinds(&t, &code).await.len(), 3, "nothing moved");
    assert_ledger_balanced(&t, "shop").await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_percentage_coupon_takes_its_share_in_its_stores_and_a_full_refund_gives_it_back() {
    let (t, _clock) = start().await;
    let issued = issue(&t, "eighth").await;
    let code = issued["code"].as_str().unwrap().to_string();
    assert_eq!(issued["value"], 2_000, "its cap");
    assert_eq!(issued["terms"]["percent_off"], "12.5");
    assert_eq!(issued["terms"]["max_discount"], 2_000);
    assert_eq!(issued["terms"]["stores"], json!(["s001", "s002"]));
    assert_eq!(issued["expires_at"].as_str().map(str::len), Some(20));

    // Another store: declined, nothing moved.
    let elsewhere = pay_at_till(&t, "E-1", 1_000, &code, order(&[(1, 8_000)], Some("s009"))).await;
    assert_eq!(elsewhere.body["status"], "failed", "{}", elsewhere.body);
    assert_eq!(elsewhere.body["failure"]["code"], "store_not_eligible");
    // 12.5 % of 99.99 is 12.49: not 12.50.
    let wrong = pay_at_till(&t, "E-2", 1_250, &code, order(&[(1, 9_999)], Some("s001"))).await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.body
    );
    assert_eq!(wrong.code(), "channel_rejected_request", "{}", wrong.body);
    let failure = &wrong.body["error"]["payment"]["failure"];
    assert_eq!(failure["code"], "coupon_amount_mismatch", "{}", wrong.body);
    assert!(
        failure["message"].as_str().unwrap().contains("12.49"),
        "{failure}"
    );
    assert_eq!(state(&t, &code).await, ("active".into(), 2_000));
    assert_eq!(kinds(&t, &code).await, ["issue"]);

    let paid = pay_at_till(&t, "E-3", 1_249, &code, order(&[(1, 9_999)], Some("s002"))).await;
    assert_eq!(paid.body["status"], "succeeded", "{}", paid.body);
    assert_eq!(state(&t, &code).await, ("closed".into(), 0));
    let used = postings(&t, &code).await;
    assert_eq!(
        used.last().unwrap(),
        &(
            "retire".into(),
            format!("card:{code}"),
            "promotion".into(),
            751
        ),
        "what the discount did not take goes back to the promotion"
    );
    assert_eq!(
        promotion(&t, "eighth").await,
        -1_249,
        "it gave the discount only"
    );

    let refunds = format!("/v1/payments/{}/refunds", paid.id());
    let part = t
        .post(
            SHOP_KEY,
            &refunds,
            json!({ "merchant_refund_no": "E-3-R1", "amount": 600 }),
        )
        .await;
    assert_eq!(part.body["status"], "failed", "{}", part.body);
    assert_eq!(
        part.body["failure"]["code"], "partial_refund_of_coupon",
        "{}",
        part.body
    );
    assert_eq!(state(&t, &code).await, ("closed".into(), 0));
    let whole = t
        .post(
            SHOP_KEY,
            &refunds,
            json!({ "merchant_refund_no": "E-3-R2", "amount": 1_249 }),
        )
        .await;
    assert_eq!(whole.body["status"], "succeeded", "{}", whole.body);
    assert_eq!(
        state(&t, &code).await,
        ("active".into(), 2_000),
        "as issued"
    );
    assert_eq!(
        kinds(&t, &code).await,
        ["issue", "hold", "capture", "retire", "refund", "restore"]
    );
    assert_eq!(promotion(&t, "eighth").await, -2_000);

    // It pays again: 12.5 % of 400.00 is 50.00, at most 20.00.
    let again = pay_in_session(
        &t,
        SHOP_KEY,
        "E-4",
        2_000,
        &code,
        order(&[(4, 10_000)], Some("s001")),
    )
    .await;
    assert_eq!(again.body["status"], "succeeded", "{}", again.body);
    assert_eq!(state(&t, &code).await, ("closed".into(), 0));
    assert_ledger_balanced(&t, "shop").await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn below_the_minimum_outside_its_hours_or_without_an_order_it_moves_nothing() {
    let (t, clock) = start().await;
    let welcome = issue(&t, "welcome5").await["code"]
        .as_str()
        .unwrap()
        .to_string();
    let small = pay_at_till(&t, "B-1", 500, &welcome, order(&[(1, 2_999)], None)).await;
    assert_eq!(small.body["status"], "failed", "{}", small.body);
    assert_eq!(small.body["failure"]["code"], "below_min_spend");
    let message = small.body["failure"]["message"].as_str().unwrap();
    assert!(message.contains("30.00"), "{message}");
    let bare = pay_in_session(&t, SHOP_KEY, "B-2", 500, &welcome, json!({})).await;
    assert_eq!(
        bare.body["failure"]["code"], "coupon_needs_order",
        "{}",
        bare.body
    );
    assert_eq!(state(&t, &welcome).await, ("active".into(), 500));
    assert_eq!(kinds(&t, &welcome).await, ["issue"]);

    // Noon in Shanghai is outside breakfast.
    let breakfast = issue(&t, "breakfast").await["code"]
        .as_str()
        .unwrap()
        .to_string();
    let late = pay_at_till(&t, "B-3", 300, &breakfast, order(&[(1, 1_200)], None)).await;
    assert_eq!(late.body["status"], "failed", "{}", late.body);
    assert_eq!(late.body["failure"]["code"], "outside_coupon_hours");
    assert_eq!(state(&t, &breakfast).await, ("active".into(), 300));
    // 07:00 the next morning, in the tenant's time zone, it pays.
    clock.advance(Duration::from_secs(19 * 3_600));
    let early = pay_at_till(&t, "B-4", 300, &breakfast, order(&[(1, 1_200)], None)).await;
    assert_eq!(early.body["status"], "succeeded", "{}", early.body);
    assert_eq!(state(&t, &breakfast).await, ("closed".into(), 0));
    // …and welcome5's 10:00-15:00 is not yet open.
    let closed_hours = pay_at_till(&t, "B-5", 500, &welcome, order(&[(2, 1_500)], None)).await;
    assert_eq!(closed_hours.body["failure"]["code"], "outside_coupon_hours");
    assert_ledger_balanced(&t, "shop").await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_gives_it_back_and_racing_payments_use_it_once() {
    let (t, _clock) = start().await;
    let code = issue(&t, "eighth").await["code"]
        .as_str()
        .unwrap()
        .to_string();
    let paid = pay_at_till(&t, "C-1", 1_000, &code, order(&[(1, 8_000)], Some("s001"))).await;
    assert_eq!(paid.body["status"], "succeeded", "{}", paid.body);
    let cancelled = t
        .post(
            SHOP_KEY,
            &format!("/v1/payments/{}/cancel", paid.id()),
            json!({}),
        )
        .await;
    assert_eq!(cancelled.body["status"], "cancelled", "{}", cancelled.body);
    assert_eq!(state(&t, &code).await, ("active".into(), 2_000));

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..10 {
        let client = t.client.clone();
        let url = t.url("/v1/payments");
        let mut body = json!({ "merchant_order_no": format!("RACE-{i}"), "amount": 1_000,
                               "currency": "CNY", "scene": "jsapi", "wallet": "card",
                               "payer": { "open_id": MEMBER, "buyer_id": code } });
        merge(&mut body, order(&[(1, 8_000)], Some("s002")));
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
    assert_eq!(succeeded, 1, "{replies:?}");
    // The others were declined, having moved nothing: it was in use, or used.
    for r in replies.iter().filter(|r| r["status"] != "succeeded") {
        assert_eq!(r["status"], "failed", "{r}");
        let code = r["failure"]["code"].as_str().unwrap();
        assert!(["coupon_in_use", "card_closed"].contains(&code), "{r}");
    }
    assert_eq!(state(&t, &code).await, ("closed".into(), 0));
    assert_eq!(promotion(&t, "eighth").await, -1_000);
    assert_ledger_balanced(&t, "shop").await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_coupon_programmes_issue_coupons_and_another_tenants_are_out_of_reach() {
    let (t, _clock) = start().await;
    let code = issue(&t, "welcome5").await["code"]
        .as_str()
        .unwrap()
        .to_string();
    for path in [format!("/v1/coupons/{code}"), format!("/v1/cards/{code}")] {
        let r = t.get(OTHER_KEY, &path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.body);
    }
    let theirs = pay_in_session(&t, OTHER_KEY, "X-1", 500, &code, order(&[(2, 1_500)], None)).await;
    assert_eq!(theirs.body["status"], "failed", "{}", theirs.body);
    assert_eq!(state(&t, &code).await, ("active".into(), 500));

    // A coupon programme is not a card's, and a card programme is no coupon's.
    let card = t
        .post(
            SHOP_KEY,
            "/v1/cards",
            json!({ "program": "welcome5", "holder": MEMBER }),
        )
        .await;
    assert_eq!(
        card.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        card.body
    );
    assert!(
        card.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/v1/coupons"),
        "{}",
        card.body
    );
    for (body, field) in [
        (json!({ "program": "gift", "holder": MEMBER }), "program"),
        (json!({ "program": "nope" }), "program"),
        (json!({ "program": "welcome5", "holder": "" }), "holder"),
    ] {
        let r = t.post(SHOP_KEY, "/v1/coupons", body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.body
        );
        assert_eq!(r.body["error"]["field"], field, "{body}: {}", r.body);
    }
    let unknown = t
        .post(
            SHOP_KEY,
            "/v1/coupons",
            json!({ "program": "welcome5", "colour": "red" }),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.body);
    let gift = t
        .post(
            SHOP_KEY,
            "/v1/cards",
            json!({ "program": "gift", "holder": MEMBER, "amount": 5_000,
                    "funded_by": { "type": "promotion" } }),
        )
        .await;
    assert_eq!(gift.status, StatusCode::CREATED, "{}", gift.body);
    let not_a_coupon = t.get(SHOP_KEY, &format!("/v1/coupons/{}", gift.id())).await;
    assert_eq!(
        not_a_coupon.status,
        StatusCode::NOT_FOUND,
        "{}",
        not_a_coupon.body
    );
    let nothing = t.get(SHOP_KEY, "/v1/coupons/cpn_nope").await;
    assert_eq!(nothing.status, StatusCode::NOT_FOUND);
    let listed = t.get(SHOP_KEY, &format!("/v1/cards?holder={MEMBER}")).await;
    assert_eq!(
        listed.body["data"].as_array().unwrap().len(),
        2,
        "the coupon and the gift card; refused issues left nothing: {}",
        listed.body
    );
    assert_ledger_balanced(&t, "shop").await;
    assert_ledger_balanced(&t, "other").await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunded_past_its_validity_it_stays_closed_holding_nothing() {
    let (t, clock) = start().await;
    let code = issue(&t, "eighth").await["code"]
        .as_str()
        .unwrap()
        .to_string();
    let paid = pay_at_till(&t, "V-1", 1_000, &code, order(&[(1, 8_000)], Some("s001"))).await;
    assert_eq!(paid.body["status"], "succeeded", "{}", paid.body);
    clock.advance(Duration::from_secs(31 * 86_400));
    let refund = t
        .post(
            SHOP_KEY,
            &format!("/v1/payments/{}/refunds", paid.id()),
            json!({ "merchant_refund_no": "V-1-R1", "amount": 1_000 }),
        )
        .await;
    assert_eq!(refund.body["status"], "succeeded", "{}", refund.body);
    // The discount came back and went on to the promotion, as the rest did.
    assert_eq!(state(&t, &code).await, ("closed".into(), 0));
    assert_eq!(
        kinds(&t, &code).await,
        ["issue", "hold", "capture", "retire", "refund", "retire"]
    );
    assert_eq!(
        promotion(&t, "eighth").await,
        0,
        "it gave nothing in the end"
    );
    assert_ledger_balanced(&t, "shop").await;
    t.stop().await;
}
