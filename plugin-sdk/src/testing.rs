//! A fake [`Host`] for testing plugins natively, without wasm or a runtime.
//!
//! ```
//! use paycore_plugin_sdk::testing::{hmac_sha256, FakeHost};
//! use paycore_plugin_sdk::types::*;
//! use paycore_plugin_sdk::Host;
//!
//! let host = FakeHost::new()
//!     .with_hmac_key("api_key", b"secret")
//!     .with_responder(|_req| Ok(HttpResponse::json(200, "{}")));
//! let sig = host.sign("api_key", Algorithm::HmacSha256, b"body").unwrap();
//! assert_eq!(sig, hmac_sha256(b"secret", b"body"));
//! host.http_send(HttpRequest::new("POST", "http://127.0.0.1/x", "hi")).unwrap();
//! assert_eq!(host.requests()[0].body, b"hi");
//! ```

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::Host;
use crate::types::{
    Algorithm, CallContext, CryptoError, HttpError, HttpRequest, HttpResponse, LogLevel,
    PayRequest, Scene,
};

type Responder = Box<dyn Fn(&HttpRequest) -> Result<HttpResponse, HttpError>>;

/// Records what the plugin did and answers it from a script. Secrets are
/// HMAC-SHA256 keys; other algorithms answer `CryptoError::Unsupported`.
/// Without a responder every request is `HttpError::Denied`, as if the
/// operator had granted no host.
pub struct FakeHost {
    hmac_keys: HashMap<String, Vec<u8>>,
    responder: RefCell<Option<Responder>>,
    requests: RefCell<Vec<HttpRequest>>,
    logs: RefCell<Vec<(LogLevel, String)>>,
    now_millis: Cell<u64>,
}

/// 2026-11-25T08:00:00Z: a fixed start so tests are reproducible.
const DEFAULT_NOW_MILLIS: u64 = 1_795_593_600_000;

impl Default for FakeHost {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeHost {
    pub fn new() -> Self {
        Self {
            hmac_keys: HashMap::new(),
            responder: RefCell::new(None),
            requests: RefCell::new(Vec::new()),
            logs: RefCell::new(Vec::new()),
            now_millis: Cell::new(DEFAULT_NOW_MILLIS),
        }
    }

    /// Registers secret `name` as an HMAC-SHA256 key.
    pub fn with_hmac_key(mut self, name: &str, key: &[u8]) -> Self {
        self.hmac_keys.insert(name.to_owned(), key.to_vec());
        self
    }

    /// Answers every outbound request with `responder`, which plays the
    /// channel's side.
    pub fn with_responder(
        self,
        responder: impl Fn(&HttpRequest) -> Result<HttpResponse, HttpError> + 'static,
    ) -> Self {
        self.set_responder(responder);
        self
    }

    /// Replaces the responder mid-test (the channel changes its mind).
    pub fn set_responder(
        &self,
        responder: impl Fn(&HttpRequest) -> Result<HttpResponse, HttpError> + 'static,
    ) {
        *self.responder.borrow_mut() = Some(Box::new(responder));
    }

    /// Every request the plugin sent (or tried to send), in order.
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.requests.borrow().clone()
    }

    /// Every log line the plugin wrote, in order.
    pub fn logs(&self) -> Vec<(LogLevel, String)> {
        self.logs.borrow().clone()
    }

    pub fn set_now_millis(&self, millis: u64) {
        self.now_millis.set(millis);
    }

    pub fn advance_millis(&self, millis: u64) {
        self.now_millis.set(self.now_millis.get() + millis);
    }

    fn hmac_key(&self, name: &str, alg: Algorithm) -> Result<&[u8], CryptoError> {
        let key = self
            .hmac_keys
            .get(name)
            .ok_or_else(|| CryptoError::UnknownKey(name.to_owned()))?;
        match alg {
            Algorithm::HmacSha256 => Ok(key),
            other => Err(CryptoError::Unsupported(format!(
                "FakeHost only does HMAC-SHA256, not {other:?}"
            ))),
        }
    }
}

