//! The Alipay OpenAPI v2 gateway: `POST /gateway.do` (form, RSA2-signed)
//! answering `{"<method>_response":{…},"sign":"…"}`, `GET /gateway.do` as
//! the cashier page behind `wap.pay`/`page.pay`/`app.pay` strings, and
//! `trade_status_sync` notifications to the merchant's `notify_url`.

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use paycore_plugin_sdk::money;
use paycore_plugin_sdk::params::{canonical_string, form_urlencode, parse_form};
use paycore_plugin_sdk::testing::{rsa_sign, rsa_verify};
use serde_json::{Value, json};

use crate::clock::BusinessClock;
use crate::control::{Channel, Simulator};
use crate::orders::{Behaviour, Order, OrderState, Orders, Refund, Tweak};
use crate::server::client;

#[path = "alipay_bill.rs"]
pub mod bill;

#[derive(Clone)]
pub struct Config {
    pub app_id: String,
    /// The merchant's application public key, to verify requests.
    pub merchant_public_key: String,
    /// The gateway's private key, to sign answers and notifications.
    pub gateway_private_key: String,
    /// How late a `Timeout` order's pay answer comes.
    pub slow: Duration,
    /// What dates payments and refunds (and so the statement's days).
    pub clock: BusinessClock,
}

impl Config {
    pub fn demo(app_id: &str) -> Config {
        Config {
            app_id: app_id.to_owned(),
            merchant_public_key: crate::demo_keys::ALIPAY_MERCHANT_PUBLIC.to_owned(),
            gateway_private_key: crate::demo_keys::ALIPAY_GATEWAY_PRIVATE.to_owned(),
            slow: Duration::from_secs(4),
            clock: BusinessClock::system(),
        }
    }
}

/// The gateway's state, behind its routes.
#[derive(Clone)]
pub struct Sim {
    config: Config,
    orders: Orders,
    pub(crate) base: String,
    /// What tests did to the trade statement, and its download links.
    pub(crate) bills: bill::Bills,
}

/// A running gateway.
pub type Gateway = Simulator<Sim>;

impl Simulator<Sim> {
    pub async fn start(addr: &str, config: Config) -> anyhow::Result<Gateway> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let sim = Sim {
            orders: Orders::with_clock(config.clock.clone()),
            config,
            base: format!("http://{}", listener.local_addr()?),
            bills: Default::default(),
        };
        let api = Router::new()
            .route("/gateway.do", get(cashier_page).post(gateway))
            .route("/downloadBillFile.resource", get(bill::download));
        Simulator::serve(listener, api, sim)
    }

    /// `http://127.0.0.1:port/gateway.do`
    pub fn gateway_url(&self) -> String {
        format!("{}/gateway.do", self.channel.base)
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
        let status = match order.state {
            OrderState::Paid => "TRADE_SUCCESS",
            OrderState::Waiting => "WAIT_BUYER_PAY",
            OrderState::Closed | OrderState::Cancelled => "TRADE_CLOSED",
        };
        let amount = yuan(tweak.amount.unwrap_or(order.amount));
        let mut params: Vec<(String, String)> = [
            ("notify_time", now_beijing().as_str()),
            ("notify_type", "trade_status_sync"),
            ("notify_id", &self.orders.next_id("ac0509952473069")),
            ("app_id", &self.config.app_id),
            ("charset", "utf-8"),
            ("version", "1.0"),
            ("sign_type", "RSA2"),
            ("trade_no", &order.trade_no),
            ("out_trade_no", out_trade_no),
            ("trade_status", status),
            ("total_amount", &amount),
            ("receipt_amount", &amount),
            ("buyer_id", "2088102122524333"),
            ("gmt_payment", now_beijing().as_str()),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let content = canonical_string(&params, &["sign", "sign_type"]);
        let key = if tweak.bad_signature {
            crate::demo_keys::ALIPAY_MERCHANT_PRIVATE
        } else {
            &self.config.gateway_private_key
        };
        params.push((
            "sign".into(),
            STANDARD.encode(rsa_sign(key, content.as_bytes())),
        ));
        let response = client()
            .post(url)
            .header(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )
            .body(form_urlencode(&params))
            .send()
            .await
            .expect("paycore answers the notification");
        (
            response.status().as_u16(),
            response.text().await.unwrap_or_default(),
        )
    }
}

fn yuan(fen: i64) -> String {
    money::to_major_string(fen, "CNY").expect("CNY amounts")
}

fn fen(yuan: &str) -> Option<i64> {
    money::parse_major(yuan, "CNY").ok()
}

