//! A real `paycore serve` process in a throwaway folder: its config, one
//! tenant with one sandbox channel (or, for card payments, its own cards),
//! its plugins, its SQLite database.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const API_KEY: &str = "sk_bench";
/// The member every bench card is issued to.
pub const CARD_HOLDER: &str = "bench-member";
const SANDBOX_KEY: &str = "bench-only-sandbox-key";

/// A folder holding everything one server reads and writes: `config/`
/// (watched by the server), `plugins/` (watched), `cache/` and `data/` (the
/// database, outside the watched folders as in any real deployment: every
/// commit would otherwise wake the watcher).
pub struct Bed {
    pub dir: PathBuf,
}

impl Bed {
    /// A fresh folder (emptied if it exists) with the config, the tenant,
    /// an empty plugins folder and no database.
    pub fn new(dir: &Path) -> Result<Bed> {
        Bed::with_tenant(dir, &tenant_config())
    }

    /// A bed whose tenant takes card payments: the card channel, a rule
    /// sending `wallet: card` to it, and a gift programme large enough for
    /// every payment of a run (see `cards_tenant_config`).
    pub fn with_cards(dir: &Path) -> Result<Bed> {
        Bed::with_tenant(dir, &cards_tenant_config())
    }

    fn with_tenant(dir: &Path, tenant: &str) -> Result<Bed> {
        let _ = std::fs::remove_dir_all(dir);
        for sub in ["plugins", "config/tenants", "data"] {
            std::fs::create_dir_all(dir.join(sub))?;
        }
        std::fs::write(dir.join("config/paycore.toml"), server_config())?;
        std::fs::write(dir.join("config/tenants/bench.toml"), tenant)?;
        Ok(Bed {
            dir: dir.to_path_buf(),
        })
    }

    pub fn plugins(&self) -> PathBuf {
        self.dir.join("plugins")
    }

    /// Forgets compiled code, so the next start compiles every plugin.
    pub fn clear_cache(&self) {
        let _ = std::fs::remove_dir_all(self.dir.join("cache"));
    }
}

fn server_config() -> String {
    format!(
        r#"# Written by paycore-bench: one tenant, the sandbox channel, SQLite.
listen = "127.0.0.1:0"
database_url = "sqlite://../data/paycore.db"
plugins_dir = "../plugins"
plugin_cache_dir = "../cache"
tenants_dir = "tenants"
admin_token = "inline:adm_bench"
log_format = "text"

# The sandbox provider is served by paycore itself, on loopback.
[outbound]
allow_addresses = ["127.0.0.1"]
plain_http_hosts = ["127.0.0.1"]

[sandbox_provider]
enabled = true

[sandbox_provider.merchants]
sbx_bench = "inline:{SANDBOX_KEY}"
"#
    )
}

fn tenant_config() -> String {
    format!(
        r#"id = "bench"
name = "Benchmark"
api_keys = ["{API_KEY}"]
timezone = "UTC"

# One tenant takes the whole load here: lift its share of the runtime so
# the figures measure paycore, not the fairness gate (docs/security.md).
[limits]
max_concurrent_requests = 100000

[[channels]]
id = "sandbox"
plugin = "sandbox@^1"
allowed_hosts = ["127.0.0.1"]
settings = {{ base_url = "{{public_url}}/sandbox", merchant_id = "sbx_bench" }}
secrets = {{ api_key = "inline:{SANDBOX_KEY}" }}
"#
    )
}

/// The same tenant paying from its own cards. Hong Kong's rules name no
/// cap on a card's balance (China's would stop a card at 5,000.00), so one
/// card can take every payment a run sends it; the programme's own cap
/// stays, as `check-config` requires.
fn cards_tenant_config() -> String {
    format!(
        r#"id = "bench"
name = "Benchmark"
api_keys = ["{API_KEY}"]
timezone = "UTC"

[limits]
max_concurrent_requests = 100000

[[channels]]
id = "card"
plugin = "card@^1"

[[rules]]
name = "cards"
wallet = "card"
channel = "card"

[[card_programs]]
id = "bench"
kind = "gift"
channel = "card"
currency = "CNY"
jurisdiction = "HK"
max_balance = "1000000.00"
"#
    )
}

