//! Alipay's trade statement (业务明细, `bill_type=trade`) as the gateway
//! publishes it: `alipay.data.dataservice.bill.downloadurl.query` answers a
//! `bill_download_url` that works for 30 seconds, and the URL serves a ZIP
//! of two GBK-encoded CSV files, the detail (业务明细) and its summary
//! (业务明细(汇总)). Lines come from the trades this gateway processed;
//! a test can add a line Alipay never had in paycore's eyes, drop one,
//! restate an amount or fee, or spoil the whole file.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use paycore_plugin_sdk::money;
use serde_json::{Value, json};
use time::macros::{format_description, offset};
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};

use super::{Gateway, Sim};
use crate::control::Channel as _;
use crate::orders::Order;

/// How long a `bill_download_url` works (Alipay: 30 seconds).
const URL_LIFETIME: Duration = Duration::from_secs(30);
/// The simulated merchant's rate: 0.6 %, rounded to the fen half up.
const FEE_PER_MILLE: i64 = 6;
/// The merchant's Alipay user id (PID) the file names carry.
const PID: &str = "2088101117955611";

/// One line of the detail, before it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillLine {
    pub trade_no: String,
    pub out_trade_no: String,
    /// `None`: a payment (交易); `Some`: a refund (退款) with its
    /// `out_request_no`, empty for a reversed (cancelled) trade.
    pub refund_no: Option<String>,
    /// Fen, positive; written negative on a refund.
    pub amount: i64,
    /// The service fee charged (positive) or given back (negative), fen.
    pub fee: i64,
    pub finished: OffsetDateTime,
}

/// How a test spoils the whole file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillFault {
    /// The ZIP is cut off half-way.
    TruncatedArchive,
    /// The order's amount is written as something that is not money.
    MalformedAmount { out_trade_no: String },
    /// The summary counts one trade more than the detail holds.
    SummaryDisagrees,
}

/// A line whose amount or fee a test states otherwise.
struct Restated {
    out_trade_no: String,
    refund_no: Option<String>,
    amount: Option<i64>,
    fee: Option<i64>,
}

/// What a file is cached against: its day, the orders' version and the
/// edits' revision.
type MadeKey = (Date, u64, u64);

/// What tests did to the statement, kept by the gateway.
#[derive(Clone, Default)]
pub(crate) struct Bills(Arc<Mutex<Edits>>);

#[derive(Default)]
struct Edits {
    added: Vec<BillLine>,
    /// (out_trade_no, refund no or None for the payment line)
    dropped: Vec<(String, Option<String>)>,
    restated: Vec<Restated>,
    fault: Option<BillFault>,
    /// Download tokens: the file as it was when its URL was given out.
    downloads: HashMap<String, (Instant, Arc<Vec<u8>>)>,
    issued: u64,
    /// Bumped by every edit, so a cached file is made again.
    revision: u64,
    /// The last file made and its bytes. Alipay serves a file made once;
    /// making it again for every page would measure the simulator, not
    /// the reader.
    made: Option<(MadeKey, Arc<Vec<u8>>)>,
}

impl Bills {
    fn edit(&self, change: impl FnOnce(&mut Edits)) {
        let mut edits = self.0.lock().unwrap();
        change(&mut edits);
        edits.revision += 1;
    }
}

impl Gateway {
    /// Adds a line to every statement of its day.
    pub fn bill_add(&self, line: BillLine) {
        self.channel.bills.edit(|e| e.added.push(line));
    }

    /// Leaves the payment line (`refund_no` None) or the refund line out.
    pub fn bill_drop(&self, out_trade_no: &str, refund_no: Option<&str>) {
        self.channel.bills.edit(|e| {
            e.dropped
                .push((out_trade_no.to_owned(), refund_no.map(str::to_owned)))
        });
    }

    /// Restates a line's amount and/or fee (fen).
    pub fn bill_restate(
        &self,
        out_trade_no: &str,
        refund_no: Option<&str>,
        amount: Option<i64>,
        fee: Option<i64>,
    ) {
        self.channel
            .bills
            .0
            .lock()
            .unwrap()
            .restated
            .push(Restated {
                out_trade_no: out_trade_no.to_owned(),
                refund_no: refund_no.map(str::to_owned),
                amount,
                fee,
            });
    }

