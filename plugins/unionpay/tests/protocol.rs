//! The UnionPay plugin against a scripted acp gateway on the fake host:
//! the double-hash signature both ways (known answer), certificates that
//! must not be believed, each operation's fields, response codes, and
//! notifications.

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use paycore_plugin_sdk::testing::{pay_request, rsa_sign, rsa_verify};
use paycore_plugin_sdk::types::*;
use paycore_plugin_sdk::{CONTRACT_VERSION, Channel, Describe};
use paycore_plugin_unionpay::UnionPay;
use support::*;

const PAYER_CODE: &str = "6225000000000000012";

fn barcode(order: &str, amount: i64) -> PayRequest {
    PayRequest {
        auth_code: Some(PAYER_CODE.to_owned()),
        wallet: "unionpay".to_owned(),
        ..pay_request(order, amount, "CNY", Scene::Barcode)
    }
}

fn payment_ref(scene: Scene, query_id: Option<&str>) -> PaymentRef {
    PaymentRef {
        payment_id: "pay_1".into(),
        merchant_order_no: "A20261125001".into(),
        channel_order_no: query_id.map(Into::into),
        amount: 8888,
        currency: "CNY".into(),
        scene,
    }
}

const OK: &[(&str, &str)] = &[("respCode", "00"), ("respMsg", "成功[0000000]")];

/// The answer to a query: done, and what became of the transaction.
fn queried(request: &Fields, orig: &str, extra: &[(&str, &str)]) -> Fields {
    let mut fields = echo(request, OK);
    fields.extend(owned(&[
        ("origRespCode", orig),
        ("origRespMsg", "成功[0000000]"),
    ]));
    fields.extend(owned(extra));
    fields
}

const PAID: &[(&str, &str)] = &[
    ("queryId", "782611251559580000001"),
    ("txnAmt", "8888"),
    ("settleAmt", "8888"),
    ("settleCurrencyCode", "156"),
    ("settleDate", "1125"),
    ("traceNo", "000001"),
    ("traceTime", "1125155958"),
    ("currencyCode", "156"),
];

#[test]
fn manifest_declares_the_gateway_settings_and_secrets() {
    let m = UnionPay.manifest();
    assert_eq!((m.name.as_str(), m.version.as_str()), ("unionpay", "1.1.0"));
    assert_eq!(m.contract_version, CONTRACT_VERSION);
    assert_eq!(m.scenes, [Scene::Barcode, Scene::Qrcode]);
    assert_eq!(m.wallets, ["unionpay"]);
    assert_eq!(m.currencies, ["CNY"]);
    assert_eq!(m.settings, ["mer_id", "gateway_url", "term_id"]);
    let described = UnionPay.settings();
    assert_eq!(described[0].presence, Presence::Required);
    assert_eq!(
        described[0].kind,
        SettingKind::Text(TextBounds {
            max_length: None,
            pattern: Some("[0-9A-Za-z]{15}".into())
        })
    );
    assert_eq!(described[1].kind, SettingKind::Url);
    assert_eq!(
        described[1].presence,
        Presence::Defaulted("https://gateway.95516.com".into())
    );
    assert_eq!(described[2].presence, Presence::Optional);
    assert_eq!(
        m.secrets,
        [
            "merchant_sign_key",
            "unionpay_root_cert",
            "unionpay_middle_cert"
        ]
    );
    assert_eq!(m.hosts, ["gateway.95516.com", "127.0.0.1"]);
}

/// Known answer: the sign string of this consume at the fake host's
/// clock, and its signature as `openssl` makes it by the double hash:
/// `printf %s "$(printf %s "$S" | sha256sum | cut -c1-64)" | openssl dgst
/// -sha256 -sign unionpay-demo-merchant.pem | base64 -w0`.
#[test]
fn barcode_consume_is_signed_by_the_double_hash_known_answer() {
    let host = gateway(|_, req| {
        echo(
            req,
            &[
                ("respCode", "00"),
                ("respMsg", "成功[0000000]"),
                ("queryId", "782611251559580000001"),
            ],
        )
    });
    let result = UnionPay
        .pay(&host, &ctx(), barcode("A20261125001", 8888))
        .unwrap();
    assert_eq!(result.status, PaymentStatus::Processing);
    assert_eq!(
        result.channel_order_no.as_deref(),
        Some("782611251559580000001")
    );

    let request = &host.requests()[0];
    assert_eq!(
        (request.method.as_str(), request.url.as_str()),
        ("POST", BACK_URL)
    );
    assert_eq!(
        request.header("content-type"),
        Some("application/x-www-form-urlencoded;charset=UTF-8")
    );
    let fields = sent(&host, 0);
    let content = sign_string(&fields, false);
    assert_eq!(
        content,
        "accessType=0&backUrl=http://127.0.0.1:8080/v1/callbacks/t1/test&bizType=000000&certId=69629715588&channelType=08&currencyCode=156&encoding=UTF-8&merId=777290058110097&orderId=A20261125001&qrNo=6225000000000000012&signMethod=01&txnAmt=8888&txnSubType=06&txnTime=20261125155958&txnType=01&version=5.1.0"
    );
    assert_eq!(
        digest(&content),
        "3056a0d0ddcbeb653bb6c6eb87614d3942eac599f6eb31fd4f45d0b035803007"
    );
    assert_eq!(get(&fields, "signature").unwrap(), KNOWN_SIGNATURE);
    let sig = STANDARD.decode(KNOWN_SIGNATURE).unwrap();
    assert!(rsa_verify(
        MERCHANT_PUBLIC,
        digest(&content).as_bytes(),
        &sig
    ));
    assert!(
        !rsa_verify(MERCHANT_PUBLIC, content.as_bytes(), &sig),
        "the single hash (the common porting mistake) must not be what is signed"
    );
    // The plugin's own helpers say the same.
    assert_eq!(
        paycore_plugin_unionpay::sign_string(&fields, false),
        content
    );
    assert_eq!(
        paycore_plugin_unionpay::digest_hex(&content),
        digest(&content)
    );
}

