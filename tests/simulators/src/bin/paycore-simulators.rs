//! Runs the simulators for the demo, with the demo tenant's identities and
//! the demo-only keys from `config/secrets/`:
//! Alipay on 127.0.0.1:9100 (`/gateway.do`), WeChat Pay on 127.0.0.1:9200,
//! UnionPay on 127.0.0.1:9300 (`/gateway/api/…`), Huifu (e-CNY) on
//! 127.0.0.1:9400 (`/v3/trade/payment/…`).

use paycore_simulators::{alipay, huifu, unionpay, wechatpay};

/// The identities `config/tenants/acme.toml` uses.
pub const ALIPAY_APP_ID: &str = "2021000000000001";
pub const WECHAT_MCHID: &str = "1900000001";
pub const WECHAT_MERCHANT_SERIAL: &str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
pub const WECHAT_PLATFORM_SERIAL: &str = "PUB_KEY_ID_0119000000012026112500000000000001";
/// The demo merchant's UnionPay `merId` (its certificate is
/// `unionpay-demo-merchant.pem`, `certId` 69629715588).
pub const UNIONPAY_MER_ID: &str = "777290058110097";
/// The demo merchant's Huifu number, also its `sys_id` (direct merchant).
pub const HUIFU_ID: &str = huifu::DEMO_HUIFU_ID;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let alipay_addr = std::env::var("ALIPAY_SIM_ADDR").unwrap_or_else(|_| "127.0.0.1:9100".into());
    let wechat_addr =
        std::env::var("WECHATPAY_SIM_ADDR").unwrap_or_else(|_| "127.0.0.1:9200".into());
    let unionpay_addr =
        std::env::var("UNIONPAY_SIM_ADDR").unwrap_or_else(|_| "127.0.0.1:9300".into());
    let huifu_addr = std::env::var("HUIFU_SIM_ADDR").unwrap_or_else(|_| "127.0.0.1:9400".into());
    let alipay = alipay::Gateway::start(&alipay_addr, alipay::Config::demo(ALIPAY_APP_ID)).await?;
    let wechat = wechatpay::Server::start(
        &wechat_addr,
        wechatpay::Config::demo(WECHAT_MCHID, WECHAT_MERCHANT_SERIAL, WECHAT_PLATFORM_SERIAL),
    )
    .await?;
    let unionpay =
        unionpay::Gateway::start(&unionpay_addr, unionpay::Config::demo(UNIONPAY_MER_ID)).await?;
    let huifu = huifu::Gateway::start(&huifu_addr, huifu::Config::demo(HUIFU_ID)).await?;
    println!("Alipay gateway simulator:   {}", alipay.gateway_url());
    println!("WeChat Pay v3 simulator:    {}", wechat.base_url());
    println!("UnionPay acp simulator:     {}", unionpay.gateway_url());
    println!("Huifu e-CNY simulator:      {}", huifu.base_url());
    println!(
        "Pay a QR/JSAPI/page order:  curl -X POST '{}/_sim/pay?out_trade_no=<order>'  (WeChat, UnionPay, Huifu: same path on their ports)",
        alipay.running.url()
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}
