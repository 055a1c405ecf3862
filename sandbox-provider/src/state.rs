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
    pub amount: i64,
    pub currency: Currency,
    pub status: RefundStatus,
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

impl Store {
    pub(crate) fn new(processing_delay: Duration) -> Self {
        Self::with_limits(processing_delay, MAX_ORDERS, MAX_REFUNDS)
    }

    pub(crate) fn with_limits(
        processing_delay: Duration,
        max_orders: usize,
        max_refunds: usize,
    ) -> Self {
        Store {
            processing_delay,
            orders: HashMap::new(),
            by_out: HashMap::new(),
            order_fifo: VecDeque::new(),
            refunds: HashMap::new(),
            refund_fifo: VecDeque::new(),
            burned: HashSet::new(),
            burned_fifo: VecDeque::new(),
            journal: None,
            max_orders: max_orders.max(1),
            max_refunds: max_refunds.max(1),
            instance: rand::random_range(0..10_000),
            seq: 0,
        }
    }

    /// Reads the orders, refunds and burned order numbers the journal at
    /// `path` holds, compacts it, and writes every change to it from now on.
    pub(crate) fn keep_in(&mut self, path: &Path) -> std::io::Result<()> {
        let clocks = Clocks::now();
        let mut instances = HashSet::new();
        for entry in Journal::read(path)? {
            match entry {
                Entry::Order(line) => {
                    let Some(order) = line.order(clocks) else {
                        continue;
                    };
                    instances.insert(instance_of(&order.trade_no));
                    match self.orders.get_mut(&order.trade_no) {
                        Some(known) => *known = order,
                        None => self.insert_order(order),
                    }
                }
                Entry::Refund(line) => {
                    if let Some((merchant, refund)) = line.refund() {
                        instances.insert(instance_of(&refund.refund_no));
                        let key = (merchant.clone(), refund.out_refund_no.clone());
                        match self.refunds.get_mut(&key) {
                            Some(known) => *known = refund,
                            None => self.insert_refund(&merchant, refund),
                        }
                    }
                }
                Entry::Burned {
                    merchant,
                    out_trade_no,
                } => self.burn(merchant, out_trade_no),
            }
        }
        // New numbers must not repeat the ones read back.
        while instances.contains(&Some(self.instance)) {
            self.instance = (self.instance + 1) % 10_000;
        }
        self.journal = Some(Journal::rewrite(path, &self.snapshot(clocks))?);
        Ok(())
    }

    /// One entry per record, oldest first: the journal's compacted form.
    fn snapshot(&self, clocks: Clocks) -> Vec<Entry> {
        let orders = self
            .order_fifo
            .iter()
            .filter_map(|t| self.orders.get(t))
            .map(|o| Entry::Order(OrderLine::of(o, clocks)));
        let refunds = self
            .refund_fifo
            .iter()
            .filter_map(|key| self.refunds.get(key).map(|r| (&key.0, r)))
            .map(|(merchant, r)| Entry::Refund(RefundLine::of(merchant, r)));
        let burned = self.burned_fifo.iter().map(|(m, o)| Entry::Burned {
            merchant: m.clone(),
            out_trade_no: o.clone(),
        });
        orders.chain(refunds).chain(burned).collect()
    }

    /// Writes a change to the journal, if the provider keeps one. A write
    /// that fails is logged: the simulator keeps serving from memory.
    fn record(&mut self, entry: Entry) {
        let Some(journal) = self.journal.as_mut() else {
            return;
        };
        if let Err(e) = journal.append(&entry) {
            tracing::error!(file = %journal.path().display(), error = %e, "cannot write the sandbox journal");
            return;
        }
        let records = self.orders.len() + self.refunds.len() + self.burned.len();
        if journal.lines() > 4 * records + 10_000 {
            let path = journal.path().to_path_buf();
            match Journal::rewrite(&path, &self.snapshot(Clocks::now())) {
                Ok(compacted) => self.journal = Some(compacted),
                Err(e) => {
                    tracing::error!(file = %path.display(), error = %e, "cannot compact the sandbox journal")
                }
            }
        }
    }

