//! The memstore: the cells a store absorbs until it is flushed to a store file, kept
//! sorted for readers while writers add to it.
//!
//! A lock-free skip list holds one entry per column (row, family, qualifier), and each
//! entry the column's versions, newest first (`version`). A read of a row moves from
//! column to column without passing old versions: the versions of a row updated many
//! times stay in the memstore until a flush, and with one skip-list entry per cell a get
//! stepped over (and compared against) every one of them. Cells come out in HBase order
//! and, for identical keys, newest sequence id first; which ones a reader sees is decided
//! by its MVCC read point.

mod row_filter;
mod version;

use std::cmp::Ordering;
use std::ops::Bound;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::Arc;

use crossbeam_skiplist::{map::Entry, SkipMap};
use hfile::{CellSlices, CellType, CellView, Comparator};

use row_filter::RowFilter;
use version::{version_order, Chain, Version};

/// Bytes of the row a [`ColumnKey`] keeps inline.
const PREFIX: usize = 16;

/// The first [`PREFIX`] bytes of `row`, zero-padded, as a big-endian number: prefixes that
/// differ order their rows. Zero padding cannot misorder: where two padded prefixes first
/// differ, a padded zero stands for the end of a row that is a prefix of the other one.
fn row_prefix(row: &[u8]) -> u128 {
    let mut p = [0u8; PREFIX];
    let n = row.len().min(PREFIX);
    p[..n].copy_from_slice(&row[..n]);
    u128::from_be_bytes(p)
}

/// A column's key in the skip list: the row's first bytes inline (most comparisons of a
/// search are decided by them without leaving the node) and a version of the column, whose
/// row, family and qualifier it compares.
///
/// The version outlives the key: a key in the map points at a version of its own entry's
/// [`Chain`]; a key being inserted or searched for, at a version its maker holds.
#[derive(Debug)]
struct ColumnKey {
    row_prefix: u128,
    cell: Version,
}

impl ColumnKey {
    fn new(row: &[u8], cell: Version) -> ColumnKey {
        ColumnKey {
            row_prefix: row_prefix(row),
            cell,
        }
    }

    fn view(&self) -> CellSlices<'_> {
        // SAFETY: the version outlives the key (see the type's documentation).
        unsafe { self.cell.view() }
    }
}

impl Ord for ColumnKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.row_prefix
            .cmp(&other.row_prefix)
            .then_with(|| compare_columns(&self.view(), &other.view()))
    }
}

impl PartialOrd for ColumnKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for ColumnKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for ColumnKey {}

/// A search key made from a cell: it owns the version its [`ColumnKey`] points at.
struct Probe(ColumnKey);

impl Probe {
    fn new<C: CellView + ?Sized>(cell: &C) -> Probe {
        Probe(ColumnKey::new(cell.row(), Version::new(cell)))
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        // SAFETY: the version was never linked into a chain, and the key dies with it.
        unsafe { self.0.cell.free() }
    }
}

/// HBase order of two cells' columns: row, family, qualifier — where a "last on row" search
/// key (no family or qualifier, type `Minimum`) follows every column of its row. Within a
/// column, [`compare_with_seq`] orders by version.
fn compare_columns<A: CellView + ?Sized, B: CellView + ?Sized>(a: &A, b: &B) -> Ordering {
    let last = |family: &[u8], qualifier: &[u8], type_code: u8| {
        family.is_empty() && qualifier.is_empty() && type_code == CellType::Minimum.code()
    };
    Comparator::Default
        .compare_rows(a.row(), b.row())
        .then_with(|| {
            last(a.family(), a.qualifier(), a.type_code()).cmp(&last(
                b.family(),
                b.qualifier(),
                b.type_code(),
            ))
        })
        .then_with(|| a.family().cmp(b.family()))
        .then_with(|| a.qualifier().cmp(b.qualifier()))
}

/// Whether `probe` sorts after every cell of its column: the search key of
/// [`after_column`](crate::cursor::after_column) (oldest timestamp, type `Minimum`,
/// sequence id 0).
fn after_every_version<C: CellView + ?Sized>(probe: &C) -> bool {
    probe.timestamp() == i64::MIN
        && probe.type_code() == CellType::Minimum.code()
        && probe.seq_id() == 0
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

/// One memstore (active or snapshot) of one store.
#[derive(Debug)]
pub struct MemStore {
    columns: SkipMap<ColumnKey, Chain>,
    cells: AtomicUsize,
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
            columns: SkipMap::new(),
            cells: AtomicUsize::new(0),
            rows: RowFilter::default(),
            size: AtomicUsize::new(0),
            max_seq: AtomicU64::new(0),
            min_ts: AtomicI64::new(i64::MAX),
            max_ts: AtomicI64::new(i64::MIN),
        }
    }

    /// Inserts a copy of a cell (its `seq_id` must be set); returns the bytes it added. A
    /// cell whose key and sequence id equal an earlier one's hides it.
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
        let v = Version::new(cell);
        // A new column's entry starts empty and gets `v` like any other version: the map
        // drops the entry it made if another writer's was installed first, so it must not
        // own `v` before it is installed.
        self.columns
            .get_or_insert_with(ColumnKey::new(cell.row(), v), Chain::empty)
            .value()
            .insert(v);
        self.cells.fetch_add(1, AtomicOrdering::AcqRel);
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

    /// Number of cells added.
    pub fn len(&self) -> usize {
        self.cells.load(AtomicOrdering::Acquire)
    }

    /// True if no cell was added.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
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
        for column in self.columns.iter() {
            let mut at = column.value().head();
            while let Some(v) = at {
                // SAFETY: versions live as long as the memstore, borrowed here.
                let cell = unsafe { v.view() };
                f(cell)?;
                at = next_key(v, &cell);
            }
        }
        Ok(())
    }
}

