//! The card a payment names: a member's dynamic payment code (barcode), or
//! a card id the member's own session chose (jsapi), which must be theirs.

use paycore_plugin_sdk::Host;
use paycore_plugin_sdk::types::{Card, ChannelError, PayRequest, Scene};

use crate::failure::{self, Asked};

/// A member's dynamic payment code: 18 digits starting with this prefix.
pub const CODE_PREFIX: &str = "88";
pub const CODE_LENGTH: usize = 18;

pub fn card(host: &dyn Host, request: &PayRequest) -> Result<Card, ChannelError> {
    match request.scene {
        Scene::Barcode => by_code(host, request),
        Scene::Jsapi => by_member(host, request),
        other => Err(failure::invalid(
            "unsupported_scene",
            format!("cards pay by barcode or jsapi, not {}", other.as_str()),
        )),
    }
}

fn by_code(host: &dyn Host, request: &PayRequest) -> Result<Card, ChannelError> {
    let code = request
        .auth_code
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            failure::invalid(
                "missing_auth_code",
                "a barcode payment needs the payment code",
            )
        })?;
    if !is_payment_code(code) {
        return Err(failure::invalid_auth_code("is not a member's payment code"));
    }
    host.ledger_card_by_code(code)
        .map_err(|e| failure::ledger(e, Asked::Code, false))
}

/// jsapi: `payer.buyer-id` is the card, `payer.open-id` the member whose
/// session chose it; a card that is not theirs is not found.
fn by_member(host: &dyn Host, request: &PayRequest) -> Result<Card, ChannelError> {
    let payer = request.payer.as_ref();
    let field = |value: Option<&String>, name: &str| {
        value.filter(|v| !v.is_empty()).cloned().ok_or_else(|| {
            failure::invalid(
                "missing_payer",
                format!("a jsapi card payment needs payer.{name}"),
            )
        })
    };
    let card_id = field(
        payer.and_then(|p| p.buyer_id.as_ref()),
        "buyer-id (the card)",
    )?;
    let member = field(
        payer.and_then(|p| p.open_id.as_ref()),
        "open-id (the member)",
    )?;
    let card = host
        .ledger_balance(&card_id)
        .map_err(|e| failure::ledger(e, Asked::Card, false))?;
    if card.holder.as_deref() != Some(member.as_str()) {
        return Err(failure::card_not_found());
    }
    Ok(card)
}

fn is_payment_code(code: &str) -> bool {
    code.len() == CODE_LENGTH
        && code.starts_with(CODE_PREFIX)
        && code.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payment_code_is_eighteen_digits_after_88() {
        assert!(is_payment_code("880000000000000001"));
        assert!(
            !is_payment_code("280000000000000001"),
            "another wallet's code"
        );
        assert!(!is_payment_code("88000000000000001"), "17 digits");
        assert!(!is_payment_code("88000000000000000a"));
        assert!(!is_payment_code("88０000000000000001"), "full-width digit");
    }
}
