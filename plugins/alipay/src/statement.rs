//! The trade statement (业务明细, `bill_type=trade`), read for paycore's
//! reconciliation. `alipay.data.dataservice.bill.downloadurl.query` gives a
//! `bill_download_url` that works for 30 seconds; it serves a ZIP holding
//! two GBK-encoded CSV files, the detail (rows between the `业务明细列表`
//! and `业务明细列表结束` marker lines, then `#交易合计` / `#退款合计`
//! trailer lines) and the summary (one `合计` row between the
//! `业务汇总列表` markers).
//!
//! A page is one call: ask for a fresh URL, download, and read the detail
//! as a stream up to the page's lines, so the un-zipped file is never held
//! whole and a statement of any length stays inside the plugin's memory.
//! The cursor is the number of detail rows already read. The last page
//! also reads the trailer and the summary, and refuses a file whose
//! summary disagrees with its detail.

use std::io::{BufRead, BufReader, Cursor, Read};

use paycore_plugin_sdk::Host;
use paycore_plugin_sdk::types::{
    CallContext, ChannelError, Failure, HttpRequest, LineKind, LineStatus, StatedTotals,
    StatementLine, StatementPage,
};
use serde::{Deserialize, Serialize};
use time::PrimitiveDateTime;
use time::macros::{format_description, offset};

use crate::gateway::{BUSINESS_FAILURE, Gateway, SUCCESS};
use crate::wire::CURRENCY;

/// Rows per page: about 250 bytes each once normalised, so 5 MiB of the
/// plugin's 64; every page downloads and inflates the file up to its rows
/// again, so fewer, larger pages read a long day faster.
pub const PAGE_LINES: u64 = 20_000;
const METHOD: &str = "alipay.data.dataservice.bill.downloadurl.query";

#[derive(Serialize)]
struct Query<'a> {
    bill_type: &'static str,
    bill_date: &'a str,
}

#[derive(Deserialize)]
struct UrlAnswer {
    bill_download_url: String,
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
                format!("`{c}` is not a statement offset this plugin gave"),
            ))
        })?,
    };
    let url = download_url(host, ctx, day)?;
    let response = host.http_send(HttpRequest::new("GET", url, Vec::new()))?;
    if response.status != 200 {
        return Err(ChannelError::Unavailable(Failure::new(
            "statement_download_failed",
            format!(
                "Alipay's statement download answered HTTP {}",
                response.status
            ),
        )));
    }
    read_page(&response.body, offset)
}

/// Asks for the day's download link. A day Alipay has not published yet
/// (before about 09:00 the next day) is `unavailable`.
fn download_url(host: &dyn Host, ctx: &CallContext, day: &str) -> Result<String, ChannelError> {
    let query = Query {
        bill_type: "trade",
        bill_date: day,
    };
    let answer = Gateway::new(host, ctx)?.call(METHOD, &query, false)?;
    match answer.code.as_str() {
        SUCCESS => Ok(answer.body::<UrlAnswer>()?.bill_download_url),
        BUSINESS_FAILURE
            if answer
                .sub_code
                .as_deref()
                .is_some_and(|c| c.to_ascii_uppercase().ends_with("BILL_NOT_EXIST")) =>
        {
            Err(ChannelError::Unavailable(answer.failure(
                "statement_not_ready",
                &format!("Alipay has not published the statement of {day} yet"),
            )))
        }
        _ => Err(ChannelError::Unavailable(answer.failure(
            "statement_unavailable",
            "Alipay did not give the statement's download link",
        ))),
    }
}

/// One page of the statement in `archive`, from detail row `offset`.
pub fn read_page(archive: &[u8], offset: u64) -> Result<StatementPage, ChannelError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(archive))
        .map_err(|e| malformed(format!("the archive does not open: {e}")))?;
    let (detail, summary) = find_files(&mut zip)?;
    let entry = zip
        .by_index(detail)
        .map_err(|e| malformed(format!("the detail file does not open: {e}")))?;
    let mut detail = Detail::open(entry)?;
    let mut skipped = 0;
    while skipped < offset && detail.skip_row()? {
        skipped += 1;
    }
    if skipped < offset {
        return Err(ChannelError::InvalidRequest(Failure::new(
            "invalid_cursor",
            format!("the statement has {skipped} rows, fewer than the cursor's {offset}"),
        )));
    }
    let mut lines = Vec::new();
    while let Some((number, row)) = detail.next_row()? {
        if lines.len() as u64 == PAGE_LINES {
            return Ok(StatementPage {
                time_zone: TIME_ZONE.to_owned(),
                lines,
                next: Some((offset + PAGE_LINES).to_string()),
                totals: Vec::new(),
            });
        }
        lines.push(detail.line(number, &row)?);
    }
    let trailer = detail.trailer()?;
    // The detail borrows the archive until it is closed.
    drop(detail);
    let entry = zip
        .by_index(summary)
        .map_err(|e| malformed(format!("the summary file does not open: {e}")))?;
    let summary = read_summary(entry)?;
    if (summary.payments, summary.refunds) != (trailer.payments, trailer.refunds) {
        return Err(malformed(format!(
            "the summary counts {} trades and {} refunds, the detail {} and {}",
            summary.payments, summary.refunds, trailer.payments, trailer.refunds
        )));
    }
    Ok(StatementPage {
        time_zone: TIME_ZONE.to_owned(),
        lines,
        next: None,
        totals: vec![StatedTotals {
            currency: CURRENCY.to_owned(),
            payments: Some(trailer.payments),
            payment_amount: Some(trailer.payment_amount),
            refunds: Some(trailer.refunds),
            refund_amount: Some(trailer.refund_amount),
            // The summary's 服务费 is what the merchant paid: negative.
            fees: Some(-summary.fee),
        }],
    })
}

