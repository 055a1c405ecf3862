//! The fuzzers' committed corpora (fuzz/corpus/TARGET), replayed on every
//! test run without a nightly toolchain, through the same bodies the fuzz
//! targets run (`paycore_core::fuzzing`): an input that once crashed a
//! target and was added to its corpus stays a regression test here.

use paycore_core::fuzzing;
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

/// Runs `body` on every input of `target`'s corpus, naming the input that
/// broke a property.
fn replay(target: &str, body: fn(&[u8])) {
    for (path, bytes) in corpus(target) {
        if std::panic::catch_unwind(|| body(&bytes)).is_err() {
            panic!("{target}: {} breaks a property", path.display());
        }
    }
}

#[test]
fn tenant_config_inputs_are_accepted_or_refused_with_a_reason() {
    replay("tenant_config", fuzzing::tenant_config);
}

#[test]
fn routing_rule_inputs_parse_or_are_refused_and_route_consistently() {
    replay("routing_rules", fuzzing::routing_rules);
}

#[test]
fn payment_body_inputs_are_valid_or_name_their_field() {
    replay("payment_body", fuzzing::payment_body);
}
