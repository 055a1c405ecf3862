//! The WeChat Pay API v3: `/v3/pay/transactions/*` and their partner
//! variants, `/v3/refund/domestic/refunds` and the trade bill ([`bill`]),
//! each request authenticated by its `WECHATPAY2-SHA256-RSA2048` header,
//! each answer signed with the platform key (but the bill's file), and
//! callbacks whose resource is sealed with the APIv3 key.

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use paycore_plugin_sdk::testing::{aes256_gcm_encrypt, rsa_sign, rsa_verify};
use serde_json::{Value, json};

use crate::clock::BusinessClock;
use crate::control::{Channel, Simulator};
use crate::orders::{Behaviour, Order, OrderState, Orders, Refund, Tweak};
use crate::server::client;

#[path = "wechatpay_bill.rs"]
pub mod bill;

#[derive(Clone)]
pub struct Config {
    pub mchid: String,
    /// The serial of the merchant's API certificate, named in `Authorization`.
    pub merchant_serial: String,
    pub merchant_public_key: String,
    pub platform_serial: String,
    pub platform_private_key: String,
    pub apiv3_key: Vec<u8>,
    /// How late a `Timeout` order's codepay answer comes.
    pub slow: Duration,
    /// What dates payments and refunds (and so the statement's days).
    pub clock: BusinessClock,
}

impl Config {
    pub fn demo(mchid: &str, merchant_serial: &str, platform_serial: &str) -> Config {
        Config {
            mchid: mchid.to_owned(),
            merchant_serial: merchant_serial.to_owned(),
            merchant_public_key: crate::demo_keys::WECHATPAY_MERCHANT_PUBLIC.to_owned(),
            platform_serial: platform_serial.to_owned(),
            platform_private_key: crate::demo_keys::WECHATPAY_PLATFORM_PRIVATE.to_owned(),
            apiv3_key: crate::demo_keys::WECHATPAY_APIV3_KEY.to_vec(),
            slow: Duration::from_secs(4),
            clock: BusinessClock::system(),
        }
    }
}

/// The server's state, behind its routes.
#[derive(Clone)]
pub struct Sim {
    config: Config,
    orders: Orders,
    bills: bill::Bills,
}

/// A running WeChat Pay v3 server.
pub type Server = Simulator<Sim>;

impl Simulator<Sim> {
    pub async fn start(addr: &str, config: Config) -> anyhow::Result<Server> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let sim = Sim {
            orders: Orders::with_clock(config.clock.clone()),
            config,
            bills: bill::Bills::default(),
        };
        Simulator::serve(listener, Router::new().fallback(api), sim)
    }

    pub fn base_url(&self) -> String {
        self.running.url()
    }
}

impl Channel for Sim {
    fn orders(&self) -> &Orders {
        &self.orders
    }

    async fn notify(&self, out_trade_no: &str, tweak: Tweak) -> (u16, String) {
        let order = self.orders.get(out_trade_no).expect("a known order");
        let url = order
            .notify_url
            .clone()
            .expect("the order has a notify_url");
        let mut resource = transaction(&self.config, &order);
        if let Some(amount) = tweak.amount {
            resource["amount"]["total"] = amount.into();
            resource["amount"]["payer_total"] = amount.into();
        }
        let nonce = &self.orders.next_id("rn")[..12];
        let sealed = aes256_gcm_encrypt(
            &self.config.apiv3_key,
            nonce.as_bytes(),
            b"transaction",
            resource.to_string().as_bytes(),
        );
        let body = json!({
            "id": self.orders.next_id("EV-"), "create_time": now_rfc3339(), "resource_type": "encrypt-resource",
            "event_type": "TRANSACTION.SUCCESS", "summary": "支付成功",
            "resource": {"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM", "ciphertext": STANDARD.encode(sealed),
                         "associated_data": "transaction", "nonce": nonce},
        })
        .to_string();
        let key = if tweak.bad_signature {
            crate::demo_keys::WECHATPAY_MERCHANT_PRIVATE
        } else {
            &self.config.platform_private_key
        };
        let mut request = client()
            .post(url)
            .header("content-type", "application/json")
            .body(body.clone());
        for (name, value) in signature_headers(&self.config, key, &self.orders.next_id("N"), &body)
        {
            request = request.header(name, value);
        }
        let response = request.send().await.expect("paycore answers the callback");
        (
            response.status().as_u16(),
            response.text().await.unwrap_or_default(),
        )
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+8))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn signature_headers(
    config: &Config,
    key: &str,
    nonce: &str,
    body: &str,
) -> Vec<(&'static str, String)> {
    let ts = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
    let sig = STANDARD.encode(rsa_sign(key, format!("{ts}\n{nonce}\n{body}\n").as_bytes()));
    vec![
        ("Wechatpay-Serial", config.platform_serial.clone()),
        ("Wechatpay-Timestamp", ts),
        ("Wechatpay-Nonce", nonce.to_owned()),
        ("Wechatpay-Signature", sig),
    ]
}

