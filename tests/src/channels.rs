//! The `shop` tenant: an Alipay, a WeChat Pay, a UnionPay and an e-CNY
//! channel (through the acquirer Huifu), routed by wallet, pointing at
//! loopback simulators that this set-up starts and owns.

use crate::{Extra, Options, Reply, TestApp};
use paycore_simulators::{BusinessClock, alipay, huifu, unionpay, wechatpay};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

pub const SHOP_KEY: &str = "sk_test_shop";
pub const ALIPAY_APP_ID: &str = "2021000000000001";
pub const WECHAT_MCHID: &str = "1900000001";
pub const WECHAT_SERIAL: &str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
pub const WECHAT_PLATFORM_SERIAL: &str = "PUB_KEY_ID_0119000000012026112500000000000001";
pub const UNIONPAY_MER_ID: &str = "777290058110097";
pub const HUIFU_ID: &str = "6666000108854952";

/// paycore with the `shop` tenant, and the two simulators behind it.
pub struct Shop {
    pub app: TestApp,
    pub alipay: alipay::Gateway,
    pub wechat: wechatpay::Server,
    pub unionpay: unionpay::Gateway,
    pub huifu: huifu::Gateway,
}

/// Asserts that no line of the private key `pem` (its first 40
/// characters) shows in `seen`: what a channel received and paycore answered.
pub fn assert_no_key_material(seen: &str, pem: &str) {
    for line in pem.lines().filter(|l| !l.starts_with("-----")) {
        assert!(
            !seen.contains(&line[..40.min(line.len())]),
            "key material left the host"
        );
    }
}

/// paycore's business clock as the simulators read it.
fn business_clock(clock: Option<paycore::clock::Clock>) -> BusinessClock {
    match clock {
        None => BusinessClock::system(),
        Some(clock) => BusinessClock::from_fn(move || {
            time::OffsetDateTime::from_unix_timestamp_nanos(clock.now().as_nanosecond())
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        }),
    }
}

fn secret(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../config/secrets")
        .join(file);
    format!("file:{}", path.canonicalize().expect("demo key").display())
}

impl Shop {
    pub async fn start() -> Shop {
        Shop::start_with(Options::default()).await
    }