    fn record_order(&mut self, order: &Order) {
        self.record(Entry::Order(OrderLine::of(order, Clocks::now())));
    }

    fn record_refund(&mut self, merchant: &str, refund: &Refund) {
        self.record(Entry::Refund(RefundLine::of(merchant, refund)));
    }

    fn burn(&mut self, merchant: String, out_trade_no: String) {
        let key = (merchant, out_trade_no);
        if self.burned.insert(key.clone()) {
            self.burned_fifo.push_back(key);
        }
        while self.burned.len() > self.max_orders {
            let Some(old) = self.burned_fifo.pop_front() else {
                break;
            };
            self.burned.remove(&old);
        }
    }

    fn is_burned(&self, merchant: &str, out_trade_no: &str) -> bool {
        self.burned
            .contains(&(merchant.to_string(), out_trade_no.to_string()))
    }

    /// `sbx`/`sbr` + UTC date + instance + counter: readable, sortable, unique.
    fn next_number(&mut self, prefix: &str, wall: OffsetDateTime) -> String {
        self.seq += 1;
        let d = wall.date();
        format!(
            "{prefix}{:04}{:02}{:02}{:04}{:08}",
            d.year(),
            u8::from(d.month()),
            d.day(),
            self.instance,
            self.seq
        )
    }

    fn trade_no_for(&self, merchant: &str, out_trade_no: &str) -> Option<&String> {
        self.by_out
            .get(&(merchant.to_string(), out_trade_no.to_string()))
    }

    /// The merchant's order by `out_trade_no`, refreshed.
    fn order_mut(
        &mut self,
        merchant: &str,
        out_trade_no: &str,
        now: Instant,
    ) -> Result<&mut Order, ApiError> {
        let trade_no = self
            .trade_no_for(merchant, out_trade_no)
            .cloned()
            .ok_or(ApiError::OrderNotFound)?;
        let order = self
            .orders
            .get_mut(&trade_no)
            .ok_or(ApiError::OrderNotFound)?;
        order.refresh(now);
        Ok(order)
    }

    fn insert_order(&mut self, order: Order) {
        while self.orders.len() >= self.max_orders {
            let Some(old) = self.order_fifo.pop_front() else {
                break;
            };
            if let Some(o) = self.orders.remove(&old) {
                self.by_out.remove(&(o.merchant, o.out_trade_no));
            }
        }
        self.by_out.insert(
            (order.merchant.clone(), order.out_trade_no.clone()),
            order.trade_no.clone(),
        );
        self.order_fifo.push_back(order.trade_no.clone());
        self.orders.insert(order.trade_no.clone(), order);
    }

    fn insert_refund(&mut self, merchant: &str, refund: Refund) {
        while self.refunds.len() >= self.max_refunds {
            let Some(old) = self.refund_fifo.pop_front() else {
                break;
            };
            self.refunds.remove(&old);
        }
        let key = (merchant.to_string(), refund.out_refund_no.clone());
        self.refund_fifo.push_back(key.clone());
        self.refunds.insert(key, refund);
    }

