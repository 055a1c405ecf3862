//! Coupons and cards on the hosted cashier page: the payer applies a
//! coupon and card balance to a checkout payment and pays the rest with a
//! wallet (or nothing more), over HTTP as the page's forms post, and in
//! Chromium. The real `card.wasm` holds each coupon and card, the sandbox
//! provider takes the rest; nothing is held until the payer pays, and a
//! bad code or a stale page changes nothing.

use super::checkout::{browser as http, page, payer_link, post_form, token_of};
use super::checkout_browser::{
    approve_in_wallet, assert_fits, driver, phone, screenshot, wait_for_text,
};
use super::combined::{SHOP_KEY, card_state, coupon, coupon_status, start, tender, tenders_of};
use fantoccini::Locator;
use paycore_e2e::ledger::*;
use paycore_e2e::*;
use serde_json::Value;

/// A checkout order of `amount` by the member.
async fn checkout(t: &TestApp, no: &str, amount: i64) -> (String, String) {
    let r = t
        .post(
            SHOP_KEY,
            "/v1/payments",
            json!({ "merchant_order_no": no, "amount": amount, "currency": "CNY",
                    "scene": "checkout", "subject": "lunch", "expires_in": 900,
                    "payer": { "open_id": MEMBER } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    (r.id(), token_of(&r.body))
}

/// A page post as its forms make it: what is applied, then the fields of
/// the button pressed. Returns the status, the page (or empty for a
/// redirect) and the redirect's location.
async fn post(
    t: &TestApp,
    token: &str,
    applied: &[String],
    fields: &[(&str, &str)],
) -> (u16, String, Option<String>) {
    let mut form: Vec<(&str, &str)> = applied.iter().map(|a| ("t", a.as_str())).collect();
    form.extend_from_slice(fields);
    let r = post_form(t, &format!("/pay/{token}"), &form, "Mozilla/5.0").await;
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string());
    (status, r.text().await.unwrap(), location)
}

/// What the page's paying form carries as applied, in order.
fn applied_of(html: &str) -> Vec<String> {
    let Some(start) = html.find("class=\"wallets\"") else {
        return Vec::new();
    };
    let form = &html[start..html[start..].find("</form>").unwrap() + start];
    form.split("name=\"t\" value=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_string())
        .collect()
}

/// The page's "left to pay", if it shows one.
fn rest_of(html: &str) -> Option<String> {
    let start = html.find("id=\"rest\">")? + 10;
    Some(html[start..start + html[start..].find('<').unwrap()].to_string())
}

/// What the paying form says is left (its hidden `rest`).
fn shown_rest(html: &str) -> String {
    let start = html.find("name=\"rest\" value=\"").expect("a rest field") + 19;
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

/// The lunch order's tenders: the 5.00 coupon and 20.00 from the card,
/// each `closed_loop`, and 13.50 by the wallet, `wallet`.
fn lunch(closed_loop: &str, wallet: &str) -> [(String, i64, String); 3] {
    [
        tender("coupon", 500, closed_loop),
        tender("card", 2_000, closed_loop),
        tender("external", 1_350, wallet),
    ]
}

/// Uses the member's coupon `code`, then their `card`, as the page's
/// buttons do; the page after both.
async fn use_coupon_and_card(t: &TestApp, token: &str, code: &str, card: &str) -> String {
    let (_, html, _) = post(t, token, &[], &[("use", &format!("coupon:{code}"))]).await;
    let (status, html, _) = post(
        t,
        token,
        &applied_of(&html),
        &[("use", &format!("card:{card}"))],
    )
    .await;
    assert_eq!(status, 200, "{html}");
    html
}

async fn payment(t: &TestApp, id: &str) -> Value {
    let r = t.get(SHOP_KEY, &format!("/v1/payments/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

async fn events(t: &TestApp, id: &str, kind: &str) -> usize {
    let all = t.store().events_of(id).await.unwrap();
    all.iter().filter(|(k, _, _)| k.as_str() == kind).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payer_applies_a_coupon_and_card_on_the_page_and_pays_the_rest_with_a_wallet() {
    let t = start().await;
    let gift = issue_promotional(&t, SHOP_KEY, "gift", Some(2_000)).await;
    let code = coupon(&t).await;
    let coupon_before = coupon_status(&t, &code).await;
    let (id, token) = checkout(&t, "CKT-1", 3_850).await;

    // The page offers the member's coupon and card, nothing applied yet.
    let (status, _, html) = page(&t, &format!("/pay/{token}"), "en").await;
    assert_eq!(status, 200);
    assert!(html.contains("Coupons and cards"), "{html}");
    let use_coupon = format!("coupon:{code}");
    let use_card = format!("card:{gift}");
    assert!(html.contains(&format!("name=\"use\" value=\"{use_coupon}\"")));
    assert!(html.contains(&format!("name=\"use\" value=\"{use_card}\"")));
    assert!(html.contains(">Pay with Sandbox wallet<"), "{html}");

    // Applying changes the figures and nothing else.
    let (status, html, _) = post(&t, &token, &[], &[("use", &use_coupon)]).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(applied_of(&html), std::slice::from_ref(&use_coupon));
    assert_eq!(rest_of(&html).as_deref(), Some("CN¥33.50"));
    let (status, html, _) = post(&t, &token, &applied_of(&html), &[("use", &use_card)]).await;
    assert_eq!(status, 200, "{html}");
    let applied = applied_of(&html);
    assert_eq!(applied, [use_coupon.clone(), use_card.clone()]);
    assert_eq!(rest_of(&html).as_deref(), Some("CN¥13.50"));
    assert!(html.contains("balance after: CN¥0.00"), "{html}");
    assert!(
        html.contains(">Pay CN¥13.50 with Sandbox wallet<"),
        "{html}"
    );
    assert_eq!(shown_rest(&html), "1350");
    assert_eq!(card_state(&t, &gift).await, (2_000, 0), "nothing held yet");
    assert_eq!(coupon_status(&t, &code).await, coupon_before);
    assert_eq!(payment(&t, &id).await["status"], "pending");

    // Paying holds the coupon and card and sends the rest to the wallet.
    let pay = [("wallet", "sandbox"), ("rest", "1350")];
    let (status, _, location) = post(&t, &token, &applied, &pay).await;
    assert_eq!(status, 303);
    assert_eq!(location.as_deref(), Some(format!("/pay/{token}").as_str()));
    let order = payment(&t, &id).await;
    assert_eq!(order["status"], "pending", "{order}");
    assert_eq!(order["scene"], "checkout");
    assert_eq!(order["wallet"], "sandbox");
    assert_eq!(tenders_of(&order), lunch("held", "pending"));
    assert_eq!(card_state(&t, &gift).await, (0, 2_000));
    let (_, _, waiting) = page(&t, &format!("/pay/{token}"), "en").await;
    assert!(waiting.contains("data-state=\"waiting\""), "{waiting}");
    assert!(waiting.contains("Paid by"), "the page shows the tenders");

    // A double click pays nothing twice.
    let (status, _, _) = post(&t, &token, &applied, &pay).await;
    assert_eq!(status, 303);
    assert_eq!(events(&t, &id, "payment.tenders_chosen").await, 1);
    assert_eq!(events(&t, &id, "payment.attempt").await, 1);

    // The payer approves the rest in the wallet: everything is captured.
    let approve = http()
        .post(format!("{}/approve", payer_link(&waiting)))
        .send()
        .await
        .unwrap();
    assert_eq!(approve.status(), 303);
    t.wait_for_status(SHOP_KEY, &id, "succeeded").await;
    // The holds are captured once the order is final, just after the
    // notification's change is written.
    eventually_async("the coupon and card captured", async || {
        let order = payment(&t, &id).await;
        (tenders_of(&order) == lunch("succeeded", "succeeded")).then_some(())
    })
    .await;
    assert_eq!(card_state(&t, &gift).await, (0, 0));
    assert_eq!(coupon_status(&t, &code).await, "closed");
    let (_, _, paid) = page(&t, &format!("/pay/{token}"), "zh-CN").await;
    assert!(
        paid.contains("支付成功") && paid.contains("支付方式"),
        "{paid}"
    );
    assert_ledger_balanced(&t, "shop").await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coupons_and_cards_that_cover_the_order_pay_it_without_a_wallet() {
    let t = start().await;
    let gift = issue_promotional(&t, SHOP_KEY, "gift", Some(5_000)).await;
    let code = coupon(&t).await;
    let (id, token) = checkout(&t, "CKT-2", 3_850).await;
    let (_, html, _) = post(&t, &token, &[], &[("use", &format!("coupon:{code}"))]).await;
    // The member types their card's id rather than pressing its button.
    let (_, html, _) = post(
        &t,
        &token,
        &applied_of(&html),
        &[("apply", "1"), ("code", &gift)],
    )
    .await;
    assert_eq!(rest_of(&html).as_deref(), Some("CN¥0.00"), "{html}");
    assert!(html.contains("name=\"pay\" value=\"tenders\""), "{html}");
    assert!(!html.contains("name=\"wallet\""), "no wallet is needed");
    let (status, _, _) = post(
        &t,
        &token,
        &applied_of(&html),
        &[("pay", "tenders"), ("rest", "0")],
    )
    .await;
    assert_eq!(status, 303);
    let order = payment(&t, &id).await;
    assert_eq!(order["status"], "succeeded", "{order}");
    assert_eq!(order["channel"], Value::Null);
    assert_eq!(
        tenders_of(&order),
        [
            tender("coupon", 500, "succeeded"),
            tender("card", 3_350, "succeeded")
        ]
    );
    assert_eq!(card_state(&t, &gift).await, (1_650, 0));
    let (_, _, paid) = page(&t, &format!("/pay/{token}"), "en").await;
    assert!(paid.contains("Paid. Thank you!"), "{paid}");
    assert_ledger_balanced(&t, "shop").await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_codes_and_stale_pages_change_nothing() {
    let t = start().await;
    let gift = issue_promotional(&t, SHOP_KEY, "gift", Some(2_000)).await;
    let (id, token) = checkout(&t, "CKT-3", 3_850).await;

    // An unknown code, an empty one, another member's card, a forged field.
    let (status, html, _) = post(&t, &token, &[], &[("apply", "1"), ("code", "cpn_nosuch")]).await;
    assert_eq!(status, 422);
    assert!(
        html.contains("Not applied: no such card or coupon"),
        "{html}"
    );
    assert!(applied_of(&html).is_empty());
    // A coupon given to nobody pays by its payment code, not by its id.
    let bearer = t
        .post(SHOP_KEY, "/v1/coupons", json!({ "program": "welcome5" }))
        .await;
    let bearer = bearer.body["code"].as_str().unwrap().to_string();
    let (status, html, _) = post(&t, &token, &[], &[("apply", "1"), ("code", &bearer)]).await;
    assert_eq!(status, 422, "{html}");
    assert!(applied_of(&html).is_empty());
    let (status, html, _) = post(&t, &token, &[], &[("apply", "1"), ("code", "  ")]).await;
    assert_eq!(status, 422);
    assert!(html.contains("Enter a coupon code"), "{html}");
    let other = t
        .post(
            SHOP_KEY,
            "/v1/cards",
            json!({ "program": "gift", "holder": "member-2", "amount": 9_000,
                    "funded_by": { "type": "promotion" } }),
        )
        .await
        .id();
    let (status, html, _) = post(
        &t,
        &token,
        &[format!("card:{other}"), "card:../../x".into()],
        &[("remove", "nothing")],
    )
    .await;
    assert_eq!(status, 422, "another member's card is not applied");
    assert!(!html.contains(&other), "nor named: {html}");
    assert!(applied_of(&html).is_empty());

    // The card is spent elsewhere after the page showed it: paying on the
    // page's figures is refused, nothing held, and the page shows anew.
    let (_, html, _) = post(&t, &token, &[], &[("use", &format!("card:{gift}"))]).await;
    let applied = applied_of(&html);
    assert_eq!(shown_rest(&html), "1850");
    let spent = pay_with_card(&t, SHOP_KEY, "ELSEWHERE-1", 1_500, &gift).await;
    assert_eq!(spent.body["status"], "succeeded", "{}", spent.body);
    let (status, html, _) = post(
        &t,
        &token,
        &applied,
        &[("wallet", "sandbox"), ("rest", "1850")],
    )
    .await;
    assert_eq!(status, 409, "{html}");
    assert!(html.contains("changed since the page was shown"), "{html}");
    assert_eq!(rest_of(&html).as_deref(), Some("CN¥33.50"));
    assert_eq!(card_state(&t, &gift).await, (500, 0));
    let order = payment(&t, &id).await;
    assert_eq!(order["status"], "pending");
    assert_eq!(
        order["tenders"],
        Value::Null,
        "still a plain checkout payment"
    );
    assert_eq!(events(&t, &id, "payment.tenders_chosen").await, 0);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_combined_checkout_order_left_unpaid_gives_everything_back_when_closed() {
    let t = start().await;
    let gift = issue_promotional(&t, SHOP_KEY, "gift", Some(2_000)).await;
    let code = coupon(&t).await;
    let coupon_before = coupon_status(&t, &code).await;
    let (id, token) = checkout(&t, "CKT-4", 3_850).await;
    let html = use_coupon_and_card(&t, &token, &code, &gift).await;
    let (status, _, _) = post(
        &t,
        &token,
        &applied_of(&html),
        &[("wallet", "sandbox"), ("rest", "1350")],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(card_state(&t, &gift).await, (0, 2_000));
    // The payer never pays the rest; the merchant closes the order.
    let closed = t
        .post(SHOP_KEY, &format!("/v1/payments/{id}/close"), json!({}))
        .await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.body);
    assert_eq!(closed.body["status"], "closed");
    let order = payment(&t, &id).await;
    assert_eq!(tenders_of(&order), lunch("released", "closed"));
    assert_eq!(card_state(&t, &gift).await, (2_000, 0));
    assert_eq!(coupon_status(&t, &code).await, coupon_before);
    assert_ledger_balanced(&t, "shop").await;
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_chromium,
    ignore = "chromium and chromedriver are not installed (apt install chromium chromium-driver)"
)]
async fn a_payer_applies_a_coupon_and_card_balance_in_chromium() {
    let driver = driver();
    let t = start().await;
    let gift = issue_promotional(&t, SHOP_KEY, "gift", Some(2_000)).await;
    // A coupon given to nobody pays by its payment code: the payer types
    // the code their coupon app shows.
    let bearer = t
        .post(SHOP_KEY, "/v1/coupons", json!({ "program": "welcome5" }))
        .await;
    assert_eq!(bearer.status, StatusCode::CREATED, "{}", bearer.body);
    let code = bearer.body["code"].as_str().unwrap().to_string();
    let shown = t
        .post(
            SHOP_KEY,
            &format!("/v1/cards/{code}/payment-codes"),
            json!({}),
        )
        .await;
    assert_eq!(shown.status, StatusCode::CREATED, "{}", shown.body);
    let typed = shown.body["code"].as_str().unwrap().to_string();
    let (id, link_token) = checkout(&t, "CKT-BR-1", 3_850).await;
    let profiles = tempfile::tempdir().unwrap();
    let phone = phone(&driver, &profiles.path().join("phone")).await;
    phone
        .goto(&t.url(&format!("/pay/{link_token}")))
        .await
        .unwrap();
    assert_eq!(wait_for_text(&phone, ".amount").await, "CN¥38.50");
    screenshot(&phone, "tenders-choose-360").await;

    // Type the coupon's code and apply it.
    phone
        .find(Locator::Css("input#tender-code"))
        .await
        .expect("a code field")
        .send_keys(&typed)
        .await
        .unwrap();
    phone
        .find(Locator::Css("button[name=apply]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(wait_for_text(&phone, "#rest").await, "CN¥33.50");
    // Use the member's card from the list.
    phone
        .find(Locator::Css(&format!("button[value='card:{gift}']")))
        .await
        .expect("the member's card is offered")
        .click()
        .await
        .unwrap();
    for _ in 0..100 {
        if wait_for_text(&phone, "#rest").await == "CN¥13.50" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(wait_for_text(&phone, "#rest").await, "CN¥13.50");
    let lines = phone.find_all(Locator::Css("ul.applied li")).await.unwrap();
    assert_eq!(lines.len(), 2, "the coupon and the card are applied");
    assert_fits(&phone, 360).await;
    screenshot(&phone, "tenders-applied-360").await;
    assert_eq!(card_state(&t, &gift).await, (2_000, 0), "nothing held yet");

    // Pay the rest with the sandbox wallet, approve it there.
    let pay = phone
        .find(Locator::Css("button[value=sandbox]"))
        .await
        .expect("a sandbox wallet button");
    assert_eq!(
        pay.text().await.unwrap(),
        "Pay CN¥13.50 with Sandbox wallet"
    );
    pay.click().await.unwrap();
    wait_for_text(&phone, "figure.code figcaption").await;
    screenshot(&phone, "tenders-qr-360").await;
    approve_in_wallet(&phone, "tenders-360").await;
    assert_eq!(
        wait_for_text(&phone, ".status.paid").await,
        "Paid. Thank you!"
    );
    let paid_by = phone.find_all(Locator::Css("ul.applied li")).await.unwrap();
    assert_eq!(paid_by.len(), 3, "coupon, card and wallet");
    assert_fits(&phone, 360).await;
    screenshot(&phone, "tenders-paid-360").await;
    phone.close().await.unwrap();

    let order = payment(&t, &id).await;
    assert_eq!(order["status"], "succeeded");
    eventually_async("the coupon and card captured", async || {
        let order = payment(&t, &id).await;
        (tenders_of(&order) == lunch("succeeded", "succeeded")).then_some(())
    })
    .await;
    assert_eq!(card_state(&t, &gift).await, (0, 0));
    assert_eq!(coupon_status(&t, &code).await, "closed");
    assert_ledger_balanced(&t, "shop").await;
    t.stop().await;
    drop(driver);
}