/// Alipay dates its statements in Beijing time.
const TIME_ZONE: &str = "Asia/Shanghai";

/// Which entries are the detail and the summary, known by their first
/// line (the names are GBK, which ZIP readers disagree on).
fn find_files(zip: &mut zip::ZipArchive<Cursor<&[u8]>>) -> Result<(usize, usize), ChannelError> {
    let (mut detail, mut summary) = (None, None);
    for i in 0..zip.len() {
        let entry = zip
            .by_index(i)
            .map_err(|e| malformed(format!("entry {i} does not open: {e}")))?;
        let mut first = Vec::new();
        BufReader::new(entry.take(256))
            .read_until(b'\n', &mut first)
            .map_err(|e| malformed(format!("entry {i} does not read: {e}")))?;
        match gbk(&first).as_deref().map(str::trim) {
            Ok("#支付宝业务明细查询") => detail = Some(i),
            Ok("#支付宝业务汇总查询") => summary = Some(i),
            _ => {}
        }
    }
    match (detail, summary) {
        (Some(d), Some(s)) => Ok((d, s)),
        (None, _) => Err(malformed("the archive holds no 业务明细 file".into())),
        (_, None) => Err(malformed("the archive holds no 业务明细(汇总) file".into())),
    }
}

/// A GBK text file, a line at a time, counting lines for error messages.
struct Lines<R> {
    reader: BufReader<R>,
    /// The line being read, kept to spare an allocation per line.
    buf: Vec<u8>,
    /// The line number (1-based) of the last line read.
    number: usize,
    what: &'static str,
}

impl<R: Read> Lines<R> {
    fn new(entry: R, what: &'static str) -> Lines<R> {
        Lines {
            reader: BufReader::new(entry),
            buf: Vec::new(),
            number: 0,
            what,
        }
    }

    /// The next line's bytes, line break included; `None` at the end.
    fn next_raw(&mut self) -> Result<Option<&[u8]>, ChannelError> {
        self.buf.clear();
        let read = self
            .reader
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| malformed(format!("the {} does not read: {e}", self.what)))?;
        if read == 0 {
            return Ok(None);
        }
        self.number += 1;
        Ok(Some(&self.buf))
    }

    /// The next line's text, without its line break; `None` at the end.
    fn next(&mut self) -> Result<Option<String>, ChannelError> {
        let text = match self.next_raw()? {
            None => return Ok(None),
            Some(raw) => gbk(raw),
        };
        let text = text.map_err(|why| self.at(why))?;
        Ok(Some(text.trim_end_matches(['\r', '\n']).to_owned()))
    }

    /// A problem on the line just read.
    fn at(&self, why: String) -> ChannelError {
        malformed(format!("{} line {}: {why}", self.what, self.number))
    }
}

/// The detail file, read a row at a time.
struct Detail<R> {
    lines: Lines<R>,
    columns: Columns,
    ended: bool,
}

/// Where each field the plugin reads sits, from the header row.
struct Columns {
    trade_no: usize,
    out_trade_no: usize,
    kind: usize,
    finished: usize,
    amount: usize,
    refund_no: usize,
    fee: usize,
    count: usize,
}

impl Columns {
    fn of(header: &[String]) -> Result<Columns, String> {
        let find = |name: &str| {
            header
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| format!("the header has no `{name}` column"))
        };
        Ok(Columns {
            trade_no: find("支付宝交易号")?,
            out_trade_no: find("商户订单号")?,
            kind: find("业务类型")?,
            finished: find("完成时间")?,
            amount: find("订单金额（元）")?,
            refund_no: find("退款批次号/请求号")?,
            fee: find("服务费（元）")?,
            count: header.len(),
        })
    }
}

