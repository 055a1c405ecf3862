//! `cargo xtask`: the project's build and test entry points.
//!
//! - `cargo xtask build` — plugins to `target/plugins/` (wasm32-wasip2,
//!   release), test-only plugins to `target/test-plugins/`, and the runtime.
//! - `cargo xtask demo`  — `build`, then the Alipay / WeChat Pay / UnionPay / Huifu (e-CNY) simulators
//!   and `paycore serve` with `config/`.
//! - `cargo xtask test`  — `build`, then the whole workspace's tests on
//!   SQLite, then the runtime's and the end-to-end suites again on a
//!   throwaway PostgreSQL server it starts itself (skipped, loudly, only when
//!   no PostgreSQL server binaries are installed), with the tests that need
//!   PostgreSQL. Four tests at a time per test binary
//!   (`RUST_TEST_THREADS=4` unless the caller set it). Ends with one line
//!   for both passes: `N passed, N failed, N ignored`.
//! - `cargo xtask bench [--quick]` — release builds, then the benchmarks;
//!   rewrites the figures in `docs/performance.md` (see `bench.rs`).

mod bench;
mod demo;
mod postgres;

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

const WASM_TARGET: &str = "wasm32-wasip2";
/// (package, file name) of first-party plugins the demo loads.
const PLUGINS: &[(&str, &str)] = &[
    ("paycore-plugin-sandbox", "sandbox"),
    ("paycore-plugin-alipay", "alipay"),
    ("paycore-plugin-wechatpay", "wechatpay"),
    ("paycore-plugin-unionpay", "unionpay"),
    ("paycore-plugin-ecny", "ecny"),
    ("paycore-plugin-card", "card"),
];
/// Plugins that exist only for the host's sandbox tests.
const TEST_PLUGINS: &[(&str, &str)] = &[
    ("paycore-plugin-misbehave", "misbehave"),
    // Each makes one mistake the conformance suite must catch and name.
    (
        "paycore-plugin-broken-timeout-decline",
        "broken-timeout-decline",
    ),
    ("paycore-plugin-broken-float-yuan", "broken-float-yuan"),
    (
        "paycore-plugin-broken-accept-tampered",
        "broken-accept-tampered",
    ),
    (
        "paycore-plugin-broken-card-holding-only",
        "broken-card-holding-only",
    ),
    (
        "paycore-plugin-broken-card-credit-on-query",
        "broken-card-credit-on-query",
    ),
];

/// A build of a plugin stamped differently, for the reload tests.
struct Variant {
    package: &'static str,
    file: &'static str,
    /// Environment the build sees (read by the plugin with `option_env!`).
    env: &'static [(&'static str, &'static str)],
}

