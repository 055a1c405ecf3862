//! The trade bill (交易账单) as paycore's statement, for reconciliation.
//!
//! Each page is two exchanges: `GET /v3/bill/tradebill` (signed and
//! verified like every call) names the day's file, its SHA-1 and a
//! short-lived `download_url`; the file is then fetched at once with a
//! signed GET whose answer WeChat does not sign. The file is the gzip of a
//! UTF-8 CSV: a header naming the columns, one row per payment, refund or
//! revocation (every field after a backtick), then a summary header
//! (`总交易单数,…`) and its row.
//!
//! A page never holds the un-gzipped file: it streams the gzip through
//! SHA-1 and the parser line by line, reads the rows of its page, counts
//! the others and reads the summary. Only when the whole file hashed to
//! the stated digest, its summary counts the rows there are and its page
//! read without fault does it answer anything, so a cut or altered file
//! fails every page the same way; a bad row fails its own page, and the
//! host changes nothing until it has read every page.
//! The cursor is the next row's offset; the URL lives seconds, so each
//! page asks for the bill again.

use std::io::{BufRead, BufReader, Read};

use flate2::read::GzDecoder;
use paycore_plugin_sdk::Host;
use paycore_plugin_sdk::money;
use paycore_plugin_sdk::types::{
    CallContext, ChannelError, Failure, LineKind, LineStatus, StatedTotals, StatementLine,
    StatementPage,
};
use serde::Deserialize;
use sha1::{Digest, Sha1};
use time::macros::{format_description, offset};

use crate::api::{self, ApiError, Client};
use crate::wire::CURRENCY;

/// Rows per page: about 5 MiB of normalised lines, far inside the
/// plugin's memory however long the bill. Every page downloads, inflates
/// and hashes the whole file again, so fewer, larger pages read a long
/// day faster.
const PAGE_ROWS: u64 = 20_000;

/// WeChat Pay dates its days, and 交易时间, in Beijing time.
const TIME_ZONE: &str = "Asia/Shanghai";

/// No row of the bill comes near this; a longer "line" is not a bill (and
/// would otherwise be read into memory whole).
const MAX_LINE_BYTES: u64 = 64 * 1024;

