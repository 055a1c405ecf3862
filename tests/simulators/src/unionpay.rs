//! UnionPay's merchant QR-code payment gateway, acp interface 5.1.0, as
//! UnionPay publishes it (`plugins/unionpay/README.md` cites the documents):
//!
//! - `POST /gateway/api/backTransReq.do`: consume (txnType 01; B扫C with the
//!   payer's `qrNo`, txnSubType 06, or C扫B answering a `qrCode`, 07),
//!   refund (04), revoke (31) and reversal (99);
//! - `POST /gateway/api/queryTrans.do`: the status of a consume, refund or
//!   revoke by its `orderId` + `txnTime`;
//! - notifications POSTed to each transaction's `backUrl`.
//!
//! Requests are verified by `certId` (the merchant certificate's serial, in
//! decimal) and the double-hash signature; answers (`k=v&…`, raw values) and
//! notifications are signed with UnionPay's signing key and carry its
//! certificate as `signPubKeyCert`, which tests can spoil with
//! [`CertificateFault`]. A refused request changes nothing and is answered
//! signed, with the code the 应答码 table gives (see [`codes`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use time::OffsetDateTime;
use time::macros::{format_description, offset};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::clock::BusinessClock;
use crate::control::Simulator;
use crate::orders::{Order, Orders};

#[path = "unionpay_certs.rs"]
mod certs;
#[path = "unionpay_checks.rs"]
mod checks;
#[path = "unionpay_message.rs"]
pub mod message;
#[path = "unionpay_notify.rs"]
mod notify;
#[path = "unionpay_trades.rs"]
mod trades;

pub use certs::{CertificateFault, FIRST_SERIAL, IMPOSTOR_NAME, UNIONPAY_NAME};
pub use message::{RespCode, codes};
pub use notify::Delivery;

use checks::{Checked, Reply, checked, one_of, refuse, required, set};
use message::Fields;

/// Where consume, refund, revoke and reversal go, under the base URL.
pub const BACK_TRANS_PATH: &str = "/gateway/api/backTransReq.do";
/// Where queries go, under the base URL.
pub const QUERY_TRANS_PATH: &str = "/gateway/api/queryTrans.do";
/// The demo merchant certificate's serial: the `certId` its requests carry.
pub const DEMO_MERCHANT_CERT_ID: &str = "69629715588";

#[derive(Clone)]
pub struct Config {
    /// The merchant (`merId`, 15 characters) this gateway serves.
    pub mer_id: String,
    /// The merchant signing certificates the gateway knows: `certId`
    /// (serial in decimal) → the certificate's public key (SPKI PEM).
    pub merchant_certs: HashMap<String, String>,
    /// UnionPay's signing key (PKCS#8 PEM), certified at start.
    pub sign_private_key: String,
    /// The middle (intermediate) CA certificate and key that issue the
    /// signing certificate.
    pub middle_cert: String,
    pub middle_private_key: String,
    /// The key of a CA outside UnionPay's chain (PKCS#8 PEM): issues the
    /// [`CertificateFault::WrongChain`] certificate and signs notifications
    /// spoiled with `Tweak::bad_signature`. Neither root nor middle key, so
    /// a verifier that skips a link of the chain still fails.
    pub stranger_ca_private_key: String,
    /// How late a `Timeout` order's consume answer comes.
    pub slow: Duration,
    /// What dates payments and refunds (and `settleDate`, `traceTime`,
    /// `queryId`, the same-day rule of reversals and revokes).
    pub clock: BusinessClock,
    /// Whether the gateway sends notifications on its own when a consume
    /// succeeds, a refund or revoke is accepted, or a reversal is done (as
    /// UnionPay does); tests that send their own with `notify` may turn it
    /// off.
    pub notify_automatically: bool,
    /// How long after the event its notification goes out.
    pub notify_delay: Duration,
    /// The waits between retries of a notification the merchant did not
    /// answer HTTP 200 (UnionPay: up to 5, growing).
    pub notify_retry_delays: Vec<Duration>,
}