const KNOWN_SIGNATURE: &str = "ON6EaHOIGmckpIyLhoePrWSGT3ti3IPLvVRn3HYqnPC+mY45ArXAhhu05IVYpVTHt/l+pat0teN1bzaevYabES8/GRKUM13FXe6wr3pyHaeuQAmf0gpOyh2B3jLvYUq3xQ3dqvCaV0RWxtpLBy3LbNYtnNiNSvFOVUznzCF9qmhTdPqjGe6tZRIJv6Cjmu5Xv5rSsjyEmtxiqruDlmiqYml/HrqIhonlSDcau0wBw5gdFnMzOjV1DZvGFbq3qDQxq5DYw33+kVhU4/rMfO5ASFMjE5U8YSjWrUDhdlFO7AthQ/HuJNyvwYgBi1Sbkti4tlG2pKZmxzL52dLnbnp0bQ==";

#[test]
fn the_terminal_number_goes_with_barcode_payments_when_configured() {
    let host = gateway(|_, req| echo(req, OK));
    let with_term = paycore_plugin_sdk::testing::call_context(&[
        ("mer_id", MER_ID),
        ("gateway_url", "http://127.0.0.1:9/"),
        ("term_id", "T0000001"),
    ]);
    UnionPay
        .pay(&host, &with_term, barcode("A20261125001", 8888))
        .unwrap();
    let fields = sent(&host, 0);
    assert_eq!(get(&fields, "termId").as_deref(), Some("T0000001"));
    assert_eq!(
        host.requests()[0].url,
        BACK_URL,
        "a trailing / is not doubled"
    );
    assert!(
        fields.iter().all(|(_, v)| !v.is_empty()),
        "blank fields are never sent: the gateway verifies over them"
    );
}

#[test]
fn qrcode_consume_returns_unionpays_code_and_sends_pay_timeout() {
    let host = gateway(|_, req| {
        let mut fields = echo(req, OK);
        fields.extend(owned(&[(
            "qrCode",
            "https://qr.95516.com/00010000/01234567890123456789",
        )]));
        fields
    });
    let request = PayRequest {
        expires_in: Some(900),
        ..pay_request("Q20261125001", 8888, "CNY", Scene::Qrcode)
    };
    let result = UnionPay.pay(&host, &ctx(), request).unwrap();
    assert_eq!(result.status, PaymentStatus::Pending);
    assert_eq!(
        result.action,
        Some(Action::QrCode(
            "https://qr.95516.com/00010000/01234567890123456789".into()
        ))
    );
    let fields = sent(&host, 0);
    assert_eq!(get(&fields, "txnType").as_deref(), Some("01"));
    assert_eq!(get(&fields, "txnSubType").as_deref(), Some("07"));
    assert_eq!(get(&fields, "txnTime").as_deref(), Some(PAYMENT_TXN_TIME));
    // 15 minutes after the payment was created, Beijing time.
    assert_eq!(
        get(&fields, "payTimeout").as_deref(),
        Some("20261125161458")
    );
    assert_eq!(get(&fields, "qrNo"), None);

    let without_code = gateway(|_, req| echo(req, OK));
    let err = UnionPay
        .pay(
            &without_code,
            &ctx(),
            pay_request("Q20261125001", 8888, "CNY", Scene::Qrcode),
        )
        .unwrap_err();
    assert!(matches!(&err, ChannelError::OutcomeUnknown(f) if f.code == "malformed_answer"));
    assert_eq!(get(&sent(&without_code, 0), "payTimeout"), None);
}

/// What the pay of a barcode becomes when UnionPay answers with what
/// `answer` writes, and what the plugin logged.
fn pay_with(
    answer: impl Fn(&Fields) -> String + 'static,
) -> (Result<PaymentResult, ChannelError>, Vec<String>) {
    let host = host().with_responder(move |req| {
        let fields = paycore_plugin_sdk::params::parse_form(&req.body);
        Ok(http(answer(&fields)))
    });
    let result = UnionPay.pay(&host, &ctx(), barcode("A20261125001", 8888));
    (
        result,
        host.logs().into_iter().map(|(_, line)| line).collect(),
    )
}

fn accepted(req: &Fields) -> Fields {
    echo(
        req,
        &[
            ("respCode", "00"),
            ("respMsg", "成功[0000000]"),
            ("txnAmt", "8888"),
        ],
    )
}

#[test]
fn a_well_signed_answer_is_believed() {
    let (result, logs) = pay_with(|req| answer_body(&signed(accepted(req), Fault::None)));
    assert_eq!(result.unwrap().status, PaymentStatus::Processing);
    assert!(logs.is_empty(), "{logs:?}");
}

