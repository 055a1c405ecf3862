//! What a card programme's plugin may do to the ledger during one call:
//! the `paycore:channel/ledger` import, scoped to the calling channel's
//! tenant, the programmes the tenant runs on that channel, and the payment
//! or refund being called (see the interface's documentation in the WIT).
//! Every refusal moves nothing.
//!
//! A coupon is used once, which the session keeps whatever the plugin
//! does: it is held for one payment at a time; the capture of its hold
//! retires what the discount did not take and closes it, in the capture's
//! transaction; only a credit of the whole discount (a full refund, a
//! cancel) gives it back, restoring what was retired and reopening it (or,
//! past its validity, retiring what came back too), again in one
//! transaction.

use super::codes::code_hash;
use super::program::ProgramUnits;
use super::seen::Seen;
use super::{Ledger, Program};
use crate::clock::TimeZone;
use crate::domain::ProgramKind;
use crate::domain::{PaymentId, RefundId, TenantId};
use crate::money::Currency;
use crate::store::{CardRecord, CodeUse, HoldRecord, MoveRefusal, StatusChange, StoreError};
use paycore_core::ledger::{Bucket, CardId, CardStatus, HoldId, HoldStatus, Move};
use std::sync::Arc;

/// The operation a plugin is being called for, which bounds what it may move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// `pay`: holds for this payment, in all at most its amount.
    Pay {
        payment: PaymentId,
        amount: i64,
        currency: Currency,
    },
    /// `tender.hold`: holds for one tender of a combined order, the
    /// order's holds in all at most `cap` (its coupon and card tenders so
    /// far); nothing is captured — the host does that once the order is
    /// final.
    Tender {
        payment: PaymentId,
        cap: i64,
        currency: Currency,
    },
    /// `query`, `close`: this payment's holds, captured or released.
    Payment { payment: PaymentId },
    /// `cancel`: this payment's holds released, or captured value given
    /// back in full.
    Cancel { payment: PaymentId },
    /// `refund`, `query-refund`: captured value back to the cards, in all
    /// at most the refund's amount.
    Refund {
        payment: PaymentId,
        payment_amount: i64,
        refund: RefundId,
        amount: i64,
    },
    /// Anything else (`handle-callback`): reads only.
    ReadOnly,
}

impl Scope {
    fn payment(&self) -> Option<&PaymentId> {
        match self {
            Scope::Pay { payment, .. }
            | Scope::Tender { payment, .. }
            | Scope::Payment { payment }
            | Scope::Cancel { payment }
            | Scope::Refund { payment, .. } => Some(payment),
            Scope::ReadOnly => None,
        }
    }
}

/// A refusal, in the contract's terms (`ledger-error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerError {
    NotFound,
    CodeExpired,
    CodeUsed,
    NotActive(CardStatus),
    Insufficient(i64),
    NotAllowed(String),
    Unavailable(String),
}

impl From<StoreError> for LedgerError {
    fn from(e: StoreError) -> Self {
        tracing::warn!(error = %e, "a plugin's ledger call failed on the database");
        LedgerError::Unavailable("the ledger could not be reached".into())
    }
}

/// A card as a plugin sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardView {
    pub id: CardId,
    pub program: Program,
    pub status: CardStatus,
    pub holder: Option<String>,
    pub balance: i64,
    pub held: i64,
    pub expires_ms: Option<i64>,
    /// Whether now is within the coupon's days and hours, in the tenant's
    /// time zone; true for a coupon without them and for any other card.
    pub in_window: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardHoldView {
    pub id: HoldId,
    pub card: CardId,
    pub amount: i64,
    pub status: HoldStatus,
    pub credited: i64,
}

impl From<&HoldRecord> for CardHoldView {
    fn from(h: &HoldRecord) -> Self {
        CardHoldView {
            id: h.id.clone(),
            card: h.card_id.clone(),
            amount: h.amount,
            status: h.status,
            credited: h.refunded,
        }
    }
}

