//! The compact in-memory form of imported cells, and the row builder that turns one input
//! record into them.
//!
//! A [`Batch`] is an arena of bytes plus fixed-size [`Entry`]s: each record's row key is
//! stored once, followed by its values; an entry points at the row and at one value and
//! names its column by index into the import's [`ColumnTable`]. Every cell is a `Put`.
//! Entries carry an *ordinal* (input file index and record number) so that when two records
//! write the same cell, the later one in input order wins, whatever the thread timing.

use std::cmp::Ordering;

use hfile::cell::MAX_ROW_LENGTH;
use store_server::rowkey::salt_byte;

use crate::error::{Error, Result};
use crate::spec::Mapping;
use crate::typed::{strip_prefix, TypedFields};

/// Bits of an ordinal holding the record number (the rest hold the file index).
pub const RECORD_BITS: u32 = 40;

/// The ordinal of record `record` (0-based) of input file `file`.
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

    /// Family name of family index `fam`.
    pub fn family_name(&self, fam: u16) -> &[u8] {
        self.families
            .get(fam as usize)
            .map(|f| f.as_slice())
            .unwrap_or(&[])
    }
}

/// One cell in a [`Batch`]: where its row and value are, its column, timestamp and ordinal.
///
/// Columns are numbered in (family, qualifier) order, so comparing column indexes orders
/// by family and qualifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Arena offset of the row key.
    pub row_off: u64,
    /// Input order (see [`ordinal`]); larger = later.
    pub ord: u64,
    /// Timestamp in ms.
    pub ts: i64,
    /// Offset of the value relative to `row_off`.
    pub val_rel: u32,
    /// Value length.
    pub val_len: u32,
    /// Row key length.
    pub row_len: u16,
    /// Column index in the [`ColumnTable`].
    pub col: u16,
    /// Scratch for the sorter (the entry's place in sorted order); any value on input.
    pub slot: u32,
}

/// Bytes one [`Entry`] occupies.
pub const ENTRY_SIZE: usize = std::mem::size_of::<Entry>();

impl Entry {
    /// The row key.
    pub fn row<'a>(&self, arena: &'a [u8]) -> &'a [u8] {
        let s = self.row_off as usize;
        &arena[s..s + self.row_len as usize]
    }

    /// The value.
    pub fn value<'a>(&self, arena: &'a [u8]) -> &'a [u8] {
        let s = self.row_off as usize + self.val_rel as usize;
        &arena[s..s + self.val_len as usize]
    }
}

/// Sort order of entries: family, row, qualifier, timestamp descending, then input order
/// descending (the later write of an identical key first, so it is the one kept).
pub fn compare_entries(arena: &[u8], table: &ColumnTable, a: &Entry, b: &Entry) -> Ordering {
    table
        .family_of(a.col)
        .cmp(&table.family_of(b.col))
        .then_with(|| a.row(arena).cmp(b.row(arena)))
        .then_with(|| a.col.cmp(&b.col))
        .then_with(|| b.ts.cmp(&a.ts))
        .then_with(|| b.ord.cmp(&a.ord))
}

/// True if two entries are the same cell key (same family, row, qualifier and timestamp).
pub fn same_key(arena: &[u8], a: &Entry, b: &Entry) -> bool {
    a.col == b.col && a.ts == b.ts && a.row(arena) == b.row(arena)
}

/// Cells read from input, not yet sorted.
#[derive(Debug, Default)]
pub struct Batch {
    /// Row keys and values.
    pub arena: Vec<u8>,
    /// One entry per cell.
    pub entries: Vec<Entry>,
    /// Records that produced a row.
    pub rows: u64,
    /// Input bytes these records came from.
    pub bytes_in: u64,
}

impl Batch {
    /// An empty batch with room for about `bytes` of arena.
    pub fn with_capacity(bytes: usize) -> Batch {
        Batch {
            arena: Vec::with_capacity(bytes),
            entries: Vec::with_capacity(bytes / 64 + 1),
            rows: 0,
            bytes_in: 0,
        }
    }

