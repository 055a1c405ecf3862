//! Whether the hosted cashier's browser test can run here. Without Debian's
//! chromium and chromedriver it is compiled as ignored (cfg `no_chromium`),
//! so a run shows it ignored rather than passed; under CI (`CI` set) never,
//! since CI must run it: there it fails when the browser is missing.

use std::path::Path;

/// The paths `e2e/checkout_browser.rs` starts.
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

fn main() {
    println!("cargo::rustc-check-cfg=cfg(no_chromium)");
    println!("cargo::rerun-if-env-changed=CI");
    let mut present = true;
    for binary in [CHROMIUM, CHROMEDRIVER] {
        if Path::new(binary).exists() {
            println!("cargo::rerun-if-changed={binary}");
        } else {
            present = false;
            // A missing path would rerun this script on every build: watch
            // the folder it appears in when installed.
            let folder = Path::new(binary).parent().expect("an absolute path");
            println!("cargo::rerun-if-changed={}", folder.display());
        }
    }
    if !present && std::env::var_os("CI").is_none() {
        println!("cargo::rustc-cfg=no_chromium");
    }
}
