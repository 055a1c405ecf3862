//! The paycore channel for e-CNY (数字人民币) at the till. The PBOC publishes
//! no merchant API, so e-CNY is accepted through an acquirer: Huifu (汇付天下)
//! and its 斗拱 (dougong) open API v3, which carries e-CNY as the trade types
//! `D_MICROPAY` (the payer's code, barcode) and `D_NATIVE` (a QR the payer
//! scans). Requests are JSON envelopes whose `data` is signed
//! (SHA256withRSA) over its canonical text; answers are believed over the
//! raw text of their `data`, notifications over their `resp_data`. The keys
//! stay in the host (see `README.md`).

mod answer;
mod canon;
mod codes;
mod fields;
mod gateway;
mod lookup;
mod notify;
mod ops;
mod refund;
mod sign;
mod undo;
mod wire;

pub use canon::canonical_text;
pub use sign::{HUIFU_KEY, MERCHANT_KEY};

use paycore_plugin_sdk::types::{Manifest, Scene, SettingSpec};
use paycore_plugin_sdk::{Describe, export_channel};

#[derive(Default)]
pub struct Ecny;

impl Describe for Ecny {
    fn manifest(&self) -> Manifest {
        Manifest::new("ecny", env!("CARGO_PKG_VERSION"))
            .with_description("e-CNY (数字人民币) through Huifu's 斗拱 open API v3: the payer's e-CNY payment code (barcode, D_MICROPAY) or a QR the payer scans (qrcode, D_NATIVE)")
            .with_scenes(&[Scene::Barcode, Scene::Qrcode])
            .with_wallets(&["ecny"])
            .with_currencies(&[wire::CURRENCY])
            .with_described_settings(&self.settings())
            .with_secrets(&[MERCHANT_KEY, HUIFU_KEY])
            .with_hosts(&[
                "api.huifu.com",
                // The loopback simulator (tests/simulators), as for the
                // other wallets: an operator grants it only in tests.
                "127.0.0.1",
            ])
    }

    fn settings(&self) -> Vec<SettingSpec> {
        vec![
            SettingSpec::text(
                "huifu_id",
                "the merchant's Huifu number (huifu_id): 16 digits",
            )
            .with_pattern("[0-9]{16}"),
            SettingSpec::text(
                "sys_id",
                "the huifu_id that signs the calls (sys_id): a channel partner's or agent's; leave out when the merchant calls for itself",
            )
            .with_pattern("[0-9]{16}")
            .optional(),
            SettingSpec::text(
                "product_id",
                "the product number Huifu assigned (product_id), e.g. MCS",
            )
            .with_pattern("[0-9A-Za-z_]{1,32}"),
            SettingSpec::url(
                "base_url",
                "the API's base URL: https://api.huifu.com, or the simulator's",
            )
            .with_default(gateway::DEFAULT_URL),
            SettingSpec::text(
                "digital_bank_no",
                "the e-CNY operating institution's number (数字货币银行编号, dc_data.digital_bank_no) sent with QR orders, if Huifu asked for one",
            )
            .with_pattern("[0-9A-Za-z]{1,32}")
            .optional(),
        ]
    }
}

export_channel!(Ecny);
