//! The sandbox provider's answer to a `pay`, signed and held in memory, and
//! the call both builds make: the same order, the same answer, every time.

use hmac::{Hmac, Mac};
use paycore::channel;
use paycore::config::SecretValue;
use paycore::domain::Scene;
use paycore::plugin_host::{ChannelGrant, InMemoryUpstream};
use paycore_plugin_sdk::types as sdk;
use sha2::Sha256;
use std::collections::BTreeMap;
use std::sync::Arc;

pub const KEY: &[u8] = b"bench-only-sandbox-key";
pub const ORDER_NO: &str = "BENCH-0001";
const SIGNATURE_HEADER: &str = "X-Sandbox-Signature";

pub fn hmac(data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// `SUCCESS` for `ORDER_NO`, signed as the provider signs it.
pub fn answer() -> (u16, Vec<(String, String)>, Vec<u8>) {
    let body = format!(
        r#"{{"code":"SUCCESS","trade_no":"sbx_0001","out_trade_no":"{ORDER_NO}","status":"SUCCEEDED","amount":"88.88","currency":"CNY"}}"#
    )
    .into_bytes();
    let headers = vec![
        ("content-type".to_owned(), "application/json".to_owned()),
        (SIGNATURE_HEADER.to_owned(), hex::encode(hmac(&body))),
    ];
    (200, headers, body)
}

/// Answers every request of the WASM build with [`answer`].
pub struct CannedProvider(channel::HttpResponse);

impl CannedProvider {
    pub fn new() -> Arc<CannedProvider> {
        let (status, headers, body) = answer();
        Arc::new(CannedProvider(channel::HttpResponse {
            status,
            headers,
            body,
        }))
    }
}

impl InMemoryUpstream for CannedProvider {
    fn answer(&self, _request: &channel::HttpRequest) -> channel::HttpResponse {
        self.0.clone()
    }
}

/// What the operator grants the channel: the provider's host and its key.
pub fn grant() -> Arc<ChannelGrant> {
    Arc::new(ChannelGrant {
        tenant: "bench".into(),
        channel: "sandbox".into(),
        hosts: vec!["127.0.0.1".into()],
        secrets: BTreeMap::from([("api_key".to_owned(), SecretValue::new(KEY.to_vec()))]),
        tracer: None,
        programs: Arc::from([]),
        timezone: paycore::clock::TimeZone::UTC,
    })
}

pub fn context() -> channel::CallContext {
    channel::CallContext {
        tenant: "bench".into(),
        channel: "sandbox".into(),
        settings: vec![
            ("base_url".into(), "http://127.0.0.1:8080/sandbox".into()),
            ("merchant_id".into(), "sbx_bench".into()),
        ],
        notify_url: "http://127.0.0.1:8080/v1/callbacks/bench/sandbox".into(),
    }
}

pub fn pay_request() -> channel::PayRequest {
    channel::PayRequest {
        payment_id: "pay_bench".into(),
        merchant_order_no: ORDER_NO.into(),
        amount: 8888,
        currency: "CNY".into(),
        scene: Scene::Barcode,
        wallet: "sandbox".into(),
        auth_code: Some("134567890124".into()),
        subject: Some("load".into()),
        payer: None,
        goods: vec![],
        receipt_no: None,
        store_id: None,
        terminal_id: None,
        client_ip: None,
        expires_in: None,
        created_millis: 1_795_593_600_000,
    }
}

/// The same call in the SDK's types, for the natively compiled channel.
pub fn sdk_context() -> sdk::CallContext {
    let c = context();
    sdk::CallContext {
        tenant: c.tenant,
        channel: c.channel,
        settings: c.settings,
        notify_url: c.notify_url,
    }
}

pub fn sdk_pay_request() -> sdk::PayRequest {
    sdk::PayRequest {
        payment_id: "pay_bench".into(),
        merchant_order_no: ORDER_NO.into(),
        amount: 8888,
        currency: "CNY".into(),
        scene: sdk::Scene::Barcode,
        wallet: "sandbox".into(),
        auth_code: Some("134567890124".into()),
        subject: Some("load".into()),
        payer: None,
        goods: vec![],
        receipt_no: None,
        store_id: None,
        terminal_id: None,
        client_ip: None,
        expires_in: None,
    }
}

/// The SDK's `Host` for the natively called channel: HMAC with the key, the
/// canned answer, no log, a fixed clock, no ledger (the sandbox channel
/// never asks for one). The native side of the comparison therefore has no
/// sandbox, no copies across a boundary and no grant check.
pub struct NativeHost(sdk::HttpResponse);

impl Default for NativeHost {
    fn default() -> Self {
        let (status, headers, body) = answer();
        NativeHost(sdk::HttpResponse {
            status,
            headers,
            body,
        })
    }
}

impl paycore_plugin_sdk::Host for NativeHost {
    fn http_send(&self, _request: sdk::HttpRequest) -> Result<sdk::HttpResponse, sdk::HttpError> {
        Ok(self.0.clone())
    }

    fn sign(
        &self,
        _key: &str,
        _alg: sdk::Algorithm,
        data: &[u8],
    ) -> Result<Vec<u8>, sdk::CryptoError> {
        Ok(hmac(data))
    }

    fn verify(
        &self,
        _key: &str,
        _alg: sdk::Algorithm,
        data: &[u8],
        signature: &[u8],
    ) -> Result<bool, sdk::CryptoError> {
        Ok(hmac(data) == signature)
    }

    fn decrypt(
        &self,
        key: &str,
        _alg: sdk::Algorithm,
        _nonce: &[u8],
        _aad: &[u8],
        _ciphertext: &[u8],
    ) -> Result<Vec<u8>, sdk::CryptoError> {
        Err(sdk::CryptoError::Unsupported(key.to_owned()))
    }

    fn log(&self, _level: sdk::LogLevel, _message: &str) {}

    fn now_millis(&self) -> u64 {
        0
    }

    fn ledger_card_by_code(&self, _code: &str) -> Result<sdk::Card, sdk::LedgerError> {
        Err(no_ledger())
    }

    fn ledger_balance(&self, _card: &str) -> Result<sdk::Card, sdk::LedgerError> {
        Err(no_ledger())
    }

    fn ledger_hold(&self, _card: &str, _amount: i64) -> Result<sdk::CardHold, sdk::LedgerError> {
        Err(no_ledger())
    }

    fn ledger_capture(&self, _hold: &str) -> Result<sdk::CardHold, sdk::LedgerError> {
        Err(no_ledger())
    }

    fn ledger_release(&self, _hold: &str) -> Result<sdk::CardHold, sdk::LedgerError> {
        Err(no_ledger())
    }

    fn ledger_credit(&self, _hold: &str, _amount: i64) -> Result<sdk::CardHold, sdk::LedgerError> {
        Err(no_ledger())
    }

    fn ledger_holds(&self) -> Result<Vec<sdk::CardHold>, sdk::LedgerError> {
        Err(no_ledger())
    }
}

fn no_ledger() -> sdk::LedgerError {
    sdk::LedgerError::Unavailable("the benchmark's host keeps no ledger".into())
}
