//! The WeChat Pay plugin against a scripted v3 server on the fake host:
//! signing known answers, verification both ways, real-shaped answers and
//! errors, callbacks decrypted through the host.

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use paycore_plugin_sdk::testing::{pay_request, rsa_sign, rsa_verify};
use paycore_plugin_sdk::types::*;
use paycore_plugin_sdk::{CONTRACT_VERSION, Channel, Describe};
use paycore_plugin_wechatpay::WechatPay;
use serde_json::{Value, json};
use support::*;

fn code_payment(order: &str, amount: i64, auth_code: &str) -> PayRequest {
    PayRequest {
        auth_code: Some(auth_code.into()),
        subject: Some("2 x latte".into()),
        store_id: Some("shop-7".into()),
        wallet: "wechat".into(),
        ..pay_request(order, amount, "CNY", Scene::Barcode)
    }
}

fn transaction(order: &str, state: &str, total: i64) -> String {
    json!({"appid": APPID, "mchid": MCHID, "out_trade_no": order, "transaction_id": "4200000000202611250000000001",
           "trade_type": "MICROPAY", "trade_state": state, "trade_state_desc": "支付成功", "bank_type": "CMC",
           "success_time": "2026-11-25T16:00:01+08:00", "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
           "amount": {"total": total, "payer_total": total, "currency": "CNY", "payer_currency": "CNY"}}).to_string()
}

fn payment_ref(scene: Scene, id: Option<&str>) -> PaymentRef {
    PaymentRef {
        payment_id: "pay_1".into(),
        merchant_order_no: "A2026112501".into(),
        channel_order_no: id.map(Into::into),
        amount: 8888,
        currency: "CNY".into(),
        scene,
    }
}

#[test]
fn manifest_declares_the_api_host_settings_and_key_names() {
    let m = WechatPay.manifest();
    assert_eq!(
        (m.name.as_str(), m.version.as_str()),
        ("wechatpay", "1.1.0")
    );
    assert_eq!(m.contract_version, CONTRACT_VERSION);
    assert_eq!(m.scenes, Scene::ALL);
    assert_eq!(m.wallets, ["wechat"]);
    assert_eq!(
        m.settings,
        [
            "base_url",
            "mchid",
            "appid",
            "serial_no",
            "platform_serial",
            "sub_mchid",
            "sub_appid"
        ]
    );
    let optional: Vec<String> = WechatPay
        .settings()
        .into_iter()
        .filter(|s| s.presence == Presence::Optional)
        .map(|s| s.name)
        .collect();
    assert_eq!(optional, ["sub_mchid", "sub_appid"]);
    assert_eq!(
        m.secrets,
        ["merchant_private_key", "platform_public_key", "apiv3_key"]
    );
    assert_eq!(m.hosts, ["api.mch.weixin.qq.com", "127.0.0.1"]);
}

/// Known answer: the message WeChat's rules sign for a GET query at the fake
/// host's clock, and its signature as
/// `openssl dgst -sha256 -sign wechatpay-demo-merchant-private.pem | base64 -w0` computes it.
#[test]
fn authorization_signs_method_path_query_timestamp_nonce_and_body_known_answer() {
    let host = server(|_, _, _| (200, transaction("A2026112501", "SUCCESS", 8888)));
    WechatPay
        .query(&host, &ctx(), payment_ref(Scene::Barcode, None))
        .unwrap();
    let req = &host.requests()[0];
    assert_eq!(req.method, "GET");
    assert_eq!(
        req.url,
        format!("{BASE}/v3/pay/transactions/out-trade-no/A2026112501?mchid=1900000001")
    );
    let f = authorization(req);
    assert_eq!(field(&f, "mchid"), MCHID);
    assert_eq!(field(&f, "serial_no"), SERIAL);
    assert_eq!(field(&f, "timestamp"), "1795593600");
    let nonce = field(&f, "nonce_str");
    assert_eq!(nonce.len(), 32);
    let message = format!(
        "GET\n/v3/pay/transactions/out-trade-no/A2026112501?mchid=1900000001\n1795593600\n{nonce}\n\n"
    );
    assert_eq!(nonce, KNOWN_NONCE);
    assert_eq!(field(&f, "signature"), KNOWN_SIGNATURE);
    assert_eq!(
        STANDARD.encode(rsa_sign(MERCHANT_PRIVATE, message.as_bytes())),
        KNOWN_SIGNATURE
    );
    assert!(request_signature_valid(req));
}