    pub(crate) fn pay(
        &mut self,
        req: PayRequest<'_>,
        now: Instant,
        wall: OffsetDateTime,
    ) -> Result<PayOutcome, ApiError> {
        if self.is_burned(req.merchant, req.out_trade_no) {
            return Err(ApiError::OrderClosed(format!(
                "order {} was cancelled; use a new out_trade_no",
                req.out_trade_no
            )));
        }
        // Idempotency on out_trade_no: the same request again gets the same
        // order; the same number for something else is refused.
        if self.trade_no_for(req.merchant, req.out_trade_no).is_some() {
            let order = self.order_mut(req.merchant, req.out_trade_no, now)?;
            if order.status.is_dead() {
                return Err(ApiError::OrderClosed(format!(
                    "order {} is {}; use a new out_trade_no",
                    order.out_trade_no,
                    order.status.as_str()
                )));
            }
            if order.amount != req.amount || order.currency != req.currency {
                return Err(ApiError::Duplicate(format!(
                    "out_trade_no {} was already used for {} {}",
                    order.out_trade_no,
                    order.currency.format(order.amount),
                    order.currency.code
                )));
            }
            return Ok(PayOutcome::Order(order.clone()));
        }

        let trade_no = self.next_number("sbx", wall);
        let mut order = Order {
            merchant: req.merchant.to_string(),
            trade_no,
            out_trade_no: req.out_trade_no.to_string(),
            amount: req.amount,
            currency: req.currency,
            scene: req.scene,
            subject: req.subject.to_string(),
            notify_url: req.notify_url.map(str::to_string),
            status: OrderStatus::Pending,
            paid_at: None,
            refunded: 0,
            settles_at: None,
            expires_at: req.expires_in.and_then(|d| now.checked_add(d)),
        };
        let outcome = match req.auth_code.and_then(|c| c.bytes().last()) {
            // Not a payer-presented scene: wait for the payer page.
            None => {
                order.status = OrderStatus::Pending;
                Outcome::Plain
            }
            Some(b'1') => {
                order.status = OrderStatus::Failed;
                Outcome::Declined
            }
            Some(b'2') => {
                order.status = OrderStatus::Processing;
                // A delay past the end of time never settles; it must not
                // panic the request (the runtime bounds the delay too).
                let delay = self.processing_delay;
                order.settles_at = now.checked_add(delay).zip(
                    time::Duration::try_from(delay)
                        .ok()
                        .and_then(|d| wall.checked_add(d)),
                );
                Outcome::Plain
            }
            Some(b'3') => {
                // The money is taken, the answer is lost: the case a plugin
                // must resolve by querying.
                order.status = OrderStatus::Succeeded;
                order.paid_at = Some(wall);
                Outcome::Timeout
            }
            Some(_) => {
                order.status = OrderStatus::Succeeded;
                order.paid_at = Some(wall);
                Outcome::Plain
            }
        };
        let shown = order.clone();
        self.insert_order(order);
        self.record_order(&shown);
        Ok(match outcome {
            Outcome::Plain => PayOutcome::Order(shown),
            Outcome::Declined => PayOutcome::Declined(shown),
            Outcome::Timeout => PayOutcome::Timeout,
        })
    }

    /// By `trade_no` (checked against `out_trade_no` if both are given) or by
    /// `out_trade_no`. Another merchant's order is "not found".
    pub(crate) fn query(
        &mut self,
        merchant: &str,
        trade_no: Option<&str>,
        out_trade_no: Option<&str>,
        now: Instant,
    ) -> Result<Order, ApiError> {
        let order = match (trade_no, out_trade_no) {
            (Some(t), out) => {
                let o = self.orders.get_mut(t).ok_or(ApiError::OrderNotFound)?;
                if o.merchant != merchant || out.is_some_and(|out| out != o.out_trade_no) {
                    return Err(ApiError::OrderNotFound);
                }
                o.refresh(now);
                o
            }
            (None, Some(out)) => self.order_mut(merchant, out, now)?,
            (None, None) => {
                return Err(ApiError::invalid(
                    "one of the fields `out_trade_no` or `trade_no` is required",
                ));
            }
        };
        Ok(order.clone())
    }

    /// Closes an unpaid order. Closing again is harmless; a paid order cannot
    /// be closed (that is what refunds and `cancel` are for).
    pub(crate) fn close(
        &mut self,
        merchant: &str,
        out_trade_no: &str,
        now: Instant,
    ) -> Result<Order, ApiError> {
        let order = self.order_mut(merchant, out_trade_no, now)?;
        match order.status {
            OrderStatus::Pending
            | OrderStatus::Processing
            | OrderStatus::Failed
            | OrderStatus::Closed => {
                order.status = OrderStatus::Closed;
                order.settles_at = None;
                let closed = order.clone();
                self.record_order(&closed);
                Ok(closed)
            }
            OrderStatus::Succeeded => Err(ApiError::OrderPaid(format!(
                "order {} is paid; refund or cancel it instead",
                order.out_trade_no
            ))),
            OrderStatus::Cancelled => Err(ApiError::OrderClosed(format!(
                "order {} is already cancelled",
                order.out_trade_no
            ))),
        }
    }

