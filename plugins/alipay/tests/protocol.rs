//! The Alipay plugin against a scripted gateway on the fake host: signing
//! known answers, verification both ways, real-shaped answers and errors.

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use paycore_plugin_alipay::Alipay;
use paycore_plugin_sdk::params::{canonical_string, form_urlencode, parse_form};
use paycore_plugin_sdk::testing::{pay_request, rsa_sign};
use paycore_plugin_sdk::types::*;
use paycore_plugin_sdk::{CONTRACT_VERSION, Channel, Describe};
use serde_json::{Value, json};
use support::*;

fn barcode(order: &str, amount: i64, auth_code: &str) -> PayRequest {
    PayRequest {
        auth_code: Some(auth_code.to_owned()),
        subject: Some("2 x latte".to_owned()),
        wallet: "alipay".to_owned(),
        ..pay_request(order, amount, "CNY", Scene::Barcode)
    }
}

fn payment_ref(scene: Scene, trade_no: Option<&str>) -> PaymentRef {
    PaymentRef {
        payment_id: "pay_1".into(),
        merchant_order_no: "A1".into(),
        channel_order_no: trade_no.map(Into::into),
        amount: 8888,
        currency: "CNY".into(),
        scene,
    }
}

/// The answer `alipay.trade.pay` gives in Alipay's documentation, amounts ours.
fn paid(biz: &Value) -> Value {
    json!({"code": "10000", "msg": "Success", "trade_no": "2026112522001400001",
           "out_trade_no": biz["out_trade_no"], "buyer_logon_id": "159****5620",
           "total_amount": biz["total_amount"], "receipt_amount": biz["total_amount"],
           "gmt_payment": "2026-11-25 16:00:01", "buyer_user_id": "2088101117955611"})
}

#[test]
fn manifest_declares_the_gateway_hosts_settings_and_key_names() {
    let m = Alipay.manifest();
    assert_eq!((m.name.as_str(), m.version.as_str()), ("alipay", "1.1.0"));
    assert_eq!(m.contract_version, CONTRACT_VERSION);
    assert_eq!(m.scenes, Scene::ALL);
    assert_eq!(m.wallets, ["alipay"]);
    assert_eq!(m.currencies, ["CNY"]);
    assert_eq!(
        m.settings,
        [
            "gateway_url",
            "app_id",
            "app_auth_token",
            "return_url",
            "sign_type"
        ]
    );
    let described = Alipay.settings();
    let presence: Vec<&Presence> = described.iter().map(|s| &s.presence).collect();
    assert_eq!(
        presence,
        [
            &Presence::Required,
            &Presence::Required,
            &Presence::Optional,
            &Presence::Optional,
            &Presence::Defaulted("RSA2".into())
        ]
    );
    assert_eq!(described[0].kind, SettingKind::Url);
    assert_eq!(described[4].kind, SettingKind::OneOf(vec!["RSA2".into()]));
    assert_eq!(m.secrets, ["merchant_private_key", "alipay_public_key"]);
    assert_eq!(
        m.hosts,
        [
            "openapi.alipay.com",
            "openapi-sandbox.dl.alipaydev.com",
            "dwbillcenter.alipay.com",
            "127.0.0.1"
        ]
    );
}

/// Known answer: the string Alipay's rules sign for this barcode payment at
/// the fake host's fixed clock, and its RSA2 signature under the demo key as
/// `openssl dgst -sha256 -sign alipay-demo-merchant-private.pem | base64 -w0` computes it.
#[test]
fn barcode_pay_signs_the_sorted_non_empty_parameters_known_answer() {
    let host = gateway(|_, biz| paid(biz));
    let result = Alipay
        .pay(
            &host,
            &ctx(),
            barcode("A20261125001", 8888, "283400011122223333"),
        )
        .unwrap();
    assert_eq!(
        result,
        PaymentResult::succeeded(Some("2026112522001400001".into()), 8888, "CNY")
    );

    let request = &host.requests()[0];
    assert_eq!(
        (request.method.as_str(), request.url.as_str()),
        ("POST", GATEWAY)
    );
    assert_eq!(
        request.header("content-type"),
        Some("application/x-www-form-urlencoded;charset=utf-8")
    );
    let params = sent(&host, 0);
    let content = canonical_string(&params, &["sign"]);
    assert_eq!(
        content,
        r#"app_id=2021000000000001&biz_content={"out_trade_no":"A20261125001","total_amount":"88.88","subject":"2 x latte","product_code":"FACE_TO_FACE_PAYMENT","scene":"bar_code","auth_code":"283400011122223333"}&charset=utf-8&format=JSON&method=alipay.trade.pay&notify_url=http://127.0.0.1:8080/v1/callbacks/t1/test&sign_type=RSA2&timestamp=2026-11-25 16:00:00&version=1.0"#
    );
    assert_eq!(param(&params, "sign").unwrap(), KNOWN_SIGNATURE);
    assert_eq!(
        STANDARD.encode(rsa_sign(MERCHANT_PRIVATE, content.as_bytes())),
        KNOWN_SIGNATURE
    );
    assert!(request_signature_valid(&params));
}

