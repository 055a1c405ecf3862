//! The contract's types under the names plugin authors use, with the few
//! constructors and accessors the generated structs lack.

use crate::CONTRACT_VERSION;

pub use crate::__bindings::exports::paycore::channel::statement::{
    LineKind, LineStatus, StatedTotals, StatementLine, StatementPage,
};
pub use crate::__bindings::exports::paycore::channel::tender::TenderHold;
pub use crate::__bindings::paycore::channel::certificates::{
    CertificateError, CertificateInfo, Scheme as CertificateScheme, Trust,
};
pub use crate::__bindings::paycore::channel::crypto::{Algorithm, CryptoError};
pub use crate::__bindings::paycore::channel::http::HttpError;
pub use crate::__bindings::paycore::channel::ledger::{
    Card, CardHold, CardStatus, CouponTerms, HoldStatus, LedgerError, Program, ProgramKind,
};
pub use crate::__bindings::paycore::channel::log::Level as LogLevel;
pub use crate::__bindings::paycore::channel::types::{
    Action, CallContext, CallbackEvent, CallbackOutcome, ChannelError, Failure, GoodsItem,
    HttpRequest, HttpResponse, Manifest, PayRequest, Payer, PaymentRef, PaymentResult,
    PaymentStatus, PaymentUpdate, RefundRef, RefundRequest, RefundResult, RefundStatus,
    RefundUpdate, Scene,
};
pub use crate::settings::{IntegerRange, Presence, SettingKind, SettingSpec, TextBounds};

impl From<&CardHold> for TenderHold {
    fn from(hold: &CardHold) -> Self {
        TenderHold {
            hold: hold.id.clone(),
            card: hold.card.clone(),
            amount: hold.amount,
        }
    }
}

impl Manifest {
    /// A manifest for plugin `name` at `version`, built against this SDK's
    /// contract version and declaring nothing else yet.
    pub fn new(name: &str, version: &str) -> Self {
        Self {
            name: name.to_owned(),
            version: version.to_owned(),
            contract_version: CONTRACT_VERSION.to_owned(),
            description: String::new(),
            scenes: Vec::new(),
            wallets: Vec::new(),
            currencies: Vec::new(),
            settings: Vec::new(),
            secrets: Vec::new(),
            hosts: Vec::new(),
        }
    }

    pub fn with_description(mut self, description: &str) -> Self {
        self.description = description.to_owned();
        self
    }

    pub fn with_scenes(mut self, scenes: &[Scene]) -> Self {
        self.scenes = scenes.to_vec();
        self
    }

    pub fn with_wallets(mut self, wallets: &[&str]) -> Self {
        self.wallets = owned(wallets);
        self
    }

    pub fn with_currencies(mut self, currencies: &[&str]) -> Self {
        self.currencies = owned(currencies);
        self
    }

    pub fn with_settings(mut self, settings: &[&str]) -> Self {
        self.settings = owned(settings);
        self
    }

    /// Lists the settings `specs` describe (see [`SettingSpec`]), so that
    /// the manifest and the descriptions never disagree.
    pub fn with_described_settings(mut self, specs: &[SettingSpec]) -> Self {
        self.settings = specs.iter().map(|s| s.name.clone()).collect();
        self
    }

    pub fn with_secrets(mut self, secrets: &[&str]) -> Self {
        self.secrets = owned(secrets);
        self
    }

    pub fn with_hosts(mut self, hosts: &[&str]) -> Self {
        self.hosts = owned(hosts);
        self
    }
}

fn owned(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

impl Scene {
    pub const ALL: [Scene; 7] = [
        Scene::Barcode,
        Scene::Qrcode,
        Scene::Jsapi,
        Scene::App,
        Scene::H5,
        Scene::Web,
        Scene::Face,
    ];

    /// The scene's name as written in the WIT and the cashier API.
    pub fn as_str(self) -> &'static str {
        match self {
            Scene::Barcode => "barcode",
            Scene::Qrcode => "qrcode",
            Scene::Jsapi => "jsapi",
            Scene::App => "app",
            Scene::H5 => "h5",
            Scene::Web => "web",
            Scene::Face => "face",
        }
    }
}

