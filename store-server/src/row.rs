//! [`RowCells`]: one row's cells in one buffer that a scanner reuses from row to row, and
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

/// Where one cell's parts lie in [`RowCells`]' buffer, and its fixed-size fields.
#[derive(Clone, Copy, Debug)]
struct Entry {
    /// Start of the family, then the ends of family, qualifier, tags and value (the value
    /// is last so that emptying it leaves the other parts in place).
    bounds: [usize; 5],
    timestamp: i64,
    type_code: u8,
    seq_id: u64,
}

/// The cells of one row: the row key, then every cell's family, qualifier, tags and value,
/// copied into one buffer. Scans lend a `RowCells` per row (see [`RowCursor`]), so reading
/// a row allocates nothing once the buffer has grown; [`RowCells::to_result`] makes the
/// owned [`RowResult`].
#[derive(Clone, Debug, Default)]
pub struct RowCells {
    data: Vec<u8>,
    row_len: usize,
    cells: Vec<Entry>,
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
    pub(crate) fn recycle(self) {
        if self.data.capacity() <= SPARE_MAX_BYTES {
            SPARE.set(Some(self));
        }
    }

    /// Starts over with row key `row` and no cells.
    pub fn start(&mut self, row: &[u8]) {
        self.data.clear();
        self.data.extend_from_slice(row);
        self.row_len = row.len();
        self.cells.clear();
    }

    /// Appends a cell of the current row (its row key is not checked or copied).
    pub fn push<C: CellView + ?Sized>(&mut self, c: &C) {
        let start = self.data.len();
        let mut bounds = [start; 5];
        for (i, part) in [c.family(), c.qualifier(), c.tags(), c.value()]
            .into_iter()
            .enumerate()
        {
            self.data.extend_from_slice(part);
            bounds[i + 1] = self.data.len();
        }
        self.cells.push(Entry {
            bounds,
            timestamp: c.timestamp(),
            type_code: c.type_code(),
            seq_id: c.seq_id(),
        });
    }

    /// Replaces the contents with an owned row.
    pub fn load(&mut self, row: &RowResult) {
        self.start(&row.row);
        for c in &row.cells {
            self.push(c);
        }
    }

    /// The row key.
    pub fn row(&self) -> &[u8] {
        &self.data[..self.row_len]
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// True if the row has no cell.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    fn view(&self, e: &Entry) -> CellSlices<'_> {
        let [f, fe, qe, te, ve] = e.bounds;
        CellSlices {
            row: self.row(),
            family: &self.data[f..fe],
            qualifier: &self.data[fe..qe],
            timestamp: e.timestamp,
            type_code: e.type_code,
            value: &self.data[te..ve],
            tags: &self.data[qe..te],
            seq_id: e.seq_id,
            key: &[],
        }
    }

    /// The `i`-th cell.
    pub fn cell(&self, i: usize) -> Option<CellSlices<'_>> {
        self.cells.get(i).map(|e| self.view(e))
    }

    /// The cells in HBase order (family, qualifier ascending; newest version first).
    pub fn cells(&self) -> impl ExactSizeIterator<Item = CellSlices<'_>> + Clone + '_ {
        self.cells.iter().map(|e| self.view(e))
    }

    /// The first (newest) value of `family:qualifier`.
    pub fn value(&self, family: &[u8], qualifier: &[u8]) -> Option<&[u8]> {
        self.cells()
            .find(|c| c.family == family && c.qualifier == qualifier)
            .map(|c| c.value)
    }

    /// The owned row: one allocation for all its bytes, shared by its cells.
    pub fn to_result(&self) -> RowResult {
        let data = Bytes::copy_from_slice(&self.data);
        let row = data.slice(..self.row_len);
        let cells = self
            .cells
            .iter()
            .map(|e| {
                let [f, fe, qe, te, ve] = e.bounds;
                Cell {
                    row: row.clone(),
                    family: data.slice(f..fe),
                    qualifier: data.slice(fe..qe),
                    timestamp: e.timestamp,
                    type_code: e.type_code,
                    value: data.slice(te..ve),
                    tags: data.slice(qe..te),
                    seq_id: e.seq_id,
                }
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
        let data = &self.data;
        self.cells.retain(|e| {
            let [f, fe, qe, ..] = e.bounds;
            scan.selects(&data[f..fe], &data[fe..qe])
        });
        if let Some(f) = &scan.filter {
            self.transform(f);
        }
    }

    /// Applies the filters that reshape a row's returned cells: key-only, first-key-only.
    pub(crate) fn transform(&mut self, f: &Filter) {
        match f {
            Filter::KeyOnly => {
                for e in &mut self.cells {
                    e.bounds[4] = e.bounds[3];
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
        let first = rc.cells().next().map(|c| (c.tags.to_vec(), c.seq_id));
        assert_eq!(first, Some((b"\x01\x00\x01t".to_vec(), 7)));
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
