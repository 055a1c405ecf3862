//! Tenant files served by the sandbox channel, the shape most tests write:
//! `TenantToml::sandbox("shop", KEY)` is a tenant with one `sandbox-main`
//! channel on the built-in provider as the demo merchant; the builder
//! methods change the few things tests vary (the channel's address, its
//! merchant, further top-level lines or channels, rules after them).
//! `{public_url}` stays in the text for paycore to fill in.

use std::fmt;

/// One `[[channels]]` entry served by the sandbox plugin.
#[derive(Debug, Clone)]
pub struct SandboxChannel {
    id: String,
    plugin: String,
    allowed_hosts: Vec<String>,
    base_url: String,
    merchant_id: String,
    api_key: String,
    lines: Vec<String>,
}

impl SandboxChannel {
    /// Channel `id`: `sandbox@^1` on the built-in provider
    /// (`{public_url}/sandbox`, reached at 127.0.0.1) as merchant
    /// `sbx_demo`, with the demo's provider key.
    pub fn new(id: &str) -> SandboxChannel {
        SandboxChannel {
            id: id.to_string(),
            plugin: "sandbox@^1".to_string(),
            allowed_hosts: vec!["127.0.0.1".to_string()],
            base_url: "{public_url}/sandbox".to_string(),
            merchant_id: "sbx_demo".to_string(),
            api_key: "inline:e2e-demo-provider-key".to_string(),
            lines: Vec::new(),
        }
    }

    /// The provider at `url` (e.g. a proxy or a closed port in front of it).
    pub fn base_url(mut self, url: &str) -> SandboxChannel {
        self.base_url = url.to_string();
        self
    }

    /// Another provider merchant, and its key (a secret reference).
    pub fn merchant(mut self, merchant_id: &str, api_key: &str) -> SandboxChannel {
        self.merchant_id = merchant_id.to_string();
        self.api_key = api_key.to_string();
        self
    }

    /// The hosts the plugin may reach.
    pub fn allowed_hosts(mut self, hosts: &[&str]) -> SandboxChannel {
        self.allowed_hosts = hosts.iter().map(|h| h.to_string()).collect();
        self
    }

    /// A further line of the channel's entry (`plugin_sha256 = "…"`).
    pub fn line(mut self, line: &str) -> SandboxChannel {
        self.lines.push(line.to_string());
        self
    }
}

impl fmt::Display for SandboxChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hosts: Vec<String> = self
            .allowed_hosts
            .iter()
            .map(|h| format!("\"{h}\""))
            .collect();
        writeln!(f, "[[channels]]")?;
        writeln!(f, "id = \"{}\"", self.id)?;
        writeln!(f, "plugin = \"{}\"", self.plugin)?;
        for line in &self.lines {
            writeln!(f, "{line}")?;
        }
        writeln!(f, "allowed_hosts = [{}]", hosts.join(", "))?;
        writeln!(
            f,
            "settings = {{ base_url = \"{}\", merchant_id = \"{}\" }}",
            self.base_url, self.merchant_id
        )?;
        writeln!(f, "secrets = {{ api_key = \"{}\" }}", self.api_key)
    }
}

/// A tenant file whose channels are sandbox channels.
#[derive(Debug, Clone)]
pub struct TenantToml {
    id: String,
    api_keys: String,
    lines: Vec<String>,
    channels: Vec<SandboxChannel>,
    after: Vec<String>,
}

impl TenantToml {
    /// Tenant `id`, API key `key`, served by one `sandbox-main` channel
    /// ([`SandboxChannel::new`]).
    pub fn sandbox(id: &str, key: &str) -> TenantToml {
        TenantToml {
            id: id.to_string(),
            api_keys: format!("[\"{key}\"]"),
            lines: Vec::new(),
            channels: vec![SandboxChannel::new("sandbox-main")],
            after: Vec::new(),
        }
    }

    /// The `api_keys` value as TOML (hashed keys, keys with expiry).
    pub fn api_keys(mut self, toml: &str) -> TenantToml {
        self.api_keys = toml.to_string();
        self
    }

    /// A further top-level line, before the channels.
    pub fn line(mut self, line: &str) -> TenantToml {
        self.lines.push(line.to_string());
        self
    }

    /// Webhooks signed with `secret` (a secret reference) to `notify_url`.
    pub fn webhooks(self, secret: &str, notify_url: &str) -> TenantToml {
        self.line(&format!("webhook_secret = \"{secret}\""))
            .line(&format!("notify_url = \"{notify_url}\""))
    }

    /// The one channel changed by `change` (a tenant has one unless more
    /// were added).
    pub fn channel(mut self, change: impl FnOnce(SandboxChannel) -> SandboxChannel) -> TenantToml {
        let only = self.channels.pop().expect("a channel");
        self.channels.push(change(only));
        self
    }

    /// Tables after the channels (`[[rules]]`, `[limits]`), as TOML.
    pub fn then(mut self, toml: &str) -> TenantToml {
        self.after.push(toml.to_string());
        self
    }

    /// `(file stem, TOML)`, for [`crate::Options::extra_tenants`] and
    /// [`crate::Extra::tenants`].
    pub fn file(&self) -> (String, String) {
        (self.id.clone(), self.to_string())
    }
}

impl fmt::Display for TenantToml {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "id = \"{}\"", self.id)?;
        writeln!(f, "api_keys = {}", self.api_keys)?;
        for line in &self.lines {
            writeln!(f, "{line}")?;
        }
        for channel in &self.channels {
            write!(f, "{channel}")?;
        }
        for toml in &self.after {
            writeln!(f, "{}", toml.trim_end())?;
        }
        Ok(())
    }
}
