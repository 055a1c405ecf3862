//! An identical create answers what the first one answered, for every
//! outcome: 201 then 200 for a payment, or the same status and error
//! (type, code, message) with the payment as it now stands. By order number
//! and by Idempotency-Key alike, always with `Idempotent-Replayed: true`,
//! and never a second payment.

use paycore::store::Table;
use paycore_e2e::*;

/// One create outcome, as the sandbox channel or the misbehaving test
/// plugin produce it.
struct Case {
    name: &'static str,
    key: &'static str,
    auth_code: &'static str,
    first_status: StatusCode,
    /// `error.code` of the first answer; `None` when it is the payment.
    error: Option<&'static str>,
    payment_status: &'static str,
}

const CASES: &[Case] = &[
    Case {
        name: "success",
        key: DEMO_KEY,
        auth_code: "134567890124",
        first_status: StatusCode::CREATED,
        error: None,
        payment_status: "succeeded",
    },
    Case {
        name: "decline",
        key: DEMO_KEY,
        auth_code: "134567890121",
        first_status: StatusCode::CREATED,
        error: None,
        payment_status: "failed",
    },
    // Too short for the sandbox provider: refused before any money moved.
    Case {
        name: "rejected-short",
        key: DEMO_KEY,
        auth_code: "123456",
        first_status: StatusCode::UNPROCESSABLE_ENTITY,
        error: Some("channel_rejected_request"),
        payment_status: "failed",
    },
    Case {
        name: "rejected-letters",
        key: DEMO_KEY,
        auth_code: "AAAAAAAAAAAAAAAAAAAA",
        first_status: StatusCode::UNPROCESSABLE_ENTITY,
        error: Some("channel_rejected_request"),
        payment_status: "failed",
    },
    // The provider times out (the order is in fact paid).
    Case {
        name: "timeout",
        key: DEMO_KEY,
        auth_code: "134567890123",
        first_status: StatusCode::GATEWAY_TIMEOUT,
        error: Some("outcome_unknown"),
        payment_status: "unknown",
    },
    // The plugin traps before sending anything.
    Case {
        name: "unavailable",
        key: LAB_KEY,
        auth_code: "1000000003",
        first_status: StatusCode::BAD_GATEWAY,
        error: Some("channel_unavailable"),
        payment_status: "failed",
    },
    // The plugin traps after its request left.
    Case {
        name: "sent-then-trapped",
        key: LAB_KEY,
        auth_code: "1000000005",
        first_status: StatusCode::BAD_GATEWAY,
        error: Some("outcome_unknown"),
        payment_status: "unknown",
    },
];

/// Creates `body` for `key`, with an Idempotency-Key if given.
async fn create(t: &TestApp, key: &str, body: &serde_json::Value, idem: Option<&str>) -> Reply {
    let mut request = t
        .client
        .post(t.url("/v1/payments"))
        .bearer_auth(key)
        .json(body);
    if let Some(idem) = idem {
        request = request.header("Idempotency-Key", idem);
    }
    t.send(request).await
}

/// The id of the payment an answer carries (in the body or in `error.payment`).
fn payment_of(r: &Reply) -> &serde_json::Value {
    if r.body["error"].is_object() {
        &r.body["error"]["payment"]
    } else {
        &r.body
    }
}

