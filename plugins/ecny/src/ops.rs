//! The plugin's operations (its `Channel`): each paycore operation as Huifu
//! v3 calls, and each verified answer as a paycore result. Queries are in
//! `lookup`, refunds in `refund`, close and cancel in `undo`,
//! notifications in `notify`.

use paycore_plugin_sdk::types::{
    Action, CallContext, CallbackOutcome, ChannelError, Failure, HttpRequest, PayRequest,
    PaymentRef, PaymentResult, PaymentStatus, RefundRef, RefundRequest, RefundResult, RefundStatus,
    Scene,
};
use paycore_plugin_sdk::{Channel, Host};

use crate::canon::{Data, nested};
use crate::codes::{self, Class};
use crate::gateway::{Answer, Endpoint, Gateway};
use crate::lookup::{self, Found};
use crate::refund::{self, RefundOrder};
use crate::wire::{self, CURRENCY};
use crate::{Ecny, notify, undo};

/// `goods_desc` is String(127).
const GOODS_DESC_MAX_CHARS: usize = 127;

impl Channel for Ecny {
    fn pay(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        req: PayRequest,
    ) -> Result<PaymentResult, ChannelError> {
        wire::check_seq_id("merchant_order_no", &req.merchant_order_no)?;
        wire::check_currency(&req.currency)?;
        let created = host.payment_created_millis();
        let req_date = wire::req_date(created, "payment")?;
        let gateway = Gateway::new(host, ctx)?;
        let mut data = Data::new();
        data.set("req_date", &req_date);
        data.set("req_seq_id", &req.merchant_order_no);
        data.set("huifu_id", gateway.huifu_id);
        data.set("trans_amt", &wire::yuan(req.amount)?);
        let desc = req.subject.as_deref().unwrap_or(&req.merchant_order_no);
        data.set("goods_desc", &wire::truncate(desc, GOODS_DESC_MAX_CHARS));
        data.set("notify_url", gateway.notify_url);
        match req.scene {
            Scene::Barcode => {
                let code = required(req.auth_code.as_deref(), "auth_code")?;
                wire::check_auth_code(code)?;
                data.set("auth_code", code);
                // Huifu's risk_check_data, which micropay requires: the
                // till's address is all paycore may know of its four keys.
                // Without one it is sent empty rather than made up; should
                // Huifu refuse that, it refuses before taking anything.
                let ip = req.client_ip.as_deref().unwrap_or_default();
                data.set("risk_check_data", &nested(&[("ip_addr", ip)]));
                let answer = gateway.call(Endpoint::Micropay, &data)?;
                micropay_result(&answer, req.amount)
            }
            Scene::Qrcode => {
                data.set("trade_type", "D_NATIVE");
                // `created` is known: req_date needed it.
                let expiry = wire::order_expiry(created.unwrap_or_default(), req.expires_in);
                data.set(
                    "time_expire",
                    &wire::beijing_time(expiry).unwrap_or_default(),
                );
                if let Some(bank) = gateway.digital_bank_no {
                    data.set("dc_data", &nested(&[("digital_bank_no", bank)]));
                }
                let answer = gateway.call(Endpoint::Jspay, &data)?;
                native_result(&answer, req.amount)
            }
            other => Err(ChannelError::InvalidRequest(Failure::new(
                "unsupported_scene",
                format!(
                    "e-CNY through Huifu takes barcode and qrcode, not {}",
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
        let req_date = wire::req_date(host.payment_created_millis(), "payment")?;
        let gateway = Gateway::new(host, ctx)?;
        match lookup::payment(&gateway, &payment, &req_date)? {
            Found::Transaction(answer) => lookup::payment_result(&answer, &payment),
            // The order was never made (its jspay was lost): nobody can pay
            // a code that was never shown, and the payment waits for its
            // expiry, when paycore closes it.
            Found::Nothing(_) if payment.scene == Scene::Qrcode => Ok(PaymentResult::status_only(
                PaymentStatus::Pending,
                payment.channel_order_no,
            )),
            // A payer's code Huifu never charged: the runtime makes this
            // final only once a cancel was sent, and asks again until then.
            Found::Nothing(answer) => Err(ChannelError::Declined(
                answer.failure("order_not_found", "Huifu has no such order"),
            )),
        }
    }

    fn refund(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        req: RefundRequest,
    ) -> Result<RefundResult, ChannelError> {
        wire::check_seq_id("merchant_refund_no", &req.merchant_refund_no)?;
        wire::check_currency(&req.payment.currency)?;
        let req_date = wire::req_date(host.refund_created_millis(), "refund")?;
        let org_req_date = wire::req_date(host.payment_created_millis(), "payment")?;
        let gateway = Gateway::new(host, ctx)?;
        refund::send(
            &gateway,
            &RefundOrder {
                req_date: &req_date,
                req_seq_id: &req.merchant_refund_no,
                amount: req.amount,
                org_req_date: &org_req_date,
                org_req_seq_id: &req.payment.merchant_order_no,
                org_hf_seq_id: req.payment.channel_order_no.as_deref(),
                reason: req.reason.as_deref(),
            },
        )
    }

    fn query_refund(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        refund: RefundRef,
    ) -> Result<RefundResult, ChannelError> {
        let req_date = wire::req_date(host.refund_created_millis(), "refund")?;
        let gateway = Gateway::new(host, ctx)?;
        let found = lookup::refund(
            &gateway,
            &refund.merchant_refund_no,
            refund.channel_refund_no.as_deref(),
            &req_date,
        )?;
        match found {
            Found::Transaction(answer) => lookup::refund_result(&answer, &refund),
            // Not (yet) at Huifu: the request may still be on its way, and
            // a refund called failed could be made again — twice.
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
        let created = host.payment_created_millis();
        let req_date = wire::req_date(created, "payment")?;
        let gateway = Gateway::new(host, ctx)?;
        undo::close(&gateway, &payment, &req_date, created.unwrap_or_default())
    }

    fn cancel(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        payment: PaymentRef,
    ) -> Result<PaymentResult, ChannelError> {
        let req_date = wire::req_date(host.payment_created_millis(), "payment")?;
        let gateway = Gateway::new(host, ctx)?;
        undo::cancel(&gateway, &payment, &req_date)
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

/// A micropay's answer (B扫C).
fn micropay_result(answer: &Answer, amount: i64) -> Result<PaymentResult, ChannelError> {
    let hf_seq_id = answer.get("hf_seq_id").map(str::to_owned);
    let stat = answer.trans_stat();
    match codes::class(answer.resp_code()) {
        Class::Done => {
            answer.check_amount("trans_amt", amount)?;
            match stat {
                Some("S") => Ok(paid(hf_seq_id, answer.amount("trans_amt")?)),
                // The payer is confirming in the e-CNY app: paycore queries.
                Some("P" | "I") | None => Ok(PaymentResult::status_only(
                    PaymentStatus::Processing,
                    hf_seq_id,
                )),
                Some("F") => Err(ChannelError::Declined(
                    answer.failure("declined", "the e-CNY payment failed at Huifu"),
                )),
                Some(other) => Err(answer.malformed(&format!("unknown trans_stat `{other}`"))),
            }
        }
        Class::Refused => refused(answer, stat),
        Class::Unknown => Err(unsettled(answer)),
    }
}

/// A `D_NATIVE` order's answer (C扫B): the QR code to show.
fn native_result(answer: &Answer, amount: i64) -> Result<PaymentResult, ChannelError> {
    let hf_seq_id = answer.get("hf_seq_id").map(str::to_owned);
    let stat = answer.trans_stat();
    match codes::class(answer.resp_code()) {
        Class::Done => {
            answer.check_amount("trans_amt", amount)?;
            match stat {
                Some("S") => Ok(paid(hf_seq_id, answer.amount("trans_amt")?)),
                Some("P" | "I") | None => {
                    // The code's content is not public: opaque text to render.
                    let qr = answer
                        .get("qr_code")
                        .ok_or_else(|| answer.malformed("the order was made without a qr_code"))?;
                    Ok(PaymentResult {
                        action: Some(Action::QrCode(qr.to_owned())),
                        ..PaymentResult::status_only(PaymentStatus::Pending, hf_seq_id)
                    })
                }
                Some("F") => Err(ChannelError::Declined(
                    answer.failure("declined", "Huifu did not make the e-CNY order"),
                )),
                Some(other) => Err(answer.malformed(&format!("unknown trans_stat `{other}`"))),
            }
        }
        Class::Refused => refused(answer, stat),
        Class::Unknown => Err(unsettled(answer)),
    }
}

/// A refused `resp_code`: nothing was paid — unless the answer also says
/// the payment is under way, which contradicts it and is left to a query.
fn refused(answer: &Answer, stat: Option<&str>) -> Result<PaymentResult, ChannelError> {
    if matches!(stat, Some("S" | "P" | "I")) {
        return Err(answer.unknown(
            "contradictory_answer",
            "Huifu refused the payment but states it under way; query it",
        ));
    }
    Err(answer.refused())
}

/// An answer that settles nothing: a query will.
fn unsettled(answer: &Answer) -> ChannelError {
    if answer.resp_code() == codes::DUPLICATE {
        answer.unknown(
            codes::DUPLICATE_REQUEST,
            "Huifu has this req_seq_id already: the first request's outcome counts; query it",
        )
    } else {
        answer.unknown(
            "in_progress",
            "Huifu has not settled the payment; query for its outcome",
        )
    }
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
