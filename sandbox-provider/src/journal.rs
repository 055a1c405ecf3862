//! The provider's memory on disk, so that it behaves like a real channel
//! across restarts: an order it took before paycore was killed is still
//! there to be queried, refunded or cancelled afterwards, and one it never
//! saw is still "no such order".
//!
//! An append-only file of JSON lines, one per change, each the whole record
//! as it now stands (the last line for a record wins). A line is written
//! (one `write` to a file opened for appending) before the provider
//! answers, so what it answered survives a kill -9 of the process. Opening
//! replays the file, skipping a torn last line, then rewrites it with one
//! line per record so it does not grow across restarts; while running it is
//! compacted the same way once it holds many more lines than records.
//!
//! Timers (`PROCESSING` settling, `PENDING` expiring) are stored as wall
//! clock milliseconds and turned back into `Instant`s when read, so an order
//! that should have settled while the process was down is settled at its
//! next read, as if its timer had fired.
//!
//! Fields added later (a cancel's reversal, a refund's order number and
//! completion time, for the daily statement) are optional when read, so a
//! file written by an older build still loads; each says what it defaults to.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::money::Currency;
use crate::state::{Order, OrderStatus, Refund, RefundStatus, Reversal, Scene};

/// One line of the file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Entry {
    Order(OrderLine),
    Refund(RefundLine),
    /// An order number cancelled before any pay request for it arrived:
    /// paying on it later is refused, as a real channel refuses it.
    Burned {
        merchant: String,
        out_trade_no: String,
    },
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct OrderLine {
    merchant: String,
    trade_no: String,
    out_trade_no: String,
    amount: i64,
    currency: String,
    scene: String,
    subject: String,
    notify_url: Option<String>,
    status: String,
    paid_at_ms: Option<i64>,
    refunded: i64,
    /// `PROCESSING`: when it settles, and the `paid_at` it then gets.
    settles_at_ms: Option<(i64, i64)>,
    /// `PENDING`: when it closes.
    expires_at_ms: Option<i64>,
    /// A paid order's cancel: (wall ms, minor units it refunded). Absent from
    /// lines written before statements existed; `Store::keep_in` then works
    /// it out from the order's refunds.
    #[serde(default)]
    reversal: Option<(i64, i64)>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct RefundLine {
    merchant: String,
    refund_no: String,
    out_refund_no: String,
    out_trade_no: String,
    /// The order's; empty in lines written before statements existed, then
    /// `Store::keep_in` takes it from the order if it still has it.
    #[serde(default)]
    trade_no: String,
    amount: i64,
    currency: String,
    status: String,
    /// Absent from lines written before statements existed; see `refund`.
    #[serde(default)]
    completed_at_ms: Option<i64>,
}

/// "Now" on both clocks, to move timers between them.
#[derive(Clone, Copy)]
pub(crate) struct Clocks {
    pub instant: Instant,
    pub wall_ms: i64,
}

impl Clocks {
    pub(crate) fn now() -> Clocks {
        Clocks {
            instant: Instant::now(),
            wall_ms: wall_ms(OffsetDateTime::now_utc()),
        }
    }

    fn to_wall(self, at: Instant) -> i64 {
        match at.checked_duration_since(self.instant) {
            Some(ahead) => self.wall_ms.saturating_add(ahead.as_millis() as i64),
            None => self
                .wall_ms
                .saturating_sub(self.instant.duration_since(at).as_millis() as i64),
        }
    }

    /// A time already past becomes "now": its timer fires at the next read.
    fn to_instant(self, at_ms: i64) -> Instant {
        let ahead = Duration::from_millis(at_ms.saturating_sub(self.wall_ms).max(0) as u64);
        self.instant.checked_add(ahead).unwrap_or(self.instant)
    }
}

fn wall_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

fn from_wall_ms(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

impl OrderLine {
    pub(crate) fn of(o: &Order, clocks: Clocks) -> OrderLine {
        OrderLine {
            merchant: o.merchant.clone(),
            trade_no: o.trade_no.clone(),
            out_trade_no: o.out_trade_no.clone(),
            amount: o.amount,
            currency: o.currency.code.to_string(),
            scene: o.scene.as_str().to_string(),
            subject: o.subject.clone(),
            notify_url: o.notify_url.clone(),
            status: o.status.as_str().to_string(),
            paid_at_ms: o.paid_at.map(wall_ms),
            refunded: o.refunded,
            settles_at_ms: o
                .settles_at
                .map(|(at, paid)| (clocks.to_wall(at), wall_ms(paid))),
            expires_at_ms: o.expires_at.map(|at| clocks.to_wall(at)),
            reversal: o.reversal.map(|r| (wall_ms(r.at), r.amount)),
        }
    }

    /// The order, or None for a line this build cannot read.
    pub(crate) fn order(self, clocks: Clocks) -> Option<Order> {
        Some(Order {
            merchant: self.merchant,
            trade_no: self.trade_no,
            out_trade_no: self.out_trade_no,
            amount: self.amount,
            currency: Currency::lookup(&self.currency)?,
            scene: Scene::parse(&self.scene)?,
            subject: self.subject,
            notify_url: self.notify_url,
            status: OrderStatus::parse(&self.status)?,
            paid_at: match self.paid_at_ms {
                Some(ms) => Some(from_wall_ms(ms)?),
                None => None,
            },
            refunded: self.refunded,
            settles_at: match self.settles_at_ms {
                Some((at, paid)) => Some((clocks.to_instant(at), from_wall_ms(paid)?)),
                None => None,
            },
            expires_at: self.expires_at_ms.map(|at| clocks.to_instant(at)),
            reversal: match self.reversal {
                Some((at, amount)) => Some(Reversal {
                    at: from_wall_ms(at)?,
                    amount,
                }),
                None => None,
            },
        })
    }
}

impl RefundLine {
    pub(crate) fn of(merchant: &str, r: &Refund) -> RefundLine {
        RefundLine {
            merchant: merchant.to_string(),
            refund_no: r.refund_no.clone(),
            out_refund_no: r.out_refund_no.clone(),
            out_trade_no: r.out_trade_no.clone(),
            trade_no: r.trade_no.clone(),
            amount: r.amount,
            currency: r.currency.code.to_string(),
            status: r.status.as_str().to_string(),
            completed_at_ms: Some(wall_ms(r.completed_at)),
        }
    }

    /// The merchant and the refund, or None for a line this build cannot read.
    ///
    /// A line from before statements existed has no completion time. Its
    /// refund number carries the UTC date it was made, so it is dated at the
    /// start of that day: the earliest it can have completed, on the right
    /// statement day unless it was made after 16:00 UTC (midnight in the
    /// statement's time zone). A number without a date gets the Unix epoch,
    /// which puts it on no statement anyone asks for.
    pub(crate) fn refund(self) -> Option<(String, Refund)> {
        let completed_at = match self.completed_at_ms {
            Some(ms) => from_wall_ms(ms)?,
            None => date_of_number(&self.refund_no).unwrap_or(OffsetDateTime::UNIX_EPOCH),
        };
        let refund = Refund {
            refund_no: self.refund_no,
            out_refund_no: self.out_refund_no,
            out_trade_no: self.out_trade_no,
            trade_no: self.trade_no,
            amount: self.amount,
            currency: Currency::lookup(&self.currency)?,
            status: RefundStatus::parse(&self.status)?,
            completed_at,
        };
        Some((self.merchant, refund))
    }
}

/// Midnight UTC of the date in an `sbx`/`sbr` number (`sbrYYYYMMDD…`).
fn date_of_number(number: &str) -> Option<OffsetDateTime> {
    let digits = number.get(3..11)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year = digits.get(0..4)?.parse().ok()?;
    let month = time::Month::try_from(digits.get(4..6)?.parse::<u8>().ok()?).ok()?;
    let day = digits.get(6..8)?.parse().ok()?;
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    Some(date.midnight().assume_utc())
}

/// The open file, appended to.
pub(crate) struct Journal {
    path: PathBuf,
    file: File,
    /// Lines in the file, to know when compacting pays.
    lines: usize,
}

impl Journal {
    /// Reads every entry of the file at `path` (none if it does not exist
    /// yet), oldest first, skipping lines that cannot be read (a torn last
    /// line after a kill).
    pub(crate) fn read(path: &Path) -> std::io::Result<Vec<Entry>> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut entries = Vec::new();
        for line in BufReader::new(file).split(b'\n') {
            let line = line?;
            match serde_json::from_slice::<Entry>(&line) {
                Ok(entry) => entries.push(entry),
                Err(e) if !line.is_empty() => {
                    tracing::warn!(file = %path.display(), error = %e, "skipped an unreadable sandbox journal line")
                }
                Err(_) => {}
            }
        }
        Ok(entries)
    }

    /// Writes `entries` as the whole file (through a temporary file renamed
    /// over it, so a kill midway leaves the old file) and opens it for
    /// appending.
    pub(crate) fn rewrite(path: &Path, entries: &[Entry]) -> std::io::Result<Journal> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("compacting");
        {
            let mut out = BufWriter::new(File::create(&tmp)?);
            for entry in entries {
                serde_json::to_writer(&mut out, entry)?;
                out.write_all(b"\n")?;
            }
            out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        let file = OpenOptions::new().append(true).open(path)?;
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            lines: entries.len(),
        })
    }

    /// Appends one entry as one line in one `write`.
    pub(crate) fn append(&mut self, entry: &Entry) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(entry)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.lines += 1;
        Ok(())
    }

    pub(crate) fn lines(&self) -> usize {
        self.lines
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}
