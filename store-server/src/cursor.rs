//! Sorted cell cursors and their k-way merge: the memstore cursor, and the merging cursor
//! over memstores and store files that the read path and compactions consume.

use std::cmp::Ordering;
use std::sync::Arc;

use hfile::{Cell, CellSlices, CellType};

use crate::error::Result;
use crate::memstore::{compare_with_seq, MemCell, MemPosition, MemStore};

/// A forward cursor over cells in HBase order (identical keys newest sequence id first).
/// The current cell is borrowed from the source (a memstore cell, a store file's block), so
/// merging and matching copy nothing; callers copy only the cells they keep.
pub trait CellCursor: Send {
    /// The current cell, or `None` when exhausted.
    fn peek(&self) -> Option<CellSlices<'_>>;
    /// Moves to the next cell.
    fn advance(&mut self) -> Result<()>;
    /// Positions at the first cell at or after `probe` (a search cell from [`probe`]).
    fn seek(&mut self, probe: &Cell) -> Result<()>;
    /// Moves forward to the first cell at or after `probe`, which sorts after the current
    /// cell: a few steps when it is near, a seek when it is not.
    fn reseek(&mut self, probe: &Cell) -> Result<()> {
        for _ in 0..RESEEK_STEPS {
            match self.peek() {
                Some(c) if compare_with_seq(&c, probe) == Ordering::Less => {}
                _ => return Ok(()),
            }
            self.advance()?;
        }
        match self.peek() {
            Some(c) if compare_with_seq(&c, probe) == Ordering::Less => self.seek(probe),
            _ => Ok(()),
        }
    }
}

/// Cells a [`CellCursor::reseek`] steps over before it seeks instead.
const RESEEK_STEPS: usize = 8;

/// A search cell sorting before every cell of `row` at or after `family:qualifier`.
pub fn probe(row: &[u8], family: &[u8], qualifier: &[u8]) -> Cell {
    let mut c = Cell::delete(
        bytes::Bytes::copy_from_slice(row),
        bytes::Bytes::copy_from_slice(family),
        bytes::Bytes::copy_from_slice(qualifier),
        hfile::cell::LATEST_TIMESTAMP,
        CellType::Maximum,
    );
    c.seq_id = u64::MAX;
    c
}

/// A search cell sorting after every cell of `row`'s column `family:qualifier`.
pub fn after_column(row: &[u8], family: &[u8], qualifier: &[u8]) -> Cell {
    let mut c = probe(row, family, qualifier);
    c.timestamp = i64::MIN;
    c.type_code = CellType::Minimum.code();
    c.seq_id = 0;
    c
}

/// A search cell sorting before every cell of `row`.
pub fn first_on_row(row: &[u8]) -> Cell {
    probe(row, b"", b"")
}

/// A cursor over one memstore that hides cells above a read point. It walks the skip list's
/// links from the entry it is at, and hands out the cells it passes borrowed; cells inserted
/// after the cursor was made are above the read point and invisible anyway.
pub struct MemCursor {
    pos: MemPosition,
    read_point: u64,
}

impl MemCursor {
    /// A cursor over `mem` showing cells with `seq_id <= read_point`; call `seek` first.
    pub fn new(mem: Arc<MemStore>, read_point: u64) -> MemCursor {
        MemCursor {
            pos: MemPosition::new(mem),
            read_point,
        }
    }

    fn skip_invisible(&mut self) {
        while self
            .pos
            .current()
            .is_some_and(|c| c.seq_id > self.read_point)
        {
            self.pos.advance();
        }
    }
}

impl CellCursor for MemCursor {
    fn peek(&self) -> Option<CellSlices<'_>> {
        self.pos.current().map(CellSlices::from)
    }

    fn advance(&mut self) -> Result<()> {
        self.pos.advance();
        self.skip_invisible();
        Ok(())
    }

    fn seek(&mut self, probe: &Cell) -> Result<()> {
        self.pos.seek(&MemCell(probe.clone()));
        self.skip_invisible();
        Ok(())
    }
}

/// A cursor over a fixed, sorted vector of cells (used in tests and for small sources).
pub struct VecCursor {
    cells: Vec<Cell>,
    pos: usize,
}

impl VecCursor {
    /// Wraps cells that are already sorted with [`compare_with_seq`].
    pub fn new(cells: Vec<Cell>) -> VecCursor {
        VecCursor { cells, pos: 0 }
    }
}

impl CellCursor for VecCursor {
    fn peek(&self) -> Option<CellSlices<'_>> {
        self.cells.get(self.pos).map(CellSlices::from)
    }

    fn advance(&mut self) -> Result<()> {
        if self.pos < self.cells.len() {
            self.pos += 1;
        }
        Ok(())
    }

    fn seek(&mut self, probe: &Cell) -> Result<()> {
        self.pos = self
            .cells
            .partition_point(|c| compare_with_seq(c, probe) == Ordering::Less);
        Ok(())
    }
}

/// A boxed cursor is a cursor (for merges of mixed sources).
impl<C: CellCursor + ?Sized> CellCursor for Box<C> {
    fn peek(&self) -> Option<CellSlices<'_>> {
        (**self).peek()
    }

    fn advance(&mut self) -> Result<()> {
        (**self).advance()
    }

    fn seek(&mut self, probe: &Cell) -> Result<()> {
        (**self).seek(probe)
    }

    fn reseek(&mut self, probe: &Cell) -> Result<()> {
        (**self).reseek(probe)
    }
}

