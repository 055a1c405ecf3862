//! The plugin's operations (its `Channel`): each paycore operation as the
//! Alipay API calls it, and each answer as a paycore result. Notifications
//! are verified and read in `notify`.

use paycore_plugin_sdk::types::{
    Action, CallContext, CallbackOutcome, ChannelError, Failure, HttpRequest, PayRequest,
    PaymentRef, PaymentResult, PaymentStatus, RefundRef, RefundRequest, RefundResult, RefundStatus,
    Scene, StatementPage,
};
use paycore_plugin_sdk::{Channel, Host};

use crate::gateway::{Answer, BUSINESS_FAILURE, Gateway, IN_PROGRESS, SUCCESS};
use crate::wire::{
    self, CURRENCY, RefundAnswer, RefundBody, RefundQueryAnswer, RefundQueryBody, Trade,
    TradeAnswer, TradeKey,
};
use crate::{Alipay, notify};

impl Channel for Alipay {
    fn pay(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        req: PayRequest,
    ) -> Result<PaymentResult, ChannelError> {
        wire::check_order_no("out_trade_no", &req.merchant_order_no)?;
        wire::check_currency(&req.currency)?;
        let gateway = Gateway::new(host, ctx)?;
        let mut trade = trade(&req)?;
        match req.scene {
            Scene::Barcode | Scene::Face => {
                // A face-pay token (ftoken) is paid like a payment code, under
                // the scene Alipay reserves for it.
                trade.scene = Some(if req.scene == Scene::Face {
                    "security_code"
                } else {
                    "bar_code"
                });
                trade.auth_code = Some(required(req.auth_code.as_deref(), "auth_code")?.to_owned());
                trade.product_code = Some("FACE_TO_FACE_PAYMENT");
                let answer = gateway.call("alipay.trade.pay", &trade, true)?;
                match answer.code.as_str() {
                    SUCCESS => trade_result(&answer, req.scene, Some(PaymentStatus::Succeeded)),
                    // 10003: the payer is confirming (password) — paycore queries,
                    // then cancels after the deadline.
                    IN_PROGRESS => {
                        trade_result(&answer, req.scene, Some(PaymentStatus::Processing))
                    }
                    _ => Err(answer.declined()),
                }
            }
            Scene::Qrcode => {
                trade.product_code = Some("FACE_TO_FACE_PAYMENT");
                let answer = success(gateway.call("alipay.trade.precreate", &trade, true)?)?;
                let body: TradeAnswer = answer.body()?;
                let qr = body
                    .qr_code
                    .ok_or_else(|| malformed("precreate answered without qr_code"))?;
                // Alipay creates no trade_no until the payer scans.
                Ok(pending(None, Some(Action::QrCode(qr))))
            }
            Scene::Jsapi => {
                let payer = req.payer.as_ref();
                trade.buyer_id = payer.and_then(|p| p.buyer_id.clone());
                trade.buyer_open_id = payer.and_then(|p| p.open_id.clone());
                trade.op_app_id = payer.and_then(|p| p.app_id.clone());
                if trade.buyer_id.is_none() && trade.buyer_open_id.is_none() {
                    return Err(ChannelError::InvalidRequest(Failure::new(
                        "missing_payer",
                        "Alipay JSAPI needs the payer's `buyer_id` or `open_id`",
                    )));
                }
                trade.product_code = Some("JSAPI_PAY");
                let answer = success(gateway.call("alipay.trade.create", &trade, true)?)?;
                let body: TradeAnswer = answer.body()?;
                let trade_no = body
                    .trade_no
                    .ok_or_else(|| malformed("create answered without trade_no"))?;
                // What `my.tradePay({ tradeNO })` needs in the mini-program.
                let params = vec![("tradeNO".to_owned(), trade_no.clone())];
                Ok(pending(Some(trade_no), Some(Action::ClientParams(params))))
            }
            Scene::App => {
                trade.product_code = Some("QUICK_MSECURITY_PAY");
                let params = gateway.signed_params("alipay.trade.app.pay", &trade, true, &[])?;
                // The app hands this signed string to the Alipay SDK as is.
                let order_str = paycore_plugin_sdk::params::form_urlencode(&params);
                Ok(pending(
                    None,
                    Some(Action::ClientParams(vec![(
                        "orderStr".to_owned(),
                        order_str,
                    )])),
                ))
            }
            Scene::H5 | Scene::Web => {
                let (method, product) = if req.scene == Scene::H5 {
                    ("alipay.trade.wap.pay", "QUICK_WAP_WAY")
                } else {
                    ("alipay.trade.page.pay", "FAST_INSTANT_TRADE_PAY")
                };
                trade.product_code = Some(product);
                let extra: Vec<(&str, &str)> = ctx
                    .setting("return_url")
                    .map(|u| ("return_url", u))
                    .into_iter()
                    .collect();
                let params = gateway.signed_params(method, &trade, true, &extra)?;
                Ok(pending(
                    None,
                    Some(Action::Redirect(gateway.page_url(&params))),
                ))
            }
        }
    }

