mod support;

use paycore_plugin_sandbox::Sandbox;
use paycore_plugin_sdk::testing::{FakeHost, call_context, pay_request};
use paycore_plugin_sdk::types::*;
use paycore_plugin_sdk::{CONTRACT_VERSION, Channel, Describe};
use serde_json::{Value, json};
use support::{ctx, provider, sent_body, signed};

fn barcode(order: &str, amount: i64, currency: &str, auth_code: &str) -> PayRequest {
    PayRequest {
        auth_code: Some(auth_code.to_owned()),
        subject: Some("2 x latte".to_owned()),
        ..pay_request(order, amount, currency, Scene::Barcode)
    }
}

fn order(status: &str, amount: &str, currency: &str) -> Value {
    json!({"code": "SUCCESS", "trade_no": "T1", "out_trade_no": "A1", "status": status,
           "amount": amount, "currency": currency})
}

fn payment_ref(channel_order_no: Option<&str>) -> PaymentRef {
    PaymentRef {
        payment_id: "pay_1".into(),
        merchant_order_no: "A1".into(),
        channel_order_no: channel_order_no.map(Into::into),
        amount: 8888,
        currency: "CNY".into(),
        scene: Scene::Barcode,
    }
}

fn refund_request(reason: Option<&str>) -> RefundRequest {
    RefundRequest {
        refund_id: "re_1".into(),
        merchant_refund_no: "R1".into(),
        payment: payment_ref(Some("T1")),
        amount: 1000,
        reason: reason.map(Into::into),
    }
}

fn code(err: &ChannelError) -> &str {
    &err.failure().code
}

#[test]
fn manifest_describes_the_channel() {
    let m = Sandbox.manifest();
    assert_eq!(m.name, "sandbox");
    assert_eq!(m.version, "1.0.0");
    assert_eq!(m.contract_version, CONTRACT_VERSION);
    assert_eq!(m.scenes, Scene::ALL);
    assert_eq!(m.wallets, ["sandbox"]);
    for currency in ["CNY", "USD", "JPY", "EUR", "HKD"] {
        assert!(m.currencies.iter().any(|c| c == currency), "{currency}");
    }
    assert_eq!(m.settings, ["base_url", "merchant_id"]);
    let kinds: Vec<SettingKind> = Sandbox.settings().into_iter().map(|s| s.kind).collect();
    assert_eq!(kinds[0], SettingKind::Url);
    assert_eq!(m.secrets, ["api_key"]);
    assert_eq!(m.hosts, ["127.0.0.1", "localhost"]);
}

#[test]
fn barcode_pay_sends_a_signed_order_and_reports_the_result() {
    let host = provider(|op, _| {
        assert_eq!(op, "pay");
        (200, order("SUCCEEDED", "88.88", "CNY"))
    });
    let result = Sandbox
        .pay(&host, &ctx(), barcode("A1", 8888, "CNY", "1234567890"))
        .unwrap();
    assert_eq!(
        result,
        PaymentResult::succeeded(Some("T1".into()), 8888, "CNY")
    );
    assert_eq!(
        sent_body(&host),
        json!({"out_trade_no": "A1", "amount": "88.88", "currency": "CNY", "scene": "barcode",
               "auth_code": "1234567890", "subject": "2 x latte",
               "notify_url": ctx().notify_url})
    );
}

#[test]
fn amounts_travel_as_major_unit_strings() {
    let host = provider(|_, body| {
        (
            200,
            order("SUCCEEDED", body["amount"].as_str().unwrap(), "JPY"),
        )
    });
    let result = Sandbox
        .pay(&host, &ctx(), barcode("A1", 500, "JPY", "1234567890"))
        .unwrap();
    assert_eq!(sent_body(&host)["amount"], "500");
    assert_eq!(result.amount, Some(500));
}

#[test]
fn pay_reports_the_amount_the_provider_took() {
    // The host, not the plugin, refuses a result whose amount differs.
    let host = provider(|_, _| (200, order("SUCCEEDED", "88.87", "CNY")));
    let result = Sandbox
        .pay(&host, &ctx(), barcode("A1", 8888, "CNY", "1234567890"))
        .unwrap();
    assert_eq!(result.amount, Some(8887));
}

#[test]
fn absent_optional_fields_are_left_out() {
    let host = provider(|_, _| (200, order("SUCCEEDED", "1.00", "CNY")));
    let request = PayRequest {
        expires_in: Some(900),
        ..pay_request("A1", 100, "CNY", Scene::Barcode)
    };
    Sandbox.pay(&host, &ctx(), request).unwrap();
    let body = sent_body(&host);
    assert_eq!(body["expires_in"], 900);
    assert!(body.get("auth_code").is_none());
    assert!(body.get("subject").is_none());
}

