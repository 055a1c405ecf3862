//! The error a create answered with after its payment was stored: the
//! channel refused the request, could not take it, or left its outcome
//! unknown. The payment stays (the attempt is history, and events are
//! append-only); the error is written with the attempt that brought it, so
//! that an idempotent replay of the create answers with the same error as
//! the first answer, and the payment as it now stands.

use crate::store::PaymentRecord;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum CreateError {
    /// The channel refused the request before taking any money (a code it
    /// cannot read, a field it does not accept). The payment is `failed`.
    ChannelRejectedRequest { message: String },
    /// The channel could not take the payment and nothing was charged. The
    /// payment is `failed`.
    ChannelUnavailable { message: String },
    /// The channel did not confirm the outcome: the payment is `unknown`
    /// until paycore's query settles it. `timeout` when the channel (or the
    /// call) ran out of time.
    OutcomeUnknown { message: String, timeout: bool },
}

impl CreateError {
    pub fn code(&self) -> &'static str {
        match self {
            CreateError::ChannelRejectedRequest { .. } => "channel_rejected_request",
            CreateError::ChannelUnavailable { .. } => "channel_unavailable",
            CreateError::OutcomeUnknown { .. } => "outcome_unknown",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            CreateError::ChannelRejectedRequest { message }
            | CreateError::ChannelUnavailable { message }
            | CreateError::OutcomeUnknown { message, .. } => message,
        }
    }

    /// As stored in `payments.create_error`.
    pub(super) fn to_column(&self) -> String {
        serde_json::to_string(self).expect("create errors serialise")
    }

    /// The error the payment's create answered with, if it answered with one.
    pub(super) fn of(record: &PaymentRecord) -> Option<CreateError> {
        let stored = record.create_error.as_deref()?;
        match serde_json::from_str(stored) {
            Ok(error) => Some(error),
            // Only this module writes the column; a value it cannot read
            // was written by a newer version. Replay the payment as it is.
            Err(e) => {
                tracing::warn!(payment_id = %record.id, error = %e, "unreadable create_error; replaying the payment alone");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_is_stored_and_read_back_as_it_was() {
        for error in [
            CreateError::ChannelRejectedRequest {
                message: "auth_code must be 10-32 digits".into(),
            },
            CreateError::ChannelUnavailable {
                message: "connection refused".into(),
            },
            CreateError::OutcomeUnknown {
                message: "no answer".into(),
                timeout: true,
            },
        ] {
            let column = error.to_column();
            assert!(column.contains(error.code()), "{column}");
            assert_eq!(serde_json::from_str::<CreateError>(&column).unwrap(), error);
        }
    }
}
