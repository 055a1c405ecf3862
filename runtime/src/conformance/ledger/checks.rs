//! The payments the suite plays on a card programme's plugin: each on a
//! card it issued itself, paid with a fresh member's payment code (the
//! barcode scene), and each judged by what the ledger holds after the
//! call, not only by what the plugin answered.

use super::play::Play;
use super::{Answered, Bench, BenchError, captured, describe};
use crate::conformance::checks::{fail, not_applicable, pass};
use crate::conformance::suite::{Ask, Got, Sample, Suite, describe as described};
use crate::conformance::upstream::Mode;
use crate::domain::{PaymentId, PaymentStatus, RefundStatus, Scene};
use crate::ledger::{CardId, ProgramUnits};
use crate::plugin_host::{CallError, CallErrorKind};
use crate::store::{CardRecord, HoldRecord};
use paycore_core::channel;
use paycore_core::ledger::HoldStatus;

const PAY: &str = "ledger: pay by card code captures exactly its amount";
const RETRY: &str = "ledger: a retried pay moves nothing more";
const QUERY: &str = "ledger: query of a paid payment answers succeeded";
const REFUND: &str = "ledger: a refund credits exactly its amount";
const REPEATED_REFUND: &str = "ledger: a repeated refund credits nothing more";
const INSUFFICIENT: &str = "ledger: an insufficient card is declined, nothing held";
const CANCEL: &str = "ledger: cancel gives captured value back";

/// A payment the plugin answered `succeeded`.
struct Paid {
    sample: Sample,
    card: CardId,
    code: String,
    channel_order_no: Option<String>,
}

type Outcome = Result<Got, CallError>;

impl Suite {
    /// Plays the profile's `[ledger]`; fails only when the suite's own
    /// ledger does.
    pub(in crate::conformance) async fn ledger_payments(
        &mut self,
        bench: &Bench,
        play: &Play,
    ) -> Result<(), BenchError> {
        if !self.plugin.manifest.scenes.contains(&Scene::Barcode) {
            self.checks.push(fail(
                PAY,
                "the suite pays with members' payment codes, in the barcode scene, which the plugin does not declare",
            ));
            for name in [RETRY, QUERY, REFUND, REPEATED_REFUND, INSUFFICIENT, CANCEL] {
                self.checks
                    .push(not_applicable(name, "needs a payment by card code"));
            }
            return Ok(());
        }
        match self.pay_by_code(bench, play).await? {
            Some(paid) => {
                self.retried_pay(bench, play, &paid).await?;
                self.query_paid(bench, play, &paid).await?;
                self.refund_paid(bench, play, &paid).await?;
            }
            None => {
                for name in [RETRY, QUERY, REFUND, REPEATED_REFUND] {
                    self.checks
                        .push(not_applicable(name, "needs a paid payment: the pay failed"));
                }
            }
        }
        self.insufficient_card(bench, play).await?;
        self.cancel_paid(bench, play).await
    }

    async fn pay_by_code(
        &mut self,
        bench: &Bench,
        play: &Play,
    ) -> Result<Option<Paid>, BenchError> {
        let (card, sample, code) = self.new_card_payment(bench, play, play.pay).await?;
        let ask = self.card_pay(&sample, &code);
        let got = self.ask_ledger(bench, play, "pay", &sample, ask).await?;
        let after = bench.card(&card.id).await?;
        let holds = bench.holds(&payment_id(&sample)).await?;
        let units = play.units(play.pay);
        let (check, paid) = match &got {
            Ok(Got::Payment(r)) if r.status == PaymentStatus::Succeeded => {
                self.played.kept += units;
                let problem = answered_amount(r.amount, play.pay)
                    .or_else(|| took(&card, &after, &holds, units));
                let check = match problem {
                    None => pass(
                        PAY,
                        format!(
                            "succeeded; {units} captured, {} left on the card",
                            after.balance
                        ),
                    ),
                    Some(p) => fail(PAY, p),
                };
                let paid = Paid {
                    sample,
                    card: card.id,
                    code,
                    channel_order_no: r.channel_order_no.clone(),
                };
                (check, Some(paid))
            }
            other => (
                fail(
                    PAY,
                    format!(
                        "{}, wanted succeeded: the card holds {} and the payment takes {units}",
                        described(other),
                        card.balance
                    ),
                ),
                None,
            ),
        };
        self.checks.push(check);
        Ok(paid)
    }

