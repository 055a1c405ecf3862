//! Test harness: starts the real paycore runtime in-process on a loopback
//! socket, with a fresh database of its own (a SQLite file, or a new
//! PostgreSQL database when `PAYCORE_TEST_DATABASE_URL` names a server, as
//! `cargo xtask test` does on its second pass), the real `.wasm` plugins
//! built by `cargo xtask build`, the built-in sandbox provider, and a
//! webhook receiver. Dropping a [`TestApp`] leaves nothing running.
//! [`channels`] adds a tenant served by the Alipay and WeChat Pay plugins
//! against their loopback simulators. [`SandboxGate`] puts a tenant's
//! sandbox channel behind a gate the test holds and releases; [`TenantToml`]
//! writes the sandbox-served tenant files tests add.
//! [`ran_in_own_process`] moves a test that reads process-wide state out of
//! the suite's shared process.

pub mod channels;
pub mod gate;
pub mod ledger;
mod own_process;
pub mod reconciliation;
pub mod tenant;

pub use gate::{GATED_KEY, SandboxGate};
pub use own_process::ran_in_own_process;
pub use tenant::{SandboxChannel, TenantToml};

use paycore::app::RunningApp;
use paycore::config::{self, Overrides};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use reqwest::StatusCode;
pub use serde_json::json;

pub const DEMO_KEY: &str = "sk_test_demo";
pub const ACME_KEY: &str = "sk_test_acme";
pub const LAB_KEY: &str = "sk_test_lab_tenant";
pub const WEBHOOK_SECRET: &str = "whsec_test_e2e_secret";

/// A log writer for tests that read what paycore logged: pass a clone to
/// `tracing_subscriber`'s `with_writer`, read everything with `bytes`.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    /// Everything written so far.
    pub fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }
}

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogCapture {
    type Writer = LogCapture;
    fn make_writer(&'a self) -> LogCapture {
        self.clone()
    }
}

/// Knobs a test may turn.
#[derive(Debug, Clone)]
pub struct Options {
    pub sweeper_interval_ms: u64,
    pub sweeper_backoff_ms: Vec<u64>,
    pub barcode_deadline_ms: u64,
    pub pending_expiry_ms: u64,
    /// How long a sandbox `…2` barcode payment stays `processing`.
    pub processing_delay_ms: u64,
    /// Webhook retries (no jitter in tests); past the end, dead letter.
    pub webhook_retry_ms: Vec<u64>,
    pub plugin_cpu_ms: u64,
    pub plugin_memory_mib: u64,
    pub call_timeout_ms: u64,
    /// More tenant files, `(file stem, TOML)`. `{public_url}` in settings
    /// is paycore's own base URL, as in every tenant file.
    pub extra_tenants: Vec<(String, String)>,
    /// `[outbound] allow_addresses = ["127.0.0.1"]`, which the standard
    /// channels (the sandbox provider on paycore's own loopback address)
    /// need; `false` runs the strict production default.
    pub loopback_reachable: bool,
    /// Appended to `paycore.toml` (further tables, e.g. `[plugin_policy]`).
    pub extra_server_toml: String,
    /// The build of the sandbox plugin the standard tenants are served by,
    /// copied in as `sandbox.wasm`; `target/plugins/sandbox.wasm` if `None`.
    pub sandbox_plugin: Option<PathBuf>,
    /// The clock paycore reads business time from; the system's if `None`.
    /// A manual clock (`Clock::manual`) lets a test move time past an
    /// expiry or a cool-down instead of sleeping (`TestApp::clock`).
    pub clock: Option<paycore::clock::Clock>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sweeper_interval_ms: 60_000,
            sweeper_backoff_ms: vec![100],
            barcode_deadline_ms: 60_000,
            pending_expiry_ms: 7_200_000,
            processing_delay_ms: 300,
            webhook_retry_ms: vec![100, 200, 400],
            plugin_cpu_ms: 200,
            plugin_memory_mib: 32,
            call_timeout_ms: 5_000,
            extra_tenants: Vec::new(),
            loopback_reachable: true,
            extra_server_toml: String::new(),
            sandbox_plugin: None,
            clock: None,
        }
    }
}

