//! Checkout payments: the payer chooses the wallet on paycore's hosted page
//! (docs/checkout.md). Created `pending` with no channel; when the payer
//! picks a wallet, routing chooses the channel for that wallet and the scene
//! that fits the payer's browser, and the payment is sent like any other.
//!
//! Invariant: a checkout payment is sent to a channel at most once by the
//! page: the move from "awaiting a wallet" to a channel is one conditional
//! UPDATE, so two tabs (or a double click) cannot both send it.

use super::machine;
use super::view::PaymentView;
use super::{Answering, CreateError, Created, PaymentError, Payments, Result, replay};
use crate::domain::{PaymentStatus, Scene};
use crate::registry::Tenant;
use crate::routing::{self, Intent};
use crate::store::{
    CheckoutLink, NewCheckoutLink, NewPayment, PaymentRecord, StoreError, WalletChoice,
};
use std::sync::Arc;

use super::request::PaymentRequest;

/// What the page knows about where it was opened.
#[derive(Debug, Clone, Default)]
pub struct PayerContext {
    /// The wallet app whose in-app browser shows the page, if any.
    pub in_app_wallet: Option<String>,
}

/// A wallet the payer may choose, and the scene its channel would be asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletOffer {
    pub wallet: String,
    pub scene: Scene,
}

/// Everything the hosted page shows about one checkout payment.
pub struct CheckoutPage {
    pub tenant: Arc<Tenant>,
    pub link: CheckoutLink,
    pub payment: PaymentRecord,
    pub request: PaymentRequest,
    /// Past the payment's expiry (it may not be closed yet).
    pub expired: bool,
}

/// Wallets shown first, in this order; any other a channel declares follows
/// alphabetically.
const WALLET_ORDER: [&str; 4] = ["wechat", "alipay", "unionpay", "sandbox"];

/// Random bytes in a link token: 192 bits, beyond guessing.
const TOKEN_BYTES: usize = 24;

