//! WeChat Pay's trade bill (交易账单) of the simulated merchant account:
//! `GET /v3/bill/tradebill` (authenticated and signed like every answer)
//! and the download it names, `GET /v3/billdownload/file?token=…`
//! (authenticated, answered without signature headers).
//!
//! The bill of a day is built from the orders the simulator processed, by
//! its business clock in Beijing time: a `SUCCESS` row for each payment
//! paid that day, a `REFUND` row for each refund accepted that day, and a
//! `REVOKED` row for each paid payment-code order revoked that day. It
//! exists once WeChat would have generated it, 10:00 Beijing time the
//! next day; before that the answer is `STATEMENT_CREATING`, and a day the
//! account moved no money has none (`NO_STATEMENT_EXIST`).
//!
//! The file is UTF-8 CSV (with a byte-order mark, `\r\n` line ends): the
//! ALL bill's 27 columns, every field after a backtick, then the summary
//! (`总交易单数,…`) and its row. `hash_value` is the SHA-1 of that text;
//! the file is served gzipped (`tar_type=GZIP`) once, within 30 seconds
//! (real time) of the answer that named it.
//!
//! Fees are 0.6 % of each payment, rounded to the fen half up (四舍五入),
//! and written with WeChat's five decimals. A refund gives back 0.6 % of
//! its amount, so rounded, but never more than the payment's fee has left;
//! the refund that completes the payment, or the revocation, gives back
//! all that is left, so a payment given back in full costs nothing.
//! Given-back fees are negative.
//!
//! Tests change a day's bill through [`Server`]'s `bill_*` controls: add a
//! row paycore never saw, drop one, restate its amount or fee (the summary
//! follows, as a channel's own bill would), or spoil the file itself
//! ([`BillFault`]).

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use flate2::Compression;
use flate2::write::GzEncoder;
use paycore_plugin_sdk::money;
use serde_json::json;
use sha1::{Digest, Sha1};
use time::macros::{format_description, offset, time};
use time::{Date, OffsetDateTime, Time};

use super::{Server, Sim, error};
use crate::orders::Order;

/// When WeChat has generated yesterday's bill (Beijing time).
pub const READY_AT: Time = time!(10:00);

/// How long a `download_url` lives.
pub const URL_LIFETIME: Duration = Duration::from_secs(30);

/// The ALL bill's columns, in WeChat's order.
pub const COLUMNS: [&str; 27] = [
    "交易时间",
    "公众账号ID",
    "商户号",
    "特约商户号",
    "设备号",
    "微信订单号",
    "商户订单号",
    "用户标识",
    "交易类型",
    "交易状态",
    "付款银行",
    "货币种类",
    "应结订单金额",
    "代金券金额",
    "微信退款单号",
    "商户退款单号",
    "退款金额",
    "充值券退款金额",
    "退款类型",
    "退款状态",
    "商品名称",
    "商户数据包",
    "手续费",
    "费率",
    "订单金额",
    "申请退款金额",
    "费率备注",
];

pub const SUMMARY_COLUMNS: [&str; 7] = [
    "总交易单数",
    "应结订单总金额",
    "退款总金额",
    "充值券退款总金额",
    "手续费总金额",
    "订单总金额",
    "申请退款总金额",
];

const APPID: &str = "wxd678efh567hg6787";
const OPENID: &str = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";

/// A row of a day's bill, by the numbers paycore sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillRow {
    /// The payment of this merchant order number.
    Payment(String),
    /// The refund of this merchant refund number.
    Refund(String),
    /// The revocation of this merchant order number.
    Reversal(String),
}

/// A file that does not come out right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BillFault {
    /// `hash_value` is not the file's SHA-1.
    WrongHash,
    /// The download stops halfway through the gzip.
    TruncatedGzip,
    /// The first row's 订单金额 is written `1,234.00` (hash_value matches
    /// the file as written).
    MalformedAmount,
}

/// A test's change to a day's bill, applied in order when it is built.
#[derive(Debug, Clone)]
enum Change {
    Add(Row),
    Drop(BillRow),
    Amount(BillRow, i64),
    Fee(BillRow, i64),
    Fault(BillFault),
}