const TEST_VARIANTS: &[Variant] = &[
    Variant {
        package: "paycore-plugin-sandbox",
        file: "sandbox-1.1.0",
        env: &[("PAYCORE_SANDBOX_VERSION", "1.1.0")],
    },
    Variant {
        package: "paycore-plugin-sandbox",
        file: "sandbox-1.2.0-remapped",
        env: &[
            ("PAYCORE_SANDBOX_VERSION", "1.2.0"),
            ("PAYCORE_SANDBOX_DECLINE_CODE", "insufficient_funds"),
        ],
    },
    Variant {
        package: "paycore-plugin-misbehave",
        file: "misbehave-1.1.0-more-hosts",
        env: &[
            ("MISBEHAVE_VERSION", "1.1.0"),
            ("MISBEHAVE_EXTRA_HOST", "example.com"),
        ],
    },
    Variant {
        package: "paycore-plugin-misbehave",
        file: "misbehave-contract-2",
        env: &[("MISBEHAVE_CONTRACT_VERSION", "2.0.0")],
    },
    Variant {
        package: "paycore-plugin-misbehave",
        file: "misbehave-reads-files",
        env: &[
            ("MISBEHAVE_VERSION", "1.2.0"),
            ("MISBEHAVE_READ_FILES", "1"),
        ],
    },
];

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    match args.first().map(String::as_str) {
        Some("build") => build(&root),
        Some("demo") => {
            build(&root)?;
            // The acme tenant's Alipay, WeChat Pay, UnionPay and e-CNY channels talk to these.
            let mut simulators = Command::new(root.join("target/debug/paycore-simulators"))
                .spawn()
                .context("starting the channel simulators")?;
            println!(
                "\nStarting the demo on http://127.0.0.1:8080 (Ctrl-C to stop). Try the README's walkthrough.\n"
            );
            let mut server = Command::new(root.join("target/debug/paycore"))
                .args(["serve", "--config"])
                .arg(root.join("config/paycore.toml"))
                .spawn()
                .context("starting the demo")?;
            if let Err(e) = demo::print_links() {
                eprintln!("could not make the demo's checkout links: {e:#}");
            }
            let served = match server.wait()? {
                status if status.success() => Ok(()),
                status => Err(anyhow::anyhow!("paycore serve exited with {status}")),
            };
            let _ = simulators.kill();
            let _ = simulators.wait();
            served
        }
        Some("test") => {
            build(&root)?;
            let args = TestArgs::split(&args[1..]);
            let postgres = postgres::find_binaries();
            println!("\n== tests on SQLite\n");
            let mut tally = Tally::default();
            // The tests that need PostgreSQL are ignored by default: when
            // the PostgreSQL pass runs them, they are left out here rather
            // than counted as ignored.
            let skip: &[&str] = match postgres {
                Some(_) => &["--skip", POSTGRES_ONLY],
                None => &[],
            };
            let result = run_tests(
                &mut test_command(&root, &["--workspace"], &args, skip),
                &mut tally,
            )
            .and_then(|()| test_on_postgres(&root, postgres.as_deref(), &args, &mut tally));
            // One total for both passes, as the last line.
            println!(
                "\n{} passed, {} failed, {} ignored",
                tally.passed, tally.failed, tally.ignored
            );
            result
        }
        Some("bench") => bench::run_bench(&root, args[1..].iter().any(|a| a == "--quick")),
        _ => {
            eprintln!("usage: cargo xtask <build|demo|test|bench> [-- test args | --quick]");
            std::process::exit(2);
        }
    }
}

/// The module of the runtime's suite (`runtime/tests/instances.rs`) whose
/// tests need PostgreSQL, all of them ignored by default.
const POSTGRES_ONLY: &str = "instances::";

/// `cargo xtask test [CARGO ARGS] [-- TEST ARGS]`: the caller's arguments
/// for cargo and for the test binaries.
struct TestArgs {
    cargo: Vec<String>,
    libtest: Vec<String>,
}

impl TestArgs {
    fn split(args: &[String]) -> TestArgs {
        let at = args.iter().position(|a| a == "--").unwrap_or(args.len());
        TestArgs {
            cargo: args[..at].to_vec(),
            libtest: args[at..].iter().skip(1).cloned().collect(),
        }
    }
}

/// Tests run at once in each test binary unless the caller sets
/// `RUST_TEST_THREADS` (or passes `--test-threads`). The end-to-end and
/// process tests mostly wait on sockets and timers, so more of them than
/// libtest's default of one per core keeps a small machine busy.
const TEST_THREADS: &str = "4";

/// `cargo test` of `selection` with the plugins the tests load: the
/// caller's cargo arguments, then `libtest` (ours, then the caller's) for
/// every test binary, [`TEST_THREADS`] at a time.
fn test_command(root: &Path, selection: &[&str], args: &TestArgs, libtest: &[&str]) -> Command {
    let mut tests = cargo();
    tests
        .args(["test", "--locked"])
        .args(selection)
        .args(&args.cargo);
    if !libtest.is_empty() || !args.libtest.is_empty() {
        tests.arg("--").args(libtest).args(&args.libtest);
    }
    tests.env("PAYCORE_PLUGINS_DIR", root.join("target/plugins"));
    tests.env("PAYCORE_TEST_PLUGINS_DIR", root.join("target/test-plugins"));
    if std::env::var_os("RUST_TEST_THREADS").is_none() {
        tests.env("RUST_TEST_THREADS", TEST_THREADS);
    }
    tests
}