    /// Spoils every file served from now on.
    pub fn bill_fault(&self, fault: BillFault) {
        self.channel.bills.edit(|e| e.fault = Some(fault));
    }

    /// The detail's lines for `day` as they would be written now.
    pub fn bill_lines(&self, day: Date) -> Vec<BillLine> {
        lines(&self.channel, day)
    }

    /// The statement file of `day` (for benches and parser tests).
    pub fn bill_file(&self, day: Date) -> Vec<u8> {
        archive(&self.channel, day).to_vec()
    }
}

/// `alipay.data.dataservice.bill.downloadurl.query`.
pub(crate) fn download_url_query(sim: &Sim, biz: &Value) -> Value {
    if biz["bill_type"].as_str() != Some("trade") {
        return super::error(
            "40002",
            "Invalid Arguments",
            "isv.invalid-arguments",
            "bill_type 只支持 trade",
        );
    }
    let day = biz["bill_date"]
        .as_str()
        .and_then(|d| Date::parse(d, format_description!("[year]-[month]-[day]")).ok());
    let Some(day) = day else {
        return super::error(
            "40002",
            "Invalid Arguments",
            "isv.invalid-arguments",
            "bill_date 格式不正确",
        );
    };
    // The day's file is made by 09:00 the next day, Beijing time.
    let ready = PrimitiveDateTime::new(day.next_day().expect("a real day"), Time::MIDNIGHT)
        .assume_offset(offset!(+8))
        + time::Duration::hours(9);
    if sim.orders().now() < ready {
        return super::business("isp.bill_not_exist", "账单不存在");
    }
    let file = archive(sim, day);
    let mut edits = sim.bills.0.lock().unwrap();
    edits.issued += 1;
    let token = format!("{:016x}{:08}", unguessable(edits.issued), edits.issued);
    edits
        .downloads
        .retain(|_, (issued, _)| issued.elapsed() < URL_LIFETIME);
    edits
        .downloads
        .insert(token.clone(), (Instant::now(), file));
    let compact = day
        .format(format_description!("[year][month][day]"))
        .expect("a date");
    json!({
        "code": "10000",
        "msg": "Success",
        "bill_download_url": format!(
            "{}/downloadBillFile.resource?bizType=trade&userId={PID}&fileType=csv.zip&bizDates={compact}&downloadFileName={PID}_{compact}.csv.zip&fileId={token}",
            sim.base
        ),
    })
}

/// A number not guessable from the counter (a randomly keyed hash of it).
fn unguessable(counter: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(counter);
    h.finish()
}

/// `GET /downloadBillFile.resource?…&fileId=…`: the file, within 30 s.
pub(crate) async fn download(
    State(sim): State<Sim>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let edits = sim.bills.0.lock().unwrap();
    match q.get("fileId").and_then(|t| edits.downloads.get(t)) {
        Some((issued, file)) if issued.elapsed() < URL_LIFETIME => (
            [
                ("content-type", "application/octet-stream"),
                (
                    "content-disposition",
                    "attachment; filename=\"statement.csv.zip\"",
                ),
            ],
            file.to_vec(),
        )
            .into_response(),
        Some(_) => (StatusCode::FORBIDDEN, "链接已失效").into_response(),
        None => (StatusCode::NOT_FOUND, "文件不存在").into_response(),
    }
}

fn fee(amount: i64) -> i64 {
    (amount * FEE_PER_MILLE + 500).div_euclid(1000)
}

fn beijing_day(at: OffsetDateTime) -> Date {
    at.to_offset(offset!(+8)).date()
}

