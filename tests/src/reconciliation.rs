//! What reconciliation tests read off a run.

use serde_json::Value;

/// The run's differences still open, as `(kind, merchant_order_no)`,
/// sorted.
pub fn open_differences(run: &Value) -> Vec<(String, String)> {
    let mut found: Vec<_> = run["differences"]
        .as_array()
        .expect("differences listed")
        .iter()
        .filter(|d| d["state"] == "open")
        .map(|d| {
            (
                d["kind"].as_str().unwrap().to_owned(),
                d["merchant_order_no"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    found.sort();
    found
}