/// One detail row; amounts in fen.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    at: OffsetDateTime,
    trade_no: String,
    out_trade_no: String,
    trade_type: &'static str,
    /// `SUCCESS`, `REFUND` or `REVOKED`.
    state: &'static str,
    /// 微信退款单号 and 商户退款单号: `0` on a payment.
    refund_id: String,
    refund_no: String,
    /// 订单金额 (and 应结订单金额: no coupons here) of a payment.
    order_amount: i64,
    /// 退款金额 (and 申请退款金额) of a refund or revocation.
    refund_amount: i64,
    /// Charged (+) or given back (−).
    fee: i64,
}

impl Row {
    fn is(&self, which: &BillRow) -> bool {
        match which {
            BillRow::Payment(no) => self.state == "SUCCESS" && self.out_trade_no == *no,
            BillRow::Refund(no) => self.state == "REFUND" && self.refund_no == *no,
            BillRow::Reversal(no) => self.state == "REVOKED" && self.out_trade_no == *no,
        }
    }
}

/// A download that was named, waiting to be fetched once.
struct Download {
    named: Instant,
    body: Arc<Vec<u8>>,
}

/// What a bill is cached against: the day, the orders' version, the
/// changes' revision and whether it is gzipped.
type MadeKey = (Date, u64, u64, bool);

#[derive(Default)]
struct Inner {
    changes: HashMap<Date, Vec<Change>>,
    downloads: HashMap<String, Download>,
    /// Bumped by every change, so a cached bill is made again.
    revision: u64,
    /// The last bill made, with its `hash_value`. WeChat serves a file made
    /// once; making it again for every page would measure the simulator,
    /// not the reader.
    made: Option<(MadeKey, String, Arc<Vec<u8>>)>,
}

/// The bills' state: tests' changes per day and the downloads named.
#[derive(Clone, Default)]
pub struct Bills(Arc<Mutex<Inner>>);

impl Bills {
    fn change(&self, day: &str, change: Change) {
        let mut inner = self.0.lock().unwrap();
        inner.revision += 1;
        inner
            .changes
            .entry(date(day).expect("a YYYY-MM-DD day"))
            .or_default()
            .push(change);
    }

    fn revision(&self) -> u64 {
        self.0.lock().unwrap().revision
    }

    /// The bill made for `key`, if it is the last one made.
    fn made(&self, key: MadeKey) -> Option<(String, Arc<Vec<u8>>)> {
        match &self.0.lock().unwrap().made {
            Some((made, hash, body)) if *made == key => Some((hash.clone(), body.clone())),
            _ => None,
        }
    }

    fn keep(&self, key: MadeKey, hash: String, body: Arc<Vec<u8>>) {
        self.0.lock().unwrap().made = Some((key, hash, body));
    }

    fn changes(&self, day: Date) -> Vec<Change> {
        self.0
            .lock()
            .unwrap()
            .changes
            .get(&day)
            .cloned()
            .unwrap_or_default()
    }

    fn name(&self, token: String, body: Arc<Vec<u8>>) {
        let named = Instant::now();
        self.0
            .lock()
            .unwrap()
            .downloads
            .insert(token, Download { named, body });
    }

    /// The file `token` names, once, if it is still fresh at `now`.
    fn take(&self, token: &str, now: Instant) -> Option<Arc<Vec<u8>>> {
        let download = self.0.lock().unwrap().downloads.remove(token)?;
        (now.duration_since(download.named) <= URL_LIFETIME).then_some(download.body)
    }
}

/// The tests' controls over the bills.
impl Server {
    /// Adds a payment paycore never saw to `day`'s bill (at noon).
    pub fn bill_add_payment(&self, day: &str, out_trade_no: &str, amount: i64) {
        let row = Row {
            at: noon(day),
            trade_no: self.channel.orders.next_id("42000000002026"),
            out_trade_no: out_trade_no.to_owned(),
            trade_type: "MICROPAY",
            state: "SUCCESS",
            refund_id: "0".into(),
            refund_no: "0".into(),
            order_amount: amount,
            refund_amount: 0,
            fee: fee(amount),
        };
        self.channel.bills.change(day, Change::Add(row));
    }

