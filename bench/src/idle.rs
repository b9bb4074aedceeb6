//! Waiting for a quiet machine before a measurement whose wall time matters (thread
//! scaling): the benchmark machine is shared, and another process busy on the cores makes a
//! 2-thread run look no faster than a 1-thread run.
//!
//! Reads the machine-wide CPU counters in `/proc/stat` (Linux); elsewhere it never waits.

use std::time::{Duration, Instant};

/// (busy, total) jiffies of all CPUs since boot.
fn cpu_jiffies() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    if v.len() < 5 {
        return None;
    }
    let total: u64 = v.iter().take(8).sum();
    let idle = v[3] + v[4]; // idle + iowait
    Some((total - idle, total))
}

/// Fraction of all cores busy (0–1) over the next `window`.
pub fn busy_fraction(window: Duration) -> Option<f64> {
    let (b0, t0) = cpu_jiffies()?;
    std::thread::sleep(window);
    let (b1, t1) = cpu_jiffies()?;
    let dt = t1.checked_sub(t0)?;
    (dt > 0).then(|| (b1.saturating_sub(b0)) as f64 / dt as f64)
}

/// Waits (at most `max_wait`) until, over a 1-second window, at most `max_busy` of the
/// machine's cores were busy; returns the busy fraction of the last window (`None` if it
/// cannot be measured). Call while this process is idle.
pub fn wait_quiet(max_busy: f64, max_wait: Duration) -> Option<f64> {
    let start = Instant::now();
    loop {
        let busy = busy_fraction(Duration::from_secs(1))?;
        if busy <= max_busy || start.elapsed() >= max_wait {
            return Some(busy);
        }
    }
}

/// Before a timed step: waits up to `quiet_wait_secs` (0 = not at all) for a quiet machine
/// (see [`wait_quiet`]) and records how busy it was in `busy`.
pub fn settle(quiet_wait_secs: u64, max_busy: f64, busy: &mut Vec<f64>) {
    if quiet_wait_secs == 0 {
        return;
    }
    if let Some(b) = wait_quiet(max_busy, Duration::from_secs(quiet_wait_secs)) {
        busy.push(b);
    }
}
