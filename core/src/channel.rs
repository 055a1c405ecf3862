//! What paycore asks a channel's plugin and what the plugin answers, in
//! paycore's own types. The WIT contract's generated types stay inside the
//! runtime's plugin host, which converts at its edge (both ways), so the
//! payments logic, the conformance suite and the HTTP edge never depend on
//! a contract version's bindings.
//!
//! Statuses are the domain's: a channel reports only the states the
//! contract names (never `unknown`, which is paycore's own).

use crate::domain::{PaymentStatus, RefundStatus, Scene};

/// Who is calling and with which of the channel's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallContext {
    pub tenant: String,
    pub channel: String,
    pub settings: Vec<(String, String)>,
    /// Where the channel should send its asynchronous notification.
    pub notify_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payer {
    pub app_id: Option<String>,
    pub open_id: Option<String>,
    pub buyer_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoodsItem {
    pub id: String,
    pub name: String,
    pub quantity: u32,
    /// Minor units.
    pub unit_price: i64,
    /// Minor units.
    pub discount: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayRequest {
    pub payment_id: String,
    pub merchant_order_no: String,
    /// Minor units of `currency`.
    pub amount: i64,
    pub currency: String,
    /// A channel scene (never `checkout`, paycore's own).
    pub scene: Scene,
    pub wallet: String,
    pub auth_code: Option<String>,
    pub subject: Option<String>,
    pub payer: Option<Payer>,
    pub goods: Vec<GoodsItem>,
    pub receipt_no: Option<String>,
    pub store_id: Option<String>,
    pub terminal_id: Option<String>,
    pub client_ip: Option<String>,
    /// Seconds the payer has.
    pub expires_in: Option<u32>,
    /// When paycore created the payment, in ms since the Unix epoch by its
    /// business clock (the `operation` import of contract 1.1).
    pub created_millis: i64,
}

/// A payment the channel already knows of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRef {
    pub payment_id: String,
    pub merchant_order_no: String,
    pub channel_order_no: Option<String>,
    pub amount: i64,
    pub currency: String,
    pub scene: Scene,
    /// When paycore created the payment (ms since the Unix epoch).
    pub created_millis: i64,
}

/// What the payer must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    QrCode(String),
    ClientParams(Vec<(String, String)>),
    Redirect(String),
}

/// Why a channel refused or failed, in its words and in the contract's code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: String,
    pub message: String,
    pub channel_code: Option<String>,
    pub channel_message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentResult {
    pub status: PaymentStatus,
    pub channel_order_no: Option<String>,
    pub amount: Option<i64>,
    pub currency: Option<String>,
    pub action: Option<Action>,
    pub failure: Option<Failure>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub refund_id: String,
    pub merchant_refund_no: String,
    pub payment: PaymentRef,
    pub amount: i64,
    pub reason: Option<String>,
    /// When paycore created the refund (ms since the Unix epoch).
    pub created_millis: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRef {
    pub refund_id: String,
    pub merchant_refund_no: String,
    pub channel_refund_no: Option<String>,
    pub amount: i64,
    pub payment: PaymentRef,
    /// When paycore created the refund (ms since the Unix epoch).
    pub created_millis: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundResult {
    pub status: RefundStatus,
    pub channel_refund_no: Option<String>,
    pub amount: Option<i64>,
    pub failure: Option<Failure>,
}

/// The contract's typed errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelError {
    /// The channel said no (insufficient funds, a used code…).
    Declined(Failure),
    /// The request was wrong; nothing happened.
    InvalidRequest(Failure),
    /// The channel could not be reached or refused to work; nothing happened.
    Unavailable(Failure),
    /// Nobody knows whether money moved: ask again later.
    OutcomeUnknown(Failure),
}

impl ChannelError {
    pub fn failure(&self) -> &Failure {
        match self {
            ChannelError::Declined(f)
            | ChannelError::InvalidRequest(f)
            | ChannelError::Unavailable(f)
            | ChannelError::OutcomeUnknown(f) => f,
        }
    }

    /// The error's name, as messages say it.
    pub fn kind(&self) -> &'static str {
        match self {
            ChannelError::Declined(_) => "declined",
            ChannelError::InvalidRequest(_) => "invalid request",
            ChannelError::Unavailable(_) => "channel unavailable",
            ChannelError::OutcomeUnknown(_) => "outcome unknown",
        }
    }
}

impl std::fmt::Display for ChannelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let failure = self.failure();
        write!(f, "{}: {} ({})", self.kind(), failure.message, failure.code)
    }
}

/// A request as it reached paycore's callback endpoint, for the plugin to
/// verify and read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentUpdate {
    pub merchant_order_no: String,
    pub channel_order_no: Option<String>,
    pub status: PaymentStatus,
    pub amount: i64,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundUpdate {
    pub merchant_refund_no: String,
    pub channel_refund_no: Option<String>,
    pub status: RefundStatus,
    pub amount: i64,
}

/// What a notification said, once the plugin verified it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackEvent {
    Payment(PaymentUpdate),
    Refund(RefundUpdate),
    /// Verified, but about nothing paycore tracks.
    Ignored,
}

/// The plugin's reading of a notification: whether its signature held,
/// what it said, and the answer the channel expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackOutcome {
    pub verified: bool,
    /// None when the signature did not verify: nothing changes on it.
    pub event: Option<CallbackEvent>,
    /// What to answer the channel, so that it stops (or keeps) retrying.
    pub response: HttpResponse,
    /// When it did not verify: the merchant order number it claims to be
    /// about, read without trusting it. Only ever used to query that order.
    pub unverified_claim: Option<String>,
}

/// One page of a channel's statement of a business day (contract 1.1's
/// `statement`), as its plugin normalised it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementPage {
    /// The IANA time zone the channel dates its business days in.
    pub time_zone: String,
    pub lines: Vec<crate::reconcile::StatementLine>,
    /// The cursor of the next page; `None` on the last.
    pub next: Option<String>,
    /// What the channel states of the whole statement, per currency.
    pub totals: crate::reconcile::StatedTotals,
}
