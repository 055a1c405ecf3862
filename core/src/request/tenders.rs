//! A combined order's tenders (组合支付): one order paid by coupons, the
//! tenant's own cards and at most one external wallet payment together.
//! This module checks what can be checked from the body alone — each
//! tender's shape, at most one external tender, at most one amount left
//! for paycore to work out — and names every problem by the tender's index
//! (`tenders[1].amount`). What needs the ledger (a coupon's discount, a
//! card's balance) is checked by the runtime before anything is held.

use super::{FieldError, MAX_AMOUNT, bad, missing};
use crate::domain::Scene;
use crate::money::Currency;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The most tenders one order may have.
pub const MAX_TENDERS: usize = 8;

/// One tender as the client sends it; everything optional so that a
/// missing field is reported by name.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenderBody {
    /// `coupon` or `card`; absent for the external tender, a wallet payment
    /// named by its `scene`.
    #[serde(rename = "type")]
    #[schema(value_type = Option<String>, example = "card")]
    pub kind: Option<String>,
    /// Minor units this tender pays. A coupon's is its discount on the
    /// order (worked out by paycore; if given, it must be that); one other
    /// tender may leave it out and take what remains.
    #[schema(minimum = 1, example = 2000)]
    pub amount: Option<i64>,
    /// If given, the order's currency: tenders never mix currencies.
    #[schema(value_type = Option<String>, pattern = "^[A-Z]{3}$")]
    pub currency: Option<String>,
    /// A coupon's code (`cpn_…`: a coupon given to the order's member,
    /// `payer.open_id`) or the 18-digit payment code shown for a coupon
    /// (any coupon, one given to nobody too).
    pub code: Option<String>,
    /// A card's dynamic payment code, or the external tender's payment code
    /// (scene `barcode`).
    #[schema(pattern = "^[A-Za-z0-9]{6,128}$")]
    pub auth_code: Option<String>,
    /// A card by its id, paid in the merchant's app: the order's
    /// `payer.open_id` is the member, who must hold it.
    pub card_id: Option<String>,
    /// The external tender's scene (not `checkout`).
    #[schema(value_type = Option<crate::domain::Scene>)]
    pub scene: Option<String>,
    /// The external tender's wallet; inferred from its `auth_code` when absent.
    #[schema(pattern = "^[a-z0-9_]{1,32}$")]
    pub wallet: Option<String>,
}

/// A tender that passed the body's checks. Serialised with the request,
/// so a replay compares tenders too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Tender {
    Coupon {
        code: String,
        /// As the client stated it, if it did.
        amount: Option<i64>,
    },
    /// Exactly one of `auth_code` and `card_id`.
    Card {
        auth_code: Option<String>,
        card_id: Option<String>,
        amount: Option<i64>,
    },
    External {
        scene: Scene,
        auth_code: Option<String>,
        wallet: Option<String>,
        amount: Option<i64>,
    },
}

impl Tender {
    /// Coupons and cards: value the tenant holds itself, held first.
    pub fn is_closed_loop(&self) -> bool {
        !matches!(self, Tender::External { .. })
    }

    /// The amount the client gave, if any.
    pub fn stated_amount(&self) -> Option<i64> {
        match self {
            Tender::Coupon { amount, .. }
            | Tender::Card { amount, .. }
            | Tender::External { amount, .. } => *amount,
        }
    }

    /// `coupon`, `card` or `external`, as the API shows it.
    pub fn kind(&self) -> &'static str {
        match self {
            Tender::Coupon { .. } => "coupon",
            Tender::Card { .. } => "card",
            Tender::External { .. } => "external",
        }
    }
}

/// The name of `field` of tender `i`.
pub fn tender_field(i: usize, field: &str) -> String {
    format!("tenders[{i}].{field}")
}

