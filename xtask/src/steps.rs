//! Timing each step of a build or test run, so where CI's time goes is printed with every
//! run rather than guessed. Steps may run at once (the build's lanes); each is listed with
//! when it started and how long it took, and the total is the wall-clock time.

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

static STARTED: OnceLock<Instant> = OnceLock::new();
static STEPS: Mutex<Vec<(String, Duration, Duration)>> = Mutex::new(Vec::new());

/// Starts the clock the steps are placed on; the first step starts it otherwise.
pub fn start_clock() {
    STARTED.get_or_init(Instant::now);
}

/// Runs one step and records when it started and how long it took, whether it succeeded
/// or not.
pub fn step<T>(name: &str, work: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    let clock = *STARTED.get_or_init(Instant::now);
    let started = Instant::now();
    let result = work();
    let took = started.elapsed();
    println!("[xtask] {name}: {:.1} s", took.as_secs_f64());
    STEPS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((name.to_string(), started - clock, took));
    result
}

/// Prints every step recorded so far by start time, and the wall-clock total.
pub fn print_summary() {
    let mut steps = STEPS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    steps.sort_by_key(|(_, start, _)| *start);
    let width = steps.iter().map(|(n, _, _)| n.len()).max().unwrap_or(0);
    println!("\n[xtask] time per step (steps overlap where they run at once)");
    println!("  {:<width$}  {:>8}  {:>8}", "step", "start s", "took s");
    for (name, start, took) in &steps {
        println!(
            "  {name:<width$}  {:>8.1}  {:>8.1}",
            start.as_secs_f64(),
            took.as_secs_f64()
        );
    }
    let total = STARTED.get().map_or(Duration::ZERO, Instant::elapsed);
    println!(
        "  {:<width$}  {:>8}  {:>8.1}",
        "total (wall clock)",
        "",
        total.as_secs_f64()
    );
}
