//! The matcher, driven by data: tenant files with rules, payments, times,
//! and the rule each payment must land on.

use super::*;
use crate::config::{TenantConfig, tenant_from_str};
use crate::request::PaymentBody;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;

const CHANNELS: &str = r#"
[[channels]]
id = "a"
plugin = "sandbox@^1"
[[channels]]
id = "b"
plugin = "sandbox@^1"
"#;

/// A tenant file's rules, and what the plugins serving its channels take.
struct Tenant {
    config: TenantConfig,
    served: HashMap<String, Served>,
}

/// One channel's plugin, as its manifest describes it.
struct Served {
    plugin: String,
    scenes: Vec<Scene>,
    wallets: Vec<String>,
    currencies: Vec<String>,
}

impl Served {
    /// A sandbox-like plugin: every scene, three wallets, CNY/USD/EUR.
    fn everything(plugin: &str) -> Served {
        Served {
            plugin: plugin.into(),
            scenes: Scene::ALL.to_vec(),
            wallets: vec!["sandbox".into(), "alipay".into(), "wechat".into()],
            currencies: vec!["CNY".into(), "USD".into(), "EUR".into()],
        }
    }
}

impl Channels for Tenant {
    fn offer(&self, channel: &str) -> Offer<'_> {
        match self.served.get(channel) {
            Some(s) => Offer::Served {
                plugin: &s.plugin,
                scenes: &s.scenes,
                wallets: &s.wallets,
                currencies: &s.currencies,
            },
            None if self
                .config
                .channels
                .iter()
                .any(|c| c.id == channel && !c.enabled) =>
            {
                Offer::Disabled
            }
            None => Offer::Unserved,
        }
    }
}

impl Tenant {
    fn policy(&self) -> Policy<'_> {
        Policy {
            tenant: &self.config.id,
            timezone: &self.config.timezone,
            rules: &self.config.rules,
            channels: self,
        }
    }
}

/// A tenant with channels `a` and `b`, both served by a plugin that takes
/// every payment these tests make.
fn tenant(rules: &str) -> Tenant {
    tenant_with(rules, CHANNELS)
}

fn tenant_with(rules: &str, channels: &str) -> Tenant {
    // Rules first, so a top-level `timezone` in them stays top-level.
    let text = format!("id = \"t\"\napi_keys = [\"sk_test_routing\"]\n{rules}{channels}");
    let config = tenant_from_str(Path::new("t.toml"), &text).unwrap_or_else(|e| panic!("{e}"));
    let served = config
        .channels
        .iter()
        .filter(|c| c.enabled)
        .map(|c| (c.id.clone(), Served::everything("sandbox@1.0.0")))
        .collect();
    Tenant { config, served }
}

