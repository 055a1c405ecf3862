//! Creating a combined order (组合支付): coupons, cards and at most one
//! external wallet payment paying one order together, all or nothing.
//!
//! 1. **Plan**, before anything is written: every coupon and card is read
//!    and checked (`ledger::check_tender`), amounts are worked out (a
//!    coupon's discount, the one tender that takes what remains), the
//!    external tender is routed for its own part. Any problem is a 422
//!    naming the tender, and nothing is held.
//! 2. **Insert** the order (one payment row at the full amount, its channel
//!    the external tender's, asked for `channel_amount`) with its tenders,
//!    in one transaction — idempotent on the order number as any payment.
//! 3. **Hold** each coupon and card in order, through its programme's
//!    plugin (`tender.hold`, contract 1.1), the ledger scoped to the order.
//!    A refusal fails the order, naming the tender; nothing else is sent.
//! 4. **Pay** the external tender like any payment (fallback, attempts,
//!    unknown outcomes, query and sweeper all as before); with none, the
//!    order succeeds once everything is held.
//! 5. Once the order is final its holds are **captured** (it succeeded) or
//!    **released** (it did not): `after_order_change`, on every path that
//!    settles a payment, and the sweeper's stranded holds after a crash.
//!
//! The order's status from its tenders' is `machine::tenders`'.

use super::attempts::{attempt_history, attempt_outcome};
use super::failed_call::FailedCall;
use super::machine::tenders::{self as rules, ClosedLoop, HoldFate};
use super::machine::{Answer, Cause, Proposal};
use super::view::PaymentView;
use super::{
    Answering, CreateError, Created, PaymentError, Payments, Result, assignment, inserted,
    new_payment, replay, serve_order,
};
use crate::domain::{PaymentStatus, Scene};
use crate::ledger::{CheckedTender, OrderFacts, TenderError};
use crate::plugin_host::{CallError, CallErrorKind, TenderHold};
use crate::registry::{BoundChannel, Tenant};
use crate::routing::{self, Intent};
use crate::store::{NewPayment, NewTender, PaymentRecord, TenderMark, TenderRecord};
use paycore_core::channel;
use paycore_core::request::tenders::{order_total_of, settle_amounts};
use paycore_core::request::{PaymentRequest, Tender};
use std::sync::Arc;

/// How a combined order would be paid (`POST /v1/routing/explain`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct CombinedExplanation {
    pub tenders: Vec<TenderExplanation>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TenderExplanation {
    pub position: usize,
    /// `coupon`, `card` or `external`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// What it would pay: a coupon's discount, the remainder worked out.
    pub amount: i64,
    /// A coupon's or card's: its programme's channel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The external tender's: routing explained for its part, as for a
    /// single payment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing: Option<routing::Explanation>,
}

/// A tender as planned: what it pays and who serves it.
pub(super) struct Planned {
    pub tender: Tender,
    pub amount: i64,
    /// Coupons and cards: the programme's channel, and the card as read.
    pub closed_loop: Option<(Arc<BoundChannel>, CheckedTender)>,
}

/// The whole order as planned.
pub(super) struct Plan {
    pub tenders: Vec<Planned>,
    /// The external tender's route and amount.
    pub external: Option<(routing::Route, i64)>,
}

impl Payments {
    /// `create` for a body with `tenders`. Whatever it answers — a new
    /// order, a replay, the error its create answered with — shows each
    /// tender as it now stands.
    pub(super) async fn create_combined(
        &self,
        tenant: &Tenant,
        request: PaymentRequest,
        hash: String,
        idempotency_key: Option<String>,
    ) -> Result<Created> {
        match self
            .create_order(tenant, request, hash, idempotency_key)
            .await
        {
            Ok(mut created) => {
                created.payment = self.with_tenders(tenant, created.payment).await?;
                Ok(created)
            }
            Err(PaymentError::Create {
                error,
                payment,
                replayed,
            }) => Err(PaymentError::Create {
                error,
                payment: Box::new(self.with_tenders(tenant, *payment).await?),
                replayed,
            }),
            Err(e) => Err(e),
        }
    }

