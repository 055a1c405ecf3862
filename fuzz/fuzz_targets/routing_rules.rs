//! Arbitrary `[[rules]]` (and top-level keys such as `timezone`) in front of
//! two fixed channels: they parse or are refused, and whatever parses can be
//! evaluated against a payment without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paycore::domain::Scene;
use paycore::registry::Tenant;
use paycore::routing::{AllClosed, Intent, explain};
use std::collections::BTreeMap;
use std::path::Path;

const HEAD: &str = "id = \"t\"\napi_keys = [\"sk_test_fuzzing\"]\n";
const CHANNELS: &str = "\n[[channels]]\nid = \"a\"\nplugin = \"sandbox@^1\"\n[[channels]]\nid = \"b\"\nplugin = \"sandbox@^1\"\n";

fuzz_target!(|data: &[u8]| {
    let Ok(rules) = std::str::from_utf8(data) else {
        return;
    };
    let text = format!("{HEAD}{rules}{CHANNELS}");
    let Ok(config) = paycore::config::tenant_from_str(Path::new("t.toml"), &text) else {
        return;
    };
    let tenant = Tenant {
        config,
        channels: Vec::new(),
    };
    let metadata: BTreeMap<String, String> = [("campaign".to_string(), "x".to_string())].into();
    for (amount, scene) in [(1, Scene::Barcode), (8_888, Scene::Qrcode), (i64::MAX, Scene::Jsapi)] {
        let intent = Intent {
            merchant_order_no: "FUZZ-1",
            scene,
            wallet: Some("alipay"),
            auth_code: Some("283400011122223334"),
            amount,
            currency: "CNY",
            store_id: Some("s1"),
            terminal_id: None,
            metadata: &metadata,
        };
        let _ = explain(&tenant, &intent, jiff::Timestamp::UNIX_EPOCH, &AllClosed);
    }
});