/// Sends the case's create twice and checks the second answer against the
/// first. Returns both.
async fn check(t: &TestApp, case: &Case, order_no: &str, idem: Option<&str>) -> (Reply, Reply) {
    let body = barcode(order_no, 1000, case.auth_code);
    let what = format!("{} ({order_no}, key {idem:?})", case.name);
    let first = create(t, case.key, &body, idem).await;
    assert_eq!(first.status, case.first_status, "{what}: {}", first.body);
    assert_eq!(first.header("idempotent-replayed"), None, "{what}");
    let payment = payment_of(&first);
    assert_eq!(
        payment["status"], case.payment_status,
        "{what}: {}",
        first.body
    );
    let id = payment["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: no payment in {}", first.body));
    match case.error {
        None => assert!(first.body.get("error").is_none(), "{what}"),
        Some(code) => assert_eq!(first.code(), code, "{what}"),
    }

    let again = create(t, case.key, &body, idem).await;
    let replay_status = if case.first_status == StatusCode::CREATED {
        StatusCode::OK
    } else {
        case.first_status
    };
    assert_eq!(again.status, replay_status, "{what}: {}", again.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"), "{what}");
    assert_eq!(payment_of(&again)["id"], id, "{what}: {}", again.body);
    if case.error.is_some() {
        for part in ["type", "code", "message"] {
            assert_eq!(
                again.body["error"][part], first.body["error"][part],
                "{what}: {part}"
            );
        }
        // Each answer has a request id of its own.
        assert_ne!(
            again.body["error"]["request_id"],
            first.body["error"]["request_id"]
        );
    }
    (first, again)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_create_outcome_replays_as_it_was_first_answered() {
    let t = TestApp::start().await;
    for (n, case) in CASES.iter().enumerate() {
        check(&t, case, &format!("REPLAY-ORDER-{n}"), None).await;
        check(
            &t,
            case,
            &format!("REPLAY-KEY-{n}"),
            Some(&format!("replay-key-{n}")),
        )
        .await;
    }
    // One payment per create, however often it was replayed.
    let payments = t.store().count(Table::Payments).await.unwrap();
    assert_eq!(payments, 2 * CASES.len() as i64);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_keeps_the_first_error_and_shows_the_payment_as_it_now_stands() {
    let t = TestApp::start().await;
    let timeout = &CASES[4];
    assert_eq!(timeout.name, "timeout");
    let (first, _) = check(&t, timeout, "REPLAY-SETTLED-1", None).await;
    let id = first.body["error"]["payment"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let synced = t.sync_until_not(DEMO_KEY, &id, "unknown").await;
    assert_eq!(synced.body["status"], "succeeded");
    let again = create(
        &t,
        DEMO_KEY,
        &barcode("REPLAY-SETTLED-1", 1000, timeout.auth_code),
        None,
    )
    .await;
    assert_eq!(again.status, StatusCode::GATEWAY_TIMEOUT, "{}", again.body);
    assert_eq!(again.code(), "outcome_unknown");
    assert_eq!(again.body["error"]["payment"]["status"], "succeeded");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_order_number_is_used_and_a_corrected_payment_needs_a_new_one() {
    let t = TestApp::start().await;
    let refused = t.pay(barcode("REPLAY-FIX-1", 1000, "123456")).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert_eq!(refused.code(), "channel_rejected_request");
    // The refusal is a stored payment, with its history.
    let id = refused.body["error"]["payment"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let read = t.get(DEMO_KEY, &format!("/v1/payments/{id}")).await;
    assert_eq!(read.body["status"], "failed", "{}", read.body);
    let corrected = t.pay(barcode("REPLAY-FIX-1", 1000, "134567890124")).await;
    assert_eq!(corrected.status, StatusCode::CONFLICT, "{}", corrected.body);
    assert_eq!(corrected.code(), "idempotency_conflict");
    let renamed = t.pay(barcode("REPLAY-FIX-2", 1000, "134567890124")).await;
    assert_eq!(renamed.status, StatusCode::CREATED, "{}", renamed.body);
    assert_eq!(t.store().count(Table::Payments).await.unwrap(), 2);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkout_create_replays_its_201_as_200_after_the_payer_chose_a_wallet() {
    let t = TestApp::start().await;
    let body = json!({
        "merchant_order_no": "REPLAY-CK-1", "amount": 1800, "currency": "CNY",
        "scene": "checkout", "subject": "Flat white"
    });
    let first = t.pay(body.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    // The payer's choice on the hosted page sends the payment to a channel;
    // that answers the page, not the create.
    let page = first.body["action"]["url"].as_str().unwrap().to_string();
    let chose = t
        .client
        .post(&page)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("wallet=sandbox")
        .send()
        .await
        .unwrap();
    assert!(chose.status().is_success(), "{}", chose.status());
    let id = first.id();
    assert_ne!(
        t.get(DEMO_KEY, &format!("/v1/payments/{id}")).await.body["wallet"],
        json!(null)
    );
    let again = t.pay(body).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body["id"], first.body["id"]);
    t.stop().await;
}
