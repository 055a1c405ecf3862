//! The `paycore:channel/ledger` import: a card programme's plugin reaching
//! the host's ledger during one call, through a `ledger::Session` scoped to
//! the call (the grant's tenant and programmes, the payment or refund the
//! operation is about). Converts between the contract's types and the
//! ledger's; the rules are the session's.

use super::bindings::paycore::channel::ledger as wit;
use super::imports::CallState;
use super::trace::{CallInput, HostCall, LedgerAnswer, LedgerCall, LedgerRequest};
use crate::config::{CouponTerms, Discount};
use crate::domain::{PaymentId, RefundId};
use crate::ledger::{CardHoldView, CardView, LedgerError, ProgramUnits, Scope};
use crate::money::Currency;
use paycore_core::domain::ProgramKind;
use paycore_core::ledger::{CardStatus, HoldStatus};

/// What an operation may do to the ledger, read from its own arguments.
pub(super) fn scope_of(op: &CallInput) -> Scope {
    match op {
        CallInput::Pay(_, request) => match Currency::parse(&request.currency) {
            Ok(currency) => Scope::Pay {
                payment: PaymentId::from(request.payment_id.as_str()),
                amount: request.amount,
                currency,
            },
            Err(_) => Scope::ReadOnly,
        },
        CallInput::Query(_, payment) | CallInput::Close(_, payment) => Scope::Payment {
            payment: PaymentId::from(payment.payment_id.as_str()),
        },
        CallInput::Cancel(_, payment) => Scope::Cancel {
            payment: PaymentId::from(payment.payment_id.as_str()),
        },
        CallInput::Refund(_, refund) => Scope::Refund {
            payment: PaymentId::from(refund.payment.payment_id.as_str()),
            payment_amount: refund.payment.amount,
            refund: RefundId::from(refund.refund_id.as_str()),
            amount: refund.amount,
        },
        CallInput::QueryRefund(_, refund) => Scope::Refund {
            payment: PaymentId::from(refund.payment.payment_id.as_str()),
            payment_amount: refund.payment.amount,
            refund: RefundId::from(refund.refund_id.as_str()),
            amount: refund.amount,
        },
        CallInput::HoldTender(_, request, cap) => match Currency::parse(&request.currency) {
            Ok(currency) => Scope::Tender {
                payment: PaymentId::from(request.payment_id.as_str()),
                cap: *cap,
                currency,
            },
            Err(_) => Scope::ReadOnly,
        },
        CallInput::Manifest | CallInput::Callback(..) | CallInput::Statement(..) => Scope::ReadOnly,
    }
}

type Answer<T> = wasmtime::Result<Result<T, wit::LedgerError>>;

/// Runs `f` on the call's session; a host that keeps no ledger (a replay)
/// answers as its recording did, or `unavailable`. A traced call keeps
/// `$request` and the answer (see `trace::LedgerCall`).
macro_rules! with_session {
    ($state:expr, $write:expr, $request:expr, |$session:ident| $body:expr) => {{
        let request = ($state.trace.is_some() || $state.script.is_some()).then(|| $request);
        let outcome = match $state.ledger.as_mut() {
            None => replayed(&mut $state.script, request.as_ref()),
            Some($session) => {
                let outcome = $body;
                if $write && $session.wrote {
                    // Value may have moved: a failure of the call from here
                    // on leaves the outcome unknown, for a query to settle.
                    $state.reached_channel = true;
                }
                outcome.map_err(error)
            }
        };
        if let (Some(trace), Some(request)) = ($state.trace.as_mut(), request) {
            trace.calls.push(HostCall::Ledger(LedgerCall {
                request,
                result: outcome.clone().map(Into::into),
            }));
        }
        Ok(outcome)
    }};
}

impl wit::Host for CallState {
    async fn card_by_code(&mut self, code: String) -> Answer<wit::Card> {
        with_session!(
            self,
            true,
            LedgerRequest::CardByCode { code: code.clone() },
            |session| session.card_by_code(&code).await.map(card)
        )
    }

    async fn balance(&mut self, id: String) -> Answer<wit::Card> {
        with_session!(
            self,
            false,
            LedgerRequest::Balance { card: id.clone() },
            |session| session.balance(&id).await.map(card)
        )
    }

    async fn hold(&mut self, id: String, amount: i64) -> Answer<wit::CardHold> {
        with_session!(
            self,
            true,
            LedgerRequest::Hold {
                card: id.clone(),
                amount,
            },
            |session| session.hold(&id, amount).await.map(hold)
        )
    }

    async fn capture(&mut self, id: String) -> Answer<wit::CardHold> {
        with_session!(
            self,
            true,
            LedgerRequest::Capture { hold: id.clone() },
            |session| session.capture(&id).await.map(hold)
        )
    }

    async fn release(&mut self, id: String) -> Answer<wit::CardHold> {
        with_session!(
            self,
            true,
            LedgerRequest::Release { hold: id.clone() },
            |session| session.release(&id).await.map(hold)
        )
    }

    async fn credit(&mut self, id: String, amount: i64) -> Answer<wit::CardHold> {
        with_session!(
            self,
            true,
            LedgerRequest::Credit {
                hold: id.clone(),
                amount,
            },
            |session| session.credit(&id, amount).await.map(hold)
        )
    }

    async fn holds(&mut self) -> Answer<Vec<wit::CardHold>> {
        with_session!(self, false, LedgerRequest::Holds, |session| session
            .holds()
            .await
            .map(|holds| holds.into_iter().map(hold).collect()))
    }
}

