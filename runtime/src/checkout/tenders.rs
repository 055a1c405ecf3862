//! The page's coupons and cards (docs/checkout.md): while the payer
//! chooses, what they applied (each with a button to take it back), their
//! own coupons and cards they could apply, a field for a coupon code or a
//! member's payment code, and what is left for a wallet; once paid, how the
//! order was paid. Every form carries what is applied as hidden fields
//! (`t`), worked out again by the server on every post.

use super::Locale;
use super::page::esc;
use crate::money::Currency;
use crate::payments::checkout_tenders::{Applied, Draft};
use crate::payments::view::TenderView;

/// The hidden fields carrying what is applied to the next post.
pub fn applied_inputs(draft: &Draft) -> String {
    draft
        .lines
        .iter()
        .map(|l| {
            format!(
                "<input type=\"hidden\" name=\"t\" value=\"{}\">",
                esc(&l.applied.to_field())
            )
        })
        .collect()
}

/// The paying form's fields: what is applied and what the page said is
/// left, so that paying goes ahead only on the figures the payer saw.
pub fn paying_inputs(draft: &Draft) -> String {
    format!(
        "{}<input type=\"hidden\" name=\"rest\" value=\"{}\">",
        applied_inputs(draft),
        draft.remaining
    )
}

/// A card or coupon as the payer can tell it apart: its kind and the last
/// characters of its id.
fn card_label(locale: Locale, kind: &str, card_id: &str) -> String {
    let tail: String = card_id
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{} ···{}", locale.card_kind_name(kind), tail)
}

/// One small form posting to the page with what is applied and a button.
fn button_form(token: &str, draft: &Draft, name: &str, value: &str, label: &str) -> String {
    format!(
        "<form method=\"post\" action=\"/pay/{}\" class=\"inline\">{}\
         <button type=\"submit\" name=\"{}\" value=\"{}\" class=\"small\">{}</button></form>",
        esc(token),
        applied_inputs(draft),
        esc(name),
        esc(value),
        esc(label)
    )
}

/// The section shown while the payer chooses.
pub fn draft_section(locale: Locale, currency: &Currency, token: &str, draft: &Draft) -> String {
    let t = locale.text();
    let money = |minor: i64| esc(&locale.format_amount(minor, currency));
    let mut html = format!(
        "<section class=\"tenders\" aria-labelledby=\"tenders-h\"><h2 id=\"tenders-h\">{}</h2>",
        esc(t.tenders)
    );
    if !draft.lines.is_empty() {
        html.push_str("<ul class=\"applied\">");
        for line in &draft.lines {
            let mut label = esc(&card_label(locale, line.kind.as_str(), &line.card_id));
            if let Some(after) = line.balance_after {
                label.push_str(&format!(
                    " <small class=\"muted\">{}</small>",
                    esc(&t
                        .balance_after
                        .replace("{amount}", &locale.format_amount(after, currency)))
                ));
            }
            html.push_str(&format!(
                "<li class=\"tender\" data-tender=\"{}\"><span>{label}</span><span class=\"off\">−{}</span>{}</li>",
                esc(line.kind.as_str()),
                money(line.amount),
                button_form(token, draft, "remove", &line.applied.to_field(), t.remove)
            ));
        }
        html.push_str("</ul>");
    }
    if !draft.offers.is_empty() {
        html.push_str(&format!(
            "<p class=\"muted\">{}</p><ul class=\"offers\">",
            esc(t.your_tenders)
        ));
        for offer in &draft.offers {
            let label = card_label(locale, offer.kind.as_str(), &offer.card_id);
            let value = match offer.applied {
                Applied::Coupon(_) => format!("−{}", money(offer.value)),
                _ => money(offer.value),
            };
            html.push_str(&format!(
                "<li class=\"tender\"><span>{}</span><span>{value}</span>{}</li>",
                esc(&label),
                button_form(token, draft, "use", &offer.applied.to_field(), t.use_it)
            ));
        }
        html.push_str("</ul>");
    }
    html.push_str(&format!(
        "<form method=\"post\" action=\"/pay/{}\" class=\"tender-code\">{}\
         <label for=\"tender-code\">{}</label>\
         <div class=\"row\"><input id=\"tender-code\" name=\"code\" autocomplete=\"off\" maxlength=\"64\" \
         autocapitalize=\"off\" spellcheck=\"false\">\
         <button type=\"submit\" name=\"apply\" value=\"1\" class=\"small\">{}</button></div></form>",
        esc(token),
        applied_inputs(draft),
        esc(t.tender_code),
        esc(t.apply)
    ));
    if !draft.lines.is_empty() {
        html.push_str(&format!(
            "<p class=\"rest\">{} <strong id=\"rest\">{}</strong></p>",
            esc(t.left_to_pay),
            money(draft.remaining)
        ));
    }
    html.push_str("</section>");
    html
}

/// How a combined order was paid, once the payer paid.
pub fn order_section(locale: Locale, currency: &Currency, tenders: &[TenderView]) -> String {
    let t = locale.text();
    let mut html = format!(
        "<section class=\"tenders\" aria-labelledby=\"tenders-h\"><h2 id=\"tenders-h\">{}</h2><ul class=\"applied\">",
        esc(t.paid_by)
    );
    for tender in tenders {
        let label = match (&tender.wallet, &tender.card_id) {
            (Some(wallet), _) => locale.wallet_name(wallet),
            (None, Some(card)) => card_label(locale, &tender.kind, card),
            (None, None) => locale.card_kind_name(&tender.kind).to_string(),
        };
        html.push_str(&format!(
            "<li class=\"tender\" data-tender=\"{}\" data-status=\"{}\"><span>{}</span><span>{}</span></li>",
            esc(&tender.kind),
            esc(&tender.status),
            esc(&label),
            esc(&locale.format_amount(tender.amount, currency))
        ));
    }
    html.push_str("</ul></section>");
    html
}
