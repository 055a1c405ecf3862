//! Order state shared by both simulators, and the per-order script.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

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
    /// (out_request_no / out_refund_no, amount, refund id)
    pub refunds: Vec<(String, i64, String)>,
}

impl Order {
    pub fn refunded(&self) -> i64 {
        self.refunds.iter().map(|r| r.1).sum()
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

    pub fn insert(&self, order: Order) {
        self.0
            .lock()
            .unwrap()
            .orders
            .insert(order.out_trade_no.clone(), order);
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
        self.0
            .lock()
            .unwrap()
            .orders
            .get_mut(out_trade_no)
            .map(change)
    }

    /// The order holding refund `no`, with its amount and refund id.
    pub fn all_refund(&self, no: &str) -> Option<(Order, i64, String)> {
        let inner = self.0.lock().unwrap();
        inner.orders.values().find_map(|o| {
            o.refunds
                .iter()
                .find(|r| r.0 == no)
                .map(|r| (o.clone(), r.1, r.2.clone()))
        })
    }

    pub fn record_request(&self, raw: String) {
        self.0.lock().unwrap().requests.push(raw);
    }

    pub fn requests(&self) -> Vec<String> {
        self.0.lock().unwrap().requests.clone()
    }
}