impl Options {
    /// A sweeper that runs every 100 ms and re-checks open payments as often.
    pub fn fast_sweeper() -> Options {
        Options {
            sweeper_interval_ms: 100,
            ..Options::default()
        }
    }

    /// A sweeper every 100 ms that checks an open payment every 200 ms and
    /// cancels a barcode payment still unpaid `deadline_ms` after creation.
    pub fn barcode_deadline(deadline_ms: u64) -> Options {
        Options {
            sweeper_interval_ms: 100,
            sweeper_backoff_ms: vec![200],
            barcode_deadline_ms: deadline_ms,
            ..Options::default()
        }
    }
}

/// What a test adds to the standard set-up.
#[derive(Debug, Clone, Default)]
pub struct Extra {
    /// Plugin file names (without `.wasm`) to load from `target/plugins`.
    pub plugins: Vec<String>,
    /// (tenant id, tenant TOML); `{hook_url}` in the TOML becomes the test's
    /// webhook receiver.
    pub tenants: Vec<(String, String)>,
}

/// A webhook as the merchant received it.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub signature: String,
    pub body: String,
}

pub struct TestApp {
    pub app: Option<RunningApp>,
    pub base: String,
    pub client: reqwest::Client,
    /// Webhooks the merchant accepted (answered 2xx).
    pub webhooks: Arc<Mutex<Vec<Webhook>>>,
    /// The tenants' default `notify_url`.
    pub hooks: HookServer,
    _dir: tempfile::TempDir,
}

/// A merchant's webhook endpoint on loopback. It answers every POST with
/// `status` (200 unless a test changes it) and keeps the webhooks it
/// answered with a 2xx.
pub struct HookServer {
    pub url: String,
    pub received: Arc<Mutex<Vec<Webhook>>>,
    /// Every POST, answered 2xx or not.
    pub attempts: Arc<AtomicUsize>,
    pub status: Arc<AtomicU16>,
    task: tokio::task::JoinHandle<()>,
}

impl HookServer {
    pub async fn start() -> HookServer {
        HookServer::start_on(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
    }

    pub fn start_on(listener: tokio::net::TcpListener) -> HookServer {
        use axum::http::{HeaderMap, StatusCode as Status};
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let attempts = Arc::new(AtomicUsize::new(0));
        let status = Arc::new(AtomicU16::new(200));
        let (r, a, st) = (received.clone(), attempts.clone(), status.clone());
        let app = axum::Router::new().route(
            "/hooks",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let (received, attempts, status) = (r.clone(), a.clone(), st.clone());
                async move {
                    attempts.fetch_add(1, Ordering::SeqCst);
                    let answer = Status::from_u16(status.load(Ordering::SeqCst)).unwrap();
                    if answer.is_success() {
                        let signature = headers
                            .get("paycore-signature")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string();
                        received.lock().unwrap().push(Webhook { signature, body });
                    }
                    (answer, "ok")
                }
            }),
        );
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        HookServer {
            url,
            received,
            attempts,
            status,
            task,
        }
    }

    /// Waits (bounded) until `n` webhooks were accepted.
    pub async fn wait_for(&self, n: usize) -> Vec<Webhook> {
        eventually(&format!("{n} webhooks at {}", self.url), || {
            let got = self.received.lock().unwrap().clone();
            (got.len() >= n).then_some(got)
        })
        .await
    }
}