const KNOWN_NONCE: &str = "9FCF68E43A56BF462E19C96C3A75C373";
const KNOWN_SIGNATURE: &str = "BxqAksA2TKBr4Kyi/DdTtiHHHRd1gRN0flDFpfi0vNdd0re9FvrCZzOOK+8U3tlhh8k+GQL56s+UXnZvUzc4GBakQvEzinDk0k8NKxdT6q2tJkmCUus/H8uSG6D8gyS36LgBhbocoIMtc8cZDvz661q/WA14rS+TjABvMbgk3AiAAeOAAqhFxXYpWknEXtN4L++JYRMbuK67RObK9RYEEATL5MZliQ9PzI2yKAffZY7swRGg+7wQNL3B9VdkMKoPaidqtOfeemXMy13uy+g2Mv/AZzRNVe4OmV6PpWGqwxCURKUM0ZDQmLka8YZvPRQbRqB78h91kXQl6yl04/vERg==";

#[test]
fn codepay_pays_barcode_and_face_codes_and_maps_userpaying_to_processing() {
    let host = server(|method, path, body| {
        assert_eq!((method, path), ("POST", "/v3/pay/transactions/codepay"));
        match body["payer"]["auth_code"].as_str().unwrap() {
            "134567890123456789" => (200, transaction("A2026112501", "SUCCESS", 8888)),
            "134567890123456780" => (
                202,
                json!({"code": "USERPAYING", "message": "需要用户输入支付密码"}).to_string(),
            ),
            _ => (
                403,
                json!({"code": "NOT_ENOUGH", "message": "用户账号余额不足"}).to_string(),
            ),
        }
    });
    let paid = WechatPay
        .pay(
            &host,
            &ctx(),
            code_payment("A2026112501", 8888, "134567890123456789"),
        )
        .unwrap();
    assert_eq!(
        paid,
        PaymentResult::succeeded(Some("4200000000202611250000000001".into()), 8888, "CNY")
    );
    assert_eq!(
        sent_json(&host, 0),
        json!({"appid": APPID, "mchid": MCHID, "description": "2 x latte", "out_trade_no": "A2026112501",
        "amount": {"total": 8888, "currency": "CNY"}, "payer": {"auth_code": "134567890123456789"}, "scene_info": {"store_info": {"out_id": "shop-7"}}})
    );
    let paying = WechatPay
        .pay(
            &host,
            &ctx(),
            code_payment("A2026112502", 8888, "134567890123456780"),
        )
        .unwrap();
    assert_eq!(paying.status, PaymentStatus::Processing);
    let face = PayRequest {
        scene: Scene::Face,
        ..code_payment("A2026112503", 8888, "134567890123456789")
    };
    assert_eq!(
        WechatPay.pay(&host, &ctx(), face).unwrap().status,
        PaymentStatus::Succeeded
    );
    let err = WechatPay
        .pay(
            &host,
            &ctx(),
            code_payment("A2026112504", 8888, "130000000000000000"),
        )
        .unwrap_err();
    let ChannelError::Declined(f) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (
            f.code.as_str(),
            f.channel_code.as_deref(),
            f.channel_message.as_deref()
        ),
        (
            "insufficient_funds",
            Some("NOT_ENOUGH"),
            Some("用户账号余额不足")
        )
    );
}

