//! Latency distributions. Floats are fine here: these are times, never money.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Percentiles of a set of durations, in microseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Summary {
    pub count: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

impl Summary {
    /// Nearest-rank percentiles over every sample (no histogram bucketing:
    /// a run holds at most a few hundred thousand samples).
    pub fn of(samples: &[Duration]) -> Summary {
        if samples.is_empty() {
            return Summary::default();
        }
        let mut micros: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
        micros.sort_by(f64::total_cmp);
        let rank = |q: f64| {
            let i = ((q * micros.len() as f64).ceil() as usize).clamp(1, micros.len());
            micros[i - 1]
        };
        Summary {
            count: micros.len(),
            p50: rank(0.50),
            p90: rank(0.90),
            p99: rank(0.99),
            max: micros[micros.len() - 1],
            mean: micros.iter().sum::<f64>() / micros.len() as f64,
        }
    }
}

/// `1234.5` µs as `1.23 ms`, `85.2` µs as `85 µs`.
pub fn human(micros: f64) -> String {
    if micros >= 1000.0 {
        format!("{:.2} ms", micros / 1000.0)
    } else {
        format!("{micros:.0} µs")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        let s = Summary::of(&samples);
        assert_eq!((s.p50, s.p90, s.p99, s.max), (50.0, 90.0, 99.0, 100.0));
        assert_eq!(s.count, 100);
        assert_eq!(Summary::of(&[]).count, 0);
    }

    #[test]
    fn human_units() {
        assert_eq!(human(85.2), "85 µs");
        assert_eq!(human(1234.5), "1.23 ms");
    }
}
