//! Members' dynamic payment codes: 18 digits, `88` then 16 random digits,
//! valid for a minute and for one payment, so a screenshot cannot pay
//! twice or later. Only the code's SHA-256 is stored.

use super::Ledger;
use crate::domain::TenantId;
use crate::store::StoreError;
use paycore_core::ledger::CardId;
use sha2::{Digest, Sha256};

/// The prefix that tells routing a payment code is a paycore card's
/// (wallet `card`); no wallet publishes codes starting with it.
pub const CODE_PREFIX: &str = "88";
pub const CODE_LENGTH: usize = 18;
/// How long a fresh code can be presented.
pub const CODE_VALIDITY_MS: i64 = 60_000;

/// A code as given to the member: shown once, never stored.
#[derive(Debug, Clone)]
pub struct PaymentCode {
    pub code: String,
    pub expires_ms: i64,
}

/// Whether `code` has the shape of a card payment code.
pub fn looks_like_card_code(code: &str) -> bool {
    code.len() == CODE_LENGTH
        && code.starts_with(CODE_PREFIX)
        && code.bytes().all(|b| b.is_ascii_digit())
}

/// What the store keeps of a code: its hash, bound to the tenant so a code
/// means nothing to another tenant.
pub(super) fn code_hash(tenant: &TenantId, code: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(tenant.as_bytes());
    hash.update([0]);
    hash.update(code.as_bytes());
    hex::encode(hash.finalize())
}

fn fresh_code() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    let digits: String = (0..CODE_LENGTH - CODE_PREFIX.len())
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect();
    format!("{CODE_PREFIX}{digits}")
}

impl Ledger {
    /// A new code for one of the tenant's cards (the caller has checked the
    /// card is the tenant's and may pay).
    pub async fn new_payment_code(
        &self,
        tenant: &TenantId,
        card: &CardId,
    ) -> Result<PaymentCode, StoreError> {
        let expires_ms = self.store.clock().now_millis() + CODE_VALIDITY_MS;
        // 10^16 codes: a collision with a live one is a retry, not an error.
        for _ in 0..4 {
            let code = fresh_code();
            match self
                .store
                .insert_payment_code(tenant, card, &code_hash(tenant, &code), expires_ms)
                .await
            {
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e),
                Ok(()) => return Ok(PaymentCode { code, expires_ms }),
            }
        }
        Err(StoreError::Conflict("card_payment_codes.code_hash"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_codes_have_the_card_shape_and_differ() {
        let a = fresh_code();
        let b = fresh_code();
        assert!(looks_like_card_code(&a), "{a}");
        assert_ne!(a, b);
        assert_eq!(
            paycore_core::routing::wallet_from_auth_code(&a),
            Some("card")
        );
    }

    #[test]
    fn a_code_hashes_differently_for_another_tenant() {
        let code = "881234567890123456";
        assert_ne!(
            code_hash(&TenantId::from("a"), code),
            code_hash(&TenantId::from("b"), code)
        );
    }
}
