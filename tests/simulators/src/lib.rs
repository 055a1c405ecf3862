//! Loopback simulators of the upstream side of four real channels, faithful
//! enough that a plugin passing against them speaks the published protocol:
//!
//! - [`alipay`]: the OpenAPI v2 gateway (`/gateway.do`), RSA2 both ways;
//! - [`wechatpay`]: the WeChat Pay API v3, `WECHATPAY2-SHA256-RSA2048`
//!   requests, platform-signed answers, AES-256-GCM callback resources;
//! - [`unionpay`]: UnionPay's acp 5.1.0 QR-code gateway, double-hash RSA
//!   signatures, answers and notifications carrying the signing certificate;
//! - [`huifu`]: Huifu's 斗拱 open API v3 for e-CNY (数字人民币) B扫C and C扫B,
//!   SHA256withRSA over canonical JSON `data`, form notifications.
//!
//! Each verifies every request with the merchant's public key and refuses
//! bad ones with the documented error, keeps order state (paid, closed,
//! refunded amounts) and sends signed callbacks. What an order does is
//! scripted per order number with [`Behaviour`], so tests are deterministic;
//! orders nobody scripted follow the payment code's last digit (see
//! [`Behaviour::for_auth_code`]), which is what the demo relies on.

pub mod alipay;
mod clock;
mod control;
pub mod huifu;
mod orders;
mod server;
pub mod unionpay;
pub mod wechatpay;

pub use clock::BusinessClock;
pub use control::{Channel, Simulator};
pub use orders::{Behaviour, Order, OrderState, Orders, Refund, Tweak};
pub use server::Running;

/// The demo-only keys committed under `config/secrets/` (see its README).
pub mod demo_keys {
    pub const ALIPAY_MERCHANT_PUBLIC: &str =
        include_str!("../../../config/secrets/alipay-demo-merchant-public.pem");
    pub const ALIPAY_GATEWAY_PRIVATE: &str =
        include_str!("../../../config/secrets/alipay-demo-gateway-private.pem");
    pub const WECHATPAY_MERCHANT_PUBLIC: &str =
        include_str!("../../../config/secrets/wechatpay-demo-merchant-public.pem");
    pub const WECHATPAY_PLATFORM_PRIVATE: &str =
        include_str!("../../../config/secrets/wechatpay-demo-platform-private.pem");
    pub const WECHATPAY_APIV3_KEY: &[u8] =
        include_bytes!("../../../config/secrets/wechatpay-demo-apiv3.key");
    /// UnionPay's demo PKI: the root and middle (intermediate) CA
    /// certificates a merchant trusts, the middle's key the simulator issues
    /// the signing certificate with, and the signing certificate's key.
    pub const UNIONPAY_ROOT_CERT: &str =
        include_str!("../../../config/secrets/unionpay-demo-root.pem");
    pub const UNIONPAY_ROOT_PRIVATE: &str =
        include_str!("../../../config/secrets/unionpay-demo-root-private.pem");
    pub const UNIONPAY_MIDDLE_CERT: &str =
        include_str!("../../../config/secrets/unionpay-demo-middle.pem");
    pub const UNIONPAY_MIDDLE_PRIVATE: &str =
        include_str!("../../../config/secrets/unionpay-demo-middle-private.pem");
    pub const UNIONPAY_SIGN_PRIVATE: &str =
        include_str!("../../../config/secrets/unionpay-demo-sign-private.pem");
    /// The merchant's public key, to verify requests naming its `certId`.
    pub const UNIONPAY_MERCHANT_PUBLIC: &str =
        include_str!("../../../config/secrets/unionpay-demo-merchant-public.pem");
    /// Huifu (e-CNY): the merchant's public key, to verify its requests,
    /// and Huifu's key that signs answers and notifications.
    pub const ECNY_MERCHANT_PUBLIC: &str =
        include_str!("../../../config/secrets/ecny-demo-merchant-public.pem");
    pub const ECNY_HUIFU_PRIVATE: &str =
        include_str!("../../../config/secrets/ecny-demo-huifu-private.pem");
    /// Huifu's public key, which paycore verifies answers and notifications with.
    pub const ECNY_HUIFU_PUBLIC: &str =
        include_str!("../../../config/secrets/ecny-demo-huifu-public.pem");
    /// Private halves paycore holds (only tests read them, to prove they never leak).
    pub const ALIPAY_MERCHANT_PRIVATE: &str =
        include_str!("../../../config/secrets/alipay-demo-merchant-private.pem");
    pub const WECHATPAY_MERCHANT_PRIVATE: &str =
        include_str!("../../../config/secrets/wechatpay-demo-merchant-private.pem");
    /// The merchant's private key followed by its certificate (serial
    /// 69629715588, the `certId` its requests carry).
    pub const UNIONPAY_MERCHANT: &str =
        include_str!("../../../config/secrets/unionpay-demo-merchant.pem");
    pub const ECNY_MERCHANT_PRIVATE: &str =
        include_str!("../../../config/secrets/ecny-demo-merchant-private.pem");
}
