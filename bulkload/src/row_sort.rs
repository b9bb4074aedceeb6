//! Sorting buffered records by row, and reading their cells back in HFile order.
//!
//! The cells of one input record and family form a [`Group`] stored once in the arena, row
//! key first; the sort orders groups — several times fewer elements than cells, each
//! carrying the first eight bytes of its row key so that most comparisons never touch the
//! arena. A group's cells are already in column order, so reading the sorted groups one
//! after another yields the cells in [`hfile`] order; only records that repeat a row are
//! merged (column, newest timestamp, latest record first) and cleared of identical keys.

use std::cmp::Ordering;

use rayon::prelude::*;

use crate::cells::{cells_of, Arena, CellOut, Group};

/// Group order: family, then row.
fn compare_groups(arena: &Arena, a: &Group, b: &Group) -> Ordering {
    a.family
        .cmp(&b.family)
        .then(a.prefix.cmp(&b.prefix))
        .then_with(|| arena.row(a).cmp(arena.row(b)))
}

/// Sorts `groups` (over `arena`) by family and row, on all cores.
pub fn sort_groups(arena: &Arena, groups: &mut [Group]) {
    groups.par_sort_unstable_by(|a, b| compare_groups(arena, a, b));
}

/// True if sorted neighbours `a` and `b` hold the same row of the same family.
#[inline]
fn same_row(arena: &Arena, a: &Group, b: &Group) -> bool {
    a.family == b.family && a.prefix == b.prefix && arena.row(a) == arena.row(b)
}

/// Order of the cells of one row: column, newest timestamp, latest record.
fn within_row(a: &CellOut<'_>, b: &CellOut<'_>) -> Ordering {
    a.col
        .cmp(&b.col)
        .then_with(|| b.ts.cmp(&a.ts))
        .then_with(|| b.ord.cmp(&a.ord))
}

/// Fills `out` with the cells of groups holding one row, in order, keeping of identical
/// keys (column and timestamp) only the latest record's; returns the cells dropped.
fn merge_row<'a>(arena: &'a Arena, groups: &[Group], out: &mut Vec<CellOut<'a>>) -> u64 {
    out.clear();
    for g in groups {
        out.extend(cells_of(g, arena.data(g)));
    }
    out.sort_unstable_by(within_row);
    let before = out.len();
    out.dedup_by(|b, a| a.col == b.col && a.ts == b.ts);
    (before - out.len()) as u64
}

/// Groups ahead whose bytes [`prefetch`] asks for while one is copied.
const PREFETCH_AHEAD: usize = 8;

/// Groups whose bytes [`for_each_row`] gathers into one buffer before handing their rows
/// out (a few hundred KiB: the buffer stays in cache while the rows are written).
const STAGE_GROUPS: usize = 2048;

/// Asks the CPU to start loading the bytes of group `g` (one it reaches soon).
#[inline]
fn prefetch(arena: &Arena, g: &Group) {
    #[cfg(target_arch = "x86_64")]
    if let Some(p) = arena.data(g).first() {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch is a hint; it never faults and reads nothing into the program,
        // and `p` points into the arena anyway.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(p).cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (arena, g);
}

/// Copies the bytes of `groups` (sorted) into one new arena, in order, and returns it with
/// the groups pointing into it.
///
/// Sorted groups visit the arena in random order. Touching each where the writer needs it
/// stalls the writer on a cache and TLB miss per row (on this project's VMs, a prefetch
/// instruction a few rows ahead stalled as long); a loop that only copies keeps many of
/// those misses in flight at once, and the writer then reads its rows in sequence.
fn stage(arena: &Arena, groups: &[Group]) -> (Arena, Vec<Group>) {
    let len = groups.iter().map(|g| g.len as usize).sum();
    let mut bytes = Vec::with_capacity(len);
    let mut staged = Vec::with_capacity(groups.len());
    for (i, g) in groups.iter().enumerate() {
        if let Some(ahead) = groups.get(i + PREFETCH_AHEAD) {
            prefetch(arena, ahead);
        }
        let data = arena.data(g);
        staged.push(Group {
            off: bytes.len() as u64,
            len: data.len() as u32,
            ..*g
        });
        bytes.extend_from_slice(data);
    }
    let mut out = Arena::default();
    out.push(bytes);
    (out, staged)
}

/// The runs of sorted `groups` that each hold one row of one family (usually a single
/// group), as index ranges.
fn row_runs<'g>(
    arena: &'g Arena,
    groups: &'g [Group],
) -> impl Iterator<Item = std::ops::Range<usize>> + 'g {
    let mut i = 0;
    std::iter::from_fn(move || {
        let first = groups.get(i)?;
        let start = i;
        i += 1;
        while groups.get(i).is_some_and(|g| same_row(arena, first, g)) {
            i += 1;
        }
        Some(start..i)
    })
}