    async fn create_order(
        &self,
        tenant: &Tenant,
        request: PaymentRequest,
        hash: String,
        idempotency_key: Option<String>,
    ) -> Result<Created> {
        let tenant_id = &tenant.config.id;
        // A replay answers as the first create did, whatever the ledger
        // says now (its coupon is used: by this very order).
        if let Some(existing) = self
            .store
            .payment_by_order_no(tenant_id, &request.merchant_order_no)
            .await?
        {
            return replay(existing, &hash);
        }
        let plan = self.plan(tenant, &request).await?;
        let channel_amount = plan.external.as_ref().map_or(0, |(_, amount)| *amount);
        let assigned = plan
            .external
            .as_ref()
            .map(|(route, _)| assignment(&route.candidates[0]));
        let (status, created) = super::machine::create_order(assigned.as_ref(), plan.tenders.len());
        let new = NewPayment {
            channel: assigned,
            status,
            created,
            channel_amount: Some(channel_amount),
            tenders: plan.tenders.iter().map(new_tender).collect(),
            ..new_payment(tenant_id, &request, hash, idempotency_key)
        };
        let record = match inserted(self.store.insert_payment(new).await?) {
            Ok(record) => record,
            Err(answer) => return answer,
        };
        tracing::Span::current().record("payment_id", record.id.as_str());
        self.pay_order(tenant, record, &request, &plan, Answering::Create)
            .await
    }

    /// Steps 3 to 5 for an order as stored with its tenders: hold every
    /// coupon and card, then pay the external tender (if any) for the rest.
    pub(super) async fn pay_order(
        &self,
        tenant: &Tenant,
        record: PaymentRecord,
        request: &PaymentRequest,
        plan: &Plan,
        answering: Answering,
    ) -> Result<Created> {
        if let Some(answer) = self.hold_tenders(tenant, &record, request, plan).await? {
            return answer;
        }
        match &plan.external {
            Some((route, amount)) => {
                let external = external_request(request, *amount);
                self.submit(tenant, record, &external, route, answering)
                    .await
            }
            None => {
                let paid = Proposal::Answer(Answer::status(PaymentStatus::Succeeded, None));
                let record = self.settle(tenant, record, paid, Cause::Pay, None).await?;
                Ok(Created {
                    payment: PaymentView::from(&record),
                    replayed: false,
                })
            }
        }
    }

    /// Checks every tender and works out every amount; routes the
    /// external tender. Writes nothing.
    async fn plan(&self, tenant: &Tenant, request: &PaymentRequest) -> Result<Plan> {
        let tenders = self.plan_tenders(tenant, request).await?;
        let external = match tenders.iter().find(|t| !t.tender.is_closed_loop()) {
            Some(t) => Some(self.route_external(tenant, request, t.amount)?),
            None => None,
        };
        Ok(Plan { tenders, external })
    }

    /// Every tender checked and its amount worked out; nothing routed,
    /// nothing written.
    pub(super) async fn plan_tenders(
        &self,
        tenant: &Tenant,
        request: &PaymentRequest,
    ) -> Result<Vec<Planned>> {
        let facts = order_facts(request);
        let mut checked = Vec::with_capacity(request.tenders.len());
        let mut discounts = Vec::new();
        for (position, tender) in request.tenders.iter().enumerate() {
            if !tender.is_closed_loop() {
                checked.push(None);
                continue;
            }
            let card = self
                .ledger
                .check_tender(&tenant.config, position, tender, &facts)
                .await
                .map_err(tender_error)?;
            if let (Tender::Coupon { .. }, Some(discount)) = (tender, card.amount) {
                one_per_order(&checked, position, &card)?;
                discounts.push((position, discount));
            }
            let channel = tenant
                .channel(&card.program.channel)
                .cloned()
                .ok_or_else(|| PaymentError::Unacceptable {
                    code: "channel_unavailable",
                    message: format!(
                        "the card's programme is run by channel `{}`, which this tenant has not configured",
                        card.program.channel
                    ),
                    field: Some(paycore_core::request::tenders::tender_field(position, "type")),
                })?;
            checked.push(Some((channel.serving(&request.merchant_order_no), card)));
        }
        let amounts = settle_amounts(&request.tenders, request.amount, &discounts)?;
        let mut tenders = Vec::with_capacity(amounts.len());
        for ((tender, amount), closed_loop) in request.tenders.iter().zip(amounts).zip(checked) {
            if let Some((_, card)) = &closed_loop
                && matches!(tender, Tender::Card { amount: None, .. })
            {
                // It takes what remains: only now is its amount known.
                self.ledger
                    .check_card_amount(tenders.len(), card, amount)
                    .map_err(tender_error)?;
            }
            tenders.push(Planned {
                tender: tender.clone(),
                amount,
                closed_loop,
            });
        }
        Ok(tenders)
    }