/// Each case is refused, and for its own reason (the logged words).
#[test]
fn answers_that_cannot_be_believed_leave_the_payment_unknown() {
    type Answer = Box<dyn Fn(&Fields) -> String>;
    let with_fault = |fault: Fault| -> Answer {
        Box::new(move |req: &Fields| answer_body(&signed(accepted(req), fault)))
    };
    let cases: Vec<(&str, &str, Answer)> = vec![
        (
            "tampered txnAmt",
            "signature does not match",
            Box::new(|req: &Fields| {
                answer_body(&signed(accepted(req), Fault::None)).replace("txnAmt=8888", "txnAmt=1")
            }),
        ),
        (
            "tampered respCode",
            "signature does not match",
            Box::new(|req: &Fields| {
                let fields = signed(
                    echo(req, &[("respCode", "61"), ("respMsg", "输入的卡号无效")]),
                    Fault::None,
                );
                answer_body(&fields).replace("respCode=61", "respCode=00")
            }),
        ),
        (
            "signed by another key",
            "signature does not match",
            Box::new(|req: &Fields| {
                let mut fields = signed(accepted(req), Fault::None);
                let content = sign_string(&fields, true);
                let sig = rsa_sign(MIDDLE_KEY, digest(&content).as_bytes());
                fields.last_mut().unwrap().1 = STANDARD.encode(sig);
                answer_body(&fields)
            }),
        ),
        (
            "signed over the single hash",
            "signature does not match",
            Box::new(|req: &Fields| {
                let mut fields = signed(accepted(req), Fault::None);
                let content = sign_string(&fields, true);
                fields.last_mut().unwrap().1 =
                    STANDARD.encode(rsa_sign(SIGN_KEY, content.as_bytes()));
                answer_body(&fields)
            }),
        ),
        (
            "expired certificate",
            "not valid now",
            with_fault(Fault::Expired),
        ),
        (
            "certificate from another CA",
            "not trusted",
            with_fault(Fault::OtherCa),
        ),
        (
            "certificate without digitalSignature",
            "may not sign",
            with_fault(Fault::NoSigning),
        ),
        (
            "certificate of another company",
            "is not UnionPay's",
            with_fault(Fault::WrongOwner),
        ),
        (
            "the merchant's own certificate",
            "is not UnionPay's",
            with_fault(Fault::MerchantCert),
        ),
        (
            "no signPubKeyCert",
            "no signPubKeyCert",
            Box::new(|req: &Fields| {
                let fields: Fields = signed(accepted(req), Fault::None)
                    .into_iter()
                    .filter(|(k, _)| k != "signPubKeyCert")
                    .collect();
                answer_body(&fields)
            }),
        ),
        (
            "unsigned",
            "no signature",
            Box::new(|req: &Fields| answer_body(&accepted(req))),
        ),
        (
            "an answer about another order",
            "orderId `B20261125999`",
            Box::new(|req: &Fields| {
                let mut fields = accepted(req);
                for (k, v) in &mut fields {
                    if k == "orderId" {
                        *v = "B20261125999".into();
                    }
                }
                answer_body(&signed(fields, Fault::None))
            }),
        ),
        (
            "not an answer",
            "not a field name",
            Box::new(|_: &Fields| "<html>502 Bad Gateway</html>".to_owned()),
        ),
    ];
    for (case, reason, answer) in cases {
        let (result, logs) = pay_with(answer);
        let err = result.unwrap_err();
        assert!(
            matches!(&err, ChannelError::OutcomeUnknown(f) if f.code == "unverified_answer" && f.message.contains(reason)),
            "{case}: {err:?}"
        );
        assert!(
            logs.iter().any(|line| line.contains(reason)),
            "{case}: {logs:?}"
        );
    }
}

#[test]
fn http_errors_and_failed_transports_leave_the_payment_unknown_unless_nothing_was_sent() {
    let bad_gateway = host().with_responder(|_| {
        Ok(HttpResponse {
            status: 503,
            ..http("respCode=00")
        })
    });
    let err = UnionPay
        .pay(&bad_gateway, &ctx(), barcode("A20261125001", 8888))
        .unwrap_err();
    assert!(matches!(&err, ChannelError::OutcomeUnknown(f) if f.code == "unverified_answer"));
    for (failure, unknown) in [
        (HttpError::Timeout, true),
        (HttpError::Broken("reset".into()), true),
        (HttpError::Connect("refused".into()), false),
    ] {
        let host = host().with_responder(move |_| Err(failure.clone()));
        let err = UnionPay
            .pay(&host, &ctx(), barcode("A20261125001", 8888))
            .unwrap_err();
        assert_eq!(
            matches!(err, ChannelError::OutcomeUnknown(_)),
            unknown,
            "{err:?}"
        );
    }
}

