//! Replaying a recorded call against a plugin: the host answers every
//! import from the recording instead of the network and the key ring, so a
//! new version meets exactly the conversation the old one had, and its
//! output can be compared with what the old one answered.
//!
//! Answers are matched per kind of import, in order. A signature or
//! decryption over data the recording never saw cannot be produced without
//! the key: signing then answers a placeholder, verifying answers `false`,
//! decrypting fails — as a real key would for data it did not sign. A
//! replay keeps no ledger: a ledger call is answered as the recording's
//! same call (same function, same arguments) was, and one the recording
//! never made answers `unavailable` — so a version that holds another
//! amount, or captures what the old one released, replays differently.

use super::bindings::paycore::channel::certificates::{CertificateError, CertificateInfo};
use super::bindings::paycore::channel::crypto::{Algorithm, CryptoError};
use super::bindings::paycore::channel::ledger as wit_ledger;
use super::bindings::paycore::channel::{http, types as wit};
use super::engine::PluginHost;
use super::imports::ChannelGrant;
use super::load::Plugin;
use super::operation::OperationTimes;
use super::record::RecordedCall;
use super::trace::{
    CallOutput, CertificateCall, CertificateRequest, HostCall, HttpAttempt, LedgerAnswer,
    LedgerCall, LedgerRequest,
};
use std::collections::VecDeque;
use std::sync::Arc;

/// The host's side of one recorded call.
#[derive(Debug, Default)]
pub struct Script {
    http: VecDeque<HttpAttempt>,
    crypto: Vec<Option<HostCall>>,
    clock: VecDeque<u64>,
    last_clock: u64,
    ledger: Vec<Option<LedgerCall>>,
    certificates: Vec<Option<CertificateCall>>,
    times: OperationTimes,
}

impl Script {
    pub fn new(calls: &[HostCall]) -> Script {
        let mut script = Script::default();
        for call in calls {
            match call {
                HostCall::Http(a) => script.http.push_back(a.clone()),
                HostCall::Clock { millis } => script.clock.push_back(*millis),
                HostCall::Ledger(call) => script.ledger.push(Some(call.clone())),
                HostCall::Certificate(call) => script.certificates.push(Some(call.clone())),
                HostCall::Operation(times) => script.times = *times,
                other => script.crypto.push(Some(other.clone())),
            }
        }
        script.last_clock = script.clock.front().copied().unwrap_or(0);
        script
    }

    pub(super) fn http(&mut self) -> Result<wit::HttpResponse, http::HttpError> {
        match self.http.pop_front() {
            Some(attempt) => attempt.outcome,
            None => Err(http::HttpError::Denied(
                "the recording has no further request".into(),
            )),
        }
    }

    pub(super) fn now(&mut self) -> u64 {
        if let Some(ms) = self.clock.pop_front() {
            self.last_clock = ms;
        }
        self.last_clock
    }

    /// What the recording's first unused call of `request` answered; none
    /// if the recording never made it.
    pub(super) fn ledger(
        &mut self,
        request: &LedgerRequest,
    ) -> Option<Result<LedgerAnswer, wit_ledger::LedgerError>> {
        self.ledger
            .iter_mut()
            .find(|c| c.as_ref().is_some_and(|c| &c.request == request))
            .and_then(Option::take)
            .map(|c| c.result)
    }

    /// The recorded answer to the same `certificates` call. A certificate
    /// the recording never checked is not believed: the replay cannot reach
    /// the trust roots.
    pub(super) fn certificate(
        &mut self,
        request: &CertificateRequest,
    ) -> Result<CertificateInfo, CertificateError> {
        self.certificates
            .iter_mut()
            .find(|c| c.as_ref().is_some_and(|c| &c.request == request))
            .and_then(Option::take)
            .map(|c| c.result)
            .unwrap_or_else(|| {
                Err(CertificateError::Untrusted(
                    "not in the recording".to_owned(),
                ))
            })
    }