impl Config {
    /// The demo merchant `mer_id` with the committed demo keys.
    pub fn demo(mer_id: &str) -> Config {
        Config {
            mer_id: mer_id.to_owned(),
            merchant_certs: HashMap::from([(
                DEMO_MERCHANT_CERT_ID.to_owned(),
                crate::demo_keys::UNIONPAY_MERCHANT_PUBLIC.to_owned(),
            )]),
            sign_private_key: crate::demo_keys::UNIONPAY_SIGN_PRIVATE.to_owned(),
            middle_cert: crate::demo_keys::UNIONPAY_MIDDLE_CERT.to_owned(),
            middle_private_key: crate::demo_keys::UNIONPAY_MIDDLE_PRIVATE.to_owned(),
            // A committed key that has nothing to do with UnionPay's chain.
            stranger_ca_private_key: crate::demo_keys::ALIPAY_GATEWAY_PRIVATE.to_owned(),
            slow: Duration::from_secs(4),
            clock: BusinessClock::system(),
            notify_automatically: true,
            notify_delay: Duration::from_millis(300),
            // UnionPay's minutes, compressed to seconds for the demo.
            notify_retry_delays: [1, 2, 4, 8, 16].map(Duration::from_secs).to_vec(),
        }
    }
}

/// What a transaction is, for its `txnType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Consume,
    Refund,
    Revoke,
}

impl Kind {
    fn txn_type(self) -> &'static str {
        match self {
            Kind::Consume => "01",
            Kind::Refund => "04",
            Kind::Revoke => "31",
        }
    }
}

/// A transaction as UnionPay knows it, by its own `orderId`: what `Order`
/// does not hold (the identifying `txnTime`, its sub type, a refund's own
/// number and `backUrl`, a decline's code).
#[derive(Debug, Clone)]
struct Txn {
    kind: Kind,
    sub_type: String,
    order_id: String,
    txn_time: String,
    /// The consume this transaction belongs to (its own id for a consume).
    consume: String,
    /// A refund's or revoke's amount (a consume's is its order's).
    amount: i64,
    query_id: String,
    /// The consume's `queryId`, for a refund or revoke.
    orig_qry_id: Option<String>,
    back_url: Option<String>,
    /// When it arrived, by the business clock (reversals: same day only).
    at: OffsetDateTime,
    /// Why a consume failed, for its query's `origRespCode`.
    failure: Option<RespCode>,
    trace_no: String,
    trace_time: String,
    settle_date: String,
    /// The reversal's `queryId` once the consume was reversed.
    reversal_query_id: Option<String>,
}

/// The certificate answers are signed under, and the test's spoilers.
struct Signer {
    certificate: String,
    next_serial: u64,
    spoil_answers: bool,
}

#[derive(Default)]
struct Ledger {
    txns: HashMap<String, Txn>,
    deliveries: Vec<Delivery>,
}

/// The gateway's state, behind its routes.
#[derive(Clone)]
pub struct Sim {
    config: Arc<Config>,
    orders: Orders,
    base: String,
    authority: Arc<certs::Authority>,
    signer: Arc<Mutex<Signer>>,
    ledger: Arc<Mutex<Ledger>>,
    /// While set, the gateway sends no notification of its own (a test
    /// that must see paycore settle a payment by query alone).
    withhold_notifications: Arc<std::sync::atomic::AtomicBool>,
}

/// A running gateway.
pub type Gateway = Simulator<Sim>;

