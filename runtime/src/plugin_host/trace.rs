//! An optional record of what one plugin call did: its input, every host
//! call in order with the host's answer, its log lines, its output and what
//! it cost. Collected only when the call is traced (the grant carries a
//! [`Tracer`], or the channel is being recorded); the conformance suite
//! checks plugins with it, and recordings are made of it (`record`).

use super::bindings::paycore::channel::certificates as wit_certificates;
use super::bindings::paycore::channel::crypto::{Algorithm, CryptoError};
use super::bindings::paycore::channel::ledger as wit_ledger;
use super::bindings::paycore::channel::{http, types as wit};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

/// What one call did.
#[derive(Debug, Clone, Default)]
pub struct CallTrace {
    /// The exported function, e.g. `pay`.
    pub op: &'static str,
    pub input: Option<CallInput>,
    /// Every import the plugin called, in order, with the host's answer.
    pub calls: Vec<HostCall>,
    /// `(level, message)` as the host logged them.
    pub logs: Vec<(String, String)>,
    pub output: Option<CallOutput>,
    /// Instructions executed, when the host counts fuel (`PluginHost::measuring`).
    pub fuel: Option<u64>,
    /// The largest linear memory the call asked for, in bytes.
    pub peak_memory: usize,
    /// Wall-clock time of the whole call, host HTTP included.
    pub millis: f64,
}

impl CallTrace {
    /// The `http.send` calls, in order.
    pub fn http(&self) -> impl Iterator<Item = &HttpAttempt> {
        self.calls.iter().filter_map(|c| match c {
            HostCall::Http(a) => Some(a),
            _ => None,
        })
    }

    /// The `ledger` calls, in order.
    pub fn ledger(&self) -> impl Iterator<Item = &LedgerCall> {
        self.calls.iter().filter_map(|c| match c {
            HostCall::Ledger(l) => Some(l),
            _ => None,
        })
    }
}

/// An operation run inside a plugin, with its arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op", content = "args")]
pub enum CallInput {
    Manifest,
    Pay(wit::CallContext, wit::PayRequest),
    Query(wit::CallContext, wit::PaymentRef),
    Close(wit::CallContext, wit::PaymentRef),
    Cancel(wit::CallContext, wit::PaymentRef),
    Refund(wit::CallContext, wit::RefundRequest),
    QueryRefund(wit::CallContext, wit::RefundRef),
    Callback(wit::CallContext, wit::HttpRequest),
    /// A tender of a combined order (contract 1.1). The third field is the
    /// most the order's holds may come to with this one: its coupon and
    /// card tenders up to and including this tender.
    HoldTender(wit::CallContext, wit::PayRequest, i64),
    /// A page of the channel's statement of a business day (contract
    /// 1.1): the day and the cursor the last page gave.
    Statement(wit::CallContext, String, Option<String>),
}

impl CallInput {
    pub fn name(&self) -> &'static str {
        match self {
            CallInput::Manifest => "manifest",
            CallInput::Pay(..) => "pay",
            CallInput::Query(..) => "query",
            CallInput::Close(..) => "close",
            CallInput::Cancel(..) => "cancel",
            CallInput::Refund(..) => "refund",
            CallInput::QueryRefund(..) => "query-refund",
            CallInput::Callback(..) => "handle-callback",
            CallInput::HoldTender(..) => "hold-tender",
            CallInput::Statement(..) => "statement",
        }
    }
}

/// What a call answered, or how it failed in the host.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutput {
    Manifest,
    Payment(Result<wit::PaymentResult, wit::ChannelError>),
    Refund(Result<wit::RefundResult, wit::ChannelError>),
    Callback(Result<wit::CallbackOutcome, wit::ChannelError>),
    Hold(Result<super::bindings::exports::paycore::channel::tender::TenderHold, wit::ChannelError>),
    Statement(
        Result<
            super::bindings::exports::paycore::channel::statement::StatementPage,
            wit::ChannelError,
        >,
    ),
    /// Trapped, out of budget or out of time: the failure's kind.
    Failed(String),
}

