//! The acp 5.1.0 message itself: the double-hash signature, the raw
//! `k=v&…` answer, the response codes, and the field rules a request must
//! meet.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use paycore_plugin_sdk::testing::{rsa_sign, rsa_verify};
use sha2::{Digest as _, Sha256};

/// A message's fields, in the order they came or were added.
pub type Fields = Vec<(String, String)>;

/// A response code and the message UnionPay words it with (its 5.1.0
/// 应答码 table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RespCode {
    pub code: &'static str,
    pub msg: &'static str,
}

/// The codes this gateway answers with.
pub mod codes {
    use super::RespCode;

    pub const SUCCESS: RespCode = RespCode {
        code: "00",
        msg: "成功",
    };
    /// A consume closed without a more precise reason (e.g. `set_state`).
    pub const FAILED: RespCode = RespCode {
        code: "01",
        msg: "交易失败。详情请咨询95516",
    };
    /// The payer has not confirmed yet: query again.
    pub const ACCEPTED: RespCode = RespCode {
        code: "05",
        msg: "交易已受理，请稍后查询交易结果",
    };
    pub const MALFORMED: RespCode = RespCode {
        code: "10",
        msg: "报文格式错误",
    };
    pub const BAD_SIGNATURE: RespCode = RespCode {
        code: "11",
        msg: "验证签名失败",
    };
    pub const DUPLICATE: RespCode = RespCode {
        code: "12",
        msg: "重复交易",
    };
    pub const MISSING_FIELD: RespCode = RespCode {
        code: "13",
        msg: "报文交易要素缺失",
    };
    /// A `merId` that is not this merchant's.
    pub const MERCHANT_STATE: RespCode = RespCode {
        code: "31",
        msg: "商户状态不正确",
    };
    /// A refund beyond what is left of the payment.
    pub const AMOUNT_OVER_LIMIT: RespCode = RespCode {
        code: "33",
        msg: "交易金额超限",
    };
    /// A query for a transaction the gateway never had.
    pub const NO_SUCH_TRANSACTION: RespCode = RespCode {
        code: "34",
        msg: "查无此交易",
    };
    /// A refund, revoke or reversal whose original is unknown or in a state
    /// that refuses it (not paid, another day's, partly refunded).
    pub const ORIGINAL_STATE: RespCode = RespCode {
        code: "35",
        msg: "原交易不存在或状态不正确",
    };
    /// A revoke or reversal whose amount is not the original's.
    pub const DIFFERS_FROM_ORIGINAL: RespCode = RespCode {
        code: "36",
        msg: "与原交易信息不符",
    };
    /// The consume was reversed or revoked (its query's `origRespCode`),
    /// or a refund asked for one that was.
    pub const UNDONE: RespCode = RespCode {
        code: "45",
        msg: "原交易已被成功退货或已被成功撤销",
    };
    /// A B扫C `qrNo` that is not a UnionPay payment code.
    pub const INVALID_CODE: RespCode = RespCode {
        code: "61",
        msg: "输入的卡号无效，请确认后输入",
    };
    /// A declined consume's `origRespCode`: the payer's balance is short.
    pub const BALANCE_INSUFFICIENT: RespCode = RespCode {
        code: "64",
        msg: "卡上的余额不足",
    };
}

