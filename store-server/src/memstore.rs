//! The memstore: a concurrent sorted set of cells (a lock-free skip list) that absorbs
//! writes until it is flushed to a store file.
//!
//! Cells sort in HBase order and, for identical keys, newest sequence id first. Readers
//! iterate while writers insert; visibility is decided by the reader's MVCC read point.

use std::cmp::Ordering;
use std::ops::Bound;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, OnceLock};

use crossbeam_skiplist::{set::Entry, SkipSet};
use hfile::{CellSlices, CellView, Comparator};

/// A cell ordered the way the engine merges cells: HBase cell order, then sequence id
/// descending (the newest write of an identical key first).
///
/// It is small, so that a skip-list node's key and tower share a cache line or two: the
/// first bytes of the row inline (most comparisons of a search are decided by them without
/// leaving the node) and the whole cell encoded in one allocation (so a comparison the
/// prefix cannot decide, and a read of the cell, follow one pointer, not one per part).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemCell {
    /// The row's first [`PREFIX`] bytes, zero-padded, as a big-endian number: prefixes
    /// that differ order their rows; equal ones leave it to the full comparison.
    row_prefix: u128,
    /// Timestamp, sequence id, type byte, the lengths of row, family, qualifier and value
    /// (little-endian), then row, family, qualifier, value and tags back to back.
    data: Box<[u8]>,
}

/// Bytes of the row a [`MemCell`] keeps inline.
const PREFIX: usize = 16;

/// Bytes of a [`MemCell`]'s encoding before the row: timestamp, sequence id, type byte
/// and four lengths.
const HEADER: usize = 8 + 8 + 1 + 4 * 4;

/// The little-endian `u32` at `at` (within the header, which [`MemCell::new`] wrote).
fn len_at(d: &[u8], at: usize) -> usize {
    let mut b = [0u8; 4];
    b.copy_from_slice(&d[at..at + 4]);
    u32::from_le_bytes(b) as usize
}

impl MemCell {
    /// Encodes `cell`.
    pub fn new<C: CellView + ?Sized>(cell: &C) -> MemCell {
        let (row, family, qualifier, value, tags) = (
            cell.row(),
            cell.family(),
            cell.qualifier(),
            cell.value(),
            cell.tags(),
        );
        let mut p = [0u8; PREFIX];
        let n = row.len().min(PREFIX);
        p[..n].copy_from_slice(&row[..n]);
        let body = row.len() + family.len() + qualifier.len() + value.len() + tags.len();
        let mut d = Vec::with_capacity(HEADER + body);
        d.extend_from_slice(&cell.timestamp().to_le_bytes());
        d.extend_from_slice(&cell.seq_id().to_le_bytes());
        d.push(cell.type_code());
        for part in [row, family, qualifier, value] {
            // Parts are bounded below 2 GiB: the write path rejects cells a KeyValue
            // cannot hold (`RegionServer::check_cells`).
            d.extend_from_slice(&(part.len() as u32).to_le_bytes());
        }
        for part in [row, family, qualifier, value, tags] {
            d.extend_from_slice(part);
        }
        MemCell {
            row_prefix: u128::from_be_bytes(p),
            data: d.into_boxed_slice(),
        }
    }

    /// The cell, borrowed.
    pub fn view(&self) -> CellSlices<'_> {
        let d = &self.data[..];
        let mut w = [0u8; 8];
        w.copy_from_slice(&d[..8]);
        let timestamp = i64::from_le_bytes(w);
        w.copy_from_slice(&d[8..16]);
        let seq_id = u64::from_le_bytes(w);
        let row_end = HEADER + len_at(d, 17);
        let family_end = row_end + len_at(d, 21);
        let qualifier_end = family_end + len_at(d, 25);
        let value_end = qualifier_end + len_at(d, 29);
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
}

impl Ord for MemCell {
    fn cmp(&self, other: &Self) -> Ordering {
        // Zero padding cannot misorder: where two padded prefixes first differ, a padded
        // zero stands for the end of a row that is a prefix of the other one.
        self.row_prefix
            .cmp(&other.row_prefix)
            .then_with(|| compare_with_seq(&self.view(), &other.view()))
    }
}

impl PartialOrd for MemCell {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// HBase cell order with sequence id descending as the final tie-breaker.
pub fn compare_with_seq<A: CellView + ?Sized, B: CellView + ?Sized>(a: &A, b: &B) -> Ordering {
    Comparator::Default
        .compare_cells(a, b)
        .then_with(|| b.seq_id().cmp(&a.seq_id()))
}

/// Approximate heap size of a cell in the memstore (data plus skip-list overhead).
pub fn cell_heap_size<C: CellView + ?Sized>(c: &C) -> usize {
    c.row().len() + c.family().len() + c.qualifier().len() + c.value().len() + c.tags().len() + 96
}

/// Which rows a memstore may hold: a blocked Bloom filter (three bits in one 64-bit word
/// per row) set as cells are added, so that a get of a row the memstore does not hold skips
/// the skip-list search (RocksDB's `memtable_whole_key_filtering`). Its 128 KiB are
/// allocated on the first add; with more than about a million rows in one memstore it
/// fills up and lets every row through, which costs a load and nothing else.
#[derive(Debug, Default)]
struct RowFilter {
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

