//! Business time: where "now" comes from for what depends on it (a
//! checkout link's expiry, a lease, when a payment is due for its next
//! check, the timestamps written with a change).
//!
//! Code whose behaviour depends on the time takes a `Clock` rather than
//! reading the system's, so a test can hold time still or move it on
//! (`Clock::manual`) instead of sleeping. A `Clock` is a cheap handle:
//! clones share one time source, so advancing a manual clock moves it for
//! every holder (the store, the payments, the sweeper).

use std::fmt;
use std::sync::Arc;

/// A tenant's time zone (`timezone` in its file), in which local times
/// such as routing windows and coupons' hours are read.
pub use jiff::tz::TimeZone;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// A source of the current time: the system's, or one a test sets.
#[derive(Clone)]
pub struct Clock(Source);

#[derive(Clone)]
enum Source {
    System,
    /// Nanoseconds since the Unix epoch, shared by every clone.
    Manual(Arc<AtomicI64>),
}

impl Clock {
    /// The system's wall clock.
    pub fn system() -> Self {
        Clock(Source::System)
    }

    /// A clock that stands at `start` until it is moved (`advance`, `set`);
    /// its clones move with it. For tests of time-dependent behaviour.
    pub fn manual(start: jiff::Timestamp) -> Self {
        Clock(Source::Manual(Arc::new(AtomicI64::new(nanos_of(start)))))
    }

    /// A manual clock standing at the system's now.
    pub fn manual_at_now() -> Self {
        Clock::manual(jiff::Timestamp::now())
    }

    /// A manual clock at `millis` milliseconds since the Unix epoch.
    pub fn manual_at_millis(millis: i64) -> Self {
        Clock::manual(jiff::Timestamp::from_millisecond(millis).expect("a representable timestamp"))
    }

    /// Whether this is a manual clock.
    pub fn is_manual(&self) -> bool {
        matches!(self.0, Source::Manual(_))
    }

    /// Moves a manual clock on by `by`.
    ///
    /// # Panics
    /// On the system clock, which cannot be moved.
    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_nanos()).expect("an advance within i64 nanoseconds");
        self.manual_nanos().fetch_add(by, Ordering::SeqCst);
    }

    /// Sets a manual clock to `at`.
    ///
    /// # Panics
    /// On the system clock, which cannot be set.
    pub fn set(&self, at: jiff::Timestamp) {
        self.manual_nanos().store(nanos_of(at), Ordering::SeqCst);
    }

    fn manual_nanos(&self) -> &AtomicI64 {
        match &self.0 {
            Source::Manual(nanos) => nanos,
            Source::System => panic!("the system clock cannot be moved"),
        }
    }

    /// Now.
    pub fn now(&self) -> jiff::Timestamp {
        match &self.0 {
            Source::System => jiff::Timestamp::now(),
            Source::Manual(nanos) => {
                jiff::Timestamp::from_nanosecond(i128::from(nanos.load(Ordering::SeqCst)))
                    .expect("a manual clock holds a representable timestamp")
            }
        }
    }

    /// Now in milliseconds since the Unix epoch (truncated), as stored in
    /// the `*_ms` columns.
    pub fn now_millis(&self) -> i64 {
        (self.now().as_nanosecond() / 1_000_000) as i64
    }

    /// Now as RFC 3339 UTC with second precision (`2024-05-01T08:30:00Z`),
    /// the API's timestamp format.
    pub fn now_rfc3339(&self) -> String {
        rfc3339_seconds(self.now())
    }
}

/// A `*_ms` column's time in the API's timestamp format.
pub fn millis_rfc3339(millis: i64) -> String {
    rfc3339_seconds(
        jiff::Timestamp::from_millisecond(millis).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
    )
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Source::System => f.write_str("Clock::system()"),
            Source::Manual(_) => write!(f, "Clock::manual({})", self.now()),
        }
    }
}

fn nanos_of(at: jiff::Timestamp) -> i64 {
    i64::try_from(at.as_nanosecond()).expect("a manual clock between 1678 and 2262")
}

/// `at` as RFC 3339 UTC, its fraction of a second dropped.
fn rfc3339_seconds(at: jiff::Timestamp) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(at.as_nanosecond())
        .expect("a timestamp within the time crate's range")
        .replace_nanosecond(0)
        .expect("zero nanoseconds is valid");
    at.format(&time::format_description::well_known::Rfc3339)
        .expect("UTC timestamps always format")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_stands_still_until_moved_and_its_clones_move_with_it() {
        let clock = Clock::manual_at_millis(1_714_552_200_123);
        let other = clock.clone();
        assert_eq!(clock.now_millis(), 1_714_552_200_123);
        assert_eq!(clock.now_rfc3339(), "2024-05-01T08:30:00Z");
        other.advance(Duration::from_millis(59_900));
        assert_eq!(clock.now_millis(), 1_714_552_260_023);
        assert_eq!(clock.now_rfc3339(), "2024-05-01T08:31:00Z");
        clock.set("2030-01-01T00:00:00.999Z".parse().unwrap());
        assert_eq!(other.now_millis(), 1_893_456_000_999);
        assert_eq!(other.now_rfc3339(), "2030-01-01T00:00:00Z");
        assert!(clock.is_manual());
    }

    #[test]
    fn the_system_clock_formats_as_the_api_does() {
        let clock = Clock::system();
        let before = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
        let millis = clock.now_millis();
        let text = clock.now_rfc3339();
        assert!(millis >= before && millis - before < 60_000);
        let parsed =
            time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
                .unwrap();
        assert_eq!(parsed.nanosecond(), 0);
        assert!(text.ends_with('Z') && text.len() == "2024-05-01T08:30:00Z".len());
        assert!(!clock.is_manual());
    }

    #[test]
    #[should_panic(expected = "cannot be moved")]
    fn the_system_clock_cannot_be_moved() {
        Clock::system().advance(Duration::from_secs(1));
    }
}
