//! Coupons and cards on the hosted page: the payer applies coupons and
//! card balance to a checkout payment, sees what is left, and pays that
//! with a wallet — or nothing more, when coupons and cards cover it all.
//!
//! Until the payer pays, what they applied is a draft the page's forms
//! carry (`Applied`): nothing is held or written, and every post works the
//! draft out again from the ledger, so a stale page never spends more than
//! a card holds now. Paying turns the checkout payment into a combined
//! order — one conditional UPDATE with its tenders, so two tabs cannot
//! both — which is then paid exactly as one the API made (`tenders`): the
//! same checks, holds, external payment for the rest, capture or release.

use super::checkout::{CheckoutPage, PayerContext, not_open};
use super::machine;
use super::tenders::{Plan, member_of, new_tender, order_facts};
use super::{Answering, CreateError, Created, PaymentError, Payments, Result, assignment};
use crate::domain::ProgramKind;
use crate::ledger::{OrderFacts, TenderError};
use crate::store::{PaymentRecord, StoreError, WalletChoice};
use paycore_core::request::Tender;
use paycore_core::request::tenders::{TenderBody, validate};

/// The most coupons and cards one page may apply.
pub const MAX_APPLIED: usize = 4;

/// A coupon or card the payer applied, as the page's forms carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// A coupon by its code (`cpn_…`) or the member's payment code for it.
    Coupon(String),
    /// One of the order's member's cards, by its id.
    Card(String),
    /// A card by the member's dynamic payment code (`88…`).
    CardCode(String),
}

impl Applied {
    /// The form value carrying it from one post to the next.
    pub fn to_field(&self) -> String {
        match self {
            Applied::Coupon(code) => format!("coupon:{code}"),
            Applied::Card(id) => format!("card:{id}"),
            Applied::CardCode(code) => format!("code:{code}"),
        }
    }

    /// A form value read back; anything else (a tampered form) is `None`.
    /// What it names is checked against the ledger on every post.
    pub fn from_field(value: &str) -> Option<Applied> {
        let (kind, name) = value.split_once(':')?;
        let plausible = (1..=64).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !plausible {
            return None;
        }
        Some(match kind {
            "coupon" => Applied::Coupon(name.into()),
            "card" => Applied::Card(name.into()),
            "code" => Applied::CardCode(name.into()),
            _ => return None,
        })
    }

    fn is_coupon(&self) -> bool {
        matches!(self, Applied::Coupon(_))
    }

    /// The tender the API would take for it.
    fn body(&self, amount: Option<i64>) -> TenderBody {
        match self {
            Applied::Coupon(code) => TenderBody {
                kind: Some("coupon".into()),
                code: Some(code.clone()),
                ..TenderBody::default()
            },
            Applied::Card(id) => TenderBody {
                kind: Some("card".into()),
                card_id: Some(id.clone()),
                amount,
                ..TenderBody::default()
            },
            Applied::CardCode(code) => TenderBody {
                kind: Some("card".into()),
                auth_code: Some(code.clone()),
                amount,
                ..TenderBody::default()
            },
        }
    }
}

/// A coupon or card of the draft that can pay, and what it pays.
#[derive(Debug, Clone)]
pub struct DraftLine {
    pub applied: Applied,
    pub kind: ProgramKind,
    /// The coupon's or card's id (a payment code names it too).
    pub card_id: String,
    /// Minor units: a coupon's discount, what a card pays.
    pub amount: i64,
    /// A card's balance once this order is paid.
    pub balance_after: Option<i64>,
}

/// One of the member's coupons or cards not applied yet that could pay.
#[derive(Debug, Clone)]
pub struct DraftOffer {
    pub applied: Applied,
    pub kind: ProgramKind,
    /// The card's id, to tell two cards apart.
    pub card_id: String,
    /// A coupon's discount on this order; a card's balance.
    pub value: i64,
}

/// What the payer applied, worked out against the ledger now.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    /// Coupons first, then cards, as each applies.
    pub lines: Vec<DraftLine>,
    /// Why something applied was left out (a used coupon, an empty card).
    pub refused: Vec<String>,
    /// What is left for a wallet.
    pub remaining: i64,
    /// The member's coupons and cards that could still be applied.
    pub offers: Vec<DraftOffer>,
}

