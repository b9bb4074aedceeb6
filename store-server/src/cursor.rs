//! Sorted cell cursors and their k-way merge: the memstore cursor, and the merging cursor
//! over memstores and store files that the read path and compactions consume.

use std::cmp::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use hfile::cell::same_bytes;
use hfile::{Cell, CellRef, CellSlices, CellType, Comparator};

use crate::error::Result;
use crate::memstore::{compare_with_seq, MemPosition, MemStore};

/// A forward cursor over cells in HBase order (identical keys newest sequence id first).
/// The current cell is borrowed from the source (a memstore cell, a store file's block), so
/// merging and matching copy nothing; callers copy only the cells they keep.
pub trait CellCursor: Send {
    /// The current cell, or `None` when exhausted.
    fn peek(&self) -> Option<CellSlices<'_>>;
    /// The current cell's serialized `KeyValue` key and sequence id, if the source holds
    /// cells serialized (a file block): merges compare these without building the cell.
    fn peek_key(&self) -> Option<(&[u8], u64)> {
        None
    }
    /// The current cell's row: what a row loop compares, without building the cell.
    #[inline]
    fn peek_row(&self) -> Option<&[u8]> {
        self.peek().map(|c| c.row)
    }
    /// The file block the current cell was read from, if it came from one: a row whose
    /// cells lie in it can refer to it instead of copying them.
    #[inline]
    fn block(&self) -> Option<&Bytes> {
        None
    }
    /// Moves to the next cell (nothing once exhausted).
    fn advance(&mut self) -> Result<()>;
    /// Positions at the first cell at or after `probe` (a search cell from [`probe`]).
    fn seek(&mut self, probe: &Cell) -> Result<()>;
    /// Moves past the rest of the column `row`/`family`/`qualifier`, which the current cell
    /// belongs to: a few steps while the next cells stay in it, then a seek. (HBase's
    /// "seek to the next column"; a memstore moves to its next column at once.)
    fn skip_column(&mut self, row: &[u8], family: &[u8], qualifier: &[u8]) -> Result<()> {
        for _ in 0..SKIP_STEPS {
            self.advance()?;
            if !self
                .peek()
                .is_some_and(|c| in_column(&c, row, family, qualifier))
            {
                return Ok(());
            }
        }
        self.seek(&after_column(row, family, qualifier))
    }
}

/// Cells a [`CellCursor::skip_column`] steps over before it seeks instead.
const SKIP_STEPS: usize = 8;

/// Whether `c` is a cell of the column `row`/`family`/`qualifier`.
#[inline]
fn in_column(c: &CellSlices<'_>, row: &[u8], family: &[u8], qualifier: &[u8]) -> bool {
    same_bytes(c.qualifier, qualifier) && same_bytes(c.family, family) && same_bytes(c.row, row)
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
        self.pos.current()
    }

    fn advance(&mut self) -> Result<()> {
        self.pos.advance();
        self.skip_invisible();
        Ok(())
    }

    fn seek(&mut self, probe: &Cell) -> Result<()> {
        self.pos.seek(probe);
        self.skip_invisible();
        Ok(())
    }

    fn skip_column(&mut self, row: &[u8], family: &[u8], qualifier: &[u8]) -> Result<()> {
        if self
            .peek()
            .is_some_and(|c| in_column(&c, row, family, qualifier))
        {
            self.pos.next_column();
            self.skip_invisible();
        }
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

    fn peek_key(&self) -> Option<(&[u8], u64)> {
        (**self).peek_key()
    }

    fn peek_row(&self) -> Option<&[u8]> {
        (**self).peek_row()
    }

    fn block(&self) -> Option<&Bytes> {
        (**self).block()
    }

    fn advance(&mut self) -> Result<()> {
        (**self).advance()
    }

    fn seek(&mut self, probe: &Cell) -> Result<()> {
        (**self).seek(probe)
    }

    fn skip_column(&mut self, row: &[u8], family: &[u8], qualifier: &[u8]) -> Result<()> {
        (**self).skip_column(row, family, qualifier)
    }
}

