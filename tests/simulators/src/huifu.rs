//! Huifu's 斗拱 (dougong) open API v3 as paycore uses it for e-CNY
//! (数字人民币) at the till, following Huifu's official SDKs
//! (huifurepo `bspay-go-sdk`, `bspay-java-sdk-parent`, `bspay-php-sdk`,
//! `dg-python-sdk`), its skill pack and local sandbox (`dg-payment-skills`)
//! and a third-party transcription of its v3 API pages (`cccdl/dougong-pay`):
//!
//! - `POST /v3/trade/payment/micropay`: B扫C with the payer's e-CNY code
//!   (`^01[0-9]{17}$`), answered `D_MICROPAY`;
//! - `POST /v3/trade/payment/jspay` with `trade_type` `D_NATIVE`: C扫B,
//!   answered with a `qr_code`;
//! - `POST /v3/trade/payment/scanpay/query`, `…/scanpay/refund`,
//!   `…/scanpay/refundquery`;
//! - `POST /v2/trade/payment/scanpay/close` and `…/closequery`, which e-CNY
//!   orders refuse ("银联、数字货币订单不支持关单");
//! - notifications POSTed as a form (`resp_code`, `resp_desc`, `sign`,
//!   `resp_data`) to each call's `notify_url`, retried until answered
//!   `RECV_ORD_ID_<req_seq_id>`.
//!
//! Every request is a JSON envelope `{data, product_id, sign, sys_id}`;
//! `sign` is SHA256withRSA over the canonical text of the *parsed* `data`
//! (keys sorted, compact, minimal escapes), so SDKs that send `data`
//! unsorted or `\u`-escaped still verify. A request whose envelope is
//! wrong is answered with the gateway's unsigned HTTP status (921, 922,
//! 412) and changes nothing; a business refusal is answered HTTP 200,
//! signed, with a `resp_code` (see [`codes`]). Answers emit `data` as
//! canonical text and sign those exact bytes; notifications sign the
//! `resp_data` text as sent.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::{format_description, offset};

use crate::clock::BusinessClock;
use crate::control::Simulator;
use crate::orders::Orders;

#[path = "huifu_checks.rs"]
mod checks;
#[path = "huifu_ledger.rs"]
mod ledger;
#[path = "huifu_notify.rs"]
mod notify;
#[path = "huifu_trades.rs"]
mod trades;
#[path = "huifu_wire.rs"]
pub mod wire;

pub use notify::Delivery;
pub use wire::{RespCode, codes};

use checks::{Checked, Reply, Request};
use ledger::{Ledger, Payment, RefundTxn, TradeType};

pub const MICROPAY_PATH: &str = "/v3/trade/payment/micropay";
pub const JSPAY_PATH: &str = "/v3/trade/payment/jspay";
pub const QUERY_PATH: &str = "/v3/trade/payment/scanpay/query";
pub const REFUND_PATH: &str = "/v3/trade/payment/scanpay/refund";
pub const REFUND_QUERY_PATH: &str = "/v3/trade/payment/scanpay/refundquery";
pub const CLOSE_PATH: &str = "/v2/trade/payment/scanpay/close";
pub const CLOSE_QUERY_PATH: &str = "/v2/trade/payment/scanpay/closequery";

/// The demo merchant's number (Huifu's SDK demos use it), its own `sys_id`
/// as a direct merchant.
pub const DEMO_HUIFU_ID: &str = "6666000108854952";
/// The product Huifu assigns the demo (`product_id`).
pub const DEMO_PRODUCT_ID: &str = "MCS";

/// What the merchant must answer a notification with: this and the
/// notified `req_seq_id`, byte for byte.
pub const ACKNOWLEDGEMENT_PREFIX: &str = "RECV_ORD_ID_";

#[derive(Clone)]
pub struct Config {
    /// The caller the envelope names (`sys_id`): the merchant itself when
    /// it connects directly, as the demo does.
    pub sys_id: String,
    /// The merchant (`huifu_id` in `data`) this gateway serves.
    pub huifu_id: String,
    pub product_id: String,
    /// The merchant's public key (SPKI PEM): verifies requests.
    pub merchant_public_key: String,
    /// Huifu's private key (PKCS#8 PEM): signs answers and notifications.
    pub huifu_private_key: String,
    /// A key that is not Huifu's: signs notifications spoiled with
    /// `Tweak::bad_signature`.
    pub stranger_private_key: String,
    /// How late a `Timeout` order's pay answer comes.
    pub slow: Duration,
    /// What dates payments and refunds (`end_time`, `acct_date`, the
    /// serials) and what "today" is for micropay's `req_date`, besides the
    /// system's date.
    pub clock: BusinessClock,
    /// Whether the gateway notifies on its own when a payment or refund
    /// reaches a final state (as Huifu does); tests that send their own
    /// with `notify` may turn it off.
    pub notify_automatically: bool,
    /// How long after the event its notification goes out.
    pub notify_delay: Duration,
    /// How long the gateway waits for the merchant's answer (Huifu: 5 s).
    pub notify_timeout: Duration,
    /// The waits before each retry of a notification not acknowledged
    /// (Huifu: at most 3 retries; the interval is not published).
    pub notify_retry_delays: Vec<Duration>,
}

