//! The `certificates` import of contract 1.1: believing a signing
//! certificate that comes with a channel's message (UnionPay's
//! `signPubKeyCert`) only when it chains to the trust roots held in the
//! channel's secrets, is valid now and may sign — then checking the
//! signature with its key. The checks are the SDK's `pki` module, so a
//! plugin's native tests against `FakeHost` meet the same answers.
//!
//! Trust roots are secrets by configuration only (certificates are
//! public): what decides whom a channel trusts stays with the operator.
//! Errors name certificates by subject, never a secret's bytes.

use super::bindings::paycore::channel::certificates::{
    self, CertificateError, CertificateInfo, Scheme, Trust,
};
use super::imports::CallState;
use super::trace::{CertificateCall, CertificateRequest, HostCall};
use paycore_plugin_sdk::pki;

impl certificates::Host for CallState {
    async fn verify(
        &mut self,
        trust: Trust,
        certificate: Vec<u8>,
        scheme: Scheme,
        data: Vec<u8>,
        signature: Vec<u8>,
    ) -> wasmtime::Result<Result<CertificateInfo, CertificateError>> {
        let request = CertificateRequest::Verify {
            roots: trust.roots,
            intermediates: trust.intermediates,
            certificate,
            scheme,
            data,
            signature,
        };
        Ok(self.answer(request))
    }

    async fn key_certificate(
        &mut self,
        key: String,
    ) -> wasmtime::Result<Result<CertificateInfo, CertificateError>> {
        Ok(self.answer(CertificateRequest::KeyCertificate { key }))
    }
}

impl CallState {
    /// Answers from the key ring (or, replaying, from the recording) and
    /// traces the call.
    fn answer(&mut self, request: CertificateRequest) -> Result<CertificateInfo, CertificateError> {
        let result = match &mut self.script {
            Some(script) => script.certificate(&request),
            None => self.check(&request),
        };
        if let Some(trace) = &mut self.trace {
            trace.calls.push(HostCall::Certificate(CertificateCall {
                request,
                result: result.clone(),
            }));
        }
        result
    }

    fn check(&self, request: &CertificateRequest) -> Result<CertificateInfo, CertificateError> {
        let secret = |name: &str| {
            self.grant
                .secrets
                .get(name)
                .map(|value| value.expose())
                .ok_or_else(|| CertificateError::UnknownKey(name.to_owned()))
        };
        let answer = match request {
            CertificateRequest::Verify {
                roots,
                intermediates,
                certificate,
                scheme,
                data,
                signature,
            } => {
                let trust = pki::Trust {
                    roots: secret(roots)?,
                    intermediates: match intermediates {
                        Some(name) => secret(name)?,
                        None => &[],
                    },
                };
                let scheme = match scheme {
                    Scheme::RsaPkcs1Sha256 => pki::Scheme::RsaPkcs1Sha256,
                };
                // The wall clock, as the `clock` import reads it: a
                // certificate's validity is real time, not business time.
                let now = crate::domain::now_millis();
                pki::verify(trust, certificate, scheme, data, signature, now)
            }
            CertificateRequest::KeyCertificate { key } => pki::key_certificate(secret(key)?),
        };
        answer.map(info).map_err(error)
    }
}

fn info(info: pki::CertificateInfo) -> CertificateInfo {
    CertificateInfo {
        serial: info.serial,
        subject_common_name: info.subject_common_name,
        not_before_millis: info.not_before_millis,
        not_after_millis: info.not_after_millis,
    }
}

fn error(e: pki::CertificateError) -> CertificateError {
    use pki::CertificateError as E;
    match e {
        E::Malformed(why) => CertificateError::Malformed(why),
        E::Expired(why) => CertificateError::Expired(why),
        E::Untrusted(why) => CertificateError::Untrusted(why),
        E::WrongUsage(why) => CertificateError::WrongUsage(why),
        E::BadSignature => CertificateError::BadSignature,
        E::Unsupported(why) => CertificateError::Unsupported(why),
    }
}
