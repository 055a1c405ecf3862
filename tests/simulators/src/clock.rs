//! The time a simulator dates payments and refunds by: the system's, or
//! the clock paycore's tests move, so a payment made "on 1 June" is on
//! 1 June's statement. Signatures and their timestamps keep the real time.

use std::sync::Arc;

use time::OffsetDateTime;

#[derive(Clone)]
pub struct BusinessClock(Arc<dyn Fn() -> OffsetDateTime + Send + Sync>);

impl BusinessClock {
    pub fn system() -> BusinessClock {
        BusinessClock(Arc::new(OffsetDateTime::now_utc))
    }

    pub fn from_fn(now: impl Fn() -> OffsetDateTime + Send + Sync + 'static) -> BusinessClock {
        BusinessClock(Arc::new(now))
    }

    pub fn now(&self) -> OffsetDateTime {
        (self.0)()
    }
}

impl Default for BusinessClock {
    fn default() -> Self {
        BusinessClock::system()
    }
}

impl std::fmt::Debug for BusinessClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BusinessClock")
    }
}
