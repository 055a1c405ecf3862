//! A ledger move as one group-committed write on SQLite (see
//! `group_commit`): a card
//! payment makes two moves (its hold, its capture), and in the general
//! path each is eight statements, each a hand-off to the connection's
//! thread while this process holds its turn at the database file. Here the
//! same statements go as one script, each guarded on the one before having
//! changed its row (`changes() > 0`), and a last statement that fails —
//! rolling the whole write back — unless the last step changed its row.
//!
//! This is only the fast path of a move applied for the first time and
//! accepted. Anything else (a key used before, a refusal, a database
//! error) rolls back and is answered by the general path
//! (`ledger::LedgerConn::apply`), which says exactly why, so the two can
//! never disagree on what is accepted: the conditions are the same
//! statements'.

use super::StoreResult;
use super::ledger::Applied;
use crate::domain::TenantId;
use paycore_core::ledger::{HoldChange, Move};

/// Whether `planned` has the shape this path writes: value moved within
/// or out of a card, with or without a hold; not a move that caps what the
/// card may hold or extends its validity (top-ups, issues), which the
/// general path alone writes.
pub(super) fn fits(planned: &Move) -> bool {
    planned.cap.is_none() && planned.valid_until.is_none() && !planned.postings.is_empty()
}

/// Applies `planned` in one script; `None` if it did not apply (nothing
/// written: the general path answers why).
pub(super) async fn apply(
    writer: &super::group_commit::Writer,
    tenant: &TenantId,
    planned: &Move,
    clock: &crate::clock::Clock,
) -> StoreResult<Option<Applied>> {
    let move_id = crate::domain::new_id("mv");
    let (payment_id, refund_id, hold_amount) = match &planned.hold {
        Some((_, HoldChange::Open { payment, amount })) => (Some(payment), None, *amount),
        Some((_, HoldChange::Refund { refund, amount })) => (None, Some(refund), *amount),
        _ => (None, None, planned.postings.iter().map(|p| p.amount).sum()),
    };
    let mut query = sqlx::query(sqlx::AssertSqlSafe(script(planned)))
        .bind(tenant.clone())
        .bind(planned.card.clone())
        .bind(move_id.clone())
        .bind(planned.key.clone())
        .bind(planned.fingerprint())
        .bind(planned.kind)
        .bind(payment_id.cloned())
        .bind(refund_id.cloned())
        .bind(planned.hold.as_ref().map(|(hold, _)| hold.clone()))
        .bind(clock.now_rfc3339())
        .bind(clock.now_millis())
        .bind(hold_amount);
    for posting in &planned.postings {
        query = query
            .bind(posting.amount)
            .bind(posting.from.name(&planned.card))
            .bind(posting.to.name(&planned.card))
            .bind(posting.kind);
    }
    // Refused (or failed) part-way: rolled back, nothing written, and
    // the general path finds out why (or whatever happened).
    match writer.write::<(Option<String>,)>(query).await {
        Ok(_) => Ok(Some(Applied { move_id, now: true })),
        Err(_) => Ok(None),
    }
}