/// A CNY qrcode payment of 88.88, with `extra` fields merged in.
fn payment(extra: Value) -> crate::request::PaymentRequest {
    let mut body = json!({
        "merchant_order_no": "T-1",
        "amount": 8888,
        "currency": "CNY",
        "scene": "qrcode",
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let body: PaymentBody = serde_json::from_value(body).unwrap();
    body.validate().unwrap()
}

fn at(utc: &str) -> Timestamp {
    utc.parse().unwrap()
}

/// Each case: payment fields, UTC time, the rule expected to decide.
#[track_caller]
fn check(rules: &str, cases: &[(Value, &str, Option<&str>)]) {
    let t = tenant(rules);
    for (extra, now, expected) in cases {
        let p = payment(extra.clone());
        let e = explain(&t.policy(), &Intent::from(&p), at(now), &AllClosed);
        assert_eq!(
            e.rule.as_deref(),
            *expected,
            "{extra} at {now}: {:#?}",
            e.rules
        );
    }
}

const NOON: &str = "2026-11-25T04:00:00Z";

#[test]
fn scene_wallet_currency_and_the_default() {
    let rules = r#"
[[rules]]
name = "pos"
scene = ["barcode", "face"]
channel = "a"
[[rules]]
name = "alipay-usd"
wallet = "alipay"
currency = ["USD", "EUR"]
channel = "b"
[[rules]]
name = "default"
fallback = ["a", "b"]
"#;
    check(
        rules,
        &[
            (
                json!({"scene": "barcode", "auth_code": "134567890124"}),
                NOON,
                Some("pos"),
            ),
            (
                json!({"scene": "face", "auth_code": "284567890124"}),
                NOON,
                Some("pos"),
            ),
            (
                json!({"wallet": "alipay", "currency": "USD", "amount": 100}),
                NOON,
                Some("alipay-usd"),
            ),
            (
                json!({"wallet": "alipay", "currency": "CNY"}),
                NOON,
                Some("default"),
            ),
            (
                json!({"wallet": "wechat", "currency": "EUR"}),
                NOON,
                Some("default"),
            ),
            (json!({}), NOON, Some("default")),
        ],
    );
}

#[test]
fn wallets_are_inferred_from_the_auth_code_unless_given() {
    let rules = r#"
[[rules]]
name = "wechat"
wallet = "wechat"
channel = "a"
[[rules]]
name = "alipay"
wallet = "alipay"
channel = "a"
[[rules]]
name = "unionpay"
wallet = "unionpay"
channel = "a"
[[rules]]
name = "ecny"
wallet = "ecny"
channel = "a"
[[rules]]
name = "sandbox"
wallet = "sandbox"
channel = "b"
[[rules]]
name = "card"
wallet = "card"
channel = "b"
"#;
    let bc = |code: &str| json!({"scene": "barcode", "auth_code": code});
    let explicit =
        |code: &str, w: &str| json!({"scene": "barcode", "auth_code": code, "wallet": w});
    check(
        rules,
        &[
            (bc("104567890123456789"), NOON, Some("wechat")),
            (bc("154567890123456789"), NOON, Some("wechat")),
            (bc("254567890123456789"), NOON, Some("alipay")),
            (bc("304567890123456789"), NOON, Some("alipay")),
            (bc("6212345678901234567"), NOON, Some("unionpay")),
            (bc("881234567890123456"), NOON, Some("card")),
            (bc("0123456789012345678"), NOON, Some("ecny")),
            // 16, 24, 31, 61: nobody's prefix; 88 only at a card code's 18
            // digits, 01 only at an e-CNY code's 19.
            (bc("012345678901234567"), NOON, None),
            (bc("01234567890123456789"), NOON, None),
            (bc("88123456789012345"), NOON, None),
            (bc("8812345678901234567"), NOON, None),
            (bc("164567890123456789"), NOON, None),
            (bc("244567890123456789"), NOON, None),
            (bc("314567890123456789"), NOON, None),
            (bc("6112345678901234567"), NOON, None),
            // Sandbox codes name no wallet: the request must say so, and an
            // explicit wallet always wins over the prefix.
            (explicit("134567890124", "sandbox"), NOON, Some("sandbox")),
            (explicit("284567890124", "sandbox"), NOON, Some("sandbox")),
        ],
    );
    assert_eq!(wallet_from_auth_code("28abc"), None);
    assert_eq!(wallet_from_auth_code("x"), None);
}

#[test]
fn amounts_in_major_units_per_currency() {
    let rules = r#"
[[rules]]
name = "cny-small"
currency = "CNY"
amount = "< 100"
channel = "a"
[[rules]]
name = "cny-mid"
currency = "CNY"
amount = "100.00..=5000"
channel = "a"
[[rules]]
name = "jpy-big"
currency = "JPY"
amount = ">= 10000"
channel = "b"
[[rules]]
name = "bhd-exact"
currency = "BHD"
amount = "= 1.234"
channel = "b"
[[rules]]
name = "default"
channel = "a"
"#;
    let amt = |amount: i64, currency: &str| json!({"amount": amount, "currency": currency});
    check(
        rules,
        &[
            (amt(1, "CNY"), NOON, Some("cny-small")),
            (amt(9999, "CNY"), NOON, Some("cny-small")),
            (amt(10000, "CNY"), NOON, Some("cny-mid")),
            (amt(500000, "CNY"), NOON, Some("cny-mid")),
            (amt(500001, "CNY"), NOON, Some("default")),
            (amt(9999, "JPY"), NOON, Some("default")),
            (amt(10000, "JPY"), NOON, Some("jpy-big")),
            (amt(1233, "BHD"), NOON, Some("default")),
            (amt(1234, "BHD"), NOON, Some("bhd-exact")),
            (amt(1235, "BHD"), NOON, Some("default")),
            // 99 USD cents: the CNY rules do not apply to other currencies.
            (amt(99, "USD"), NOON, Some("default")),
        ],
    );
}

#[test]
fn stores_terminals_and_metadata() {
    let rules = r#"
[[rules]]
name = "flagship"
store_id = ["shop-1", "flagship-*"]
terminal_id = "pos-?"
channel = "a"
[[rules]]
name = "vip"
metadata = { tier = ["gold", "vip"], region = "north" }
channel = "b"
[[rules]]
name = "default"
channel = "a"
"#;
    check(
        rules,
        &[
            (
                json!({"store_id": "shop-1", "terminal_id": "pos-2"}),
                NOON,
                Some("flagship"),
            ),
            (
                json!({"store_id": "flagship-east", "terminal_id": "pos-9"}),
                NOON,
                Some("flagship"),
            ),
            (
                json!({"store_id": "shop-1", "terminal_id": "pos-10"}),
                NOON,
                Some("default"),
            ),
            (
                json!({"store_id": "shop-12", "terminal_id": "pos-1"}),
                NOON,
                Some("default"),
            ),
            (json!({"store_id": "shop-1"}), NOON, Some("default")),
            (
                json!({"metadata": {"tier": "gold", "region": "north"}}),
                NOON,
                Some("vip"),
            ),
            (
                json!({"metadata": {"tier": "vip", "region": "north", "x": "y"}}),
                NOON,
                Some("vip"),
            ),
            (
                json!({"metadata": {"tier": "silver", "region": "north"}}),
                NOON,
                Some("default"),
            ),
            (json!({"metadata": {"tier": "gold"}}), NOON, Some("default")),
        ],
    );
}

#[test]
fn time_windows_in_the_tenants_time_zone() {
    // Shanghai is UTC+8 all year; New York changes for DST.
    let rules = r#"
timezone = "Asia/Shanghai"
[[rules]]
name = "night"
hours = "22:00-06:00"
channel = "b"
[[rules]]
name = "weekend-lunch"
days = ["sat-sun"]
hours = "11:00-14:00"
channel = "b"
[[rules]]
name = "friday-night"
days = "fri"
hours = "18:00-24:00"
channel = "b"
[[rules]]
name = "default"
channel = "a"
"#;
    let any = json!({});
    check(
        rules,
        &[
            // 2026-11-25 is a Wednesday. 13:59 UTC = 21:59 Shanghai.
            (any.clone(), "2026-11-25T13:59:00Z", Some("default")),
            (any.clone(), "2026-11-25T14:00:00Z", Some("night")),
            // 05:59 Thursday Shanghai is still Wednesday's night.
            (any.clone(), "2026-11-25T21:59:00Z", Some("night")),
            (any.clone(), "2026-11-25T22:00:00Z", Some("default")),
            // Saturday 11:00 Shanghai = Saturday 03:00 UTC.
            (any.clone(), "2026-11-28T03:00:00Z", Some("weekend-lunch")),
            (any.clone(), "2026-11-28T06:00:00Z", Some("default")),
            // Friday 2026-11-27 20:00 Shanghai = 12:00 UTC; 23:59 is 15:59 UTC
            // but that is already "night", which comes first.
            (any.clone(), "2026-11-27T12:00:00Z", Some("friday-night")),
            (any.clone(), "2026-11-27T09:59:00Z", Some("default")),
            // Thursday 20:00 Shanghai: not Friday.
            (any.clone(), "2026-11-26T12:00:00Z", Some("default")),
        ],
    );
    let ny = r#"
timezone = "America/New_York"
[[rules]]
name = "morning"
hours = "09:00-12:00"
channel = "b"
[[rules]]
name = "default"
channel = "a"
"#;
    check(
        ny,
        &[
            // July: UTC-4, so 09:00 local is 13:00 UTC.
            (json!({}), "2026-07-01T13:00:00Z", Some("morning")),
            (json!({}), "2026-07-01T12:59:00Z", Some("default")),
            // December: UTC-5, so 09:00 local is 14:00 UTC.
            (json!({}), "2026-12-01T13:30:00Z", Some("default")),
            (json!({}), "2026-12-01T14:00:00Z", Some("morning")),
        ],
    );
}

#[test]
fn a_payment_no_rule_matches_names_every_rule_it_missed() {
    let t = tenant(
        r#"
[[rules]]
name = "alipay only"
wallet = "alipay"
channel = "a"
[[rules]]
name = "big"
currency = "CNY"
amount = ">= 1000"
channel = "b"
"#,
    );
    let p = payment(json!({"wallet": "wechat"}));
    let e = explain(&t.policy(), &Intent::from(&p), at(NOON), &AllClosed);
    assert_eq!(e.rule, None);
    let reasons: Vec<String> = e
        .rules
        .iter()
        .map(|r| format!("{}: {}", r.name, r.reason.clone().unwrap()))
        .collect();
    assert_eq!(
        reasons,
        [
            "alipay only: wallet wechat is not alipay",
            "big: amount 88.88 CNY is not in `>= 1000`",
        ]
    );
    let no = route(&t.policy(), &Intent::from(&p), at(NOON), &AllClosed).unwrap_err();
    assert_eq!(
        no.reasons,
        [
            "rule `alipay only` missed: wallet wechat is not alipay",
            "rule `big` missed: amount 88.88 CNY is not in `>= 1000`",
        ]
    );
}

#[test]
fn a_tenant_without_rules_tries_every_channel_in_order() {
    let t = tenant("");
    assert_eq!(t.config.rules.len(), 1);
    assert_eq!(
        t.config.rules[0].target,
        Target::Fallback(vec!["a".into(), "b".into()])
    );
}

/// 10,000 orders through an 80/20 split rule: the share picked first is
/// within 2 percentage points of the weight (the binomial standard
/// deviation is 0.4 points: a 5-sigma bound, no flaky runs), every order
/// picks the same channel again, and the other channel follows as fallback.
#[test]
fn a_split_is_stable_per_order_and_lists_the_others_as_fallback() {
    let t = tenant(
        r#"
[[rules]]
name = "share"
split = { a = 80, b = 20 }
"#,
    );
    let mut on_a = 0u32;
    for n in 0..10_000 {
        let p = payment(json!({ "merchant_order_no": format!("S-{n}") }));
        let e = explain(&t.policy(), &Intent::from(&p), at(NOON), &AllClosed);
        let order: Vec<&str> = e.candidates.iter().map(|c| c.channel.as_str()).collect();
        assert!(order == ["a", "b"] || order == ["b", "a"], "{order:?}");
        assert!(
            e.candidates[0].role.starts_with("picked by weight"),
            "{:?}",
            e.candidates
        );
        assert!(
            e.candidates[1].role.starts_with("not picked"),
            "{:?}",
            e.candidates
        );
        let again = explain(&t.policy(), &Intent::from(&p), at(NOON), &AllClosed);
        assert_eq!(again.candidates[0].channel, order[0], "S-{n} moved");
        if order[0] == "a" {
            on_a += 1;
        }
    }
    let share = f64::from(on_a) / 10_000.0;
    assert!((share - 0.80).abs() <= 0.02, "observed {share}");
}

/// Breaker states set per channel; every other channel closed.
struct Breakers(HashMap<&'static str, BreakerState>);

impl Health for Breakers {
    fn state(&self, channel: &str, _: Timestamp) -> BreakerState {
        self.0.get(channel).copied().unwrap_or(BreakerState::Closed)
    }
}

fn kept_and_why(e: &Explanation) -> Vec<(String, bool, String)> {
    e.candidates
        .iter()
        .map(|c| (c.channel.clone(), c.kept, c.reason.clone()))
        .collect()
}

/// A candidate is kept only if its plugin serves the payment's scene,
/// wallet and currency, and is configured, enabled and loaded; each skip
/// says why.
#[test]
fn candidates_are_filtered_by_what_their_plugins_serve() {
    let channels = r#"
[[channels]]
id = "cny_qr"
plugin = "p@^1"
[[channels]]
id = "usd_only"
plugin = "p@^1"
[[channels]]
id = "off"
plugin = "p@^1"
enabled = false
[[channels]]
id = "unloaded"
plugin = "p@^1"
"#;
    let mut t = tenant_with(
        r#"
[[rules]]
name = "all"
fallback = ["usd_only", "off", "unloaded", "cny_qr"]
"#,
        channels,
    );
    t.served.insert(
        "cny_qr".into(),
        Served {
            plugin: "qr@1.2.0".into(),
            scenes: vec![Scene::Qrcode],
            wallets: vec!["alipay".into()],
            currencies: vec!["CNY".into()],
        },
    );
    t.served.insert(
        "usd_only".into(),
        Served {
            currencies: vec!["USD".into()],
            ..Served::everything("usd@1.0.0")
        },
    );
    t.served.remove("unloaded");

    let qr = payment(json!({"wallet": "alipay"}));
    let e = explain(&t.policy(), &Intent::from(&qr), at(NOON), &AllClosed);
    assert_eq!(
        kept_and_why(&e),
        [
            (
                "usd_only".into(),
                false,
                "skipped: plugin usd@1.0.0 does not serve currency CNY".into()
            ),
            (
                "off".into(),
                false,
                "skipped: the channel is disabled".into()
            ),
            (
                "unloaded".into(),
                false,
                "skipped: no loaded plugin serves this channel".into()
            ),
            (
                "cny_qr".into(),
                true,
                "its plugin serves this scene, wallet and currency".into()
            ),
        ]
    );
    assert_eq!(e.channel.as_deref(), Some("cny_qr"));
    assert_eq!(e.candidates[3].plugin.as_deref(), Some("qr@1.2.0"));
    let r = route(&t.policy(), &Intent::from(&qr), at(NOON), &AllClosed).unwrap();
    assert_eq!(
        r.candidates,
        [Candidate {
            channel: "cny_qr".into(),
            wallet: "alipay".into()
        }]
    );

    // A barcode payment: the QR-only plugin cannot take it, nor the
    // USD-only one a CNY payment; nothing is left, and each says why.
    let barcode = payment(json!({"scene": "barcode", "auth_code": "284567890124"}));
    let no = route(&t.policy(), &Intent::from(&barcode), at(NOON), &AllClosed).unwrap_err();
    assert_eq!(
        no.wallet.as_deref(),
        Some("alipay"),
        "from the code's prefix"
    );
    assert_eq!(
        no.reasons,
        [
            "rule `all` matched, but none of its channels can serve",
            "usd_only: skipped: plugin usd@1.0.0 does not serve currency CNY",
            "off: skipped: the channel is disabled",
            "unloaded: skipped: no loaded plugin serves this channel",
            "cny_qr: skipped: plugin qr@1.2.0 does not serve scene barcode",
        ]
    );

    // A wallet the plugin does not list.
    let wechat = payment(json!({"wallet": "wechat"}));
    let e = explain(&t.policy(), &Intent::from(&wechat), at(NOON), &AllClosed);
    assert_eq!(
        e.candidates[3].reason,
        "skipped: plugin qr@1.2.0 does not serve wallet wechat"
    );
    assert_eq!(e.channel, None);
}

/// Without a wallet in the payment or its code, each channel is asked for
/// its plugin's first wallet.
#[test]
fn an_unknown_wallet_is_each_plugins_first() {
    let t = tenant("");
    let p = payment(json!({}));
    let r = route(&t.policy(), &Intent::from(&p), at(NOON), &AllClosed).unwrap();
    assert_eq!(r.rule, "default");
    assert_eq!(
        r.candidates,
        [
            Candidate {
                channel: "a".into(),
                wallet: "sandbox".into()
            },
            Candidate {
                channel: "b".into(),
                wallet: "sandbox".into()
            },
        ]
    );
}

/// An open breaker skips its channel while another can serve; when none
/// with a closed breaker is left it is tried anyway; a half-open one is
/// kept to probe the channel.
#[test]
fn breakers_skip_a_failing_channel_only_while_another_can_serve() {
    let t = tenant(
        r#"
[[rules]]
name = "both"
fallback = ["a", "b"]
"#,
    );
    let p = payment(json!({}));
    let intent = Intent::from(&p);
    let until: Timestamp = "2026-11-25T04:01:00Z".parse().unwrap();

    let a_open = Breakers([("a", BreakerState::Open { until })].into());
    let e = explain(&t.policy(), &intent, at(NOON), &a_open);
    assert_eq!(
        kept_and_why(&e),
        [
            (
                "a".into(),
                false,
                "skipped: circuit breaker open until 2026-11-25T04:01:00Z".into()
            ),
            (
                "b".into(),
                true,
                "its plugin serves this scene, wallet and currency".into()
            ),
        ]
    );
    assert_eq!(e.candidates[0].breaker, Some("open"));
    assert_eq!(e.channel.as_deref(), Some("b"));

    let both_open = Breakers(
        [
            ("a", BreakerState::Open { until }),
            ("b", BreakerState::Open { until }),
        ]
        .into(),
    );
    let r = route(&t.policy(), &intent, at(NOON), &both_open).unwrap();
    let order: Vec<&str> = r.candidates.iter().map(|c| c.channel.as_str()).collect();
    assert_eq!(order, ["a", "b"], "none closed: all are tried, in order");
    let e = explain(&t.policy(), &intent, at(NOON), &both_open);
    assert!(
        e.candidates[0].reason.contains("tried anyway"),
        "{}",
        e.candidates[0].reason
    );

    let a_half = Breakers([("a", BreakerState::HalfOpen)].into());
    let e = explain(&t.policy(), &intent, at(NOON), &a_half);
    assert!(e.candidates[0].kept);
    assert!(
        e.candidates[0].reason.contains("probes the channel"),
        "{}",
        e.candidates[0].reason
    );
    assert_eq!(e.channel.as_deref(), Some("a"));
}