/// Calls `f` with the cells of each row of `groups` (sorted, one family) in HFile order,
/// identical keys removed; returns how many cells were removed.
pub fn for_each_row<E>(
    arena: &Arena,
    groups: &[Group],
    mut f: impl FnMut(&[CellOut<'_>]) -> Result<(), E>,
) -> Result<u64, E> {
    let mut dups = 0;
    let mut start = 0;
    while start < groups.len() {
        let mut end = (start + STAGE_GROUPS).min(groups.len());
        // A row's groups are staged together.
        while end < groups.len() && same_row(arena, &groups[end - 1], &groups[end]) {
            end += 1;
        }
        let (staged, staged_groups) = stage(arena, &groups[start..end]);
        let mut cells = Vec::new();
        for run in row_runs(&staged, &staged_groups) {
            if run.len() == 1 {
                let g = &staged_groups[run.start];
                cells.clear();
                cells.extend(cells_of(g, staged.data(g)));
            } else {
                dups += merge_row(&staged, &staged_groups[run], &mut cells);
            }
            f(&cells)?;
        }
        start = end;
    }
    Ok(dups)
}

/// Cells of sorted `groups` that [`for_each_row`] would drop as identical keys.
pub fn count_duplicates(arena: &Arena, groups: &[Group]) -> u64 {
    let mut merged = Vec::new();
    row_runs(arena, groups)
        .filter(|run| run.len() > 1)
        .map(|run| merge_row(arena, &groups[run], &mut merged))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cells::{Arena, Batch, Group, RowBuilder};
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
    /// families interleaved within a record, sparse fields and values too long for the
    /// short length: sorted groups read back as exactly the cells a naive sort of every
    /// cell gives, the later of identical keys kept.
    #[test]
    fn sorted_groups_read_as_sorted_cells() -> Result<()> {
        let spec = ColumnSpec::parse("HBASE_ROW_KEY,g:z,f:b,g:a,f:a,HBASE_TS_KEY")?;
        let m = Mapping::resolve(Some(&spec), None)?;
        let table = crate::cells::ColumnTable::from_mappings([&m])?;
        let field_cols: Vec<u16> = [("g", "z"), ("f", "b"), ("g", "a"), ("f", "a")]
            .iter()
            .map(|(f, q)| {
                table
                    .index_of(f.as_bytes(), q.as_bytes())
                    .unwrap_or(u16::MAX)
            })
            .collect();
        let mut builder = RowBuilder::new(&m, &table, 1, None)?;
        let mut batch = Batch::default();
        // (family, row, column, timestamp descending, ordinal descending, value)
        type Cell = (
            u16,
            Vec<u8>,
            u16,
            std::cmp::Reverse<i64>,
            std::cmp::Reverse<u64>,
            Vec<u8>,
        );
        let mut want: Vec<Cell> = Vec::new();
        let mut x = 7u64;
        for i in 0..5000u64 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let len = 1 + (x >> 60) as usize; // 1..=16 bytes
            let row: String = format!("{:016x}", (x >> 20) % 300)[16 - len..].to_string();
            let field = |k: u64| match (x >> (k * 3)) % 5 {
                0 => String::new(),
                1 if i % 97 == 0 => "L".repeat(70_000 + k as usize),
                _ => format!("v{i}-{k}"),
            };
            let ts = ((x >> 40) % 3) as i64;
            let ord = crate::cells::ordinal(0, i);
            let rec = vec![
                row.clone(),
                field(1),
                field(2),
                field(3),
                field(4),
                ts.to_string(),
            ];
            for (k, v) in rec[1..5].iter().enumerate() {
                if !v.is_empty() {
                    let col = field_cols[k];
                    want.push((
                        table.family_of(col),
                        row.clone().into_bytes(),
                        col,
                        std::cmp::Reverse(ts),
                        std::cmp::Reverse(ord),
                        v.clone().into_bytes(),
                    ));
                }
            }
            builder
                .add(&mut Strs(rec), ord, &mut batch)
                .map_err(|e| Error::Spec(e.reason))?;
        }
        want.sort();
        let before = want.len();
        want.dedup_by(|b, a| (a.0, &a.1, a.2, a.3) == (b.0, &b.1, b.2, b.3));
        let want_dups = (before - want.len()) as u64;
        assert!(want_dups > 1000, "{want_dups}");
        assert_eq!(batch.cells, before as u64);

        let mut arena = Arena::default();
        let base = arena.push(batch.arena);
        let mut groups: Vec<Group> = batch
            .groups
            .iter()
            .map(|g| Group {
                off: g.off | base,
                ..*g
            })
            .collect();
        assert!(groups.len() > 5000);
        sort_groups(&arena, &mut groups);
        let mut got: Vec<Cell> = Vec::new();
        let mut dups = 0;
        for (fam, s, e) in crate::sort::family_ranges(&groups) {
            dups += for_each_row(&arena, &groups[s..e], |row| {
                assert!(row.iter().all(|c| c.row == row[0].row), "one row per call");
                got.extend(row.iter().map(|c| {
                    (
                        fam,
                        c.row.to_vec(),
                        c.col,
                        std::cmp::Reverse(c.ts),
                        std::cmp::Reverse(c.ord),
                        c.value.to_vec(),
                    )
                }));
                Ok::<(), Error>(())
            })?;
        }
        assert_eq!(dups, want_dups);
        assert_eq!(count_duplicates(&arena, &groups), want_dups);
        assert_eq!(got.len(), want.len());
        assert!(got == want, "cells differ from the naive sort");
        Ok(())
    }
}