    /// Adds a refund paycore never asked for (one made in the merchant
    /// platform) to `day`'s bill (at noon).
    pub fn bill_add_refund(&self, day: &str, out_trade_no: &str, out_refund_no: &str, amount: i64) {
        let trade_no = self
            .channel
            .orders
            .get(out_trade_no)
            .map(|o| o.trade_no)
            .unwrap_or_else(|| self.channel.orders.next_id("42000000002026"));
        let row = Row {
            at: noon(day),
            trade_no,
            out_trade_no: out_trade_no.to_owned(),
            trade_type: "MICROPAY",
            state: "REFUND",
            refund_id: self.channel.orders.next_id("503000000020261125"),
            refund_no: out_refund_no.to_owned(),
            order_amount: 0,
            refund_amount: amount,
            fee: -fee(amount),
        };
        self.channel.bills.change(day, Change::Add(row));
    }

    /// Leaves a row out of `day`'s bill.
    pub fn bill_drop(&self, day: &str, row: BillRow) {
        self.channel.bills.change(day, Change::Drop(row));
    }

    /// Restates a row's amount (fen); its fee stays.
    pub fn bill_set_amount(&self, day: &str, row: BillRow, amount: i64) {
        self.channel.bills.change(day, Change::Amount(row, amount));
    }

    /// Restates a row's fee (fen, negative when given back).
    pub fn bill_set_fee(&self, day: &str, row: BillRow, fee: i64) {
        self.channel.bills.change(day, Change::Fee(row, fee));
    }

    /// Spoils `day`'s file from now on.
    pub fn bill_fault(&self, day: &str, fault: BillFault) {
        self.channel.bills.change(day, Change::Fault(fault));
    }

    /// Forgets every change made to `day`'s bill: it is the orders' again.
    pub fn bill_reset(&self, day: &str) {
        let day = date(day).expect("a YYYY-MM-DD day");
        let mut inner = self.channel.bills.0.lock().unwrap();
        inner.revision += 1;
        inner.changes.remove(&day);
    }

    /// `day`'s bill as it would be published now (whether or not it is
    /// ready): the CSV text before any fault, or `None` if it has no row.
    pub fn trade_bill(&self, day: &str) -> Option<String> {
        let day = date(day).expect("a YYYY-MM-DD day");
        let built = build(&self.channel, day);
        (!built.rows.is_empty()).then(|| render(&self.channel.config.mchid, &built.rows, false))
    }
}

/// `GET /v3/bill/tradebill`: (status, JSON) for the signed answer.
pub(super) fn tradebill(sim: &Sim, uri: &Uri, headers: &HeaderMap) -> (u16, String) {
    let query: HashMap<String, String> =
        form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let Some(day) = query.get("bill_date").and_then(|d| date(d)) else {
        return error(400, "PARAM_ERROR", "bill_date 格式错误，应为 yyyy-MM-DD");
    };
    if query.get("bill_type").is_some_and(|t| t != "ALL") {
        return error(400, "PARAM_ERROR", "本账单仅提供 bill_type=ALL");
    }
    let gzip = match query.get("tar_type").map(String::as_str) {
        None => false,
        Some("GZIP") => true,
        Some(_) => return error(400, "PARAM_ERROR", "tar_type 仅支持 GZIP"),
    };
    match readiness(day, sim.orders.now()) {
        Readiness::Future => return error(400, "INVALID_REQUEST", "请检查bill_date，并重新调用"),
        Readiness::Creating => return error(400, "STATEMENT_CREATING", "账单生成中"),
        Readiness::Ready => {}
    }
    let key = (day, sim.orders.version(), sim.bills.revision(), gzip);
    let (hash_value, body) = match sim.bills.made(key) {
        Some(made) => made,
        None => {
            let built = build(sim, day);
            if built.rows.is_empty() {
                return error(400, "NO_STATEMENT_EXIST", "账单文件不存在");
            }
            let (hash_value, body) = make(sim, &built, gzip);
            let body = Arc::new(body);
            sim.bills.keep(key, hash_value.clone(), body.clone());
            (hash_value, body)
        }
    };
    let token = sim.orders.next_id("BILLTOKEN");
    sim.bills.name(token.clone(), body);
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    (
        200,
        json!({
            "hash_type": "SHA1",
            "hash_value": hash_value,
            "download_url": format!("http://{host}/v3/billdownload/file?token={token}"),
        })
        .to_string(),
    )
}

