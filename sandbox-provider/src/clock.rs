//! The provider's wall clock, injectable so that tests can put payments on
//! a day that has already ended and ask for its statement.
//!
//! It dates what the provider records and reports: `paid_at`, refund and
//! cancel times, the date in trade numbers, and which statement day is
//! over. Timers (`PROCESSING` settling, `PENDING` expiring) measure elapsed
//! time on the monotonic clock instead, so moving this clock neither fires
//! nor delays them.

use std::fmt;
use std::sync::Arc;

use time::OffsetDateTime;

/// Where the provider reads the current time. The default is the system
/// clock; a test can pass [`Clock::from_fn`] with a time it controls.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> OffsetDateTime + Send + Sync>);

impl Clock {
    /// The system clock (`OffsetDateTime::now_utc`).
    pub fn system() -> Clock {
        Clock(Arc::new(OffsetDateTime::now_utc))
    }

    /// A clock that reads `now` whenever the provider needs the time, e.g.
    /// from an `Arc<Mutex<OffsetDateTime>>` a test moves forward.
    pub fn from_fn(now: impl Fn() -> OffsetDateTime + Send + Sync + 'static) -> Clock {
        Clock(Arc::new(now))
    }

    pub(crate) fn now(&self) -> OffsetDateTime {
        (self.0)()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Clock")
    }
}