    /// Memory held (arena + entries), by length.
    pub fn mem_size(&self) -> usize {
        self.arena.len() + self.entries.len() * ENTRY_SIZE
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
    /// (field, global column) in field order.
    cols: Vec<(usize, u16)>,
    default_ts: i64,
    salt_buckets: Option<u8>,
    scratch: Vec<u8>,
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
        let mut cols = Vec::new();
        for c in &mapping.columns {
            let idx = table.index_of(&c.family, &c.qualifier).ok_or_else(|| {
                Error::Internal("column missing from the column table".to_string())
            })?;
            cols.push((c.field, idx));
        }
        let missing = || Error::Internal("column missing from the column table".to_string());
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
            default_ts,
            salt_buckets,
            scratch: Vec::new(),
            typed,
        })
    }

    /// Appends the cells of one record to `batch`; on a malformed record nothing is added.
    /// Returns the (salted) row key's arena range for sampling.
    pub fn add(
        &mut self,
        fields: &mut dyn Fields,
        ord: u64,
        batch: &mut Batch,
    ) -> std::result::Result<(usize, usize), BadRecord> {
        let arena_mark = batch.arena.len();
        let entries_mark = batch.entries.len();
        let r = self.add_inner(fields, ord, batch);
        if r.is_err() {
            batch.arena.truncate(arena_mark);
            batch.entries.truncate(entries_mark);
        }
        r
    }

    fn add_inner(
        &mut self,
        fields: &mut dyn Fields,
        ord: u64,
        batch: &mut Batch,
    ) -> std::result::Result<(usize, usize), BadRecord> {
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
        let row_off = batch.arena.len();
        if self.salt_buckets.is_some() {
            batch.arena.push(0);
        }
        let key_start = batch.arena.len();
        let present = fields
            .append(self.row_key, &mut batch.arena)
            .map_err(|r| bad(self.row_key, r))?;
        let key_len = batch.arena.len() - key_start;
        if !present || key_len == 0 {
            return Err(bad(self.row_key, "empty row key".into()));
        }
        if let Some(b) = self.salt_buckets {
            batch.arena[row_off] = salt_byte(&batch.arena[key_start..], u16::from(b));
        }
        let row_len = batch.arena.len() - row_off;
        if row_len > MAX_ROW_LENGTH {
            return Err(bad(
                self.row_key,
                format!("row key of {row_len} bytes exceeds {MAX_ROW_LENGTH}"),
            ));
        }
        for &(field, col) in &self.cols {
            if field >= n {
                break;
            }
            let start = batch.arena.len();
            let present = fields
                .append(field, &mut batch.arena)
                .map_err(|r| bad(field, r))?;
            let len = batch.arena.len() - start;
            if !present || len == 0 {
                batch.arena.truncate(start);
                continue;
            }
            let val_rel = start - row_off;
            if val_rel > u32::MAX as usize || len > u32::MAX as usize {
                return Err(bad(field, "record larger than 4 GiB".into()));
            }
            batch.entries.push(Entry {
                row_off: row_off as u64,
                ord,
                ts,
                val_rel: val_rel as u32,
                val_len: len as u32,
                row_len: row_len as u16,
                col,
                slot: 0,
            });
        }
        batch.rows += 1;
        Ok((row_off, row_len))
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
    ) -> std::result::Result<(usize, usize), BadRecord> {
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
        if row.key.len() > MAX_ROW_LENGTH {
            return Err(BadRecord {
                column: 0,
                reason: format!(
                    "row key of {} bytes exceeds {MAX_ROW_LENGTH}",
                    row.key.len()
                ),
            });
        }
        let row_off = batch.arena.len();
        batch.arena.extend_from_slice(&row.key);
        for (cell, &col) in row.cells.iter().zip(cell_cols) {
            let Some(value) = &cell.value else { continue };
            let val_rel = batch.arena.len() - row_off;
            if val_rel > u32::MAX as usize || value.len() > u32::MAX as usize {
                return Err(BadRecord {
                    column: 0,
                    reason: "record larger than 4 GiB".into(),
                });
            }
            batch.arena.extend_from_slice(value);
            batch.entries.push(Entry {
                row_off: row_off as u64,
                ord,
                ts: self.default_ts,
                val_rel: val_rel as u32,
                val_len: value.len() as u32,
                row_len: row.key.len() as u16,
                col,
                slot: 0,
            });
        }
        batch.rows += 1;
        Ok((row_off, row.key.len()))
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
        assert_eq!(batch.entries.len(), 1, "empty field gives no cell");
        let e = batch.entries[0];
        assert_eq!(
            (e.row(&batch.arena), e.value(&batch.arena), e.ts, e.col),
            (&b"r1"[..], &b"va"[..], 42, 0)
        );
        let bad = b.add(&mut Strs(vec!["r2", "x", "y", "soon"]), 2, &mut batch);
        assert_eq!(bad.map_err(|e| e.column), Err(4));
        let bad = b.add(&mut Strs(vec!["", "x", "y", "1"]), 3, &mut batch);
        assert_eq!(bad.map_err(|e| e.column), Err(1));
        let bad = b.add(&mut Strs(vec!["r", "x", "y", "1", "extra"]), 4, &mut batch);
        assert_eq!(bad.map_err(|e| e.column), Err(5));
        assert_eq!(batch.entries.len(), 1, "bad records leave nothing behind");
        assert_eq!(batch.rows, 1);
        Ok(())
    }

    #[test]
    fn ordinal_keeps_the_file_index() {
        assert_eq!(ordinal(3, 5) >> RECORD_BITS, 3);
    }
}
