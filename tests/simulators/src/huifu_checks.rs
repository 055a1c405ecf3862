//! A verified request's `data`, the answer built for it, and the checks
//! its fields must pass: a failed check is itself the refusal (signed,
//! HTTP 200, `resp_code` naming the field in brackets).

use serde_json::Value;

use super::wire::{self, Data, RespCode, codes};

/// A request whose envelope and signature passed: its `data` object.
pub(super) struct Request {
    pub(super) data: serde_json::Map<String, Value>,
}

impl Request {
    /// A field's text; `None` if absent.
    pub(super) fn get(&self, key: &str) -> Option<&str> {
        self.data.get(key).and_then(Value::as_str)
    }

    /// paycore's rules for what it signs: every value a JSON string
    /// (nested structures travel as JSON text), never blank (absent fields
    /// are left out), no characters the SDKs escape differently.
    pub(super) fn values_are_plain_strings(&self) -> Checked<()> {
        for (key, value) in &self.data {
            let fine = value
                .as_str()
                .is_some_and(|text| !text.is_empty() && wire::is_plain_text(text));
            if !fine {
                return Err(refuse(self, codes::BAD_PARAMETER, Some(key)));
            }
        }
        Ok(())
    }
}

/// An answer before it is signed.
pub(super) struct Reply {
    pub(super) data: Data,
    /// Its signature must not verify (the order's `BadSignature`).
    pub(super) spoil: bool,
    /// It comes after `Config::slow` (the order's `Timeout`).
    pub(super) late: bool,
}

/// A check's outcome: `Err` is the refusal to answer with.
pub(super) type Checked<T> = Result<T, Reply>;

/// The request fields an answer repeats (Huifu's answers echo the
/// request's identity and amount).
const ECHOED: &[&str] = &[
    "huifu_id",
    "req_date",
    "req_seq_id",
    "trans_amt",
    "ord_amt",
    "org_req_date",
    "org_req_seq_id",
    "org_hf_seq_id",
];

/// An answer to `request` with `code` (its `resp_desc` naming `detail` in
/// brackets) and `extra` fields, which win over echoed ones.
pub(super) fn reply(request: &Request, code: RespCode, detail: Option<&str>, extra: Data) -> Reply {
    let mut data = Data::new();
    for key in ECHOED {
        if let Some(value) = request.get(key) {
            data.insert((*key).to_owned(), value.to_owned());
        }
    }
    data.insert("resp_code".into(), code.code.into());
    let desc = match detail {
        Some(detail) => format!("{}[{detail}]", code.desc),
        None => code.desc.to_owned(),
    };
    data.insert("resp_desc".into(), desc);
    data.extend(extra);
    Reply {
        data,
        spoil: false,
        late: false,
    }
}

pub(super) fn refuse(request: &Request, code: RespCode, detail: Option<&str>) -> Reply {
    reply(request, code, detail, Data::new())
}

/// A field that must be there (`10000000` names it otherwise).
pub(super) fn required<'a>(request: &'a Request, key: &str) -> Checked<&'a str> {
    request
        .get(key)
        .ok_or_else(|| refuse(request, codes::BAD_PARAMETER, Some(&format!("{key}必填"))))
}

/// A field that must be there and meet `rule`.
pub(super) fn checked<'a>(
    request: &'a Request,
    key: &str,
    rule: impl Fn(&str) -> bool,
) -> Checked<&'a str> {
    let value = required(request, key)?;
    if rule(value) {
        Ok(value)
    } else {
        Err(refuse(request, codes::BAD_PARAMETER, Some(key)))
    }
}

/// A field that may be absent, and must meet `rule` if present.
pub(super) fn optional<'a>(
    request: &'a Request,
    key: &str,
    rule: impl Fn(&str) -> bool,
) -> Checked<Option<&'a str>> {
    match request.get(key) {
        Some(_) => checked(request, key, rule).map(Some),
        None => Ok(None),
    }
}

/// A yuan amount field, in fen.
pub(super) fn amount(request: &Request, key: &str) -> Checked<i64> {
    let text = checked(request, key, |v| wire::amount_fen(v).is_some())?;
    Ok(wire::amount_fen(text).unwrap_or_default())
}

/// At most `max` characters (Huifu's lengths count characters).
pub(super) fn at_most(max: usize) -> impl Fn(&str) -> bool {
    move |text| text.chars().count() <= max
}

/// A field holding a JSON object as text (`risk_check_data`, `dc_data`,
/// `digital_currency_data`), parsed; `None` if absent.
pub(super) fn json_object(
    request: &Request,
    key: &str,
) -> Checked<Option<serde_json::Map<String, Value>>> {
    let Some(text) = request.get(key) else {
        return Ok(None);
    };
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => Ok(Some(object)),
        _ => Err(refuse(request, codes::BAD_PARAMETER, Some(key))),
    }
}