impl Config {
    /// Merchant `huifu_id`, connecting directly (`sys_id` = `huifu_id`),
    /// product [`DEMO_PRODUCT_ID`], with the committed demo keys.
    pub fn demo(huifu_id: &str) -> Config {
        Config {
            sys_id: huifu_id.to_owned(),
            huifu_id: huifu_id.to_owned(),
            product_id: DEMO_PRODUCT_ID.to_owned(),
            merchant_public_key: crate::demo_keys::ECNY_MERCHANT_PUBLIC.to_owned(),
            huifu_private_key: crate::demo_keys::ECNY_HUIFU_PRIVATE.to_owned(),
            // A committed key that has nothing to do with Huifu.
            stranger_private_key: crate::demo_keys::ALIPAY_GATEWAY_PRIVATE.to_owned(),
            slow: Duration::from_secs(4),
            clock: BusinessClock::system(),
            notify_automatically: true,
            notify_delay: Duration::from_millis(300),
            notify_timeout: Duration::from_secs(5),
            notify_retry_delays: vec![Duration::from_secs(1); 3],
        }
    }
}

/// The gateway's state, behind its routes.
#[derive(Clone)]
pub struct Sim {
    config: Arc<Config>,
    orders: Orders,
    base: String,
    ledger: Arc<Mutex<Ledger>>,
    /// While set, every answer's signature is spoiled.
    spoil_answers: Arc<AtomicBool>,
    /// While set, the gateway sends no notification of its own (a test
    /// that must see paycore settle a payment by query alone).
    withhold_notifications: Arc<AtomicBool>,
}

/// A running gateway.
pub type Gateway = Simulator<Sim>;

/// Which call a request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    Micropay,
    Jspay,
    Query,
    Refund,
    RefundQuery,
    Close,
    CloseQuery,
}

fn endpoint(operation: Operation) -> MethodRouter<Sim> {
    post(
        move |State(sim): State<Sim>, headers: HeaderMap, body: Bytes| async move {
            sim.serve(operation, &headers, &body).await
        },
    )
}

impl Simulator<Sim> {
    pub async fn start(addr: &str, config: Config) -> anyhow::Result<Gateway> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let sim = Sim {
            orders: Orders::with_clock(config.clock.clone()),
            config: Arc::new(config),
            base: format!("http://{}", listener.local_addr()?),
            ledger: Arc::default(),
            spoil_answers: Arc::default(),
            withhold_notifications: Arc::default(),
        };
        let api = Router::new()
            .route(MICROPAY_PATH, endpoint(Operation::Micropay))
            .route(JSPAY_PATH, endpoint(Operation::Jspay))
            .route(QUERY_PATH, endpoint(Operation::Query))
            .route(REFUND_PATH, endpoint(Operation::Refund))
            .route(REFUND_QUERY_PATH, endpoint(Operation::RefundQuery))
            .route(CLOSE_PATH, endpoint(Operation::Close))
            .route(CLOSE_QUERY_PATH, endpoint(Operation::CloseQuery));
        Simulator::serve(listener, api, sim)
    }

    /// `http://127.0.0.1:port`: what the protocol's paths hang from (the
    /// plugin's base URL setting, like `https://api.huifu.com`).
    pub fn base_url(&self) -> String {
        self.channel.base.clone()
    }

    /// While on, every answer's signature has a bit flipped.
    pub fn answer_signature_fault(&self, spoil: bool) {
        self.channel.spoil_answers.store(spoil, Ordering::SeqCst);
    }

    /// While on, the gateway notifies nobody on its own; notifications a
    /// test asks for (`notify`, `buyer_pays`) are still sent.
    pub fn withhold_notifications(&self, withhold: bool) {
        self.channel
            .withhold_notifications
            .store(withhold, Ordering::SeqCst);
    }

    /// Huifu's serial (`hf_seq_id`) of the payment `req_seq_id`.
    pub fn hf_seq_id(&self, req_seq_id: &str) -> Option<String> {
        self.channel.orders.get(req_seq_id).map(|o| o.trade_no)
    }

    /// [`hf_seq_id`](Self::hf_seq_id) under the name the other
    /// simulators give the channel's serial.
    pub fn query_id(&self, req_seq_id: &str) -> Option<String> {
        self.hf_seq_id(req_seq_id)
    }

    /// Huifu's serial of the refund whose own `req_seq_id` this is.
    pub fn refund_hf_seq_id(&self, refund_req_seq_id: &str) -> Option<String> {
        self.channel
            .refund_record(refund_req_seq_id)
            .map(|r| r.hf_seq_id)
    }

    /// Every notification sent so far, automatic or asked for, with the
    /// merchant's answer.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.channel.ledger.lock().unwrap().deliveries.clone()
    }
}

