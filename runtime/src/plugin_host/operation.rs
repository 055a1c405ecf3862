//! The `operation` import of contract 1.1: when the payment and refund
//! being called were created. A channel such as UnionPay identifies a
//! transaction by its number and the time it was first sent; answering
//! from the host's record lets a plugin send that time and, after a
//! timeout, find the transaction again without keeping state of its own.

use super::bindings::paycore::channel::operation;
use super::imports::CallState;
use super::trace::HostCall;
use serde::{Deserialize, Serialize};

/// What one call's `operation` import answers; empty for a call about no
/// one payment (a callback, a statement, the manifest).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationTimes {
    pub payment_created_millis: Option<i64>,
    pub refund_created_millis: Option<i64>,
}

impl OperationTimes {
    pub fn of_payment(created_millis: i64) -> Self {
        OperationTimes {
            payment_created_millis: Some(created_millis),
            refund_created_millis: None,
        }
    }

    pub fn of_refund(payment_created_millis: i64, refund_created_millis: i64) -> Self {
        OperationTimes {
            payment_created_millis: Some(payment_created_millis),
            refund_created_millis: Some(refund_created_millis),
        }
    }
}

impl CallState {
    /// The call's times: a replay's are the recording's.
    fn operation_times(&mut self) -> OperationTimes {
        let times = match &self.script {
            Some(script) => script.times(),
            None => self.times,
        };
        if let Some(trace) = &mut self.trace {
            trace.calls.push(HostCall::Operation(times));
        }
        times
    }
}

impl operation::Host for CallState {
    async fn payment_created_millis(&mut self) -> wasmtime::Result<Option<i64>> {
        Ok(self.operation_times().payment_created_millis)
    }

    async fn refund_created_millis(&mut self) -> wasmtime::Result<Option<i64>> {
        Ok(self.operation_times().refund_created_millis)
    }
}