#[test]
fn consume_response_codes_map_to_money_safe_outcomes() {
    fn answer(code: &'static str, msg: &'static str) -> Result<PaymentResult, ChannelError> {
        let host = gateway(move |_, req| echo(req, &[("respCode", code), ("respMsg", msg)]));
        UnionPay.pay(&host, &ctx(), barcode("A20261125001", 8888))
    }
    for code in ["03", "04", "05", "12"] {
        let err = answer(code, "交易已受理，请稍后查询交易结果").unwrap_err();
        assert!(
            matches!(err, ChannelError::OutcomeUnknown(_)),
            "{code}: {err:?}"
        );
    }
    for (code, msg, ours) in [
        ("61", "输入的卡号无效，请确认后输入", "invalid_auth_code"),
        ("64", "卡上的余额不足", "insufficient_funds"),
        ("01", "交易失败。详情请咨询95516", "declined"),
        ("33", "交易金额超限", "amount_limit"),
    ] {
        let err = answer(code, msg).unwrap_err();
        let ChannelError::Declined(f) = &err else {
            panic!("{code}: {err:?}")
        };
        assert_eq!(f.code, ours);
        assert_eq!(f.channel_code.as_deref(), Some(code));
        assert_eq!(f.channel_message.as_deref(), Some(msg));
    }
    for code in ["10", "11", "13", "31"] {
        let err = answer(code, "验证签名失败").unwrap_err();
        assert!(
            matches!(&err, ChannelError::InvalidRequest(f) if f.code == "channel_rejected" && f.channel_code.as_deref() == Some(code)),
            "{code}: {err:?}"
        );
    }
    // An accepted consume that states another amount is not believed.
    let host = gateway(|_, req| echo(req, &[("respCode", "00"), ("txnAmt", "1")]));
    let err = UnionPay
        .pay(&host, &ctx(), barcode("A20261125001", 8888))
        .unwrap_err();
    assert!(matches!(&err, ChannelError::OutcomeUnknown(f) if f.code == "amount_mismatch"));
}

#[test]
fn bad_order_numbers_currencies_scenes_and_missing_times_send_nothing() {
    let host = gateway(|_, req| echo(req, OK));
    for order in [
        "A2026-1125",
        "A2026_1125",
        "A202611",
        &"9".repeat(41),
        "订单20261125",
    ] {
        let err = UnionPay
            .pay(&host, &ctx(), barcode(order, 100))
            .unwrap_err();
        assert!(
            matches!(&err, ChannelError::InvalidRequest(f) if f.code == "invalid_order_no"
                && f.message.contains("merchant_order_no")
                && f.message.contains("8 to 40 ASCII letters or digits")),
            "{order}: {err:?}"
        );
    }
    let usd = PayRequest {
        currency: "USD".into(),
        ..barcode("A20261125001", 100)
    };
    assert_eq!(
        code(&UnionPay.pay(&host, &ctx(), usd).unwrap_err()),
        "unsupported_currency"
    );
    let h5 = pay_request("A20261125001", 100, "CNY", Scene::H5);
    assert_eq!(
        code(&UnionPay.pay(&host, &ctx(), h5).unwrap_err()),
        "unsupported_scene"
    );
    let no_code = pay_request("A20261125001", 100, "CNY", Scene::Barcode);
    assert_eq!(
        code(&UnionPay.pay(&host, &ctx(), no_code).unwrap_err()),
        "missing_field"
    );
    let no_mer = paycore_plugin_sdk::testing::call_context(&[("gateway_url", GATEWAY)]);
    assert_eq!(
        code(
            &UnionPay
                .pay(&host, &no_mer, barcode("A20261125001", 100))
                .unwrap_err()
        ),
        "missing_setting"
    );
    host.set_payment_created_millis(None);
    let err = UnionPay
        .pay(&host, &ctx(), barcode("A20261125001", 100))
        .unwrap_err();
    assert!(
        matches!(&err, ChannelError::InvalidRequest(f) if f.code == "missing_created_time"),
        "{err:?}"
    );
    assert!(host.requests().is_empty());

    let refund_host = gateway(|_, req| echo(req, OK));
    let err = UnionPay
        .refund(&refund_host, &ctx(), refund_request("R-1", 100))
        .unwrap_err();
    assert!(
        matches!(&err, ChannelError::InvalidRequest(f) if f.code == "invalid_order_no" && f.message.contains("merchant_refund_no")),
        "{err:?}"
    );
    refund_host.set_refund_created_millis(None);
    assert_eq!(
        code(
            &UnionPay
                .refund(&refund_host, &ctx(), refund_request("R20261126001", 100))
                .unwrap_err()
        ),
        "missing_created_time"
    );
    assert!(refund_host.requests().is_empty());
}

#[test]
fn the_merchant_key_must_hold_its_certificate() {
    let host = paycore_plugin_sdk::testing::FakeHost::new()
        .with_rsa_private_key("merchant_sign_key", SIGN_KEY)
        .with_certificates("unionpay_root_cert", ROOT_PEM);
    host.set_payment_created_millis(Some(PAYMENT_CREATED));
    let err = UnionPay
        .pay(&host, &ctx(), barcode("A20261125001", 100))
        .unwrap_err();
    assert!(
        matches!(&err, ChannelError::InvalidRequest(f) if f.code == "merchant_certificate"),
        "{err:?}"
    );
    assert!(
        !err.failure().message.contains("PRIVATE KEY"),
        "no key material in failures"
    );
    assert!(host.requests().is_empty());
}