#[test]
fn decline_is_declined_with_the_providers_words() {
    let host = provider(|_, _| {
        let mut reply = order("FAILED", "88.88", "CNY");
        reply["code"] = json!("DECLINED");
        reply["message"] = json!("insufficient balance");
        (200, reply)
    });
    let err = Sandbox
        .pay(&host, &ctx(), barcode("A1", 8888, "CNY", "1234567891"))
        .unwrap_err();
    let ChannelError::Declined(failure) = err else {
        panic!("expected declined, got {err:?}")
    };
    assert_eq!(failure.code, "declined");
    assert_eq!(failure.channel_code.as_deref(), Some("DECLINED"));
    assert_eq!(
        failure.channel_message.as_deref(),
        Some("insufficient balance")
    );
}

#[test]
fn processing_and_pending_are_reported_as_such() {
    let host = provider(|_, _| (200, order("PROCESSING", "88.88", "CNY")));
    let result = Sandbox
        .pay(&host, &ctx(), barcode("A1", 8888, "CNY", "1234567892"))
        .unwrap();
    assert_eq!(result.status, PaymentStatus::Processing);
    assert_eq!(result.action, None);
}

#[test]
fn qrcode_pay_returns_the_qr_code_and_web_scenes_a_redirect() {
    let page = "http://127.0.0.1:8080/sandbox/payer/T1";
    let host = provider(move |_, body| {
        let mut reply = order("PENDING", "88.88", "CNY");
        if body["scene"] == "qrcode" {
            reply["qr_code"] = json!(page);
        } else {
            reply["pay_url"] = json!(page);
        }
        (200, reply)
    });
    let qr = Sandbox
        .pay(&host, &ctx(), pay_request("A1", 8888, "CNY", Scene::Qrcode))
        .unwrap();
    assert_eq!(qr.status, PaymentStatus::Pending);
    assert_eq!(qr.action, Some(Action::QrCode(page.into())));
    for scene in [Scene::H5, Scene::Web, Scene::App, Scene::Jsapi] {
        let result = Sandbox
            .pay(&host, &ctx(), pay_request("A1", 8888, "CNY", scene))
            .unwrap();
        assert_eq!(
            result.action,
            Some(Action::Redirect(page.into())),
            "{scene:?}"
        );
    }
}

#[test]
fn provider_timeout_and_server_errors_leave_the_outcome_unknown() {
    for (status, code) in [(504, "TIMEOUT"), (500, "INTERNAL"), (503, "DECLINED")] {
        let host = provider(move |_, _| (status, json!({"code": code, "message": "later"})));
        let err = Sandbox
            .pay(&host, &ctx(), barcode("A1", 8888, "CNY", "1234567893"))
            .unwrap_err();
        assert!(
            matches!(err, ChannelError::OutcomeUnknown(_)),
            "{status}: {err:?}"
        );
    }
}

#[test]
fn transport_failures_map_by_whether_the_request_left() {
    let cases = [
        (HttpError::Timeout, "unknown"),
        (HttpError::TooLarge, "unknown"),
        (HttpError::Broken("reset".into()), "unknown"),
        (HttpError::Connect("refused".into()), "unavailable"),
        (HttpError::Denied("not granted".into()), "unavailable"),
    ];
    for (error, expected) in cases {
        let host = FakeHost::new()
            .with_hmac_key("api_key", support::KEY)
            .with_responder({
                let error = error.clone();
                move |_| Err(error.clone())
            });
        let err = Sandbox
            .pay(&host, &ctx(), barcode("A1", 8888, "CNY", "1234567890"))
            .unwrap_err();
        let kind = match err {
            ChannelError::OutcomeUnknown(_) => "unknown",
            ChannelError::Unavailable(_) => "unavailable",
            _ => "other",
        };
        assert_eq!(kind, expected, "{error:?}");
    }
}

fn without_signature(mut response: HttpResponse) -> HttpResponse {
    response
        .headers
        .retain(|(name, _)| !name.eq_ignore_ascii_case("x-sandbox-signature"));
    response
}

fn with_signature(response: HttpResponse, signature: &str) -> HttpResponse {
    without_signature(response).with_header("X-Sandbox-Signature", signature)
}

#[test]
fn an_unverifiable_answer_leaves_the_outcome_unknown() {
    let genuine = || signed(200, &order("SUCCEEDED", "88.88", "CNY"));
    let mut tampered = genuine();
    tampered.body = serde_json::to_vec(&order("FAILED", "88.88", "CNY")).unwrap();
    let answers = [
        ("tampered body", tampered),
        ("unsigned", without_signature(genuine())),
        ("signature not hex", with_signature(genuine(), "zz")),
        (
            "wrong signature",
            with_signature(genuine(), &hex::encode([0u8; 32])),
        ),
    ];
    for (case, answer) in answers {
        let host = FakeHost::new()
            .with_hmac_key("api_key", support::KEY)
            .with_responder(move |_| Ok(answer.clone()));
        let err = Sandbox
            .pay(&host, &ctx(), barcode("A1", 8888, "CNY", "1234567890"))
            .unwrap_err();
        assert!(
            matches!(&err, ChannelError::OutcomeUnknown(f) if f.code == "unverified_answer"),
            "{case}: {err:?}"
        );
    }
}

