//! The provider's books: creating the store, reading and compacting its
//! journal, writing every change to it, numbering orders and refunds,
//! forgetting the oldest records past the limits, and handing a merchant's
//! records to the daily statement.

use super::*;

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
        self.complete_lines_from_before_statements();
        // New numbers must not repeat the ones read back.
        while instances.contains(&Some(self.instance)) {
            self.instance = (self.instance + 1) % 10_000;
        }
        self.journal = Some(Journal::rewrite(path, &self.snapshot(clocks))?);
        Ok(())
    }

    /// Journal lines written before statements existed lack a refund's order
    /// number and a cancel's reversal; works them out from the other records.
    fn complete_lines_from_before_statements(&mut self) {
        for ((merchant, _), refund) in self.refunds.iter_mut() {
            if refund.trade_no.is_empty() {
                // Empty still if the order was forgotten: nothing else knows it.
                let key = (merchant.clone(), refund.out_trade_no.clone());
                if let Some(trade_no) = self.by_out.get(&key) {
                    refund.trade_no = trade_no.clone();
                }
            }
        }
        // Every cancel of a paid order records its reversal now, so a
        // cancelled paid order without one comes from an older line.
        let legacy = |o: &Order| {
            o.status == OrderStatus::Cancelled && o.paid_at.is_some() && o.reversal.is_none()
        };
        if !self.orders.values().any(legacy) {
            return;
        }
        let mut refunded: HashMap<(&str, &str), i64> = HashMap::new();
        for ((merchant, _), r) in &self.refunds {
            if r.status == RefundStatus::Succeeded {
                *refunded.entry((merchant, &r.out_trade_no)).or_default() += r.amount;
            }
        }
        for o in self.orders.values_mut().filter(|o| legacy(o)) {
            let Some(paid_at) = o.paid_at else { continue };
            let before = refunded
                .get(&(o.merchant.as_str(), o.out_trade_no.as_str()))
                .copied()
                .unwrap_or(0);
            // The cancel gave back what the refunds had left. Its time is
            // unknown: dated at the payment, the earliest it can have been
            // (and the usual case: a cancel right after a pay's timeout).
            o.reversal = Some(Reversal {
                at: paid_at,
                amount: (o.amount - before).max(0),
            });
        }
    }

    /// The merchant's orders, with due timers applied (a `PROCESSING` order
    /// whose delay has passed is paid), for the statement.
    pub(crate) fn orders_of<'a>(
        &'a mut self,
        merchant: &'a str,
        now: Instant,
    ) -> impl Iterator<Item = &'a Order> + 'a {
        for o in self.orders.values_mut().filter(|o| o.merchant == merchant) {
            o.refresh(now);
        }
        self.orders.values().filter(move |o| o.merchant == merchant)
    }

    /// The merchant's refunds, whatever became of their orders.
    pub(crate) fn refunds_of<'a>(&'a self, merchant: &'a str) -> impl Iterator<Item = &'a Refund> {
        self.refunds
            .iter()
            .filter(move |((m, _), _)| m == merchant)
            .map(|(_, r)| r)
    }

    /// Whether the merchant has an order with this number.
    pub(crate) fn knows_order(&self, merchant: &str, out_trade_no: &str) -> bool {
        self.trade_no_for(merchant, out_trade_no).is_some()
    }

    /// A fresh `trade_no` for a line that only a statement shows (an
    /// adjustment), unique among the provider's own.
    pub(crate) fn new_trade_no(&mut self, wall: OffsetDateTime) -> String {
        self.next_number("sbx", wall)
    }

    /// One entry per record, oldest first: the journal's compacted form.
    pub(super) fn snapshot(&self, clocks: Clocks) -> Vec<Entry> {
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
    pub(super) fn record(&mut self, entry: Entry) {
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

    pub(super) fn record_order(&mut self, order: &Order) {
        self.record(Entry::Order(OrderLine::of(order, Clocks::now())));
    }

    pub(super) fn record_refund(&mut self, merchant: &str, refund: &Refund) {
        self.record(Entry::Refund(RefundLine::of(merchant, refund)));
    }

    pub(super) fn burn(&mut self, merchant: String, out_trade_no: String) {
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

    pub(super) fn is_burned(&self, merchant: &str, out_trade_no: &str) -> bool {
        self.burned
            .contains(&(merchant.to_string(), out_trade_no.to_string()))
    }

    /// `sbx`/`sbr` + UTC date + instance + counter: readable, sortable, unique.
    pub(super) fn next_number(&mut self, prefix: &str, wall: OffsetDateTime) -> String {
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

    pub(super) fn trade_no_for(&self, merchant: &str, out_trade_no: &str) -> Option<&String> {
        self.by_out
            .get(&(merchant.to_string(), out_trade_no.to_string()))
    }

    /// The merchant's order by `out_trade_no`, refreshed.
    pub(super) fn order_mut(
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

    pub(super) fn insert_order(&mut self, order: Order) {
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

    pub(super) fn insert_refund(&mut self, merchant: &str, refund: Refund) {
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
}
