//! [`RowCells`]: one row's cells, lent from a file block or copied into one buffer that a
//! scanner reuses from row to row, and
//! [`RowCursor`]: scans that lend each row instead of allocating a [`RowResult`] for it.

use bytes::Bytes;
use hfile::{Cell, CellSlices, CellView};

use crate::client::RowIter;
use crate::error::Result;
use crate::scan::{Filter, RowResult, Scan};

/// The largest buffer [`RowCells::recycle`] keeps.
const SPARE_MAX_BYTES: usize = 1 << 20;

thread_local! {
    /// One spare row buffer per thread (see [`RowCells::spare`]).
    static SPARE: std::cell::Cell<Option<RowCells>> = const { std::cell::Cell::new(None) };
}

/// Where one cell's parts lie in [`RowCells`]' bytes (half-open ranges), and its
/// fixed-size fields.
#[derive(Clone, Copy, Debug)]
struct Entry {
    family: (usize, usize),
    qualifier: (usize, usize),
    value: (usize, usize),
    tags: (usize, usize),
    timestamp: i64,
    type_code: u8,
    seq_id: u64,
}

/// The cells of one row. Scans lend a `RowCells` per row (see [`RowCursor`]) and reuse it
/// from row to row: a row read from one file block refers to that block's bytes (the
/// block is kept alive with it, and nothing is copied); otherwise the row key and every
/// cell's parts are copied into one buffer, so reading a row allocates nothing once the
/// buffer has grown. [`RowCells::to_result`] makes the owned [`RowResult`].
#[derive(Clone, Debug, Default)]
pub struct RowCells {
    /// The copied row key and parts, when the row is not lent from a block.
    data: Vec<u8>,
    /// The block the whole row lies in, when it does.
    block: Option<Bytes>,
    row: (usize, usize),
    cells: Vec<Entry>,
}

/// The block a row is lent from, else its copy buffer (a free function, so a caller can
/// borrow these fields while it changes the cells).
#[inline]
fn bytes_of<'a>(block: &'a Option<Bytes>, data: &'a [u8]) -> &'a [u8] {
    match block {
        Some(b) => b,
        None => data,
    }
}

/// The length of a half-open range.
fn span((start, end): (usize, usize)) -> usize {
    end - start
}

/// Where `part` starts in `within`, if it lies inside it (an empty part lies anywhere).
#[inline]
fn offset_in(within: &[u8], part: &[u8]) -> Option<(usize, usize)> {
    if part.is_empty() {
        return Some((0, 0));
    }
    let start = (part.as_ptr() as usize).checked_sub(within.as_ptr() as usize)?;
    let end = start + part.len();
    (end <= within.len()).then_some((start, end))
}

impl RowCells {
    /// An empty row.
    pub fn new() -> RowCells {
        RowCells::default()
    }

    /// A buffer that a scanner on this thread gave back (see [`RowCells::recycle`]), so a
    /// short read such as a get does not grow a new one cell by cell; else a new one.
    pub(crate) fn spare() -> RowCells {
        SPARE.take().unwrap_or_default()
    }

    /// Keeps this buffer for the next [`RowCells::spare`] on this thread, unless it grew
    /// past [`SPARE_MAX_BYTES`] (one huge row must not stay pinned in memory).
    pub(crate) fn recycle(mut self) {
        self.block = None;
        if self.data.capacity() <= SPARE_MAX_BYTES {
            SPARE.set(Some(self));
        }
    }

    /// The bytes the ranges refer to.
    #[inline]
    fn bytes(&self) -> &[u8] {
        bytes_of(&self.block, &self.data)
    }

    /// Starts over with row key `row` and no cells.
    pub fn start(&mut self, row: &[u8]) {
        self.block = None;
        self.data.clear();
        self.data.extend_from_slice(row);
        self.row = (0, row.len());
        self.cells.clear();
    }

    /// Starts over with row key `row`, a slice of `block` if it is one: cells that also
    /// lie in `block` are then recorded where they are instead of being copied.
    #[inline]
    pub(crate) fn start_in(&mut self, block: Option<&Bytes>, row: &[u8]) {
        let Some((b, at)) = block.and_then(|b| Some((b, offset_in(b, row)?))) else {
            return self.start(row);
        };
        // Rows of one block share one handle to it.
        let same = self
            .block
            .as_ref()
            .is_some_and(|mine| mine.as_ptr() == b.as_ptr() && mine.len() == b.len());
        if !same {
            self.block = Some(b.clone());
        }
        self.row = at;
        self.data.clear();
        self.cells.clear();
    }