/// What the detail's trailer states.
struct Trailer {
    payments: u64,
    payment_amount: i64,
    refunds: u64,
    refund_amount: i64,
}

impl<R: Read> Detail<R> {
    /// Reads up to the header row under the start marker.
    fn open(entry: R) -> Result<Detail<R>, ChannelError> {
        let mut lines = Lines::new(entry, "detail");
        loop {
            let Some(line) = lines.next()? else {
                return Err(malformed(
                    "the detail has no 业务明细列表 start marker".into(),
                ));
            };
            if is_marker(&line, "业务明细列表") {
                break;
            }
        }
        let header = lines
            .next()?
            .ok_or_else(|| malformed("the detail ends before its header".into()))?;
        let columns = Columns::of(&fields(&header)).map_err(|why| lines.at(why))?;
        Ok(Detail {
            lines,
            columns,
            ended: false,
        })
    }

    /// Passes over the next data row unread (a page after the first
    /// starts where the one before ended); `false` at the end marker. Only
    /// a comment line (`#`) is decoded, to tell the end marker.
    fn skip_row(&mut self) -> Result<bool, ChannelError> {
        if self.ended {
            return Ok(false);
        }
        match self.lines.next_raw()? {
            None => Err(cut_short()),
            Some(raw) if raw.first() != Some(&b'#') => Ok(true),
            Some(raw) => {
                let line = gbk(raw).map_err(|why| self.lines.at(why))?;
                if is_marker(line.trim_end(), "业务明细列表结束") {
                    self.ended = true;
                    Ok(false)
                } else {
                    Err(self.lines.at(format!("`{}` is not a row", line.trim_end())))
                }
            }
        }
    }

    /// The next data row as (line number, fields); `None` at the end marker.
    fn next_row(&mut self) -> Result<Option<(usize, Vec<String>)>, ChannelError> {
        if self.ended {
            return Ok(None);
        }
        let Some(line) = self.lines.next()? else {
            return Err(malformed(
                "the detail ends without its 业务明细列表结束 marker: the file is cut short".into(),
            ));
        };
        if is_marker(&line, "业务明细列表结束") {
            self.ended = true;
            return Ok(None);
        }
        let row = fields(&line);
        if row.len() != self.columns.count {
            return Err(self.lines.at(format!(
                "{} fields where the header has {}",
                row.len(),
                self.columns.count
            )));
        }
        Ok(Some((self.lines.number, row)))
    }

    /// One row as a normalised line.
    fn line(&self, number: usize, row: &[String]) -> Result<StatementLine, ChannelError> {
        let c = &self.columns;
        let at = |why: String| malformed(format!("detail line {number}: {why}"));
        let amount = signed_fen(&row[c.amount], "订单金额").map_err(at)?;
        let kind = match row[c.kind].as_str() {
            "交易" if amount >= 0 => LineKind::Payment,
            "退款" if amount <= 0 && row[c.refund_no].is_empty() => LineKind::Reversal,
            "退款" if amount <= 0 => LineKind::Refund,
            "交易" | "退款" => {
                return Err(at(format!(
                    "a {} of {} yuan has the wrong sign",
                    row[c.kind], row[c.amount]
                )));
            }
            other => return Err(at(format!("unknown 业务类型 `{other}`"))),
        };
        if row[c.out_trade_no].is_empty() {
            return Err(at("no 商户订单号".into()));
        }
        // The merchant pays the fee (negative 服务费); a refund gives part
        // of it back (positive). paycore counts a fee charged as positive.
        let fee = -signed_fen(&row[c.fee], "服务费").map_err(at)?;
        let finished = PrimitiveDateTime::parse(
            &row[c.finished],
            format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
        )
        .map_err(|e| at(format!("完成时间 `{}`: {e}", row[c.finished])))?
        .assume_offset(offset!(+8));
        Ok(StatementLine {
            kind,
            merchant_order_no: row[c.out_trade_no].clone(),
            refund_no: (kind == LineKind::Refund).then(|| row[c.refund_no].clone()),
            channel_no: Some(row[c.trade_no].clone()).filter(|n| !n.is_empty()),
            amount: amount.abs(),
            fee,
            currency: CURRENCY.to_owned(),
            status: LineStatus::Succeeded,
            at: (finished.unix_timestamp_nanos() / 1_000_000) as i64,
        })
    }

