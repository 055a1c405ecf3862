//! What a plugin says its channel settings are (contract 1.1's `settings`
//! export), and the check of a tenant's values against that: the same
//! check for `check-config`, every reload and the conformance suite, so a
//! `base_url = "not a url"` is reported where it is written instead of by
//! the first payment.
//!
//! Pure: no I/O. A plugin built for 1.0.0 describes nothing; its settings
//! are [`SettingSpec::untyped`] (required, any text), checked as before.
//! Messages never repeat a value: settings are not secrets, but a tenant
//! may paste one by mistake, and the location already points at it.

use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub struct SettingSpec {
    pub name: String,
    /// For operators: what to write there (empty for untyped settings).
    pub description: String,
    pub kind: SettingKind,
    pub presence: Presence,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SettingKind {
    Text {
        max_length: Option<u32>,
        pattern: Option<Pattern>,
    },
    /// An absolute http:// or https:// URL.
    Url,
    OneOf(Vec<String>),
    /// Whole numbers within the range, either end open.
    Integer {
        min: Option<i64>,
        max: Option<i64>,
    },
}

/// Whether a tenant must write a setting. Empty text counts as not written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    Required,
    /// The plugin then finds no value.
    Optional,
    /// The plugin then receives this value.
    Defaulted(String),
}

/// A plugin's regular expression, compiled once when the plugin loads and
/// anchored, so it must match the whole value.
#[derive(Clone)]
pub struct Pattern {
    source: String,
    regex: regex::Regex,
}

/// Why a plugin's pattern is refused.
#[derive(Debug, thiserror::Error)]
pub enum PatternError {
    #[error("a pattern is at most {MAX_PATTERN_CHARS} characters")]
    TooLong,
    #[error("pattern `{pattern}` is not a valid regular expression: {error}")]
    Invalid {
        pattern: String,
        error: regex::Error,
    },
}

/// What a written value must be, and is not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("must be at most {max} characters")]
    TooLong { max: u32 },
    #[error("must match the pattern `{pattern}`")]
    NoMatch { pattern: String },
    #[error("must be an absolute http:// or https:// URL")]
    NotUrl,
    #[error("must be one of: {}", .values.join(", "))]
    NotOneOf { values: Vec<String> },
    #[error("must be a whole number{}", range_words(*.min, *.max))]
    NotWholeNumber { min: Option<i64>, max: Option<i64> },
}

/// Why a plugin's descriptions of its settings are refused.
#[derive(Debug, thiserror::Error)]
pub enum DescriptionError {
    #[error("describes setting `{name}`, which its manifest's `settings` does not list")]
    Unlisted { name: String },
    #[error("setting `{name}` is one of no values")]
    NoValues { name: String },
    #[error("setting `{name}` has a minimum above its maximum")]
    MinimumAboveMaximum { name: String },
    #[error("setting `{name}`: its default {error}")]
    BadDefault { name: String, error: ValueError },
    #[error("describes setting `{name}` twice")]
    Twice { name: String },
}

/// The longest pattern a plugin may give; compiled size is bounded too, so
/// a plugin cannot make the host spend memory on its descriptions.
const MAX_PATTERN_CHARS: usize = 1024;
const MAX_COMPILED_PATTERN_BYTES: usize = 1 << 20;

