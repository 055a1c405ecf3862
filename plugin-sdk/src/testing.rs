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
//!
//! On native targets the fake host also holds RSA keys (PEM, as the runtime
//! takes them) and AES-256-GCM keys, so channels that sign with RSA2 or
//! decrypt WeChat Pay resources can be tested with known-answer vectors;
//! [`rsa_sign`], [`rsa_verify`] and [`aes256_gcm_encrypt`] play the channel's side.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use hmac::{Hmac, Mac};
use sha2::Sha256;

#[cfg(not(target_arch = "wasm32"))]
mod keys;
#[cfg(not(target_arch = "wasm32"))]
pub use keys::aes256_gcm_encrypt;

use crate::Host;
use crate::types::{
    Algorithm, CallContext, CryptoError, HttpError, HttpRequest, HttpResponse, LogLevel,
    PayRequest, Scene,
};

type Responder = Box<dyn Fn(&HttpRequest) -> Result<HttpResponse, HttpError>>;

/// Records what the plugin did and answers it from a script. Each secret is
/// registered for one use (HMAC-SHA256, an RSA private or public key, an
/// AES-256-GCM key); using it otherwise answers `CryptoError::Unsupported`,
/// as the runtime does. Without a responder every request is
/// `HttpError::Denied`, as if the operator had granted no host.
pub struct FakeHost {
    keys: HashMap<String, FakeKey>,
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
            keys: HashMap::new(),
            responder: RefCell::new(None),
            requests: RefCell::new(Vec::new()),
            logs: RefCell::new(Vec::new()),
            now_millis: Cell::new(DEFAULT_NOW_MILLIS),
        }
    }

    /// Registers secret `name` as an HMAC-SHA256 key.
    pub fn with_hmac_key(mut self, name: &str, key: &[u8]) -> Self {
        self.keys
            .insert(name.to_owned(), FakeKey::Hmac(key.to_vec()));
        self
    }

    /// Registers secret `name` as an RSA private key (PKCS#8 or PKCS#1 PEM,
    /// or bare base64) for RSA-PKCS1-SHA256 signing.
    pub fn with_rsa_private_key(mut self, name: &str, pem: &str) -> Self {
        self.keys
            .insert(name.to_owned(), FakeKey::RsaPrivate(pem.to_owned()));
        self
    }

    /// Registers secret `name` as an RSA public key (SPKI PEM or bare
    /// base64) for RSA-PKCS1-SHA256 verification.
    pub fn with_rsa_public_key(mut self, name: &str, pem: &str) -> Self {
        self.keys
            .insert(name.to_owned(), FakeKey::RsaPublic(pem.to_owned()));
        self
    }

    /// Registers secret `name` as an AES-256-GCM key (32 raw bytes).
    pub fn with_aes_key(mut self, name: &str, key: &[u8]) -> Self {
        self.keys
            .insert(name.to_owned(), FakeKey::Aes(key.to_vec()));
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

    fn key(&self, name: &str) -> Result<&FakeKey, CryptoError> {
        self.keys
            .get(name)
            .ok_or_else(|| CryptoError::UnknownKey(name.to_owned()))
    }
}

/// A secret as the fake host holds it: what it is for decides what it can do.
/// (On wasm32 the fake host does HMAC only, so the other keys go unused.)
#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
enum FakeKey {
    Hmac(Vec<u8>),
    RsaPrivate(String),
    RsaPublic(String),
    Aes(Vec<u8>),
}