impl Drop for HookServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Polls `check` every 50 ms until it returns `Some`, for at most 10 s.
pub async fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    for _ in 0..200 {
        if let Some(v) = check() {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// [`eventually`] for a check that has to await (an HTTP call, a query):
/// polls it every 50 ms until it returns `Some`, for at most 10 s.
pub async fn eventually_async<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..200 {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A first-party plugin as `cargo xtask build` leaves it, by file stem.
pub fn first_party_plugin(name: &str) -> PathBuf {
    plugin_dir("PAYCORE_PLUGINS_DIR", "target/plugins").join(format!("{name}.wasm"))
}

/// A path inside the workspace.
pub fn workspace_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

fn plugin_dir(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(default)
    })
}

/// One compiled-code cache for every test app in the workspace, so each
/// plugin is compiled once per build rather than once per test.
fn shared_compiled_cache() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-plugin-cache")
}

fn copy_plugin(from_dir: &Path, name: &str, to: &Path) {
    let from = from_dir.join(format!("{name}.wasm"));
    std::fs::copy(&from, to.join(format!("{name}.wasm"))).unwrap_or_else(|e| {
        panic!(
            "{} is missing ({e}): run `cargo xtask test`, which builds the plugins first",
            from.display()
        )
    });
}

impl TestApp {
    pub async fn start() -> TestApp {
        TestApp::start_with(Options::default()).await
    }

    pub async fn start_with(opts: Options) -> TestApp {
        TestApp::start_with_extra(opts, Extra::default()).await
    }

    /// Starts with further plugins from `target/plugins` and further tenant
    /// files, next to the standard ones.
    pub async fn start_with_extra(opts: Options, extra: Extra) -> TestApp {
        paycore::plugin_host::install_crypto_provider();
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        let plugins = root.join("plugins");
        std::fs::create_dir_all(&plugins).unwrap();
        match &opts.sandbox_plugin {
            Some(build) => {
                std::fs::copy(build, plugins.join("sandbox.wasm")).unwrap();
            }
            None => copy_plugin(
                &plugin_dir("PAYCORE_PLUGINS_DIR", "target/plugins"),
                "sandbox",
                &plugins,
            ),
        }
        copy_plugin(
            &plugin_dir("PAYCORE_TEST_PLUGINS_DIR", "target/test-plugins"),
            "misbehave",
            &plugins,
        );

        for name in &extra.plugins {
            copy_plugin(
                &plugin_dir("PAYCORE_PLUGINS_DIR", "target/plugins"),
                name,
                &plugins,
            );
        }

        let hooks = HookServer::start().await;
        let hook_url = hooks.url.clone();
        let list = |ms: &[u64]| ms.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");

        std::fs::create_dir_all(root.join("tenants")).unwrap();
        let database_url = database_url().await;
        std::fs::write(
            root.join("paycore.toml"),
            format!(
                r#"
listen = "127.0.0.1:0"
database_url = "{database_url}"
plugins_dir = "plugins"
plugin_cache_dir = "{cache}"
admin_token = "inline:adm_test_e2e"
[outbound]
allow_addresses = [{allowed}]
plain_http_hosts = ["127.0.0.1", "169.254.169.254"]
[plugin_limits]
cpu_ms = {cpu}
memory_mib = {mem}
call_timeout_ms = {timeout}
http_timeout_ms = 2000
[sandbox_provider]
enabled = true
processing_delay_ms = {processing}
[sandbox_provider.merchants]
sbx_demo = "inline:e2e-demo-provider-key"
sbx_acme = "inline:e2e-acme-provider-key"
[sweeper]
interval_ms = {sweep}
min_age_ms = 0
backoff_ms = [{backoff}]
barcode_deadline_ms = {deadline}
pending_expiry_ms = {expiry}
[webhooks]
retry_schedule_ms = [{retries}]
jitter_percent = 0
timeout_ms = 2000
{extra_server}
"#,
                extra_server = opts.extra_server_toml,
                cpu = opts.plugin_cpu_ms,
                allowed = if opts.loopback_reachable {
                    "\"127.0.0.1\""
                } else {
                    ""
                },
                mem = opts.plugin_memory_mib,
                timeout = opts.call_timeout_ms,
                sweep = opts.sweeper_interval_ms,
                processing = opts.processing_delay_ms,
                backoff = list(&opts.sweeper_backoff_ms),
                deadline = opts.barcode_deadline_ms,
                expiry = opts.pending_expiry_ms,
                retries = list(&opts.webhook_retry_ms),
                cache = shared_compiled_cache().display(),
            ),
        )
        .unwrap();
        for (id, key, merchant) in [
            ("demo", DEMO_KEY, "sbx_demo"),
            ("acme", ACME_KEY, "sbx_acme"),
        ] {
            let tenant = TenantToml::sandbox(id, key)
                .webhooks(&format!("inline:{WEBHOOK_SECRET}"), &hook_url)
                .channel(|c| c.merchant(merchant, &format!("inline:e2e-{id}-provider-key")));
            std::fs::write(root.join(format!("tenants/{id}.toml")), tenant.to_string()).unwrap();
        }
        // A tenant whose first channel is the misbehaving test plugin.
        std::fs::write(
            root.join("tenants/lab.toml"),
            format!(
                r#"
id = "lab"
api_keys = ["{LAB_KEY}"]
[[channels]]
id = "bad"
plugin = "misbehave@1"
allowed_hosts = ["127.0.0.1", "169.254.169.254"]
settings = {{ base_url = "{{public_url}}/sandbox" }}
"#
            ),
        )
        .unwrap();

        for (stem, text) in &opts.extra_tenants {
            std::fs::write(root.join(format!("tenants/{stem}.toml")), text).unwrap();
        }
        for (id, toml) in &extra.tenants {
            let toml = toml.replace("{hook_url}", &hook_url);
            std::fs::write(root.join(format!("tenants/{id}.toml")), toml).unwrap();
        }

        let cfg = config::load(&root.join("paycore.toml"), &Overrides::default())
            .unwrap_or_else(|e| panic!("test config: {e}"));
        let clock = opts
            .clock
            .clone()
            .unwrap_or_else(paycore::clock::Clock::system);
        let app = paycore::app::start_with_clock(cfg, Overrides::default(), clock)
            .await
            .expect("paycore starts");
        watching(&[root.join("tenants"), root.join("plugins")]).await;
        let base = format!("http://{}", app.addr);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        TestApp {
            app: Some(app),
            base,
            client,
            webhooks: hooks.received.clone(),
            hooks,
            _dir: dir,
        }
    }