    fn query(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        payment: PaymentRef,
    ) -> Result<PaymentResult, ChannelError> {
        let key = TradeKey::of(&payment);
        let answer = Gateway::new(host, ctx)?.call("alipay.trade.query", &key, false)?;
        if never_opened(&answer, &payment) {
            // A QR, JSAPI or page trade exists at Alipay only once the payer
            // has opened it: not existing yet means still waiting for them.
            return Ok(pending(None, None));
        }
        trade_result(&success(answer)?, payment.scene, None)
    }

    fn refund(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        req: RefundRequest,
    ) -> Result<RefundResult, ChannelError> {
        wire::check_order_no("out_request_no", &req.merchant_refund_no)?;
        wire::check_currency(&req.payment.currency)?;
        let body = RefundBody {
            trade: TradeKey::of(&req.payment),
            refund_amount: wire::yuan(req.amount)?,
            // Always sent, so that every refund — full or partial — is its own,
            // retry-safe request at Alipay.
            out_request_no: req.merchant_refund_no.clone(),
            refund_reason: req.reason.clone(),
        };
        let answer =
            success(Gateway::new(host, ctx)?.call("alipay.trade.refund", &body, false)?)?;
        let reply: RefundAnswer = answer.body()?;
        // `fund_change = N` answers a repeated request: the refund may have been
        // made before, which only the refund query can tell.
        let status = if reply.fund_change.as_deref() == Some("Y") {
            RefundStatus::Succeeded
        } else {
            RefundStatus::Processing
        };
        Ok(RefundResult {
            status,
            channel_refund_no: reply.trade_no,
            amount: (status == RefundStatus::Succeeded).then_some(req.amount),
            failure: None,
        })
    }