impl Pattern {
    pub fn new(source: &str) -> Result<Pattern, PatternError> {
        if source.chars().count() > MAX_PATTERN_CHARS {
            return Err(PatternError::TooLong);
        }
        let regex = regex::RegexBuilder::new(&format!("^(?:{source})$"))
            .size_limit(MAX_COMPILED_PATTERN_BYTES)
            .dfa_size_limit(MAX_COMPILED_PATTERN_BYTES)
            .build()
            .map_err(|error| PatternError::Invalid {
                pattern: source.to_string(),
                error,
            })?;
        Ok(Pattern {
            source: source.to_string(),
            regex,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({:?})", self.source)
    }
}

impl SettingSpec {
    /// A setting a 1.0.0 plugin names without describing: required text.
    pub fn untyped(name: &str) -> SettingSpec {
        SettingSpec {
            name: name.to_string(),
            description: String::new(),
            kind: SettingKind::Text {
                max_length: None,
                pattern: None,
            },
            presence: Presence::Required,
        }
    }

    /// Why `value` (written, not empty) does not fit, saying what would.
    pub fn check(&self, value: &str) -> Result<(), ValueError> {
        match &self.kind {
            SettingKind::Text {
                max_length,
                pattern,
            } => {
                if let Some(max) = max_length
                    && value.chars().count() > *max as usize
                {
                    return Err(ValueError::TooLong { max: *max });
                }
                match pattern {
                    Some(p) if !p.regex.is_match(value) => Err(ValueError::NoMatch {
                        pattern: p.source.clone(),
                    }),
                    _ => Ok(()),
                }
            }
            SettingKind::Url => match url::Url::parse(value) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Ok(()),
                _ => Err(ValueError::NotUrl),
            },
            SettingKind::OneOf(values) if values.iter().any(|v| v == value) => Ok(()),
            SettingKind::OneOf(values) => Err(ValueError::NotOneOf {
                values: values.clone(),
            }),
            SettingKind::Integer { min, max } => {
                let whole = value
                    .strip_prefix('-')
                    .unwrap_or(value)
                    .bytes()
                    .all(|b| b.is_ascii_digit());
                let n = value.parse::<i64>().ok().filter(|_| whole);
                match n {
                    Some(n) if min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m) => Ok(()),
                    _ => Err(ValueError::NotWholeNumber {
                        min: *min,
                        max: *max,
                    }),
                }
            }
        }
    }

    /// What the kind admits, in a few words (for `plugin inspect`).
    pub fn kind_words(&self) -> String {
        match &self.kind {
            SettingKind::Text {
                max_length,
                pattern,
            } => {
                let mut words = "text".to_string();
                if let Some(max) = max_length {
                    words.push_str(&format!(", at most {max} characters"));
                }
                if let Some(p) = pattern {
                    words.push_str(&format!(", matching `{}`", p.source));
                }
                words
            }
            SettingKind::Url => "http(s) URL".into(),
            SettingKind::OneOf(values) => format!("one of {}", values.join(", ")),
            SettingKind::Integer { min, max } => format!("whole number{}", range_words(*min, *max)),
        }
    }

    /// Whether it must be written, in a few words (for `plugin inspect`).
    pub fn presence_words(&self) -> String {
        match &self.presence {
            Presence::Required => "required".into(),
            Presence::Optional => "optional".into(),
            Presence::Defaulted(value) => format!("optional, default `{value}`"),
        }
    }
}

fn range_words(min: Option<i64>, max: Option<i64>) -> String {
    match (min, max) {
        (Some(lo), Some(hi)) => format!(" from {lo} to {hi}"),
        (Some(lo), None) => format!(" of at least {lo}"),
        (None, Some(hi)) => format!(" of at most {hi}"),
        (None, None) => String::new(),
    }
}

/// Checks a plugin's descriptions of its settings before it may load: one
/// per listed name, none of an unlisted name, each admitting something,
/// and each default fitting its own kind. `listed` is the manifest's
/// `settings`; settings listed but not described come back untyped.
pub fn describe(
    listed: &[String],
    described: Vec<SettingSpec>,
) -> Result<Vec<SettingSpec>, DescriptionError> {
    let mut by_name: BTreeMap<String, SettingSpec> = BTreeMap::new();
    for spec in described {
        let name = spec.name.clone();
        if !listed.contains(&name) {
            return Err(DescriptionError::Unlisted { name });
        }
        match &spec.kind {
            SettingKind::OneOf(values) if values.is_empty() => {
                return Err(DescriptionError::NoValues { name });
            }
            SettingKind::Integer {
                min: Some(lo),
                max: Some(hi),
            } if lo > hi => {
                return Err(DescriptionError::MinimumAboveMaximum { name });
            }
            _ => {}
        }
        if let Presence::Defaulted(value) = &spec.presence {
            spec.check(value)
                .map_err(|error| DescriptionError::BadDefault {
                    name: name.clone(),
                    error,
                })?;
        }
        if by_name.insert(name.clone(), spec).is_some() {
            return Err(DescriptionError::Twice { name });
        }
    }
    Ok(listed
        .iter()
        .map(|name| {
            by_name
                .remove(name)
                .unwrap_or_else(|| SettingSpec::untyped(name))
        })
        .collect())
}

