//! The compact in-memory form of imported cells, and the row builder that turns one input
//! record into them.
//!
//! A [`Batch`] is an arena of bytes plus fixed-size [`Group`]s, one per record and family:
//! the group's bytes are the row key followed by its cells (column index into the import's
//! [`ColumnTable`], value length, value). Every cell is a `Put`. Groups carry an *ordinal*
//! (input file index and position in the file) so that when two records write the same
//! cell, the later one in input order wins, whatever the thread timing.

use hfile::cell::MAX_ROW_LENGTH;
use store_server::rowkey::salt_byte;

use crate::error::{Error, Result};
use crate::spec::Mapping;
use crate::typed::{strip_prefix, TypedFields};

/// Bits of an ordinal holding the record number (the rest hold the file index).
pub const RECORD_BITS: u32 = 40;

/// The ordinal of record `record` of input file `file`: any number that grows with the
/// record's place in the file (its index; in a piece of a CSV file, the piece's first byte
/// plus the index within the piece).
pub fn ordinal(file: usize, record: u64) -> u64 {
    ((file as u64) << RECORD_BITS) | (record & ((1 << RECORD_BITS) - 1))
}

/// Every `family:qualifier` the import writes, with a global index per column.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ColumnTable {
    /// Distinct families, sorted.
    pub families: Vec<Vec<u8>>,
    /// Columns as (family index, qualifier), sorted by family then qualifier.
    pub columns: Vec<(u16, Vec<u8>)>,
}

impl ColumnTable {
    /// The union of the columns of every input's mapping.
    pub fn from_mappings<'a>(mappings: impl IntoIterator<Item = &'a Mapping>) -> Result<Self> {
        let mut pairs = std::collections::BTreeSet::new();
        for m in mappings {
            for c in &m.columns {
                pairs.insert((c.family.clone(), c.qualifier.clone()));
            }
            if let Some(t) = &m.typed {
                pairs.extend(t.cell_columns());
            }
        }
        let families: Vec<Vec<u8>> = pairs
            .iter()
            .map(|(f, _)| f.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if pairs.len() > u16::MAX as usize {
            return Err(Error::Spec(format!(
                "{} distinct columns; at most {} are supported",
                pairs.len(),
                u16::MAX
            )));
        }
        let columns = pairs
            .into_iter()
            .map(|(f, q)| {
                let fi = families.iter().position(|x| *x == f).unwrap_or(0) as u16;
                (fi, q)
            })
            .collect();
        Ok(ColumnTable { families, columns })
    }

    /// The global index of `family:qualifier`.
    pub fn index_of(&self, family: &[u8], qualifier: &[u8]) -> Option<u16> {
        let fi = self.families.iter().position(|f| f == family)? as u16;
        self.columns
            .binary_search_by(|(f, q)| (*f, q.as_slice()).cmp(&(fi, qualifier)))
            .ok()
            .map(|i| i as u16)
    }

    /// Family index of column `col`.
    pub fn family_of(&self, col: u16) -> u16 {
        self.columns.get(col as usize).map(|c| c.0).unwrap_or(0)
    }

    /// Qualifier of column `col`.
    pub fn qualifier_of(&self, col: u16) -> &[u8] {
        self.columns
            .get(col as usize)
            .map(|c| c.1.as_slice())
            .unwrap_or(&[])
    }

    /// Appends the cells of one row (sorted, of one family) to `w` as `Put`s, each run of
    /// one record's cells in one call; sequence ids are the records' ordinals when
    /// `ord_as_seq` (spill runs), else 0.
    pub fn append_row(
        &self,
        w: &mut hfile::Writer,
        cells: &[CellOut<'_>],
        ord_as_seq: bool,
    ) -> hfile::Result<()> {
        // A row's cells are sorted by column, newest first, and hold no key twice: within
        // a run of one record, columns ascend.
        for run in cells.chunk_by(|a, b| a.ts == b.ts && a.ord == b.ord) {
            let first = &run[0];
            w.append_puts(
                first.row,
                self.family_name(self.family_of(first.col)),
                first.ts,
                if ord_as_seq { first.ord } else { 0 },
                run.iter().map(|c| (self.qualifier_of(c.col), c.value)),
            )?;
        }
        Ok(())
    }

    /// Family name of family index `fam`.
    pub fn family_name(&self, fam: u16) -> &[u8] {
        self.families
            .get(fam as usize)
            .map(|f| f.as_slice())
            .unwrap_or(&[])
    }
}

/// One record's cells of one family: the unit the import sorts.
///
/// Its bytes in the [`Arena`] are the row key followed by the cells, each a column index
/// (one byte; `0xFF` = a `u16` follows), a value length (one byte; `0xFF` = a
/// `u32` follows) and the value, in column order. Every cell of a group has the record's
/// timestamp and ordinal.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    zerocopy::FromBytes,
    zerocopy::IntoBytes,
    zerocopy::KnownLayout,
    zerocopy::Immutable,
)]
#[repr(C)]
pub struct Group {
    /// The row key's first eight bytes, big-endian, zero-padded: ordered like the rows
    /// (equal prefixes say nothing).
    pub prefix: u64,
    /// Where the group's bytes are: chunk index in the high 32 bits, offset in the low.
    pub off: u64,
    /// Input order (see [`ordinal`]); larger = later.
    pub ord: u64,
    /// Timestamp of every cell, in ms.
    pub ts: i64,
    /// Bytes of row key and cells.
    pub len: u32,
    /// Row key length.
    pub row_len: u16,
    /// Family index in the [`ColumnTable`].
    pub family: u16,
}