    /// Reverses an order whatever its state: an unpaid one simply ends, a paid
    /// one is refunded in full (what remains after earlier refunds).
    pub(crate) fn cancel(
        &mut self,
        merchant: &str,
        out_trade_no: &str,
        now: Instant,
    ) -> Result<Order, ApiError> {
        if self.trade_no_for(merchant, out_trade_no).is_none() {
            // Nothing to reverse, but the number is spent: a pay request
            // for it that arrives late must not take the payer's money.
            self.burn(merchant.to_string(), out_trade_no.to_string());
            self.record(Entry::Burned {
                merchant: merchant.to_string(),
                out_trade_no: out_trade_no.to_string(),
            });
            return Err(ApiError::OrderNotFound);
        }
        let order = self.order_mut(merchant, out_trade_no, now)?;
        if order.status == OrderStatus::Succeeded {
            order.refunded = order.amount;
        }
        order.status = OrderStatus::Cancelled;
        order.settles_at = None;
        let cancelled = order.clone();
        self.record_order(&cancelled);
        Ok(cancelled)
    }

    pub(crate) fn refund(
        &mut self,
        req: RefundRequest<'_>,
        now: Instant,
        wall: OffsetDateTime,
    ) -> Result<Refund, ApiError> {
        if let Some(existing) = self
            .refunds
            .get(&(req.merchant.to_string(), req.out_refund_no.to_string()))
        {
            // Amount strings are canonical, so comparing the strings compares amounts.
            if existing.out_trade_no != req.out_trade_no
                || existing.currency.format(existing.amount) != req.amount
            {
                return Err(ApiError::Duplicate(format!(
                    "out_refund_no {} was already used for {} {} on order {}",
                    existing.out_refund_no,
                    existing.currency.format(existing.amount),
                    existing.currency.code,
                    existing.out_trade_no
                )));
            }
            return Ok(existing.clone());
        }

        let order = self.order_mut(req.merchant, req.out_trade_no, now)?;
        let amount = order
            .currency
            .parse(req.amount)
            .map_err(|m| ApiError::invalid(format!("field `amount`: {m}")))?;
        if order.status != OrderStatus::Succeeded && order.refunded == 0 {
            return Err(ApiError::RefundExceeds(format!(
                "order {} is {}: nothing was paid, nothing can be refunded",
                order.out_trade_no,
                order.status.as_str()
            )));
        }
        let remaining = order.amount - order.refunded;
        if amount > remaining {
            return Err(ApiError::RefundExceeds(format!(
                "refund of {} {} exceeds the {} that remains refundable",
                order.currency.format(amount),
                order.currency.code,
                order.currency.format(remaining)
            )));
        }
        let status = if req.reason == FAIL_REFUND_REASON {
            RefundStatus::Failed
        } else {
            order.refunded += amount;
            RefundStatus::Succeeded
        };
        let currency = order.currency;
        let refunded_order = order.clone();
        let refund = Refund {
            refund_no: self.next_number("sbr", wall),
            out_refund_no: req.out_refund_no.to_string(),
            out_trade_no: req.out_trade_no.to_string(),
            amount,
            currency,
            status,
        };
        self.insert_refund(req.merchant, refund.clone());
        self.record_order(&refunded_order);
        self.record_refund(req.merchant, &refund);
        Ok(refund)
    }

