//! The plugin's operations (its `Channel`): each paycore operation as acp
//! transactions, and each verified answer as a paycore result. How a
//! queried transaction reads is in `lookup`; notifications in `notify`.

use paycore_plugin_sdk::types::{
    Action, CallContext, CallbackOutcome, ChannelError, Failure, HttpRequest, PayRequest,
    PaymentRef, PaymentResult, PaymentStatus, RefundRef, RefundRequest, RefundResult, RefundStatus,
    Scene,
};
use paycore_plugin_sdk::{Channel, Host};

use crate::codes::{self, Class};
use crate::gateway::{Endpoint, Gateway, Txn};
use crate::lookup::{self, Found};
use crate::wire::{self, CURRENCY};
use crate::{UnionPay, notify};

impl Channel for UnionPay {
    fn pay(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        req: PayRequest,
    ) -> Result<PaymentResult, ChannelError> {
        wire::check_order_no("merchant_order_no", &req.merchant_order_no)?;
        wire::check_currency(&req.currency)?;
        let created = host.payment_created_millis();
        let txn_time = txn_time(created, "payment")?;
        let gateway = Gateway::new(host, ctx)?;
        let mut txn = Txn {
            txn_type: "01",
            txn_sub_type: "",
            order_id: &req.merchant_order_no,
            txn_time: &txn_time,
            txn_amt: req.amount,
            extra: Vec::new(),
        };
        match req.scene {
            Scene::Barcode => {
                txn.txn_sub_type = "06";
                let code = required(req.auth_code.as_deref(), "auth_code")?;
                txn.extra.push(("qrNo", code.to_owned()));
                if let Some(term_id) = ctx.setting("term_id") {
                    txn.extra.push(("termId", term_id.to_owned()));
                }
                let answer = gateway.call(Endpoint::Back, &txn)?;
                if answer.resp_code() != codes::SUCCESS {
                    return Err(answer.error(false));
                }
                answer.check_amount(req.amount)?;
                // Accepted, not paid: the result comes by notification or
                // query, and paycore queries a processing payment.
                Ok(PaymentResult::status_only(
                    PaymentStatus::Processing,
                    answer.get("queryId").map(str::to_owned),
                ))
            }
            Scene::Qrcode => {
                txn.txn_sub_type = "07";
                if let (Some(seconds), Some(created)) = (req.expires_in, created) {
                    // Counted from the payment's creation, as paycore counts
                    // its expiry, so both give up on the code at once.
                    let until = created.saturating_add(i64::from(seconds) * 1000);
                    txn.extra
                        .push(("payTimeout", wire::txn_time(until).unwrap_or_default()));
                }
                let answer = gateway.call(Endpoint::Back, &txn)?;
                if answer.resp_code() != codes::SUCCESS {
                    return Err(answer.error(false));
                }
                answer.check_amount(req.amount)?;
                let qr = answer
                    .get("qrCode")
                    .ok_or_else(|| answer.malformed("the answer has no qrCode"))?;
                Ok(PaymentResult {
                    action: Some(Action::QrCode(qr.to_owned())),
                    ..PaymentResult::status_only(PaymentStatus::Pending, None)
                })
            }
            other => Err(ChannelError::InvalidRequest(Failure::new(
                "unsupported_scene",
                format!(
                    "UnionPay QR-code payment takes barcode and qrcode, not {}",
                    other.as_str()
                ),
            ))),
        }
    }

    fn query(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        payment: PaymentRef,
    ) -> Result<PaymentResult, ChannelError> {
        let txn_time = txn_time(host.payment_created_millis(), "payment")?;
        let gateway = Gateway::new(host, ctx)?;
        match lookup::payment(&gateway, &payment, &txn_time)? {
            Found::Transaction(answer) => lookup::payment_result(&answer, &payment),
            Found::Nothing(_) if payment.scene == Scene::Qrcode => {
                // The code was handed out but nobody has paid with it: no
                // consume exists yet. Closing it sends the reversal that
                // makes it unpayable.
                Ok(PaymentResult::status_only(PaymentStatus::Pending, None))
            }
            Found::Nothing(answer) => {
                // A payer's code UnionPay never charged: paycore makes this
                // final only once a reversal has been sent (the order can
                // then no longer arrive), and asks again until then.
                let (ours, message) = codes::refusal(codes::NO_SUCH_TRANSACTION, false);
                Err(ChannelError::Declined(answer.failure(ours, message)))
            }
        }
    }