/// Every column of the ALL bill, as published; any other is refused, since
/// a bill whose columns we do not know might mean amounts we misread.
const COLUMNS: [&str; 27] = [
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

/// The columns a line is built from; a bill without one cannot be read.
const REQUIRED: [&str; 11] = [
    "交易时间",
    "微信订单号",
    "商户订单号",
    "交易状态",
    "货币种类",
    "微信退款单号",
    "商户退款单号",
    "退款状态",
    "手续费",
    "订单金额",
    "申请退款金额",
];

/// Columns in yuan: each is checked to be a plain amount on every row.
const AMOUNT_COLUMNS: [&str; 6] = [
    "应结订单金额",
    "代金券金额",
    "退款金额",
    "充值券退款金额",
    "订单金额",
    "申请退款金额",
];

/// The summary's columns, first of which marks where the rows end.
const SUMMARY_COLUMNS: [&str; 7] = [
    "总交易单数",
    "应结订单总金额",
    "退款总金额",
    "充值券退款总金额",
    "手续费总金额",
    "订单总金额",
    "申请退款总金额",
];

const SUMMARY_REQUIRED: [&str; 4] = ["总交易单数", "手续费总金额", "订单总金额", "申请退款总金额"];

/// `GET /v3/bill/tradebill`'s answer.
#[derive(Deserialize)]
struct BillAnswer {
    hash_type: String,
    hash_value: String,
    download_url: String,
}

pub fn page(
    host: &dyn Host,
    ctx: &CallContext,
    day: &str,
    cursor: Option<String>,
) -> Result<StatementPage, ChannelError> {
    let offset = match cursor.as_deref() {
        None => 0,
        Some(c) => c.parse().map_err(|_| {
            ChannelError::InvalidRequest(Failure::new(
                "invalid_cursor",
                format!("`{c}` is not a bill offset this plugin gave"),
            ))
        })?,
    };
    check_day(day)?;
    let client = Client::new(host, ctx)?;
    let mut path = format!("/v3/bill/tradebill?bill_date={day}&bill_type=ALL&tar_type=GZIP");
    if let Some(sub) = client.merchant.sub_mchid {
        path.push_str(&format!("&sub_mchid={sub}"));
    }
    let body = match client.send("GET", &path, "").map_err(retryable)? {
        Ok(body) => body,
        // WeChat's word for a day it generated no file for: no payment
        // and no refund on the merchant account that day.
        Err(e) if e.code == "NO_STATEMENT_EXIST" => {
            return Ok(StatementPage {
                time_zone: TIME_ZONE.to_owned(),
                lines: Vec::new(),
                next: None,
                totals: Vec::new(),
            });
        }
        Err(e) => return Err(bill_refused(day, e)),
    };
    let bill: BillAnswer = api::parse(&body).map_err(retryable)?;
    if !bill.hash_type.eq_ignore_ascii_case("SHA1") {
        return Err(malformed(format!(
            "WeChat Pay states the bill's digest as `{}`, not SHA1",
            bill.hash_type
        )));
    }
    let file = client.download(&bill.download_url).map_err(retryable)?;
    if !(200..300).contains(&file.status) {
        return Err(download_refused(file.status, &file.body));
    }
    let read = read_bill(&file.body, &bill.hash_value, offset, PAGE_ROWS).map_err(malformed)?;
    if offset > 0 && offset >= read.rows {
        return Err(ChannelError::InvalidRequest(Failure::new(
            "invalid_cursor",
            format!(
                "the bill has {} rows; offset {offset} is past them",
                read.rows
            ),
        )));
    }
    let last = offset + PAGE_ROWS >= read.rows;
    Ok(StatementPage {
        time_zone: TIME_ZONE.to_owned(),
        lines: read.lines,
        next: (!last).then(|| (offset + PAGE_ROWS).to_string()),
        totals: if last { vec![read.totals] } else { Vec::new() },
    })
}

/// `YYYY-MM-DD`, as `bill_date` takes it (and nothing that would change
/// the query string).
fn check_day(day: &str) -> Result<(), ChannelError> {
    time::Date::parse(day, format_description!("[year]-[month]-[day]"))
        .map(|_| ())
        .map_err(|_| {
            ChannelError::InvalidRequest(Failure::new(
                "invalid_date",
                format!("`{day}` is not a YYYY-MM-DD day"),
            ))
        })
}

/// Reading a statement moves no money: an answer we could not read or
/// believe only means "not now".
fn retryable(e: ChannelError) -> ChannelError {
    match e {
        ChannelError::OutcomeUnknown(failure) => ChannelError::Unavailable(failure),
        other => other,
    }
}

/// A verified refusal of `GET /v3/bill/tradebill`.
fn bill_refused(day: &str, e: ApiError) -> ChannelError {
    match e.code.as_str() {
        "STATEMENT_CREATING" => ChannelError::Unavailable(
            Failure::new(
                "statement_not_ready",
                format!(
                    "WeChat Pay has not generated the bill of {day} yet ({} {}); it does after 10:00 Beijing time the next day",
                    e.code, e.message
                ),
            )
            .with_channel(&e.code, Some(&e.message)),
        ),
        _ => retryable(e.into_channel_error()),
    }
}

/// The download answered something other than the file (a token that
/// expired, say): asking again later gets a new URL.
fn download_refused(status: u16, body: &[u8]) -> ChannelError {
    #[derive(Deserialize)]
    struct ErrorBody {
        code: String,
        #[serde(default)]
        message: String,
    }
    let error = serde_json::from_slice::<ErrorBody>(body).ok();
    let said = error
        .as_ref()
        .map(|e| format!(" {} {}", e.code, e.message))
        .unwrap_or_default();
    let failure = Failure::new(
        "statement_download_failed",
        format!(
            "WeChat Pay answered the bill's download with HTTP {status}{said}; ask again for a new URL"
        ),
    );
    let failure = match &error {
        Some(e) => failure.with_channel(&e.code, Some(&e.message)),
        None => failure,
    };
    match (status, error) {
        (401, Some(e)) if e.code == "SIGN_ERROR" => ChannelError::InvalidRequest(failure),
        _ => ChannelError::Unavailable(failure),
    }
}

/// A bill that does not read fails the run, naming why: never a guess.
fn malformed(why: String) -> ChannelError {
    ChannelError::InvalidRequest(Failure::new(
        "malformed_statement",
        format!("WeChat Pay's trade bill cannot be used: {why}"),
    ))
}

/// What one pass over the file found.
#[derive(Debug)]
struct Parsed {
    /// The page's rows, normalised.
    lines: Vec<StatementLine>,
    /// Detail rows in the whole file.
    rows: u64,
    totals: StatedTotals,
}

/// Hashes every byte read through it.
struct Hashing<R> {
    inner: R,
    digest: Sha1,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.digest.update(&buf[..n]);
        Ok(n)
    }
}