impl Draft {
    pub fn applied(&self) -> Vec<Applied> {
        self.lines.iter().map(|l| l.applied.clone()).collect()
    }
}

/// How the payer pays what the page showed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Paying<'a> {
    /// The wallet for the rest; none when coupons and cards cover it all.
    pub wallet: Option<&'a str>,
    /// What the page said was left for the wallet: paying goes ahead only
    /// if that is still so (a card spent elsewhere meanwhile changes it).
    pub shown_rest: Option<i64>,
}

/// The most of a member's cards the page looks at for offers.
const MEMBER_CARDS: i64 = 20;

impl Payments {
    /// Whether the page should offer coupons and cards at all: the tenant
    /// runs a programme that can pay money orders.
    pub fn checkout_takes_tenders(&self, page: &CheckoutPage) -> bool {
        page.tenant.config.card_programs.iter().any(|p| {
            p.kind != ProgramKind::Punch
                && p.currency == page.payment.currency
                && page.tenant.channel(&p.channel).is_some()
        })
    }

    /// What the payer typed into the page's code field: a payment code is
    /// a card's or a coupon's (the ledger says which), a card's id
    /// (`card_…`) the member's own card, anything else a coupon's code.
    pub async fn typed_tender(&self, page: &CheckoutPage, typed: &str) -> Result<Option<Applied>> {
        let code: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
        if code.is_empty() {
            return Ok(None);
        }
        if code.starts_with("card_") {
            return Ok(Some(Applied::Card(code)));
        }
        if !crate::ledger::looks_like_card_code(&code) {
            return Ok(Some(Applied::Coupon(code)));
        }
        let coupon = self
            .ledger
            .code_names_coupon(&page.tenant.config.id, &code)
            .await?;
        Ok(Some(if coupon {
            Applied::Coupon(code)
        } else {
            Applied::CardCode(code)
        }))
    }

    /// The draft `applied` makes of this checkout payment now: each coupon
    /// and card checked as a create would check it, coupons' discounts and
    /// cards' shares (each card pays what it can of what is left), what is
    /// left for a wallet, and the member's other coupons and cards.
    pub async fn checkout_draft(&self, page: &CheckoutPage, applied: &[Applied]) -> Result<Draft> {
        let tenant = &page.tenant.config;
        let request = &page.request;
        let facts = order_facts(request);
        let mut draft = Draft {
            remaining: page.payment.amount,
            ..Draft::default()
        };
        let mut wanted: Vec<&Applied> = Vec::new();
        for a in applied {
            if !wanted.contains(&a) && wanted.len() < MAX_APPLIED {
                wanted.push(a);
            }
        }
        // Coupons first: their discounts are off the order, whatever the
        // cards pay; each card then pays what it can of the rest.
        wanted.sort_by_key(|a| !a.is_coupon());
        let mut coupon_programs = Vec::new();
        for a in wanted {
            let position = draft.lines.len();
            let checked = match self
                .ledger
                .check_tender(tenant, position, &tender_of(a), &facts)
                .await
            {
                Ok(checked) => checked,
                Err(TenderError::Field(f)) => {
                    draft.refused.push(f.message);
                    continue;
                }
                Err(TenderError::Store(e)) => return Err(e.into()),
            };
            let kind = checked.program.kind;
            let amount = if a.is_coupon() {
                let once = checked
                    .program
                    .coupon
                    .as_ref()
                    .is_some_and(|t| t.one_per_order);
                if once && coupon_programs.contains(&checked.program.id) {
                    draft
                        .refused
                        .push("only one coupon of this kind per order".into());
                    continue;
                }
                coupon_programs.push(checked.program.id.clone());
                let discount = checked.amount.unwrap_or(0);
                if discount > draft.remaining {
                    draft
                        .refused
                        .push("the coupon takes off more than is left to pay".into());
                    continue;
                }
                discount
            } else {
                let balance = checked.card.balance;
                let share = if checked.program.partial_use {
                    balance.min(draft.remaining)
                } else {
                    balance
                };
                if share == 0 {
                    draft.refused.push(if balance == 0 {
                        "the card is empty".into()
                    } else {
                        "nothing is left to pay".into()
                    });
                    continue;
                }
                if share > draft.remaining {
                    draft.refused.push(format!(
                        "a {kind} is used once, in full, and holds more than is left to pay"
                    ));
                    continue;
                }
                share
            };
            draft.remaining -= amount;
            draft.lines.push(DraftLine {
                applied: a.clone(),
                kind,
                card_id: checked.card.id.to_string(),
                amount,
                balance_after: (!a.is_coupon()).then(|| checked.card.balance - amount),
            });
        }
        draft.offers = self.member_offers(page, &facts, &draft).await?;
        Ok(draft)
    }