/// Bytes one [`Group`] occupies.
pub const GROUP_SIZE: usize = std::mem::size_of::<Group>();

/// The one-byte column index or value length that says the full number follows (column
/// indexes and value lengths below it take one byte: two bytes of header per typical cell).
const ESCAPE: u8 = 0xFF;

/// The row key's first eight bytes as a big-endian integer, zero-padded.
pub fn row_prefix(row: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = row.len().min(8);
    b[..n].copy_from_slice(&row[..n]);
    u64::from_be_bytes(b)
}

/// A fixed-size block of anonymous memory that cells are copied into while they are read,
/// returned to the system the moment it is dropped.
///
/// The sort buffer's blocks are dropped one key range at a time while the HFiles are
/// written, so the new page-cache pages of the output can reuse them at once (a heap
/// allocator keeps freed memory for itself). No huge pages are asked for: on this
/// project's VMs a huge-page fault costs more than the TLB misses of gathering rows
/// within one key range (see `bench/RESULTS.md`, import Update 6).
#[derive(Debug)]
pub struct Chunk {
    map: memmap2::MmapMut,
    len: usize,
}

impl Chunk {
    /// An empty chunk with room for `cap` bytes (at least one).
    pub fn with_capacity(cap: usize) -> Result<Chunk> {
        let map = memmap2::MmapMut::map_anon(cap.max(1))
            .map_err(|e| Error::Internal(format!("cannot map {cap} bytes of memory: {e}")))?;
        Ok(Chunk { map, len: 0 })
    }

    /// Bytes still free.
    pub fn room(&self) -> usize {
        self.map.len() - self.len
    }

    /// Bytes reserved (its size, used or not).
    pub fn capacity(&self) -> usize {
        self.map.len()
    }

    /// Appends `bytes` if they fit; returns where they start.
    pub fn push(&mut self, bytes: &[u8]) -> Option<usize> {
        let at = self.len;
        self.map
            .get_mut(at..at + bytes.len())?
            .copy_from_slice(bytes);
        self.len += bytes.len();
        Some(at)
    }

    /// The bytes appended so far.
    pub fn bytes(&self) -> &[u8] {
        &self.map[..self.len]
    }
}

/// One block of an [`Arena`].
#[derive(Debug)]
enum Block {
    Heap(Vec<u8>),
    Mapped(Chunk),
}

impl Block {
    #[inline]
    fn bytes(&self) -> &[u8] {
        match self {
            Block::Heap(v) => v,
            Block::Mapped(c) => c.bytes(),
        }
    }
}