#[test]
fn a_rejected_signature_is_an_invalid_request() {
    let host = FakeHost::new()
        .with_hmac_key("api_key", b"wrong key")
        .with_responder(|_| {
            Ok(HttpResponse::json(
                401,
                r#"{"code":"BAD_SIGNATURE","message":"bad signature"}"#,
            ))
        });
    let err = Sandbox
        .pay(&host, &ctx(), barcode("A1", 8888, "CNY", "1234567890"))
        .unwrap_err();
    assert!(
        matches!(&err, ChannelError::InvalidRequest(f) if f.code == "channel_auth_failed"),
        "{err:?}"
    );
}

#[test]
fn malformed_or_foreign_answers_leave_the_outcome_unknown() {
    let answers = [
        json!({"code": "SUCCESS"}),
        order("PAID_MAYBE", "88.88", "CNY"),
        order("SUCCEEDED", "88.888", "CNY"),
        order("SUCCEEDED", "88.88", "XYZ"),
        json!({"code": "SUCCESS", "trade_no": "T9", "out_trade_no": "OTHER", "status": "SUCCEEDED",
               "amount": "88.88", "currency": "CNY"}),
        json!({"code": "SOMETHING_NEW", "message": "?"}),
    ];
    for answer in answers {
        let reply = answer.clone();
        let host = provider(move |_, _| (200, reply.clone()));
        let err = Sandbox
            .pay(&host, &ctx(), barcode("A1", 8888, "CNY", "1234567890"))
            .unwrap_err();
        assert!(
            matches!(err, ChannelError::OutcomeUnknown(_)),
            "{answer}: {err:?}"
        );
    }
}

#[test]
fn invalid_request_and_conflicts_prove_nothing_happened() {
    let cases = [
        (400, "INVALID_REQUEST", "invalid_request"),
        (409, "ORDER_CLOSED", "order_closed"),
        (409, "DUPLICATE", "duplicate_order"),
    ];
    for (status, provider_code, ours) in cases {
        let host = provider(move |_, _| (status, json!({"code": provider_code, "message": "no"})));
        let err = Sandbox
            .pay(&host, &ctx(), barcode("A1", 8888, "CNY", "1234567890"))
            .unwrap_err();
        assert_eq!(code(&err), ours);
        assert!(
            !matches!(err, ChannelError::OutcomeUnknown(_)),
            "{provider_code}"
        );
        assert_eq!(err.failure().channel_code.as_deref(), Some(provider_code));
    }
}

#[test]
fn missing_settings_are_named_and_nothing_is_sent() {
    for (missing, settings) in [
        ("base_url", call_context(&[("merchant_id", "m-demo")])),
        (
            "merchant_id",
            call_context(&[("base_url", support::BASE_URL)]),
        ),
    ] {
        let host = provider(|_, _| unreachable!("nothing may be sent"));
        let err = Sandbox
            .pay(&host, &settings, barcode("A1", 8888, "CNY", "1234567890"))
            .unwrap_err();
        assert!(
            matches!(&err, ChannelError::InvalidRequest(f) if f.message.contains(missing)),
            "{err:?}"
        );
        assert!(host.requests().is_empty());
    }
}

#[test]
fn unsupported_currency_is_refused_before_sending() {
    let host = provider(|_, _| unreachable!("nothing may be sent"));
    let err = Sandbox
        .pay(&host, &ctx(), barcode("A1", 100, "XYZ", "1234567890"))
        .unwrap_err();
    assert!(
        matches!(&err, ChannelError::InvalidRequest(f) if f.code == "invalid_amount"),
        "{err:?}"
    );
}

#[test]
fn query_uses_the_providers_number_when_known_and_ours_otherwise() {
    let host = provider(|op, _| {
        assert_eq!(op, "query");
        (200, order("SUCCEEDED", "88.88", "CNY"))
    });
    let result = Sandbox.query(&host, &ctx(), payment_ref(None)).unwrap();
    assert_eq!(
        result,
        PaymentResult::succeeded(Some("T1".into()), 8888, "CNY")
    );
    Sandbox
        .query(&host, &ctx(), payment_ref(Some("T1")))
        .unwrap();
    let bodies: Vec<Value> = host
        .requests()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(
        bodies,
        [json!({"out_trade_no": "A1"}), json!({"trade_no": "T1"})]
    );
}

