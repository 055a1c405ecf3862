//! Secret references (`env:NAME`, `file:path`, `inline:value`) and the
//! in-memory secret values they resolve to.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zeroize::Zeroizing;

/// Where a secret comes from. `inline:` exists for the demo and tests only:
/// production configs should reference the environment or a file.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretRef {
    Env(String),
    File(PathBuf),
    Inline(String),
}

impl SecretRef {
    /// `base` is the directory of the config file that holds the reference;
    /// relative `file:` paths are resolved against it.
    pub fn parse(text: &str, base: &Path) -> Result<Self, String> {
        if let Some(name) = text.strip_prefix("env:") {
            if name.is_empty() {
                return Err("`env:` needs a variable name".into());
            }
            Ok(SecretRef::Env(name.to_string()))
        } else if let Some(path) = text.strip_prefix("file:") {
            if path.is_empty() {
                return Err("`file:` needs a path".into());
            }
            Ok(SecretRef::File(base.join(path)))
        } else if let Some(value) = text.strip_prefix("inline:") {
            Ok(SecretRef::Inline(value.to_string()))
        } else {
            Err("a secret must be a reference: `env:NAME`, `file:PATH` or `inline:VALUE` (demo only)".into())
        }
    }

    /// Reads the secret. Errors name the reference, never the value.
    pub fn resolve(&self) -> Result<SecretValue, String> {
        match self {
            SecretRef::Env(name) => std::env::var(name)
                .map(|v| SecretValue::new(v.into_bytes()))
                .map_err(|_| format!("environment variable `{name}` is not set")),
            SecretRef::File(path) => {
                read_secret_file(path).map(|bytes| SecretValue::new(trim_trailing_newline(bytes)))
            }
            SecretRef::Inline(v) => Ok(SecretValue::new(v.as_bytes().to_vec())),
        }
    }
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(n) => write!(f, "env:{n}"),
            SecretRef::File(p) => write!(f, "file:{}", p.display()),
            SecretRef::Inline(_) => write!(f, "inline:<redacted>"),
        }
    }
}

