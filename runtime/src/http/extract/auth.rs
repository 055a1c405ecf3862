//! `Authorization: Bearer <key>`, read strictly: one header, the scheme, one
//! space, and a key with no whitespace in or around it. A lenient reading
//! (the first of two headers, a trimmed key) would let a proxy and paycore
//! disagree about who is calling.

use super::super::{ApiError, AppState};
use crate::registry::Tenant;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use std::sync::Arc;

/// The tenant named by the request's API key.
pub struct AuthTenant(pub Arc<Tenant>);

impl FromRequestParts<AppState> for AuthTenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let key = bearer(&parts.headers)?;
        let registry = state.payments.registry();
        let tenant = registry
            .tenant_by_api_key(key, state.payments.clock().now())
            .ok_or_else(|| ApiError::unauthorized("the API key is not valid"))?;
        Ok(AuthTenant(tenant.clone()))
    }
}

/// Why a request carries no usable bearer credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerProblem {
    Missing,
    /// More than one `Authorization` header: which one counts is ambiguous.
    Repeated,
    /// Not `Bearer <credential>` exactly.
    Malformed,
}

/// The credential of the request's one `Authorization: Bearer …` header.
pub fn bearer(headers: &HeaderMap) -> Result<&str, BearerProblem> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = match (values.next(), values.next()) {
        (None, _) => return Err(BearerProblem::Missing),
        (Some(_), Some(_)) => return Err(BearerProblem::Repeated),
        (Some(value), None) => value,
    };
    let credential = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(BearerProblem::Malformed)?;
    // HTTP drops whitespace at the ends of a header line before paycore
    // sees it; what remains inside is refused, not trimmed.
    let clean = !credential.is_empty() && !credential.bytes().any(|b| b.is_ascii_whitespace());
    clean.then_some(credential).ok_or(BearerProblem::Malformed)
}

impl From<BearerProblem> for ApiError {
    fn from(problem: BearerProblem) -> Self {
        match problem {
            BearerProblem::Missing => {
                ApiError::unauthorized("send your API key as `Authorization: Bearer <key>`")
            }
            BearerProblem::Repeated => {
                ApiError::malformed("invalid_header", "send exactly one `Authorization` header")
                    .with_field("Authorization")
            }
            BearerProblem::Malformed => ApiError::unauthorized(
                "the `Authorization` header must be `Bearer <key>`: one space after `Bearer`, no whitespace in or around the key",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(values: &[&[u8]]) -> Result<&'static str, BearerProblem> {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(
                header::AUTHORIZATION,
                axum::http::HeaderValue::from_bytes(v).unwrap(),
            );
        }
        // The map is dropped at the end; return an owned answer.
        bearer(&h).map(|k| if k == "sk_1" { "sk_1" } else { "other" })
    }

    #[test]
    fn one_bearer_header_with_a_clean_key_passes() {
        assert_eq!(check(&[b"Bearer sk_1"]), Ok("sk_1"));
    }

    #[test]
    fn whitespace_in_or_around_the_key_is_refused() {
        for v in [
            &b"Bearer  sk_1"[..],
            b"Bearer \tsk_1",
            b"Bearer sk_1 ",
            b"Bearer sk_1\t",
            b"Bearer sk 1",
            b"Bearer ",
            b"Bearersk_1",
            b"bearer sk_1",
            b"Basic c2tfMTo=",
            b"Bearer sk_\xff",
        ] {
            assert_eq!(
                check(&[v]),
                Err(BearerProblem::Malformed),
                "{}",
                String::from_utf8_lossy(v)
            );
        }
    }

    #[test]
    fn two_headers_are_refused_even_when_both_are_good() {
        assert_eq!(
            check(&[b"Bearer sk_1", b"Bearer sk_1"]),
            Err(BearerProblem::Repeated)
        );
        assert_eq!(check(&[]), Err(BearerProblem::Missing));
    }

    #[test]
    fn each_problem_has_its_status() {
        let status = |p| ApiError::from(p).status.as_u16();
        assert_eq!(status(BearerProblem::Missing), 401);
        assert_eq!(status(BearerProblem::Malformed), 401);
        assert_eq!(status(BearerProblem::Repeated), 400);
    }
}
