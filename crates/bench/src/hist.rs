//! Latency histograms (HDR, microsecond resolution) and their summaries.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Highest latency recorded exactly: 60 s. Anything slower is clamped to it.
const MAX_US: u64 = 60_000_000;

/// A latency distribution, recorded in microseconds with 3 significant digits.
#[derive(Debug, Clone)]
pub(crate) struct Latency {
    h: Histogram<u64>,
}

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

impl Latency {
    pub(crate) fn new() -> Self {
        Self {
            h: Histogram::new_with_bounds(1, MAX_US, 3).expect("valid histogram bounds"),
        }
    }

    /// Record one sample.
    pub(crate) fn record(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(MAX_US);
        self.record_us(us);
    }

    /// Record one sample given in microseconds (clamped into 1 µs ..= 60 s).
    pub(crate) fn record_us(&mut self, us: u64) {
        self.h.saturating_record(us.clamp(1, MAX_US));
    }

    /// Add every sample of `other`.
    pub(crate) fn merge(&mut self, other: &Self) {
        // Both sides have the same bounds, so adding never fails.
        let _ = self.h.add(&other.h);
    }

    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn count(&self) -> u64 {
        self.h.len()
    }

    /// Percentiles in milliseconds.
    pub(crate) fn summary(&self) -> Summary {
        if self.h.is_empty() {
            return Summary::default();
        }
        let ms = |us: u64| us as f64 / 1_000.0;
        Summary {
            count: self.h.len(),
            p50_ms: ms(self.h.value_at_quantile(0.50)),
            p95_ms: ms(self.h.value_at_quantile(0.95)),
            p99_ms: ms(self.h.value_at_quantile(0.99)),
            max_ms: ms(self.h.max()),
            mean_ms: self.h.mean() / 1_000.0,
        }
    }
}

/// What a latency distribution is reported as.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Summary {
    /// Samples.
    pub(crate) count: u64,
    pub(crate) p50_ms: f64,
    pub(crate) p95_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
    pub(crate) mean_ms: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= b.abs() * 0.002 + 1e-9
    }

    #[test]
    fn percentiles_of_a_uniform_spread() {
        let mut h = Latency::new();
        for us in 1..=10_000u64 {
            h.record_us(us);
        }
        let s = h.summary();
        assert_eq!(s.count, 10_000);
        assert!(close(s.p50_ms, 5.0), "{s:?}");
        assert!(close(s.p95_ms, 9.5), "{s:?}");
        assert!(close(s.p99_ms, 9.9), "{s:?}");
        assert!(close(s.max_ms, 10.0), "{s:?}");
        assert!(close(s.mean_ms, 5.0005), "{s:?}");
    }

    #[test]
    fn merging_equals_recording_everything_in_one() {
        let (mut a, mut b, mut all) = (Latency::new(), Latency::new(), Latency::new());
        for us in 0..5_000u64 {
            let x = us * 37 % 20_000 + 1;
            if us % 3 == 0 { &mut a } else { &mut b }.record_us(x);
            all.record_us(x);
        }
        a.merge(&b);
        assert_eq!(a.summary(), all.summary());
        assert_eq!(a.count(), 5_000);
    }

    #[test]
    fn empty_and_out_of_range_samples() {
        assert_eq!(Latency::new().summary(), Summary::default());
        let mut h = Latency::new();
        h.record(Duration::ZERO);
        h.record(Duration::from_secs(3_600));
        let s = h.summary();
        assert_eq!(s.count, 2);
        assert!(close(s.max_ms, 60_000.0), "{s:?}");
        assert!(s.p50_ms <= 0.002, "{s:?}");
    }
}