    /// The same pay again, as paycore sends it after a lost answer.
    async fn retried_pay(
        &mut self,
        bench: &Bench,
        play: &Play,
        paid: &Paid,
    ) -> Result<(), BenchError> {
        let before = Snapshot::take(bench, &paid.card, &paid.sample).await?;
        let ask = self.card_pay(&paid.sample, &paid.code);
        let got = self
            .ask_ledger(bench, play, "retried pay", &paid.sample, ask)
            .await?;
        let after = Snapshot::take(bench, &paid.card, &paid.sample).await?;
        self.checks.push(match &got {
            Ok(Got::Payment(r)) if r.status == PaymentStatus::Succeeded => {
                match before.moved_to(&after) {
                    None => pass(RETRY, "succeeded again; nothing moved"),
                    Some(moved) => fail(RETRY, format!("the retry moved value: {moved}")),
                }
            }
            other => fail(
                RETRY,
                format!(
                    "{}, wanted succeeded again: the payment was paid",
                    described(other)
                ),
            ),
        });
        Ok(())
    }

    async fn query_paid(
        &mut self,
        bench: &Bench,
        play: &Play,
        paid: &Paid,
    ) -> Result<(), BenchError> {
        let ask = Ask::Query(self.paid_ref(paid));
        let got = self
            .ask_ledger(bench, play, "query", &paid.sample, ask)
            .await?;
        let holds = bench.holds(&payment_id(&paid.sample)).await?;
        let units = play.units(play.pay);
        self.checks.push(match &got {
            Ok(Got::Payment(r)) if r.status == PaymentStatus::Succeeded => {
                if captured(&holds) == units {
                    pass(QUERY, format!("succeeded; {units} captured"))
                } else {
                    fail(
                        QUERY,
                        format!(
                            "succeeded, but the payment of {units} has {} after the query",
                            describe(&holds)
                        ),
                    )
                }
            }
            other => fail(
                QUERY,
                format!(
                    "{}, wanted succeeded: the payment was paid",
                    described(other)
                ),
            ),
        });
        Ok(())
    }

    /// A refund, then the same refund again and its query: the second and
    /// third must find the credit made.
    async fn refund_paid(
        &mut self,
        bench: &Bench,
        play: &Play,
        paid: &Paid,
    ) -> Result<(), BenchError> {
        let request = channel::RefundRequest {
            payment: self.paid_ref(paid),
            amount: play.refund,
            ..self.refund_request(&paid.sample)
        };
        let back = play.refund_units();
        let before = Snapshot::take(bench, &paid.card, &paid.sample).await?;
        let got = self
            .ask(Mode::Script, &paid.sample, Ask::Refund(request.clone()))
            .await;
        let after = Snapshot::take(bench, &paid.card, &paid.sample).await?;
        let refunded = match &got {
            Ok(Got::Refund(r)) if r.status == RefundStatus::Succeeded => {
                self.played.kept -= back;
                let problem = answered_amount(r.amount, play.refund)
                    .or_else(|| before.gave_back(&after, back));
                self.checks.push(match problem {
                    None => pass(REFUND, format!("succeeded; {back} back on the card")),
                    Some(p) => fail(REFUND, p),
                });
                r.channel_refund_no.clone()
            }
            other => {
                self.checks.push(fail(
                    REFUND,
                    format!(
                        "{}, wanted succeeded: {back} of the payment was captured",
                        described(other)
                    ),
                ));
                self.checks.push(not_applicable(
                    REPEATED_REFUND,
                    "needs a refund that succeeded",
                ));
                return Ok(());
            }
        };
        let refund_ref = channel::RefundRef {
            channel_refund_no: refunded,
            amount: request.amount,
            payment: request.payment.clone(),
            ..self.refund_ref(&paid.sample)
        };
        let mut problems = Vec::new();
        for (op, ask) in [
            ("refund again", Ask::Refund(request)),
            ("query-refund", Ask::QueryRefund(refund_ref)),
        ] {
            let got = self.ask(Mode::Script, &paid.sample, ask).await;
            match &got {
                Ok(Got::Refund(r)) if r.status == RefundStatus::Succeeded => {}
                other => problems.push(format!(
                    "{op} {}, wanted succeeded: the refund was made",
                    described(other)
                )),
            }
        }
        let again = Snapshot::take(bench, &paid.card, &paid.sample).await?;
        if let Some(moved) = after.moved_to(&again) {
            problems.push(format!("the repeats moved value: {moved}"));
        }
        self.checks.push(if problems.is_empty() {
            pass(
                REPEATED_REFUND,
                "refund again and query-refund succeeded; nothing more came back",
            )
        } else {
            fail(REPEATED_REFUND, problems.join("; "))
        });
        Ok(())
    }