/// One plugin call's access to the ledger.
pub struct Session {
    ledger: Ledger,
    tenant: TenantId,
    programs: Arc<[Program]>,
    /// The tenant's, in which a coupon's days and hours are read.
    timezone: TimeZone,
    scope: Scope,
    /// A write was attempted: if the call fails now, value may have moved.
    pub wrote: bool,
    /// What this call read or wrote already.
    seen: Seen,
}

impl Session {
    pub fn new(
        ledger: Ledger,
        tenant: TenantId,
        programs: Arc<[Program]>,
        timezone: TimeZone,
        scope: Scope,
    ) -> Self {
        Session {
            ledger,
            tenant,
            programs,
            timezone,
            scope,
            wrote: false,
            seen: Seen::default(),
        }
    }

    /// The host acting on `tenant`'s ledger itself (spending or giving back
    /// a combined order's holds, crediting its refunds, settling a stranded
    /// hold), through the same rules a plugin's calls go through.
    pub fn for_host(ledger: Ledger, tenant: &crate::config::TenantConfig, scope: Scope) -> Self {
        Session::new(
            ledger,
            tenant.id.clone(),
            tenant.card_programs.clone().into(),
            tenant.timezone.clone(),
            scope,
        )
    }

    /// The card a payment code names, binding the code to the payment.
    pub async fn card_by_code(&mut self, code: &str) -> Result<CardView, LedgerError> {
        let (Scope::Pay { payment, .. } | Scope::Tender { payment, .. }) = &self.scope else {
            return Err(not_allowed("a payment code is presented only while paying"));
        };
        let payment = payment.clone();
        self.wrote = true;
        let hash = code_hash(&self.tenant, code);
        match self
            .ledger
            .store
            .use_payment_code(&self.tenant, &hash, &payment)
            .await?
        {
            CodeUse::Card(card) => self.card_with_holds(&card).await,
            CodeUse::Unknown => Err(LedgerError::NotFound),
            CodeUse::Expired => Err(LedgerError::CodeExpired),
            CodeUse::Used => Err(LedgerError::CodeUsed),
        }
    }

    /// One of the tenant's cards in this channel's programmes. A call
    /// about a payment reads the payment's holds with it (the next thing a
    /// card plugin asks), unless it knows them already.
    pub async fn balance(&mut self, card: &str) -> Result<CardView, LedgerError> {
        self.card_with_holds(&CardId::from(card)).await
    }

    /// A card as it is now; with the payment's holds when the call is about
    /// a payment whose holds it does not know yet.
    async fn card_with_holds(&mut self, card: &CardId) -> Result<CardView, LedgerError> {
        let Some(payment) = self
            .scope
            .payment()
            .filter(|p| self.seen.holds(p).is_none())
            .cloned()
        else {
            return self.card(card).await;
        };
        let (record, holds) = self
            .ledger
            .store
            .card_and_payment_holds(&self.tenant, card, &payment)
            .await?;
        self.seen.read_holds(&payment, &holds);
        self.card_view(record)
    }

    /// A card as it is now.
    async fn card(&mut self, card: &CardId) -> Result<CardView, LedgerError> {
        let record = self.ledger.store.card(&self.tenant, card).await?;
        self.card_view(record)
    }

    /// A card as read, in one of this channel's programmes, remembered.
    fn card_view(&mut self, record: Option<CardRecord>) -> Result<CardView, LedgerError> {
        let (record, program) = record
            .and_then(|r| self.program_of(&r).map(|p| (r, p)))
            .ok_or(LedgerError::NotFound)?;
        let in_window = self.in_window(&program);
        let card = view(record, program, in_window);
        self.seen.read_card(&card);
        Ok(card)
    }

    /// A card for its id and programme only (not its balances): as this
    /// call read it already, else read now.
    async fn card_facts(&mut self, card: &CardId) -> Result<CardView, LedgerError> {
        match self.seen.card(card) {
            Some(known) => Ok(known.clone()),
            None => self.card(card).await,
        }
    }

    fn program_of(&self, card: &CardRecord) -> Option<Program> {
        self.programs
            .iter()
            .find(|p| p.id == card.program_id.as_str())
            .cloned()
    }

