//! The provider's fee: 0.6 % of every successful payment, handed back in
//! proportion when money is refunded (a refund or a cancel's reversal).
//!
//! Computed exactly in `Decimal` and rounded half-to-even to the currency's
//! minor unit, as a channel's statement does; never floats.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

/// 0.6 %, as documented in `docs/sandbox-provider.md`.
fn rate() -> Decimal {
    Decimal::new(6, 3)
}

/// The fee charged on a payment of `amount` minor units.
pub(crate) fn on_payment(amount: i64) -> i64 {
    let fee = (Decimal::from(amount) * rate())
        .round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven);
    // |fee| is below |amount|, which is an i64: the conversion cannot fail,
    // and the multiplication (< 2^66) cannot overflow a Decimal's 96 bits.
    fee.to_i64()
        .expect("a fee is smaller than its amount, so it fits an i64")
}

/// The (negative) fee returned when `amount` minor units are refunded: the
/// refunded share of the payment's fee, rounded on its own.
pub(crate) fn on_refund(amount: i64) -> i64 {
    -on_payment(amount)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_half_to_even_in_minor_units() {
        assert_eq!(on_payment(8888), 53); // 53.328
        assert_eq!(on_payment(250), 2); // 1.5 → 2
        assert_eq!(on_payment(750), 4); // 4.5 → 4, not 5
        assert_eq!(on_payment(100), 1); // 0.6
        assert_eq!(on_payment(83), 0); // 0.498
        assert_eq!(on_payment(500), 3); // JPY 500 → ¥3
        assert_eq!(on_payment(i64::MAX), 55_340_232_221_128_655); // no overflow
        assert_eq!(on_refund(1000), -6);
        assert_eq!(on_refund(8888), -53);
    }
}