    /// A payment the card cannot cover: one unit more than it holds.
    async fn insufficient_card(&mut self, bench: &Bench, play: &Play) -> Result<(), BenchError> {
        let card = bench.issue(play).await?;
        let amount = match play.program.service() {
            Some((_, covers)) => (card.balance + 1) * covers,
            None => card.balance + 1,
        };
        let (card, sample, code) = self.card_payment(bench, play, card, amount).await?;
        let ask = self.card_pay(&sample, &code);
        let got = self.ask_ledger(bench, play, "pay", &sample, ask).await?;
        let after = bench.card(&card.id).await?;
        let holds = bench.holds(&payment_id(&sample)).await?;
        let kept = holds.iter().any(|h| h.status != HoldStatus::Released);
        self.checks.push(match &got {
            Err(CallError {
                kind: CallErrorKind::Channel(channel::ChannelError::Declined(f)),
                ..
            }) if !kept && after.balance == card.balance && after.held == 0 => pass(
                INSUFFICIENT,
                format!(
                    "declined ({}); the card still holds {}, nothing held",
                    f.code, card.balance
                ),
            ),
            Err(CallError {
                kind: CallErrorKind::Channel(channel::ChannelError::Declined(_)),
                ..
            }) => fail(
                INSUFFICIENT,
                format!(
                    "declined, but the card went from {} to {} available and {} held ({})",
                    card.balance,
                    after.balance,
                    after.held,
                    describe(&holds)
                ),
            ),
            other => fail(
                INSUFFICIENT,
                format!(
                    "{}, wanted declined: the card holds {} and the payment needs {}",
                    described(other),
                    card.balance,
                    play.units(amount)
                ),
            ),
        });
        Ok(())
    }

    async fn cancel_paid(&mut self, bench: &Bench, play: &Play) -> Result<(), BenchError> {
        let (card, sample, code) = self.new_card_payment(bench, play, play.pay).await?;
        let ask = self.card_pay(&sample, &code);
        let got = self.ask_ledger(bench, play, "pay", &sample, ask).await?;
        let channel_order_no = match &got {
            Ok(Got::Payment(r)) if r.status == PaymentStatus::Succeeded => {
                self.played.kept += play.units(play.pay);
                r.channel_order_no.clone()
            }
            other => {
                let why = format!("needs a paid payment: the pay {}", described(other));
                self.checks.push(not_applicable(CANCEL, why));
                return Ok(());
            }
        };
        let paid = Paid {
            sample,
            card: card.id.clone(),
            code,
            channel_order_no,
        };
        let ask = Ask::Cancel(self.paid_ref(&paid));
        let got = self
            .ask_ledger(bench, play, "cancel", &paid.sample, ask)
            .await?;
        let after = bench.card(&card.id).await?;
        let holds = bench.holds(&payment_id(&paid.sample)).await?;
        let kept = holds.iter().any(|h| match h.status {
            HoldStatus::Held => true,
            HoldStatus::Captured => h.refunded != h.amount,
            HoldStatus::Released => false,
        });
        self.checks.push(match &got {
            Ok(Got::Payment(r)) if r.status == PaymentStatus::Cancelled => {
                self.played.kept -= play.units(play.pay);
                if kept || after.balance != card.balance || after.held != 0 {
                    fail(
                        CANCEL,
                        format!(
                            "cancelled, but the card has {} available and {} held, {} before the payment ({})",
                            after.balance,
                            after.held,
                            card.balance,
                            describe(&holds)
                        ),
                    )
                } else {
                    pass(
                        CANCEL,
                        format!("cancelled; the card is back to {}", card.balance),
                    )
                }
            }
            other => fail(
                CANCEL,
                format!(
                    "{}, wanted cancelled: the payment was paid",
                    described(other)
                ),
            ),
        });
        Ok(())
    }

    /// A new card of the programme, a payment of `amount` for it and a
    /// fresh code to pay with.
    async fn new_card_payment(
        &mut self,
        bench: &Bench,
        play: &Play,
        amount: i64,
    ) -> Result<(CardRecord, Sample, String), BenchError> {
        let card = bench.issue(play).await?;
        self.card_payment(bench, play, card, amount).await
    }