    /// Whether now, in the tenant's time zone, is within the coupon's days
    /// and hours (read as the routing rules' windows are).
    fn in_window(&self, program: &Program) -> bool {
        coupon_closed_now(&self.ledger, &self.timezone, program).is_none()
    }

    /// Reserves value on a card for the payment being paid.
    pub async fn hold(&mut self, card: &str, amount: i64) -> Result<CardHoldView, LedgerError> {
        // A payment's holds come to at most its amount (in the card's
        // units); a combined order's, to its coupon and card tenders.
        let (payment, currency, limit_of) = match self.scope.clone() {
            Scope::Pay {
                payment,
                amount,
                currency,
            } => (payment, currency, amount),
            Scope::Tender {
                payment,
                cap,
                currency,
            } => (payment, currency, cap),
            _ => return Err(not_allowed("value is held only while paying")),
        };
        if amount <= 0 {
            return Err(not_allowed("a hold's amount must be above zero"));
        }
        let card = self.card_facts(&CardId::from(card)).await?;
        if card.program.currency != currency {
            return Err(not_allowed(&format!(
                "the card's programme pays in {}, the payment is in {currency}",
                card.program.currency
            )));
        }
        let limit = card.program.units_for(limit_of);
        let held_elsewhere: i64 = self
            .payment_holds(&payment)
            .await?
            .iter()
            .filter(|h| h.card_id != card.id && h.status != HoldStatus::Released)
            .filter(|_| card.program.service().is_none())
            .map(|h| h.amount)
            .sum();
        if amount + held_elsewhere > limit {
            return Err(not_allowed(&format!(
                "holds of {} would exceed what the payment may take ({limit})",
                amount + held_elsewhere
            )));
        }
        self.wrote = true;
        // A coupon pays for one payment at a time.
        let plan = if is_coupon(&card.program) {
            Move::coupon_hold
        } else {
            Move::hold
        };
        let hold = HoldId::generate();
        let planned =
            plan(&card.id, &hold, &payment, amount).map_err(|e| not_allowed(&e.to_string()))?;
        if !self.apply(&planned).await? {
            return self.read_back(&payment, &card.id).await;
        }
        let at = self.ledger.store.clock();
        let made = HoldRecord {
            id: hold,
            tenant_id: self.tenant.clone(),
            card_id: card.id,
            payment_id: payment,
            unit: card.program.ledger_unit(),
            amount,
            status: HoldStatus::Held,
            refunded: 0,
            created_at: at.now_rfc3339(),
            updated_at: at.now_rfc3339(),
            created_ms: at.now_millis(),
        };
        let view = CardHoldView::from(&made);
        self.seen.opened(made);
        Ok(view)
    }

    /// Spends a held hold of the payment being called. A coupon is used
    /// once: in the same transaction, what it holds beyond the discount
    /// goes back to the promotion, and it is closed.
    pub async fn capture(&mut self, hold: &str) -> Result<CardHoldView, LedgerError> {
        let (hold, card) = self.own_hold(hold, Freshness::Seen).await?;
        // A tender's hold is the host's to capture, once the whole order
        // succeeded.
        if !matches!(self.scope, Scope::Pay { .. } | Scope::Payment { .. }) {
            return Err(not_allowed(
                "a hold is captured only while paying or querying",
            ));
        }
        if hold.status == HoldStatus::Captured {
            return Ok(CardHoldView::from(&hold));
        }
        self.wrote = true;
        let planned = Move::capture(&hold.card_id, &hold.id, hold.amount)
            .map_err(|e| not_allowed(&e.to_string()))?;
        if is_coupon(&card.program) {
            // What it has left is retired: its balance as it is now.
            let card = self.card(&card.id).await?;
            let mut moves = vec![planned];
            // Nothing else is held on a coupon: what is available is the rest.
            if card.balance > 0 {
                moves.push(
                    Move::retire(&card.id, &hold.id, card.balance)
                        .map_err(|e| not_allowed(&e.to_string()))?,
                );
            }
            let close = StatusChange {
                from: None,
                to: CardStatus::Closed,
            };
            self.apply_all(&card.id, &moves, Some(close)).await?;
        } else if self.apply(&planned).await? {
            self.seen.settled(&hold.id, HoldStatus::Captured);
            return Ok(CardHoldView {
                status: HoldStatus::Captured,
                ..CardHoldView::from(&hold)
            });
        }
        self.read_back(&hold.payment_id, &hold.card_id).await
    }

