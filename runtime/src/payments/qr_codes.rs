//! Static codes for a store or terminal: one printed code that every wallet
//! can pay (docs/checkout.md). Scanning it opens paycore's page, which
//! makes a checkout payment for the amount (fixed by the code, or typed by
//! the payer) and sends it with the wallet the payer is in.
//!
//! Each page load carries a random nonce that becomes the payment's order
//! number, so resubmitting the same form (a double tap, a reload) can never
//! make a second payment.

use super::request::{FieldError, MAX_AMOUNT, PaymentRequest, short_text};
use super::{PayerContext, PaymentError, Payments, Result};
use crate::domain::{Scene, new_id};
use crate::money::Currency;
use crate::registry::Tenant;
use crate::store::QrCodeRecord;
use paycore_core::money::{AmountInputError, parse_entered_amount};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use utoipa::ToSchema;

/// The body of `POST /v1/qr-codes`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct QrCodeBody {
    /// The store the code stands in; becomes each payment's `store_id`.
    #[schema(required = true, value_type = String, min_length = 1, max_length = 64, example = "shop-7")]
    pub store_id: Option<String>,
    #[schema(max_length = 64, example = "counter-1")]
    pub terminal_id: Option<String>,
    /// A fixed amount in minor units; absent: the payer types it.
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 1_000_000_000_000_000_i64)]
    pub amount: Option<i64>,
    #[schema(required = true, value_type = String, pattern = "^[A-Z]{3}$", example = "CNY")]
    pub currency: Option<String>,
    /// What payers see and each payment's `subject`.
    #[schema(max_length = 256, example = "Demo Coffee, counter 1")]
    pub subject: Option<String>,
}

/// Why the payer's form could not make a payment.
#[derive(Debug)]
pub enum StaticCodeError {
    /// No such code (or its tenant is gone): the page is a 404.
    NotFound,
    Amount(AmountInputError),
    /// The nonce was used with another amount: the form is spent.
    FormUsed,
    /// The payment could not be made or sent.
    Payment(PaymentError),
}

/// A code body that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct NewQrCode {
    pub store_id: String,
    pub terminal_id: Option<String>,
    pub amount: Option<i64>,
    pub currency: Currency,
    pub subject: Option<String>,
}

impl QrCodeBody {
    pub fn validate(self) -> std::result::Result<NewQrCode, FieldError> {
        let store_id = short_text("store_id", self.store_id, 64)?
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| FieldError {
                field: "store_id".into(),
                message: "is required".into(),
                missing: true,
            })?;
        let currency = super::request::currency("currency", self.currency)?;
        if let Some(a) = self.amount
            && !(1..=MAX_AMOUNT).contains(&a)
        {
            return Err(FieldError {
                field: "amount".into(),
                message: format!("must be between 1 and {MAX_AMOUNT} minor units"),
                missing: false,
            });
        }
        Ok(NewQrCode {
            store_id,
            terminal_id: short_text("terminal_id", self.terminal_id, 64)?,
            amount: self.amount,
            currency,
            subject: short_text("subject", self.subject, 256)?,
        })
    }
}

/// A fresh nonce for one page load (64 random bits, hex).
pub fn new_form_nonce() -> String {
    use rand::Rng;
    let bytes: [u8; 8] = rand::rng().random();
    hex::encode(bytes)
}