    /// How a combined order would be paid now: each tender's amount and
    /// channel, and the external tender's routing explained for its part.
    /// Checks as a create does (a bad tender is the same 422); holds and
    /// writes nothing.
    pub async fn explain_combined(
        &self,
        tenant: &Tenant,
        request: &PaymentRequest,
    ) -> Result<CombinedExplanation> {
        let tenders = self.plan_tenders(tenant, request).await?;
        Ok(CombinedExplanation {
            tenders: tenders
                .iter()
                .enumerate()
                .map(|(position, t)| TenderExplanation {
                    position,
                    kind: t.tender.kind(),
                    amount: t.amount,
                    channel: t
                        .closed_loop
                        .as_ref()
                        .map(|(channel, _)| channel.id.clone()),
                    routing: (!t.tender.is_closed_loop()).then(|| {
                        routing::explain(
                            tenant,
                            &Intent::from(&external_request(request, t.amount)),
                            self.clock.now(),
                            &self.health.of(tenant),
                        )
                    }),
                })
                .collect(),
        })
    }

    /// The external tender's route, for its own part of the order.
    fn route_external(
        &self,
        tenant: &Tenant,
        request: &PaymentRequest,
        amount: i64,
    ) -> Result<(routing::Route, i64)> {
        let external = external_request(request, amount);
        let intent = Intent::from(&external);
        let mut route = routing::route(tenant, &intent, self.clock.now(), &self.health.of(tenant))
            .map_err(PaymentError::NoRoute)?;
        serve_order(&mut route, &request.merchant_order_no);
        Ok((route, amount))
    }

    /// Holds every coupon and card tender, in order. A refusal fails the
    /// order (releasing what was held): `Some` is then the create's answer.
    async fn hold_tenders(
        &self,
        tenant: &Tenant,
        record: &PaymentRecord,
        request: &PaymentRequest,
        plan: &Plan,
    ) -> Result<Option<Result<Created>>> {
        let mut cap = 0;
        for (position, planned) in plan.tenders.iter().enumerate() {
            let Some((channel, card)) = &planned.closed_loop else {
                continue;
            };
            cap += planned.amount;
            let ctx = self.call_context(&tenant.config.id, channel);
            let held = self
                .host
                .hold_tender(
                    &channel.plugin,
                    channel.grant.clone(),
                    ctx,
                    tender_pay_request(record, request, planned, card),
                    cap,
                )
                .await;
            let held = match held {
                Ok(hold) => self.believe_hold(record, planned, channel, hold).await?,
                Err(e) => Err(e),
            };
            match held {
                Ok(hold) => {
                    self.store
                        .set_tender_card(&record.tenant_id, &record.id, position as i64, &hold.card)
                        .await?;
                }
                Err(e) => {
                    tracing::info!(payment_id = %record.id, position, error = %e, "a tender of a combined order was not held");
                    return Ok(Some(
                        self.fail_on_tender(tenant, record, plan, position, channel, &e)
                            .await?,
                    ));
                }
            }
        }
        Ok(None)
    }

    /// A tender's hold as the plugin answered it, believed only if the
    /// ledger has it: held for this order, on a card, for the tender's
    /// amount. Anything else fails the tender as the plugin's error.
    async fn believe_hold(
        &self,
        record: &PaymentRecord,
        planned: &Planned,
        channel: &BoundChannel,
        hold: TenderHold,
    ) -> Result<std::result::Result<TenderHold, CallError>> {
        let holds = self
            .store
            .holds_for_payment(&record.tenant_id, &record.id)
            .await?;
        let found = holds.iter().find(|h| h.id == hold.hold);
        let problem = match found {
            None => Some("names a hold this order does not have".to_string()),
            Some(h) if h.card_id != hold.card => Some("names another card than its hold's".into()),
            Some(h) if h.status != crate::ledger::HoldStatus::Held => {
                Some(format!("left its hold {}, not held", h.status))
            }
            Some(h) if h.amount != planned.amount => Some(format!(
                "held {} for a tender of {}",
                h.amount, planned.amount
            )),
            Some(_) => None,
        };
        Ok(match problem {
            None => Ok(hold),
            Some(problem) => {
                tracing::warn!(payment_id = %record.id, channel = %channel.id, %problem, "a tender's hold was not believed");
                Err(CallError {
                    plugin: channel.plugin.label().to_string(),
                    kind: CallErrorKind::Channel(channel::ChannelError::InvalidRequest(
                        channel::Failure {
                            code: "tender_hold_refused".into(),
                            message: format!("the plugin's answer {problem}"),
                            channel_code: None,
                            channel_message: None,
                        },
                    )),
                    reached_channel: false,
                })
            }
        })
    }

