//! Multi-version concurrency control: per-region write numbers and the read point.
//!
//! Every mutation of a region gets the next sequence id (also its WAL sequence id and the
//! `seq_id` of its cells). Readers only see cells whose sequence id is at or below the
//! read point, and the read point only advances over a contiguous prefix of completed
//! writes, so a reader never sees half of a row mutation.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{Condvar, Mutex};

/// The write-number allocator and read point of one region.
#[derive(Debug)]
pub struct Mvcc {
    inner: Mutex<Inner>,
    read_point: AtomicU64,
    advanced: Condvar,
}

#[derive(Debug)]
struct Inner {
    /// Last sequence id handed out.
    next: u64,
    /// Writes in progress, oldest first: (sequence id, completed).
    pending: VecDeque<(u64, bool)>,
}

impl Mvcc {
    /// Starts with `last_seq` as both the last assigned id and the read point.
    pub fn new(last_seq: u64) -> Mvcc {
        Mvcc {
            inner: Mutex::new(Inner {
                next: last_seq,
                pending: VecDeque::new(),
            }),
            read_point: AtomicU64::new(last_seq),
            advanced: Condvar::new(),
        }
    }

    /// Starts a write: returns its sequence id.
    pub fn begin(&self) -> u64 {
        let mut g = self.inner.lock();
        g.next += 1;
        let seq = g.next;
        g.pending.push_back((seq, false));
        seq
    }

    /// Marks `seq` complete and advances the read point over completed writes.
    pub fn complete(&self, seq: u64) {
        let mut g = self.inner.lock();
        if let Some(e) = g.pending.iter_mut().find(|e| e.0 == seq) {
            e.1 = true;
        }
        let mut advanced_to = None;
        while let Some(&(s, true)) = g.pending.front() {
            advanced_to = Some(s);
            g.pending.pop_front();
        }
        if let Some(s) = advanced_to {
            self.read_point.store(s, Ordering::Release);
            self.advanced.notify_all();
        }
    }

    /// Completes `seq` and waits until the read point covers it (so the writer can read
    /// its own write once acknowledged).
    pub fn complete_and_wait(&self, seq: u64) {
        self.complete(seq);
        let mut g = self.inner.lock();
        while self.read_point.load(Ordering::Acquire) < seq {
            self.advanced.wait(&mut g);
        }
    }

    /// The highest sequence id visible to new readers.
    pub fn read_point(&self) -> u64 {
        self.read_point.load(Ordering::Acquire)
    }

    /// The last sequence id handed out.
    pub fn last_assigned(&self) -> u64 {
        self.inner.lock().next
    }

    /// Raises the last assigned id (and the read point) to at least `seq`; used by replay and
    /// bulk load. Only call with no writes in flight.
    pub fn advance_to(&self, seq: u64) {
        let mut g = self.inner.lock();
        if g.next < seq {
            g.next = seq;
        }
        if g.pending.is_empty() && self.read_point.load(Ordering::Acquire) < g.next {
            self.read_point.store(g.next, Ordering::Release);
            self.advanced.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_point_waits_for_earlier_writes() {
        let m = Mvcc::new(10);
        let a = m.begin();
        let b = m.begin();
        assert_eq!((a, b), (11, 12));
        m.complete(b);
        assert_eq!(m.read_point(), 10, "b is done but a is not");
        m.complete(a);
        assert_eq!(m.read_point(), 12);
        m.advance_to(20);
        assert_eq!(m.read_point(), 20);
        assert_eq!(m.begin(), 21);
    }
}