    fn add(&self, row: &[u8]) {
        let words = self
            .words
            .get_or_init(|| (0..FILTER_WORDS).map(|_| AtomicU64::new(0)).collect());
        let (w, mask) = Self::slot(row);
        // Most adds repeat a row (one per cell): read before writing a shared line.
        if words[w].load(AtomicOrdering::Acquire) & mask != mask {
            words[w].fetch_or(mask, AtomicOrdering::AcqRel);
        }
    }

    fn may_contain(&self, row: &[u8]) -> bool {
        self.words.get().is_some_and(|words| {
            let (w, mask) = Self::slot(row);
            words[w].load(AtomicOrdering::Acquire) & mask == mask
        })
    }
}

/// One memstore (active or snapshot) of one store.
#[derive(Debug)]
pub struct MemStore {
    cells: SkipSet<MemCell>,
    rows: RowFilter,
    size: AtomicUsize,
    max_seq: AtomicU64,
    min_ts: AtomicI64,
    max_ts: AtomicI64,
}

impl Default for MemStore {
    fn default() -> Self {
        MemStore::new()
    }
}

impl MemStore {
    /// An empty memstore.
    pub fn new() -> MemStore {
        MemStore {
            cells: SkipSet::new(),
            rows: RowFilter::default(),
            size: AtomicUsize::new(0),
            max_seq: AtomicU64::new(0),
            min_ts: AtomicI64::new(i64::MAX),
            max_ts: AtomicI64::new(i64::MIN),
        }
    }

    /// Inserts a copy of a cell (its `seq_id` must be set); returns the bytes it added.
    pub fn add<C: CellView + ?Sized>(&self, cell: &C) -> usize {
        let sz = cell_heap_size(cell);
        self.max_seq
            .fetch_max(cell.seq_id(), AtomicOrdering::AcqRel);
        self.min_ts
            .fetch_min(cell.timestamp(), AtomicOrdering::AcqRel);
        self.max_ts
            .fetch_max(cell.timestamp(), AtomicOrdering::AcqRel);
        // The row is marked before its cell is in: a reader that can see the cell (its
        // read point passed the write) finds the mark.
        self.rows.add(cell.row());
        self.cells.insert(MemCell::new(cell));
        self.size.fetch_add(sz, AtomicOrdering::AcqRel);
        sz
    }

    /// False if no cell of `row` was ever added; true if one may have been.
    pub fn may_contain_row(&self, row: &[u8]) -> bool {
        self.rows.may_contain(row)
    }

