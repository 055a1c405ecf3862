//! One signed exchange with the sandbox provider, and what its answer means
//! for the money.

use paycore_plugin_sdk::Host;
use paycore_plugin_sdk::types::{
    Algorithm, CallContext, ChannelError, Failure, HttpRequest, HttpResponse, LogLevel,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The secret the provider's HMAC key is held under.
pub const API_KEY: &str = "api_key";
pub const SIGNATURE_HEADER: &str = "X-Sandbox-Signature";

/// Answer codes that carry an order.
pub const ORDER_ANSWERS: &[&str] = &["SUCCESS"];
/// Answer codes that carry a refund: a refused refund is still a refund
/// record, with `status` `FAILED`.
pub const REFUND_ANSWERS: &[&str] = &["SUCCESS", "REFUND_FAILED"];

/// paycore's failure code for a decline. A build may stamp another: the
/// replay tests need a version whose mapping changed.
const DECLINE_CODE: &str = match option_env!("PAYCORE_SANDBOX_DECLINE_CODE") {
    Some(code) => code,
    None => "declined",
};

pub struct Client<'a> {
    host: &'a dyn Host,
    base_url: &'a str,
    merchant_id: &'a str,
}

#[derive(Deserialize)]
struct Envelope {
    code: String,
    message: Option<String>,
}

impl<'a> Client<'a> {
    pub fn new(host: &'a dyn Host, ctx: &'a CallContext) -> Result<Self, ChannelError> {
        Ok(Self {
            host,
            base_url: ctx.require_setting("base_url")?.trim_end_matches('/'),
            merchant_id: ctx.require_setting("merchant_id")?,
        })
    }

    /// POSTs `body` to `operation` and returns the answer, verified, if its
    /// code is one of `accepted`; every other outcome becomes the error that
    /// says whether money may have moved.
    pub fn call<B: Serialize, R: DeserializeOwned>(
        &self,
        operation: &str,
        body: &B,
        accepted: &[&str],
    ) -> Result<R, ChannelError> {
        let response = self.exchange(operation, body)?;
        let envelope: Envelope = parse(&response.body)?;
        classify(response.status, &envelope, accepted)?;
        parse(&response.body)
    }

    /// Reads a day's statement page (`statement`). Nothing moves money
    /// here, so every failure is one to retry or to report, never an
    /// unknown outcome: a statement not published yet is `Unavailable`,
    /// one the provider refuses or that does not verify is `InvalidRequest`.
    pub fn statement<B: Serialize, R: DeserializeOwned>(
        &self,
        body: &B,
    ) -> Result<R, ChannelError> {
        let response = self.exchange("statement", body).map_err(|e| match e {
            ChannelError::OutcomeUnknown(f) => ChannelError::InvalidRequest(f),
            other => other,
        })?;
        let refused = |f: Failure| ChannelError::InvalidRequest(f);
        let envelope: Envelope = serde_json::from_slice(&response.body)
            .map_err(|e| refused(Failure::new("malformed_statement", e.to_string())))?;
        let failure = |ours: &str, message: String| {
            Failure::new(ours, message).with_channel(&envelope.code, envelope.message.as_deref())
        };
        match (response.status, envelope.code.as_str()) {
            (200..=299, "SUCCESS") => serde_json::from_slice(&response.body).map_err(|e| {
                refused(Failure::new(
                    "malformed_statement",
                    format!("cannot read the sandbox provider's statement: {e}"),
                ))
            }),
            (_, "STATEMENT_NOT_READY") => Err(ChannelError::Unavailable(failure(
                "statement_not_ready",
                "the sandbox provider has not published that day's statement yet".to_owned(),
            ))),
            (500..=599, _) => Err(ChannelError::Unavailable(failure(
                "channel_error",
                format!("the sandbox provider failed with HTTP {}", response.status),
            ))),
            (status, code) => Err(refused(failure(
                "statement_refused",
                format!(
                    "the sandbox provider refused the statement request: HTTP {status}, code {code}"
                ),
            ))),
        }
    }

