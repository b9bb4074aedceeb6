//! The versions of one memstore column: cells encoded in one allocation each, linked newest
//! first into a list that writers extend without locks while readers walk it.
//!
//! This is the memstore's only unsafe code. A version is a raw allocation: the link to the
//! next older version, then the cell. Nothing is ever unlinked or freed while the list is
//! shared — a [`Chain`] frees its versions when it is dropped, which happens only with the
//! memstore itself (readers hold the memstore) — so a reader may follow any link it loads.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::cmp::Ordering;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicPtr, Ordering as AtomicOrdering};

use hfile::{CellSlices, CellView};

/// Bytes before the cell: the link to the next older version.
const LINK: usize = std::mem::size_of::<AtomicPtr<u8>>();

/// Bytes of the cell's encoding before its parts: timestamp, sequence id, type byte and the
/// lengths of row, family, qualifier, value and tags (little-endian).
const HEADER: usize = 8 + 8 + 1 + 5 * 4;

/// The little-endian `u32` at `at`.
fn u32_at(d: &[u8], at: usize) -> usize {
    let mut b = [0u8; 4];
    b.copy_from_slice(&d[at..at + 4]);
    u32::from_le_bytes(b) as usize
}

/// One version of a column: a pointer to its allocation (the link, then the encoded cell).
/// It does not own the allocation: the [`Chain`] it is linked into does (or, before it is
/// linked, whoever made it; see [`Version::free`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Version(NonNull<u8>);

// SAFETY: a version's bytes are written once before it is shared and never again; its link
// is atomic.
unsafe impl Send for Version {}
// SAFETY: as above.
unsafe impl Sync for Version {}

impl Version {
    /// Encodes `cell` into a new allocation, linked to nothing.
    pub(super) fn new<C: CellView + ?Sized>(cell: &C) -> Version {
        // Parts are bounded below 2 GiB (the write path rejects cells a KeyValue cannot
        // hold, `RegionServer::check_cells`); were one not, it would be cut to what its
        // length field can say, so the allocation always matches the lengths stored.
        let parts = [
            cell.row(),
            cell.family(),
            cell.qualifier(),
            cell.value(),
            cell.tags(),
        ]
        .map(|p| &p[..p.len().min(u32::MAX as usize)]);
        let body: usize = parts.iter().map(|p| p.len()).sum();
        let layout = Self::layout(body);
        // SAFETY: the layout's size is at least LINK + HEADER, not zero.
        let Some(p) = NonNull::new(unsafe { alloc(layout) }) else {
            handle_alloc_error(layout)
        };
        // SAFETY: the allocation is LINK + HEADER + body bytes, aligned for the link.
        unsafe {
            p.as_ptr()
                .cast::<AtomicPtr<u8>>()
                .write(AtomicPtr::new(std::ptr::null_mut()));
            let d = std::slice::from_raw_parts_mut(p.as_ptr().add(LINK), HEADER + body);
            d[..8].copy_from_slice(&cell.timestamp().to_le_bytes());
            d[8..16].copy_from_slice(&cell.seq_id().to_le_bytes());
            d[16] = cell.type_code();
            let mut at = HEADER;
            for (i, part) in parts.iter().enumerate() {
                d[17 + 4 * i..21 + 4 * i].copy_from_slice(&(part.len() as u32).to_le_bytes());
                d[at..at + part.len()].copy_from_slice(part);
                at += part.len();
            }
        }
        Version(p)
    }

    /// The layout of a version whose parts take `body` bytes.
    fn layout(body: usize) -> Layout {
        match Layout::from_size_align(LINK + HEADER + body, std::mem::align_of::<AtomicPtr<u8>>()) {
            Ok(l) => l,
            // Unreachable: five parts of at most 4 GiB each.
            Err(_) => handle_alloc_error(Layout::new::<u8>()),
        }
    }

    /// The encoded cell.
    ///
    /// # Safety
    /// The version must stay allocated for `'a`.
    unsafe fn bytes<'a>(self) -> &'a [u8] {
        let p = self.0.as_ptr().add(LINK);
        let head = std::slice::from_raw_parts(p, HEADER);
        let body: usize = (0..5).map(|i| u32_at(head, 17 + 4 * i)).sum();
        std::slice::from_raw_parts(p, HEADER + body)
    }

    /// The cell, borrowed.
    ///
    /// # Safety
    /// The version must stay allocated for `'a`.
    pub(super) unsafe fn view<'a>(self) -> CellSlices<'a> {
        let d = self.bytes();
        let mut w = [0u8; 8];
        w.copy_from_slice(&d[..8]);
        let timestamp = i64::from_le_bytes(w);
        w.copy_from_slice(&d[8..16]);
        let seq_id = u64::from_le_bytes(w);
        let row_end = HEADER + u32_at(d, 17);
        let family_end = row_end + u32_at(d, 21);
        let qualifier_end = family_end + u32_at(d, 25);
        let value_end = qualifier_end + u32_at(d, 29);
        CellSlices {
            row: &d[HEADER..row_end],
            family: &d[row_end..family_end],
            qualifier: &d[family_end..qualifier_end],
            timestamp,
            type_code: d[16],
            value: &d[qualifier_end..value_end],
            tags: &d[value_end..],
            seq_id,
            key: &[],
        }
    }

    /// The link to the next older version.
    ///
    /// # Safety
    /// The version must stay allocated for `'a`.
    unsafe fn link<'a>(self) -> &'a AtomicPtr<u8> {
        &*self.0.as_ptr().cast::<AtomicPtr<u8>>()
    }