/// A running `paycore serve`; killed when dropped.
pub struct Server {
    child: Child,
    pub base_url: String,
    started: Instant,
}

impl Server {
    /// Starts `binary` on `bed` at a free loopback port. Logs go to
    /// `serve.log` in the bed; the log level is `warn` unless `RUST_LOG`
    /// says otherwise (see docs/performance.md).
    pub fn start(binary: &Path, bed: &Bed) -> Result<Server> {
        let port = free_port()?;
        let log = std::fs::File::create(bed.dir.join("serve.log"))?;
        let started = Instant::now();
        let child = Command::new(binary)
            .arg("serve")
            .arg("--config")
            .arg(bed.dir.join("config/paycore.toml"))
            .env("PAYCORE_LISTEN", format!("127.0.0.1:{port}"))
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .current_dir(&bed.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        Ok(Server {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            started,
        })
    }

    /// Waits for `/readyz` to answer 200; returns the time since the process
    /// was started.
    pub async fn ready(&mut self, client: &reqwest::Client) -> Result<Duration> {
        let deadline = Duration::from_secs(60);
        loop {
            let ok = client
                .get(format!("{}/readyz", self.base_url))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                return Ok(self.started.elapsed());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("paycore exited with {status} before it was ready (see serve.log)");
            }
            if self.started.elapsed() > deadline {
                bail!("paycore was not ready within {deadline:?}");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// SIGKILL, as a crash would: nothing is flushed or closed.
    pub fn kill_9(&mut self) -> Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// CPU time the process has used so far (user and system, its finished
    /// threads included), from `/proc`. Linux counts it in ticks of 1/100 s.
    pub fn cpu_time(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        // Fields after the command name, which is in parentheses and may hold spaces.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks: u64 =
            fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some(Duration::from_millis(ticks * 10))
    }

    /// Resident memory of the process, KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Copies of a plugin stamped with versions `1.0.1000`, `1.0.1001`, …:
/// the bench build of the sandbox plugin declares `1.0.1000`, and the
/// version string is patched in place (same length, so the component stays
/// valid) to get distinct versions without one build each.
pub struct Versions {
    bytes: Vec<u8>,
}

const STAMP: &[u8] = b"1.0.1000";

impl Versions {
    pub fn new(stamped_wasm: &Path) -> Result<Versions> {
        let bytes = std::fs::read(stamped_wasm)
            .with_context(|| format!("reading {}", stamped_wasm.display()))?;
        if !bytes.windows(STAMP.len()).any(|w| w == STAMP) {
            bail!(
                "{} does not declare version 1.0.1000",
                stamped_wasm.display()
            );
        }
        Ok(Versions { bytes })
    }

    /// The plugin as version `1.0.{1000 + n}` (n < 9000).
    pub fn version(&self, n: usize) -> Vec<u8> {
        assert!(n < 9000, "four digits");
        let stamp = format!("1.0.{}", 1000 + n);
        let mut out = self.bytes.clone();
        let mut i = 0;
        while i + STAMP.len() <= out.len() {
            if &out[i..i + STAMP.len()] == STAMP {
                out[i..i + STAMP.len()].copy_from_slice(stamp.as_bytes());
                i += STAMP.len();
            } else {
                i += 1;
            }
        }
        out
    }

    /// Writes version `n` as `dir/name`, under a temporary name first and
    /// renamed into place, as docs/reload.md asks of operators.
    pub fn install(&self, n: usize, dir: &Path, name: &str) -> Result<()> {
        let part = dir.join(format!("{name}.part"));
        std::fs::write(&part, self.version(n))?;
        std::fs::rename(&part, dir.join(name))?;
        Ok(())
    }
}
