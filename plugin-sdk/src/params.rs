//! Key/value parameter helpers for channels that sign or send form-style
//! parameter lists (Alipay, UnionPay and most of their imitators).

/// The string such channels sign: pairs sorted by key (byte order), pairs with
/// an empty value or a key in `excluded` left out, joined as `k=v&k2=v2`.
/// Values are **not** URL-encoded: Alipay signs the raw values.
///
/// ```
/// use paycore_plugin_sdk::params::canonical_string;
/// let pairs = [("method", "pay"), ("sign", "xyz"), ("app_id", "2021"), ("memo", "")];
/// assert_eq!(canonical_string(&pairs, &["sign"]), "app_id=2021&method=pay");
/// ```
pub fn canonical_string<K: AsRef<str>, V: AsRef<str>>(
    pairs: &[(K, V)],
    excluded: &[&str],
) -> String {
    let mut kept: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_ref()))
        .filter(|(k, v)| !v.is_empty() && !excluded.contains(k))
        .collect();
    // Stable, so repeated keys keep their given order.
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

/// `application/x-www-form-urlencoded` body or query string, in the given order.
pub fn form_urlencode<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref())))
        .finish()
}

/// Decodes an `application/x-www-form-urlencoded` body (a channel's callback,
/// typically) into pairs, in order.
pub fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_string_sorts_skips_and_does_not_encode() {
        let pairs = vec![
            ("timestamp".to_owned(), "2026-11-25 08:00:00".to_owned()),
            (
                "biz_content".to_owned(),
                r#"{"total_amount":"88.88"}"#.to_owned(),
            ),
            ("sign_type".to_owned(), "RSA2".to_owned()),
            ("sign".to_owned(), "abc=".to_owned()),
            ("app_id".to_owned(), "2021".to_owned()),
            ("notify_url".to_owned(), String::new()),
        ];
        assert_eq!(
            canonical_string(&pairs, &["sign"]),
            r#"app_id=2021&biz_content={"total_amount":"88.88"}&sign_type=RSA2&timestamp=2026-11-25 08:00:00"#
        );
        assert_eq!(
            canonical_string(&pairs, &["sign", "sign_type"]),
            r#"app_id=2021&biz_content={"total_amount":"88.88"}&timestamp=2026-11-25 08:00:00"#
        );
    }

    #[test]
    fn canonical_string_of_nothing_is_empty() {
        let none: [(&str, &str); 0] = [];
        assert_eq!(canonical_string(&none, &[]), "");
        assert_eq!(canonical_string(&[("a", "")], &[]), "");
    }

    #[test]
    fn canonical_string_sorts_by_bytes() {
        let pairs = [("b", "2"), ("B", "1"), ("a_b", "4"), ("a", "3")];
        assert_eq!(canonical_string(&pairs, &[]), "B=1&a=3&a_b=4&b=2");
    }

    #[test]
    fn form_encoding_round_trips() {
        let pairs = [
            ("subject", "2 x latte & cake"),
            ("amount", "88.88"),
            ("名", "拿铁"),
        ];
        let encoded = form_urlencode(&pairs);
        assert_eq!(
            encoded,
            "subject=2+x+latte+%26+cake&amount=88.88&%E5%90%8D=%E6%8B%BF%E9%93%81"
        );
        let decoded = parse_form(encoded.as_bytes());
        let expected: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(decoded, expected);
    }
}