    pub(crate) fn refund_query(
        &self,
        merchant: &str,
        out_refund_no: &str,
    ) -> Result<Refund, ApiError> {
        self.refunds
            .get(&(merchant.to_string(), out_refund_no.to_string()))
            .cloned()
            .ok_or(ApiError::RefundNotFound)
    }

    /// What the payer page shows; the page is not per-merchant, the trade_no
    /// in the URL is the capability.
    pub(crate) fn payer_view(&mut self, trade_no: &str, now: Instant) -> Option<Order> {
        let order = self.orders.get_mut(trade_no)?;
        order.refresh(now);
        Some(order.clone())
    }

    /// The payer approves a `PENDING` order: it is paid now.
    pub(crate) fn approve(
        &mut self,
        trade_no: &str,
        now: Instant,
        wall: OffsetDateTime,
    ) -> Result<Order, ApproveError> {
        let order = self
            .orders
            .get_mut(trade_no)
            .ok_or(ApproveError::NotFound)?;
        if order.status == OrderStatus::Pending && order.is_expired(now) {
            order.status = OrderStatus::Closed;
            return Err(ApproveError::Expired);
        }
        order.refresh(now);
        if order.status != OrderStatus::Pending {
            return Err(ApproveError::NotPending(order.status));
        }
        order.status = OrderStatus::Succeeded;
        order.paid_at = Some(wall);
        let paid = order.clone();
        self.record_order(&paid);
        Ok(paid)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> (usize, usize) {
        (self.orders.len(), self.refunds.len())
    }
}

/// The instance digits of a `sbx`/`sbr` number, if it has that shape.
fn instance_of(number: &str) -> Option<u16> {
    number.get(11..15)?.parse().ok()
}

enum Outcome {
    Plain,
    Declined,
    Timeout,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cny() -> Currency {
        Currency::lookup("CNY").unwrap()
    }

    fn pay<'a>(out: &'a str, scene: Scene, auth: Option<&'a str>) -> PayRequest<'a> {
        PayRequest {
            merchant: "m1",
            out_trade_no: out,
            amount: 1000,
            currency: cny(),
            scene,
            auth_code: auth,
            subject: "s",
            notify_url: None,
            expires_in: None,
        }
    }

    fn order(o: PayOutcome) -> Order {
        match o {
            PayOutcome::Order(o) => o,
            other => panic!("expected an order, got {other:?}"),
        }
    }

    #[test]
    fn evicts_oldest_orders_and_refunds() {
        let mut s = Store::with_limits(Duration::ZERO, 3, 2);
        let (now, wall) = (Instant::now(), OffsetDateTime::now_utc());
        for i in 0..5 {
            s.pay(
                pay(&format!("o{i}"), Scene::Barcode, Some("1234567890")),
                now,
                wall,
            )
            .unwrap();
        }
        assert_eq!(s.len().0, 3);
        assert!(matches!(
            s.query("m1", None, Some("o0"), now),
            Err(ApiError::OrderNotFound)
        ));
        assert!(matches!(
            s.query("m1", None, Some("o1"), now),
            Err(ApiError::OrderNotFound)
        ));
        assert!(s.query("m1", None, Some("o4"), now).is_ok());
        assert_eq!(s.by_out.len(), 3);
        assert_eq!(s.order_fifo.len(), 3);
        for i in 0..3 {
            let r = RefundRequest {
                merchant: "m1",
                out_trade_no: "o4",
                out_refund_no: &format!("r{i}"),
                amount: "1.00",
                reason: "",
            };
            s.refund(r, now, wall).unwrap();
        }
        assert_eq!(s.len().1, 2);
        assert!(s.refund_query("m1", "r0").is_err());
        assert!(s.refund_query("m1", "r2").is_ok());
    }

    #[test]
    fn trade_numbers_are_unique_and_shaped() {
        let mut s = Store::new(Duration::ZERO);
        let (now, wall) = (Instant::now(), OffsetDateTime::now_utc());
        let a = order(s.pay(pay("a", Scene::Qrcode, None), now, wall).unwrap());
        let b = order(s.pay(pay("b", Scene::Qrcode, None), now, wall).unwrap());
        assert_ne!(a.trade_no, b.trade_no);
        assert!(a.trade_no.starts_with("sbx"));
        assert!(a.trade_no[3..].bytes().all(|c| c.is_ascii_digit()));
    }

