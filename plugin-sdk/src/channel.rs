//! The two traits a channel author implements: [`Describe`], what the
//! plugin is, and [`Channel`], what it does.

use crate::Host;
use crate::types::{
    CallContext, CallbackOutcome, ChannelError, HttpRequest, Manifest, PayRequest, PaymentRef,
    PaymentResult, RefundRef, RefundRequest, RefundResult, SettingSpec, StatementPage, TenderHold,
};

/// What a plugin says it is: its manifest and what each of its settings
/// is. Kept apart from [`Channel`] so that the manifest sits beside the
/// channel's type (in `lib.rs`, say) while the operations are written once,
/// in one `impl Channel` in whichever module holds them;
/// [`export_channel!`](crate::export_channel) exports both.
pub trait Describe {
    /// What the host reads when it loads the plugin, checks against what
    /// the operator granted, and routes by.
    fn manifest(&self) -> Manifest;

    /// What each setting the manifest lists is (contract 1.1): paycore
    /// checks every tenant's values against these when it reads the config
    /// and fills in defaults, so a bad `base_url` is reported where it is
    /// written rather than by the first payment. A listed setting left
    /// undescribed is required text. List them in the manifest with
    /// [`Manifest::with_described_settings`]:
    ///
    /// ```
    /// use paycore_plugin_sdk::types::{Manifest, SettingSpec};
    ///
    /// fn settings() -> Vec<SettingSpec> {
    ///     vec![
    ///         SettingSpec::url("base_url", "the provider's API root"),
    ///         SettingSpec::text("merchant_id", "the merchant number the provider gave")
    ///             .with_pattern("[0-9]{10}"),
    ///         SettingSpec::one_of("sign_type", "signature algorithm", &["RSA2"]).with_default("RSA2"),
    ///         SettingSpec::integer("timeout_minutes", "minutes the payer has", Some(1), Some(1440))
    ///             .optional(),
    ///     ]
    /// }
    /// let manifest = Manifest::new("acme-pay", "0.1.0").with_described_settings(&settings());
    /// assert_eq!(manifest.settings, ["base_url", "merchant_id", "sign_type", "timeout_minutes"]);
    /// ```
    fn settings(&self) -> Vec<SettingSpec> {
        Vec::new()
    }
}

/// A payment channel's operations. The host instantiates the plugin afresh
/// for every call, and the export adapter builds the channel with `Default`
/// each time, so a channel keeps no state between calls: everything it
/// needs arrives in the [`CallContext`] and the request.
///
/// Errors carry money semantics (see [`ChannelError`]): return
/// `OutcomeUnknown` whenever the request may have reached the channel and its
/// answer is not known for certain.
pub trait Channel: Describe + Default {
    fn pay(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        request: PayRequest,
    ) -> Result<PaymentResult, ChannelError>;

    /// Reports the payment's state at the channel. `payment.channel_order_no`
    /// is `None` when the pay call never learned it: query by
    /// `merchant_order_no` then.
    fn query(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        payment: PaymentRef,
    ) -> Result<PaymentResult, ChannelError>;

    fn refund(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        request: RefundRequest,
    ) -> Result<RefundResult, ChannelError>;

    fn query_refund(
        &self,
        _host: &dyn Host,
        _ctx: &CallContext,
        _refund: RefundRef,
    ) -> Result<RefundResult, ChannelError> {
        Err(ChannelError::unsupported("query_refund"))
    }

    /// Closes an unpaid payment.
    fn close(
        &self,
        _host: &dyn Host,
        _ctx: &CallContext,
        _payment: PaymentRef,
    ) -> Result<PaymentResult, ChannelError> {
        Err(ChannelError::unsupported("close"))
    }

    /// Reverses a (barcode) payment: the channel refunds it if it was paid.
    fn cancel(
        &self,
        _host: &dyn Host,
        _ctx: &CallContext,
        _payment: PaymentRef,
    ) -> Result<PaymentResult, ChannelError> {
        Err(ChannelError::unsupported("cancel"))
    }

    /// Added in 1.1.0: holds what one tender of a combined order takes —
    /// `request.amount`; a coupon's discount on the order `request.goods`
    /// describe — through the host's ledger, and captures nothing: the host
    /// captures or releases the hold once the order is final. The same
    /// tender again answers the hold it already made. Channels that hold no
    /// value of their own keep the default: they cannot be a tender.
    fn hold_tender(
        &self,
        _host: &dyn Host,
        _ctx: &CallContext,
        _request: PayRequest,
    ) -> Result<TenderHold, ChannelError> {
        Err(ChannelError::unsupported("hold_tender"))
    }

    /// Added in 1.1.0: one page of the channel's statement of `day`
    /// (`YYYY-MM-DD` in the channel's time zone), for reconciliation:
    /// `cursor` is `None` for the first page and then what the last page's
    /// `next` said. Download through the host's HTTP, parse the channel's
    /// own format, and answer its lines normalised (minor units, the
    /// numbers paycore sent); keep a page small enough for the plugin's
    /// memory. A statement not yet published is `Unavailable`; one that
    /// cannot be read is `InvalidRequest` naming why. Channels that publish
    /// no statement keep the default: they cannot be reconciled.
    fn statement(
        &self,
        _host: &dyn Host,
        _ctx: &CallContext,
        _day: String,
        _cursor: Option<String>,
    ) -> Result<StatementPage, ChannelError> {
        Err(ChannelError::unsupported("statement"))
    }

    /// Verifies and interprets an asynchronous notification the channel sent
    /// to paycore. An unverifiable request must come back with
    /// `verified: false` and no event ([`CallbackOutcome::rejected`]): the
    /// host then changes nothing, but if the plugin can read which order the
    /// request claims to be about ([`CallbackOutcome::with_unverified_claim`]),
    /// the host queries that payment so a mangled notice of a real payment
    /// does not leave it open.
    fn handle_callback(
        &self,
        host: &dyn Host,
        ctx: &CallContext,
        request: HttpRequest,
    ) -> Result<CallbackOutcome, ChannelError>;
}
