//! A circuit breaker per channel, as plain data: the caller feeds it
//! outcomes with the time they happened and asks for its state at a time.
//! No clock, no locks: whoever owns the breakers does that.
//!
//! Closed → `failures` consecutive failures → open for `cooldown` →
//! half-open: the next payment probes the channel; a success closes the
//! breaker, a failure opens it again for another `cooldown`.

use jiff::Timestamp;
use serde::Serialize;
use std::time::Duration;

/// A tenant's breaker settings (`[breaker]` in its file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive failures that open the breaker.
    pub failures: u32,
    /// How long an open breaker stays open before it lets a probe through.
    pub cooldown: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failures: 5,
            cooldown: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    /// Routing skips the channel while another can serve, until `until`.
    Open {
        #[serde(serialize_with = "rfc3339")]
        until: Timestamp,
    },
    /// Cool-down over: the next payment may probe the channel.
    HalfOpen,
}

fn rfc3339<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&t.round(jiff::Unit::Second).unwrap_or(*t))
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open { .. } => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

/// One channel's recent history.
#[derive(Debug, Clone, Default)]
pub struct Breaker {
    pub consecutive_failures: u32,
    pub opened_at: Option<Timestamp>,
    pub last_failure: Option<String>,
}

impl Breaker {
    pub fn state(&self, config: &BreakerConfig, now: Timestamp) -> BreakerState {
        match self.opened_at {
            None => BreakerState::Closed,
            Some(at) => {
                let until = at
                    .checked_add(
                        jiff::SignedDuration::try_from(config.cooldown).unwrap_or_default(),
                    )
                    .unwrap_or(Timestamp::MAX);
                if now < until {
                    BreakerState::Open { until }
                } else {
                    BreakerState::HalfOpen
                }
            }
        }
    }

    /// The channel answered (whatever the answer: a decline is a healthy
    /// channel saying no).
    pub fn succeeded(&mut self) {
        *self = Breaker::default();
    }

    /// The channel was unreachable, timed out, or its plugin broke.
    pub fn failed(&mut self, config: &BreakerConfig, now: Timestamp, why: &str) {
        self.last_failure = Some(why.to_string());
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        let probing = self.state(config, now) == BreakerState::HalfOpen;
        if probing || self.opened_at.is_none() && self.consecutive_failures >= config.failures {
            self.opened_at = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    #[test]
    fn opens_after_consecutive_failures_and_recovers_after_cool_down() {
        let cfg = BreakerConfig {
            failures: 3,
            cooldown: Duration::from_secs(10),
        };
        let mut b = Breaker::default();
        b.failed(&cfg, at(0), "down");
        b.failed(&cfg, at(1), "down");
        assert_eq!(b.state(&cfg, at(1)), BreakerState::Closed);
        b.succeeded();
        b.failed(&cfg, at(2), "down");
        b.failed(&cfg, at(3), "down");
        assert_eq!(
            b.state(&cfg, at(3)),
            BreakerState::Closed,
            "success reset the count"
        );
        b.failed(&cfg, at(4), "down");
        assert_eq!(b.state(&cfg, at(4)), BreakerState::Open { until: at(14) });
        // Failures reported while open (calls already in flight) do not
        // extend the cool-down.
        b.failed(&cfg, at(5), "down");
        assert_eq!(b.state(&cfg, at(13)), BreakerState::Open { until: at(14) });
        assert_eq!(b.state(&cfg, at(14)), BreakerState::HalfOpen);
        // A failed probe opens it again for a full cool-down.
        b.failed(&cfg, at(20), "still down");
        assert_eq!(b.state(&cfg, at(20)), BreakerState::Open { until: at(30) });
        assert_eq!(b.last_failure.as_deref(), Some("still down"));
        // A successful probe closes it.
        assert_eq!(b.state(&cfg, at(31)), BreakerState::HalfOpen);
        b.succeeded();
        assert_eq!(b.state(&cfg, at(31)), BreakerState::Closed);
        assert_eq!(b.consecutive_failures, 0);
    }
}
