//! What each call does: B扫C pay, C扫B order, payment query, refund,
//! refund query and the close e-CNY refuses, on the orders and the ledger.

use serde_json::{Value, json};

use super::checks::{
    Checked, Reply, Request, amount, at_most, checked, json_object, optional, refuse, reply,
    required,
};
use super::wire::{self, Data, codes};
use super::{CLOCK_TIME, DATE, Payment, RefundTxn, STAMP, Sim, TradeType, beijing};
use crate::orders::{Behaviour, Order, OrderState, Refund};

/// The keys `risk_check_data` may hold; it must hold at least one.
const RISK_KEYS: &[&str] = &["ip_addr", "base_station", "latitude", "longitude"];

/// The operating institution answers name when the order did not (the
/// code a Huifu demo uses; which institution a payer's wallet is with is
/// not known to the merchant beforehand).
const DEFAULT_DIGITAL_BANK_NO: &str = "01002";

fn data(pairs: &[(&str, &str)]) -> Data {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// `trans_stat`: `P` processing, `S` success, `F` failure.
fn trans_stat(order: &Order) -> &'static str {
    match order.state {
        OrderState::Waiting => "P",
        OrderState::Paid => "S",
        OrderState::Closed | OrderState::Cancelled => "F",
    }
}

/// 数字货币返回报文: the payer's operating institution (names assumed).
fn dc_response(payment: &Payment) -> Value {
    let bank = payment
        .digital_bank_no
        .as_deref()
        .unwrap_or(DEFAULT_DIGITAL_BANK_NO);
    json!({
        "custom_bank_code": bank,
        "custom_bank_name": format!("数字人民币运营机构{bank}"),
    })
}

impl Sim {
    /// What answers, queries and notifications say about a payment's
    /// outcome, claiming `claimed` fen instead of its amount if given.
    pub(super) fn result_fields(
        &self,
        order: &Order,
        payment: &Payment,
        claimed: Option<i64>,
    ) -> Data {
        let amount = wire::yuan(claimed.unwrap_or(order.amount));
        let mut fields = data(&[
            ("trans_stat", trans_stat(order)),
            ("trans_amt", &amount),
            ("delay_acct_flag", "N"),
        ]);
        match order.state {
            OrderState::Paid => {
                let paid_at = order.paid_at.unwrap_or(payment.created_at);
                fields.extend(data(&[
                    ("pay_amt", &amount),
                    ("settlement_amt", &amount),
                    ("end_time", &beijing(paid_at, STAMP)),
                    ("acct_date", &beijing(paid_at, DATE)),
                    ("out_trans_id", &payment.out_trans_id),
                    ("party_order_id", &payment.party_order_id),
                    ("dc_response", &dc_response(payment).to_string()),
                ]));
            }
            OrderState::Closed | OrderState::Cancelled => {
                let why = payment.failure.unwrap_or(codes::FAILED);
                fields.extend(data(&[
                    ("bank_desc", why.desc),
                    ("end_time", &beijing(payment.created_at, STAMP)),
                ]));
            }
            OrderState::Waiting => {}
        }
        fields
    }

    /// The payment `org_req_seq_id` + `org_req_date`, `org_hf_seq_id` or
    /// `org_party_order_id` names (`org_req_date`, when given, must be its
    /// `req_date`), or the refusal `not_found`.
    fn locate_payment(
        &self,
        request: &Request,
        not_found: wire::RespCode,
    ) -> Checked<(Order, Payment)> {
        let date = optional(request, "org_req_date", wire::is_date)?;
        let order = if let Some(req_seq_id) = request.get("org_req_seq_id") {
            required(request, "org_req_date")?;
            self.orders.get(req_seq_id)
        } else if let Some(hf_seq_id) = request.get("org_hf_seq_id") {
            self.orders.by_trade_no(hf_seq_id)
        } else if let Some(party) = request.get("org_party_order_id") {
            let ledger = self.ledger.lock().unwrap();
            let found = ledger
                .payments
                .iter()
                .find(|(_, p)| p.party_order_id == party)
                .map(|(no, _)| no.clone());
            drop(ledger);
            found.and_then(|no| self.orders.get(&no))
        } else {
            return Err(refuse(request, codes::NO_LOCATOR, None));
        };
        let order = order.ok_or_else(|| refuse(request, not_found, None))?;
        let payment = self.payment_of(&order);
        // Every locator given must name this same payment.
        let serial = request.get("org_hf_seq_id");
        if date.is_some_and(|d| d != payment.req_date)
            || serial.is_some_and(|s| s != order.trade_no)
        {
            return Err(refuse(request, not_found, None));
        }
        Ok((order, payment))
    }