    /// The member's coupons and cards, not applied yet, that could pay
    /// something of this order now.
    async fn member_offers(
        &self,
        page: &CheckoutPage,
        facts: &OrderFacts<'_>,
        draft: &Draft,
    ) -> Result<Vec<DraftOffer>> {
        let tenant = &page.tenant.config;
        let Some(member) = facts.member else {
            return Ok(Vec::new());
        };
        let cards = self
            .store
            .cards_of_holder(&tenant.id, member, MEMBER_CARDS)
            .await?;
        let mut offers = Vec::new();
        for card in cards {
            let applied = match card.kind.parse::<ProgramKind>() {
                Ok(ProgramKind::Coupon) => Applied::Coupon(card.id.to_string()),
                Ok(ProgramKind::Punch) | Err(_) => continue,
                Ok(_) => Applied::Card(card.id.to_string()),
            };
            if draft.lines.iter().any(|l| l.applied == applied) {
                continue;
            }
            // Checked as if it came next: whatever would refuse it, it is
            // not offered.
            let Ok(checked) = self
                .ledger
                .check_tender(tenant, 0, &tender_of(&applied), facts)
                .await
            else {
                continue;
            };
            let value = match &applied {
                Applied::Coupon(_) => checked.amount.unwrap_or(0),
                _ => checked.card.balance,
            };
            if value > 0 {
                offers.push(DraftOffer {
                    applied,
                    kind: checked.program.kind,
                    card_id: card.id.to_string(),
                    value,
                });
            }
        }
        Ok(offers)
    }

