//! Process-level memory: resident set size from `/proc/self/status`.
//!
//! Used for writers whose allocations the Rust counting allocator cannot see (RocksDB's C++).
//! Before a measured section we return free heap memory to the OS (`malloc_trim`) and reset the
//! kernel's peak-RSS counter (`echo 5 > /proc/self/clear_refs`), so `VmHWM - VmRSS(before)` is the
//! section's peak resident growth. Linux/glibc only; elsewhere every function returns `None`.

use std::fs;

extern "C" {
    // glibc: releases free heap memory back to the OS. Returns 1 if memory was released.
    fn malloc_trim(pad: usize) -> i32;
}

fn status_kib(field: &str) -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| {
        let rest = l.strip_prefix(field)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// A started resident-set measurement window.
pub struct RssWindow {
    base_kib: Option<u64>,
}

impl RssWindow {
    /// Trims the heap, resets the peak-RSS counter and records the current RSS.
    pub fn start() -> RssWindow {
        // SAFETY: `malloc_trim` has no preconditions; it only returns free pages to the kernel.
        unsafe {
            malloc_trim(0);
        }
        let reset = fs::write("/proc/self/clear_refs", "5").is_ok();
        let base_kib = if reset { status_kib("VmRSS") } else { None };
        RssWindow { base_kib }
    }

    /// Peak resident growth in bytes since [`RssWindow::start`], if it could be measured.
    pub fn peak_growth(&self) -> Option<u64> {
        let base = self.base_kib?;
        let hwm = status_kib("VmHWM")?;
        Some(hwm.saturating_sub(base) * 1024)
    }
}
