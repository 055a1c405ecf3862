//! Reconciliation against the WeChat Pay simulator's trade bill.
