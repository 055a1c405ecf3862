//! Secret references (`env:NAME`, `file:path`, `inline:value`) and the
//! in-memory secret values they resolve to.

use std::fmt;
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
            SecretRef::File(path) => std::fs::read(path)
                .map(|bytes| SecretValue::new(trim_trailing_newline(bytes)))
                .map_err(|e| format!("cannot read secret file `{}`: {e}", path.display())),
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

fn trim_trailing_newline(mut bytes: Vec<u8>) -> Vec<u8> {
    while matches!(bytes.last(), Some(b'\n' | b'\r')) {
        bytes.pop();
    }
    bytes
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
    fn missing_env_names_the_variable_only() {
        let err = SecretRef::Env("PAYCORE_TEST_SURELY_UNSET".into())
            .resolve()
            .unwrap_err();
        assert!(err.contains("PAYCORE_TEST_SURELY_UNSET"));
    }
}