    /// The folder holding this app's config and what it writes there (the
    /// SQLite database when tests run on SQLite).
    pub fn data_dir(&self) -> &Path {
        self._dir.path()
    }

    /// The plugins folder this app watches.
    pub fn plugins_dir(&self) -> PathBuf {
        self._dir.path().join("plugins")
    }

    /// The tenants folder this app watches.
    pub fn tenants_dir(&self) -> PathBuf {
        self._dir.path().join("tenants")
    }

    /// A built test plugin (see `cargo xtask build`), by file stem.
    pub fn test_plugin(name: &str) -> PathBuf {
        plugin_dir("PAYCORE_TEST_PLUGINS_DIR", "target/test-plugins").join(format!("{name}.wasm"))
    }

    /// Copies `from` into the plugins folder as `name` the way an operator
    /// should: under a temporary name first, then renamed into place.
    pub fn drop_plugin(&self, from: &Path, name: &str) {
        let temp = self.plugins_dir().join(format!(".{name}.part"));
        std::fs::copy(from, &temp).unwrap();
        std::fs::rename(&temp, self.plugins_dir().join(name)).unwrap();
    }

    /// `/admin/status` (generation, errors, whether the config on disk serves).
    pub async fn admin(&self, path: &str) -> Reply {
        self.get("adm_test_e2e", path).await
    }