/// The day's lines: what the gateway processed, as the test edited it.
fn lines(sim: &Sim, day: Date) -> Vec<BillLine> {
    let mut found = Vec::new();
    for o in sim.orders().all() {
        found.extend(
            order_lines(&o)
                .into_iter()
                .filter(|l| beijing_day(l.finished) == day),
        );
    }
    let edits = sim.bills.0.lock().unwrap();
    found.retain(|l| {
        !edits
            .dropped
            .iter()
            .any(|(no, refund)| *no == l.out_trade_no && *refund == l.refund_no)
    });
    for line in &mut found {
        for r in &edits.restated {
            if r.out_trade_no == line.out_trade_no && r.refund_no == line.refund_no {
                line.amount = r.amount.unwrap_or(line.amount);
                line.fee = r.fee.unwrap_or(line.fee);
            }
        }
    }
    found.extend(
        edits
            .added
            .iter()
            .filter(|l| beijing_day(l.finished) == day)
            .cloned(),
    );
    found.sort_by_key(|l| l.finished);
    found
}

/// An order's payment, refunds and reversal as lines.
fn order_lines(o: &Order) -> Vec<BillLine> {
    let Some(paid) = o.paid_at else {
        return Vec::new();
    };
    let line = |refund_no: Option<String>, amount: i64, fee: i64, finished| BillLine {
        trade_no: o.trade_no.clone(),
        out_trade_no: o.out_trade_no.clone(),
        refund_no,
        amount,
        fee,
        finished,
    };
    let mut out = vec![line(None, o.amount, fee(o.amount), paid)];
    for r in &o.refunds {
        if let Some(at) = r.at {
            out.push(line(Some(r.no.clone()), r.amount, -fee(r.amount), at));
        }
    }
    if let Some(at) = o.reversed_at {
        let left = o.amount - o.refunded();
        out.push(line(Some(String::new()), left, -fee(left), at));
    }
    out
}

fn yuan(fen: i64) -> String {
    money::to_major_string(fen, "CNY").expect("CNY amounts")
}

fn signed_yuan(fen: i64) -> String {
    if fen < 0 {
        format!("-{}", yuan(-fen))
    } else {
        yuan(fen)
    }
}

fn stamp(at: OffsetDateTime) -> String {
    at.to_offset(offset!(+8))
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .expect("a time")
}

fn chinese_day(day: Date) -> String {
    day.format(format_description!("[year]年[month]月[day]日"))
        .expect("a date")
}

/// The marker lines, as Alipay draws them.
fn marker(name: &str, dashes_before: usize, dashes_after: usize) -> String {
    format!(
        "#{}{name}{}",
        "-".repeat(dashes_before),
        "-".repeat(dashes_after)
    )
}

const DETAIL_HEADER: &str = "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注";
const SUMMARY_HEADER: &str = "门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）";

