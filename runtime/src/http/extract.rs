//! Extractors that reject in our own error shape, so that no request, however
//! malformed, is answered by axum's plain-text rejections: JSON bodies
//! (`json`), path and query parameters (`params`), and the tenant behind an
//! API key (`auth`).

mod auth;
mod json;
mod params;

pub use auth::{AuthTenant, BearerProblem, bearer};
pub use json::ApiJson;
pub use params::{ApiPath, ApiQuery};