const KNOWN_SIGNATURE: &str = "snSNVPcGlmJn74YG+24KiT/yO5ZYQi6XxC/SPiW0mJvpMxboOmPTn93f0T6eUhJGZ1Gaprj+39rrMhrtwZMX8k7gCDC9N0dmXwNUWC/IHnXKlI2G2z6LUiWEXYo9DHfd0Y4Yoht9V/XDy0bnoJYe5XpSVZifKaUju/suGdEfptl4BP2WZ1eDedVuzH3UCGz2IEd1PnJCtV1OQcgmxzxWFsZWz4EHMcudi3NS57ov4X7cv0GSH1HR2D4omzs6c7cJdfo3xLlQD//QYnmD6AHmlMWk7kBQEBIn9oc9Gs0bdGpvTrSnWmBPxQ6Ilut5zZ8oLqCXZhQ2AU/1wV/BadoNMw==";

#[test]
fn responses_are_verified_over_the_raw_node_text_never_reserialised() {
    // Spacing, key order and `\/` escapes as a server may write them: any
    // re-serialisation would change these bytes and break the signature.
    let node = r#"{ "code":"10000","msg":"Success","trade_no":"T9","out_trade_no":"A1","total_amount":"88.88","trade_status":"TRADE_SUCCESS","buyer_logon_id":"a\/b\u0040x.com"}"#;
    let host = support::host().with_responder(move |_| {
        Ok(HttpResponse::json(
            200,
            signed_body("alipay.trade.query", node),
        ))
    });
    let result = Alipay
        .query(&host, &ctx(), payment_ref(Scene::Barcode, Some("T9")))
        .unwrap();
    assert_eq!(
        result,
        PaymentResult::succeeded(Some("T9".into()), 8888, "CNY")
    );
    assert_eq!(
        sent_biz(&host, 0),
        json!({"trade_no": "T9"}),
        "query by Alipay's number when known"
    );
}

