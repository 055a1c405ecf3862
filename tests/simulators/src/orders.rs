//! Order state shared by both simulators, and the per-order script.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use time::OffsetDateTime;

use crate::clock::BusinessClock;

/// What the simulated channel does with one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Behaviour {
    /// Pays at once.
    #[default]
    Pay,
    /// The payer is entering a password: "user paying". It becomes paid on
    /// the `n`th query, or never with `None`.
    UserPaying { paid_after_queries: Option<u32> },
    /// Pays, but answers the pay call only after the simulator's `slow`
    /// delay — longer than paycore waits — so paycore must query.
    Timeout,
    /// The payer's balance is not enough.
    Decline,
    /// Pays, but every answer about this order carries a signature that
    /// does not verify.
    BadSignature,
}

impl Behaviour {
    /// The demo's codes: last digit 1 declines, 2 is "user paying" then paid
    /// on the second query, 3 times out, 4 is "user paying" forever.
    pub fn for_auth_code(code: &str) -> Behaviour {
        match code.chars().last() {
            Some('1') => Behaviour::Decline,
            Some('2') => Behaviour::UserPaying {
                paid_after_queries: Some(2),
            },
            Some('3') => Behaviour::Timeout,
            Some('4') => Behaviour::UserPaying {
                paid_after_queries: None,
            },
            _ => Behaviour::Pay,
        }
    }
}

/// How to spoil a callback the test asks the simulator to send.
#[derive(Debug, Clone, Default)]
pub struct Tweak {
    /// Claim this amount (fen) instead of the order's.
    pub amount: Option<i64>,
    /// Sign with a key that is not the channel's.
    pub bad_signature: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderState {
    /// Created, waiting for the payer (or for their password).
    Waiting,
    Paid,
    Closed,
    /// Reversed (cancelled) at the merchant's request.
    Cancelled,
}

#[derive(Debug, Clone)]
pub struct Order {
    pub out_trade_no: String,
    pub trade_no: String,
    pub amount: i64,
    pub state: OrderState,
    pub behaviour: Behaviour,
    pub queries: u32,
    /// Alipay's precreate trades exist only once scanned.
    pub scanned: bool,
    pub notify_url: Option<String>,
    pub refunds: Vec<Refund>,
    /// When the payer paid, by the simulator's business clock: the day the
    /// payment is on the channel's statement. Stamped by [`Orders`].
    pub paid_at: Option<OffsetDateTime>,
    /// When a paid order was reversed (cancelled after payment).
    pub reversed_at: Option<OffsetDateTime>,
}

/// One refund of an order.
#[derive(Debug, Clone)]
pub struct Refund {
    /// Our number: Alipay's `out_request_no`, WeChat Pay's `out_refund_no`.
    pub no: String,
    pub amount: i64,
    /// The channel's refund id.
    pub id: String,
    /// When the channel accepted it (stamped by [`Orders`]).
    pub at: Option<OffsetDateTime>,
}

impl Refund {
    pub fn new(no: String, amount: i64, id: String) -> Refund {
        Refund {
            no,
            amount,
            id,
            at: None,
        }
    }
}

impl Order {
    pub fn refunded(&self) -> i64 {
        self.refunds.iter().map(|r| r.amount).sum()
    }

    /// Dates what just happened to the order: its payment, its reversal
    /// and any new refund.
    fn stamp(&mut self, now: OffsetDateTime) {
        if matches!(self.state, OrderState::Paid | OrderState::Cancelled) && self.paid_at.is_none()
        {
            // A payment cancelled before it was paid never had money.
            if self.state == OrderState::Paid {
                self.paid_at = Some(now);
            }
        }
        if self.state == OrderState::Cancelled
            && self.paid_at.is_some()
            && self.reversed_at.is_none()
        {
            self.reversed_at = Some(now);
        }
        for refund in self.refunds.iter_mut().filter(|r| r.at.is_none()) {
            refund.at = Some(now);
        }
    }

