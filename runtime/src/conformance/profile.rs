//! The conformance profile: what a plugin's author ships beside the `.wasm`
//! (`NAME.conformance.toml`) so the suite can play the provider's side of
//! a protocol it does not know. It holds test settings and keys, sample
//! answers per request, and one sample callback, all as templates (see
//! `template`); for a card programme's plugin, the programmes and cards the
//! suite plays on its ledger instead (`[ledger]`, see `ledger::play`).

use crate::config::SecretValue;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The channel's settings; `${upstream}` is the scripted upstream's base
    /// URL (`http://127.0.0.1:PORT`).
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    /// The channel's secrets, as secret references (`inline:`, `file:`
    /// relative to the profile, `env:`). Test keys only.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    /// Keys the scripted upstream signs and encrypts with: the provider's
    /// side. A secret of the channel may be named here too (shared HMAC keys).
    #[serde(default)]
    pub upstream_keys: BTreeMap<String, String>,
    #[serde(default)]
    pub request: RequestSample,
    /// What the pay request must contain for the amount to be right, e.g.
    /// `"amount":"${amount_major}"`; checked on every edge amount. A
    /// plugin that calls a provider needs it.
    pub pay_amount: Option<String>,
    /// Answers of the scripted upstream; the first whose `when` all match
    /// the request answers it.
    #[serde(default)]
    pub answers: Vec<Answer>,
    /// A verified payment notification as the provider sends it.
    pub callback: Option<Callback>,
    /// The card programmes and cards to play a ledger plugin on.
    pub ledger: Option<super::ledger::Section>,
}

/// Fields the plugin's pay requests need beyond amount and currency.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSample {
    pub auth_code: Option<String>,
    pub open_id: Option<String>,
    pub app_id: Option<String>,
    pub buyer_id: Option<String>,
    pub client_ip: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// Substrings of the request (`METHOD URL`, headers, body, and the body
    /// URL-decoded), all of which must appear.
    pub when: Vec<String>,
    #[serde(default = "ok")]
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub body: String,
    #[serde(default, rename = "let")]
    pub lets: Vec<Let>,
    /// The suite's operations (`pay`, `query`, … as [`OPERATIONS`] names
    /// them) during which this answer may be given; any when empty. A
    /// provider asked the same thing in two operations (a close that
    /// queries first) can then answer each as that operation needs.
    #[serde(default)]
    pub during: Vec<String>,
}

/// What the suite asks a plugin, as its traces name the calls.
pub const OPERATIONS: &[&str] = &[
    "pay",
    "query",
    "refund",
    "query-refund",
    "close",
    "cancel",
    "handle-callback",
];

/// A named value computed before the templates are filled: a template, a
/// file's text, a signature over a template, or an encryption of one.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Let {
    pub name: String,
    pub value: Option<String>,
    /// A file, relative to the profile, whose text (without its final line
    /// break) is the value: public material the provider sends, such as
    /// its certificate. Read when the profile loads, into `text`.
    pub file: Option<String>,
    #[serde(skip)]
    pub text: Option<String>,
    /// Key (from `upstream_keys` or `secrets`) to sign `over` with.
    pub sign: Option<String>,
    /// `hmac-sha256` (default) or `rsa-pkcs1-sha256`.
    pub alg: Option<String>,
    pub over: Option<String>,
    /// A hash the provider applies to `over` before signing, the signature
    /// then being over the hash's text: `sha256-hex`.
    pub digest: Option<String>,
    /// Key to encrypt `plaintext` with (AES-256-GCM, ciphertext then tag).
    pub encrypt: Option<String>,
    pub nonce: Option<String>,
    pub aad: Option<String>,
    pub plaintext: Option<String>,
    /// How the value is written: `hex`, `base64` (the default for
    /// signatures and ciphertexts), `base64-form` (base64 escaped for a
    /// form body) or `form` (escaped for a form body as it is); a `value`
    /// or `file` is written as it is unless one is given.
    pub encoding: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Callback {
    #[serde(default = "post")]
    pub method: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub body: String,
    #[serde(default, rename = "let")]
    pub lets: Vec<Let>,
}