/// The version after `v` (whose cell is `cell`) with another key: versions equal in key and
/// sequence id to the one before them are hidden by it (a later write of the same key in
/// one mutation).
fn next_key(v: Version, cell: &CellSlices<'_>) -> Option<Version> {
    // SAFETY: the caller holds the memstore that holds `v`'s chain.
    let mut next = unsafe { v.next() };
    while let Some(n) = next {
        if version_order(&unsafe { n.view() }, cell) != Ordering::Equal {
            break;
        }
        next = unsafe { n.next() };
    }
    next
}

/// Where a [`MemPosition`] is: a column's entry and one of its versions.
struct At<'a> {
    column: Entry<'a, ColumnKey, Chain>,
    version: Version,
}

impl<'a> At<'a> {
    /// The newest version of `column`, or of the first column after it that has one.
    fn first_of(column: Option<Entry<'a, ColumnKey, Chain>>) -> Option<At<'a>> {
        let mut column = column?;
        loop {
            // A column's first version is linked just after its entry is installed.
            if let Some(version) = column.value().head() {
                return Some(At { column, version });
            }
            if !column.move_next() {
                return None;
            }
        }
    }

    /// The newest version of the first column after `column` that has one.
    fn after(mut column: Entry<'a, ColumnKey, Chain>) -> Option<At<'a>> {
        if column.move_next() {
            At::first_of(Some(column))
        } else {
            None
        }
    }
}

/// The place a [`MemPosition`] is at, borrowed from the memstore it owns.
type EntryAt<'a> = Option<At<'a>>;

self_cell::self_cell!(
    struct PositionCell {
        owner: Arc<MemStore>,
        #[covariant]
        dependent: EntryAt,
    }
);

/// A position in one memstore. It holds the column entry and the version it is at (which
/// keeps the memstore alive), so stepping follows links: no search and no copy per cell.
pub struct MemPosition(PositionCell);

impl MemPosition {
    /// A position in `mem` before the first seek (at no cell).
    pub fn new(mem: Arc<MemStore>) -> MemPosition {
        MemPosition(PositionCell::new(mem, |_| None))
    }

    /// Moves to the first cell at or after `probe` (in [`compare_with_seq`] order).
    pub fn seek<C: CellView + ?Sized>(&mut self, probe: &C) {
        let p = Probe::new(probe);
        let past = after_every_version(probe);
        self.0.with_dependent_mut(|mem, at| {
            let column = if past {
                mem.columns.lower_bound(Bound::Excluded(&p.0))
            } else {
                mem.columns.lower_bound(Bound::Included(&p.0))
            };
            *at = match column {
                Some(c) if !past && c.key() == &p.0 => {
                    // The probe's own column: its first version at or after the probe.
                    let want = p.0.view();
                    let mut v = c.value().head();
                    // SAFETY: versions of the memstore's chains live as long as it does.
                    while let Some(x) = v {
                        if version_order(&unsafe { x.view() }, &want) != Ordering::Less {
                            break;
                        }
                        v = unsafe { x.next() };
                    }
                    match v {
                        Some(version) => Some(At { column: c, version }),
                        None => At::after(c),
                    }
                }
                other => At::first_of(other),
            };
        });
    }

    /// Moves to the next cell; past the last one the position is at no cell.
    pub fn advance(&mut self) {
        self.0.with_dependent_mut(|_, at| {
            *at = at.take().and_then(|a| {
                // SAFETY: the position holds the memstore that holds the version.
                match next_key(a.version, &unsafe { a.version.view() }) {
                    Some(version) => Some(At { version, ..a }),
                    None => At::after(a.column),
                }
            });
        });
    }

    /// Moves to the newest cell of the next column, past the rest of this one.
    pub fn next_column(&mut self) {
        self.0
            .with_dependent_mut(|_, at| *at = at.take().and_then(|a| At::after(a.column)));
    }

    /// The cell the position is at.
    pub fn current(&self) -> Option<CellSlices<'_>> {
        self.0
            .borrow_dependent()
            .as_ref()
            // SAFETY: the position holds the memstore that holds the version.
            .map(|a| unsafe { a.version.view() })
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
                let (pa, pb) = (Probe::new(a), Probe::new(b));
                assert_eq!(pa.0.cmp(&pb.0), compare_with_seq(a, b), "{a:?} vs {b:?}");
            }
        }
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
        pos.seek(&probe);
        assert_eq!(pos.current().map(|c| c.row), Some(&b"b"[..]));
        pos.advance();
        assert!(pos.current().is_none());
        assert!(m.size() > 0);
        assert_eq!(m.max_seq_id(), 5);
        assert_eq!(m.time_range(), Some((1, 5)));
    }

    #[test]
    fn writers_racing_to_create_a_column_lose_no_version() {
        // Four writers add versions to the same few new columns at once, so that one's
        // entry is often installed while another's is being made; a reader walks meanwhile.
        let m = Arc::new(MemStore::new());
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let m = &m;
                s.spawn(move || {
                    for i in 0..2_000u64 {
                        let (row, q) = (format!("r{}", i % 50), format!("q{}", i % 3));
                        m.add(&put(&row, &q, (i / 150) as i64, 1 + i * 4 + t));
                    }
                });
            }
            s.spawn(|| {
                for _ in 0..50 {
                    let mut pos = MemPosition::new(m.clone());
                    pos.seek(&crate::cursor::first_on_row(b""));
                    let mut prev: Option<Seen> = None;
                    while let Some(c) = pos.current().map(|c| seen(&c)) {
                        let column = |x: &Seen| (x.0.clone(), x.1.clone());
                        assert!(prev.as_ref().is_none_or(|p| column(p) <= column(&c)));
                        prev = Some(c);
                        pos.advance();
                    }
                }
            });
        });
        let mut n = 0;
        m.try_for_each(|_| -> Result<(), ()> {
            n += 1;
            Ok(())
        })
        .ok();
        assert_eq!((n, m.len()), (8_000, 8_000));
    }

    /// A cell as the model test compares it.
    type Seen = (Vec<u8>, Vec<u8>, i64, u8, u64, Vec<u8>);

    fn seen(c: &CellSlices<'_>) -> Seen {
        (
            c.row.to_vec(),
            c.qualifier.to_vec(),
            c.timestamp,
            c.type_code,
            c.seq_id,
            c.value.to_vec(),
        )
    }

    #[test]
    fn positions_walk_like_a_sorted_list_of_the_cells() {
        // Random cells — few rows and columns, many versions, deletes, repeated keys with
        // the same sequence id (the later one hides the earlier) — against a sorted vector.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let types = [CellType::Put, CellType::Delete, CellType::DeleteColumn];
        let m = Arc::new(MemStore::new());
        let mut model: Vec<Cell> = Vec::new();
        for i in 0..3_000u64 {
            let row = format!("row-{:02}-with-a-long-common-prefix", next(12));
            let q = ["", "a", "b", "qq"][next(4) as usize];
            let mut c = Cell::put(row, "f", q, next(20) as i64, i.to_string());
            c.type_code = types[next(3) as usize].code();
            c.seq_id = 1 + next(400);
            m.add(&c);
            model.retain(|o| compare_with_seq(o, &c) != Ordering::Equal);
            model.push(c);
        }
        model.sort_by(compare_with_seq);
        let want: Vec<Seen> = model.iter().map(|c| seen(&CellSlices::from(c))).collect();
        let mut all = Vec::new();
        m.try_for_each(|c| -> Result<(), ()> {
            all.push(seen(&c));
            Ok(())
        })
        .ok();
        assert_eq!(all, want);
        let mut pos = MemPosition::new(m.clone());
        for _ in 0..300 {
            let row = format!("row-{:02}-with-a-long-common-prefix", next(13));
            let q = ["", "a", "b", "c", "qq"][next(5) as usize];
            let probe = match next(4) {
                0 => crate::cursor::first_on_row(row.as_bytes()),
                1 => crate::cursor::after_column(row.as_bytes(), b"f", q.as_bytes()),
                2 => crate::cursor::after_column(row.as_bytes(), b"", b""),
                _ => {
                    let mut p = crate::cursor::probe(row.as_bytes(), b"f", q.as_bytes());
                    p.timestamp = next(22) as i64;
                    p.seq_id = next(400);
                    p
                }
            };
            let from = model.partition_point(|c| compare_with_seq(c, &probe) == Ordering::Less);
            pos.seek(&probe);
            let mut got = Vec::new();
            for _ in 0..40 {
                let Some(c) = pos.current() else { break };
                got.push(seen(&c));
                pos.advance();
            }
            let end = (from + 40).min(want.len());
            assert_eq!(got, want[from..end], "after seeking {probe:?}");
            // Skipping the rest of a column lands on the next column's newest cell.
            pos.seek(&probe);
            if let Some(c) = pos.current().map(|c| seen(&c)) {
                pos.next_column();
                let after = want[from..]
                    .iter()
                    .find(|w| (&w.0, &w.1) != (&c.0, &c.1))
                    .cloned();
                assert_eq!(pos.current().map(|c| seen(&c)), after);
            }
        }
    }
}
