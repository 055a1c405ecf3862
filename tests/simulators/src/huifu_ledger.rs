//! What Huifu remembers beyond the shared orders: each payment's
//! identity (`req_seq_id` + `req_date`), trade type and bill numbers, each
//! refund's own identity, the `req_seq_id`s taken, the notifications sent;
//! and the serials it hands out.

use std::collections::{HashMap, HashSet};

use time::OffsetDateTime;
use time::macros::format_description;

use super::wire::RespCode;
use super::{DATE, Delivery, Sim, beijing};
use crate::orders::Order;

/// The two e-CNY trade types: what pay answers call `trade_type` and
/// queries and notifications `trans_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TradeType {
    /// B扫C: the till scanned the payer's code.
    Micropay,
    /// C扫B: the payer scanned the till's QR.
    Native,
}

impl TradeType {
    pub(super) fn name(self) -> &'static str {
        match self {
            TradeType::Micropay => "D_MICROPAY",
            TradeType::Native => "D_NATIVE",
        }
    }
}

/// A payment as Huifu knows it beyond the shared [`Order`] (whose
/// `out_trade_no` is the payment's `req_seq_id` and `trade_no` its
/// `hf_seq_id`).
#[derive(Debug, Clone)]
pub(super) struct Payment {
    /// With `req_seq_id`, what identifies the payment.
    pub(super) req_date: String,
    pub(super) trade_type: TradeType,
    pub(super) created_at: OffsetDateTime,
    /// The payer's bill numbers (shape assumed).
    pub(super) out_trans_id: String,
    pub(super) party_order_id: String,
    pub(super) remark: Option<String>,
    /// The operating institution (`dc_data.digital_bank_no`), if named.
    pub(super) digital_bank_no: Option<String>,
    /// Why a declined payment failed.
    pub(super) failure: Option<RespCode>,
}

/// A refund as Huifu knows it: its own `req_seq_id` + `req_date` and
/// `hf_seq_id`, and the payment it returns money from.
#[derive(Debug, Clone)]
pub(super) struct RefundTxn {
    pub(super) req_date: String,
    pub(super) req_seq_id: String,
    pub(super) hf_seq_id: String,
    /// The payment's `req_seq_id` (its order's key).
    pub(super) payment: String,
    pub(super) amount: i64,
    pub(super) notify_url: Option<String>,
    pub(super) at: OffsetDateTime,
}

#[derive(Default)]
pub(super) struct Ledger {
    pub(super) payments: HashMap<String, Payment>,
    pub(super) refunds: HashMap<String, RefundTxn>,
    /// Every `req_seq_id` a payment or refund took: unique per merchant.
    pub(super) used_seq_ids: HashSet<String>,
    pub(super) deliveries: Vec<Delivery>,
}

impl Sim {
    /// A new `hf_seq_id`, 40 characters shaped like Huifu's
    /// (`00290TOP1GR210919004230P853ac13262200000`): a fixed node prefix,
    /// the Beijing time and a unique counter.
    pub(super) fn new_hf_seq_id(&self) -> String {
        let counter: u64 = self.orders.next_id("").parse().unwrap_or_default();
        let stamp = beijing(
            self.orders.now(),
            format_description!("[year repr:last_two][month][day][hour][minute][second]"),
        );
        format!("00290TOP1GR{stamp}P{counter:011x}00000")
    }

    /// A payment stamped now, with the payer's bill numbers.
    pub(super) fn new_payment(&self, req_date: &str, trade_type: TradeType) -> Payment {
        let now = self.orders.now();
        let counter: u64 = self.orders.next_id("").parse().unwrap_or_default();
        Payment {
            req_date: req_date.to_owned(),
            trade_type,
            created_at: now,
            out_trans_id: format!("{}{counter:016}", beijing(now, DATE)),
            party_order_id: format!(
                "03{}{counter:014}",
                beijing(now, format_description!("[year repr:last_two][month][day]"))
            ),
            remark: None,
            digital_bank_no: None,
            failure: None,
        }
    }

    /// Takes `req_seq_id` for a payment, unless some call has it already.
    pub(super) fn reserve_payment(&self, req_seq_id: &str, payment: Payment) -> bool {
        let mut ledger = self.ledger.lock().unwrap();
        if ledger.used_seq_ids.contains(req_seq_id) || self.orders.get(req_seq_id).is_some() {
            return false;
        }
        ledger.used_seq_ids.insert(req_seq_id.to_owned());
        ledger.payments.insert(req_seq_id.to_owned(), payment);
        true
    }

    /// Takes the refund's `req_seq_id`, unless some call has it already.
    pub(super) fn reserve_refund(&self, refund: RefundTxn) -> bool {
        let mut ledger = self.ledger.lock().unwrap();
        if ledger.used_seq_ids.contains(&refund.req_seq_id)
            || self.orders.get(&refund.req_seq_id).is_some()
        {
            return false;
        }
        ledger.used_seq_ids.insert(refund.req_seq_id.clone());
        ledger.refunds.insert(refund.req_seq_id.clone(), refund);
        true
    }

    /// Gives back a refund's `req_seq_id` the refund could not take: a
    /// refused call leaves nothing behind.
    pub(super) fn release_refund(&self, req_seq_id: &str) {
        let mut ledger = self.ledger.lock().unwrap();
        ledger.refunds.remove(req_seq_id);
        ledger.used_seq_ids.remove(req_seq_id);
    }

    /// The payment record of `order`, made up (and kept) for an order that
    /// did not come through the API (`insert_order`): a B扫C payment of the
    /// day it was paid.
    pub(super) fn payment_of(&self, order: &Order) -> Payment {
        let known = self
            .ledger
            .lock()
            .unwrap()
            .payments
            .get(&order.out_trade_no)
            .cloned();
        known.unwrap_or_else(|| {
            let day = beijing(order.paid_at.unwrap_or_else(|| self.orders.now()), DATE);
            let payment = self.new_payment(&day, TradeType::Micropay);
            self.ledger
                .lock()
                .unwrap()
                .payments
                .entry(order.out_trade_no.clone())
                .or_insert(payment)
                .clone()
        })
    }

    /// The refund whose own `req_seq_id` this is; one put in with an order
    /// (`insert_order`) is taken as made the day it was accepted.
    pub(super) fn refund_record(&self, req_seq_id: &str) -> Option<RefundTxn> {
        if let Some(known) = self.ledger.lock().unwrap().refunds.get(req_seq_id) {
            return Some(known.clone());
        }
        let (order, amount, id) = self.orders.all_refund(req_seq_id)?;
        let at = order
            .refunds
            .iter()
            .find(|r| r.no == req_seq_id)
            .and_then(|r| r.at)
            .unwrap_or_else(|| self.orders.now());
        Some(RefundTxn {
            req_date: beijing(at, DATE),
            req_seq_id: req_seq_id.to_owned(),
            hf_seq_id: id,
            payment: order.out_trade_no.clone(),
            amount,
            notify_url: None,
            at,
        })
    }
}