fn ok() -> u16 {
    200
}

fn post() -> String {
    "POST".into()
}

/// A profile with its secret references resolved and its `[ledger]` checked.
pub struct Loaded {
    pub profile: Profile,
    pub secrets: BTreeMap<String, SecretValue>,
    pub upstream_keys: BTreeMap<String, SecretValue>,
    pub ledger: Option<super::ledger::Play>,
}

/// Why a conformance profile cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read the profile {}: {error}", .path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}: {error}", .path.display())]
    Parse {
        path: PathBuf,
        error: toml::de::Error,
    },
    /// A secret reference that does not parse or resolve, in the config's
    /// words.
    #[error("{}: secret `{name}`: {reason}", .path.display())]
    Secret {
        path: PathBuf,
        name: String,
        reason: String,
    },
    /// The `[ledger]` section's problems, each placed and on its own line.
    #[error("{}", .0.join("\n"))]
    Ledger(Vec<String>),
    /// A `let`'s `file` that cannot be read as text.
    #[error("{}: let `{name}`: cannot read {}: {error}", .path.display(), .file.display())]
    File {
        path: PathBuf,
        name: String,
        file: PathBuf,
        error: std::io::Error,
    },
    /// An answer's `during` names no operation of the suite.
    #[error("{}: answer {answer}: `during` names `{operation}`, not one of {}", .path.display(), OPERATIONS.join(", "))]
    Operation {
        path: PathBuf,
        /// Counted from 1, as the profile lists its answers.
        answer: usize,
        operation: String,
    },
}