    fn query_refund(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        refund: RefundRef,
    ) -> Result<RefundResult, ChannelError> {
        let body = RefundQueryBody {
            trade: TradeKey::of(&refund.payment),
            out_request_no: refund.merchant_refund_no.clone(),
        };
        let answer = success(Gateway::new(host, ctx)?.call(
            "alipay.trade.fastpay.refund.query",
            &body,
            false,
        )?)?;
        let reply: RefundQueryAnswer = answer.body()?;
        // Alipay: data with an empty or REFUND_SUCCESS status is a refund made;
        // no data means no refund (yet) under that number.
        match (
            reply.out_request_no,
            reply.refund_amount,
            reply.refund_status.as_deref(),
        ) {
            (Some(_), Some(amount), None | Some("") | Some("REFUND_SUCCESS")) => Ok(RefundResult {
                status: RefundStatus::Succeeded,
                channel_refund_no: None,
                amount: Some(wire::fen(&amount)?),
                failure: None,
            }),
            _ => Ok(RefundResult {
                status: RefundStatus::Processing,
                channel_refund_no: None,
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
        let key = TradeKey::of(&payment);
        let answer = Gateway::new(host, ctx)?.call("alipay.trade.close", &key, false)?;
        if never_opened(&answer, &payment) {
            // Never scanned, so never created: nobody can pay it any more
            // once paycore stops showing it.
            return Ok(PaymentResult::status_only(PaymentStatus::Closed, None));
        }
        let body: TradeAnswer = success(answer)?.body()?;
        Ok(PaymentResult::status_only(
            PaymentStatus::Closed,
            body.trade_no,
        ))
    }

    fn cancel(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        payment: PaymentRef,
    ) -> Result<PaymentResult, ChannelError> {
        // Cancel goes by our number: after a timed-out pay it is all we have.
        let key = TradeKey::ours(&payment.merchant_order_no);
        let answer = success(Gateway::new(host, ctx)?.call("alipay.trade.cancel", &key, false)?)?;
        let body: TradeAnswer = answer.body()?;
        if body.retry_flag.as_deref() == Some("Y") {
            return Err(ChannelError::OutcomeUnknown(answer.failure(
                "cancel_retry",
                "Alipay asks to retry the cancel; the payment's outcome is not settled yet",
            )));
        }
        Ok(PaymentResult::status_only(
            PaymentStatus::Cancelled,
            body.trade_no,
        ))
    }

    fn statement(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        day: String,
        cursor: Option<String>,
    ) -> Result<StatementPage, ChannelError> {
        crate::statement::page(host, ctx, &day, cursor)
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

fn trade(req: &PayRequest) -> Result<Trade, ChannelError> {
    Ok(Trade {
        out_trade_no: req.merchant_order_no.clone(),
        total_amount: wire::yuan(req.amount)?,
        subject: req
            .subject
            .clone()
            .unwrap_or_else(|| req.merchant_order_no.clone()),
        product_code: None,
        goods_detail: wire::goods(&req.goods)?,
        store_id: req.store_id.clone(),
        terminal_id: req.terminal_id.clone(),
        timeout_express: wire::timeout_express(req.expires_in),
        scene: None,
        auth_code: None,
        buyer_id: None,
        buyer_open_id: None,
        op_app_id: None,
    })
}

/// Only `10000` carries what the operation asked for.
fn success(answer: Answer) -> Result<Answer, ChannelError> {
    match answer.code.as_str() {
        SUCCESS => Ok(answer),
        BUSINESS_FAILURE => Err(answer.declined()),
        // 10003 outside alipay.trade.pay: the operation is still going on.
        _ => Err(ChannelError::OutcomeUnknown(answer.failure(
            "in_progress",
            "Alipay is still processing; query again",
        ))),
    }
}

/// A trade answer as a payment result; `status` overrides `trade_status`
/// (pay answers carry none).
fn trade_result(
    answer: &Answer,
    scene: Scene,
    status: Option<PaymentStatus>,
) -> Result<PaymentResult, ChannelError> {
    let body: TradeAnswer = answer.body()?;
    let status = match status {
        Some(status) => status,
        None => {
            let said = body.trade_status.as_deref().unwrap_or("");
            wire::trade_status(said, scene)
                .ok_or_else(|| malformed(&format!("unknown trade_status `{said}`")))?
        }
    };
    let amount = body.total_amount.as_deref().map(wire::fen).transpose()?;
    Ok(PaymentResult {
        status,
        channel_order_no: body.trade_no,
        amount,
        currency: amount.map(|_| CURRENCY.to_owned()),
        action: None,
        failure: None,
    })
}

fn pending(trade_no: Option<String>, action: Option<Action>) -> PaymentResult {
    PaymentResult {
        action,
        ..PaymentResult::status_only(PaymentStatus::Pending, trade_no)
    }
}

fn required<'a>(value: Option<&'a str>, field: &str) -> Result<&'a str, ChannelError> {
    value.filter(|v| !v.is_empty()).ok_or_else(|| {
        ChannelError::InvalidRequest(Failure::new(
            "missing_field",
            format!("`{field}` is required"),
        ))
    })
}

fn malformed(why: &str) -> ChannelError {
    ChannelError::OutcomeUnknown(Failure::new("malformed_answer", why.to_owned()))
}

/// Alipay has no such trade, and the payment is one a payer opens (a QR,
/// JSAPI or page trade exists at Alipay only once the payer has opened it),
/// so nobody has opened it yet.
fn never_opened(answer: &Answer, payment: &PaymentRef) -> bool {
    answer.code == BUSINESS_FAILURE
        && answer.sub_code_is("ACQ.TRADE_NOT_EXIST")
        && !wire::takes_code(payment.scene)
}
