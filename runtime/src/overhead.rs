//! How long a request spent in paycore itself: its time in the handler minus
//! the time its plugins spent waiting on their channel's answers (the host's
//! outbound HTTP). The HTTP edge reports it as the `Paycore-Overhead` header.
//!
//! The waits are added up in a task-local, so no signature between the edge
//! and the plugin host has to carry them: a plugin call runs inside the
//! request's task (wasmtime polls the guest, and the host imports it calls,
//! from that task).

use std::cell::Cell;
use std::future::Future;
use std::time::{Duration, Instant};

tokio::task_local! {
    static CHANNEL_WAIT: Cell<Duration>;
}

/// Adds `waited` to the current request's channel time. Outside a measured
/// request (the sweeper, webhooks, loading) it does nothing.
pub fn record_channel_wait(waited: Duration) {
    let _ = CHANNEL_WAIT.try_with(|total| total.set(total.get() + waited));
}

/// Runs `work` and returns its output with the time it took excluding the
/// channel waits recorded inside it.
pub async fn measure<F: Future>(work: F) -> (F::Output, Duration) {
    let started = Instant::now();
    CHANNEL_WAIT
        .scope(Cell::new(Duration::ZERO), async move {
            let output = work.await;
            let waited = CHANNEL_WAIT.with(Cell::get);
            (output, started.elapsed().saturating_sub(waited))
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn channel_waits_are_subtracted() {
        let (answer, overhead) = measure(async {
            tokio::time::sleep(Duration::from_millis(40)).await;
            record_channel_wait(Duration::from_millis(40));
            7
        })
        .await;
        assert_eq!(answer, 7);
        assert!(overhead < Duration::from_millis(30), "{overhead:?}");
    }

    #[tokio::test]
    async fn waits_outside_a_request_are_ignored() {
        // Outside any request: nothing to add it to, and nothing fails.
        record_channel_wait(Duration::from_secs(1));
        // Nor is it kept for the next request, nor does a task the request
        // spawns (a webhook, say) charge it: the request's own 20 ms stay.
        let ((), overhead) = measure(async {
            tokio::spawn(async { record_channel_wait(Duration::from_secs(1)) })
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        })
        .await;
        assert!(overhead >= Duration::from_millis(20), "{overhead:?}");
    }
}
