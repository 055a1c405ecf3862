//! The dougong v3 message itself: the canonical `data` text both sides sign,
//! SHA256withRSA signatures, yuan amounts, the response codes, and the
//! format rules a request's fields must meet.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use paycore_plugin_sdk::money;
use paycore_plugin_sdk::testing::{rsa_sign, rsa_verify};
use serde_json::Value;

/// An answer's `data`: every value a string, and a `BTreeMap` so the keys
/// come out in the byte order the canonical text needs.
pub type Data = BTreeMap<String, String>;

/// A response code and the wording the simulator answers it with. Huifu
/// publishes the codes; most texts are its published ones, the rest are
/// assumed (nobody parses `resp_desc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RespCode {
    pub code: &'static str,
    pub desc: &'static str,
}

/// The codes this gateway answers with.
pub mod codes {
    use super::RespCode;

    /// A call accepted and done (pay, refund), or a query answered.
    pub const SUCCESS: RespCode = RespCode {
        code: "00000000",
        desc: "交易成功",
    };
    pub const QUERY_DONE: RespCode = RespCode {
        code: "00000000",
        desc: "查询成功",
    };
    /// B扫C: the payer is confirming in the e-CNY app.
    pub const PROCESSING: RespCode = RespCode {
        code: "00000100",
        desc: "交易处理中",
    };
    /// C扫B: the order exists, the QR may be shown.
    pub const ORDER_CREATED: RespCode = RespCode {
        code: "00000100",
        desc: "下单成功",
    };
    /// A field missing, blank or malformed (the field is named in brackets).
    pub const BAD_PARAMETER: RespCode = RespCode {
        code: "10000000",
        desc: "参数异常",
    };
    /// Not an e-CNY payment code (`^01[0-9]{17}$`).
    pub const BAD_AUTH_CODE: RespCode = RespCode {
        code: "10000000",
        desc: "付款码格式异常",
    };
    pub const NOT_TODAY: RespCode = RespCode {
        code: "10000000",
        desc: "请求日期必须是当前日期",
    };
    /// A `req_seq_id` already used.
    pub const DUPLICATE: RespCode = RespCode {
        code: "20000000",
        desc: "重复交易",
    };
    /// A query, refund or close naming no original.
    pub const NO_LOCATOR: RespCode = RespCode {
        code: "21000000",
        desc: "原交易请求流水号、原交易全局流水号不能同时为空",
    };
    pub const REFUND_REASON_REQUIRED: RespCode = RespCode {
        code: "21000000",
        desc: "数字货币交易退款原因必填",
    };
    /// A `huifu_id` that is not this merchant's (text assumed).
    pub const UNKNOWN_MERCHANT: RespCode = RespCode {
        code: "22000000",
        desc: "商户信息不存在",
    };
    /// A refund of a payment not (yet) paid.
    pub const NOT_BOOKED: RespCode = RespCode {
        code: "23000000",
        desc: "原交易未入账",
    };
    /// A refund of a payment that failed (text assumed).
    pub const ORIGINAL_FAILED: RespCode = RespCode {
        code: "23000000",
        desc: "原交易已失败，不可退款",
    };
    pub const NOT_FOUND: RespCode = RespCode {
        code: "23000001",
        desc: "交易不存在",
    };
    pub const ORIGINAL_NOT_FOUND: RespCode = RespCode {
        code: "23000001",
        desc: "原交易不存在",
    };
    pub const OVER_REFUNDABLE: RespCode = RespCode {
        code: "23000003",
        desc: "申请退款金额大于可退余额",
    };
    /// A C扫B `trade_type` other than `D_NATIVE`.
    pub const TRADE_TYPE_NOT_SUPPORTED: RespCode = RespCode {
        code: "23000004",
        desc: "交易类型不支持",
    };
    /// Assumed by analogy with the published `原订单为银联二维码交易，不支持关单`.
    pub const CLOSE_NOT_SUPPORTED: RespCode = RespCode {
        code: "23000004",
        desc: "原订单为数字人民币交易，不支持关单",
    };
    /// A payment failed for a reason not recorded (e.g. `set_state`).
    pub const FAILED: RespCode = RespCode {
        code: "90000000",
        desc: "业务执行失败",
    };
    /// The payer's wallet could not pay (text assumed).
    pub const DECLINED: RespCode = RespCode {
        code: "90000000",
        desc: "业务执行失败，余额不足",
    };
}

/// The canonical text of a request's `data`: compact, keys in ascending
/// byte order, strings escaped minimally (what Go's `FormatSignSrcText`,
/// PHP's `ksort` + unescaped JSON and Python's `sort_dict` + `ensure_ascii=False`
/// all produce). Nested values, which paycore never sends, are sorted too,
/// as Go's `json.Marshal` of a map would.
pub fn canonical(data: &serde_json::Map<String, Value>) -> String {
    let mut out = String::new();
    write_object(&mut out, data.iter());
    out
}

/// The canonical text of an answer's `data` (all values strings).
pub fn canonical_data(data: &Data) -> String {
    let mut out = String::from("{");
    for (i, (key, value)) in data.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(&mut out, key);
        out.push(':');
        write_string(&mut out, value);
    }
    out.push('}');
    out
}