#[test]
fn query_finds_the_consume_by_order_id_and_the_payments_creation_time() {
    let host = gateway(|url, req| {
        assert_eq!(url, QUERY_URL);
        queried(req, "00", PAID)
    });
    let result = UnionPay
        .query(&host, &ctx(), payment_ref(Scene::Barcode, None))
        .unwrap();
    assert_eq!(
        result,
        PaymentResult::succeeded(Some("782611251559580000001".into()), 8888, "CNY")
    );
    let fields = sent(&host, 0);
    for (name, value) in [
        ("txnType", "00"),
        ("txnSubType", "00"),
        ("orderId", "A20261125001"),
        ("txnTime", PAYMENT_TXN_TIME),
        ("merId", MER_ID),
        ("certId", CERT_ID),
        ("version", "5.1.0"),
        ("signMethod", "01"),
    ] {
        assert_eq!(get(&fields, name).as_deref(), Some(value), "{name}");
    }
}

#[test]
fn queried_outcomes_map_by_orig_resp_code_and_scene() {
    fn query(
        scene: Scene,
        answer: impl Fn(&Fields) -> Fields + 'static,
    ) -> Result<PaymentResult, ChannelError> {
        let host = gateway(move |_, req| answer(req));
        UnionPay.query(&host, &ctx(), payment_ref(scene, None))
    }
    use PaymentStatus::*;
    for (scene, orig, expected) in [
        (Scene::Barcode, "05", Processing),
        (Scene::Barcode, "03", Processing),
        (Scene::Qrcode, "05", Pending),
        (Scene::Barcode, "45", Closed),
        (Scene::Qrcode, "45", Closed),
        (Scene::Barcode, "64", Failed),
        (Scene::Qrcode, "01", Failed),
    ] {
        let result = query(scene, move |req| queried(req, orig, &[])).unwrap();
        assert_eq!(result.status, expected, "{scene:?} {orig}");
    }
    let failed = query(Scene::Barcode, |req| {
        let mut f = echo(req, OK);
        f.extend(owned(&[
            ("origRespCode", "64"),
            ("origRespMsg", "卡上的余额不足"),
        ]));
        f
    })
    .unwrap();
    let failure = failed.failure.unwrap();
    assert_eq!(failure.code, "insufficient_funds");
    assert_eq!(failure.channel_code.as_deref(), Some("64"));
    assert_eq!(failure.channel_message.as_deref(), Some("卡上的余额不足"));

    // 34: a QR code nobody paid with yet; a payer's code UnionPay never
    // charged (paycore makes that final once a reversal was sent).
    let none = |req: &Fields| echo(req, &[("respCode", "34"), ("respMsg", "查无此交易")]);
    assert_eq!(query(Scene::Qrcode, none).unwrap().status, Pending);
    let err = query(Scene::Barcode, none).unwrap_err();
    assert!(
        matches!(&err, ChannelError::Declined(f) if f.code == "order_not_found" && f.channel_code.as_deref() == Some("34")),
        "{err:?}"
    );
    // The query itself failing says nothing about the payment.
    let err = query(Scene::Barcode, |req| {
        echo(
            req,
            &[
                ("respCode", "37"),
                ("respMsg", "已超过最大查询次数或操作过于频繁"),
            ],
        )
    })
    .unwrap_err();
    assert!(matches!(&err, ChannelError::OutcomeUnknown(f) if f.code == "query_failed"));
    // Paid, but another amount than the payment's: not believed.
    let err = query(Scene::Barcode, |req| {
        queried(req, "00", &[("queryId", "Q1"), ("txnAmt", "8887")])
    })
    .unwrap_err();
    assert!(matches!(&err, ChannelError::OutcomeUnknown(f) if f.code == "amount_mismatch"));
    // Paid without saying how much: not usable.
    let err = query(Scene::Barcode, |req| {
        queried(req, "00", &[("queryId", "Q1")])
    })
    .unwrap_err();
    assert!(matches!(&err, ChannelError::OutcomeUnknown(f) if f.code == "malformed_answer"));
    let err = query(Scene::Barcode, |req| echo(req, OK)).unwrap_err();
    assert!(matches!(&err, ChannelError::OutcomeUnknown(f) if f.code == "malformed_answer"));
}

fn refund_request(no: &str, amount: i64) -> RefundRequest {
    RefundRequest {
        refund_id: "re_1".into(),
        merchant_refund_no: no.into(),
        payment: payment_ref(Scene::Barcode, Some("782611251559580000001")),
        amount,
        reason: Some("cold".into()),
    }
}

#[test]
fn refunds_name_the_payments_query_id_and_their_own_order_and_time() {
    let host = gateway(|url, req| {
        assert_eq!(url, BACK_URL);
        let mut f = echo(req, OK);
        f.extend(owned(&[
            ("queryId", "782611260930000000002"),
            ("txnAmt", "1000"),
        ]));
        f
    });
    let result = UnionPay
        .refund(&host, &ctx(), refund_request("R20261126001", 1000))
        .unwrap();
    assert_eq!(
        result,
        RefundResult {
            status: RefundStatus::Processing,
            channel_refund_no: Some("782611260930000000002".into()),
            amount: None,
            failure: None,
        }
    );
    let fields = sent(&host, 0);
    for (name, value) in [
        ("txnType", "04"),
        ("txnSubType", "00"),
        ("orderId", "R20261126001"),
        ("txnTime", REFUND_TXN_TIME),
        ("txnAmt", "1000"),
        ("currencyCode", "156"),
        ("origQryId", "782611251559580000001"),
        ("backUrl", "http://127.0.0.1:8080/v1/callbacks/t1/test"),
    ] {
        assert_eq!(get(&fields, name).as_deref(), Some(value), "{name}");
    }

    let over = gateway(|_, req| echo(req, &[("respCode", "33"), ("respMsg", "交易金额超限")]));
    let err = UnionPay
        .refund(&over, &ctx(), refund_request("R20261126002", 8889))
        .unwrap_err();
    assert!(
        matches!(&err, ChannelError::Declined(f) if f.code == "refund_exceeds" && f.channel_code.as_deref() == Some("33")),
        "{err:?}"
    );
}