/// A signed answer; `spoil` signs other bytes than the body.
fn reply(sim: &Sim, status: u16, body: String, spoil: bool) -> Response {
    let signed = if spoil {
        format!("{body} ")
    } else {
        body.clone()
    };
    let mut headers = signature_headers(
        &sim.config,
        &sim.config.platform_private_key,
        &sim.orders.next_id("N"),
        &signed,
    );
    if !body.is_empty() {
        headers.push(("Content-Type", "application/json".into()));
    }
    let mut response =
        (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body).into_response();
    for (k, v) in headers {
        response
            .headers_mut()
            .insert(k, v.parse().expect("header value"));
    }
    response
}

fn error(status: u16, code: &str, message: &str) -> (u16, String) {
    (
        status,
        json!({"code": code, "message": message}).to_string(),
    )
}

/// Authenticates the request as WeChat does; `Err` is the unsigned 401.
fn authenticate(
    sim: &Sim,
    method: &Method,
    uri: &Uri,
    headers: &axum::http::HeaderMap,
    body: &str,
) -> Result<(), Response> {
    let fail = |message: &str| {
        Err((
            StatusCode::UNAUTHORIZED,
            [("content-type", "application/json")],
            json!({"code": "SIGN_ERROR", "message": message}).to_string(),
        )
            .into_response())
    };
    let Some(fields) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("WECHATPAY2-SHA256-RSA2048 "))
    else {
        return fail("错误的签名，验签失败");
    };
    let get = |name: &str| {
        fields
            .split(',')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.trim_matches('"').to_owned())
    };
    let (Some(mchid), Some(nonce), Some(ts), Some(serial), Some(sig)) = (
        get("mchid"),
        get("nonce_str"),
        get("timestamp"),
        get("serial_no"),
        get("signature"),
    ) else {
        return fail("Authorization 头缺少必要字段");
    };
    if mchid != sim.config.mchid || serial != sim.config.merchant_serial {
        return fail("商户证书序列号有误");
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if ts.parse::<i64>().map_or(true, |t| (now - t).abs() > 300) {
        return fail("请求的时间戳已过期");
    }
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let message = format!("{method}\n{path}\n{ts}\n{nonce}\n{body}\n");
    let sig = STANDARD.decode(sig).unwrap_or_default();
    if !rsa_verify(&sim.config.merchant_public_key, message.as_bytes(), &sig) {
        return fail("错误的签名，验签失败");
    }
    Ok(())
}

