//! What a failed channel call proves about the money, decided once.
//!
//! Every operation (pay, query, cancel, refund) asks the same question of a
//! failed call — might money have moved? did the channel answer at all? —
//! so it is answered here, and the callers match on the answer.

use crate::plugin_host::{CallError, CallErrorKind};
use paycore_core::channel::{ChannelError, Failure};

/// A failed call to a channel, by what it proves.
#[derive(Debug)]
pub enum FailedCall<'a> {
    /// The request may have reached the channel and its answer was lost:
    /// money may have moved, and only a query can tell. `timeout` when the
    /// call ran out of time or the channel said so (the API reports it as a
    /// timeout), rather than the plugin breaking after its request left.
    OutcomeUnknown { timeout: bool },
    /// The channel refused the payment (the payer's funds, a risk check…).
    Declined(&'a Failure),
    /// The channel refused the request as invalid for it.
    InvalidRequest(&'a Failure),
    /// The channel could not take the request; nothing was sent or taken.
    Unavailable(&'a Failure),
    /// The plugin broke before any request left its sandbox.
    PluginFailed,
}

impl<'a> FailedCall<'a> {
    pub fn of(e: &'a CallError) -> Self {
        if e.outcome_unknown() {
            let timeout = matches!(
                e.kind,
                CallErrorKind::Timeout(_) | CallErrorKind::Channel(ChannelError::OutcomeUnknown(_))
            );
            return FailedCall::OutcomeUnknown { timeout };
        }
        match &e.kind {
            CallErrorKind::Channel(ChannelError::Declined(f)) => FailedCall::Declined(f),
            CallErrorKind::Channel(ChannelError::InvalidRequest(f)) => {
                FailedCall::InvalidRequest(f)
            }
            CallErrorKind::Channel(ChannelError::Unavailable(f)) => FailedCall::Unavailable(f),
            // `outcome_unknown` is true for these, handled above.
            CallErrorKind::Channel(ChannelError::OutcomeUnknown(_)) => {
                FailedCall::OutcomeUnknown { timeout: true }
            }
            CallErrorKind::Trap(_)
            | CallErrorKind::CpuExhausted(_)
            | CallErrorKind::MemoryExhausted(_)
            | CallErrorKind::Timeout(_) => FailedCall::PluginFailed,
        }
    }

    /// The channel's own refusal, if it refused.
    pub fn refusal(&self) -> Option<&'a Failure> {
        match self {
            FailedCall::Declined(f) | FailedCall::InvalidRequest(f) => Some(f),
            _ => None,
        }
    }

    /// The channel positively says it has no such order (its answer, not a
    /// failure to get one): the code `order_not_found` on a refusal.
    pub fn says_no_such_order(&self) -> bool {
        self.refusal().is_some_and(|f| f.code == ORDER_NOT_FOUND)
    }

    /// The channel certainly took no money, so the route's next channel may
    /// be tried: it was unavailable or found the request invalid, or the
    /// plugin broke before sending. Never after a decline or an unknown.
    pub fn may_fall_back(&self) -> bool {
        matches!(
            self,
            FailedCall::InvalidRequest(_) | FailedCall::Unavailable(_) | FailedCall::PluginFailed
        )
    }
}

/// The failure code a plugin gives for "the channel has no such order", and
/// the code of a payment that failed because its order never arrived.
pub const ORDER_NOT_FOUND: &str = "order_not_found";

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn failure(code: &str) -> Failure {
        Failure {
            code: code.into(),
            message: "m".into(),
            channel_code: None,
            channel_message: None,
        }
    }

    fn call(kind: CallErrorKind, reached_channel: bool) -> CallError {
        CallError {
            plugin: "p@1.0.0".into(),
            kind,
            reached_channel,
        }
    }

    /// Each failed call, what it proves: (error, class, may fall back).
    #[test]
    fn each_failure_is_classified_once() {
        let f = failure("insufficient_funds");
        let cases = [
            (
                call(
                    CallErrorKind::Channel(ChannelError::Declined(f.clone())),
                    true,
                ),
                "declined",
                false,
            ),
            (
                call(
                    CallErrorKind::Channel(ChannelError::InvalidRequest(f.clone())),
                    true,
                ),
                "invalid",
                true,
            ),
            (
                call(
                    CallErrorKind::Channel(ChannelError::Unavailable(f.clone())),
                    true,
                ),
                "unavailable",
                true,
            ),
            (
                call(
                    CallErrorKind::Channel(ChannelError::OutcomeUnknown(f.clone())),
                    true,
                ),
                "unknown+timeout",
                false,
            ),
            (
                call(CallErrorKind::Timeout(Duration::from_secs(1)), true),
                "unknown+timeout",
                false,
            ),
            (
                call(CallErrorKind::Trap("x".into()), true),
                "unknown",
                false,
            ),
            (call(CallErrorKind::Trap("x".into()), false), "plugin", true),
            (
                call(CallErrorKind::CpuExhausted(Duration::from_secs(1)), false),
                "plugin",
                true,
            ),
            (
                call(CallErrorKind::MemoryExhausted(64), false),
                "plugin",
                true,
            ),
            (
                call(CallErrorKind::Timeout(Duration::from_secs(1)), false),
                "plugin",
                true,
            ),
        ];
        for (error, class, falls_back) in &cases {
            let failed = FailedCall::of(error);
            let got = match failed {
                FailedCall::Declined(_) => "declined",
                FailedCall::InvalidRequest(_) => "invalid",
                FailedCall::Unavailable(_) => "unavailable",
                FailedCall::OutcomeUnknown { timeout: true } => "unknown+timeout",
                FailedCall::OutcomeUnknown { timeout: false } => "unknown",
                FailedCall::PluginFailed => "plugin",
            };
            assert_eq!(got, *class, "{error:?}");
            assert_eq!(failed.may_fall_back(), *falls_back, "{error:?}");
        }
    }

    #[test]
    fn only_a_refusal_coded_order_not_found_says_no_such_order() {
        let absent = failure(ORDER_NOT_FOUND);
        for (kind, says) in [
            (ChannelError::Declined(absent.clone()), true),
            (ChannelError::InvalidRequest(absent.clone()), true),
            (ChannelError::Unavailable(absent.clone()), false),
            (ChannelError::OutcomeUnknown(absent.clone()), false),
            (ChannelError::Declined(failure("other")), false),
        ] {
            let error = call(CallErrorKind::Channel(kind), true);
            assert_eq!(
                FailedCall::of(&error).says_no_such_order(),
                says,
                "{error:?}"
            );
        }
    }
}