/// The bytes of buffered groups: the blocks that brought them, kept as they came (never
/// copied into one buffer).
#[derive(Debug, Default)]
pub struct Arena {
    blocks: Vec<Block>,
    bytes: usize,
}

impl Arena {
    /// Keeps `chunk`; returns the value to add to the offsets of the groups in it.
    pub fn push(&mut self, chunk: Vec<u8>) -> u64 {
        self.bytes += chunk.capacity();
        self.keep(Block::Heap(chunk))
    }

    /// Keeps a mapped `chunk`, as [`Arena::push`].
    pub fn push_chunk(&mut self, chunk: Chunk) -> u64 {
        self.bytes += chunk.capacity();
        self.keep(Block::Mapped(chunk))
    }

    fn keep(&mut self, block: Block) -> u64 {
        self.blocks.push(block);
        ((self.blocks.len() - 1) as u64) << 32
    }

    /// Bytes held (by capacity).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The bytes of group `g` (empty if `g` does not point into this arena).
    #[inline]
    pub fn data(&self, g: &Group) -> &[u8] {
        let start = g.off as u32 as usize;
        self.blocks
            .get((g.off >> 32) as usize)
            .and_then(|c| c.bytes().get(start..start + g.len as usize))
            .unwrap_or_default()
    }

    /// The row key of group `g`.
    #[inline]
    pub fn row(&self, g: &Group) -> &[u8] {
        let d = self.data(g);
        &d[..(g.row_len as usize).min(d.len())]
    }
}

/// One cell of a group, as [`cells_of`] decodes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CellOut<'a> {
    /// Row key.
    pub row: &'a [u8],
    /// Column index in the [`ColumnTable`].
    pub col: u16,
    /// Timestamp in ms.
    pub ts: i64,
    /// Input order of the record.
    pub ord: u64,
    /// Value.
    pub value: &'a [u8],
}

/// The cells of group `g` whose bytes are `data`, in column order.
#[inline]
pub fn cells_of<'a>(g: &Group, data: &'a [u8]) -> impl Iterator<Item = CellOut<'a>> + 'a {
    let row_len = (g.row_len as usize).min(data.len());
    let (row, mut rest) = data.split_at(row_len);
    let (ts, ord) = (g.ts, g.ord);
    std::iter::from_fn(move || {
        let (&c, mut tail) = rest.split_first()?;
        let mut col = u16::from(c);
        if c == ESCAPE {
            let (wide, t) = tail.split_first_chunk::<2>()?;
            col = u16::from_le_bytes(*wide);
            tail = t;
        }
        let (&l, t) = tail.split_first()?;
        let mut len = usize::from(l);
        tail = t;
        if l == ESCAPE {
            let (long, t) = tail.split_first_chunk::<4>()?;
            len = u32::from_le_bytes(*long) as usize;
            tail = t;
        }
        let (value, next) = tail.split_at_checked(len)?;
        rest = next;
        Some(CellOut {
            row,
            col,
            ts,
            ord,
            value,
        })
    })
}

/// Where a cell begun by [`Batch::begin_cell`] starts, and where its length byte is.
#[derive(Clone, Copy, Debug)]
struct CellMark {
    start: usize,
    len_at: usize,
}

/// Records read from input, not yet sorted.
#[derive(Debug, Default)]
pub struct Batch {
    /// The groups' bytes.
    pub arena: Vec<u8>,
    /// One group per record and family, offsets into `arena`.
    pub groups: Vec<Group>,
    /// Records that produced a row.
    pub rows: u64,
    /// Cells in the groups.
    pub cells: u64,
}

impl Batch {
    /// An empty batch with room for about `bytes` of arena.
    pub fn with_capacity(bytes: usize) -> Batch {
        Batch {
            arena: Vec::with_capacity(bytes),
            groups: Vec::with_capacity(bytes / 128 + 1),
            ..Batch::default()
        }
    }

    /// Empties the batch, keeping its memory.
    pub fn clear(&mut self) {
        self.arena.clear();
        self.groups.clear();
        (self.rows, self.cells) = (0, 0);
    }

