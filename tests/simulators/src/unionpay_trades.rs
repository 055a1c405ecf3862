//! What each transaction does: consume (B扫C and C扫B), query, refund,
//! revoke and reversal, on the orders and the ledger of transactions.

use time::OffsetDateTime;
use time::macros::offset;

use super::checks::{Checked, Reply, amount, checked, is_url, one_of, refuse, reply, required};
use super::message::{self, Fields, RespCode, codes, get};
use super::{Kind, Sim, Txn};
use crate::orders::{Behaviour, Order, OrderState, Refund};

impl Sim {
    fn same_business_day(&self, txn: &Txn) -> bool {
        let day = |at: OffsetDateTime| at.to_offset(offset!(+8)).date();
        day(txn.at) == day(self.orders.now())
    }

    pub(super) fn consume(&self, request: &[(String, String)]) -> Checked<Reply> {
        Self::back_trans_envelope(request)?;
        let sub_type = required(request, "txnSubType")?;
        let barcode = match sub_type {
            "06" => true,
            "07" => false,
            _ => return Err(refuse(request, codes::MALFORMED, Some("txnSubType"))),
        };
        let order_id = checked(request, "orderId", message::is_order_id)?;
        let txn_time = checked(request, "txnTime", message::is_timestamp)?;
        let amount = amount(request)?;
        one_of(request, "currencyCode", &["156"])?;
        let back_url = checked(request, "backUrl", is_url)?;
        let qr_no = if barcode {
            let qr_no = required(request, "qrNo")?;
            if !message::is_payment_code(qr_no) {
                return Err(refuse(request, codes::INVALID_CODE, None));
            }
            Some(qr_no)
        } else {
            if get(request, "payTimeout").is_some_and(|v| !v.is_empty()) {
                checked(request, "payTimeout", message::is_timestamp)?;
            }
            None
        };
        let behaviour = self.orders.behaviour(order_id, qr_no);
        // B扫C is decided at once (or once the payer confirms); C扫B waits
        // for the payer to scan.
        let (state, failure) = match behaviour {
            _ if !barcode => (OrderState::Waiting, None),
            Behaviour::UserPaying { .. } => (OrderState::Waiting, None),
            Behaviour::Decline => (OrderState::Closed, Some(codes::BALANCE_INSUFFICIENT)),
            Behaviour::Pay | Behaviour::Timeout | Behaviour::BadSignature => {
                (OrderState::Paid, None)
            }
        };
        let txn = Txn {
            failure,
            back_url: Some(back_url.to_owned()),
            ..self.new_txn(Kind::Consume, sub_type, order_id, txn_time, amount)
        };
        let query_id = txn.query_id.clone();
        if !self.reserve(txn) {
            return Err(refuse(request, codes::DUPLICATE, None));
        }
        self.orders.insert(Order {
            out_trade_no: order_id.to_owned(),
            trade_no: query_id.clone(),
            amount,
            state,
            behaviour,
            queries: 0,
            scanned: true,
            notify_url: Some(back_url.to_owned()),
            refunds: Vec::new(),
            paid_at: None,
            reversed_at: None,
        });
        if state == OrderState::Paid {
            self.notify_later(self.consume_notice(order_id, None));
        }
        let extra = if barcode {
            vec![("queryId".to_owned(), query_id)]
        } else {
            vec![(
                "qrCode".to_owned(),
                format!("https://qr.95516.com/00010000/01{}", &query_id[8..]),
            )]
        };
        let mut answer = reply(request, codes::SUCCESS, None, extra);
        answer.spoil = behaviour == Behaviour::BadSignature;
        answer.late = behaviour == Behaviour::Timeout;
        Ok(answer)
    }

    pub(super) fn query(&self, request: &[(String, String)]) -> Checked<Reply> {
        one_of(request, "txnSubType", &["00"])?;
        one_of(request, "bizType", &["000000"])?;
        one_of(request, "accessType", &["0"])?;
        let order_id = checked(request, "orderId", message::is_order_id)?;
        let txn_time = checked(request, "txnTime", message::is_timestamp)?;
        let Some(txn) = self.find(order_id, txn_time) else {
            return Err(refuse(request, codes::NO_SUCH_TRANSACTION, None));
        };
        let Some((was, order)) = self.orders.update(&txn.consume, |o| {
            let was = o.state;
            if txn.kind == Kind::Consume {
                o.queried();
            }
            (was, o.clone())
        }) else {
            return Err(refuse(request, codes::NO_SUCH_TRANSACTION, None));
        };
        let (outcome, amount) = match txn.kind {
            Kind::Consume => {
                if was == OrderState::Waiting && order.state == OrderState::Paid {
                    // The payer confirmed while the merchant was asking.
                    self.notify_later(self.consume_notice(order_id, None));
                }
                (consume_outcome(&order, &txn), order.amount)
            }
            Kind::Refund | Kind::Revoke => (codes::SUCCESS, txn.amount),
        };
        let mut extra = result_fields(&txn, amount, outcome);
        extra.push(("origRespCode".into(), outcome.code.into()));
        extra.push(("origRespMsg".into(), outcome.msg.into()));
        let mut answer = reply(request, codes::SUCCESS, None, extra);
        answer.spoil = order.behaviour == Behaviour::BadSignature;
        Ok(answer)
    }

