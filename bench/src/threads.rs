//! Per-thread CPU time of a named group of threads (e.g. the `mapreduce-N` workers), sampled
//! from `/proc/self/task/*/{comm,stat}` while they run.
//!
//! On a shared machine a 2-thread job's wall time says little about its scaling when the
//! cores are busy with other work; the CPU time of its busiest worker does: with one free
//! core per worker, the job would take about that long. Worker threads may exit before the
//! job returns, so a sampler thread reads their counters every 20 ms and keeps the last
//! value seen per thread (resolution: the kernel's clock tick, 10 ms). Linux only;
//! elsewhere nothing is sampled.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Clock ticks per second of `/proc` CPU counters (`USER_HZ`, 100 on Linux).
const TICKS_PER_SEC: u64 = 100;

/// utime + stime ticks of one task, from its `stat` line.
fn task_ticks(stat: &str) -> Option<u64> {
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn sample(prefix: &str, seen: &Mutex<BTreeMap<u64, u64>>) {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return;
    };
    for e in dir.flatten() {
        let Some(tid) = e.file_name().to_str().and_then(|s| s.parse::<u64>().ok()) else {
            continue;
        };
        let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
        if !comm.starts_with(prefix) {
            continue;
        }
        let Some(t) = std::fs::read_to_string(e.path().join("stat"))
            .ok()
            .and_then(|s| task_ticks(&s))
        else {
            continue;
        };
        if let Ok(mut m) = seen.lock() {
            let v = m.entry(tid).or_insert(0);
            *v = (*v).max(t);
        }
    }
}

/// A running sampler.
pub struct ThreadCpu {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<BTreeMap<u64, u64>>>,
    base: BTreeMap<u64, u64>,
    handle: Option<JoinHandle<()>>,
}

impl ThreadCpu {
    /// Starts sampling threads whose name starts with `prefix` (threads that already exist
    /// are measured from now on).
    pub fn start(prefix: &'static str) -> ThreadCpu {
        let seen = Arc::new(Mutex::new(BTreeMap::new()));
        sample(prefix, &seen);
        let base = seen.lock().map(|m| m.clone()).unwrap_or_default();
        let stop = Arc::new(AtomicBool::new(false));
        let (s2, seen2) = (stop.clone(), seen.clone());
        let handle = std::thread::Builder::new()
            .name("bench-cpu-sampler".into())
            .spawn(move || {
                while !s2.load(Ordering::Relaxed) {
                    sample(prefix, &seen2);
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
            .ok();
        ThreadCpu {
            stop,
            seen,
            base,
            handle,
        }
    }

    /// Stops sampling; returns each sampled thread's CPU time since [`ThreadCpu::start`],
    /// largest first.
    pub fn stop(mut self) -> Vec<Duration> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        let seen = self.seen.lock().map(|m| m.clone()).unwrap_or_default();
        let mut v: Vec<Duration> = seen
            .iter()
            .map(|(tid, t)| {
                let ticks = t.saturating_sub(self.base.get(tid).copied().unwrap_or(0));
                Duration::from_millis(ticks * 1000 / TICKS_PER_SEC)
            })
            .collect();
        v.sort_unstable_by(|a, b| b.cmp(a));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_and_samples_named_threads() {
        let stat = "123 (my (odd) name) R 1 2 3 4 5 6 7 8 9 10 250 50 0 0";
        assert_eq!(task_ticks(stat), Some(300));
        let mon = ThreadCpu::start("bench-spin-");
        let done = Arc::new(AtomicBool::new(false));
        let d2 = done.clone();
        let h = std::thread::Builder::new()
            .name("bench-spin-0".into())
            .spawn(move || {
                let mut x = 0u64;
                while !d2.load(Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(1));
                }
                x
            })
            .ok();
        // Long enough for several samples while the thread is alive.
        std::thread::sleep(Duration::from_millis(200));
        done.store(true, Ordering::Relaxed);
        if let Some(h) = h {
            let _ = h.join();
        }
        let per_thread = mon.stop();
        if cfg!(target_os = "linux") {
            assert_eq!(per_thread.len(), 1, "{per_thread:?}");
        }
    }
}
