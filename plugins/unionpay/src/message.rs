//! The acp message itself, with no keys involved: the string both sides
//! sign, its first hash, and the raw `k=v&…` text of a synchronous answer
//! (the acp SDK's `convertResultStringToMap`).

use sha2::{Digest as _, Sha256};

/// A message's fields in the order they were sent or received.
pub type Fields = Vec<(String, String)>;

/// Every field but `signature`, sorted by key (byte order), joined
/// `k1=v1&k2=v2` with raw values. `drop_blanks` is the signer's rule; a
/// verifier keeps blank fields, as the acp SDK's `validate` does, so a
/// message whose signer dropped one it still sent does not verify.
pub fn sign_string<K: AsRef<str>, V: AsRef<str>>(fields: &[(K, V)], drop_blanks: bool) -> String {
    let mut kept: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_ref()))
        .filter(|(k, v)| *k != "signature" && !(drop_blanks && v.is_empty()))
        .collect();
    // Stable: a repeated key (refused before it gets here) keeps its order.
    kept.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = String::new();
    for (i, (k, v)) in kept.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// The first hash: lowercase hex SHA-256 of the sign string. The RSA-SHA256
/// signature is made over these 64 ASCII bytes (so the data is hashed
/// twice); skipping this step is the classic porting mistake.
pub fn digest_hex(sign_string: &str) -> String {
    hex::encode(Sha256::digest(sign_string.as_bytes()))
}

/// Reads an answer body as the acp SDK does: pairs split on `&` except
/// inside a `{…}` or `[…]` value, each split at its first `=`, values taken
/// raw (not url-decoded: `signPubKeyCert` keeps its PEM newlines, and a
/// trailing newline stays part of the last value, as the SDK keeps it). A
/// body wrapped in `{…}` is unwrapped first. `Err` says why the text is no
/// answer: no fields, a name that is not a field name, or a name given
/// twice (which value the signer meant cannot be known).
pub fn parse_answer(text: &str) -> Result<Fields, String> {
    let text = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(text);
    if text.is_empty() {
        return Err("the answer is empty".to_owned());
    }
    let mut fields = Fields::new();
    let mut key = String::new();
    let mut value = String::new();
    let mut in_key = true;
    // The bracket that closes the nested value being read, if any.
    let mut closing: Option<char> = None;
    for c in text.chars() {
        if in_key {
            if c == '=' {
                in_key = false;
            } else {
                key.push(c);
            }
            continue;
        }
        match closing {
            Some(end) if c == end => closing = None,
            Some(_) => {}
            None if c == '{' => closing = Some('}'),
            None if c == '[' => closing = Some(']'),
            None => {}
        }
        if c == '&' && closing.is_none() {
            push(
                &mut fields,
                std::mem::take(&mut key),
                std::mem::take(&mut value),
            )?;
            in_key = true;
        } else {
            value.push(c);
        }
    }
    push(&mut fields, key, value)?;
    Ok(fields)
}

fn push(fields: &mut Fields, key: String, value: String) -> Result<(), String> {
    // acp names its fields in ASCII letters and digits (`signPubKeyCert`);
    // anything else is not an answer (an HTML error page, a cut body).
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
        let shown: String = key.chars().take(40).collect();
        return Err(format!("`{}` is not a field name", shown.escape_debug()));
    }
    if fields.iter().any(|(k, _)| *k == key) {
        return Err(format!("field `{key}` appears twice"));
    }
    fields.push((key, value));
    Ok(())
}

/// The value of field `name`, if present (blank or not).
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(pairs: &[(&str, &str)]) -> Fields {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_sign_string_sorts_by_bytes_and_drops_blanks_only_when_signing() {
        let fields = owned(&[
            ("txnType", "01"),
            ("signature", "x"),
            ("reqReserved", ""),
            ("accessType", "0"),
            ("Z", "1"),
        ]);
        assert_eq!(sign_string(&fields, true), "Z=1&accessType=0&txnType=01");
        assert_eq!(
            sign_string(&fields, false),
            "Z=1&accessType=0&reqReserved=&txnType=01"
        );
    }

    #[test]
    fn the_digest_is_lowercase_hex_sha256() {
        // FIPS 180-2's example.
        assert_eq!(
            digest_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn answers_split_at_the_first_equals_and_keep_values_raw() {
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB+/a==\n-----END CERTIFICATE-----";
        let text =
            format!("respCode=00&signature=ab+c/d==&signPubKeyCert={pem}&respMsg=成功[0000000]");
        let fields = parse_answer(&text).unwrap();
        assert_eq!(
            fields,
            owned(&[
                ("respCode", "00"),
                ("signature", "ab+c/d=="),
                ("signPubKeyCert", pem),
                ("respMsg", "成功[0000000]"),
            ])
        );
    }

    #[test]
    fn nested_values_keep_their_ampersands() {
        let fields = parse_answer("a=1&reserved={x=1&y=2}&list=[p&q]&b=&c=x=y").unwrap();
        assert_eq!(
            fields,
            owned(&[
                ("a", "1"),
                ("reserved", "{x=1&y=2}"),
                ("list", "[p&q]"),
                ("b", ""),
                ("c", "x=y"),
            ])
        );
        assert_eq!(
            parse_answer("{a=1&b=2}").unwrap(),
            owned(&[("a", "1"), ("b", "2")])
        );
    }

    #[test]
    fn what_is_no_answer_is_refused() {
        for bad in ["", "=1", "a=1&&b=2", "a=1&a=2", "<html>502</html>&=x"] {
            assert!(parse_answer(bad).is_err(), "{bad:?}");
        }
        // A bare word is a field with a blank value, as the SDK reads it.
        assert_eq!(parse_answer("oops").unwrap(), owned(&[("oops", "")]));
    }
}