    /// The bytes of group `g` (empty if `g` does not point into this batch).
    pub fn data(&self, g: &Group) -> &[u8] {
        let start = g.off as usize;
        self.arena
            .get(start..start + g.len as usize)
            .unwrap_or_default()
    }

    /// The row key of group `g`.
    pub fn row(&self, g: &Group) -> &[u8] {
        let d = self.data(g);
        &d[..(g.row_len as usize).min(d.len())]
    }

    /// Memory held (arena + groups), by length.
    pub fn mem_size(&self) -> usize {
        self.arena.len() + self.groups.len() * GROUP_SIZE
    }

    /// Starts a cell of column `col`; its value is appended to the arena next.
    fn begin_cell(&mut self, col: u16) -> CellMark {
        let start = self.arena.len();
        match u8::try_from(col) {
            Ok(c) if c != ESCAPE => self.arena.push(c),
            _ => {
                self.arena.push(ESCAPE);
                self.arena.extend_from_slice(&col.to_le_bytes());
            }
        }
        self.arena.push(0);
        CellMark {
            start,
            len_at: self.arena.len() - 1,
        }
    }

    /// Ends the cell begun at `mark`: false (and the cell removed) if its value is empty
    /// and empty values are not `kept`.
    fn end_cell(&mut self, mark: CellMark, keep_empty: bool) -> std::result::Result<bool, String> {
        let at = mark.len_at;
        let len = self.arena.len() - at - 1;
        if len == 0 && !keep_empty {
            self.arena.truncate(mark.start);
            return Ok(false);
        }
        match u8::try_from(len) {
            Ok(l) if l != ESCAPE => self.arena[at] = l,
            _ => {
                let long = u32::try_from(len).map_err(|_| "value larger than 4 GiB".to_string())?;
                self.arena[at] = ESCAPE;
                self.arena
                    .splice(at + 1..at + 1, long.to_le_bytes())
                    .for_each(drop);
            }
        }
        Ok(true)
    }

    /// Ends the group of `family` begun at `off` (with the row written there): kept if it
    /// has cells.
    fn end_group(
        &mut self,
        off: usize,
        row: &[u8],
        family: u16,
        ord: u64,
        ts: i64,
        cells: u64,
    ) -> std::result::Result<(), String> {
        if cells == 0 {
            self.arena.truncate(off);
            return Ok(());
        }
        let too_big = || "record larger than 4 GiB".to_string();
        let len = u32::try_from(self.arena.len() - off).map_err(|_| too_big())?;
        let off = u32::try_from(off).map_err(|_| too_big())?;
        self.groups.push(Group {
            prefix: row_prefix(row),
            off: u64::from(off),
            ord,
            ts,
            len,
            row_len: row.len() as u16,
            family,
        });
        self.cells += cells;
        Ok(())
    }
}

/// A record's fields, as a source exposes them to the [`RowBuilder`].
pub trait Fields {
    /// Number of fields in the record.
    fn count(&self) -> usize;
    /// Appends field `i` to `out`; returns false (appending nothing) when the field is
    /// absent or null. An `Err` is a reason the field is malformed.
    fn append(&mut self, i: usize, out: &mut Vec<u8>) -> std::result::Result<bool, String>;
}

/// A malformed record: 1-based column (0 = whole record) and reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadRecord {
    /// 1-based column, 0 when the record as a whole is at fault.
    pub column: usize,
    /// What is wrong.
    pub reason: String,
}

/// A mapping resolved to global column indexes, for one input file.
#[derive(Clone, Debug)]
pub struct RowBuilder {
    row_key: usize,
    timestamp: Option<usize>,
    max_fields: Option<usize>,
    /// (field, global column) in column order (so grouped by family).
    cols: Vec<(usize, u16)>,
    /// Family index of every global column.
    col_family: Vec<u16>,
    default_ts: i64,
    salt_buckets: Option<u8>,
    scratch: Vec<u8>,
    /// The row key of the last record added.
    row: Vec<u8>,
    /// For a typed table: the field-to-column match and, per encoded cell, its column.
    typed: Option<(TypedFields, Vec<u16>)>,
}

