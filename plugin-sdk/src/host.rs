//! What a plugin can ask of the runtime that hosts it.

use crate::__bindings::paycore::channel::{clock, crypto, http, log};
use crate::types::{Algorithm, CryptoError, HttpError, HttpRequest, HttpResponse, LogLevel};

/// The runtime's services, handed to every [`Channel`](crate::Channel) call.
/// A trait rather than free functions so that plugins can be unit-tested
/// natively against [`FakeHost`](crate::testing::FakeHost).
pub trait Host {
    /// Sends a request to a host the operator granted this channel. The host
    /// enforces the grant, a timeout and a response size cap.
    fn http_send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError>;

    /// Signs `data` with the secret named `key` (a name from the manifest's
    /// `secrets`; the key's bytes never enter the plugin).
    fn sign(&self, key: &str, alg: Algorithm, data: &[u8]) -> Result<Vec<u8>, CryptoError>;

    /// Checks `signature` over `data` with the secret named `key`.
    fn verify(
        &self,
        key: &str,
        alg: Algorithm,
        data: &[u8],
        signature: &[u8],
    ) -> Result<bool, CryptoError>;

    /// Decrypts `ciphertext` with the secret named `key`.
    fn decrypt(
        &self,
        key: &str,
        alg: Algorithm,
        nonce: &[u8],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, CryptoError>;

    /// Writes to the host's log, tagged with the plugin's name and version.
    fn log(&self, level: LogLevel, message: &str);

    /// Wall-clock milliseconds since the Unix epoch.
    fn now_millis(&self) -> u64;
}

/// The real host: each method calls the matching WIT import. Only usable
/// inside a wasm32 component; on native targets the imports are unreachable
/// and calling any method panics.
#[derive(Debug, Clone, Copy, Default)]
pub struct WasmHost;

impl Host for WasmHost {
    fn http_send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        http::send(&request)
    }

    fn sign(&self, key: &str, alg: Algorithm, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        crypto::sign(key, alg, data)
    }

    fn verify(
        &self,
        key: &str,
        alg: Algorithm,
        data: &[u8],
        signature: &[u8],
    ) -> Result<bool, CryptoError> {
        crypto::verify(key, alg, data, signature)
    }

    fn decrypt(
        &self,
        key: &str,
        alg: Algorithm,
        nonce: &[u8],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        crypto::decrypt(key, alg, nonce, aad, ciphertext)
    }

    fn log(&self, level: LogLevel, message: &str) {
        log::log(level, message);
    }

    fn now_millis(&self) -> u64 {
        clock::now_millis()
    }
}