    async fn card_payment(
        &mut self,
        bench: &Bench,
        play: &Play,
        card: CardRecord,
        amount: i64,
    ) -> Result<(CardRecord, Sample, String), BenchError> {
        let sample = self.sample(amount, play.currency(), Scene::Barcode);
        let code = bench.code(&card.id).await?;
        self.played.cards.push(card.id.clone());
        self.played.payments.push(payment_id(&sample));
        Ok((card, sample, code))
    }

    fn card_pay(&self, sample: &Sample, code: &str) -> Ask {
        let mut request = self.pay_request(sample);
        request.auth_code = Some(code.to_string());
        Ask::Pay(request)
    }

    /// The payment as paycore names it after the plugin's answer.
    fn paid_ref(&self, paid: &Paid) -> channel::PaymentRef {
        channel::PaymentRef {
            channel_order_no: paid.channel_order_no.clone(),
            ..self.payment_ref(&paid.sample)
        }
    }

    /// Asks, and keeps what the ledger held at every `succeeded` answer
    /// (see `audit`).
    async fn ask_ledger(
        &mut self,
        bench: &Bench,
        play: &Play,
        op: &'static str,
        sample: &Sample,
        ask: Ask,
    ) -> Result<Outcome, BenchError> {
        let got = self.ask(Mode::Script, sample, ask).await;
        if let Ok(Got::Payment(r)) = &got
            && r.status == PaymentStatus::Succeeded
        {
            let payment = payment_id(sample);
            let holds = bench.holds(&payment).await?;
            self.played.succeeded.push(Answered {
                op,
                payment,
                units: play.units(sample.amount),
                captured: captured(&holds),
                holds: describe(&holds),
            });
        }
        Ok(got)
    }
}

/// The id the suite gives a sample's payment (see `Suite::pay_request`).
fn payment_id(sample: &Sample) -> PaymentId {
    PaymentId::from(format!("pay_{}", sample.order).as_str())
}

/// A plugin may leave the amount out; one it gives must be the request's.
fn answered_amount(answered: Option<i64>, asked: i64) -> Option<String> {
    answered
        .filter(|a| *a != asked)
        .map(|a| format!("answered an amount of {a} for {asked}"))
}

/// What is wrong with a paid card and its payment's holds, if anything:
/// exactly `units` captured, off the card's balance, nothing left held.
fn took(
    before: &CardRecord,
    after: &CardRecord,
    holds: &[HoldRecord],
    units: i64,
) -> Option<String> {
    let taken = captured(holds);
    if taken != units || holds.iter().any(|h| h.status == HoldStatus::Held) {
        return Some(format!(
            "succeeded with {taken} captured for a payment of {units} ({})",
            describe(holds)
        ));
    }
    (after.balance != before.balance - units || after.held != 0).then(|| {
        format!(
            "the card went from {} to {} available ({} held) for a payment of {units}",
            before.balance, after.balance, after.held
        )
    })
}

/// A card and its payment's holds at one moment.
struct Snapshot {
    balance: i64,
    held: i64,
    holds: Vec<(String, HoldStatus, i64, i64)>,
    described: String,
}

impl Snapshot {
    async fn take(bench: &Bench, card: &CardId, sample: &Sample) -> Result<Snapshot, BenchError> {
        let record = bench.card(card).await?;
        let holds = bench.holds(&payment_id(sample)).await?;
        Ok(Snapshot {
            balance: record.balance,
            held: record.held,
            holds: holds
                .iter()
                .map(|h| (h.id.to_string(), h.status, h.amount, h.refunded))
                .collect(),
            described: describe(&holds),
        })
    }

    /// How the card and holds changed since `self`; `None` if they did not.
    fn moved_to(&self, now: &Snapshot) -> Option<String> {
        let same = self.balance == now.balance && self.held == now.held && self.holds == now.holds;
        (!same).then(|| {
            format!(
                "the card went from {} available, {} held ({}) to {} available, {} held ({})",
                self.balance, self.held, self.described, now.balance, now.held, now.described
            )
        })
    }

    /// What is wrong with a refund's credit, if anything: exactly `back`
    /// on the card, as credits of the payment's holds.
    fn gave_back(&self, now: &Snapshot, back: i64) -> Option<String> {
        let credited = |s: &Snapshot| s.holds.iter().map(|h| h.3).sum::<i64>();
        let to_card = now.balance - self.balance;
        let to_holds = credited(now) - credited(self);
        (to_card != back || to_holds != back).then(|| {
            format!(
                "{to_card} came back to the card and the holds were credited {to_holds}, for a refund of {back}"
            )
        })
    }
}