    /// What the recording's `operation` import answered.
    pub(super) fn times(&self) -> OperationTimes {
        self.times
    }

    /// The first unused recorded crypto call that `matches`.
    fn take(&mut self, matches: impl Fn(&HostCall) -> bool) -> Option<HostCall> {
        self.crypto
            .iter_mut()
            .find(|c| c.as_ref().is_some_and(&matches))
            .and_then(Option::take)
    }

    pub(super) fn sign(&mut self, k: &str, a: Algorithm, d: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match self.take(|c| matches!(c, HostCall::Sign { key, alg, data, .. } if key == k && *alg == a && data == d)) {
            Some(HostCall::Sign { result, .. }) => result.map(|b| b.0),
            _ => Ok(vec![0; 32]),
        }
    }

    pub(super) fn verify(
        &mut self,
        k: &str,
        a: Algorithm,
        d: &[u8],
        s: &[u8],
    ) -> Result<bool, CryptoError> {
        match self.take(|c| matches!(c, HostCall::Verify { key, alg, data, signature, .. } if key == k && *alg == a && data == d && signature == s)) {
            Some(HostCall::Verify { result, .. }) => result,
            _ => Ok(false),
        }
    }

    pub(super) fn decrypt(
        &mut self,
        k: &str,
        a: Algorithm,
        n: &[u8],
        ad: &[u8],
        ct: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        match self.take(|c| matches!(c, HostCall::Decrypt { key, alg, nonce, aad, ciphertext, .. } if key == k && *alg == a && nonce == n && aad == ad && ciphertext == ct)) {
            Some(HostCall::Decrypt { result, .. }) => result.map(|b| b.0),
            _ => Err(CryptoError::Failed("not in the recording".into())),
        }
    }
}

impl PluginHost {
    /// Runs `call`'s input on `plugin` with the recorded host answers.
    pub async fn replay(&self, plugin: &Plugin, call: &RecordedCall) -> CallOutput {
        let grant = Arc::new(ChannelGrant {
            tenant: call.tenant.clone(),
            channel: call.channel.clone(),
            hosts: Vec::new(),
            secrets: Default::default(),
            tracer: None,
            programs: Arc::from([]),
            timezone: crate::clock::TimeZone::UTC,
        });
        self.run_scripted(
            plugin,
            grant,
            call.input.clone(),
            Script::new(&call.host_calls),
        )
        .await
    }
}

/// What changed between a recorded output and a replayed one, in words;
/// `None` when they are the same.
pub fn difference(recorded: &CallOutput, replayed: &CallOutput) -> Option<String> {
    let show = |o: &CallOutput| serde_json::to_string(o).unwrap_or_else(|_| format!("{o:?}"));
    let (before, after) = (show(recorded), show(replayed));
    (before != after).then(|| format!("- {before}\n+ {after}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(id: &str) -> wit_ledger::CardHold {
        wit_ledger::CardHold {
            id: id.into(),
            card: "card_1".into(),
            amount: 700,
            status: wit_ledger::HoldStatus::Held,
            credited: 0,
        }
    }

    #[test]
    fn ledger_calls_are_answered_as_recorded_once_and_others_are_unavailable() {
        let hold = LedgerRequest::Hold {
            card: "card_1".into(),
            amount: 700,
        };
        let mut script = Script::new(&[HostCall::Ledger(LedgerCall {
            request: hold.clone(),
            result: Ok(LedgerAnswer::Hold(held("h_1"))),
        })]);
        let other = LedgerRequest::Hold {
            card: "card_1".into(),
            amount: 800,
        };
        assert!(
            script.ledger(&other).is_none(),
            "another amount was never held"
        );
        match script.ledger(&hold) {
            Some(Ok(LedgerAnswer::Hold(h))) => assert_eq!(h.id, "h_1"),
            answer => panic!("{answer:?}"),
        }
        assert!(
            script.ledger(&hold).is_none(),
            "each recorded answer serves once"
        );
    }
}
