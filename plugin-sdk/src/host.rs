//! What a plugin can ask of the runtime that hosts it.

use crate::__bindings::paycore::channel::{
    certificates, clock, crypto, http, ledger, log, operation,
};
use crate::types::{
    Algorithm, Card, CardHold, CertificateError, CertificateInfo, CertificateScheme, CryptoError,
    HttpError, HttpRequest, HttpResponse, LedgerError, LogLevel, Trust,
};

/// The runtime's services, handed to every [`Channel`](crate::Channel) call.
/// A trait rather than free functions so that plugins can be unit-tested
/// natively against [`FakeHost`](crate::testing::FakeHost).
///
/// The `ledger_*` calls (contract 1.1) reach the host's closed-loop ledger:
/// member cards, gift cards, vouchers, punch cards and coupons. A card
/// programme's plugin decides whether a card may pay and how much; the host
/// moves the value. It reaches only the calling tenant's cards in the
/// programmes it runs on this channel, and only as far as the operation
/// being called allows (the `ledger` interface in `channel.wit`): anything
/// else is `LedgerError::NotAllowed`. Every write is idempotent, so a call
/// made again returns what the first one did. Amounts are minor units of
/// the programme's currency, or whole uses on a punch card.
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

    /// Believes `certificate` (PEM or DER, as the channel sent it) only if
    /// it chains to `trust` (secrets holding the operator's root and
    /// intermediate certificates), is valid now and may sign; then checks
    /// `signature` over `data` with its key (contract 1.1). Ok only when
    /// all of that holds; the plugin still checks who the certificate names.
    ///
    /// Added in 1.1; the default answers `Unsupported`, so that a `Host`
    /// written before (a test's wrapper, say) still compiles.
    fn verify_with_certificate(
        &self,
        trust: &Trust,
        certificate: &[u8],
        scheme: CertificateScheme,
        data: &[u8],
        signature: &[u8],
    ) -> Result<CertificateInfo, CertificateError> {
        let _ = (trust, certificate, scheme, data, signature);
        Err(CertificateError::Unsupported(
            "this host checks no certificates".into(),
        ))
    }

    /// The certificate kept beside the signing key in secret `key` (its
    /// serial is what some channels want sent with each request).
    fn key_certificate(&self, key: &str) -> Result<CertificateInfo, CertificateError> {
        Err(CertificateError::Unsupported(format!(
            "this host reads no certificate beside `{key}`"
        )))
    }

    /// When the host created the payment being called (a refund's payment
    /// for a refund call), in milliseconds since the Unix epoch (contract
    /// 1.1): for channels that identify a transaction by the time it was
    /// first sent, so the same time is sent again when it is looked up.
    fn payment_created_millis(&self) -> Option<i64> {
        None
    }

    /// When the host created the refund being called.
    fn refund_created_millis(&self) -> Option<i64> {
        None
    }

    /// Writes to the host's log, tagged with the plugin's name and version.
    fn log(&self, level: LogLevel, message: &str);

    /// Wall-clock milliseconds since the Unix epoch.
    fn now_millis(&self) -> u64;

    /// The card a member's dynamic payment code names, binding the code to
    /// the payment being paid (only during `pay`): the same payment may
    /// present it again, another gets `LedgerError::CodeUsed`.
    fn ledger_card_by_code(&self, code: &str) -> Result<Card, LedgerError>;

    /// A card by its id, with its balance.
    fn ledger_balance(&self, card: &str) -> Result<Card, LedgerError>;

    /// Reserves `amount` on an active card for the payment being paid. The
    /// same card again returns the same hold.
    fn ledger_hold(&self, card: &str, amount: i64) -> Result<CardHold, LedgerError>;

    /// Spends a held hold of the payment being called.
    fn ledger_capture(&self, hold: &str) -> Result<CardHold, LedgerError>;

    /// Gives a held hold of the payment being called back to its card.
    fn ledger_release(&self, hold: &str) -> Result<CardHold, LedgerError>;

    /// Gives `amount` of a captured hold back to its card, for the refund
    /// (or cancel) being called.
    fn ledger_credit(&self, hold: &str, amount: i64) -> Result<CardHold, LedgerError>;

    /// The holds of the payment being called (for a refund, of its
    /// payment), oldest first.
    fn ledger_holds(&self) -> Result<Vec<CardHold>, LedgerError>;
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

    fn verify_with_certificate(
        &self,
        trust: &Trust,
        certificate: &[u8],
        scheme: CertificateScheme,
        data: &[u8],
        signature: &[u8],
    ) -> Result<CertificateInfo, CertificateError> {
        certificates::verify(trust, certificate, scheme, data, signature)
    }

    fn key_certificate(&self, key: &str) -> Result<CertificateInfo, CertificateError> {
        certificates::key_certificate(key)
    }

    fn payment_created_millis(&self) -> Option<i64> {
        operation::payment_created_millis()
    }

    fn refund_created_millis(&self) -> Option<i64> {
        operation::refund_created_millis()
    }

    fn log(&self, level: LogLevel, message: &str) {
        log::log(level, message);
    }

    fn now_millis(&self) -> u64 {
        clock::now_millis()
    }

    fn ledger_card_by_code(&self, code: &str) -> Result<Card, LedgerError> {
        ledger::card_by_code(code)
    }

    fn ledger_balance(&self, card: &str) -> Result<Card, LedgerError> {
        ledger::balance(card)
    }

    fn ledger_hold(&self, card: &str, amount: i64) -> Result<CardHold, LedgerError> {
        ledger::hold(card, amount)
    }

    fn ledger_capture(&self, hold: &str) -> Result<CardHold, LedgerError> {
        ledger::capture(hold)
    }

    fn ledger_release(&self, hold: &str) -> Result<CardHold, LedgerError> {
        ledger::release(hold)
    }

    fn ledger_credit(&self, hold: &str, amount: i64) -> Result<CardHold, LedgerError> {
        ledger::credit(hold, amount)
    }

    fn ledger_holds(&self) -> Result<Vec<CardHold>, LedgerError> {
        ledger::holds()
    }
}
