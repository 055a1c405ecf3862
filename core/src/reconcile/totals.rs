//! Totals per currency: what the statement's lines add up to, a day's
//! summary, and the check of the statement against the totals the channel
//! states for it (which a truncated or tampered statement fails). Only
//! succeeded lines move money, so only they are summed; every sum is
//! checked, and one that would overflow is an error, never a wrapped
//! number.

use super::{DifferenceKind, LineKind, LineStatus, Reconciliation, StatementLine};
use std::collections::BTreeMap;
use std::fmt;

/// A count and its sums, over succeeded lines of one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindTotals {
    pub count: u64,
    pub amount: i64,
    pub fee: i64,
}

/// What a statement's lines add up to in one currency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatementTotals {
    pub payments: KindTotals,
    pub refunds: KindTotals,
    pub reversals: KindTotals,
    /// Lines processing or failed: counted, never summed.
    pub not_succeeded: u64,
    /// Payments' amounts.
    pub gross: i64,
    /// Refunds' and reversals' amounts.
    pub refunded: i64,
    /// Every succeeded line's fee (a refund's given-back fee is negative).
    pub fees: i64,
    /// `gross − refunded − fees`: what the channel owes the merchant.
    pub net: i64,
}

/// One currency's day: the statement's totals and the verdicts' counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub statement: StatementTotals,
    pub matched: u64,
    pub in_flight: u64,
    /// Only kinds that occurred.
    pub differences: BTreeMap<DifferenceKind, u64>,
}

/// A figure of the totals, as errors name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Figure {
    PaymentCount,
    PaymentAmount,
    PaymentFees,
    RefundCount,
    RefundAmount,
    RefundFees,
    ReversalCount,
    ReversalAmount,
    ReversalFees,
    NotSucceededCount,
    /// Refunds and reversals together, as channels state them.
    RefundedCount,
    Refunded,
    Fees,
    Net,
    Matched,
    InFlight,
    Differences,
}

impl Figure {
    pub fn as_str(self) -> &'static str {
        match self {
            Figure::PaymentCount => "payment count",
            Figure::PaymentAmount => "payment amount",
            Figure::PaymentFees => "payment fees",
            Figure::RefundCount => "refund count",
            Figure::RefundAmount => "refund amount",
            Figure::RefundFees => "refund fees",
            Figure::ReversalCount => "reversal count",
            Figure::ReversalAmount => "reversal amount",
            Figure::ReversalFees => "reversal fees",
            Figure::NotSucceededCount => "count of lines not succeeded",
            Figure::RefundedCount => "count of refunds and reversals",
            Figure::Refunded => "amount of refunds and reversals",
            Figure::Fees => "fees",
            Figure::Net => "net",
            Figure::Matched => "matched count",
            Figure::InFlight => "in-flight count",
            Figure::Differences => "difference count",
        }
    }
}

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A sum that does not fit in 64 bits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {figure} in {currency} overflows 64 bits")]
pub struct Overflow {
    pub currency: String,
    pub figure: Figure,
}

/// The totals the channel states for one currency of its statement, over
/// the trades and refunds that succeeded; `None` where the channel states
/// nothing (as the plugin contract's `stated-totals` has them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatedCurrencyTotals {
    pub payment_count: Option<u64>,
    pub payment_amount: Option<i64>,
    /// Refunds and reversals together.
    pub refund_count: Option<u64>,
    pub refund_amount: Option<i64>,
    pub fees: Option<i64>,
}

impl StatedCurrencyTotals {
    /// What a channel that states totals means by leaving a currency out:
    /// none of it.
    const NOTHING: StatedCurrencyTotals = StatedCurrencyTotals {
        payment_count: Some(0),
        payment_amount: Some(0),
        refund_count: Some(0),
        refund_amount: Some(0),
        fees: Some(0),
    };
}

/// The channel's own summary of its statement, by currency code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatedTotals {
    pub per_currency: BTreeMap<String, StatedCurrencyTotals>,
}

/// One figure the lines and the stated totals disagree on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disagreement {
    pub currency: String,
    pub figure: Figure,
    /// Wide enough for a count and an amount alike.
    pub stated: i128,
    pub from_lines: i128,
}

impl fmt::Display for Disagreement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: stated {}, lines add up to {}",
            self.currency, self.figure, self.stated, self.from_lines
        )
    }
}

/// Why a statement does not add up to what its channel states.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotalsError {
    #[error("the statement's lines disagree with its stated totals: {}", list(.0))]
    Disagree(Vec<Disagreement>),
    #[error(transparent)]
    Overflow(#[from] Overflow),
}