fn beijing(at: OffsetDateTime, format: &[BorrowedFormatItem<'_>]) -> String {
    at.to_offset(offset!(+8)).format(format).unwrap_or_default()
}

const DATE: &[BorrowedFormatItem<'_>] = format_description!("[year][month][day]");
const CLOCK_TIME: &[BorrowedFormatItem<'_>] = format_description!("[hour][minute][second]");
const STAMP: &[BorrowedFormatItem<'_>] =
    format_description!("[year][month][day][hour][minute][second]");

/// The gateway's own refusals: unsigned, empty, before any business check.
#[derive(Debug, Clone, Copy)]
enum GatewayRefusal {
    /// 412: not a JSON envelope with a `data` object.
    Malformed,
    /// 921: a `sys_id` or `product_id` this gateway does not serve.
    NotAuthorised,
    /// 922: no `sign`, or one that does not verify.
    BadSignature,
}

impl GatewayRefusal {
    fn status(self) -> u16 {
        match self {
            GatewayRefusal::Malformed => 412,
            GatewayRefusal::NotAuthorised => 921,
            GatewayRefusal::BadSignature => 922,
        }
    }
}

impl Sim {
    async fn serve(&self, operation: Operation, headers: &HeaderMap, body: &[u8]) -> Response {
        self.orders
            .record_request(String::from_utf8_lossy(body).into_owned());
        let request = match self.open(headers, body) {
            Ok(request) => request,
            Err(refusal) => {
                let status = StatusCode::from_u16(refusal.status()).expect("a 3-digit status");
                return status.into_response();
            }
        };
        let reply = match self.process(operation, &request) {
            Ok(reply) | Err(reply) => reply,
        };
        if reply.late {
            tokio::time::sleep(self.config.slow).await;
        }
        let spoil = reply.spoil || self.spoil_answers.load(Ordering::SeqCst);
        (
            [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
            self.answer_body(&reply.data, spoil),
        )
            .into_response()
    }

    /// The envelope: JSON, the caller, and the signature over the
    /// canonical text of the parsed `data`.
    fn open(&self, headers: &HeaderMap, body: &[u8]) -> Result<Request, GatewayRefusal> {
        let json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("application/json"));
        if !json {
            return Err(GatewayRefusal::Malformed);
        }
        let Ok(Value::Object(mut envelope)) = serde_json::from_slice::<Value>(body) else {
            return Err(GatewayRefusal::Malformed);
        };
        // `data` travels as an object, never as a JSON string.
        let Some(Value::Object(data)) = envelope.remove("data") else {
            return Err(GatewayRefusal::Malformed);
        };
        let field = |key: &str| envelope.get(key).and_then(Value::as_str);
        if field("sys_id") != Some(self.config.sys_id.as_str())
            || field("product_id") != Some(self.config.product_id.as_str())
        {
            return Err(GatewayRefusal::NotAuthorised);
        }
        let signature = field("sign").ok_or(GatewayRefusal::BadSignature)?;
        if !wire::verifies(
            &self.config.merchant_public_key,
            &wire::canonical(&data),
            signature,
        ) {
            return Err(GatewayRefusal::BadSignature);
        }
        Ok(Request { data })
    }

    fn process(&self, operation: Operation, request: &Request) -> Checked<Reply> {
        request.values_are_plain_strings()?;
        let huifu_id = checks::required(request, "huifu_id")?;
        if huifu_id != self.config.huifu_id {
            return Err(checks::refuse(
                request,
                codes::UNKNOWN_MERCHANT,
                Some("huifu_id"),
            ));
        }
        match operation {
            Operation::Micropay => self.micropay(request),
            Operation::Jspay => self.jspay(request),
            Operation::Query => self.query(request),
            Operation::Refund => self.refund(request),
            Operation::RefundQuery => self.refund_query(request),
            Operation::Close => self.close(request, true),
            Operation::CloseQuery => self.close(request, false),
        }
    }

    /// `{"data":<canonical text>,"sign":"…"}`, signed over exactly the text
    /// of `data` (a bit flipped when `spoil`).
    fn answer_body(&self, data: &wire::Data, spoil: bool) -> String {
        let text = wire::canonical_data(data);
        let mut signature = wire::sign(&self.config.huifu_private_key, &text);
        if spoil {
            signature = wire::spoiled(&signature);
        }
        format!(r#"{{"data":{text},"sign":"{signature}"}}"#)
    }

    /// Whether `req_date` is today in Beijing, by the business clock or the
    /// system's (paycore dates requests by its own clock, tests may move
    /// the simulator's).
    fn is_today(&self, req_date: &str) -> bool {
        [self.orders.now(), OffsetDateTime::now_utc()]
            .into_iter()
            .any(|now| beijing(now, DATE) == req_date)
    }
}