/// The suites that touch a database — the runtime's (storage, the crash and
/// multi-instance process tests) and the end-to-end one — on PostgreSQL,
/// then the tests that need PostgreSQL. Selected by test target from the
/// whole workspace, so that features resolve as in the SQLite pass and
/// nothing is built again.
fn test_on_postgres(
    root: &Path,
    bin: Option<&Path>,
    args: &TestArgs,
    tally: &mut Tally,
) -> Result<()> {
    let Some(bin) = bin else {
        let line = "!".repeat(72);
        eprintln!(
            "\n{line}\n!! PostgreSQL SKIPPED: no server binaries (initdb, pg_ctl) were found\n\
             !! in /usr/lib/postgresql/*/bin or on PATH. Only SQLite was tested.\n{line}\n"
        );
        return Ok(());
    };
    let server = postgres::TestServer::start(bin).context("starting a throwaway PostgreSQL")?;
    println!(
        "\n== tests on PostgreSQL ({}, {})\n",
        bin.display(),
        server.url
    );
    let suites = ["--workspace", "--test", "runtime", "--test", "e2e"];
    let mut tests = test_command(root, &suites, args, &["--skip", POSTGRES_ONLY]);
    tests.env("PAYCORE_TEST_DATABASE_URL", &server.url);
    let suites_ran = run_tests(&mut tests, tally);
    println!("\n== tests that need PostgreSQL\n");
    let runtime = ["--workspace", "--test", "runtime"];
    let mut only = test_command(root, &runtime, args, &["--ignored", POSTGRES_ONLY]);
    only.env("PAYCORE_TEST_DATABASE_URL", &server.url);
    let only_ran = run_tests(&mut only, tally);
    // `server` drops (stopping PostgreSQL) whatever the outcome.
    suites_ran.and(only_ran)
}

/// Tests counted over every `cargo test` this run makes.
#[derive(Default)]
struct Tally {
    passed: u64,
    failed: u64,
    ignored: u64,
}