    /// The `#交易合计` and `#退款合计` lines after the end marker.
    fn trailer(&mut self) -> Result<Trailer, ChannelError> {
        let (mut paid, mut refunded) = (None, None);
        while let Some(line) = self.lines.next()? {
            if let Some(rest) = line.strip_prefix("#交易合计：") {
                paid = Some(
                    total(rest, "商家实收共", "商家优惠共").map_err(|why| self.lines.at(why))?,
                );
            } else if let Some(rest) = line.strip_prefix("#退款合计：") {
                refunded = Some(
                    total(rest, "商家实收退款共", "商家优惠退款共")
                        .map_err(|why| self.lines.at(why))?,
                );
            }
        }
        let ((payments, payment_amount), (refunds, refund_amount)) = paid
            .zip(refunded)
            .ok_or_else(|| malformed("the detail has no #交易合计 and #退款合计 lines".into()))?;
        Ok(Trailer {
            payments,
            payment_amount,
            refunds,
            refund_amount: -refund_amount,
        })
    }
}

fn cut_short() -> ChannelError {
    malformed("the detail ends without its 业务明细列表结束 marker: the file is cut short".into())
}

/// `N笔，<received>X元，<discounts>Y元`: the count and the order amounts,
/// which are what the merchant received plus its own discounts.
fn total(rest: &str, received: &str, discounts: &str) -> Result<(u64, i64), String> {
    let (count, rest) = rest
        .split_once('笔')
        .ok_or_else(|| format!("`{rest}` has no count"))?;
    let count = count
        .trim()
        .parse()
        .map_err(|_| format!("`{count}` is not a count"))?;
    let amount_after = |label: &str| -> Result<i64, String> {
        let start = rest.find(label).ok_or_else(|| format!("no `{label}`"))? + label.len();
        let end = rest[start..]
            .find('元')
            .ok_or_else(|| format!("`{label}` has no 元"))?;
        signed_fen(&rest[start..start + end], label)
    };
    let sum = amount_after(received)?
        .checked_add(amount_after(discounts)?)
        .ok_or("the total overflows")?;
    Ok((count, sum))
}

/// What the summary's 合计 row states.
struct Summary {
    payments: u64,
    refunds: u64,
    fee: i64,
}

fn read_summary(entry: impl Read) -> Result<Summary, ChannelError> {
    let mut lines = Lines::new(entry, "summary");
    let mut header: Option<Vec<String>> = None;
    let mut inside = false;
    while let Some(line) = lines.next()? {
        if is_marker(&line, "业务汇总列表") {
            inside = true;
            continue;
        }
        if !inside || is_marker(&line, "业务汇总列表结束") {
            continue;
        }
        let row = fields(&line);
        let Some(names) = &header else {
            header = Some(row);
            continue;
        };
        if row.get(1).map(String::as_str) != Some("合计") {
            continue;
        }
        let get = |name: &str| {
            names
                .iter()
                .position(|h| h == name)
                .and_then(|i| row.get(i))
                .ok_or_else(|| lines.at(format!("no `{name}` column")))
        };
        let count = |name: &str| {
            get(name)?
                .parse::<u64>()
                .map_err(|_| lines.at(format!("`{name}` is not a count")))
        };
        return Ok(Summary {
            payments: count("交易订单总笔数")?,
            refunds: count("退款订单总笔数")?,
            fee: signed_fen(get("服务费（元）")?, "服务费").map_err(|why| lines.at(why))?,
        });
    }
    Err(malformed("the summary has no 合计 row".into()))
}

/// A marker line: `#`, dashes, the name, dashes.
fn is_marker(line: &str, name: &str) -> bool {
    line.strip_prefix('#')
        .map(|l| l.trim_matches('-'))
        .is_some_and(|l| l == name)
}

/// A CSV line's fields, unquoted, with the tab Alipay puts after each
/// value (so spreadsheets keep long numbers as text) trimmed.
fn fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut field).trim().to_owned()),
            _ => field.push(ch),
        }
    }
    out.push(field.trim().to_owned());
    out
}

fn gbk(bytes: &[u8]) -> Result<String, String> {
    encoding_rs::GBK
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|text| text.into_owned())
        .ok_or_else(|| "the text is not GBK".to_owned())
}

/// A yuan amount, possibly negative, to fen; never through a float.
fn signed_fen(text: &str, what: &str) -> Result<i64, String> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let fen = paycore_plugin_sdk::money::parse_major(digits, CURRENCY)
        .map_err(|e| format!("{what} `{text}`: {e}"))?;
    Ok(if negative { -fen } else { fen })
}

/// A statement that does not read is a failed run, never a guess.
fn malformed(why: String) -> ChannelError {
    ChannelError::InvalidRequest(Failure::new(
        "malformed_statement",
        format!("Alipay's statement does not read: {why}"),
    ))
}
