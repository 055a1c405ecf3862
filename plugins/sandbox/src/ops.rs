//! The plugin's operations (its `Channel`): each paycore operation as a
//! request to the sandbox provider, and each answer as a paycore result.
//! Callbacks are verified and read in `callback`.

use paycore_plugin_sdk::types::{
    CallContext, CallbackOutcome, ChannelError, HttpRequest, PayRequest, PaymentRef, PaymentResult,
    RefundRef, RefundRequest, RefundResult, Scene, StatementPage,
};
use paycore_plugin_sdk::{Channel, Host};
use serde::Serialize;

use crate::Sandbox;
use crate::callback;
use crate::client::{self, Client};
use crate::statement;
use crate::wire::{OrderKey, OrderReply, PayBody, RefundBody, RefundKey, RefundReply};

impl Channel for Sandbox {
    fn pay(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        request: PayRequest,
    ) -> Result<PaymentResult, ChannelError> {
        let body = PayBody::new(&request, &ctx.notify_url)?;
        order_call(
            host,
            ctx,
            "pay",
            &body,
            &request.merchant_order_no,
            request.scene,
        )
    }

    fn query(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        payment: PaymentRef,
    ) -> Result<PaymentResult, ChannelError> {
        let body = OrderKey::for_query(&payment);
        order_call(
            host,
            ctx,
            "query",
            &body,
            &payment.merchant_order_no,
            payment.scene,
        )
    }

    fn refund(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        request: RefundRequest,
    ) -> Result<RefundResult, ChannelError> {
        let body = RefundBody::new(&request)?;
        refund_call(
            host,
            ctx,
            "refund",
            &body,
            &request.merchant_refund_no,
            &request.payment.currency,
        )
    }

    fn query_refund(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        refund: RefundRef,
    ) -> Result<RefundResult, ChannelError> {
        let body = RefundKey {
            out_refund_no: &refund.merchant_refund_no,
        };
        refund_call(
            host,
            ctx,
            "refund_query",
            &body,
            &refund.merchant_refund_no,
            &refund.payment.currency,
        )
    }

    fn close(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        payment: PaymentRef,
    ) -> Result<PaymentResult, ChannelError> {
        let body = OrderKey::ours(&payment);
        order_call(
            host,
            ctx,
            "close",
            &body,
            &payment.merchant_order_no,
            payment.scene,
        )
    }

    fn cancel(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        payment: PaymentRef,
    ) -> Result<PaymentResult, ChannelError> {
        let body = OrderKey::ours(&payment);
        order_call(
            host,
            ctx,
            "cancel",
            &body,
            &payment.merchant_order_no,
            payment.scene,
        )
    }

    fn statement(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        day: String,
        cursor: Option<String>,
    ) -> Result<StatementPage, ChannelError> {
        statement::page(host, ctx, &day, cursor)
    }

    fn handle_callback(
        &self,
        host: &dyn Host,
        _ctx: &CallContext,
        request: HttpRequest,
    ) -> Result<CallbackOutcome, ChannelError> {
        callback::handle(host, &request)
    }
}

/// An operation whose answer is an order.
fn order_call(
    host: &dyn Host,
    ctx: &CallContext,
    operation: &str,
    body: &impl Serialize,
    merchant_order_no: &str,
    scene: Scene,
) -> Result<PaymentResult, ChannelError> {
    let reply: OrderReply = Client::new(host, ctx)?.call(operation, body, client::ORDER_ANSWERS)?;
    reply.into_result(merchant_order_no, scene)
}

/// An operation whose answer is a refund.
fn refund_call(
    host: &dyn Host,
    ctx: &CallContext,
    operation: &str,
    body: &impl Serialize,
    merchant_refund_no: &str,
    currency: &str,
) -> Result<RefundResult, ChannelError> {
    let reply: RefundReply =
        Client::new(host, ctx)?.call(operation, body, client::REFUND_ANSWERS)?;
    reply.into_result(merchant_refund_no, currency)
}