#[test]
fn a_refund_without_the_query_id_asks_for_it_first() {
    let host = gateway(|url, req| {
        if url == QUERY_URL {
            assert_eq!(get(req, "orderId").as_deref(), Some("A20261125001"));
            assert_eq!(get(req, "txnTime").as_deref(), Some(PAYMENT_TXN_TIME));
            queried(req, "00", PAID)
        } else {
            assert_eq!(
                get(req, "origQryId").as_deref(),
                Some("782611251559580000001")
            );
            echo(req, OK)
        }
    });
    let request = RefundRequest {
        payment: payment_ref(Scene::Barcode, None),
        ..refund_request("R20261126001", 1000)
    };
    let result = UnionPay.refund(&host, &ctx(), request.clone()).unwrap();
    assert_eq!(result.status, RefundStatus::Processing);
    assert_eq!(host.requests().len(), 2);

    let unpaid = gateway(|_, req| echo(req, &[("respCode", "34"), ("respMsg", "查无此交易")]));
    let err = UnionPay
        .refund(&unpaid, &ctx(), request.clone())
        .unwrap_err();
    assert!(
        matches!(&err, ChannelError::InvalidRequest(f) if f.code == "missing_query_id"),
        "{err:?}"
    );
    assert_eq!(unpaid.requests().len(), 1, "no refund was sent");

    let silent = host_timing_out();
    let err = UnionPay.refund(&silent, &ctx(), request).unwrap_err();
    assert!(
        matches!(&err, ChannelError::Unavailable(f) if f.code == "refund_not_sent"),
        "only the query went out: {err:?}"
    );
}

fn host_timing_out() -> paycore_plugin_sdk::testing::FakeHost {
    host().with_responder(|_| Err(HttpError::Timeout))
}

fn refund_ref(no: &str) -> RefundRef {
    RefundRef {
        refund_id: "re_1".into(),
        merchant_refund_no: no.into(),
        channel_refund_no: None,
        amount: 1000,
        payment: payment_ref(Scene::Barcode, Some("782611251559580000001")),
    }
}

#[test]
fn refund_query_goes_by_the_refunds_order_id_and_time() {
    let host = gateway(|url, req| {
        assert_eq!(url, QUERY_URL);
        match get(req, "orderId").as_deref() {
            Some("R20261126001") => queried(req, "00", &[("queryId", "RQ1"), ("txnAmt", "1000")]),
            Some("R20261126002") => queried(req, "05", &[]),
            Some("R20261126003") => {
                let mut f = echo(req, OK);
                f.extend(owned(&[
                    ("origRespCode", "35"),
                    ("origRespMsg", "原交易不存在或状态不正确"),
                ]));
                f
            }
            _ => echo(req, &[("respCode", "34"), ("respMsg", "查无此交易")]),
        }
    });
    let done = UnionPay
        .query_refund(&host, &ctx(), refund_ref("R20261126001"))
        .unwrap();
    assert_eq!(
        (done.status, done.amount, done.channel_refund_no.as_deref()),
        (RefundStatus::Succeeded, Some(1000), Some("RQ1"))
    );
    let fields = sent(&host, 0);
    assert_eq!(get(&fields, "txnType").as_deref(), Some("00"));
    assert_eq!(get(&fields, "orderId").as_deref(), Some("R20261126001"));
    assert_eq!(get(&fields, "txnTime").as_deref(), Some(REFUND_TXN_TIME));
    let status = |no: &str| {
        UnionPay
            .query_refund(&host, &ctx(), refund_ref(no))
            .unwrap()
    };
    assert_eq!(status("R20261126002").status, RefundStatus::Processing);
    let failed = status("R20261126003");
    assert_eq!(failed.status, RefundStatus::Failed);
    assert_eq!(failed.failure.unwrap().channel_code.as_deref(), Some("35"));
    // Not at UnionPay (yet): never "failed", which would let it be made twice.
    assert_eq!(status("R20261126009").status, RefundStatus::Processing);
}

#[test]
fn cancel_reverses_the_consume_by_its_order_id_and_time() {
    let host = gateway(|url, req| {
        assert_eq!(url, BACK_URL);
        echo(req, OK)
    });
    let result = UnionPay
        .cancel(&host, &ctx(), payment_ref(Scene::Barcode, None))
        .unwrap();
    assert_eq!(result.status, PaymentStatus::Cancelled);
    let fields = sent(&host, 0);
    for (name, value) in [
        ("txnType", "99"),
        ("txnSubType", "01"),
        ("orderId", "A20261125001"),
        ("txnTime", PAYMENT_TXN_TIME),
        ("txnAmt", "8888"),
    ] {
        assert_eq!(get(&fields, name).as_deref(), Some(value), "{name}");
    }
    assert_eq!(host.requests().len(), 1);
}