/// Streams the gzip `file`: checks its SHA-1 against `hash_value`, reads
/// every row, and keeps rows `offset..offset + limit`. The file's
/// integrity is judged before its content: a parse error in a file that
/// does not hash right is reported as the wrong digest it is.
fn read_bill(file: &[u8], hash_value: &str, offset: u64, limit: u64) -> Result<Parsed, String> {
    let mut reader = BufReader::with_capacity(
        64 * 1024,
        Hashing {
            inner: GzDecoder::new(file),
            digest: Sha1::new(),
        },
    );
    let mut parser = Parser::new(offset, limit);
    let mut fault: Option<String> = None;
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let n = (&mut reader)
            .take(MAX_LINE_BYTES + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("its gzip stream is broken after line {number}: {e}"))?;
        if n == 0 {
            break;
        }
        number += 1;
        if line.len() as u64 > MAX_LINE_BYTES {
            return Err(format!(
                "line {number} is longer than {MAX_LINE_BYTES} bytes"
            ));
        }
        if fault.is_none()
            && let Err(why) = parser.line(number, &line)
        {
            fault = Some(why);
        }
    }
    let digest = hex::encode(reader.into_inner().digest.finalize());
    if !digest.eq_ignore_ascii_case(hash_value.trim()) {
        return Err(format!(
            "its SHA-1 is {digest} but WeChat Pay stated {hash_value}: the file was altered or cut short"
        ));
    }
    if let Some(why) = fault {
        return Err(why);
    }
    parser.finish()
}