    /// `/v3/trade/payment/micropay`: the till scanned the payer's e-CNY code.
    pub(super) fn micropay(&self, request: &Request) -> Checked<Reply> {
        let req_date = checked(request, "req_date", wire::is_date)?;
        let req_seq_id = checked(request, "req_seq_id", wire::is_seq_id)?;
        let fen = amount(request, "trans_amt")?;
        checked(request, "goods_desc", at_most(127))?;
        let auth_code = required(request, "auth_code")?;
        let risk = json_object(request, "risk_check_data")?
            .ok_or_else(|| refuse(request, codes::BAD_PARAMETER, Some("risk_check_data必填")))?;
        if !RISK_KEYS.iter().any(|key| risk.contains_key(*key)) {
            return Err(refuse(
                request,
                codes::BAD_PARAMETER,
                Some("risk_check_data"),
            ));
        }
        let notify_url = optional(request, "notify_url", |v| wire::is_notify_url(v, 504))?;
        let remark = optional(request, "remark", at_most(255))?;
        optional(request, "time_expire", wire::is_timestamp)?;
        if !self.is_today(req_date) {
            return Err(refuse(request, codes::NOT_TODAY, None));
        }
        if !wire::is_ecny_code(auth_code) {
            return Err(refuse(request, codes::BAD_AUTH_CODE, None));
        }
        let behaviour = self.orders.behaviour(req_seq_id, Some(auth_code));
        // Decided at once, or once the payer confirms in the app.
        let (state, failure) = match behaviour {
            Behaviour::UserPaying { .. } => (OrderState::Waiting, None),
            Behaviour::Decline => (OrderState::Closed, Some(codes::DECLINED)),
            Behaviour::Pay | Behaviour::Timeout | Behaviour::BadSignature => {
                (OrderState::Paid, None)
            }
        };
        let payment = Payment {
            remark: remark.map(str::to_owned),
            failure,
            ..self.new_payment(req_date, TradeType::Micropay)
        };
        let hf_seq_id = self.new_hf_seq_id();
        if !self.reserve_payment(req_seq_id, payment.clone()) {
            return Err(refuse(request, codes::DUPLICATE, None));
        }
        let order = self.create_order(req_seq_id, &hf_seq_id, fen, state, behaviour, notify_url);
        if state != OrderState::Waiting {
            self.notify_later(self.payment_notice(req_seq_id, None));
        }
        let code = match state {
            OrderState::Paid => codes::SUCCESS,
            OrderState::Waiting => codes::PROCESSING,
            OrderState::Closed | OrderState::Cancelled => codes::DECLINED,
        };
        let mut extra = self.result_fields(&order, &payment, None);
        extra.extend(data(&[
            ("hf_seq_id", &hf_seq_id),
            ("trade_type", TradeType::Micropay.name()),
        ]));
        if state == OrderState::Paid {
            extra.extend(data(&[("fee_amt", "0.00")]));
        }
        let mut answer = reply(request, code, None, extra);
        answer.spoil = behaviour == Behaviour::BadSignature;
        answer.late = behaviour == Behaviour::Timeout;
        Ok(answer)
    }

    /// `/v3/trade/payment/jspay` with `D_NATIVE`: a QR for the payer to scan.
    pub(super) fn jspay(&self, request: &Request) -> Checked<Reply> {
        let req_date = checked(request, "req_date", wire::is_date)?;
        let req_seq_id = checked(request, "req_seq_id", wire::is_seq_id)?;
        checked(request, "goods_desc", at_most(127))?;
        let trade_type = required(request, "trade_type")?;
        let fen = amount(request, "trans_amt")?;
        let notify_url = optional(request, "notify_url", |v| wire::is_notify_url(v, 504))?;
        let remark = optional(request, "remark", at_most(255))?;
        optional(request, "time_expire", wire::is_timestamp)?;
        let digital_bank_no = match json_object(request, "dc_data")? {
            Some(dc_data) => {
                let bank = dc_data.get("digital_bank_no").and_then(Value::as_str);
                match bank.filter(|b| !b.is_empty()) {
                    Some(bank) => Some(bank.to_owned()),
                    None => return Err(refuse(request, codes::BAD_PARAMETER, Some("dc_data"))),
                }
            }
            None => None,
        };
        // This gateway carries e-CNY only.
        if trade_type != TradeType::Native.name() {
            return Err(refuse(
                request,
                codes::TRADE_TYPE_NOT_SUPPORTED,
                Some(trade_type),
            ));
        }
        let behaviour = self.orders.behaviour(req_seq_id, None);
        let payment = Payment {
            remark: remark.map(str::to_owned),
            digital_bank_no,
            ..self.new_payment(req_date, TradeType::Native)
        };
        let hf_seq_id = self.new_hf_seq_id();
        if !self.reserve_payment(req_seq_id, payment.clone()) {
            return Err(refuse(request, codes::DUPLICATE, None));
        }
        let order = self.create_order(
            req_seq_id,
            &hf_seq_id,
            fen,
            OrderState::Waiting,
            behaviour,
            notify_url,
        );
        // Opaque to the merchant (the e-CNY QR format is not public); here
        // it is where the demo's payer "scans" it.
        let qr_code = format!("{}/_sim/pay?out_trade_no={req_seq_id}", self.base);
        let mut extra = self.result_fields(&order, &payment, None);
        extra.extend(data(&[
            ("hf_seq_id", &hf_seq_id),
            ("trade_type", TradeType::Native.name()),
            ("qr_code", &qr_code),
        ]));
        let mut answer = reply(request, codes::ORDER_CREATED, None, extra);
        answer.spoil = behaviour == Behaviour::BadSignature;
        answer.late = behaviour == Behaviour::Timeout;
        Ok(answer)
    }