impl Simulator<Sim> {
    pub async fn start(addr: &str, config: Config) -> anyhow::Result<Gateway> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let authority = certs::Authority::new(
            &config.middle_cert,
            &config.middle_private_key,
            &config.sign_private_key,
            &config.stranger_ca_private_key,
        )?;
        let certificate = authority.issue(None, FIRST_SERIAL)?;
        let sim = Sim {
            orders: Orders::with_clock(config.clock.clone()),
            config: Arc::new(config),
            base: format!("http://{}", listener.local_addr()?),
            authority: Arc::new(authority),
            signer: Arc::new(Mutex::new(Signer {
                certificate,
                next_serial: FIRST_SERIAL + 1,
                spoil_answers: false,
            })),
            ledger: Arc::default(),
            withhold_notifications: Arc::default(),
        };
        let api = Router::new()
            .route(BACK_TRANS_PATH, post(back_trans))
            .route(QUERY_TRANS_PATH, post(query_trans));
        Simulator::serve(listener, api, sim)
    }

    /// `http://127.0.0.1:port`: the `{base}` the protocol's paths hang from
    /// (what the plugin's gateway setting takes).
    pub fn gateway_url(&self) -> String {
        self.channel.base.clone()
    }

    pub fn back_trans_url(&self) -> String {
        format!("{}{BACK_TRANS_PATH}", self.channel.base)
    }

    pub fn query_trans_url(&self) -> String {
        format!("{}{QUERY_TRANS_PATH}", self.channel.base)
    }

    /// From now on answers and notifications carry a certificate spoiled
    /// this way (freshly issued, next serial), signed with its key; `None`
    /// goes back to a good one.
    pub fn certificate_fault(&self, fault: Option<CertificateFault>) {
        let mut signer = self.channel.signer.lock().unwrap();
        signer.certificate = self
            .channel
            .authority
            .issue(fault, signer.next_serial)
            .expect("the signing certificate is issued");
        signer.next_serial += 1;
    }

    /// While on, the gateway notifies nobody on its own; notifications a
    /// test asks for (`notify`, `buyer_pays`) are still sent.
    pub fn withhold_notifications(&self, withhold: bool) {
        self.channel
            .withhold_notifications
            .store(withhold, std::sync::atomic::Ordering::SeqCst);
    }

    /// While on, every answer's signature has a byte flipped.
    pub fn answer_signature_fault(&self, spoil: bool) {
        self.channel.signer.lock().unwrap().spoil_answers = spoil;
    }

    /// The PEM answers and notifications carry now as `signPubKeyCert`.
    pub fn signing_certificate(&self) -> String {
        self.channel.signer.lock().unwrap().certificate.clone()
    }

    /// The certificate of the CA outside UnionPay's chain that issues the
    /// [`CertificateFault::WrongChain`] certificate.
    pub fn stranger_ca_certificate(&self) -> String {
        self.channel.authority.stranger_cert().to_owned()
    }

    /// The consume's `queryId` (what a refund names as `origQryId`).
    pub fn query_id(&self, order_id: &str) -> Option<String> {
        self.channel.orders.get(order_id).map(|o| o.trade_no)
    }

    /// Every notification sent so far, automatic or asked for, with the
    /// merchant's answer.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.channel.ledger.lock().unwrap().deliveries.clone()
    }
}

/// Which of the two endpoints a request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    BackTrans,
    Query,
}

async fn back_trans(State(sim): State<Sim>, body: Bytes) -> Response {
    sim.serve(Endpoint::BackTrans, &body).await
}

async fn query_trans(State(sim): State<Sim>, body: Bytes) -> Response {
    sim.serve(Endpoint::Query, &body).await
}