/// Each known column a header names, with its index.
type Columns = Vec<(&'static str, usize)>;

/// Where in the file the parser is.
enum Part {
    Header,
    Rows,
    /// The summary's header has been read: its row comes next.
    SummaryHeader,
    /// The summary has been read: only blank lines may follow.
    Done(StatedTotals, u64),
}

struct Parser {
    offset: u64,
    limit: u64,
    part: Part,
    columns: Columns,
    width: usize,
    summary: Columns,
    summary_width: usize,
    rows: u64,
    lines: Vec<StatementLine>,
}

impl Parser {
    fn new(offset: u64, limit: u64) -> Parser {
        Parser {
            offset,
            limit,
            part: Part::Header,
            columns: Vec::new(),
            width: 0,
            summary: Vec::new(),
            summary_width: 0,
            rows: 0,
            lines: Vec::new(),
        }
    }

    fn line(&mut self, number: u64, raw: &[u8]) -> Result<(), String> {
        let text = std::str::from_utf8(raw)
            .map_err(|_| format!("line {number} is not UTF-8"))?
            .trim_end_matches(['\n', '\r']);
        // Some copies of the file start with a byte-order mark.
        let text = if number == 1 {
            text.trim_start_matches('\u{feff}')
        } else {
            text
        };
        if text.trim().is_empty() {
            return Ok(());
        }
        match self.part {
            Part::Header => {
                let (columns, width) = header(text, &COLUMNS, &REQUIRED)
                    .map_err(|why| format!("line {number} (the header): {why}"))?;
                self.columns = columns;
                self.width = width;
                self.part = Part::Rows;
            }
            Part::Rows if is_summary_header(text) => {
                let (summary, width) = header(text, &SUMMARY_COLUMNS, &SUMMARY_REQUIRED)
                    .map_err(|why| format!("line {number} (the summary's header): {why}"))?;
                self.summary = summary;
                self.summary_width = width;
                self.part = Part::SummaryHeader;
            }
            Part::Rows => {
                // Only the page's rows are read: the others are read by
                // their own page, and the host acts on none before it has
                // read every page, so each row is checked exactly once.
                if (self.offset..self.offset.saturating_add(self.limit)).contains(&self.rows) {
                    let line = fields(text, self.width)
                        .and_then(|fields| self.row(&fields))
                        .map_err(|why| format!("line {number}: {why}"))?;
                    self.lines.push(line);
                }
                self.rows += 1;
            }
            Part::SummaryHeader => {
                let fields = fields(text, self.summary_width)
                    .map_err(|why| format!("line {number} (the summary): {why}"))?;
                let (totals, stated_rows) = self
                    .summary_row(&fields)
                    .map_err(|why| format!("line {number} (the summary): {why}"))?;
                self.part = Part::Done(totals, stated_rows);
            }
            Part::Done(..) => {
                return Err(format!("line {number} follows the summary"));
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<Parsed, String> {
        let (totals, stated_rows) = match self.part {
            Part::Done(totals, stated_rows) => (totals, stated_rows),
            Part::Header => return Err("the file is empty".to_owned()),
            Part::Rows => {
                return Err(format!(
                    "no summary (总交易单数…) after its {} rows: the file is cut short",
                    self.rows
                ));
            }
            Part::SummaryHeader => return Err("the summary's header has no row".to_owned()),
        };
        if stated_rows != self.rows {
            return Err(format!(
                "its summary states {stated_rows} rows (总交易单数) but it lists {}",
                self.rows
            ));
        }
        Ok(Parsed {
            lines: self.lines,
            rows: self.rows,
            totals,
        })
    }

    fn get<'a>(&self, fields: &[&'a str], column: &str) -> Option<&'a str> {
        self.columns
            .iter()
            .find(|(name, _)| *name == column)
            .map(|(_, i)| fields[*i])
    }

    /// A column every bill has (checked with the header).
    fn required<'a>(&self, fields: &[&'a str], column: &str) -> &'a str {
        self.get(fields, column).unwrap_or_default()
    }

    fn row(&self, fields: &[&str]) -> Result<StatementLine, String> {
        let currency = self.required(fields, "货币种类");
        money::exponent(currency).map_err(|e| format!("货币种类: {e}"))?;
        for column in AMOUNT_COLUMNS {
            if let Some(value) = self.get(fields, column) {
                amount(column, value, currency)?;
            }
        }
        let order_no = self.required(fields, "商户订单号");
        if order_no.is_empty() {
            return Err("商户订单号 is empty".to_owned());
        }
        let fee = signed_amount("手续费", self.required(fields, "手续费"), currency)?;
        let at = beijing_millis(self.required(fields, "交易时间"))?;
        let trade_no = number(self.required(fields, "微信订单号"));
        let refund_id = number(self.required(fields, "微信退款单号"));
        let refund_no = number(self.required(fields, "商户退款单号"));
        let refund_status = self.required(fields, "退款状态");
        let (kind, amount_column, status, refund_no, channel_no) =
            match self.required(fields, "交易状态") {
                "SUCCESS" => (
                    LineKind::Payment,
                    "订单金额",
                    LineStatus::Succeeded,
                    None,
                    trade_no,
                ),
                "REFUND" => (
                    LineKind::Refund,
                    "申请退款金额",
                    refund_state(refund_status)?,
                    refund_no,
                    refund_id,
                ),
                // A paid payment-code order revoked: its whole amount
                // given back, under no number of ours.
                "REVOKED" => (
                    LineKind::Reversal,
                    "申请退款金额",
                    if refund_status.is_empty() {
                        LineStatus::Succeeded
                    } else {
                        refund_state(refund_status)?
                    },
                    None,
                    refund_id.or(trade_no),
                ),
                other => return Err(format!("unknown 交易状态 `{other}`")),
            };
        Ok(StatementLine {
            kind,
            merchant_order_no: order_no.to_owned(),
            refund_no,
            channel_no,
            amount: amount(
                amount_column,
                self.required(fields, amount_column),
                currency,
            )?,
            fee,
            currency: currency.to_owned(),
            status,
            at,
        })
    }

    fn summary_row(&self, fields: &[&str]) -> Result<(StatedTotals, u64), String> {
        let get = |column: &str| {
            self.summary
                .iter()
                .find(|(name, _)| *name == column)
                .map(|(_, i)| fields[*i])
                .unwrap_or_default()
        };
        for (column, i) in &self.summary {
            if *column != "总交易单数" && *column != "手续费总金额" {
                amount(column, fields[*i], CURRENCY)?;
            }
        }
        let rows = count(get("总交易单数"))?;
        // WeChat's summary has no currency: its bills are in CNY.
        let totals = StatedTotals {
            currency: CURRENCY.to_owned(),
            // It states only all rows together, checked against the rows
            // here; the amounts are checked by the host.
            payments: None,
            payment_amount: Some(amount("订单总金额", get("订单总金额"), CURRENCY)?),
            refunds: None,
            refund_amount: Some(amount("申请退款总金额", get("申请退款总金额"), CURRENCY)?),
            fees: Some(signed_amount(
                "手续费总金额",
                get("手续费总金额"),
                CURRENCY,
            )?),
        };
        Ok((totals, rows))
    }
}