#[test]
fn system_errors_and_unverifiable_answers_leave_the_payment_unknown() {
    let system = server(|_, _, _| {
        (
            500,
            json!({"code": "SYSTEM_ERROR", "message": "系统错误"}).to_string(),
        )
    });
    let err = WechatPay
        .pay(
            &system,
            &ctx(),
            code_payment("A2026112501", 8888, "134567890123456789"),
        )
        .unwrap_err();
    assert!(
        matches!(&err, ChannelError::OutcomeUnknown(f) if f.channel_code.as_deref() == Some("SYSTEM_ERROR"))
    );

    let body = transaction("A2026112501", "SUCCESS", 8888);
    let cases: Vec<(&str, HttpResponse)> = vec![
        ("tampered", {
            let mut r = signed(200, &body);
            r.body = body.replace("8888", "1").into_bytes();
            r
        }),
        ("unsigned", HttpResponse::json(200, body.clone())),
        ("another platform key", {
            let mut r = signed(200, &body);
            r.headers[0].1 = "PUB_KEY_ID_SOMEONE_ELSE".into();
            r
        }),
        ("signed by the merchant", {
            let mut r = signed(200, &body);
            r.headers[3].1 = STANDARD.encode(rsa_sign(
                MERCHANT_PRIVATE,
                format!("1795593600\n593BEC0C930BF1AFEB40B4A08C8FB242\n{body}\n").as_bytes(),
            ));
            r
        }),
    ];
    for (case, response) in cases {
        let host = support::host().with_responder(move |_| Ok(response.clone()));
        let err = WechatPay
            .pay(
                &host,
                &ctx(),
                code_payment("A2026112501", 8888, "134567890123456789"),
            )
            .unwrap_err();
        assert!(
            matches!(&err, ChannelError::OutcomeUnknown(f) if f.code == "unverified_answer"),
            "{case}: {err:?}"
        );
    }
    // WeChat cannot sign its refusal of our signature; believing it is safe (nothing was done).
    let host = support::host().with_responder(|_| {
        Ok(HttpResponse::json(
            401,
            r#"{"code":"SIGN_ERROR","message":"签名错误"}"#,
        ))
    });
    let err = WechatPay
        .query(&host, &ctx(), payment_ref(Scene::Barcode, None))
        .unwrap_err();
    assert!(matches!(&err, ChannelError::InvalidRequest(f) if f.code == "channel_auth_failed"));
    let timeout = support::host().with_responder(|_| Err(HttpError::Timeout));
    assert!(matches!(
        WechatPay
            .pay(&timeout, &ctx(), code_payment("A2026112501", 1, "13"))
            .unwrap_err(),
        ChannelError::OutcomeUnknown(_)
    ));
}

#[test]
fn native_h5_and_web_return_what_the_client_opens() {
    let host = server(|_, path, _| {
        match path {
        "/v3/pay/transactions/native" => (200, json!({"code_url": "weixin://wxpay/bizpayurl?pr=p4lpSuKzz"}).to_string()),
        "/v3/pay/transactions/h5" => (200, json!({"h5_url": "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx2016&package=1037687096"}).to_string()),
        other => panic!("{other}"),
    }
    });
    let qr = PayRequest {
        expires_in: Some(900),
        ..pay_request("Q2026112501", 4500, "CNY", Scene::Qrcode)
    };
    let result = WechatPay.pay(&host, &ctx(), qr).unwrap();
    assert_eq!(
        (result.status, result.action),
        (
            PaymentStatus::Pending,
            Some(Action::QrCode(
                "weixin://wxpay/bizpayurl?pr=p4lpSuKzz".into()
            ))
        )
    );
    let sent = sent_json(&host, 0);
    assert_eq!(
        sent["notify_url"],
        "http://127.0.0.1:8080/v1/callbacks/t1/test"
    );
    assert_eq!(sent["time_expire"], "2026-11-25T16:15:00+08:00");
    let web = WechatPay
        .pay(
            &host,
            &ctx(),
            pay_request("W2026112501", 4500, "CNY", Scene::Web),
        )
        .unwrap();
    assert!(
        matches!(web.action, Some(Action::QrCode(_))),
        "PC web shows the Native QR"
    );
    let no_ip = WechatPay
        .pay(
            &host,
            &ctx(),
            pay_request("H2026112501", 4500, "CNY", Scene::H5),
        )
        .unwrap_err();
    assert_eq!(code(&no_ip), "missing_field");
    let h5 = PayRequest {
        client_ip: Some("203.0.113.7".into()),
        ..pay_request("H2026112501", 4500, "CNY", Scene::H5)
    };
    let result = WechatPay.pay(&host, &ctx(), h5).unwrap();
    assert!(
        matches!(result.action, Some(Action::Redirect(ref url)) if url.starts_with("https://wx.tenpay.com/"))
    );
    assert_eq!(
        sent_json(&host, 2)["scene_info"],
        json!({"payer_client_ip": "203.0.113.7", "h5_info": {"type": "Wap"}})
    );
}

