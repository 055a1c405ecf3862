//! Filling a profile's templates: `${name}` is replaced by a variable (the
//! operation's amount, order number, ...) or by a `let` computed before it,
//! such as a signature over another template.

use super::encoding::{self, EncodingError};
use super::profile::Let;
use crate::config::SecretValue;
use crate::plugin_host::{ProviderCryptoError, encrypt_as_provider, sign_as_provider};
use std::collections::BTreeMap;

pub type Vars = BTreeMap<String, String>;

/// Why a profile's template cannot be filled in.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("unclosed `${{` in `{template}`")]
    Unclosed { template: String },
    #[error("unknown variable `${{{name}}}`")]
    UnknownVariable { name: String },
    /// A `let` failed; which, and why.
    #[error("let `{name}`: {error}")]
    Let {
        name: String,
        error: Box<TemplateError>,
    },
    #[error("no key `{name}` in upstream_keys or secrets")]
    NoKey { name: String },
    /// A `let` lacks the field its kind needs.
    #[error("needs `{field}`")]
    Needs { field: &'static str },
    /// A `file` let built outside `profile::load`, which reads the files.
    #[error("its file was not read with the profile")]
    FileNotRead,
    #[error(transparent)]
    Crypto(#[from] ProviderCryptoError),
    #[error(transparent)]
    Encoding(#[from] EncodingError),
}

/// How to spoil the signatures of one rendering, for the callback checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    Honest,
    /// Every signature is over other data: the signature does not match.
    Forged,
}

/// `${name}` → `vars[name]`; an unknown name is an error naming it.
pub fn render(template: &str, vars: &Vars) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| TemplateError::Unclosed {
            template: template.to_string(),
        })?;
        let name = &after[..end];
        let value = vars
            .get(name)
            .ok_or_else(|| TemplateError::UnknownVariable {
                name: name.to_string(),
            })?;
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Evaluates `lets` in order on top of `vars`. `keep` holds values that
/// override a `let` of the same name (a signature carried over from another
/// rendering, to tamper with the data it covers).
pub fn evaluate(
    lets: &[Let],
    vars: &Vars,
    keys: &BTreeMap<String, SecretValue>,
    signing: Signing,
    keep: &Vars,
) -> Result<Vars, TemplateError> {
    let mut vars = vars.clone();
    for step in lets {
        let value = match keep.get(&step.name) {
            Some(kept) => kept.clone(),
            None => one(step, &vars, keys, signing).map_err(|error| TemplateError::Let {
                name: step.name.clone(),
                error: Box::new(error),
            })?,
        };
        vars.insert(step.name.clone(), value);
    }
    Ok(vars)
}

/// A message (answer or callback) filled in: `let`s that mention `${body}`
/// are evaluated after the body is rendered, the others before, so a
/// signature header can cover the body and the body can carry a signature.
pub struct Message {
    pub body: String,
    pub headers: Vec<(String, String)>,
    pub vars: Vars,
}

pub fn message(
    lets: &[Let],
    body: &str,
    headers: &BTreeMap<String, String>,
    vars: &Vars,
    keys: &BTreeMap<String, SecretValue>,
    signing: Signing,
    keep: &Vars,
) -> Result<Message, TemplateError> {
    let (late, early): (Vec<Let>, Vec<Let>) = lets.iter().cloned().partition(mentions_body);
    let mut vars = evaluate(&early, vars, keys, signing, keep)?;
    let body = render(body, &vars)?;
    vars.insert("body".into(), body.clone());
    let vars = evaluate(&late, &vars, keys, signing, keep)?;
    let headers = headers
        .iter()
        .map(|(k, v)| Ok((k.clone(), render(v, &vars)?)))
        .collect::<Result<Vec<_>, TemplateError>>()?;
    Ok(Message {
        body,
        headers,
        vars,
    })
}

fn mentions_body(l: &Let) -> bool {
    [&l.value, &l.over, &l.plaintext, &l.nonce, &l.aad]
        .iter()
        .any(|t| t.as_deref().is_some_and(|t| t.contains("${body}")))
}

/// The names of the `let`s that are signatures.
pub fn signature_names(lets: &[Let]) -> Vec<String> {
    lets.iter()
        .filter(|l| l.sign.is_some())
        .map(|l| l.name.clone())
        .collect()
}