#[test]
fn a_refused_reversal_is_explained_by_the_consumes_state() {
    fn cancel(orig: Option<&'static str>) -> Result<PaymentResult, ChannelError> {
        let host = gateway(move |url, req| {
            if url == BACK_URL {
                return echo(
                    req,
                    &[("respCode", "35"), ("respMsg", "原交易不存在或状态不正确")],
                );
            }
            match orig {
                Some(orig) => queried(req, orig, PAID),
                None => echo(req, &[("respCode", "34"), ("respMsg", "查无此交易")]),
            }
        });
        UnionPay.cancel(&host, &ctx(), payment_ref(Scene::Barcode, None))
    }
    // Reversed before (a repeated cancel after a lost answer).
    assert_eq!(cancel(Some("45")).unwrap().status, PaymentStatus::Cancelled);
    // Never arrived: nothing to reverse, nothing moved.
    let err = cancel(None).unwrap_err();
    assert!(
        matches!(&err, ChannelError::Declined(f) if f.code == "order_not_found"),
        "{err:?}"
    );
    // Paid on another day: not reversible; refund it.
    let err = cancel(Some("00")).unwrap_err();
    assert!(
        matches!(&err, ChannelError::Declined(f) if f.code == "invalid_order_status" && f.channel_code.as_deref() == Some("35")),
        "{err:?}"
    );
    let unknown = gateway(|_, req| echo(req, &[("respCode", "05"), ("respMsg", "交易已受理")]));
    let err = UnionPay
        .cancel(&unknown, &ctx(), payment_ref(Scene::Barcode, None))
        .unwrap_err();
    assert!(matches!(err, ChannelError::OutcomeUnknown(_)), "{err:?}");
}

#[test]
fn close_queries_first_and_reverses_only_an_unpaid_order() {
    let unpaid = gateway(|url, req| {
        if url == QUERY_URL {
            echo(req, &[("respCode", "34"), ("respMsg", "查无此交易")])
        } else {
            echo(req, OK)
        }
    });
    let result = UnionPay
        .close(&unpaid, &ctx(), payment_ref(Scene::Qrcode, None))
        .unwrap();
    assert_eq!(result.status, PaymentStatus::Closed);
    assert_eq!(get(&sent(&unpaid, 0), "txnType").as_deref(), Some("00"));
    let reversal = sent(&unpaid, 1);
    assert_eq!(get(&reversal, "txnType").as_deref(), Some("99"));
    assert_eq!(get(&reversal, "orderId").as_deref(), Some("A20261125001"));
    assert_eq!(get(&reversal, "txnTime").as_deref(), Some(PAYMENT_TXN_TIME));

    let paid = gateway(|url, req| {
        assert_eq!(url, QUERY_URL, "a paid order is never reversed by close");
        queried(req, "00", PAID)
    });
    let err = UnionPay
        .close(&paid, &ctx(), payment_ref(Scene::Qrcode, None))
        .unwrap_err();
    assert!(
        matches!(&err, ChannelError::Declined(f) if f.code == "order_paid" && f.channel_code.as_deref() == Some("00")),
        "{err:?}"
    );
    assert_eq!(paid.requests().len(), 1);

    let failed = gateway(|_, req| queried(req, "01", &[]));
    let result = UnionPay
        .close(&failed, &ctx(), payment_ref(Scene::Qrcode, None))
        .unwrap();
    assert_eq!(result.status, PaymentStatus::Failed);
    assert_eq!(failed.requests().len(), 1, "nothing left to reverse");
}

/// A notification of `fields`, signed by UnionPay with a certificate
/// spoiled by `fault`.
fn signed_notice(fields: &[(&str, &str)], fault: Fault) -> HttpRequest {
    notice(signed(owned(fields), fault))
}

const PAID_NOTICE: &[(&str, &str)] = &[
    ("version", "5.1.0"),
    ("encoding", "UTF-8"),
    ("signMethod", "01"),
    ("txnType", "01"),
    ("txnSubType", "07"),
    ("bizType", "000000"),
    ("accessType", "0"),
    ("merId", MER_ID),
    ("orderId", "Q20261125001"),
    ("txnTime", "20261125155958"),
    ("txnAmt", "8888"),
    ("currencyCode", "156"),
    ("queryId", "782611251559580000001"),
    ("respCode", "00"),
    ("respMsg", "成功[0000000]"),
    ("settleAmt", "8888"),
    ("settleCurrencyCode", "156"),
    ("settleDate", "1125"),
    ("traceNo", "000001"),
    ("traceTime", "1125160003"),
];

