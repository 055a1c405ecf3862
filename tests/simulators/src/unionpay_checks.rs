//! Building an answer, and the checks a request's fields must pass: a
//! failed check is itself the (unsigned) refusal, naming the field.

use super::message::{self, Fields, RespCode, codes, get};

/// An answer before it is signed.
pub(super) struct Reply {
    pub(super) fields: Fields,
    /// Its signature must not verify (the order's `BadSignature`).
    pub(super) spoil: bool,
    /// It comes after `Config::slow` (the order's `Timeout`).
    pub(super) late: bool,
}

/// A check's outcome: `Err` is the refusal to answer with.
pub(super) type Checked<T> = Result<T, Reply>;

/// The request fields an answer repeats.
const ECHOED: &[&str] = &[
    "txnType",
    "txnSubType",
    "bizType",
    "accessType",
    "merId",
    "orderId",
    "txnTime",
    "txnAmt",
    "currencyCode",
];

/// Sets `key` to `value`, replacing what was there.
pub(super) fn set(fields: &mut Fields, key: &str, value: impl Into<String>) {
    let value = value.into();
    match fields.iter_mut().find(|(k, _)| k == key) {
        Some(field) => field.1 = value,
        None => fields.push((key.to_owned(), value)),
    }
}

/// An answer to `request` with `code` (its message naming `detail` in
/// brackets, as UnionPay's do) and `extra` fields.
pub(super) fn reply(
    request: &[(String, String)],
    code: RespCode,
    detail: Option<&str>,
    extra: Fields,
) -> Reply {
    let mut fields: Fields = vec![
        ("version".into(), "5.1.0".into()),
        ("encoding".into(), "UTF-8".into()),
        ("signMethod".into(), "01".into()),
    ];
    for key in ECHOED {
        if let Some(value) = get(request, key).filter(|v| !v.is_empty()) {
            set(&mut fields, key, value);
        }
    }
    set(&mut fields, "respCode", code.code);
    let msg = match detail {
        Some(detail) => format!("{}[{detail}]", code.msg),
        None => code.msg.to_owned(),
    };
    set(&mut fields, "respMsg", msg);
    for (key, value) in extra {
        set(&mut fields, &key, value);
    }
    Reply {
        fields,
        spoil: false,
        late: false,
    }
}

pub(super) fn refuse(request: &[(String, String)], code: RespCode, detail: Option<&str>) -> Reply {
    reply(request, code, detail, Vec::new())
}

/// A field that must be there and not blank (`13` names it otherwise).
pub(super) fn required<'a>(request: &'a [(String, String)], key: &str) -> Checked<&'a str> {
    get(request, key)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| refuse(request, codes::MISSING_FIELD, Some(key)))
}

/// A field that must hold one of `allowed` (`10` names it otherwise).
pub(super) fn one_of(request: &[(String, String)], key: &str, allowed: &[&str]) -> Checked<()> {
    if allowed.contains(&required(request, key)?) {
        Ok(())
    } else {
        Err(refuse(request, codes::MALFORMED, Some(key)))
    }
}

/// A field that must be there and meet `rule` (`10` names it otherwise).
pub(super) fn checked<'a>(
    request: &'a [(String, String)],
    key: &str,
    rule: impl Fn(&str) -> bool,
) -> Checked<&'a str> {
    let value = required(request, key)?;
    if rule(value) {
        Ok(value)
    } else {
        Err(refuse(request, codes::MALFORMED, Some(key)))
    }
}

pub(super) fn amount(request: &[(String, String)]) -> Checked<i64> {
    let value = checked(request, "txnAmt", |v| message::amount_fen(v).is_some())?;
    Ok(message::amount_fen(value).unwrap_or_default())
}

pub(super) fn is_url(value: &str) -> bool {
    value.starts_with("http://") || value.starts_with("https://")
}