    /// Gives a held hold of the payment being called back to its card.
    pub async fn release(&mut self, hold: &str) -> Result<CardHoldView, LedgerError> {
        let (hold, _) = self.own_hold(hold, Freshness::Seen).await?;
        if matches!(self.scope, Scope::Refund { .. } | Scope::ReadOnly) {
            return Err(not_allowed("a hold is released only for its payment"));
        }
        if hold.status == HoldStatus::Released {
            return Ok(CardHoldView::from(&hold));
        }
        self.wrote = true;
        let planned = Move::release(&hold.card_id, &hold.id, hold.amount)
            .map_err(|e| not_allowed(&e.to_string()))?;
        if !self.apply(&planned).await? {
            return self.read_back(&hold.payment_id, &hold.card_id).await;
        }
        self.seen.settled(&hold.id, HoldStatus::Released);
        Ok(CardHoldView {
            status: HoldStatus::Released,
            ..CardHoldView::from(&hold)
        })
    }

    /// Gives captured value back to its card, for the refund or cancel
    /// being called. The same credit again (a `query-refund`, a repeated
    /// cancel) is the move already made: it answers the hold as it is.
    pub async fn credit(&mut self, hold: &str, amount: i64) -> Result<CardHoldView, LedgerError> {
        // A coupon's validity decides what comes back: its card as it is now.
        let (hold, card) = self.own_hold(hold, Freshness::Now).await?;
        if amount <= 0 {
            return Err(not_allowed("a credit's amount must be above zero"));
        }
        let refund = match &self.scope {
            Scope::Refund { refund, .. } => refund.clone(),
            Scope::Cancel { payment } => RefundId::from(format!("cancel-{payment}").as_str()),
            _ => {
                return Err(not_allowed(
                    "value is credited back only for a refund or a cancel",
                ));
            }
        };
        let planned = Move::refund(&hold.card_id, &hold.id, &refund, amount)
            .map_err(|e| not_allowed(&e.to_string()))?;
        if let Some((fingerprint, _)) = self
            .ledger
            .store
            .recorded_move(&self.tenant, &planned.key)
            .await?
        {
            if fingerprint != planned.fingerprint() {
                return Err(refused(MoveRefusal::KeyReused));
            }
            return Ok(CardHoldView::from(&hold));
        }
        let coupon = is_coupon(&card.program);
        match &self.scope {
            Scope::Refund {
                payment_amount,
                amount: refund_amount,
                ..
            } => {
                let is_service = card.program.service().is_some();
                // Uses are not money, and a coupon is used whole: they come
                // back only with the whole payment.
                if is_service && refund_amount != payment_amount {
                    return Err(not_allowed("uses come back only on a full refund"));
                }
                if coupon && refund_amount != payment_amount {
                    return Err(not_allowed("a coupon comes back only on a full refund"));
                }
                let bound = if is_service {
                    hold.amount
                } else {
                    *refund_amount
                };
                let credited = self.credited_for(&refund, is_service).await?;
                if credited + amount > bound {
                    return Err(not_allowed(&format!(
                        "credits of {} would exceed the refund's {bound}",
                        credited + amount
                    )));
                }
            }
            Scope::Cancel { .. } => {
                if amount != hold.amount - hold.refunded {
                    return Err(not_allowed("a cancel gives captured value back in full"));
                }
            }
            _ => unreachable!("the refund's id was read from the scope"),
        }
        if coupon && amount != hold.amount - hold.refunded {
            return Err(not_allowed("a coupon's discount comes back whole"));
        }
        self.wrote = true;
        if coupon {
            let (moves, reopen) = self.coupon_back(&card, &hold, &refund, planned).await?;
            self.apply_all(&card.id, &moves, reopen).await?;
        } else {
            self.apply(&planned).await?;
        }
        self.read_back(&hold.payment_id, &hold.card_id).await
    }

