//! The JSON objects Huifu signs — an answer's `data`, a notification's
//! `resp_data` — read once their signature holds. A field named twice is
//! refused: which of the two values the signer meant cannot be known.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

/// An object's fields in the order they came.
#[derive(Debug, Clone, PartialEq)]
pub struct Fields(Vec<(String, Value)>);

impl Fields {
    /// Reads `text` as one JSON object; `Err` says in words why it is not.
    pub fn parse(text: &str) -> Result<Fields, String> {
        serde_json::from_str(text).map_err(|e| format!("not a JSON object: {e}"))
    }

    pub fn value(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// Field `name` if it is a non-empty string. Huifu writes its values
    /// as strings; a number where a string belongs (an amount as a JSON
    /// float) reads as absent, so it is never taken for one.
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.value(name) {
            Some(Value::String(s)) if !s.is_empty() => Some(s),
            _ => None,
        }
    }

    /// Whether field `name` is there at all, of whatever type.
    pub fn has(&self, name: &str) -> bool {
        self.value(name).is_some()
    }
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(FieldsVisitor)
    }
}

struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = Fields;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
        let mut fields: Vec<(String, Value)> = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Value>()? {
            if fields.iter().any(|(k, _)| *k == key) {
                return Err(serde::de::Error::custom(format!(
                    "field `{key}` appears twice"
                )));
            }
            fields.push((key, value));
        }
        Ok(Fields(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_read_and_other_types_are_not_taken_for_them() {
        let fields = Fields::parse(
            r#"{"trans_amt":"1.01","pay_amt":1.01,"notify_type":1,"remark":"","dc_response":{"a":"b"}}"#,
        )
        .unwrap();
        assert_eq!(fields.text("trans_amt"), Some("1.01"));
        assert_eq!(fields.text("pay_amt"), None);
        assert_eq!(fields.text("notify_type"), None);
        assert_eq!(fields.text("remark"), None);
        assert!(fields.has("remark"));
        assert_eq!(fields.text("missing"), None);
        assert!(fields.value("dc_response").unwrap().is_object());
    }

    #[test]
    fn what_is_not_one_unambiguous_object_is_refused() {
        for bad in [
            r#"{"resp_code":"00000000","resp_code":"10000000"}"#,
            r#"["resp_code"]"#,
            r#""{}""#,
            r#"{"a":"1""#,
            "",
        ] {
            assert!(Fields::parse(bad).is_err(), "{bad:?}");
        }
        let err = Fields::parse(r#"{"a":"1","a":"2"}"#).unwrap_err();
        assert!(err.contains("appears twice"), "{err}");
    }
}
