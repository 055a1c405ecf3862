//! The paycore channel for WeChat Pay API v3 (`https://api.mch.weixin.qq.com`),
//! for direct merchants and service providers. The merchant's private key,
//! the APIv3 key and the platform public key stay in the host: this plugin
//! only names them (see `README.md` for settings, scenes and mapping tables).
//! Since 1.1.0 it also reads the day's trade bill for reconciliation
//! (`statement`).

mod api;
mod notify;
mod ops;
mod sign;
mod statement;
mod wire;

pub use sign::{APIV3_KEY, MERCHANT_KEY, PLATFORM_KEY};

use paycore_plugin_sdk::types::{Manifest, Scene, SettingSpec};
use paycore_plugin_sdk::{Describe, export_channel};

#[derive(Default)]
pub struct WechatPay;

impl Describe for WechatPay {
    fn manifest(&self) -> Manifest {
        Manifest::new("wechatpay", env!("CARGO_PKG_VERSION"))
            .with_description("WeChat Pay (微信支付) API v3: codepay for barcode and face, Native QR, JSAPI, app and H5, direct or partner merchants")
            .with_scenes(&Scene::ALL)
            .with_wallets(&["wechat"])
            .with_currencies(&[wire::CURRENCY])
            .with_described_settings(&self.settings())
            .with_secrets(&[MERCHANT_KEY, PLATFORM_KEY, APIV3_KEY])
            .with_hosts(&["api.mch.weixin.qq.com", "127.0.0.1"])
    }

    fn settings(&self) -> Vec<SettingSpec> {
        // AppIDs are `wx` and 16 letters or digits (a WeCom corp id, `ww…`,
        // can be bound too); merchant ids are digits.
        const APPID: &str = "w[xw][0-9A-Za-z]{16}";
        const MCHID: &str = "[0-9]{1,32}";
        vec![
            SettingSpec::url(
                "base_url",
                "the API root: https://api.mch.weixin.qq.com, or the simulator's",
            ),
            SettingSpec::text(
                "mchid",
                "the merchant id (partner mode: the provider's sp_mchid)",
            )
            .with_pattern(MCHID),
            SettingSpec::text("appid", "the bound AppID (partner mode: sp_appid)")
                .with_pattern(APPID),
            SettingSpec::text(
                "serial_no",
                "the serial number of the merchant API certificate, in hex",
            )
            .with_pattern("[0-9A-Fa-f]{1,64}"),
            SettingSpec::text(
                "platform_serial",
                "the serial (or PUB_KEY_ID_…) of the platform key answers are signed with",
            )
            .with_max_length(128),
            SettingSpec::text("sub_mchid", "partner mode: the sub-merchant's id")
                .with_pattern(MCHID)
                .optional(),
            SettingSpec::text("sub_appid", "partner mode: the sub-merchant's AppID")
                .with_pattern(APPID)
                .optional(),
        ]
    }
}

export_channel!(WechatPay);