fn is_summary_header(text: &str) -> bool {
    text.trim_start_matches('`').starts_with(SUMMARY_COLUMNS[0])
}

/// Reads a header: each name (a leading backtick tolerated) must be one of
/// `known`, none twice, and every one of `required` there.
fn header(
    text: &str,
    known: &[&'static str],
    required: &[&str],
) -> Result<(Columns, usize), String> {
    let mut columns: Columns = Vec::new();
    let names: Vec<&str> = text.split(',').collect();
    for (i, name) in names.iter().enumerate() {
        let name = name.trim().trim_start_matches('`');
        let Some(known) = known.iter().find(|k| **k == name) else {
            return Err(format!("unknown column `{name}`"));
        };
        if columns.iter().any(|(n, _)| n == known) {
            return Err(format!("column `{name}` appears twice"));
        }
        columns.push((known, i));
    }
    if let Some(missing) = required
        .iter()
        .find(|r| !columns.iter().any(|(n, _)| n == *r))
    {
        return Err(format!("no column `{missing}`"));
    }
    Ok((columns, names.len()))
}

/// A row's fields: each after a backtick, so a comma inside a field (a
/// product name) does not split it.
fn fields(text: &str, width: usize) -> Result<Vec<&str>, String> {
    let Some(rest) = text.strip_prefix('`') else {
        return Err("a field without its leading backtick".to_owned());
    };
    let fields: Vec<&str> = rest.split(",`").collect();
    if fields.len() != width {
        return Err(format!(
            "{} fields where the header has {width}",
            fields.len()
        ));
    }
    Ok(fields)
}

/// WeChat writes `0` where a row has no such number.
fn number(field: &str) -> Option<String> {
    (!field.is_empty() && field != "0").then(|| field.to_owned())
}

/// 退款状态 as the bill writes it (not the refund API's words).
fn refund_state(status: &str) -> Result<LineStatus, String> {
    Ok(match status {
        "SUCCESS" => LineStatus::Succeeded,
        // CHANGE (退款异常): the payer's card refused the money and it
        // waits on a person at the merchant platform, as ABNORMAL does in
        // the API: still processing, not final either way.
        "PROCESSING" | "CHANGE" | "ABNORMAL" => LineStatus::Processing,
        "FAIL" | "REFUNDCLOSE" | "CLOSED" => LineStatus::Failed,
        other => return Err(format!("unknown 退款状态 `{other}`")),
    })
}

fn amount(column: &str, value: &str, currency: &str) -> Result<i64, String> {
    money::parse_major(value, currency).map_err(|e| format!("{column} `{value}`: {e}"))
}

/// A fee: charged, or given back with a refund (`-1.56000`). WeChat writes
/// fees with five decimals; they are whole fen, so the rest are zeros.
fn signed_amount(column: &str, value: &str, currency: &str) -> Result<i64, String> {
    match value.strip_prefix('-') {
        Some(back) => amount(column, back, currency).map(|m| -m),
        None => amount(column, value, currency),
    }
}

/// 总交易单数: a count (some files write it `45.0`).
fn count(value: &str) -> Result<u64, String> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !fraction.bytes().all(|b| b == b'0') {
        return Err(format!("总交易单数 `{value}` is not a count"));
    }
    whole
        .parse()
        .map_err(|_| format!("总交易单数 `{value}` is too large"))
}

/// 交易时间 (`2031-06-01 10:00:00`, Beijing time) in epoch milliseconds.
fn beijing_millis(value: &str) -> Result<i64, String> {
    let at = time::PrimitiveDateTime::parse(
        value,
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
    )
    .map_err(|e| format!("交易时间 `{value}`: {e}"))?;
    Ok((at.assume_offset(offset!(+8)).unix_timestamp_nanos() / 1_000_000) as i64)
}

#[cfg(test)]
mod tests;