#[test]
fn jsapi_and_app_client_parameters_are_signed_with_the_merchant_key() {
    let host = server(|_, path, body| {
        assert!(path.ends_with("/jsapi") || path.ends_with("/app"), "{path}");
        if path.ends_with("/jsapi") {
            assert_eq!(body["payer"]["openid"], "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o");
        }
        (
            200,
            json!({"prepay_id": "wx201410272009395522657a690389285100"}).to_string(),
        )
    });
    let payer = Payer {
        app_id: Some("wxminiprogram00001".into()),
        open_id: Some("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into()),
        buyer_id: None,
    };
    let jsapi = PayRequest {
        payer: Some(payer),
        ..pay_request("J2026112501", 100, "CNY", Scene::Jsapi)
    };
    let Some(Action::ClientParams(params)) = WechatPay.pay(&host, &ctx(), jsapi).unwrap().action
    else {
        panic!()
    };
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(
        get("appId"),
        "wxminiprogram00001",
        "the payer's mini-program"
    );
    assert_eq!(sent_json(&host, 0)["appid"], "wxminiprogram00001");
    assert_eq!(
        (
            get("timeStamp").as_str(),
            get("package").as_str(),
            get("signType").as_str()
        ),
        (
            "1795593600",
            "prepay_id=wx201410272009395522657a690389285100",
            "RSA"
        )
    );
    let message = format!(
        "{}\n{}\n{}\n{}\n",
        get("appId"),
        get("timeStamp"),
        get("nonceStr"),
        get("package")
    );
    assert!(rsa_verify(
        MERCHANT_PUBLIC,
        message.as_bytes(),
        &STANDARD.decode(get("paySign")).unwrap()
    ));

    let Some(Action::ClientParams(params)) = WechatPay
        .pay(
            &host,
            &ctx(),
            pay_request("P2026112501", 100, "CNY", Scene::App),
        )
        .unwrap()
        .action
    else {
        panic!()
    };
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(
        (get("partnerid").as_str(), get("package").as_str()),
        (MCHID, "Sign=WXPay")
    );
    let message = format!(
        "{}\n{}\n{}\n{}\n",
        get("appid"),
        get("timestamp"),
        get("noncestr"),
        get("prepayid")
    );
    assert!(rsa_verify(
        MERCHANT_PUBLIC,
        message.as_bytes(),
        &STANDARD.decode(get("sign")).unwrap()
    ));
    let no_openid = pay_request("J2026112502", 100, "CNY", Scene::Jsapi);
    assert_eq!(
        code(&WechatPay.pay(&host, &ctx(), no_openid).unwrap_err()),
        "missing_payer"
    );
}

#[test]
fn partner_mode_uses_the_partner_paths_and_sp_sub_fields() {
    let host = server(|method, path, _| match (method, path) {
        ("POST", "/v3/pay/partner/transactions/jsapi") => {
            (200, json!({"prepay_id": "wx2026"}).to_string())
        }
        (
            "GET",
            "/v3/pay/partner/transactions/out-trade-no/A2026112501?sp_mchid=1900000001&sub_mchid=1900000109",
        ) => (200, transaction("A2026112501", "NOTPAY", 8888)),
        ("POST", "/v3/pay/partner/transactions/out-trade-no/A2026112501/close") => {
            (204, String::new())
        }
        other => panic!("{other:?}"),
    });
    let payer = Payer {
        app_id: None,
        open_id: Some("oSub".into()),
        buyer_id: None,
    };
    let jsapi = PayRequest {
        payer: Some(payer),
        ..pay_request("A2026112501", 8888, "CNY", Scene::Jsapi)
    };
    WechatPay.pay(&host, &partner_ctx(), jsapi).unwrap();
    let body = sent_json(&host, 0);
    assert_eq!(
        (
            &body["sp_appid"],
            &body["sp_mchid"],
            &body["sub_mchid"],
            &body["sub_appid"]
        ),
        (
            &json!(APPID),
            &json!(MCHID),
            &json!("1900000109"),
            &json!("wx8888888888888888")
        )
    );
    assert_eq!(body["payer"], json!({"sub_openid": "oSub"}));
    assert_eq!(
        WechatPay
            .query(&host, &partner_ctx(), payment_ref(Scene::Qrcode, None))
            .unwrap()
            .status,
        PaymentStatus::Pending
    );
    assert_eq!(
        WechatPay
            .close(&host, &partner_ctx(), payment_ref(Scene::Qrcode, None))
            .unwrap()
            .status,
        PaymentStatus::Closed
    );
    assert_eq!(
        sent_json(&host, 2),
        json!({"sp_mchid": MCHID, "sub_mchid": "1900000109"})
    );
}

#[test]
fn query_by_transaction_id_maps_every_trade_state() {
    for (state, expected) in [
        ("SUCCESS", PaymentStatus::Succeeded),
        ("REFUND", PaymentStatus::Succeeded),
        ("NOTPAY", PaymentStatus::Pending),
        ("USERPAYING", PaymentStatus::Processing),
        ("CLOSED", PaymentStatus::Closed),
        ("REVOKED", PaymentStatus::Cancelled),
        ("PAYERROR", PaymentStatus::Failed),
    ] {
        let host = server(move |_, path, _| {
            assert_eq!(
                path,
                "/v3/pay/transactions/id/4200000000202611250000000001?mchid=1900000001"
            );
            (200, transaction("A2026112501", state, 8888))
        });
        let result = WechatPay
            .query(
                &host,
                &ctx(),
                payment_ref(Scene::Barcode, Some("4200000000202611250000000001")),
            )
            .unwrap();
        assert_eq!(result.status, expected, "{state}");
        assert_eq!(result.amount, Some(8888));
    }
    let missing = server(|_, _, _| {
        (
            404,
            json!({"code": "ORDER_NOT_EXIST", "message": "订单不存在"}).to_string(),
        )
    });
    assert!(
        matches!(WechatPay.query(&missing, &ctx(), payment_ref(Scene::Barcode, None)).unwrap_err(), ChannelError::Declined(f) if f.code == "order_not_found")
    );
}

#[test]
fn close_answers_204_and_reverse_goes_by_our_number() {
    let host = server(|method, path, body| match path {
        "/v3/pay/transactions/out-trade-no/A2026112501/close" => {
            assert_eq!(body, &json!({"mchid": MCHID}));
            (204, String::new())
        }
        "/v3/pay/transactions/out-trade-no/A2026112501/reverse" => {
            assert_eq!(
                (method, body),
                ("POST", &json!({"appid": APPID, "mchid": MCHID}))
            );
            (
                200,
                json!({"appid": APPID, "mchid": MCHID, "out_trade_no": "A2026112501"}).to_string(),
            )
        }
        other => panic!("{other}"),
    });
    assert_eq!(
        WechatPay
            .close(&host, &ctx(), payment_ref(Scene::Qrcode, None))
            .unwrap()
            .status,
        PaymentStatus::Closed
    );
    assert_eq!(
        WechatPay
            .cancel(&host, &ctx(), payment_ref(Scene::Barcode, Some("42")))
            .unwrap()
            .status,
        PaymentStatus::Cancelled
    );
    let paid = server(|_, _, _| {
        (
            400,
            json!({"code": "ORDERPAID", "message": "订单已支付"}).to_string(),
        )
    });
    assert!(
        matches!(WechatPay.close(&paid, &ctx(), payment_ref(Scene::Qrcode, None)).unwrap_err(), ChannelError::Declined(f) if f.code == "order_paid")
    );
}

fn refund_answer(no: &str, status: &str, refund: i64) -> String {
    json!({"refund_id": "50000000382019052709732678859", "out_refund_no": no, "transaction_id": "4200000000202611250000000001",
           "out_trade_no": "A2026112501", "channel": "ORIGINAL", "user_received_account": "招商银行信用卡0403", "status": status,
           "create_time": "2026-11-25T17:00:00+08:00", "amount": {"total": 8888, "refund": refund, "payer_total": 8888, "payer_refund": refund, "currency": "CNY"}}).to_string()
}

#[test]
fn refunds_and_refund_queries() {
    let host = server(|method, path, body| match (method, path) {
        ("POST", "/v3/refund/domestic/refunds") if body["amount"]["refund"] == 8889 => (
            403,
            json!({"code": "REFUND_AMOUNT_EXCEED", "message": "申请退款金额超过订单可退金额"})
                .to_string(),
        ),
        ("POST", "/v3/refund/domestic/refunds") => (
            200,
            refund_answer(
                body["out_refund_no"].as_str().unwrap(),
                "PROCESSING",
                body["amount"]["refund"].as_i64().unwrap(),
            ),
        ),
        ("GET", "/v3/refund/domestic/refunds/R2026112501") => {
            (200, refund_answer("R2026112501", "SUCCESS", 1000))
        }
        other => panic!("{other:?}"),
    });
    let request = |amount| RefundRequest {
        refund_id: "re_1".into(),
        merchant_refund_no: "R2026112501".into(),
        payment: payment_ref(Scene::Barcode, Some("4200000000202611250000000001")),
        amount,
        reason: Some("cold".into()),
    };
    let started = WechatPay.refund(&host, &ctx(), request(1000)).unwrap();
    assert_eq!(
        (
            started.status,
            started.amount,
            started.channel_refund_no.as_deref()
        ),
        (
            RefundStatus::Processing,
            Some(1000),
            Some("50000000382019052709732678859")
        )
    );
    assert_eq!(
        sent_json(&host, 0),
        json!({"transaction_id": "4200000000202611250000000001", "out_refund_no": "R2026112501", "reason": "cold",
        "notify_url": "http://127.0.0.1:8080/v1/callbacks/t1/test", "amount": {"refund": 1000, "total": 8888, "currency": "CNY"}})
    );
    let refund_ref = RefundRef {
        refund_id: "re_1".into(),
        merchant_refund_no: "R2026112501".into(),
        channel_refund_no: None,
        amount: 1000,
        payment: payment_ref(Scene::Barcode, None),
    };
    assert_eq!(
        WechatPay
            .query_refund(&host, &ctx(), refund_ref)
            .unwrap()
            .status,
        RefundStatus::Succeeded
    );
    assert!(
        matches!(WechatPay.refund(&host, &ctx(), request(8889)).unwrap_err(), ChannelError::Declined(f) if f.code == "refund_exceeds")
    );
    let bad_no = RefundRequest {
        merchant_refund_no: "R1".into(),
        ..request(1)
    };
    assert_eq!(
        code(&WechatPay.refund(&host, &ctx(), bad_no).unwrap_err()),
        "invalid_order_no"
    );
}

#[test]
fn order_number_and_currency_rules_are_checked_before_anything_is_sent() {
    let host = support::host();
    for bad in ["A1234", "A2026/11/25/01", &"9".repeat(33)] {
        assert_eq!(
            code(
                &WechatPay
                    .pay(&host, &ctx(), code_payment(bad, 1, "134567890123456789"))
                    .unwrap_err()
            ),
            "invalid_order_no",
            "{bad}"
        );
    }
    let usd = PayRequest {
        currency: "USD".into(),
        ..code_payment("A2026112501", 1, "13")
    };
    assert_eq!(
        code(&WechatPay.pay(&host, &ctx(), usd).unwrap_err()),
        "unsupported_currency"
    );
    assert!(host.requests().is_empty());
}

fn paid_resource(order: &str, total: i64) -> Value {
    serde_json::from_str(&transaction(order, "SUCCESS", total)).unwrap()
}

#[test]
fn callbacks_are_verified_decrypted_through_the_host_and_answered_204() {
    let outcome = WechatPay
        .handle_callback(
            &support::host(),
            &ctx(),
            callback(
                "TRANSACTION.SUCCESS",
                &paid_resource("Q2026112501", 4500),
                1_795_593_600,
            ),
        )
        .unwrap();
    assert!(outcome.verified);
    assert_eq!(
        (outcome.response.status, outcome.response.body.len()),
        (204, 0)
    );
    assert_eq!(
        outcome.event,
        Some(CallbackEvent::Payment(PaymentUpdate {
            merchant_order_no: "Q2026112501".into(),
            channel_order_no: Some("4200000000202611250000000001".into()),
            status: PaymentStatus::Succeeded,
            amount: 4500,
            currency: "CNY".into(),
        }))
    );
    let refund: Value =
        serde_json::from_str(&refund_answer("R2026112501", "SUCCESS", 1000)).unwrap();
    let refund = json!({"mchid": MCHID, "out_trade_no": refund["out_trade_no"], "transaction_id": refund["transaction_id"], "out_refund_no": "R2026112501",
        "refund_id": refund["refund_id"], "refund_status": "SUCCESS", "success_time": "2026-11-25T17:00:05+08:00", "amount": {"total": 8888, "refund": 1000, "payer_total": 8888, "payer_refund": 1000}});
    let outcome = WechatPay
        .handle_callback(
            &support::host(),
            &ctx(),
            callback("REFUND.SUCCESS", &refund, 1_795_593_600),
        )
        .unwrap();
    assert!(
        matches!(outcome.event, Some(CallbackEvent::Refund(ref r)) if r.merchant_refund_no == "R2026112501" && r.amount == 1000 && r.status == RefundStatus::Succeeded)
    );
}

#[test]
fn forged_stale_or_undecryptable_callbacks_change_nothing() {
    let good = callback(
        "TRANSACTION.SUCCESS",
        &paid_resource("Q2026112501", 4500),
        1_795_593_600,
    );
    let mut tampered = good.clone();
    tampered.body = String::from_utf8(good.body.clone())
        .unwrap()
        .replace("支付成功", "paid")
        .into_bytes();
    let mut other_serial = good.clone();
    other_serial.headers[0].1 = "PUB_KEY_ID_OTHER".into();
    let stale = callback(
        "TRANSACTION.SUCCESS",
        &paid_resource("Q2026112501", 4500),
        1_795_593_600 - 301,
    );
    for (case, request) in [
        ("tampered", tampered),
        ("another serial", other_serial),
        ("replayed after 5 minutes", stale),
    ] {
        let outcome = WechatPay
            .handle_callback(&support::host(), &ctx(), request)
            .unwrap();
        assert!(!outcome.verified && outcome.event.is_none(), "{case}");
        assert_eq!(outcome.response.status, 401, "{case}");
    }
    // Signed correctly but sealed with another key: an error, so WeChat retries.
    let wrong_key = paycore_plugin_sdk::testing::FakeHost::new()
        .with_rsa_public_key("platform_public_key", PLATFORM_PUBLIC)
        .with_aes_key("apiv3_key", b"ANOTHERApiV3Key0123456789abcdefg");
    let err = WechatPay
        .handle_callback(&wrong_key, &ctx(), good)
        .unwrap_err();
    assert_eq!(code(&err), "malformed_callback");
}