fn now_beijing() -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+8))
        .format(fmt)
        .unwrap_or_default()
}

/// The answer body, the node's text signed as it appears.
fn answer(sim: &Sim, method: &str, node: &Value, spoil: bool) -> Response {
    let text = node.to_string();
    let signed = if spoil {
        format!("{text} ")
    } else {
        text.clone()
    };
    let sign = STANDARD.encode(rsa_sign(&sim.config.gateway_private_key, signed.as_bytes()));
    let name = format!("{}_response", method.replace('.', "_"));
    let body = format!(r#"{{"{name}":{text},"sign":"{sign}"}}"#);
    ([("content-type", "application/json;charset=utf-8")], body).into_response()
}

pub(crate) fn error(code: &str, msg: &str, sub_code: &str, sub_msg: &str) -> Value {
    json!({"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg})
}

pub(crate) fn business(sub_code: &str, sub_msg: &str) -> Value {
    error("40004", "Business Failed", sub_code, sub_msg)
}

/// Checks the request's signature and app; `Err` is the gateway's answer.
fn authenticate(sim: &Sim, params: &[(String, String)]) -> Result<(), Value> {
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if get("app_id") != Some(sim.config.app_id.as_str()) {
        return Err(error(
            "40002",
            "Invalid Arguments",
            "isv.invalid-app-id",
            "无效的AppID参数",
        ));
    }
    if get("sign_type") != Some("RSA2") {
        return Err(error(
            "40002",
            "Invalid Arguments",
            "isv.invalid-signature-type",
            "无效的签名类型",
        ));
    }
    let content = canonical_string(params, &["sign"]);
    let sig = get("sign")
        .and_then(|s| STANDARD.decode(s).ok())
        .unwrap_or_default();
    if !rsa_verify(&sim.config.merchant_public_key, content.as_bytes(), &sig) {
        return Err(error(
            "40002",
            "Invalid Arguments",
            "isv.invalid-signature",
            &format!(
                "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：{content}"
            ),
        ));
    }
    Ok(())
}

async fn gateway(State(sim): State<Sim>, body: Bytes) -> Response {
    sim.orders
        .record_request(String::from_utf8_lossy(&body).into_owned());
    let params = parse_form(&body);
    let method = params
        .iter()
        .find(|(k, _)| k == "method")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    if let Err(node) = authenticate(&sim, &params) {
        return answer(&sim, &method, &node, false);
    }
    let notify_url = params
        .iter()
        .find(|(k, _)| k == "notify_url")
        .map(|(_, v)| v.clone());
    let biz: Value = params
        .iter()
        .find(|(k, _)| k == "biz_content")
        .and_then(|(_, v)| serde_json::from_str(v).ok())
        .unwrap_or(Value::Null);
    let (node, spoil, late) = handle(&sim, &method, &biz, notify_url);
    if late {
        tokio::time::sleep(sim.config.slow).await;
    }
    answer(&sim, &method, &node, spoil)
}

/// (answer node, spoil its signature, answer late)
fn handle(sim: &Sim, method: &str, biz: &Value, notify_url: Option<String>) -> (Value, bool, bool) {
    let out_trade_no = biz["out_trade_no"].as_str().unwrap_or_default().to_owned();
    let existing = if out_trade_no.is_empty() {
        biz["trade_no"]
            .as_str()
            .and_then(|t| sim.orders.by_trade_no(t))
    } else {
        sim.orders.get(&out_trade_no)
    };
    let spoil = existing
        .as_ref()
        .is_some_and(|o| o.behaviour == Behaviour::BadSignature);
    let node = match method {
        "alipay.trade.pay" | "alipay.trade.precreate" | "alipay.trade.create" => {
            return create(sim, method, biz, &out_trade_no, notify_url);
        }
        "alipay.trade.query" => match existing.filter(|o| o.scanned) {
            None => business("ACQ.TRADE_NOT_EXIST", "交易不存在"),
            Some(o) => {
                let o = sim
                    .orders
                    .update(&o.out_trade_no, |o| {
                        o.queried();
                        o.clone()
                    })
                    .unwrap();
                let status = match o.state {
                    OrderState::Waiting => "WAIT_BUYER_PAY",
                    OrderState::Paid if o.refunded() == o.amount => "TRADE_CLOSED",
                    OrderState::Paid => "TRADE_SUCCESS",
                    OrderState::Closed | OrderState::Cancelled => "TRADE_CLOSED",
                };
                json!({"code": "10000", "msg": "Success", "trade_no": o.trade_no, "out_trade_no": o.out_trade_no,
                       "buyer_logon_id": "159****5620", "trade_status": status, "total_amount": yuan(o.amount)})
            }
        },
        "alipay.trade.close" => match existing.filter(|o| o.scanned) {
            None => business("ACQ.TRADE_NOT_EXIST", "交易不存在"),
            Some(o) if o.state == OrderState::Waiting => {
                sim.orders
                    .update(&o.out_trade_no, |o| o.state = OrderState::Closed);
                json!({"code": "10000", "msg": "Success", "trade_no": o.trade_no, "out_trade_no": o.out_trade_no})
            }
            Some(_) => business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法"),
        },
        "alipay.trade.cancel" => match existing {
            None => business("ACQ.TRADE_NOT_EXIST", "交易不存在"),
            Some(o) if o.refunded() > 0 => business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法"),
            Some(o) => {
                let action = if o.state == OrderState::Paid {
                    "refund"
                } else {
                    "close"
                };
                sim.orders
                    .update(&o.out_trade_no, |o| o.state = OrderState::Cancelled);
                json!({"code": "10000", "msg": "Success", "trade_no": o.trade_no, "out_trade_no": o.out_trade_no, "retry_flag": "N", "action": action})
            }
        },
        "alipay.trade.refund" => refund(sim, existing, biz),
        "alipay.data.dataservice.bill.downloadurl.query" => bill::download_url_query(sim, biz),
        "alipay.trade.fastpay.refund.query" => {
            let no = biz["out_request_no"].as_str().unwrap_or_default();
            match existing.and_then(|o| {
                o.refunds
                    .iter()
                    .find(|r| r.no == no)
                    .map(|r| (o.clone(), r.amount))
            }) {
                Some((o, amount)) => {
                    json!({"code": "10000", "msg": "Success", "trade_no": o.trade_no, "out_trade_no": o.out_trade_no,
                    "out_request_no": no, "total_amount": yuan(o.amount), "refund_amount": yuan(amount), "refund_status": "REFUND_SUCCESS"})
                }
                None => json!({"code": "10000", "msg": "Success"}),
            }
        }
        _ => error(
            "40002",
            "Invalid Arguments",
            "isv.invalid-method",
            "不存在的方法名",
        ),
    };
    (node, spoil, false)
}

fn create(
    sim: &Sim,
    method: &str,
    biz: &Value,
    out_trade_no: &str,
    notify_url: Option<String>,
) -> (Value, bool, bool) {
    let Some(amount) = biz["total_amount"]
        .as_str()
        .and_then(fen)
        .filter(|a| *a > 0)
    else {
        return (
            error(
                "40002",
                "Invalid Arguments",
                "isv.invalid-parameter",
                "total_amount 不合法",
            ),
            false,
            false,
        );
    };
    if let Some(o) = sim.orders.get(out_trade_no) {
        let sub = if o.state == OrderState::Paid {
            ("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
        } else {
            ("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
        };
        return (business(sub.0, sub.1), false, false);
    }
    let auth_code = biz["auth_code"].as_str();
    let behaviour = sim.orders.behaviour(out_trade_no, auth_code);
    let trade_no = sim.orders.next_id("2026112522001");
    let mut order = Order {
        out_trade_no: out_trade_no.to_owned(),
        trade_no: trade_no.clone(),
        amount,
        state: OrderState::Waiting,
        behaviour,
        queries: 0,
        scanned: method != "alipay.trade.precreate",
        notify_url,
        refunds: Vec::new(),
        paid_at: None,
        reversed_at: None,
    };
    let spoil = behaviour == Behaviour::BadSignature;
    let node = match method {
        "alipay.trade.pay" => {
            if auth_code.is_none_or(str::is_empty) {
                return (
                    error(
                        "40001",
                        "Missing Required Arguments",
                        "isv.missing-auth-code",
                        "缺少必选参数auth_code",
                    ),
                    false,
                    false,
                );
            }
            let paid = json!({"code": "10000", "msg": "Success", "trade_no": trade_no, "out_trade_no": out_trade_no, "buyer_logon_id": "159****5620",
                              "total_amount": yuan(amount), "receipt_amount": yuan(amount), "gmt_payment": now_beijing(), "buyer_user_id": "2088101117955611"});
            match behaviour {
                Behaviour::Pay | Behaviour::BadSignature | Behaviour::Timeout => {
                    order.state = OrderState::Paid;
                    sim.orders.insert(order);
                    return (paid, spoil, behaviour == Behaviour::Timeout);
                }
                Behaviour::UserPaying { .. } => {
                    sim.orders.insert(order);
                    return (
                        json!({"code": "10003", "msg": "order success pay inprocess", "trade_no": trade_no, "out_trade_no": out_trade_no,
                                   "buyer_logon_id": "159****5620", "total_amount": yuan(amount)}),
                        false,
                        false,
                    );
                }
                Behaviour::Decline => {
                    return (
                        business("ACQ.BUYER_BALANCE_NOT_ENOUGH", "买家余额不足"),
                        false,
                        false,
                    );
                }
            }
        }
        "alipay.trade.precreate" => {
            json!({"code": "10000", "msg": "Success", "out_trade_no": out_trade_no, "qr_code": format!("https://qr.alipay.com/bax{}", &trade_no[13..])})
        }
        _ => {
            if biz["buyer_id"].is_null() && biz["buyer_open_id"].is_null() {
                return (
                    error(
                        "40001",
                        "Missing Required Arguments",
                        "isv.missing-buyer-id",
                        "缺少必选参数buyer_id",
                    ),
                    false,
                    false,
                );
            }
            json!({"code": "10000", "msg": "Success", "out_trade_no": out_trade_no, "trade_no": trade_no})
        }
    };
    sim.orders.insert(order);
    (node, spoil, false)
}

fn refund(sim: &Sim, existing: Option<Order>, biz: &Value) -> Value {
    let Some(o) = existing else {
        return business("ACQ.TRADE_NOT_EXIST", "交易不存在");
    };
    if o.state != OrderState::Paid {
        return business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法");
    }
    let no = biz["out_request_no"]
        .as_str()
        .unwrap_or(&o.out_trade_no)
        .to_owned();
    let Some(amount) = biz["refund_amount"]
        .as_str()
        .and_then(fen)
        .filter(|a| *a > 0)
    else {
        return error(
            "40002",
            "Invalid Arguments",
            "isv.invalid-parameter",
            "refund_amount 不合法",
        );
    };
    let ok = |o: &Order, change: &str| {
        json!({"code": "10000", "msg": "Success", "trade_no": o.trade_no, "out_trade_no": o.out_trade_no,
        "buyer_logon_id": "159****5620", "fund_change": change, "refund_fee": yuan(o.refunded())})
    };
    if o.refunds.iter().any(|r| r.no == no) {
        return ok(&o, "N");
    }
    if o.refunded() + amount > o.amount {
        return business("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限");
    }
    let id = sim.orders.next_id("RF");
    let o = sim
        .orders
        .update(&o.out_trade_no, |o| {
            o.refunds.push(Refund::new(no, amount, id));
            o.clone()
        })
        .unwrap();
    ok(&o, "Y")
}

/// `GET /gateway.do?…`: the cashier page a `wap.pay`/`page.pay` URL or an
/// `app.pay` string opens. It verifies the string like the real gateway.
async fn cashier_page(State(sim): State<Sim>, RawQuery(query): RawQuery) -> Response {
    let query = query.unwrap_or_default();
    sim.orders.record_request(query.clone());
    let params = parse_form(query.as_bytes());
    if let Err(node) = authenticate(&sim, &params) {
        return (
            StatusCode::BAD_REQUEST,
            Html(format!("<h1>支付宝 — 错误</h1><pre>{node}</pre>")),
        )
            .into_response();
    }
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let biz: Value = get("biz_content")
        .and_then(|b| serde_json::from_str(&b).ok())
        .unwrap_or(Value::Null);
    let out_trade_no = biz["out_trade_no"].as_str().unwrap_or_default().to_owned();
    if sim.orders.get(&out_trade_no).is_none() {
        let amount = biz["total_amount"].as_str().and_then(fen).unwrap_or(0);
        let behaviour = sim.orders.behaviour(&out_trade_no, None);
        sim.orders.insert(Order {
            out_trade_no: out_trade_no.clone(),
            trade_no: sim.orders.next_id("2026112522001"),
            amount,
            state: OrderState::Waiting,
            behaviour,
            queries: 0,
            scanned: true,
            notify_url: get("notify_url"),
            refunds: Vec::new(),
            paid_at: None,
            reversed_at: None,
        });
    }
    Html(format!(
        "<h1>支付宝收银台 (simulator)</h1><p>{} — ¥{}</p><form method=post action=\"/_sim/pay?out_trade_no={out_trade_no}\"><button>pay</button></form>",
        get("method").unwrap_or_default(),
        biz["total_amount"].as_str().unwrap_or_default()
    ))
    .into_response()
}
