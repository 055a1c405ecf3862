//! The paycore channel for the built-in sandbox payment provider
//! (`docs/sandbox-provider.md`). It speaks the provider's protocol through the
//! host's HTTP import exactly as a third-party plugin would speak a real
//! channel's: signed JSON requests, verified answers, amounts as major-unit
//! strings.

mod callback;
mod client;
mod wire;

use paycore_plugin_sdk::types::{
    CallContext, CallbackOutcome, ChannelError, HttpRequest, Manifest, PayRequest, PaymentRef,
    PaymentResult, RefundRef, RefundRequest, RefundResult, Scene, SettingSpec,
};
use paycore_plugin_sdk::{Channel, Host, export_channel};
use serde::Serialize;

use client::Client;
use wire::{OrderKey, OrderReply, PayBody, RefundBody, RefundKey, RefundReply};

/// The crate version, unless a build stamps another one: the upgrade tests
/// build this same plugin as a later version to swap in under load.
const VERSION: &str = match option_env!("PAYCORE_SANDBOX_VERSION") {
    Some(v) => v,
    None => env!("CARGO_PKG_VERSION"),
};

#[derive(Default)]
pub struct Sandbox;

impl Channel for Sandbox {
    fn manifest(&self) -> Manifest {
        Manifest::new("sandbox", VERSION)
            .with_description("The simulated payment provider built into paycore: deterministic outcomes for demos and tests")
            .with_scenes(&Scene::ALL)
            .with_wallets(&["sandbox"])
            .with_currencies(&["CNY", "USD", "EUR", "GBP", "HKD", "SGD", "JPY", "KRW", "BHD"])
            .with_described_settings(&self.settings())
            .with_secrets(&[client::API_KEY])
            .with_hosts(&["127.0.0.1", "localhost"])
    }

    fn settings(&self) -> Vec<SettingSpec> {
        vec![
            SettingSpec::url(
                "base_url",
                "the sandbox provider, e.g. {public_url}/sandbox",
            ),
            SettingSpec::text("merchant_id", "the merchant id the provider knows")
                .with_max_length(64),
        ]
    }

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

    fn handle_callback(
        &self,
        host: &dyn Host,
        _ctx: &CallContext,
        request: HttpRequest,
    ) -> Result<CallbackOutcome, ChannelError> {
        callback::handle(host, &request)
    }
}

export_channel!(Sandbox);

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