impl RowBuilder {
    /// A builder for records mapped by `mapping`; cells get `default_ts` unless the record
    /// has a timestamp field; rows are salted when `salt_buckets` is set.
    pub fn new(
        mapping: &Mapping,
        table: &ColumnTable,
        default_ts: i64,
        salt_buckets: Option<u8>,
    ) -> Result<RowBuilder> {
        let missing = || Error::Internal("column missing from the column table".to_string());
        let mut cols = mapping
            .columns
            .iter()
            .map(|c| {
                Ok((
                    c.field,
                    table
                        .index_of(&c.family, &c.qualifier)
                        .ok_or_else(missing)?,
                ))
            })
            .collect::<Result<Vec<(usize, u16)>>>()?;
        cols.sort_by_key(|&(_, col)| col);
        let typed = match &mapping.typed {
            Some(t) => {
                let cell_cols = t
                    .cell_columns()
                    .iter()
                    .map(|(f, q)| table.index_of(f, q).ok_or_else(missing))
                    .collect::<Result<Vec<u16>>>()?;
                Some((t.clone(), cell_cols))
            }
            None => None,
        };
        Ok(RowBuilder {
            row_key: mapping.row_key,
            timestamp: mapping.timestamp,
            max_fields: mapping.max_fields,
            cols,
            col_family: table.columns.iter().map(|c| c.0).collect(),
            default_ts,
            salt_buckets,
            scratch: Vec::new(),
            row: Vec::new(),
            typed,
        })
    }

    fn family_of(&self, col: u16) -> u16 {
        self.col_family.get(col as usize).copied().unwrap_or(0)
    }

    /// The row key of the last record [`RowBuilder::add`] accepted.
    pub fn row(&self) -> &[u8] {
        &self.row
    }

    /// Appends the groups of one record (one per family with cells) to `batch`; on a
    /// malformed record nothing is added.
    pub fn add(
        &mut self,
        fields: &mut dyn Fields,
        ord: u64,
        batch: &mut Batch,
    ) -> std::result::Result<(), BadRecord> {
        let arena_mark = batch.arena.len();
        let groups_mark = batch.groups.len();
        let cells_mark = batch.cells;
        let r = self.add_inner(fields, ord, batch);
        if r.is_err() {
            batch.arena.truncate(arena_mark);
            batch.groups.truncate(groups_mark);
            batch.cells = cells_mark;
        }
        r
    }

    fn add_inner(
        &mut self,
        fields: &mut dyn Fields,
        ord: u64,
        batch: &mut Batch,
    ) -> std::result::Result<(), BadRecord> {
        let n = fields.count();
        if let Some(max) = self.max_fields {
            if n > max {
                return Err(BadRecord {
                    column: max + 1,
                    reason: format!("{n} fields, the column mapping has {max}"),
                });
            }
        }
        let bad = |i: usize, reason: String| BadRecord {
            column: i + 1,
            reason,
        };
        if self.typed.is_some() {
            return self.add_typed(fields, ord, batch);
        }
        let ts = match self.timestamp {
            None => self.default_ts,
            Some(i) => {
                self.scratch.clear();
                let present = fields.append(i, &mut self.scratch).map_err(|r| bad(i, r))?;
                if !present || self.scratch.is_empty() {
                    return Err(bad(i, "missing timestamp".into()));
                }
                let text = std::str::from_utf8(&self.scratch).unwrap_or("");
                match text.trim().parse::<i64>() {
                    Ok(ts) if ts >= 0 => ts,
                    _ => {
                        return Err(bad(
                            i,
                            format!(
                                "timestamp '{}' is not a non-negative integer (ms)",
                                String::from_utf8_lossy(&self.scratch)
                            ),
                        ))
                    }
                }
            }
        };
        self.row.clear();
        if self.salt_buckets.is_some() {
            self.row.push(0);
        }
        let present = fields
            .append(self.row_key, &mut self.row)
            .map_err(|r| bad(self.row_key, r))?;
        let key_start = usize::from(self.salt_buckets.is_some());
        if !present || self.row.len() == key_start {
            return Err(bad(self.row_key, "empty row key".into()));
        }
        if let Some(b) = self.salt_buckets {
            self.row[0] = salt_byte(&self.row[key_start..], u16::from(b));
        }
        if self.row.len() > MAX_ROW_LENGTH {
            return Err(bad(
                self.row_key,
                format!(
                    "row key of {} bytes exceeds {MAX_ROW_LENGTH}",
                    self.row.len()
                ),
            ));
        }
        let mut i = 0;
        while i < self.cols.len() {
            let family = self.family_of(self.cols[i].1);
            let off = batch.arena.len();
            batch.arena.extend_from_slice(&self.row);
            let mut cells = 0;
            while i < self.cols.len() && self.family_of(self.cols[i].1) == family {
                let (field, col) = self.cols[i];
                i += 1;
                if field >= n {
                    continue;
                }
                let at = batch.begin_cell(col);
                let present = fields
                    .append(field, &mut batch.arena)
                    .map_err(|r| bad(field, r))?;
                if !present {
                    batch.arena.truncate(at.start);
                } else if batch.end_cell(at, false).map_err(|r| bad(field, r))? {
                    cells += 1;
                }
            }
            batch
                .end_group(off, &self.row, family, ord, ts, cells)
                .map_err(|r| bad(self.row_key, r))?;
        }
        batch.rows += 1;
        Ok(())
    }
}