    pub async fn start_with(opts: Options) -> Shop {
        // Late answers come after paycore's HTTP timeout (2 s in tests).
        let slow = Duration::from_millis(3_000);
        // The simulators date payments by paycore's business clock, so a
        // test that moves it finds its payments on that day's statement.
        let clock = business_clock(opts.clock.clone());
        let alipay = alipay::Gateway::start(
            "127.0.0.1:0",
            alipay::Config {
                slow,
                clock: clock.clone(),
                ..alipay::Config::demo(ALIPAY_APP_ID)
            },
        )
        .await
        .expect("the Alipay simulator starts");
        let wechat = wechatpay::Server::start(
            "127.0.0.1:0",
            wechatpay::Config {
                slow,
                clock: clock.clone(),
                ..wechatpay::Config::demo(WECHAT_MCHID, WECHAT_SERIAL, WECHAT_PLATFORM_SERIAL)
            },
        )
        .await
        .expect("the WeChat Pay simulator starts");
        let unionpay = unionpay::Gateway::start(
            "127.0.0.1:0",
            unionpay::Config {
                slow,
                clock: clock.clone(),
                ..unionpay::Config::demo(UNIONPAY_MER_ID)
            },
        )
        .await
        .expect("the UnionPay simulator starts");
        let huifu = huifu::Gateway::start(
            "127.0.0.1:0",
            huifu::Config {
                slow,
                clock,
                ..huifu::Config::demo(HUIFU_ID)
            },
        )
        .await
        .expect("the Huifu simulator starts");
        let tenant = format!(
            r#"
id = "shop"
api_keys = ["{SHOP_KEY}"]
webhook_secret = "inline:{secret}"
notify_url = "{{hook_url}}"

[[channels]]
id = "alipay-main"
plugin = "alipay@^1"
allowed_hosts = ["127.0.0.1"]
settings = {{ gateway_url = "{gateway}", app_id = "{ALIPAY_APP_ID}" }}
secrets = {{ merchant_private_key = "{ali_private}", alipay_public_key = "{ali_public}" }}

[[channels]]
id = "wechat-main"
plugin = "wechatpay@^1"
allowed_hosts = ["127.0.0.1"]
settings = {{ base_url = "{wechat_base}", mchid = "{WECHAT_MCHID}", appid = "wxd678efh567hg6787", serial_no = "{WECHAT_SERIAL}", platform_serial = "{WECHAT_PLATFORM_SERIAL}" }}
secrets = {{ merchant_private_key = "{wx_private}", platform_public_key = "{wx_public}", apiv3_key = "{wx_v3}" }}

[[channels]]
id = "unionpay-main"
plugin = "unionpay@^1"
allowed_hosts = ["127.0.0.1"]
settings = {{ gateway_url = "{unionpay_base}", mer_id = "{UNIONPAY_MER_ID}" }}
secrets = {{ merchant_sign_key = "{up_key}", unionpay_root_cert = "{up_root}", unionpay_middle_cert = "{up_middle}" }}

[[channels]]
id = "ecny-main"
plugin = "ecny@^1"
allowed_hosts = ["127.0.0.1"]
settings = {{ base_url = "{huifu_base}", huifu_id = "{HUIFU_ID}", product_id = "MCS" }}
secrets = {{ merchant_private_key = "{ecny_key}", huifu_public_key = "{huifu_public}" }}
"#,
            secret = crate::WEBHOOK_SECRET,
            gateway = alipay.gateway_url(),
            wechat_base = wechat.base_url(),
            ali_private = secret("alipay-demo-merchant-private.pem"),
            ali_public = secret("alipay-demo-gateway-public.pem"),
            wx_private = secret("wechatpay-demo-merchant-private.pem"),
            wx_public = secret("wechatpay-demo-platform-public.pem"),
            wx_v3 = secret("wechatpay-demo-apiv3.key"),
            unionpay_base = unionpay.gateway_url(),
            up_key = secret("unionpay-demo-merchant.pem"),
            up_root = secret("unionpay-demo-root.pem"),
            up_middle = secret("unionpay-demo-middle.pem"),
            huifu_base = huifu.base_url(),
            ecny_key = secret("ecny-demo-merchant-private.pem"),
            huifu_public = secret("ecny-demo-huifu-public.pem"),
        );
        let extra = Extra {
            plugins: vec![
                "alipay".into(),
                "wechatpay".into(),
                "unionpay".into(),
                "ecny".into(),
            ],
            tenants: vec![("shop".into(), tenant)],
        };
        let app = TestApp::start_with_extra(opts, extra).await;
        Shop {
            app,
            alipay,
            wechat,
            unionpay,
            huifu,
        }
    }

    /// The shop on `clock`, with a sweeper that waits an hour between
    /// passes: in a reconciliation test nothing but the run itself may
    /// settle what the day left open.
    pub async fn start_reconciling(clock: &paycore::clock::Clock) -> Shop {
        Shop::start_with(Options {
            clock: Some(clock.clone()),
            sweeper_interval_ms: 3_600_000,
            ..Options::default()
        })
        .await
    }

    /// A payment's status as the shop reads it.
    pub async fn payment_status(&self, id: &str) -> String {
        let r = self.app.get(SHOP_KEY, &format!("/v1/payments/{id}")).await;
        r.body["status"].as_str().unwrap().to_owned()
    }

    /// Creates a payment for the shop.
    pub async fn pay(&self, body: Value) -> Reply {
        self.app.post(SHOP_KEY, "/v1/payments", body).await
    }

    /// `POST /v1/payments/{id}/sync`.
    pub async fn sync(&self, id: &str) -> Reply {
        self.app
            .post(SHOP_KEY, &format!("/v1/payments/{id}/sync"), json!({}))
            .await
    }

    /// Refunds `amount` of payment `id` as refund number `no`.
    pub async fn refund(&self, id: &str, no: &str, amount: i64) -> Reply {
        self.app
            .post(
                SHOP_KEY,
                &format!("/v1/payments/{id}/refunds"),
                json!({"merchant_refund_no": no, "amount": amount, "reason": "cold"}),
            )
            .await
    }

    /// Reads payment `id` (never a sync) until it is no longer `status`
    /// (bounded), and answers its status then.
    pub async fn status_after(&self, id: &str, status: &str) -> String {
        crate::eventually_async(&format!("payment {id} to leave {status}"), async || {
            let read = self.app.get(SHOP_KEY, &format!("/v1/payments/{id}")).await;
            let now = read.body["status"].as_str()?.to_owned();
            (now != status).then_some(now)
        })
        .await
    }
}