/// Parameters: $1 tenant, $2 card, $3 the move's id, $4 key, $5
/// fingerprint, $6 kind, $7 payment, $8 refund, $9 hold, $10 now, $11
/// now_ms, $12 the hold's amount; then per posting amount, from, to, kind.
fn script(planned: &Move) -> String {
    // Each statement goes ahead only if the one before changed its row.
    const AFTER: &str = "AND changes() > 0";
    let mut sql = String::from(
        "INSERT INTO ledger_moves (id, tenant_id, move_key, fingerprint, kind, card_id, payment_id, refund_id, hold_id, created_at, created_ms)
         SELECT $3, $1, $4, $5, $6, $2, $7, $8, $9, $10, $11
         WHERE EXISTS (SELECT 1 FROM cards WHERE tenant_id = $1 AND id = $2)
         ON CONFLICT (tenant_id, move_key) DO NOTHING;\n",
    );
    if let Some((_, change)) = &planned.hold {
        sql.push_str(&match change {
            HoldChange::Open { .. } => format!(
                "INSERT INTO ledger_holds (id, tenant_id, card_id, payment_id, unit, amount, status, created_at, updated_at, created_ms)
                 SELECT $9, $1, $2, $7, unit, $12, 'held', $10, $10, $11 FROM cards
                 WHERE tenant_id = $1 AND id = $2 {AFTER};\n"
            ),
            HoldChange::Capture | HoldChange::Release => format!(
                "UPDATE ledger_holds SET status = '{to}', version = version + 1, updated_at = $10
                 WHERE tenant_id = $1 AND id = $9 AND card_id = $2 AND status = 'held' AND amount = $12 {AFTER};\n",
                to = if *change == HoldChange::Capture {
                    "captured"
                } else {
                    "released"
                },
            ),
            HoldChange::Refund { .. } => format!(
                "UPDATE ledger_holds SET refunded = refunded + $12, version = version + 1, updated_at = $10
                 WHERE tenant_id = $1 AND id = $9 AND card_id = $2 AND status = 'captured'
                   AND refunded + $12 <= amount {AFTER};\n"
            ),
        });
    }
    for (i, posting) in planned.postings.iter().enumerate() {
        let [amount, from, to, kind] = [13, 14, 15, 16].map(|n| n + 4 * i);
        if let Some(bucket) = posting.from.bucket() {
            let gated = bucket == paycore_core::ledger::Bucket::Available;
            sql.push_str(&format!(
                "UPDATE cards SET {col} = {col} - ${amount}, version = version + 1, updated_at = $10
                 WHERE tenant_id = $1 AND id = $2 AND {col} >= ${amount}{active}{sole} {AFTER};\n",
                col = bucket.column(),
                active = if gated && planned.requires_active {
                    " AND status = 'active'"
                } else {
                    ""
                },
                sole = if gated && planned.sole_hold {
                    " AND held = 0"
                } else {
                    ""
                },
            ));
        }
        if let Some(bucket) = posting.to.bucket() {
            let gated = planned.requires_active && posting.from.bucket().is_none();
            sql.push_str(&format!(
                "UPDATE cards SET {col} = {col} + ${amount}, version = version + 1, updated_at = $10
                 WHERE tenant_id = $1 AND id = $2{active} {AFTER};\n",
                col = bucket.column(),
                active = if gated { " AND status = 'active'" } else { "" },
            ));
        }
        sql.push_str(&format!(
            "INSERT INTO ledger_postings (move_id, tenant_id, card_id, program_id, unit, from_account, to_account, amount, kind, created_at, created_ms)
             SELECT $3, $1, $2, program_id, unit, ${from}, ${to}, ${amount}, ${kind}, $10, $11 FROM cards
             WHERE tenant_id = $1 AND id = $2 {AFTER};\n"
        ));
    }
    // The last step changed nothing: an earlier one was refused. json() of
    // a malformed text is an error, which stops the script before COMMIT.
    sql.push_str("SELECT json(CASE WHEN changes() = 0 THEN 'not applied' END)");
    sql
}

#[cfg(test)]
mod tests {
    use super::*;
    use paycore_core::ledger::{CardId, HoldId};

    #[test]
    fn a_hold_is_one_guarded_script_that_fails_unless_every_step_changed_its_row() {
        let planned = Move::hold(
            &CardId::from("card_1"),
            &HoldId::from("hold_1"),
            &crate::domain::PaymentId::from("pay_1"),
            500,
        )
        .unwrap();
        assert!(fits(&planned));
        let sql = script(&planned);
        assert!(sql.starts_with("INSERT INTO ledger_moves") && sql.ends_with("END)"));
        // Every statement after the move's insert waits on the one before.
        assert_eq!(sql.matches("changes() > 0").count(), 4, "{sql}");
        assert!(sql.contains("balance >= $13 AND status = 'active'"));
        assert!(sql.contains("SET held = held + $13"));
    }
}