#[test]
fn notifications_are_verified_like_answers_and_acknowledged_with_ok() {
    let outcome = UnionPay
        .handle_callback(&host(), &ctx(), signed_notice(PAID_NOTICE, Fault::None))
        .unwrap();
    assert!(outcome.verified);
    assert_eq!(outcome.response.status, 200);
    assert_eq!(outcome.response.body, b"ok");
    assert_eq!(
        outcome.event,
        Some(CallbackEvent::Payment(PaymentUpdate {
            merchant_order_no: "Q20261125001".into(),
            channel_order_no: Some("782611251559580000001".into()),
            status: PaymentStatus::Succeeded,
            amount: 8888,
            currency: "CNY".into(),
        }))
    );

    let refund_notice: Vec<(&str, &str)> = PAID_NOTICE
        .iter()
        .map(|&(k, v)| match k {
            "txnType" => (k, "04"),
            "txnSubType" => (k, "00"),
            "orderId" => (k, "R20261126001"),
            "txnAmt" => (k, "1000"),
            "queryId" => (k, "782611260930000000002"),
            _ => (k, v),
        })
        .chain([("origQryId", "782611251559580000001")])
        .collect();
    let outcome = UnionPay
        .handle_callback(&host(), &ctx(), signed_notice(&refund_notice, Fault::None))
        .unwrap();
    assert_eq!(
        outcome.event,
        Some(CallbackEvent::Refund(RefundUpdate {
            merchant_refund_no: "R20261126001".into(),
            channel_refund_no: Some("782611260930000000002".into()),
            status: RefundStatus::Succeeded,
            amount: 1000,
        }))
    );

    let reversal: Vec<(&str, &str)> = PAID_NOTICE
        .iter()
        .map(|&(k, v)| if k == "txnType" { (k, "99") } else { (k, v) })
        .collect();
    let outcome = UnionPay
        .handle_callback(&host(), &ctx(), signed_notice(&reversal, Fault::None))
        .unwrap();
    assert_eq!(
        (outcome.verified, outcome.event, outcome.response.status),
        (true, Some(CallbackEvent::Ignored), 200)
    );

    // Verified but unreadable: an error, so UnionPay sends it again.
    let no_amount: Vec<(&str, &str)> = PAID_NOTICE
        .iter()
        .copied()
        .filter(|(k, _)| *k != "txnAmt")
        .collect();
    let err = UnionPay
        .handle_callback(&host(), &ctx(), signed_notice(&no_amount, Fault::None))
        .unwrap_err();
    assert_eq!(code(&err), "malformed_callback");
}

#[test]
fn forged_or_foreign_notifications_change_nothing() {
    let good = signed_notice(PAID_NOTICE, Fault::None);
    let tampered = HttpRequest {
        body: String::from_utf8(good.body.clone())
            .unwrap()
            .replace("txnAmt=8888", "txnAmt=1")
            .into_bytes(),
        ..good.clone()
    };
    let mut other_merchant = PAID_NOTICE.to_vec();
    other_merchant[7] = ("merId", "898111111111111");
    let repeated = HttpRequest {
        body: [good.body.clone(), b"&txnAmt=1".to_vec()].concat(),
        ..good.clone()
    };
    let unsigned = notice(owned(PAID_NOTICE));
    let cases = [
        ("tampered", "signature does not match", tampered),
        (
            "expired certificate",
            "not valid now",
            signed_notice(PAID_NOTICE, Fault::Expired),
        ),
        (
            "another CA",
            "not trusted",
            signed_notice(PAID_NOTICE, Fault::OtherCa),
        ),
        (
            "may not sign",
            "may not sign",
            signed_notice(PAID_NOTICE, Fault::NoSigning),
        ),
        (
            "another company",
            "is not UnionPay's",
            signed_notice(PAID_NOTICE, Fault::WrongOwner),
        ),
        (
            "the merchant's certificate",
            "is not UnionPay's",
            signed_notice(PAID_NOTICE, Fault::MerchantCert),
        ),
        (
            "another merchant",
            "merId",
            signed_notice(&other_merchant, Fault::None),
        ),
        ("a field twice", "appears twice", repeated),
        ("unsigned", "no signature", unsigned),
    ];
    for (case, reason, request) in cases {
        let host = host();
        let outcome = UnionPay.handle_callback(&host, &ctx(), request).unwrap();
        assert!(!outcome.verified, "{case}");
        assert_eq!(outcome.event, None, "{case}");
        assert_eq!(
            outcome.unverified_claim.as_deref(),
            Some("Q20261125001"),
            "{case}: the host may query it, nothing more"
        );
        assert_ne!(
            outcome.response.status, 200,
            "{case}: UnionPay must send a refused notice again"
        );
        assert!(
            host.logs().iter().any(|(_, line)| line.contains(reason)),
            "{case}: {:?}",
            host.logs()
        );
    }
}

#[test]
fn certificates_are_checked_at_the_hosts_time() {
    // The same good certificate, read after it expired (2028).
    let late = host();
    late.set_now_millis(millis(time::macros::datetime!(2028-06-01 0:00 UTC)) as u64);
    let outcome = UnionPay
        .handle_callback(&late, &ctx(), signed_notice(PAID_NOTICE, Fault::None))
        .unwrap();
    assert!(!outcome.verified);
    assert!(
        late.logs()
            .iter()
            .any(|(level, line)| *level == LogLevel::Warn && line.contains("not valid now")),
        "{:?}",
        late.logs()
    );
}

#[test]
fn txn_time_is_beijing_time() {
    assert_eq!(
        paycore_plugin_unionpay::txn_time(PAYMENT_CREATED).as_deref(),
        Some(PAYMENT_TXN_TIME)
    );
    assert_eq!(
        paycore_plugin_unionpay::txn_time(REFUND_CREATED).as_deref(),
        Some(REFUND_TXN_TIME)
    );
}