    /// The order fails on tender `position`: it is marked refused, the
    /// external tender skipped, the order failed (its holds released by
    /// `after_order_change`) with the plugin's attempt in its history. A
    /// decline is answered as a failed payment, as for any channel; any
    /// other failure as the create's error. Whatever the plugin's call did
    /// to the ledger, the order's holds all go back: nothing is unknown.
    async fn fail_on_tender(
        &self,
        tenant: &Tenant,
        record: &PaymentRecord,
        plan: &Plan,
        position: usize,
        channel: &BoundChannel,
        error: &crate::plugin_host::CallError,
    ) -> Result<Result<Created>> {
        let (tenant_id, id) = (&record.tenant_id, &record.id);
        self.store
            .mark_tender(tenant_id, id, position as i64, TenderMark::Refused)
            .await?;
        if let Some(external) = plan.tenders.iter().position(|t| !t.tender.is_closed_loop()) {
            self.store
                .mark_tender(tenant_id, id, external as i64, TenderMark::Skipped)
                .await?;
        }
        let failure = tender_failure(position, error);
        let failed = Proposal::Answer(Answer::status(PaymentStatus::Failed, Some(failure)));
        let attempt = attempt_outcome(&Err(error.clone()), &failed);
        let mut history =
            attempt_history(record, channel, &attempt, &format!("tenders[{position}]"));
        let create_error = match FailedCall::of(error) {
            FailedCall::Declined(_) => None,
            FailedCall::InvalidRequest(f) => Some(CreateError::ChannelRejectedRequest {
                message: format!("tenders[{position}]: {}", f.message),
            }),
            _ => Some(CreateError::ChannelUnavailable {
                message: format!("tenders[{position}]: {error}; nothing was taken"),
            }),
        };
        history.create_error = create_error.as_ref().map(CreateError::to_column);
        let record = self
            .settle(tenant, record.clone(), failed, Cause::Pay, Some(history))
            .await?;
        Ok(super::answered(&record, create_error))
    }

    /// After a combined order's change: once it is final, its holds are
    /// captured (it succeeded) or released. Failures are logged; the
    /// sweeper's stranded holds finish what is left.
    pub(super) async fn after_order_change(&self, tenant: &Tenant, order: &PaymentRecord) {
        if !order.is_combined() {
            return;
        }
        let fate = match rules::hold_fate(order.status) {
            HoldFate::Keep => return,
            HoldFate::Capture => crate::ledger::Resolution::Capture,
            HoldFate::Release => crate::ledger::Resolution::Release,
        };
        if let Err(e) = self
            .ledger
            .settle_order_holds(&tenant.config, &order.id, fate)
            .await
        {
            tracing::warn!(payment_id = %order.id, error = ?e, ?fate, "a combined order's holds are left for the sweeper");
        }
    }

    /// A combined order paid by coupons and cards alone, left open by a
    /// create that died: there is no channel to ask, so the ledger says.
    /// Every tender held: it succeeded; any not held by now never will be
    /// (its create is gone): it failed, and what was held goes back.
    pub(super) async fn resolve_closed_loop_order(
        &self,
        tenant: &Tenant,
        record: PaymentRecord,
    ) -> Result<PaymentRecord> {
        let tenders = self.store.tenders_of(&record.tenant_id, &record.id).await?;
        let holds = self
            .store
            .holds_for_payment(&record.tenant_id, &record.id)
            .await?;
        let states: Vec<ClosedLoop> = tenders
            .iter()
            .map(|t| match closed_loop_state(t, &holds) {
                ClosedLoop::Pending => ClosedLoop::Released,
                state => state,
            })
            .collect();
        let status = rules::order_status(&states, None);
        let decided = Proposal::Answer(Answer::status(
            status,
            (status == PaymentStatus::Failed).then(|| {
                super::convert::own_failure(
                    "tender_not_held",
                    "the order was interrupted before every tender was held; nothing was taken",
                )
            }),
        ));
        self.settle(tenant, record, decided, Cause::Query, None)
            .await
    }
}

impl Payments {
    /// `view` with its tenders, if it is a combined order: each as it
    /// stands now (its hold, its card's balance, the order's status).
    pub(crate) async fn with_tenders(
        &self,
        tenant: &Tenant,
        view: PaymentView,
    ) -> Result<PaymentView> {
        self.attach_tenders(tenant, view, false).await
    }

