//! Which wallet app, if any, shows the page: each wallet's in-app browser
//! says so in its user agent. Used to offer that wallet first (and its
//! in-app payment where possible); never trusted for anything else, since a
//! user agent is whatever the browser says.

/// The wallet whose in-app browser sent this user agent.
pub fn wallet_from_user_agent(user_agent: &str) -> Option<&'static str> {
    // WeChat (and WeCom) put `MicroMessenger/<version>` in their agent.
    if user_agent.contains("MicroMessenger/") {
        return Some("wechat");
    }
    // Alipay's app: `AlipayClient/<version>` (also in its mini programs).
    if user_agent.contains("AlipayClient") {
        return Some("alipay");
    }
    // UnionPay's Cloud QuickPass (云闪付): `UnionPay/<version>` / `com.unionpay`.
    if user_agent.contains("UnionPay/") || user_agent.contains("com.unionpay") {
        return Some("unionpay");
    }
    // paycore's sandbox wallet, for the demo and the browser tests.
    if user_agent.contains("PaycoreSandboxWallet/") {
        return Some("sandbox");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wallets_are_recognised_by_their_in_app_browsers() {
        for (ua, want) in [
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.44(0x18002c2f) NetType/WIFI Language/zh_CN",
                Some("wechat"),
            ),
            (
                "Mozilla/5.0 (Linux; Android 13; V2227A) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/101.0.4951.74 Mobile Safari/537.36 MicroMessenger/8.0.40.2420(0x28002837) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64",
                Some("wechat"),
            ),
            (
                "Mozilla/5.0 (Linux; U; Android 12; zh-CN; PGJM10 Build/SP1A.210812.016) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/69.0.3497.100 UWS/3.22.2.58 Mobile Safari/537.36 UCBS/3.22.2.58_230817100031 ChannelId(0) NebulaSDK/1.8.100112 Nebula AlipayDefined(nt:WIFI,ws:412|0|2.625) AliApp(AP/10.5.36.8000) AlipayClient/10.5.36.8000 Language/zh-Hans",
                Some("alipay"),
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 (com.unionpay.chsp) (cordova 4.5.4) (updebug 0) (version 1010) (UnionPay/1.0 CloudPay) (clientVersion 308) (language zh_CN)",
                Some("unionpay"),
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) PaycoreSandboxWallet/1.0",
                Some("sandbox"),
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
                None,
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
                None,
            ),
            ("", None),
            ("MicroMessenger", None),
        ] {
            assert_eq!(wallet_from_user_agent(ua), want, "{ua}");
        }
    }
}