fn plausible_nonce(nonce: &str) -> bool {
    nonce.len() == 16
        && nonce
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl Payments {
    /// Stores a new static code for the tenant.
    pub async fn create_qr_code(&self, tenant: &Tenant, body: NewQrCode) -> Result<QrCodeRecord> {
        let record = QrCodeRecord {
            id: new_id("qr"),
            tenant_id: tenant.config.id.clone(),
            token: super::checkout::new_link_token(),
            store_id: body.store_id,
            terminal_id: body.terminal_id,
            amount: body.amount,
            currency: body.currency,
            subject: body.subject,
            created_at: self.clock.now_rfc3339(),
            created_ms: self.clock.now_millis(),
            disabled_at: None,
        };
        self.store.insert_qr_code(&record).await?;
        tracing::info!(tenant = %tenant.config.id, qr_code = %record.id, store_id = %record.store_id, "static QR code created");
        Ok(record)
    }

    pub async fn qr_code(&self, tenant: &Tenant, id: &str) -> Result<QrCodeRecord> {
        self.store
            .qr_code(&tenant.config.id, id)
            .await?
            .ok_or(PaymentError::NotFound)
    }

    /// A tenant's codes, newest first (at most `limit`), optionally of one store.
    pub async fn qr_codes(
        &self,
        tenant: &Tenant,
        store_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<QrCodeRecord>> {
        Ok(self
            .store
            .qr_codes(&tenant.config.id, store_id, limit)
            .await?)
    }

    /// Retires a code: its page becomes a 404 and it makes no payment.
    /// Payments it already made are not touched.
    pub async fn disable_qr_code(&self, tenant: &Tenant, id: &str) -> Result<QrCodeRecord> {
        let code = self
            .store
            .disable_qr_code(&tenant.config.id, id)
            .await?
            .ok_or(PaymentError::NotFound)?;
        tracing::info!(tenant = %tenant.config.id, qr_code = %code.id, "static QR code disabled");
        Ok(code)
    }

    /// The live code a scanned link names, with its tenant (none for a
    /// disabled code).
    pub async fn static_code(&self, token: &str) -> Result<Option<(Arc<Tenant>, QrCodeRecord)>> {
        if !super::checkout::plausible_link_token(token) {
            return Ok(None);
        }
        let Some(code) = self.store.qr_code_by_token(token).await? else {
            return Ok(None);
        };
        if code.disabled_at.is_some() {
            return Ok(None);
        }
        Ok(self
            .registry()
            .tenant(&code.tenant_id)
            .cloned()
            .map(|t| (t, code)))
    }

    /// The wallets the tenant's routing offers for a static code's page.
    /// Without a fixed amount routing is asked about the smallest one: this
    /// says which wallets exist; the payment made on submission is routed
    /// for real.
    pub fn static_code_wallets(
        &self,
        tenant: &Tenant,
        code: &QrCodeRecord,
        context: &PayerContext,
    ) -> Vec<String> {
        let probe = code_payment(code, "probe", code.amount.unwrap_or(1), None);
        self.wallet_offers(tenant, &probe, Some(context))
            .into_iter()
            .map(|o| o.wallet)
            .collect()
    }

    /// The payer submitted a static code's form: make the checkout payment
    /// (idempotently on the page's nonce) and send it with `wallet`.
    /// Returns the checkout page's token to show next.
    pub async fn pay_static_code(
        &self,
        tenant: &Tenant,
        code: &QrCodeRecord,
        typed_amount: Option<&str>,
        nonce: &str,
        wallet: &str,
        context: &PayerContext,
    ) -> std::result::Result<String, StaticCodeError> {
        let amount = match code.amount {
            Some(fixed) => fixed,
            None => parse_entered_amount(
                typed_amount.unwrap_or(""),
                &code.currency,
                tenant.config.checkout.max_entered_amount,
            )
            .map_err(StaticCodeError::Amount)?,
        };
        if !plausible_nonce(nonce) {
            return Err(StaticCodeError::FormUsed);
        }
        let request = code_payment(code, nonce, amount, Some(wallet));
        let created = match self.create(tenant, request, None).await {
            Ok(c) => c,
            Err(PaymentError::Conflict { .. }) => return Err(StaticCodeError::FormUsed),
            Err(e) => return Err(StaticCodeError::Payment(e)),
        };
        let token = self
            .store
            .checkout_link_of(&tenant.config.id, &created.payment.id)
            .await
            .map_err(|e| StaticCodeError::Payment(e.into()))?
            .ok_or(StaticCodeError::NotFound)?;
        let page = self
            .checkout_page(&token)
            .await
            .map_err(StaticCodeError::Payment)?
            .ok_or(StaticCodeError::NotFound)?;
        self.choose_wallet(&page, wallet, context)
            .await
            .map_err(StaticCodeError::Payment)?;
        Ok(token)
    }
}

/// The checkout payment a static code makes for one page load.
fn code_payment(
    code: &QrCodeRecord,
    nonce: &str,
    amount: i64,
    wallet: Option<&str>,
) -> PaymentRequest {
    PaymentRequest {
        merchant_order_no: format!("{}-{nonce}", code.id),
        amount,
        currency: code.currency.clone(),
        scene: Scene::Checkout,
        auth_code: None,
        wallet: wallet.map(str::to_string),
        subject: code.subject.clone(),
        payer: None,
        goods: Vec::new(),
        receipt_no: None,
        store_id: Some(code.store_id.clone()),
        terminal_id: code.terminal_id.clone(),
        client_ip: None,
        expires_in: None,
        notify_url: None,
        return_url: None,
        metadata: BTreeMap::from([("qr_code".to_string(), code.id.clone())]),
        tenders: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> QrCodeBody {
        QrCodeBody {
            store_id: Some("shop-7".into()),
            terminal_id: None,
            amount: None,
            currency: Some("CNY".into()),
            subject: None,
        }
    }

    #[test]
    fn a_code_needs_a_store_and_a_known_currency() {
        assert!(body().validate().is_ok());
        for (broken, field) in [
            (
                QrCodeBody {
                    store_id: None,
                    ..body()
                },
                "store_id",
            ),
            (
                QrCodeBody {
                    store_id: Some("  ".into()),
                    ..body()
                },
                "store_id",
            ),
            (
                QrCodeBody {
                    currency: Some("cny".into()),
                    ..body()
                },
                "currency",
            ),
            (
                QrCodeBody {
                    currency: None,
                    ..body()
                },
                "currency",
            ),
            (
                QrCodeBody {
                    amount: Some(0),
                    ..body()
                },
                "amount",
            ),
            (
                QrCodeBody {
                    amount: Some(-5),
                    ..body()
                },
                "amount",
            ),
            (
                QrCodeBody {
                    terminal_id: Some("x".repeat(65)),
                    ..body()
                },
                "terminal_id",
            ),
        ] {
            assert_eq!(broken.validate().unwrap_err().field, field);
        }
    }

    #[test]
    fn nonces_are_random_hex_and_checked() {
        let a = new_form_nonce();
        assert!(plausible_nonce(&a), "{a}");
        assert_ne!(a, new_form_nonce());
        for bad in [
            "",
            "zzzzzzzzzzzzzzzz",
            "0123456789abcdef0",
            "0123456789ABCDEF",
        ] {
            assert!(!plausible_nonce(bad), "{bad}");
        }
    }
}
