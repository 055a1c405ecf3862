//! `cargo xtask bench`: builds what the benchmarks need in release, runs the
//! plugin-call benchmark (criterion) and the end-to-end one
//! (`paycore-bench`), which rewrites the figures in `docs/performance.md`
//! and `docs/performance-latency.svg`.
//!
//! Each build is incremental: cargo keeps the runtime built with and without
//! `native-sandbox` side by side, so a rerun compiles nothing unless the code
//! changed. `--quick` shortens every phase to a smoke run.

use crate::{WASM_TARGET, ensure_wasm_target, run};
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;

pub fn run_bench(root: &Path, quick: bool) -> Result<()> {
    let started = std::time::Instant::now();
    let out = root.join("target/bench");
    std::fs::create_dir_all(&out)?;
    ensure_wasm_target()?;
    let plugin = build_sandbox_plugin(root, None)?;
    // Start-up, reload and the sweeps need distinct versions of the plugin:
    // one build stamped 1.0.1000, which the bench restamps in place.
    let stamped = build_sandbox_plugin(root, Some("1.0.1000"))?;
    let card = build_card_plugin(root)?;
    let alipay = build_plugin(root, "alipay")?;
    let wechatpay = build_plugin(root, "wechatpay")?;

    let native = out.join("paycore-native");
    run(cargo().args([
        "build",
        "--locked",
        "--release",
        "-p",
        "paycore",
        "--features",
        "native-sandbox",
    ]))?;
    copy(&root.join("target/release/paycore"), &native)?;
    let wasm = out.join("paycore");
    run(cargo().args([
        "build",
        "--locked",
        "--release",
        "-p",
        "paycore",
        "-p",
        "paycore-bench",
    ]))?;
    copy(&root.join("target/release/paycore"), &wasm)?;

    println!("\n== plugin call (criterion)\n");
    let plugin_call = out.join("plugin-call.json");
    let mut call = Command::new(root.join("target/release/plugin-call"));
    call.arg(&plugin)
        .arg(&plugin_call)
        .env("CRITERION_HOME", out.join("criterion"));
    if quick {
        call.arg("--quick");
    }
    run(&mut call)?;

    println!(
        "\n== a day's statement through the Alipay and WeChat Pay plugins, and a day reconciled\n"
    );
    let statement_read = out.join("statement-read.json");
    let mut read = Command::new(root.join("target/release/statement-read"));
    read.arg(&alipay)
        .arg(&wechatpay)
        .arg(&plugin)
        .arg(out.join("work/reconcile-day"))
        .arg(&statement_read);
    if quick {
        read.arg("--quick");
    }
    run(&mut read)?;

    println!("\n== end to end\n");
    let mut e2e = Command::new(root.join("target/release/paycore-bench"));
    e2e.arg("--paycore")
        .arg(&wasm)
        .arg("--paycore-native")
        .arg(&native)
        .arg("--stamped-plugin")
        .arg(&stamped)
        .arg("--card-plugin")
        .arg(&card)
        .arg("--plugin-call")
        .arg(&plugin_call)
        .arg("--statement-read")
        .arg(&statement_read)
        .arg("--work")
        .arg(out.join("work"))
        .arg("--out")
        .arg(root.join("docs/performance.md"))
        .arg("--chart")
        .arg(root.join("docs/performance-latency.svg"))
        .arg("--commit")
        .arg(commit(root));
    if quick {
        e2e.arg("--quick");
    }
    run(&mut e2e)?;
    println!(
        "\ncargo xtask bench{} took {:.0} s",
        if quick { " --quick" } else { "" },
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The sandbox plugin's `.wasm`; `stamp` builds it as that version in a
/// target folder of its own, so the regular build is never invalidated.
fn build_sandbox_plugin(root: &Path, stamp: Option<&str>) -> Result<std::path::PathBuf> {
    let mut build = crate::plugin_build(&["paycore-plugin-sandbox"]);
    let target = match stamp {
        Some(version) => {
            let dir = root.join("target/variants/sandbox-bench");
            build
                .env("CARGO_TARGET_DIR", &dir)
                .env("PAYCORE_SANDBOX_VERSION", version);
            dir
        }
        None => root.join("target"),
    };
    run(&mut build)?;
    let wasm = target
        .join(WASM_TARGET)
        .join("plugin/paycore_plugin_sandbox.wasm");
    if !wasm.exists() {
        bail!("{} was not built", wasm.display());
    }
    Ok(wasm)
}

/// The card plugin's `.wasm`, for the card payments' sweep.
fn build_card_plugin(root: &Path) -> Result<std::path::PathBuf> {
    build_plugin(root, "card")
}

/// `plugins/<name>`'s `.wasm`, built with the plugin profile.
fn build_plugin(root: &Path, name: &str) -> Result<std::path::PathBuf> {
    run(&mut crate::plugin_build(&[&format!(
        "paycore-plugin-{name}"
    )]))?;
    let wasm = root
        .join("target")
        .join(WASM_TARGET)
        .join(format!("plugin/paycore_plugin_{name}.wasm"));
    if !wasm.exists() {
        bail!("{} was not built", wasm.display());
    }
    Ok(wasm)
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    Ok(())
}

/// `cargo`, without the package variables `cargo xtask` (a `cargo run`)
/// put in our environment: some build scripts (ring's) rerun when they
/// change, which would rebuild the release tree every time it is built
/// alternately from here and by hand.
fn cargo() -> Command {
    let mut cargo = crate::cargo();
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_PKG_") || name.starts_with("CARGO_MANIFEST_") {
            cargo.env_remove(&*name);
        }
    }
    cargo
}

/// The commit measured, marked when the tree has changes.
fn commit(root: &Path) -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let head = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    // The figures this run rewrites do not count as a change.
    let dirty = git(&["status", "--porcelain", "--", ".", ":!docs/performance*"])
        .is_some_and(|s| !s.is_empty());
    if dirty { format!("{head}-dirty") } else { head }
}