/// A child's current cell as a merge compares it: its serialized key when it has one.
enum Head<'a> {
    Key(&'a [u8], u64),
    Cell(CellSlices<'a>),
}

impl<'a> Head<'a> {
    fn of<C: CellCursor + ?Sized>(c: &'a C) -> Option<Head<'a>> {
        match c.peek_key() {
            Some((key, seq)) => Some(Head::Key(key, seq)),
            None => c.peek().map(Head::Cell),
        }
    }

    /// HBase order with identical keys newest sequence id first ([`compare_with_seq`]).
    fn cmp(&self, other: &Head<'_>) -> Ordering {
        match (self, other) {
            (Head::Key(a, sa), Head::Key(b, sb)) => Comparator::Default
                .compare_keys(a, b)
                .then_with(|| sb.cmp(sa)),
            (Head::Cell(a), Head::Cell(b)) => compare_with_seq(a, b),
            (a, b) => match (a.as_cell(), b.as_cell()) {
                (Some(a), Some(b)) => compare_with_seq(&a, &b),
                // Block decoding validated every key; one that still fails to parse
                // sorts first rather than vanishing from the merge.
                (None, _) => Ordering::Less,
                (_, None) => Ordering::Greater,
            },
        }
    }

    fn as_cell(&self) -> Option<CellSlices<'a>> {
        match *self {
            Head::Key(key, seq) => CellRef::new(key, &[], &[], seq).map(CellSlices::from),
            Head::Cell(c) => Some(c),
        }
    }
}

/// Merges several cursors into one sorted stream with a tournament (loser) tree over the
/// children: after each step only the path from the advanced child to the root is replayed,
/// one comparison per level, where a binary heap (HBase's `KeyValueHeap`) needs two. Ties
/// (identical key and sequence id) go to the earlier child. Children of one concrete type
/// (a compaction's store files) merge without dynamic dispatch.
pub struct MergeCursor<C: CellCursor> {
    children: Vec<C>,
    /// `tree[0]` is the winning child; `tree[n]` for `n` in `1..k` the child that lost the
    /// match at internal node `n`. Child `j` is leaf `k + j`; the parent of node `n` is
    /// `n / 2`. Exhausted children lose every match.
    tree: Vec<usize>,
}

impl<C: CellCursor> MergeCursor<C> {
    /// Merges `children`; call `seek` before reading.
    pub fn new(children: Vec<C>) -> MergeCursor<C> {
        let mut m = MergeCursor {
            tree: vec![0; children.len().max(1)],
            children,
        };
        m.rebuild();
        m
    }

    /// Whether child `a` (current cell `ha`) wins against child `b` (current cell `hb`).
    fn wins(ha: &Option<Head<'_>>, a: usize, hb: &Option<Head<'_>>, b: usize) -> bool {
        match (ha, hb) {
            (Some(x), Some(y)) => x.cmp(y).then(a.cmp(&b)).is_lt(),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => a < b,
        }
    }

    /// Plays the matches below `node` and returns their winner, storing the losers.
    fn play(&mut self, node: usize) -> usize {
        let k = self.children.len();
        if node >= k {
            return node - k;
        }
        let (a, b) = (self.play(2 * node), self.play(2 * node + 1));
        let (ha, hb) = (Head::of(&self.children[a]), Head::of(&self.children[b]));
        let (winner, loser) = if Self::wins(&ha, a, &hb, b) {
            (a, b)
        } else {
            (b, a)
        };
        self.tree[node] = loser;
        winner
    }

    fn rebuild(&mut self) {
        if !self.children.is_empty() {
            self.tree[0] = self.play(1);
        }
    }

    /// Replays the matches on the path from child `w` (just moved) to the root.
    fn replay(&mut self, mut w: usize) {
        let (children, tree) = (&self.children, &mut self.tree);
        let mut hw = Head::of(&children[w]);
        let mut node = (children.len() + w) / 2;
        while node > 0 {
            let o = tree[node];
            let ho = Head::of(&children[o]);
            if Self::wins(&ho, o, &hw, w) {
                tree[node] = w;
                (w, hw) = (o, ho);
            }
            node /= 2;
        }
        tree[0] = w;
    }

    fn winner(&self) -> Option<&C> {
        self.children.get(self.tree[0])
    }
}

impl<C: CellCursor> CellCursor for MergeCursor<C> {
    #[inline(always)]
    fn peek(&self) -> Option<CellSlices<'_>> {
        self.winner().and_then(|c| c.peek())
    }

    #[inline]
    fn peek_key(&self) -> Option<(&[u8], u64)> {
        self.winner().and_then(|c| c.peek_key())
    }

    #[inline]
    fn peek_row(&self) -> Option<&[u8]> {
        self.winner().and_then(|c| c.peek_row())
    }

    #[inline]
    fn block(&self) -> Option<&Bytes> {
        self.winner().and_then(|c| c.block())
    }

    #[inline]
    fn advance(&mut self) -> Result<()> {
        // One child (a compacted store, nothing in the memstore) has no matches to replay.
        if let [only] = self.children.as_mut_slice() {
            return only.advance();
        }
        let w = self.tree[0];
        if let Some(c) = self.children.get_mut(w) {
            if Head::of(c).is_some() {
                c.advance()?;
                self.replay(w);
            }
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

    /// Skips the column in the winning child, then in each child that wins next while its
    /// cell is still in the column (older versions of it in other sources).
    fn skip_column(&mut self, row: &[u8], family: &[u8], qualifier: &[u8]) -> Result<()> {
        if let [only] = self.children.as_mut_slice() {
            return only.skip_column(row, family, qualifier);
        }
        for _ in 0..self.children.len() {
            let w = self.tree[0];
            let Some(c) = self.children.get_mut(w) else {
                break;
            };
            if !c
                .peek()
                .is_some_and(|c| in_column(&c, row, family, qualifier))
            {
                break;
            }
            c.skip_column(row, family, qualifier)?;
            self.replay(w);
        }
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
        mem.add(&put("a", 3, 20));
        mem.add(&put("b", 5, 30)); // invisible at read point 25
        let mut m: MergeCursor<Box<dyn CellCursor>> = MergeCursor::new(vec![
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
        // Skipping a column passes its versions in every child.
        m.seek(&first_on_row(b""))?;
        m.skip_column(b"a", b"f", b"q")?;
        assert_eq!(m.peek().map(|c| c.row), Some(&b"b"[..]));
        Ok(())
    }

    /// A merged cell as the tests compare it: row, timestamp, seq and value (child tag).
    type Seen = (Vec<u8>, i64, u64, Vec<u8>);

    fn seen(c: &CellSlices<'_>) -> Seen {
        (c.row.to_vec(), c.timestamp, c.seq_id, c.value.to_vec())
    }

    #[test]
    fn tournament_matches_a_stable_sort() -> Result<()> {
        // 1..=13 children (odd and even counts, some empty; every third a memstore), random
        // rows (one column each) with repeated keys across children: the merge must equal
        // a stable sort of all cells, ties in child order — read cell by cell, and with
        // columns skipped at random points.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % n
        };
        let mut seq = 100;
        for k in 1..=13usize {
            let mut all = Vec::new();
            let mut children: Vec<Box<dyn CellCursor>> = Vec::new();
            for child in 0..k {
                let mut cells: Vec<Cell> = (0..next(40))
                    .map(|_| {
                        let mut c = put(&format!("r{:02}", next(30)), next(3) as i64, next(2));
                        c.value = bytes::Bytes::from(vec![child as u8]);
                        if child % 3 == 0 {
                            // A memstore hides an identical key with the same sequence id.
                            seq += 1;
                            c.seq_id = seq;
                        }
                        c
                    })
                    .collect();
                cells.sort_by(compare_with_seq);
                all.extend(cells.iter().cloned());
                if child % 3 == 0 {
                    let mem = Arc::new(MemStore::new());
                    cells.iter().for_each(|c| {
                        mem.add(c);
                    });
                    children.push(Box::new(MemCursor::new(mem, u64::MAX)));
                } else {
                    children.push(Box::new(VecCursor::new(cells)));
                }
            }
            // A stable sort keeps equal cells in child order, as the merge must.
            all.sort_by(compare_with_seq);
            let want: Vec<Seen> = all.iter().map(|c| seen(&CellSlices::from(c))).collect();
            let mut m = MergeCursor::new(children);
            for skips in [false, true] {
                m.seek(&first_on_row(b""))?;
                let mut i = 0;
                while let Some(c) = m.peek() {
                    assert_eq!(Some(&seen(&c)), want.get(i), "{k} children, cell {i}");
                    if skips && next(3) == 0 {
                        let row = c.row.to_vec();
                        m.skip_column(&row, b"f", b"q")?;
                        while want.get(i).is_some_and(|w| w.0 == row) {
                            i += 1;
                        }
                    } else {
                        m.advance()?;
                        i += 1;
                    }
                }
                assert_eq!(i, want.len(), "{k} children");
            }
        }
        Ok(())
    }
}
