//! The paycore channel for Alipay, speaking the OpenAPI v2 gateway protocol
//! (`https://openapi.alipay.com/gateway.do`) with RSA2 signatures. The
//! merchant's private key and Alipay's public key stay in the host: this
//! plugin only names them (see `README.md` for settings, scenes and the
//! mapping tables).

mod gateway;
mod notify;
mod ops;
mod sign;
pub mod statement;
mod wire;

pub use gateway::timestamp;
pub use sign::{ALIPAY_KEY, MERCHANT_KEY};

use paycore_plugin_sdk::types::{Manifest, Scene, SettingSpec};
use paycore_plugin_sdk::{Describe, export_channel};

#[derive(Default)]
pub struct Alipay;

impl Describe for Alipay {
    fn manifest(&self) -> Manifest {
        Manifest::new("alipay", env!("CARGO_PKG_VERSION"))
            .with_description("Alipay (支付宝) through the OpenAPI v2 gateway with RSA2 signatures: barcode, face, QR, JSAPI, app, H5 and PC web")
            .with_scenes(&Scene::ALL)
            .with_wallets(&["alipay"])
            .with_currencies(&[wire::CURRENCY])
            .with_described_settings(&self.settings())
            .with_secrets(&[MERCHANT_KEY, ALIPAY_KEY])
            .with_hosts(&[
                "openapi.alipay.com",
                "openapi-sandbox.dl.alipaydev.com",
                // Where `bill_download_url` points: the statement files.
                "dwbillcenter.alipay.com",
                "127.0.0.1",
            ])
    }

    fn settings(&self) -> Vec<SettingSpec> {
        vec![
            SettingSpec::url(
                "gateway_url",
                "the OpenAPI gateway: https://openapi.alipay.com/gateway.do, the sandbox's, or the simulator's",
            ),
            SettingSpec::text("app_id", "the application's APPID: 16 digits")
                .with_pattern("[0-9]{16}"),
            SettingSpec::text(
                "app_auth_token",
                "ISV mode: the token the merchant granted the service provider's app",
            )
            .with_max_length(128)
            .optional(),
            SettingSpec::url(
                "return_url",
                "where wap.pay and page.pay send the browser back",
            )
            .optional(),
            SettingSpec::one_of(
                "sign_type",
                "signature type: RSA2 (SHA256withRSA); Alipay's older RSA (SHA1) is not supported",
                &[gateway::SIGN_TYPE],
            )
            .with_default(gateway::SIGN_TYPE),
        ]
    }
}

export_channel!(Alipay);
