//! The fuzz targets' bodies: `fuzz/fuzz_targets/*` run them under
//! libFuzzer, and `tests/fuzz_corpus.rs` replays the committed corpora
//! through them on every test run, so both check the same properties.
//! Each panics on a broken property, never on bad input.

use crate::config::tenant_from_str;
use crate::domain::Scene;
use crate::request::PaymentBody;
use crate::routing::{self, AllClosed, Channels, Intent, Offer, Policy};
use std::collections::BTreeMap;
use std::path::Path;

/// A tenant file's text is a valid tenant or a list of problems, never a
/// panic.
pub fn tenant_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(errors) = tenant_from_str(Path::new("t.toml"), text) {
        assert!(!errors.0.is_empty(), "a refusal names at least one problem");
        let _ = errors.to_string();
    }
}

/// The create-payment body: refused with a reason naming a field, or a
/// valid request; never a panic.
pub fn payment_body(data: &[u8]) {
    if let Ok(body) = serde_json::from_slice::<PaymentBody>(data)
        && let Err(e) = body.validate()
    {
        assert!(!e.field.is_empty(), "a refusal names its field");
    }
}

const HEAD: &str = "id = \"t\"\napi_keys = [\"sk_test_fuzzing\"]\n";
const CHANNELS: &str = "\n[[channels]]\nid = \"a\"\nplugin = \"sandbox@^1\"\n[[channels]]\nid = \"b\"\nplugin = \"sandbox@^1\"\n[[channels]]\nid = \"c\"\nplugin = \"sandbox@^1\"\nenabled = false\n";

/// Channel `a` takes every scene in CNY with three wallets; `b` only
/// barcode payments from Alipay; `c` is disabled; anything else unserved.
struct FuzzChannels {
    every_scene: Vec<Scene>,
    wallets: Vec<String>,
    alipay: Vec<String>,
    cny: Vec<String>,
}

impl Channels for FuzzChannels {
    fn offer(&self, channel: &str) -> Offer<'_> {
        match channel {
            "a" => Offer::Served {
                plugin: "sandbox@1.0.0",
                scenes: &self.every_scene,
                wallets: &self.wallets,
                currencies: &self.cny,
            },
            "b" => Offer::Served {
                plugin: "barcode@1.0.0",
                scenes: &[Scene::Barcode],
                wallets: &self.alipay,
                currencies: &self.cny,
            },
            "c" => Offer::Disabled,
            _ => Offer::Unserved,
        }
    }
}

/// Arbitrary `[[rules]]` (and top-level keys such as `timezone`) in front
/// of fixed channels: they parse or are refused, and whatever parses routes
/// payments without panicking, through candidate filtering and breakers,
/// with `route` and `explain` agreeing on the first channel.
pub fn routing_rules(data: &[u8]) {
    let Ok(rules) = std::str::from_utf8(data) else {
        return;
    };
    let text = format!("{HEAD}{rules}{CHANNELS}");
    let Ok(config) = tenant_from_str(Path::new("t.toml"), &text) else {
        return;
    };
    let channels = FuzzChannels {
        every_scene: Scene::ALL.to_vec(),
        wallets: vec!["sandbox".into(), "alipay".into(), "wechat".into()],
        alipay: vec!["alipay".into()],
        cny: vec!["CNY".into()],
    };
    let policy = Policy {
        tenant: &config.id,
        timezone: &config.timezone,
        rules: &config.rules,
        channels: &channels,
    };
    let metadata: BTreeMap<String, String> = [("campaign".to_string(), "x".to_string())].into();
    let payments = [
        (
            1,
            Scene::Barcode,
            Some("alipay"),
            Some("283400011122223334"),
        ),
        (8_888, Scene::Qrcode, None, None),
        (i64::MAX, Scene::Jsapi, Some("wechat"), None),
    ];
    for (amount, scene, wallet, auth_code) in payments {
        let intent = Intent {
            merchant_order_no: "FUZZ-1",
            scene,
            wallet,
            auth_code,
            amount,
            currency: "CNY",
            store_id: Some("s1"),
            terminal_id: None,
            metadata: &metadata,
        };
        let now = jiff::Timestamp::UNIX_EPOCH;
        let e = routing::explain(&policy, &intent, now, &AllClosed);
        let first_kept = e.candidates.iter().find(|c| c.kept).map(|c| &c.channel);
        assert_eq!(e.channel.as_ref(), first_kept);
        match routing::route(&policy, &intent, now, &AllClosed) {
            Ok(route) => {
                assert_eq!(Some(&route.candidates[0].channel), e.channel.as_ref());
                assert_eq!(Some(&route.rule), e.rule.as_ref());
            }
            Err(no) => {
                assert!(e.channel.is_none(), "{e:?}");
                assert!(!no.reasons.is_empty(), "a refusal says why");
            }
        }
    }
}
