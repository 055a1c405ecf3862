//! `Paycore-Overhead`: on every response of the API, the microseconds the
//! request spent in paycore (see `crate::overhead` for what is excluded).
//!
//! The clock starts when the request reaches the router, after hyper has read
//! its head, and stops when the handler has produced the response, before
//! its body is written: socket time on either side is the client's to see.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

pub const HEADER: &str = "paycore-overhead";

pub async fn stamp(request: Request, next: Next) -> Response {
    let (mut response, overhead) = crate::overhead::measure(next.run(request)).await;
    response
        .headers_mut()
        .insert(HEADER, HeaderValue::from(overhead.as_micros() as u64));
    response
}
