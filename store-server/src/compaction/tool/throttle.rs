//! A token bucket on bytes written, shared by every compaction of a run, so the run as a
//! whole stays under a byte rate whatever its parallelism.

use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// A global byte-rate limit. The bucket starts empty and holds at most `burst` bytes, so
/// over any run the bytes let through are at most `rate × elapsed + burst`.
#[derive(Debug)]
pub struct Throttle {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl Throttle {
    /// A throttle letting `bytes_per_sec` bytes through per second (at least 1).
    pub fn new(bytes_per_sec: u64) -> Throttle {
        let rate = bytes_per_sec.max(1) as f64;
        Throttle {
            rate,
            burst: (rate / 20.0).max(64.0 * 1024.0),
            state: Mutex::new((0.0, Instant::now())),
        }
    }

    /// The rate in bytes per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Takes `bytes` from the bucket, sleeping until the debt they leave is repaid.
    pub fn consume(&self, bytes: u64) {
        let wait = {
            let mut st = self.state.lock();
            let now = Instant::now();
            let refill = now.duration_since(st.1).as_secs_f64() * self.rate;
            st.0 = (st.0 + refill).min(self.burst) - bytes as f64;
            st.1 = now;
            if st.0 < 0.0 {
                Some(Duration::from_secs_f64(-st.0 / self.rate))
            } else {
                None
            }
        };
        if let Some(w) = wait {
            std::thread::sleep(w);
        }
    }
}