/// The file served and its `hash_value`, spoiled as the day's faults say.
fn make(sim: &Sim, built: &Built, gzip: bool) -> (String, Vec<u8>) {
    let malformed = built.faults.contains(&BillFault::MalformedAmount);
    let text = render(&sim.config.mchid, &built.rows, malformed);
    let mut hash_value = hex::encode(Sha1::digest(text.as_bytes()));
    let mut body = text.into_bytes();
    if gzip {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(&body).expect("gzip in memory");
        body = encoder.finish().expect("gzip in memory");
    }
    for fault in &built.faults {
        match fault {
            BillFault::WrongHash => hash_value = hex::encode(Sha1::digest(hash_value.as_bytes())),
            BillFault::TruncatedGzip => body.truncate(body.len() / 2),
            BillFault::MalformedAmount => {}
        }
    }
    (hash_value, body)
}

/// `GET /v3/billdownload/file?token=…`: the file, with no signature
/// headers; `Err` is an error answer to sign like the others.
pub(super) fn download(sim: &Sim, uri: &Uri) -> Result<Response, (u16, String)> {
    let token = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let Some(body) = sim.bills.take(&token, Instant::now()) else {
        return Err(error(
            400,
            "INVALID_REQUEST",
            "请按第一步申请账单的API指引，重新获取账单地址后再请求",
        ));
    };
    Ok((
        StatusCode::OK,
        [("content-type", "application/octet-stream")],
        body.to_vec(),
    )
        .into_response())
}

#[derive(Debug, PartialEq, Eq)]
enum Readiness {
    Future,
    Creating,
    Ready,
}

/// Whether `day`'s bill exists at `now`.
fn readiness(day: Date, now: OffsetDateTime) -> Readiness {
    let now = now.to_offset(offset!(+8));
    match day.next_day() {
        _ if day > now.date() => Readiness::Future,
        Some(next) if now >= next.with_time(READY_AT).assume_offset(offset!(+8)) => {
            Readiness::Ready
        }
        _ => Readiness::Creating,
    }
}

struct Built {
    rows: Vec<Row>,
    faults: Vec<BillFault>,
}

/// `day`'s rows from the orders, with the tests' changes applied.
fn build(sim: &Sim, day: Date) -> Built {
    let mut rows = rows_of(&sim.orders.all(), day);
    let mut faults = Vec::new();
    for change in sim.bills.changes(day) {
        match change {
            Change::Add(row) => rows.push(row),
            Change::Drop(which) => rows.retain(|r| !r.is(&which)),
            Change::Amount(which, amount) => {
                for row in rows.iter_mut().filter(|r| r.is(&which)) {
                    match row.state {
                        "SUCCESS" => row.order_amount = amount,
                        _ => row.refund_amount = amount,
                    }
                }
            }
            Change::Fee(which, fee) => {
                for row in rows.iter_mut().filter(|r| r.is(&which)) {
                    row.fee = fee;
                }
            }
            Change::Fault(fault) => faults.push(fault),
        }
    }
    rows.sort_by(|a, b| {
        (a.at, &a.out_trade_no, a.state, &a.refund_no).cmp(&(
            b.at,
            &b.out_trade_no,
            b.state,
            &b.refund_no,
        ))
    });
    Built { rows, faults }
}

/// 0.6 % of `amount` fen, to the fen, half up.
pub fn fee(amount: i64) -> i64 {
    ((i128::from(amount) * 6 + 500) / 1000) as i64
}

