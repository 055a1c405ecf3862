//! The e-CNY plugin against a scripted Huifu on the fake host: the request
//! signature (known answer) and envelope, each operation's fields, each
//! status mapping, unknown outcomes, answers that must not be believed,
//! notifications, exact amounts, and the number and payment-code rules.

mod support;

use std::collections::BTreeMap;

use paycore_plugin_ecny::Ecny;
use paycore_plugin_sdk::testing::{call_context, pay_request, rsa_verify};
use paycore_plugin_sdk::types::*;
use paycore_plugin_sdk::{CONTRACT_VERSION, Channel, Describe};
use support::*;

const CODE: &str = "0123456789012345678";
const ORDER: &str = "A20261125001";

fn barcode(order: &str, amount: i64) -> PayRequest {
    PayRequest {
        auth_code: Some(CODE.to_owned()),
        client_ip: Some("203.0.113.7".to_owned()),
        subject: Some("拿铁".to_owned()),
        wallet: "ecny".to_owned(),
        ..pay_request(order, amount, "CNY", Scene::Barcode)
    }
}

fn qrcode(order: &str, amount: i64, expires_in: Option<u32>) -> PayRequest {
    PayRequest {
        expires_in,
        wallet: "ecny".to_owned(),
        ..pay_request(order, amount, "CNY", Scene::Qrcode)
    }
}

fn payment_ref(scene: Scene, hf_seq_id: Option<&str>) -> PaymentRef {
    PaymentRef {
        payment_id: "pay_1".into(),
        merchant_order_no: ORDER.into(),
        channel_order_no: hf_seq_id.map(Into::into),
        amount: 8888,
        currency: "CNY".into(),
        scene,
    }
}

fn refund_request(no: &str, amount: i64, reason: Option<&str>) -> RefundRequest {
    RefundRequest {
        refund_id: "re_1".into(),
        merchant_refund_no: no.into(),
        payment: payment_ref(Scene::Barcode, Some(HF_SEQ_ID)),
        amount,
        reason: reason.map(Into::into),
    }
}

fn refund_ref(no: &str) -> RefundRef {
    RefundRef {
        refund_id: "re_1".into(),
        merchant_refund_no: no.into(),
        channel_refund_no: None,
        amount: 1000,
        payment: payment_ref(Scene::Barcode, Some(HF_SEQ_ID)),
    }
}

/// A micropay's answer: accepted with `stat`, for `trans_amt` yuan.
fn micropay(sent: &Sent, code: &str, stat: &str, amt: &str) -> BTreeMap<String, String> {
    let mut fields = echo(
        sent,
        &[
            ("resp_code", code),
            ("resp_desc", "交易成功"),
            ("hf_seq_id", HF_SEQ_ID),
            ("trade_type", "D_MICROPAY"),
            ("trans_amt", amt),
        ],
    );
    if !stat.is_empty() {
        fields.insert("trans_stat".into(), stat.into());
    }
    fields
}

/// A query's answer about the payment: `stat`, for `trans_amt` yuan.
fn queried(sent: &Sent, stat: &str, amt: &str) -> BTreeMap<String, String> {
    echo(
        sent,
        &[
            ("resp_code", "00000000"),
            ("resp_desc", "查询成功"),
            ("org_hf_seq_id", HF_SEQ_ID),
            ("trans_type", "D_MICROPAY"),
            ("trans_stat", stat),
            ("trans_amt", amt),
        ],
    )
}

fn not_found(sent: &Sent) -> BTreeMap<String, String> {
    echo(
        sent,
        &[("resp_code", "23000001"), ("resp_desc", "交易不存在")],
    )
}

#[test]
fn manifest_declares_the_settings_secrets_and_hosts() {
    let m = Ecny.manifest();
    assert_eq!((m.name.as_str(), m.version.as_str()), ("ecny", "1.1.0"));
    assert_eq!(m.contract_version, CONTRACT_VERSION);
    assert_eq!(m.scenes, [Scene::Barcode, Scene::Qrcode]);
    assert_eq!(m.wallets, ["ecny"]);
    assert_eq!(m.currencies, ["CNY"]);
    assert_eq!(
        m.settings,
        [
            "huifu_id",
            "sys_id",
            "product_id",
            "base_url",
            "digital_bank_no"
        ]
    );
    let described = Ecny.settings();
    assert_eq!(described[0].presence, Presence::Required);
    assert_eq!(described[1].presence, Presence::Optional);
    assert_eq!(described[2].presence, Presence::Required);
    assert_eq!(described[3].kind, SettingKind::Url);
    assert_eq!(
        described[3].presence,
        Presence::Defaulted("https://api.huifu.com".into())
    );
    assert_eq!(described[4].presence, Presence::Optional);
    assert_eq!(m.secrets, ["merchant_private_key", "huifu_public_key"]);
    assert_eq!(m.hosts, ["api.huifu.com", "127.0.0.1"]);
}

/// Known answer: the canonical `data` of this micropay, and its signature
/// as `openssl` makes it: `printf %s "$DATA" | openssl dgst -sha256 -sign
/// ecny-demo-merchant-private.pem | base64 -w0`.
#[test]
fn micropay_sends_the_signed_canonical_data_known_answer() {
    let host = huifu(|sent| micropay(sent, "00000000", "S", "88.88"));
    let result = Ecny.pay(&host, &ctx(), barcode(ORDER, 8888)).unwrap();
    assert_eq!(
        result,
        PaymentResult::succeeded(Some(HF_SEQ_ID.into()), 8888, "CNY")
    );
    let requests = host.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].url, format!("{BASE}{MICROPAY}"));
    assert_eq!(
        requests[0].header("content-type"),
        Some("application/json;charset=UTF-8")
    );
    let sent = read_request(&requests[0]);
    assert_eq!(sent.data_text, KNOWN_DATA);
    assert_eq!(sent.sign, KNOWN_SIGNATURE);
    assert_eq!(sent.product_id, PRODUCT_ID);
    assert_eq!(sent.sys_id, HUIFU_ID, "a merchant calling for itself");
    assert_eq!(
        sent.body,
        format!(
            r#"{{"data":{KNOWN_DATA},"product_id":"MCS","sign":"{KNOWN_SIGNATURE}","sys_id":"{HUIFU_ID}"}}"#
        )
    );
    // The plugin's own helper writes the same text.
    let pairs: Vec<(&str, &str)> = sent
        .data
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
        .collect();
    assert_eq!(paycore_plugin_ecny::canonical_text(&pairs), KNOWN_DATA);
    // Nothing paycore omits by its own rule (the README, "What was assumed").
    for absent in [
        "time_expire",
        "terminal_device_info",
        "remark",
        "trade_type",
    ] {
        assert_eq!(sent.get(absent), None, "{absent}");
    }
}

