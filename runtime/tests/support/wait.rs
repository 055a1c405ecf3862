//! Waiting for what a test is about, never for a while: poll a condition
//! (a row, a file, what a proxy saw) until it holds, under a deadline.

#![allow(dead_code)] // each test file uses its own part of this

use std::time::{Duration, Instant};

/// Polls `check` every 50 ms until it returns `Some`, for at most `within`;
/// `None` if the deadline passed first (the caller's assertion says what
/// was missing).
pub async fn until<T>(within: Duration, mut check: impl AsyncFnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// [`until`], panicking with `what` when the deadline passes.
pub async fn eventually<T>(
    what: &str,
    within: Duration,
    check: impl AsyncFnMut() -> Option<T>,
) -> T {
    until(within, check)
        .await
        .unwrap_or_else(|| panic!("timed out after {within:?} waiting for {what}"))
}