/// The rows `orders` put on `day` (Beijing time).
fn rows_of(orders: &[Order], day: Date) -> Vec<Row> {
    let on_day = |at: Option<OffsetDateTime>| {
        at.map(|t| t.to_offset(offset!(+8)))
            .filter(|t| t.date() == day)
    };
    let mut rows = Vec::new();
    for o in orders {
        let Some(paid_at) = o.paid_at else { continue };
        // Payment-code orders carry no notify_url; the others' kind (Native,
        // JSAPI, app, H5) is not kept, and nothing reads it.
        let trade_type = if o.notify_url.is_none() {
            "MICROPAY"
        } else {
            "NATIVE"
        };
        let charged = fee(o.amount);
        let base = Row {
            at: paid_at,
            trade_no: o.trade_no.clone(),
            out_trade_no: o.out_trade_no.clone(),
            trade_type,
            state: "SUCCESS",
            refund_id: "0".into(),
            refund_no: "0".into(),
            order_amount: o.amount,
            refund_amount: 0,
            fee: charged,
        };
        if let Some(at) = on_day(Some(paid_at)) {
            rows.push(Row { at, ..base.clone() });
        }
        let (mut refunded, mut returned) = (0, 0);
        for refund in &o.refunds {
            refunded += refund.amount;
            let back = if refunded >= o.amount {
                charged - returned
            } else {
                fee(refund.amount).min(charged - returned)
            };
            returned += back;
            if let Some(at) = on_day(refund.at) {
                rows.push(Row {
                    at,
                    state: "REFUND",
                    refund_id: refund.id.clone(),
                    refund_no: refund.no.clone(),
                    order_amount: 0,
                    refund_amount: refund.amount,
                    fee: -back,
                    ..base.clone()
                });
            }
        }
        if let Some(at) = on_day(o.reversed_at) {
            // WeChat refunds a revoked order under a refund id of its own;
            // the merchant gave no refund number.
            rows.push(Row {
                at,
                state: "REVOKED",
                refund_id: format!("5030{}", &o.trade_no[o.trade_no.len().min(4)..]),
                refund_no: "0".into(),
                order_amount: 0,
                refund_amount: o.amount - refunded,
                fee: -(charged - returned),
                ..base
            });
        }
    }
    rows
}

fn yuan(fen: i64) -> String {
    money::to_major_string(fen, "CNY").expect("CNY")
}

/// Fees as WeChat writes them: five decimals (`0.53000`, `-0.05000`).
fn fee_text(fen: i64) -> String {
    format!("{}000", yuan(fen))
}

/// The file's text; `malformed` writes the first row's 订单金额 with a
/// thousands separator.
fn render(mchid: &str, rows: &[Row], malformed: bool) -> String {
    let line = |fields: &[String]| {
        let mut text = String::new();
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push('`');
            text.push_str(field);
        }
        text.push_str("\r\n");
        text
    };
    let mut text = format!("\u{feff}{}\r\n", COLUMNS.join(","));
    let (mut settled, mut refunded, mut fees, mut ordered) = (0, 0, 0, 0);
    for (i, r) in rows.iter().enumerate() {
        settled += r.order_amount;
        refunded += r.refund_amount;
        fees += r.fee;
        ordered += r.order_amount;
        let payment = r.state == "SUCCESS";
        let order_amount = if i == 0 && malformed {
            "1,234.00".to_owned()
        } else {
            yuan(r.order_amount)
        };
        text.push_str(&line(&[
            r.at.to_offset(offset!(+8))
                .format(format_description!(
                    "[year]-[month]-[day] [hour]:[minute]:[second]"
                ))
                .expect("a time"),
            APPID.into(),
            mchid.into(),
            "0".into(),
            String::new(),
            r.trade_no.clone(),
            r.out_trade_no.clone(),
            OPENID.into(),
            r.trade_type.into(),
            r.state.into(),
            "OTHERS".into(),
            "CNY".into(),
            yuan(r.order_amount),
            "0.00".into(),
            r.refund_id.clone(),
            r.refund_no.clone(),
            yuan(r.refund_amount),
            "0.00".into(),
            if payment { "" } else { "ORIGINAL" }.into(),
            if payment { "" } else { "SUCCESS" }.into(),
            "商品".into(),
            String::new(),
            fee_text(r.fee),
            "0.60%".into(),
            order_amount,
            yuan(r.refund_amount),
            String::new(),
        ]));
    }
    text.push_str(&SUMMARY_COLUMNS.join(","));
    text.push_str("\r\n");
    text.push_str(&line(&[
        rows.len().to_string(),
        yuan(settled),
        yuan(refunded),
        "0.00".into(),
        fee_text(fees),
        yuan(ordered),
        yuan(refunded),
    ]));
    text
}

