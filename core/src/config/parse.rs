//! Reading one config document into its raw serde type, reporting every
//! unknown key and wrong type in it rather than only the first.
//!
//! serde stops at the first problem of a document, so a file with three
//! mistakes used to be fixed in three rounds. Here the text is parsed once
//! into toml's tree of spanned values, then deserialized again and again:
//! each failure is reported where it is, the entry it names is taken out of
//! the tree, and the rest is read once more. Each round removes one entry,
//! so it ends. It stops, without guessing, at a required key that is
//! missing: taking its whole table out would only cause follow-on errors
//! (a channel that vanished, then every rule naming it).

use super::diagnostics::{ConfigError, ConfigErrors};
use serde::de::DeserializeOwned;
use std::ops::Range;
use std::path::Path;
use toml::de::{DeTable, DeValue};

/// A document read as far as it could be.
pub(super) struct Parsed<T> {
    /// The document without its broken entries; `None` if even that could
    /// not be read (a syntax error, a required key missing).
    pub value: Option<T>,
    /// Whether the document read without any problem. A document with
    /// problems is still checked further, but never served.
    pub clean: bool,
    /// The paths (`card_programs[1].uses`) of the entries taken out: each
    /// is reported already, so a check finding one absent says no more.
    pub taken_out: Vec<String>,
}

/// Rounds of reading one document; far more entries than any config has.
const MAX_ROUNDS: usize = 256;

pub(super) fn document<T: DeserializeOwned>(
    file: &Path,
    source: &str,
    errors: &mut ConfigErrors,
) -> Parsed<T> {
    let mut tree = match DeTable::parse(source) {
        Ok(tree) => tree,
        Err(e) => {
            // After a syntax error the tree is a guess; what follows it
            // would be noise.
            errors.push(ConfigError::from_toml(file, source, &e));
            return Parsed {
                value: None,
                clean: false,
                taken_out: Vec::new(),
            };
        }
    };
    let mut found = ConfigErrors::default();
    let parsed = read_pruning(&mut tree, file, source, &mut found);
    // Reported in the order of the file, not the order serde met them in.
    found.sort_within_files();
    errors.0.extend(found.0);
    parsed
}

fn read_pruning<T: DeserializeOwned>(
    tree: &mut toml::Spanned<DeTable<'_>>,
    file: &Path,
    source: &str,
    errors: &mut ConfigErrors,
) -> Parsed<T> {
    // (key, path) of each entry taken out.
    let mut removed: Vec<(String, String)> = Vec::new();
    for _ in 0..MAX_ROUNDS {
        let e = match T::deserialize(toml::de::Deserializer::from(tree.clone())) {
            Ok(value) => {
                return Parsed {
                    value: Some(value),
                    clean: removed.is_empty(),
                    taken_out: removed.into_iter().map(|(_, path)| path).collect(),
                };
            }
            Err(e) => e,
        };
        let missing = missing_field(e.message());
        // A required key we took out ourselves is no new problem.
        if !missing.is_some_and(|name| removed.iter().any(|(key, _)| key == name)) {
            errors.push(ConfigError::from_toml(file, source, &e));
        }
        let pruned = match (missing, e.span()) {
            (None, Some(span)) => remove_entry_at(tree.get_mut(), &span),
            _ => None,
        };
        match pruned {
            Some(entry) => removed.push(entry),
            None => break,
        }
    }
    Parsed {
        value: None,
        clean: false,
        taken_out: Vec::new(),
    }
}

/// The key named by serde's "missing field `name`".
fn missing_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
}