impl CouponTerms {
    /// A fixed `amount` off (minor units), any order, store and time.
    pub fn amount_off(amount: i64) -> Self {
        Self {
            amount_off: Some(amount),
            percent_off_hundredths: None,
            max_discount: None,
            min_spend: None,
            stores: Vec::new(),
            one_per_order: true,
            in_window: true,
        }
    }

    /// `hundredths` hundredths of a percent off (`1250`: 12.5 %), at most
    /// `max_discount` (minor units), any order, store and time.
    pub fn percent_off(hundredths: u32, max_discount: i64) -> Self {
        Self {
            amount_off: None,
            percent_off_hundredths: Some(hundredths),
            max_discount: Some(max_discount),
            ..Self::amount_off(0)
        }
    }

    /// Only on orders of at least `min_spend` (minor units).
    pub fn with_min_spend(mut self, min_spend: i64) -> Self {
        self.min_spend = Some(min_spend);
        self
    }

    /// Only in these stores.
    pub fn with_stores(mut self, stores: &[&str]) -> Self {
        self.stores = owned(stores);
        self
    }

    /// As the host says when now is outside the coupon's days and hours.
    pub fn outside_window(mut self) -> Self {
        self.in_window = false;
        self
    }
}

impl CallContext {
    /// The tenant's value for setting `name`, if set and not empty.
    pub fn setting(&self, name: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|(key, value)| key == name && !value.is_empty())
            .map(|(_, value)| value.as_str())
    }

    /// Like [`setting`](Self::setting), but a missing setting is the
    /// `invalid-request` error `missing_setting` that names it: nothing can
    /// have been sent without it.
    pub fn require_setting(&self, name: &str) -> Result<&str, ChannelError> {
        self.setting(name).ok_or_else(|| {
            ChannelError::InvalidRequest(Failure::new(
                "missing_setting",
                format!("channel setting `{name}` is not configured"),
            ))
        })
    }
}

impl Failure {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            channel_code: None,
            channel_message: None,
        }
    }

    /// Adds what the channel itself said, so operators can look it up in the
    /// channel's documentation.
    pub fn with_channel(mut self, code: &str, message: Option<&str>) -> Self {
        self.channel_code = Some(code.to_owned());
        self.channel_message = message.map(str::to_owned);
        self
    }
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

    /// The answer for an operation this channel does not offer. It is an
    /// `invalid-request`: nothing was sent, so nothing can have moved.
    pub fn unsupported(operation: &str) -> Self {
        ChannelError::InvalidRequest(Failure::new(
            "unsupported_operation",
            format!("this channel does not support `{operation}`"),
        ))
    }
}

/// What a failed HTTP exchange means for the money. `denied` and `connect`
/// prove the request never left, so the operation certainly did not happen;
/// after any other failure the channel may have acted on it.
impl From<HttpError> for ChannelError {
    fn from(err: HttpError) -> Self {
        match err {
            HttpError::Denied(why) => ChannelError::Unavailable(Failure::new(
                "http_denied",
                format!("the host refused to send the request: {why}"),
            )),
            HttpError::Connect(why) => ChannelError::Unavailable(Failure::new(
                "channel_unreachable",
                format!("could not connect to the channel: {why}"),
            )),
            HttpError::Timeout => ChannelError::OutcomeUnknown(Failure::new(
                "channel_timeout",
                "the channel did not answer in time",
            )),
            HttpError::TooLarge => ChannelError::OutcomeUnknown(Failure::new(
                "response_too_large",
                "the channel's answer exceeded the host's size limit",
            )),
            HttpError::Broken(why) => ChannelError::OutcomeUnknown(Failure::new(
                "connection_broken",
                format!("the exchange with the channel failed midway: {why}"),
            )),
        }
    }
}

impl PaymentResult {
    /// A payment in `status`, saying nothing of its amount: what most
    /// answers other than a settled success are (pending, processing,
    /// closed, cancelled), with the channel's order number if it gave one.
    pub fn status_only(status: PaymentStatus, channel_order_no: Option<String>) -> Self {
        Self {
            status,
            channel_order_no,
            amount: None,
            currency: None,
            action: None,
            failure: None,
        }
    }

    /// A succeeded payment of `amount` minor units of `currency`.
    pub fn succeeded(channel_order_no: Option<String>, amount: i64, currency: &str) -> Self {
        Self {
            status: PaymentStatus::Succeeded,
            channel_order_no,
            amount: Some(amount),
            currency: Some(currency.to_owned()),
            action: None,
            failure: None,
        }
    }
}