pub fn load(path: &Path) -> Result<Loaded, ProfileError> {
    let text = std::fs::read_to_string(path).map_err(|error| ProfileError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    let mut profile: Profile = toml::from_str(&text).map_err(|error| ProfileError::Parse {
        path: path.to_path_buf(),
        error,
    })?;
    let ledger = profile
        .ledger
        .take()
        .map(|section| super::ledger::Play::check(section, path, &text))
        .transpose()
        .map_err(ProfileError::Ledger)?;
    let base = path.parent().unwrap_or(Path::new("."));
    check_operations(&profile.answers, path)?;
    read_files(&mut profile, base, path)?;
    let resolve = |refs: &BTreeMap<String, String>| {
        refs.iter()
            .map(|(name, reference)| {
                let secret = crate::config::SecretRef::parse(reference, base)
                    .and_then(|r| r.resolve())
                    .map_err(|reason| ProfileError::Secret {
                        path: path.to_path_buf(),
                        name: name.clone(),
                        reason,
                    })?;
                Ok((name.clone(), secret))
            })
            .collect::<Result<BTreeMap<_, _>, ProfileError>>()
    };
    let secrets = resolve(&profile.secrets)?;
    let mut upstream_keys = resolve(&profile.upstream_keys)?;
    for (name, value) in &secrets {
        upstream_keys
            .entry(name.clone())
            .or_insert_with(|| value.clone());
    }
    Ok(Loaded {
        profile,
        secrets,
        upstream_keys,
        ledger,
    })
}

fn check_operations(answers: &[Answer], path: &Path) -> Result<(), ProfileError> {
    for (i, answer) in answers.iter().enumerate() {
        if let Some(unknown) = answer
            .during
            .iter()
            .find(|op| !OPERATIONS.contains(&op.as_str()))
        {
            return Err(ProfileError::Operation {
                path: path.to_path_buf(),
                answer: i + 1,
                operation: unknown.clone(),
            });
        }
    }
    Ok(())
}

/// Reads every `let`'s `file` once, at load: a missing file is the
/// profile's error, not a failed check of the plugin.
fn read_files(profile: &mut Profile, base: &Path, path: &Path) -> Result<(), ProfileError> {
    let answers = profile.answers.iter_mut().flat_map(|a| a.lets.iter_mut());
    let callback = profile.callback.iter_mut().flat_map(|c| c.lets.iter_mut());
    for step in answers.chain(callback) {
        let Some(file) = &step.file else { continue };
        let file = base.join(file);
        let text = std::fs::read_to_string(&file).map_err(|error| ProfileError::File {
            path: path.to_path_buf(),
            name: step.name.clone(),
            file: file.clone(),
            error,
        })?;
        // A file's last line ends with a line break; the value it stands
        // for (a PEM in a field) does not.
        let text = text.strip_suffix('\n').unwrap_or(&text);
        let text = text.strip_suffix('\r').unwrap_or(text);
        step.text = Some(text.to_string());
    }
    Ok(())
}

/// `plugins/x.wasm` → `plugins/x.conformance.toml`.
pub fn beside(wasm: &Path) -> std::path::PathBuf {
    wasm.with_extension("conformance.toml")
}

/// The profile `paycore plugin test FILE` reads without `--profile`: the
/// one [`beside`] the file if there is one, else, for a build under a
/// crate's `target/` (`x/target/wasm32-wasip2/release/x.wasm`), that
/// crate's `conformance.toml`, where `paycore plugin new` writes it.
pub fn default_for(wasm: &Path) -> std::path::PathBuf {
    let beside = beside(wasm);
    if beside.is_file() {
        return beside;
    }
    wasm.ancestors()
        .skip(1)
        .find(|dir| dir.file_name().is_some_and(|n| n == "target"))
        .and_then(Path::parent)
        .filter(|krate| krate.join("Cargo.toml").is_file())
        .map(|krate| krate.join("conformance.toml"))
        .filter(|profile| profile.is_file())
        .unwrap_or(beside)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A profile in a folder of its own, with `cert.pem` beside it.
    fn write(name: &str, profile: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("paycore-profile-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("cert.pem"), "-----BEGIN X-----\r\nAAAA\r\n").unwrap();
        let path = dir.join("conformance.toml");
        std::fs::write(&path, profile).unwrap();
        path
    }

    #[test]
    fn files_are_read_beside_the_profile_without_their_final_line_break() {
        let path = write(
            "files",
            r#"
[[answers]]
when = ["/q "]
during = ["query", "close"]
body = "${cert}"
let = [{ name = "cert", file = "cert.pem" }]

[callback]
body = "${c}"
let = [{ name = "c", file = "./cert.pem", encoding = "form" }]
"#,
        );
        let loaded = load(&path).unwrap();
        let answer = &loaded.profile.answers[0];
        assert_eq!(answer.during, ["query", "close"]);
        assert_eq!(
            answer.lets[0].text.as_deref(),
            Some("-----BEGIN X-----\r\nAAAA")
        );
        let callback = loaded.profile.callback.unwrap();
        assert_eq!(
            callback.lets[0].text.as_deref(),
            Some("-----BEGIN X-----\r\nAAAA")
        );
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn a_missing_file_or_an_unknown_operation_is_the_profiles_error() {
        let missing = write(
            "missing",
            r#"
[[answers]]
when = ["/q "]
body = "${cert}"
let = [{ name = "cert", file = "nowhere.pem" }]
"#,
        );
        let err = load(&missing).err().unwrap().to_string();
        assert!(
            err.contains("let `cert`: cannot read") && err.contains("nowhere.pem"),
            "{err}"
        );
        let typo = write(
            "typo",
            r#"
[[answers]]
when = ["/q "]
body = "ok"

[[answers]]
when = ["/q "]
during = ["refund_query"]
body = "ok"
"#,
        );
        let err = load(&typo).err().unwrap().to_string();
        assert!(
            err.ends_with("answer 2: `during` names `refund_query`, not one of pay, query, refund, query-refund, close, cancel, handle-callback"),
            "{err}"
        );
        for path in [missing, typo] {
            let _ = std::fs::remove_dir_all(path.parent().unwrap());
        }
    }
}
