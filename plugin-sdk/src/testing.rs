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
//!
//! It keeps an in-memory ledger too (contract 1.1), for card programmes'
//! plugins: cards ([`card`], [`program`], [`punch_program`], [`coupon`],
//! [`coupon_program`]), members' payment codes, and the holds the plugin
//! makes, within the scope of the [`Operation`] the test says is being
//! called:
//!
//! ```
//! use paycore_plugin_sdk::testing::{card, pay_request, program, FakeHost, Operation};
//! use paycore_plugin_sdk::types::*;
//! use paycore_plugin_sdk::Host;
//!
//! let gift = program("gift", ProgramKind::Gift, "CNY");
//! let host = FakeHost::new()
//!     .with_card(card("card_1", &gift, 5_000))
//!     .with_payment_code("880000000000000001", "card_1");
//! let request = pay_request("A1", 1_200, "CNY", Scene::Barcode);
//! host.set_operation(Operation::pay(&request));
//! let found = host.ledger_card_by_code("880000000000000001").unwrap();
//! let hold = host.ledger_hold(&found.id, 1_200).unwrap();
//! host.ledger_capture(&hold.id).unwrap();
//! assert_eq!(host.card("card_1").balance, 3_800);
//! assert_eq!(host.holds_of(&request.payment_id)[0].status, HoldStatus::Captured);
//! ```

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use hmac::{Hmac, Mac};
use sha2::Sha256;

#[cfg(not(target_arch = "wasm32"))]
mod keys;
mod ledger;
#[cfg(not(target_arch = "wasm32"))]
pub use keys::aes256_gcm_encrypt;
pub use ledger::{
    Operation, PAYMENT_CODE_VALIDITY_MILLIS, card, coupon, coupon_program, program, punch_program,
};

use crate::Host;
use crate::types::{
    Algorithm, CallContext, Card, CardHold, CertificateError, CertificateInfo, CertificateScheme,
    CryptoError, HttpError, HttpRequest, HttpResponse, LedgerError, LogLevel, PayRequest, Scene,
    Trust,
};

type Responder = Box<dyn Fn(&HttpRequest) -> Result<HttpResponse, HttpError>>;

/// Records what the plugin did and answers it from a script. Each secret is
/// registered for one use (HMAC-SHA256, an RSA private or public key, an
/// AES-256-GCM key); using it otherwise answers `CryptoError::Unsupported`,
/// as the runtime does. Without a responder every request is
/// `HttpError::Denied`, as if the operator had granted no host. Its ledger
/// starts empty, with no operation being called: until the test sets one
/// ([`set_operation`](Self::set_operation)), every ledger write is
/// `LedgerError::NotAllowed`.
pub struct FakeHost {
    keys: HashMap<String, FakeKey>,
    responder: RefCell<Option<Responder>>,
    requests: RefCell<Vec<HttpRequest>>,
    logs: RefCell<Vec<(LogLevel, String)>>,
    now_millis: Cell<u64>,
    payment_created_millis: Cell<Option<i64>>,
    refund_created_millis: Cell<Option<i64>>,
    ledger: RefCell<ledger::Ledger>,
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
            payment_created_millis: Cell::new(None),
            refund_created_millis: Cell::new(None),
            ledger: RefCell::new(ledger::Ledger::default()),
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

    /// Registers secret `name` as PEM certificates a channel's signing
    /// certificate may chain to (trust roots, or intermediates).
    pub fn with_certificates(mut self, name: &str, pem: &str) -> Self {
        self.keys
            .insert(name.to_owned(), FakeKey::Certificates(pem.to_owned()));
        self
    }

    /// What `payment_created_millis` answers from now on.
    pub fn set_payment_created_millis(&self, millis: Option<i64>) {
        self.payment_created_millis.set(millis);
    }

