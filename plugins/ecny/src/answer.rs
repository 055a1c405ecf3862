//! A verified answer of Huifu's and what its `data` says: the failure in
//! Huifu's words, the transaction's state, amounts read exactly.

use paycore_plugin_sdk::types::{ChannelError, Failure};

use crate::codes;
use crate::fields::Fields;
use crate::wire;

/// A verified answer: its `data`, believed.
#[derive(Debug)]
pub struct Answer {
    pub fields: Fields,
}

impl Answer {
    /// Field `name`, if it is a non-empty string.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.text(name)
    }

    pub fn resp_code(&self) -> &str {
        self.get("resp_code").unwrap_or("")
    }

    pub fn trans_stat(&self) -> Option<&str> {
        self.get("trans_stat")
    }

    /// The failure in our words, with Huifu's `resp_code` and its words
    /// (`bank_desc`/`bank_message` when the bank said why, else
    /// `resp_desc`) kept.
    pub fn failure(&self, ours: &str, message: &str) -> Failure {
        let said = self
            .get("bank_desc")
            .or(self.get("bank_message"))
            .or(self.get("resp_desc"));
        Failure::new(ours, message).with_channel(self.resp_code(), said)
    }

    /// A refused `resp_code` as paycore's decline: nothing moved.
    pub fn refused(&self) -> ChannelError {
        let (ours, message) = codes::refusal(self.resp_code());
        ChannelError::Declined(self.failure(ours, message))
    }

    /// An answer that leaves the transaction's outcome open.
    pub fn unknown(&self, ours: &str, message: &str) -> ChannelError {
        ChannelError::OutcomeUnknown(self.failure(ours, message))
    }

    /// A verified answer we cannot use still answers a request Huifu may
    /// have acted on.
    pub fn malformed(&self, why: &str) -> ChannelError {
        self.unknown("malformed_answer", why)
    }

    /// Amount field `name` in fen, which must be there and read exactly.
    pub fn amount(&self, name: &str) -> Result<i64, ChannelError> {
        let text = self
            .get(name)
            .ok_or_else(|| self.malformed(&format!("the answer states no {name}")))?;
        wire::parse_yuan(text)
            .ok_or_else(|| self.malformed(&format!("{name} `{text}` is not an exact yuan amount")))
    }

    /// Where Huifu states amount field `name` (at all, even as a number),
    /// it must be `expected` fen; an answer about another amount is not
    /// believed.
    pub fn check_amount(&self, name: &str, expected: i64) -> Result<(), ChannelError> {
        if !self.fields.has(name) {
            return Ok(());
        }
        let stated = self.amount(name)?;
        if stated == expected {
            Ok(())
        } else {
            Err(self.unknown(
                "amount_mismatch",
                &format!("Huifu states {name} {stated} fen, not {expected} fen"),
            ))
        }
    }
}
