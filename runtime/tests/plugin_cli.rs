//! The plugin author's commands as the real `paycore` binary runs them:
//! `plugin test` prints its table and exits 1 when a check fails, and
//! `plugin new` writes a crate.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

fn test_plugin(name: &str) -> PathBuf {
    std::env::var_os("PAYCORE_TEST_PLUGINS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace("target/test-plugins"))
        .join(format!("{name}.wasm"))
}

#[test]
fn plugin_test_prints_the_table_and_fails_on_a_broken_plugin() {
    let out = Command::new(env!("CARGO_BIN_EXE_paycore"))
        .args(["plugin", "test"])
        .arg(test_plugin("broken-float-yuan"))
        .arg("--profile")
        .arg(workspace("plugins/sandbox/conformance.toml"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.starts_with("conformance of broken-float-yuan@0.1.0"),
        "{stdout}"
    );
    assert!(stdout.contains("  FAIL  money exact (CNY)"), "{stdout}");
    assert!(
        stdout.contains("  PASS  callback with a tampered amount rejected"),
        "{stdout}"
    );
    assert!(stdout.contains("instructions"), "{stdout}");
    assert!(stdout.contains("checks: 26 passed, 1 failed"), "{stdout}");
}

#[test]
fn plugin_new_writes_a_crate_and_refuses_to_overwrite_it() {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("plugin-new-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let new = || {
        Command::new(env!("CARGO_BIN_EXE_paycore"))
            .args(["plugin", "new", "acme-pay", "--dir"])
            .arg(&dir)
            .output()
            .unwrap()
    };
    let first = new();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    for file in [
        "Cargo.toml",
        "Cargo.lock",
        "src/lib.rs",
        "README.md",
        "conformance.toml",
        ".gitignore",
        "paycore-plugin-sdk/Cargo.toml",
        "paycore-plugin-sdk/src/lib.rs",
        "paycore-plugin-sdk/wit/v1.1.0/channel.wit",
    ] {
        assert!(dir.join(file).is_file(), "{file}");
    }
    // Wherever it is made (target/ is inside this source tree), the crate
    // depends on the SDK the binary wrote beside it, never on this tree.
    let cargo = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    assert!(
        cargo.contains("paycore-plugin-sdk = { path = \"paycore-plugin-sdk\" }"),
        "{cargo}"
    );
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        stdout.contains(
            "&& cargo build --release --target wasm32-wasip2 && paycore plugin test target/wasm32-wasip2/release/acme_pay.wasm"
        ),
        "{stdout}"
    );
    let again = new();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists and is not empty"));
    std::fs::remove_dir_all(&dir).unwrap();
}