    /// Appends a cell of the current row (its row key is not checked or copied).
    // Inlined into the scan loop, so the cell's fields need not round-trip through memory.
    #[inline]
    pub fn push<C: CellView + ?Sized>(&mut self, c: &C) {
        match self.lend(c) {
            Some(e) => self.cells.push(e),
            None => self.push_copy(c),
        }
    }

    /// Where `c`'s parts lie in the block the row is lent from, if they all do.
    #[inline]
    fn lend<C: CellView + ?Sized>(&self, c: &C) -> Option<Entry> {
        let b = self.block.as_ref()?;
        Some(Entry {
            family: offset_in(b, c.family())?,
            qualifier: offset_in(b, c.qualifier())?,
            value: offset_in(b, c.value())?,
            tags: offset_in(b, c.tags())?,
            timestamp: c.timestamp(),
            type_code: c.type_code(),
            seq_id: c.seq_id(),
        })
    }

    /// Appends a copy of `c`'s parts (copying a lent row first).
    fn push_copy<C: CellView + ?Sized>(&mut self, c: &C) {
        self.copy_out();
        let mut part = |p: &[u8]| {
            let start = self.data.len();
            self.data.extend_from_slice(p);
            (start, self.data.len())
        };
        let e = Entry {
            family: part(c.family()),
            qualifier: part(c.qualifier()),
            value: part(c.value()),
            tags: part(c.tags()),
            timestamp: c.timestamp(),
            type_code: c.type_code(),
            seq_id: c.seq_id(),
        };
        self.cells.push(e);
    }

    /// Copies a row lent from a block into the buffer (a cell from elsewhere joins it).
    fn copy_out(&mut self) {
        let Some(b) = self.block.take() else { return };
        self.data.clear();
        let mut copy = |(s, e): (usize, usize)| {
            let start = self.data.len();
            self.data.extend_from_slice(&b[s..e]);
            (start, self.data.len())
        };
        self.row = copy(self.row);
        for e in &mut self.cells {
            e.family = copy(e.family);
            e.qualifier = copy(e.qualifier);
            e.value = copy(e.value);
            e.tags = copy(e.tags);
        }
    }

    /// Replaces the contents with an owned row.
    pub fn load(&mut self, row: &RowResult) {
        self.start(&row.row);
        for c in &row.cells {
            self.push(c);
        }
    }

    /// The row key.
    #[inline]
    pub fn row(&self) -> &[u8] {
        &self.bytes()[self.row.0..self.row.1]
    }