fn one(
    step: &Let,
    vars: &Vars,
    keys: &BTreeMap<String, SecretValue>,
    signing: Signing,
) -> Result<String, TemplateError> {
    let key = |name: &str| {
        keys.get(name).ok_or_else(|| TemplateError::NoKey {
            name: name.to_string(),
        })
    };
    let field = |f: &Option<String>, what: &'static str| {
        f.as_deref()
            .ok_or(TemplateError::Needs { field: what })
            .and_then(|t| render(t, vars))
    };
    let written = |bytes: &[u8], default: Option<&str>| match step.encoding.as_deref().or(default) {
        Some(e) => encoding::encode(bytes, e).map_err(TemplateError::from),
        None => Ok(String::from_utf8_lossy(bytes).into_owned()),
    };
    if let Some(name) = &step.sign {
        let mut data = field(&step.over, "over")?.into_bytes();
        if signing == Signing::Forged {
            // Before any digest: the signature is then over other data,
            // whatever the provider hashes first.
            data.extend_from_slice(b" (forged)");
        }
        if let Some(digest) = &step.digest {
            data = encoding::digest(&data, digest)?;
        }
        let alg = step.alg.as_deref().unwrap_or("hmac-sha256");
        let signature = sign_as_provider(key(name)?, alg, &data)?;
        return written(&signature, Some("base64"));
    }
    if step.digest.is_some() {
        // A hash of what, for whom? Only a signature takes one.
        return Err(TemplateError::Needs { field: "sign" });
    }
    if let Some(name) = &step.encrypt {
        let sealed = encrypt_as_provider(
            key(name)?,
            field(&step.nonce, "nonce")?.as_bytes(),
            field(&step.aad, "aad")?.as_bytes(),
            field(&step.plaintext, "plaintext")?.as_bytes(),
        )?;
        return written(&sealed, Some("base64"));
    }
    if step.file.is_some() {
        let text = step.text.as_deref().ok_or(TemplateError::FileNotRead)?;
        return written(text.as_bytes(), None);
    }
    written(
        field(&step.value, "value, file, sign or encrypt")?.as_bytes(),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn renders_variables_and_names_unknown_ones() {
        let v = vars(&[("amount_major", "0.01")]);
        assert_eq!(
            render(r#"{"amount":"${amount_major}"}"#, &v).unwrap(),
            r#"{"amount":"0.01"}"#
        );
        assert_eq!(
            render("${nope}", &v).unwrap_err().to_string(),
            "unknown variable `${nope}`"
        );
    }

    #[test]
    fn signatures_cover_the_rendered_data_and_forging_changes_them() {
        let keys = BTreeMap::from([("k".to_string(), SecretValue::new(b"key".to_vec()))]);
        let lets = vec![Let {
            name: "sig".into(),
            sign: Some("k".into()),
            over: Some("${body}".into()),
            encoding: Some("hex".into()),
            ..Let::default()
        }];
        let v = vars(&[("body", "hello")]);
        let honest = evaluate(&lets, &v, &keys, Signing::Honest, &Vars::new()).unwrap();
        let forged = evaluate(&lets, &v, &keys, Signing::Forged, &Vars::new()).unwrap();
        assert_eq!(honest["sig"].len(), 64);
        assert_ne!(honest["sig"], forged["sig"]);
        let kept = evaluate(&lets, &v, &keys, Signing::Honest, &forged).unwrap();
        assert_eq!(kept["sig"], forged["sig"]);
    }

    #[test]
    fn a_digest_hashes_the_data_after_forging_spoils_it() {
        let key = SecretValue::new(b"key".to_vec());
        let keys = BTreeMap::from([("k".to_string(), key.clone())]);
        let lets = vec![Let {
            name: "sig".into(),
            sign: Some("k".into()),
            over: Some("${content}".into()),
            digest: Some("sha256-hex".into()),
            encoding: Some("hex".into()),
            ..Let::default()
        }];
        let v = vars(&[("content", "a=1&b=2")]);
        let signed_over = |data: &[u8]| {
            let hashed = encoding::digest(data, "sha256-hex").unwrap();
            hex::encode(sign_as_provider(&key, "hmac-sha256", &hashed).unwrap())
        };
        let honest = evaluate(&lets, &v, &keys, Signing::Honest, &Vars::new()).unwrap();
        assert_eq!(honest["sig"], signed_over(b"a=1&b=2"));
        let forged = evaluate(&lets, &v, &keys, Signing::Forged, &Vars::new()).unwrap();
        assert_eq!(forged["sig"], signed_over(b"a=1&b=2 (forged)"));
        // Only a signature hashes first.
        let unsigned = [Let {
            name: "x".into(),
            value: Some("a".into()),
            digest: Some("sha256-hex".into()),
            ..Let::default()
        }];
        assert!(evaluate(&unsigned, &v, &keys, Signing::Honest, &Vars::new()).is_err());
    }

    #[test]
    fn values_and_files_are_written_as_they_are_unless_an_encoding_is_given() {
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB+/a=\n-----END CERTIFICATE-----";
        let lets = [
            Let {
                name: "cert".into(),
                file: Some("cert.pem".into()),
                text: Some(pem.into()),
                ..Let::default()
            },
            Let {
                name: "cert_form".into(),
                value: Some("${cert}".into()),
                encoding: Some("form".into()),
                ..Let::default()
            },
        ];
        let got = evaluate(
            &lets,
            &Vars::new(),
            &BTreeMap::new(),
            Signing::Honest,
            &Vars::new(),
        )
        .unwrap();
        assert_eq!(got["cert"], pem);
        assert_eq!(
            got["cert_form"],
            "-----BEGIN+CERTIFICATE-----%0AMIIB%2B%2Fa%3D%0A-----END+CERTIFICATE-----"
        );
        let unread = [Let {
            name: "cert".into(),
            file: Some("cert.pem".into()),
            ..Let::default()
        }];
        let err = evaluate(
            &unread,
            &Vars::new(),
            &BTreeMap::new(),
            Signing::Honest,
            &Vars::new(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "let `cert`: its file was not read with the profile"
        );
    }
}
