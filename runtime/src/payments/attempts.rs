//! One pay attempt on one channel: what it came to (for the breaker and
//! the fall-back to the route's next channel), what it means for the
//! payment and the create's answer, and its entry in the payment's history.

use super::failed_call::FailedCall;
use super::machine::{Answer, Proposal};
use super::{CreateError, convert, view};
use crate::domain::{EventKind, PaymentStatus};
use crate::plugin_host::CallError;
use crate::registry::BoundChannel;
use crate::store::{Attempt, Event, PaymentRecord};
use paycore_core::channel;
use serde::Serialize;

/// One attempt for the payment's history: its entry in `attempts` and its
/// event (which also names the routing rule).
pub(super) fn attempt_history(
    record: &PaymentRecord,
    channel: &BoundChannel,
    attempt: &AttemptOutcome,
    rule: &str,
) -> Attempt {
    let m = &channel.plugin.manifest;
    let entry = AttemptEntry {
        channel: &channel.id,
        plugin: view::PluginRef {
            name: m.name.clone(),
            version: m.version.to_string(),
        },
        outcome: attempt.outcome,
        failure: attempt.failure.as_ref(),
    };
    let detail = AttemptDetail {
        entry: &entry,
        rule,
    };
    Attempt {
        entry: plain_json(&entry),
        event: Event {
            kind: EventKind::PaymentAttempt,
            from_status: Some(record.status.as_str()),
            to_status: None,
            detail: plain_json(&detail),
        },
        create_error: None,
    }
}

fn plain_json(v: &impl Serialize) -> serde_json::Value {
    serde_json::to_value(v).expect("history entries are plain data")
}

/// An entry of a payment's `attempts`: `{channel, plugin: {name, version},
/// outcome, failure?}`.
#[derive(Serialize)]
struct AttemptEntry<'a> {
    channel: &'a str,
    plugin: view::PluginRef,
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<&'a serde_json::Value>,
}

/// A `payment.attempt` event's detail: the entry and the routing rule.
#[derive(Serialize)]
struct AttemptDetail<'a> {
    #[serde(flatten)]
    entry: &'a AttemptEntry<'a>,
    rule: &'a str,
}

/// What one attempt on one channel came to.
pub(super) struct AttemptOutcome {
    pub outcome: &'static str,
    pub failure: Option<serde_json::Value>,
    /// The channel certainly took no money, so the next one may be tried
    /// (`FailedCall::may_fall_back`).
    pub may_fall_back: bool,
    /// Why the channel looks unhealthy, for its breaker.
    pub unhealthy: Option<String>,
}

pub(super) fn attempt_outcome(
    answer: &std::result::Result<channel::PaymentResult, CallError>,
    proposal: &Proposal,
) -> AttemptOutcome {
    let healthy = |outcome, failure| AttemptOutcome {
        outcome,
        failure,
        may_fall_back: false,
        unhealthy: None,
    };
    let e = match answer {
        Ok(_) if matches!(proposal, Proposal::Disbelieved { .. }) => {
            return healthy("answer_refused", None);
        }
        Ok(r) => return healthy(r.status.as_str(), r.failure.as_ref().map(convert::failure)),
        Err(e) => e,
    };
    let failed = FailedCall::of(e);
    let may_fall_back = failed.may_fall_back();
    let (outcome, failure, unhealthy) = match failed {
        FailedCall::OutcomeUnknown { .. } => (
            "unknown",
            convert::own_failure("outcome_unknown", &e.to_string()),
            Some(e.to_string()),
        ),
        FailedCall::Declined(f) => ("declined", convert::failure(f), None),
        FailedCall::InvalidRequest(f) => ("invalid_request", convert::failure(f), None),
        FailedCall::Unavailable(f) => ("unavailable", convert::failure(f), Some(f.message.clone())),
        FailedCall::PluginFailed => (
            "plugin_failed",
            convert::own_failure("plugin_failed", &e.to_string()),
            Some(e.to_string()),
        ),
    };
    AttemptOutcome {
        outcome,
        failure: Some(failure),
        may_fall_back,
        unhealthy,
    }
}

