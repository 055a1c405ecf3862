//! Test harness: starts the real paycore runtime in-process on a loopback
//! socket, with a fresh SQLite file, the real `.wasm` plugins built by
//! `cargo xtask build`, the built-in sandbox provider, and a webhook
//! receiver. Dropping a [`TestApp`] leaves nothing running.
//! [`channels`] adds a tenant served by the Alipay and WeChat Pay plugins
//! against their loopback simulators.

pub mod channels;

use paycore::app::RunningApp;
use paycore::config::{self, Overrides};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use reqwest::StatusCode;
pub use serde_json::json;

pub const DEMO_KEY: &str = "sk_test_demo";
pub const ACME_KEY: &str = "sk_test_acme";
pub const LAB_KEY: &str = "sk_test_lab_tenant";
pub const WEBHOOK_SECRET: &str = "whsec_test_e2e";

/// Knobs a test may turn.
#[derive(Debug, Clone)]
pub struct Options {
    pub sweeper_interval_ms: u64,
    pub plugin_cpu_ms: u64,
    pub plugin_memory_mib: u64,
    pub call_timeout_ms: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sweeper_interval_ms: 60_000,
            plugin_cpu_ms: 200,
            plugin_memory_mib: 32,
            call_timeout_ms: 5_000,
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
    pub webhooks: Arc<Mutex<Vec<Webhook>>>,
    receiver: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
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
        copy_plugin(
            &plugin_dir("PAYCORE_PLUGINS_DIR", "target/plugins"),
            "sandbox",
            &plugins,
        );
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

        let webhooks = Arc::new(Mutex::new(Vec::new()));
        let (hook_url, receiver) = webhook_receiver(webhooks.clone()).await;

        std::fs::create_dir_all(root.join("tenants")).unwrap();
        std::fs::write(
            root.join("paycore.toml"),
            format!(
                r#"
listen = "127.0.0.1:0"
database_url = "sqlite://paycore.db"
plugins_dir = "plugins"
plugin_cache_dir = "{cache}"
admin_token = "inline:adm_test_e2e"
[plugin_limits]
cpu_ms = {cpu}
memory_mib = {mem}
call_timeout_ms = {timeout}
http_timeout_ms = 2000
[sandbox_provider]
enabled = true
processing_delay_ms = 300
[sandbox_provider.merchants]
sbx_demo = "inline:e2e-demo-provider-key"
sbx_acme = "inline:e2e-acme-provider-key"
[sweeper]
interval_ms = {sweep}
min_age_ms = 0
"#,
                cpu = opts.plugin_cpu_ms,
                mem = opts.plugin_memory_mib,
                timeout = opts.call_timeout_ms,
                sweep = opts.sweeper_interval_ms,
                cache = shared_compiled_cache().display()
            ),
        )
        .unwrap();
        for (id, key, merchant) in [
            ("demo", DEMO_KEY, "sbx_demo"),
            ("acme", ACME_KEY, "sbx_acme"),
        ] {
            std::fs::write(
                root.join(format!("tenants/{id}.toml")),
                format!(
                    r#"
id = "{id}"
api_keys = ["{key}"]
webhook_secret = "inline:{WEBHOOK_SECRET}"
notify_url = "{hook_url}"
[[channels]]
id = "sandbox-main"
plugin = "sandbox@^1"
allowed_hosts = ["127.0.0.1"]
settings = {{ base_url = "{{public_url}}/sandbox", merchant_id = "{merchant}" }}
secrets = {{ api_key = "inline:e2e-{id}-provider-key" }}
"#
                ),
            )
            .unwrap();
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
allowed_hosts = ["127.0.0.1"]
settings = {{ base_url = "{{public_url}}/sandbox" }}
"#
            ),
        )
        .unwrap();

        for (id, toml) in &extra.tenants {
            let toml = toml.replace("{hook_url}", &hook_url);
            std::fs::write(root.join(format!("tenants/{id}.toml")), toml).unwrap();
        }

        let cfg = config::load(&root.join("paycore.toml"), &Overrides::default())
            .unwrap_or_else(|e| panic!("test config: {e}"));
        let app = paycore::app::start(cfg).await.expect("paycore starts");
        let base = format!("http://{}", app.addr);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        TestApp {
            app: Some(app),
            base,
            client,
            webhooks,
            receiver,
            _dir: dir,
        }
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

    pub async fn stop(mut self) {
        if let Some(app) = self.app.take() {
            app.shutdown().await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.receiver.abort();
    }
}

/// A reply: status, headers and the JSON body (or the text as a string).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn id(&self) -> String {
        self.body["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no id in {}", self.body))
            .to_string()
    }
    /// `error.code` of an error reply.
    pub fn code(&self) -> &str {
        self.body["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("not an error: {} {}", self.status, self.body))
    }
}

async fn webhook_receiver(
    store: Arc<Mutex<Vec<Webhook>>>,
) -> (String, tokio::task::JoinHandle<()>) {
    use axum::http::HeaderMap;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let store = store.clone();
            async move {
                let signature = headers
                    .get("paycore-signature")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                store.lock().unwrap().push(Webhook { signature, body });
                "ok"
            }
        }),
    );
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, task)
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