impl CallbackOutcome {
    /// A verified callback: apply `event`, answer the channel `response`.
    pub fn accepted(event: CallbackEvent, response: HttpResponse) -> Self {
        Self {
            event: Some(event),
            verified: true,
            response,
            unverified_claim: None,
        }
    }

    /// A callback that did not verify: nothing is applied.
    pub fn rejected(response: HttpResponse) -> Self {
        Self {
            event: None,
            verified: false,
            response,
            unverified_claim: None,
        }
    }

    /// For a rejected callback: the merchant order number it claims to be
    /// about, read without trusting it. The host only uses it to query that
    /// payment at the channel; it never changes state on it.
    pub fn with_unverified_claim(mut self, merchant_order_no: Option<String>) -> Self {
        if !self.verified {
            self.unverified_claim = merchant_order_no;
        }
        self
    }
}

impl HttpRequest {
    /// A request without headers; add them with [`with_header`](Self::with_header).
    pub fn new(method: &str, url: impl Into<String>, body: impl Into<Vec<u8>>) -> Self {
        Self {
            method: method.to_owned(),
            url: url.into(),
            headers: Vec::new(),
            body: body.into(),
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// The first header called `name`, compared case-insensitively as HTTP requires.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

impl HttpResponse {
    /// A response with a JSON body and its `Content-Type`.
    pub fn json(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".to_owned(), "application/json".to_owned())],
            body: body.into(),
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// The first header called `name`, compared case-insensitively as HTTP requires.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_declares_the_sdk_contract_version() {
        let manifest = Manifest::new("x", "1.2.3").with_wallets(&["w"]);
        assert_eq!(manifest.contract_version, CONTRACT_VERSION);
        assert_eq!(manifest.version, "1.2.3");
        assert_eq!(manifest.wallets, vec!["w".to_owned()]);
    }

    #[test]
    fn scene_names_match_the_contract() {
        let names: Vec<_> = Scene::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            ["barcode", "qrcode", "jsapi", "app", "h5", "web", "face"]
        );
    }

    #[test]
    fn empty_setting_counts_as_missing() {
        let ctx = crate::testing::call_context(&[("base_url", ""), ("merchant_id", "m1")]);
        assert_eq!(ctx.setting("merchant_id"), Some("m1"));
        let err = ctx.require_setting("base_url").unwrap_err();
        assert!(matches!(&err, ChannelError::InvalidRequest(f) if f.code == "missing_setting"));
        assert!(err.failure().message.contains("base_url"));
    }

    #[test]
    fn headers_are_found_case_insensitively() {
        let response = HttpResponse::json(200, "{}").with_header("X-Sig", "ab");
        assert_eq!(response.header("x-sig"), Some("ab"));
        assert_eq!(response.header("content-type"), Some("application/json"));
        assert_eq!(response.header("missing"), None);
    }

    #[test]
    fn only_rejected_callbacks_carry_a_claim() {
        let claim = Some("A1".to_owned());
        let rejected = CallbackOutcome::rejected(HttpResponse::json(401, "{}"))
            .with_unverified_claim(claim.clone());
        assert!(!rejected.verified && rejected.event.is_none());
        assert_eq!(rejected.unverified_claim, claim);
        let accepted =
            CallbackOutcome::accepted(CallbackEvent::Ignored, HttpResponse::json(200, "{}"))
                .with_unverified_claim(claim);
        assert!(accepted.verified);
        assert_eq!(accepted.unverified_claim, None);
    }

    #[test]
    fn only_unsent_requests_prove_nothing_happened() {
        let kind = |e: HttpError| match ChannelError::from(e) {
            ChannelError::Unavailable(_) => "unavailable",
            ChannelError::OutcomeUnknown(_) => "unknown",
            _ => "other",
        };
        assert_eq!(kind(HttpError::Denied("not granted".into())), "unavailable");
        assert_eq!(kind(HttpError::Connect("refused".into())), "unavailable");
        assert_eq!(kind(HttpError::Timeout), "unknown");
        assert_eq!(kind(HttpError::TooLarge), "unknown");
        assert_eq!(kind(HttpError::Broken("reset".into())), "unknown");
    }
}