/// A fresh unguessable link token (URL-safe base64, 32 characters).
pub fn new_link_token() -> String {
    use base64::Engine;
    use rand::Rng;
    let bytes: [u8; TOKEN_BYTES] = rand::rng().random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `token` could be one paycore made: a cheap check before any
/// database look-up, so junk in the URL costs nothing.
pub fn plausible_link_token(token: &str) -> bool {
    token.len() == 32
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Payments {
    /// Stores a checkout payment `pending` with its link, after checking that
    /// routing can serve it with at least one wallet.
    pub(super) async fn create_checkout(
        &self,
        tenant: &Tenant,
        request: PaymentRequest,
        hash: String,
        idempotency_key: Option<String>,
    ) -> Result<Created> {
        let tenant_id = &tenant.config.id;
        if self.wallet_offers(tenant, &request, None).is_empty() {
            // As for other payments, a replay does not depend on routing.
            return match self
                .store
                .payment_by_order_no(tenant_id, &request.merchant_order_no)
                .await?
            {
                Some(existing) => replay(existing, &hash),
                None => Err(PaymentError::NoRoute(
                    self.no_wallet_route(tenant, &request),
                )),
            };
        }
        let token = new_link_token();
        let expires_in = request.expires_in.map_or(self.pending_expiry, |s| {
            std::time::Duration::from_secs(s.into())
        });
        let new = NewPayment {
            scene: Scene::Checkout,
            checkout: Some(NewCheckoutLink {
                url: format!("{}/pay/{token}", self.public_url()),
                token,
                return_url: request.return_url.clone(),
                expires_ms: self.clock.now_millis() + expires_in.as_millis() as i64,
            }),
            ..super::new_payment(tenant_id, &request, hash, idempotency_key)
        };
        let record = match super::inserted(self.store.insert_payment(new).await?) {
            Ok(record) => record,
            Err(answer) => return answer,
        };
        tracing::info!(tenant = %tenant_id, payment_id = %record.id, "checkout payment created");
        Ok(Created {
            payment: PaymentView::from(&record),
            replayed: false,
        })
    }

    /// Why no wallet can serve a checkout payment, for the 422.
    fn no_wallet_route(&self, tenant: &Tenant, request: &PaymentRequest) -> routing::NoRoute {
        let mut intent = Intent::from(request);
        intent.scene = Scene::Qrcode;
        match routing::route(tenant, &intent, self.clock.now(), &self.health.of(tenant)) {
            Err(no) => no,
            Ok(_) => routing::NoRoute {
                wallet: request.wallet.clone(),
                reasons: vec!["no channel of the tenant offers a wallet for this payment".into()],
            },
        }
    }

    /// The wallets routing can serve for this payment now, each with the
    /// scene to ask for: the wallet's in-app payment (`jsapi`) when the page
    /// runs inside that wallet's app and the merchant gave the payer's id,
    /// else a QR code to scan (`qrcode`). A wallet named in the request is
    /// the only one offered.
    pub fn wallet_offers(
        &self,
        tenant: &Tenant,
        request: &PaymentRequest,
        context: Option<&PayerContext>,
    ) -> Vec<WalletOffer> {
        let candidates: Vec<String> = match &request.wallet {
            Some(w) => vec![w.clone()],
            None => declared_wallets(tenant),
        };
        candidates
            .into_iter()
            .filter_map(|wallet| {
                let (scene, _) = self.wallet_route(tenant, request, &wallet, context)?;
                Some(WalletOffer { wallet, scene })
            })
            .collect()
    }

    /// The route for paying `request` with `wallet`, under the first scene
    /// that fits where the page runs: the wallet's in-app payment (`jsapi`)
    /// inside that wallet's app when the payer's id is known, else `qrcode`.
    fn wallet_route(
        &self,
        tenant: &Tenant,
        request: &PaymentRequest,
        wallet: &str,
        context: Option<&PayerContext>,
    ) -> Option<(Scene, routing::Route)> {
        let has_payer_id = request
            .payer
            .as_ref()
            .is_some_and(|p| p.open_id.is_some() || p.buyer_id.is_some());
        let in_app = context.and_then(|c| c.in_app_wallet.as_deref()) == Some(wallet);
        let scenes: &[Scene] = if in_app && has_payer_id {
            &[Scene::Jsapi, Scene::Qrcode]
        } else {
            &[Scene::Qrcode]
        };
        let now = self.clock.now();
        let health = self.health.of(tenant);
        scenes.iter().find_map(|&scene| {
            let mut intent = Intent::from(request);
            intent.scene = scene;
            intent.wallet = Some(wallet);
            let route = routing::route(tenant, &intent, now, &health).ok()?;
            Some((scene, route))
        })
    }

    /// The checkout payment a page link names; `None` for an unknown token
    /// (or one whose tenant is gone), so every miss looks the same.
    pub async fn checkout_page(&self, token: &str) -> Result<Option<CheckoutPage>> {
        if !plausible_link_token(token) {
            return Ok(None);
        }
        let Some(link) = self.store.checkout_link(token).await? else {
            return Ok(None);
        };
        let Some(tenant) = self.registry().tenant(&link.tenant_id).cloned() else {
            return Ok(None);
        };
        let Some(payment) = self
            .store
            .payment(&link.tenant_id, &link.payment_id)
            .await?
        else {
            return Ok(None);
        };
        let request: PaymentRequest = match serde_json::from_str(&payment.request) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(payment_id = %payment.id, error = %e, "stored checkout request unreadable");
                return Ok(None);
            }
        };
        let expired = self.link_expired(&link);
        Ok(Some(CheckoutPage {
            tenant,
            link,
            payment,
            request,
            expired,
        }))
    }

    /// The payer chose `wallet` on the page: route it and send the payment.
    /// Choosing the wallet already chosen is a no-op (a double click or a
    /// second tab); choosing another once one was sent is refused, since the
    /// first channel's order may be paid.
    #[tracing::instrument(skip_all, fields(tenant = %page.tenant.config.id, payment_id = %page.payment.id, wallet))]
    pub async fn choose_wallet(
        &self,
        page: &CheckoutPage,
        wallet: &str,
        context: &PayerContext,
    ) -> Result<PaymentRecord> {
        let tenant = &page.tenant;
        let record = &page.payment;
        if !record.awaiting_wallet() {
            return self.already_chosen(record, wallet);
        }
        self.still_open(page)?;
        let (scene, route) = self
            .offered_route(page, &page.request, wallet, context)
            .ok_or_else(|| PaymentError::Unacceptable {
                code: "wallet_not_offered",
                message: format!("`{wallet}` cannot pay this payment"),
                field: Some("wallet".into()),
            })?;
        // The channel sees the payment as if asked for this scene and
        // wallet, with what remains of its time to pay.
        let mut request = page.request.clone();
        request.scene = scene;
        request.wallet = Some(wallet.to_string());
        let remaining_s = self.seconds_left(&page.link);
        request.expires_in = Some(u32::try_from(remaining_s).unwrap_or(u32::MAX));
        let choice = WalletChoice {
            channel: super::assignment(&route.candidates[0]),
            scene,
        };
        tracing::Span::current().record("wallet", wallet);
        let assigned = match machine::assign_channel(record, &choice) {
            Some(decided) => {
                self.store
                    .assign_checkout_channel(record, &choice, &decided)
                    .await
            }
            None => Err(StoreError::Stale),
        };
        let assigned = match assigned {
            Ok(r) => r,
            // Chosen or closed meanwhile (a second tab, the sweeper).
            Err(StoreError::Stale) => {
                let now = self.load(&tenant.config.id, &record.id).await?;
                return self.already_chosen(&now, wallet);
            }
            Err(e) => return Err(e.into()),
        };
        let sent = self
            .submit(tenant, assigned, &request, &route, Answering::HostedPage)
            .await;
        match sent {
            Ok(Created { .. }) => {}
            // The payment stands as the channel left it (`unknown` is
            // settled by the sweeper); the page shows where it is.
            Err(PaymentError::Create {
                error: CreateError::ChannelUnavailable { .. } | CreateError::OutcomeUnknown { .. },
                ..
            }) => {}
            Err(e) => return Err(e),
        }
        self.load(&tenant.config.id, &record.id).await
    }

    /// The route for paying `request` (the page's payment, or what coupons
    /// and cards leave of it) with `wallet`, if the page offers that
    /// wallet: a wallet named at creation is the only one offered.
    pub(super) fn offered_route(
        &self,
        page: &CheckoutPage,
        request: &PaymentRequest,
        wallet: &str,
        context: &PayerContext,
    ) -> Option<(Scene, routing::Route)> {
        let named_other = page.request.wallet.as_deref().is_some_and(|w| w != wallet);
        if named_other {
            return None;
        }
        let (scene, mut route) = self.wallet_route(&page.tenant, request, wallet, Some(context))?;
        super::serve_order(&mut route, &page.request.merchant_order_no);
        Some((scene, route))
    }

    /// A payment awaiting its payer can still be paid from the page:
    /// `pending` and not past its expiry.
    pub(super) fn still_open(&self, page: &CheckoutPage) -> Result<()> {
        if page.payment.status != PaymentStatus::Pending {
            return Err(not_open(&page.payment));
        }
        if page.expired {
            return Err(PaymentError::Unacceptable {
                code: "payment_expired",
                message: "this payment expired before it was paid".into(),
                field: None,
            });
        }
        Ok(())
    }

    /// Whether `link`'s payment has reached its expiry.
    fn link_expired(&self, link: &CheckoutLink) -> bool {
        self.clock.now_millis() >= link.expires_ms
    }

    /// What remains of `link`'s time to pay, in whole seconds: a minute at
    /// least, so a payer who chose late still has time to pay.
    pub(super) fn seconds_left(&self, link: &CheckoutLink) -> i64 {
        ((link.expires_ms - self.clock.now_millis()) / 1000).max(60)
    }

    fn already_chosen(&self, record: &PaymentRecord, wallet: &str) -> Result<PaymentRecord> {
        if record.awaiting_wallet() {
            return Err(not_open(record));
        }
        if record.wallet == wallet {
            Ok(record.clone())
        } else {
            Err(PaymentError::Conflict {
                code: "wallet_already_chosen",
                message: format!(
                    "this payment was already sent to `{}`; it cannot be paid with another wallet",
                    record.wallet
                ),
            })
        }
    }
}

