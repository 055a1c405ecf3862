//! The paycore channel for UnionPay's merchant QR-code payment (二维码支付),
//! speaking the acp gateway interface 5.1.0: form requests signed with the
//! merchant's certificate key (`certId` + double-hash RSA), raw `k=v&…`
//! answers and form notifications signed with the certificate they carry
//! (`signPubKeyCert`), believed only once the host has checked it against
//! the operator's root and middle certificates. The keys and the trust
//! store stay in the host (see `README.md`).

mod codes;
mod gateway;
mod lookup;
mod message;
mod notify;
mod ops;
mod sign;
mod wire;

pub use message::{digest_hex, parse_answer, sign_string};
pub use sign::{MERCHANT_KEY, MIDDLE_CERT, ROOT_CERT, UNIONPAY_NAME};
pub use wire::txn_time;

use paycore_plugin_sdk::types::{Manifest, Scene, SettingSpec};
use paycore_plugin_sdk::{Describe, export_channel};

#[derive(Default)]
pub struct UnionPay;

impl Describe for UnionPay {
    fn manifest(&self) -> Manifest {
        Manifest::new("unionpay", env!("CARGO_PKG_VERSION"))
            .with_description("UnionPay (银联) QR-code payment through the acp 5.1.0 gateway: the payer's QuickPass code (barcode) or a merchant QR (qrcode)")
            .with_scenes(&[Scene::Barcode, Scene::Qrcode])
            .with_wallets(&["unionpay"])
            .with_currencies(&[wire::CURRENCY])
            .with_described_settings(&self.settings())
            .with_secrets(&[MERCHANT_KEY, ROOT_CERT, MIDDLE_CERT])
            .with_hosts(&[
                "gateway.95516.com",
                // The loopback simulator (tests/simulators), as for the
                // other wallets: an operator grants it only in tests.
                "127.0.0.1",
            ])
    }

    fn settings(&self) -> Vec<SettingSpec> {
        vec![
            SettingSpec::text(
                "mer_id",
                "the merchant number UnionPay gave: 15 letters or digits",
            )
            .with_pattern("[0-9A-Za-z]{15}"),
            SettingSpec::url(
                "gateway_url",
                "the acp gateway's base URL: https://gateway.95516.com, or the simulator's",
            )
            .with_default(gateway::DEFAULT_URL),
            SettingSpec::text(
                "term_id",
                "the UnionPay terminal number sent with barcode payments: 8 letters or digits",
            )
            .with_pattern("[0-9A-Za-z]{8}")
            .optional(),
        ]
    }
}

export_channel!(UnionPay);
