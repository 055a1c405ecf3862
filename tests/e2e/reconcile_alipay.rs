//! Reconciliation against the Alipay simulator's trade statement.