    /// Polls `/admin/status` (bounded) until `check` holds: the watcher may
    /// reload more than once for one edit, so the first new generation is
    /// not necessarily the one that read the final file.
    pub async fn status_until(&self, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..600 {
            let status = self.admin("/admin/status").await.body;
            if check(&status) {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "status never showed {what}: {}",
            self.admin("/admin/status").await.body
        );
    }

    /// The Prometheus text of `GET /metrics`.
    pub async fn metrics(&self) -> String {
        let response = self.client.get(self.url("/metrics")).send().await;
        response.expect("paycore answers").text().await.unwrap()
    }

    /// Waits (bounded: a reload compiles new plugins, which a debug build
    /// on a busy machine does slowly) until the reload generation passes
    /// `after`.
    pub async fn wait_for_reload(&self, after: u64) -> Reply {
        for _ in 0..600 {
            let status = self.admin("/admin/status").await;
            if status.body["generation"].as_u64().unwrap_or(0) > after {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no reload happened after generation {after}");
    }

    /// Waits (bounded) until a reload after `after` has the config on disk
    /// serving with no problems (an editor's write may be seen half-done by
    /// an earlier reload, which is refused and followed by another).
    pub async fn wait_for_clean_reload(&self, after: u64) -> Reply {
        for _ in 0..600 {
            let status = self.admin("/admin/status").await;
            let b = &status.body;
            let clean =
                b["config_current"] == true && b["errors"].as_array().is_some_and(|e| e.is_empty());
            if b["generation"].as_u64().unwrap_or(0) > after && clean {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "no clean reload after generation {after}: {}",
            self.admin("/admin/status").await.body
        );
    }

    /// The `paycore.toml` this app was started from.
    pub fn config_file(&self) -> PathBuf {
        self._dir.path().join("paycore.toml")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post(&self, key: &str, path: &str, body: Value) -> Reply {
        self.send(
            self.client
                .post(self.url(path))
                .bearer_auth(key)
                .json(&body),
        )
        .await
    }

    pub async fn post_raw(&self, key: &str, path: &str, body: &str) -> Reply {
        self.send(
            self.client
                .post(self.url(path))
                .bearer_auth(key)
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
        .await
    }

    pub async fn get(&self, key: &str, path: &str) -> Reply {
        self.send(self.client.get(self.url(path)).bearer_auth(key))
            .await
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("paycore answers");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Creates a payment for the demo tenant and returns the reply.
    pub async fn pay(&self, body: Value) -> Reply {
        self.post(DEMO_KEY, "/v1/payments", body).await
    }

    /// Polls `sync` until the payment leaves `from` (bounded).
    pub async fn sync_until_not(&self, key: &str, id: &str, from: &str) -> Reply {
        for _ in 0..50 {
            let r = self
                .post(key, &format!("/v1/payments/{id}/sync"), json!({}))
                .await;
            if r.body["status"] != from {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("payment {id} stayed {from}");
    }

    pub fn store(&self) -> &paycore::store::Store {
        self.app.as_ref().expect("running").payments.store()
    }

    /// The clock paycore reads business time from (`Options::clock`).
    pub fn clock(&self) -> &paycore::clock::Clock {
        self.app.as_ref().expect("running").payments.clock()
    }

    /// Waits (bounded) until `n` webhooks arrived.
    pub async fn wait_for_webhooks(&self, n: usize) -> Vec<Webhook> {
        for _ in 0..100 {
            let got = self.webhooks.lock().unwrap().clone();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "expected {n} webhooks, got {}",
            self.webhooks.lock().unwrap().len()
        );
    }

    /// Polls `GET /v1/payments/{id}` (a read, never a sync) until the
    /// payment is `status` (bounded).
    pub async fn wait_for_status(&self, key: &str, id: &str, status: &str) -> Reply {
        for _ in 0..200 {
            let r = self.get(key, &format!("/v1/payments/{id}")).await;
            if r.body["status"] == status {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let r = self.get(key, &format!("/v1/payments/{id}")).await;
        panic!("payment {id} did not become {status}: {}", r.body);
    }

    /// `GET /v1/events?payment_id=`.
    pub async fn events(&self, key: &str, payment_id: &str) -> Reply {
        self.get(key, &format!("/v1/events?payment_id={payment_id}"))
            .await
    }

    /// Waits (bounded) until the payment has at least one event and paycore
    /// has recorded the outcome of every one's delivery (`delivered` or
    /// `dead`: nothing left to send); answers the listing. A receiver
    /// holds a webhook before paycore records its answer, so a test that
    /// saw the webhook arrive waits here before reading its delivery.
    pub async fn wait_for_deliveries(&self, key: &str, payment_id: &str) -> Reply {
        eventually_async(&format!("the deliveries of {payment_id}"), async || {
            let events = self.events(key, payment_id).await;
            let data = events.body["data"].as_array()?;
            let done = data
                .iter()
                .all(|e| matches!(e["delivery"]["status"].as_str(), Some("delivered" | "dead")));
            (!data.is_empty() && done).then_some(events)
        })
        .await
    }

    /// The demo merchant's order `order_no` as the sandbox provider itself
    /// answers a `query` (signed with the demo's provider key): what the
    /// channel holds, read without paycore hearing of it.
    pub async fn provider_order(&self, order_no: &str) -> Value {
        self.provider("query", json!({ "out_trade_no": order_no }))
            .await
    }

    /// Calls operation `op` of the sandbox provider as the demo merchant
    /// (signed with its provider key), behind paycore's back: what a
    /// merchant does in the channel's own console.
    pub async fn provider(&self, op: &str, body: Value) -> Value {
        use hmac::{Hmac, Mac};
        let body = body.to_string();
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"e2e-demo-provider-key").unwrap();
        mac.update(body.as_bytes());
        let response = self
            .client
            .post(self.url(&format!("/sandbox/api/v1/{op}")))
            .header("content-type", "application/json")
            .header("x-sandbox-merchant", "sbx_demo")
            .header(
                "x-sandbox-signature",
                hex::encode(mac.finalize().into_bytes()),
            )
            .body(body)
            .send()
            .await
            .expect("the sandbox provider answers");
        response.json().await.expect("a JSON answer")
    }

    /// Posts a channel callback for the demo tenant's sandbox channel.
    pub async fn callback(&self, body: &str, signature: Option<&str>) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.url("/v1/callbacks/demo/sandbox-main"))
            .body(body.to_string());
        if let Some(signature) = signature {
            request = request.header("x-sandbox-signature", signature);
        }
        request.send().await.expect("paycore answers")
    }

    pub async fn stop(mut self) {
        if let Some(app) = self.app.take() {
            app.shutdown().await;
        }
    }
}

/// Waits (bounded) until paycore watches `folders`. It starts watching in a
/// task of its own once `app::start` has returned, so a test writing a file
/// at once could otherwise write it before the watch exists, and no reload
/// would ever see it; the wider the window, the busier the machine.
/// Read from the kernel's table of this process's inotify watches.
async fn watching(folders: &[PathBuf]) {
    use std::os::unix::fs::MetadataExt;
    let inodes: Vec<u64> = folders
        .iter()
        .map(|f| std::fs::metadata(f).expect("the app's folder").ino())
        .collect();
    for _ in 0..1000 {
        let watched = inotify_watched_inodes();
        if inodes.iter().all(|i| watched.contains(i)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("paycore never watched {folders:?}");
}

/// The inodes this process's inotify instances watch (`/proc/self/fdinfo`).
fn inotify_watched_inodes() -> std::collections::HashSet<u64> {
    let mut inodes = std::collections::HashSet::new();
    for fd in std::fs::read_dir("/proc/self/fdinfo")
        .into_iter()
        .flatten()
        .flatten()
    {
        let Ok(info) = std::fs::read_to_string(fd.path()) else {
            continue;
        };
        for line in info.lines().filter(|l| l.starts_with("inotify ")) {
            let ino = line.split_whitespace().find_map(|f| f.strip_prefix("ino:"));
            if let Some(ino) = ino.and_then(|i| u64::from_str_radix(i, 16).ok()) {
                inodes.insert(ino);
            }
        }
    }
    inodes
}

/// The PostgreSQL server tests run against (`PAYCORE_TEST_DATABASE_URL`,
/// a URL to a database that may create others), or `None` for SQLite.
pub fn postgres_server() -> Option<String> {
    std::env::var("PAYCORE_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// A database of the test's own: a SQLite file next to `paycore.toml`, or
/// a fresh PostgreSQL database on the test server, so tests stay isolated
/// and run in parallel on either backend.
async fn database_url() -> String {
    let Some(server) = postgres_server() else {
        return "sqlite://paycore.db".into();
    };
    use sqlx::Connection;
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "paycore_e2e_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    let mut admin = sqlx::PgConnection::connect(&server)
        .await
        .unwrap_or_else(|e| panic!("PAYCORE_TEST_DATABASE_URL: {e}"));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("creating the test database {name}: {e}"));
    let mut url = url::Url::parse(&server).expect("PAYCORE_TEST_DATABASE_URL is a URL");
    url.set_path(&name);
    url.to_string()
}

/// A loopback port nothing listens on (yet): connecting is refused, so a
/// channel pointed at it is "unavailable, nothing sent".
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Starts forwarding `port` to `to` (a channel that comes back up).
pub async fn forward(port: u16, to: std::net::SocketAddr) -> tokio::task::JoinHandle<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("the closed port is free to bind");
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(to).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    })
}

/// A reply: status, headers and the JSON body (or the text as a string).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The `type` of each event in a `GET /v1/events` listing, in order.
    pub fn event_types(&self) -> Vec<&str> {
        self.body["data"]
            .as_array()
            .expect("an event listing")
            .iter()
            .map(|e| e["type"].as_str().expect("each event has a type"))
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn id(&self) -> String {
        self.body["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no id in {}", self.body))
            .to_string()
    }
    /// The payment's id whether it was created (its body) or answered with
    /// an error that carries it (an unknown outcome: `error.payment`).
    pub fn payment_id(&self) -> String {
        self.body["id"]
            .as_str()
            .or_else(|| self.body["error"]["payment"]["id"].as_str())
            .unwrap_or_else(|| panic!("no payment in {}", self.body))
            .to_owned()
    }
    /// `error.code` of an error reply.
    pub fn code(&self) -> &str {
        self.body["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("not an error: {} {}", self.status, self.body))
    }
}

/// Checks a `Paycore-Signature` header against the body.
pub fn webhook_signature_valid(header: &str, body: &str, secret: &str) -> bool {
    use hmac::{Hmac, Mac};
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", x)) => t = Some(x),
            Some(("v1", x)) => v1 = Some(x),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    hex::decode(v1).is_ok_and(|sig| mac.verify_slice(&sig).is_ok())
}

/// A payment notice signed as the sandbox provider signs it for the demo
/// tenant (the tests know its key): `(body, signature)`.
pub fn provider_callback(trade_no: &str, order_no: &str, amount: &str) -> (String, String) {
    use hmac::{Hmac, Mac};
    let body = json!({
        "event": "payment.succeeded", "trade_no": trade_no, "out_trade_no": order_no,
        "status": "SUCCEEDED", "amount": amount, "currency": "CNY", "paid_at": "2026-11-25T08:00:00Z"
    })
    .to_string();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"e2e-demo-provider-key").unwrap();
    mac.update(body.as_bytes());
    (body, hex::encode(mac.finalize().into_bytes()))
}

/// A barcode payment body for the sandbox wallet.
pub fn barcode(order_no: &str, amount: i64, auth_code: &str) -> Value {
    json!({
        "merchant_order_no": order_no,
        "amount": amount,
        "currency": "CNY",
        "scene": "barcode",
        "auth_code": auth_code,
        "wallet": "sandbox",
        "subject": "2 x latte"
    })
}
