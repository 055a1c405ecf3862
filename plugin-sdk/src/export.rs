//! Wiring a [`Channel`] to the component's WIT exports.

use std::marker::PhantomData;
use std::sync::Once;

use crate::__bindings::exports::paycore::channel::channel::Guest;
use crate::__bindings::exports::paycore::channel::settings::Guest as SettingsGuest;
use crate::__bindings::exports::paycore::channel::statement::Guest as StatementGuest;
use crate::__bindings::exports::paycore::channel::tender::Guest as TenderGuest;
use crate::types::{
    CallContext, CallbackOutcome, ChannelError, HttpRequest, LogLevel, Manifest, PayRequest,
    PaymentRef, PaymentResult, RefundRef, RefundRequest, RefundResult, SettingSpec, StatementPage,
    TenderHold,
};
use crate::{Channel, Host, WasmHost};

/// Implements the generated export trait for any [`Channel`]. Public only so
/// that [`export_channel!`](crate::export_channel) can name it.
pub struct Adapter<C>(PhantomData<C>);

/// Every export starts here: a fresh channel, and a panic hook so that a
/// trap reaches the host log with its reason instead of vanishing.
fn enter<C: Channel>() -> C {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            WasmHost.log(LogLevel::Error, &format!("plugin {info}"));
        }));
    });
    C::default()
}

impl<C: Channel> Guest for Adapter<C> {
    fn manifest() -> Manifest {
        enter::<C>().manifest()
    }

    fn pay(ctx: CallContext, request: PayRequest) -> Result<PaymentResult, ChannelError> {
        enter::<C>().pay(&WasmHost, &ctx, request)
    }

    fn query(ctx: CallContext, payment: PaymentRef) -> Result<PaymentResult, ChannelError> {
        enter::<C>().query(&WasmHost, &ctx, payment)
    }

    fn refund(ctx: CallContext, request: RefundRequest) -> Result<RefundResult, ChannelError> {
        enter::<C>().refund(&WasmHost, &ctx, request)
    }

    fn query_refund(ctx: CallContext, refund: RefundRef) -> Result<RefundResult, ChannelError> {
        enter::<C>().query_refund(&WasmHost, &ctx, refund)
    }

    fn close(ctx: CallContext, payment: PaymentRef) -> Result<PaymentResult, ChannelError> {
        enter::<C>().close(&WasmHost, &ctx, payment)
    }

    fn cancel(ctx: CallContext, payment: PaymentRef) -> Result<PaymentResult, ChannelError> {
        enter::<C>().cancel(&WasmHost, &ctx, payment)
    }

    fn handle_callback(
        ctx: CallContext,
        request: HttpRequest,
    ) -> Result<CallbackOutcome, ChannelError> {
        enter::<C>().handle_callback(&WasmHost, &ctx, request)
    }
}

impl<C: Channel> SettingsGuest for Adapter<C> {
    fn describe() -> Vec<SettingSpec> {
        enter::<C>().settings()
    }
}

impl<C: Channel> TenderGuest for Adapter<C> {
    fn hold(ctx: CallContext, request: PayRequest) -> Result<TenderHold, ChannelError> {
        enter::<C>().hold_tender(&WasmHost, &ctx, request)
    }
}

impl<C: Channel> StatementGuest for Adapter<C> {
    fn fetch(
        ctx: CallContext,
        day: String,
        cursor: Option<String>,
    ) -> Result<StatementPage, ChannelError> {
        enter::<C>().statement(&WasmHost, &ctx, day, cursor)
    }
}

/// Exports a [`Channel`] type (and its [`Describe`](crate::Describe)) as
/// the plugin's implementation of the `paycore:channel` contract:
/// `export_channel!(MyChannel);`, once, in the plugin crate.
///
/// On `wasm32` it emits the component exports and the WIT type section. On
/// other targets it only checks that the type implements [`Channel`], so the
/// plugin's rlib can be tested natively, and several plugins linked into one
/// native binary, without clashing export symbols.
#[macro_export]
macro_rules! export_channel {
    ($channel:ty) => {
        const _: () = {
            fn assert_channel<C: $crate::Channel>() {}
            let _ = assert_channel::<$channel>;
        };

        #[cfg(target_arch = "wasm32")]
        const _: () = {
            // wit-bindgen's export macro takes an identifier, not a type.
            type PaycoreChannelExport = $crate::__private::Adapter<$channel>;
            $crate::__bindings::__export_paycore_plugin!(
                PaycoreChannelExport with_types_in $crate::__bindings
            );
        };
    };
}