fn beijing(
    at: OffsetDateTime,
    format: &[time::format_description::BorrowedFormatItem<'_>],
) -> String {
    at.to_offset(offset!(+8)).format(format).unwrap_or_default()
}

const STAMP: &[time::format_description::BorrowedFormatItem<'_>] =
    format_description!("[year][month][day][hour][minute][second]");

impl Sim {
    async fn serve(&self, endpoint: Endpoint, body: &[u8]) -> Response {
        self.orders
            .record_request(String::from_utf8_lossy(body).into_owned());
        let request = paycore_plugin_sdk::params::parse_form(body);
        let reply = match self.process(endpoint, &request) {
            Ok(reply) | Err(reply) => reply,
        };
        if reply.late {
            tokio::time::sleep(self.config.slow).await;
        }
        let spoil = reply.spoil || self.signer.lock().unwrap().spoil_answers;
        let fields = self.signed(reply.fields, spoil, None);
        (
            [("content-type", "text/plain;charset=UTF-8")],
            message::answer_body(&fields),
        )
            .into_response()
    }

    /// `fields` with `signPubKeyCert` and `signature` (made with `key`, by
    /// default UnionPay's signing key; a byte flipped when `spoil`).
    fn signed(&self, mut fields: Fields, spoil: bool, key: Option<&str>) -> Fields {
        let certificate = self.signer.lock().unwrap().certificate.clone();
        set(&mut fields, "signPubKeyCert", certificate);
        let mut signature = message::sign(key.unwrap_or(&self.config.sign_private_key), &fields);
        if spoil {
            let middle = signature.len() / 2;
            signature[middle] ^= 0x01;
        }
        set(&mut fields, "signature", STANDARD.encode(signature));
        fields
    }

    fn process(&self, endpoint: Endpoint, request: &[(String, String)]) -> Checked<Reply> {
        self.authenticate(request)?;
        match (endpoint, required(request, "txnType")?) {
            (Endpoint::Query, "00") => self.query(request),
            (Endpoint::BackTrans, "01") => self.consume(request),
            (Endpoint::BackTrans, "04") => self.refund(request),
            (Endpoint::BackTrans, "31") => self.revoke(request),
            (Endpoint::BackTrans, "99") => self.reversal(request),
            _ => Err(refuse(request, codes::MALFORMED, Some("txnType"))),
        }
    }

    /// The envelope, the signature by `certId`, and the merchant.
    fn authenticate(&self, request: &[(String, String)]) -> Checked<()> {
        if message::has_repeated_key(request) {
            return Err(refuse(request, codes::MALFORMED, Some("repeated field")));
        }
        one_of(request, "version", &["5.1.0"])?;
        checked(request, "encoding", |v| v.eq_ignore_ascii_case("UTF-8"))?;
        one_of(request, "signMethod", &["01"])?;
        let cert_id = required(request, "certId")?;
        required(request, "signature")?;
        let Some(public_key) = self.config.merchant_certs.get(cert_id) else {
            return Err(refuse(request, codes::BAD_SIGNATURE, Some("certId")));
        };
        if !message::verify(public_key, request) {
            return Err(refuse(request, codes::BAD_SIGNATURE, None));
        }
        let mer_id = checked(request, "merId", |v| v.len() == 15)?;
        if mer_id != self.config.mer_id {
            return Err(refuse(request, codes::MERCHANT_STATE, Some("merId")));
        }
        Ok(())
    }

    /// What every backTransReq must say: the product and the channel.
    fn back_trans_envelope(request: &[(String, String)]) -> Checked<()> {
        one_of(request, "bizType", &["000000"])?;
        one_of(request, "accessType", &["0"])?;
        one_of(request, "channelType", &["07", "08"])
    }

    /// A new `queryId`: the business time and a counter, 21 digits.
    fn new_query_id(&self) -> String {
        let counter = self.orders.next_id("");
        format!(
            "{}{}",
            beijing(self.orders.now(), STAMP),
            &counter[counter.len() - 7..]
        )
    }

    /// A transaction stamped now (its `queryId`, trace number and time,
    /// settle date), standing alone: a refund or revoke then names its
    /// consume, and whoever has one sets its `backUrl`.
    fn new_txn(
        &self,
        kind: Kind,
        sub_type: &str,
        order_id: &str,
        txn_time: &str,
        amount: i64,
    ) -> Txn {
        let now = self.orders.now();
        let counter = self.orders.next_id("");
        Txn {
            kind,
            sub_type: sub_type.to_owned(),
            order_id: order_id.to_owned(),
            txn_time: txn_time.to_owned(),
            consume: order_id.to_owned(),
            amount,
            query_id: self.new_query_id(),
            orig_qry_id: None,
            back_url: None,
            at: now,
            failure: None,
            trace_no: counter[counter.len() - 6..].to_owned(),
            trace_time: beijing(
                now,
                format_description!("[month][day][hour][minute][second]"),
            ),
            settle_date: beijing(now, format_description!("[month][day]")),
            reversal_query_id: None,
        }
    }

    /// Takes `orderId` for `txn`, unless some transaction has it already.
    fn reserve(&self, txn: Txn) -> bool {
        let mut ledger = self.ledger.lock().unwrap();
        if ledger.txns.contains_key(&txn.order_id) || self.orders.get(&txn.order_id).is_some() {
            return false;
        }
        ledger.txns.insert(txn.order_id.clone(), txn);
        true
    }

    fn release(&self, order_id: &str) {
        self.ledger.lock().unwrap().txns.remove(order_id);
    }

    /// The transaction `orderId` + `txnTime` name. An order put in without
    /// the API (`insert_order`) is taken as a consume of that `txnTime`.
    fn find(&self, order_id: &str, txn_time: &str) -> Option<Txn> {
        let known = self.ledger.lock().unwrap().txns.get(order_id).cloned();
        match known {
            Some(txn) => (txn.txn_time == txn_time).then_some(txn),
            None => {
                let order = self.orders.get(order_id)?;
                Some(self.adopt(&order, txn_time))
            }
        }
    }

    /// The consume transaction of `order`, made up (and kept) for an order
    /// that did not come through the API.
    fn consume_of(&self, order: &Order) -> Txn {
        let known = self
            .ledger
            .lock()
            .unwrap()
            .txns
            .get(&order.out_trade_no)
            .cloned();
        known.unwrap_or_else(|| self.adopt(order, &beijing(self.orders.now(), STAMP)))
    }

    fn adopt(&self, order: &Order, txn_time: &str) -> Txn {
        let txn = Txn {
            query_id: order.trade_no.clone(),
            back_url: order.notify_url.clone(),
            ..self.new_txn(
                Kind::Consume,
                "06",
                &order.out_trade_no,
                txn_time,
                order.amount,
            )
        };
        self.ledger
            .lock()
            .unwrap()
            .txns
            .entry(order.out_trade_no.clone())
            .or_insert(txn)
            .clone()
    }
}
