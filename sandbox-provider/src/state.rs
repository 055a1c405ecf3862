//! Orders and refunds, in memory, and the rules that move them.
//!
//! Everything here is synchronous and takes the current time as arguments, so
//! the rules can be unit-tested without clocks or sockets; the caller holds a
//! mutex around the [`Store`] and never awaits while holding it.
//!
//! Time-dependent transitions (a `PROCESSING` order settling, a `PENDING`
//! order expiring) are evaluated lazily whenever an order is read, instead of
//! by timers: nothing runs in the background, and the outcome seen by the
//! next `query` is the same as if a timer had fired.
//!
//! This file holds the records and their rules; `records` keeps the books
//! (journal, numbering, eviction) and `operations` answers requests.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use crate::journal::{Clocks, Entry, Journal, OrderLine, RefundLine};
use crate::money::Currency;
use crate::wire::ApiError;

/// Bounds on what the simulator remembers; it runs in the demo for days.
/// The oldest records are forgotten first.
pub(crate) const MAX_ORDERS: usize = 100_000;
pub(crate) const MAX_REFUNDS: usize = 100_000;

/// The `reason` that makes a refund fail, so tests can drive that outcome.
const FAIL_REFUND_REASON: &str = "sandbox:fail";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OrderStatus {
    Pending,
    Processing,
    Succeeded,
    Failed,
    Closed,
    Cancelled,
}