/// One setting of a channel that does not fit the plugin's description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misfit {
    pub setting: String,
    pub problem: Problem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Required, and not written (or empty).
    Missing,
    /// Written, and wrong: what it must be.
    Invalid(ValueError),
}

/// The settings a channel's plugin receives: the tenant's `values` (any
/// placeholders already filled in) plus the defaults of described settings
/// left out; or every setting that does not fit. Values the plugin does not
/// describe pass through untouched: another version of it may read them.
pub fn resolve(
    specs: &[SettingSpec],
    values: &BTreeMap<String, String>,
) -> Result<Vec<(String, String)>, Vec<Misfit>> {
    let mut resolved: BTreeMap<String, String> = values.clone();
    let mut misfits = Vec::new();
    for spec in specs {
        let written = values.get(&spec.name).filter(|v| !v.is_empty());
        let problem = match (written, &spec.presence) {
            (Some(value), _) => spec.check(value).err().map(Problem::Invalid),
            (None, Presence::Required) => Some(Problem::Missing),
            (None, Presence::Optional) => None,
            (None, Presence::Defaulted(value)) => {
                resolved.insert(spec.name.clone(), value.clone());
                None
            }
        };
        if let Some(problem) = problem {
            misfits.push(Misfit {
                setting: spec.name.clone(),
                problem,
            });
        }
    }
    if misfits.is_empty() {
        Ok(resolved.into_iter().collect())
    } else {
        Err(misfits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(max_length: Option<u32>, pattern: Option<&str>) -> SettingKind {
        SettingKind::Text {
            max_length,
            pattern: pattern.map(|p| Pattern::new(p).unwrap()),
        }
    }

    fn spec(name: &str, kind: SettingKind, presence: Presence) -> SettingSpec {
        SettingSpec {
            name: name.into(),
            description: String::new(),
            kind,
            presence,
        }
    }

    /// `(kind, value, fits)`: one line per case.
    #[test]
    fn values_are_checked_against_their_kind() {
        let cases: &[(SettingKind, &str, Result<(), &str>)] = &[
            (
                SettingKind::Url,
                "https://openapi.alipay.com/gateway.do",
                Ok(()),
            ),
            (SettingKind::Url, "http://127.0.0.1:9100", Ok(())),
            (
                SettingKind::Url,
                "not a url",
                Err("must be an absolute http:// or https:// URL"),
            ),
            (
                SettingKind::Url,
                "ftp://example.com",
                Err("must be an absolute http:// or https:// URL"),
            ),
            (
                SettingKind::Url,
                "/sandbox",
                Err("must be an absolute http:// or https:// URL"),
            ),
            (text(None, None), "anything at all", Ok(())),
            (text(Some(3), None), "abc", Ok(())),
            (
                text(Some(3), None),
                "abcd",
                Err("must be at most 3 characters"),
            ),
            (text(Some(2), None), "支付", Ok(())),
            (text(None, Some("[0-9]{16}")), "2021000000000001", Ok(())),
            (
                text(None, Some("[0-9]{16}")),
                "2021000000000001x",
                Err("must match the pattern `[0-9]{16}`"),
            ),
            (
                text(None, Some("[0-9]{16}")),
                "x2021000000000001",
                Err("must match the pattern `[0-9]{16}`"),
            ),
            (
                text(None, Some("a|b")),
                "ab",
                Err("must match the pattern `a|b`"),
            ),
            (SettingKind::OneOf(vec!["RSA2".into()]), "RSA2", Ok(())),
            (
                SettingKind::OneOf(vec!["RSA2".into(), "SM2".into()]),
                "RSA",
                Err("must be one of: RSA2, SM2"),
            ),
            (
                SettingKind::Integer {
                    min: Some(1),
                    max: Some(1440),
                },
                "90",
                Ok(()),
            ),
            (
                SettingKind::Integer {
                    min: Some(1),
                    max: Some(1440),
                },
                "0",
                Err("must be a whole number from 1 to 1440"),
            ),
            (
                SettingKind::Integer {
                    min: None,
                    max: None,
                },
                "-5",
                Ok(()),
            ),
            (
                SettingKind::Integer {
                    min: None,
                    max: None,
                },
                "+5",
                Err("must be a whole number"),
            ),
            (
                SettingKind::Integer {
                    min: None,
                    max: None,
                },
                "1.5",
                Err("must be a whole number"),
            ),
            (
                SettingKind::Integer {
                    min: Some(0),
                    max: None,
                },
                "99999999999999999999",
                Err("must be a whole number of at least 0"),
            ),
        ];
        for (kind, value, expected) in cases {
            let got = spec("s", kind.clone(), Presence::Required).check(value);
            let got = got.map_err(|e| e.to_string());
            assert_eq!(got, expected.map_err(str::to_string), "{kind:?} {value:?}");
        }
    }

    #[test]
    fn missing_settings_and_defaults() {
        let specs = [
            spec("base_url", SettingKind::Url, Presence::Required),
            spec("token", text(None, None), Presence::Optional),
            spec(
                "sign_type",
                SettingKind::OneOf(vec!["RSA2".into()]),
                Presence::Defaulted("RSA2".into()),
            ),
        ];
        let values = BTreeMap::from([
            ("base_url".to_string(), "https://x.example".to_string()),
            ("extra".to_string(), "kept for another version".to_string()),
        ]);
        assert_eq!(
            resolve(&specs, &values).unwrap(),
            [
                ("base_url".to_string(), "https://x.example".to_string()),
                ("extra".to_string(), "kept for another version".to_string()),
                ("sign_type".to_string(), "RSA2".to_string()),
            ]
        );
        // Empty is not written: a required one is missing, a defaulted one defaults.
        let values = BTreeMap::from([
            ("base_url".to_string(), String::new()),
            ("sign_type".to_string(), "RSA".to_string()),
        ]);
        assert_eq!(
            resolve(&specs, &values).unwrap_err(),
            [
                Misfit {
                    setting: "base_url".into(),
                    problem: Problem::Missing
                },
                Misfit {
                    setting: "sign_type".into(),
                    problem: Problem::Invalid(ValueError::NotOneOf {
                        values: vec!["RSA2".into()]
                    })
                },
            ]
        );
    }

    #[test]
    fn a_plugins_descriptions_are_checked_before_it_loads() {
        let listed = vec!["base_url".to_string(), "merchant_id".to_string()];
        let described = describe(
            &listed,
            vec![spec("base_url", SettingKind::Url, Presence::Required)],
        )
        .unwrap();
        assert_eq!(described[0].kind, SettingKind::Url);
        assert_eq!(described[1], SettingSpec::untyped("merchant_id"));

        let refuse = |specs: Vec<SettingSpec>| describe(&listed, specs).unwrap_err().to_string();
        assert!(
            refuse(vec![spec("other", SettingKind::Url, Presence::Required)])
                .contains("does not list")
        );
        assert!(
            refuse(vec![
                spec("base_url", SettingKind::Url, Presence::Required);
                2
            ])
            .contains("twice")
        );
        assert!(
            refuse(vec![spec(
                "base_url",
                SettingKind::OneOf(vec![]),
                Presence::Required
            )])
            .contains("no values")
        );
        let backwards = SettingKind::Integer {
            min: Some(2),
            max: Some(1),
        };
        assert!(
            refuse(vec![spec("base_url", backwards, Presence::Required)]).contains("minimum above")
        );
        let bad_default = spec(
            "base_url",
            SettingKind::Url,
            Presence::Defaulted("nope".into()),
        );
        assert_eq!(
            refuse(vec![bad_default]),
            "setting `base_url`: its default must be an absolute http:// or https:// URL"
        );
        assert!(
            Pattern::new("(")
                .unwrap_err()
                .to_string()
                .contains("not a valid regular expression")
        );
        assert!(
            Pattern::new(&"a".repeat(2000))
                .unwrap_err()
                .to_string()
                .contains("at most 1024")
        );
        // A pattern that compiles huge is refused, not built.
        assert!(Pattern::new("[a-z]{1000}{1000}").is_err());
    }
}