pub(super) fn not_open(record: &PaymentRecord) -> PaymentError {
    PaymentError::Unacceptable {
        code: "payment_not_open",
        message: format!(
            "this payment is {} and can no longer be paid",
            record.status
        ),
        field: None,
    }
}

/// Every wallet the tenant's channels' plugins declare, in display order.
fn declared_wallets(tenant: &Tenant) -> Vec<String> {
    let mut all: Vec<String> = tenant
        .channels
        .iter()
        .flat_map(|c| c.plugin.manifest.wallets.iter().cloned())
        .collect();
    all.sort_by_key(|w| {
        (
            WALLET_ORDER
                .iter()
                .position(|o| o == w)
                .unwrap_or(WALLET_ORDER.len()),
            w.clone(),
        )
    });
    all.dedup();
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use std::time::Duration;

    #[test]
    fn link_tokens_are_long_random_and_url_safe() {
        let a = new_link_token();
        let b = new_link_token();
        assert_ne!(a, b);
        assert!(plausible_link_token(&a), "{a}");
        assert_eq!(a.len(), 32);
    }

    #[test]
    fn implausible_tokens_are_refused_before_any_lookup() {
        let good = new_link_token();
        for bad in [
            "",
            "short",
            &good[..31],
            &format!("{good}x"),
            &format!("{}/", &good[..31]),
            &format!("{}%", &good[..31]),
            &format!("{}.", &good[..31]),
        ] {
            assert!(!plausible_link_token(bad), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn a_link_expires_with_its_payment_and_offers_the_time_left() {
        let clock = Clock::manual_at_millis(1_000_000);
        let payments = Payments::for_tests(&clock).await;
        let link = CheckoutLink {
            token: new_link_token(),
            tenant_id: "t".into(),
            payment_id: "pay_1".into(),
            return_url: None,
            expires_ms: 1_000_000 + 900_000,
        };
        assert!(!payments.link_expired(&link));
        assert_eq!(payments.seconds_left(&link), 900);
        clock.advance(Duration::from_millis(839_001));
        assert_eq!(
            payments.seconds_left(&link),
            60,
            "whole seconds, rounded down"
        );
        clock.advance(Duration::from_millis(30_000));
        assert_eq!(payments.seconds_left(&link), 60, "a minute at least");
        clock.advance(Duration::from_millis(30_998));
        assert!(!payments.link_expired(&link), "a millisecond before");
        clock.advance(Duration::from_millis(1));
        assert!(payments.link_expired(&link));
    }
}
