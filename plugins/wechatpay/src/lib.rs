//! The paycore channel for WeChat Pay API v3 (`https://api.mch.weixin.qq.com`),
//! for direct merchants and service providers. The merchant's private key,
//! the APIv3 key and the platform public key stay in the host: this plugin
//! only names them (see `README.md` for settings, scenes and mapping tables).

mod api;
mod notify;
mod ops;
mod sign;
mod wire;

pub use sign::{APIV3_KEY, MERCHANT_KEY, PLATFORM_KEY};

use paycore_plugin_sdk::types::{
    CallContext, CallbackOutcome, ChannelError, HttpRequest, Manifest, PayRequest, PaymentRef,
    PaymentResult, RefundRef, RefundRequest, RefundResult, Scene,
};
use paycore_plugin_sdk::{Channel, Host, export_channel};

#[derive(Default)]
pub struct WechatPay;

impl Channel for WechatPay {
    fn manifest(&self) -> Manifest {
        Manifest::new("wechatpay", env!("CARGO_PKG_VERSION"))
            .with_description("WeChat Pay (微信支付) API v3: codepay for barcode and face, Native QR, JSAPI, app and H5, direct or partner merchants")
            .with_scenes(&Scene::ALL)
            .with_wallets(&["wechat"])
            .with_currencies(&[wire::CURRENCY])
            .with_settings(&["base_url", "mchid", "appid", "serial_no", "platform_serial"])
            .with_secrets(&[MERCHANT_KEY, PLATFORM_KEY, APIV3_KEY])
            .with_hosts(&["api.mch.weixin.qq.com", "127.0.0.1"])
    }

    fn pay(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        request: PayRequest,
    ) -> Result<PaymentResult, ChannelError> {
        ops::pay(host, ctx, &request)
    }

    fn query(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        payment: PaymentRef,
    ) -> Result<PaymentResult, ChannelError> {
        ops::query(host, ctx, &payment)
    }

    fn refund(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        request: RefundRequest,
    ) -> Result<RefundResult, ChannelError> {
        ops::refund(host, ctx, &request)
    }

    fn query_refund(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        refund: RefundRef,
    ) -> Result<RefundResult, ChannelError> {
        ops::query_refund(host, ctx, &refund)
    }

    fn close(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        payment: PaymentRef,
    ) -> Result<PaymentResult, ChannelError> {
        ops::close(host, ctx, &payment)
    }

    fn cancel(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        payment: PaymentRef,
    ) -> Result<PaymentResult, ChannelError> {
        ops::cancel(host, ctx, &payment)
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

export_channel!(WechatPay);