/// Runs `cargo test`, passing its output through and adding up its
/// `test result:` lines.
fn run_tests(cmd: &mut Command, tally: &mut Tally) -> Result<()> {
    use std::io::BufRead;
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("running {cmd:?}"))?;
    let out = child.stdout.take().expect("stdout is piped");
    for line in std::io::BufReader::new(out).lines() {
        let line = line?;
        println!("{line}");
        if let Some(rest) = line.strip_prefix("test result: ") {
            tally.passed += count_before(rest, " passed");
            tally.failed += count_before(rest, " failed");
            tally.ignored += count_before(rest, " ignored");
        }
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

/// `ok. 12 passed; 0 failed; …` → the number before `what`.
fn count_before(text: &str, what: &str) -> u64 {
    text.find(what)
        .and_then(|end| text[..end].rsplit([' ', '.']).next()?.parse().ok())
        .unwrap_or(0)
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// `cargo build` of plugin packages for the wasm target, in the small
/// `plugin` profile, locked.
fn plugin_build(packages: &[&str]) -> Command {
    let mut build = cargo();
    build.args([
        "build",
        "--locked",
        "--profile",
        "plugin",
        "--target",
        WASM_TARGET,
    ]);
    for package in packages {
        build.args(["-p", package]);
    }
    build
}

fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

fn ensure_wasm_target() -> Result<()> {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    match out {
        Ok(o)
            if String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.trim() == WASM_TARGET) =>
        {
            Ok(())
        }
        Ok(_) => {
            println!("installing the {WASM_TARGET} target");
            run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
        }
        Err(_) => {
            println!("rustup not found; assuming the {WASM_TARGET} target is installed");
            Ok(())
        }
    }
}

fn build(root: &Path) -> Result<()> {
    ensure_wasm_target()?;
    let packages: Vec<&str> = PLUGINS
        .iter()
        .chain(TEST_PLUGINS)
        .map(|(package, _)| *package)
        .collect();
    let mut plugins = plugin_build(&packages);
    run(&mut plugins)?;
    let built = root.join("target").join(WASM_TARGET).join("plugin");
    copy_plugins(&built, &root.join("target/plugins"), PLUGINS)?;
    copy_plugins(&built, &root.join("target/test-plugins"), TEST_PLUGINS)?;
    build_variants(root)?;
    // The two binaries picked by target from the whole workspace, so that
    // dependencies' features resolve as in `cargo test --workspace`: the
    // tests reuse this build (the `paycore` the runtime's tests start is
    // this one). `-p paycore -p paycore-simulators` resolved features for
    // those two alone, and the tests built most dependencies again.
    run(cargo().args([
        "build",
        "--locked",
        "--workspace",
        "--bin",
        "paycore",
        "--bin",
        "paycore-simulators",
    ]))
}

/// Variants in target folders of their own, one per package, so stamping
/// one never invalidates the regular build; variants of one package share
/// their dependencies and rebuild only the plugin crate.
fn build_variants(root: &Path) -> Result<()> {
    for Variant {
        package,
        file: name,
        env,
    } in TEST_VARIANTS
    {
        let target = root.join("target/variants").join(package);
        let mut build = plugin_build(&[package]);
        build.env("CARGO_TARGET_DIR", &target);
        for (k, v) in *env {
            build.env(k, v);
        }
        run(&mut build)?;
        let from = target
            .join(WASM_TARGET)
            .join("plugin")
            .join(format!("{}.wasm", package.replace('-', "_")));
        let to = root
            .join("target/test-plugins")
            .join(format!("{name}.wasm"));
        std::fs::copy(&from, &to)
            .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
        println!("test plugin {name}: {}", to.display());
    }
    Ok(())
}

/// The workspace root, from a folder inside its `target/`.
fn root_of(inside_target: &Path) -> PathBuf {
    inside_target
        .ancestors()
        .find(|p| p.join("Cargo.lock").exists())
        .unwrap_or(inside_target)
        .to_path_buf()
}

fn copy_plugins(built: &Path, dest: &Path, plugins: &[(&str, &str)]) -> Result<()> {
    std::fs::create_dir_all(dest)?;
    for (package, name) in plugins {
        let from = built.join(format!("{}.wasm", package.replace('-', "_")));
        let to = dest.join(format!("{name}.wasm"));
        std::fs::copy(&from, &to)
            .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
        let size = std::fs::metadata(&to)?.len();
        println!("plugin {name}: {} ({} KiB)", to.display(), size / 1024);
        // `paycore plugin test NAME.wasm` finds its conformance profile beside it.
        let profile = root_of(built)
            .join("plugins")
            .join(name)
            .join("conformance.toml");
        if profile.exists() {
            std::fs::copy(&profile, dest.join(format!("{name}.conformance.toml")))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{TestArgs, count_before};

    /// (passed, failed, ignored) of a `test result:` line's rest.
    fn counts(rest: &str) -> (u64, u64, u64) {
        (
            count_before(rest, " passed"),
            count_before(rest, " failed"),
            count_before(rest, " ignored"),
        )
    }

    #[test]
    fn test_result_lines_are_counted() {
        let ok = "ok. 12 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.2s";
        assert_eq!(counts(ok), (12, 0, 0));
        let bad = "FAILED. 3 passed; 1 failed; 0 ignored";
        assert_eq!(counts(bad), (3, 1, 0));
        let skipped =
            "ok. 40 passed; 0 failed; 2 ignored; 0 measured; 5 filtered out; finished in 9.1s";
        assert_eq!(counts(skipped), (40, 0, 2));
        let none =
            "ok. 0 passed; 0 failed; 13 ignored; 0 measured; 0 filtered out; finished in 0.0s";
        assert_eq!(counts(none), (0, 0, 13));
    }

    #[test]
    fn caller_arguments_split_at_the_first_double_dash() {
        let args = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        let split = TestArgs::split(&args(&["-p", "paycore", "--", "store::", "--", "x"]));
        assert_eq!(split.cargo, args(&["-p", "paycore"]));
        assert_eq!(split.libtest, args(&["store::", "--", "x"]));
        let split = TestArgs::split(&args(&["--", "--nocapture"]));
        assert!(split.cargo.is_empty());
        assert_eq!(split.libtest, args(&["--nocapture"]));
        let split = TestArgs::split(&args(&["--release"]));
        assert_eq!((split.cargo.len(), split.libtest.len()), (1, 0));
    }
}
