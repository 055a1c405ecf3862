//! A coupon as a tender for its discount. The payment's `amount` is the
//! discount; the order it applies to is the payment's `goods` (the sum of
//! quantity × unit price − discount, per item). A coupon pays when the
//! order is there and comes to its minimum spend, now is within its days
//! and hours (the host reads them in the tenant's time zone: `in-window`),
//! the store is one of its stores, and the amount is exactly the discount
//! it gives on that order. Pure: the card's terms and the payment.
//!
//! Used once and given back only whole are the host's to keep (the
//! ledger closes a coupon when its hold is captured); this module only
//! decides whether it may pay.

use paycore_plugin_sdk::money;
use paycore_plugin_sdk::types::{ChannelError, CouponTerms, GoodsItem, PayRequest};

use crate::failure;

/// The discount the coupon gives on the payment's order, which must be
/// the payment's amount.
pub fn discount(terms: &CouponTerms, request: &PayRequest) -> Result<i64, ChannelError> {
    let currency = &request.currency;
    if request.goods.is_empty() {
        return Err(failure::declined(
            failure::COUPON_NEEDS_ORDER,
            "a coupon takes its discount off an order: send the payment's goods",
        ));
    }
    let total = order_total(&request.goods).ok_or_else(|| {
        failure::invalid(
            "invalid_goods",
            "the goods come to more than an amount can be",
        )
    })?;
    if let Some(min) = terms.min_spend
        && total < min
    {
        return Err(failure::declined(
            failure::BELOW_MIN_SPEND,
            format!(
                "the coupon needs an order of at least {}; this one comes to {}",
                major(min, currency),
                major(total, currency)
            ),
        ));
    }
    if !terms.in_window {
        return Err(failure::declined(
            failure::OUTSIDE_COUPON_HOURS,
            "the coupon cannot be used on this day or at this hour",
        ));
    }
    if !terms.stores.is_empty()
        && !request
            .store_id
            .as_ref()
            .is_some_and(|store| terms.stores.contains(store))
    {
        return Err(failure::declined(
            failure::STORE_NOT_ELIGIBLE,
            match &request.store_id {
                Some(store) => format!("the coupon cannot be used in store `{store}`"),
                None => {
                    "the coupon is good in some stores only: send the payment's store_id".to_owned()
                }
            },
        ));
    }
    let expected = off(terms, total)?;
    if request.amount != expected {
        return Err(failure::invalid(
            failure::COUPON_AMOUNT_MISMATCH,
            format!(
                "the coupon takes {} off this order of {}: the payment's amount must be that, not {}",
                major(expected, currency),
                major(total, currency),
                major(request.amount, currency)
            ),
        ));
    }
    Ok(expected)
}

/// What the order comes to: each item's quantity × unit price less its
/// discount, summed exactly; `None` beyond what an amount can be.
pub fn order_total(goods: &[GoodsItem]) -> Option<i64> {
    let total = goods.iter().try_fold(0i128, |sum, item| {
        let line =
            i128::from(item.quantity) * i128::from(item.unit_price) - i128::from(item.discount);
        sum.checked_add(line)
    })?;
    i64::try_from(total.max(0)).ok()
}

/// The discount on an order of `total`: the amount off, or the
/// percentage of it rounded down to a minor unit and at most
/// `max-discount`; never more than the order.
fn off(terms: &CouponTerms, total: i64) -> Result<i64, ChannelError> {
    let discount = match (terms.amount_off, terms.percent_off_hundredths) {
        (Some(amount), None) => amount,
        (None, Some(hundredths)) => {
            let max = terms.max_discount.ok_or_else(misconfigured)?;
            // hundredths of a percent: ten-thousandths of the total.
            let share = i128::from(total) * i128::from(hundredths) / 10_000;
            i64::try_from(share).map_or(max, |share| share.min(max))
        }
        _ => return Err(misconfigured()),
    };
    Ok(discount.min(total))
}

fn misconfigured() -> ChannelError {
    failure::invalid(
        "program_misconfigured",
        "the coupon programme says neither an amount off nor a capped percentage",
    )
}