/// Checks the tenders of an order of `currency`; `payer_open_id` is
/// whether the order names its payer's member id (a card by id needs it).
pub fn validate(
    bodies: Vec<TenderBody>,
    currency: &Currency,
    payer_open_id: bool,
) -> Result<Vec<Tender>, FieldError> {
    if bodies.is_empty() {
        return Err(bad(
            "tenders",
            "must list at least one tender (or leave `tenders` out for a single-tender payment)",
        ));
    }
    if bodies.len() > MAX_TENDERS {
        return Err(bad(
            "tenders",
            format!("at most {MAX_TENDERS} tenders in one order"),
        ));
    }
    let mut tenders = Vec::with_capacity(bodies.len());
    for (i, body) in bodies.into_iter().enumerate() {
        tenders.push(one(i, body, currency, payer_open_id)?);
    }
    let mut external = None;
    let mut open_amount = None;
    for (i, tender) in tenders.iter().enumerate() {
        if !tender.is_closed_loop() {
            if let Some(first) = external {
                return Err(bad(
                    &tender_field(i, "scene"),
                    format!("an order takes one external tender, and tenders[{first}] is one"),
                ));
            }
            external = Some(i);
        }
        if tender.stated_amount().is_none() && !matches!(tender, Tender::Coupon { .. }) {
            if let Some(first) = open_amount {
                return Err(FieldError {
                    message: format!(
                        "is required: only one tender may take what remains, and tenders[{first}] does"
                    ),
                    ..missing(&tender_field(i, "amount"))
                });
            }
            open_amount = Some(i);
        }
    }
    let mut seen: Vec<(&str, usize)> = Vec::new();
    for (i, tender) in tenders.iter().enumerate() {
        let key = match tender {
            Tender::Coupon { code, .. } => Some(("code", code.as_str())),
            Tender::Card {
                card_id: Some(id), ..
            } => Some(("card_id", id.as_str())),
            Tender::Card {
                auth_code: Some(code),
                ..
            } => Some(("auth_code", code.as_str())),
            _ => None,
        };
        if let Some((field, value)) = key {
            if let Some((_, first)) = seen.iter().find(|(v, _)| *v == value) {
                return Err(bad(
                    &tender_field(i, field),
                    format!("is the same as tenders[{first}]'s: each card or coupon pays once"),
                ));
            }
            seen.push((value, i));
        }
    }
    Ok(tenders)
}

fn one(
    i: usize,
    body: TenderBody,
    currency: &Currency,
    payer_open_id: bool,
) -> Result<Tender, FieldError> {
    let field = |f: &str| tender_field(i, f);
    let amount = match body.amount {
        None => None,
        Some(a) if a <= 0 || a > MAX_AMOUNT => {
            return Err(bad(
                &field("amount"),
                format!("must be a positive integer number of minor units, at most {MAX_AMOUNT}"),
            ));
        }
        Some(a) => Some(a),
    };
    if let Some(c) = &body.currency
        && c != currency.code()
    {
        return Err(bad(
            &field("currency"),
            format!(
                "is {c}, and the order is in {}: tenders never mix currencies",
                currency.code()
            ),
        ));
    }
    let forbid = |name: &str, present: bool, why: &str| -> Result<(), FieldError> {
        if present {
            Err(bad(&field(name), why.to_string()))
        } else {
            Ok(())
        }
    };
    match body.kind.as_deref() {
        Some("coupon") => {
            let why = "is not a coupon's: a coupon is named by its `code`";
            forbid("auth_code", body.auth_code.is_some(), why)?;
            forbid("card_id", body.card_id.is_some(), why)?;
            forbid("scene", body.scene.is_some(), why)?;
            forbid("wallet", body.wallet.is_some(), why)?;
            let code = body.code.ok_or_else(|| missing(&field("code")))?;
            if !token(&code) {
                return Err(bad(&field("code"), "must be 6-64 letters, digits or '_'"));
            }
            Ok(Tender::Coupon { code, amount })
        }
        Some("card") => {
            let why = "is not a card's: a card is named by its `auth_code` or `card_id`";
            forbid("code", body.code.is_some(), why)?;
            forbid("scene", body.scene.is_some(), why)?;
            forbid("wallet", body.wallet.is_some(), why)?;
            match (&body.auth_code, &body.card_id) {
                (None, None) => Err(FieldError {
                    message: "is required: a card tender names the card by its `auth_code` (the member's payment code) or its `card_id`".into(),
                    ..missing(&field("auth_code"))
                }),
                (Some(_), Some(_)) => Err(bad(
                    &field("card_id"),
                    "goes without `auth_code`: name the card one way",
                )),
                (Some(code), None) if !code.bytes().all(|b| b.is_ascii_digit()) || code.len() != 18 => {
                    Err(bad(&field("auth_code"), "must be the member's 18-digit payment code"))
                }
                (None, Some(id)) if !token(id) => {
                    Err(bad(&field("card_id"), "must be 6-64 letters, digits or '_'"))
                }
                (None, Some(_)) if !payer_open_id => Err(bad(
                    &field("card_id"),
                    "a card named by its id is paid by its member: send the order's `payer.open_id`",
                )),
                _ => Ok(Tender::Card {
                    auth_code: body.auth_code,
                    card_id: body.card_id,
                    amount,
                }),
            }
        }
        Some(other) => Err(bad(
            &field("type"),
            format!(
                "`{other}` is no tender type: `coupon`, `card`, or leave it out for a wallet payment named by its `scene`"
            ),
        )),
        None => {
            let why = "is not an external tender's (a wallet payment): coupons and cards name their `type`";
            forbid("code", body.code.is_some(), why)?;
            forbid("card_id", body.card_id.is_some(), why)?;
            let scene: Scene = body
                .scene
                .ok_or_else(|| FieldError {
                    message: "is required: a tender is a `coupon`, a `card`, or a wallet payment with its `scene`".into(),
                    ..missing(&field("scene"))
                })?
                .parse()
                .map_err(|e: String| bad(&field("scene"), e))?;
            if !scene.is_channel_scene() {
                return Err(bad(
                    &field("scene"),
                    "cannot be `checkout`: the hosted page is an order's scene, not a tender's",
                ));
            }
            let auth_code = match (scene.takes_auth_code(), body.auth_code) {
                (true, None) => {
                    return Err(FieldError {
                        message: format!("is required for scene {scene}"),
                        ..missing(&field("auth_code"))
                    });
                }
                (true, Some(c))
                    if !(6..=128).contains(&c.len())
                        || !c.bytes().all(|b| b.is_ascii_alphanumeric()) =>
                {
                    return Err(bad(&field("auth_code"), "must be 6-128 letters or digits"));
                }
                (false, Some(_)) => {
                    return Err(bad(
                        &field("auth_code"),
                        format!("is for scenes barcode and face, not {scene}"),
                    ));
                }
                (_, code) => code,
            };
            let wallet = match body.wallet {
                Some(w) if !super::wallet_name(&w) => {
                    return Err(bad(
                        &field("wallet"),
                        "must be a lower-case wallet name like `alipay`",
                    ));
                }
                Some(w) if w == "card" => {
                    return Err(bad(
                        &field("wallet"),
                        "cards are tenders of their own: `{\"type\": \"card\", …}`",
                    ));
                }
                other => other,
            };
            Ok(Tender::External {
                scene,
                auth_code,
                wallet,
                amount,
            })
        }
    }
}

