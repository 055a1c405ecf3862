//! JSON bodies: `Content-Type: application/json` or 415, syntax errors
//! `malformed_json`, type errors naming the field.

use super::super::{ApiError, AppState};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

/// A JSON body of an API endpoint.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        // Before the body is read: a form post or a file upload is refused
        // for what it is, not parsed and, by luck, accepted.
        if !declares_json(req.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "invalid_request",
                "unsupported_media_type",
                "send the body as JSON with `Content-Type: application/json`",
            )
            .with_field("Content-Type"));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            ApiError::new(
                e.status(),
                "invalid_request",
                "body_unreadable",
                e.body_text(),
            )
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Whether the request says its body is JSON: exactly one `Content-Type`,
/// `application/json` (any case), with no charset but UTF-8, the only
/// encoding JSON has (RFC 8259).
fn declares_json(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(header::CONTENT_TYPE).iter();
    match (values.next(), values.next()) {
        (Some(value), None) => value.to_str().is_ok_and(is_json_media_type),
        _ => false,
    }
}

fn is_json_media_type(content_type: &str) -> bool {
    let mut parts = content_type.split(';');
    let essence = parts.next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return false;
    }
    parts.all(|parameter| match parameter.split_once('=') {
        Some((name, value)) if name.trim().eq_ignore_ascii_case("charset") => {
            let value = value.trim().trim_matches('"');
            value.eq_ignore_ascii_case("utf-8") || value.eq_ignore_ascii_case("utf8")
        }
        // Other parameters mean nothing to JSON; an empty one is a stray ';'.
        Some(_) => true,
        None => parameter.trim().is_empty(),
    })
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // serde would also read a struct from an array; the API only takes objects.
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if matches!(first, Some(b'[')) {
        return Err(ApiError::malformed(
            "invalid_type",
            "the body must be a JSON object",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::malformed(
                "malformed_json",
                format!("the body is not valid JSON: {inner}"),
            )
        } else if path == "." {
            ApiError::malformed("invalid_type", "the body must be a JSON object")
        } else {
            ApiError::malformed("invalid_type", format!("`{path}`: {}", describe(&inner)))
                .with_field(path)
        }
    })?;
    de.end().map_err(|e| {
        ApiError::malformed(
            "malformed_json",
            format!("trailing data after the JSON body: {e}"),
        )
    })?;
    Ok(value)
}

/// serde's message without its "at line 1 column 9" suffix (the field says where).
fn describe(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(content_types: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for c in content_types {
            h.append(header::CONTENT_TYPE, c.parse().unwrap());
        }
        h
    }

    #[test]
    fn json_is_recognised_with_harmless_parameters() {
        for ok in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            "application/json;charset=\"UTF-8\"",
            "application/json; charset=utf8",
            "application/json;",
        ] {
            assert!(declares_json(&headers(&[ok])), "{ok}");
        }
    }

    #[test]
    fn anything_else_is_not_json() {
        for not in [
            "text/plain",
            "application/xml",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "image/png",
            "application/jsonp",
            "application/json-patch+json",
            "application/json; charset=latin1",
            "application/json; junk",
            "",
        ] {
            assert!(!declares_json(&headers(&[not])), "{not}");
        }
        assert!(!declares_json(&headers(&[])), "no Content-Type at all");
        assert!(
            !declares_json(&headers(&["application/json", "text/plain"])),
            "two Content-Types"
        );
    }

    #[test]
    fn type_errors_name_the_field() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Body {
            amount: i64,
        }
        let e = parse_json::<Body>(br#"{"amount": "1"}"#).unwrap_err();
        assert_eq!(
            (e.code, e.field.as_deref()),
            ("invalid_type", Some("amount"))
        );
        let e = parse_json::<Body>(b"{").unwrap_err();
        assert_eq!(e.code, "malformed_json");
        let e = parse_json::<Body>(b"[1]").unwrap_err();
        assert_eq!(e.code, "invalid_type");
        let e = parse_json::<Body>(br#"{"amount": 1} x"#).unwrap_err();
        assert_eq!(e.code, "malformed_json");
    }
}