fn write_object<'a>(out: &mut String, entries: impl Iterator<Item = (&'a String, &'a Value)>) {
    let mut entries: Vec<_> = entries.collect();
    // `str`'s order is byte order: ASCII order for the keys Huifu uses.
    entries.sort_by(|a, b| a.0.cmp(b.0));
    out.push('{');
    for (i, (key, value)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, key);
        out.push(':');
        write_value(out, value);
    }
    out.push('}');
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::String(text) => write_string(out, text),
        Value::Object(map) => write_object(out, map.iter()),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        // Numbers, booleans and null have one compact spelling.
        other => out.push_str(&other.to_string()),
    }
}

/// `"`, `\` and U+0000–U+001F escaped, everything else raw UTF-8 (`/`, `<`,
/// `>`, `&`, Chinese included).
fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
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
}

/// SHA256withRSA over the UTF-8 bytes of `text`, standard base64.
pub fn sign(private_pem: &str, text: &str) -> String {
    STANDARD.encode(rsa_sign(private_pem, text.as_bytes()))
}

/// Whether `signature` (standard base64) is SHA256withRSA over `text`.
pub fn verifies(public_pem: &str, text: &str, signature: &str) -> bool {
    STANDARD
        .decode(signature)
        .is_ok_and(|raw| rsa_verify(public_pem, text.as_bytes(), &raw))
}

/// `signature` with one bit of its middle byte flipped: a signature that
/// looks right and does not verify.
pub fn spoiled(signature: &str) -> String {
    let mut raw = STANDARD.decode(signature).unwrap_or_default();
    let middle = raw.len() / 2;
    if let Some(byte) = raw.get_mut(middle) {
        *byte ^= 0x01;
    }
    STANDARD.encode(raw)
}

/// A yuan amount as Huifu's `trans_amt` / `ord_amt` rule has it, in fen:
/// `^(0|[1-9][0-9]{0,10})\.[0-9]{2}$` and not `0.00`.
pub fn amount_fen(text: &str) -> Option<i64> {
    let (whole, fraction) = text.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let whole_ok = whole == "0" || (digits(whole) && !whole.starts_with('0') && whole.len() <= 11);
    if !whole_ok || fraction.len() != 2 || !digits(fraction) {
        return None;
    }
    // The shape is checked; the SDK converts exactly, without floats.
    money::parse_major(text, "CNY").ok().filter(|fen| *fen > 0)
}

/// Fen as Huifu writes yuan: 101 is `"1.01"`.
pub fn yuan(fen: i64) -> String {
    money::to_major_string(fen, "CNY").unwrap_or_default()
}

/// An e-CNY payment code (付款码): `01` and 17 more digits.
pub fn is_ecny_code(code: &str) -> bool {
    code.len() == 19 && code.starts_with("01") && code.bytes().all(|b| b.is_ascii_digit())
}

/// paycore's `req_seq_id` rule: `[0-9A-Za-z]{1,64}` (Huifu allows 128
/// characters; holding paycore to its own narrower rule shows drift).
pub fn is_seq_id(text: &str) -> bool {
    (1..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// `yyyyMMdd`, a real date.
pub fn is_date(text: &str) -> bool {
    let format = time::macros::format_description!("[year][month][day]");
    text.len() == 8 && time::Date::parse(text, format).is_ok()
}

/// `yyyyMMddHHmmss`, a real time.
pub fn is_timestamp(text: &str) -> bool {
    let format = time::macros::format_description!("[year][month][day][hour][minute][second]");
    text.len() == 14 && time::PrimitiveDateTime::parse(text, format).is_ok()
}

/// A `notify_url`: http(s), no query string (Huifu drops it), at most
/// `max` characters.
pub fn is_notify_url(url: &str, max: usize) -> bool {
    (url.starts_with("http://") || url.starts_with("https://"))
        && !url.contains('?')
        && url.len() <= max
}

/// Text that every SDK escapes the same way: no control characters and no
/// U+2028/U+2029 (paycore replaces them with a space before signing).
pub fn is_plain_text(text: &str) -> bool {
    !text
        .chars()
        .any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_text_is_sorted_compact_and_minimally_escaped() {
        let data: serde_json::Map<String, Value> = serde_json::from_str(
            r#"{"z":"\u4e2d<&>/","a":"q\"\\\n\u0001","m":"{\"ip_addr\":\"1.2.3.4\"}"}"#,
        )
        .unwrap();
        assert_eq!(
            canonical(&data),
            r#"{"a":"q\"\\\n\u0001","m":"{\"ip_addr\":\"1.2.3.4\"}","z":"中<&>/"}"#
        );
    }

    #[test]
    fn amounts_have_exactly_two_decimals_and_are_not_zero() {
        assert_eq!(amount_fen("88.88"), Some(8888));
        assert_eq!(amount_fen("0.01"), Some(1));
        assert_eq!(amount_fen("99999999999.99"), Some(9_999_999_999_999));
        for bad in [
            "0.00",
            "88.8",
            "88",
            "088.88",
            "88.888",
            "-1.00",
            "1,00",
            " 1.00",
            "1e2",
            "100000000000.00",
        ] {
            assert_eq!(amount_fen(bad), None, "{bad}");
        }
        assert_eq!(yuan(101), "1.01");
        assert_eq!(yuan(8888), "88.88");
    }

    #[test]
    fn only_ecny_codes_pass() {
        assert!(is_ecny_code("0123456789012345670"));
        for other in [
            "134567890123456780",
            "6225000000000000010",
            "2834000111222233350",
            "012345678901234567",
            "01234567890123456A0",
        ] {
            assert!(!is_ecny_code(other), "{other}");
        }
    }
}
