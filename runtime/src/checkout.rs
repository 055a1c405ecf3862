//! The hosted cashier's presentation (docs/checkout.md): languages and money
//! formatting (`locale`), wallet apps recognised by their browsers
//! (`agent`), server-drawn QR
//! codes (`qr`) and the pages (`page`); amounts payers type are read by
//! `paycore_core::money`. Pure: the HTTP edge
//! (`http::checkout`) fetches the payment and hands it here.

pub mod agent;
mod locale;
pub mod page;
pub mod qr;
pub mod tenders;

pub use locale::{Locale, Text};

use crate::domain::PaymentStatus;
use crate::payments::{CheckoutPage, WalletOffer};
use page::PageState;

/// The pages' stylesheet and script, served from paycore itself so the
/// Content-Security-Policy can forbid everything else.
pub const STYLESHEET: &str = include_str!("checkout/assets/checkout.css");
pub const SCRIPT: &str = include_str!("checkout/assets/checkout.js");

/// The policy every page is served with: only paycore's own stylesheet,
/// script and polling; no frames, no plugins, forms post only here.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

/// Where a checkout payment stands for its page.
pub fn page_state<'a>(page: &'a CheckoutPage, offers: &'a [WalletOffer]) -> PageState<'a> {
    let p = &page.payment;
    let status = p.status;
    if status.is_final() {
        return PageState::Final(status);
    }
    if page.expired {
        return PageState::Expired;
    }
    if p.awaiting_wallet() {
        return PageState::Choose { offers };
    }
    match status {
        PaymentStatus::Pending => {
            let action: Option<serde_json::Value> = p
                .action
                .as_deref()
                .and_then(|a| serde_json::from_str(a).ok());
            let field = |name: &str| {
                action
                    .as_ref()
                    .and_then(|a| a.get(name))
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            };
            let qr = field("qr_code").or_else(|| field("url"));
            let params = action
                .as_ref()
                .filter(|a| a["type"] == "client_params")
                .map(|a| a["params"].to_string());
            PageState::Waiting {
                wallet: &p.wallet,
                qr_content: qr,
                client_params: params,
            }
        }
        _ => PageState::Confirming,
    }
}
