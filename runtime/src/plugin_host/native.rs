//! The sandbox channel's logic compiled into the host (the `native-sandbox`
//! feature), so the WASM sandbox's cost can be measured side by side with
//! the same code run natively.
//!
//! The `.wasm` is still loaded and checked, so manifests, the registry and
//! reloads are the same in both builds; only the calls differ. A native call
//! gets the same grant, secrets and outbound-request bounds through the same
//! `CallState`, but no sandbox: no memory cap, no CPU budget, no timeout.
//! Never ship it.
//!
//! The SDK's `Host` is synchronous (a guest blocks on its imports), so a
//! native call runs on a thread that may block: its tokio worker, handed
//! over with `block_in_place`, or a blocking-pool thread on a single-threaded
//! runtime. The WASM build suspends a fiber instead.

mod convert;

use super::bindings::paycore::channel::{clock, crypto, http, log};
use super::call::Answer;
use super::imports::CallState;
use super::trace::CallInput as Op;
use convert::Cross;
use paycore_plugin_sandbox::Sandbox;
use paycore_plugin_sdk::types as g;
use paycore_plugin_sdk::{Channel, Describe, Host};
use std::cell::RefCell;
use tokio::runtime::{Handle, RuntimeFlavor};

/// The plugin whose calls this build serves natively.
pub(super) const PLUGIN_NAME: &str = "sandbox";

/// Runs `op` on the native sandbox channel; gives the call's state back.
pub(super) async fn invoke(mut state: CallState, op: Op) -> (CallState, Answer) {
    let handle = Handle::current();
    let run = move || {
        let answer = serve(&mut state, op, &handle);
        (state, answer)
    };
    match Handle::current().runtime_flavor() {
        RuntimeFlavor::MultiThread => tokio::task::block_in_place(run),
        _ => tokio::task::spawn_blocking(run)
            .await
            .expect("a native sandbox call panicked"),
    }
}

fn serve(state: &mut CallState, op: Op, handle: &Handle) -> Answer {
    let host = NativeHost {
        state: RefCell::new(state),
        handle,
    };
    let channel = Sandbox;
    match op {
        Op::Manifest => {
            Answer::Manifest(channel.manifest().cross(), Some(channel.settings().cross()))
        }
        Op::Pay(c, r) => Answer::Payment(crossed(channel.pay(&host, &c.cross(), r.cross()))),
        Op::Query(c, r) => Answer::Payment(crossed(channel.query(&host, &c.cross(), r.cross()))),
        Op::Close(c, r) => Answer::Payment(crossed(channel.close(&host, &c.cross(), r.cross()))),
        Op::Cancel(c, r) => Answer::Payment(crossed(channel.cancel(&host, &c.cross(), r.cross()))),
        Op::Refund(c, r) => Answer::Refund(crossed(channel.refund(&host, &c.cross(), r.cross()))),
        Op::QueryRefund(c, r) => {
            Answer::Refund(crossed(channel.query_refund(&host, &c.cross(), r.cross())))
        }
        Op::Callback(c, r) => Answer::Callback(crossed(channel.handle_callback(
            &host,
            &c.cross(),
            r.cross(),
        ))),
        Op::Statement(c, day, cursor) => {
            Answer::Statement(crossed(channel.statement(&host, &c.cross(), day, cursor)))
        }
        // The native build serves the sandbox channel, which holds no value.
        Op::HoldTender(..) => {
            Answer::Hold(Err(g::ChannelError::unsupported("hold_tender").cross()))
        }
    }
}

fn crossed<A: Cross<B>, B>(
    answer: Result<A, g::ChannelError>,
) -> Result<B, super::bindings::paycore::channel::types::ChannelError> {
    answer.map(Cross::cross).map_err(Cross::cross)
}

/// The SDK's `Host`, served by the same code that serves the WASM imports.
struct NativeHost<'a> {
    state: RefCell<&'a mut CallState>,
    handle: &'a Handle,
}

