//! One signed call to the acp gateway: the fields every request carries,
//! the POST, and the answer — believed only once verified — with what its
//! response code means for the money.

use paycore_plugin_sdk::Host;
use paycore_plugin_sdk::params::form_urlencode;
use paycore_plugin_sdk::types::{
    CallContext, ChannelError, Failure, HttpRequest, HttpResponse, LogLevel,
};

use crate::codes::{self, Class};
use crate::message::{self, Fields};
use crate::sign;
use crate::wire::{self, CURRENCY_CODE};

/// UnionPay's production gateway (the setting's default).
pub const DEFAULT_URL: &str = "https://gateway.95516.com";

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// Consume, refund, reversal: `backTransReq.do`.
    Back,
    /// Status query: `queryTrans.do`.
    Query,
}

impl Endpoint {
    fn path(self) -> &'static str {
        match self {
            Endpoint::Back => "/gateway/api/backTransReq.do",
            Endpoint::Query => "/gateway/api/queryTrans.do",
        }
    }
}

/// One transaction as acp names it: what it is and which one.
pub struct Txn<'a> {
    pub txn_type: &'static str,
    pub txn_sub_type: &'static str,
    /// Of the original transaction for a query or a reversal.
    pub order_id: &'a str,
    /// Likewise: `orderId` + `txnTime` is the transaction's identity.
    pub txn_time: &'a str,
    pub txn_amt: i64,
    /// Fields of this transaction type (`qrNo`, `origQryId`, …).
    pub extra: Vec<(&'static str, String)>,
}

/// Everything the gateway needs to know about us on every call.
pub struct Gateway<'a> {
    host: &'a dyn Host,
    base: &'a str,
    mer_id: &'a str,
    back_url: &'a str,
}

impl<'a> Gateway<'a> {
    pub fn new(host: &'a dyn Host, ctx: &'a CallContext) -> Result<Self, ChannelError> {
        Ok(Self {
            host,
            // The host fills the default in; a context without it (a test,
            // an older host) means the same.
            base: ctx
                .setting("gateway_url")
                .unwrap_or(DEFAULT_URL)
                .trim_end_matches('/'),
            mer_id: ctx.require_setting("mer_id")?,
            back_url: &ctx.notify_url,
        })
    }