/// The two CSV files' text (before GBK) for `day`.
fn files(sim: &Sim, day: Date) -> (String, String) {
    let lines = lines(sim, day);
    let fault = sim.bills.0.lock().unwrap().fault.clone();
    let head = |what: &str| {
        format!(
            "#支付宝{what}查询\r\n#账号：[{PID}0156]\r\n#起始日期：[{} 00:00:00]   终止日期：[{} 00:00:00]\r\n",
            chinese_day(day),
            chinese_day(day.next_day().expect("a real day"))
        )
    };
    let mut detail = head("业务明细");
    detail.push_str(&marker("业务明细列表", 41, 40));
    detail.push_str("\r\n");
    detail.push_str(DETAIL_HEADER);
    detail.push_str("\r\n");
    let (mut paid_n, mut paid, mut refund_n, mut refunded, mut fees) = (0, 0, 0, 0, 0);
    for l in &lines {
        let sign = if l.refund_no.is_some() { -1 } else { 1 };
        let amount = match &fault {
            Some(BillFault::MalformedAmount { out_trade_no })
                if *out_trade_no == l.out_trade_no =>
            {
                "12.3.4".to_owned()
            }
            _ => signed_yuan(sign * l.amount),
        };
        // Every field ends in a tab, so spreadsheets keep long numbers.
        let fields = [
            l.trade_no.clone(),
            l.out_trade_no.clone(),
            if l.refund_no.is_some() {
                "退款"
            } else {
                "交易"
            }
            .to_owned(),
            "收银台消费".to_owned(),
            stamp(l.finished),
            stamp(l.finished),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            "159****5620".to_owned(),
            amount.clone(),
            amount,
            "0.00".into(),
            "0.00".into(),
            "0.00".into(),
            "0.00".into(),
            "0.00".into(),
            String::new(),
            "0.00".into(),
            "0.00".into(),
            l.refund_no.clone().unwrap_or_default(),
            // The merchant pays the fee: negative on a payment, given back
            // (positive) on a refund.
            signed_yuan(-l.fee),
            "0.00".into(),
            String::new(),
        ];
        let row: Vec<String> = fields.iter().map(|f| format!("{f}\t")).collect();
        detail.push_str(&row.join(","));
        detail.push_str("\r\n");
        if l.refund_no.is_some() {
            refund_n += 1;
            refunded += l.amount;
        } else {
            paid_n += 1;
            paid += l.amount;
        }
        fees += l.fee;
    }
    detail.push_str(&marker("业务明细列表结束", 41, 36));
    detail.push_str("\r\n");
    detail.push_str(&format!(
        "#交易合计：{paid_n}笔，商家实收共{}元，商家优惠共0.00元\r\n",
        yuan(paid)
    ));
    detail.push_str(&format!(
        "#退款合计：{refund_n}笔，商家实收退款共{}元，商家优惠退款共0.00元\r\n",
        signed_yuan(-refunded)
    ));
    detail.push_str(&format!(
        "#导出时间：[{} 09:00:00]\r\n",
        chinese_day(day.next_day().expect("a real day"))
    ));

    let stated_paid_n = if fault == Some(BillFault::SummaryDisagrees) {
        paid_n + 1
    } else {
        paid_n
    };
    let net = paid - refunded;
    let mut summary = head("业务汇总");
    summary.push_str(&marker("业务汇总列表", 41, 40));
    summary.push_str("\r\n");
    summary.push_str(SUMMARY_HEADER);
    summary.push_str("\r\n");
    summary.push_str(&format!(
        ",合计,{stated_paid_n},{refund_n},{},{},0.00,0.00,0.00,{},0.00,{}\r\n",
        signed_yuan(net),
        signed_yuan(net),
        signed_yuan(-fees),
        signed_yuan(net - fees),
    ));
    summary.push_str(&marker("业务汇总列表结束", 40, 37));
    summary.push_str("\r\n");
    summary.push_str(&format!(
        "#导出时间：[{} 09:00:00]\r\n",
        chinese_day(day.next_day().expect("a real day"))
    ));
    (detail, summary)
}

/// The ZIP Alipay serves, made again only when an order or an edit
/// changed since.
fn archive(sim: &Sim, day: Date) -> Arc<Vec<u8>> {
    let key = (
        day,
        sim.orders().version(),
        sim.bills.0.lock().unwrap().revision,
    );
    if let Some((made, file)) = &sim.bills.0.lock().unwrap().made
        && *made == key
    {
        return file.clone();
    }
    let file = Arc::new(make_archive(sim, day));
    sim.bills.0.lock().unwrap().made = Some((key, file.clone()));
    file
}

/// Both files, GBK-encoded, in a ZIP.
fn make_archive(sim: &Sim, day: Date) -> Vec<u8> {
    let (detail, summary) = files(sim, day);
    let compact = day
        .format(format_description!("[year][month][day]"))
        .expect("a date");
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, text) in [
        (format!("{PID}0156_{compact}_业务明细.csv"), detail),
        (format!("{PID}0156_{compact}_业务明细(汇总).csv"), summary),
    ] {
        let (gbk, _, unmappable) = encoding_rs::GBK.encode(&text);
        assert!(!unmappable, "the statement's text is all in GBK");
        zip.start_file(name, options).expect("a ZIP entry");
        zip.write_all(&gbk).expect("writing to memory");
    }
    let mut bytes = zip.finish().expect("a ZIP").into_inner();
    if sim.bills.0.lock().unwrap().fault == Some(BillFault::TruncatedArchive) {
        bytes.truncate(bytes.len() / 2);
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::fee;

    #[test]
    fn the_fee_is_six_per_mille_rounded_half_up() {
        assert_eq!(
            [fee(1), fee(83), fee(84), fee(8888), fee(100_000)],
            [0, 0, 1, 53, 600]
        );
    }
}