/// What a coupon takes its discount off: the order's goods (each line's
/// quantity × unit price less its discount) when it lists them, else its
/// amount.
pub fn order_total_of(request: &super::PaymentRequest) -> i64 {
    if request.goods.is_empty() {
        return request.amount;
    }
    let total = request.goods.iter().fold(0i128, |sum, g| {
        sum + i128::from(g.quantity) * i128::from(g.unit_price) - i128::from(g.discount)
    });
    i64::try_from(total.max(0)).unwrap_or(i64::MAX)
}

/// A combined order's scene, as routing and the API see it: its external
/// tender's; without one, `barcode` when a code was presented at the till,
/// else `jsapi` (the member's cards in the merchant's app).
pub fn order_scene(tenders: &[Tender]) -> Scene {
    let at_till = tenders.iter().any(|t| match t {
        Tender::External { .. } => false,
        Tender::Card { auth_code, .. } => auth_code.is_some(),
        Tender::Coupon { code, .. } => code.bytes().all(|b| b.is_ascii_digit()),
    });
    match tenders.iter().find_map(|t| match t {
        Tender::External { scene, .. } => Some(*scene),
        _ => None,
    }) {
        Some(scene) => scene,
        None if at_till => Scene::Barcode,
        None => Scene::Jsapi,
    }
}

