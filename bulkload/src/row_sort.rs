//! Sorting a buffer of cells by sorting its rows.
//!
//! The cells of one input record share a row key and sit next to each other in the buffer,
//! so the sort orders *row groups* — the consecutive cells of one record in one family —
//! instead of cells: several times fewer elements, each carrying the first eight bytes of its
//! row key so that most comparisons never touch the arena. The cells are then moved to their
//! groups' places (a sort on the precomputed slot, an integer key), and only the cells of
//! one row are put in column order, merging the groups of records that wrote the same row.
//! The result is exactly the order of [`compare_entries`].

use std::cmp::Ordering;

use rayon::prelude::*;

use crate::cells::{compare_entries, ColumnTable, Entry};

/// The consecutive cells of one record in one family.
#[derive(Clone, Copy, Debug)]
struct Group {
    /// The row key's first eight bytes, big-endian, zero-padded: ordered like the rows
    /// (equal prefixes say nothing).
    prefix: u64,
    /// Index of the group's first cell in the unsorted buffer.
    start: u32,
    /// Number of cells.
    len: u32,
    /// Family index.
    family: u16,
}

/// Bytes of sorting state per row group, to be counted against the memory budget.
pub const GROUP_SIZE: usize = std::mem::size_of::<Group>();

/// True if `b` continues the row group of `a` (it follows `a` in the buffer).
fn same_group(table: &ColumnTable, a: &Entry, b: &Entry) -> bool {
    a.row_off == b.row_off && table.family_of(a.col) == table.family_of(b.col)
}

/// Row groups in `entries` (the sorting state [`sort_entries`] allocates).
pub fn count_groups(table: &ColumnTable, entries: &[Entry]) -> usize {
    let breaks = entries
        .windows(2)
        .filter(|w| !same_group(table, &w[0], &w[1]))
        .count();
    breaks + usize::from(!entries.is_empty())
}

fn row_prefix(row: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = row.len().min(8);
    b[..n].copy_from_slice(&row[..n]);
    u64::from_be_bytes(b)
}

/// Order of the cells of one row and family: column, newest timestamp, latest record.
fn within_row(a: &Entry, b: &Entry) -> Ordering {
    a.col
        .cmp(&b.col)
        .then_with(|| b.ts.cmp(&a.ts))
        .then_with(|| b.ord.cmp(&a.ord))
}

/// Sorts `entries` (over `arena`) into [`compare_entries`] order, on all cores. `groups` is
/// their number of row groups ([`count_groups`], which the caller kept while filling the
/// buffer): the sorting state is allocated at exactly that size.
pub fn sort_entries(arena: &[u8], table: &ColumnTable, entries: &mut [Entry], groups: usize) {
    if u32::try_from(entries.len()).is_err() {
        entries.par_sort_unstable_by(|a, b| compare_entries(arena, table, a, b));
        return;
    }
    let mut groups = Vec::with_capacity(groups);
    let mut start = 0;
    while start < entries.len() {
        let first = &entries[start];
        let len = 1 + entries[start + 1..]
            .iter()
            .take_while(|e| same_group(table, first, e))
            .count();
        groups.push(Group {
            prefix: row_prefix(first.row(arena)),
            start: start as u32,
            len: len as u32,
            family: table.family_of(first.col),
        });
        start += len;
    }
    {
        let cells: &[Entry] = entries;
        groups.par_sort_unstable_by(|a, b| {
            a.family
                .cmp(&b.family)
                .then(a.prefix.cmp(&b.prefix))
                .then_with(|| {
                    let (x, y) = (&cells[a.start as usize], &cells[b.start as usize]);
                    x.row(arena).cmp(y.row(arena))
                })
        });
    }
    let mut slot = 0u32;
    for g in &groups {
        let cells = &mut entries[g.start as usize..(g.start + g.len) as usize];
        for (e, s) in cells.iter_mut().zip(slot..) {
            e.slot = s;
        }
        slot += g.len;
    }
    entries.par_sort_unstable_by_key(|e| e.slot);
    // The cells of one row: usually one group already in column order; several groups when
    // records repeat a row.
    let mut at = 0usize;
    let mut i = 0;
    while i < groups.len() {
        let mut end = at + groups[i].len as usize;
        let mut j = i + 1;
        while j < groups.len()
            && groups[j].family == groups[i].family
            && groups[j].prefix == groups[i].prefix
            && entries[end].row(arena) == entries[at].row(arena)
        {
            end += groups[j].len as usize;
            j += 1;
        }
        let row = &mut entries[at..end];
        if !row.is_sorted_by(|a, b| within_row(a, b) != Ordering::Greater) {
            row.sort_unstable_by(within_row);
        }
        at = end;
        i = j;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cells::{Batch, RowBuilder};
    use crate::error::{Error, Result};
    use crate::spec::{ColumnSpec, Mapping};

    struct Strs(Vec<String>);
    impl crate::cells::Fields for Strs {
        fn count(&self) -> usize {
            self.0.len()
        }
        fn append(&mut self, i: usize, out: &mut Vec<u8>) -> std::result::Result<bool, String> {
            match self.0.get(i) {
                Some(s) if !s.is_empty() => {
                    out.extend_from_slice(s.as_bytes());
                    Ok(true)
                }
                _ => Ok(false),
            }
        }
    }

    /// Rows of every length around the 8-byte prefix, repeated rows with other timestamps,
    /// families interleaved within a record and sparse fields: the row sort gives exactly
    /// the cell comparator's order.
    #[test]
    fn row_sort_equals_the_cell_order() -> Result<()> {
        let spec = ColumnSpec::parse("HBASE_ROW_KEY,g:z,f:b,g:a,f:a,HBASE_TS_KEY")?;
        let m = Mapping::resolve(Some(&spec), None)?;
        let table = crate::cells::ColumnTable::from_mappings([&m])?;
        let mut builder = RowBuilder::new(&m, &table, 1, None)?;
        let mut batch = Batch::default();
        let mut x = 7u64;
        for i in 0..5000u64 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let len = 1 + (x >> 60) as usize; // 1..=16 bytes
            let row: String = format!("{:016x}", (x >> 20) % 300)[16 - len..].to_string();
            let field = |k: u64| {
                if (x >> (k * 3)).is_multiple_of(5) {
                    String::new()
                } else {
                    format!("v{i}-{k}")
                }
            };
            let rec = vec![
                row,
                field(1),
                field(2),
                field(3),
                field(4),
                ((x >> 40) % 3).to_string(),
            ];
            builder
                .add(&mut Strs(rec), crate::cells::ordinal(0, i), &mut batch)
                .map_err(|e| Error::Spec(e.reason))?;
        }
        let mut want = batch.entries.clone();
        want.sort_by(|a, b| compare_entries(&batch.arena, &table, a, b));
        let mut got = batch.entries.clone();
        sort_entries(
            &batch.arena,
            &table,
            &mut got,
            count_groups(&table, &batch.entries),
        );
        let key = |e: &Entry| (e.row_off, e.col, e.ts, e.ord);
        assert_eq!(
            got.iter().map(key).collect::<Vec<_>>(),
            want.iter().map(key).collect::<Vec<_>>()
        );
        assert!(count_groups(&table, &batch.entries) > 5000);
        Ok(())
    }
}
