//! The conformance suite behind `paycore plugin test`: loads a plugin in the
//! real host and checks its contract against a scripted upstream on a
//! loopback port, then reports pass/fail per check and what each operation
//! cost (instructions, peak memory, time).
//!
//! A plugin's protocol is its own, so the suite learns how to play the
//! provider from the plugin's *conformance profile* (`profile`): sample
//! answers and one sample callback as templates, signed with test keys. The
//! faults (timeouts, resets, garbage) need no profile: they are the same for
//! every protocol.

mod checks;
mod encoding;
mod ledger;
mod profile;
mod suite;
mod template;
mod upstream;

pub use profile::{beside as profile_beside, default_for as profile_for};

use std::path::Path;

/// One row of the table.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    pub outcome: Outcome,
    /// What was seen; on failure, what is wrong, in words an author can act
    /// on; when it does not apply, why.
    pub detail: String,
}

/// What became of one check. A check that does not apply to the plugin (an
/// HTTP provider's faults for a plugin that calls no host) is said to be
/// so: it was not run, so it did not pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed,
    NotApplicable,
}

impl Check {
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Passed
    }

    pub fn failed(&self) -> bool {
        self.outcome == Outcome::Failed
    }
}

/// What one operation cost on the happy path.
#[derive(Debug, Clone)]
pub struct Figure {
    pub op: &'static str,
    /// Wasm instructions (wasmtime fuel units).
    pub fuel: Option<u64>,
    pub peak_memory: usize,
    pub millis: f64,
}

#[derive(Debug, Clone)]
pub struct Report {
    /// `name@version`, or the file name when the plugin did not load.
    pub plugin: String,
    pub wasm_bytes: u64,
    pub checks: Vec<Check>,
    pub figures: Vec<Figure>,
    pub millis: f64,
}

impl Report {
    /// No check failed (those that do not apply neither pass nor fail).
    pub fn passed(&self) -> bool {
        !self.checks.iter().any(Check::failed)
    }

    /// The failed checks, for tests and summaries.
    pub fn failures(&self) -> Vec<&Check> {
        self.checks.iter().filter(|c| c.failed()).collect()
    }

    /// The checks that did not apply to the plugin, so were not run.
    pub fn not_applicable(&self) -> Vec<&Check> {
        self.checks
            .iter()
            .filter(|c| c.outcome == Outcome::NotApplicable)
            .collect()
    }

    /// The pass/fail table and the figures, as printed by `paycore plugin test`.
    pub fn render(&self) -> String {
        let mut out = format!(
            "conformance of {} ({} bytes of wasm)\n\n",
            self.plugin, self.wasm_bytes
        );
        let width = self.checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
        for c in &self.checks {
            let mark = match c.outcome {
                Outcome::Passed => "PASS",
                Outcome::Failed => "FAIL",
                Outcome::NotApplicable => "N/A ",
            };
            out.push_str(&format!("  {mark}  {:width$}  {}\n", c.name, c.detail));
        }
        if !self.figures.is_empty() {
            out.push_str(&format!(
                "\n  {:14} {:>14} {:>12} {:>10}\n",
                "operation", "instructions", "peak memory", "time"
            ));
            for f in &self.figures {
                let fuel = f.fuel.map(|f| f.to_string()).unwrap_or_else(|| "-".into());
                out.push_str(&format!(
                    "  {:14} {:>14} {:>8} KiB {:>7.1} ms\n",
                    f.op,
                    fuel,
                    f.peak_memory / 1024,
                    f.millis
                ));
            }
        }
        let failed = self.failures().len();
        let skipped = self.not_applicable().len();
        let skipped = if skipped > 0 {
            format!(", {skipped} not applicable")
        } else {
            String::new()
        };
        out.push_str(&format!(
            "\n{} checks: {} passed, {} failed{skipped} ({:.1} s)\n",
            self.checks.len(),
            self.checks.iter().filter(|c| c.passed()).count(),
            failed,
            self.millis / 1000.0
        ));
        out
    }
}

/// Runs every check on the plugin at `wasm` with the profile at `profile`.
/// Errors only when the suite itself cannot run (unreadable files, a bad
/// profile); a plugin that does not load is a failed check.
pub async fn run(wasm: &Path, profile: &Path) -> anyhow::Result<Report> {
    run_with_cache(wasm, profile, None).await
}

/// As [`run`], keeping compiled code in `cache` (see `plugin_host`), so
/// repeated runs skip compilation.
pub async fn run_with_cache(
    wasm: &Path,
    profile: &Path,
    cache: Option<std::path::PathBuf>,
) -> anyhow::Result<Report> {
    let started = std::time::Instant::now();
    let bytes =
        std::fs::read(wasm).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", wasm.display()))?;
    let loaded = profile::load(profile)?;
    let mut report = checks::run(bytes, loaded, wasm, cache).await?;
    report.millis = started.elapsed().as_secs_f64() * 1000.0;
    Ok(report)
}