    /// What gives a used coupon back with the credit of its discount:
    /// within its validity, what its capture retired comes back from the
    /// promotion and it is reopened; past it, the discount goes back to
    /// the promotion too and it stays closed, holding nothing.
    async fn coupon_back(
        &self,
        card: &CardView,
        hold: &HoldRecord,
        refund: &RefundId,
        credit: Move,
    ) -> Result<(Vec<Move>, Option<StatusChange>), LedgerError> {
        let plan_error = |e: paycore_core::ledger::PlanError| not_allowed(&e.to_string());
        let now_ms = self.ledger.store.clock().now_millis();
        let mut moves = vec![credit];
        if card.expires_ms.is_some_and(|end| end <= now_ms) {
            moves.push(
                Move::retire_refunded(&card.id, &hold.id, refund, hold.amount)
                    .map_err(plan_error)?,
            );
            return Ok((moves, None));
        }
        let retired = self
            .ledger
            .store
            .recorded_move(&self.tenant, &Move::retire_key(&hold.id))
            .await?
            .map_or(0, |(_, amount)| amount);
        if retired > 0 {
            moves.push(Move::restore(&card.id, &hold.id, refund, retired).map_err(plan_error)?);
        }
        let reopen = StatusChange {
            from: Some(CardStatus::Closed),
            to: CardStatus::Active,
        };
        Ok((moves, Some(reopen)))
    }

    /// The holds of the payment being called, oldest first.
    pub async fn holds(&mut self) -> Result<Vec<CardHoldView>, LedgerError> {
        let Some(payment) = self.scope.payment().cloned() else {
            return Ok(Vec::new());
        };
        Ok(self
            .payment_holds(&payment)
            .await?
            .iter()
            .map(CardHoldView::from)
            .collect())
    }

    /// The payment's holds: as this call knows them, else read now.
    async fn payment_holds(&mut self, payment: &PaymentId) -> Result<Vec<HoldRecord>, LedgerError> {
        if let Some(known) = self.seen.holds(payment) {
            return Ok(known.to_vec());
        }
        let holds = self
            .ledger
            .store
            .holds_for_payment(&self.tenant, payment)
            .await?;
        self.seen.read_holds(payment, &holds);
        Ok(holds)
    }

    /// The payment's hold on `card` as stored, after a move this call did
    /// not make alone (an earlier call's, or several at once).
    async fn read_back(
        &mut self,
        payment: &PaymentId,
        card: &CardId,
    ) -> Result<CardHoldView, LedgerError> {
        self.seen.forget_holds();
        self.payment_holds(payment)
            .await?
            .iter()
            .find(|h| h.card_id == *card)
            .map(CardHoldView::from)
            .ok_or(LedgerError::NotFound)
    }

    /// A hold of the payment in scope, on a card of this channel's
    /// programmes, and that card: as it is `Now`, or as this call has
    /// `Seen` it (for its programme only).
    async fn own_hold(
        &mut self,
        hold: &str,
        card: Freshness,
    ) -> Result<(HoldRecord, CardView), LedgerError> {
        let Some(payment) = self.scope.payment().cloned() else {
            return Err(not_allowed("no payment is being called"));
        };
        let hold = self
            .payment_holds(&payment)
            .await?
            .into_iter()
            .find(|h| h.id == hold)
            .ok_or(LedgerError::NotFound)?;
        let card = match card {
            Freshness::Now => self.card(&hold.card_id).await?,
            Freshness::Seen => self.card_facts(&hold.card_id).await?,
        };
        Ok((hold, card))
    }

