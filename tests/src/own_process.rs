//! A test that reads what a process has only one of — the Prometheus
//! recorder every paycore in the process reports into, the tracing
//! subscriber — runs in a process of its own: the test binary started again
//! with only that test. In the suite's process the other tests, running on
//! its other threads, would count towards its metrics and write into its log.

use std::process::Command;

/// Names the one test the process it is set in was started for.
const ONLY_TEST: &str = "PAYCORE_E2E_OWN_PROCESS";

/// Call first in such a test: `if ran_in_own_process() { return; }`.
///
/// In the suite's process, runs the calling test again in a process of its
/// own, panics (showing that process's output) unless it passed there, and
/// returns `true`. In that process, returns `false`: the test goes on.
pub fn ran_in_own_process() -> bool {
    // libtest runs each test on a thread named after the test's path.
    let thread = std::thread::current();
    let test = match thread.name() {
        Some(name) if name != "main" => name,
        _ => panic!("ran_in_own_process must be called from a test's own thread"),
    };
    if std::env::var(ONLY_TEST).is_ok_and(|only| only == test) {
        return false;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let out = Command::new(&exe)
        .args([test, "--exact", "--test-threads=1", "--nocapture"])
        .env(ONLY_TEST, test)
        .output()
        .unwrap_or_else(|e| panic!("starting {}: {e}", exe.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Indented, so that nothing reading this binary's output (the tally of
    // `cargo xtask test`) takes that process's summary for this one's.
    for (stream, text) in [
        ("stdout", stdout.as_ref()),
        ("stderr", &String::from_utf8_lossy(&out.stderr)),
    ] {
        println!("  ({test} in its own process, {stream})");
        for line in text.lines() {
            println!("  | {line}");
        }
    }
    // Exactly this test ran, and passed (a misspelt name would run none).
    assert!(
        out.status.success() && stdout.contains("test result: ok. 1 passed"),
        "{test} failed in its own process ({})",
        out.status
    );
    true
}