/// The most a `file:` secret may hold. Keys and certificates are a few KiB
/// (an RSA-4096 private key in PEM is about 3.3 KiB, a certificate chain
/// rarely above 16 KiB); anything larger is the wrong file, and reading it
/// whole could exhaust memory (`file:/dev/zero` never ends).
pub const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// Reads a secret file: only a regular file (checked before opening, so a
/// FIFO cannot block the reader and a device cannot feed it for ever), and
/// never more than [`MAX_SECRET_FILE_BYTES`], whatever the file claims.
fn read_secret_file(path: &Path) -> Result<Vec<u8>, String> {
    let shown = path.display();
    let cannot = |e: std::io::Error| format!("cannot read secret file `{shown}`: {e}");
    let kind = std::fs::metadata(path).map_err(cannot)?.file_type();
    if !kind.is_file() {
        return Err(format!(
            "secret file `{shown}` is {}, not a regular file",
            describe_file_type(kind)
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_SECRET_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err(format!(
            "secret file `{shown}` is larger than {} KiB; keys and certificates are smaller, so this is not the file meant",
            MAX_SECRET_FILE_BYTES / 1024
        ));
    }
    Ok(bytes)
}

fn describe_file_type(kind: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_dir() {
        "a directory"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_fifo() {
        "a named pipe"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

fn trim_trailing_newline(mut bytes: Vec<u8>) -> Vec<u8> {
    while matches!(bytes.last(), Some(b'\n' | b'\r')) {
        bytes.pop();
    }
    bytes
}

/// What a secret is for, which decides how short it may be. No secret may
/// be empty: an empty key signs nothing and an empty token matches anyone
/// who sends none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretUse {
    /// A channel's key, or a sandbox merchant's: its form is the plugin's
    /// (or provider's) business, the host only refuses an empty one.
    Key,
    /// A tenant's webhook signing secret (HMAC-SHA256 over each webhook).
    WebhookSecret,
    /// An operator's admin token: a token as long as an API key, or its
    /// `sha256:` reference.
    AdminToken,
}

/// The shortest webhook secret accepted, in bytes: 128 bits, the least an
/// HMAC key should carry, so that merchants' signature checks mean something.
pub const MIN_WEBHOOK_SECRET_BYTES: usize = 16;

impl SecretUse {
    /// Whether `value` is fit for this use; the error never repeats the value.
    pub fn check(self, value: &SecretValue) -> Result<(), String> {
        let bytes = value.expose();
        match self {
            _ if bytes.is_empty() => Err(match self {
                SecretUse::Key => "this secret is empty".to_string(),
                SecretUse::WebhookSecret => {
                    "the webhook secret is empty: anyone could sign this tenant's webhooks".into()
                }
                SecretUse::AdminToken => "the admin token is empty".into(),
            }),
            SecretUse::Key => Ok(()),
            SecretUse::WebhookSecret if bytes.len() < MIN_WEBHOOK_SECRET_BYTES => Err(format!(
                "a webhook secret must be at least {MIN_WEBHOOK_SECRET_BYTES} bytes, so that nobody can guess it and forge this tenant's webhooks (`paycore key new` makes one)"
            )),
            SecretUse::WebhookSecret => Ok(()),
            SecretUse::AdminToken => std::str::from_utf8(bytes)
                .map_err(|_| "an admin token must be text".to_string())
                .and_then(super::api_keys::parse)
                .map(|_| ())
                .map_err(|e| e.replace("an API key", "an admin token")),
        }
    }
}

/// A resolved secret. Its bytes never appear in `Debug` output, so a secret
/// cannot leak through a log line or an error by accident, and they are
/// overwritten with zeros when the last copy is dropped (a reload that
/// replaces a key does not leave the old one lying in freed memory).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(Arc<Zeroizing<Vec<u8>>>);

impl SecretValue {
    pub fn new(bytes: Vec<u8>) -> Self {
        SecretValue(Arc::new(Zeroizing::new(bytes)))
    }
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_and_redact() {
        let base = Path::new("/etc/paycore");
        assert_eq!(
            SecretRef::parse("env:KEY", base),
            Ok(SecretRef::Env("KEY".into()))
        );
        assert_eq!(
            SecretRef::parse("file:keys/a.pem", base),
            Ok(SecretRef::File(PathBuf::from("/etc/paycore/keys/a.pem")))
        );
        assert!(SecretRef::parse("hunter2", base).is_err());
        assert!(SecretRef::parse("env:", base).is_err());
        let inline = SecretRef::parse("inline:hunter2", base).unwrap();
        assert!(!format!("{inline:?}").contains("hunter2"));
        let value = inline.resolve().unwrap();
        assert_eq!(value.expose(), b"hunter2");
        assert!(!format!("{value:?}").contains("hunter2"));
    }

    #[test]
    fn secret_files_are_regular_and_small() {
        use std::os::unix::fs::symlink;
        let dir = std::env::temp_dir().join(format!("paycore-secret-files-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let read = |path: &Path| SecretRef::File(path.to_path_buf()).resolve();

        let key = dir.join("key");
        std::fs::write(&key, "k3y\n").unwrap();
        assert_eq!(read(&key).unwrap().expose(), b"k3y");
        // A link to a regular file is followed, as operators mount keys.
        symlink(&key, dir.join("link")).unwrap();
        assert_eq!(read(&dir.join("link")).unwrap().expose(), b"k3y");

        let at_cap = dir.join("at-cap");
        std::fs::write(&at_cap, vec![b'a'; MAX_SECRET_FILE_BYTES as usize]).unwrap();
        assert!(read(&at_cap).is_ok());
        let big = dir.join("big");
        std::fs::write(&big, vec![b'a'; MAX_SECRET_FILE_BYTES as usize + 1]).unwrap();
        assert!(read(&big).unwrap_err().contains("larger than 64 KiB"));

        let zero = read(Path::new("/dev/zero")).unwrap_err();
        assert!(
            zero.contains("is a character device, not a regular file"),
            "{zero}"
        );
        assert!(read(&dir).unwrap_err().contains("is a directory"));
        let fifo = dir.join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            // Refused without opening it: opening a FIFO would block.
            assert!(read(&fifo).unwrap_err().contains("is a named pipe"));
        }
        assert!(
            read(&dir.join("absent"))
                .unwrap_err()
                .contains("cannot read secret file")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn each_use_refuses_empty_and_short_secrets() {
        let v = |s: &str| SecretValue::new(s.as_bytes().to_vec());
        for use_ in [
            SecretUse::Key,
            SecretUse::WebhookSecret,
            SecretUse::AdminToken,
        ] {
            assert!(
                use_.check(&v("")).unwrap_err().contains("empty"),
                "{use_:?}"
            );
        }
        assert!(SecretUse::Key.check(&v("k")).is_ok());
        let short = SecretUse::WebhookSecret
            .check(&v("whsec_15_bytes!"))
            .unwrap_err();
        assert!(
            short.contains("at least 16 bytes") && !short.contains("whsec_15"),
            "{short}"
        );
        assert!(
            SecretUse::WebhookSecret
                .check(&v("whsec_16_bytes!!"))
                .is_ok()
        );
        assert!(SecretUse::AdminToken.check(&v("adm_1234")).is_ok());
        let short = SecretUse::AdminToken.check(&v("adm_123")).unwrap_err();
        assert_eq!(short, "an admin token must be at least 8 characters");
        assert!(
            SecretUse::AdminToken
                .check(&v("sha256:00"))
                .unwrap_err()
                .contains("64 hex")
        );
        let reference = crate::config::api_keys::reference("adm_test_token");
        assert!(SecretUse::AdminToken.check(&v(&reference)).is_ok());
    }

    #[test]
    fn missing_env_names_the_variable_only() {
        let err = SecretRef::Env("PAYCORE_TEST_SURELY_UNSET".into())
            .resolve()
            .unwrap_err();
        assert!(err.contains("PAYCORE_TEST_SURELY_UNSET"));
    }
}
