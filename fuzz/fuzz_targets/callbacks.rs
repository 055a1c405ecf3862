//! Channel notifications as the internet may send them, to the first-party
//! plugins' native builds: refused or understood, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paycore_plugin_sdk::Channel;
use paycore_plugin_sdk::testing::{FakeHost, call_context};
use paycore_plugin_sdk::types::HttpRequest;

fuzz_target!(|data: &[u8]| {
    let host = FakeHost::new();
    let alipay = call_context(&[("app_id", "2021000000000000")]);
    let request = HttpRequest {
        method: "POST".into(),
        url: "/v1/callbacks/t/alipay".into(),
        headers: vec![(
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        body: data.to_vec(),
    };
    let _ = paycore_plugin_alipay::Alipay.handle_callback(&host, &alipay, request.clone());
    let wechat = call_context(&[("mchid", "1900000001"), ("appid", "wx0000000000000000")]);
    let request = HttpRequest {
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("wechatpay-serial".into(), "SERIAL".into()),
            ("wechatpay-timestamp".into(), "1700000000".into()),
            ("wechatpay-nonce".into(), "nonce".into()),
            ("wechatpay-signature".into(), "c2ln".into()),
        ],
        ..request
    };
    let _ = paycore_plugin_wechatpay::WechatPay.handle_callback(&host, &wechat, request);
});