    /// What this refund has credited so far: money, or uses.
    async fn credited_for(&self, refund: &RefundId, uses: bool) -> Result<i64, LedgerError> {
        let credits = self
            .ledger
            .store
            .credits_of_refund(&self.tenant, refund)
            .await?;
        Ok(credits
            .iter()
            .filter(|(unit, _)| unit.contains('@') == uses)
            .map(|(_, amount)| amount)
            .sum())
    }

    /// Applies one move; whether it was applied now (false: an earlier
    /// call with its key did, and what it did is read back). A move
    /// applied now is answered from the move itself, without reading back:
    /// a card payment's hot path.
    async fn apply(&mut self, planned: &Move) -> Result<bool, LedgerError> {
        match self.ledger.store.apply_move(&self.tenant, planned).await {
            Ok(Ok(applied)) => Ok(applied.now),
            Ok(Err(refusal)) => {
                self.seen.forget_holds();
                Err(refused(refusal))
            }
            Err(e) => {
                self.seen.forget_holds();
                Err(e.into())
            }
        }
    }

    /// Several moves on `card` and its status change: all in one
    /// transaction, or none.
    async fn apply_all(
        &mut self,
        card: &CardId,
        moves: &[Move],
        status: Option<StatusChange>,
    ) -> Result<(), LedgerError> {
        // Whatever comes of it, the holds are read anew afterwards.
        self.seen.forget_holds();
        match self
            .ledger
            .store
            .apply_moves(&self.tenant, card, moves, status)
            .await?
        {
            Ok(_) => Ok(()),
            Err(refusal) => Err(refused(refusal)),
        }
    }
}

/// How current a card must be: read now, or as this call has seen it.
#[derive(Debug, Clone, Copy)]
enum Freshness {
    Now,
    Seen,
}

fn is_coupon(program: &Program) -> bool {
    program.kind == ProgramKind::Coupon
}

fn not_allowed(why: &str) -> LedgerError {
    LedgerError::NotAllowed(why.to_string())
}

fn refused(refusal: MoveRefusal) -> LedgerError {
    match refusal {
        MoveRefusal::CardNotFound | MoveRefusal::HoldNotFound => LedgerError::NotFound,
        MoveRefusal::NotActive(status) => LedgerError::NotActive(status),
        MoveRefusal::Insufficient {
            bucket: Bucket::Available,
            available,
        } => LedgerError::Insufficient(available),
        MoveRefusal::Insufficient { bucket, available } => LedgerError::NotAllowed(format!(
            "the card's {} balance holds {available}",
            bucket.column()
        )),
        MoveRefusal::OverCap { cap, would_hold } => LedgerError::NotAllowed(format!(
            "the card would hold {would_hold}, above its programme's cap of {cap}"
        )),
        MoveRefusal::HoldNotOpen(status) => {
            LedgerError::NotAllowed(format!("the hold is {status}"))
        }
        MoveRefusal::OverCaptured { remaining } => {
            LedgerError::NotAllowed(format!("the hold has {remaining} left to give back"))
        }
        MoveRefusal::KeyReused => {
            LedgerError::NotAllowed("this operation was already made with other amounts".into())
        }
        MoveRefusal::HeldElsewhere { held } => LedgerError::NotAllowed(format!(
            "the coupon is being used by another payment ({held} held)"
        )),
    }
}

fn view(record: CardRecord, program: Program, in_window: bool) -> CardView {
    CardView {
        id: record.id,
        program,
        status: record.status,
        holder: record.holder,
        balance: record.balance,
        held: record.held,
        expires_ms: record.expires_ms,
        in_window,
    }
}

/// Why `program`'s coupon cannot be used now, in the tenant's time zone
/// `tz` (outside its days and hours); `None` when it can, and for any
/// other programme or a coupon without them.
pub(super) fn coupon_closed_now(
    ledger: &Ledger,
    tz: &TimeZone,
    program: &Program,
) -> Option<String> {
    let window = program.coupon.as_ref().and_then(|c| c.window.as_ref())?;
    let local = ledger.store.clock().now().to_zoned_datetime(tz.clone());
    window.check(local.datetime()).err()
}