/// Merges several cursors into one sorted stream with a binary heap of the children (HBase's
/// `KeyValueHeap`). Ties (identical key and sequence id) go to the earlier child. Children of
/// one concrete type (a compaction's store files) merge without dynamic dispatch.
pub struct MergeCursor<C: CellCursor = Box<dyn CellCursor>> {
    children: Vec<C>,
    /// Indexes of the children that have a current cell, as a min-heap on that cell.
    heap: Vec<usize>,
}

impl<C: CellCursor> MergeCursor<C> {
    /// Merges `children`; call `seek` before reading.
    pub fn new(children: Vec<C>) -> MergeCursor<C> {
        let mut m = MergeCursor {
            children,
            heap: Vec::new(),
        };
        m.rebuild();
        m
    }

    /// Moves the child at heap position `i` down to its place. The sinking child's cell is
    /// peeked once, and each child below once per level (a file child parses its cell on
    /// every peek, and this is the merge's inner loop).
    fn sift_down(&mut self, mut i: usize) {
        let (children, heap) = (&self.children, &mut self.heap);
        let n = heap.len();
        if 2 * i + 1 >= n {
            return;
        }
        let sinking = heap[i];
        let Some(cell) = children[sinking].peek() else {
            return;
        };
        // `a` (child `ia`) sorts before `b` (child `ib`); ties go to the earlier child.
        let before = |a: &CellSlices<'_>, ia: usize, b: &CellSlices<'_>, ib: usize| {
            compare_with_seq(a, b).then(ia.cmp(&ib)) == Ordering::Less
        };
        loop {
            let l = 2 * i + 1;
            if l >= n {
                return;
            }
            let Some(lc) = children[heap[l]].peek() else {
                return;
            };
            let (mut min, mut min_cell) = (l, lc);
            if let Some(rc) = heap.get(l + 1).and_then(|&r| children[r].peek()) {
                if before(&rc, heap[l + 1], &min_cell, heap[l]) {
                    (min, min_cell) = (l + 1, rc);
                }
            }
            if !before(&min_cell, heap[min], &cell, sinking) {
                return;
            }
            heap.swap(i, min);
            i = min;
        }
    }

    fn rebuild(&mut self) {
        self.heap = (0..self.children.len())
            .filter(|&i| self.children[i].peek().is_some())
            .collect();
        for i in (0..self.heap.len() / 2).rev() {
            self.sift_down(i);
        }
    }
}

impl<C: CellCursor> CellCursor for MergeCursor<C> {
    fn peek(&self) -> Option<CellSlices<'_>> {
        self.heap.first().and_then(|&i| self.children[i].peek())
    }

    fn advance(&mut self) -> Result<()> {
        if let Some(&top) = self.heap.first() {
            self.children[top].advance()?;
            if self.children[top].peek().is_none() {
                self.heap.swap_remove(0);
            }
            self.sift_down(0);
        }
        Ok(())
    }

    fn seek(&mut self, probe: &Cell) -> Result<()> {
        for ch in &mut self.children {
            ch.seek(probe)?;
        }
        self.rebuild();
        Ok(())
    }

    /// Moves only the children that are behind `probe`.
    fn reseek(&mut self, probe: &Cell) -> Result<()> {
        for &i in &self.heap {
            self.children[i].reseek(probe)?;
        }
        self.rebuild();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(row: &str, ts: i64, seq: u64) -> Cell {
        let mut c = Cell::put(row.to_string(), "f", "q", ts, format!("{row}{ts}"));
        c.seq_id = seq;
        c
    }

    #[test]
    fn merge_orders_and_seeks() -> Result<()> {
        let a = VecCursor::new(vec![put("a", 2, 5), put("c", 1, 1)]);
        let b = VecCursor::new(vec![put("a", 2, 9), put("b", 1, 1)]);
        let mem = Arc::new(MemStore::new());
        mem.add(put("a", 3, 20));
        mem.add(put("b", 5, 30)); // invisible at read point 25
        let mut m: MergeCursor = MergeCursor::new(vec![
            Box::new(a),
            Box::new(b),
            Box::new(MemCursor::new(mem, 25)),
        ]);
        m.seek(&first_on_row(b""))?;
        let mut got = Vec::new();
        while let Some(c) = m.peek() {
            got.push((
                String::from_utf8_lossy(c.row).into_owned(),
                c.timestamp,
                c.seq_id,
            ));
            m.advance()?;
        }
        assert_eq!(
            got,
            vec![
                ("a".into(), 3, 20),
                ("a".into(), 2, 9),
                ("a".into(), 2, 5),
                ("b".into(), 1, 1),
                ("c".into(), 1, 1)
            ]
        );
        m.seek(&first_on_row(b"b"))?;
        assert_eq!(m.peek().map(|c| c.row), Some(&b"b"[..]));
        m.advance()?;
        assert_eq!(m.peek().map(|c| c.row), Some(&b"c"[..]));
        // Reseek moves forward only: past every version of a:f:q from the start.
        m.seek(&first_on_row(b""))?;
        m.reseek(&after_column(b"a", b"f", b"q"))?;
        assert_eq!(m.peek().map(|c| c.row), Some(&b"b"[..]));
        Ok(())
    }
}