#[test]
fn query_of_an_unknown_order_is_declined_order_not_found() {
    let host = provider(|_, _| {
        (
            404,
            json!({"code": "ORDER_NOT_FOUND", "message": "no such order"}),
        )
    });
    let err = Sandbox.query(&host, &ctx(), payment_ref(None)).unwrap_err();
    assert!(
        matches!(&err, ChannelError::Declined(f) if f.code == "order_not_found"),
        "{err:?}"
    );
}

#[test]
fn refund_sends_the_amount_in_the_payments_currency() {
    let host = provider(|op, body| {
        assert_eq!(op, "refund");
        (
            200,
            json!({"code": "SUCCESS", "refund_no": "RF1", "out_refund_no": body["out_refund_no"],
                     "status": "SUCCEEDED", "amount": body["amount"]}),
        )
    });
    let result = Sandbox
        .refund(&host, &ctx(), refund_request(Some("changed mind")))
        .unwrap();
    assert_eq!(
        result,
        RefundResult {
            status: RefundStatus::Succeeded,
            channel_refund_no: Some("RF1".into()),
            amount: Some(1000),
            failure: None
        }
    );
    assert_eq!(
        sent_body(&host),
        json!({"out_trade_no": "A1", "out_refund_no": "R1", "amount": "10.00", "reason": "changed mind"})
    );
}

#[test]
fn a_refused_refund_is_a_failed_refund() {
    let host = provider(|_, _| {
        (
            200,
            json!({"code": "REFUND_FAILED", "message": "sandbox says no", "refund_no": "RF1",
                     "out_refund_no": "R1", "status": "FAILED", "amount": "10.00"}),
        )
    });
    let result = Sandbox
        .refund(&host, &ctx(), refund_request(Some("sandbox:fail")))
        .unwrap();
    assert_eq!(result.status, RefundStatus::Failed);
    let failure = result.failure.expect("failure");
    assert_eq!(failure.code, "refund_failed");
    assert_eq!(failure.channel_code.as_deref(), Some("REFUND_FAILED"));
    assert_eq!(failure.channel_message.as_deref(), Some("sandbox says no"));
}

#[test]
fn refund_above_the_remainder_is_declined() {
    let host = provider(|_, _| {
        (
            422,
            json!({"code": "REFUND_EXCEEDS", "message": "too much"}),
        )
    });
    let err = Sandbox
        .refund(&host, &ctx(), refund_request(None))
        .unwrap_err();
    assert!(
        matches!(&err, ChannelError::Declined(f) if f.code == "refund_exceeds"),
        "{err:?}"
    );
}

#[test]
fn refund_query_asks_by_our_refund_number() {
    let host = provider(|op, _| {
        assert_eq!(op, "refund_query");
        (
            200,
            json!({"code": "SUCCESS", "refund_no": "RF1", "out_refund_no": "R1",
                     "status": "SUCCEEDED", "amount": "10.00"}),
        )
    });
    let refund = RefundRef {
        refund_id: "re_1".into(),
        merchant_refund_no: "R1".into(),
        channel_refund_no: None,
        amount: 1000,
        payment: payment_ref(Some("T1")),
    };
    let result = Sandbox.query_refund(&host, &ctx(), refund).unwrap();
    assert_eq!(result.status, RefundStatus::Succeeded);
    assert_eq!(result.amount, Some(1000));
    assert_eq!(sent_body(&host), json!({"out_refund_no": "R1"}));
}

#[test]
fn close_and_cancel_report_the_final_state() {
    for (op, status, expected) in [
        ("close", "CLOSED", PaymentStatus::Closed),
        ("cancel", "CANCELLED", PaymentStatus::Cancelled),
    ] {
        let host = provider(move |sent_op, _| {
            assert_eq!(sent_op, op);
            (200, order(status, "88.88", "CNY"))
        });
        let result = if op == "close" {
            Sandbox.close(&host, &ctx(), payment_ref(Some("T1")))
        } else {
            Sandbox.cancel(&host, &ctx(), payment_ref(Some("T1")))
        };
        assert_eq!(result.unwrap().status, expected);
        assert_eq!(sent_body(&host), json!({"out_trade_no": "A1"}));
    }
}

#[test]
fn closing_a_paid_order_is_declined() {
    let host = provider(|_, _| {
        (
            409,
            json!({"code": "ORDER_PAID", "message": "already paid"}),
        )
    });
    let err = Sandbox
        .close(&host, &ctx(), payment_ref(Some("T1")))
        .unwrap_err();
    assert!(
        matches!(&err, ChannelError::Declined(f) if f.code == "order_paid"),
        "{err:?}"
    );
}