/// What a failed pay call means for the payment, and the error to answer.
pub(super) fn pay_failure(e: &CallError, failed: FailedCall) -> (Proposal, Option<CreateError>) {
    let failed_with =
        |failure| Proposal::Answer(Answer::status(PaymentStatus::Failed, Some(failure)));
    match failed {
        FailedCall::OutcomeUnknown { timeout } => (
            Proposal::Unknown {
                note: e.to_string(),
            },
            Some(CreateError::OutcomeUnknown {
                message: "the channel did not confirm the outcome; the payment is `unknown` until paycore's query settles it".into(),
                timeout,
            }),
        ),
        FailedCall::Declined(f) => (failed_with(convert::failure(f)), None),
        FailedCall::InvalidRequest(f) => (
            failed_with(convert::failure(f)),
            Some(CreateError::ChannelRejectedRequest {
                message: f.message.clone(),
            }),
        ),
        FailedCall::Unavailable(f) => (
            failed_with(convert::failure(f)),
            Some(channel_down(&f.message)),
        ),
        // The plugin broke before anything left the sandbox: certainly unpaid.
        FailedCall::PluginFailed => (
            failed_with(convert::own_failure("plugin_failed", &e.to_string())),
            Some(channel_down(&e.to_string())),
        ),
    }
}

fn channel_down(message: &str) -> CreateError {
    CreateError::ChannelUnavailable {
        message: format!(
            "the channel could not take the payment and nothing was charged: {message}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin_host::CallErrorKind;
    use channel::{ChannelError, Failure};
    use std::time::Duration;

    fn call(kind: CallErrorKind, reached_channel: bool) -> CallError {
        CallError {
            plugin: "p@1.0.0".into(),
            kind,
            reached_channel,
        }
    }

    fn refusal() -> Failure {
        Failure {
            code: "c".into(),
            message: "m".into(),
            channel_code: None,
            channel_message: None,
        }
    }

    /// Each failed pay call: what the payment becomes, the create's answer,
    /// what the attempt is recorded as, and whether the next channel may be
    /// tried. (error, payment, create error, outcome, falls back)
    #[test]
    fn a_failed_pay_call_means_one_thing_everywhere() {
        let cases = [
            (
                call(
                    CallErrorKind::Channel(ChannelError::Declined(refusal())),
                    true,
                ),
                "failed",
                None,
                "declined",
                false,
            ),
            (
                call(
                    CallErrorKind::Channel(ChannelError::InvalidRequest(refusal())),
                    true,
                ),
                "failed",
                Some("channel_rejected_request"),
                "invalid_request",
                true,
            ),
            (
                call(
                    CallErrorKind::Channel(ChannelError::Unavailable(refusal())),
                    true,
                ),
                "failed",
                Some("channel_unavailable"),
                "unavailable",
                true,
            ),
            (
                call(CallErrorKind::Timeout(Duration::from_secs(1)), true),
                "unknown",
                Some("outcome_unknown"),
                "unknown",
                false,
            ),
            (
                call(CallErrorKind::Trap("x".into()), false),
                "failed",
                Some("channel_unavailable"),
                "plugin_failed",
                true,
            ),
        ];
        for (error, payment, create_error, outcome, falls_back) in cases {
            let (proposal, answered) = pay_failure(&error, FailedCall::of(&error));
            let became = match &proposal {
                Proposal::Answer(a) => a.status.as_str(),
                Proposal::Unknown { .. } => "unknown",
                Proposal::Disbelieved { .. } => "disbelieved",
            };
            assert_eq!(became, payment, "{error:?}");
            assert_eq!(
                answered.as_ref().map(|e| e.code()),
                create_error,
                "{error:?}"
            );
            let attempt = attempt_outcome(&Err(error.clone()), &proposal);
            assert_eq!(attempt.outcome, outcome, "{error:?}");
            assert_eq!(attempt.may_fall_back, falls_back, "{error:?}");
            assert!(attempt.failure.is_some(), "{error:?}: the failure is kept");
        }
    }
}