impl OrderStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "PENDING",
            OrderStatus::Processing => "PROCESSING",
            OrderStatus::Succeeded => "SUCCEEDED",
            OrderStatus::Failed => "FAILED",
            OrderStatus::Closed => "CLOSED",
            OrderStatus::Cancelled => "CANCELLED",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<OrderStatus> {
        [
            OrderStatus::Pending,
            OrderStatus::Processing,
            OrderStatus::Succeeded,
            OrderStatus::Failed,
            OrderStatus::Closed,
            OrderStatus::Cancelled,
        ]
        .into_iter()
        .find(|status| status.as_str() == s)
    }

    /// Dead order numbers: paying on them again is `ORDER_CLOSED`.
    fn is_dead(self) -> bool {
        matches!(
            self,
            OrderStatus::Failed | OrderStatus::Closed | OrderStatus::Cancelled
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefundStatus {
    Succeeded,
    Failed,
}

impl RefundStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Succeeded => "SUCCEEDED",
            RefundStatus::Failed => "FAILED",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<RefundStatus> {
        [RefundStatus::Succeeded, RefundStatus::Failed]
            .into_iter()
            .find(|status| status.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scene {
    Barcode,
    Face,
    Qrcode,
    Jsapi,
    App,
    H5,
    Web,
}

impl Scene {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Scene::Barcode => "barcode",
            Scene::Face => "face",
            Scene::Qrcode => "qrcode",
            Scene::Jsapi => "jsapi",
            Scene::App => "app",
            Scene::H5 => "h5",
            Scene::Web => "web",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Scene> {
        Some(match s {
            "barcode" => Scene::Barcode,
            "face" => Scene::Face,
            "qrcode" => Scene::Qrcode,
            "jsapi" => Scene::Jsapi,
            "app" => Scene::App,
            "h5" => Scene::H5,
            "web" => Scene::Web,
            _ => return None,
        })
    }

    /// Payer-presented scenes: the payer's code is scanned and charged at once.
    pub(crate) fn takes_auth_code(self) -> bool {
        matches!(self, Scene::Barcode | Scene::Face)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Order {
    pub merchant: String,
    pub trade_no: String,
    pub out_trade_no: String,
    pub amount: i64,
    pub currency: Currency,
    pub scene: Scene,
    pub subject: String,
    pub notify_url: Option<String>,
    pub status: OrderStatus,
    pub paid_at: Option<OffsetDateTime>,
    /// Sum of succeeded refunds, in minor units; never above `amount`.
    pub refunded: i64,
    /// For `PROCESSING`: when it turns `SUCCEEDED`, and the `paid_at` it gets then.
    pub settles_at: Option<(Instant, OffsetDateTime)>,
    /// For `PENDING`: when it turns `CLOSED`.
    pub expires_at: Option<Instant>,
    /// Set when a paid order is cancelled, for the statement's REVERSAL line.
    pub reversal: Option<Reversal>,
}

/// What the `cancel` of a paid order gave back. Recorded even when earlier
/// refunds left nothing (amount 0), so that a journal line without it is
/// known to predate statements (see `records`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reversal {
    pub at: OffsetDateTime,
    /// Minor units the cancel refunded: what earlier refunds had left.
    pub amount: i64,
}

impl Order {
    fn refresh(&mut self, now: Instant) {
        match (self.status, self.settles_at) {
            (OrderStatus::Processing, Some((at, wall))) if now >= at => {
                self.status = OrderStatus::Succeeded;
                self.paid_at = Some(wall);
            }
            (OrderStatus::Pending, _) if self.is_expired(now) => self.status = OrderStatus::Closed,
            _ => {}
        }
    }

    fn is_expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|e| now >= e)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Refund {
    pub refund_no: String,
    pub out_refund_no: String,
    pub out_trade_no: String,
    /// The order's `trade_no`, kept so the statement can show it even after
    /// the order itself was forgotten.
    pub trade_no: String,
    pub amount: i64,
    pub currency: Currency,
    pub status: RefundStatus,
    /// When it succeeded or failed (refunds settle at once).
    pub completed_at: OffsetDateTime,
}

/// A validated `pay` request.
#[derive(Debug)]
pub(crate) struct PayRequest<'a> {
    pub merchant: &'a str,
    pub out_trade_no: &'a str,
    pub amount: i64,
    pub currency: Currency,
    pub scene: Scene,
    /// Present (and 10–32 digits) exactly when the scene takes one.
    pub auth_code: Option<&'a str>,
    pub subject: &'a str,
    pub notify_url: Option<&'a str>,
    pub expires_in: Option<Duration>,
}

#[derive(Debug)]
pub(crate) enum PayOutcome {
    /// `SUCCESS` with the order in whatever status it is (new or repeated).
    Order(Order),
    /// `200 DECLINED` with the order, `FAILED`.
    Declined(Order),
    /// `504 TIMEOUT`; the order was nevertheless taken.
    Timeout,
}

/// A validated `refund` request; the amount is still a string because its
/// precision depends on the order's currency.
#[derive(Debug)]
pub(crate) struct RefundRequest<'a> {
    pub merchant: &'a str,
    pub out_trade_no: &'a str,
    pub out_refund_no: &'a str,
    pub amount: &'a str,
    pub reason: &'a str,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ApproveError {
    NotFound,
    /// The order was `PENDING` but past its `expires_in`; it is now `CLOSED`.
    Expired,
    NotPending(OrderStatus),
}

pub(crate) struct Store {
    processing_delay: Duration,
    /// By `trade_no`, which is globally unique.
    orders: HashMap<String, Order>,
    /// (merchant, out_trade_no) → trade_no: merchants have separate namespaces.
    by_out: HashMap<(String, String), String>,
    /// trade_nos oldest first, for eviction.
    order_fifo: VecDeque<String>,
    /// By (merchant, out_refund_no). Refunds keep their own copy of what they
    /// show, so they stay queryable even if their order was evicted.
    refunds: HashMap<(String, String), Refund>,
    refund_fifo: VecDeque<(String, String)>,
    /// (merchant, out_trade_no) cancelled before any pay request for them
    /// arrived: a later pay on them is refused, as a real channel does.
    burned: HashSet<(String, String)>,
    burned_fifo: VecDeque<(String, String)>,
    /// Where every change is written, when the provider keeps its orders
    /// across restarts (`journal`).
    journal: Option<Journal>,
    max_orders: usize,
    max_refunds: usize,
    /// Random per process, so trade numbers from before a restart are not
    /// handed out again while the runtime's database still remembers them.
    instance: u16,
    seq: u64,
}

mod operations;
mod records;
#[cfg(test)]
mod tests;

/// The instance digits of a `sbx`/`sbr` number, if it has that shape.
fn instance_of(number: &str) -> Option<u16> {
    number.get(11..15)?.parse().ok()
}

enum Outcome {
    Plain,
    Declined,
    Timeout,
}