/// Takes out the innermost entry whose key or value holds `span`, and
/// answers its key and its path from `table` (`card_programs[1].uses`).
/// Children are searched first: a table's header span does not cover its
/// body, so containment alone cannot pick the parent.
fn remove_entry_at(table: &mut DeTable<'_>, span: &Range<usize>) -> Option<(String, String)> {
    for (key, value) in table.iter_mut() {
        let key = key.get_ref();
        let inner = match value.get_mut() {
            DeValue::Table(t) => {
                remove_entry_at(t, span).map(|(name, path)| (name, format!("{key}.{path}")))
            }
            DeValue::Array(items) => items.iter_mut().enumerate().find_map(|(i, item)| match item
                .get_mut()
            {
                DeValue::Table(t) => remove_entry_at(t, span)
                    .map(|(name, path)| (name, format!("{key}[{i}].{path}"))),
                _ => None,
            }),
            _ => None,
        };
        if inner.is_some() {
            return inner;
        }
    }
    let holds = |outer: Range<usize>| outer.start <= span.start && span.end <= outer.end;
    let key = table
        .iter()
        .find(|(k, v)| holds(k.span()) || holds(v.span()))
        .map(|(k, _)| k.clone())?;
    table.remove(&key);
    let name = key.into_inner().into_owned();
    Some((name.clone(), name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        id: String,
        count: Option<u64>,
        #[serde(default)]
        items: Vec<Item>,
        limits: Option<Limits>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        name: String,
        weight: Option<u32>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Limits {
        a: Option<u64>,
        b: Option<u64>,
    }

    fn read(source: &str) -> (Option<Doc>, bool, Vec<String>) {
        let (value, clean, lines, _) = read_with_paths(source);
        (value, clean, lines)
    }

    fn read_with_paths(source: &str) -> (Option<Doc>, bool, Vec<String>, Vec<String>) {
        let mut errors = ConfigErrors::default();
        let parsed = document::<Doc>(Path::new("t.toml"), source, &mut errors);
        let lines = errors.0.iter().map(ToString::to_string).collect();
        (parsed.value, parsed.clean, lines, parsed.taken_out)
    }

    #[test]
    fn every_unknown_key_and_wrong_type_is_reported_where_it_is() {
        let source = "id = \"x\"\ncount = -3\ncolour = 1\n[[items]]\nname = \"a\"\nweight = \"heavy\"\nwieght = 1\n[limits]\na = \"x\"\nb = 1.5\n";
        let (value, clean, errors, taken_out) = read_with_paths(source);
        assert!(!clean);
        let mut taken_out = taken_out;
        taken_out.sort();
        assert_eq!(
            taken_out,
            [
                "colour",
                "count",
                "items[0].weight",
                "items[0].wieght",
                "limits.a",
                "limits.b"
            ],
            "each entry taken out is known by its path"
        );
        let doc = value.expect("what remains is read");
        assert_eq!((doc.id.as_str(), doc.count), ("x", None));
        assert_eq!(doc.items[0].weight, None);
        assert_eq!(
            errors,
            [
                "t.toml:2:9: invalid value: integer `-3`, expected u64",
                "t.toml:3:1: unknown field `colour`, expected one of `id`, `count`, `items`, `limits`",
                "t.toml:6:10: invalid type: string \"heavy\", expected u32",
                "t.toml:7:1: unknown field `wieght`, expected `name` or `weight`",
                "t.toml:9:5: invalid type: string \"x\", expected u64",
                "t.toml:10:5: invalid type: floating point `1.5`, expected u64",
            ]
        );
    }

    #[test]
    fn a_wrong_required_key_is_reported_once_and_stops_there() {
        let (value, _, errors) = read("id = 5\n");
        assert!(value.is_none());
        assert_eq!(
            errors,
            ["t.toml:1:6: invalid type: integer `5`, expected a string"]
        );
        let (value, _, errors) = read("count = 1\n");
        assert!(value.is_none());
        assert_eq!(errors, ["t.toml:1:1: missing field `id`"]);
    }

    #[test]
    fn a_syntax_error_is_reported_alone() {
        let (value, clean, errors) = read("id = \"x\"\ncount = \ncolour = 1\n");
        assert!(value.is_none() && !clean);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].starts_with("t.toml:2:"), "{errors:?}");
    }

    #[test]
    fn a_clean_document_is_clean() {
        let (value, clean, errors) = read("id = \"x\"\n[[items]]\nname = \"a\"\n");
        assert!(value.is_some() && clean && errors.is_empty());
    }
}