    /// A combined order's view as it will be once `view`'s status is
    /// written: holds still held shown as they then become — spent if it
    /// succeeded, given back if it ended otherwise — which
    /// `after_order_change` makes true right after the write (the sweeper,
    /// after a crash). What a webhook for the change carries.
    pub(super) async fn with_projected_tenders(
        &self,
        tenant: &Tenant,
        view: PaymentView,
    ) -> Result<PaymentView> {
        self.attach_tenders(tenant, view, true).await
    }

    async fn attach_tenders(
        &self,
        tenant: &Tenant,
        mut view: PaymentView,
        project: bool,
    ) -> Result<PaymentView> {
        if view.combined {
            view.tenders = Some(self.tender_views(tenant, &view, project).await?);
        }
        Ok(view)
    }

    async fn tender_views(
        &self,
        tenant: &Tenant,
        view: &PaymentView,
        project: bool,
    ) -> Result<Vec<crate::payments::view::TenderView>> {
        let tenant_id = &tenant.config.id;
        let tenders = self.store.tenders_of(tenant_id, &view.id).await?;
        let holds = self.store.holds_for_payment(tenant_id, &view.id).await?;
        let fate = match project {
            true => rules::hold_fate(view.status),
            false => HoldFate::Keep,
        };
        let mut shown = Vec::with_capacity(tenders.len());
        for t in &tenders {
            let mut balance = match &t.card_id {
                Some(card) => self.store.card(tenant_id, card).await?.map(|c| c.balance),
                None => None,
            };
            let external = t.kind == "external";
            let status = if external {
                if t.status == "skipped" {
                    "skipped".to_string()
                } else {
                    view.status.to_string()
                }
            } else {
                let state = match (closed_loop_state(t, &holds), fate) {
                    (ClosedLoop::Held, HoldFate::Capture) => ClosedLoop::Captured,
                    (ClosedLoop::Held, HoldFate::Release) => {
                        // Given back: on the card's balance again.
                        let held = t.card_id.as_ref().and_then(|card| {
                            holds.iter().find(|h| &h.card_id == card).map(|h| h.amount)
                        });
                        balance = balance.zip(held).map(|(b, h)| b + h);
                        ClosedLoop::Released
                    }
                    (state, _) => state,
                };
                match state {
                    ClosedLoop::Pending if view.status.is_final() => "skipped",
                    ClosedLoop::Pending => "pending",
                    ClosedLoop::Refused => "failed",
                    ClosedLoop::Held => "held",
                    ClosedLoop::Captured => "succeeded",
                    ClosedLoop::Released => "released",
                }
                .to_string()
            };
            shown.push(crate::payments::view::TenderView {
                kind: t.kind.clone(),
                amount: t.amount,
                status,
                channel: if external {
                    view.channel.clone()
                } else {
                    Some(t.channel_id.clone())
                },
                card_id: t.card_id.as_ref().map(|c| c.to_string()),
                balance,
                scene: external.then_some(view.scene),
                wallet: if external { view.wallet.clone() } else { None },
            });
        }
        Ok(shown)
    }
}

/// A coupon programme that allows one per order refuses a second coupon of
/// it in the same order.
fn one_per_order(
    checked: &[Option<(Arc<BoundChannel>, CheckedTender)>],
    position: usize,
    coupon: &CheckedTender,
) -> Result<()> {
    let once = coupon
        .program
        .coupon
        .as_ref()
        .is_some_and(|t| t.one_per_order);
    let earlier = checked
        .iter()
        .flatten()
        .any(|(_, c)| c.program.id == coupon.program.id);
    if once && earlier {
        return Err(PaymentError::Invalid {
            field: paycore_core::request::tenders::tender_field(position, "code"),
            message: format!(
                "programme `{}` allows one coupon per order, and this order has one already",
                coupon.program.id
            ),
            missing: false,
        });
    }
    Ok(())
}

/// Where a stored coupon or card tender stands, from its hold.
pub(super) fn closed_loop_state(
    tender: &TenderRecord,
    holds: &[crate::store::HoldRecord],
) -> ClosedLoop {
    use crate::ledger::HoldStatus;
    if tender.status == "refused" {
        return ClosedLoop::Refused;
    }
    let hold = tender
        .card_id
        .as_ref()
        .and_then(|card| holds.iter().find(|h| &h.card_id == card));
    match hold.map(|h| h.status) {
        None => ClosedLoop::Pending,
        Some(HoldStatus::Held) => ClosedLoop::Held,
        Some(HoldStatus::Captured) => ClosedLoop::Captured,
        Some(HoldStatus::Released) => ClosedLoop::Released,
    }
}