    /// Approximate bytes held.
    pub fn size(&self) -> usize {
        self.size.load(AtomicOrdering::Acquire)
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// True if no cell was added.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Highest sequence id of any cell (0 if empty).
    pub fn max_seq_id(&self) -> u64 {
        self.max_seq.load(AtomicOrdering::Acquire)
    }

    /// Smallest and largest timestamps held, if any.
    pub fn time_range(&self) -> Option<(i64, i64)> {
        if self.is_empty() {
            None
        } else {
            Some((
                self.min_ts.load(AtomicOrdering::Acquire),
                self.max_ts.load(AtomicOrdering::Acquire),
            ))
        }
    }

    /// Visits all cells in order (for flushing a snapshot); stops at `f`'s first error.
    pub fn try_for_each<E>(
        &self,
        mut f: impl FnMut(CellSlices<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.cells.iter().try_for_each(|e| f(e.value().view()))
    }
}

/// The skip-list entry a [`MemPosition`] is at, borrowed from the memstore it owns.
type EntryAt<'a> = Option<Entry<'a, MemCell>>;

self_cell::self_cell!(
    struct PositionCell {
        owner: Arc<MemStore>,
        #[covariant]
        dependent: EntryAt,
    }
);

/// A position in one memstore's skip list. It holds the entry it is at (which keeps the
/// memstore alive), so stepping follows the list's links: no search and no copy per cell.
pub struct MemPosition(PositionCell);

impl MemPosition {
    /// A position in `mem` before the first seek (at no cell).
    pub fn new(mem: Arc<MemStore>) -> MemPosition {
        MemPosition(PositionCell::new(mem, |_| None))
    }

    /// Moves to the first cell at or after `probe` (in [`MemCell`] order).
    pub fn seek(&mut self, probe: &MemCell) {
        self.0.with_dependent_mut(|mem, at| {
            *at = mem.cells.lower_bound(Bound::Included(probe));
        });
    }

    /// Moves to the next cell; past the last one the position is at no cell.
    pub fn advance(&mut self) {
        self.0.with_dependent_mut(|_, at| {
            if at.as_mut().is_some_and(|e| !e.move_next()) {
                *at = None;
            }
        });
    }

    /// The cell the position is at.
    pub fn current(&self) -> Option<CellSlices<'_>> {
        self.0.borrow_dependent().as_ref().map(|e| e.value().view())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hfile::{Cell, CellType};

    fn put(row: &str, q: &str, ts: i64, seq: u64) -> Cell {
        let mut c = Cell::put(row.to_string(), "f", q.to_string(), ts, "v");
        c.seq_id = seq;
        c
    }

    #[test]
    fn inline_row_prefixes_order_like_the_rows() {
        let rows: [&[u8]; 9] = [
            b"",
            b"ab",
            b"ab\0",
            b"ab\0\x01",
            b"ab\xff",
            b"0123456789abcdef",
            b"0123456789abcdef\0",
            b"0123456789abcdefA",
            b"0123456789abcdeg",
        ];
        let cells: Vec<Cell> = rows
            .iter()
            .map(|r| Cell::put(r.to_vec(), "f", "q", 1, "v"))
            .collect();
        for a in &cells {
            for b in &cells {
                let (ma, mb) = (MemCell::new(a), MemCell::new(b));
                assert_eq!(ma.cmp(&mb), compare_with_seq(a, b), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn a_mem_cell_gives_back_every_part() {
        let mut c = Cell::put(vec![7u8; 300], "fam", vec![0u8; 70_000], -3, vec![9u8; 5]);
        c.tags = bytes::Bytes::from_static(b"\x01\x00\x02tg");
        c.type_code = CellType::DeleteColumn.code();
        c.seq_id = u64::MAX - 1;
        let m = MemCell::new(&c);
        let v = m.view();
        assert_eq!(
            (v.row, v.family, v.qualifier, v.value, v.tags),
            (
                &c.row[..],
                &c.family[..],
                &c.qualifier[..],
                &c.value[..],
                &c.tags[..]
            )
        );
        assert_eq!(
            (v.timestamp, v.type_code, v.seq_id),
            (c.timestamp, c.type_code, c.seq_id)
        );
    }

    #[test]
    fn the_row_filter_knows_every_row_added_and_few_others() {
        let m = MemStore::new();
        assert!(!m.may_contain_row(b"r0"));
        for i in 0..50_000 {
            m.add(&put(&format!("r{i}"), "q", 1, i + 1));
        }
        assert!((0..50_000).all(|i| m.may_contain_row(format!("r{i}").as_bytes())));
        let others = (0..50_000)
            .filter(|i| m.may_contain_row(format!("x{i}").as_bytes()))
            .count();
        assert!(others < 1_000, "{others} of 50000 absent rows let through");
    }

    #[test]
    fn order_and_seek() {
        let m = Arc::new(MemStore::new());
        m.add(&put("b", "q", 1, 1));
        m.add(&put("a", "q", 1, 2));
        m.add(&put("a", "q", 5, 3));
        m.add(&put("a", "q", 5, 4));
        let mut del = Cell::delete("a", "f", "q", 5, CellType::Delete);
        del.seq_id = 5;
        m.add(&del);
        let mut all: Vec<(String, i64, u8, u64)> = Vec::new();
        m.try_for_each(|c| -> Result<(), ()> {
            all.push((
                String::from_utf8_lossy(c.row).into_owned(),
                c.timestamp,
                c.type_code,
                c.seq_id,
            ));
            Ok(())
        })
        .ok();
        assert_eq!(
            all,
            vec![
                ("a".into(), 5, 8, 5),
                ("a".into(), 5, 4, 4),
                ("a".into(), 5, 4, 3),
                ("a".into(), 1, 4, 2),
                ("b".into(), 1, 4, 1)
            ]
        );
        let probe = Cell::delete("b", "", "", i64::MAX, CellType::Maximum);
        let mut probe = probe;
        probe.seq_id = u64::MAX;
        let mut pos = MemPosition::new(m.clone());
        pos.seek(&MemCell::new(&probe));
        assert_eq!(pos.current().map(|c| c.row), Some(&b"b"[..]));
        pos.advance();
        assert!(pos.current().is_none());
        assert!(m.size() > 0);
        assert_eq!(m.max_seq_id(), 5);
        assert_eq!(m.time_range(), Some((1, 5)));
    }
}