impl NativeHost<'_> {
    /// The imports are async (HTTP is); a native guest waits for them here.
    fn wait<T>(&self, import: impl AsyncFnOnce(&mut CallState) -> wasmtime::Result<T>) -> T {
        let mut state = self.state.borrow_mut();
        self.handle
            .block_on(import(&mut state))
            .expect("the host's imports do not trap")
    }
}

impl Host for NativeHost<'_> {
    fn http_send(&self, request: g::HttpRequest) -> Result<g::HttpResponse, g::HttpError> {
        self.wait(async |s| http::Host::send(s, request.cross()).await)
            .map(Cross::cross)
            .map_err(Cross::cross)
    }

    fn sign(&self, key: &str, alg: g::Algorithm, data: &[u8]) -> Result<Vec<u8>, g::CryptoError> {
        self.wait(async |s| crypto::Host::sign(s, key.into(), alg.cross(), data.to_vec()).await)
            .map_err(Cross::cross)
    }

    fn verify(
        &self,
        key: &str,
        alg: g::Algorithm,
        data: &[u8],
        signature: &[u8],
    ) -> Result<bool, g::CryptoError> {
        self.wait(async |s| {
            crypto::Host::verify(
                s,
                key.into(),
                alg.cross(),
                data.to_vec(),
                signature.to_vec(),
            )
            .await
        })
        .map_err(Cross::cross)
    }

    fn decrypt(
        &self,
        key: &str,
        alg: g::Algorithm,
        nonce: &[u8],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, g::CryptoError> {
        self.wait(async |s| {
            crypto::Host::decrypt(
                s,
                key.into(),
                alg.cross(),
                nonce.to_vec(),
                aad.to_vec(),
                ciphertext.to_vec(),
            )
            .await
        })
        .map_err(Cross::cross)
    }

    fn log(&self, level: g::LogLevel, message: &str) {
        self.wait(async |s| log::Host::log(s, level.cross(), message.into()).await)
    }

    fn now_millis(&self) -> u64 {
        self.wait(async |s| clock::Host::now_millis(s).await)
    }

    fn payment_created_millis(&self) -> Option<i64> {
        self.state.borrow().times.payment_created_millis
    }

    fn refund_created_millis(&self) -> Option<i64> {
        self.state.borrow().times.refund_created_millis
    }

    // The sandbox channel, the only one this build runs natively, signs
    // with a shared key: it never checks a certificate.
    fn verify_with_certificate(
        &self,
        _: &g::Trust,
        _: &[u8],
        _: g::CertificateScheme,
        _: &[u8],
        _: &[u8],
    ) -> Result<g::CertificateInfo, g::CertificateError> {
        Err(no_native_certificates())
    }

    fn key_certificate(&self, _: &str) -> Result<g::CertificateInfo, g::CertificateError> {
        Err(no_native_certificates())
    }

    // Nor does it keep cards: it never reaches the ledger. Card programmes
    // run as WASM.
    fn ledger_card_by_code(&self, _: &str) -> Result<g::Card, g::LedgerError> {
        Err(no_native_ledger())
    }

    fn ledger_balance(&self, _: &str) -> Result<g::Card, g::LedgerError> {
        Err(no_native_ledger())
    }

    fn ledger_hold(&self, _: &str, _: i64) -> Result<g::CardHold, g::LedgerError> {
        Err(no_native_ledger())
    }

    fn ledger_capture(&self, _: &str) -> Result<g::CardHold, g::LedgerError> {
        Err(no_native_ledger())
    }

    fn ledger_release(&self, _: &str) -> Result<g::CardHold, g::LedgerError> {
        Err(no_native_ledger())
    }

    fn ledger_credit(&self, _: &str, _: i64) -> Result<g::CardHold, g::LedgerError> {
        Err(no_native_ledger())
    }

    fn ledger_holds(&self) -> Result<Vec<g::CardHold>, g::LedgerError> {
        Err(no_native_ledger())
    }
}

fn no_native_certificates() -> g::CertificateError {
    g::CertificateError::Unsupported("the native sandbox channel checks no certificates".into())
}

fn no_native_ledger() -> g::LedgerError {
    g::LedgerError::Unavailable("the native sandbox channel keeps no cards".into())
}
