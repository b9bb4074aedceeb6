//! Sorted cell cursors and their k-way merge: the memstore cursor, and the merging cursor
//! over memstores and store files that the read path and compactions consume.

use std::cmp::Ordering;
use std::sync::Arc;

use hfile::{Cell, CellType};

use crate::error::Result;
use crate::memstore::{compare_with_seq, MemCell, MemStore};

/// A forward cursor over cells in HBase order (identical keys newest sequence id first).
pub trait CellCursor: Send {
    /// The current cell, or `None` when exhausted.
    fn peek(&self) -> Option<&Cell>;
    /// Moves to the next cell.
    fn advance(&mut self) -> Result<()>;
    /// Positions at the first cell at or after `probe` (a search cell from [`probe`]).
    fn seek(&mut self, probe: &Cell) -> Result<()>;
}

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

/// A search cell sorting before every cell of `row`.
pub fn first_on_row(row: &[u8]) -> Cell {
    probe(row, b"", b"")
}

/// A cursor over one memstore that hides cells above a read point.
pub struct MemCursor {
    mem: Arc<MemStore>,
    read_point: u64,
    cur: Option<Cell>,
}

impl MemCursor {
    /// A cursor over `mem` showing cells with `seq_id <= read_point`; call `seek` first.
    pub fn new(mem: Arc<MemStore>, read_point: u64) -> MemCursor {
        MemCursor {
            mem,
            read_point,
            cur: None,
        }
    }

    fn skip_invisible(&mut self) {
        while let Some(c) = &self.cur {
            if c.seq_id <= self.read_point {
                return;
            }
            self.cur = self.mem.after(&MemCell(c.clone()));
        }
    }
}

impl CellCursor for MemCursor {
    fn peek(&self) -> Option<&Cell> {
        self.cur.as_ref()
    }

    fn advance(&mut self) -> Result<()> {
        if let Some(c) = self.cur.take() {
            self.cur = self.mem.after(&MemCell(c));
            self.skip_invisible();
        }
        Ok(())
    }

    fn seek(&mut self, probe: &Cell) -> Result<()> {
        self.cur = self.mem.at_or_after(&MemCell(probe.clone()));
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
    fn peek(&self) -> Option<&Cell> {
        self.cells.get(self.pos)
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

/// Merges several cursors into one sorted stream. Ties (identical key and sequence id)
/// go to the earlier child.
pub struct MergeCursor {
    children: Vec<Box<dyn CellCursor>>,
    current: Option<usize>,
}

impl MergeCursor {
    /// Merges `children`; call `seek` before reading.
    pub fn new(children: Vec<Box<dyn CellCursor>>) -> MergeCursor {
        let mut m = MergeCursor {
            children,
            current: None,
        };
        m.pick();
        m
    }

    fn pick(&mut self) {
        let mut best: Option<(usize, &Cell)> = None;
        for (i, ch) in self.children.iter().enumerate() {
            if let Some(c) = ch.peek() {
                match best {
                    Some((_, b)) if compare_with_seq(c, b) != Ordering::Less => {}
                    _ => best = Some((i, c)),
                }
            }
        }
        self.current = best.map(|(i, _)| i);
    }
}

impl CellCursor for MergeCursor {
    fn peek(&self) -> Option<&Cell> {
        self.current.and_then(|i| self.children[i].peek())
    }

    fn advance(&mut self) -> Result<()> {
        if let Some(i) = self.current {
            self.children[i].advance()?;
            self.pick();
        }
        Ok(())
    }

    fn seek(&mut self, probe: &Cell) -> Result<()> {
        for ch in &mut self.children {
            ch.seek(probe)?;
        }
        self.pick();
        Ok(())
    }
}

/// Reads the next whole row (all families) from a cursor: every cell sharing the current
/// cell's row. Returns `None` when the cursor is exhausted.
pub fn next_row_cells(cur: &mut dyn CellCursor) -> Result<Option<Vec<Cell>>> {
    let row = match cur.peek() {
        Some(c) => c.row.clone(),
        None => return Ok(None),
    };
    let mut cells = Vec::new();
    while let Some(c) = cur.peek() {
        if c.row != row {
            break;
        }
        cells.push(c.clone());
        cur.advance()?;
    }
    Ok(Some(cells))
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
        let mut m = MergeCursor::new(vec![
            Box::new(a),
            Box::new(b),
            Box::new(MemCursor::new(mem, 25)),
        ]);
        m.seek(&first_on_row(b""))?;
        let mut got = Vec::new();
        while let Some(c) = m.peek() {
            got.push((
                String::from_utf8_lossy(&c.row).into_owned(),
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
        let row = next_row_cells(&mut m)?.unwrap_or_default();
        assert_eq!(row.len(), 1);
        assert_eq!(
            m.peek().map(|c| c.row.clone()),
            Some(bytes::Bytes::from_static(b"c"))
        );
        Ok(())
    }
}
