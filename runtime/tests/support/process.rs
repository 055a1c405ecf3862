//! Real `paycore serve` processes for the integration tests, and the
//! database they share: a SQLite file in the test's folder, or, when
//! `PAYCORE_TEST_DATABASE_URL` names a PostgreSQL server (as `cargo xtask
//! test` sets it), a fresh database on that server. Loopback only; every
//! child process is killed when its guard drops.

#![allow(dead_code)] // each test file uses its own part of this

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `paycore serve`; killed (SIGKILL) and reaped on drop.
pub struct Paycore {
    child: Child,
    pub base: String,
}

impl Paycore {
    pub async fn start(dir: &Path) -> Paycore {
        Paycore::start_named(dir, "paycore").await
    }

    /// Starts an instance named `name` (`PAYCORE_INSTANCE`, the name it
    /// claims outbox rows under), logging to `<dir>/<name>.log`.
    pub async fn start_named(dir: &Path, name: &str) -> Paycore {
        Paycore::start_with_env(dir, name, &[]).await
    }

    /// `start_named`, with further environment for that process alone
    /// (the test process's own is shared by every test running in it).
    pub async fn start_with_env(dir: &Path, name: &str, env: &[(&str, &str)]) -> Paycore {
        paycore::plugin_host::install_crypto_provider();
        let port = free_port();
        let log_path = dir.join(format!("{name}.log"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_paycore"))
            .args(["serve", "--config"])
            .arg(dir.join("paycore.toml"))
            .env("PAYCORE_LISTEN", format!("127.0.0.1:{port}"))
            .env("PAYCORE_INSTANCE", name)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("paycore starts");
        let p = Paycore {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        for _ in 0..600 {
            if let Ok(r) = client.get(format!("{}/healthz", p.base)).send().await
                && r.status().is_success()
            {
                return p;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // The folder goes with the test: show the log here.
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        panic!(
            "paycore did not come up; the end of its log:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }

    /// SIGKILL: no shutdown, no flushing, nothing.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Paycore {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The test's scratch folder, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// A new folder, `name` and a suffix unique to this process's tests (the
    /// suite's tests share one process).
    pub fn new(name: &str) -> Scratch {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("plugins")).unwrap();
        std::fs::create_dir_all(dir.join("tenants")).unwrap();
        Scratch(dir)
    }

    /// Copies the sandbox plugin `cargo xtask build` made into `plugins/`.
    pub fn with_sandbox_plugin(self) -> Scratch {
        self.with_plugin("sandbox")
    }

    /// Copies the first-party plugin `name` (`target/plugins/<name>.wasm`,
    /// which `cargo xtask build` made) into `plugins/`.
    pub fn with_plugin(self, name: &str) -> Scratch {
        let plugins = std::env::var_os("PAYCORE_PLUGINS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/plugins"));
        let file = format!("{name}.wasm");
        std::fs::copy(plugins.join(&file), self.0.join("plugins").join(&file)).unwrap_or_else(
            |e| {
                panic!(
                    "{}/{file} is missing ({e}): run `cargo xtask test`",
                    plugins.display()
                )
            },
        );
        self
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The card channel and a gift-card programme on it, to append to a tenant
/// file: the tenant's cards are paid through the first-party card plugin.
pub const CARD_CHANNEL: &str = r#"
[[channels]]
id = "card"
plugin = "card@^1"

[[card_programs]]
id = "gift"
kind = "gift"
channel = "card"
currency = "CNY"
"#;

/// A tenant file served by one `sandbox-main` channel: tenant `id` with
/// API key `key`, `lines` at the top (webhooks, a name), the provider at
/// `base_url` as `merchant`, holding `api_key` (a secret reference).
pub fn sandbox_tenant(
    id: &str,
    key: &str,
    lines: &str,
    base_url: &str,
    merchant: &str,
    api_key: &str,
) -> String {
    format!(
        r#"
id = "{id}"
api_keys = ["{key}"]
{lines}
[[channels]]
id = "sandbox-main"
plugin = "sandbox@^1"
allowed_hosts = ["127.0.0.1"]
settings = {{ base_url = "{base_url}", merchant_id = "{merchant}" }}
secrets = {{ api_key = "{api_key}" }}
"#
    )
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The PostgreSQL server the tests may use (a URL to a database that can
/// create others), if any.
pub fn postgres_server() -> Option<String> {
    std::env::var("PAYCORE_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// A database of the test's own: a fresh PostgreSQL database when a server
/// is configured, else a SQLite file in `dir`.
pub async fn database_url(dir: &Path) -> String {
    match postgres_server() {
        Some(server) => fresh_postgres_database(&server).await,
        None => format!("sqlite://{}", dir.join("paycore.db").display()),
    }
}

/// Creates an empty database on `server` and returns its URL.
pub async fn fresh_postgres_database(server: &str) -> String {
    use sqlx::Connection;
    let name = format!(
        "paycore_test_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let mut admin = sqlx::PgConnection::connect(server)
        .await
        .unwrap_or_else(|e| panic!("PAYCORE_TEST_DATABASE_URL: {e}"));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let mut url = url::Url::parse(server).expect("PAYCORE_TEST_DATABASE_URL is a URL");
    url.set_path(&name);
    url.to_string()
}