    /// What `refund_created_millis` answers from now on.
    pub fn set_refund_created_millis(&self, millis: Option<i64>) {
        self.refund_created_millis.set(millis);
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

    /// Adds `card` to the ledger (see [`card`]).
    pub fn with_card(self, card: Card) -> Self {
        self.set_card(card);
        self
    }

    /// Adds `card` to the ledger, or replaces the card with its id (the
    /// member's card is frozen mid-test, say).
    pub fn set_card(&self, card: Card) {
        self.ledger.borrow_mut().add_card(card);
    }

    /// Issues a member's dynamic payment code for `card`, valid for
    /// [`PAYMENT_CODE_VALIDITY_MILLIS`] from the fake clock's now.
    pub fn with_payment_code(self, code: &str, card: &str) -> Self {
        let expires_at = self.now_millis.get() + PAYMENT_CODE_VALIDITY_MILLIS;
        self.ledger.borrow_mut().add_code(code, card, expires_at);
        self
    }

    /// Says which operation the host is calling: it decides what the
    /// plugin may do with the ledger (see [`Operation`]).
    pub fn set_operation(&self, operation: Operation) {
        self.ledger.borrow_mut().operation = Some(operation);
    }

    /// While `Some`, every ledger call answers `LedgerError::Unavailable`
    /// with this reason, and nothing moves.
    pub fn set_ledger_unavailable(&self, why: Option<&str>) {
        self.ledger.borrow_mut().unavailable = why.map(str::to_owned);
    }

    /// The card as the ledger holds it now. Panics if there is none by
    /// that id.
    pub fn card(&self, id: &str) -> Card {
        self.ledger
            .borrow()
            .card(id)
            .cloned()
            .unwrap_or_else(|| panic!("FakeHost has no card `{id}`"))
    }

    /// The holds made for `payment`, oldest first.
    pub fn holds_of(&self, payment: &str) -> Vec<CardHold> {
        self.ledger.borrow().holds_of(payment)
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
    /// May hold its certificate beside it (`key_certificate`).
    RsaPrivate(String),
    RsaPublic(String),
    Aes(Vec<u8>),
    Certificates(String),
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

    fn verify_with_certificate(
        &self,
        trust: &Trust,
        certificate: &[u8],
        scheme: CertificateScheme,
        data: &[u8],
        signature: &[u8],
    ) -> Result<CertificateInfo, CertificateError> {
        let roots = self.certificates(&trust.roots)?;
        let intermediates = match &trust.intermediates {
            Some(name) => self.certificates(name)?,
            None => "",
        };
        #[cfg(not(target_arch = "wasm32"))]
        {
            let scheme = match scheme {
                CertificateScheme::RsaPkcs1Sha256 => crate::pki::Scheme::RsaPkcs1Sha256,
            };
            let trust = crate::pki::Trust {
                roots: roots.as_bytes(),
                intermediates: intermediates.as_bytes(),
            };
            let now = self.now_millis.get() as i64;
            crate::pki::verify(trust, certificate, scheme, data, signature, now)
                .map(certificate_info)
                .map_err(certificate_error)
        }
        #[cfg(target_arch = "wasm32")]
        {
            let _ = (roots, intermediates, certificate, scheme, data, signature);
            Err(CertificateError::Unsupported(
                "the fake host checks certificates on native targets only".into(),
            ))
        }
    }

    fn key_certificate(&self, key: &str) -> Result<CertificateInfo, CertificateError> {
        let pem = match self.keys.get(key) {
            Some(FakeKey::RsaPrivate(pem) | FakeKey::Certificates(pem)) => pem,
            Some(_) => {
                return Err(CertificateError::Malformed(format!(
                    "secret `{key}` holds no certificate"
                )));
            }
            None => return Err(CertificateError::UnknownKey(key.to_owned())),
        };
        #[cfg(not(target_arch = "wasm32"))]
        {
            crate::pki::key_certificate(pem.as_bytes())
                .map(certificate_info)
                .map_err(certificate_error)
        }
        #[cfg(target_arch = "wasm32")]
        {
            let _ = pem;
            Err(CertificateError::Unsupported(
                "the fake host reads certificates on native targets only".into(),
            ))
        }
    }

    fn payment_created_millis(&self) -> Option<i64> {
        self.payment_created_millis.get()
    }

    fn refund_created_millis(&self) -> Option<i64> {
        self.refund_created_millis.get()
    }

    fn log(&self, level: LogLevel, message: &str) {
        self.logs.borrow_mut().push((level, message.to_owned()));
    }

    fn now_millis(&self) -> u64 {
        self.now_millis.get()
    }

    fn ledger_card_by_code(&self, code: &str) -> Result<Card, LedgerError> {
        let now = self.now_millis.get();
        self.ledger.borrow_mut().card_by_code(code, now)
    }

    fn ledger_balance(&self, card: &str) -> Result<Card, LedgerError> {
        self.ledger.borrow().balance(card)
    }

    fn ledger_hold(&self, card: &str, amount: i64) -> Result<CardHold, LedgerError> {
        self.ledger.borrow_mut().hold(card, amount)
    }

    fn ledger_capture(&self, hold: &str) -> Result<CardHold, LedgerError> {
        self.ledger.borrow_mut().capture(hold)
    }

    fn ledger_release(&self, hold: &str) -> Result<CardHold, LedgerError> {
        self.ledger.borrow_mut().release(hold)
    }

    fn ledger_credit(&self, hold: &str, amount: i64) -> Result<CardHold, LedgerError> {
        let now = self.now_millis.get();
        self.ledger.borrow_mut().credit(hold, amount, now)
    }

    fn ledger_holds(&self) -> Result<Vec<CardHold>, LedgerError> {
        self.ledger.borrow().holds()
    }
}

impl FakeHost {
    /// The PEM text of a secret registered with `with_certificates`.
    fn certificates(&self, name: &str) -> Result<&str, CertificateError> {
        match self.keys.get(name) {
            Some(FakeKey::Certificates(pem)) => Ok(pem),
            Some(_) => Err(CertificateError::Malformed(format!(
                "secret `{name}` holds no certificates"
            ))),
            None => Err(CertificateError::UnknownKey(name.to_owned())),
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn certificate_info(info: crate::pki::CertificateInfo) -> CertificateInfo {
    CertificateInfo {
        serial: info.serial,
        subject_common_name: info.subject_common_name,
        not_before_millis: info.not_before_millis,
        not_after_millis: info.not_after_millis,
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn certificate_error(e: crate::pki::CertificateError) -> CertificateError {
    use crate::pki::CertificateError as E;
    match e {
        E::Malformed(why) => CertificateError::Malformed(why),
        E::Expired(why) => CertificateError::Expired(why),
        E::Untrusted(why) => CertificateError::Untrusted(why),
        E::WrongUsage(why) => CertificateError::WrongUsage(why),
        E::BadSignature => CertificateError::BadSignature,
        E::Unsupported(why) => CertificateError::Unsupported(why),
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
