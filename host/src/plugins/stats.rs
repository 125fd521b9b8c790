//! Call counts, latency and admission per plugin id, kept across reloads so a new version's
//! numbers add to the old ones and its calls count against the same concurrency limit.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
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
    /// Not run: the plugin had its most calls in flight, or no slot freed up in time.
    Refused,
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
    refused: u64,
    running: u32,
    /// Calls that waited for an instance slot, and the longest recent waits.
    queued: u64,
    recent: VecDeque<Duration>,
    recent_queued: VecDeque<Duration>,
    /// Calls that ran on an instance made ahead, and how long recent ones took to make.
    prepared: u64,
    recent_prepared: VecDeque<Duration>,
}

/// A call of the plugin in flight; counted until dropped.
pub struct Admitted(Arc<Stats>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.lock().running -= 1;
    }
}

impl Stats {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Lets a call in when fewer than `limit` of this plugin's calls are running; otherwise
    /// counts it as refused.
    pub fn admit(self: &Arc<Self>, limit: u32) -> Option<Admitted> {
        let mut inner = self.lock();
        if inner.running >= limit {
            inner.calls += 1;
            inner.refused += 1;
            return None;
        }
        inner.running += 1;
        Some(Admitted(self.clone()))
    }

    /// Records a call that ran (or was refused a slot) after waiting `queued` for one, on an
    /// instance made ahead in `prepared` if it was.
    pub fn record(
        &self,
        took: Duration,
        queued: Duration,
        prepared: Option<Duration>,
        outcome: Outcome,
    ) {
        let mut inner = self.lock();
        inner.calls += 1;
        if let Some(prepared) = prepared {
            inner.prepared += 1;
            push_recent(&mut inner.recent_prepared, prepared);
        }
        if !queued.is_zero() {
            inner.queued += 1;
        }
        push_recent(&mut inner.recent_queued, queued);
        match outcome {
            Outcome::Refused => {
                inner.refused += 1;
                return;
            }
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
        push_recent(&mut inner.recent, took);
    }

    pub fn summary(&self) -> CallStats {
        let inner = self.lock();
        CallStats {
            calls: inner.calls,
            failures: inner.failures,
            traps: inner.traps,
            timeouts: inner.timeouts,
            refused: inner.refused,
            running: inner.running,
            queued: inner.queued,
            p50_ms: percentile(&inner.recent, 0.50),
            p99_ms: percentile(&inner.recent, 0.99),
            queue_p99_ms: percentile(&inner.recent_queued, 0.99),
            prepared: inner.prepared,
            prepare_p50_ms: percentile(&inner.recent_prepared, 0.50),
        }
    }
}

fn push_recent(recent: &mut VecDeque<Duration>, value: Duration) {
    if recent.len() == WINDOW {
        recent.pop_front();
    }
    recent.push_back(value);
}

/// The `p` percentile of `recent`, in milliseconds.
fn percentile(recent: &VecDeque<Duration>, p: f64) -> f64 {
    let mut sorted: Vec<Duration> = recent.iter().copied().collect();
    sorted.sort();
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_outcomes_and_reports_percentiles() {
        let stats = Stats::default();
        for ms in 1..=100 {
            stats.record(Duration::from_millis(ms), Duration::ZERO, None, Outcome::Ok);
        }
        stats.record(
            Duration::from_millis(2000),
            Duration::ZERO,
            Some(Duration::from_millis(3)),
            Outcome::TimedOut,
        );
        stats.record(
            Duration::from_millis(1),
            Duration::from_millis(7),
            Some(Duration::from_millis(5)),
            Outcome::Trapped,
        );
        stats.record(
            Duration::ZERO,
            Duration::from_millis(250),
            None,
            Outcome::Refused,
        );
        let s = stats.summary();
        assert_eq!(
            (
                s.calls, s.failures, s.traps, s.timeouts, s.refused, s.queued
            ),
            (103, 2, 1, 1, 1, 2)
        );
        assert_eq!(s.p50_ms, 50.0);
        assert_eq!(s.p99_ms, 100.0);
        assert_eq!(s.queue_p99_ms, 7.0);
        assert_eq!((s.prepared, s.prepare_p50_ms), (2, 3.0));
    }

    #[test]
    fn admits_up_to_the_limit_and_counts_the_rest_as_refused() {
        let stats = Arc::new(Stats::default());
        let first = stats.admit(2).unwrap();
        let _second = stats.admit(2).unwrap();
        assert!(stats.admit(2).is_none());
        assert_eq!((stats.summary().running, stats.summary().refused), (2, 1));
        drop(first);
        assert!(stats.admit(2).is_some());
        assert_eq!(stats.summary().running, 1);
    }
}