/// A replay's answer to a ledger call: the recording's, if it made the
/// same call and it answered this kind of value.
fn replayed<T: FromAnswer>(
    script: &mut Option<super::replay::Script>,
    request: Option<&LedgerRequest>,
) -> Result<T, wit::LedgerError> {
    let recorded = match (script.as_mut(), request) {
        (Some(script), Some(request)) => script.ledger(request),
        _ => None,
    };
    match recorded {
        Some(Ok(answer)) => T::from_answer(answer).ok_or_else(|| {
            wit::LedgerError::Unavailable("the recording answered this call otherwise".into())
        }),
        Some(Err(refused)) => Err(refused),
        None => Err(wit::LedgerError::Unavailable(
            "this host keeps no ledger, and the recording never made this call".into(),
        )),
    }
}

/// A recorded ledger answer as the value a function returns.
trait FromAnswer: Sized {
    fn from_answer(answer: LedgerAnswer) -> Option<Self>;
}

impl FromAnswer for wit::Card {
    fn from_answer(answer: LedgerAnswer) -> Option<Self> {
        match answer {
            LedgerAnswer::Card(card) => Some(card),
            _ => None,
        }
    }
}

impl FromAnswer for wit::CardHold {
    fn from_answer(answer: LedgerAnswer) -> Option<Self> {
        match answer {
            LedgerAnswer::Hold(hold) => Some(hold),
            _ => None,
        }
    }
}

impl FromAnswer for Vec<wit::CardHold> {
    fn from_answer(answer: LedgerAnswer) -> Option<Self> {
        match answer {
            LedgerAnswer::Holds(holds) => Some(holds),
            _ => None,
        }
    }
}

impl From<wit::Card> for LedgerAnswer {
    fn from(card: wit::Card) -> Self {
        LedgerAnswer::Card(card)
    }
}

impl From<wit::CardHold> for LedgerAnswer {
    fn from(hold: wit::CardHold) -> Self {
        LedgerAnswer::Hold(hold)
    }
}

impl From<Vec<wit::CardHold>> for LedgerAnswer {
    fn from(holds: Vec<wit::CardHold>) -> Self {
        LedgerAnswer::Holds(holds)
    }
}

fn error(e: LedgerError) -> wit::LedgerError {
    match e {
        LedgerError::NotFound => wit::LedgerError::NotFound,
        LedgerError::CodeExpired => wit::LedgerError::CodeExpired,
        LedgerError::CodeUsed => wit::LedgerError::CodeUsed,
        LedgerError::NotActive(status) => wit::LedgerError::NotActive(status_of(status)),
        LedgerError::Insufficient(available) => wit::LedgerError::Insufficient(available),
        LedgerError::NotAllowed(why) => wit::LedgerError::NotAllowed(why),
        LedgerError::Unavailable(why) => wit::LedgerError::Unavailable(why),
    }
}

fn status_of(status: CardStatus) -> wit::CardStatus {
    match status {
        CardStatus::Active => wit::CardStatus::Active,
        CardStatus::Frozen => wit::CardStatus::Frozen,
        CardStatus::Dormant => wit::CardStatus::Dormant,
        CardStatus::Closed => wit::CardStatus::Closed,
    }
}

fn card(view: CardView) -> wit::Card {
    let program = &view.program;
    wit::Card {
        id: view.id.to_string(),
        program: wit::Program {
            id: program.id.to_string(),
            kind: match program.kind {
                ProgramKind::StoredValue => wit::ProgramKind::StoredValue,
                ProgramKind::Gift => wit::ProgramKind::Gift,
                ProgramKind::Voucher => wit::ProgramKind::Voucher,
                ProgramKind::Punch => wit::ProgramKind::Punch,
                ProgramKind::Coupon => wit::ProgramKind::Coupon,
            },
            currency: program.currency.to_string(),
            service_unit: program.service().map(|(unit, _)| unit.to_string()),
            covers_up_to: program.service().map(|(_, covers)| covers),
            partial_use: program.partial_use,
            coupon: program
                .coupon
                .as_ref()
                .map(|terms| coupon_terms(terms, view.in_window)),
        },
        status: status_of(view.status),
        holder: view.holder,
        balance: view.balance,
        held: view.held,
        expires_at: view.expires_ms.and_then(|ms| u64::try_from(ms).ok()),
    }
}

/// A coupon's terms as the contract gives them; `in_window` is the
/// session's reading of its days and hours now.
fn coupon_terms(terms: &CouponTerms, in_window: bool) -> wit::CouponTerms {
    let (amount_off, max_discount) = match &terms.discount {
        Discount::AmountOff(amount) => (Some(*amount), None),
        Discount::PercentOff { max_discount, .. } => (None, Some(*max_discount)),
    };
    wit::CouponTerms {
        amount_off,
        percent_off_hundredths: terms.discount.percent_hundredths(),
        max_discount,
        min_spend: terms.min_spend,
        stores: terms.stores.clone(),
        one_per_order: terms.one_per_order,
        in_window,
    }
}

fn hold(view: CardHoldView) -> wit::CardHold {
    wit::CardHold {
        id: view.id.to_string(),
        card: view.card.to_string(),
        amount: view.amount,
        status: match view.status {
            HoldStatus::Held => wit::HoldStatus::Held,
            HoldStatus::Captured => wit::HoldStatus::Captured,
            HoldStatus::Released => wit::HoldStatus::Released,
        },
        credited: view.credited,
    }
}