impl Host for FakeHost {
    fn http_send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        self.requests.borrow_mut().push(request.clone());
        match self.responder.borrow().as_ref() {
            Some(respond) => respond(&request),
            None => Err(HttpError::Denied(format!(
                "FakeHost has no responder for {}",
                request.url
            ))),
        }
    }

    fn sign(&self, key: &str, alg: Algorithm, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Ok(hmac_sha256(self.hmac_key(key, alg)?, data))
    }

    fn verify(
        &self,
        key: &str,
        alg: Algorithm,
        data: &[u8],
        signature: &[u8],
    ) -> Result<bool, CryptoError> {
        let mut mac = new_mac(self.hmac_key(key, alg)?);
        mac.update(data);
        Ok(mac.verify_slice(signature).is_ok())
    }

    fn decrypt(
        &self,
        _key: &str,
        alg: Algorithm,
        _nonce: &[u8],
        _aad: &[u8],
        _ciphertext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        Err(CryptoError::Unsupported(format!(
            "FakeHost cannot decrypt with {alg:?}"
        )))
    }

    fn log(&self, level: LogLevel, message: &str) {
        self.logs.borrow_mut().push((level, message.to_owned()));
    }

    fn now_millis(&self) -> u64 {
        self.now_millis.get()
    }
}

fn new_mac(key: &[u8]) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length")
}

/// HMAC-SHA256 of `data` under `key`: what a fake channel signs its answers
/// with, and what the plugin's signatures must equal.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = new_mac(key);
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// A call context for tenant `t1`'s channel `test` with `settings`.
pub fn call_context(settings: &[(&str, &str)]) -> CallContext {
    CallContext {
        tenant: "t1".to_owned(),
        channel: "test".to_owned(),
        settings: settings
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        notify_url: "http://127.0.0.1:8080/v1/callbacks/t1/test".to_owned(),
    }
}

/// A pay request with only the required fields set; adjust the rest with
/// struct update syntax.
pub fn pay_request(
    merchant_order_no: &str,
    amount: i64,
    currency: &str,
    scene: Scene,
) -> PayRequest {
    PayRequest {
        payment_id: format!("pay_{merchant_order_no}"),
        merchant_order_no: merchant_order_no.to_owned(),
        amount,
        currency: currency.to_owned(),
        scene,
        wallet: "sandbox".to_owned(),
        auth_code: None,
        subject: None,
        payer: None,
        goods: Vec::new(),
        receipt_no: None,
        store_id: None,
        terminal_id: None,
        client_ip: None,
        expires_in: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn sign_and_verify_use_the_named_key() {
        let host = FakeHost::new().with_hmac_key("k", b"key");
        let sig = host.sign("k", Algorithm::HmacSha256, b"data").unwrap();
        assert!(
            host.verify("k", Algorithm::HmacSha256, b"data", &sig)
                .unwrap()
        );
        assert!(
            !host
                .verify("k", Algorithm::HmacSha256, b"dat4", &sig)
                .unwrap()
        );
        assert!(
            !host
                .verify("k", Algorithm::HmacSha256, b"data", &sig[1..])
                .unwrap()
        );
        assert_eq!(
            host.sign("other", Algorithm::HmacSha256, b"data"),
            Err(CryptoError::UnknownKey("other".into()))
        );
        assert!(matches!(
            host.sign("k", Algorithm::RsaPkcs1Sha256, b"data"),
            Err(CryptoError::Unsupported(_))
        ));
    }

    #[test]
    fn records_requests_and_answers_from_the_script() {
        let host = FakeHost::new();
        let request = HttpRequest::new("GET", "http://127.0.0.1/a", "");
        assert!(matches!(
            host.http_send(request.clone()),
            Err(HttpError::Denied(_))
        ));
        host.set_responder(|req| {
            if req.url.ends_with("/a") {
                Ok(HttpResponse::json(200, "ok"))
            } else {
                Err(HttpError::Timeout)
            }
        });
        assert_eq!(host.http_send(request.clone()).unwrap().body, b"ok");
        assert_eq!(
            host.http_send(HttpRequest::new("GET", "http://127.0.0.1/b", "")),
            Err(HttpError::Timeout)
        );
        let urls: Vec<_> = host.requests().into_iter().map(|r| r.url).collect();
        assert_eq!(
            urls,
            [
                "http://127.0.0.1/a",
                "http://127.0.0.1/a",
                "http://127.0.0.1/b"
            ]
        );
    }

    #[test]
    fn clock_and_logs_are_observable() {
        let host = FakeHost::new();
        host.set_now_millis(1_000);
        host.advance_millis(500);
        assert_eq!(host.now_millis(), 1_500);
        host.log(LogLevel::Warn, "careful");
        assert_eq!(host.logs(), vec![(LogLevel::Warn, "careful".to_owned())]);
    }
}