impl RowBuilder {
    /// The typed-table path of [`RowBuilder::add`]: parse every field by its SQL type, encode
    /// the row key and the non-NULL cells.
    fn add_typed(
        &mut self,
        fields: &mut dyn Fields,
        ord: u64,
        batch: &mut Batch,
    ) -> std::result::Result<(), BadRecord> {
        let Some((typed, cell_cols)) = &self.typed else {
            return Err(BadRecord {
                column: 0,
                reason: "not a typed import".into(),
            });
        };
        let n = fields.count();
        let scratch = &mut self.scratch;
        let values = typed
            .parse_values(|f| {
                if f >= n {
                    return Ok(None);
                }
                scratch.clear();
                if !fields.append(f, scratch).map_err(|r| (f + 1, r))? {
                    return Ok(None);
                }
                String::from_utf8(scratch.clone())
                    .map(Some)
                    .map_err(|_| (f + 1, "not valid UTF-8".to_string()))
            })
            .map_err(|(column, reason)| BadRecord { column, reason })?;
        let row = typed.schema.encode_row(&values).map_err(|e| BadRecord {
            column: 0,
            reason: strip_prefix(e),
        })?;
        let whole = |reason: String| BadRecord { column: 0, reason };
        if row.key.len() > MAX_ROW_LENGTH {
            return Err(whole(format!(
                "row key of {} bytes exceeds {MAX_ROW_LENGTH}",
                row.key.len()
            )));
        }
        let mut cells: Vec<(u16, &[u8])> = row
            .cells
            .iter()
            .zip(cell_cols)
            .filter_map(|(cell, &col)| Some((col, cell.value.as_deref()?)))
            .collect();
        if !cells.is_sorted_by_key(|&(col, _)| col) {
            cells.sort_by_key(|&(col, _)| col);
        }
        let mut i = 0;
        while i < cells.len() {
            let family = self.family_of(cells[i].0);
            let off = batch.arena.len();
            batch.arena.extend_from_slice(&row.key);
            let mut count = 0;
            while i < cells.len() && self.family_of(cells[i].0) == family {
                let (col, value) = cells[i];
                i += 1;
                let at = batch.begin_cell(col);
                batch.arena.extend_from_slice(value);
                if batch.end_cell(at, true).map_err(whole)? {
                    count += 1;
                }
            }
            batch
                .end_group(off, &row.key, family, ord, self.default_ts, count)
                .map_err(whole)?;
        }
        self.row.clear();
        self.row.extend_from_slice(&row.key);
        batch.rows += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{ColumnSpec, Mapping};

    struct Strs(Vec<&'static str>);
    impl Fields for Strs {
        fn count(&self) -> usize {
            self.0.len()
        }
        fn append(&mut self, i: usize, out: &mut Vec<u8>) -> std::result::Result<bool, String> {
            match self.0.get(i) {
                Some(s) => {
                    out.extend_from_slice(s.as_bytes());
                    Ok(true)
                }
                None => Ok(false),
            }
        }
    }

    /// Column indexes and value lengths on both sides of the one-byte escape, each cell
    /// after an empty value that was dropped: the cells read back exactly as written.
    #[test]
    fn cell_headers_round_trip_around_the_escape() {
        let mut batch = Batch::default();
        batch.arena.extend_from_slice(b"row");
        let mut want = Vec::new();
        let lens = [1usize, 254, 255, 256, 70_000];
        for (i, col) in [0u16, 1, 254, 255, 256, 1000, u16::MAX]
            .into_iter()
            .enumerate()
        {
            let empty = batch.begin_cell(col);
            assert_eq!(batch.end_cell(empty, false), Ok(false));
            let value: Vec<u8> = (0..lens[i % lens.len()]).map(|j| (j % 251) as u8).collect();
            let mark = batch.begin_cell(col);
            batch.arena.extend_from_slice(&value);
            assert_eq!(batch.end_cell(mark, false), Ok(true));
            want.push((col, value));
        }
        let kept = batch.begin_cell(300);
        assert_eq!(batch.end_cell(kept, true), Ok(true));
        want.push((300, Vec::new()));
        batch
            .end_group(0, b"row", 0, 9, 5, want.len() as u64)
            .unwrap();
        let g = batch.groups[0];
        let got: Vec<(u16, Vec<u8>)> = cells_of(&g, batch.data(&g))
            .map(|c| (c.col, c.value.to_vec()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn builder_makes_sparse_cells_and_rejects_bad_records() -> Result<()> {
        let spec = ColumnSpec::parse("HBASE_ROW_KEY,cf:b,cf:a,HBASE_TS_KEY")?;
        let m = Mapping::resolve(Some(&spec), None)?;
        let table = ColumnTable::from_mappings([&m])?;
        assert_eq!(table.index_of(b"cf", b"a"), Some(0));
        assert_eq!(table.index_of(b"cf", b"b"), Some(1));
        let mut b = RowBuilder::new(&m, &table, 7, None)?;
        let mut batch = Batch::default();
        b.add(&mut Strs(vec!["r1", "", "va", "42"]), 1, &mut batch)
            .map_err(|e| Error::Spec(e.reason))?;
        assert_eq!(batch.groups.len(), 1);
        assert_eq!(batch.cells, 1, "empty field gives no cell");
        let g = batch.groups[0];
        let cells: Vec<CellOut<'_>> = cells_of(&g, &batch.arena).collect();
        assert_eq!(
            cells,
            vec![CellOut {
                row: b"r1",
                col: 0,
                ts: 42,
                ord: 1,
                value: b"va"
            }]
        );
        assert_eq!(b.row(), b"r1");
        let bad = b.add(&mut Strs(vec!["r2", "x", "y", "soon"]), 2, &mut batch);
        assert_eq!(bad.map_err(|e| e.column), Err(4));
        let bad = b.add(&mut Strs(vec!["", "x", "y", "1"]), 3, &mut batch);
        assert_eq!(bad.map_err(|e| e.column), Err(1));
        let bad = b.add(&mut Strs(vec!["r", "x", "y", "1", "extra"]), 4, &mut batch);
        assert_eq!(bad.map_err(|e| e.column), Err(5));
        assert_eq!(
            (batch.groups.len(), batch.cells, batch.arena.len()),
            (1, 1, g.len as usize),
            "bad records leave nothing behind"
        );
        assert_eq!(batch.rows, 1);
        // A record whose mapped fields are all empty is a row without cells.
        b.add(&mut Strs(vec!["r3", "", "", "5"]), 5, &mut batch)
            .map_err(|e| Error::Spec(e.reason))?;
        assert_eq!((batch.rows, batch.groups.len()), (2, 1));
        Ok(())
    }

    #[test]
    fn ordinal_keeps_the_file_index() {
        assert_eq!(ordinal(3, 5) >> RECORD_BITS, 3);
    }
}