    /// The payer pays: what they applied, and `wallet` for the rest. The
    /// checkout payment becomes a combined order and is paid as one; with
    /// nothing applied this is `choose_wallet`. A draft that changed since
    /// the page showed it (a coupon used elsewhere meanwhile) is refused,
    /// nothing written, so the payer sees the new figures before paying.
    #[tracing::instrument(skip_all, fields(tenant = %page.tenant.config.id, payment_id = %page.payment.id))]
    pub async fn pay_checkout(
        &self,
        page: &CheckoutPage,
        applied: &[Applied],
        pays: Paying<'_>,
        context: &PayerContext,
    ) -> Result<PaymentRecord> {
        let wallet = pays.wallet;
        if applied.is_empty() {
            return self
                .choose_wallet(page, wallet.unwrap_or(""), context)
                .await;
        }
        let record = &page.payment;
        if !record.awaiting_wallet() {
            return self.already_combined(record);
        }
        self.still_open(page)?;
        let draft = self.checkout_draft(page, applied).await?;
        if !draft.refused.is_empty() || draft.lines.len() != applied.len() {
            let message = match draft.refused.is_empty() {
                true => "some coupons or cards can no longer be applied".to_string(),
                false => draft.refused.join("; "),
            };
            return Err(PaymentError::Unacceptable {
                code: "tender_not_usable",
                message,
                field: None,
            });
        }
        if pays.shown_rest != Some(draft.remaining) {
            return Err(PaymentError::Conflict {
                code: "tenders_changed",
                message: "what the coupons and cards cover changed since the page was shown: check the amounts and pay again".into(),
            });
        }
        let tenant = &page.tenant;
        let rest = draft.remaining;
        let external = if rest > 0 {
            let wallet = wallet.unwrap_or("");
            let mut rest_request = page.request.clone();
            rest_request.amount = rest;
            let (scene, route) = self
                .offered_route(page, &rest_request, wallet, context)
                .ok_or_else(|| PaymentError::Unacceptable {
                    code: "wallet_not_offered",
                    message: match wallet {
                        "" => "choose a wallet to pay the rest".to_string(),
                        _ => format!("`{wallet}` cannot pay the rest of this payment"),
                    },
                    field: Some("wallet".into()),
                })?;
            Some((scene, wallet.to_string(), route))
        } else {
            None
        };
        // The order as the API would have taken it, checked the same way.
        let mut bodies: Vec<TenderBody> = draft
            .lines
            .iter()
            .map(|l| l.applied.body((!l.applied.is_coupon()).then_some(l.amount)))
            .collect();
        if let Some((scene, wallet, _)) = &external {
            bodies.push(TenderBody {
                scene: Some(scene.to_string()),
                wallet: Some(wallet.clone()),
                ..TenderBody::default()
            });
        }
        let mut request = page.request.clone();
        request.tenders = validate(bodies, &request.currency, member_of(&request).is_some())?;
        request.expires_in = Some(u32::try_from(self.seconds_left(&page.link)).unwrap_or(u32::MAX));
        let planned = self.plan_tenders(tenant, &request).await?;
        let choice = external.as_ref().map(|(scene, _, route)| WalletChoice {
            channel: assignment(&route.candidates[0]),
            scene: *scene,
        });
        let plan = Plan {
            tenders: planned,
            external: external.map(|(_, _, route)| (route, rest)),
        };
        let tenders: Vec<_> = plan.tenders.iter().map(new_tender).collect();
        let combined = match machine::choose_tenders(record, choice.as_ref(), tenders.len(), rest) {
            Some(decided) => {
                self.store
                    .combine_checkout(record, choice.as_ref(), rest, &tenders, &decided)
                    .await
            }
            None => Err(StoreError::Stale),
        };
        let combined = match combined {
            Ok(r) => r,
            // Paid or closed meanwhile (a second tab, the sweeper).
            Err(StoreError::Stale) => {
                let now = self.load(&tenant.config.id, &record.id).await?;
                return self.already_combined(&now);
            }
            Err(e) => return Err(e.into()),
        };
        tracing::info!(tenders = tenders.len(), rest, "checkout payment combined");
        match self
            .pay_order(tenant, combined, &request, &plan, Answering::HostedPage)
            .await
        {
            Ok(Created { .. }) => {}
            // The order stands as its tenders and channel left it (a
            // refused hold failed it; `unknown` is settled by the sweeper):
            // the page shows where it is.
            Err(PaymentError::Create { error, .. }) => {
                if let CreateError::ChannelRejectedRequest { message } = &error {
                    tracing::info!(%message, "a combined checkout order was refused");
                }
            }
            Err(e) => return Err(e),
        }
        self.load(&tenant.config.id, &record.id).await
    }

    /// Paying again a payment already paid by the page (a double click, a
    /// second tab) shows it as it is; one sent to a wallet alone, or
    /// closed, is not paid again.
    fn already_combined(&self, record: &PaymentRecord) -> Result<PaymentRecord> {
        if record.is_combined() {
            return Ok(record.clone());
        }
        if record.awaiting_wallet() {
            return Err(not_open(record));
        }
        Err(PaymentError::Conflict {
            code: "wallet_already_chosen",
            message: format!(
                "this payment was already sent to `{}`; coupons and cards can no longer be applied",
                record.wallet
            ),
        })
    }
}

/// The tender `applied` stands for, to check: a card's amount is worked
/// out from its balance, so none is stated.
fn tender_of(applied: &Applied) -> Tender {
    match applied {
        Applied::Coupon(code) => Tender::Coupon {
            code: code.clone(),
            amount: None,
        },
        Applied::Card(id) => Tender::Card {
            auth_code: None,
            card_id: Some(id.clone()),
            amount: None,
        },
        Applied::CardCode(code) => Tender::Card {
            auth_code: Some(code.clone()),
            card_id: None,
            amount: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applied_tenders_round_trip_through_the_form_and_tampering_is_dropped() {
        for a in [
            Applied::Coupon("cpn_abc123".into()),
            Applied::Card("card_x1".into()),
            Applied::CardCode("881234567890123456".into()),
        ] {
            assert_eq!(Applied::from_field(&a.to_field()), Some(a));
        }
        for bad in [
            "",
            "coupon",
            "coupon:",
            "wallet:sandbox",
            "card:../etc",
            "card:a b",
            &format!("coupon:{}", "x".repeat(65)),
        ] {
            assert_eq!(Applied::from_field(bad), None, "{bad:?}");
        }
    }
}
