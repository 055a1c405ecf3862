//! Writing a decision made on a row that someone else may change first.
//!
//! Every state change is decided on the row as read and written only if
//! the row is still at that version (`StoreError::Stale` otherwise); then
//! the row is read again and the decision made anew, since what was right
//! for the old row may not be for the new one. One loop for all of them.

use super::{PaymentError, Result};
use crate::store::StoreError;

/// How often a decision is remade before giving up: each retry means
/// another writer changed the row in between, which settles quickly.
const MAX_TRIES: usize = 5;

/// Runs `decide_and_write` on `current`; while it finds the row stale,
/// reads the row again with `reload` and runs it on that. (Plain closures
/// returning futures rather than async closures: the futures must be
/// `Send` for the HTTP server's tasks.)
pub(super) async fn retry_on_stale<R, T, Written, Reloaded>(
    mut current: R,
    mut decide_and_write: impl FnMut(R) -> Written,
    mut reload: impl FnMut() -> Reloaded,
) -> Result<T>
where
    Written: Future<Output = Result<T>>,
    Reloaded: Future<Output = Result<R>>,
{
    for _ in 0..MAX_TRIES {
        match decide_and_write(current).await {
            Err(PaymentError::Store(StoreError::Stale)) => current = reload().await?,
            done => return done,
        }
    }
    Err(StoreError::Stale.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stale_write_is_decided_again_on_the_row_read_anew() {
        let seen = std::cell::RefCell::new(Vec::new());
        let rows = std::cell::Cell::new(1);
        let result = retry_on_stale(
            1,
            |v: i32| {
                seen.borrow_mut().push(v);
                async move {
                    if v < 3 {
                        Err(StoreError::Stale.into())
                    } else {
                        Ok(v * 10)
                    }
                }
            },
            || {
                rows.set(rows.get() + 1);
                let row = rows.get();
                async move { Ok(row) }
            },
        )
        .await;
        assert_eq!(result.ok(), Some(30));
        assert_eq!(*seen.borrow(), [1, 2, 3]);
    }

    #[tokio::test]
    async fn it_gives_up_stale_after_a_bounded_number_of_tries() {
        let mut tries = 0;
        let result: Result<()> = retry_on_stale(
            0,
            |_: i32| {
                tries += 1;
                async { Err(StoreError::Stale.into()) }
            },
            || async { Ok(0) },
        )
        .await;
        assert!(matches!(
            result,
            Err(PaymentError::Store(StoreError::Stale))
        ));
        assert_eq!(tries, MAX_TRIES);
    }

    #[tokio::test]
    async fn other_errors_and_reload_failures_end_it_at_once() {
        let result: Result<()> = retry_on_stale(
            0,
            |_: i32| async { Err(PaymentError::NotFound) },
            || async { Ok(0) },
        )
        .await;
        assert!(matches!(result, Err(PaymentError::NotFound)));
        let result: Result<()> = retry_on_stale(
            0,
            |_: i32| async { Err(StoreError::Stale.into()) },
            || async { Err(PaymentError::NotFound) },
        )
        .await;
        assert!(matches!(result, Err(PaymentError::NotFound)));
    }
}
