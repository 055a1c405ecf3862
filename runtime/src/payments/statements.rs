//! A channel's statement of a business day, read page by page through its
//! plugin (contract 1.1's `statement`), for reconciliation: bounded in
//! pages and checked to move forward, so a plugin that repeats its cursor
//! cannot keep the host reading.

use super::{PaymentError, Payments, Result};
use crate::registry::Tenant;
use paycore_core::channel::StatementPage;
use paycore_core::reconcile::{StatedTotals, StatementLine};

/// The most pages one statement may take: 10,000 pages of the plugins'
/// 2,000 lines is far beyond any day a merchant account has.
const MAX_PAGES: usize = 10_000;

/// A whole statement, its pages joined.
#[derive(Debug, Clone)]
pub struct Statement {
    pub time_zone: String,
    pub lines: Vec<StatementLine>,
    /// As the last page stated them.
    pub totals: StatedTotals,
}

impl Payments {
    /// Reads every page of `channel`'s statement of `day`. A channel whose
    /// plugin publishes none, a page that fails, or a statement that does
    /// not hold together (its time zone changing between pages, a cursor
    /// that does not move) is an error naming why; nothing is written.
    pub async fn statement(&self, tenant: &Tenant, channel: &str, day: &str) -> Result<Statement> {
        let bound = tenant.channel(channel).ok_or(PaymentError::NotFound)?;
        let mut cursor: Option<String> = None;
        let mut statement: Option<Statement> = None;
        for _ in 0..MAX_PAGES {
            let ctx = self.call_context(&tenant.config.id, bound);
            let page: StatementPage = self
                .host
                .statement(&bound.plugin, bound.grant.clone(), ctx, day, cursor.clone())
                .await
                .map_err(|e| PaymentError::Unacceptable {
                    code: "statement_unavailable",
                    message: format!("the channel's statement of {day} could not be read: {e}"),
                    field: None,
                })?;
            let whole = statement.get_or_insert_with(|| Statement {
                time_zone: page.time_zone.clone(),
                lines: Vec::new(),
                totals: StatedTotals::default(),
            });
            if whole.time_zone != page.time_zone {
                return Err(broken(format!(
                    "its pages name two time zones, {} and {}",
                    whole.time_zone, page.time_zone
                )));
            }
            whole.lines.extend(page.lines);
            whole.totals = page.totals;
            match page.next {
                None => return Ok(statement.expect("filled above")),
                Some(next) if Some(&next) == cursor.as_ref() => {
                    return Err(broken(format!("page `{next}` names itself as the next")));
                }
                Some(next) => cursor = Some(next),
            }
        }
        Err(broken(format!("it runs past {MAX_PAGES} pages")))
    }
}

fn broken(why: String) -> PaymentError {
    PaymentError::Unacceptable {
        code: "statement_unreadable",
        message: format!("the channel's statement does not hold together: {why}"),
        field: None,
    }
}