    /// Number of cells.
    #[inline]
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// True if the row has no cell.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    #[inline]
    fn view(&self, e: &Entry) -> CellSlices<'_> {
        let b = self.bytes();
        CellSlices {
            row: &b[self.row.0..self.row.1],
            family: &b[e.family.0..e.family.1],
            qualifier: &b[e.qualifier.0..e.qualifier.1],
            timestamp: e.timestamp,
            type_code: e.type_code,
            value: &b[e.value.0..e.value.1],
            tags: &b[e.tags.0..e.tags.1],
            seq_id: e.seq_id,
            key: &[],
        }
    }

    /// The `i`-th cell.
    #[inline]
    pub fn cell(&self, i: usize) -> Option<CellSlices<'_>> {
        self.cells.get(i).map(|e| self.view(e))
    }

    /// The cells in HBase order (family, qualifier ascending; newest version first).
    #[inline]
    pub fn cells(&self) -> impl ExactSizeIterator<Item = CellSlices<'_>> + Clone + '_ {
        self.cells.iter().map(|e| self.view(e))
    }

    /// Each cell's family and qualifier, in cell order (cheaper than [`RowCells::cells`]
    /// for readers of the columns alone).
    #[inline]
    pub fn columns(&self) -> impl ExactSizeIterator<Item = (&[u8], &[u8])> + '_ {
        let b = self.bytes();
        self.cells
            .iter()
            .map(move |e| (&b[e.family.0..e.family.1], &b[e.qualifier.0..e.qualifier.1]))
    }

    /// The first (newest) value of `family:qualifier`.
    pub fn value(&self, family: &[u8], qualifier: &[u8]) -> Option<&[u8]> {
        self.cells()
            .find(|c| c.family == family && c.qualifier == qualifier)
            .map(|c| c.value)
    }

    /// The owned row: one allocation for all its bytes, shared by its cells.
    pub fn to_result(&self) -> RowResult {
        let b = self.bytes();
        let parts = |e: &Entry| [e.family, e.qualifier, e.value, e.tags];
        let size = span(self.row) + self.cells.iter().flat_map(parts).map(span).sum::<usize>();
        // Row, then each cell's parts in `parts` order; sliced back in the same order.
        let mut data = Vec::with_capacity(size);
        for (s, e) in std::iter::once(self.row).chain(self.cells.iter().flat_map(parts)) {
            data.extend_from_slice(&b[s..e]);
        }
        let data = Bytes::from(data);
        let mut at = 0;
        let mut take = |range: (usize, usize)| {
            let start = at;
            at += span(range);
            data.slice(start..at)
        };
        let row = take(self.row);
        let cells = self
            .cells
            .iter()
            .map(|e| Cell {
                row: row.clone(),
                family: take(e.family),
                qualifier: take(e.qualifier),
                value: take(e.value),
                tags: take(e.tags),
                timestamp: e.timestamp,
                type_code: e.type_code,
                seq_id: e.seq_id,
            })
            .collect();
        RowResult { row, cells }
    }

    /// Applies a read's row-level filters and column selection to the visible cells of the
    /// row; leaves it empty if the row is filtered out.
    pub(crate) fn apply(&mut self, scan: &Scan) {
        if scan.raw {
            return;
        }
        if let Some(f) = &scan.filter {
            if !f.row_cells_pass(self) {
                self.cells.clear();
                return;
            }
        }
        let b = bytes_of(&self.block, &self.data);
        self.cells
            .retain(|e| scan.selects(&b[e.family.0..e.family.1], &b[e.qualifier.0..e.qualifier.1]));
        if let Some(f) = &scan.filter {
            self.transform(f);
        }
    }

    /// Applies the filters that reshape a row's returned cells: key-only, first-key-only.
    pub(crate) fn transform(&mut self, f: &Filter) {
        match f {
            Filter::KeyOnly => {
                for e in &mut self.cells {
                    e.value.1 = e.value.0;
                }
            }
            Filter::FirstKeyOnly => self.cells.truncate(1),
            Filter::All(fs) => {
                for f in fs {
                    self.transform(f);
                }
            }
            _ => {}
        }
    }
}

/// A scan that lends each row: [`RowCursor::next_row`] returns the next row's cells,
/// borrowed until the next call (the allocation-free form of [`crate::Table::scan`]).
pub trait RowCursor: Send {
    /// The next row, or `None` after the last.
    fn next_row(&mut self) -> Result<Option<&RowCells>>;
}

/// A [`RowCursor`] over an iterator of owned rows (for connections without a lending
/// scan).
pub struct OwnedRows {
    rows: RowIter,
    current: RowCells,
}

impl OwnedRows {
    /// Lends the rows of `rows`.
    pub fn new(rows: RowIter) -> OwnedRows {
        OwnedRows {
            rows,
            current: RowCells::new(),
        }
    }
}

