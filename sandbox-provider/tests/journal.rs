//! The provider keeps its orders in a journal file across restarts, as a
//! real channel keeps them: a second provider on the same file answers for
//! everything the first one took, and nothing else.

use std::time::Duration;

use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;

async fn restarted_on(journal: &std::path::Path) -> Sandbox {
    let sb = Sandbox::start().await;
    sb.provider.keep_orders_in(journal).unwrap();
    sb
}

#[tokio::test]
async fn orders_refunds_and_cancelled_numbers_survive_a_restart() {
    let folder = Folder::new("journal");
    let journal = folder.0.join("provider.jsonl");
    let first = restarted_on(&journal).await;
    let paid = first
        .call("pay", barcode("j-paid", "100.00", "CNY", "1234567890"))
        .await;
    assert_eq!(paid.str("status"), "SUCCEEDED");
    let trade_no = paid.str("trade_no").to_string();
    let typing = first
        .call("pay", barcode("j-typing", "5.00", "CNY", "1234567892"))
        .await;
    assert_eq!(typing.str("status"), "PROCESSING");
    let refund = first
        .call(
            "refund",
            json!({ "out_trade_no": "j-paid", "out_refund_no": "j-rf", "amount": "30.00", "reason": "" }),
        )
        .await;
    assert_eq!(refund.str("status"), "SUCCEEDED");
    // A cancel of a number the provider never saw spends it.
    let never = first
        .call("cancel", json!({ "out_trade_no": "j-never" }))
        .await;
    assert_eq!(
        (never.status, never.code()),
        (StatusCode::NOT_FOUND, "ORDER_NOT_FOUND")
    );
    drop(first);

    // A torn last line (a kill midway through a write) is skipped.
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&journal)
            .unwrap();
        f.write_all(br#"{"kind":"order","merchant":"m1","trade_"#)
            .unwrap();
    }

    let second = restarted_on(&journal).await;
    let found = second.query("j-paid").await;
    assert_eq!(
        (found.str("status"), found.str("trade_no")),
        ("SUCCEEDED", trade_no.as_str())
    );
    let refund = second
        .call("refund_query", json!({ "out_refund_no": "j-rf" }))
        .await;
    assert_eq!(
        (refund.str("status"), refund.str("amount")),
        ("SUCCEEDED", "30.00")
    );
    // What remains refundable was remembered too.
    let over = second
        .call(
            "refund",
            json!({ "out_trade_no": "j-paid", "out_refund_no": "j-rf2", "amount": "70.01", "reason": "" }),
        )
        .await;
    assert_eq!(over.code(), "REFUND_EXCEEDS", "{}", over.body);
    // The processing order's timer ran on while the provider was down.
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(second.query("j-typing").await.str("status"), "SUCCEEDED");
    // A late pay on the cancelled number takes no money.
    let late = second
        .call("pay", barcode("j-never", "1.00", "CNY", "1234567890"))
        .await;
    assert_eq!(late.code(), "ORDER_CLOSED", "{}", late.body);
    // What it never saw is still unknown to it.
    assert_eq!(second.query("j-unseen").await.code(), "ORDER_NOT_FOUND");
    // New numbers never repeat old ones.
    let new = second
        .call("pay", barcode("j-new", "1.00", "CNY", "1234567890"))
        .await;
    assert_ne!(new.str("trade_no"), trade_no);
    drop(second);

    // Opening compacts: one line per record, and the torn line is gone.
    let lines = std::fs::read_to_string(&journal).unwrap();
    let third = restarted_on(&journal).await;
    assert_eq!(third.query("j-new").await.str("status"), "SUCCEEDED");
    let compacted = std::fs::read_to_string(&journal).unwrap();
    assert!(compacted.lines().count() <= lines.lines().count());
    assert!(
        compacted
            .lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
    );
}