    fn refund(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        req: RefundRequest,
    ) -> Result<RefundResult, ChannelError> {
        wire::check_order_no("merchant_refund_no", &req.merchant_refund_no)?;
        wire::check_currency(&req.payment.currency)?;
        let refund_time = txn_time(host.refund_created_millis(), "refund")?;
        let gateway = Gateway::new(host, ctx)?;
        let orig_qry_id = match &req.payment.channel_order_no {
            Some(query_id) => query_id.clone(),
            None => {
                let paid_at = txn_time(host.payment_created_millis(), "payment")?;
                lookup::paid_query_id(&gateway, &req.payment, &paid_at)?
            }
        };
        let txn = Txn {
            txn_type: "04",
            txn_sub_type: "00",
            order_id: &req.merchant_refund_no,
            txn_time: &refund_time,
            txn_amt: req.amount,
            extra: vec![("origQryId", orig_qry_id)],
        };
        let answer = gateway.call(Endpoint::Back, &txn)?;
        if answer.resp_code() != codes::SUCCESS {
            return Err(answer.error(true));
        }
        answer.check_amount(req.amount)?;
        // Accepted: the money goes back by notification or refund query.
        Ok(RefundResult {
            status: RefundStatus::Processing,
            channel_refund_no: answer.get("queryId").map(str::to_owned),
            amount: None,
            failure: None,
        })
    }

    fn query_refund(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        refund: RefundRef,
    ) -> Result<RefundResult, ChannelError> {
        let refund_time = txn_time(host.refund_created_millis(), "refund")?;
        let gateway = Gateway::new(host, ctx)?;
        match lookup::refund(&gateway, &refund, &refund_time)? {
            Found::Transaction(answer) => lookup::refund_result(&answer, &refund),
            // Not (yet) at UnionPay: the request may still be on its way,
            // and a refund called failed could be made again — twice.
            Found::Nothing(_) => Ok(RefundResult {
                status: RefundStatus::Processing,
                channel_refund_no: refund.channel_refund_no,
                amount: None,
                failure: None,
            }),
        }
    }

    fn close(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        payment: PaymentRef,
    ) -> Result<PaymentResult, ChannelError> {
        let txn_time = txn_time(host.payment_created_millis(), "payment")?;
        let gateway = Gateway::new(host, ctx)?;
        // acp has no "close": the reversal would take a paid payer's money
        // back too, so find out first.
        if let Found::Transaction(answer) = lookup::payment(&gateway, &payment, &txn_time)? {
            let code = answer.get("origRespCode").unwrap_or("");
            match codes::class(code) {
                Class::Success => {
                    return Err(ChannelError::Declined(answer.orig(
                        "order_paid",
                        "the order is paid and cannot be closed; refund it instead",
                    )));
                }
                Class::Unknown => {}
                // Undone already, or failed: nobody can pay it any more.
                _ => return lookup::payment_result(&answer, &payment),
            }
        }
        lookup::reverse(&gateway, &payment, &txn_time)?;
        Ok(PaymentResult::status_only(
            PaymentStatus::Closed,
            payment.channel_order_no,
        ))
    }

    fn cancel(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        payment: PaymentRef,
    ) -> Result<PaymentResult, ChannelError> {
        // By orderId + txnTime: after a timed-out pay they are all we have.
        let txn_time = txn_time(host.payment_created_millis(), "payment")?;
        let gateway = Gateway::new(host, ctx)?;
        lookup::reverse(&gateway, &payment, &txn_time)?;
        Ok(PaymentResult::status_only(
            PaymentStatus::Cancelled,
            payment.channel_order_no,
        ))
    }

    fn handle_callback(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        request: HttpRequest,
    ) -> Result<CallbackOutcome, ChannelError> {
        notify::handle(host, ctx, &request)
    }
}

/// The `txnTime` of a transaction paycore created at `millis`: UnionPay
/// identifies it by orderId and this time, so without it nothing is sent.
fn txn_time(millis: Option<i64>, what: &str) -> Result<String, ChannelError> {
    millis.and_then(wire::txn_time).ok_or_else(|| {
        ChannelError::InvalidRequest(Failure::new(
            "missing_created_time",
            format!(
                "the host did not say when the {what} was created; UnionPay identifies a transaction by orderId and txnTime, so nothing was sent"
            ),
        ))
    })
}

/// A succeeded payment of `amount` fen.
pub fn paid(channel_order_no: Option<String>, amount: i64) -> PaymentResult {
    PaymentResult::succeeded(channel_order_no, amount, CURRENCY)
}

fn required<'a>(value: Option<&'a str>, field: &str) -> Result<&'a str, ChannelError> {
    value.filter(|v| !v.is_empty()).ok_or_else(|| {
        ChannelError::InvalidRequest(Failure::new(
            "missing_field",
            format!("`{field}` is required"),
        ))
    })
}