pub(super) fn new_tender(planned: &Planned) -> NewTender {
    NewTender {
        kind: planned.tender.kind(),
        amount: planned.amount,
        channel_id: match &planned.closed_loop {
            Some((channel, _)) => channel.id.clone(),
            None => String::new(),
        },
        // A card named by a payment code is known now, but recorded only
        // once its hold binds the code to this order.
        card_id: planned
            .closed_loop
            .as_ref()
            .filter(|_| !is_code(&planned.tender))
            .map(|(_, card)| card.card.id.clone()),
    }
}

/// The order's member: the payer the merchant named (`payer.open_id`).
pub(super) fn member_of(request: &PaymentRequest) -> Option<&str> {
    request.payer.as_ref().and_then(|p| p.open_id.as_deref())
}

/// What a coupon or card tender is checked against: the order.
pub(super) fn order_facts(request: &PaymentRequest) -> OrderFacts<'_> {
    OrderFacts {
        currency: &request.currency,
        total: order_total_of(request),
        store_id: request.store_id.as_deref(),
        member: member_of(request),
    }
}

fn is_code(tender: &Tender) -> bool {
    match tender {
        Tender::Card { auth_code, .. } => auth_code.is_some(),
        Tender::Coupon { code, .. } => crate::ledger::looks_like_card_code(code),
        Tender::External { .. } => false,
    }
}

/// The order as its external tender's channel sees it: that tender's
/// scene, code and wallet, for its part of the amount.
fn external_request(request: &PaymentRequest, amount: i64) -> PaymentRequest {
    let mut external = request.clone();
    if let Some((
        _,
        Tender::External {
            scene,
            auth_code,
            wallet,
            ..
        },
    )) = request.external_tender()
    {
        external.scene = *scene;
        external.auth_code = auth_code.clone();
        external.wallet = wallet.clone();
    }
    external.amount = amount;
    external.tenders = Vec::new();
    external
}

/// What the programme's plugin is asked to hold for one tender: the
/// order's id (its ledger scope) and details, the tender's amount, and the
/// card as presented — a code at the till, or the card's (coupon's) id by
/// the order's member in the merchant's app.
fn tender_pay_request(
    record: &PaymentRecord,
    request: &PaymentRequest,
    planned: &Planned,
    card: &CheckedTender,
) -> channel::PayRequest {
    let mut pay = super::convert::pay_request(record, request);
    pay.amount = planned.amount;
    pay.wallet = "card".into();
    let member = member_of(request).map(str::to_string);
    let (code, id) = match &planned.tender {
        Tender::Card { auth_code, .. } if auth_code.is_some() => (auth_code.clone(), None),
        Tender::Coupon { code, .. } if is_code(&planned.tender) => (Some(code.clone()), None),
        _ => (None, Some(card.card.id.to_string())),
    };
    match code {
        Some(code) => {
            pay.scene = Scene::Barcode;
            pay.auth_code = Some(code);
            pay.payer = None;
        }
        None => {
            pay.scene = Scene::Jsapi;
            pay.auth_code = None;
            pay.payer = Some(channel::Payer {
                app_id: None,
                open_id: member,
                buyer_id: id,
            });
        }
    }
    // A coupon takes its discount off the order its goods describe; an
    // order that lists none is one line of its whole amount.
    if pay.goods.is_empty() {
        pay.goods = vec![channel::GoodsItem {
            id: "order".into(),
            name: request.subject.clone().unwrap_or_else(|| "order".into()),
            quantity: 1,
            unit_price: request.amount,
            discount: 0,
        }];
    }
    pay
}

/// The order's failure when tender `position` was not held: the plugin's
/// own words, naming the tender.
fn tender_failure(position: usize, error: &crate::plugin_host::CallError) -> serde_json::Value {
    use crate::plugin_host::CallErrorKind;
    let (code, message) = match &error.kind {
        CallErrorKind::Channel(e) => {
            let f = e.failure();
            (f.code.clone(), f.message.clone())
        }
        other => ("tender_not_held".to_string(), other.to_string()),
    };
    super::convert::own_failure(&code, &format!("tenders[{position}]: {message}"))
}

pub(super) fn tender_error(e: TenderError) -> PaymentError {
    match e {
        TenderError::Field(f) => PaymentError::from(f),
        TenderError::Store(e) => PaymentError::Store(e),
    }
}