    #[test]
    fn a_delay_past_the_end_of_time_stays_processing_without_panicking() {
        let mut s = Store::new(Duration::from_millis(u64::MAX));
        let (now, wall) = (Instant::now(), OffsetDateTime::now_utc());
        let p = order(
            s.pay(pay("p", Scene::Barcode, Some("1234567892")), now, wall)
                .unwrap(),
        );
        assert_eq!(p.status, OrderStatus::Processing);
        let much_later = now + Duration::from_secs(86_400 * 365);
        let still = s.query("m1", Some(&p.trade_no), None, much_later).unwrap();
        assert_eq!(still.status, OrderStatus::Processing);
    }

    #[test]
    fn processing_settles_and_pending_expires_lazily() {
        let mut s = Store::new(Duration::from_secs(3));
        let (now, wall) = (Instant::now(), OffsetDateTime::now_utc());
        let p = order(
            s.pay(pay("p", Scene::Barcode, Some("1234567892")), now, wall)
                .unwrap(),
        );
        assert_eq!(p.status, OrderStatus::Processing);
        assert_eq!(
            s.query("m1", None, Some("p"), now).unwrap().status,
            OrderStatus::Processing
        );
        let later = now + Duration::from_secs(3);
        let settled = s.query("m1", Some(&p.trade_no), None, later).unwrap();
        assert_eq!(settled.status, OrderStatus::Succeeded);
        assert_eq!(settled.paid_at, Some(wall + Duration::from_secs(3)));

        let mut req = pay("q", Scene::Qrcode, None);
        req.expires_in = Some(Duration::from_secs(60));
        let q = order(s.pay(req, now, wall).unwrap());
        assert_eq!(
            s.approve(&q.trade_no, now + Duration::from_secs(61), wall)
                .unwrap_err(),
            ApproveError::Expired
        );
        assert_eq!(
            s.query("m1", None, Some("q"), now).unwrap().status,
            OrderStatus::Closed
        );
    }

    #[test]
    fn merchants_have_separate_namespaces() {
        let mut s = Store::new(Duration::ZERO);
        let (now, wall) = (Instant::now(), OffsetDateTime::now_utc());
        let a = order(s.pay(pay("same", Scene::Qrcode, None), now, wall).unwrap());
        let mut other = pay("same", Scene::Qrcode, None);
        other.merchant = "m2";
        other.amount = 5;
        let b = order(s.pay(other, now, wall).unwrap());
        assert_ne!(a.trade_no, b.trade_no);
        assert!(matches!(
            s.query("m2", Some(&a.trade_no), None, now),
            Err(ApiError::OrderNotFound)
        ));
    }

    #[test]
    fn cancel_after_partial_refund_refunds_the_rest() {
        let mut s = Store::new(Duration::ZERO);
        let (now, wall) = (Instant::now(), OffsetDateTime::now_utc());
        s.pay(pay("o", Scene::Barcode, Some("1234567890")), now, wall)
            .unwrap();
        let r = RefundRequest {
            merchant: "m1",
            out_trade_no: "o",
            out_refund_no: "r",
            amount: "4.00",
            reason: "",
        };
        s.refund(r, now, wall).unwrap();
        let c = s.cancel("m1", "o", now).unwrap();
        assert_eq!((c.status, c.refunded), (OrderStatus::Cancelled, 1000));
        let r2 = RefundRequest {
            merchant: "m1",
            out_trade_no: "o",
            out_refund_no: "r2",
            amount: "0.01",
            reason: "",
        };
        assert!(matches!(
            s.refund(r2, now, wall),
            Err(ApiError::RefundExceeds(_))
        ));
    }
}
