//! The fuzzers' committed corpora (fuzz/corpus/TARGET), replayed on every
//! test run without a nightly toolchain: an input that once crashed a
//! target and was added to its corpus stays a regression test here.

use paycore::domain::Scene;
use paycore::payments::request::PaymentBody;
use paycore::registry::Tenant;
use paycore::routing::{AllClosed, Intent, explain};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut inputs: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let path = e.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "{} is empty", dir.display());
    inputs
}

#[test]
fn tenant_config_inputs_are_accepted_or_refused_with_a_reason() {
    for (path, bytes) in corpus("tenant_config") {
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        if let Err(errors) = paycore::config::tenant_from_str(Path::new("t.toml"), text) {
            assert!(!errors.0.is_empty(), "{}", path.display());
        }
    }
}

#[test]
fn routing_rule_inputs_parse_or_are_refused_and_evaluate() {
    let metadata: BTreeMap<String, String> = BTreeMap::new();
    for (_, bytes) in corpus("routing_rules") {
        let Ok(rules) = std::str::from_utf8(&bytes) else {
            continue;
        };
        let text = format!(
            "id = \"t\"\napi_keys = [\"sk_test_fuzzing\"]\n{rules}\n[[channels]]\nid = \"a\"\nplugin = \"sandbox@^1\"\n[[channels]]\nid = \"b\"\nplugin = \"sandbox@^1\"\n"
        );
        let Ok(config) = paycore::config::tenant_from_str(Path::new("t.toml"), &text) else {
            continue;
        };
        let tenant = Tenant {
            config,
            channels: Vec::new(),
        };
        let intent = Intent {
            merchant_order_no: "FUZZ-1",
            scene: Scene::Qrcode,
            wallet: Some("alipay"),
            auth_code: None,
            amount: 8_888,
            currency: "CNY",
            store_id: None,
            terminal_id: None,
            metadata: &metadata,
        };
        let _ = explain(&tenant, &intent, jiff::Timestamp::UNIX_EPOCH, &AllClosed);
    }
}

#[test]
fn payment_body_inputs_are_valid_or_name_their_field() {
    for (path, bytes) in corpus("payment_body") {
        if let Ok(body) = serde_json::from_slice::<PaymentBody>(&bytes)
            && let Err(e) = body.validate()
        {
            assert!(!e.field.is_empty(), "{}", path.display());
        }
    }
}
