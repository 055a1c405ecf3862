//! The text a request's `data` is signed over, and sent as: the fields
//! being sent, every value a JSON string, compact, top-level keys in byte
//! order, strings escaped minimally (Go SDK `FormatSignSrcText`, PHP
//! `JSON_UNESCAPED_SLASHES|JSON_UNESCAPED_UNICODE`, Python
//! `ensure_ascii=False`). Huifu re-canonicalises the `data` it parses and
//! verifies over that, so the text sent must be exactly this text.

use std::collections::BTreeMap;

/// A request's `data`. Keys are the protocol's ASCII field names, so the
/// map's order is the byte order canonical text sorts by.
#[derive(Debug, Default, Clone)]
pub struct Data(BTreeMap<&'static str, String>);

impl Data {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets field `name`. An empty value is not sent at all: Huifu's SDKs
    /// disagree on dropping `""`, and whatever is sent is signed.
    pub fn set(&mut self, name: &'static str, value: &str) {
        let value = clean(value);
        if value.is_empty() {
            self.0.remove(name);
        } else {
            self.0.insert(name, value);
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The canonical text: what is signed and what the body carries.
    pub fn text(&self) -> String {
        let pairs: Vec<(&str, &str)> = self.0.iter().map(|(k, v)| (*k, v.as_str())).collect();
        canonical_text(&pairs)
    }
}

/// `{"k":"v",…}` with the pairs sorted by key (byte order), compact, each
/// value a JSON string.
pub fn canonical_text(pairs: &[(&str, &str)]) -> String {
    let mut sorted = pairs.to_vec();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = String::from("{");
    for (i, (key, value)) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&json_string(key));
        out.push(':');
        out.push_str(&json_string(value));
    }
    out.push('}');
    out
}

/// A nested structure (`risk_check_data`, `digital_currency_data`,
/// `dc_data`): Huifu takes it as a JSON *string* holding compact JSON,
/// never as an object, and sorts only the top level; ours is written
/// sorted anyway, so it reads the same to any signer.
pub fn nested(pairs: &[(&str, &str)]) -> String {
    let cleaned: Vec<(&str, String)> = pairs.iter().map(|(k, v)| (*k, clean(v))).collect();
    let pairs: Vec<(&str, &str)> = cleaned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    canonical_text(&pairs)
}

/// `s` as a JSON string literal, escaped minimally: `"` and `\`, and
/// U+0000–U+001F as `\b \f \n \r \t` or `\u00xx`; everything else raw
/// UTF-8 (`/`, `<`, `>`, `&`, Chinese included).
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Control characters (U+0000–U+001F, U+007F–U+009F) and U+2028/U+2029
/// become spaces: Huifu's SDKs escape them differently, so a value holding
/// one could be verified over other text than we signed.
pub fn clean(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
                ' '
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sorted_by_bytes_and_values_are_strings() {
        let mut data = Data::new();
        data.set("trans_amt", "1.01");
        data.set("huifu_id", "6666000108854952");
        data.set("Z", "upper case sorts first");
        data.set("req_seq_id", "A1");
        assert_eq!(
            data.text(),
            r#"{"Z":"upper case sorts first","huifu_id":"6666000108854952","req_seq_id":"A1","trans_amt":"1.01"}"#
        );
    }

    #[test]
    fn empty_values_are_never_sent() {
        let mut data = Data::new();
        data.set("remark", "");
        data.set("goods_desc", "x");
        data.set("goods_desc", "");
        assert_eq!(data.text(), "{}");
    }

    #[test]
    fn escaping_is_minimal_and_leaves_unicode_and_slashes_raw() {
        assert_eq!(
            json_string(r#"拿铁 "大杯" <a&b> http://x/y \z"#),
            r#""拿铁 \"大杯\" <a&b> http://x/y \\z""#
        );
        assert_eq!(
            json_string("\u{8}\u{c}\n\r\t\u{1}\u{1f}"),
            r#""\b\f\n\r\t\u0001\u001f""#
        );
    }

    #[test]
    fn control_characters_and_line_separators_become_spaces() {
        assert_eq!(
            clean("a\nb\u{2028}c\u{2029}d\u{0}e\u{7f}f\u{85}g"),
            "a b c d e f g"
        );
        let mut data = Data::new();
        data.set("goods_desc", "two\nlines");
        assert_eq!(data.text(), r#"{"goods_desc":"two lines"}"#);
    }

    #[test]
    fn nested_structures_travel_as_json_strings() {
        let risk = nested(&[("ip_addr", "203.0.113.7")]);
        assert_eq!(risk, r#"{"ip_addr":"203.0.113.7"}"#);
        let mut data = Data::new();
        data.set("risk_check_data", &risk);
        assert_eq!(
            data.text(),
            r#"{"risk_check_data":"{\"ip_addr\":\"203.0.113.7\"}"}"#
        );
        // A quote in the reason is escaped twice: once inside, once outside.
        let refund = nested(&[("refund_desc", "说\"错\"了\n")]);
        assert_eq!(refund, r#"{"refund_desc":"说\"错\"了 "}"#);
    }

    #[test]
    fn the_text_parses_back_to_the_same_fields() {
        let mut data = Data::new();
        data.set("goods_desc", r#"a "quoted" \ value"#);
        data.set("risk_check_data", &nested(&[("ip_addr", "::1")]));
        let parsed: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&data.text()).unwrap();
        assert_eq!(parsed["goods_desc"], r#"a "quoted" \ value"#);
        assert_eq!(parsed["risk_check_data"], r#"{"ip_addr":"::1"}"#);
    }
}
