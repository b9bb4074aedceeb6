//! Which rows a memstore may hold: a small Bloom filter that lets a get skip the memstore.

use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::OnceLock;

/// Which rows a memstore may hold: a blocked Bloom filter (three bits in one 64-bit word
/// per row) set as cells are added, so that a get of a row the memstore does not hold skips
/// the skip-list search (RocksDB's `memtable_whole_key_filtering`). Its 128 KiB are
/// allocated on the first add; with more than about a million rows in one memstore it
/// fills up and lets every row through, which costs a load and nothing else.
#[derive(Debug, Default)]
pub(super) struct RowFilter {
    words: OnceLock<Box<[AtomicU64]>>,
}

/// Words of a [`RowFilter`] (2²⁰ bits).
const FILTER_WORDS: usize = 1 << 14;

impl RowFilter {
    /// The word and the three bits that stand for `row`: the 32 bits of the HFile Bloom
    /// filters' hash, 14 for the word and 6 for each bit.
    fn slot(row: &[u8]) -> (usize, u64) {
        let h = hfile::bloom::murmur_hash(row, 0) as u32;
        let bit = |shift: u32| 1u64 << ((h >> shift) & 63);
        (
            (h as usize) & (FILTER_WORDS - 1),
            bit(14) | bit(20) | bit(26),
        )
    }

    /// Marks `row`.
    pub(super) fn add(&self, row: &[u8]) {
        let words = self
            .words
            .get_or_init(|| (0..FILTER_WORDS).map(|_| AtomicU64::new(0)).collect());
        let (w, mask) = Self::slot(row);
        // Most adds repeat a row (one per cell): read before writing a shared line.
        if words[w].load(AtomicOrdering::Acquire) & mask != mask {
            words[w].fetch_or(mask, AtomicOrdering::AcqRel);
        }
    }

    /// False if `row` was never marked; true if it may have been.
    pub(super) fn may_contain(&self, row: &[u8]) -> bool {
        self.words.get().is_some_and(|words| {
            let (w, mask) = Self::slot(row);
            words[w].load(AtomicOrdering::Acquire) & mask == mask
        })
    }
}