async fn api(
    State(sim): State<Sim>,
    method: Method,
    uri: Uri,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    let body = String::from_utf8_lossy(&body).into_owned();
    sim.orders.record_request(format!("{method} {uri}\n{body}"));
    if let Err(refused) = authenticate(&sim, &method, &uri, &headers, &body) {
        return refused;
    }
    // The bill's file is the one answer WeChat does not sign.
    if method == Method::GET && uri.path() == "/v3/billdownload/file" {
        return bill::download(&sim, &uri)
            .unwrap_or_else(|(status, text)| reply(&sim, status, text, false));
    }
    let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let path = uri
        .path()
        .replace("/v3/pay/partner/transactions", "/v3/pay/transactions");
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (status, text, spoil, late) = match (method.as_str(), segments.as_slice()) {
        (
            "POST",
            [
                "v3",
                "pay",
                "transactions",
                kind @ ("codepay" | "jsapi" | "native" | "app" | "h5"),
            ],
        ) => create(&sim, kind, &json),
        ("GET", ["v3", "pay", "transactions", "out-trade-no", no]) => {
            query(&sim, sim.orders.get(no))
        }
        ("GET", ["v3", "pay", "transactions", "id", id]) => query(&sim, sim.orders.by_trade_no(id)),
        ("POST", ["v3", "pay", "transactions", "out-trade-no", no, "close"]) => {
            let (s, t) = match sim.orders.get(no) {
                None => error(404, "ORDER_NOT_EXIST", "订单不存在"),
                Some(o) if o.state == OrderState::Paid => error(400, "ORDERPAID", "订单已支付"),
                Some(_) => {
                    sim.orders.update(no, |o| o.state = OrderState::Closed);
                    (204, String::new())
                }
            };
            (s, t, false, false)
        }
        ("POST", ["v3", "pay", "transactions", "out-trade-no", no, "reverse"]) => {
            let (s, t) = match sim.orders.get(no) {
                None => error(404, "ORDER_NOT_EXIST", "订单不存在"),
                Some(o) if o.refunded() > 0 => {
                    error(400, "INVALID_REQUEST", "已发生退款的订单不能撤销")
                }
                Some(o) => {
                    sim.orders.update(no, |o| o.state = OrderState::Cancelled);
                    (200, json!({"appid": json["appid"], "mchid": sim.config.mchid, "out_trade_no": o.out_trade_no}).to_string())
                }
            };
            (s, t, false, false)
        }
        ("POST", ["v3", "refund", "domestic", "refunds"]) => {
            let (s, t) = refund(&sim, &json);
            (s, t, false, false)
        }
        ("GET", ["v3", "bill", "tradebill"]) => {
            let (s, t) = bill::tradebill(&sim, &uri, &headers);
            (s, t, false, false)
        }
        ("GET", ["v3", "refund", "domestic", "refunds", no]) => {
            let found = sim.orders.all_refund(no);
            let (s, t) = match found {
                Some((o, amount, id)) => (200, refund_json(&o, no, &id, amount, "SUCCESS")),
                None => error(404, "RESOURCE_NOT_EXISTS", "退款单不存在"),
            };
            (s, t, false, false)
        }
        _ => {
            let (s, t) = error(404, "NOT_FOUND", "请求的资源不存在");
            (s, t, false, false)
        }
    };
    if late {
        tokio::time::sleep(sim.config.slow).await;
    }
    reply(&sim, status, text, spoil)
}

fn trade_state(o: &Order) -> &'static str {
    match o.state {
        OrderState::Waiting if matches!(o.behaviour, Behaviour::UserPaying { .. }) => "USERPAYING",
        OrderState::Waiting => "NOTPAY",
        OrderState::Paid if o.refunded() > 0 => "REFUND",
        OrderState::Paid => "SUCCESS",
        OrderState::Closed => "CLOSED",
        OrderState::Cancelled => "REVOKED",
    }
}

fn transaction(config: &Config, o: &Order) -> Value {
    json!({"appid": "wxd678efh567hg6787", "mchid": config.mchid, "out_trade_no": o.out_trade_no, "transaction_id": o.trade_no,
           "trade_type": "MICROPAY", "trade_state": trade_state(o), "trade_state_desc": trade_state(o), "bank_type": "OTHERS",
           "success_time": now_rfc3339(), "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
           "amount": {"total": o.amount, "payer_total": o.amount, "currency": "CNY", "payer_currency": "CNY"}})
}