    fn create_order(
        &self,
        req_seq_id: &str,
        hf_seq_id: &str,
        amount: i64,
        state: OrderState,
        behaviour: Behaviour,
        notify_url: Option<&str>,
    ) -> Order {
        self.orders.insert(Order {
            out_trade_no: req_seq_id.to_owned(),
            trade_no: hf_seq_id.to_owned(),
            amount,
            state,
            behaviour,
            queries: 0,
            scanned: true,
            notify_url: notify_url.map(str::to_owned),
            refunds: Vec::new(),
            paid_at: None,
            reversed_at: None,
        });
        self.orders.get(req_seq_id).expect("just inserted")
    }

    /// `/v3/trade/payment/scanpay/query`: a payment's state; "user paying"
    /// may turn into paid now (and is then notified).
    pub(super) fn query(&self, request: &Request) -> Checked<Reply> {
        let (order, payment) = self.locate_payment(request, codes::NOT_FOUND)?;
        let (was, order) = self
            .orders
            .update(&order.out_trade_no, |o| {
                let was = o.state;
                o.queried();
                (was, o.clone())
            })
            .ok_or_else(|| refuse(request, codes::NOT_FOUND, None))?;
        if was == OrderState::Waiting && order.state == OrderState::Paid {
            self.notify_later(self.payment_notice(&order.out_trade_no, None));
        }
        let mut extra = self.result_fields(&order, &payment, None);
        extra.extend(data(&[
            ("org_req_date", &payment.req_date),
            ("org_req_seq_id", &order.out_trade_no),
            ("org_hf_seq_id", &order.trade_no),
            ("trans_type", payment.trade_type.name()),
            ("trans_time", &beijing(payment.created_at, CLOCK_TIME)),
            ("div_flag", "N"),
        ]));
        // B扫C waiting means the payer is entering the wallet password.
        if order.state == OrderState::Waiting && payment.trade_type == TradeType::Micropay {
            extra.extend(data(&[("password_trade", "Y")]));
        }
        let mut answer = reply(request, codes::QUERY_DONE, None, extra);
        answer.spoil = order.behaviour == Behaviour::BadSignature;
        Ok(answer)
    }