/// Ids and codes: 6-64 letters, digits and `_`.
fn token(v: &str) -> bool {
    (6..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Works out every tender's amount: coupons' as `discounts` gives them (by
/// tender index; a stated one must agree), the one tender without an
/// amount takes what remains; the whole must come to `total` exactly.
pub fn settle_amounts(
    tenders: &[Tender],
    total: i64,
    discounts: &[(usize, i64)],
) -> Result<Vec<i64>, FieldError> {
    let mut amounts = vec![0i64; tenders.len()];
    let mut open = None;
    for (i, tender) in tenders.iter().enumerate() {
        match (tender, tender.stated_amount()) {
            (Tender::Coupon { .. }, stated) => {
                let discount = discounts
                    .iter()
                    .find(|(at, _)| *at == i)
                    .map(|(_, d)| *d)
                    .ok_or_else(|| bad(&tender_field(i, "code"), "takes nothing off this order"))?;
                if let Some(stated) = stated
                    && stated != discount
                {
                    return Err(bad(
                        &tender_field(i, "amount"),
                        format!(
                            "is {stated}, but the coupon takes {discount} off this order: leave it out or state that"
                        ),
                    ));
                }
                amounts[i] = discount;
            }
            (_, Some(amount)) => amounts[i] = amount,
            (_, None) => open = Some(i),
        }
    }
    let stated: i64 = amounts.iter().sum();
    match open {
        Some(i) if stated >= total => Err(bad(
            &tender_field(i, "amount"),
            format!(
                "has nothing left to take: the other tenders come to {stated} of the order's {total}"
            ),
        )),
        Some(i) => {
            amounts[i] = total - stated;
            Ok(amounts)
        }
        None if stated != total => {
            let last = tenders.len() - 1;
            Err(bad(
                &tender_field(last, "amount"),
                format!(
                    "the tenders come to {stated}, and the order's amount is {total}: they must be equal"
                ),
            ))
        }
        None => Ok(amounts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cny() -> Currency {
        Currency::parse("CNY").unwrap()
    }

    fn coupon() -> TenderBody {
        TenderBody {
            kind: Some("coupon".into()),
            code: Some("cpn_0123456789".into()),
            ..Default::default()
        }
    }

    fn card(amount: Option<i64>) -> TenderBody {
        TenderBody {
            kind: Some("card".into()),
            card_id: Some("card_0123456789".into()),
            amount,
            ..Default::default()
        }
    }

    fn barcode(amount: Option<i64>) -> TenderBody {
        TenderBody {
            scene: Some("barcode".into()),
            auth_code: Some("134567890124".into()),
            amount,
            ..Default::default()
        }
    }

    fn field_of(bodies: Vec<TenderBody>) -> String {
        validate(bodies, &cny(), true).unwrap_err().field
    }

    #[test]
    fn coupon_card_and_wallet_validate() {
        let t = validate(
            vec![coupon(), card(Some(2_000)), barcode(None)],
            &cny(),
            true,
        )
        .unwrap();
        assert_eq!(t.len(), 3);
        assert!(t[0].is_closed_loop() && t[1].is_closed_loop() && !t[2].is_closed_loop());
        assert_eq!(
            settle_amounts(&t, 3_850, &[(0, 500)]).unwrap(),
            vec![500, 2_000, 1_350]
        );
    }

    #[test]
    fn each_problem_names_the_tender_and_its_field() {
        assert_eq!(field_of(vec![]), "tenders");
        assert_eq!(
            field_of(vec![barcode(None), barcode(Some(1))]),
            "tenders[1].scene"
        );
        assert_eq!(
            field_of(vec![card(None), barcode(None)]),
            "tenders[1].amount"
        );
        assert_eq!(
            field_of(vec![TenderBody {
                kind: Some("cash".into()),
                ..Default::default()
            }]),
            "tenders[0].type"
        );
        assert_eq!(
            field_of(vec![
                card(Some(1)),
                TenderBody {
                    currency: Some("USD".into()),
                    ..barcode(None)
                }
            ]),
            "tenders[1].currency"
        );
        assert_eq!(
            field_of(vec![card(Some(0)), barcode(None)]),
            "tenders[0].amount"
        );
        assert_eq!(
            field_of(vec![TenderBody {
                auth_code: None,
                ..barcode(None)
            }]),
            "tenders[0].auth_code"
        );
        assert_eq!(
            field_of(vec![TenderBody {
                scene: Some("checkout".into()),
                auth_code: None,
                ..barcode(None)
            }]),
            "tenders[0].scene"
        );
        assert_eq!(
            field_of(vec![TenderBody {
                wallet: Some("card".into()),
                ..barcode(None)
            }]),
            "tenders[0].wallet"
        );
        assert_eq!(
            field_of(vec![TenderBody {
                code: None,
                ..coupon()
            }]),
            "tenders[0].code"
        );
        assert_eq!(
            field_of(vec![card(Some(1)), card(None)]),
            "tenders[1].card_id"
        );
        assert_eq!(
            field_of(vec![TenderBody {
                auth_code: Some("8812".into()),
                card_id: None,
                ..card(None)
            }]),
            "tenders[0].auth_code"
        );
        let unnamed = validate(vec![card(Some(1)), barcode(None)], &cny(), false).unwrap_err();
        assert_eq!(unnamed.field, "tenders[0].card_id");
    }

    #[test]
    fn amounts_must_come_to_the_order() {
        let t = validate(vec![card(Some(2_000)), barcode(Some(1_000))], &cny(), true).unwrap();
        assert_eq!(settle_amounts(&t, 3_000, &[]).unwrap(), vec![2_000, 1_000]);
        assert_eq!(
            settle_amounts(&t, 3_001, &[]).unwrap_err().field,
            "tenders[1].amount"
        );
        let open = validate(vec![card(Some(3_000)), barcode(None)], &cny(), true).unwrap();
        assert_eq!(
            settle_amounts(&open, 3_000, &[]).unwrap_err().field,
            "tenders[1].amount",
            "nothing is left for the wallet"
        );
        let stated = validate(
            vec![
                TenderBody {
                    amount: Some(600),
                    ..coupon()
                },
                barcode(None),
            ],
            &cny(),
            true,
        )
        .unwrap();
        assert_eq!(
            settle_amounts(&stated, 3_000, &[(0, 500)])
                .unwrap_err()
                .field,
            "tenders[0].amount"
        );
    }
}
