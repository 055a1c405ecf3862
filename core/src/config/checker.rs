//! `Checker`: one file's validation, collecting every problem at its span,
//! with the shared checks of values (bounded numbers and durations, URLs,
//! secret references).

use super::diagnostics::{ConfigError, ConfigErrors};
use super::secrets::{SecretRef, SecretUse, SecretValue};
use std::path::Path;
use std::time::Duration;
use toml::Spanned;

/// Collects problems for one file, each placed at a span of that file.
pub(super) struct Checker<'a> {
    pub(super) file: &'a Path,
    pub(super) source: &'a str,
    pub(super) errors: &'a mut ConfigErrors,
    pub(super) secrets: SecretPolicy<'a>,
    /// Paths of the entries the reading took out (see `parse::Parsed`).
    pub(super) taken_out: &'a [String],
}

/// How one document's secret references are read.
#[derive(Clone, Copy)]
pub(super) struct SecretPolicy<'a> {
    /// Relative `file:` references are resolved against this folder.
    pub(super) base: &'a Path,
    pub(super) resolve: bool,
    /// `inline:` values are refused where the text is stored in the
    /// database: it is no secret store.
    pub(super) inline_allowed: bool,
}

impl Checker<'_> {
    /// Whether the entry at `path` (`card_programs[1].uses`) was written
    /// but taken out by the reading, which reported it already: a check
    /// that finds it absent must not report it missing too.
    pub(super) fn was_taken_out(&self, path: &str) -> bool {
        self.taken_out.iter().any(|p| p == path)
    }

    pub(super) fn error<T>(&mut self, at: &Spanned<T>, message: impl Into<String>) {
        self.error_at(at.span(), message);
    }

    pub(super) fn error_at(&mut self, span: std::ops::Range<usize>, message: impl Into<String>) {
        self.errors
            .push(ConfigError::at(self.file, self.source, Some(span), message));
    }

    /// 1-based (line, column) of a span's start.
    pub(super) fn position(&self, span: std::ops::Range<usize>) -> (usize, usize) {
        ConfigError::at(self.file, self.source, Some(span), "")
            .position
            .unwrap_or((1, 1))
    }

    /// Resolves a secret reference and checks the value is fit for `use_`.
    pub(super) fn secret(&mut self, at: &Spanned<String>, use_: SecretUse) -> Option<SecretValue> {
        let policy = self.secrets;
        let resolved = SecretRef::parse(at.get_ref(), policy.base).and_then(|r| match r {
            SecretRef::Inline(_) if !policy.inline_allowed => Err(
                "a published config cannot hold a secret inline: reference it with `env:NAME` or `file:PATH`, resolved on each instance".into(),
            ),
            // Checked for form only; this config never serves.
            _ if !policy.resolve => Ok(SecretValue::new(Vec::new())),
            r => r
                .resolve()
                .and_then(|value| use_.check(&value).map(|()| value)),
        });
        match resolved {
            Ok(v) => Some(v),
            Err(message) => {
                self.error(at, message);
                None
            }
        }
    }

    pub(super) fn url(&mut self, at: &Spanned<String>) -> Option<String> {
        match url::Url::parse(at.get_ref()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Some(at.get_ref().clone()),
            Ok(_) => {
                self.error(at, "must be an http:// or https:// URL");
                None
            }
            Err(e) => {
                self.error(at, format!("not a valid URL: {e}"));
                None
            }
        }
    }

    pub(super) fn millis(
        &mut self,
        v: &Option<Spanned<u64>>,
        default: u64,
        min: u64,
        max: u64,
    ) -> Duration {
        Duration::from_millis(self.bounded(v, default, min, max))
    }

    /// A non-empty list of at most `max_len` durations, each within bounds.
    pub(super) fn millis_list(
        &mut self,
        v: &Option<Spanned<Vec<Spanned<u64>>>>,
        default: &[u64],
        (min, max): (u64, u64),
        max_len: usize,
    ) -> Vec<Duration> {
        let Some(list) = v else {
            return default
                .iter()
                .map(|ms| Duration::from_millis(*ms))
                .collect();
        };
        if list.get_ref().is_empty() || list.get_ref().len() > max_len {
            self.error(list, format!("must list between 1 and {max_len} delays"));
        }
        let mut out = Vec::new();
        for item in list.get_ref() {
            out.push(self.millis(&Some(item.clone()), min, min, max));
        }
        out
    }

    pub(super) fn bounded(
        &mut self,
        v: &Option<Spanned<u64>>,
        default: u64,
        min: u64,
        max: u64,
    ) -> u64 {
        match v {
            None => default,
            Some(s) if (min..=max).contains(s.get_ref()) => *s.get_ref(),
            Some(s) => {
                self.error(s, format!("must be between {min} and {max}"));
                default
            }
        }
    }
}