/// `minor` in major units for a message ("5.00"), or as minor units if
/// the currency is unknown.
fn major(minor: i64, currency: &str) -> String {
    money::to_major_string(minor, currency).unwrap_or_else(|_| minor.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use paycore_plugin_sdk::testing::pay_request;
    use paycore_plugin_sdk::types::Scene;

    fn item(quantity: u32, unit_price: i64, discount: i64) -> GoodsItem {
        GoodsItem {
            id: "sku".to_owned(),
            name: "lunch".to_owned(),
            quantity,
            unit_price,
            discount,
        }
    }

    fn paying(amount: i64, goods: Vec<GoodsItem>, store: Option<&str>) -> PayRequest {
        PayRequest {
            goods,
            store_id: store.map(str::to_owned),
            ..pay_request("A1", amount, "CNY", Scene::Barcode)
        }
    }

    fn code(result: Result<i64, ChannelError>) -> Result<i64, (String, String)> {
        result.map_err(|e| (e.failure().code.clone(), e.failure().message.clone()))
    }

    #[test]
    fn the_order_is_each_line_less_its_discount() {
        assert_eq!(
            order_total(&[item(2, 1_500, 0), item(1, 800, 300)]),
            Some(3_500)
        );
        assert_eq!(order_total(&[item(1, 100, 100)]), Some(0));
        assert_eq!(order_total(&[item(u32::MAX, i64::MAX, 0)]), None);
    }

    #[test]
    fn a_fixed_amount_off_an_order_of_the_minimum_spend() {
        let terms = CouponTerms::amount_off(500).with_min_spend(3_000);
        let order = vec![item(2, 1_500, 0)];
        assert_eq!(
            code(discount(&terms, &paying(500, order.clone(), None))),
            Ok(500)
        );
        let (code_, message) = code(discount(
            &terms,
            &paying(500, vec![item(1, 2_999, 0)], None),
        ))
        .unwrap_err();
        assert_eq!(code_, "below_min_spend");
        assert!(message.contains("at least 30.00"), "{message}");
        assert!(message.contains("29.99"), "{message}");
    }

    #[test]
    fn without_goods_there_is_no_order_to_discount() {
        let terms = CouponTerms::amount_off(500);
        let (code_, _) = code(discount(&terms, &paying(500, vec![], None))).unwrap_err();
        assert_eq!(code_, "coupon_needs_order");
    }

    #[test]
    fn a_percentage_rounds_down_and_stops_at_its_cap() {
        // 12.5 % of 99.99 is 12.49875: 12.49.
        let terms = CouponTerms::percent_off(1_250, 2_000);
        let order = || vec![item(1, 9_999, 0)];
        assert_eq!(
            code(discount(&terms, &paying(1_249, order(), None))),
            Ok(1_249)
        );
        let (code_, message) = code(discount(&terms, &paying(1_250, order(), None))).unwrap_err();
        assert_eq!(code_, "coupon_amount_mismatch");
        assert!(message.contains("takes 12.49 off"), "{message}");
        // 12.5 % of 500.00 is 62.50, capped at 20.00.
        let big = vec![item(1, 50_000, 0)];
        assert_eq!(code(discount(&terms, &paying(2_000, big, None))), Ok(2_000));
    }

    #[test]
    fn never_more_than_the_order() {
        let terms = CouponTerms::amount_off(500);
        assert_eq!(
            code(discount(&terms, &paying(300, vec![item(1, 300, 0)], None))),
            Ok(300)
        );
        let (code_, _) =
            code(discount(&terms, &paying(500, vec![item(1, 300, 0)], None))).unwrap_err();
        assert_eq!(code_, "coupon_amount_mismatch");
    }

    #[test]
    fn only_within_its_days_and_hours() {
        let terms = CouponTerms::amount_off(500).outside_window();
        let (code_, _) = code(discount(
            &terms,
            &paying(500, vec![item(1, 3_000, 0)], None),
        ))
        .unwrap_err();
        assert_eq!(code_, "outside_coupon_hours");
    }

    #[test]
    fn only_in_its_stores_when_it_names_any() {
        let terms = CouponTerms::amount_off(500).with_stores(&["s001", "s002"]);
        let order = || vec![item(1, 3_000, 0)];
        assert_eq!(
            code(discount(&terms, &paying(500, order(), Some("s002")))),
            Ok(500)
        );
        for store in [Some("s003"), None] {
            let (code_, _) = code(discount(&terms, &paying(500, order(), store))).unwrap_err();
            assert_eq!(code_, "store_not_eligible", "{store:?}");
        }
        let anywhere = CouponTerms::amount_off(500);
        assert_eq!(
            code(discount(&anywhere, &paying(500, order(), None))),
            Ok(500)
        );
    }

    #[test]
    fn terms_that_say_no_discount_are_the_programme_s_fault() {
        let neither = CouponTerms {
            amount_off: None,
            ..CouponTerms::amount_off(0)
        };
        let (code_, _) =
            code(discount(&neither, &paying(1, vec![item(1, 100, 0)], None))).unwrap_err();
        assert_eq!(code_, "program_misconfigured");
    }
}