    /// The consume a refund or revoke names by `origQryId`.
    fn original(&self, request: &[(String, String)]) -> Checked<(Order, Txn)> {
        let orig_qry_id = required(request, "origQryId")?;
        let order = self
            .orders
            .by_trade_no(orig_qry_id)
            .ok_or_else(|| refuse(request, codes::ORIGINAL_STATE, Some("origQryId")))?;
        let txn = self.consume_of(&order);
        Ok((order, txn))
    }

    pub(super) fn refund(&self, request: &[(String, String)]) -> Checked<Reply> {
        Self::back_trans_envelope(request)?;
        one_of(request, "txnSubType", &["00"])?;
        let refund_no = checked(request, "orderId", message::is_order_id)?;
        let txn_time = checked(request, "txnTime", message::is_timestamp)?;
        let amount = amount(request)?;
        one_of(request, "currencyCode", &["156"])?;
        let back_url = checked(request, "backUrl", is_url)?;
        let (order, consume) = self.original(request)?;
        let txn = Txn {
            consume: order.out_trade_no.clone(),
            orig_qry_id: Some(consume.query_id.clone()),
            back_url: Some(back_url.to_owned()),
            ..self.new_txn(Kind::Refund, "00", refund_no, txn_time, amount)
        };
        let query_id = txn.query_id.clone();
        if !self.reserve(txn) {
            return Err(refuse(request, codes::DUPLICATE, None));
        }
        // Checked and taken under the order's lock: two refunds racing for
        // the last fen cannot both pass.
        let taken = self
            .orders
            .update(&order.out_trade_no, |o| match o.state {
                OrderState::Paid if amount > o.amount - o.refunded() => Err((
                    codes::AMOUNT_OVER_LIMIT,
                    Some(format!("可退金额{}分", o.amount - o.refunded())),
                )),
                OrderState::Paid => {
                    o.refunds
                        .push(Refund::new(refund_no.to_owned(), amount, query_id.clone()));
                    Ok(())
                }
                OrderState::Cancelled => Err((codes::UNDONE, None)),
                OrderState::Waiting | OrderState::Closed => Err((codes::ORIGINAL_STATE, None)),
            })
            .unwrap_or(Err((codes::ORIGINAL_STATE, None)));
        if let Err((code, detail)) = taken {
            self.release(refund_no);
            return Err(refuse(request, code, detail.as_deref()));
        }
        self.notify_later(self.follow_up_notice(refund_no));
        let extra = vec![
            ("queryId".to_owned(), query_id),
            ("origQryId".to_owned(), consume.query_id),
        ];
        let mut answer = reply(request, codes::SUCCESS, None, extra);
        answer.spoil = order.behaviour == Behaviour::BadSignature;
        Ok(answer)
    }

    /// 消费撤销: the whole consume undone the same day, by its own order.
    pub(super) fn revoke(&self, request: &[(String, String)]) -> Checked<Reply> {
        Self::back_trans_envelope(request)?;
        one_of(request, "txnSubType", &["00"])?;
        let revoke_no = checked(request, "orderId", message::is_order_id)?;
        let txn_time = checked(request, "txnTime", message::is_timestamp)?;
        let amount = amount(request)?;
        one_of(request, "currencyCode", &["156"])?;
        let back_url = checked(request, "backUrl", is_url)?;
        let (order, consume) = self.original(request)?;
        if !self.same_business_day(&consume) {
            return Err(refuse(request, codes::ORIGINAL_STATE, Some("仅限当日")));
        }
        let txn = Txn {
            consume: order.out_trade_no.clone(),
            orig_qry_id: Some(consume.query_id.clone()),
            back_url: Some(back_url.to_owned()),
            ..self.new_txn(Kind::Revoke, "00", revoke_no, txn_time, amount)
        };
        let query_id = txn.query_id.clone();
        if !self.reserve(txn) {
            return Err(refuse(request, codes::DUPLICATE, None));
        }
        let undone = self
            .orders
            .update(&order.out_trade_no, |o| match o.state {
                OrderState::Paid if o.refunded() > 0 => Err(codes::ORIGINAL_STATE),
                OrderState::Paid if amount != o.amount => Err(codes::DIFFERS_FROM_ORIGINAL),
                OrderState::Paid => {
                    o.state = OrderState::Cancelled;
                    Ok(())
                }
                OrderState::Cancelled => Err(codes::UNDONE),
                OrderState::Waiting | OrderState::Closed => Err(codes::ORIGINAL_STATE),
            })
            .unwrap_or(Err(codes::ORIGINAL_STATE));
        if let Err(code) = undone {
            self.release(revoke_no);
            return Err(refuse(request, code, None));
        }
        self.notify_later(self.follow_up_notice(revoke_no));
        let extra = vec![
            ("queryId".to_owned(), query_id),
            ("origQryId".to_owned(), consume.query_id),
        ];
        Ok(reply(request, codes::SUCCESS, None, extra))
    }