    /// The signed fields of `txn`: the common ones first (sent on every
    /// request, as the protocol lists them), then the transaction's own.
    /// Blank values are never sent: the gateway verifies over every field
    /// it receives, blanks included, while a signer leaves them out.
    pub fn signed_fields(&self, txn: &Txn<'_>) -> Result<Fields, ChannelError> {
        let cert_id = sign::cert_id(self.host)?;
        let mut fields: Fields = [
            ("version", "5.1.0"),
            ("encoding", "UTF-8"),
            ("signMethod", "01"),
            ("certId", cert_id.as_str()),
            ("txnType", txn.txn_type),
            ("txnSubType", txn.txn_sub_type),
            ("bizType", "000000"),
            // Merchant direct access, from a mobile channel.
            ("accessType", "0"),
            ("channelType", "08"),
            ("merId", self.mer_id),
            ("orderId", txn.order_id),
            ("txnTime", txn.txn_time),
            ("txnAmt", wire::txn_amt(txn.txn_amt)?.as_str()),
            ("currencyCode", CURRENCY_CODE),
            ("backUrl", self.back_url),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        fields.extend(txn.extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        fields.retain(|(_, v)| !v.is_empty());
        sign::sign(self.host, &mut fields)?;
        Ok(fields)
    }

    /// POSTs `txn` and returns UnionPay's verified answer, or the error that
    /// says whether money may have moved.
    pub fn call(&self, endpoint: Endpoint, txn: &Txn<'_>) -> Result<Answer, ChannelError> {
        let fields = self.signed_fields(txn)?;
        let request = HttpRequest::new(
            "POST",
            format!("{}{}", self.base, endpoint.path()),
            form_urlencode(&fields),
        )
        .with_header(
            "Content-Type",
            "application/x-www-form-urlencoded;charset=UTF-8",
        );
        let response = self.host.http_send(request)?;
        self.read(&response, txn).map_err(|why| {
            self.host.log(
                LogLevel::Warn,
                &format!(
                    "untrusted answer to txnType {} of orderId {}: {why}",
                    txn.txn_type, txn.order_id
                ),
            );
            // Whatever it says, the request went out: only a query can tell.
            ChannelError::OutcomeUnknown(Failure::new("unverified_answer", why))
        })
    }

    /// The answer's fields, if UnionPay signed them and they are about this
    /// merchant's transaction.
    fn read(&self, response: &HttpResponse, txn: &Txn<'_>) -> Result<Answer, String> {
        if response.status != 200 {
            return Err(format!("HTTP {} instead of an answer", response.status));
        }
        let text = std::str::from_utf8(&response.body)
            .map_err(|_| "the answer is not UTF-8".to_owned())?;
        let fields = message::parse_answer(text)?;
        sign::verify(self.host, &fields)?;
        // A genuine answer about another transaction (a replay, a mix-up in
        // a proxy) says nothing about this one.
        for (name, ours) in [("merId", self.mer_id), ("orderId", txn.order_id)] {
            match message::field(&fields, name) {
                Some(theirs) if theirs != ours => {
                    return Err(format!("the answer is for {name} `{theirs}`, not `{ours}`"));
                }
                _ => {}
            }
        }
        let answer = Answer { fields };
        if answer.get("respCode").is_none() {
            return Err("the answer has no respCode".to_owned());
        }
        Ok(answer)
    }
}

/// A verified answer (or notification).
#[derive(Debug)]
pub struct Answer {
    pub fields: Fields,
}

impl Answer {
    /// Field `name`, if present and not blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        message::field(&self.fields, name).filter(|v| !v.is_empty())
    }

    pub fn resp_code(&self) -> &str {
        self.get("respCode").unwrap_or("")
    }

    /// The failure in our words, with UnionPay's `respCode`/`respMsg` kept.
    pub fn failure(&self, ours: &str, message: &str) -> Failure {
        Failure::new(ours, message).with_channel(self.resp_code(), self.get("respMsg"))
    }

    /// The queried transaction's own refusal (`origRespCode`) in paycore's
    /// words.
    pub fn orig_failure(&self, refund: bool) -> Failure {
        let (ours, message) = codes::refusal(self.get("origRespCode").unwrap_or(""), refund);
        self.orig(ours, message)
    }

    /// A failure about the queried transaction, with its `origRespCode` and
    /// `origRespMsg` kept (the query's own `respCode` is just `00`).
    pub fn orig(&self, ours: &str, message: &str) -> Failure {
        let code = self.get("origRespCode").unwrap_or("");
        Failure::new(ours, message).with_channel(code, self.get("origRespMsg"))
    }

    /// A transaction answer that is not `00`, as paycore's error.
    pub fn error(&self, refund: bool) -> ChannelError {
        let code = self.resp_code();
        match codes::class(code) {
            Class::Success | Class::Unknown => ChannelError::OutcomeUnknown(self.failure(
                "in_progress",
                "UnionPay has not settled the transaction; query for its outcome",
            )),
            Class::Rejected => ChannelError::InvalidRequest(self.failure(
                "channel_rejected",
                "the UnionPay gateway rejected the request",
            )),
            Class::Refused => {
                let (ours, message) = codes::refusal(code, refund);
                ChannelError::Declined(self.failure(ours, message))
            }
        }
    }

    /// Where UnionPay states `txnAmt`, it must be `expected` fen; an answer
    /// about another amount is not believed.
    pub fn check_amount(&self, expected: i64) -> Result<(), ChannelError> {
        match self.get("txnAmt") {
            None => Ok(()),
            Some(text) => match wire::parse_txn_amt(text) {
                Some(fen) if fen == expected => Ok(()),
                _ => Err(ChannelError::OutcomeUnknown(self.failure(
                    "amount_mismatch",
                    &format!("UnionPay states txnAmt `{text}`, not {expected} fen"),
                ))),
            },
        }
    }

    /// A verified answer we cannot use still answers a request UnionPay may
    /// have acted on.
    pub fn malformed(&self, why: &str) -> ChannelError {
        ChannelError::OutcomeUnknown(self.failure("malformed_answer", why))
    }
}