/// One import the plugin called and what the host answered.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "import")]
pub enum HostCall {
    Http(HttpAttempt),
    Sign {
        key: String,
        alg: Algorithm,
        #[serde(with = "base64_bytes")]
        data: Vec<u8>,
        result: Result<Base64, CryptoError>,
    },
    Verify {
        key: String,
        alg: Algorithm,
        #[serde(with = "base64_bytes")]
        data: Vec<u8>,
        #[serde(with = "base64_bytes")]
        signature: Vec<u8>,
        result: Result<bool, CryptoError>,
    },
    Decrypt {
        key: String,
        alg: Algorithm,
        #[serde(with = "base64_bytes")]
        nonce: Vec<u8>,
        #[serde(with = "base64_bytes")]
        aad: Vec<u8>,
        #[serde(with = "base64_bytes")]
        ciphertext: Vec<u8>,
        result: Result<Base64, CryptoError>,
    },
    Clock {
        millis: u64,
    },
    Ledger(LedgerCall),
    Certificate(CertificateCall),
    /// What the `operation` import answered.
    Operation(super::operation::OperationTimes),
}

/// One `certificates` call and what the host answered.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CertificateCall {
    pub request: CertificateRequest,
    pub result: Result<wit_certificates::CertificateInfo, wit_certificates::CertificateError>,
}

/// A `certificates` function with the plugin's arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "function")]
pub enum CertificateRequest {
    Verify {
        roots: String,
        intermediates: Option<String>,
        #[serde(with = "base64_bytes")]
        certificate: Vec<u8>,
        scheme: wit_certificates::Scheme,
        #[serde(with = "base64_bytes")]
        data: Vec<u8>,
        #[serde(with = "base64_bytes")]
        signature: Vec<u8>,
    },
    KeyCertificate {
        key: String,
    },
}

/// One `ledger` call the plugin made and what the host answered, so a
/// check can see what the plugin asked of the ledger and what it was
/// refused (conformance), and a recording shows the value it moved.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LedgerCall {
    pub request: LedgerRequest,
    pub result: Result<LedgerAnswer, wit_ledger::LedgerError>,
}

/// A `ledger` function with the plugin's arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "function")]
pub enum LedgerRequest {
    CardByCode { code: String },
    Balance { card: String },
    Hold { card: String, amount: i64 },
    Capture { hold: String },
    Release { hold: String },
    Credit { hold: String, amount: i64 },
    Holds,
}

/// What a `ledger` call answered when it was not refused.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerAnswer {
    Card(wit_ledger::Card),
    Hold(wit_ledger::CardHold),
    Holds(Vec<wit_ledger::CardHold>),
}

impl LedgerCall {
    /// The host's reason when it refused the call as outside what the
    /// operation being called may do (`not-allowed`).
    pub fn not_allowed(&self) -> Option<&str> {
        match &self.result {
            Err(wit_ledger::LedgerError::NotAllowed(why)) => Some(why),
            _ => None,
        }
    }
}

/// `credit(h_1, 300)`: the call as the plugin made it.
impl std::fmt::Display for LedgerRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // A member's payment code is as good as the card for a minute:
            // never written out.
            LedgerRequest::CardByCode { .. } => write!(f, "card-by-code(…)"),
            LedgerRequest::Balance { card } => write!(f, "balance({card})"),
            LedgerRequest::Hold { card, amount } => write!(f, "hold({card}, {amount})"),
            LedgerRequest::Capture { hold } => write!(f, "capture({hold})"),
            LedgerRequest::Release { hold } => write!(f, "release({hold})"),
            LedgerRequest::Credit { hold, amount } => write!(f, "credit({hold}, {amount})"),
            LedgerRequest::Holds => write!(f, "holds()"),
        }
    }
}

/// One `http.send` the plugin made, whether or not the host let it through.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HttpAttempt {
    /// Lower-case host name of the URL (empty when the URL did not parse).
    pub host: String,
    pub granted: bool,
    pub request: wit::HttpRequest,
    pub outcome: Result<wit::HttpResponse, http::HttpError>,
}

/// Bytes written as base64 text in recordings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Base64(#[serde(with = "base64_bytes")] pub Vec<u8>);

mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

/// Collects the traces of the calls made with one grant.
#[derive(Debug, Default)]
pub struct Tracer(Mutex<Vec<CallTrace>>);

impl Tracer {
    pub(super) fn push(&self, trace: CallTrace) {
        self.0.lock().expect("tracer lock").push(trace);
    }

    /// The traces collected so far, oldest first; the tracer is left empty.
    pub fn take(&self) -> Vec<CallTrace> {
        std::mem::take(&mut *self.0.lock().expect("tracer lock"))
    }
}