    /// A query: "user paying" may turn into paid now.
    pub fn queried(&mut self) {
        self.queries += 1;
        if let (
            OrderState::Waiting,
            Behaviour::UserPaying {
                paid_after_queries: Some(n),
            },
        ) = (self.state, self.behaviour)
            && self.queries >= n
        {
            self.state = OrderState::Paid;
        }
    }
}

#[derive(Default)]
struct Inner {
    clock: BusinessClock,
    /// Bumped on every change to an order: what a statement made from the
    /// orders is cached against.
    version: u64,
    orders: HashMap<String, Order>,
    scripts: HashMap<String, Behaviour>,
    counter: u64,
    requests: Vec<String>,
}

/// The simulator's memory: orders by our order number, scripts, and every
/// raw request received (to prove what a plugin sent and did not send).
#[derive(Clone, Default)]
pub struct Orders(Arc<Mutex<Inner>>);

impl Orders {
    /// Orders dated by `clock` (the system's time by default).
    pub fn with_clock(clock: BusinessClock) -> Orders {
        let orders = Orders::default();
        orders.0.lock().unwrap().clock = clock;
        orders
    }

    /// Now, by the business clock that dates payments and refunds.
    pub fn now(&self) -> OffsetDateTime {
        self.0.lock().unwrap().clock.now()
    }

    /// Changes with every order inserted or changed.
    pub fn version(&self) -> u64 {
        self.0.lock().unwrap().version
    }

    /// Every order, in no particular order (a statement sorts its lines).
    pub fn all(&self) -> Vec<Order> {
        self.0.lock().unwrap().orders.values().cloned().collect()
    }

    /// Scripts an order before it exists, or changes an existing one's
    /// behaviour from now on.
    pub fn script(&self, out_trade_no: &str, behaviour: Behaviour) {
        let mut inner = self.0.lock().unwrap();
        inner.scripts.insert(out_trade_no.to_owned(), behaviour);
        if let Some(order) = inner.orders.get_mut(out_trade_no) {
            order.behaviour = behaviour;
        }
    }

    pub fn behaviour(&self, out_trade_no: &str, auth_code: Option<&str>) -> Behaviour {
        let inner = self.0.lock().unwrap();
        inner
            .scripts
            .get(out_trade_no)
            .copied()
            .unwrap_or_else(|| auth_code.map(Behaviour::for_auth_code).unwrap_or_default())
    }

    pub fn next_id(&self, prefix: &str) -> String {
        let mut inner = self.0.lock().unwrap();
        inner.counter += 1;
        format!("{prefix}{:010}", inner.counter)
    }

    pub fn insert(&self, mut order: Order) {
        let mut inner = self.0.lock().unwrap();
        order.stamp(inner.clock.now());
        inner.version += 1;
        inner.orders.insert(order.out_trade_no.clone(), order);
    }

    pub fn get(&self, out_trade_no: &str) -> Option<Order> {
        self.0.lock().unwrap().orders.get(out_trade_no).cloned()
    }

    pub fn by_trade_no(&self, trade_no: &str) -> Option<Order> {
        self.0
            .lock()
            .unwrap()
            .orders
            .values()
            .find(|o| o.trade_no == trade_no)
            .cloned()
    }

    /// Changes one order and returns it as changed.
    pub fn update<R>(&self, out_trade_no: &str, change: impl FnOnce(&mut Order) -> R) -> Option<R> {
        let mut inner = self.0.lock().unwrap();
        let now = inner.clock.now();
        inner.version += 1;
        let order = inner.orders.get_mut(out_trade_no)?;
        let changed = change(order);
        order.stamp(now);
        Some(changed)
    }

    /// The order holding refund `no`, with its amount and refund id.
    pub fn all_refund(&self, no: &str) -> Option<(Order, i64, String)> {
        let inner = self.0.lock().unwrap();
        inner.orders.values().find_map(|o| {
            o.refunds
                .iter()
                .find(|r| r.no == no)
                .map(|r| (o.clone(), r.amount, r.id.clone()))
        })
    }

    pub fn record_request(&self, raw: String) {
        self.0.lock().unwrap().requests.push(raw);
    }

    pub fn requests(&self) -> Vec<String> {
        self.0.lock().unwrap().requests.clone()
    }
}
