//! The plugin's operations (its `Channel`), each handed to the module that
//! does it: `pay`, `settle` (query, cancel, close), `refund`.

use paycore_plugin_sdk::types::{
    CallContext, CallbackOutcome, ChannelError, HttpRequest, HttpResponse, PayRequest, PaymentRef,
    PaymentResult, RefundRef, RefundRequest, RefundResult, TenderHold,
};
use paycore_plugin_sdk::{Channel, Host};

use crate::refund::Replay;
use crate::{CardChannel, pay, refund, settle};

impl Channel for CardChannel {
    fn pay(
        &self,
        host: &dyn Host,
        _ctx: &CallContext,
        request: PayRequest,
    ) -> Result<PaymentResult, ChannelError> {
        pay::pay(host, &request)
    }

    fn hold_tender(
        &self,
        host: &dyn Host,
        _ctx: &CallContext,
        request: PayRequest,
    ) -> Result<TenderHold, ChannelError> {
        pay::hold_tender(host, &request)
    }

    fn query(
        &self,
        host: &dyn Host,
        _ctx: &CallContext,
        payment: PaymentRef,
    ) -> Result<PaymentResult, ChannelError> {
        settle::query(host, &payment)
    }

    fn refund(
        &self,
        host: &dyn Host,
        _ctx: &CallContext,
        request: RefundRequest,
    ) -> Result<RefundResult, ChannelError> {
        refund::credit_back(host, &request.payment, request.amount, Replay::No)
    }

    fn query_refund(
        &self,
        host: &dyn Host,
        _ctx: &CallContext,
        refund: RefundRef,
    ) -> Result<RefundResult, ChannelError> {
        refund::credit_back(host, &refund.payment, refund.amount, Replay::Yes)
    }

    fn close(
        &self,
        host: &dyn Host,
        _ctx: &CallContext,
        payment: PaymentRef,
    ) -> Result<PaymentResult, ChannelError> {
        settle::close(host, &payment)
    }

    fn cancel(
        &self,
        host: &dyn Host,
        _ctx: &CallContext,
        payment: PaymentRef,
    ) -> Result<PaymentResult, ChannelError> {
        settle::cancel(host, &payment)
    }

    /// Cards have no provider to call back: whatever arrives is not ours.
    fn handle_callback(
        &self,
        _host: &dyn Host,
        _ctx: &CallContext,
        _request: HttpRequest,
    ) -> Result<CallbackOutcome, ChannelError> {
        Ok(CallbackOutcome::rejected(HttpResponse::json(
            404,
            r#"{"error":"the card channel takes no callbacks"}"#,
        )))
    }
}