    /// 冲正: the consume named by its own `orderId` + `txnTime` undone the
    /// same day, paid or not. Repeatable: a reversal is sent until answered.
    pub(super) fn reversal(&self, request: &[(String, String)]) -> Checked<Reply> {
        Self::back_trans_envelope(request)?;
        one_of(request, "txnSubType", &["01"])?;
        let order_id = checked(request, "orderId", message::is_order_id)?;
        let txn_time = checked(request, "txnTime", message::is_timestamp)?;
        let back_url = match get(request, "backUrl").filter(|v| !v.is_empty()) {
            Some(_) => Some(checked(request, "backUrl", is_url)?.to_owned()),
            None => None,
        };
        let claimed_amount = match get(request, "txnAmt").filter(|v| !v.is_empty()) {
            Some(_) => Some(amount(request)?),
            None => None,
        };
        let Some(consume) = self
            .find(order_id, txn_time)
            .filter(|t| t.kind == Kind::Consume)
        else {
            return Err(refuse(request, codes::ORIGINAL_STATE, None));
        };
        if !self.same_business_day(&consume) {
            return Err(refuse(request, codes::ORIGINAL_STATE, Some("仅限当日")));
        }
        let undone = self
            .orders
            .update(order_id, |o| {
                if claimed_amount.is_some_and(|a| a != o.amount) {
                    return Err(codes::DIFFERS_FROM_ORIGINAL);
                }
                match o.state {
                    OrderState::Paid if o.refunded() > 0 => Err(codes::ORIGINAL_STATE),
                    OrderState::Paid | OrderState::Waiting => {
                        o.state = OrderState::Cancelled;
                        Ok(o.behaviour)
                    }
                    // Declined or already undone: nothing (more) to undo.
                    OrderState::Closed | OrderState::Cancelled => Ok(o.behaviour),
                }
            })
            .unwrap_or(Err(codes::ORIGINAL_STATE));
        let behaviour = match undone {
            Ok(behaviour) => behaviour,
            Err(code) => return Err(refuse(request, code, None)),
        };
        let reversal_query_id = {
            let fresh = self.new_query_id();
            let mut ledger = self.ledger.lock().unwrap();
            let txn = ledger
                .txns
                .get_mut(order_id)
                .expect("the consume found above");
            txn.reversal_query_id.get_or_insert(fresh).clone()
        };
        if let Some(url) = back_url {
            self.notify_later(self.reversal_notice(order_id, url));
        }
        let extra = vec![
            ("queryId".to_owned(), reversal_query_id),
            ("origQryId".to_owned(), consume.query_id),
        ];
        let mut answer = reply(request, codes::SUCCESS, None, extra);
        answer.spoil = behaviour == Behaviour::BadSignature;
        Ok(answer)
    }
}

/// A consume's outcome, as its query's `origRespCode` and its notification's
/// `respCode` say it.
pub(super) fn consume_outcome(order: &Order, txn: &Txn) -> RespCode {
    match order.state {
        OrderState::Paid => codes::SUCCESS,
        OrderState::Waiting => codes::ACCEPTED,
        OrderState::Closed => txn.failure.unwrap_or(codes::FAILED),
        OrderState::Cancelled => codes::UNDONE,
    }
}

/// What a query answer and a notification say about a transaction.
pub(super) fn result_fields(txn: &Txn, amount: i64, outcome: RespCode) -> Fields {
    let mut fields: Fields = vec![
        ("txnType".into(), txn.kind.txn_type().into()),
        ("txnSubType".into(), txn.sub_type.clone()),
        ("orderId".into(), txn.order_id.clone()),
        ("txnTime".into(), txn.txn_time.clone()),
        ("txnAmt".into(), amount.to_string()),
        ("currencyCode".into(), "156".into()),
        ("queryId".into(), txn.query_id.clone()),
        ("traceNo".into(), txn.trace_no.clone()),
        ("traceTime".into(), txn.trace_time.clone()),
    ];
    if outcome == codes::SUCCESS {
        fields.push(("settleAmt".into(), amount.to_string()));
        fields.push(("settleCurrencyCode".into(), "156".into()));
        fields.push(("settleDate".into(), txn.settle_date.clone()));
    }
    if let Some(orig) = &txn.orig_qry_id {
        fields.push(("origQryId".into(), orig.clone()));
    }
    fields
}