fn date(day: &str) -> Option<Date> {
    Date::parse(day, format_description!("[year]-[month]-[day]")).ok()
}

fn noon(day: &str) -> OffsetDateTime {
    date(day)
        .expect("a YYYY-MM-DD day")
        .with_time(time!(12:00))
        .assume_offset(offset!(+8))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::{Behaviour, OrderState, Refund};
    use time::macros::datetime;

    fn order(no: &str, amount: i64, paid: OffsetDateTime) -> Order {
        Order {
            out_trade_no: no.into(),
            trade_no: format!("4200000000202606010{}", &no[no.len() - 1..]),
            amount,
            state: OrderState::Paid,
            behaviour: Behaviour::Pay,
            queries: 0,
            scanned: true,
            notify_url: None,
            refunds: Vec::new(),
            paid_at: Some(paid),
            reversed_at: None,
        }
    }

    fn refund(no: &str, amount: i64, at: OffsetDateTime) -> Refund {
        Refund {
            at: Some(at),
            ..Refund::new(no.into(), amount, format!("50300{no}"))
        }
    }

    const JUNE_1: Date = time::macros::date!(2031 - 06 - 01);

    #[test]
    fn fees_are_six_per_mille_rounded_half_up() {
        for (amount, expected) in [
            (8888, 53),
            (1000, 6),
            (2500, 15),
            (4200, 25),
            (250, 2),
            (83, 0),
            (84, 1),
            (0, 0),
        ] {
            assert_eq!(fee(amount), expected, "{amount}");
        }
        assert_eq!(fee_text(53), "0.53000");
        assert_eq!(fee_text(-5), "-0.05000");
        assert_eq!(fee_text(0), "0.00000");
    }

    #[test]
    fn a_day_lists_its_payments_refunds_and_revocations_in_beijing_time() {
        let mut refunded = order("WX-1", 8888, datetime!(2031-06-01 02:00 UTC));
        refunded
            .refunds
            .push(refund("WX-1-R1", 888, datetime!(2031-06-01 03:00 UTC)));
        // The rest refunded the next day: its fee is all that is left.
        refunded
            .refunds
            .push(refund("WX-1-R2", 8000, datetime!(2031-06-01 16:00 UTC)));
        let mut revoked = order("WX-3", 2500, datetime!(2031-06-01 04:00 UTC));
        revoked.state = OrderState::Cancelled;
        revoked.reversed_at = Some(datetime!(2031-06-01 05:00 UTC));
        // Paid at 23:59:59 in Beijing, and one a second later.
        let late = order("WX-5", 1000, datetime!(2031-06-01 15:59:59 UTC));
        let early = order("WX-6", 1000, datetime!(2031-06-01 16:00 UTC));
        let unpaid = Order {
            paid_at: None,
            ..order("WX-7", 700, datetime!(2031-06-01 02:00 UTC))
        };
        let all = [refunded, revoked, late, early, unpaid];
        let rows = rows_of(&all, JUNE_1);
        let seen: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r.state,
                    r.out_trade_no.as_str(),
                    r.order_amount,
                    r.refund_amount,
                    r.fee,
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("SUCCESS", "WX-1", 8888, 0, 53),
                ("REFUND", "WX-1", 0, 888, -5),
                ("SUCCESS", "WX-3", 2500, 0, 15),
                ("REVOKED", "WX-3", 0, 2500, -15),
                ("SUCCESS", "WX-5", 1000, 0, 6),
            ]
        );
        let june_2 = rows_of(&all, JUNE_1.next_day().unwrap());
        let seen: Vec<_> = june_2
            .iter()
            .map(|r| {
                (
                    r.state,
                    r.out_trade_no.as_str(),
                    r.refund_no.as_str(),
                    r.fee,
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("REFUND", "WX-1", "WX-1-R2", -48),
                ("SUCCESS", "WX-6", "0", 6)
            ]
        );
    }

    #[test]
    fn the_file_has_the_published_columns_backticks_and_summary() {
        let mut paid = order("WX-1", 8888, datetime!(2031-06-01 02:00:01 UTC));
        paid.refunds
            .push(refund("WX-1-R1", 888, datetime!(2031-06-01 03:00 UTC)));
        let text = render("1900000001", &rows_of(&[paid], JUNE_1), false);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines.len(), 6, "{text}");
        assert_eq!(lines[0], format!("\u{feff}{}", COLUMNS.join(",")));
        assert_eq!(
            lines[1],
            "`2031-06-01 10:00:01,`wxd678efh567hg6787,`1900000001,`0,`,`42000000002026060101,`WX-1,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`MICROPAY,`SUCCESS,`OTHERS,`CNY,`88.88,`0.00,`0,`0,`0.00,`0.00,`,`,`商品,`,`0.53000,`0.60%,`88.88,`0.00,`"
        );
        assert_eq!(
            lines[2],
            "`2031-06-01 11:00:00,`wxd678efh567hg6787,`1900000001,`0,`,`42000000002026060101,`WX-1,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`MICROPAY,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`50300WX-1-R1,`WX-1-R1,`8.88,`0.00,`ORIGINAL,`SUCCESS,`商品,`,`-0.05000,`0.60%,`0.00,`8.88,`"
        );
        assert_eq!(lines[3], SUMMARY_COLUMNS.join(","));
        assert_eq!(lines[4], "`2,`88.88,`8.88,`0.00,`0.48000,`88.88,`8.88");
        assert_eq!(lines[5], "");
        let spoiled = render(
            "1900000001",
            &rows_of(
                &[order("WX-2", 1000, datetime!(2031-06-01 02:00 UTC))],
                JUNE_1,
            ),
            true,
        );
        assert!(spoiled.contains("`0.60%,`1,234.00,`0.00,`"), "{spoiled}");
    }

    #[test]
    fn a_bill_is_ready_at_ten_the_next_morning_in_beijing() {
        let at = |t: OffsetDateTime| readiness(JUNE_1, t);
        assert_eq!(at(datetime!(2031-06-01 10:00 +8)), Readiness::Creating);
        assert_eq!(at(datetime!(2031-06-02 09:59:59 +8)), Readiness::Creating);
        assert_eq!(at(datetime!(2031-06-02 02:00 UTC)), Readiness::Ready);
        assert_eq!(at(datetime!(2031-07-01 00:00 +8)), Readiness::Ready);
        assert_eq!(at(datetime!(2031-05-31 23:00 +8)), Readiness::Future);
        // 1 June 16:00 UTC is already 2 June in Beijing.
        assert_eq!(at(datetime!(2031-06-01 16:00 UTC)), Readiness::Creating);
    }

    #[test]
    fn a_download_is_served_once_within_thirty_seconds() {
        let bills = Bills::default();
        bills.name("T1".into(), Arc::new(b"file".to_vec()));
        bills.name("T2".into(), Arc::new(b"file".to_vec()));
        let now = Instant::now();
        assert_eq!(bills.take("T1", now).as_deref(), Some(&b"file".to_vec()));
        assert_eq!(bills.take("T1", now), None, "once");
        assert_eq!(
            bills.take("T2", now + Duration::from_secs(31)),
            None,
            "expired"
        );
        assert_eq!(bills.take("T3", now), None);
    }
}
