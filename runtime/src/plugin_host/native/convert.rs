//! The contract's types cross between the host's bindings and the SDK's:
//! both are generated from the same WIT, so each conversion is field by
//! field, and a field added to the WIT fails to compile here until mapped.

use crate::plugin_host::bindings::exports::paycore::channel::settings as hs;
use crate::plugin_host::bindings::exports::paycore::channel::statement as hst;
use crate::plugin_host::bindings::paycore::channel::{crypto, http, log, types as h};
use paycore_plugin_sdk::types as g;

/// A lossless conversion between the two generated copies of a WIT type.
pub trait Cross<T> {
    fn cross(self) -> T;
}

macro_rules! same {
    ($($t:ty),*) => {$(
        impl Cross<$t> for $t {
            fn cross(self) -> $t { self }
        }
    )*};
}
same!(String, bool, u8, u16, u32, u64, i64);

impl<A: Cross<B>, B> Cross<Vec<B>> for Vec<A> {
    fn cross(self) -> Vec<B> {
        self.into_iter().map(Cross::cross).collect()
    }
}

impl<A: Cross<B>, B> Cross<Option<B>> for Option<A> {
    fn cross(self) -> Option<B> {
        self.map(Cross::cross)
    }
}

impl<A: Cross<C>, B: Cross<D>, C, D> Cross<(C, D)> for (A, B) {
    fn cross(self) -> (C, D) {
        (self.0.cross(), self.1.cross())
    }
}

/// Records: every field crosses.
macro_rules! record {
    ($from:path => $to:path { $($field:ident),* $(,)? }) => {
        impl Cross<$to> for $from {
            fn cross(self) -> $to {
                $to { $($field: self.$field.cross()),* }
            }
        }
    };
}

/// Enums and variants: each case crosses, with its payload if it has one.
macro_rules! cases {
    ($from:ident => $to:ident { $($case:ident $(($payload:ident))?),* $(,)? }) => {
        impl Cross<$to> for $from {
            fn cross(self) -> $to {
                match self {
                    $($from::$case $(($payload))? => $to::$case $(($payload.cross()))?),*
                }
            }
        }
    };
}

// Host → plugin: what a call is about.
record!(h::CallContext => g::CallContext { tenant, channel, settings, notify_url });
record!(h::Payer => g::Payer { app_id, open_id, buyer_id });
record!(h::GoodsItem => g::GoodsItem { id, name, quantity, unit_price, discount });
record!(h::PayRequest => g::PayRequest {
    payment_id, merchant_order_no, amount, currency, scene, wallet, auth_code, subject,
    payer, goods, receipt_no, store_id, terminal_id, client_ip, expires_in,
});
record!(h::PaymentRef => g::PaymentRef {
    payment_id, merchant_order_no, channel_order_no, amount, currency, scene,
});
record!(h::RefundRequest => g::RefundRequest { refund_id, merchant_refund_no, payment, amount, reason });
record!(h::RefundRef => g::RefundRef {
    refund_id, merchant_refund_no, channel_refund_no, amount, payment,
});
record!(h::HttpRequest => g::HttpRequest { method, url, headers, body });
record!(h::HttpResponse => g::HttpResponse { status, headers, body });

mod host_enums {
    use super::*;
    use g::Scene as GScene;
    use h::Scene as HScene;
    cases!(HScene => GScene { Barcode, Qrcode, Jsapi, App, H5, Web, Face });
}

// Plugin → host: its answers and the requests it makes.
record!(g::Manifest => h::Manifest {
    name, version, contract_version, description, scenes, wallets, currencies, settings,
    secrets, hosts,
});
record!(g::SettingSpec => hs::SettingSpec { name, description, kind, presence });
record!(g::TextBounds => hs::TextBounds { max_length, pattern });
record!(g::IntegerRange => hs::IntegerRange { min, max });
record!(g::Failure => h::Failure { code, message, channel_code, channel_message });
record!(g::PaymentResult => h::PaymentResult { status, channel_order_no, amount, currency, action, failure });
record!(g::RefundResult => h::RefundResult { status, channel_refund_no, amount, failure });
record!(g::PaymentUpdate => h::PaymentUpdate { merchant_order_no, channel_order_no, status, amount, currency });
record!(g::RefundUpdate => h::RefundUpdate { merchant_refund_no, channel_refund_no, status, amount });
record!(g::CallbackOutcome => h::CallbackOutcome { event, verified, response, unverified_claim });
record!(g::HttpRequest => h::HttpRequest { method, url, headers, body });
record!(g::HttpResponse => h::HttpResponse { status, headers, body });
record!(g::StatementPage => hst::StatementPage { time_zone, lines, next, totals });
record!(g::StatementLine => hst::StatementLine {
    kind, merchant_order_no, refund_no, channel_no, amount, fee, currency, status, at,
});
record!(g::StatedTotals => hst::StatedTotals {
    currency, payments, payment_amount, refunds, refund_amount, fees,
});

mod guest_enums {
    use super::*;
    use crypto::Algorithm as HAlgorithm;
    use crypto::CryptoError as HCryptoError;
    use g::{
        Action as GAction, Algorithm as GAlgorithm, CallbackEvent as GCallbackEvent,
        ChannelError as GChannelError, CryptoError as GCryptoError, HttpError as GHttpError,
        LogLevel as GLogLevel, PaymentStatus as GPaymentStatus, Presence as GPresence,
        RefundStatus as GRefundStatus, Scene as GScene, SettingKind as GSettingKind,
    };
    use g::{LineKind as GLineKind, LineStatus as GLineStatus};
    use h::{
        Action as HAction, CallbackEvent as HCallbackEvent, ChannelError as HChannelError,
        PaymentStatus as HPaymentStatus, RefundStatus as HRefundStatus, Scene as HScene,
    };
    use hs::{Presence as HPresence, SettingKind as HSettingKind};
    use hst::{LineKind as HLineKind, LineStatus as HLineStatus};
    use http::HttpError as HHttpError;
    use log::Level as HLevel;

    cases!(GScene => HScene { Barcode, Qrcode, Jsapi, App, H5, Web, Face });
    cases!(GPaymentStatus => HPaymentStatus { Pending, Processing, Succeeded, Failed, Closed, Cancelled });
    cases!(GRefundStatus => HRefundStatus { Pending, Processing, Succeeded, Failed });
    cases!(GAction => HAction { QrCode(v), ClientParams(v), Redirect(v) });
    cases!(GChannelError => HChannelError { Declined(f), InvalidRequest(f), Unavailable(f), OutcomeUnknown(f) });
    cases!(GCallbackEvent => HCallbackEvent { Payment(p), Refund(r), Ignored });
    cases!(GAlgorithm => HAlgorithm { RsaPkcs1Sha256, HmacSha256, Aes256Gcm });
    cases!(GLogLevel => HLevel { Trace, Debug, Info, Warn, Error });
    cases!(GSettingKind => HSettingKind { Text(b), Url, OneOf(v), Integer(r) });
    cases!(GPresence => HPresence { Required, Optional, Defaulted(v) });
    cases!(GLineKind => HLineKind { Payment, Refund, Reversal });
    cases!(GLineStatus => HLineStatus { Succeeded, Processing, Failed });
    // Answers the host gives back to the plugin.
    cases!(HHttpError => GHttpError { Denied(m), Connect(m), Timeout, TooLarge, Broken(m) });
    cases!(HCryptoError => GCryptoError { UnknownKey(m), Unsupported(m), Failed(m) });
}