/// The string both sides sign: the fields but `signature`, sorted by key
/// (byte order), joined `k=v&…` with raw values. A signer drops blank
/// values; a verifier keeps them (the SDK's `validate` does), so a blank
/// field sent by a signer that dropped it fails verification.
pub fn sign_string(fields: &[(String, String)], drop_blanks: bool) -> String {
    let mut kept: Vec<&(String, String)> = fields
        .iter()
        .filter(|(k, v)| k != "signature" && !(drop_blanks && v.is_empty()))
        .collect();
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    kept.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The first hash: lowercase hex SHA-256 of the sign string, which is what
/// the RSA-SHA256 signature is then made over.
pub fn digest_hex(sign_string: &str) -> String {
    hex::encode(Sha256::digest(sign_string.as_bytes()))
}

/// The raw signature bytes of `fields` under `private_pem`.
pub fn sign(private_pem: &str, fields: &[(String, String)]) -> Vec<u8> {
    let digest = digest_hex(&sign_string(fields, true));
    rsa_sign(private_pem, digest.as_bytes())
}

/// Whether the request's `signature` is the double hash of its other fields
/// under `public_pem`.
pub fn verify(public_pem: &str, fields: &[(String, String)]) -> bool {
    let Some(signature) = get(fields, "signature").and_then(|s| STANDARD.decode(s).ok()) else {
        return false;
    };
    let digest = digest_hex(&sign_string(fields, false));
    rsa_verify(public_pem, digest.as_bytes(), &signature)
}

/// The synchronous answer's body: `k=v&…` sorted by key, values raw (not
/// url-encoded), as the SDK's `convertResultStringToMap` expects.
pub fn answer_body(fields: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = fields.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    sorted
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn get<'a>(fields: &'a [(String, String)], key: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Whether some field came twice (the gateway cannot tell which counts).
pub fn has_repeated_key(fields: &[(String, String)]) -> bool {
    let mut keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    keys.windows(2).any(|w| w[0] == w[1])
}

/// `YYYYMMDDhhmmss` naming a real instant (how far it is from now is not
/// checked: paycore dates it from when the payment was created).
pub fn is_timestamp(value: &str) -> bool {
    if value.len() != 14 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let number = |range: std::ops::Range<usize>| value[range].parse::<u16>().unwrap_or(u16::MAX);
    let Ok(month) = time::Month::try_from(u8::try_from(number(4..6)).unwrap_or(0)) else {
        return false;
    };
    let date = time::Date::from_calendar_date(
        i32::from(number(0..4)),
        month,
        u8::try_from(number(6..8)).unwrap_or(0),
    );
    let clock = time::Time::from_hms(
        u8::try_from(number(8..10)).unwrap_or(u8::MAX),
        u8::try_from(number(10..12)).unwrap_or(u8::MAX),
        u8::try_from(number(12..14)).unwrap_or(u8::MAX),
    );
    date.is_ok() && clock.is_ok()
}

/// 8 to 40 ASCII letters and digits.
pub fn is_order_id(value: &str) -> bool {
    (8..=40).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Integer fen, more than zero, at most 12 digits (the field's width).
pub fn amount_fen(value: &str) -> Option<i64> {
    if value.is_empty() || value.len() > 12 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse::<i64>().ok().filter(|fen| *fen > 0)
}

/// A UnionPay C2B payment code: 19 digits starting with `62`.
pub fn is_payment_code(value: &str) -> bool {
    value.len() == 19 && value.starts_with("62") && value.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_sign_string_sorts_and_drops_blanks_only_when_signing() {
        let message = fields(&[
            ("txnType", "01"),
            ("signature", "x"),
            ("memo", ""),
            ("a", "1"),
        ]);
        assert_eq!(sign_string(&message, true), "a=1&txnType=01");
        assert_eq!(sign_string(&message, false), "a=1&memo=&txnType=01");
    }

    #[test]
    fn the_digest_is_lowercase_hex_of_sha256() {
        // SHA-256("abc"), the FIPS 180-2 example.
        assert_eq!(
            digest_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn timestamps_must_name_a_real_instant() {
        assert!(is_timestamp("20261207235959"));
        assert!(is_timestamp("20240229000000"));
        assert!(!is_timestamp("20230229000000"));
        assert!(!is_timestamp("20261207246000"));
        assert!(!is_timestamp("2026120723595"));
        assert!(!is_timestamp("2026-12-07 23:5"));
    }

    #[test]
    fn order_ids_amounts_and_codes() {
        assert!(is_order_id("ORDER2026"));
        assert!(!is_order_id("ORDER-2026"));
        assert!(!is_order_id("SHORT"));
        assert!(!is_order_id(&"A".repeat(41)));
        assert_eq!(amount_fen("1000"), Some(1000));
        assert_eq!(amount_fen("0"), None);
        assert_eq!(amount_fen("10.00"), None);
        assert_eq!(amount_fen("-5"), None);
        assert!(is_payment_code("6225000000000000012"));
        assert!(!is_payment_code("2834000111222233350"));
        assert!(!is_payment_code("622500000000000001"));
    }
}