fn unsupported(name: &str, alg: Algorithm) -> CryptoError {
    CryptoError::Unsupported(format!("secret `{name}` cannot be used with {alg:?}"))
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
        match (self.key(key)?, alg) {
            (FakeKey::Hmac(secret), Algorithm::HmacSha256) => Ok(hmac_sha256(secret, data)),
            #[cfg(not(target_arch = "wasm32"))]
            (FakeKey::RsaPrivate(pem), Algorithm::RsaPkcs1Sha256) => {
                keys::try_rsa_sign(pem, data).ok_or_else(|| unsupported(key, alg))
            }
            _ => Err(unsupported(key, alg)),
        }
    }

    fn verify(
        &self,
        key: &str,
        alg: Algorithm,
        data: &[u8],
        signature: &[u8],
    ) -> Result<bool, CryptoError> {
        match (self.key(key)?, alg) {
            (FakeKey::Hmac(secret), Algorithm::HmacSha256) => {
                let mut mac = new_mac(secret);
                mac.update(data);
                Ok(mac.verify_slice(signature).is_ok())
            }
            #[cfg(not(target_arch = "wasm32"))]
            (FakeKey::RsaPublic(pem), Algorithm::RsaPkcs1Sha256) => {
                keys::try_rsa_verify(pem, data, signature).ok_or_else(|| unsupported(key, alg))
            }
            _ => Err(unsupported(key, alg)),
        }
    }

    fn decrypt(
        &self,
        key: &str,
        alg: Algorithm,
        nonce: &[u8],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        match (self.key(key)?, alg) {
            #[cfg(not(target_arch = "wasm32"))]
            (FakeKey::Aes(secret), Algorithm::Aes256Gcm) => {
                keys::aes256_gcm_decrypt(secret, nonce, aad, ciphertext)
                    .map_err(|why| CryptoError::Failed(why.to_owned()))
            }
            _ => {
                let _ = (nonce, aad, ciphertext);
                Err(unsupported(key, alg))
            }
        }
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

/// RSA-PKCS1-SHA256 signature of `data` with a PEM private key: what a fake
/// channel signs its answers with. Panics if the key is not an RSA private key.
#[cfg(not(target_arch = "wasm32"))]
pub fn rsa_sign(private_pem: &str, data: &[u8]) -> Vec<u8> {
    keys::try_rsa_sign(private_pem, data).expect("an RSA private key in PEM")
}

/// Whether `signature` is an RSA-PKCS1-SHA256 signature of `data` under a PEM
/// public key: how a fake channel checks the plugin's requests. Panics if
/// the key is not an RSA public key.
#[cfg(not(target_arch = "wasm32"))]
pub fn rsa_verify(public_pem: &str, data: &[u8], signature: &[u8]) -> bool {
    keys::try_rsa_verify(public_pem, data, signature).expect("an RSA public key in PEM")
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

    // Demo-only keys committed with the repository (config/secrets/README.md).
    const PRIVATE: &str = include_str!("../../config/secrets/wechatpay-demo-merchant-private.pem");
    const PUBLIC: &str = include_str!("../../config/secrets/wechatpay-demo-merchant-public.pem");
    const OTHER_PUBLIC: &str =
        include_str!("../../config/secrets/wechatpay-demo-platform-public.pem");

    #[test]
    fn rsa_signatures_match_openssl_and_verify_only_with_the_right_key() {
        use base64::Engine as _;
        // `printf 'paycore known answer' | openssl dgst -sha256 -sign wechatpay-demo-merchant-private.pem | base64 -w0`
        let expected = "qBkEpM6Apy8EuIsmf7haQofoWC/dmnojQiTC4kiZrlrFkiSBfThRr3o08mlWoHWjRulhgi8XuEmWx+ZsCRU8aLhIOdFR6lw1X2XvSz3QliyoV31XKxf09nWl8C0TzMcKMy9YSH17UNi1pBtRH8VLCf7bRb91bCC6rz01yX7qcdD+DQvRBsg613j7XcYCXLI2qIpSKrAAShX23OulG2lAk4fQsQZ98cFxEYlttMzJ8rMKR9mcIoHiMz+RAkSpXRqPrYERdRWkjOQrEZnhuQuKzEKKGuUVx04qM4xwLoUOrRJl9eKScnRzt9DLCUdNt2/w5kodgkXvXtdFUfsJN2Oufg==";
        let host = FakeHost::new()
            .with_rsa_private_key("merchant", PRIVATE)
            .with_rsa_public_key("merchant_pub", PUBLIC)
            .with_rsa_public_key("other_pub", OTHER_PUBLIC);
        let data = b"paycore known answer";
        let sig = host
            .sign("merchant", Algorithm::RsaPkcs1Sha256, data)
            .unwrap();
        assert_eq!(
            base64::engine::general_purpose::STANDARD.encode(&sig),
            expected
        );
        assert_eq!(rsa_sign(PRIVATE, data), sig);
        assert!(rsa_verify(PUBLIC, data, &sig));
        assert_eq!(
            host.verify("merchant_pub", Algorithm::RsaPkcs1Sha256, data, &sig),
            Ok(true)
        );
        assert_eq!(
            host.verify(
                "merchant_pub",
                Algorithm::RsaPkcs1Sha256,
                b"paycore known answeR",
                &sig
            ),
            Ok(false)
        );
        assert_eq!(
            host.verify("other_pub", Algorithm::RsaPkcs1Sha256, data, &sig),
            Ok(false)
        );
        // A key is good for what it was registered as, nothing else.
        assert!(matches!(
            host.sign("merchant_pub", Algorithm::RsaPkcs1Sha256, data),
            Err(CryptoError::Unsupported(_))
        ));
        assert!(matches!(
            host.verify("merchant", Algorithm::HmacSha256, data, &sig),
            Err(CryptoError::Unsupported(_))
        ));
    }

    #[test]
    fn aes_gcm_matches_a_known_answer_and_refuses_tampering() {
        let key = b"PaycoreDemoApiV3Key0123456789abc";
        // Python `cryptography`: AESGCM(key).encrypt(b"nonce0123456", b"resource", b"transaction")
        let expected = hex::decode("5f2b7e7d1fdf18c7005ab8aa64fce6951e305a591dfd9cc9").unwrap();
        assert_eq!(
            aes256_gcm_encrypt(key, b"nonce0123456", b"transaction", b"resource"),
            expected
        );
        let host = FakeHost::new().with_aes_key("v3", key);
        let plain = host.decrypt(
            "v3",
            Algorithm::Aes256Gcm,
            b"nonce0123456",
            b"transaction",
            &expected,
        );
        assert_eq!(plain.unwrap(), b"resource");
        let wrong_aad = host.decrypt(
            "v3",
            Algorithm::Aes256Gcm,
            b"nonce0123456",
            b"refund",
            &expected,
        );
        assert!(matches!(wrong_aad, Err(CryptoError::Failed(_))));
        assert!(matches!(
            host.sign("v3", Algorithm::Aes256Gcm, b"x"),
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
