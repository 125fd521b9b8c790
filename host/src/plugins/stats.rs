//! Call counts and latency per plugin id, kept across reloads so a new version's numbers add
//! to the old ones.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use greenroom_api::CallStats;

/// Latencies kept for the percentiles.
const WINDOW: usize = 1024;

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// The plugin returned an error, or its output was refused.
    Failed,
    Trapped,
    TimedOut,
}

#[derive(Default)]
pub struct Stats {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    calls: u64,
    failures: u64,
    traps: u64,
    timeouts: u64,
    recent: VecDeque<Duration>,
}

impl Stats {
    pub fn record(&self, took: Duration, outcome: Outcome) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.calls += 1;
        match outcome {
            Outcome::Ok => {}
            Outcome::Failed => inner.failures += 1,
            Outcome::Trapped => {
                inner.failures += 1;
                inner.traps += 1;
            }
            Outcome::TimedOut => {
                inner.failures += 1;
                inner.timeouts += 1;
            }
        }
        if inner.recent.len() == WINDOW {
            inner.recent.pop_front();
        }
        inner.recent.push_back(took);
    }

    pub fn summary(&self) -> CallStats {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut sorted: Vec<Duration> = inner.recent.iter().copied().collect();
        sorted.sort();
        let percentile = |p: f64| -> f64 {
            if sorted.is_empty() {
                return 0.0;
            }
            let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
            sorted[index].as_secs_f64() * 1000.0
        };
        CallStats {
            calls: inner.calls,
            failures: inner.failures,
            traps: inner.traps,
            timeouts: inner.timeouts,
            p50_ms: percentile(0.50),
            p99_ms: percentile(0.99),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_outcomes_and_reports_percentiles() {
        let stats = Stats::default();
        for ms in 1..=100 {
            stats.record(Duration::from_millis(ms), Outcome::Ok);
        }
        stats.record(Duration::from_millis(2000), Outcome::TimedOut);
        stats.record(Duration::from_millis(1), Outcome::Trapped);
        let s = stats.summary();
        assert_eq!((s.calls, s.failures, s.traps, s.timeouts), (102, 2, 1, 1));
        assert_eq!(s.p50_ms, 50.0);
        assert_eq!(s.p99_ms, 100.0);
    }
}