const KNOWN_DATA: &str = r#"{"auth_code":"0123456789012345678","goods_desc":"拿铁","huifu_id":"6666000108854952","notify_url":"http://127.0.0.1:8080/v1/callbacks/t1/test","req_date":"20261125","req_seq_id":"A20261125001","risk_check_data":"{\"ip_addr\":\"203.0.113.7\"}","trans_amt":"88.88"}"#;
const KNOWN_SIGNATURE: &str = "eJBv+U5nZCaLCVXNX/3ZST5komRJ2YZi+ZfZ992kpMY9ZdXe1Y1FPfFZIpsD8m4eE0eXUBH48dLB5A3s4FDyEuHoR4484jwZ8AYVCNvhVIglK8kc8S4k8BTzOmBPdX4ltu5MHo7gAgDEjf6K8yPUDlirOxG3w+pORq/f8uCfPk780nt3gJAjXet2RF1OgZhH5Oc/4hF6ta+CmpdShT6nzb6fUYPr2fs6UEtjTHKA53cg/2M3QdqNP5ZniW0yEz3Tl7JkyclbEBzbqKB+rcZnKBi6KUegodagCKWRDYPxvoRdZK7TwyfE9xrVlyTktZZ2arBevvczfWiGmhnp7REUNw==";

#[test]
fn the_agent_signs_as_sys_id_and_text_is_cleaned_before_signing() {
    let host = huifu(|sent| micropay(sent, "00000000", "S", "1.01"));
    let agent = call_context(&[
        ("huifu_id", HUIFU_ID),
        ("sys_id", "6666000100000001"),
        ("product_id", PRODUCT_ID),
        ("base_url", "http://127.0.0.1:9/"),
    ]);
    let request = PayRequest {
        subject: Some("拿铁\n\"大杯\" <热> & 5/5 \\ 续\u{2028}".into()),
        ..barcode(ORDER, 101)
    };
    Ecny.pay(&host, &agent, request).unwrap();
    let sent = read_request(&host.requests()[0]);
    assert_eq!(host.requests()[0].url, format!("{BASE}{MICROPAY}"));
    assert_eq!(sent.sys_id, "6666000100000001");
    assert_eq!(sent.get("huifu_id"), Some(HUIFU_ID));
    assert_eq!(sent.get("trans_amt"), Some("1.01"));
    // Control characters and line separators become spaces; the rest is
    // signed raw (the support re-checks the signature over this text).
    assert_eq!(
        sent.get("goods_desc"),
        Some("拿铁 \"大杯\" <热> & 5/5 \\ 续 ")
    );
    assert!(
        sent.data_text
            .contains(r#""goods_desc":"拿铁 \"大杯\" <热> & 5/5 \\ 续 ""#)
    );
}

#[test]
fn without_the_tills_address_risk_check_data_is_sent_without_one() {
    let host = huifu(|sent| micropay(sent, "00000000", "S", "1.00"));
    let request = PayRequest {
        client_ip: None,
        ..barcode(ORDER, 100)
    };
    Ecny.pay(&host, &ctx(), request).unwrap();
    assert_eq!(
        read_request(&host.requests()[0]).get("risk_check_data"),
        Some(r#"{"ip_addr":""}"#),
        "an empty address, never a made-up one"
    );
}

#[test]
fn micropay_states_map_to_money_safe_outcomes() {
    fn pay(code: &'static str, stat: &'static str) -> Result<PaymentResult, ChannelError> {
        let host = huifu(move |sent| micropay(sent, code, stat, "88.88"));
        Ecny.pay(&host, &ctx(), barcode(ORDER, 8888))
    }
    let processing = pay("00000100", "P").unwrap();
    assert_eq!(
        (processing.status, processing.channel_order_no.as_deref()),
        (PaymentStatus::Processing, Some(HF_SEQ_ID))
    );
    assert_eq!(
        pay("00000000", "P").unwrap().status,
        PaymentStatus::Processing
    );
    assert_eq!(
        pay("00000000", "").unwrap().status,
        PaymentStatus::Processing
    );
    assert_eq!(
        pay("00000100", "I").unwrap().status,
        PaymentStatus::Processing
    );
    let failed = pay("00000000", "F").unwrap_err();
    assert!(
        matches!(&failed, ChannelError::Declined(f) if f.code == "declined" && f.channel_code.as_deref() == Some("00000000")),
        "{failed:?}"
    );
    let odd = pay("00000000", "X").unwrap_err();
    assert!(matches!(&odd, ChannelError::OutcomeUnknown(f) if f.code == "malformed_answer"));
}

#[test]
fn refused_codes_decline_with_huifus_words_and_the_rest_stay_unknown() {
    fn pay(code: &'static str, stat: &'static str) -> Result<PaymentResult, ChannelError> {
        let host = huifu(move |sent| {
            let mut fields = echo(
                sent,
                &[("resp_code", code), ("resp_desc", "业务执行失败，余额不足")],
            );
            if !stat.is_empty() {
                fields.insert("trans_stat".into(), stat.into());
            }
            fields
        });
        Ecny.pay(&host, &ctx(), barcode(ORDER, 8888))
    }
    for (code, ours) in [
        ("10000000", "invalid_parameter"),
        ("21000000", "missing_parameter"),
        ("22000005", "merchant_not_enabled"),
        ("23000004", "not_supported"),
        ("90000000", "declined"),
    ] {
        for stat in ["F", ""] {
            let err = pay(code, stat).unwrap_err();
            let ChannelError::Declined(f) = &err else {
                panic!("{code}/{stat}: {err:?}")
            };
            assert_eq!(f.code, ours);
            assert_eq!(f.channel_code.as_deref(), Some(code));
            assert_eq!(f.channel_message.as_deref(), Some("业务执行失败，余额不足"));
        }
    }
    // A refusal that says the payment is under way is not believed.
    let err = pay("90000000", "P").unwrap_err();
    assert!(matches!(&err, ChannelError::OutcomeUnknown(f) if f.code == "contradictory_answer"));
    let err = pay("20000000", "").unwrap_err();
    assert!(matches!(&err, ChannelError::OutcomeUnknown(f) if f.code == "duplicate_request"));
    for code in ["91111119", "98888888", "99999999", "12345678"] {
        let err = pay(code, "F").unwrap_err();
        assert!(
            matches!(&err, ChannelError::OutcomeUnknown(f) if f.code == "in_progress" && f.channel_code.as_deref() == Some(code)),
            "{code}: {err:?}"
        );
    }
}

#[test]
fn timeouts_5xx_and_broken_exchanges_leave_the_payment_unknown() {
    for failure in [
        HttpError::Timeout,
        HttpError::Broken("reset".into()),
        HttpError::TooLarge,
    ] {
        let host = host().with_responder(move |_| Err(failure.clone()));
        let err = Ecny.pay(&host, &ctx(), barcode(ORDER, 8888)).unwrap_err();
        assert!(matches!(err, ChannelError::OutcomeUnknown(_)), "{err:?}");
    }
    let refused = host().with_responder(|_| Err(HttpError::Connect("refused".into())));
    let err = Ecny
        .pay(&refused, &ctx(), barcode(ORDER, 8888))
        .unwrap_err();
    assert!(matches!(err, ChannelError::Unavailable(_)), "{err:?}");
    // The gateway's own codes: unknown unless they say nothing was processed.
    for status in [500, 502, 503, 512, 923, 301] {
        let host = huifu_raw(move |sent| {
            let body = answer_body(&micropay(sent, "00000000", "S", "88.88"));
            http(status, body)
        });
        let err = Ecny.pay(&host, &ctx(), barcode(ORDER, 8888)).unwrap_err();
        assert!(
            matches!(&err, ChannelError::OutcomeUnknown(f) if f.code == "unverified_answer"),
            "{status}: {err:?}"
        );
    }
    for (status, invalid) in [
        (404, true),
        (412, true),
        (921, true),
        (922, true),
        (911, false),
        (912, false),
        (914, false),
    ] {
        let host = huifu_raw(move |_| http(status, ""));
        let err = Ecny.pay(&host, &ctx(), barcode(ORDER, 8888)).unwrap_err();
        if invalid {
            assert!(
                matches!(&err, ChannelError::InvalidRequest(f) if f.code == "channel_rejected"),
                "{status}: {err:?}"
            );
        } else {
            assert!(
                matches!(err, ChannelError::Unavailable(_)),
                "{status}: {err:?}"
            );
        }
    }
}

/// Each case is not believed, for its own reason (the logged words).
#[test]
fn tampered_or_foreign_answers_are_not_believed() {
    type Body = Box<dyn Fn(&Sent) -> String>;
    let paid = |sent: &Sent| micropay(sent, "00000000", "S", "88.88");
    let cases: Vec<(&str, &str, Body)> = vec![
        (
            "tampered trans_amt",
            "does not match",
            Box::new(move |s: &Sent| answer_body(&paid(s)).replace("88.88", "0.01")),
        ),
        (
            "tampered trans_stat",
            "does not match",
            Box::new(|s: &Sent| {
                answer_body(&micropay(s, "00000000", "F", "88.88"))
                    .replace(r#""trans_stat":"F""#, r#""trans_stat":"S""#)
            }),
        ),
        (
            "signed by another key",
            "does not match",
            Box::new(move |s: &Sent| {
                let data = canonical(&paid(s));
                let sig = base64_of(&paycore_plugin_sdk::testing::rsa_sign(
                    MERCHANT_PRIVATE,
                    data.as_bytes(),
                ));
                format!(r#"{{"data":{data},"sign":"{sig}"}}"#)
            }),
        ),
        (
            "signed over the canonical text, sent re-formatted",
            "does not match",
            Box::new(move |s: &Sent| {
                let fields = paid(s);
                let data = canonical(&fields);
                let pretty = serde_json::to_string_pretty(&fields).unwrap();
                format!(r#"{{"data":{pretty},"sign":"{}"}}"#, huifu_sign(&data))
            }),
        ),
        (
            "unsigned",
            "not signed",
            Box::new(move |s: &Sent| format!(r#"{{"data":{}}}"#, canonical(&paid(s)))),
        ),
        (
            "an empty sign",
            "not signed",
            Box::new(move |s: &Sent| format!(r#"{{"data":{},"sign":""}}"#, canonical(&paid(s)))),
        ),
        (
            "a sign that is not base64",
            "not base64",
            Box::new(move |s: &Sent| format!(r#"{{"data":{},"sign":"%%%"}}"#, canonical(&paid(s)))),
        ),
        (
            "data as a JSON string",
            "not an object",
            Box::new(move |s: &Sent| {
                let data = serde_json::to_string(&canonical(&paid(s))).unwrap();
                format!(r#"{{"data":{data},"sign":"{}"}}"#, huifu_sign(&data))
            }),
        ),
        (
            "an answer about another order",
            "req_seq_id `B20261125999`",
            Box::new(move |s: &Sent| {
                let mut fields = paid(s);
                fields.insert("req_seq_id".into(), "B20261125999".into());
                answer_body(&fields)
            }),
        ),
        (
            "an answer about another merchant",
            "huifu_id `6666000100000002`",
            Box::new(move |s: &Sent| {
                let mut fields = paid(s);
                fields.insert("huifu_id".into(), "6666000100000002".into());
                answer_body(&fields)
            }),
        ),
        (
            "an answer of another day",
            "req_date `20261124`",
            Box::new(move |s: &Sent| {
                let mut fields = paid(s);
                fields.insert("req_date".into(), "20261124".into());
                answer_body(&fields)
            }),
        ),
        (
            "a field twice",
            "appears twice",
            Box::new(|s: &Sent| {
                let data = canonical(&micropay(s, "00000000", "S", "88.88")).replacen(
                    '{',
                    r#"{"trans_stat":"F","#,
                    1,
                );
                format!(r#"{{"data":{data},"sign":"{}"}}"#, huifu_sign(&data))
            }),
        ),
        (
            "data twice in the envelope",
            "duplicate field",
            Box::new(move |s: &Sent| {
                let data = canonical(&paid(s));
                format!(
                    r#"{{"data":{data},"sign":"{}","data":{{}}}}"#,
                    huifu_sign(&data)
                )
            }),
        ),
        (
            "no resp_code",
            "no resp_code",
            Box::new(|s: &Sent| answer_body(&echo(s, &[("trans_stat", "S")]))),
        ),
        (
            "not an answer",
            "not Huifu's envelope",
            Box::new(|_: &Sent| "<html>502 Bad Gateway</html>".to_owned()),
        ),
    ];
    for (case, reason, body) in cases {
        let host = huifu_raw(move |s| http(200, body(s)));
        let err = Ecny.pay(&host, &ctx(), barcode(ORDER, 8888)).unwrap_err();
        assert!(
            matches!(&err, ChannelError::OutcomeUnknown(f) if f.code == "unverified_answer" && f.message.contains(reason)),
            "{case}: {err:?}"
        );
        assert!(
            host.logs()
                .iter()
                .any(|(level, line)| *level == LogLevel::Warn && line.contains(reason)),
            "{case}: {:?}",
            host.logs()
        );
    }
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn an_answer_escaped_as_gos_encoder_does_is_checked_as_the_go_sdk_checks_it() {
    // Huifu signed `<`, `>` and `&` raw; Go's encoder writes them \u003c…
    let host = huifu_raw(|s| {
        let mut fields = micropay(s, "00000000", "S", "88.88");
        fields.insert("bank_desc".into(), "<成功> & 完成".into());
        let data = canonical(&fields);
        let escaped = data
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026");
        http(
            200,
            format!(r#"{{"data":{escaped},"sign":"{}"}}"#, huifu_sign(&data)),
        )
    });
    let result = Ecny.pay(&host, &ctx(), barcode(ORDER, 8888)).unwrap();
    assert_eq!(result.status, PaymentStatus::Succeeded);
}

#[test]
fn amounts_go_out_and_come_back_exactly() {
    for (fen, yuan) in [
        (1, "0.01"),
        (10, "0.10"),
        (99, "0.99"),
        (101, "1.01"),
        (100, "1.00"),
        (999_999_999, "9999999.99"),
    ] {
        let host = huifu(move |sent| {
            assert_eq!(sent.get("trans_amt"), Some(yuan));
            micropay(sent, "00000000", "S", yuan)
        });
        let result = Ecny.pay(&host, &ctx(), barcode(ORDER, fen)).unwrap();
        assert_eq!(result.amount, Some(fen), "{yuan}");
    }
    // Answers: another amount, more decimals than fen, a float, none.
    let answer = |amt: serde_json::Value| {
        huifu_raw(move |s| {
            let mut fields: serde_json::Map<String, serde_json::Value> =
                micropay(s, "00000000", "S", "")
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::Value::String(v)))
                    .collect();
            if amt.is_null() {
                fields.remove("trans_amt");
            } else {
                fields.insert("trans_amt".into(), amt.clone());
            }
            let data = serde_json::to_string(&fields).unwrap();
            http(
                200,
                format!(r#"{{"data":{data},"sign":"{}"}}"#, huifu_sign(&data)),
            )
        })
    };
    for (amt, ours) in [
        (serde_json::json!("88.89"), "amount_mismatch"),
        (serde_json::json!("8888"), "amount_mismatch"),
        (serde_json::json!("88.881"), "malformed_answer"),
        (serde_json::json!("8.888e1"), "malformed_answer"),
        (serde_json::json!(88.88), "malformed_answer"),
        (serde_json::Value::Null, "malformed_answer"),
    ] {
        let host = answer(amt.clone());
        let err = Ecny.pay(&host, &ctx(), barcode(ORDER, 8888)).unwrap_err();
        assert!(
            matches!(&err, ChannelError::OutcomeUnknown(f) if f.code == ours),
            "{amt}: {err:?}"
        );
    }
    // Nothing is sent for an amount Huifu cannot take.
    let host = huifu(|sent| micropay(sent, "00000000", "S", "0.00"));
    for fen in [0, -1, 10_000_000_000_000] {
        assert_eq!(
            code(&Ecny.pay(&host, &ctx(), barcode(ORDER, fen)).unwrap_err()),
            "invalid_amount"
        );
    }
    assert!(host.requests().is_empty());
}

#[test]
fn order_numbers_payment_codes_and_missing_inputs_send_nothing() {
    let host = huifu(|sent| micropay(sent, "00000000", "S", "1.00"));
    for order in [
        "A2026-1125",
        "A2026_1125",
        "订单20261125",
        "A 1",
        "",
        &"9".repeat(65),
    ] {
        let err = Ecny.pay(&host, &ctx(), barcode(order, 100)).unwrap_err();
        assert!(
            matches!(&err, ChannelError::InvalidRequest(f) if f.code == "invalid_order_no"
                && f.message.contains("merchant_order_no")
                && f.message.contains("[0-9A-Za-z]{1,64}")),
            "{order}: {err:?}"
        );
    }
    for auth_code in [
        "134567890123456789",   // WeChat
        "283400011122223335",   // Alipay
        "6223000000000000001",  // UnionPay
        "012345678901234567",   // 18 digits
        "01234567890123456789", // 20 digits
        "0123456789O12345678",
    ] {
        let request = PayRequest {
            auth_code: Some(auth_code.into()),
            ..barcode(ORDER, 100)
        };
        let err = Ecny.pay(&host, &ctx(), request).unwrap_err();
        assert!(
            matches!(&err, ChannelError::InvalidRequest(f) if f.code == "invalid_auth_code"
                && f.message.contains("auth_code")
                && f.message.contains("^01[0-9]{17}$")),
            "{auth_code}: {err:?}"
        );
    }
    let cases = [
        (
            PayRequest {
                auth_code: None,
                ..barcode(ORDER, 100)
            },
            "missing_field",
            "auth_code",
        ),
        (
            PayRequest {
                currency: "USD".into(),
                ..barcode(ORDER, 100)
            },
            "unsupported_currency",
            "CNY",
        ),
        (
            pay_request(ORDER, 100, "CNY", Scene::H5),
            "unsupported_scene",
            "h5",
        ),
    ];
    for (request, ours, named) in cases {
        let err = Ecny.pay(&host, &ctx(), request).unwrap_err();
        assert!(
            matches!(&err, ChannelError::InvalidRequest(f) if f.code == ours && f.message.contains(named)),
            "{ours}: {err:?}"
        );
    }
    let no_product = call_context(&[("huifu_id", HUIFU_ID), ("base_url", BASE)]);
    let err = Ecny
        .pay(&host, &no_product, barcode(ORDER, 100))
        .unwrap_err();
    assert!(
        matches!(&err, ChannelError::InvalidRequest(f) if f.code == "missing_setting" && f.message.contains("product_id"))
    );
    host.set_payment_created_millis(None);
    let err = Ecny.pay(&host, &ctx(), barcode(ORDER, 100)).unwrap_err();
    assert!(
        matches!(&err, ChannelError::InvalidRequest(f) if f.code == "missing_created_time"),
        "{err:?}"
    );
    for op in [
        Ecny.query(&host, &ctx(), payment_ref(Scene::Barcode, None)),
        Ecny.close(&host, &ctx(), payment_ref(Scene::Qrcode, None)),
        Ecny.cancel(&host, &ctx(), payment_ref(Scene::Barcode, None)),
    ] {
        assert_eq!(code(&op.unwrap_err()), "missing_created_time");
    }
    assert!(host.requests().is_empty());
}

#[test]
fn a_qr_order_is_a_d_native_jspay_with_its_expiry() {
    let host = huifu(|sent| {
        echo(
            sent,
            &[
                ("resp_code", "00000100"),
                ("resp_desc", "下单成功"),
                ("hf_seq_id", HF_SEQ_ID),
                ("trade_type", "D_NATIVE"),
                ("trans_amt", "88.88"),
                ("trans_stat", "P"),
                ("qr_code", "https://qr.example/dcep/0123?x=1&y=2"),
            ],
        )
    });
    let result = Ecny
        .pay(&host, &ctx(), qrcode("Q20261125001", 8888, Some(300)))
        .unwrap();
    assert_eq!(result.status, PaymentStatus::Pending);
    assert_eq!(result.channel_order_no.as_deref(), Some(HF_SEQ_ID));
    assert_eq!(
        result.action,
        Some(Action::QrCode(
            "https://qr.example/dcep/0123?x=1&y=2".into()
        ))
    );
    let sent = read_request(&host.requests()[0]);
    assert_eq!(sent.path, JSPAY);
    for (name, value) in [
        ("trade_type", "D_NATIVE"),
        ("req_date", PAYMENT_DATE),
        ("req_seq_id", "Q20261125001"),
        ("huifu_id", HUIFU_ID),
        ("trans_amt", "88.88"),
        ("goods_desc", "Q20261125001"),
        ("notify_url", NOTIFY_URL),
        // 15:59:58 + 5 minutes, Beijing time.
        ("time_expire", "20261125160458"),
    ] {
        assert_eq!(sent.get(name), Some(value), "{name}");
    }
    for absent in ["auth_code", "risk_check_data", "dc_data"] {
        assert_eq!(sent.get(absent), None, "{absent}");
    }

    // The window: 10 minutes without expires_in, and never more.
    for expires_in in [None, Some(900), Some(7_200)] {
        let host = huifu(|sent| {
            echo(
                sent,
                &[
                    ("resp_code", "00000100"),
                    ("trans_stat", "P"),
                    ("qr_code", "q"),
                ],
            )
        });
        Ecny.pay(&host, &ctx(), qrcode("Q20261125001", 8888, expires_in))
            .unwrap();
        assert_eq!(
            read_request(&host.requests()[0]).get("time_expire"),
            Some("20261125160958"),
            "{expires_in:?}"
        );
    }

    // The operating institution, when the merchant has one.
    let with_bank = call_context(&[
        ("huifu_id", HUIFU_ID),
        ("product_id", PRODUCT_ID),
        ("base_url", BASE),
        ("digital_bank_no", "01002"),
    ]);
    let host = huifu(|sent| {
        echo(
            sent,
            &[
                ("resp_code", "00000000"),
                ("trans_stat", "P"),
                ("qr_code", "q"),
            ],
        )
    });
    Ecny.pay(&host, &with_bank, qrcode("Q20261125001", 8888, None))
        .unwrap();
    assert_eq!(
        read_request(&host.requests()[0]).get("dc_data"),
        Some(r#"{"digital_bank_no":"01002"}"#)
    );
}

#[test]
fn a_qr_order_without_a_code_is_unknown_and_refusals_decline() {
    let host = huifu(|sent| echo(sent, &[("resp_code", "00000100"), ("trans_stat", "P")]));
    let err = Ecny
        .pay(&host, &ctx(), qrcode("Q20261125001", 8888, None))
        .unwrap_err();
    assert!(matches!(&err, ChannelError::OutcomeUnknown(f) if f.code == "malformed_answer"));

    let host = huifu(|sent| {
        echo(
            sent,
            &[
                ("resp_code", "22000005"),
                ("resp_desc", "数字货币手续费费率未配置"),
                ("trans_stat", "F"),
            ],
        )
    });
    let err = Ecny
        .pay(&host, &ctx(), qrcode("Q20261125001", 8888, None))
        .unwrap_err();
    assert!(
        matches!(&err, ChannelError::Declined(f) if f.code == "merchant_not_enabled"
            && f.channel_code.as_deref() == Some("22000005")
            && f.channel_message.as_deref() == Some("数字货币手续费费率未配置")),
        "{err:?}"
    );
    let host = huifu(|sent| echo(sent, &[("resp_code", "98888888")]));
    let err = Ecny
        .pay(&host, &ctx(), qrcode("Q20261125001", 8888, None))
        .unwrap_err();
    assert!(matches!(err, ChannelError::OutcomeUnknown(_)));
}

#[test]
fn query_names_the_payment_by_its_date_and_number() {
    let host = huifu(|sent| {
        assert_eq!(sent.path, QUERY);
        queried(sent, "S", "88.88")
    });
    let result = Ecny
        .query(&host, &ctx(), payment_ref(Scene::Barcode, Some(HF_SEQ_ID)))
        .unwrap();
    assert_eq!(
        result,
        PaymentResult::succeeded(Some(HF_SEQ_ID.into()), 8888, "CNY")
    );
    let sent = read_request(&host.requests()[0]);
    assert_eq!(
        sent.data,
        serde_json::from_str::<Json>(&format!(
            r#"{{"huifu_id":"{HUIFU_ID}","org_hf_seq_id":"{HF_SEQ_ID}","org_req_date":"{PAYMENT_DATE}","org_req_seq_id":"{ORDER}"}}"#
        ))
        .unwrap()
    );
    // After a timed-out pay Huifu's number is not known: by ours alone.
    let host = huifu(|sent| queried(sent, "S", "88.88"));
    Ecny.query(&host, &ctx(), payment_ref(Scene::Barcode, None))
        .unwrap();
    assert_eq!(read_request(&host.requests()[0]).get("org_hf_seq_id"), None);
}

#[test]
fn queried_states_map_by_trans_stat_and_scene() {
    fn query(
        scene: Scene,
        answer: impl Fn(&Sent) -> BTreeMap<String, String> + 'static,
    ) -> Result<PaymentResult, ChannelError> {
        Ecny.query(&huifu(answer), &ctx(), payment_ref(scene, None))
    }
    use PaymentStatus::*;
    for (scene, stat, expected) in [
        (Scene::Barcode, "P", Processing),
        (Scene::Barcode, "I", Processing),
        (Scene::Qrcode, "P", Pending),
        (Scene::Qrcode, "I", Pending),
        (Scene::Barcode, "F", Failed),
        (Scene::Qrcode, "F", Failed),
        (Scene::Qrcode, "S", Succeeded),
    ] {
        let result = query(scene, move |s| queried(s, stat, "88.88")).unwrap();
        assert_eq!(result.status, expected, "{scene:?} {stat}");
        assert_eq!(result.channel_order_no.as_deref(), Some(HF_SEQ_ID));
    }
    let failed = query(Scene::Barcode, |s| {
        let mut f = queried(s, "F", "88.88");
        f.insert("bank_desc".into(), "余额不足".into());
        f
    })
    .unwrap();
    let failure = failed.failure.unwrap();
    assert_eq!(failure.channel_message.as_deref(), Some("余额不足"));

    // 23000001: a QR nobody has paid yet; a payer's code Huifu never
    // charged (the runtime makes that final once a cancel was sent).
    assert_eq!(query(Scene::Qrcode, not_found).unwrap().status, Pending);
    let err = query(Scene::Barcode, not_found).unwrap_err();
    assert!(
        matches!(&err, ChannelError::Declined(f) if f.code == "order_not_found" && f.channel_code.as_deref() == Some("23000001")),
        "{err:?}"
    );
    // The query failing says nothing about the payment.
    for code in ["91111119", "98888888", "99999999", "10000000", "22000000"] {
        let err = query(Scene::Barcode, move |s| echo(s, &[("resp_code", code)])).unwrap_err();
        assert!(
            matches!(&err, ChannelError::OutcomeUnknown(f) if f.code == "query_failed"),
            "{code}: {err:?}"
        );
    }
    // Paid, but for another amount or none: not believed.
    let err = query(Scene::Barcode, |s| queried(s, "S", "88.87")).unwrap_err();
    assert!(matches!(&err, ChannelError::OutcomeUnknown(f) if f.code == "amount_mismatch"));
    let err = query(Scene::Barcode, |s| {
        let mut f = queried(s, "S", "88.88");
        f.remove("trans_amt");
        f
    })
    .unwrap_err();
    assert!(matches!(&err, ChannelError::OutcomeUnknown(f) if f.code == "malformed_answer"));
    let err = query(Scene::Barcode, |s| {
        let mut f = queried(s, "S", "88.88");
        f.remove("trans_stat");
        f
    })
    .unwrap_err();
    assert!(matches!(&err, ChannelError::OutcomeUnknown(f) if f.code == "malformed_answer"));
    // About another order.
    let err = query(Scene::Barcode, |s| {
        let mut f = queried(s, "S", "88.88");
        f.insert("org_req_seq_id".into(), "B1".into());
        f
    })
    .unwrap_err();
    assert!(matches!(&err, ChannelError::OutcomeUnknown(f) if f.code == "unverified_answer"));
}

fn refunded(sent: &Sent, code: &str, stat: &str) -> BTreeMap<String, String> {
    let mut fields = echo(
        sent,
        &[
            ("resp_code", code),
            ("resp_desc", "退款受理"),
            ("product_id", PRODUCT_ID),
            ("hf_seq_id", HF_REFUND_SEQ_ID),
            ("pay_channel", "D"),
        ],
    );
    if let Some(amt) = sent.get("ord_amt") {
        fields.insert("ord_amt".into(), amt.into());
    }
    if !stat.is_empty() {
        fields.insert("trans_stat".into(), stat.into());
    }
    fields
}

#[test]
fn a_refund_names_both_transactions_and_gives_its_reason() {
    let host = huifu(|sent| {
        assert_eq!(sent.path, REFUND);
        refunded(sent, "00000100", "P")
    });
    let result = Ecny
        .refund(
            &host,
            &ctx(),
            refund_request("R20261126001", 1000, Some("客户退货 \"杯子\"")),
        )
        .unwrap();
    assert_eq!(
        result,
        RefundResult {
            status: RefundStatus::Processing,
            channel_refund_no: Some(HF_REFUND_SEQ_ID.into()),
            amount: None,
            failure: None,
        }
    );
    let sent = read_request(&host.requests()[0]);
    for (name, value) in [
        ("req_date", REFUND_DATE),
        ("req_seq_id", "R20261126001"),
        ("huifu_id", HUIFU_ID),
        ("ord_amt", "10.00"),
        ("org_req_date", PAYMENT_DATE),
        ("org_req_seq_id", ORDER),
        ("org_hf_seq_id", HF_SEQ_ID),
        ("notify_url", NOTIFY_URL),
        // A JSON string holding compact JSON, never an object.
        (
            "digital_currency_data",
            r#"{"refund_desc":"客户退货 \"杯子\""}"#,
        ),
    ] {
        assert_eq!(sent.get(name), Some(value), "{name}");
    }
    assert!(
        sent.data_text
            .contains(r#""digital_currency_data":"{\"refund_desc\":\"客户退货 \\\"杯子\\\"\"}""#),
        "{}",
        sent.data_text
    );

    // Without a reason, still one: Huifu refuses an e-CNY refund without.
    let host = huifu(|sent| refunded(sent, "00000000", "S"));
    let result = Ecny
        .refund(&host, &ctx(), refund_request("R20261126001", 1000, None))
        .unwrap();
    assert_eq!(
        (result.status, result.amount),
        (RefundStatus::Succeeded, Some(1000))
    );
    assert_eq!(
        read_request(&host.requests()[0]).get("digital_currency_data"),
        Some(r#"{"refund_desc":"refund"}"#)
    );
}

#[test]
fn refund_answers_map_to_money_safe_outcomes() {
    fn refund(code: &'static str, stat: &'static str) -> Result<RefundResult, ChannelError> {
        let host = huifu(move |sent| refunded(sent, code, stat));
        Ecny.refund(&host, &ctx(), refund_request("R20261126001", 1000, None))
    }
    assert_eq!(
        refund("00000000", "S").unwrap().status,
        RefundStatus::Succeeded
    );
    assert_eq!(
        refund("00000100", "P").unwrap().status,
        RefundStatus::Processing
    );
    assert_eq!(
        refund("00000000", "").unwrap().status,
        RefundStatus::Processing
    );
    let failed = refund("00000000", "F").unwrap();
    assert_eq!(failed.status, RefundStatus::Failed);
    assert_eq!(failed.failure.unwrap().code, "refund_failed");
    for (code, ours) in [
        ("23000003", "refund_exceeds"),
        ("23000001", "order_not_found"),
        ("22000004", "merchant_not_enabled"),
        ("23000000", "invalid_order_status"),
        ("20000001", "concurrent_request"),
        ("21000000", "missing_parameter"),
    ] {
        let err = refund(code, "F").unwrap_err();
        assert!(
            matches!(&err, ChannelError::Declined(f) if f.code == ours && f.channel_code.as_deref() == Some(code)),
            "{code}: {err:?}"
        );
    }
    for code in ["98888888", "99999999", "91111119", "77777777"] {
        let err = refund(code, "").unwrap_err();
        assert!(
            matches!(&err, ChannelError::OutcomeUnknown(f) if f.code == "in_progress"),
            "{code}"
        );
    }
    let err = refund("20000000", "").unwrap_err();
    assert!(matches!(&err, ChannelError::OutcomeUnknown(f) if f.code == "duplicate_request"));
    // Another amount than asked: not believed.
    let host = huifu(|sent| {
        let mut f = refunded(sent, "00000000", "S");
        f.insert("ord_amt".into(), "100.00".into());
        f
    });
    let err = Ecny
        .refund(&host, &ctx(), refund_request("R20261126001", 1000, None))
        .unwrap_err();
    assert!(matches!(&err, ChannelError::OutcomeUnknown(f) if f.code == "amount_mismatch"));
}

#[test]
fn refund_numbers_and_times_are_checked_before_sending() {
    let host = huifu(|sent| refunded(sent, "00000000", "S"));
    let err = Ecny
        .refund(&host, &ctx(), refund_request("R-1", 100, None))
        .unwrap_err();
    assert!(
        matches!(&err, ChannelError::InvalidRequest(f) if f.code == "invalid_order_no" && f.message.contains("merchant_refund_no")),
        "{err:?}"
    );
    host.set_refund_created_millis(None);
    for err in [
        Ecny.refund(&host, &ctx(), refund_request("R20261126001", 100, None))
            .unwrap_err(),
        Ecny.query_refund(&host, &ctx(), refund_ref("R20261126001"))
            .unwrap_err(),
    ] {
        assert_eq!(code(&err), "missing_created_time");
    }
    assert!(host.requests().is_empty());
}

#[test]
fn refund_query_goes_by_the_refunds_date_and_number() {
    let host = huifu(|sent| {
        assert_eq!(sent.path, REFUND_QUERY);
        let stat = match sent.get("org_req_seq_id") {
            Some("R20261126001") => "S",
            Some("R20261126002") => "P",
            Some("R20261126003") => "F",
            _ => return not_found(sent),
        };
        echo(
            sent,
            &[
                ("resp_code", "00000000"),
                ("org_hf_seq_id", HF_REFUND_SEQ_ID),
                ("trans_type", "TRANS_REFUND"),
                ("trans_stat", stat),
                ("ord_amt", "10.00"),
                ("pay_channel", "D"),
            ],
        )
    });
    let done = Ecny
        .query_refund(&host, &ctx(), refund_ref("R20261126001"))
        .unwrap();
    assert_eq!(
        (done.status, done.amount, done.channel_refund_no.as_deref()),
        (RefundStatus::Succeeded, Some(1000), Some(HF_REFUND_SEQ_ID))
    );
    let sent = read_request(&host.requests()[0]);
    assert_eq!(
        sent.data,
        serde_json::from_str::<Json>(&format!(
            r#"{{"huifu_id":"{HUIFU_ID}","org_req_date":"{REFUND_DATE}","org_req_seq_id":"R20261126001"}}"#
        ))
        .unwrap()
    );
    let status = |no: &str| Ecny.query_refund(&host, &ctx(), refund_ref(no)).unwrap();
    assert_eq!(status("R20261126002").status, RefundStatus::Processing);
    assert_eq!(status("R20261126003").status, RefundStatus::Failed);
    // Not at Huifu (yet): never "failed", which would let it be made twice.
    assert_eq!(status("R20261126009").status, RefundStatus::Processing);
}

#[test]
fn close_never_closes_a_paid_order_and_waits_out_an_unpaid_one() {
    let paid = huifu(|s| queried(s, "S", "88.88"));
    let err = Ecny
        .close(&paid, &ctx(), payment_ref(Scene::Qrcode, Some(HF_SEQ_ID)))
        .unwrap_err();
    assert!(
        matches!(&err, ChannelError::Declined(f) if f.code == "order_paid"),
        "{err:?}"
    );
    let failed = huifu(|s| queried(s, "F", "88.88"));
    let result = Ecny
        .close(&failed, &ctx(), payment_ref(Scene::Qrcode, None))
        .unwrap();
    assert_eq!(result.status, PaymentStatus::Failed);

    // Unpaid before its time_expire (created + 10 minutes, plus a minute
    // for the clocks): Huifu cannot close it, and nothing was changed.
    for answer in [
        not_found as fn(&Sent) -> BTreeMap<String, String>,
        |s: &Sent| queried(s, "P", "88.88"),
    ] {
        let host = huifu(answer);
        for (after_creation, closed) in [
            (2_000, false),
            (600_000, false),
            (659_999, false),
            (660_000, true),
            (3_600_000, true),
        ] {
            host.set_now_millis((PAYMENT_CREATED + after_creation) as u64);
            let got = Ecny.close(&host, &ctx(), payment_ref(Scene::Qrcode, None));
            if closed {
                assert_eq!(
                    got.unwrap().status,
                    PaymentStatus::Closed,
                    "{after_creation}"
                );
            } else {
                let err = got.unwrap_err();
                assert!(
                    matches!(&err, ChannelError::Declined(f) if f.code == "close_not_supported_before_expiry"
                        && f.message.contains("20261125160958")),
                    "{after_creation}: {err:?}"
                );
            }
        }
        // Only queries: Huifu has no close for e-CNY.
        assert!(sent(&host).iter().all(|s| s.path == QUERY));
    }
}

#[test]
fn cancel_refunds_a_paid_payment_in_full() {
    for stat in ["S", "P"] {
        let host = huifu(move |sent| match sent.path.as_str() {
            QUERY => queried(sent, "S", "88.88"),
            REFUND => refunded(sent, "00000000", stat),
            other => panic!("{other}"),
        });
        let result = Ecny
            .cancel(&host, &ctx(), payment_ref(Scene::Barcode, None))
            .unwrap();
        assert_eq!(result.status, PaymentStatus::Cancelled, "{stat}");
        let sent = sent(&host);
        assert_eq!(sent.len(), 2);
        let refund = &sent[1];
        for (name, value) in [
            ("req_seq_id", "CXLA20261125001"),
            // The fake host's today, Beijing time.
            ("req_date", "20261125"),
            ("ord_amt", "88.88"),
            ("org_req_date", PAYMENT_DATE),
            ("org_req_seq_id", ORDER),
            ("org_hf_seq_id", HF_SEQ_ID),
            ("digital_currency_data", r#"{"refund_desc":"cancel"}"#),
        ] {
            assert_eq!(refund.get(name), Some(value), "{name}");
        }
    }
}

#[test]
fn cancel_asks_again_while_the_payer_confirms_and_ends_what_never_paid() {
    let processing = huifu(|s| {
        let mut f = queried(s, "P", "88.88");
        f.insert("password_trade".into(), "Y".into());
        f
    });
    let err = Ecny
        .cancel(&processing, &ctx(), payment_ref(Scene::Barcode, None))
        .unwrap_err();
    assert!(
        matches!(&err, ChannelError::OutcomeUnknown(f) if f.code == "cancel_retry"),
        "{err:?}"
    );
    assert_eq!(processing.requests().len(), 1, "no refund while unpaid");
    for answer in [
        not_found as fn(&Sent) -> BTreeMap<String, String>,
        |s: &Sent| queried(s, "F", "88.88"),
    ] {
        let host = huifu(answer);
        let result = Ecny
            .cancel(&host, &ctx(), payment_ref(Scene::Barcode, None))
            .unwrap();
        assert_eq!(result.status, PaymentStatus::Cancelled);
        assert_eq!(host.requests().len(), 1);
    }
    // The query failing: the cancel's outcome is not known either.
    let failing = huifu(|s| echo(s, &[("resp_code", "98888888")]));
    let err = Ecny
        .cancel(&failing, &ctx(), payment_ref(Scene::Barcode, None))
        .unwrap_err();
    assert!(matches!(err, ChannelError::OutcomeUnknown(_)));
}

#[test]
fn a_repeated_cancel_learns_what_became_of_its_refund() {
    fn cancel(refund_stat: &'static str) -> Result<PaymentResult, ChannelError> {
        let host = huifu(move |sent| match sent.path.as_str() {
            QUERY => queried(sent, "S", "88.88"),
            // The first try's refund was made; its answer was lost.
            REFUND => echo(
                sent,
                &[("resp_code", "20000000"), ("resp_desc", "重复交易")],
            ),
            REFUND_QUERY => {
                assert_eq!(sent.get("org_req_seq_id"), Some("CXLA20261125001"));
                assert_eq!(sent.get("org_req_date"), Some("20261125"));
                echo(
                    sent,
                    &[
                        ("resp_code", "00000000"),
                        ("trans_stat", refund_stat),
                        ("ord_amt", "88.88"),
                    ],
                )
            }
            other => panic!("{other}"),
        });
        Ecny.cancel(&host, &ctx(), payment_ref(Scene::Barcode, None))
    }
    assert_eq!(cancel("S").unwrap().status, PaymentStatus::Cancelled);
    assert_eq!(cancel("P").unwrap().status, PaymentStatus::Cancelled);
    let err = cancel("F").unwrap_err();
    assert!(
        matches!(&err, ChannelError::Declined(f) if f.code == "cancel_refund_failed"),
        "{err:?}"
    );
    // A refund Huifu refuses leaves the payment paid.
    let host = huifu(|sent| match sent.path.as_str() {
        QUERY => queried(sent, "S", "88.88"),
        _ => refunded(sent, "23000003", "F"),
    });
    let err = Ecny
        .cancel(&host, &ctx(), payment_ref(Scene::Barcode, None))
        .unwrap_err();
    assert!(matches!(&err, ChannelError::Declined(f) if f.code == "refund_exceeds"));
}

/// A payment notice's `resp_data`, as Huifu writes it: nested structures
/// are objects, `notify_type` an integer.
fn paid_notice(trans_amt: &str) -> String {
    format!(
        r#"{{"resp_code":"00000000","resp_desc":"交易成功","huifu_id":"{HUIFU_ID}","req_seq_id":"Q20261125001","req_date":"20261125","trans_type":"D_NATIVE","hf_seq_id":"{HF_SEQ_ID}","out_trans_id":"4200001","party_order_id":"0325112500001","trans_amt":"{trans_amt}","pay_amt":"{trans_amt}","settlement_amt":"{trans_amt}","end_time":"20261125160312","acct_date":"20261125","trans_stat":"S","is_div":"0","is_delay_acct":"0","notify_type":1,"bank_message":"成功","remark":"","dc_response":{{"custom_bank_code":"C1010211000012","custom_bank_name":"工商银行","coupon_list":[]}}}}"#
    )
}

const REFUND_NOTICE: &str = r#"{"resp_code":"00000000","resp_desc":"退款成功","huifu_id":"6666000108854952","req_date":"20261126","req_seq_id":"R20261126001","hf_seq_id":"00290TOP1GR261126093000P853ac13262200001","org_req_date":"20261125","org_req_seq_id":"A20261125001","trans_type":"TRANS_REFUND","trans_stat":"S","ord_amt":"10.00","actual_ref_amt":"10.00","total_ref_amt":"10.00","ref_cut":"0.00","pay_channel":"D","dc_response":{}}"#;

#[test]
fn verified_notifications_are_applied_and_acknowledged_by_number() {
    let outcome = Ecny
        .handle_callback(&host(), &ctx(), signed_notice(&paid_notice("88.88")))
        .unwrap();
    assert!(outcome.verified);
    assert_eq!(outcome.response.status, 200);
    assert_eq!(outcome.response.body, b"RECV_ORD_ID_Q20261125001");
    assert_eq!(
        outcome.event,
        Some(CallbackEvent::Payment(PaymentUpdate {
            merchant_order_no: "Q20261125001".into(),
            channel_order_no: Some(HF_SEQ_ID.into()),
            status: PaymentStatus::Succeeded,
            amount: 8888,
            currency: "CNY".into(),
        }))
    );
    let failed = paid_notice("88.88").replace(r#""trans_stat":"S""#, r#""trans_stat":"F""#);
    let outcome = Ecny
        .handle_callback(&host(), &ctx(), signed_notice(&failed))
        .unwrap();
    assert!(matches!(
        outcome.event,
        Some(CallbackEvent::Payment(PaymentUpdate {
            status: PaymentStatus::Failed,
            ..
        }))
    ));

    let outcome = Ecny
        .handle_callback(&host(), &ctx(), signed_notice(REFUND_NOTICE))
        .unwrap();
    assert_eq!(outcome.response.body, b"RECV_ORD_ID_R20261126001");
    assert_eq!(
        outcome.event,
        Some(CallbackEvent::Refund(RefundUpdate {
            merchant_refund_no: "R20261126001".into(),
            channel_refund_no: Some(HF_REFUND_SEQ_ID.into()),
            status: RefundStatus::Succeeded,
            amount: 1000,
        }))
    );

    // Another wallet's trade, or a state that is not final: acknowledged.
    for resp_data in [
        paid_notice("88.88").replace("D_NATIVE", "T_MICROPAY"),
        paid_notice("88.88").replace(r#""trans_stat":"S""#, r#""trans_stat":"P""#),
    ] {
        let outcome = Ecny
            .handle_callback(&host(), &ctx(), signed_notice(&resp_data))
            .unwrap();
        assert_eq!(
            (outcome.verified, outcome.event, outcome.response.status),
            (true, Some(CallbackEvent::Ignored), 200)
        );
        assert_eq!(outcome.response.body, b"RECV_ORD_ID_Q20261125001");
    }

    // Verified but unreadable: an error, so Huifu sends it again.
    for resp_data in [
        paid_notice("88.88").replace(r#""trans_amt":"88.88""#, r#""trans_amt":88.88"#),
        paid_notice("88.881"),
        paid_notice("88.88").replace(r#""req_seq_id":"Q20261125001","#, ""),
    ] {
        let err = Ecny
            .handle_callback(&host(), &ctx(), signed_notice(&resp_data))
            .unwrap_err();
        assert_eq!(code(&err), "malformed_callback", "{resp_data}");
    }
}

#[test]
fn forged_or_misstated_notifications_change_nothing() {
    let genuine = paid_notice("88.88");
    let genuine_sign = huifu_sign(&genuine);
    let other_merchant = genuine.replace(HUIFU_ID, "6666000100000002");
    let cases: Vec<(&str, &str, HttpRequest)> = vec![
        (
            "a larger amount under the genuine sign",
            "does not match",
            notice(&paid_notice("8888.01"), &genuine_sign),
        ),
        (
            "re-serialized resp_data",
            "does not match",
            notice(
                &serde_json::to_string_pretty(
                    &serde_json::from_str::<serde_json::Value>(&genuine).unwrap(),
                )
                .unwrap(),
                &genuine_sign,
            ),
        ),
        (
            "signed by another key",
            "does not match",
            notice(
                &genuine,
                &base64_of(&paycore_plugin_sdk::testing::rsa_sign(
                    MERCHANT_PRIVATE,
                    genuine.as_bytes(),
                )),
            ),
        ),
        ("no sign", "no sign", notice(&genuine, "")),
        (
            "another merchant's",
            "is not this channel's",
            signed_notice(&other_merchant),
        ),
        (
            "a form field twice",
            "appears twice",
            HttpRequest {
                body: [signed_notice(&genuine).body, b"&resp_data=%7B%7D".to_vec()].concat(),
                ..signed_notice(&genuine)
            },
        ),
    ];
    for (case, reason, request) in cases {
        let host = host();
        let outcome = Ecny.handle_callback(&host, &ctx(), request).unwrap();
        assert!(!outcome.verified, "{case}");
        assert_eq!(outcome.event, None, "{case}");
        assert_eq!(
            outcome.unverified_claim.as_deref(),
            Some("Q20261125001"),
            "{case}: the host may query it, nothing more"
        );
        assert_ne!(outcome.response.status, 200, "{case}");
        assert!(
            !String::from_utf8_lossy(&outcome.response.body).starts_with("RECV_ORD_ID_"),
            "{case}: never acknowledged"
        );
        assert!(
            host.logs().iter().any(|(_, line)| line.contains(reason)),
            "{case}: {:?}",
            host.logs()
        );
    }
    // A forged refund notice names a refund, not a payment: no claim.
    let forged_refund = notice(REFUND_NOTICE, &genuine_sign);
    let outcome = Ecny
        .handle_callback(&host(), &ctx(), forged_refund)
        .unwrap();
    assert_eq!((outcome.verified, outcome.unverified_claim), (false, None));
    // Nothing readable at all.
    let outcome = Ecny
        .handle_callback(
            &host(),
            &ctx(),
            HttpRequest::new("POST", "/v1/callbacks/t1/test", "garbage"),
        )
        .unwrap();
    assert_eq!((outcome.verified, outcome.unverified_claim), (false, None));
}

#[test]
fn secrets_never_appear_in_failures_or_logs() {
    // The merchant's key registered where a public key belongs: signing
    // fails, and says so by the secret's name only.
    let host = paycore_plugin_sdk::testing::FakeHost::new()
        .with_rsa_public_key("merchant_private_key", MERCHANT_PUBLIC)
        .with_rsa_public_key("huifu_public_key", HUIFU_PUBLIC);
    host.set_payment_created_millis(Some(PAYMENT_CREATED));
    let err = Ecny.pay(&host, &ctx(), barcode(ORDER, 100)).unwrap_err();
    assert!(
        matches!(&err, ChannelError::InvalidRequest(f) if f.code == "signing_failed" && f.message.contains("merchant_private_key")),
        "{err:?}"
    );
    assert!(host.requests().is_empty());
    let key_lines: Vec<&str> = MERCHANT_PRIVATE
        .lines()
        .chain(HUIFU_PRIVATE.lines())
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let said = format!("{err:?} {:?}", host.logs());
    assert!(key_lines.iter().all(|l| !said.contains(l)));
    // Nor does a rejected answer's log line carry anything but reasons.
    let host = huifu_raw(|_| http(200, "{\"data\":{},\"sign\":\"AAAA\"}"));
    let _ = Ecny.pay(&host, &ctx(), barcode(ORDER, 100));
    let logs = format!("{:?}", host.logs());
    assert!(key_lines.iter().all(|l| !logs.contains(l)));
    assert!(rsa_verify(
        MERCHANT_PUBLIC,
        b"x",
        &paycore_plugin_sdk::testing::rsa_sign(MERCHANT_PRIVATE, b"x")
    ));
}
