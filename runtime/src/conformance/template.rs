//! Filling a profile's templates: `${name}` is replaced by a variable (the
//! operation's amount, order number, ...) or by a `let` computed before it,
//! such as a signature over another template.

use super::profile::Let;
use crate::config::SecretValue;
use crate::plugin_host::{ProviderCryptoError, encrypt_as_provider, sign_as_provider};
use base64::Engine as _;
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
    #[error(transparent)]
    Crypto(#[from] ProviderCryptoError),
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
    if let Some(name) = &step.sign {
        let mut data = field(&step.over, "over")?.into_bytes();
        if signing == Signing::Forged {
            data.extend_from_slice(b" (forged)");
        }
        let alg = step.alg.as_deref().unwrap_or("hmac-sha256");
        let signature = sign_as_provider(key(name)?, alg, &data)?;
        return Ok(encode(&signature, step.encoding.as_deref()));
    }
    if let Some(name) = &step.encrypt {
        let sealed = encrypt_as_provider(
            key(name)?,
            field(&step.nonce, "nonce")?.as_bytes(),
            field(&step.aad, "aad")?.as_bytes(),
            field(&step.plaintext, "plaintext")?.as_bytes(),
        )?;
        return Ok(encode(&sealed, step.encoding.as_deref()));
    }
    field(&step.value, "value, sign or encrypt")
}

fn encode(bytes: &[u8], encoding: Option<&str>) -> String {
    match encoding {
        Some("hex") => hex::encode(bytes),
        // For a value inside a form body (`+`, `/`, `=` escaped).
        Some("base64-form") => form_urlencoded::byte_serialize(
            base64::engine::general_purpose::STANDARD
                .encode(bytes)
                .as_bytes(),
        )
        .collect(),
        _ => base64::engine::general_purpose::STANDARD.encode(bytes),
    }
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
            value: None,
            sign: Some("k".into()),
            alg: None,
            over: Some("${body}".into()),
            encrypt: None,
            nonce: None,
            aad: None,
            plaintext: None,
            encoding: Some("hex".into()),
        }];
        let v = vars(&[("body", "hello")]);
        let honest = evaluate(&lets, &v, &keys, Signing::Honest, &Vars::new()).unwrap();
        let forged = evaluate(&lets, &v, &keys, Signing::Forged, &Vars::new()).unwrap();
        assert_eq!(honest["sig"].len(), 64);
        assert_ne!(honest["sig"], forged["sig"]);
        let kept = evaluate(&lets, &v, &keys, Signing::Honest, &forged).unwrap();
        assert_eq!(kept["sig"], forged["sig"]);
    }
}