    /// Sends one signed request and gives back the answer once its
    /// signature holds.
    fn exchange<B: Serialize>(
        &self,
        operation: &str,
        body: &B,
    ) -> Result<HttpResponse, ChannelError> {
        let body = serde_json::to_vec(body).map_err(|e| {
            ChannelError::InvalidRequest(Failure::new("invalid_request", e.to_string()))
        })?;
        let signature = self
            .host
            .sign(API_KEY, Algorithm::HmacSha256, &body)
            .map_err(|e| {
                ChannelError::InvalidRequest(Failure::new(
                    "signing_failed",
                    format!("cannot sign with secret `{API_KEY}`: {e}"),
                ))
            })?;
        let request = HttpRequest::new(
            "POST",
            format!("{}/api/v1/{operation}", self.base_url),
            body,
        )
        .with_header("Content-Type", "application/json")
        .with_header("X-Sandbox-Merchant", self.merchant_id)
        .with_header(SIGNATURE_HEADER, hex::encode(signature));
        let response = self.host.http_send(request)?;

        // The provider cannot sign BAD_SIGNATURE: it records nothing when it
        // cannot authenticate us, so this unsigned answer is trusted. Treating
        // it as unknown would leave every payment unknown forever while the
        // key is misconfigured.
        if response.status == 401 {
            return Err(ChannelError::InvalidRequest(Failure::new(
                "channel_auth_failed",
                "the sandbox provider rejected our signature: check `merchant_id` and the `api_key` secret",
            )));
        }
        self.verify(&response)?;
        Ok(response)
    }

    /// Anyone on the path could have written an unsigned answer, and the
    /// request went out: an answer we cannot verify tells us nothing.
    fn verify(&self, response: &HttpResponse) -> Result<(), ChannelError> {
        let signature = response
            .header(SIGNATURE_HEADER)
            .ok_or("the answer is not signed")
            .and_then(|sig| hex::decode(sig).map_err(|_| "the answer's signature is not hex"))
            .map_err(|why| unverified(why.to_owned()))?;
        match self
            .host
            .verify(API_KEY, Algorithm::HmacSha256, &response.body, &signature)
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(unverified(
                "the answer's signature does not match".to_owned(),
            )),
            Err(e) => {
                self.host.log(
                    LogLevel::Error,
                    &format!("cannot verify with `{API_KEY}`: {e}"),
                );
                Err(unverified(format!("cannot verify the answer: {e}")))
            }
        }
    }
}

fn unverified(why: String) -> ChannelError {
    ChannelError::OutcomeUnknown(Failure::new("unverified_answer", why))
}

/// A verified answer that does not parse is still an answer to a request the
/// provider may have acted on.
fn parse<R: DeserializeOwned>(body: &[u8]) -> Result<R, ChannelError> {
    serde_json::from_slice(body).map_err(|e| {
        ChannelError::OutcomeUnknown(Failure::new(
            "malformed_answer",
            format!("cannot read the sandbox provider's answer: {e}"),
        ))
    })
}

fn classify(status: u16, envelope: &Envelope, accepted: &[&str]) -> Result<(), ChannelError> {
    let code = envelope.code.as_str();
    let failure = |ours: &str, message: &str| {
        Failure::new(ours, message).with_channel(code, envelope.message.as_deref())
    };
    if (500..600).contains(&status) {
        // 504 TIMEOUT in particular: the provider may well have taken the order.
        return Err(ChannelError::OutcomeUnknown(failure(
            "channel_error",
            &format!("the sandbox provider failed with HTTP {status}; query to learn the outcome"),
        )));
    }
    if (200..300).contains(&status) && accepted.contains(&code) {
        return Ok(());
    }
    let declined = |ours: &str, message: &str| Err(ChannelError::Declined(failure(ours, message)));
    match code {
        "DECLINED" => declined(DECLINE_CODE, "the sandbox provider declined the payment"),
        "ORDER_NOT_FOUND" => declined("order_not_found", "the sandbox provider has no such order"),
        "REFUND_NOT_FOUND" => declined(
            "refund_not_found",
            "the sandbox provider has no such refund",
        ),
        "ORDER_PAID" => declined("order_paid", "the order is already paid"),
        "ORDER_CLOSED" => declined("order_closed", "the order is closed, cancelled or failed"),
        "DUPLICATE" => declined(
            "duplicate_order",
            "the order number is already in use with a different amount",
        ),
        "REFUND_EXCEEDS" => declined(
            "refund_exceeds",
            "the refund exceeds what remains of the payment",
        ),
        "INVALID_REQUEST" => Err(ChannelError::InvalidRequest(failure(
            "invalid_request",
            "the sandbox provider rejected the request as malformed",
        ))),
        // An answer we cannot interpret might still mean the order was taken.
        _ => Err(ChannelError::OutcomeUnknown(failure(
            "unexpected_answer",
            &format!("unexpected answer from the sandbox provider: HTTP {status}, code {code}"),
        ))),
    }
}