    /// The next older version of the column, if any.
    ///
    /// # Safety
    /// The version must be allocated.
    pub(super) unsafe fn next(self) -> Option<Version> {
        NonNull::new(self.link().load(AtomicOrdering::Acquire)).map(Version)
    }

    /// Frees a version that was never linked into a [`Chain`].
    ///
    /// # Safety
    /// Nothing may use the version afterwards.
    pub(super) unsafe fn free(self) {
        let body = self.bytes().len() - HEADER;
        dealloc(self.0.as_ptr(), Self::layout(body));
    }
}

/// Order within one column: newest timestamp first, then higher type code (deletes before
/// puts), then newest sequence id — HBase's cell order with the engine's tie-breaker.
pub(super) fn version_order(a: &CellSlices<'_>, b: &CellSlices<'_>) -> Ordering {
    b.timestamp
        .cmp(&a.timestamp)
        .then_with(|| b.type_code.cmp(&a.type_code))
        .then_with(|| b.seq_id.cmp(&a.seq_id))
}

/// The versions of one column in [`version_order`], owned: a list linked through each
/// version's link. It only grows while shared; it frees its versions when dropped.
#[derive(Debug)]
pub(super) struct Chain {
    head: AtomicPtr<u8>,
}

impl Chain {
    /// A chain without versions.
    pub(super) fn empty() -> Chain {
        Chain {
            head: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// The newest version.
    pub(super) fn head(&self) -> Option<Version> {
        NonNull::new(self.head.load(AtomicOrdering::Acquire)).map(Version)
    }

    /// Links `v` (a version of this chain's column, linked nowhere else) in order; among
    /// versions that compare equal it goes first, so the latest write of a key is found
    /// first. The chain owns it from now on.
    pub(super) fn insert(&self, v: Version) {
        // SAFETY: `v` is ours until linked; versions reachable from `head` live as long as
        // the chain.
        unsafe {
            let new = v.view();
            loop {
                let mut link = &self.head;
                let mut cur = link.load(AtomicOrdering::Acquire);
                while let Some(c) = NonNull::new(cur).map(Version) {
                    if version_order(&c.view(), &new) != Ordering::Less {
                        break;
                    }
                    link = c.link();
                    cur = link.load(AtomicOrdering::Acquire);
                }
                v.link().store(cur, AtomicOrdering::Relaxed);
                // Release: a reader that loads `v` from the link sees its bytes and link.
                if link
                    .compare_exchange(
                        cur,
                        v.0.as_ptr(),
                        AtomicOrdering::Release,
                        AtomicOrdering::Relaxed,
                    )
                    .is_ok()
                {
                    return;
                }
            }
        }
    }
}

impl Drop for Chain {
    fn drop(&mut self) {
        let mut at = self.head();
        while let Some(v) = at {
            // SAFETY: the chain owns every version reachable from its head, and nothing
            // borrows them once it is dropped (readers hold the memstore that holds it).
            unsafe {
                at = v.next();
                v.free();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hfile::{Cell, CellType};

    #[test]
    fn a_version_gives_back_every_part() {
        let mut c = Cell::put(vec![7u8; 300], "fam", vec![0u8; 70_000], -3, vec![9u8; 5]);
        c.tags = bytes::Bytes::from_static(b"\x01\x00\x02tg");
        c.type_code = CellType::DeleteColumn.code();
        c.seq_id = u64::MAX - 1;
        let chain = Chain::empty();
        chain.insert(Version::new(&c));
        let v = chain.head().map(|v| unsafe { v.view() });
        let v = v.as_ref();
        assert_eq!(
            v.map(|v| (v.row, v.family, v.qualifier, v.value, v.tags)),
            Some((
                &c.row[..],
                &c.family[..],
                &c.qualifier[..],
                &c.value[..],
                &c.tags[..]
            ))
        );
        assert_eq!(
            v.map(|v| (v.timestamp, v.type_code, v.seq_id)),
            Some((c.timestamp, c.type_code, c.seq_id))
        );
    }

    #[test]
    fn concurrent_inserts_keep_the_chain_in_order() {
        // Four writers insert versions with interleaved timestamps while a reader walks
        // the chain: every walk is in order, and at the end every version is there.
        let cell = |ts: i64, seq: u64| {
            let mut c = Cell::put("r", "f", "q", ts, ts.to_string());
            c.seq_id = seq;
            c
        };
        let chain = Chain::empty();
        chain.insert(Version::new(&cell(0, 0)));
        let walk = |chain: &Chain| {
            let mut seen = Vec::new();
            let mut at = chain.head();
            while let Some(v) = at {
                // SAFETY: the chain is alive for the walk.
                unsafe {
                    let c = v.view();
                    seen.push((c.timestamp, c.seq_id));
                    at = v.next();
                }
            }
            seen
        };
        let sorted = |s: &[(i64, u64)]| s.windows(2).all(|w| (w[0].0, w[0].1) > (w[1].0, w[1].1));
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let chain = &chain;
                s.spawn(move || {
                    for i in 0..2_000u64 {
                        let ts = ((i * 7919 + t * 13) % 1_000) as i64 + 1;
                        chain.insert(Version::new(&cell(ts, 1 + i * 4 + t)));
                    }
                });
            }
            s.spawn(|| {
                for _ in 0..200 {
                    let seen = walk(&chain);
                    assert!(sorted(&seen), "a walk out of order");
                }
            });
        });
        let seen = walk(&chain);
        assert_eq!(seen.len(), 8_001);
        assert!(sorted(&seen));
    }
}
