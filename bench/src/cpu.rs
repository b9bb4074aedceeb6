//! Process CPU time (all threads), for figures that do not depend on how busy the machine is.
//!
//! On a shared or loaded machine wall time includes time spent waiting for a core; CPU time of
//! this process does not. Linux only (`clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`); elsewhere it
//! reads zero and the CPU-time columns are omitted.

use std::time::Duration;

#[repr(C)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: i64,
}

#[cfg(target_os = "linux")]
extern "C" {
    fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
}

/// CPU time consumed so far by all threads of this process.
pub fn process_time() -> Duration {
    #[cfg(all(target_os = "linux", target_pointer_width = "64"))]
    {
        const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
        let mut ts = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec with the C layout on 64-bit Linux.
        let rc = unsafe { clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
        if rc == 0 {
            return Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32);
        }
    }
    Duration::ZERO
}

/// Wall and CPU time of one measured section.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timing {
    /// Elapsed (wall-clock) time.
    pub wall: Duration,
    /// Process CPU time (all threads) over the same span.
    pub cpu: Duration,
}

/// Measures wall and CPU time between [`Stopwatch::start`] and [`Stopwatch::stop`].
pub struct Stopwatch {
    wall: std::time::Instant,
    cpu: Duration,
}

impl Stopwatch {
    /// Starts both clocks.
    pub fn start() -> Stopwatch {
        Stopwatch {
            wall: std::time::Instant::now(),
            cpu: process_time(),
        }
    }

    /// (wall, CPU) elapsed since start.
    pub fn stop(&self) -> (Duration, Duration) {
        (self.wall.elapsed(), process_time().saturating_sub(self.cpu))
    }

    /// [`Stopwatch::stop`] as a [`Timing`].
    pub fn timing(&self) -> Timing {
        let (wall, cpu) = self.stop();
        Timing { wall, cpu }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_advances_with_work() {
        let sw = Stopwatch::start();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        let (wall, cpu) = sw.stop();
        assert!(wall > Duration::ZERO);
        if cfg!(target_os = "linux") {
            assert!(cpu > Duration::ZERO, "cpu time did not advance ({x})");
        }
    }
}