#[test]
fn an_answer_that_does_not_verify_is_not_trusted() {
    let node = json!({"code": "10000", "msg": "Success", "trade_no": "T1", "out_trade_no": "A1", "total_amount": "88.88"}).to_string();
    let tampered = {
        let good = String::from_utf8(signed_body("alipay.trade.pay", &node)).unwrap();
        good.replace("88.88", "0.01")
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("tampered", tampered.into_bytes()),
        (
            "unsigned",
            format!(r#"{{"alipay_trade_pay_response":{node}}}"#).into_bytes(),
        ),
        ("signed by the merchant, not Alipay", {
            let sig = STANDARD.encode(rsa_sign(MERCHANT_PRIVATE, node.as_bytes()));
            format!(r#"{{"alipay_trade_pay_response":{node},"sign":"{sig}"}}"#).into_bytes()
        }),
        ("not JSON", b"<html>502 Bad Gateway</html>".to_vec()),
    ];
    for (case, body) in cases {
        let host =
            support::host().with_responder(move |_| Ok(HttpResponse::json(200, body.clone())));
        let err = Alipay
            .pay(&host, &ctx(), barcode("A1", 8888, "283400011122223333"))
            .unwrap_err();
        assert!(
            matches!(err, ChannelError::OutcomeUnknown(_)),
            "{case}: {err:?}"
        );
        assert_eq!(code(&err), "unverified_answer", "{case}");
    }
}

#[test]
fn result_codes_map_to_money_safe_outcomes() {
    fn answer(node: Value) -> Result<PaymentResult, ChannelError> {
        let host = gateway(move |_, _| node.clone());
        Alipay.pay(&host, &ctx(), barcode("A1", 8888, "283400011122223333"))
    }
    // 10003: the payer is entering a password.
    let paying = answer(json!({"code": "10003", "msg": "order success pay inprocess", "trade_no": "T1", "out_trade_no": "A1", "total_amount": "88.88"})).unwrap();
    assert_eq!(paying.status, PaymentStatus::Processing);
    assert_eq!(paying.channel_order_no.as_deref(), Some("T1"));
    // 20000 and ACQ.SYSTEM_ERROR: unknown, never failed.
    for node in [
        json!({"code": "20000", "msg": "Service Currently Unavailable", "sub_code": "aop.ACQ.SYSTEM_ERROR", "sub_msg": "系统繁忙"}),
        json!({"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.SYSTEM_ERROR", "sub_msg": "系统错误"}),
        json!({"code": "99999", "msg": "something new"}),
    ] {
        let err = answer(node.clone()).unwrap_err();
        assert!(
            matches!(err, ChannelError::OutcomeUnknown(_)),
            "{node}: {err:?}"
        );
    }
    // 40004: refused, sub_code kept.
    let err = answer(json!({"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.BUYER_BALANCE_NOT_ENOUGH", "sub_msg": "买家余额不足"})).unwrap_err();
    let ChannelError::Declined(f) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(f.code, "insufficient_funds");
    assert_eq!(
        f.channel_code.as_deref(),
        Some("ACQ.BUYER_BALANCE_NOT_ENOUGH")
    );
    assert_eq!(f.channel_message.as_deref(), Some("买家余额不足"));
    let err = answer(json!({"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.PAYMENT_AUTH_CODE_INVALID", "sub_msg": "支付失败，获取顾客账户信息失败"})).unwrap_err();
    assert!(matches!(&err, ChannelError::Declined(f) if f.code == "invalid_auth_code"));
    // 40002 (our signature, our parameters): refused at the gate.
    let err = answer(json!({"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature", "sub_msg": "验签出错"})).unwrap_err();
    assert!(
        matches!(&err, ChannelError::InvalidRequest(f) if f.channel_code.as_deref() == Some("isv.invalid-signature")),
        "{err:?}"
    );
}

#[test]
fn transport_failures_keep_the_payment_unknown_unless_nothing_left() {
    let host = support::host().with_responder(|_| Err(HttpError::Timeout));
    let err = Alipay
        .pay(&host, &ctx(), barcode("A1", 8888, "283400011122223333"))
        .unwrap_err();
    assert!(matches!(err, ChannelError::OutcomeUnknown(_)));
    let host = support::host().with_responder(|_| Err(HttpError::Connect("refused".into())));
    let err = Alipay
        .pay(&host, &ctx(), barcode("A1", 8888, "283400011122223333"))
        .unwrap_err();
    assert!(matches!(err, ChannelError::Unavailable(_)));
}

#[test]
fn bad_order_numbers_currencies_and_missing_settings_send_nothing() {
    let host = gateway(|_, biz| paid(biz));
    for order in ["A-1", "订单", &"9".repeat(65)] {
        let err = Alipay
            .pay(&host, &ctx(), barcode(order, 100, "283400011122223333"))
            .unwrap_err();
        assert_eq!(code(&err), "invalid_order_no", "{order}");
    }
    let usd = PayRequest {
        currency: "USD".into(),
        ..barcode("A1", 100, "283400011122223333")
    };
    assert_eq!(
        code(&Alipay.pay(&host, &ctx(), usd).unwrap_err()),
        "unsupported_currency"
    );
    let no_app = paycore_plugin_sdk::testing::call_context(&[("gateway_url", GATEWAY)]);
    assert_eq!(
        code(
            &Alipay
                .pay(&host, &no_app, barcode("A1", 100, "28"))
                .unwrap_err()
        ),
        "missing_setting"
    );
    // The host refuses such a config; a plugin called with one all the same
    // must not sign RSA2 and label it RSA.
    let sha1 = paycore_plugin_sdk::testing::call_context(&[
        ("gateway_url", GATEWAY),
        ("app_id", APP_ID),
        ("sign_type", "RSA"),
    ]);
    assert_eq!(
        code(
            &Alipay
                .pay(&host, &sha1, barcode("A1", 100, "28"))
                .unwrap_err()
        ),
        "unsupported_sign_type"
    );
    assert!(host.requests().is_empty());
}

#[test]
fn face_pay_uses_the_security_code_scene_and_isv_mode_sends_the_token() {
    let host = gateway(|_, biz| paid(biz));
    let isv = paycore_plugin_sdk::testing::call_context(&[
        ("gateway_url", GATEWAY),
        ("app_id", APP_ID),
        ("app_auth_token", "202611BBtoken"),
    ]);
    let face = PayRequest {
        scene: Scene::Face,
        auth_code: Some("fp0a1b2c3d".into()),
        store_id: Some("shop-7".into()),
        ..barcode("A1", 8888, "")
    };
    assert_eq!(
        Alipay.pay(&host, &isv, face).unwrap().status,
        PaymentStatus::Succeeded
    );
    let biz = sent_biz(&host, 0);
    assert_eq!(biz["scene"], "security_code");
    assert_eq!(biz["auth_code"], "fp0a1b2c3d");
    assert_eq!(biz["store_id"], "shop-7");
    assert_eq!(
        param(&sent(&host, 0), "app_auth_token").as_deref(),
        Some("202611BBtoken")
    );
}

#[test]
fn qr_precreate_returns_the_qr_code_and_goods_in_yuan() {
    let host = gateway(|method, biz| {
        assert_eq!(method, "alipay.trade.precreate");
        json!({"code": "10000", "msg": "Success", "out_trade_no": biz["out_trade_no"], "qr_code": "https://qr.alipay.com/bax08431gp8wypxehpfl0006"})
    });
    let request = PayRequest {
        goods: vec![GoodsItem {
            id: "sku-1".into(),
            name: "latte".into(),
            quantity: 2,
            unit_price: 4500,
            discount: 112,
        }],
        expires_in: Some(900),
        ..pay_request("Q1", 8888, "CNY", Scene::Qrcode)
    };
    let result = Alipay.pay(&host, &ctx(), request).unwrap();
    assert_eq!(result.status, PaymentStatus::Pending);
    assert_eq!(
        result.action,
        Some(Action::QrCode(
            "https://qr.alipay.com/bax08431gp8wypxehpfl0006".into()
        ))
    );
    let biz = sent_biz(&host, 0);
    assert_eq!(
        biz["goods_detail"],
        json!([{"goods_id": "sku-1", "goods_name": "latte", "quantity": 2, "price": "45.00"}])
    );
    assert_eq!(biz["timeout_express"], "15m");
    assert_eq!(
        biz["subject"], "Q1",
        "the order number stands in for a missing subject"
    );
}

#[test]
fn jsapi_create_sends_the_buyer_and_returns_the_trade_no_for_the_mini_program() {
    let host = gateway(|method, biz| {
        assert_eq!(method, "alipay.trade.create");
        assert_eq!(biz["product_code"], "JSAPI_PAY");
        json!({"code": "10000", "msg": "Success", "out_trade_no": biz["out_trade_no"], "trade_no": "2026112522001400777"})
    });
    let by_id = PayRequest {
        payer: Some(Payer {
            app_id: None,
            open_id: None,
            buyer_id: Some("2088102177846880".into()),
        }),
        ..pay_request("J1", 100, "CNY", Scene::Jsapi)
    };
    let result = Alipay.pay(&host, &ctx(), by_id).unwrap();
    assert_eq!(result.status, PaymentStatus::Pending);
    assert_eq!(
        result.action,
        Some(Action::ClientParams(vec![(
            "tradeNO".into(),
            "2026112522001400777".into()
        )]))
    );
    assert_eq!(sent_biz(&host, 0)["buyer_id"], "2088102177846880");
    let by_open_id = PayRequest {
        payer: Some(Payer {
            app_id: Some("2021004100000000".into()),
            open_id: Some("074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5".into()),
            buyer_id: None,
        }),
        ..pay_request("J2", 100, "CNY", Scene::Jsapi)
    };
    Alipay.pay(&host, &ctx(), by_open_id).unwrap();
    let biz = sent_biz(&host, 1);
    assert_eq!(
        biz["buyer_open_id"],
        "074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5"
    );
    assert_eq!(biz["op_app_id"], "2021004100000000");
    assert!(biz.get("buyer_id").is_none());
    let nobody = pay_request("J3", 100, "CNY", Scene::Jsapi);
    assert_eq!(
        code(&Alipay.pay(&host, &ctx(), nobody).unwrap_err()),
        "missing_payer"
    );
}

#[test]
fn app_h5_and_web_return_signed_request_strings_without_calling_alipay() {
    let host = support::host();
    let with_return = paycore_plugin_sdk::testing::call_context(&[
        ("gateway_url", GATEWAY),
        ("app_id", APP_ID),
        ("return_url", "https://shop.example/done"),
    ]);
    for (scene, method, product) in [
        (Scene::App, "alipay.trade.app.pay", "QUICK_MSECURITY_PAY"),
        (Scene::H5, "alipay.trade.wap.pay", "QUICK_WAP_WAY"),
        (
            Scene::Web,
            "alipay.trade.page.pay",
            "FAST_INSTANT_TRADE_PAY",
        ),
    ] {
        let result = Alipay
            .pay(&host, &with_return, pay_request("P1", 8888, "CNY", scene))
            .unwrap();
        assert_eq!(result.status, PaymentStatus::Pending);
        let query = match result.action.unwrap() {
            Action::ClientParams(p) => {
                assert_eq!(p[0].0, "orderStr");
                p[0].1.clone()
            }
            Action::Redirect(url) => url.strip_prefix(&format!("{GATEWAY}?")).unwrap().to_owned(),
            other => panic!("{other:?}"),
        };
        let params = parse_form(query.as_bytes());
        assert!(request_signature_valid(&params), "{method}");
        assert_eq!(param(&params, "method").as_deref(), Some(method));
        let biz: Value = serde_json::from_str(&param(&params, "biz_content").unwrap()).unwrap();
        assert_eq!(biz["product_code"], product);
        assert_eq!(biz["total_amount"], "88.88");
        let return_url = param(&params, "return_url");
        assert_eq!(
            return_url.is_some(),
            scene != Scene::App,
            "{method}: return_url is for pages"
        );
        // The string round-trips exactly: what the client opens is what was signed.
        assert_eq!(form_urlencode(&params), query);
    }
    assert!(
        host.requests().is_empty(),
        "page and app payments are built locally"
    );
}

#[test]
fn query_by_our_number_maps_trade_status_and_not_yet_scanned_qr_is_pending() {
    let host = gateway(|_, biz| match biz["out_trade_no"].as_str() {
        Some("A1") => {
            json!({"code": "10000", "msg": "Success", "trade_no": "T1", "out_trade_no": "A1", "total_amount": "88.88", "trade_status": "WAIT_BUYER_PAY"})
        }
        _ => {
            json!({"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_NOT_EXIST", "sub_msg": "交易不存在"})
        }
    });
    let paying = Alipay
        .query(&host, &ctx(), payment_ref(Scene::Barcode, None))
        .unwrap();
    assert_eq!(paying.status, PaymentStatus::Processing);
    assert_eq!(sent_biz(&host, 0), json!({"out_trade_no": "A1"}));
    let qr = PaymentRef {
        merchant_order_no: "Q1".into(),
        ..payment_ref(Scene::Qrcode, None)
    };
    assert_eq!(
        Alipay.query(&host, &ctx(), qr).unwrap().status,
        PaymentStatus::Pending
    );
    let code_payment = PaymentRef {
        merchant_order_no: "B1".into(),
        ..payment_ref(Scene::Barcode, None)
    };
    let err = Alipay.query(&host, &ctx(), code_payment).unwrap_err();
    assert!(
        matches!(&err, ChannelError::Declined(f) if f.code == "order_not_found"),
        "a code payment Alipay never saw is not 'pending'"
    );
}

#[test]
fn close_and_cancel() {
    let host = gateway(|method, _| match method {
        "alipay.trade.close" => {
            json!({"code": "10000", "msg": "Success", "trade_no": "T1", "out_trade_no": "A1"})
        }
        "alipay.trade.cancel" => {
            json!({"code": "10000", "msg": "Success", "trade_no": "T1", "out_trade_no": "A1", "retry_flag": "N", "action": "refund"})
        }
        other => panic!("{other}"),
    });
    let closed = Alipay
        .close(&host, &ctx(), payment_ref(Scene::Qrcode, Some("T1")))
        .unwrap();
    assert_eq!(
        (closed.status, closed.channel_order_no.as_deref()),
        (PaymentStatus::Closed, Some("T1"))
    );
    let cancelled = Alipay
        .cancel(&host, &ctx(), payment_ref(Scene::Barcode, Some("T1")))
        .unwrap();
    assert_eq!(cancelled.status, PaymentStatus::Cancelled);
    assert_eq!(
        sent_biz(&host, 1),
        json!({"out_trade_no": "A1"}),
        "cancel goes by our number"
    );

    let retry = gateway(
        |_, _| json!({"code": "10000", "msg": "Success", "out_trade_no": "A1", "retry_flag": "Y"}),
    );
    let err = Alipay
        .cancel(&retry, &ctx(), payment_ref(Scene::Barcode, None))
        .unwrap_err();
    assert!(matches!(&err, ChannelError::OutcomeUnknown(f) if f.code == "cancel_retry"));
    let paid = gateway(
        |_, _| json!({"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_STATUS_ERROR", "sub_msg": "交易状态不合法"}),
    );
    let err = Alipay
        .close(&paid, &ctx(), payment_ref(Scene::Qrcode, Some("T1")))
        .unwrap_err();
    assert!(matches!(&err, ChannelError::Declined(f) if f.code == "invalid_order_status"));
}

fn refund_request(no: &str, amount: i64) -> RefundRequest {
    RefundRequest {
        refund_id: "re_1".into(),
        merchant_refund_no: no.into(),
        payment: payment_ref(Scene::Barcode, Some("T1")),
        amount,
        reason: Some("cold".into()),
    }
}

#[test]
fn partial_refunds_carry_out_request_no_and_repeats_are_confirmed_by_query() {
    let host = gateway(|method, biz| match method {
        "alipay.trade.refund" if biz["out_request_no"] == "R1" => {
            json!({"code": "10000", "msg": "Success", "trade_no": "T1", "out_trade_no": "A1", "buyer_logon_id": "159****5620", "fund_change": "Y", "refund_fee": "10.00"})
        }
        "alipay.trade.refund" => {
            json!({"code": "10000", "msg": "Success", "trade_no": "T1", "out_trade_no": "A1", "fund_change": "N", "refund_fee": "10.00"})
        }
        "alipay.trade.fastpay.refund.query" if biz["out_request_no"] == "R1" => {
            json!({"code": "10000", "msg": "Success", "trade_no": "T1", "out_trade_no": "A1", "out_request_no": "R1", "total_amount": "88.88", "refund_amount": "10.00", "refund_status": "REFUND_SUCCESS"})
        }
        "alipay.trade.fastpay.refund.query" => json!({"code": "10000", "msg": "Success"}),
        other => panic!("{other}"),
    });
    let done = Alipay
        .refund(&host, &ctx(), refund_request("R1", 1000))
        .unwrap();
    assert_eq!(
        (done.status, done.amount),
        (RefundStatus::Succeeded, Some(1000))
    );
    assert_eq!(
        sent_biz(&host, 0),
        json!({"trade_no": "T1", "refund_amount": "10.00", "out_request_no": "R1", "refund_reason": "cold"})
    );
    let repeated = Alipay
        .refund(&host, &ctx(), refund_request("R2", 1000))
        .unwrap();
    assert_eq!(repeated.status, RefundStatus::Processing);

    let refund_ref = |no: &str| RefundRef {
        refund_id: "re_1".into(),
        merchant_refund_no: no.into(),
        channel_refund_no: None,
        amount: 1000,
        payment: payment_ref(Scene::Barcode, Some("T1")),
    };
    let found = Alipay
        .query_refund(&host, &ctx(), refund_ref("R1"))
        .unwrap();
    assert_eq!(
        (found.status, found.amount),
        (RefundStatus::Succeeded, Some(1000))
    );
    assert_eq!(
        sent_biz(&host, 2),
        json!({"trade_no": "T1", "out_request_no": "R1"})
    );
    assert_eq!(
        Alipay
            .query_refund(&host, &ctx(), refund_ref("R9"))
            .unwrap()
            .status,
        RefundStatus::Processing
    );

    let over = gateway(
        |_, _| json!({"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "sub_msg": "退款金额超限"}),
    );
    let err = Alipay
        .refund(&over, &ctx(), refund_request("R3", 8889))
        .unwrap_err();
    assert!(
        matches!(&err, ChannelError::Declined(f) if f.code == "refund_exceeds" && f.channel_code.as_deref() == Some("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"))
    );
}

/// A `trade_status_sync` notice as Alipay posts it, signed with the gateway key.
fn notice(pairs: &[(&str, &str)]) -> HttpRequest {
    let mut params: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    params.push(("sign_type".into(), "RSA2".into()));
    let content = canonical_string(&params, &["sign", "sign_type"]);
    params.push((
        "sign".into(),
        STANDARD.encode(rsa_sign(GATEWAY_PRIVATE, content.as_bytes())),
    ));
    HttpRequest::new("POST", "/v1/callbacks/t1/test", form_urlencode(&params)).with_header(
        "content-type",
        "application/x-www-form-urlencoded; charset=utf-8",
    )
}

const PAID_NOTICE: &[(&str, &str)] = &[
    ("notify_time", "2026-11-25 16:00:05"),
    ("notify_type", "trade_status_sync"),
    ("notify_id", "ac05099524730693a8b330c5ecf72da9786"),
    ("app_id", APP_ID),
    ("charset", "utf-8"),
    ("version", "1.0"),
    ("trade_no", "T1"),
    ("out_trade_no", "Q1"),
    ("trade_status", "TRADE_SUCCESS"),
    ("total_amount", "88.88"),
    ("receipt_amount", "88.88"),
    ("buyer_id", "2088102122524333"),
    ("gmt_payment", "2026-11-25 16:00:04"),
    ("subject", "latte 拿铁"),
    (
        "fund_bill_list",
        r#"[{"amount":"88.88","fundChannel":"ALIPAYACCOUNT"}]"#,
    ),
];

#[test]
fn notifications_verify_without_sign_type_and_answer_the_bare_success() {
    let outcome = Alipay
        .handle_callback(&host(), &ctx(), notice(PAID_NOTICE))
        .unwrap();
    assert!(outcome.verified);
    assert_eq!(outcome.response.status, 200);
    assert_eq!(outcome.response.body, b"success");
    assert_eq!(
        outcome.event,
        Some(CallbackEvent::Payment(PaymentUpdate {
            merchant_order_no: "Q1".into(),
            channel_order_no: Some("T1".into()),
            status: PaymentStatus::Succeeded,
            amount: 8888,
            currency: "CNY".into(),
        }))
    );
    let mut refund_notice = PAID_NOTICE.to_vec();
    refund_notice.extend([
        ("out_biz_no", "R1"),
        ("refund_fee", "10.00"),
        ("gmt_refund", "2026-11-25 17:00:00.123"),
    ]);
    let outcome = Alipay
        .handle_callback(&host(), &ctx(), notice(&refund_notice))
        .unwrap();
    assert_eq!(
        (outcome.verified, outcome.event),
        (true, Some(CallbackEvent::Ignored))
    );
}

#[test]
fn forged_or_foreign_notifications_change_nothing() {
    let good = notice(PAID_NOTICE);
    let tampered = HttpRequest {
        body: String::from_utf8(good.body.clone())
            .unwrap()
            .replace("88.88", "0.01")
            .into_bytes(),
        ..good.clone()
    };
    let mut other_app = PAID_NOTICE.to_vec();
    other_app[3] = ("app_id", "2021999999999999");
    let unsigned = HttpRequest::new("POST", "/x", form_urlencode(PAID_NOTICE));
    for (case, request) in [
        ("tampered", tampered),
        ("another app", notice(&other_app)),
        ("unsigned", unsigned),
    ] {
        let outcome = Alipay.handle_callback(&host(), &ctx(), request).unwrap();
        assert!(!outcome.verified, "{case}");
        assert_eq!(outcome.event, None, "{case}");
        assert_eq!(
            outcome.unverified_claim.as_deref(),
            Some("Q1"),
            "{case}: the host may query it, nothing more"
        );
        assert_ne!(
            outcome.response.body, b"success",
            "{case}: Alipay must not stop retrying a notice we refused"
        );
    }
}

#[test]
fn beijing_time_stamps() {
    assert_eq!(
        paycore_plugin_alipay::timestamp(1_795_593_600_000),
        "2026-11-25 16:00:00"
    );
    assert_eq!(
        paycore_plugin_alipay::timestamp(1_795_622_399_999),
        "2026-11-25 23:59:59"
    );
}