fn create(sim: &Sim, kind: &str, body: &Value) -> (u16, String, bool, bool) {
    let no = body["out_trade_no"].as_str().unwrap_or_default().to_owned();
    let Some(amount) = body["amount"]["total"].as_i64().filter(|a| *a > 0) else {
        let (s, t) = error(400, "PARAM_ERROR", "amount.total 必须大于 0");
        return (s, t, false, false);
    };
    let merchant = body["mchid"].as_str().or(body["sp_mchid"].as_str());
    if merchant != Some(sim.config.mchid.as_str()) {
        let (s, t) = error(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配");
        return (s, t, false, false);
    }
    if sim.orders.get(&no).is_some() {
        let (s, t) = error(400, "OUT_TRADE_NO_USED", "商户订单号重复");
        return (s, t, false, false);
    }
    let auth_code = body["payer"]["auth_code"].as_str();
    let behaviour = sim.orders.behaviour(&no, auth_code);
    let mut order = Order {
        out_trade_no: no.clone(),
        trade_no: sim.orders.next_id("42000000002026"),
        amount,
        state: OrderState::Waiting,
        behaviour,
        queries: 0,
        scanned: true,
        notify_url: body["notify_url"].as_str().map(str::to_owned),
        refunds: Vec::new(),
        paid_at: None,
        reversed_at: None,
    };
    let spoil = behaviour == Behaviour::BadSignature;
    let answer = match kind {
        "codepay" => match behaviour {
            Behaviour::Decline => {
                let (s, t) = error(403, "NOT_ENOUGH", "用户账号余额不足");
                return (s, t, false, false);
            }
            Behaviour::UserPaying { .. } => {
                sim.orders.insert(order);
                let (s, t) = error(202, "USERPAYING", "需要用户输入支付密码");
                return (s, t, false, false);
            }
            _ => {
                order.state = OrderState::Paid;
                let text = transaction(&sim.config, &order).to_string();
                sim.orders.insert(order);
                return (200, text, spoil, behaviour == Behaviour::Timeout);
            }
        },
        "native" => {
            json!({"code_url": format!("weixin://wxpay/bizpayurl?pr={}", &order.trade_no[8..])})
        }
        "h5" => {
            json!({"h5_url": format!("https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx{}&package=1037687096", order.trade_no)})
        }
        _ => json!({"prepay_id": format!("wx{}", order.trade_no)}),
    };
    sim.orders.insert(order);
    (200, answer.to_string(), spoil, false)
}

fn query(sim: &Sim, order: Option<Order>) -> (u16, String, bool, bool) {
    match order {
        None => {
            let (s, t) = error(404, "ORDER_NOT_EXIST", "订单不存在");
            (s, t, false, false)
        }
        Some(o) => {
            let o = sim
                .orders
                .update(&o.out_trade_no, |o| {
                    o.queried();
                    o.clone()
                })
                .unwrap();
            (
                200,
                transaction(&sim.config, &o).to_string(),
                o.behaviour == Behaviour::BadSignature,
                false,
            )
        }
    }
}

fn refund_json(o: &Order, no: &str, id: &str, amount: i64, status: &str) -> String {
    json!({"refund_id": id, "out_refund_no": no, "transaction_id": o.trade_no, "out_trade_no": o.out_trade_no, "channel": "ORIGINAL",
           "user_received_account": "支付用户零钱", "status": status, "create_time": now_rfc3339(),
           "amount": {"total": o.amount, "refund": amount, "payer_total": o.amount, "payer_refund": amount, "currency": "CNY"}}).to_string()
}

fn refund(sim: &Sim, body: &Value) -> (u16, String) {
    let order = match (
        body["transaction_id"].as_str(),
        body["out_trade_no"].as_str(),
    ) {
        (Some(id), _) => sim.orders.by_trade_no(id),
        (None, Some(no)) => sim.orders.get(no),
        _ => {
            return error(
                400,
                "PARAM_ERROR",
                "transaction_id 与 out_trade_no 必填其一",
            );
        }
    };
    let Some(o) = order else {
        return error(404, "RESOURCE_NOT_EXISTS", "订单不存在");
    };
    if o.state != OrderState::Paid {
        return error(400, "INVALID_REQUEST", "订单状态不正确");
    }
    let no = body["out_refund_no"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (Some(amount), Some(total)) = (
        body["amount"]["refund"].as_i64(),
        body["amount"]["total"].as_i64(),
    ) else {
        return error(400, "PARAM_ERROR", "amount 必填");
    };
    if total != o.amount {
        return error(400, "INVALID_REQUEST", "订单金额与原订单金额不一致");
    }
    if let Some(r) = o.refunds.iter().find(|r| r.no == no) {
        return (200, refund_json(&o, &no, &r.id, r.amount, "PROCESSING"));
    }
    if amount <= 0 || o.refunded() + amount > o.amount {
        return error(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额");
    }
    let id = sim.orders.next_id("503000000020261125");
    sim.orders.update(&o.out_trade_no, |o| {
        o.refunds.push(Refund::new(no.clone(), amount, id.clone()))
    });
    (200, refund_json(&o, &no, &id, amount, "PROCESSING"))
}