    /// `/v3/trade/payment/scanpay/refund`: money back to the payer's wallet,
    /// never more than is left; e-CNY needs a reason.
    pub(super) fn refund(&self, request: &Request) -> Checked<Reply> {
        let req_date = checked(request, "req_date", wire::is_date)?;
        let req_seq_id = checked(request, "req_seq_id", wire::is_seq_id)?;
        let fen = amount(request, "ord_amt")?;
        checked(request, "org_req_date", wire::is_date)?;
        let notify_url = optional(request, "notify_url", |v| wire::is_notify_url(v, 512))?;
        optional(request, "remark", at_most(84))?;
        let (order, payment) = self.locate_payment(request, codes::ORIGINAL_NOT_FOUND)?;
        let reason = json_object(request, "digital_currency_data")?.and_then(|d| {
            d.get("refund_desc")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
        if reason.is_none_or(|r| r.trim().is_empty()) {
            return Err(refuse(request, codes::REFUND_REASON_REQUIRED, None));
        }
        let refund = RefundTxn {
            req_date: req_date.to_owned(),
            req_seq_id: req_seq_id.to_owned(),
            hf_seq_id: self.new_hf_seq_id(),
            payment: order.out_trade_no.clone(),
            amount: fen,
            notify_url: notify_url.map(str::to_owned),
            at: self.orders.now(),
        };
        if !self.reserve_refund(refund.clone()) {
            return Err(refuse(request, codes::DUPLICATE, None));
        }
        // Checked and taken under the order's lock: two refunds racing for
        // the last fen cannot both pass.
        let taken = self
            .orders
            .update(&order.out_trade_no, |o| match o.state {
                OrderState::Paid if fen > o.amount - o.refunded() => Err((
                    codes::OVER_REFUNDABLE,
                    Some(wire::yuan(o.amount - o.refunded())),
                )),
                OrderState::Paid => {
                    o.refunds.push(Refund::new(
                        refund.req_seq_id.clone(),
                        fen,
                        refund.hf_seq_id.clone(),
                    ));
                    Ok(())
                }
                OrderState::Waiting => Err((codes::NOT_BOOKED, None)),
                OrderState::Closed | OrderState::Cancelled => Err((codes::ORIGINAL_FAILED, None)),
            })
            .unwrap_or(Err((codes::ORIGINAL_NOT_FOUND, None)));
        if let Err((code, left)) = taken {
            self.release_refund(req_seq_id);
            let detail = left.map(|left| format!("可退余额{left}"));
            return Err(refuse(request, code, detail.as_deref()));
        }
        self.notify_later(self.refund_notice(req_seq_id));
        let mut extra = self.refund_fields(&refund, &payment);
        extra.extend(data(&[
            ("product_id", &self.config.product_id),
            ("req_date", &refund.req_date),
            ("req_seq_id", &refund.req_seq_id),
            ("hf_seq_id", &refund.hf_seq_id),
        ]));
        let mut answer = reply(request, codes::SUCCESS, None, extra);
        answer.spoil = order.behaviour == Behaviour::BadSignature;
        Ok(answer)
    }

    /// What a refund's answer, query and notification say about it: done
    /// at once (`S`), the whole amount back.
    pub(super) fn refund_fields(&self, refund: &RefundTxn, payment: &Payment) -> Data {
        let amount = wire::yuan(refund.amount);
        data(&[
            ("org_req_date", &payment.req_date),
            ("org_req_seq_id", &refund.payment),
            ("trans_date", &beijing(refund.at, DATE)),
            ("trans_time", &beijing(refund.at, CLOCK_TIME)),
            ("trans_finish_time", &beijing(refund.at, STAMP)),
            ("trans_stat", "S"),
            ("ord_amt", &amount),
            ("actual_ref_amt", &amount),
            ("pay_channel", "D"),
            ("dc_response", &dc_response(payment).to_string()),
        ])
    }

    /// `/v3/trade/payment/scanpay/refundquery`: a refund by its own
    /// `req_seq_id` + `req_date`, or its `hf_seq_id`.
    pub(super) fn refund_query(&self, request: &Request) -> Checked<Reply> {
        let date = optional(request, "org_req_date", wire::is_date)?;
        let refund = if let Some(req_seq_id) = request.get("org_req_seq_id") {
            required(request, "org_req_date")?;
            self.refund_record(req_seq_id)
        } else if let Some(hf_seq_id) = request.get("org_hf_seq_id") {
            let ledger = self.ledger.lock().unwrap();
            let found = ledger
                .refunds
                .values()
                .find(|r| r.hf_seq_id == hf_seq_id)
                .cloned();
            drop(ledger);
            found
        } else {
            return Err(refuse(request, codes::NO_LOCATOR, None));
        };
        let serial = request.get("org_hf_seq_id");
        // Every locator given must name this same refund.
        let refund = refund
            .filter(|r| date.is_none_or(|d| d == r.req_date))
            .filter(|r| serial.is_none_or(|s| s == r.hf_seq_id))
            .ok_or_else(|| refuse(request, codes::NOT_FOUND, None))?;
        let order = self
            .orders
            .get(&refund.payment)
            .ok_or_else(|| refuse(request, codes::NOT_FOUND, None))?;
        let payment = self.payment_of(&order);
        let mut extra = self.refund_fields(&refund, &payment);
        // Here `org_*` name the refund itself.
        extra.extend(data(&[
            ("org_req_date", &refund.req_date),
            ("org_req_seq_id", &refund.req_seq_id),
            ("org_hf_seq_id", &refund.hf_seq_id),
            ("trans_type", "TRANS_REFUND"),
        ]));
        let mut answer = reply(request, codes::QUERY_DONE, None, extra);
        answer.spoil = order.behaviour == Behaviour::BadSignature;
        Ok(answer)
    }

    /// `/v2/trade/payment/scanpay/close` (`closing`) and `…/closequery`:
    /// e-CNY orders cannot be closed, so both refuse every order this
    /// gateway has, and nothing changes.
    pub(super) fn close(&self, request: &Request, closing: bool) -> Checked<Reply> {
        if closing {
            checked(request, "req_date", wire::is_date)?;
            checked(request, "req_seq_id", wire::is_seq_id)?;
        }
        checked(request, "org_req_date", wire::is_date)?;
        let (order, _) = self.locate_payment(request, codes::ORIGINAL_NOT_FOUND)?;
        let mut answer = reply(
            request,
            codes::CLOSE_NOT_SUPPORTED,
            None,
            data(&[("trans_stat", "F")]),
        );
        answer.spoil = order.behaviour == Behaviour::BadSignature;
        Ok(answer)
    }
}