impl RowCursor for OwnedRows {
    fn next_row(&mut self) -> Result<Option<&RowCells>> {
        match self.rows.next().transpose()? {
            Some(r) => {
                self.current.load(&r);
                Ok(Some(&self.current))
            }
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::Column;

    fn row() -> RowResult {
        let mut a = Cell::put("r1", "f", "a", 5, "va");
        a.tags = Bytes::from_static(b"\x01\x00\x01t");
        a.seq_id = 7;
        RowResult {
            row: Bytes::from_static(b"r1"),
            cells: vec![
                a,
                Cell::put("r1", "f", "b", 4, "vb"),
                Cell::put("r1", "g", "a", 3, ""),
            ],
        }
    }

    #[test]
    fn round_trips_and_finds_values() {
        let mut rc = RowCells::new();
        rc.load(&row());
        assert_eq!(rc.to_result(), row());
        assert_eq!(rc.row(), b"r1");
        assert_eq!(rc.len(), 3);
        assert_eq!(rc.value(b"f", b"b"), Some(&b"vb"[..]));
        assert_eq!(rc.value(b"g", b"a"), Some(&b""[..]));
        assert_eq!(rc.value(b"g", b"b"), None);
        let columns: Vec<_> = rc.columns().collect();
        let from_cells: Vec<_> = rc.cells().map(|c| (c.family, c.qualifier)).collect();
        assert_eq!(columns, from_cells);
        assert_eq!(columns[2], (&b"g"[..], &b"a"[..]));
        let first = rc.cells().next().map(|c| (c.tags.to_vec(), c.seq_id));
        assert_eq!(first, Some((b"\x01\x00\x01t".to_vec(), 7)));
    }

    #[test]
    fn rows_lent_from_a_block_read_like_copied_ones() {
        // A "block" holding two cells of row r1 back to back, as an unencoded block does.
        let mut raw = Vec::new();
        let mut at = Vec::new();
        for (q, v) in [("a", "va"), ("b", "vb")] {
            let key = hfile::cell::make_key(b"r1", b"f", q.as_bytes(), 5, hfile::CellType::Put);
            at.push((raw.len(), key.len(), v.len()));
            raw.extend_from_slice(&key);
            raw.extend_from_slice(v.as_bytes());
        }
        let block = Bytes::from(raw);
        let cell = |i: usize| {
            let (k, kl, vl) = at[i];
            hfile::CellRef::new(&block[k..k + kl], &block[k + kl..k + kl + vl], &[], 9)
        };
        let (Some(a), Some(b)) = (cell(0), cell(1)) else {
            panic!("malformed test key")
        };
        let want = RowResult {
            row: Bytes::from_static(b"r1"),
            cells: vec![
                Cell {
                    seq_id: 9,
                    ..Cell::put("r1", "f", "a", 5, "va")
                },
                Cell {
                    seq_id: 9,
                    ..Cell::put("r1", "f", "b", 5, "vb")
                },
            ],
        };
        let mut rc = RowCells::new();
        rc.start_in(Some(&block), a.row());
        rc.push(&a);
        rc.push(&b);
        assert!(
            rc.block.is_some() && rc.data.is_empty(),
            "lent, nothing copied"
        );
        assert_eq!(rc.to_result(), want);
        assert_eq!(rc.value(b"f", b"b"), Some(&b"vb"[..]));
        // A cell from elsewhere (another source) turns the row into a copy.
        rc.start_in(Some(&block), a.row());
        rc.push(&a);
        let other = Cell::put("r1", "g", "c", 1, "vc");
        rc.push(&other);
        assert!(rc.block.is_none());
        let mut more = want.clone();
        more.cells.truncate(1);
        more.cells.push(other);
        assert_eq!(rc.to_result(), more);
        // A row key that is not in the block is copied from the start.
        rc.start_in(Some(&block), b"r1");
        assert!(rc.block.is_none());
        rc.push(&b);
        assert_eq!(rc.cell(0).map(|c| c.value), Some(&b"vb"[..]));
    }

    #[test]
    fn applies_selection_and_filters() {
        let mut rc = RowCells::new();
        rc.load(&row());
        let mut scan = Scan::new().with_filter(Filter::KeyOnly);
        scan.columns = vec![Column {
            family: b"f".to_vec(),
            qualifier: None,
        }];
        rc.apply(&scan);
        let got: Vec<_> = rc
            .cells()
            .map(|c| (c.qualifier.to_vec(), c.value.len(), c.tags.len()))
            .collect();
        assert_eq!(got, vec![(b"a".to_vec(), 0, 4), (b"b".to_vec(), 0, 0)]);

        rc.load(&row());
        let cmp = |op, operand: &str| Filter::SingleColumnValue {
            family: b"f".to_vec(),
            qualifier: b"b".to_vec(),
            op,
            operand: operand.as_bytes().to_vec(),
            filter_if_missing: true,
        };
        rc.apply(&Scan::new().with_filter(cmp(crate::CompareOp::Equal, "nope")));
        assert!(rc.is_empty());
        rc.load(&row());
        let keep = Filter::All(vec![
            cmp(crate::CompareOp::Equal, "vb"),
            Filter::FirstKeyOnly,
        ]);
        rc.apply(&Scan::new().with_filter(keep));
        assert_eq!(rc.len(), 1);
    }
}