fn list(disagreements: &[Disagreement]) -> String {
    disagreements
        .iter()
        .map(Disagreement::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Adds, or names the figure that overflowed.
fn add(sum: i64, value: i64, currency: &str, figure: Figure) -> Result<i64, Overflow> {
    sum.checked_add(value)
        .ok_or_else(|| overflow(currency, figure))
}

fn count_one(count: u64, currency: &str, figure: Figure) -> Result<u64, Overflow> {
    count
        .checked_add(1)
        .ok_or_else(|| overflow(currency, figure))
}

fn overflow(currency: &str, figure: Figure) -> Overflow {
    Overflow {
        currency: currency.to_string(),
        figure,
    }
}

/// What the lines add up to, by currency.
pub fn statement_totals(
    lines: &[StatementLine],
) -> Result<BTreeMap<String, StatementTotals>, Overflow> {
    let mut by_currency: BTreeMap<String, StatementTotals> = BTreeMap::new();
    for line in lines {
        let currency = line.currency.as_str();
        let totals = by_currency.entry(line.currency.clone()).or_default();
        if line.status != LineStatus::Succeeded {
            totals.not_succeeded =
                count_one(totals.not_succeeded, currency, Figure::NotSucceededCount)?;
            continue;
        }
        let (kind, figures) = match line.kind {
            LineKind::Payment => (
                &mut totals.payments,
                (
                    Figure::PaymentCount,
                    Figure::PaymentAmount,
                    Figure::PaymentFees,
                ),
            ),
            LineKind::Refund => (
                &mut totals.refunds,
                (
                    Figure::RefundCount,
                    Figure::RefundAmount,
                    Figure::RefundFees,
                ),
            ),
            LineKind::Reversal => (
                &mut totals.reversals,
                (
                    Figure::ReversalCount,
                    Figure::ReversalAmount,
                    Figure::ReversalFees,
                ),
            ),
        };
        let (count_figure, amount_figure, fee_figure) = figures;
        kind.count = count_one(kind.count, currency, count_figure)?;
        kind.amount = add(kind.amount, line.amount, currency, amount_figure)?;
        kind.fee = add(kind.fee, line.fee, currency, fee_figure)?;
    }
    for (currency, totals) in &mut by_currency {
        totals.gross = totals.payments.amount;
        totals.refunded = add(
            totals.refunds.amount,
            totals.reversals.amount,
            currency,
            Figure::Refunded,
        )?;
        let fees = add(
            totals.payments.fee,
            totals.refunds.fee,
            currency,
            Figure::Fees,
        )?;
        totals.fees = add(fees, totals.reversals.fee, currency, Figure::Fees)?;
        totals.net = totals
            .gross
            .checked_sub(totals.refunded)
            .and_then(|net| net.checked_sub(totals.fees))
            .ok_or_else(|| overflow(currency, Figure::Net))?;
    }
    Ok(by_currency)
}

/// Each currency's summary: the lines' totals and the verdicts' counts.
pub(super) fn summarise(
    lines: &[StatementLine],
    outcome: &Reconciliation,
) -> Result<BTreeMap<String, Summary>, Overflow> {
    let mut summaries: BTreeMap<String, Summary> = statement_totals(lines)?
        .into_iter()
        .map(|(currency, statement)| {
            let summary = Summary {
                statement,
                ..Summary::default()
            };
            (currency, summary)
        })
        .collect();
    for matched in &outcome.matched {
        let currency = matched.line.currency.as_str();
        let summary = summaries.entry(currency.to_string()).or_default();
        summary.matched = count_one(summary.matched, currency, Figure::Matched)?;
    }
    for in_flight in &outcome.in_flight {
        let currency = in_flight.line.currency.as_str();
        let summary = summaries.entry(currency.to_string()).or_default();
        summary.in_flight = count_one(summary.in_flight, currency, Figure::InFlight)?;
    }
    for difference in &outcome.differences {
        let currency = difference.currency();
        let summary = summaries.entry(currency.to_string()).or_default();
        let count = summary.differences.entry(difference.kind).or_default();
        *count = count_one(*count, currency, Figure::Differences)?;
    }
    Ok(summaries)
}

/// Checks the lines against the channel's stated totals: every figure the
/// channel states, of every currency either side has. A currency the lines
/// have and the channel, stating others, leaves out counts as stated zero;
/// a channel that states no totals at all leaves nothing to check. All
/// disagreements are returned, so a person sees at once whether a page is
/// missing (counts and amounts short) or a line was altered (an amount
/// off, counts equal).
pub fn check_stated_totals(
    lines: &[StatementLine],
    stated: &StatedTotals,
) -> Result<(), TotalsError> {
    let computed = statement_totals(lines)?;
    if stated.per_currency.is_empty() {
        return Ok(());
    }
    let mut currencies: Vec<&String> = computed.keys().chain(stated.per_currency.keys()).collect();
    currencies.sort();
    currencies.dedup();
    let mut disagreements = Vec::new();
    for currency in currencies {
        let from_lines = computed.get(currency).cloned().unwrap_or_default();
        let stated = stated
            .per_currency
            .get(currency)
            .copied()
            .unwrap_or(StatedCurrencyTotals::NOTHING);
        let refund_count = from_lines
            .refunds
            .count
            .checked_add(from_lines.reversals.count)
            .ok_or_else(|| overflow(currency, Figure::RefundedCount))?;
        let figures: [(Figure, Option<i128>, i128); 5] = [
            (
                Figure::PaymentCount,
                stated.payment_count.map(i128::from),
                i128::from(from_lines.payments.count),
            ),
            (
                Figure::PaymentAmount,
                stated.payment_amount.map(i128::from),
                i128::from(from_lines.gross),
            ),
            (
                Figure::RefundedCount,
                stated.refund_count.map(i128::from),
                i128::from(refund_count),
            ),
            (
                Figure::Refunded,
                stated.refund_amount.map(i128::from),
                i128::from(from_lines.refunded),
            ),
            (
                Figure::Fees,
                stated.fees.map(i128::from),
                i128::from(from_lines.fees),
            ),
        ];
        for (figure, stated, from_lines) in figures {
            if let Some(stated) = stated
                && stated != from_lines
            {
                disagreements.push(Disagreement {
                    currency: currency.clone(),
                    figure,
                    stated,
                    from_lines,
                });
            }
        }
    }
    if disagreements.is_empty() {
        Ok(())
    } else {
        Err(TotalsError::Disagree(disagreements))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::tests::{line, payment_line, refund_line, reversal_line};

    fn day_of_lines() -> Vec<StatementLine> {
        vec![
            payment_line("A-1", 10_000, 60),
            payment_line("A-2", 5_000, 30),
            refund_line("A-1", "R-1", 4_000, -24),
            reversal_line("A-2", 5_000, -30),
            line(
                LineKind::Payment,
                "A-3",
                None,
                700,
                0,
                "CNY",
                LineStatus::Failed,
            ),
            line(
                LineKind::Payment,
                "U-1",
                None,
                999,
                9,
                "USD",
                LineStatus::Succeeded,
            ),
        ]
    }

    #[test]
    fn succeeded_lines_add_up_per_currency_and_kind() {
        let totals = statement_totals(&day_of_lines()).unwrap();
        let cny = &totals["CNY"];
        assert_eq!(
            cny.payments,
            KindTotals {
                count: 2,
                amount: 15_000,
                fee: 90
            }
        );
        assert_eq!(
            cny.refunds,
            KindTotals {
                count: 1,
                amount: 4_000,
                fee: -24
            }
        );
        assert_eq!(
            cny.reversals,
            KindTotals {
                count: 1,
                amount: 5_000,
                fee: -30
            }
        );
        assert_eq!(cny.not_succeeded, 1);
        assert_eq!(cny.gross, 15_000);
        assert_eq!(cny.refunded, 9_000);
        assert_eq!(cny.fees, 36);
        assert_eq!(cny.net, 15_000 - 9_000 - 36);
        let usd = &totals["USD"];
        assert_eq!(usd.gross, 999);
        assert_eq!(usd.net, 990);
    }

    #[test]
    fn sums_that_overflow_are_errors_naming_the_figure() {
        let lines = vec![payment_line("A-1", i64::MAX, 0), payment_line("A-2", 1, 0)];
        assert_eq!(
            statement_totals(&lines),
            Err(Overflow {
                currency: "CNY".into(),
                figure: Figure::PaymentAmount
            })
        );
        // Each sum fits; the net does not: the largest gross plus a fee
        // given back.
        let lines = vec![
            payment_line("A-1", i64::MAX, 0),
            refund_line("A-1", "R-1", 0, -1),
        ];
        let err = statement_totals(&lines).unwrap_err();
        assert_eq!(err.figure, Figure::Net);
        assert_eq!(err.to_string(), "the net in CNY overflows 64 bits");
        let lines = vec![
            refund_line("A-1", "R-1", i64::MAX, 0),
            reversal_line("A-2", 1, 0),
        ];
        assert_eq!(
            statement_totals(&lines).unwrap_err().figure,
            Figure::Refunded
        );
        let lines = vec![
            payment_line("A-1", 1, i64::MIN),
            refund_line("A-1", "R-1", 1, -1),
        ];
        assert_eq!(statement_totals(&lines).unwrap_err().figure, Figure::Fees);
    }

    fn stated_for_day() -> StatedTotals {
        let mut per_currency = BTreeMap::new();
        per_currency.insert(
            "CNY".to_string(),
            StatedCurrencyTotals {
                payment_count: Some(2),
                payment_amount: Some(15_000),
                refund_count: Some(2),
                refund_amount: Some(9_000),
                fees: Some(36),
            },
        );
        per_currency.insert(
            "USD".to_string(),
            StatedCurrencyTotals {
                payment_count: Some(1),
                payment_amount: Some(999),
                refund_count: Some(0),
                refund_amount: Some(0),
                fees: Some(9),
            },
        );
        StatedTotals { per_currency }
    }

    #[test]
    fn a_whole_statement_agrees_with_its_stated_totals() {
        assert_eq!(
            check_stated_totals(&day_of_lines(), &stated_for_day()),
            Ok(())
        );
    }

    #[test]
    fn a_truncated_statement_is_named_by_what_falls_short() {
        let mut lines = day_of_lines();
        lines.retain(|l| l.merchant_order_no != "A-2");
        let Err(TotalsError::Disagree(found)) = check_stated_totals(&lines, &stated_for_day())
        else {
            panic!("a missing page must not add up");
        };
        let named: Vec<(Figure, i128, i128)> = found
            .iter()
            .map(|d| {
                assert_eq!(d.currency, "CNY");
                (d.figure, d.stated, d.from_lines)
            })
            .collect();
        // The payment's fee and the reversal's given-back fee cancel out,
        // so fees alone would not have noticed.
        assert_eq!(
            named,
            vec![
                (Figure::PaymentCount, 2, 1),
                (Figure::PaymentAmount, 15_000, 10_000),
                (Figure::RefundedCount, 2, 1),
                (Figure::Refunded, 9_000, 4_000),
            ]
        );
    }

    #[test]
    fn a_tampered_amount_and_an_unstated_currency_are_named() {
        let mut lines = day_of_lines();
        lines[0].amount = 10_001;
        lines.push(payment_line("H-1", 100, 1));
        lines.last_mut().unwrap().currency = "HKD".into();
        let err = check_stated_totals(&lines, &stated_for_day()).unwrap_err();
        let TotalsError::Disagree(found) = &err else {
            panic!("{err}");
        };
        assert_eq!(
            found,
            &vec![
                Disagreement {
                    currency: "CNY".into(),
                    figure: Figure::PaymentAmount,
                    stated: 15_000,
                    from_lines: 15_001
                },
                Disagreement {
                    currency: "HKD".into(),
                    figure: Figure::PaymentCount,
                    stated: 0,
                    from_lines: 1
                },
                Disagreement {
                    currency: "HKD".into(),
                    figure: Figure::PaymentAmount,
                    stated: 0,
                    from_lines: 100
                },
                Disagreement {
                    currency: "HKD".into(),
                    figure: Figure::Fees,
                    stated: 0,
                    from_lines: 1
                },
            ]
        );
        assert!(
            err.to_string()
                .contains("CNY payment amount: stated 15000, lines add up to 15001"),
            "{err}"
        );
    }

    #[test]
    fn stated_totals_of_a_currency_with_no_lines_disagree() {
        let mut stated = stated_for_day();
        stated.per_currency.insert(
            "EUR".into(),
            StatedCurrencyTotals {
                payment_count: Some(1),
                payment_amount: Some(50),
                ..StatedCurrencyTotals::default()
            },
        );
        let Err(TotalsError::Disagree(found)) = check_stated_totals(&day_of_lines(), &stated)
        else {
            panic!("EUR has no lines");
        };
        assert_eq!(found.len(), 2);
        assert!(
            found
                .iter()
                .all(|d| d.currency == "EUR" && d.from_lines == 0)
        );
    }

    #[test]
    fn only_the_figures_a_channel_states_are_checked() {
        let mut stated = stated_for_day();
        for totals in stated.per_currency.values_mut() {
            totals.fees = None;
        }
        let mut lines = day_of_lines();
        lines[0].fee += 1;
        assert_eq!(check_stated_totals(&lines, &stated), Ok(()));
        lines[0].amount += 1;
        assert!(check_stated_totals(&lines, &stated).is_err());
        // A channel that states nothing gives nothing to check.
        assert_eq!(
            check_stated_totals(&lines, &StatedTotals::default()),
            Ok(())
        );
    }

    #[test]
    fn checking_totals_that_overflow_is_an_error_not_a_disagreement() {
        let lines = vec![payment_line("A-1", i64::MAX, 0), payment_line("A-2", 1, 0)];
        assert!(matches!(
            check_stated_totals(&lines, &StatedTotals::default()),
            Err(TotalsError::Overflow(Overflow {
                figure: Figure::PaymentAmount,
                ..
            }))
        ));
    }
}
